#include "policy/forwarded_multicast.hpp"

namespace policy {

gdoi::IpPrefix multicast_range(gdoi::IpFamily family) {
    return *gdoi::IpPrefix::parse(family == gdoi::IpFamily::v4 ? "224.0.0.0/4" : "ff00::/8");
}

std::optional<netlink::XfrmSelector>
forwarded_multicast_selector(const netlink::XfrmSelector& selector) {
    const auto family = selector.destination.address.family;
    const auto range = multicast_range(family);
    std::optional<gdoi::IpPrefix> groups;
    if (range.contains(selector.destination))
        groups = selector.destination;
    else if (selector.destination.contains(range))
        groups = range;
    if (!groups) return std::nullopt;
    netlink::XfrmSelector result;
    result.source = {gdoi::IpAddress{}, 0};
    result.source.address.family = family;
    result.destination = *groups;
    result.ifindex = selector.ifindex;
    return result;
}

std::string forwarded_multicast_note(const netlink::XfrmSelector& forwarded) {
    return "multicast forwarded to " + forwarded.destination.to_string() +
           " is encrypted whatever its source and protocol (Linux looks it up with the router's "
           "own address); multicast the router sends there from an address outside the entry's "
           "sources (its WAN address) cannot keep its addresses and is dropped at the WAN "
           "(out_unflagged_dropped); clear text toward it arriving on the WAN is dropped "
           "(in_clear_multicast_dropped)";
}

} // namespace policy
