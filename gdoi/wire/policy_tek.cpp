// SA TEK ESP attributes (RFC 6407 section 5.4.1, IPsec DOI RFC 2407 section 4.5) and the TEK key
// packet (RFC 6407 section 5.6.1) <-> TekPolicy; the whole SA + KD -> GroupPolicy.
#include "gdoi/wire/id_data.hpp"
#include "gdoi/wire/policy_codec.hpp"

#include <cstdio>
#include <string>
#include <tuple>
#include <utility>

namespace gdoi::wire {

namespace {

[[noreturn]] void reject(NotifyType notify, const TekPolicy& tek, const std::string& what) {
    char spi[16];
    std::snprintf(spi, sizeof spi, "%08x", tek.spi);
    throw PolicyError(notify, "SA TEK " + std::string(spi) + ": " + what);
}

uint8_t tek_ip_version_mismatch(const SelectorEndpoint& a, const SelectorEndpoint& b) {
    return a.range.first.family != b.range.first.family;
}

} // namespace

size_t tek_integrity_key_octets(TekIntegrity integrity) {
    switch (integrity) {
    case TekIntegrity::none:
        return 0;
    case TekIntegrity::hmac_md5:
        return 16;
    case TekIntegrity::hmac_sha1:
        return 20;
    case TekIntegrity::hmac_sha256:
        return 32;
    case TekIntegrity::hmac_sha384:
        return 48;
    case TekIntegrity::hmac_sha512:
        return 64;
    }
    return 0;
}

size_t tek_cipher_key_octets(const TekPolicy& tek) {
    switch (tek.cipher) {
    case TekCipher::none:
    case TekCipher::null_encryption:
        return 0;
    case TekCipher::des3_cbc:
        return 24;
    case TekCipher::aes_cbc:
        return tek.cipher_key_bits / 8u;
    case TekCipher::aes_gcm_16:
        return tek.cipher_key_bits / 8u + 4; // RFC 4106 salt
    }
    return 0;
}

TekPolicy tek_policy_from(const SaTekPayload& sa, const ServerQuirks& quirks) {
    TekPolicy tek;
    tek.spi = sa.spi;
    if (sa.protocol_id != tek_protocol::esp)
        reject(NotifyType::invalid_protocol_id, tek,
               "protocol " + std::to_string(sa.protocol_id) + " not supported (ESP only)");
    tek.protocol = TekProtocol::esp;
    tek.selector.ip_protocol = sa.ip_protocol;
    for (auto [id, out, side] :
         {std::tuple{&sa.source, &tek.selector.source, "source"},
          std::tuple{&sa.destination, &tek.selector.destination, "destination"}}) {
        auto range = id_data_to_range(id->id_type, id->data, quirks.sa_tek_ipv4_byte_reversed);
        if (!range)
            reject(NotifyType::invalid_id_information, tek,
                   std::string(side) + " ID type " + std::to_string(id->id_type) +
                       " is not an address, subnet or range (or has a non-contiguous mask)");
        *out = {*range, id->port};
    }
    if (tek_ip_version_mismatch(tek.selector.source, tek.selector.destination))
        reject(NotifyType::invalid_id_information, tek, "source and destination families differ");

    switch (sa.transform_id) {
    case esp_transform::des3:
        tek.cipher = TekCipher::des3_cbc;
        break;
    case esp_transform::aes_cbc:
        tek.cipher = TekCipher::aes_cbc;
        break;
    case esp_transform::aes_gcm_16:
        tek.cipher = TekCipher::aes_gcm_16;
        break;
    case esp_transform::null_encryption:
        tek.cipher = TekCipher::null_encryption;
        break;
    default:
        reject(NotifyType::invalid_transform_id, tek,
               "ESP transform " + std::to_string(sa.transform_id) + " not supported");
    }
    tek.integrity = TekIntegrity::none;
    uint16_t life_type = life_type::seconds;
    for (const auto& a : sa.attributes) {
        auto n = a.number();
        if (!n)
            reject(NotifyType::payload_malformed, tek,
                   "attribute " + std::to_string(a.type) + " is not a number");
        switch (a.type) {
        case tek_attr::sa_life_type:
            life_type = static_cast<uint16_t>(*n);
            break;
        case tek_attr::sa_life_duration:
            // RFC 2407 section 4.5: a duration applies to the life type that precedes it.
            if (life_type == life_type::kilobytes)
                tek.lifetime_kilobytes = *n;
            else
                tek.lifetime = std::chrono::seconds(*n);
            break;
        case tek_attr::encapsulation_mode:
            tek.tunnel_mode = *n != encapsulation::transport;
            break;
        case tek_attr::authentication_algorithm:
            switch (*n) {
            case auth_algorithm::hmac_md5:
                tek.integrity = TekIntegrity::hmac_md5;
                break;
            case auth_algorithm::hmac_sha1:
                tek.integrity = TekIntegrity::hmac_sha1;
                break;
            case auth_algorithm::hmac_sha2_256:
                tek.integrity = TekIntegrity::hmac_sha256;
                break;
            case auth_algorithm::hmac_sha2_384:
                tek.integrity = TekIntegrity::hmac_sha384;
                break;
            case auth_algorithm::hmac_sha2_512:
                tek.integrity = TekIntegrity::hmac_sha512;
                break;
            default:
                reject(NotifyType::attributes_not_supported, tek,
                       "authentication algorithm " + std::to_string(*n) + " not supported");
            }
            break;
        case tek_attr::key_length:
            tek.cipher_key_bits = static_cast<uint16_t>(*n);
            break;
        case tek_attr::address_preservation:
            if (*n < address_preservation::none ||
                *n > address_preservation::source_and_destination)
                reject(NotifyType::attributes_not_supported, tek,
                       "ADDRESS_PRESERVATION " + std::to_string(*n));
            tek.preservation = static_cast<AddressPreservation>(*n);
            break;
        case tek_attr::sa_direction:
            if (*n < sa_direction::sender_only || *n > sa_direction::symmetric)
                reject(NotifyType::attributes_not_supported, tek,
                       "SA_DIRECTION " + std::to_string(*n));
            tek.direction = static_cast<SaDirection>(*n);
            break;
        default:
            break;
        }
    }
    if (tek.cipher == TekCipher::des3_cbc) {
        if (tek.cipher_key_bits != 0 && tek.cipher_key_bits != 192)
            reject(NotifyType::attributes_not_supported, tek,
                   "3DES key length " + std::to_string(tek.cipher_key_bits));
        tek.cipher_key_bits = 192;
    } else if (tek.cipher == TekCipher::aes_cbc || tek.cipher == TekCipher::aes_gcm_16) {
        // The reference server sends AES-CBC TEKs with KEY_LENGTH 0 (a server bug): refuse
        // rather than guess a key size.
        if (tek.cipher_key_bits != 128 && tek.cipher_key_bits != 192 && tek.cipher_key_bits != 256)
            reject(NotifyType::attributes_not_supported, tek,
                   "AES key length " + std::to_string(tek.cipher_key_bits) + " (128, 192 or 256)");
    }
    if (tek.cipher == TekCipher::aes_gcm_16 && tek.integrity != TekIntegrity::none)
        reject(NotifyType::attributes_not_supported, tek,
               "AES-GCM with a separate integrity algorithm");
    return tek;
}

void apply_tek_key_packet(TekPolicy& tek, const KeyPacket& packet) {
    if (packet.kd_type != kd_type::tek)
        reject(NotifyType::invalid_key_information, tek,
               "key packet type " + std::to_string(packet.kd_type) + " is not TEK");
    size_t cipher_octets = tek_cipher_key_octets(tek);
    size_t integrity_octets = tek_integrity_key_octets(tek.integrity);
    auto* cipher_key = find_key_attribute(packet.attributes, kd_tek_attr::algorithm_key);
    if (cipher_octets) {
        if (!cipher_key) reject(NotifyType::invalid_key_information, tek, "no TEK_ALGORITHM_KEY");
        if (cipher_key->value.size() != cipher_octets)
            reject(NotifyType::invalid_key_information, tek,
                   "TEK_ALGORITHM_KEY has " + std::to_string(cipher_key->value.size()) +
                       " octets, expected " + std::to_string(cipher_octets));
        tek.cipher_key = cipher_key->value;
    }
    auto* integrity_key = find_key_attribute(packet.attributes, kd_tek_attr::integrity_key);
    if (integrity_octets) {
        if (!integrity_key)
            reject(NotifyType::invalid_key_information, tek, "no TEK_INTEGRITY_KEY");
        if (integrity_key->value.size() != integrity_octets)
            reject(NotifyType::invalid_key_information, tek,
                   "TEK_INTEGRITY_KEY has " + std::to_string(integrity_key->value.size()) +
                       " octets, expected " + std::to_string(integrity_octets));
        tek.integrity_key = integrity_key->value;
    }
}

SaTekPayload sa_tek_from(const TekPolicy& tek, const ServerQuirks& quirks) {
    SaTekPayload sa;
    sa.protocol_id = tek_protocol::esp;
    sa.ip_protocol = tek.selector.ip_protocol;
    sa.spi = tek.spi;
    if (quirks.sa_tek_id_length == IdLengthWidth::two_octets) sa.id_length_octets = 2;
    for (auto [in, out] : {std::pair{&tek.selector.source, &sa.source},
                           std::pair{&tek.selector.destination, &sa.destination}}) {
        auto data = range_to_id_data(in->range, quirks.sa_tek_ipv4_byte_reversed);
        *out = {data.id_type, in->port, std::move(data.data)};
    }
    switch (tek.cipher) {
    case TekCipher::des3_cbc:
        sa.transform_id = esp_transform::des3;
        break;
    case TekCipher::aes_cbc:
        sa.transform_id = esp_transform::aes_cbc;
        break;
    case TekCipher::aes_gcm_16:
        sa.transform_id = esp_transform::aes_gcm_16;
        break;
    case TekCipher::none:
    case TekCipher::null_encryption:
        sa.transform_id = esp_transform::null_encryption;
        break;
    }
    auto& a = sa.attributes;
    a.push_back(Attribute::tv(tek_attr::encapsulation_mode,
                              tek.tunnel_mode ? encapsulation::tunnel : encapsulation::transport));
    static constexpr uint16_t auths[] = {0,
                                         auth_algorithm::hmac_md5,
                                         auth_algorithm::hmac_sha1,
                                         auth_algorithm::hmac_sha2_256,
                                         auth_algorithm::hmac_sha2_384,
                                         auth_algorithm::hmac_sha2_512};
    if (tek.integrity != TekIntegrity::none)
        a.push_back(Attribute::tv(tek_attr::authentication_algorithm,
                                  auths[static_cast<size_t>(tek.integrity)]));
    if (tek.cipher == TekCipher::aes_cbc || tek.cipher == TekCipher::aes_gcm_16)
        a.push_back(Attribute::tv(tek_attr::key_length, tek.cipher_key_bits));
    a.push_back(Attribute::tv(tek_attr::sa_life_type, life_type::seconds));
    // RFC 2407 section 4.5: SA Life Duration is variable length.
    a.push_back(Attribute::tlv_u32(tek_attr::sa_life_duration,
                                   static_cast<uint32_t>(tek.lifetime.count())));
    if (tek.lifetime_kilobytes) {
        a.push_back(Attribute::tv(tek_attr::sa_life_type, life_type::kilobytes));
        a.push_back(Attribute::tlv_u32(tek_attr::sa_life_duration,
                                       static_cast<uint32_t>(tek.lifetime_kilobytes)));
    }
    // Absent means source-and-destination / symmetric (RFC 6407 section 5.4.1): send only
    // what differs from that.
    if (tek.preservation != AddressPreservation::source_and_destination)
        a.push_back(
            Attribute::tv(tek_attr::address_preservation, static_cast<uint16_t>(tek.preservation)));
    if (tek.direction != SaDirection::symmetric)
        a.push_back(Attribute::tv(tek_attr::sa_direction, static_cast<uint16_t>(tek.direction)));
    return sa;
}

KeyPacket tek_key_packet_from(const TekPolicy& tek) {
    KeyPacket packet;
    packet.kd_type = kd_type::tek;
    packet.spi = {static_cast<uint8_t>(tek.spi >> 24), static_cast<uint8_t>(tek.spi >> 16),
                  static_cast<uint8_t>(tek.spi >> 8), static_cast<uint8_t>(tek.spi)};
    if (!tek.cipher_key.empty())
        packet.attributes.push_back(
            {kd_tek_attr::algorithm_key, AttributeForm::tlv, tek.cipher_key});
    if (!tek.integrity_key.empty())
        packet.attributes.push_back(
            {kd_tek_attr::integrity_key, AttributeForm::tlv, tek.integrity_key});
    return packet;
}

GroupPolicy group_policy_from(const GdoiSaPayload& sa, const KdPayload* kd,
                              const ServerQuirks& quirks) {
    GroupPolicy policy;
    if (auto* kek = sa.kek()) {
        policy.kek = kek_policy_from(*kek);
        if (kd) {
            for (const auto& packet : kd->packets)
                if (packet.kd_type == kd_type::kek) apply_kek_key_packet(*policy.kek, packet);
        }
    }
    if (auto* gap = sa.gap()) policy.gap = gap_policy_from(*gap);
    for (const auto* sa_tek : sa.teks()) {
        TekPolicy tek = tek_policy_from(*sa_tek, quirks);
        if (kd) {
            const KeyPacket* match = nullptr;
            for (const auto& packet : kd->packets)
                if (packet.kd_type == kd_type::tek && packet.spi.size() == kTekSpiSize &&
                    (uint32_t{packet.spi[0]} << 24 | uint32_t{packet.spi[1]} << 16 |
                     uint32_t{packet.spi[2]} << 8 | uint32_t{packet.spi[3]}) == tek.spi)
                    match = &packet;
            if (!match) reject(NotifyType::invalid_key_information, tek, "no key packet in the KD");
            apply_tek_key_packet(tek, *match);
        }
        policy.teks.push_back(std::move(tek));
    }
    return policy;
}

} // namespace gdoi::wire
