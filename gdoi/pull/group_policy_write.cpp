// Key server side: GroupPolicy -> GDOI SA and KD payloads (used by test/ks).
#include "gdoi/pull/group_policy_codec.hpp"
#include "gdoi/wire/attributes.hpp"
#include "gdoi/wire/id_data.hpp"

namespace gdoi::pull {

using namespace gdoi::wire;

namespace {

IdEndpoint id_endpoint(const SelectorEndpoint& e, bool reversed) {
    auto id = range_to_id_data(e.range, reversed);
    return IdEndpoint{id.id_type, e.port, std::move(id.data)};
}

uint8_t transform_of(TekCipher cipher) {
    switch (cipher) {
    case TekCipher::des3_cbc:
        return esp_transform::des3;
    case TekCipher::aes_cbc:
        return esp_transform::aes_cbc;
    case TekCipher::aes_gcm_16:
        return esp_transform::aes_gcm_16;
    case TekCipher::null_encryption:
    case TekCipher::none:
        return esp_transform::null_encryption;
    }
    return esp_transform::null_encryption;
}

uint16_t auth_of(TekIntegrity integrity) {
    switch (integrity) {
    case TekIntegrity::hmac_md5:
        return auth_algorithm::hmac_md5;
    case TekIntegrity::hmac_sha1:
        return auth_algorithm::hmac_sha1;
    case TekIntegrity::hmac_sha256:
        return auth_algorithm::hmac_sha2_256;
    case TekIntegrity::hmac_sha384:
        return auth_algorithm::hmac_sha2_384;
    case TekIntegrity::hmac_sha512:
        return auth_algorithm::hmac_sha2_512;
    case TekIntegrity::none:
        return 0;
    }
    return 0;
}

uint16_t sig_hash_of(SignatureHash h) {
    switch (h) {
    case SignatureHash::md5:
        return sig_hash::md5;
    case SignatureHash::sha1:
        return sig_hash::sha1;
    case SignatureHash::sha256:
        return sig_hash::sha256;
    case SignatureHash::sha384:
        return sig_hash::sha384;
    case SignatureHash::sha512:
        return sig_hash::sha512;
    }
    return sig_hash::sha256;
}

uint16_t sig_algorithm_of(SignatureAlgorithm a) {
    switch (a) {
    case SignatureAlgorithm::rsa:
        return sig_algorithm::rsa;
    case SignatureAlgorithm::dss:
        return sig_algorithm::dss;
    case SignatureAlgorithm::ecdss:
        return sig_algorithm::ecdss;
    case SignatureAlgorithm::ecdsa_256:
        return sig_algorithm::ecdsa_256;
    case SignatureAlgorithm::ecdsa_384:
        return sig_algorithm::ecdsa_384;
    case SignatureAlgorithm::ecdsa_521:
        return sig_algorithm::ecdsa_521;
    }
    return sig_algorithm::rsa;
}

std::vector<uint8_t> spi_bytes(uint32_t spi) {
    return {uint8_t(spi >> 24), uint8_t(spi >> 16), uint8_t(spi >> 8), uint8_t(spi)};
}

} // namespace

GdoiSaPayload write_group_sa(const GroupPolicy& policy, const PolicyEncodeOptions& options) {
    GdoiSaPayload sa;
    if (policy.kek) {
        const auto& kek = *policy.kek;
        SaKekPayload p;
        p.protocol = 17;
        p.source = id_endpoint(kek.source, false);
        p.destination = id_endpoint(kek.destination, false);
        p.spi = kek.spi;
        p.attributes.push_back(Attribute::tv(kek_attr::management_algorithm, kek_management::lkh));
        p.attributes.push_back(Attribute::tv(kek_attr::algorithm, kek.cipher == KekCipher::des3_cbc
                                                                      ? kek_algorithm::des3
                                                                      : kek_algorithm::aes));
        if (kek.cipher == KekCipher::aes_cbc)
            p.attributes.push_back(Attribute::tv(kek_attr::key_length, kek.key_bits));
        p.attributes.push_back(Attribute::tlv_u32(kek_attr::key_lifetime,
                                                  static_cast<uint32_t>(kek.lifetime.count())));
        p.attributes.push_back(
            Attribute::tv(kek_attr::sig_hash_algorithm, sig_hash_of(kek.signature_hash)));
        p.attributes.push_back(
            Attribute::tv(kek_attr::sig_algorithm, sig_algorithm_of(kek.signature_algorithm)));
        p.attributes.push_back(Attribute::tv(kek_attr::sig_key_length, kek.signature_key_bits));
        AckRequest ack =
            options.ack_attribute != AckRequest::none ? options.ack_attribute : kek.ack_request;
        if (ack == AckRequest::rfc8263)
            p.attributes.push_back(Attribute::tv(kek_attr::ack_requested, kek.ack_type));
        if (ack == AckRequest::cisco_legacy)
            p.attributes.push_back(
                Attribute::tv(kek_attr::ack_requested_cisco_legacy, kek.ack_type));
        sa.attributes.push_back(std::move(p));
    }
    if (policy.gap.activation_delay || policy.gap.deactivation_delay) {
        GapPayload gap;
        if (policy.gap.activation_delay)
            gap.attributes.push_back(
                Attribute::tv(gap_attr::activation_time_delay,
                              static_cast<uint16_t>(policy.gap.activation_delay->count())));
        if (policy.gap.deactivation_delay)
            gap.attributes.push_back(
                Attribute::tv(gap_attr::deactivation_time_delay,
                              static_cast<uint16_t>(policy.gap.deactivation_delay->count())));
        sa.attributes.push_back(std::move(gap));
    }
    const bool reversed = options.quirks.sa_tek_ipv4_byte_reversed;
    for (const auto& tek : policy.teks) {
        TekEmission emission;
        if (auto it = options.tek_emission.find(tek.spi); it != options.tek_emission.end())
            emission = it->second;
        SaTekPayload p;
        p.protocol_id = tek_protocol::esp;
        p.ip_protocol = tek.selector.ip_protocol;
        p.source = id_endpoint(tek.selector.source, reversed);
        p.destination = id_endpoint(tek.selector.destination, reversed);
        p.transform_id = emission.transform_id.value_or(transform_of(tek.cipher));
        p.spi = tek.spi;
        if (options.quirks.sa_tek_id_length == IdLengthWidth::two_octets)
            p.id_length_octets = 2;
        else
            p.id_length_octets = 1;
        p.attributes.push_back(Attribute::tv(tek_attr::sa_life_type, life_type::seconds));
        p.attributes.push_back(Attribute::tlv_u32(tek_attr::sa_life_duration,
                                                  static_cast<uint32_t>(tek.lifetime.count())));
        if (tek.lifetime_kilobytes) {
            p.attributes.push_back(Attribute::tv(tek_attr::sa_life_type, life_type::kilobytes));
            p.attributes.push_back(Attribute::tlv_u32(
                tek_attr::sa_life_duration, static_cast<uint32_t>(tek.lifetime_kilobytes)));
        }
        p.attributes.push_back(
            Attribute::tv(tek_attr::encapsulation_mode,
                          tek.tunnel_mode ? encapsulation::tunnel : encapsulation::transport));
        if (tek.integrity != TekIntegrity::none)
            p.attributes.push_back(
                Attribute::tv(tek_attr::authentication_algorithm, auth_of(tek.integrity)));
        if (tek.cipher == TekCipher::aes_cbc || tek.cipher == TekCipher::aes_gcm_16)
            p.attributes.push_back(Attribute::tv(tek_attr::key_length, emission.zero_key_length
                                                                           ? uint16_t(0)
                                                                           : tek.cipher_key_bits));
        p.attributes.push_back(
            Attribute::tv(tek_attr::address_preservation, static_cast<uint16_t>(tek.preservation)));
        p.attributes.push_back(
            Attribute::tv(tek_attr::sa_direction, static_cast<uint16_t>(tek.direction)));
        sa.attributes.push_back(std::move(p));
    }
    return sa;
}

KdPayload write_key_download(const GroupPolicy& policy, const PolicyEncodeOptions& options) {
    KdPayload kd;
    if (policy.kek) {
        const auto& kek = *policy.kek;
        KeyPacket packet;
        packet.kd_type = kd_type::kek;
        packet.spi.assign(kek.spi.begin(), kek.spi.end());
        SecretBytes iv_and_key(kek.iv);
        iv_and_key.append(kek.key.reveal());
        packet.attributes.push_back(
            KeyAttribute{kd_kek_attr::algorithm_key, AttributeForm::tlv, iv_and_key});
        if (!kek.public_key_der.empty())
            packet.attributes.push_back(KeyAttribute{kd_kek_attr::sig_algorithm_key,
                                                     AttributeForm::tlv,
                                                     SecretBytes(kek.public_key_der)});
        kd.packets.push_back(std::move(packet));
    }
    for (const auto& tek : policy.teks) {
        auto it = options.tek_emission.find(tek.spi);
        if (it != options.tek_emission.end() && it->second.omit_keys) continue;
        KeyPacket packet;
        packet.kd_type = kd_type::tek;
        packet.spi = spi_bytes(tek.spi);
        if (!tek.cipher_key.empty())
            packet.attributes.push_back(
                KeyAttribute{kd_tek_attr::algorithm_key, AttributeForm::tlv, tek.cipher_key});
        if (!tek.integrity_key.empty())
            packet.attributes.push_back(
                KeyAttribute{kd_tek_attr::integrity_key, AttributeForm::tlv, tek.integrity_key});
        kd.packets.push_back(std::move(packet));
    }
    return kd;
}

} // namespace gdoi::pull
