// One group's kernel side in the event loop: keeps the group's policy timeline (every TEK
// known from PULLs and PUSHes, with its ATD/DTD schedule), and makes the kernel's XFRM states
// and policies and the datapath maps match it: policy::plan() against what is installed,
// policy::apply_plan() (make-before-break), and a timer at the next scheduled change. Anything
// the kernel refuses is logged once, shown in `gdoictl status`, and tried again.
#pragma once

#include <chrono>
#include <optional>
#include <string>

#include <systemd/sd-event.h>

#include "daemon/datapath_service.hpp"
#include "daemon/group.hpp"
#include "daemon/oneshot_timer.hpp"
#include "daemon/acquired_flows.hpp"
#include "gdoi/group_policy.hpp"
#include "netlink/kernel_ipsec.hpp"
#include "policy/desired_objects.hpp"
#include "policy/tek_schedule.hpp"

namespace gdoid::daemon {

class GroupDataplane {
public:
    // `kernel` may be null (no XFRM netlink): the group then reports "unavailable".
    GroupDataplane(sd_event* event, Group& group, netlink::KernelIpsec* kernel, DatapathService& datapath,
                   uint32_t group_slot);
    GroupDataplane(const GroupDataplane&) = delete;
    GroupDataplane& operator=(const GroupDataplane&) = delete;

    // A policy from a PULL or an accepted PUSH, received now.
    void observe(const gdoi::GroupPolicy& policy);
    // A DELETE named this TEK (RFC 6407 section 5.8): it stops at once.
    void forget_tek(uint32_t spi);
    // Ejected, or registering from scratch: no TEK is trusted any more (fail-closed applies).
    void forget_all_teks();
    // Fail-open rules apply only while no key server answers (Juniper's partial fail-open).
    void set_servers_unreachable(bool unreachable);
    // The kernel met a packet the router itself sent through one of this group's ACQUIRE
    // traps (policy/per_destination.hpp): the flow gets its own outbound state at once.
    void acquired(const netlink::KernelEvent& event);

    // Plans against the kernel as it is and applies; arms the timer for the next change.
    void reconcile();
    // Someone else may have removed our XFRM objects (`cause`: a state or policy of ours
    // deleted, a table flushed, notifications lost, or the periodic check): reconcile shortly,
    // once for a burst of events, and when objects had to be put back, log it once with the
    // cause and count it (`gdoictl status`: kernel repairs).
    void repair(const std::string& cause);
    // A reload replaced the group's configuration object: keep the TEKs and installed objects,
    // take the new settings (interfaces, anchors ...) at the next reconcile().
    void rebind(Group& group);
    // Removes every object of this group (group removed from the configuration, daemon
    // stopping): kernel states and policies, datapath entries.
    void withdraw();
    // At start, before the first reconcile: when an earlier gdoid left states of this group
    // in the kernel (SIGKILL, graceful restart), they and its policies and tc-BPF filters keep
    // carrying the traffic untouched until the group has keys again (the plan then takes them
    // over: same SPIs, same policies) or for at most `limit`. Returns whether it adopted.
    bool adopt_leftovers(std::chrono::seconds limit);
    bool adopting() const { return adopting_; }
    // Graceful restart, before this object goes without withdraw(): each of the group's states
    // gets a kernel hard lifetime ending `limit` from now (or at its TEK's expiry, if sooner),
    // so that keys nobody manages stop by themselves if no gdoid comes back. Returns how many.
    size_t limit_for_restart(std::chrono::seconds limit);

    // The group's desired objects now, as text (`gdoictl kernel`); empty when the local
    // settings cannot be built yet (the reason is in the kernel summary).
    std::string render() const;
    uint32_t group_slot() const { return group_slot_; }
    // True while at least one TEK we hold has not expired (whatever the kernel made of it).
    bool holds_unexpired_keys() const;
    const policy::GroupTimeline& timeline() const { return timeline_; }

private:
    void record_error(const std::string& message);
    void schedule_retry(std::chrono::seconds delay);
    // Removes the kernel's ACQUIRE placeholders once their flows are answered (or refused).
    void discard_answered_acquires();
    // Forgets per-destination flows that carried nothing for per-destination-idle.
    void expire_idle_flows();
    void arm_flow_timer();
    // What the shared datapath decides for the group's objects: destination-only when the BPF
    // datapath fell back to nftables, pre-fragmentation's interface when the group asks for it.
    void apply_datapath_state(policy::LocalSettings& settings) const;
    // The datapath cannot run: only the group's fail-closed blocks go in.
    void install_blocks_only(const policy::LocalSettings& settings);
    // Adoption ends: the group's own plan applies from now on (`why` for the log).
    void end_adoption(const std::string& why);

    sd_event* event_;
    Group* group_;
    netlink::KernelIpsec* kernel_;
    DatapathService& datapath_;
    DatapathService::MapWriter maps_;
    uint32_t group_slot_;
    policy::GroupTimeline timeline_;
    policy::GroupStatus status_;
    OneshotTimer timer_;
    AcquiredFlows acquired_flows_;
    std::vector<netlink::AcquirePlaceholder> answered_acquires_;
    OneshotTimer flow_timer_;
    OneshotTimer repair_timer_;
    OneshotTimer audit_timer_; // the periodic check behind the event socket (missed events, tc)
    OneshotTimer adoption_timer_; // restart-time
    bool adopting_ = false;
    std::optional<std::string> repair_cause_; // set between repair() and the reconcile it asks for
    bool flows_full_logged_ = false;
    bool datapath_required_ = false;
    std::optional<std::string> logged_error_; // the last error logged, so a retry loop logs once
    bool offload_refusal_logged_ = false;
};

} // namespace gdoid::daemon
