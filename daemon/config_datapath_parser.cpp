#include "daemon/config_datapath_parser.hpp"

#include <algorithm>

namespace gdoid::daemon {

namespace {

bool in_loopback_range(const gdoi::IpAddress& address) {
    static const auto loopback4 = *gdoi::IpPrefix::parse("127.0.0.0/8");
    static const auto loopback6 = *gdoi::IpPrefix::parse("::1/128");
    return loopback4.contains(address) || loopback6.contains(address);
}

std::optional<gdoi::IpAddress> get_anchor_address(ConfigReader& reader, const toml::table& table,
                                                  std::string_view key, gdoi::IpFamily family) {
    const auto text = reader.get_string(table, key, false, "`anchor`");
    if (!text) return std::nullopt;
    const auto* node = table.get(key);
    const auto address = gdoi::IpAddress::parse(*text);
    const std::string what = "`anchor`: `" + std::string(key) + "` \"" + *text + "\"";
    if (!address || address->is_unspecified() || address->is_multicast()) {
        reader.error(*node, what + " is not a unicast IPv4 or IPv6 address");
        return std::nullopt;
    }
    // datapath-notes.md pitfall 6: the kernel treats 127/8 destinations arriving from outside
    // as martians and drops them before the XFRM lookup.
    if (in_loopback_range(*address)) {
        reader.error(*node, what + " is a loopback address; the kernel drops packets forwarded to "
                                   "it (use an ordinary address that is not on the wire, e.g. in "
                                   "100.64.0.0/10)");
        return std::nullopt;
    }
    if (address->family != family) {
        reader.error(*node, what + " is not of the same address family as `local-address`");
        return std::nullopt;
    }
    return address;
}

} // namespace

void parse_lan_prefixes(ConfigReader& reader, const toml::table& table, GroupConfig& group) {
    const auto* array = reader.get_array(table, "lan-prefixes", false, "");
    if (!array) return;
    for (const auto& element : *array) {
        const auto* text = element.as_string();
        const auto prefix = text ? gdoi::IpPrefix::parse(text->get()) : std::nullopt;
        if (!prefix) {
            reader.error(element, "`lan-prefixes`: each entry must be an address prefix like "
                                  "\"10.1.0.0/16\"");
            continue;
        }
        if (!prefix->is_canonical()) {
            reader.error(element, "`lan-prefixes`: \"" + text->get() + "\" has host bits set; did you mean \"" +
                                      gdoi::IpPrefix{prefix->first(), prefix->length}.to_string() + "\"?");
            continue;
        }
        if (std::find(group.lan_prefixes.begin(), group.lan_prefixes.end(), *prefix) != group.lan_prefixes.end()) {
            reader.error(element, "`lan-prefixes`: " + prefix->to_string() + " is listed twice");
            continue;
        }
        group.lan_prefixes.push_back(*prefix);
    }
}

void parse_anchor(ConfigReader& reader, const toml::table& table, GroupConfig& group,
                  std::string_view context) {
    const auto family = group.local_address.family;
    group.anchor = default_anchor_addresses(family);
    const auto* anchor = reader.get_table(table, "anchor", false, context);
    if (!anchor) return;
    reader.check_keys(*anchor, {"inbound", "remote"}, "`anchor`");
    if (auto inbound = get_anchor_address(reader, *anchor, "inbound", family)) group.anchor.inbound = *inbound;
    if (auto remote = get_anchor_address(reader, *anchor, "remote", family)) group.anchor.remote = *remote;
    if (group.anchor.inbound == group.anchor.remote)
        reader.error(*anchor, "`anchor`: `inbound` and `remote` must be different addresses");
    for (const auto& address : {group.anchor.inbound, group.anchor.remote})
        if (address == group.local_address)
            reader.error(*anchor, "`anchor`: " + address.to_string() +
                                      " is the `local-address`; anchors must be addresses of their own");
    for (const auto& prefix : group.lan_prefixes)
        if (prefix.contains(group.anchor.remote))
            reader.error(*anchor, "`anchor`: `remote` " + group.anchor.remote.to_string() +
                                      " is inside `lan-prefixes` " + prefix.to_string() +
                                      "; it must be routed toward the WAN");
}

} // namespace gdoid::daemon
