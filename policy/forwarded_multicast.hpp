// Selectors for multicast the box forwards (ipmr): the kernel looks these flows up with the
// router's own address as source, so a TEK's source prefix can never match them.
#pragma once

#include "netlink/xfrm_objects.hpp"

#include <optional>
#include <string>

namespace policy {

// The multicast range of a family: 224.0.0.0/4 or ff00::/8.
gdoi::IpPrefix multicast_range(gdoi::IpFamily family);

// Linux forwards multicast in ipmr_queue_xmit (net/ipv4/ipmr.c), which looks XFRM up with a
// flow of its own making: destination the group, source the address the route picks on the
// outgoing interface (the WAN address), protocol 4 (IPPROTO_IPIP), no ports, mark 0. An `out`
// policy that protects `selector` therefore also needs this selector, or the forwarded group
// traffic leaves in clear text: any source, the multicast part of the destination, any
// protocol and port. Nothing when the destination holds no multicast address.
std::optional<netlink::XfrmSelector>
forwarded_multicast_selector(const netlink::XfrmSelector& selector);

// What an operator must know about such an entry, in one sentence (gdoictl status).
std::string forwarded_multicast_note(const netlink::XfrmSelector& forwarded);

} // namespace policy
