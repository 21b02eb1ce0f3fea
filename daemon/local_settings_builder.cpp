#include "daemon/local_settings_builder.hpp"

#include "policy/object_band.hpp"

#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>

#include <algorithm>
#include <cstring>
#include <memory>

namespace gdoid::daemon {

namespace {

std::optional<gdoi::IpAddress> address_of(const sockaddr* address) {
    if (!address) return std::nullopt;
    if (address->sa_family == AF_INET) {
        const auto* in = reinterpret_cast<const sockaddr_in*>(address);
        gdoi::IpAddress out;
        std::memcpy(out.bytes.data(), &in->sin_addr.s_addr, 4); // already network order
        return out;
    }
    if (address->sa_family == AF_INET6) {
        const auto* in6 = reinterpret_cast<const sockaddr_in6*>(address);
        if (IN6_IS_ADDR_LINKLOCAL(&in6->sin6_addr)) return std::nullopt;
        gdoi::IpAddress out;
        out.family = gdoi::IpFamily::v6;
        std::memcpy(out.bytes.data(), in6->sin6_addr.s6_addr, 16);
        return out;
    }
    return std::nullopt;
}

// The router's own addresses on the named devices (its LAN addresses).
std::vector<gdoi::IpAddress> addresses_on(const std::vector<std::string>& devices) {
    std::vector<gdoi::IpAddress> out;
    ifaddrs* list = nullptr;
    if (getifaddrs(&list) != 0) return out;
    std::unique_ptr<ifaddrs, decltype(&freeifaddrs)> guard(list, freeifaddrs);
    for (const ifaddrs* entry = list; entry; entry = entry->ifa_next) {
        if (!entry->ifa_name || std::find(devices.begin(), devices.end(), entry->ifa_name) == devices.end())
            continue;
        if (auto address = address_of(entry->ifa_addr);
            address && std::find(out.begin(), out.end(), *address) == out.end())
            out.push_back(*address);
    }
    return out;
}

policy::MatchDirection to_policy(MatchDirection direction) {
    switch (direction) {
    case MatchDirection::input: return policy::MatchDirection::input;
    case MatchDirection::output: return policy::MatchDirection::output;
    case MatchDirection::both: return policy::MatchDirection::both;
    }
    return policy::MatchDirection::both;
}

policy::DfBit to_policy(DfBit df_bit) {
    switch (df_bit) {
    case DfBit::clear: return policy::DfBit::clear;
    case DfBit::set: return policy::DfBit::set;
    case DfBit::copy: return policy::DfBit::copy;
    }
    return policy::DfBit::clear;
}

} // namespace

LocalSettingsResult build_local_settings(const GroupConfig& config, uint32_t group_slot) {
    policy::LocalSettings settings;
    settings.group_name = config.name;
    settings.group_id = config.id;
    settings.group_slot = group_slot;

    const unsigned wan_index = if_nametoindex(config.wan_interface.c_str());
    if (wan_index == 0)
        return {std::nullopt, "wan-interface " + config.wan_interface + " does not exist"};
    settings.wan = {config.wan_interface, int(wan_index)};
    for (const auto& lan : config.lan_interfaces) {
        const unsigned index = if_nametoindex(lan.c_str());
        if (index == 0) return {std::nullopt, "lan-interface " + lan + " does not exist"};
        settings.lans.push_back({lan, int(index)});
    }

    const policy::Anchors anchors{config.local_address, config.anchor.remote, config.anchor.inbound};
    if (config.local_address.family == gdoi::IpFamily::v4)
        settings.v4 = anchors;
    else
        settings.v6 = anchors;
    settings.lan_prefixes = config.lan_prefixes;
    settings.router_addresses = addresses_on(config.lan_interfaces);
    settings.match_direction = to_policy(config.match_direction);
    settings.df_bit = to_policy(config.df_bit);
    settings.wan_crypto_offload = config.crypto_offload == CryptoOffload::automatic;
    if (config.bypass_mark) settings.bypass_mark = netlink::XfrmMark{config.bypass_mark->value, config.bypass_mark->mask};
    for (const auto& rule : config.fail_open) settings.fail_open.push_back({rule.name, rule.source, rule.destination});
    for (const auto& c : config.bypass)
        settings.bypass_classes.push_back(
            {c.name,
             {c.protocol, gdoi::SelectorEndpoint::from_prefix(c.source, c.source_port),
              gdoi::SelectorEndpoint::from_prefix(c.destination, c.destination_port)}});
    settings.activate_before_expiry = config.rekey.activate_before_expiry;
    return {settings, {}};
}

uint32_t pick_group_slot(uint32_t group_id, const std::set<uint32_t>& taken) {
    constexpr uint32_t slots = policy::band::max_group_slot + 1;
    uint32_t slot = group_id % slots;
    for (uint32_t tried = 0; tried < slots && taken.contains(slot); ++tried) slot = (slot + 1) % slots;
    return slot;
}

} // namespace gdoid::daemon
