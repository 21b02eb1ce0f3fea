#include "policy/pre_fragmentation.hpp"

#include "policy/desired_objects.hpp"

namespace policy {

bool pre_fragments(const netlink::XfrmSelector& selector, const LocalSettings& settings) {
    return settings.pre_fragmentation && !settings.destination_only &&
           selector.source.address.family == gdoi::IpFamily::v4 &&
           !selector.destination.address.is_multicast() && selector.source_port == 0 &&
           selector.destination_port == 0;
}

std::vector<netlink::XfrmPolicy> pre_fragmentation_policies(const netlink::XfrmPolicy& entry,
                                                            uint32_t pass_priority,
                                                            const PreFragmentation& settings) {
    // Scoped to the interface, not to the mark: the forwarding lookup's flow carries the
    // route's output device, so only a packet the routing rules really sent into the interface
    // passes. A marked packet routed anywhere else (a rule someone deleted, the interface gone)
    // meets the entry's own policy on the WAN device and is encrypted whole, never sent in
    // clear text.
    netlink::XfrmPolicy pass;
    pass.id = entry.id;
    pass.id.selector.ifindex = settings.ifindex;
    pass.priority = pass_priority;
    pass.action = netlink::XfrmPolicyAction::allow;

    netlink::XfrmPolicy through_interface = entry;
    through_interface.id.if_id = settings.if_id;
    for (auto& t : through_interface.templates)
        t.destination = settings.remote_anchor;
    return {pass, through_interface};
}

netlink::XfrmState pre_fragmentation_state(const netlink::XfrmState& outbound,
                                           const PreFragmentation& settings) {
    netlink::XfrmState state = outbound;
    state.id.destination = settings.remote_anchor;
    state.if_id = settings.if_id;
    // Crypto offload binds a state to the WAN device's driver; the interface's states stay in
    // software (they carry only the oversize packets).
    state.offload_device.reset();
    return state;
}

std::vector<netlink::XfrmSelector>
pre_fragmentation_exceptions(const std::vector<gdoi::TrafficSelector>& deny,
                             const std::vector<BypassClass>& bypass_classes) {
    std::vector<gdoi::TrafficSelector> selectors = deny;
    for (const auto& c : bypass_classes)
        selectors.push_back(c.selector);
    std::vector<netlink::XfrmSelector> result;
    for (const auto& selector : selectors) {
        if (selector.source.range.first.family != gdoi::IpFamily::v4) continue;
        for (const auto& s : kernel_selectors(selector))
            result.push_back(s);
        if (selector.mirrored() != selector)
            for (const auto& s : kernel_selectors(selector.mirrored()))
                result.push_back(s);
    }
    return result;
}

} // namespace policy
