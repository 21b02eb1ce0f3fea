#include "daemon/acquired_flows.hpp"

namespace gdoid::daemon {

AcquiredFlows::Added AcquiredFlows::add(const policy::AcquiredFlow& flow, Clock::time_point now) {
    if (flows_.contains(flow)) return Added::known;
    if (flows_.size() >= max_flows) return Added::full;
    flows_.insert(flow);
    activity_[flow] = Activity{now, 0, 0};
    return Added::added;
}

bool AcquiredFlows::idle_after(const policy::AcquiredFlow& flow, const netlink::XfrmState* state,
                             Clock::time_point now, std::chrono::seconds idle) {
    auto& activity = activity_[flow];
    if (state && (state->id.spi != activity.spi || state->packets != activity.packets)) {
        activity.spi = state->id.spi;
        activity.packets = state->packets;
        activity.last_active = now;
        return false;
    }
    return now - activity.last_active >= idle;
}

void AcquiredFlows::clear() {
    flows_.clear();
    activity_.clear();
}

} // namespace gdoid::daemon
