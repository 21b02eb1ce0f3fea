// What an authentic, fresh GROUPKEY-PUSH tells the member, as values: the TEKs it carries (with
// their keys), the GAP timing, a KEK rollover, deletes, and signs of ejection. Produced by
// interpret_push(); consumed by apply() and by the daemon's log. No secrets are printed.
#pragma once

#include "gdoi/group_policy.hpp"

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace gdoi::push {

using Clock = std::chrono::steady_clock;
using TimePoint = Clock::time_point;

// A TEK of the push that was not passed on, and why (a wrong key must never reach the kernel).
struct RejectedTek {
    uint32_t spi = 0;
    std::string reason;
};

struct PushDeletes {
    std::vector<uint32_t> tek_spis; // DELETE with protocol ESP/AH and 4-octet SPIs
    bool all_teks = false;          // a TEK SPI of 0: every TEK of the group
    std::vector<KekSpi> kek_spis;   // 16-octet SPIs
    bool all_keks = false;

    bool empty() const { return tek_spis.empty() && !all_teks && kek_spis.empty() && !all_keks; }
};

struct PushUpdate {
    uint32_t sequence = 0;
    TimePoint received_at{};

    // The KEK as the push describes it (SA KEK + KD KEK packet), when it carries an SA KEK.
    std::optional<KekPolicy> kek;
    // The KEK changed: a new SPI, or a new key (3DES keys that differ only in parity bits are
    // the same key). From the next push on, only the new KEK is accepted.
    bool kek_rollover = false;

    // TEKs carried in the SA (old ones repeated with their remaining lifetime, and new ones),
    // validated and with their keys from the KD.
    std::vector<TekPolicy> teks;
    std::vector<uint32_t> new_tek_spis; // the SPIs of `teks` the member did not know
    std::vector<RejectedTek> rejected_teks;

    // nullopt: no GAP payload. Inside, ATD/DTD absent and ATD/DTD 0 are distinct.
    std::optional<GroupAssociatedPolicy> gap;

    PushDeletes deletes;

    // The KEK (of this push, or the current one) asks for an RFC 8263 acknowledgement, of this
    // type (KekPolicy::ack_type): RFC 8263 section 7.2, the most recently received SA KEK rules.
    AckRequest ack_request = AckRequest::none;
    uint16_t ack_type = 0;

    // Juniper's ways of removing a member: a push with only old TEKs and a DTD shorter than
    // their remaining life, or a delete of the TEK in use with no replacement. The member
    // should re-register (which the key server will refuse if it really ejected us).
    bool ejection_suspected = false;
    std::string ejection_reason;

    // Things worth a log line that did not stop the push ("KD KEK packet under the old SPI").
    std::vector<std::string> notes;
};

} // namespace gdoi::push
