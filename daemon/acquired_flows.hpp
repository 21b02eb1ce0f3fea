// The flows the router itself originates toward one group (policy::AcquiredFlow), as the
// kernel's ACQUIREs reported them, and when each was last seen carrying traffic. A flow whose
// state's packet counter has not moved for the idle time is forgotten: its state and policy
// go at the next reconcile, and the trap raises a new ACQUIRE should it start again.
#pragma once

#include "netlink/xfrm_objects.hpp"
#include "policy/local_settings.hpp"

#include <chrono>
#include <map>
#include <set>
#include <vector>

namespace gdoid::daemon {

class AcquiredFlows {
public:
    using Clock = std::chrono::steady_clock;

    // A router scanning the group's address space must not fill the kernel with states: past
    // this many flows new ones are refused (their packets stay dropped by the trap).
    static constexpr size_t max_flows = 1024;

    enum class Added { added, known, full };
    Added add(const policy::AcquiredFlow& flow, Clock::time_point now);

    // Looks at the flows' states in a kernel dump (the per-flow state: source = flow source,
    // destination = flow destination, reqid = `reqid_of(flow)`): a counter that moved, or a
    // state that changed (a rekey), counts as activity. Flows idle for `idle` or longer are
    // removed and returned.
    template <class ReqidOf>
    std::vector<policy::AcquiredFlow> expire_idle(const std::vector<netlink::XfrmState>& states, Clock::time_point now,
                                                std::chrono::seconds idle, ReqidOf reqid_of);

    const std::set<policy::AcquiredFlow>& flows() const { return flows_; }
    bool empty() const { return flows_.empty(); }
    void clear();

private:
    struct Activity {
        Clock::time_point last_active;
        uint32_t spi = 0;
        uint64_t packets = 0;
    };
    // Returns true when the flow is idle for `idle` at `now` given its state (or none).
    bool idle_after(const policy::AcquiredFlow& flow, const netlink::XfrmState* state, Clock::time_point now,
                    std::chrono::seconds idle);
    std::set<policy::AcquiredFlow> flows_;
    std::map<policy::AcquiredFlow, Activity> activity_;
};

template <class ReqidOf>
std::vector<policy::AcquiredFlow> AcquiredFlows::expire_idle(const std::vector<netlink::XfrmState>& states,
                                                         Clock::time_point now, std::chrono::seconds idle,
                                                         ReqidOf reqid_of) {
    std::vector<policy::AcquiredFlow> expired;
    for (const auto& flow : std::set(flows_)) {
        const netlink::XfrmState* state = nullptr;
        for (const auto& s : states)
            if (s.id.spi != 0 && s.id.destination == flow.destination && s.source == flow.source &&
                s.reqid == reqid_of(flow))
                state = &s;
        if (!idle_after(flow, state, now, idle)) continue;
        flows_.erase(flow);
        activity_.erase(flow);
        expired.push_back(flow);
    }
    return expired;
}

} // namespace gdoid::daemon
