// Crafted Ethernet frames for BPF_PROG_TEST_RUN, and an independent reading of the results
// (header fields, RFC 1071 checksum) that does not share code with the programs under test.
#pragma once

#include "gdoi/ip_address.hpp"

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

namespace bpftest {

using Bytes = std::vector<uint8_t>;

inline constexpr size_t kEthernetLength = 14;
inline constexpr uint8_t kProtoEsp = 50;
inline constexpr uint8_t kProtoUdp = 17;

gdoi::IpAddress ip(const char* text);
gdoi::IpPrefix prefix(const char* text);

// ESP header (SPI, sequence number) followed by `body_length` opaque octets.
Bytes esp_payload(uint32_t spi, uint32_t sequence, size_t body_length);
Bytes filler(size_t length, uint8_t seed);

struct Ipv4Options {
    uint8_t protocol = kProtoEsp;
    uint8_t ttl = 64;
    uint16_t flags_fragment = 0; // DF 0x4000, MF 0x2000, offset in 8-octet units
    uint8_t tos = 0;
    uint16_t id = 0x1234;
    std::optional<uint16_t> vlan = std::nullopt; // one 802.1Q tag in the frame
};
Bytes ipv4_frame(const gdoi::IpAddress& source, const gdoi::IpAddress& destination,
                 std::span<const uint8_t> payload, const Ipv4Options& options = {});

struct Ipv6Fragment {
    uint16_t offset_units = 0; // in 8-octet units
    bool more = false;
    uint32_t id = 0xabcd;
};
struct Ipv6Options {
    uint8_t next_header = kProtoEsp;
    uint8_t hop_limit = 64;
    std::optional<Ipv6Fragment> fragment =
        std::nullopt; // inserts a fragment header before the payload
};
Bytes ipv6_frame(const gdoi::IpAddress& source, const gdoi::IpAddress& destination,
                 std::span<const uint8_t> payload, const Ipv6Options& options = {});

// RFC 1071 one's complement sum over a header; a valid IPv4 header sums to 0.
uint16_t internet_checksum(std::span<const uint8_t> bytes);

// Reading a frame built above (untagged).
struct Ipv4View {
    gdoi::IpAddress source, destination;
    uint8_t ttl = 0, protocol = 0;
    uint16_t flags_fragment = 0;
    bool checksum_ok = false;
};
Ipv4View read_ipv4(const Bytes& frame);
struct Ipv6View {
    gdoi::IpAddress source, destination;
    uint8_t hop_limit = 0;
};
Ipv6View read_ipv6(const Bytes& frame);

} // namespace bpftest
