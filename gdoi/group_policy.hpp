// What a key server told us about a group: the KEK that protects pushes, the TEKs that
// protect traffic, and the group-wide timing (GAP). Produced by GROUPKEY-PULL and updated
// by GROUPKEY-PUSH; consumed by policy/ to compute the kernel objects. Pure values.
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "gdoi/ip_address.hpp"
#include "gdoi/secret_bytes.hpp"

namespace gdoi {

// The most TEKs one policy may carry by default (gdoid.conf `max-teks`): more than any deployed
// group needs (GET VPN groups carry a few dozen ACL lines), few enough that the kernel's tables
// stay small however many a key server, or whoever holds its keys, sends.
inline constexpr size_t kDefaultMaxTeks = 1000;

// One side of a traffic selector as GDOI's ID payloads carry it (address, subnet or range)
// plus the port (0 = any).
struct SelectorEndpoint {
    IpRange range;
    uint16_t port = 0;

    static SelectorEndpoint from_prefix(const IpPrefix& prefix, uint16_t port = 0) {
        return {IpRange{prefix.first(), prefix.last()}, port};
    }
    std::vector<IpPrefix> prefixes() const { return range.to_prefixes(); }
    auto operator<=>(const SelectorEndpoint&) const = default;
};

struct TrafficSelector {
    uint8_t ip_protocol = 0; // IANA protocol number, 0 = any
    SelectorEndpoint source;
    SelectorEndpoint destination;

    // RFC 6407 policies come in pairs; the mirror of A->B is B->A.
    TrafficSelector mirrored() const { return {ip_protocol, destination, source}; }
    auto operator<=>(const TrafficSelector&) const = default;
};

// ---- TEK (traffic encryption key) ----

enum class TekProtocol : uint8_t { esp, ah };

enum class TekCipher : uint8_t { none, des3_cbc, aes_cbc, aes_gcm_16, null_encryption };

enum class TekIntegrity : uint8_t { none, hmac_md5, hmac_sha1, hmac_sha256, hmac_sha384, hmac_sha512 };

// RFC 6407 section 5.4.1: ADDRESS_PRESERVATION attribute; absent means source-and-destination.
enum class AddressPreservation : uint8_t {
    none = 1,
    source_only = 2,
    destination_only = 3,
    source_and_destination = 4,
};

// RFC 6407 section 5.4.1: SA_DIRECTION attribute; absent means symmetric.
enum class SaDirection : uint8_t { sender_only = 1, receiver_only = 2, symmetric = 3 };

struct TekPolicy {
    uint32_t spi = 0;
    TekProtocol protocol = TekProtocol::esp;
    TrafficSelector selector;
    TekCipher cipher = TekCipher::aes_cbc;
    uint16_t cipher_key_bits = 0;     // without the GCM salt
    TekIntegrity integrity = TekIntegrity::hmac_sha1;
    SecretBytes cipher_key;           // for AES-GCM: key followed by the 4-octet salt
    SecretBytes integrity_key;
    std::chrono::seconds lifetime{0}; // time left when the server sent it (not the full lifetime)
    uint64_t lifetime_kilobytes = 0;  // 0 = no volume limit
    bool tunnel_mode = true;
    AddressPreservation preservation = AddressPreservation::source_and_destination;
    SaDirection direction = SaDirection::symmetric;
    // Set by validation: we may receive but must not send (GCM/GMAC without RFC 6054 sender IDs).
    bool receive_only = false;
};

// ---- KEK (key encryption key, protects GROUPKEY-PUSH) ----

using KekSpi = std::array<uint8_t, 16>; // the rekey SA's ISAKMP cookie pair

enum class KekCipher : uint8_t { des3_cbc, aes_cbc };
enum class SignatureHash : uint8_t { md5, sha1, sha256, sha384, sha512 };
enum class SignatureAlgorithm : uint8_t { rsa, dss, ecdss, ecdsa_256, ecdsa_384, ecdsa_521 };

// Which KEK attribute asked for push acks: RFC 8263's KEK_ACK_REQUESTED (9), or 129 (private
// use) from older Cisco servers.
enum class AckRequest : uint8_t { none, rfc8263, cisco_legacy };

struct KekPolicy {
    KekSpi spi{};
    KekCipher cipher = KekCipher::aes_cbc;
    uint16_t key_bits = 0;
    SecretBytes key;
    std::vector<uint8_t> iv;            // static IV from KEK_ALGORITHM_KEY, reset for every push
    SignatureHash signature_hash = SignatureHash::sha256;
    SignatureAlgorithm signature_algorithm = SignatureAlgorithm::rsa;
    uint16_t signature_key_bits = 0;
    std::vector<uint8_t> public_key_der; // DER SubjectPublicKeyInfo of the key server
    std::chrono::seconds lifetime{0};
    AckRequest ack_request = AckRequest::none;
    // The request attribute's value; for KEK_ACK_REQUESTED the ack type (RFC 8263 section 2:
    // 1 REKEY_ACK_KEK_SHA256 ... 4 REKEY_ACK_LKH_SHA512). Meaningless while ack_request is none.
    uint16_t ack_type = 1;
    // Where pushes come from and go to (the KEK's source and destination IDs);
    // a multicast destination means we join that group.
    SelectorEndpoint source;
    SelectorEndpoint destination;
};

// ---- GAP (group associated policy) ----

struct GroupAssociatedPolicy {
    std::optional<std::chrono::seconds> activation_delay;   // ATD
    std::optional<std::chrono::seconds> deactivation_delay; // DTD
    std::optional<uint32_t> delivery_delay_window;          // Juniper's IP delivery delay detection; 0 = off
};

struct GroupPolicy {
    uint32_t group_id = 0;
    std::optional<KekPolicy> kek;
    std::vector<TekPolicy> teks;
    GroupAssociatedPolicy gap;
    std::optional<uint32_t> sequence; // the SEQ from PULL message 4 or the push
    // The key server's ACL "deny" entries, in ACL order: traffic that stays in clear text
    // (installed as bypass policies that take precedence over every TEK policy).
    std::vector<TrafficSelector> deny;
};

} // namespace gdoi
