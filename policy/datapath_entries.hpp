// What the BPF datapath programs must know about a group (bpf/ owns the maps): the SPIs whose
// ESP packets the WAN ingress rewrites to the inbound anchor, the protected destinations that
// rewrite applies to, and the (source, destination) prefix pairs LAN ingress records slots for.
#pragma once

#include "gdoi/ip_address.hpp"

#include <compare>
#include <cstdint>
#include <set>
#include <string>
#include <utility>

namespace policy {

struct DatapathEntries {
    std::set<uint32_t> inbound_spis;
    std::set<gdoi::IpPrefix> protected_destinations;
    std::set<std::pair<gdoi::IpPrefix, gdoi::IpPrefix>> outbound_flows; // (source, destination)
    bool operator==(const DatapathEntries&) const = default;
};

// One entry of one of the three sets, as a plan operation carries it.
struct MapEntry {
    enum class Kind : uint8_t { inbound_spi, protected_destination, outbound_flow };
    Kind kind = Kind::inbound_spi;
    uint32_t spi = 0;           // inbound_spi
    gdoi::IpPrefix prefix;      // protected_destination; source of an outbound_flow
    gdoi::IpPrefix destination; // outbound_flow
    auto operator<=>(const MapEntry&) const = default;

    std::string to_string() const;
};

} // namespace policy
