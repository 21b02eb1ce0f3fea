#include "gdoi/ike/exchange_clock.hpp"

#include <algorithm>

namespace gdoi::ike {

RetransmitPolicy member_retransmit_policy(Duration budget, uint64_t jitter_seed) {
    RetransmitPolicy policy;
    policy.initial = std::min<Duration>(std::chrono::seconds(1), budget / 2);
    policy.max_interval = std::min<Duration>(std::chrono::seconds(8), budget / 2);
    policy.budget = budget;
    policy.jitter = 1.0 / 3.0;
    policy.jitter_seed = jitter_seed;
    return policy;
}

Duration Retransmitter::jittered(Duration interval) {
    if (policy_.jitter <= 0) return interval;
    const double cut = std::uniform_real_distribution<double>(0.0, policy_.jitter)(random_);
    return std::chrono::duration_cast<Duration>(interval * (1.0 - cut));
}

void Retransmitter::sent(const Datagram& message, TimePoint now, bool restart_budget) {
    last_ = message;
    if (restart_budget || !due_) {
        started_ = now;
        resends_ = 0;
    }
    interval_ = policy_.initial;
    due_ = now + jittered(interval_);
}

Retransmitter::Tick Retransmitter::on_timer(TimePoint now) {
    if (!due_ || now < *due_) return Tick::nothing;
    if (now - started_ >= policy_.budget) {
        due_.reset();
        return Tick::expired;
    }
    interval_ = std::min(interval_ * 2, policy_.max_interval);
    // Never schedule past the end of the budget: the last tick is the verdict.
    due_ = std::min(now + jittered(interval_), started_ + policy_.budget);
    ++resends_;
    return Tick::resend;
}

} // namespace gdoi::ike
