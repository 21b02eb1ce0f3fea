// Applies an accepted push to the group's policy: the next GroupPolicy (what policy/ observes),
// the TEK removals it schedules, and one log line per thing that changed. Pure.
//
// Member behaviour follows Juniper Group VPNv2 (the text operators know): "If there is no ATD
// value in the update, the member router installs the new SAs immediately. If there is no DTD
// value, the old SAs will remain in place until their expiration." Deletes honour the DTD:
// "If the delay value is 0, and the payload contains a specific SPI, then the matching TEK or
// KEK is deleted immediately."
#pragma once

#include "gdoi/group_policy.hpp"
#include "gdoi/push/push_update.hpp"

#include <string>
#include <vector>

namespace gdoi::push {

struct TekRemoval {
    uint32_t spi = 0;
    TimePoint at{}; // == now: at once
    std::string why;
};

struct ApplyResult {
    GroupPolicy next;
    std::vector<TekRemoval> removals; // the daemon forgets these TEKs at `at`
    std::vector<std::string> events;  // for the log, in order
    bool kek_rolled_over = false;
    bool reregister = false; // ejected, or left without a KEK or TEKs: register again
};

ApplyResult apply(const GroupPolicy& current, const PushUpdate& update, TimePoint now);

} // namespace gdoi::push
