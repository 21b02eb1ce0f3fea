// RFC 8263 GROUPKEY-PUSH acknowledgement: the member answers a push whose KEK carries
// KEK_ACK_REQUESTED with `HDR, HASH, SEQ, ID`, in the clear, to the key server.
//
// EVERY protocol constant of the ack lives in AckProfile below. RFC 8263's own text could not be
// read from this build environment (only its title page and secondary summaries were reachable),
// so each item is marked CONFIRMED (with its source) or HYPOTHESIS. The key server side of our
// tests verifies with verify_ack(), built from the same profile, so member and test key server
// cannot drift apart silently; interoperability with a real key server is NOT proven by them.
#pragma once

#include "gdoi/crypto/prf.hpp"
#include "gdoi/group_policy.hpp"
#include "gdoi/ip_address.hpp"

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace gdoi::push {

struct AckProfile {
    // CONFIRMED (RFC 8263 as summarised in the wire notes and IEC 62351-9 section 8.6, Juniper
    // Group VPNv2 docs): message is `HDR, HASH, SEQ, ID`, sent unencrypted to the key server.
    // HYPOTHESIS: the exchange type number. RFC 8263 registers a new ISAKMP exchange type
    // "GROUPKEY-PUSH ACK"; its value is taken as 35 (next to GROUPKEY-PULL 32 / PUSH 33).
    static constexpr uint8_t exchange_type = 35;
    // HYPOTHESIS: cookies = the KEK SPI of the push being acknowledged; message ID 0; flags 0.
    static constexpr uint32_t message_id = 0;
    static constexpr uint8_t flags = 0;
    // CONFIRMED in outline (IEC 62351-9 summary of RFC 8263): HASH = prf(ack_key, SEQ | ID) and
    // ack_key = prf(base_key, "GROUPKEY-PUSH ACK" | SPI | L), SPI = the KEK cookie pair.
    // HYPOTHESES: prf = HMAC-SHA-256 (Juniper: "acknowledgment message with SHA-256 checksum");
    // base_key = the KEK encryption key (KEK_ALGORITHM_KEY without the IV); the label is the
    // 17 ASCII octets without terminator; L = key length in bits (256) as 2 octets big-endian;
    // SEQ and ID are whole payloads (generic header included), as in RFC 6407's HASH(4).
    static constexpr crypto::HashAlgorithm prf_hash = crypto::HashAlgorithm::sha256;
    static constexpr std::string_view key_label = "GROUPKEY-PUSH ACK";
    static constexpr uint16_t key_bits = 256;
    // HYPOTHESIS: the ID payload is the member's own address (ID_IPV4_ADDR / ID_IPV6_ADDR,
    // protocol 0, port 0).
};

// ack_key as AckProfile describes it, from the KEK the push arrived under.
SecretBytes derive_ack_key(const KekPolicy& kek);

// The ack datagram for push `sequence` received under `kek`, identifying `member`.
std::vector<uint8_t> build_ack(const KekPolicy& kek, uint32_t sequence, const IpAddress& member);

struct AckCheck {
    bool valid = false;
    std::string reason; // when !valid: what is wrong
    uint32_t sequence = 0;
    std::optional<IpAddress> member;
};

// Key server side: checks an ack datagram against the KEK it sent the push under.
AckCheck verify_ack(std::span<const uint8_t> datagram, const KekPolicy& kek);

} // namespace gdoi::push
