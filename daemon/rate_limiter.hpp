// "Once per reason per interval" for log lines a misbehaving peer could otherwise repeat
// thousands of times a second (bad hashes, unknown SPIs, malformed pushes).
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>

namespace gdoid::daemon {

class RateLimiter {
public:
    using Clock = std::chrono::steady_clock;

    struct Decision {
        bool emit = false;
        // How many events for this reason were held back since the last one emitted; worth
        // adding to the line ("... (37 similar messages suppressed)").
        uint64_t suppressed = 0;
    };

    explicit RateLimiter(std::chrono::seconds interval = std::chrono::minutes(1),
                         size_t max_reasons = 1024)
        : interval_(interval), max_reasons_(max_reasons) {}

    // `reason` identifies the kind of event, e.g. "wan/bad-hash/192.0.2.1".
    Decision check(std::string_view reason, Clock::time_point now = Clock::now());

    size_t tracked_reasons() const { return entries_.size(); }

private:
    struct Entry {
        Clock::time_point last_emitted;
        uint64_t suppressed = 0;
    };
    void forget_expired(Clock::time_point now);

    std::chrono::seconds interval_;
    size_t max_reasons_;
    std::unordered_map<std::string, Entry> entries_;
};

} // namespace gdoid::daemon
