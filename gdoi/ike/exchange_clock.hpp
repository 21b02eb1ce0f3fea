// Time, retransmission and outcome types shared by the I/O-free exchange state machines
// (Main Mode, GROUPKEY-PULL): the caller feeds datagrams and clock ticks, and drains
// datagrams to send and log lines.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace gdoi::ike {

using Clock = std::chrono::steady_clock;
using TimePoint = Clock::time_point;
using Duration = Clock::duration;
using Datagram = std::vector<uint8_t>;

enum class LogLevel : uint8_t { debug, info, warning, error };
// Where a state machine reports what it does (never secrets). Empty = silent.
using LogSink = std::function<void(LogLevel, const std::string&)>;

// Resend the last message when no answer came: first after `initial`, doubling up to
// `max_interval`, giving up once `budget` has passed since the first send.
struct RetransmitPolicy {
    Duration initial = std::chrono::seconds(1);
    Duration max_interval = std::chrono::seconds(8);
    Duration budget = std::chrono::seconds(30);
};

class Retransmitter {
public:
    explicit Retransmitter(RetransmitPolicy policy = {}) : policy_(policy) {}

    // A new message was sent: restarts the schedule (and the budget when `restart_budget`).
    void sent(const Datagram& message, TimePoint now, bool restart_budget);
    void stop() { due_.reset(); }
    std::optional<TimePoint> next() const { return due_; }

    enum class Tick { nothing, resend, expired };
    // What to do at `now`: resend last_message(), give up, or nothing yet.
    Tick on_timer(TimePoint now);
    const Datagram& last_message() const { return last_; }
    Duration budget() const { return policy_.budget; }
    int resends() const { return resends_; }

private:
    RetransmitPolicy policy_;
    Datagram last_;
    TimePoint started_{};
    Duration interval_{};
    std::optional<TimePoint> due_;
    int resends_ = 0;
};

} // namespace gdoi::ike
