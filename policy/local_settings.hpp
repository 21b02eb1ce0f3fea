// What policy/ needs to know about this router and one group, besides what the key server
// said: interfaces, anchor addresses, the operator's choices. Filled by the daemon from its
// configuration and from the kernel's link/address state; plain values, no I/O.
#pragma once

#include "gdoi/group_policy.hpp"
#include "gdoi/ip_address.hpp"
#include "netlink/xfrm_objects.hpp"

#include <chrono>
#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace policy {

enum class MatchDirection : uint8_t { input, output, both };
enum class DfBit : uint8_t { clear, set, copy };

struct Interface {
    std::string name;
    int ifindex = 0;
    auto operator<=>(const Interface&) const = default;
};

// The three addresses of the header-preservation design, for one address family
// (design.md "Header preservation on a stock kernel"; the outer family must be the inner one,
// because the datapath copies the inner addresses into the outer header).
struct Anchors {
    gdoi::IpAddress wan_address;    // A_L: source of the outbound state (our WAN address)
    gdoi::IpAddress remote_anchor;  // A_R: dummy routable destination of the outbound state
    gdoi::IpAddress inbound_anchor; // A_IN: local /32 (/128) the inbound state is found by
};

// Traffic that stays in clear text while the group has lost its keys because no key server
// answers (Juniper's fail-open rules). Both directions of the pair are let through.
struct FailOpenRule {
    std::string name;
    gdoi::IpPrefix source;
    gdoi::IpPrefix destination;
};
inline constexpr size_t max_fail_open_rules = 10;

// A configured bypass class: traffic that is never encrypted (both directions), like a key
// server's "deny" entry.
struct BypassClass {
    std::string name;
    gdoi::TrafficSelector selector;
};

// pre-fragmentation (gdoid.conf(5) FRAGMENTATION), IPv4 only: the LAN ingress program marks a
// forwarded packet that will not fit the tunnel and whose DF bit is clear; routing rules send
// it through gdoid's XFRM interface (`if_id`, `ifindex`), whose MTU makes the kernel fragment
// it before the transform (docs/datapath-notes.md, "Fragmentation before encryption").
struct PreFragmentation {
    uint32_t if_id = 0;
    int ifindex = 0;               // the interface's: its routes' packets pass the policy path
    gdoi::IpAddress remote_anchor; // dummy destination of the interface's outbound states
};

struct LocalSettings {
    std::string group_name;
    uint32_t group_id = 0;
    // This group's place in gdoid's reqid/priority band (0..255, see policy/object_band.hpp);
    // the daemon gives every configured group its own, stable across restarts.
    uint32_t group_slot = 0;

    Interface wan;
    std::vector<Interface> lans;
    std::optional<Anchors> v4;
    std::optional<Anchors> v6;
    // Our own protected prefixes (behind the LAN interfaces). Optional: when given, they are
    // what the WAN ingress rewrites to the anchor, what fail-closed blocks before the first
    // registration, and traffic from them to the router or between LANs is never required to
    // arrive encrypted.
    std::vector<gdoi::IpPrefix> lan_prefixes;
    // The router's own addresses inside the protected space (its LAN addresses): the `in`
    // policies protect traffic from remote members to these.
    std::vector<gdoi::IpAddress> router_addresses;

    MatchDirection match_direction = MatchDirection::both;
    DfBit df_bit = DfBit::clear;
    // Packets carrying these mark bits were exempted by the operator's firewall rules.
    std::optional<netlink::XfrmMark> bypass_mark;
    // An output mark the outbound state sets (XFRMA_SET_MARK). Absent by default: the LAN
    // ingress program already puts the flag and the slot index in the reserved mark bits, and
    // a flag set here on a packet that never crossed a LAN ingress (router-originated traffic)
    // would make the WAN egress program restore it from whatever slot its mark bits name.
    std::optional<netlink::XfrmMark> outbound_flag_mark;
    std::vector<FailOpenRule> fail_open;
    std::vector<BypassClass> bypass_classes;
    // Crypto offload of outbound states on the WAN device (kernel capability, probed).
    bool wan_crypto_offload = false;
    // The BPF datapath could not run and the operator allowed the fallback: no anchor
    // outbound state; every flow gets its own state with our WAN address as outer source
    // (destination-only preservation), found through ACQUIRE like router-originated traffic.
    bool destination_only = false;
    std::optional<PreFragmentation> pre_fragmentation;
    // New outbound SAs are used this long before the old ones expire when the key server
    // gave no activation time delay (Juniper: 30 s).
    std::chrono::seconds activate_before_expiry{30};
};

// A flow with an outbound state of its own, source -> destination, found through the kernel's
// ACQUIRE and forgotten when idle (daemon/acquired_flows):
//   - traffic the router itself sends to the group (one of its own addresses as source)
//     never crosses a LAN ingress program, so the anchor state cannot carry it with its
//     addresses restored; its own state (router address -> remote host) makes the outer
//     header equal the inner one by itself (design.md, header preservation item 4);
//   - in destination-only mode (no BPF datapath) all traffic goes this way, the LAN's with
//     our WAN address as outer source (policy/per_destination.hpp).
struct AcquiredFlow {
    gdoi::IpAddress source;      // the state's (outer) source: a router address
    gdoi::IpAddress destination; // the remote host
    uint32_t reqid_slot = 0; // the TEK slot whose ACQUIRE trap the flow met
    auto operator<=>(const AcquiredFlow&) const = default;
};

// What the daemon knows at run time that changes the kernel objects.
struct GroupStatus {
    // True while the group has no usable key server (all retries failed): the only situation
    // in which fail-open rules apply.
    bool servers_unreachable = false;
    std::set<AcquiredFlow> acquired_flows;
};

} // namespace policy
