// SA KEK attributes (RFC 6407 section 5.3.1) and the KEK key packet (section 5.6.2) <-> KekPolicy.
#include "gdoi/wire/id_data.hpp"
#include "gdoi/wire/policy_codec.hpp"

#include <optional>
#include <string>

namespace gdoi::wire {

namespace {

[[noreturn]] void reject(NotifyType notify, const std::string& what) {
    throw PolicyError(notify, "SA KEK: " + what);
}

SelectorEndpoint endpoint_from(const IdEndpoint& id, const char* side) {
    auto range = id_data_to_range(id.id_type, id.data);
    if (!range)
        reject(NotifyType::invalid_id_information,
               std::string(side) + " ID type " + std::to_string(id.id_type) + " is not an address");
    return {*range, id.port};
}

// RFC 4754 pairs each ECDSA curve with one hash: ECDSA-256 signs SHA-256, ECDSA-384 SHA-384,
// ECDSA-521 SHA-512. The other algorithms take theirs from SIG_HASH_ALGORITHM.
std::optional<SignatureHash> hash_fixed_by(SignatureAlgorithm algorithm) {
    switch (algorithm) {
    case SignatureAlgorithm::ecdsa_256:
        return SignatureHash::sha256;
    case SignatureAlgorithm::ecdsa_384:
        return SignatureHash::sha384;
    case SignatureAlgorithm::ecdsa_521:
        return SignatureHash::sha512;
    default:
        return std::nullopt;
    }
}

const char* ecdsa_name(SignatureAlgorithm algorithm) {
    return algorithm == SignatureAlgorithm::ecdsa_256   ? "ECDSA-256"
           : algorithm == SignatureAlgorithm::ecdsa_384 ? "ECDSA-384"
                                                        : "ECDSA-521";
}

const char* hash_name(SignatureHash hash) {
    static constexpr const char* names[] = {"MD5", "SHA-1", "SHA-256", "SHA-384", "SHA-512"};
    return names[static_cast<size_t>(hash)];
}

IdEndpoint id_from(const SelectorEndpoint& endpoint) {
    auto data = range_to_id_data(endpoint.range);
    return {data.id_type, endpoint.port, std::move(data.data)};
}

} // namespace

size_t kek_block_octets(KekCipher cipher) {
    return cipher == KekCipher::des3_cbc ? 8 : 16;
}

KekPolicy kek_policy_from(const SaKekPayload& sa) {
    KekPolicy kek;
    kek.spi = sa.spi;
    kek.source = endpoint_from(sa.source, "SRC");
    kek.destination = endpoint_from(sa.destination, "DST");
    bool have_algorithm = false;
    std::optional<uint64_t> hash_attribute; // SIG_HASH_ALGORITHM as sent
    uint64_t sig_algorithm_attribute = sig_algorithm::rsa;
    for (const auto& a : sa.attributes) {
        auto n = a.number();
        auto need = [&]() -> uint64_t {
            if (!n)
                reject(NotifyType::payload_malformed,
                       "attribute " + std::to_string(a.type) + " is not a number");
            return *n;
        };
        switch (a.type) {
        case kek_attr::management_algorithm:
            break; // LKH is not used by deployed servers
        case kek_attr::algorithm:
            switch (need()) {
            case kek_algorithm::des3:
                kek.cipher = KekCipher::des3_cbc;
                break;
            case kek_algorithm::aes:
                kek.cipher = KekCipher::aes_cbc;
                break;
            default:
                reject(NotifyType::attributes_not_supported,
                       "KEK_ALGORITHM " + std::to_string(*n) + " not supported (3DES, AES only)");
            }
            have_algorithm = true;
            break;
        case kek_attr::key_length:
            kek.key_bits = static_cast<uint16_t>(need());
            break;
        case kek_attr::key_lifetime:
            kek.lifetime = std::chrono::seconds(need());
            break;
        case kek_attr::sig_hash_algorithm:
            hash_attribute = need();
            switch (*hash_attribute) {
            case sig_hash::md5:
                kek.signature_hash = SignatureHash::md5;
                break;
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
                reject(NotifyType::attributes_not_supported,
                       "SIG_HASH_ALGORITHM " + std::to_string(*n) + " not supported");
            }
            break;
        case kek_attr::sig_algorithm:
            sig_algorithm_attribute = need();
            switch (sig_algorithm_attribute) {
            case sig_algorithm::rsa:
                kek.signature_algorithm = SignatureAlgorithm::rsa;
                break;
            case sig_algorithm::dss:
                kek.signature_algorithm = SignatureAlgorithm::dss;
                break;
            case sig_algorithm::ecdss:
                kek.signature_algorithm = SignatureAlgorithm::ecdss;
                break;
            case sig_algorithm::ecdsa_256:
                kek.signature_algorithm = SignatureAlgorithm::ecdsa_256;
                break;
            case sig_algorithm::ecdsa_384:
                kek.signature_algorithm = SignatureAlgorithm::ecdsa_384;
                break;
            case sig_algorithm::ecdsa_521:
                kek.signature_algorithm = SignatureAlgorithm::ecdsa_521;
                break;
            default:
                reject(NotifyType::attributes_not_supported,
                       "SIG_ALGORITHM " + std::to_string(*n) + " not supported");
            }
            break;
        case kek_attr::sig_key_length:
            kek.signature_key_bits = static_cast<uint16_t>(need());
            break;
        case kek_attr::ack_requested:
        case kek_attr::ack_requested_cisco_legacy:
            // The value names the ack type; one we cannot answer (0 is reserved) is declined
            // when a push asks, never a reason to refuse the policy (RFC 8263 section 4).
            kek.ack_request =
                a.type == kek_attr::ack_requested ? AckRequest::rfc8263 : AckRequest::cisco_legacy;
            kek.ack_type = n && *n <= 0xffff ? static_cast<uint16_t>(*n) : 0;
            break;
        default:
            break; // RFC 2408: unknown attributes of an accepted SA are ignored
        }
    }
    if (!have_algorithm) reject(NotifyType::attributes_not_supported, "no KEK_ALGORITHM attribute");
    if (auto fixed = hash_fixed_by(kek.signature_algorithm)) {
        // Without SIG_HASH_ALGORITHM the hash is the one the algorithm fixes (RFC 3547 section
        // 5.3.6 already had the attribute "not required" for algorithms that imply their hash;
        // paraphrased, the RFC 6407 text was not reachable from here). With a different one the
        // KEK contradicts itself; no RFC text found says which wins, so it is refused.
        if (!hash_attribute)
            kek.signature_hash = *fixed;
        else if (kek.signature_hash != *fixed)
            reject(NotifyType::attributes_not_supported,
                   "SIG_ALGORITHM " + std::to_string(sig_algorithm_attribute) + " (" +
                       ecdsa_name(kek.signature_algorithm) + ") signs with " + hash_name(*fixed) +
                       " (RFC 4754) but SIG_HASH_ALGORITHM is " + std::to_string(*hash_attribute) +
                       " (" + hash_name(kek.signature_hash) + "): contradictory, refused");
    }
    if (kek.cipher == KekCipher::des3_cbc) {
        // 3DES has one key size; the reference server omits KEK_KEY_LENGTH.
        if (kek.key_bits != 0 && kek.key_bits != 192)
            reject(NotifyType::attributes_not_supported,
                   "3DES KEK_KEY_LENGTH " + std::to_string(kek.key_bits));
        kek.key_bits = 192;
    } else if (kek.key_bits != 128 && kek.key_bits != 192 && kek.key_bits != 256) {
        reject(NotifyType::attributes_not_supported,
               "AES KEK_KEY_LENGTH " + std::to_string(kek.key_bits) + " (128, 192 or 256)");
    }
    return kek;
}

void apply_kek_key_packet(KekPolicy& kek, const KeyPacket& packet) {
    if (packet.kd_type != kd_type::kek)
        reject(NotifyType::invalid_key_information,
               "key packet type " + std::to_string(packet.kd_type) + " is not KEK");
    auto* key = find_key_attribute(packet.attributes, kd_kek_attr::algorithm_key);
    if (!key) reject(NotifyType::invalid_key_information, "KD has no KEK_ALGORITHM_KEY");
    size_t iv_size = kek_block_octets(kek.cipher);
    size_t key_size = kek.key_bits / 8u;
    // KEK_ALGORITHM_KEY holds IV || key (gdoi-wire-notes.md; 3DES 8 + 24, AES-128 16 + 16).
    if (key->value.size() != iv_size + key_size)
        reject(NotifyType::invalid_key_information,
               "KEK_ALGORITHM_KEY has " + std::to_string(key->value.size()) +
                   " octets, expected IV " + std::to_string(iv_size) + " + key " +
                   std::to_string(key_size));
    auto all = key->value.reveal();
    kek.iv.assign(all.begin(), all.begin() + static_cast<long>(iv_size));
    kek.key = SecretBytes(all.subspan(iv_size));
    if (auto* pub = find_key_attribute(packet.attributes, kd_kek_attr::sig_algorithm_key)) {
        auto der = pub->value.reveal();
        kek.public_key_der.assign(der.begin(), der.end());
    }
}

SaKekPayload sa_kek_from(const KekPolicy& kek) {
    SaKekPayload sa;
    sa.spi = kek.spi;
    sa.source = id_from(kek.source);
    sa.destination = id_from(kek.destination);
    auto& a = sa.attributes;
    a.push_back(Attribute::tv(kek_attr::algorithm, kek.cipher == KekCipher::des3_cbc
                                                       ? kek_algorithm::des3
                                                       : kek_algorithm::aes));
    if (kek.cipher == KekCipher::aes_cbc)
        a.push_back(Attribute::tv(kek_attr::key_length, kek.key_bits));
    // RFC 6407 section 5.3.1: KEK_KEY_LIFETIME is variable length (4 octets of seconds).
    a.push_back(
        Attribute::tlv_u32(kek_attr::key_lifetime, static_cast<uint32_t>(kek.lifetime.count())));
    static constexpr uint16_t hashes[] = {sig_hash::md5, sig_hash::sha1, sig_hash::sha256,
                                          sig_hash::sha384, sig_hash::sha512};
    static constexpr uint16_t algorithms[] = {sig_algorithm::rsa,       sig_algorithm::dss,
                                              sig_algorithm::ecdss,     sig_algorithm::ecdsa_256,
                                              sig_algorithm::ecdsa_384, sig_algorithm::ecdsa_521};
    a.push_back(Attribute::tv(kek_attr::sig_hash_algorithm,
                              hashes[static_cast<size_t>(kek.signature_hash)]));
    a.push_back(Attribute::tv(kek_attr::sig_algorithm,
                              algorithms[static_cast<size_t>(kek.signature_algorithm)]));
    if (kek.signature_key_bits)
        a.push_back(Attribute::tv(kek_attr::sig_key_length, kek.signature_key_bits));
    if (kek.ack_request == AckRequest::rfc8263)
        a.push_back(Attribute::tv(kek_attr::ack_requested, kek.ack_type));
    if (kek.ack_request == AckRequest::cisco_legacy)
        a.push_back(Attribute::tv(kek_attr::ack_requested_cisco_legacy, kek.ack_type));
    return sa;
}

KeyPacket kek_key_packet_from(const KekPolicy& kek) {
    KeyPacket packet;
    packet.kd_type = kd_type::kek;
    packet.spi.assign(kek.spi.begin(), kek.spi.end());
    SecretBytes iv_key(kek.iv);
    iv_key.append(kek.key.reveal());
    packet.attributes.push_back(
        {kd_kek_attr::algorithm_key, AttributeForm::tlv, std::move(iv_key)});
    if (!kek.public_key_der.empty())
        packet.attributes.push_back(
            {kd_kek_attr::sig_algorithm_key, AttributeForm::tlv, SecretBytes(kek.public_key_der)});
    return packet;
}

GroupAssociatedPolicy gap_policy_from(const GapPayload& gap) {
    GroupAssociatedPolicy out;
    for (const auto& a : gap.attributes) {
        auto n = a.number();
        if (!n)
            throw PolicyError(NotifyType::payload_malformed,
                              "GAP: attribute " + std::to_string(a.type) + " is not a number");
        if (a.type == gap_attr::activation_time_delay)
            out.activation_delay = std::chrono::seconds(*n);
        if (a.type == gap_attr::deactivation_time_delay)
            out.deactivation_delay = std::chrono::seconds(*n);
    }
    return out;
}

GapPayload gap_payload_from(const GroupAssociatedPolicy& gap) {
    GapPayload out;
    if (gap.activation_delay)
        out.attributes.push_back(Attribute::number_attr(
            gap_attr::activation_time_delay, static_cast<uint32_t>(gap.activation_delay->count())));
    if (gap.deactivation_delay)
        out.attributes.push_back(
            Attribute::number_attr(gap_attr::deactivation_time_delay,
                                   static_cast<uint32_t>(gap.deactivation_delay->count())));
    return out;
}

} // namespace gdoi::wire
