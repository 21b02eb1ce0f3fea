// Member side: GDOI SA and KD payloads -> GroupPolicy, with every check RFC 6407 and the
// deployed servers call for.
#include "gdoi/crypto/cbc_cipher.hpp"
#include "gdoi/crypto/openssl_error.hpp"
#include "gdoi/crypto/rsa_signature.hpp"
#include "gdoi/pull/group_policy_codec.hpp"
#include "gdoi/wire/attributes.hpp"
#include "gdoi/wire/id_data.hpp"

#include <algorithm>
#include <cstdio>

namespace gdoi::pull {

using namespace gdoi::wire;

namespace {

std::string hex32(uint32_t v) {
    char buffer[16];
    std::snprintf(buffer, sizeof buffer, "0x%08x", v);
    return buffer;
}

std::optional<uint64_t> number_of(const std::vector<Attribute>& attributes, uint16_t type) {
    const Attribute* a = find_attribute(attributes, type);
    return a ? a->number() : std::nullopt;
}

std::optional<SelectorEndpoint> endpoint(const IdEndpoint& id, bool reversed) {
    auto range = id_data_to_range(id.id_type, id.data, reversed);
    if (!range) return std::nullopt;
    return SelectorEndpoint{*range, id.port};
}

const char* transform_name(uint8_t id) {
    switch (id) {
    case esp_transform::des:
        return "DES";
    case esp_transform::des3:
        return "3DES";
    case esp_transform::null_encryption:
        return "NULL";
    case esp_transform::aes_cbc:
        return "AES-CBC";
    case esp_transform::aes_ctr:
        return "AES-CTR";
    case esp_transform::aes_gcm_8:
        return "AES-GCM-8";
    case esp_transform::aes_gcm_12:
        return "AES-GCM-12";
    case esp_transform::aes_gcm_16:
        return "AES-GCM-16";
    case esp_transform::null_auth_aes_gmac:
        return "AES-GMAC";
    default:
        return "unknown";
    }
}

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

size_t cipher_key_size(const TekPolicy& tek) {
    switch (tek.cipher) {
    case TekCipher::des3_cbc:
        return 24;
    case TekCipher::aes_cbc:
        return tek.cipher_key_bits / 8u;
    case TekCipher::aes_gcm_16:
        return tek.cipher_key_bits / 8u + 4; // RFC 4106: key | salt
    case TekCipher::none:
    case TekCipher::null_encryption:
        return 0;
    }
    return 0;
}

// One SA TEK payload -> TekPolicy; error text when we cannot use it.
std::optional<std::string> read_tek(const SaTekPayload& p, const ServerQuirks& quirks,
                                    TekPolicy& tek, bool& reject_tek_only) {
    reject_tek_only = false;
    const std::string where = "SA TEK SPI " + hex32(p.spi);
    if (p.protocol_id != tek_protocol::esp)
        return where + ": protocol " + std::to_string(p.protocol_id) +
               " is not supported (only ESP)";
    tek.spi = p.spi;
    tek.protocol = TekProtocol::esp;
    auto source = endpoint(p.source, quirks.sa_tek_ipv4_byte_reversed);
    auto destination = endpoint(p.destination, quirks.sa_tek_ipv4_byte_reversed);
    if (!source || !destination)
        return where + ": a traffic selector is not an address, subnet or range (ID types " +
               std::to_string(p.source.id_type) + "/" + std::to_string(p.destination.id_type) + ")";
    tek.selector = {p.ip_protocol, *source, *destination};

    auto key_length = number_of(p.attributes, tek_attr::key_length);
    switch (p.transform_id) {
    case esp_transform::des3:
        tek.cipher = TekCipher::des3_cbc;
        tek.cipher_key_bits = 192;
        break;
    case esp_transform::aes_cbc:
    case esp_transform::aes_gcm_16:
        tek.cipher =
            p.transform_id == esp_transform::aes_cbc ? TekCipher::aes_cbc : TekCipher::aes_gcm_16;
        // RFC 3602 section 5.3 / RFC 4106 section 8.4: the Key Length attribute MUST be given
        // for AES. The reference server sends 0: never guess a length.
        if (!key_length || (*key_length != 128 && *key_length != 192 && *key_length != 256)) {
            reject_tek_only = true;
            return where + ": " + transform_name(p.transform_id) + " with KEY_LENGTH " +
                   (key_length ? std::to_string(*key_length) : std::string("missing")) +
                   " (need 128, 192 or 256)";
        }
        tek.cipher_key_bits = static_cast<uint16_t>(*key_length);
        break;
    case esp_transform::null_encryption:
        tek.cipher = TekCipher::null_encryption;
        tek.cipher_key_bits = 0;
        break;
    default:
        return where + ": ESP transform " + transform_name(p.transform_id) + " (" +
               std::to_string(p.transform_id) + ") is not supported";
    }

    auto auth = number_of(p.attributes, tek_attr::authentication_algorithm);
    if (!auth)
        tek.integrity = TekIntegrity::none;
    else if (*auth == auth_algorithm::hmac_md5)
        tek.integrity = TekIntegrity::hmac_md5;
    else if (*auth == auth_algorithm::hmac_sha1)
        tek.integrity = TekIntegrity::hmac_sha1;
    else if (*auth == auth_algorithm::hmac_sha2_256)
        tek.integrity = TekIntegrity::hmac_sha256;
    else if (*auth == auth_algorithm::hmac_sha2_384)
        tek.integrity = TekIntegrity::hmac_sha384;
    else if (*auth == auth_algorithm::hmac_sha2_512)
        tek.integrity = TekIntegrity::hmac_sha512;
    else
        return where + ": authentication algorithm " + std::to_string(*auth) + " is not supported";
    if (tek.cipher == TekCipher::aes_gcm_16 && tek.integrity != TekIntegrity::none)
        return where + ": AES-GCM with a separate authentication algorithm";
    if (tek.cipher != TekCipher::aes_gcm_16 && tek.integrity == TekIntegrity::none)
        return where + ": " + transform_name(p.transform_id) +
               " without an authentication algorithm";

    // SA Life Type / Duration come in pairs (RFC 2407 section 4.5).
    uint64_t life_type = 0;
    for (const auto& a : p.attributes) {
        if (a.type == tek_attr::sa_life_type) life_type = a.number().value_or(0);
        if (a.type == tek_attr::sa_life_duration) {
            auto value = a.number().value_or(0);
            if (life_type == life_type::seconds)
                tek.lifetime = std::chrono::seconds(value);
            else if (life_type == life_type::kilobytes)
                tek.lifetime_kilobytes = value;
        }
    }
    if (tek.lifetime.count() == 0) tek.lifetime = std::chrono::seconds(28800); // RFC 2407 default

    auto mode = number_of(p.attributes, tek_attr::encapsulation_mode);
    if (mode && *mode != encapsulation::tunnel && *mode != encapsulation::transport)
        return where + ": encapsulation mode " + std::to_string(*mode) + " is not supported";
    tek.tunnel_mode = !mode || *mode == encapsulation::tunnel;

    auto preservation = number_of(p.attributes, tek_attr::address_preservation);
    if (preservation && (*preservation < 1 || *preservation > 4))
        return where + ": address preservation " + std::to_string(*preservation) + " is unknown";
    tek.preservation = preservation ? static_cast<AddressPreservation>(*preservation)
                                    : AddressPreservation::source_and_destination;
    auto direction = number_of(p.attributes, tek_attr::sa_direction);
    if (direction && (*direction < 1 || *direction > 3))
        return where + ": SA direction " + std::to_string(*direction) + " is unknown";
    tek.direction = direction ? static_cast<SaDirection>(*direction) : SaDirection::symmetric;
    if (number_of(p.attributes, tek_attr::extended_sequence_number).value_or(0) != 0)
        return where + ": extended sequence numbers cannot work with many senders on one SA";
    return std::nullopt;
}

std::optional<std::string> read_kek(const SaKekPayload& p, KekPolicy& kek) {
    kek.spi = p.spi;
    auto algorithm = number_of(p.attributes, kek_attr::algorithm);
    if (algorithm == kek_algorithm::des3) {
        kek.cipher = KekCipher::des3_cbc;
        kek.key_bits = 192;
    } else if (algorithm == kek_algorithm::aes) {
        kek.cipher = KekCipher::aes_cbc;
        auto bits = number_of(p.attributes, kek_attr::key_length);
        if (!bits || (*bits != 128 && *bits != 192 && *bits != 256))
            return "SA KEK: AES with KEK_KEY_LENGTH " +
                   (bits ? std::to_string(*bits) : std::string("missing"));
        kek.key_bits = static_cast<uint16_t>(*bits);
    } else {
        return "SA KEK: KEK algorithm " +
               (algorithm ? std::to_string(*algorithm) : std::string("(missing)")) +
               " is not supported (3DES and AES-CBC are)";
    }
    auto sig = number_of(p.attributes, kek_attr::sig_algorithm);
    if (sig && *sig != sig_algorithm::rsa)
        return "SA KEK: signature algorithm " + std::to_string(*sig) + " is not supported (RSA is)";
    kek.signature_algorithm = SignatureAlgorithm::rsa;
    auto hash = number_of(p.attributes, kek_attr::sig_hash_algorithm);
    if (hash == sig_hash::sha1)
        kek.signature_hash = SignatureHash::sha1;
    else if (hash == sig_hash::sha256)
        kek.signature_hash = SignatureHash::sha256;
    else if (hash == sig_hash::sha384)
        kek.signature_hash = SignatureHash::sha384;
    else if (hash == sig_hash::sha512)
        kek.signature_hash = SignatureHash::sha512;
    else if (hash == sig_hash::md5)
        kek.signature_hash = SignatureHash::md5;
    else
        return "SA KEK: signature hash " +
               (hash ? std::to_string(*hash) : std::string("(missing)")) + " is not supported";
    kek.signature_key_bits =
        static_cast<uint16_t>(number_of(p.attributes, kek_attr::sig_key_length).value_or(0));
    kek.lifetime =
        std::chrono::seconds(number_of(p.attributes, kek_attr::key_lifetime).value_or(0));
    if (find_attribute(p.attributes, kek_attr::ack_requested))
        kek.ack_request = AckRequest::rfc8263;
    else if (find_attribute(p.attributes, kek_attr::ack_requested_cisco_legacy))
        kek.ack_request = AckRequest::cisco_legacy;
    auto source = endpoint(p.source, false);
    auto destination = endpoint(p.destination, false);
    if (!source || !destination) return "SA KEK: source or destination is not an address ID";
    kek.source = *source;
    kek.destination = *destination;
    return std::nullopt;
}

} // namespace

std::string describe_selector(const TrafficSelector& s) {
    auto side = [](const SelectorEndpoint& e) {
        std::string out;
        auto prefixes = e.prefixes();
        for (size_t i = 0; i < prefixes.size(); ++i)
            out += (i ? "," : "") + prefixes[i].to_string();
        if (e.port) out += ":" + std::to_string(e.port);
        return out;
    };
    std::string out = side(s.source) + " -> " + side(s.destination);
    if (s.ip_protocol) out += " proto " + std::to_string(s.ip_protocol);
    return out;
}

std::string describe_tek(const TekPolicy& tek) {
    std::string cipher =
        tek.cipher == TekCipher::des3_cbc     ? "3DES"
        : tek.cipher == TekCipher::aes_cbc    ? "AES-CBC-" + std::to_string(tek.cipher_key_bits)
        : tek.cipher == TekCipher::aes_gcm_16 ? "AES-GCM-" + std::to_string(tek.cipher_key_bits)
                                              : "NULL";
    return "ESP " + cipher + " SPI " + hex32(tek.spi) + " " + describe_selector(tek.selector);
}

PolicyCheck read_group_sa(const GdoiSaPayload& sa, const ServerQuirks& quirks,
                          GroupPolicy& policy) {
    PolicyCheck check;
    if (sa.doi != doi::gdoi) {
        check.error = "GDOI SA with DOI " + std::to_string(sa.doi) + " (RFC 6407 section 5.1: 2)";
        return check;
    }
    for (const auto& attribute : sa.attributes) {
        if (auto* kek = std::get_if<SaKekPayload>(&attribute)) {
            if (policy.kek) {
                check.error = "GDOI SA carries two SA KEK payloads";
                return check;
            }
            KekPolicy k;
            if (auto error = read_kek(*kek, k)) {
                check.error = *error;
                return check;
            }
            policy.kek = std::move(k);
        } else if (auto* gap = std::get_if<GapPayload>(&attribute)) {
            if (auto atd = number_of(gap->attributes, gap_attr::activation_time_delay))
                policy.gap.activation_delay = std::chrono::seconds(*atd);
            if (auto dtd = number_of(gap->attributes, gap_attr::deactivation_time_delay))
                policy.gap.deactivation_delay = std::chrono::seconds(*dtd);
        } else if (auto* tek = std::get_if<SaTekPayload>(&attribute)) {
            TekPolicy t;
            bool reject_tek_only = false;
            if (auto error = read_tek(*tek, quirks, t, reject_tek_only)) {
                if (reject_tek_only) {
                    check.rejected.push_back(*error);
                    continue;
                }
                check.error = *error;
                return check;
            }
            if (std::any_of(policy.teks.begin(), policy.teks.end(),
                            [&](const TekPolicy& other) { return other.spi == t.spi; })) {
                check.error = "two SA TEK payloads with SPI " + hex32(t.spi);
                return check;
            }
            policy.teks.push_back(std::move(t));
        }
    }
    return check;
}

PolicyCheck read_key_download(const KdPayload& kd, GroupPolicy& policy) {
    PolicyCheck check;
    std::vector<uint32_t> keyed;
    for (const auto& packet : kd.packets) {
        if (packet.kd_type == kd_type::kek) {
            if (!policy.kek) {
                check.warnings.push_back("KD: a KEK key packet without an SA KEK, ignored");
                continue;
            }
            auto& kek = *policy.kek;
            // Be strict about what protects the group: the key packet names the KEK it keys.
            if (packet.spi.size() != kek.spi.size() ||
                !std::equal(packet.spi.begin(), packet.spi.end(), kek.spi.begin())) {
                check.error = "KD: the KEK key packet names another SPI than the SA KEK";
                return check;
            }
            const auto* key = find_key_attribute(packet.attributes, kd_kek_attr::algorithm_key);
            const size_t block = kek.cipher == KekCipher::des3_cbc ? 8 : 16;
            const size_t key_size = kek.key_bits / 8u;
            if (!key || key->value.size() != block + key_size) {
                check.error =
                    "KD: KEK_ALGORITHM_KEY has " +
                    (key ? std::to_string(key->value.size()) : std::string("no")) +
                    " octets, the KEK needs IV + key = " + std::to_string(block + key_size);
                return check;
            }
            auto bytes = key->value.reveal();
            kek.iv.assign(bytes.begin(), bytes.begin() + static_cast<long>(block));
            kek.key = SecretBytes(bytes.subspan(block));
            if (const auto* pub =
                    find_key_attribute(packet.attributes, kd_kek_attr::sig_algorithm_key)) {
                auto der = pub->value.reveal();
                try {
                    auto parsed = crypto::RsaPublicKey::from_der(der);
                    if (kek.signature_key_bits == 0)
                        kek.signature_key_bits = static_cast<uint16_t>(parsed.modulus_bits());
                } catch (const crypto::CryptoError& e) {
                    check.error =
                        std::string("KD: the key server's public key is unusable: ") + e.what();
                    return check;
                }
                kek.public_key_der.assign(der.begin(), der.end());
            }
            continue;
        }
        if (packet.kd_type != kd_type::tek) {
            check.warnings.push_back("KD: key packet type " + std::to_string(packet.kd_type) +
                                     " ignored");
            continue;
        }
        if (packet.spi.size() != 4) {
            check.error =
                "KD: a TEK key packet with a " + std::to_string(packet.spi.size()) + "-octet SPI";
            return check;
        }
        uint32_t spi = uint32_t(packet.spi[0]) << 24 | uint32_t(packet.spi[1]) << 16 |
                       uint32_t(packet.spi[2]) << 8 | packet.spi[3];
        auto tek = std::find_if(policy.teks.begin(), policy.teks.end(),
                                [&](const TekPolicy& t) { return t.spi == spi; });
        if (tek == policy.teks.end()) {
            check.warnings.push_back("KD: keys for SPI " + hex32(spi) +
                                     " which no SA TEK names, ignored");
            continue;
        }
        const auto* cipher_key = find_key_attribute(packet.attributes, kd_tek_attr::algorithm_key);
        const auto* integrity_key =
            find_key_attribute(packet.attributes, kd_tek_attr::integrity_key);
        size_t want_cipher = cipher_key_size(*tek);
        size_t want_integrity = integrity_key_size(tek->integrity);
        size_t got_cipher = cipher_key ? cipher_key->value.size() : 0;
        size_t got_integrity = integrity_key ? integrity_key->value.size() : 0;
        if (got_cipher != want_cipher || got_integrity < want_integrity) {
            check.rejected.push_back(
                describe_tek(*tek) + ": its key packet holds " + std::to_string(got_cipher) + "+" +
                std::to_string(got_integrity) + " octets of cipher+integrity key, it needs " +
                std::to_string(want_cipher) + "+" + std::to_string(want_integrity));
            continue;
        }
        if (cipher_key) tek->cipher_key = cipher_key->value;
        if (want_integrity)
            tek->integrity_key = SecretBytes(integrity_key->value.reveal().first(want_integrity));
        keyed.push_back(spi);
    }
    // A TEK we have no (correct) key for is never installed.
    for (auto it = policy.teks.begin(); it != policy.teks.end();) {
        if (std::find(keyed.begin(), keyed.end(), it->spi) == keyed.end()) {
            if (std::none_of(
                    check.rejected.begin(), check.rejected.end(),
                    [&](const std::string& r) { return r.rfind(describe_tek(*it), 0) == 0; }))
                check.rejected.push_back(describe_tek(*it) + ": no key packet in the KD payload");
            it = policy.teks.erase(it);
        } else {
            ++it;
        }
    }
    if (policy.kek && policy.kek->key.empty()) {
        check.error = "KD: no KEK key packet for the SA KEK (pushes could not be read)";
        return check;
    }
    return check;
}

PolicyCheck validate_group_policy(GroupPolicy& policy) {
    PolicyCheck check;
    if (policy.teks.empty()) {
        check.error = "no usable TEK in the policy";
        return check;
    }
    std::vector<std::string> unpaired;
    for (const auto& tek : policy.teks) {
        const auto& s = tek.selector;
        // Traffic to a multicast group flows one way by nature; a selector equal to its own
        // mirror covers both directions.
        bool multicast = s.destination.range.first.is_multicast();
        if (multicast || s == s.mirrored()) continue;
        bool mirrored = std::any_of(policy.teks.begin(), policy.teks.end(),
                                    [&](const TekPolicy& o) { return o.selector == s.mirrored(); });
        if (!mirrored) unpaired.push_back(describe_tek(tek));
    }
    if (!unpaired.empty()) {
        std::string list;
        for (const auto& u : unpaired)
            list += (list.empty() ? "" : "; ") + u;
        check.error = "TEK policies must come in pairs (A->B with B->A); unpaired: " + list;
        return check;
    }
    for (auto& tek : policy.teks) {
        if (tek.cipher == TekCipher::aes_gcm_16 && !tek.receive_only) {
            tek.receive_only = true;
            check.warnings.push_back(describe_tek(tek) +
                                     ": AES-GCM needs RFC 6054 sender IDs to send safely; "
                                     "receiving only");
        }
    }
    return check;
}

} // namespace gdoi::pull
