// Internal: the body codec of each payload type (one payload_*.cpp each) and the dispatcher.
#pragma once

#include "gdoi/wire/context.hpp"
#include "gdoi/wire/payloads.hpp"
#include "gdoi/wire/reader.hpp"
#include "gdoi/wire/writer.hpp"

#include <vector>

namespace gdoi::wire::detail {

struct BodyDecode {
    const DecodeContext& ctx;
    std::vector<Observation>& observations;
    uint8_t exchange_type = 0;

    void observe(ObservationKind kind, std::string detail) {
        Observation o{kind, std::move(detail)};
        for (const auto& seen : observations)
            if (seen == o) return;
        observations.push_back(std::move(o));
    }
};

bool is_gdoi_exchange(uint8_t exchange_type);

SaPayload decode_sa(Reader& r, BodyDecode& d);
void encode_sa(Writer& w, const SaPayload& p);

GdoiSaPayload decode_gdoi_sa(Reader& r, BodyDecode& d);
void encode_gdoi_sa(Writer& w, const GdoiSaPayload& p, const EncodeContext& ctx);

SaKekPayload decode_sa_kek(Reader& r, BodyDecode& d);
void encode_sa_kek(Writer& w, const SaKekPayload& p, const EncodeContext& ctx);

SaTekPayload decode_sa_tek(Reader& r, BodyDecode& d);
void encode_sa_tek(Writer& w, const SaTekPayload& p, const EncodeContext& ctx);

GapPayload decode_gap(Reader& r, BodyDecode& d);
void encode_gap(Writer& w, const GapPayload& p);

KdPayload decode_kd(Reader& r, BodyDecode& d);
void encode_kd(Writer& w, const KdPayload& p);

IdPayload decode_id(Reader& r, BodyDecode& d);
void encode_id(Writer& w, const IdPayload& p);

CertPayload decode_cert(Reader& r);
void encode_cert(Writer& w, const CertPayload& p);
CertRequestPayload decode_cert_request(Reader& r);
void encode_cert_request(Writer& w, const CertRequestPayload& p);

NotifyPayload decode_notify(Reader& r);
void encode_notify(Writer& w, const NotifyPayload& p);

DeletePayload decode_delete(Reader& r);
void encode_delete(Writer& w, const DeletePayload& p);

SeqPayload decode_seq(Reader& r);
void encode_seq(Writer& w, const SeqPayload& p);

// KE, HASH, SIG, NONCE, VID: opaque data, one shared field list.
template <typename T> T decode_opaque(Reader& r);
template <typename T> void encode_opaque(Writer& w, const T& p);

// Decodes the body of one payload of `type` (the reader spans exactly the body).
PayloadBody decode_body(uint8_t type, Reader& r, BodyDecode& d);
void encode_body(Writer& w, const PayloadBody& body, const EncodeContext& ctx);

} // namespace gdoi::wire::detail
