// The kernel objects of pre-fragmentation (IPv4): routing rules send an oversize DF-clear
// packet through gdoid's XFRM interface, the policy path lets it pass its `out` lookup
// untransformed there, whose MTU makes ip_finish_output() fragment it, and the interface's own `out`
// policies and states (copies of the entry's, under its if_id) encrypt each fragment. The
// WAN egress program restores every fragment's ESP packet like the anchor state's.
// docs/datapath-notes.md, "Fragmentation before encryption", has the kernel's side.
#pragma once

#include "gdoi/group_policy.hpp"
#include "netlink/xfrm_objects.hpp"
#include "policy/local_settings.hpp"

#include <string>
#include <vector>

namespace policy {

// What the routing rules need: the selectors whose marked packets go through the interface,
// and the bypasses (key server deny entries, configured bypass classes, both directions) that
// the rules let pass first, since the policy path lets those through in clear text.
struct PreFragmentationRules {
    std::vector<netlink::XfrmSelector> through_interface;
    std::vector<netlink::XfrmSelector> exceptions;
    bool operator==(const PreFragmentationRules&) const = default;
};

// Whether an entry's selector gets the interface path: IPv4, not toward a multicast group
// (forwarded multicast never crosses ip_forward), and without ports: the interface's policies
// are looked up per fragment, and a fragment carries no ports (the kernel's decode_session4()
// reads none), so a port selector would match no fragment; such entries keep the policy
// path (the ESP packet is fragmented instead).
bool pre_fragments(const netlink::XfrmSelector& selector, const LocalSettings& settings);

// For one `out` encrypt policy of the policy path (`entry`, scoped to the WAN device): the
// allow policy that lets a packet routed into the interface pass its forwarding lookup (same
// selector on the interface's device, `pass_priority`), and the interface's copy of `entry`
// (its if_id, the template toward the interface's dummy destination).
std::vector<netlink::XfrmPolicy> pre_fragmentation_policies(const netlink::XfrmPolicy& entry,
                                                            uint32_t pass_priority,
                                                            const PreFragmentation& settings);

// The interface's copy of an anchor outbound state: same SPI, keys and flags, toward the
// interface's dummy destination (the kernel finds states by destination, SPI and protocol, so
// a second state toward the remote anchor would collide), under its if_id.
netlink::XfrmState pre_fragmentation_state(const netlink::XfrmState& outbound,
                                           const PreFragmentation& settings);

// The exceptions of PreFragmentationRules: every IPv4 deny entry and bypass class, and its
// mirror.
std::vector<netlink::XfrmSelector>
pre_fragmentation_exceptions(const std::vector<gdoi::TrafficSelector>& deny,
                             const std::vector<BypassClass>& bypass_classes);

} // namespace policy
