#include "daemon/rate_limiter.hpp"

namespace gdoid::daemon {

RateLimiter::Decision RateLimiter::check(std::string_view reason, Clock::time_point now) {
    auto it = entries_.find(std::string(reason));
    if (it != entries_.end()) {
        if (now - it->second.last_emitted < interval_) {
            ++it->second.suppressed;
            return {false, 0};
        }
        const uint64_t suppressed = it->second.suppressed;
        it->second = {now, 0};
        return {true, suppressed};
    }
    // The table is bounded so that an attacker varying the reason cannot grow it without end;
    // when it is full of live entries, new reasons are dropped rather than old ones forgotten.
    if (entries_.size() >= max_reasons_) forget_expired(now);
    if (entries_.size() >= max_reasons_) return {false, 0};
    entries_.emplace(std::string(reason), Entry{now, 0});
    return {true, 0};
}

void RateLimiter::forget_expired(Clock::time_point now) {
    for (auto it = entries_.begin(); it != entries_.end();) {
        if (now - it->second.last_emitted >= interval_)
            it = entries_.erase(it);
        else
            ++it;
    }
}

} // namespace gdoid::daemon
