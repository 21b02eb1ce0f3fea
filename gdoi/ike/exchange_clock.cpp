#include "gdoi/ike/exchange_clock.hpp"

#include <algorithm>

namespace gdoi::ike {

void Retransmitter::sent(const Datagram& message, TimePoint now, bool restart_budget) {
    last_ = message;
    if (restart_budget || !due_) {
        started_ = now;
        resends_ = 0;
    }
    interval_ = policy_.initial;
    due_ = now + interval_;
}

Retransmitter::Tick Retransmitter::on_timer(TimePoint now) {
    if (!due_ || now < *due_) return Tick::nothing;
    if (now - started_ >= policy_.budget) {
        due_.reset();
        return Tick::expired;
    }
    interval_ = std::min(interval_ * 2, policy_.max_interval);
    // Never schedule past the end of the budget: the last tick is the verdict.
    due_ = std::min(now + interval_, started_ + policy_.budget);
    ++resends_;
    return Tick::resend;
}

} // namespace gdoi::ike
