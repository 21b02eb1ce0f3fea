// One TEK -> its two kernel states: the inbound anchor state (destination = inbound anchor,
// any source) and the outbound state (our WAN address -> dummy remote anchor, flag mark set).
// Group-SA rules: replay window 0, no ESN, sequence numbers may wrap, no volume/time limits.
#pragma once

#include "gdoi/group_policy.hpp"
#include "netlink/xfrm_objects.hpp"
#include "policy/local_settings.hpp"

#include <cstdint>
#include <string>

namespace policy {

// Why this TEK cannot be installed, or empty when it can (algorithm names, key lengths, mode).
std::string tek_problem(const gdoi::TekPolicy& tek);

gdoi::IpFamily tek_family(const gdoi::TekPolicy& tek);
// "0x10000001": how SPIs (and reqids) read in roles, problems and dumps.
std::string hex32(uint32_t value);
uint8_t tek_ip_protocol(const gdoi::TekPolicy& tek); // 50 ESP, 51 AH

// Both assume tek_problem(tek) is empty.
netlink::XfrmState inbound_state(const gdoi::TekPolicy& tek, const Anchors& anchors,
                                 uint32_t reqid);
netlink::XfrmState outbound_state(const gdoi::TekPolicy& tek, const Anchors& anchors,
                                  uint32_t reqid, const LocalSettings& settings);

// One per-destination flow's outbound state: `source` (a router address, or our WAN address
// in destination-only mode) -> `destination` (the remote host), under the TEK's SPI and keys.
netlink::XfrmState per_destination_state(const gdoi::TekPolicy& tek, const gdoi::IpAddress& source,
                                     const gdoi::IpAddress& destination, uint32_t reqid,
                                     const LocalSettings& settings);

// The selector every family-wide object uses: any address of the family.
netlink::XfrmSelector any_selector(gdoi::IpFamily family);
gdoi::IpPrefix any_prefix(gdoi::IpFamily family);
gdoi::IpAddress unspecified(gdoi::IpFamily family);

} // namespace policy
