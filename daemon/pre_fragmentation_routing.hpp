// The routing half of pre-fragmentation (IPv4): gdoid's XFRM interface on the WAN device, the
// default route of its table, and the FIB rules that send packets carrying the
// pre-fragmentation mark into that table (docs/datapath-notes.md, "Fragmentation before
// encryption"). Shared by the groups like the BPF datapath: each group gives the selectors of
// its entries and its bypasses, the rules are their union.
//
// Rule layout (priorities before any an operator is likely to use; `ip rule` shows them with
// protocol 109):
//   40  marked packets of a bypass (deny entry, bypass class): goto 42, i.e. routed as usual
//   41  marked packets of an entry, bypass-mark bits clear: lookup table 26468 (the interface)
//   42  nop: where the exceptions continue
#pragma once

#include "netlink/policy_routing.hpp"
#include "policy/pre_fragmentation.hpp"

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace gdoid::daemon {

inline constexpr char kPreFragmentationInterface[] = "gdoi-pf0";
// The interface's if_id and the number of its routing table ("gd").
inline constexpr uint32_t kPreFragmentationIfId = 0x6764;
inline constexpr uint32_t kPreFragmentationTable = 0x6764;
inline constexpr uint32_t kRuleExceptionPriority = 40;
inline constexpr uint32_t kRuleInterfacePriority = 41;
inline constexpr uint32_t kRuleContinuePriority = 42;

// The rules for the groups' selectors: `mark` is the pre-fragmentation bit, `bypass_mask` the
// bypass-mark bits (a packet carrying one is never sent to the interface). Pure.
std::vector<netlink::FibRule> pre_fragmentation_rules(
    const std::vector<policy::PreFragmentationRules>& groups, uint32_t mark, uint32_t bypass_mask);

class PreFragmentationRouting {
public:
    // Creates or adopts the interface on `wan` with `mtu` and its table's default route.
    // Throws netlink::KernelError (e.g. no xfrm_interface module) naming what failed.
    void ensure(const std::string& wan, uint32_t mtu);
    // The group's share of the rules; the kernel's rules follow the union of all groups'.
    // Throws netlink::KernelError.
    void set_rules(const std::string& group, const policy::PreFragmentationRules& rules,
                   uint32_t mark, uint32_t bypass_mask);
    // Puts back what someone removed or changed: the interface (created again when it is gone,
    // brought up when it is down), its table's route and the rules. True when the interface was
    // created again: its index changed, and the groups' policies scoped to it must follow.
    // Throws netlink::KernelError.
    bool restore();
    // Removes the rules and the interface (no group uses pre-fragmentation any more); a
    // failure is logged, not thrown.
    void remove();
    // Graceful restart: leave everything for the next gdoid, which adopts it.
    void forget();

    bool active() const { return ifindex_.has_value(); }
    int ifindex() const { return ifindex_.value_or(0); }
    uint32_t mtu() const { return mtu_; }

private:
    void sync_rules();
    // The interface on `wan` with `mtu` (created or adopted) and its table's default route.
    void install_interface(const std::string& wan, uint32_t mtu);

    std::optional<int> ifindex_;
    std::string wan_;
    uint32_t mtu_ = 0;
    uint32_t mark_ = 0;
    uint32_t bypass_mask_ = 0;
    std::map<std::string, policy::PreFragmentationRules> groups_;
};

} // namespace gdoid::daemon
