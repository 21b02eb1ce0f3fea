// GROUPKEY-PUSH, member side (RFC 6407 section 4): one datagram + the group's current KEK and
// last accepted SEQ in; a verdict with a specific reason, the update and an ack datagram out.
// Checks run in a fixed order and stop at the first failure; nothing is interpreted before the
// signature and SEQ passed, and a refused push changes nothing. No I/O, no clock.
#pragma once

#include "gdoi/crypto/kek_key_cache.hpp"
#include "gdoi/group_policy.hpp"
#include "gdoi/ip_address.hpp"
#include "gdoi/push/push_reason.hpp"
#include "gdoi/push/push_update.hpp"
#include "gdoi/secret_bytes.hpp"
#include "gdoi/server_quirks.hpp"
#include "gdoi/wire/context.hpp"

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace gdoi::push {

struct PushVerdict {
    PushReason reason = PushReason::malformed;
    std::string message;                     // operator sentence: what, where, why
    std::optional<PushUpdate> update;        // when accepted
    std::optional<std::vector<uint8_t>> ack; // when accepted and the KEK asks for an ack
    // Accepted, the KEK asks for an ack, and none was built: why (an operator sentence).
    std::optional<std::string> ack_declined;
    SecretBytes plaintext;                   // decrypted message (E flag as received), when
                                             // decryption succeeded; for debugging/tests
    std::vector<wire::Observation> observations;

    bool accepted() const { return reason == PushReason::accepted; }
};

struct PushReceiverConfig {
    ServerQuirks quirks;
    // Our address as the ack's ID payload names it; without it no ack is built.
    std::optional<IpAddress> member_address;
    // Answer the key server's RFC 8263 ack requests at all. Off, a request is declined the way
    // a member without RFC 8263 support would ignore it (section 1: implementing the ack is
    // OPTIONAL; section 4: a member that does not answer still takes part in the group).
    bool answer_ack_requests = false;
    // The most SA TEK payloads an authentic push may carry (gdoid.conf `max-teks`); above it the
    // push is refused as invalid_policy and nothing changes.
    size_t max_teks = kDefaultMaxTeks;
};

class PushReceiver {
public:
    explicit PushReceiver(PushReceiverConfig config) : config_(std::move(config)) {}

    // `kek`: the group's current KEK; `last_sequence`: the last SEQ accepted (PULL message 4's
    // SEQ before any push); `current_teks` for pairing and new/old TEK and ejection detection.
    PushVerdict receive(std::span<const uint8_t> datagram, const KekPolicy& kek,
                        uint32_t last_sequence, TimePoint now,
                        std::span<const TekPolicy> current_teks = {});

    const PushCounters& counters() const { return counters_; }

private:
    PushReceiverConfig config_;
    PushCounters counters_;
    crypto::KekKeyCache kek_keys_; // the current KEK's public key, read once
};

// The checks alone (what receive() runs; the counters are not touched). With `kek_keys` the
// KEK's public key is read from DER only when it changed since the last call.
PushVerdict check_push(std::span<const uint8_t> datagram, const KekPolicy& kek,
                       uint32_t last_sequence, TimePoint now,
                       std::span<const TekPolicy> current_teks, const PushReceiverConfig& config,
                       crypto::KekKeyCache* kek_keys = nullptr);

} // namespace gdoi::push
