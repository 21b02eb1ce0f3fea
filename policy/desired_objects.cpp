#include "policy/desired_objects.hpp"

#include "policy/forwarded_multicast.hpp"
#include "policy/object_band.hpp"
#include "policy/per_destination.hpp"
#include "policy/pre_fragmentation.hpp"
#include "policy/tek_states.hpp"

#include <algorithm>
#include <set>

namespace policy {

using netlink::XfrmPolicy;
using netlink::XfrmPolicyAction;
using netlink::XfrmPolicyDirection;
using netlink::XfrmSelector;
using netlink::XfrmTemplate;

bool can_send(const gdoi::TekPolicy& tek) {
    return !tek.receive_only && tek.direction != gdoi::SaDirection::receiver_only &&
           tek.cipher != gdoi::TekCipher::aes_gcm_16;
}

bool can_receive(const gdoi::TekPolicy& tek) {
    return tek.direction != gdoi::SaDirection::sender_only;
}

std::vector<XfrmSelector> kernel_selectors(const gdoi::TrafficSelector& selector) {
    std::vector<XfrmSelector> result;
    for (const auto& source : selector.source.prefixes()) {
        for (const auto& destination : selector.destination.prefixes()) {
            XfrmSelector s;
            s.source = source;
            s.destination = destination;
            s.ip_protocol = selector.ip_protocol;
            s.source_port = selector.source.port;
            s.destination_port = selector.destination.port;
            result.push_back(s);
        }
    }
    return result;
}

namespace {

class Builder {
public:
    Builder(const LocalSettings& settings, DesiredObjects& out) : settings_(settings), out_(out) {}

    void policy(XfrmSelector selector, XfrmPolicyDirection direction, int ifindex, uint32_t offset,
                XfrmPolicyAction action, std::vector<XfrmTemplate> templates,
                const std::string& role, std::optional<netlink::XfrmMark> mark = std::nullopt) {
        selector.ifindex = ifindex;
        // Forwarded multicast is looked up with the router's own address as source
        // (policy/forwarded_multicast.hpp): an out policy that encrypts or blocks group
        // traffic also needs the any-source form, or that traffic leaves in clear text. An
        // allow without template (a bypass) is never widened: it would uncover the group.
        if (direction == XfrmPolicyDirection::out &&
            (action == XfrmPolicyAction::block || !templates.empty()))
            if (auto forwarded = forwarded_multicast_selector(selector))
                add_policy(*forwarded, direction, offset, action, templates,
                           role + " (forwarded multicast: any source)", mark);
        add_policy(selector, direction, offset, action, std::move(templates), role, mark);
    }

    void add_policy(const XfrmSelector& selector, XfrmPolicyDirection direction, uint32_t offset,
                    XfrmPolicyAction action, std::vector<XfrmTemplate> templates,
                    const std::string& role, std::optional<netlink::XfrmMark> mark) {
        add(make(selector, direction, offset, action, std::move(templates), mark), role);
    }

    // The policy at `offset` in the group's part of the band, not added.
    XfrmPolicy make(const XfrmSelector& selector, XfrmPolicyDirection direction, uint32_t offset,
                    XfrmPolicyAction action, std::vector<XfrmTemplate> templates,
                    std::optional<netlink::XfrmMark> mark = std::nullopt) const {
        XfrmPolicy p;
        p.id.selector = selector;
        p.id.direction = direction;
        p.id.mark = mark;
        p.priority = band::priority(settings_.group_slot, offset);
        p.action = action;
        p.templates = std::move(templates);
        return p;
    }

    void add(XfrmPolicy p, const std::string& role) {
        // The kernel keeps one policy per (selector, direction, mark): the first one asked for,
        // which has the higher precedence, wins.
        if (!ids_.insert(p.id).second) return;
        out_.policies.push_back(std::move(p));
        out_.policy_roles.push_back(role);
    }

    void state(netlink::XfrmState state, const std::string& role) {
        if (!state_ids_.insert(state.id).second) {
            out_.problems.push_back(role + ": another TEK already uses this SPI; not installed");
            return;
        }
        out_.states.push_back(std::move(state));
        out_.state_roles.push_back(role);
    }

    bool encrypts() const { return settings_.match_direction != MatchDirection::input; }
    bool decrypts() const { return settings_.match_direction != MatchDirection::output; }

private:
    const LocalSettings& settings_;
    DesiredObjects& out_;
    std::set<netlink::XfrmPolicyId> ids_;
    std::set<netlink::XfrmStateId> state_ids_;
};

const Anchors* anchors_for(const LocalSettings& settings, gdoi::IpFamily family) {
    const auto& anchors = family == gdoi::IpFamily::v4 ? settings.v4 : settings.v6;
    return anchors ? &*anchors : nullptr;
}

std::vector<gdoi::IpFamily> configured_families(const LocalSettings& settings) {
    std::vector<gdoi::IpFamily> families;
    if (settings.v4) families.push_back(gdoi::IpFamily::v4);
    if (settings.v6) families.push_back(gdoi::IpFamily::v6);
    return families;
}

// The selectors of an ACL entry as the kernel needs them: the entry and its mirror (RFC 6407
// policies come in pairs), unless the key server listed the mirror as an entry of its own.
std::vector<XfrmSelector> paired_selectors(const gdoi::TrafficSelector& selector,
                                           const std::vector<TekSlot>& slots) {
    auto result = kernel_selectors(selector);
    const auto mirror = selector.mirrored();
    const bool listed = std::any_of(slots.begin(), slots.end(),
                                    [&](const TekSlot& s) { return s.selector == mirror; });
    // Traffic to a group flows one way: its mirror (the group as source) means nothing.
    const bool multicast = selector.destination.range.first.is_multicast();
    if (mirror != selector && !listed && !multicast)
        for (auto& s : kernel_selectors(mirror))
            result.push_back(s);
    return result;
}

void add_bypasses(Builder& b, const GroupTimeline& timeline, const LocalSettings& settings) {
    // Packets the operator's firewall marked are never encrypted nor required to be.
    if (settings.bypass_mark && settings.bypass_mark->mask != 0) {
        for (auto family : configured_families(settings)) {
            for (auto dir :
                 {XfrmPolicyDirection::out, XfrmPolicyDirection::fwd, XfrmPolicyDirection::in})
                b.policy(any_selector(family), dir, 0, band::bypass_mark_offset,
                         XfrmPolicyAction::allow, {}, "bypass mark", settings.bypass_mark);
        }
    }
    // Our own LAN's traffic to the router and between our LANs arrives in clear text by
    // nature; the fwd/in policies below must not demand ESP from it.
    if (b.decrypts()) {
        for (const auto& prefix : settings.lan_prefixes) {
            XfrmSelector s = any_selector(prefix.address.family);
            s.source = prefix;
            b.policy(s, XfrmPolicyDirection::fwd, 0, band::local_bypass_offset,
                     XfrmPolicyAction::allow, {}, "local LAN " + prefix.to_string());
            b.policy(s, XfrmPolicyDirection::in, 0, band::local_bypass_offset,
                     XfrmPolicyAction::allow, {}, "local LAN " + prefix.to_string());
        }
    }
    // The router's own IPv6 toward its LANs: the unscoped `out` policies that catch what the
    // router itself sends (blocks_from_router, the per-destination traps) have no device to
    // tell a LAN from the WAN by, so traffic between our own IPv6 prefixes is let through first.
    if (b.encrypts()) {
        for (const auto& from : settings.lan_prefixes) {
            if (from.address.family != gdoi::IpFamily::v6) continue;
            for (const auto& to : settings.lan_prefixes) {
                if (to.address.family != gdoi::IpFamily::v6) continue;
                XfrmSelector s = any_selector(gdoi::IpFamily::v6);
                s.source = from;
                s.destination = to;
                b.policy(s, XfrmPolicyDirection::out, 0, band::local_bypass_offset,
                         XfrmPolicyAction::allow, {},
                         "local LAN " + from.to_string() + " -> " + to.to_string());
            }
        }
    }
    // Key server deny entries, then configured bypass classes: allow, before any TEK policy.
    std::vector<std::pair<gdoi::TrafficSelector, std::string>> classes;
    for (size_t i = 0; i < timeline.deny().size(); ++i)
        classes.push_back({timeline.deny()[i], "deny entry " + std::to_string(i + 1)});
    for (const auto& c : settings.bypass_classes)
        classes.push_back({c.selector, "bypass " + c.name});
    for (size_t i = 0; i < classes.size() && i < band::max_deny_entries; ++i) {
        auto selectors = kernel_selectors(classes[i].first);
        if (classes[i].first.mirrored() != classes[i].first)
            for (auto& s : kernel_selectors(classes[i].first.mirrored()))
                selectors.push_back(s);
        for (const auto& s : selectors) {
            if (b.encrypts())
                b.policy(s, XfrmPolicyDirection::out, 0, band::deny_offset + uint32_t(i),
                         XfrmPolicyAction::allow, {}, classes[i].second);
            if (b.decrypts()) {
                b.policy(s, XfrmPolicyDirection::fwd, 0, band::deny_offset + uint32_t(i),
                         XfrmPolicyAction::allow, {}, classes[i].second);
                b.policy(s, XfrmPolicyDirection::in, 0, band::deny_offset + uint32_t(i),
                         XfrmPolicyAction::allow, {}, classes[i].second);
            }
        }
    }
}

// Traffic toward the router's own addresses that `s` covers: the `in` counterpart of the
// entry's `fwd` policies. Blocks included, so a router without keys accepts no clear text a
// LAN host behind it would not get; its own LANs still reach it through the local LAN
// bypass, which comes first.
void policies_to_router(Builder& b, const XfrmSelector& s, const LocalSettings& settings,
                        uint32_t offset, XfrmPolicyAction action,
                        const std::vector<XfrmTemplate>& templates, const std::string& role) {
    for (const auto& address : settings.router_addresses) {
        if (!s.destination.contains(address)) continue;
        XfrmSelector to_router = s;
        to_router.destination = gdoi::IpPrefix::host(address);
        b.policy(to_router, XfrmPolicyDirection::in, 0, offset, action, templates,
                 role + " (to the router)");
    }
}

// The `out` blocks of the router's own IPv6 traffic: IPv6's output route lookup leaves the
// flow's output device unset, so a block scoped to the WAN device never sees what the router
// itself sends (datapath-notes.md, "IPv6 the router sends itself"); without these its own
// IPv6 toward protected prefixes would leave in clear text while the group has no key. One
// unscoped block per router address (its LAN addresses and its IPv6 WAN address) inside the
// selector's source: forwarded traffic never carries those sources. IPv4 sets the device, so
// the scoped block already covers it. Not toward our own LAN prefixes (the fail-closed
// selector "anything -> our LAN"): that traffic leaves on a LAN device and is no group matter
// (where a selector only overlaps them, add_bypasses' local LAN `out` policies come first).
void blocks_from_router(Builder& b, const XfrmSelector& s, const LocalSettings& settings,
                        uint32_t offset, const std::string& role) {
    if (s.source.address.family != gdoi::IpFamily::v6) return;
    for (const auto& prefix : settings.lan_prefixes)
        if (prefix.contains(s.destination)) return;
    // The same router sources the per-destination traps use once there are keys; without
    // IPv6 anchors there is no IPv6 WAN address to add to the LAN addresses.
    const auto sources =
        settings.v6 ? router_sources(settings, *settings.v6) : settings.router_addresses;
    for (const auto& address : sources) {
        if (address.family != gdoi::IpFamily::v6 || !s.source.contains(address)) continue;
        XfrmSelector from_router = s;
        from_router.source = gdoi::IpPrefix::host(address);
        b.policy(from_router, XfrmPolicyDirection::out, 0, offset, XfrmPolicyAction::block, {},
                 role + " (from the router)");
    }
}

void add_fail_closed(Builder& b, const GroupTimeline& timeline, const LocalSettings& settings,
                     const GroupStatus& status) {
    // While servers are unreachable, the operator's fail-open rules pass in clear text.
    if (status.servers_unreachable) {
        for (size_t i = 0; i < settings.fail_open.size() && i < max_fail_open_rules; ++i) {
            const auto& rule = settings.fail_open[i];
            const std::string role = "fail-open " + rule.name;
            XfrmSelector forward = any_selector(rule.source.address.family);
            forward.source = rule.source;
            forward.destination = rule.destination;
            XfrmSelector backward = forward;
            std::swap(backward.source, backward.destination);
            for (const auto& s : {forward, backward}) {
                if (b.encrypts())
                    b.policy(s, XfrmPolicyDirection::out, 0, band::fail_open_offset + uint32_t(i),
                             XfrmPolicyAction::allow, {}, role);
                if (b.decrypts()) {
                    b.policy(s, XfrmPolicyDirection::fwd, 0, band::fail_open_offset + uint32_t(i),
                             XfrmPolicyAction::allow, {}, role);
                    b.policy(s, XfrmPolicyDirection::in, 0, band::fail_open_offset + uint32_t(i),
                             XfrmPolicyAction::allow, {}, role);
                }
            }
        }
    }
    // Fail closed: nothing protected leaves or enters in clear text without keys. The LAN
    // prefixes when configured (Cisco's fail-close), else the last known ACL.
    std::vector<XfrmSelector> covered;
    for (const auto& prefix : settings.lan_prefixes) {
        XfrmSelector s = any_selector(prefix.address.family);
        s.source = prefix;
        covered.push_back(s);
        std::swap(s.source, s.destination);
        covered.push_back(s);
    }
    if (covered.empty())
        for (const auto& slot : timeline.slots())
            for (auto& s : paired_selectors(slot.selector, timeline.slots()))
                covered.push_back(s);
    for (const auto& s : covered) {
        if (b.encrypts()) {
            b.policy(s, XfrmPolicyDirection::out, settings.wan.ifindex, band::block_offset,
                     XfrmPolicyAction::block, {}, "fail-closed");
            blocks_from_router(b, s, settings, band::block_offset, "fail-closed");
        }
        if (b.decrypts()) {
            for (const auto& lan : settings.lans)
                b.policy(s, XfrmPolicyDirection::fwd, lan.ifindex, band::block_offset,
                         XfrmPolicyAction::block, {}, "fail-closed");
            policies_to_router(b, s, settings, band::block_offset, XfrmPolicyAction::block, {},
                               "fail-closed");
        }
    }
}

void add_slot_blocks(Builder& b, const TekSlot& slot, const std::vector<TekSlot>& slots,
                     const LocalSettings& settings) {
    const uint32_t offset = band::entry_offset(slot.acl_position, band::EntryRank::entry);
    const std::string role = "ACL entry " + std::to_string(slot.acl_position + 1) + " key refused";
    for (const auto& s : paired_selectors(slot.selector, slots)) {
        if (b.encrypts()) {
            b.policy(s, XfrmPolicyDirection::out, settings.wan.ifindex, offset,
                     XfrmPolicyAction::block, {}, role);
            blocks_from_router(b, s, settings, offset, role);
        }
        if (b.decrypts()) {
            for (const auto& lan : settings.lans)
                b.policy(s, XfrmPolicyDirection::fwd, lan.ifindex, offset, XfrmPolicyAction::block,
                         {}, role);
            policies_to_router(b, s, settings, offset, XfrmPolicyAction::block, {}, role);
        }
    }
}

} // namespace

DesiredObjects blocked_objects(const GroupTimeline& timeline, const LocalSettings& settings,
                               const GroupStatus& status) {
    DesiredObjects out;
    Builder b(settings, out);
    add_bypasses(b, timeline, settings);
    add_fail_closed(b, timeline, settings, status);
    return out;
}

DesiredObjects desired_objects(const GroupTimeline& timeline, const LocalSettings& settings,
                               const GroupStatus& status, TimePoint now) {
    DesiredObjects out;
    Builder b(settings, out);
    add_bypasses(b, timeline, settings);

    const auto schedule = timeline.schedule();
    const auto& slots = timeline.slots();
    for (size_t slot_index = 0; slot_index < slots.size(); ++slot_index) {
        const TekSlot& slot = slots[slot_index];
        const uint32_t reqid = band::reqid(settings.group_slot, slot.reqid_slot);
        std::vector<const gdoi::TekPolicy*> inbound;
        const gdoi::TekPolicy* outbound = nullptr;
        std::vector<const gdoi::TekPolicy*> retired; // sent with before, still received
        bool valid = false;
        bool refused = false; // a live TEK we could not install
        for (const auto& s : schedule) {
            if (s.slot != slot_index) continue;
            const gdoi::TekPolicy& tek = timeline.find(s.spi)->tek;
            const bool live = s.inbound_at(now) || s.outbound_at(now);
            if (!live) continue;
            if (const auto problem = tek_problem(tek); !problem.empty()) {
                out.problems.push_back(problem);
                refused = true;
                continue;
            }
            if (anchors_for(settings, tek_family(tek)) == nullptr) {
                out.problems.push_back("TEK SPI " + hex32(tek.spi) + ": no " +
                                       (tek_family(tek) == gdoi::IpFamily::v4 ? "IPv4" : "IPv6") +
                                       " anchor addresses configured");
                continue;
            }
            valid = true;
            if (s.inbound_at(now) && can_receive(tek) && b.decrypts()) inbound.push_back(&tek);
            if (s.outbound_at(now) && can_send(tek) && b.encrypts())
                outbound = &tek;
            else if (s.retired_sender_at(now) && can_send(tek) && b.encrypts())
                retired.push_back(&tek);
        }
        if (!valid) {
            // The key server protects this traffic but its key is unusable: block it rather
            // than let it pass in clear text next to the group's other, working entries.
            if (refused) add_slot_blocks(b, slot, slots, settings);
            continue;
        }
        out.has_valid_sa = true;
        const auto family = slot.selector.source.range.first.family;
        const Anchors& anchors = *anchors_for(settings, family);
        const uint32_t offset = band::entry_offset(slot.acl_position, band::EntryRank::entry);
        const std::string entry = "ACL entry " + std::to_string(slot.acl_position + 1);
        const auto selectors = paired_selectors(slot.selector, slots);

        // Inbound first: one anchor state per TEK, and the datapath entries that steer group
        // ESP to it.
        for (const auto* tek : inbound) {
            b.state(inbound_state(*tek, anchors, reqid),
                    entry + " TEK " + hex32(tek->spi) + " inbound anchor");
            out.datapath.inbound_spis.insert(tek->spi);
            for (const auto& s : selectors) {
                if (settings.lan_prefixes.empty())
                    out.datapath.protected_destinations.insert(s.destination);
                // Group ESP arrives with the group as outer destination, which no LAN prefix
                // holds: the WAN ingress steers it to the anchor too.
                else if (auto forwarded = forwarded_multicast_selector(s))
                    out.datapath.protected_destinations.insert(forwarded->destination);
            }
        }
        if (!inbound.empty())
            for (const auto& prefix : settings.lan_prefixes)
                if (prefix.address.family == family)
                    out.datapath.protected_destinations.insert(prefix);
        if (outbound) {
            // Destination-only mode has no LAN ingress program to restore what the anchor
            // state sends: every flow gets its own state instead (policy/per_destination.hpp).
            if (!settings.destination_only) {
                b.state(outbound_state(*outbound, anchors, reqid, settings),
                        entry + " TEK " + hex32(outbound->spi) + " outbound");
                if (settings.pre_fragmentation && family == gdoi::IpFamily::v4)
                    b.state(pre_fragmentation_state(
                                outbound_state(*outbound, anchors, reqid, settings),
                                *settings.pre_fragmentation),
                            entry + " TEK " + hex32(outbound->spi) +
                                " outbound, pre-fragmentation interface");
                // The TEK sent with before stays until its inbound state goes (the DTD): the
                // kernel looks up a packet's policy, then its state, holding neither; a packet
                // that met the `out` policy just before it switched still finds the old state
                // instead of being dropped (XfrmOutNoStates, seen under a loaded VM even with
                // 100 ms between the switch and the deletion).
                for (const auto* old_tek : retired) {
                    b.state(outbound_state(*old_tek, anchors, reqid, settings),
                            entry + " TEK " + hex32(old_tek->spi) +
                                " outbound, retired until its DTD");
                    if (settings.pre_fragmentation && family == gdoi::IpFamily::v4)
                        b.state(pre_fragmentation_state(
                                    outbound_state(*old_tek, anchors, reqid, settings),
                                    *settings.pre_fragmentation),
                                entry + " TEK " + hex32(old_tek->spi) +
                                    " outbound, retired until its DTD, pre-fragmentation interface");
                }
            }
            // The LAN ingress program's flows (in destination-only mode, only the remote
            // prefixes of the nftables TCP MSS clamp are taken from them).
            for (const auto& s : selectors)
                out.datapath.outbound_flows.insert({s.source, s.destination});
            auto flows = per_destination_objects(slot, selectors, *outbound, retired, anchors,
                                                 settings, status.acquired_flows);
            for (size_t i = 0; i < flows.states.size(); ++i)
                b.state(std::move(flows.states[i]), flows.state_roles[i]);
            for (size_t i = 0; i < flows.policies.size(); ++i)
                b.add(std::move(flows.policies[i]), flows.policy_roles[i]);
        }

        const uint8_t ip_protocol = inbound.empty() ? (outbound ? tek_ip_protocol(*outbound) : 50)
                                                    : tek_ip_protocol(*inbound.front());
        XfrmTemplate receive;
        receive.source = unspecified(family);
        receive.destination = unspecified(family);
        receive.ip_protocol = ip_protocol;
        receive.reqid = reqid;

        for (const auto& s : selectors) {
            if (const auto forwarded = forwarded_multicast_selector(s))
                out.notes.push_back(entry + " " + s.source.to_string() + " -> " +
                                    s.destination.to_string() + ": " +
                                    forwarded_multicast_note(*forwarded));
            if (b.encrypts()) {
                // Scoped to the WAN device, so decrypted traffic leaving on a LAN is not
                // encrypted again (datapath-notes.md pitfall 3). A slot we may not send on
                // blocks rather than leaking protected traffic in clear text.
                if (outbound && settings.destination_only) {
                    // The per-destination policies and the trap above stand for it.
                } else if (outbound) {
                    XfrmTemplate send;
                    send.source = anchors.wan_address;
                    send.destination = anchors.remote_anchor;
                    // The SPI pins the state: old and new TEK share the reqid during a rekey,
                    // and updating this policy is the moment outbound traffic switches.
                    send.spi = outbound->spi;
                    send.ip_protocol = tek_ip_protocol(*outbound);
                    send.reqid = reqid;
                    b.policy(s, XfrmPolicyDirection::out, settings.wan.ifindex, offset,
                             XfrmPolicyAction::allow, {send}, entry + " encrypt");
                    if (pre_fragments(s, settings)) {
                        XfrmSelector on_wan = s;
                        on_wan.ifindex = settings.wan.ifindex;
                        const auto encrypt = b.make(on_wan, XfrmPolicyDirection::out, offset,
                                                    XfrmPolicyAction::allow, {send});
                        // Ahead of the entry, in the rank the router's own flows use: their
                        // sources are the router's addresses, a marked packet is forwarded.
                        const uint32_t pass_priority = band::priority(
                            settings.group_slot,
                            band::entry_offset(slot.acl_position, band::EntryRank::router_trap));
                        auto extra = pre_fragmentation_policies(encrypt, pass_priority,
                                                                *settings.pre_fragmentation);
                        b.add(std::move(extra[0]), entry + " oversize, DF clear: to the pre-fragmentation interface");
                        b.add(std::move(extra[1]), entry + " encrypt (pre-fragmentation interface)");
                        out.pre_fragmentation.through_interface.push_back(s);
                    }
                } else {
                    b.policy(s, XfrmPolicyDirection::out, settings.wan.ifindex, offset,
                             XfrmPolicyAction::block, {}, entry + " no key to send with: blocked");
                    blocks_from_router(b, s, settings, offset, entry + " no key to send with: blocked");
                }
            }
            if (!b.decrypts()) continue;
            const auto action = inbound.empty() ? XfrmPolicyAction::block : XfrmPolicyAction::allow;
            std::vector<XfrmTemplate> templates;
            if (!inbound.empty()) templates.push_back(receive);
            const std::string role =
                entry + (inbound.empty() ? " no key to receive with: blocked" : " decrypt");
            // One fwd policy per LAN device: scoping keeps our own outgoing clear text from
            // being checked against it (datapath-notes.md pitfall 2).
            for (const auto& lan : settings.lans)
                b.policy(s, XfrmPolicyDirection::fwd, lan.ifindex, offset, action, templates, role);
            policies_to_router(b, s, settings, offset, action, templates, role);
        }
    }
    if (!out.has_valid_sa) add_fail_closed(b, timeline, settings, status);
    if (!out.pre_fragmentation.through_interface.empty())
        out.pre_fragmentation.exceptions =
            pre_fragmentation_exceptions(timeline.deny(), settings.bypass_classes);
    return out;
}

} // namespace policy
