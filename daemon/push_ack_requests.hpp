// What a group does with the ack request of an accepted GROUPKEY-PUSH (RFC 8263): hand back
// the ack to send, or count the unanswered request in the group's status and log it once per
// reason. GroupController's part, kept apart so that it runs without sockets or timers.
#pragma once

#include "daemon/config.hpp"
#include "daemon/group.hpp"
#include "gdoi/push/push_receiver.hpp"

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace gdoid::daemon {

// The member side of a group's pushes: its server quirks, its address (the ack's ID payload)
// and whether it answers ack requests at all (gdoid.conf `push-ack`).
gdoi::push::PushReceiverConfig push_receiver_config(const GroupConfig& config);

struct AckRequestOutcome {
    std::optional<std::vector<uint8_t>> ack; // to send to the push's source, after the jitter
    std::optional<std::string> log_line;     // info: the first time a reason comes up
};

class PushAckRequests {
public:
    // `push_ack`: the group's setting, for the log line's advice.
    explicit PushAckRequests(bool push_ack) : push_ack_(push_ack) {}

    // For an accepted push: takes its ack, or counts its declined request in `counters`.
    AckRequestOutcome on_accepted(gdoi::push::PushVerdict& verdict, GroupCounters& counters);

private:
    bool push_ack_;
    std::set<std::string> logged_; // reasons already logged: a key server asks with every push
};

} // namespace gdoid::daemon
