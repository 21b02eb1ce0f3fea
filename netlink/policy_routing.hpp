// Policy routing over rtnetlink (libmnl, through NetlinkSocket), for IPv4 pre-fragmentation:
// forwarded IPv4 that must be fragmented before IPsec encryption is steered by a firewall-mark
// bit into a routing table of gdoid's own, whose default route points at an XFRM interface.
// The pieces: that XFRM interface, that default route, and the FIB rules (`ip rule`) that send
// marked packets to the table, with exception rules ahead of them.
//
// Every function opens its own rtnetlink socket, as interface_address.hpp does: these are
// set-up and tear-down operations, rare enough that a socket per call costs nothing.
#pragma once

#include "gdoi/ip_address.hpp"

#include <compare>
#include <cstdint>
#include <string>
#include <vector>

namespace netlink {

// The routing protocol number gdoid's routes and rules carry (`proto 109` in `ip route` and
// `ip rule`; 0x6d, 'm', as in ownership.hpp). delete_rule() asks the kernel to match it, so an
// operator's identical rule (proto unspec from `ip rule add`, proto static from networkd) is
// never removed in place of gdoid's.
inline constexpr uint8_t gdoid_routing_protocol = 0x6d;

struct XfrmInterfaceSpec {
    std::string name;     // e.g. "gdoi-pf0", at most 15 characters
    uint32_t if_id = 0;   // IFLA_XFRM_IF_ID, never 0: the XFRM states and policies it carries
    int link_ifindex = 0; // IFLA_XFRM_LINK: the WAN device the encrypted packets leave by
    uint32_t mtu = 0;     // 0: the kernel's default
};

// Creates the XFRM interface `ip link add NAME type xfrm dev LINK if_id N` with IPv6 address
// generation off (no link-local address, so no router solicitations or MLD reports, which
// would fail on it), sets its MTU and brings it up; returns its ifindex. A device of that name
// that is already an XFRM interface with the same if_id and link is adopted (MTU set, brought
// up). Throws KernelError naming the device when it exists as anything else, or when the
// kernel refuses (e.g. no xfrm_interface module), and std::invalid_argument for a bad spec.
int ensure_xfrm_interface(const XfrmInterfaceSpec& spec);

// Throws KernelError naming the device and the kernel's reason.
void set_link_mtu(int ifindex, uint32_t mtu);

// Deletes the device: true when it was deleted, false when there was none of that name.
bool delete_link(const std::string& name);

// `ip route replace default dev IFINDEX table TABLE scope link proto 109` for the family:
// creates the route or replaces the table's default route.
void replace_default_route(uint32_t table, int ifindex, gdoi::IpFamily family);

// One FIB rule as gdoid uses them. A field that is zero (an empty prefix, port 0, mark and mask
// 0/0) does not select; every other field must match. Only the fields of the rule's action are
// set: `table` for to_table, `goto_priority` for go_to (std::invalid_argument otherwise), so
// that a rule given to add_rule() compares equal to the one dump_rules() returns.
struct FibRule {
    enum class Action : uint8_t { to_table, go_to, nop };
    uint32_t priority = 0;         // FRA_PRIORITY ("pref")
    gdoi::IpPrefix source;         // IpPrefix{} (the default) = any; else of the rule's family
    gdoi::IpPrefix destination;    // likewise
    uint8_t ip_protocol = 0;       // FRA_IP_PROTO ("ipproto"), 0 = any
    uint16_t source_port = 0;      // FRA_SPORT_RANGE {port, port} ("sport"), 0 = any
    uint16_t destination_port = 0; // FRA_DPORT_RANGE ("dport")
    uint32_t fwmark = 0;           // FRA_FWMARK/FRA_FWMASK ("fwmark M/K"): the packet's mark
    uint32_t fwmask = 0;           // ANDed with fwmask equals fwmark; 0/0 = any
    Action action = Action::to_table;
    uint32_t table = 0;         // to_table: FRA_TABLE ("lookup"), a u32: may exceed 255
    uint32_t goto_priority = 0; // go_to: FRA_GOTO ("goto"), above `priority`; the kernel jumps
                                // to the first rule of that priority (a nop rule there)
                                // and skips the goto while there is none ([unresolved])

    auto operator<=>(const FibRule&) const = default;
    // In `ip rule` words, for logs: "pref 100 fwmark 0x100000/0x100000 lookup 26468".
    std::string to_string() const;
};

// The family's rules whose priority lies in [first, last], in the kernel's order, whatever
// their protocol. A rule that selects on something FibRule cannot express (iif, oif, tos, uid
// range, `not`, ...) or has another action (blackhole, ...) is left out: read as a FibRule it
// would look like a different rule. Throws KernelError if the kernel refuses the dump.
std::vector<FibRule> dump_rules(gdoi::IpFamily family, uint32_t first, uint32_t last);

// Adds the rule with gdoid_routing_protocol: true when added, false when gdoid's rule was
// already there. Throws KernelError naming the rule on any refusal, including a rule that the
// kernel takes for a duplicate while it is not this one (its duplicate check ignores the goto
// target), and std::invalid_argument when the rule breaks the FibRule conventions above.
bool add_rule(gdoi::IpFamily family, const FibRule& rule);

// Deletes gdoid's rule: true when deleted, false when it is not there (checked first: the
// kernel would otherwise take another rule for it, e.g. a goto to another target). The kernel
// deletes the first rule of gdoid's protocol that matches every field set here and treats a
// zero field as "any", so a rule with more selectors at the same priority can go in its place:
// rules that each have a priority of their own are deleted exactly.
bool delete_rule(gdoi::IpFamily family, const FibRule& rule);

} // namespace netlink
