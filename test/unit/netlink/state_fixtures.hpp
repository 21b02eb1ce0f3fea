// Test support shared by the kernel state cases: addresses, keys with a recognisable pattern and
// the outbound state policy/ makes for a group.
#pragma once

#include "gdoi/secret_bytes.hpp"
#include "netlink/ownership.hpp"
#include "netlink/xfrm_objects.hpp"

#include <cstdint>
#include <cstdio>
#include <string>

namespace netlink_test::fixtures {

using netlink::IpAddress;
using netlink::IpPrefix;
using netlink::XfrmMark;
using netlink::XfrmState;
using netlink::XfrmStateDirection;

inline IpPrefix prefix(const char* text) {
    return *IpPrefix::parse(text);
}
inline IpAddress address(const char* text) {
    return *IpAddress::parse(text);
}

inline gdoi::SecretBytes key_of(size_t bytes, uint8_t seed) {
    gdoi::SecretBytes key(bytes);
    auto k = key.reveal_mutable();
    for (size_t i = 0; i < bytes; ++i)
        k[i] = uint8_t(seed + 7 * i);
    return key;
}

inline std::string hex(const gdoi::SecretBytes& key) {
    std::string out = "0x";
    char b[3];
    for (uint8_t byte : key.reveal()) {
        std::snprintf(b, sizeof b, "%02x", byte);
        out += b;
    }
    return out;
}

// A group outbound state as policy/ will make it: replay 0, no ESN, sequence may wrap,
// set-mark flag for the egress program, DF cleared.
inline XfrmState outbound_state(uint32_t spi) {
    XfrmState s;
    s.id.destination = address("100.127.0.1");
    s.id.spi = spi;
    s.source = address("192.0.2.10");
    s.reqid = netlink::owned_reqid(spi & 0xffff);
    s.selector.source = prefix("10.1.0.0/16");
    s.selector.destination = prefix("10.2.0.0/16");
    s.replay_window = 0;
    s.no_pmtu_discovery = true;
    s.output_sequence_may_wrap = true;
    s.set_mark = XfrmMark{0x00800000, 0x00800000};
    s.direction = XfrmStateDirection::out;
    return s;
}

} // namespace netlink_test::fixtures
