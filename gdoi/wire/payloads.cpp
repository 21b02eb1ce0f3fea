#include "gdoi/wire/payloads.hpp"

#include "gdoi/wire/context.hpp"

namespace gdoi::wire {

const SaKekPayload* GdoiSaPayload::kek() const {
    for (const auto& a : attributes)
        if (auto* p = std::get_if<SaKekPayload>(&a)) return p;
    return nullptr;
}

const GapPayload* GdoiSaPayload::gap() const {
    for (const auto& a : attributes)
        if (auto* p = std::get_if<GapPayload>(&a)) return p;
    return nullptr;
}

std::vector<const SaTekPayload*> GdoiSaPayload::teks() const {
    std::vector<const SaTekPayload*> out;
    for (const auto& a : attributes)
        if (auto* p = std::get_if<SaTekPayload>(&a)) out.push_back(p);
    return out;
}

uint8_t payload_type_of(const PayloadBody& body) {
    struct Visitor {
        uint8_t operator()(const SaPayload&) const { return payload::sa; }
        uint8_t operator()(const GdoiSaPayload&) const { return payload::sa; }
        uint8_t operator()(const KePayload&) const { return payload::key_exchange; }
        uint8_t operator()(const IdPayload&) const { return payload::identification; }
        uint8_t operator()(const CertPayload&) const { return payload::certificate; }
        uint8_t operator()(const CertRequestPayload&) const {
            return payload::certificate_request;
        }
        uint8_t operator()(const HashPayload&) const { return payload::hash; }
        uint8_t operator()(const SigPayload&) const { return payload::signature; }
        uint8_t operator()(const NoncePayload&) const { return payload::nonce; }
        uint8_t operator()(const NotifyPayload&) const { return payload::notification; }
        uint8_t operator()(const DeletePayload&) const { return payload::del; }
        uint8_t operator()(const VendorIdPayload&) const { return payload::vendor_id; }
        uint8_t operator()(const SeqPayload&) const { return payload::sequence; }
        uint8_t operator()(const KdPayload&) const { return payload::key_download; }
        uint8_t operator()(const UnknownPayload& u) const { return u.type; }
    };
    return std::visit(Visitor{}, body);
}

uint8_t Payload::type() const {
    return payload_type_of(body);
}

const char* payload_name(uint8_t type) {
    switch (type) {
    case payload::none:
        return "NONE";
    case payload::sa:
        return "SA";
    case payload::proposal:
        return "Proposal";
    case payload::transform:
        return "Transform";
    case payload::key_exchange:
        return "KE";
    case payload::identification:
        return "ID";
    case payload::certificate:
        return "CERT";
    case payload::certificate_request:
        return "CR";
    case payload::hash:
        return "HASH";
    case payload::signature:
        return "SIG";
    case payload::nonce:
        return "NONCE";
    case payload::notification:
        return "N";
    case payload::del:
        return "D";
    case payload::vendor_id:
        return "VID";
    case payload::sa_kek:
        return "SA KEK";
    case payload::sa_tek:
        return "SA TEK";
    case payload::key_download:
        return "KD";
    case payload::sequence:
        return "SEQ";
    case payload::proof_of_possession:
        return "POP";
    case payload::gap:
        return "GAP";
    default:
        return "unknown payload";
    }
}

const char* observation_name(ObservationKind kind) {
    switch (kind) {
    case ObservationKind::sa_tek_id_length_1:
        return "sa-tek-id-length-1";
    case ObservationKind::sa_tek_id_length_2:
        return "sa-tek-id-length-2";
    case ObservationKind::sa_kek_id_length_1:
        return "sa-kek-id-length-1";
    case ObservationKind::sa_kek_id_length_2:
        return "sa-kek-id-length-2";
    case ObservationKind::sa_kek_extra_reserved:
        return "sa-kek-extra-reserved";
    case ObservationKind::group_id_little_endian:
        return "group-id-little-endian";
    case ObservationKind::group_id_network_order:
        return "group-id-network-order";
    case ObservationKind::phase1_doi_ipsec:
        return "phase1-doi-ipsec";
    case ObservationKind::phase1_doi_gdoi:
        return "phase1-doi-gdoi";
    case ObservationKind::unknown_payload_skipped:
        return "unknown-payload-skipped";
    case ObservationKind::trailing_padding:
        return "trailing-padding";
    case ObservationKind::numeric_attribute_as_tlv:
        return "numeric-attribute-as-tlv";
    case ObservationKind::numeric_attribute_as_tv:
        return "numeric-attribute-as-tv";
    }
    return "unknown";
}

} // namespace gdoi::wire
