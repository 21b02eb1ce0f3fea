#include "policy/per_destination.hpp"

#include "policy/object_band.hpp"
#include "policy/tek_states.hpp"

#include <algorithm>
#include <cstdio>
#include <map>

namespace policy {

using netlink::XfrmPolicy;
using netlink::XfrmPolicyAction;
using netlink::XfrmPolicyDirection;
using netlink::XfrmSelector;
using netlink::XfrmTemplate;

namespace {

XfrmPolicy out_policy(XfrmSelector selector, const LocalSettings& settings, uint32_t offset,
                      XfrmTemplate send) {
    XfrmPolicy p;
    // Scoped to the WAN device like the entry's own `out` policy: only what leaves there.
    selector.ifindex = settings.wan.ifindex;
    // Except the router's own IPv6: its output route lookup leaves the flow's oif 0 (IPv4's
    // fills in the route's device), so a WAN-scoped selector never matches and the packets
    // left in clear text (seen in VM 170). The selector's source is one of the router's own
    // addresses, so only what this box sends from it can match.
    const auto& source = selector.source.address;
    const bool own_v6 =
        source.family == gdoi::IpFamily::v6 && selector.source.length == 128 &&
        (std::find(settings.router_addresses.begin(), settings.router_addresses.end(), source) !=
             settings.router_addresses.end() ||
         (settings.v6 && settings.v6->wan_address == source));
    if (own_v6) selector.ifindex = 0;
    p.id.selector = selector;
    p.id.direction = XfrmPolicyDirection::out;
    p.priority = band::priority(settings.group_slot, offset);
    p.action = XfrmPolicyAction::allow;
    p.templates = {send};
    return p;
}

} // namespace

std::vector<gdoi::IpAddress> router_sources(const LocalSettings& settings, const Anchors& anchors) {
    std::vector<gdoi::IpAddress> sources;
    for (const auto& address : settings.router_addresses)
        if (address.family == anchors.wan_address.family &&
            std::find(sources.begin(), sources.end(), address) == sources.end())
            sources.push_back(address);
    if (std::find(sources.begin(), sources.end(), anchors.wan_address) == sources.end())
        sources.push_back(anchors.wan_address);
    return sources;
}

PerDestinationObjects per_destination_objects(const TekSlot& slot,
                                              const std::vector<XfrmSelector>& selectors,
                                              const gdoi::TekPolicy& outbound,
                                              const std::vector<const gdoi::TekPolicy*>& retired,
                                              const Anchors& anchors, const LocalSettings& settings,
                                              const std::set<AcquiredFlow>& flows) {
    PerDestinationObjects out;
    const uint32_t reqid = band::acquire_reqid(settings.group_slot, slot.reqid_slot);
    const std::string entry = "ACL entry " + std::to_string(slot.acl_position + 1);
    const uint8_t ip_protocol = tek_ip_protocol(outbound);
    // In destination-only mode the router's own traffic takes the entry's trap like the LAN's
    // (outer source = our WAN address): one state per destination, not one per source.
    const auto sources = settings.destination_only ? std::vector<gdoi::IpAddress>{}
                                                   : router_sources(settings, anchors);
    // The kernel knows a state by (destination, SPI, protocol): one destination has one state
    // under the TEK, whatever router address sends to it. Its source is the lowest address
    // among the destination's flows; another router address sending to the same host goes
    // through that state (outer source = that address: destination preserved).
    std::map<gdoi::IpAddress, gdoi::IpAddress> state_source;
    for (const auto& flow : flows) {
        if (flow.reqid_slot != slot.reqid_slot) continue;
        auto [it, inserted] = state_source.emplace(flow.destination, flow.source);
        if (!inserted && flow.source < it->second) it->second = flow.source;
    }
    auto send_to = [&](const AcquiredFlow& flow) {
        XfrmTemplate send;
        send.source = state_source.at(flow.destination);
        send.destination = flow.destination;
        // Pinned like the entry's own `out` policy: a rekey switches the flow in one policy
        // update after its new state is in.
        send.spi = outbound.spi;
        send.ip_protocol = ip_protocol;
        send.reqid = reqid;
        return send;
    };
    auto trap_from = [&](const gdoi::IpAddress& source) {
        // Router address (or our WAN address) -> the dummy remote anchor under the acquire
        // reqid: no state ever has it, so the kernel drops the packet and raises an ACQUIRE.
        // The first packet of a new flow is lost, the flow's own state takes the next ones.
        XfrmTemplate trap;
        trap.source = source;
        trap.destination = anchors.remote_anchor;
        trap.ip_protocol = ip_protocol;
        trap.reqid = reqid;
        return trap;
    };

    for (const auto& flow : flows) {
        if (flow.reqid_slot != slot.reqid_slot) continue;
        bool covered = false;
        // Router-originated: a policy for exactly the pair, ahead of the router's trap.
        if (std::find(sources.begin(), sources.end(), flow.source) != sources.end()) {
            for (const auto& s : selectors) {
                if (!s.source.contains(flow.source) || !s.destination.contains(flow.destination))
                    continue;
                XfrmSelector pair = s;
                pair.source = gdoi::IpPrefix::host(flow.source);
                pair.destination = gdoi::IpPrefix::host(flow.destination);
                out.policies.push_back(out_policy(
                    pair, settings,
                    band::entry_offset(slot.acl_position, band::EntryRank::router_destination),
                    send_to(flow)));
                out.policy_roles.push_back(entry + " router-originated " + flow.source.to_string() +
                                           " -> " + flow.destination.to_string());
                covered = true;
            }
        }
        // Destination-only: the entry's sources toward this host, from our WAN address.
        if (settings.destination_only && flow.source == anchors.wan_address) {
            for (const auto& s : selectors) {
                if (!s.destination.contains(flow.destination)) continue;
                XfrmSelector to_host = s;
                to_host.destination = gdoi::IpPrefix::host(flow.destination);
                out.policies.push_back(out_policy(
                    to_host, settings,
                    band::entry_offset(slot.acl_position, band::EntryRank::entry), send_to(flow)));
                out.policy_roles.push_back(entry + " destination-only " + s.source.to_string() +
                                           " -> " + flow.destination.to_string());
                covered = true;
            }
        }
        if (!covered) continue; // the entry no longer covers the flow: its objects go
        const auto& source = state_source.at(flow.destination);
        if (std::any_of(out.states.begin(), out.states.end(), [&](const netlink::XfrmState& s) {
                return s.id.destination == flow.destination;
            }))
            continue; // another source's flow to the same host made it
        out.states.push_back(
            per_destination_state(outbound, source, flow.destination, reqid, settings));
        out.state_roles.push_back(entry + " TEK " + hex32(outbound.spi) + " per-destination " +
                                  source.to_string() + " -> " + flow.destination.to_string());
        for (const auto* old_tek : retired) {
            out.states.push_back(
                per_destination_state(*old_tek, source, flow.destination, reqid, settings));
            out.state_roles.push_back(entry + " TEK " + hex32(old_tek->spi) + " per-destination " +
                                      source.to_string() + " -> " + flow.destination.to_string() +
                                      ", retired until its DTD");
        }
    }

    for (const auto& source : sources) {
        for (const auto& s : selectors) {
            if (!s.source.contains(source)) continue;
            XfrmSelector from_router = s;
            from_router.source = gdoi::IpPrefix::host(source);
            out.policies.push_back(
                out_policy(from_router, settings,
                           band::entry_offset(slot.acl_position, band::EntryRank::router_trap),
                           trap_from(source)));
            out.policy_roles.push_back(entry + " router-originated from " + source.to_string() +
                                       " (ACQUIRE trap)");
        }
    }
    if (settings.destination_only) {
        for (const auto& s : selectors) {
            out.policies.push_back(
                out_policy(s, settings,
                           band::entry_offset(slot.acl_position, band::EntryRank::destination_trap),
                           trap_from(anchors.wan_address)));
            out.policy_roles.push_back(entry + " destination-only (ACQUIRE trap)");
        }
    }
    return out;
}

} // namespace policy
