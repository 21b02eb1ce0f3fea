// A re-armable one-shot CLOCK_MONOTONIC timer on the sd-event loop, calling back a member of
// its owner. Destroyed with its owner, so a callback can never reach a dead object.
#pragma once

#include <chrono>
#include <functional>
#include <string>

#include "daemon/sd_event_ptr.hpp"

namespace gdoid::daemon {

class OneshotTimer {
public:
    OneshotTimer(sd_event* event, std::string purpose, std::function<void()> callback)
        : event_(event), purpose_(std::move(purpose)), callback_(std::move(callback)) {}
    OneshotTimer(const OneshotTimer&) = delete;
    OneshotTimer& operator=(const OneshotTimer&) = delete;

    // steady_clock is CLOCK_MONOTONIC on Linux, the clock this timer runs on. Re-arming moves
    // the one pending expiry. Returns false (and logs) when sd-event refuses.
    bool arm_at(std::chrono::steady_clock::time_point when);
    void disarm();

private:
    static int on_timer(sd_event_source* source, uint64_t usec, void* userdata);
    sd_event* event_;
    std::string purpose_;
    std::function<void()> callback_;
    SdEventSourcePtr source_;
};

} // namespace gdoid::daemon
