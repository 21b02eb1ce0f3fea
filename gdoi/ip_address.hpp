// IPv4/IPv6 addresses, prefixes and ranges as plain values shared by the protocol core,
// the policy translation and the kernel facade.
#pragma once

#include <array>
#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace gdoi {

enum class IpFamily : uint8_t { v4 = 4, v6 = 6 };

struct IpAddress {
    IpFamily family = IpFamily::v4;
    // Network byte order; IPv4 uses the first 4 octets, the rest stay zero.
    std::array<uint8_t, 16> bytes{};

    static IpAddress v4(uint8_t a, uint8_t b, uint8_t c, uint8_t d) {
        IpAddress address;
        address.bytes = {a, b, c, d};
        return address;
    }
    static std::optional<IpAddress> parse(std::string_view text);
    std::string to_string() const;
    size_t width_bits() const { return family == IpFamily::v4 ? 32 : 128; }
    size_t width_bytes() const { return family == IpFamily::v4 ? 4 : 16; }
    bool is_unspecified() const;
    bool is_multicast() const;

    auto operator<=>(const IpAddress&) const = default;
};

struct IpPrefix {
    IpAddress address;
    uint8_t length = 0;

    static std::optional<IpPrefix> parse(std::string_view text); // "10.1.0.0/16", "2001:db8::/32", or a bare address
    static IpPrefix host(const IpAddress& address) { return {address, uint8_t(address.width_bits())}; } // /32 or /128
    std::string to_string() const;
    bool contains(const IpAddress& address) const;
    bool contains(const IpPrefix& inner) const;
    IpAddress first() const;
    IpAddress last() const;
    // True when no host bits are set below the prefix length.
    bool is_canonical() const;

    auto operator<=>(const IpPrefix&) const = default;
};

// An inclusive address range, as GDOI's IPV4_ADDR_RANGE / IPV6_ADDR_RANGE IDs carry it.
struct IpRange {
    IpAddress first;
    IpAddress last;

    // The smallest set of prefixes that covers exactly this range (kernel selectors are prefixes).
    std::vector<IpPrefix> to_prefixes() const;
    auto operator<=>(const IpRange&) const = default;
};

} // namespace gdoi
