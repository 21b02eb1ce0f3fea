// What every group on gdoid's one header-preservation datapath must agree on, written once:
// `gdoid --check-config` says it at the key, DatapathService refuses it at run time.
#pragma once

#include "daemon/config.hpp"
#include "gdoi/ip_address.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace gdoid::daemon {

// The part of a group's settings the shared datapath holds once.
struct SharedDatapathSettings {
    std::string wan_interface;
    std::optional<std::string> routing_instance; // the VRF the WAN (and the inbound anchor) is in
    gdoi::IpAddress local_anchor;                // local-address: source of the outbound states
    gdoi::IpAddress inbound_anchor;
    gdoi::IpAddress remote_anchor;
    uint32_t bypass_mask = 0; // 0 = no bypass-mark
    bool set_df = false;      // df-bit "set" (clear and copy are per state)
    uint16_t tcp_mss = 0;     // 0 = no clamp
};

SharedDatapathSettings shared_datapath_settings(const GroupConfig& group);

// One way two groups disagree: the configuration key, what differs (both values) and why the
// datapath cannot hold both.
struct DatapathDisagreement {
    std::string key;
    std::string what;
    std::string why;
};

// Every way `group` disagrees with `other` (already on the datapath), in the order of the
// keys above; empty when both can share it. Anchors are compared only within one address
// family: the programs hold one set per family.
std::vector<DatapathDisagreement> datapath_disagreements(const SharedDatapathSettings& group,
                                                         const SharedDatapathSettings& other);

} // namespace gdoid::daemon
