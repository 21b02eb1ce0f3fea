// Time, retransmission and outcome types shared by the I/O-free exchange state machines
// (Main Mode, GROUPKEY-PULL): the caller feeds datagrams and clock ticks, and drains
// datagrams to send and log lines.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <random>
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
// `max_interval`, giving up once `budget` has passed since the first send. With `jitter` > 0
// each wait is shortened at random by up to that fraction (the doubling itself stays exact).
struct RetransmitPolicy {
    Duration initial = std::chrono::seconds(1);
    Duration max_interval = std::chrono::seconds(8);
    Duration budget = std::chrono::seconds(30);
    double jitter = 0.0; // 0 = exact times (what the state machines' tests expect)
    uint64_t jitter_seed = 0;
};

// A group member's schedule inside one registration attempt of `budget`: the first resend
// after 1 s, doubling up to 8 s, each wait shortened at random by up to a third. Why the
// jitter: members that start together (the morning after a power cut, a key server back after
// an outage) otherwise resend in the same millisecond and collide again in the key server's
// receive buffer (bench-storm, 200 members: every member retransmitted, 134 datagrams dropped
// by a full socket buffer, all registered only after 6.5-19 s).
RetransmitPolicy member_retransmit_policy(Duration budget, uint64_t jitter_seed);

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
    // The wait before the next resend: `interval_`, less its jitter.
    Duration jittered(Duration interval);

    RetransmitPolicy policy_;
    std::minstd_rand random_{static_cast<std::minstd_rand::result_type>(policy_.jitter_seed)};
    Datagram last_;
    TimePoint started_{};
    Duration interval_{};
    std::optional<TimePoint> due_;
    int resends_ = 0;
};

} // namespace gdoi::ike
