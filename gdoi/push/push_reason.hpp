// Why a GROUPKEY-PUSH was refused, in the order the checks run, and the per-reason counters the
// daemon shows in gdoictl. A refused push changes nothing; its reason names the first check
// that failed, so an operator can tell a stale KEK from an attack from a buggy server.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace gdoi::push {

enum class PushReason : uint8_t {
    accepted = 0,
    bad_header,      // shorter than 28 octets, wrong ISAKMP version, length field != datagram
    not_push,        // exchange type is not GROUPKEY-PUSH (33)
    not_encrypted,   // E flag clear: a push is always encrypted with the KEK
    unknown_kek_spi, // cookies are not the current KEK SPI
    decrypt_failed,  // ciphertext is not whole blocks, or the KEK cannot be used
    malformed,       // the decrypted payload chain does not parse, SIG/SEQ missing or misplaced
    bad_signature,   // the key server's signature does not verify
    replayed_seq,    // SEQ not greater than the last accepted one
    invalid_policy,  // authentic, fresh, but its content cannot be applied (e.g. KEK without key)
};
inline constexpr size_t kPushReasonCount = 10;

// "unknown_kek_spi" style names (stable: gdoictl --json shows them).
std::string_view push_reason_name(PushReason reason);

struct PushCounters {
    std::array<uint64_t, kPushReasonCount> by_reason{};
    uint64_t rejected_teks = 0; // TEKs dropped from accepted pushes (no key, unpaired, ...)
    uint64_t acks_built = 0;
    uint64_t ack_requests_declined = 0; // the KEK asked for an ack and none was built

    void count(PushReason reason) { ++by_reason[static_cast<size_t>(reason)]; }
    uint64_t operator[](PushReason reason) const { return by_reason[static_cast<size_t>(reason)]; }
    uint64_t rejected() const;
};

} // namespace gdoi::push
