#include "gdoi/push/push_policy_codec.hpp"

#include "gdoi/crypto/cbc_cipher.hpp"
#include "gdoi/push/push_crypto.hpp"
#include "gdoi/wire/attributes.hpp"
#include "gdoi/wire/id_data.hpp"

#include <algorithm>

namespace gdoi::push {

using namespace gdoi::wire;

namespace {

std::optional<uint64_t> number_of(std::span<const Attribute> attributes, uint16_t type) {
    const Attribute* a = find_attribute(attributes, type);
    if (!a) return std::nullopt;
    return a->number();
}

std::optional<SelectorEndpoint> endpoint_from_wire(const IdEndpoint& id, bool reversed) {
    auto range = id_data_to_range(id.id_type, id.data, reversed);
    if (!range) return std::nullopt;
    return SelectorEndpoint{*range, id.port};
}

IdEndpoint endpoint_to_wire(const SelectorEndpoint& endpoint, bool reversed) {
    IdData data = range_to_id_data(endpoint.range, reversed);
    return IdEndpoint{data.id_type, endpoint.port, std::move(data.data)};
}

} // namespace

size_t integrity_key_size(TekIntegrity integrity) {
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

// ---------------------------------------------------------------------------------------- KEK

Converted<KekPolicy> kek_from_wire(const SaKekPayload& sa, const KeyPacket* kd_kek,
                                   const KekPolicy& current, std::vector<std::string>& notes) {
    KekPolicy kek = current;
    kek.spi = sa.spi;
    const std::string what = "SA KEK " + hex(sa.spi) + ": ";

    if (auto alg = number_of(sa.attributes, kek_attr::algorithm)) {
        if (*alg == kek_algorithm::des3)
            kek.cipher = KekCipher::des3_cbc;
        else if (*alg == kek_algorithm::aes)
            kek.cipher = KekCipher::aes_cbc;
        else
            return {std::nullopt, what + "KEK_ALGORITHM " + std::to_string(*alg) +
                                      " is not supported (3DES 2 or AES 3)"};
    }
    if (auto bits = number_of(sa.attributes, kek_attr::key_length))
        kek.key_bits = static_cast<uint16_t>(*bits);
    else if (kek.cipher == KekCipher::aes_cbc)
        kek.key_bits = 0; // learnt from the key packet below
    if (kek.cipher == KekCipher::des3_cbc) kek.key_bits = 192;
    if (auto life = number_of(sa.attributes, kek_attr::key_lifetime))
        kek.lifetime = std::chrono::seconds(*life);
    if (auto h = number_of(sa.attributes, kek_attr::sig_hash_algorithm)) {
        switch (*h) {
        case sig_hash::sha1:
            kek.signature_hash = SignatureHash::sha1;
            break;
        case sig_hash::sha256:
            kek.signature_hash = SignatureHash::sha256;
            break;
        case sig_hash::sha384:
            kek.signature_hash = SignatureHash::sha384;
            break;
        case sig_hash::sha512:
            kek.signature_hash = SignatureHash::sha512;
            break;
        default:
            return {std::nullopt,
                    what + "SIG_HASH_ALGORITHM " + std::to_string(*h) + " is not accepted"};
        }
    }
    if (auto s = number_of(sa.attributes, kek_attr::sig_algorithm); s && *s != sig_algorithm::rsa)
        return {std::nullopt,
                what + "SIG_ALGORITHM " + std::to_string(*s) + " is not supported (RSA 1 only)"};
    if (auto bits = number_of(sa.attributes, kek_attr::sig_key_length))
        kek.signature_key_bits = static_cast<uint16_t>(*bits);
    // RFC 8263 section 2 (KEK_ACK_REQUESTED 9); Cisco's pre-RFC servers used 129.
    kek.ack_request = AckRequest::none;
    if (find_attribute(sa.attributes, kek_attr::ack_requested))
        kek.ack_request = AckRequest::rfc8263;
    else if (find_attribute(sa.attributes, kek_attr::ack_requested_cisco_legacy))
        kek.ack_request = AckRequest::cisco_legacy;

    if (auto src = endpoint_from_wire(sa.source, false)) kek.source = *src;
    if (auto dst = endpoint_from_wire(sa.destination, false)) kek.destination = *dst;

    if (!kd_kek) {
        if (sa.spi != current.spi)
            return {std::nullopt, what + "announces a new KEK but the KD carries no KEK key "
                                         "packet: later pushes could not be decrypted"};
        return {std::move(kek), {}};
    }
    if (kd_kek->spi.size() == kKekSpiSize &&
        !std::equal(kd_kek->spi.begin(), kd_kek->spi.end(), sa.spi.begin())) {
        if (std::equal(kd_kek->spi.begin(), kd_kek->spi.end(), current.spi.begin()))
            notes.push_back("KD KEK packet is labelled with the old KEK SPI " + hex(current.spi) +
                            " (reference key server behaviour); its key is taken for " +
                            hex(sa.spi));
        else
            return {std::nullopt, what + "the KD KEK packet names SPI " + hex(kd_kek->spi) +
                                      ", neither this KEK nor the current one"};
    }
    const KeyAttribute* alg_key =
        find_key_attribute(kd_kek->attributes, kd_kek_attr::algorithm_key);
    if (!alg_key) return {std::nullopt, what + "KD KEK packet without KEK_ALGORITHM_KEY"};
    size_t block = kek.cipher == KekCipher::des3_cbc ? 8 : 16;
    size_t key_size = kek.cipher == KekCipher::des3_cbc ? 24 : kek.key_bits / 8;
    auto material = alg_key->value.reveal();
    if (kek.cipher == KekCipher::aes_cbc && key_size == 0) {
        // KEY_LENGTH absent: the key is what follows the IV.
        if (material.size() > block) key_size = material.size() - block;
        kek.key_bits = static_cast<uint16_t>(key_size * 8);
    }
    if (kek.cipher == KekCipher::aes_cbc && key_size != 16 && key_size != 24 && key_size != 32)
        return {std::nullopt, what + "AES KEK key of " + std::to_string(key_size) +
                                  " octets (16, 24 or 32 expected)"};
    // KEK_ALGORITHM_KEY = IV | key; servers may append octets (the reference always sends 32).
    if (material.size() < block + key_size)
        return {std::nullopt, what + "KEK_ALGORITHM_KEY of " + std::to_string(material.size()) +
                                  " octets, IV and key need " + std::to_string(block + key_size)};
    kek.iv.assign(material.begin(), material.begin() + static_cast<long>(block));
    kek.key = SecretBytes(material.subspan(block, key_size));
    if (const KeyAttribute* pub =
            find_key_attribute(kd_kek->attributes, kd_kek_attr::sig_algorithm_key)) {
        auto der = pub->value.reveal();
        kek.public_key_der.assign(der.begin(), der.end());
    }
    if (kek.public_key_der.empty())
        return {std::nullopt, what + "no key server public key (SIG_ALGORITHM_KEY) known"};
    return {std::move(kek), {}};
}

SaKekPayload kek_to_wire(const KekPolicy& kek) {
    SaKekPayload sa;
    sa.source = endpoint_to_wire(kek.source, false);
    sa.destination = endpoint_to_wire(kek.destination, false);
    sa.spi = kek.spi;
    auto& a = sa.attributes;
    a.push_back(Attribute::tv(kek_attr::management_algorithm, kek_management::lkh));
    a.push_back(Attribute::tv(kek_attr::algorithm, kek.cipher == KekCipher::des3_cbc
                                                       ? kek_algorithm::des3
                                                       : kek_algorithm::aes));
    if (kek.cipher == KekCipher::aes_cbc)
        a.push_back(
            Attribute::tv(kek_attr::key_length,
                          static_cast<uint16_t>(kek.key_bits ? kek.key_bits : kek.key.size() * 8)));
    a.push_back(
        Attribute::tlv_u32(kek_attr::key_lifetime, static_cast<uint32_t>(kek.lifetime.count())));
    uint16_t h = sig_hash::sha256;
    switch (kek.signature_hash) {
    case SignatureHash::md5:
        h = sig_hash::md5;
        break;
    case SignatureHash::sha1:
        h = sig_hash::sha1;
        break;
    case SignatureHash::sha256:
        h = sig_hash::sha256;
        break;
    case SignatureHash::sha384:
        h = sig_hash::sha384;
        break;
    case SignatureHash::sha512:
        h = sig_hash::sha512;
        break;
    }
    a.push_back(Attribute::tv(kek_attr::sig_hash_algorithm, h));
    a.push_back(Attribute::tv(kek_attr::sig_algorithm, sig_algorithm::rsa));
    if (kek.signature_key_bits)
        a.push_back(Attribute::tv(kek_attr::sig_key_length, kek.signature_key_bits));
    // The value of KEK_ACK_REQUESTED is not interpreted by the member (see push_ack.hpp); 1.
    if (kek.ack_request == AckRequest::rfc8263)
        a.push_back(Attribute::tv(kek_attr::ack_requested, 1));
    else if (kek.ack_request == AckRequest::cisco_legacy)
        a.push_back(Attribute::tv(kek_attr::ack_requested_cisco_legacy, 1));
    return sa;
}

KeyPacket kek_key_packet(const KekPolicy& kek, const KekSpi& label_spi) {
    KeyPacket p;
    p.kd_type = kd_type::kek;
    p.spi.assign(label_spi.begin(), label_spi.end());
    SecretBytes material(kek.iv);
    material.append(kek.key.reveal());
    p.attributes.push_back({kd_kek_attr::algorithm_key, AttributeForm::tlv, std::move(material)});
    if (!kek.public_key_der.empty())
        p.attributes.push_back(
            {kd_kek_attr::sig_algorithm_key, AttributeForm::tlv, SecretBytes(kek.public_key_der)});
    return p;
}

// ---------------------------------------------------------------------------------------- TEK

Converted<TekPolicy> tek_from_wire(const SaTekPayload& sa, const KeyPacket* kd_tek,
                                   const ServerQuirks& quirks) {
    TekPolicy tek;
    tek.spi = sa.spi;
    const std::string what = "TEK " + spi_hex(sa.spi) + ": ";
    if (sa.protocol_id != tek_protocol::esp)
        return {std::nullopt, what + "protocol " + std::to_string(sa.protocol_id) +
                                  " is not supported (ESP only)"};
    tek.protocol = TekProtocol::esp;
    tek.selector.ip_protocol = sa.ip_protocol;
    auto src = endpoint_from_wire(sa.source, quirks.sa_tek_ipv4_byte_reversed);
    auto dst = endpoint_from_wire(sa.destination, quirks.sa_tek_ipv4_byte_reversed);
    if (!src || !dst)
        return {std::nullopt, what + "source or destination ID is not an address, subnet or "
                                     "range with a contiguous mask"};
    tek.selector.source = *src;
    tek.selector.destination = *dst;

    std::optional<uint64_t> key_length = number_of(sa.attributes, tek_attr::key_length);
    switch (sa.transform_id) {
    case esp_transform::des3:
        tek.cipher = TekCipher::des3_cbc;
        tek.cipher_key_bits = 192;
        break;
    case esp_transform::aes_cbc:
    case esp_transform::aes_gcm_16:
        tek.cipher =
            sa.transform_id == esp_transform::aes_cbc ? TekCipher::aes_cbc : TekCipher::aes_gcm_16;
        if (!key_length || (*key_length != 128 && *key_length != 192 && *key_length != 256))
            return {std::nullopt,
                    what + "AES TEK with KEY_LENGTH " +
                        (key_length ? std::to_string(*key_length) : std::string("absent")) +
                        " (a known key server bug): refused rather than installed with a "
                        "guessed key size"};
        tek.cipher_key_bits = static_cast<uint16_t>(*key_length);
        break;
    case esp_transform::null_encryption:
        tek.cipher = TekCipher::null_encryption;
        break;
    default:
        return {std::nullopt,
                what + "ESP transform " + std::to_string(sa.transform_id) + " is not supported"};
    }

    tek.integrity = TekIntegrity::none;
    if (auto auth = number_of(sa.attributes, tek_attr::authentication_algorithm)) {
        switch (*auth) {
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
            return {std::nullopt, what + "authentication algorithm " + std::to_string(*auth) +
                                      " is not supported"};
        }
    }
    if (tek.cipher == TekCipher::aes_gcm_16 && tek.integrity != TekIntegrity::none)
        return {std::nullopt, what + "AES-GCM with a separate integrity algorithm"};
    if (tek.cipher == TekCipher::null_encryption && tek.integrity == TekIntegrity::none)
        return {std::nullopt, what + "NULL encryption without integrity protects nothing"};

    // SA Life Type / SA Life Duration pairs (RFC 2407 section 4.5); LIFE_DURATION is the time
    // left when the server sent it, not the full lifetime.
    uint64_t life_type = life_type::seconds;
    for (const Attribute& a : sa.attributes) {
        if (a.type == tek_attr::sa_life_type && a.number()) life_type = *a.number();
        if (a.type == tek_attr::sa_life_duration && a.number()) {
            if (life_type == life_type::seconds)
                tek.lifetime = std::chrono::seconds(*a.number());
            else if (life_type == life_type::kilobytes)
                tek.lifetime_kilobytes = *a.number();
        }
    }
    if (auto mode = number_of(sa.attributes, tek_attr::encapsulation_mode))
        tek.tunnel_mode = *mode != encapsulation::transport;
    if (auto ap = number_of(sa.attributes, tek_attr::address_preservation)) {
        if (*ap < 1 || *ap > 4)
            return {std::nullopt,
                    what + "ADDRESS_PRESERVATION " + std::to_string(*ap) + " is not defined"};
        tek.preservation = static_cast<AddressPreservation>(*ap);
    }
    if (auto dir = number_of(sa.attributes, tek_attr::sa_direction)) {
        if (*dir < 1 || *dir > 3)
            return {std::nullopt,
                    what + "SA_DIRECTION " + std::to_string(*dir) + " is not defined"};
        tek.direction = static_cast<SaDirection>(*dir);
    }
    // Linux's GCM IV generators do not embed RFC 6054 sender IDs: receiving only.
    if (tek.cipher == TekCipher::aes_gcm_16) tek.receive_only = true;

    if (!kd_tek)
        return {std::nullopt, what + "no KD key packet for this SPI: refused, never installed "
                                     "without its keys"};
    size_t cipher_size = tek.cipher_key_bits / 8 + (tek.cipher == TekCipher::aes_gcm_16 ? 4 : 0);
    if (tek.cipher != TekCipher::null_encryption) {
        const KeyAttribute* k = find_key_attribute(kd_tek->attributes, kd_tek_attr::algorithm_key);
        if (!k) return {std::nullopt, what + "key packet without TEK_ALGORITHM_KEY"};
        if (k->value.size() != cipher_size)
            return {std::nullopt, what + "TEK_ALGORITHM_KEY of " + std::to_string(k->value.size()) +
                                      " octets, the cipher needs " + std::to_string(cipher_size)};
        tek.cipher_key = k->value;
    }
    if (size_t isize = integrity_key_size(tek.integrity); isize > 0) {
        const KeyAttribute* k = find_key_attribute(kd_tek->attributes, kd_tek_attr::integrity_key);
        if (!k) return {std::nullopt, what + "key packet without TEK_INTEGRITY_KEY"};
        if (k->value.size() != isize)
            return {std::nullopt, what + "TEK_INTEGRITY_KEY of " + std::to_string(k->value.size()) +
                                      " octets, the HMAC needs " + std::to_string(isize)};
        tek.integrity_key = k->value;
    }
    return {std::move(tek), {}};
}

SaTekPayload tek_to_wire(const TekPolicy& tek, const ServerQuirks& quirks) {
    SaTekPayload sa;
    sa.protocol_id = tek_protocol::esp;
    sa.ip_protocol = tek.selector.ip_protocol;
    sa.source = endpoint_to_wire(tek.selector.source, quirks.sa_tek_ipv4_byte_reversed);
    sa.destination = endpoint_to_wire(tek.selector.destination, quirks.sa_tek_ipv4_byte_reversed);
    sa.spi = tek.spi;
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
    case TekCipher::null_encryption:
        sa.transform_id = esp_transform::null_encryption;
        break;
    case TekCipher::none:
        sa.transform_id = 0;
        break;
    }
    auto& a = sa.attributes;
    a.push_back(Attribute::tv(tek_attr::sa_life_type, life_type::seconds));
    a.push_back(Attribute::tlv_u32(tek_attr::sa_life_duration,
                                   static_cast<uint32_t>(tek.lifetime.count())));
    a.push_back(Attribute::tv(tek_attr::encapsulation_mode,
                              tek.tunnel_mode ? encapsulation::tunnel : encapsulation::transport));
    uint16_t auth = 0;
    switch (tek.integrity) {
    case TekIntegrity::none:
        break;
    case TekIntegrity::hmac_md5:
        auth = auth_algorithm::hmac_md5;
        break;
    case TekIntegrity::hmac_sha1:
        auth = auth_algorithm::hmac_sha1;
        break;
    case TekIntegrity::hmac_sha256:
        auth = auth_algorithm::hmac_sha2_256;
        break;
    case TekIntegrity::hmac_sha384:
        auth = auth_algorithm::hmac_sha2_384;
        break;
    case TekIntegrity::hmac_sha512:
        auth = auth_algorithm::hmac_sha2_512;
        break;
    }
    if (auth) a.push_back(Attribute::tv(tek_attr::authentication_algorithm, auth));
    if (tek.cipher == TekCipher::aes_cbc || tek.cipher == TekCipher::aes_gcm_16)
        a.push_back(Attribute::tv(tek_attr::key_length, tek.cipher_key_bits));
    a.push_back(
        Attribute::tv(tek_attr::address_preservation, static_cast<uint16_t>(tek.preservation)));
    a.push_back(Attribute::tv(tek_attr::sa_direction, static_cast<uint16_t>(tek.direction)));
    return sa;
}

KeyPacket tek_key_packet(const TekPolicy& tek) {
    KeyPacket p;
    p.kd_type = kd_type::tek;
    p.spi = {static_cast<uint8_t>(tek.spi >> 24), static_cast<uint8_t>(tek.spi >> 16),
             static_cast<uint8_t>(tek.spi >> 8), static_cast<uint8_t>(tek.spi)};
    if (!tek.cipher_key.empty())
        p.attributes.push_back({kd_tek_attr::algorithm_key, AttributeForm::tlv, tek.cipher_key});
    if (!tek.integrity_key.empty())
        p.attributes.push_back({kd_tek_attr::integrity_key, AttributeForm::tlv, tek.integrity_key});
    return p;
}

// ---------------------------------------------------------------------------------------- GAP

GroupAssociatedPolicy gap_from_wire(const GapPayload& gap) {
    GroupAssociatedPolicy out;
    if (auto atd = number_of(gap.attributes, gap_attr::activation_time_delay))
        out.activation_delay = std::chrono::seconds(*atd);
    if (auto dtd = number_of(gap.attributes, gap_attr::deactivation_time_delay))
        out.deactivation_delay = std::chrono::seconds(*dtd);
    return out;
}

GapPayload gap_to_wire(const GroupAssociatedPolicy& gap) {
    GapPayload out;
    if (gap.activation_delay)
        out.attributes.push_back(Attribute::tv(
            gap_attr::activation_time_delay, static_cast<uint16_t>(gap.activation_delay->count())));
    if (gap.deactivation_delay)
        out.attributes.push_back(
            Attribute::tv(gap_attr::deactivation_time_delay,
                          static_cast<uint16_t>(gap.deactivation_delay->count())));
    return out;
}

} // namespace gdoi::push
