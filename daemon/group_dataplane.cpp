#include "daemon/group_dataplane.hpp"

#include "daemon/local_settings_builder.hpp"
#include "daemon/log.hpp"
#include "netlink/interface_address.hpp"
#include "policy/desired_objects.hpp"
#include "policy/esp_overhead.hpp"
#include "policy/apply_plan.hpp"
#include "policy/object_band.hpp"
#include "policy/plan.hpp"
#include "policy/render.hpp"

#include <algorithm>
#include <map>
#include <thread>

namespace gdoid::daemon {

namespace {

// The largest inner IPv4 packet every TEK the group may send with carries in one ESP packet on
// the WAN device: the pre-fragmentation interface's MTU. Before the first keys, the algorithms
// with the most overhead gdoid accepts (AES-CBC with HMAC-SHA-512), so that the interface
// exists, and the mark layout stays the same, from the start.
uint32_t pre_fragment_mtu(const policy::GroupTimeline& timeline, const std::string& wan) {
    const uint32_t link = netlink::interface_mtu(wan).value_or(1500);
    uint32_t mtu = 0;
    for (const auto& known : timeline.teks()) {
        if (!policy::can_send(known.tek)) continue;
        const auto overhead = policy::esp_overhead(known.tek, false);
        if (!overhead) continue;
        const uint32_t inner = policy::inner_mtu(*overhead, link);
        if (inner != 0) mtu = mtu == 0 ? inner : std::min(mtu, inner);
    }
    if (mtu != 0) return mtu;
    gdoi::TekPolicy worst;
    worst.cipher = gdoi::TekCipher::aes_cbc;
    worst.integrity = gdoi::TekIntegrity::hmac_sha512;
    return std::max<uint32_t>(policy::inner_mtu(*policy::esp_overhead(worst, false), link), 68);
}

// How soon a refused change is tried again: interfaces appear, modules get loaded, an
// operator frees a conflicting object.
constexpr std::chrono::seconds missing_interface_retry{5};
constexpr std::chrono::seconds kernel_refusal_retry{10};

bool any_fail_open_policy(const policy::DesiredObjects& desired) {
    return std::any_of(desired.policy_roles.begin(), desired.policy_roles.end(),
                       [](const std::string& role) { return role.rfind("fail-open", 0) == 0; });
}

size_t count_owned_states(const std::vector<netlink::XfrmState>& states, uint32_t slot) {
    // SPI 0: the kernel's ACQUIRE placeholders, not states gdoid installed.
    return size_t(std::count_if(states.begin(), states.end(),
                                [&](const auto& s) { return policy::band::owns(s, slot) && s.id.spi != 0; }));
}

size_t count_owned_policies(const std::vector<netlink::XfrmPolicy>& policies, uint32_t slot) {
    return size_t(std::count_if(policies.begin(), policies.end(),
                                [&](const auto& p) { return policy::band::owns(p, slot); }));
}

// How often the group's kernel objects are compared with the wanted ones without an event.
constexpr std::chrono::seconds audit_interval{60};

} // namespace

GroupDataplane::GroupDataplane(sd_event* event, Group& group, netlink::KernelIpsec* kernel,
                               DatapathService& datapath, uint32_t group_slot)
    : event_(event), group_(&group), kernel_(kernel), datapath_(datapath), maps_(datapath, group.config().id),
      group_slot_(group_slot), timeline_(group.config().rekey.activate_before_expiry),
      timer_(event, "kernel update of group " + group.name(), [this] { reconcile(); }),
      flow_timer_(event, "per-destination flow ageing of group " + group.name(),
                         [this] { expire_idle_flows(); }),
      repair_timer_(event, "kernel repair of group " + group.name(), [this] { reconcile(); }),
      audit_timer_(event, "kernel check of group " + group.name(),
                   [this] {
                       datapath_.restore_filters("the periodic check found tc filters missing");
                       datapath_.restore_pre_fragmentation("the periodic check");
                       repair("the periodic check found objects of the group missing from the kernel");
                   }),
      adoption_timer_(event, "end of adoption of group " + group.name(),
                      [this] { end_adoption("not registered within restart-time"); }) {}

bool GroupDataplane::adopt_leftovers(std::chrono::seconds limit) {
    if (!kernel_) return false;
    size_t states = 0, policies = 0;
    try {
        states = count_owned_states(kernel_->dump_states(), group_slot_);
        policies = count_owned_policies(kernel_->dump_policies(), group_slot_);
    } catch (const std::exception& e) {
        log_warning(std::string("reading the kernel's XFRM objects for adoption: ") + e.what(), {.group = group_->name()});
        return false;
    }
    // Policies alone (fail-closed blocks) carry nothing: the plan replaces them as usual.
    if (states == 0) return false;
    adopting_ = true;
    datapath_.hold_attachment(group_->name());
    adoption_timer_.arm_at(policy::Clock::now() + limit);
    auto& summary = group_->kernel;
    summary.state = GroupKernelSummary::State::installed;
    summary.states = states;
    summary.policies = policies;
    summary.adopted = true;
    log_info("adopted " + std::to_string(states) + " states and " + std::to_string(policies) +
                 " policies an earlier gdoid left in the kernel, with its datapath: they carry the group's traffic "
                 "until it registers again (at most restart-time, " + std::to_string(limit.count()) + " s)",
             {.group = group_->name()});
    return true;
}

void GroupDataplane::end_adoption(const std::string& why) {
    if (!adopting_) return;
    adopting_ = false;
    adoption_timer_.disarm();
    group_->kernel.adopted = false;
    log_info("adoption ended (" + why + "): the group's own objects replace the adopted ones", {.group = group_->name()});
    datapath_.release_hold(group_->name());
    if (why != "registered") reconcile();
}

void GroupDataplane::repair(const std::string& cause) {
    // A flush arrives as one event per object: the first one schedules the reconcile, 200 ms
    // later, so that the whole burst is answered by one dump and one plan.
    if (repair_cause_) return;
    repair_cause_ = cause;
    repair_timer_.arm_at(policy::Clock::now() + std::chrono::milliseconds(200));
}

void GroupDataplane::rebind(Group& group) {
    if (&group == group_) return;
    group.kernel = group_->kernel; // the old Group object is still alive here (Daemon::apply)
    group_ = &group;
}

void GroupDataplane::observe(const gdoi::GroupPolicy& policy) {
    // A policy means a key server answered: fail-open rules end with it, in the same update.
    status_.servers_unreachable = false;
    timeline_.observe(policy, policy::Clock::now());
    reconcile();
}

void GroupDataplane::forget_tek(uint32_t spi) {
    timeline_.forget_tek(spi);
    reconcile();
}

void GroupDataplane::forget_all_teks() {
    timeline_.forget_all_teks();
    acquired_flows_.clear();
    reconcile();
}

void GroupDataplane::set_servers_unreachable(bool unreachable) {
    if (status_.servers_unreachable == unreachable) return;
    status_.servers_unreachable = unreachable;
    reconcile();
}

void GroupDataplane::acquired(const netlink::KernelEvent& event) {
    if (!event.placeholder) return;
    const auto& placeholder = *event.placeholder;
    const uint32_t reqid_slot = policy::band::reqid_slot_of_acquire_reqid(placeholder.reqid);
    if (reqid_slot == 0 || !policy::band::in_group(placeholder.reqid, group_slot_)) return; // not our trap
    // The flow's state has the trap template's source: the router address the packet came
    // from, or our WAN address for the destination-only trap.
    const policy::AcquiredFlow flow{placeholder.source, event.acquire_destination, reqid_slot};
    const auto now = policy::Clock::now();
    const std::string pair = flow.source.to_string() + " -> " + flow.destination.to_string();
    switch (acquired_flows_.add(flow, now)) {
    case AcquiredFlows::Added::added:
        log_info("per-destination flow " + pair + ": installing its own outbound state",
                 {.group = group_->name()});
        break;
    case AcquiredFlows::Added::known:
        break; // a packet raced the flow's state; the state is on its way
    case AcquiredFlows::Added::full:
        if (!flows_full_logged_)
            log_warning("per-destination flow " + pair + " dropped: already " +
                            std::to_string(AcquiredFlows::max_flows) +
                            " flows with their own state (idle ones go after per-destination-idle)",
                        {.group = group_->name()});
        flows_full_logged_ = true;
        break;
    }
    answered_acquires_.push_back(placeholder);
    // Once for a burst of ACQUIREs: the update runs as soon as the loop is free.
    timer_.arm_at(now);
}

void GroupDataplane::discard_answered_acquires() {
    for (const auto& placeholder : answered_acquires_) {
        try {
            kernel_->discard_acquire(placeholder);
        } catch (const std::exception& e) {
            // It expires by itself (net.core.xfrm_acq_expires); meanwhile other flows of the
            // same router address wait for it.
            log_warning(e.what(), {.group = group_->name()});
        }
    }
    answered_acquires_.clear();
}

void GroupDataplane::install_blocks_only(const policy::LocalSettings& settings) {
    // No SA can carry the group's traffic: fail closed rather than let it pass in clear text.
    try {
        policy::InstalledObjects installed{kernel_->dump_states(), kernel_->dump_policies(), maps_.entries()};
        const auto blocked = policy::blocked_objects(timeline_, settings, status_);
        const auto result = policy::apply_plan(policy::diff(blocked, installed, group_slot_), *kernel_, maps_);
        group_->kernel.fail_closed = true;
        group_->kernel.states = 0;
        group_->kernel.policies = blocked.policies.size();
        if (!result.ok()) log_error("installing the fail-closed blocks: " + result.error, {.group = group_->name()});
    } catch (const std::exception& e) {
        log_error(std::string("installing the fail-closed blocks: ") + e.what(), {.group = group_->name()});
    }
}

void GroupDataplane::arm_flow_timer() {
    if (acquired_flows_.empty()) {
        flow_timer_.disarm();
        return;
    }
    // Half the idle time between looks: a flow goes between 1 and 1.5 idle times after its
    // last packet.
    const auto idle = group_->config().per_destination_idle;
    flow_timer_.arm_at(policy::Clock::now() + std::max(std::chrono::seconds(1), idle / 2));
}

void GroupDataplane::expire_idle_flows() {
    if (!kernel_ || acquired_flows_.empty()) return;
    std::vector<netlink::XfrmState> states;
    try {
        states = kernel_->dump_states();
    } catch (const std::exception& e) {
        log_warning(std::string("reading the kernel's XFRM states for per-destination flows: ") + e.what(),
                    {.group = group_->name()});
        arm_flow_timer();
        return;
    }
    const auto idle = group_->config().per_destination_idle;
    const auto expired = acquired_flows_.expire_idle(states, policy::Clock::now(), idle, [&](const policy::AcquiredFlow& f) {
        return policy::band::acquire_reqid(group_slot_, f.reqid_slot);
    });
    for (const auto& flow : expired)
        log_info("per-destination flow " + flow.source.to_string() + " -> " + flow.destination.to_string() +
                     ": idle for " + std::to_string(idle.count()) + " s, its state is removed",
                 {.group = group_->name()});
    if (!expired.empty()) {
        flows_full_logged_ = false;
        reconcile(); // re-arms the ageing timer
    } else {
        arm_flow_timer();
    }
}

void GroupDataplane::record_error(const std::string& message) {
    group_->kernel.error = message;
    if (logged_error_ != message) {
        log_error(message, {.group = group_->name()});
        logged_error_ = message;
    }
}

void GroupDataplane::apply_datapath_state(policy::LocalSettings& settings) const {
    settings.destination_only = datapath_.fallback_reason().has_value();
    if (group_->config().pre_fragmentation) settings.pre_fragmentation = datapath_.pre_fragmentation();
}

void GroupDataplane::schedule_retry(std::chrono::seconds delay) {
    timer_.arm_at(policy::Clock::now() + delay);
}

void GroupDataplane::reconcile() {
    const auto now = policy::Clock::now();
    auto& summary = group_->kernel;
    // Whatever happens below, the kernel is compared with what we want again within a minute:
    // an event the socket missed (or a kind it cannot report) is found then.
    audit_timer_.arm_at(now + audit_interval);
    if (!kernel_) {
        summary.state = GroupKernelSummary::State::unavailable;
        record_error("the kernel has no XFRM netlink interface (CONFIG_XFRM_USER); no SA can be installed");
        return;
    }
    if (adopting_ && timeline_.schedule().empty()) {
        repair_cause_.reset(); // the adopted objects stay as they are, whatever the audit says
        return;
    }
    const auto built = build_local_settings(group_->config(), group_slot_);
    if (!built.settings) {
        summary.state = GroupKernelSummary::State::waiting;
        record_error(built.problem + "; the group's kernel objects wait for it");
        schedule_retry(missing_interface_retry);
        return;
    }
    auto settings = *built.settings;
    try {
        const auto& config = group_->config();
        DatapathNeeds needs;
        needs.wan = config.wan_interface;
        needs.lans = config.lan_interfaces;
        needs.anchors = {config.local_address, config.anchor.remote, config.anchor.inbound};
        needs.bypass_mark = config.bypass_mark ? config.bypass_mark->mask : 0;
        needs.set_df = config.df_bit == DfBit::set;
        needs.tcp_mss = config.tcp_mss.value_or(0);
        needs.routing_instance = config.routing_instance;
        needs.destination_only_fallback = config.datapath_fallback == DatapathFallback::destination_only;
        needs.pre_fragmentation = config.pre_fragmentation && config.local_address.family == gdoi::IpFamily::v4;
        if (needs.pre_fragmentation) needs.pre_fragment_mtu = pre_fragment_mtu(timeline_, config.wan_interface);
        datapath_.require(group_->name(), needs);
        datapath_required_ = true;
    } catch (const std::exception& e) {
        summary.state = GroupKernelSummary::State::error;
        record_error(std::string("header-preservation datapath: ") + e.what() +
                     (group_->config().datapath_fallback == DatapathFallback::refuse
                          ? "; the group's traffic is blocked (datapath-fallback = \"destination-only\" would carry it "
                            "with our WAN address as outer source)"
                          : "; the group's traffic is blocked"));
        install_blocks_only(settings);
        schedule_retry(kernel_refusal_retry);
        return;
    }

    apply_datapath_state(settings);
    if (settings.destination_only)
        summary.warning = "destination-only header preservation (outer source " + group_->config().local_address.to_string() +
                          "): the BPF datapath could not load: " + *datapath_.fallback_reason();
    else
        summary.warning.reset();

    policy::InstalledObjects installed;
    try {
        installed.states = kernel_->dump_states();
        installed.policies = kernel_->dump_policies();
    } catch (const std::exception& e) {
        summary.state = GroupKernelSummary::State::error;
        record_error(std::string("reading the kernel's XFRM objects: ") + e.what());
        schedule_retry(kernel_refusal_retry);
        return;
    }
    installed.datapath = maps_.entries();

    status_.acquired_flows = acquired_flows_.flows();
    // One translation serves the plan and the summary (policy::plan() would compute it again).
    const auto desired = policy::desired_objects(timeline_, settings, status_, now);
    const auto operations = policy::diff(desired, installed, group_slot_);
    for (const auto& op : operations) log_debug(op.to_string(), {.group = group_->name()});
    // 100 ms between a policy switch and the deletion of what it no longer uses (see
    // policy::apply_plan): once per rekey, the event loop can afford it.
    const auto result = policy::apply_plan(operations, *kernel_, maps_,
                                           [] { std::this_thread::sleep_for(std::chrono::milliseconds(100)); });
    if (const auto cause = std::exchange(repair_cause_, std::nullopt); cause && !operations.empty()) {
        repair_timer_.disarm();
        ++summary.repairs;
        log_warning(*cause + ": " + std::to_string(result.applied) + " of the group's kernel object(s) " +
                        (result.ok() ? "put back" : "to put back, the kernel refused some") + " (repair " +
                        std::to_string(summary.repairs) + ")",
                    {.group = group_->name()});
    }
    // The routing rules after the objects they lead to (the interface's policies and states),
    // so no marked packet is routed into the interface before it can be encrypted there.
    try {
        datapath_.set_pre_fragmentation_rules(group_->name(), desired.pre_fragmentation);
    } catch (const std::exception& e) {
        record_error(std::string("pre-fragmentation routing rules: ") + e.what());
    }
    discard_answered_acquires();
    arm_flow_timer();
    if (result.offload_refused && !offload_refusal_logged_) {
        // Once per group: every later state would be refused for the same reason.
        offload_refusal_logged_ = true;
        log_info("NIC crypto offload on " + settings.wan.name + " refused, outbound states run in software (" +
                     result.offload_error + "); crypto-offload = \"off\" stops asking",
                 {.group = group_->name()});
    }

    summary.problems = desired.problems;
    summary.notes = desired.notes;
    summary.fail_closed = !desired.has_valid_sa;
    // Per-destination states are the ones under an acquire reqid (policy/object_band.hpp).
    summary.per_destination_flows = size_t(std::count_if(desired.states.begin(), desired.states.end(), [](const auto& s) {
        return policy::band::reqid_slot_of_acquire_reqid(s.reqid) != 0;
    }));
    summary.fail_open = any_fail_open_policy(desired);
    if (result.ok()) {
        // After a complete plan the group's objects in the kernel are exactly the desired ones.
        summary.states = desired.states.size();
        summary.policies = desired.policies.size();
    } else {
        try {
            summary.states = count_owned_states(kernel_->dump_states(), group_slot_);
            summary.policies = count_owned_policies(kernel_->dump_policies(), group_slot_);
        } catch (const std::exception&) {
            // The counts are informational; the next reconcile refreshes them.
        }
    }

    if (!result.ok()) {
        summary.state = GroupKernelSummary::State::error;
        record_error("kernel update: " + result.error);
        schedule_retry(kernel_refusal_retry);
        return;
    }
    if (!operations.empty())
        log_info("kernel updated: " + std::to_string(result.applied) + " change(s); " +
                     std::to_string(summary.states) + " states, " + std::to_string(summary.policies) +
                     " policies" + (summary.fail_closed ? ", fail-closed" : ""),
                 {.group = group_->name()});
    summary.state = GroupKernelSummary::State::installed;
    summary.error.reset();
    logged_error_.reset();
    // The maps of this instance now hold the group's entries: its filters replace the adopted.
    if (adopting_) end_adoption("registered");
    timeline_.prune(now);
    if (const auto next = timeline_.next_change_after(now))
        timer_.arm_at(*next);
    else
        timer_.disarm();
}

void GroupDataplane::withdraw() {
    adopting_ = false;
    adoption_timer_.disarm();
    timer_.disarm();
    flow_timer_.disarm();
    repair_timer_.disarm();
    audit_timer_.disarm();
    acquired_flows_.clear();
    answered_acquires_.clear();
    if (kernel_) {
        try {
            for (const auto& e : std::vector(maps_.entries().inbound_spis.begin(), maps_.entries().inbound_spis.end()))
                maps_.remove({policy::MapEntry::Kind::inbound_spi, e, {}, {}});
            for (const auto& p : policy::DatapathEntries(maps_.entries()).protected_destinations)
                maps_.remove({policy::MapEntry::Kind::protected_destination, 0, p, {}});
            for (const auto& [s, d] : policy::DatapathEntries(maps_.entries()).outbound_flows)
                maps_.remove({policy::MapEntry::Kind::outbound_flow, 0, s, d});
        } catch (const std::exception& e) {
            log_warning(std::string("removing datapath entries: ") + e.what(), {.group = group_->name()});
        }
        try {
            size_t removed = 0;
            // Policies first: a policy without its state would drop traffic, a state without
            // its policy is merely unused.
            for (const auto& p : kernel_->dump_policies())
                if (policy::band::owns(p, group_slot_)) kernel_->delete_policy(p.id), ++removed;
            for (const auto& s : kernel_->dump_states())
                if (policy::band::owns(s, group_slot_) && s.id.spi != 0) kernel_->delete_state(s.id), ++removed;
            if (removed > 0)
                log_info("removed the group's " + std::to_string(removed) + " kernel objects", {.group = group_->name()});
        } catch (const std::exception& e) {
            log_error(std::string("removing the group's kernel objects: ") + e.what(), {.group = group_->name()});
        }
    }
    if (datapath_required_) {
        try {
            datapath_.release(group_->name());
        } catch (const std::exception& e) {
            log_warning(std::string("releasing the datapath: ") + e.what(), {.group = group_->name()});
        }
        datapath_required_ = false;
    }
    group_->kernel = GroupKernelSummary{};
}

size_t GroupDataplane::limit_for_restart(std::chrono::seconds limit) {
    if (!kernel_) return 0;
    const auto built = build_local_settings(group_->config(), group_slot_);
    if (!built.settings) return 0;
    auto settings = *built.settings;
    apply_datapath_state(settings);
    const auto now = policy::Clock::now();
    const auto wall = uint64_t(std::chrono::duration_cast<std::chrono::seconds>(
                                   std::chrono::system_clock::now().time_since_epoch())
                                   .count());
    size_t limited = 0;
    try {
        std::map<netlink::XfrmStateId, uint64_t> added_at;
        for (const auto& s : kernel_->dump_states())
            if (policy::band::owns(s, group_slot_) && s.id.spi != 0) added_at[s.id] = s.added_at;
        // The desired states carry the keys (a dump has none), which an update must repeat.
        for (auto state : policy::desired_objects(timeline_, settings, status_, now).states) {
            const auto found = added_at.find(state.id);
            if (found == added_at.end()) continue;
            auto left = limit;
            if (const auto* tek = timeline_.find(state.id.spi)) {
                const auto expires = tek->received_at + tek->tek.lifetime;
                if (tek->tek.lifetime.count() > 0)
                    left = std::min(left, std::max(std::chrono::seconds(1),
                                                   std::chrono::duration_cast<std::chrono::seconds>(expires - now)));
            }
            // The kernel counts the hard lifetime from the state's creation (curlft.add_time).
            const uint64_t age = found->second > 0 && found->second <= wall ? wall - found->second : 0;
            state.hard_lifetime_seconds = age + uint64_t(left.count());
            state.soft_lifetime_seconds = 0;
            kernel_->update_state(state);
            ++limited;
        }
    } catch (const std::exception& e) {
        log_warning(std::string("graceful restart: limiting the states' lifetime: ") + e.what() +
                        "; they stay until the next gdoid replaces them",
                    {.group = group_->name()});
    }
    return limited;
}

bool GroupDataplane::holds_unexpired_keys() const {
    const auto now = policy::Clock::now();
    const auto schedule = timeline_.schedule();
    return std::any_of(schedule.begin(), schedule.end(), [&](const policy::TekSchedule& s) { return s.expires_at > now; });
}

std::string GroupDataplane::render() const {
    const auto built = build_local_settings(group_->config(), group_slot_);
    if (!built.settings) return {};
    auto settings = *built.settings;
    apply_datapath_state(settings); // what reconcile() installs, pre-fragmentation's objects too
    const auto desired = policy::desired_objects(timeline_, settings, status_, policy::Clock::now());
    return policy::render_desired(desired, settings);
}

} // namespace gdoid::daemon
