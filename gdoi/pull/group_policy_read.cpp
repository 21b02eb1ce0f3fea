// Member side: GDOI SA and KD payloads -> GroupPolicy. The conversion itself is
// gdoi/wire/policy_codec.hpp (the same code a GROUPKEY-PUSH goes through); what stays here is
// what PULL decides on top of it: which refusals cost one TEK and which the registration, the
// defaults RFC 2407 gives a member, and the checks deployed servers call for.
#include "gdoi/crypto/kek_signature.hpp"
#include "gdoi/crypto/openssl_error.hpp"
#include "gdoi/pull/group_policy_codec.hpp"
#include "gdoi/wire/attributes.hpp"
#include "gdoi/wire/policy_codec.hpp"

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

// RFC 3602 section 5.3 / RFC 4106 section 8.4: the Key Length attribute MUST be given for AES.
// The reference server sends 0. The codec refuses such a TEK; PULL leaves just that TEK out
// (the others of the group still work) and never guesses a length.
std::optional<std::string> unusable_aes_key_length(const SaTekPayload& p) {
    if (p.transform_id != esp_transform::aes_cbc && p.transform_id != esp_transform::aes_gcm_16)
        return std::nullopt;
    auto bits = number_of(p.attributes, tek_attr::key_length);
    if (bits && (*bits == 128 || *bits == 192 || *bits == 256)) return std::nullopt;
    return "SA TEK SPI " + hex32(p.spi) + ": " + transform_name(p.transform_id) +
           " with KEY_LENGTH " + (bits ? std::to_string(*bits) : std::string("missing")) +
           " (need 128, 192 or 256)";
}

// The operator's sentence for a TEK the codec refused.
std::string tek_refusal(const SaTekPayload& p, const PolicyError& e) {
    if (e.notify() == NotifyType::invalid_transform_id)
        return "SA TEK SPI " + hex32(p.spi) + ": ESP transform " + transform_name(p.transform_id) +
               " (" + std::to_string(p.transform_id) + ") is not supported";
    return e.what();
}

// What PULL asks of a converted TEK beyond the codec; fills the RFC 2407 default lifetime.
std::optional<std::string> check_tek(const SaTekPayload& p, TekPolicy& tek) {
    const std::string where = "SA TEK SPI " + hex32(p.spi);
    // ESP without integrity protection is open to forgery; only AES-GCM brings its own.
    if (tek.cipher != TekCipher::aes_gcm_16 && tek.integrity == TekIntegrity::none)
        return where + ": " + transform_name(p.transform_id) +
               " without an authentication algorithm";
    // Many senders share one SA and no replay window: extended sequence numbers cannot work.
    if (number_of(p.attributes, tek_attr::extended_sequence_number).value_or(0) != 0)
        return where + ": extended sequence numbers cannot work with many senders on one SA";
    // Clear text on the WAN, and the kernel facade has no cipher_null: as in a push.
    if (tek.cipher == TekCipher::null_encryption)
        return where + ": ESP_NULL (no encryption) refused: the group's traffic would cross the "
                       "WAN in clear text";
    // RFC 2407 section 4.5: without an SA Life Duration the lifetime is 28800 seconds.
    if (tek.lifetime.count() == 0) tek.lifetime = std::chrono::seconds(28800);
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
    if (std::count_if(sa.attributes.begin(), sa.attributes.end(),
                      [](const auto& a) { return std::holds_alternative<SaKekPayload>(a); }) > 1) {
        check.error = "GDOI SA carries two SA KEK payloads";
        return check;
    }
    try {
        if (const SaKekPayload* kek = sa.kek()) {
            KekPolicy k = kek_policy_from(*kek);
            // Pushes are signed with RSA, ECDSA-256 or ECDSA-384 (gdoi/crypto/kek_signature.hpp).
            try {
                crypto::kek_signature_suite(k.signature_algorithm, k.signature_hash);
            } catch (const crypto::CryptoError& e) {
                check.error = "SA KEK: " + std::string(e.what()) + " (SIG_ALGORITHM " +
                              std::to_string(
                                  number_of(kek->attributes, kek_attr::sig_algorithm).value_or(0)) +
                              ")";
                return check;
            }
            policy.kek = std::move(k);
        }
        if (const GapPayload* gap = sa.gap()) policy.gap = gap_policy_from(*gap);
    } catch (const PolicyError& e) {
        check.error = e.what();
        return check;
    }
    for (const SaTekPayload* p : sa.teks()) {
        if (auto why = unusable_aes_key_length(*p)) {
            check.rejected.push_back(*why);
            continue;
        }
        TekPolicy t;
        try {
            t = tek_policy_from(*p, quirks);
        } catch (const PolicyError& e) {
            check.error = tek_refusal(*p, e);
            return check;
        }
        if (auto error = check_tek(*p, t)) {
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
            try {
                apply_kek_key_packet(kek, packet);
            } catch (const PolicyError& e) {
                check.error = std::string("KD: ") + e.what();
                return check;
            }
            // Pushes are verified with this key: refuse it now rather than every push later.
            if (!kek.public_key_der.empty()) {
                try {
                    auto parsed =
                        crypto::KekPublicKey::from_der(kek.signature_algorithm, kek.public_key_der);
                    if (kek.signature_key_bits == 0)
                        kek.signature_key_bits = static_cast<uint16_t>(parsed.key_bits());
                } catch (const crypto::CryptoError& e) {
                    check.error =
                        std::string("KD: the key server's public key is unusable: ") + e.what();
                    return check;
                }
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
        // A key of the wrong size costs this TEK only, never the group.
        TekPolicy with_keys = *tek;
        try {
            apply_tek_key_packet(with_keys, packet);
        } catch (const PolicyError& e) {
            check.rejected.push_back(describe_tek(*tek) + ": " + e.what());
            continue;
        }
        *tek = std::move(with_keys);
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
