#include "daemon/pre_fragmentation_routing.hpp"

#include "daemon/log.hpp"
#include "netlink/netlink_socket.hpp"

#include <net/if.h>

#include <algorithm>
#include <set>
#include <stdexcept>

namespace gdoid::daemon {

namespace {

// A FIB rule selects nothing with an empty prefix; a /0 selector means the same.
gdoi::IpPrefix rule_prefix(const gdoi::IpPrefix& prefix) {
    return prefix.length == 0 ? gdoi::IpPrefix{} : prefix;
}

netlink::FibRule rule_for(const netlink::XfrmSelector& selector) {
    netlink::FibRule rule;
    rule.source = rule_prefix(selector.source);
    rule.destination = rule_prefix(selector.destination);
    rule.ip_protocol = selector.ip_protocol;
    rule.source_port = selector.source_port;
    rule.destination_port = selector.destination_port;
    return rule;
}

} // namespace

std::vector<netlink::FibRule> pre_fragmentation_rules(
    const std::vector<policy::PreFragmentationRules>& groups, uint32_t mark, uint32_t bypass_mask) {
    std::set<netlink::FibRule> exceptions;
    std::set<netlink::FibRule> through;
    for (const auto& group : groups) {
        for (const auto& selector : group.exceptions) {
            auto rule = rule_for(selector);
            rule.priority = kRuleExceptionPriority;
            rule.fwmark = mark;
            rule.fwmask = mark;
            rule.action = netlink::FibRule::Action::go_to;
            rule.goto_priority = kRuleContinuePriority;
            exceptions.insert(rule);
        }
        for (const auto& selector : group.through_interface) {
            auto rule = rule_for(selector);
            rule.priority = kRuleInterfacePriority;
            // The operator's bypass mark wins: such a packet passes the policy path in clear
            // text (its bypass policy comes first) and must not be routed into the interface.
            rule.fwmark = mark;
            rule.fwmask = mark | bypass_mask;
            rule.action = netlink::FibRule::Action::to_table;
            rule.table = kPreFragmentationTable;
            through.insert(rule);
        }
    }
    std::vector<netlink::FibRule> rules;
    if (through.empty()) return rules;
    netlink::FibRule next;
    next.priority = kRuleContinuePriority;
    next.action = netlink::FibRule::Action::nop;
    rules.push_back(next);
    rules.insert(rules.end(), exceptions.begin(), exceptions.end());
    rules.insert(rules.end(), through.begin(), through.end());
    return rules;
}

void PreFragmentationRouting::install_interface(const std::string& wan, uint32_t mtu) {
    const unsigned link = if_nametoindex(wan.c_str());
    if (link == 0)
        throw std::runtime_error("pre-fragmentation: the WAN interface " + wan + " does not exist");
    // Adopts an interface that is still there (and brings it up), creates a missing one.
    ifindex_ = netlink::ensure_xfrm_interface(
        {kPreFragmentationInterface, kPreFragmentationIfId, static_cast<int>(link), mtu});
    netlink::replace_default_route(kPreFragmentationTable, *ifindex_, gdoi::IpFamily::v4);
}

void PreFragmentationRouting::ensure(const std::string& wan, uint32_t mtu) {
    if (ifindex_ && wan_ == wan && mtu_ == mtu) return;
    if (ifindex_ && wan_ != wan) remove(); // the interface is bound to its link
    const bool fresh = !ifindex_;
    install_interface(wan, mtu);
    if (fresh || mtu_ != mtu)
        log_info(std::string("pre-fragmentation: XFRM interface ") + kPreFragmentationInterface +
                 " on " + wan + ", MTU " + std::to_string(mtu) + ", routing table " +
                 std::to_string(kPreFragmentationTable));
    wan_ = wan;
    mtu_ = mtu;
}

bool PreFragmentationRouting::restore() {
    if (!ifindex_) return false;
    const int before = *ifindex_;
    install_interface(wan_, mtu_);
    sync_rules();
    return *ifindex_ != before;
}

void PreFragmentationRouting::set_rules(const std::string& group,
                                        const policy::PreFragmentationRules& rules,
                                        uint32_t mark, uint32_t bypass_mask) {
    if (rules.through_interface.empty())
        groups_.erase(group);
    else
        groups_[group] = rules;
    mark_ = mark;
    bypass_mask_ = bypass_mask;
    sync_rules();
}

void PreFragmentationRouting::sync_rules() {
    std::vector<policy::PreFragmentationRules> all;
    for (const auto& [name, rules] : groups_)
        all.push_back(rules);
    const auto wanted = pre_fragmentation_rules(all, mark_, bypass_mask_);
    const auto present =
        netlink::dump_rules(gdoi::IpFamily::v4, kRuleExceptionPriority, kRuleContinuePriority);
    const std::set<netlink::FibRule> wanted_set(wanted.begin(), wanted.end());
    const std::set<netlink::FibRule> present_set(present.begin(), present.end());
    // Removed in the opposite order of adding: the rules into the interface first, the nop
    // the exceptions jump to last.
    std::vector<netlink::FibRule> stale;
    for (const auto& rule : present)
        if (!wanted_set.contains(rule)) stale.push_back(rule);
    std::sort(stale.begin(), stale.end(),
              [](const auto& a, const auto& b) { return a.priority > b.priority; });
    for (const auto& rule : stale)
        if (netlink::delete_rule(gdoi::IpFamily::v4, rule))
            log_debug("pre-fragmentation: removed rule " + rule.to_string());
    for (const auto& rule : wanted)
        if (!present_set.contains(rule) && netlink::add_rule(gdoi::IpFamily::v4, rule))
            log_debug("pre-fragmentation: added rule " + rule.to_string());
}

void PreFragmentationRouting::remove() {
    groups_.clear();
    try {
        sync_rules(); // no group: every rule of ours goes, in the order that keeps goto targets
        // The table's route goes with the device.
        if (netlink::delete_link(kPreFragmentationInterface))
            log_info(std::string("pre-fragmentation: removed the XFRM interface ") +
                     kPreFragmentationInterface + " and its rules");
    } catch (const std::exception& e) {
        log_warning(std::string("pre-fragmentation: removing its rules and interface: ") + e.what());
    }
    ifindex_.reset();
    mtu_ = 0;
}

void PreFragmentationRouting::forget() {
    groups_.clear();
    ifindex_.reset();
    mtu_ = 0;
}

} // namespace gdoid::daemon
