// Router-originated traffic (design.md, header preservation item 4): what one ACL entry needs
// so that packets the router itself sends to the group leave with their own addresses.
//   - an ACQUIRE trap per router address inside the entry's sources: an `out` policy (that
//     address -> the entry's destinations) whose template names a state that never exists,
//     so the kernel tells gdoid about each new flow (XFRM_MSG_ACQUIRE);
//   - per flow gdoid was told about: an outbound state router address -> remote host under
//     the entry's current TEK, and an `out` policy for exactly that pair, ahead of the trap.
// Pure, like desired_objects(), which calls it for every entry it can send on.
#pragma once

#include "gdoi/group_policy.hpp"
#include "netlink/xfrm_objects.hpp"
#include "policy/local_settings.hpp"
#include "policy/tek_schedule.hpp"

#include <string>
#include <vector>

namespace policy {

struct RouterOriginatedObjects {
    std::vector<netlink::XfrmState> states;
    std::vector<std::string> state_roles;
    std::vector<netlink::XfrmPolicy> policies; // per-destination first, then the traps
    std::vector<std::string> policy_roles;
};

// `selectors` are the entry's kernel selectors (mirror included), `outbound` the TEK it sends
// with now.
RouterOriginatedObjects router_originated_objects(const TekSlot& slot,
                                                  const std::vector<netlink::XfrmSelector>& selectors,
                                                  const gdoi::TekPolicy& outbound, const Anchors& anchors,
                                                  const LocalSettings& settings,
                                                  const std::set<RouterFlow>& flows);

// The router's own addresses that may source group traffic: its LAN addresses and its WAN
// address, when the key server's ACL covers them.
std::vector<gdoi::IpAddress> router_sources(const LocalSettings& settings, const Anchors& anchors);

} // namespace policy
