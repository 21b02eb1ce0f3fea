// Per-destination outbound states, found through the kernel's ACQUIRE: what one ACL entry
// needs for traffic the anchor state cannot carry with its addresses.
//   Router-originated traffic (design.md, header preservation item 4), always:
//   - an ACQUIRE trap per router address inside the entry's sources: an `out` policy (that
//     address -> the entry's destinations) whose template names a state that never exists,
//     so the kernel tells gdoid about each new flow (XFRM_MSG_ACQUIRE);
//   - per flow gdoid was told about: an outbound state router address -> remote host under
//     the entry's current TEK, and an `out` policy for exactly that pair, ahead of the trap.
//   Destination-only mode (no BPF datapath, LocalSettings::destination_only), in addition:
//   - one trap for the whole entry (its selectors, template from our WAN address), in place
//     of the entry's own `out` policy to the anchor;
//   - per remote host: an outbound state WAN address -> host and a policy (the entry's
//     sources -> that host) ahead of the trap. The outer destination is preserved, the outer
//     source is ours.
// Pure, like desired_objects(), which calls it for every entry it can send on.
#pragma once

#include "gdoi/group_policy.hpp"
#include "netlink/xfrm_objects.hpp"
#include "policy/local_settings.hpp"
#include "policy/tek_schedule.hpp"

#include <string>
#include <vector>

namespace policy {

struct PerDestinationObjects {
    std::vector<netlink::XfrmState> states;
    std::vector<std::string> state_roles;
    std::vector<netlink::XfrmPolicy> policies; // in precedence order
    std::vector<std::string> policy_roles;
};

// `selectors` are the entry's kernel selectors (mirror included), `outbound` the TEK it sends
// with now, `retired` the TEKs it sent with before that are still received (until their DTD):
// each flow keeps a state under those too, so a packet that met a flow's policy just before a
// rekey switched it still finds its state.
PerDestinationObjects per_destination_objects(const TekSlot& slot,
                                              const std::vector<netlink::XfrmSelector>& selectors,
                                              const gdoi::TekPolicy& outbound,
                                              const std::vector<const gdoi::TekPolicy*>& retired,
                                              const Anchors& anchors, const LocalSettings& settings,
                                              const std::set<AcquiredFlow>& flows);

// The router's own addresses that may source group traffic: its LAN addresses and its WAN
// address, when the key server's ACL covers them.
std::vector<gdoi::IpAddress> router_sources(const LocalSettings& settings, const Anchors& anchors);

} // namespace policy
