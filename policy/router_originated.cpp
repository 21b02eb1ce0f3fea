#include "policy/router_originated.hpp"

#include "policy/object_band.hpp"
#include "policy/tek_states.hpp"

#include <algorithm>
#include <cstdio>

namespace policy {

using netlink::XfrmPolicy;
using netlink::XfrmPolicyAction;
using netlink::XfrmPolicyDirection;
using netlink::XfrmSelector;
using netlink::XfrmTemplate;

namespace {

gdoi::IpPrefix host_prefix(const gdoi::IpAddress& address) {
    return {address, uint8_t(address.width_bits())};
}

XfrmPolicy out_policy(XfrmSelector selector, const LocalSettings& settings, uint32_t offset,
                      XfrmTemplate send) {
    XfrmPolicy p;
    // Scoped to the WAN device like the entry's own `out` policy: only what leaves there.
    selector.ifindex = settings.wan.ifindex;
    p.id.selector = selector;
    p.id.direction = XfrmPolicyDirection::out;
    p.priority = band::priority(settings.group_slot, offset);
    p.action = XfrmPolicyAction::allow;
    p.templates = {send};
    return p;
}

std::string hex(uint32_t value) {
    char buffer[16];
    snprintf(buffer, sizeof buffer, "0x%08x", value);
    return buffer;
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

RouterOriginatedObjects router_originated_objects(const TekSlot& slot,
                                                  const std::vector<XfrmSelector>& selectors,
                                                  const gdoi::TekPolicy& outbound, const Anchors& anchors,
                                                  const LocalSettings& settings,
                                                  const std::set<RouterFlow>& flows) {
    RouterOriginatedObjects out;
    const uint32_t reqid = band::router_reqid(settings.group_slot, slot.reqid_slot);
    const std::string entry = "ACL entry " + std::to_string(slot.acl_position + 1);
    const uint8_t ip_protocol = tek_ip_protocol(outbound);

    // Per flow: its state, and a policy for exactly its pair (with the entry's protocol and
    // ports) ahead of the trap. The template pins the SPI like the entry's own `out` policy,
    // so a rekey switches the flow in one policy update after its new state is in.
    for (const auto& flow : flows) {
        if (flow.reqid_slot != slot.reqid_slot) continue;
        bool covered = false;
        for (const auto& s : selectors) {
            if (!s.source.contains(flow.source) || !s.destination.contains(flow.destination)) continue;
            XfrmSelector pair = s;
            pair.source = host_prefix(flow.source);
            pair.destination = host_prefix(flow.destination);
            XfrmTemplate send;
            send.source = flow.source;
            send.destination = flow.destination;
            send.spi = outbound.spi;
            send.ip_protocol = ip_protocol;
            send.reqid = reqid;
            out.policies.push_back(out_policy(
                pair, settings, band::entry_offset(slot.acl_position, band::EntryRank::router_destination), send));
            out.policy_roles.push_back(entry + " router-originated " + flow.source.to_string() + " -> " +
                                       flow.destination.to_string());
            covered = true;
        }
        if (!covered) continue; // the entry no longer covers the pair: the flow's objects go
        out.states.push_back(router_flow_state(outbound, flow.source, flow.destination, reqid, settings));
        out.state_roles.push_back(entry + " TEK " + hex(outbound.spi) + " router-originated " +
                                  flow.source.to_string() + " -> " + flow.destination.to_string());
    }

    // The traps. Their template (router address -> the dummy remote anchor, the router reqid)
    // never has a state, so the kernel drops the packet and raises an ACQUIRE for it: the
    // first packet of a new flow is lost, the flow's own state takes the next ones.
    for (const auto& source : router_sources(settings, anchors)) {
        for (const auto& s : selectors) {
            if (!s.source.contains(source)) continue;
            XfrmSelector from_router = s;
            from_router.source = host_prefix(source);
            XfrmTemplate trap;
            trap.source = source;
            trap.destination = anchors.remote_anchor;
            trap.ip_protocol = ip_protocol;
            trap.reqid = reqid;
            out.policies.push_back(out_policy(
                from_router, settings, band::entry_offset(slot.acl_position, band::EntryRank::router_trap), trap));
            out.policy_roles.push_back(entry + " router-originated from " + source.to_string() +
                                       " (ACQUIRE trap)");
        }
    }
    return out;
}

} // namespace policy
