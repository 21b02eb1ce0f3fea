#include "gdoi/ip_address.hpp"

#include <arpa/inet.h>

#include <algorithm>

namespace gdoi {

std::optional<IpAddress> IpAddress::parse(std::string_view text) {
    std::string copy(text);
    IpAddress address;
    if (inet_pton(AF_INET, copy.c_str(), address.bytes.data()) == 1) {
        address.family = IpFamily::v4;
        return address;
    }
    if (inet_pton(AF_INET6, copy.c_str(), address.bytes.data()) == 1) {
        address.family = IpFamily::v6;
        return address;
    }
    return std::nullopt;
}

std::string IpAddress::to_string() const {
    char buffer[INET6_ADDRSTRLEN] = {};
    inet_ntop(family == IpFamily::v4 ? AF_INET : AF_INET6, bytes.data(), buffer, sizeof buffer);
    return buffer;
}

bool IpAddress::is_unspecified() const {
    return std::all_of(bytes.begin(), bytes.begin() + width_bytes(), [](uint8_t b) { return b == 0; });
}

bool IpAddress::is_multicast() const {
    return family == IpFamily::v4 ? (bytes[0] & 0xf0) == 0xe0 : bytes[0] == 0xff;
}

namespace {

bool bit_at(const IpAddress& address, size_t bit) {
    return (address.bytes[bit / 8] >> (7 - bit % 8)) & 1;
}

void set_bit(IpAddress& address, size_t bit, bool value) {
    const uint8_t mask = uint8_t(1u << (7 - bit % 8));
    if (value)
        address.bytes[bit / 8] |= mask;
    else
        address.bytes[bit / 8] &= uint8_t(~mask);
}

IpAddress with_host_bits(IpAddress address, size_t prefix_length, bool value) {
    for (size_t bit = prefix_length; bit < address.width_bits(); ++bit) set_bit(address, bit, value);
    return address;
}

// Adds one to an address; returns false on overflow past the all-ones address.
bool increment(IpAddress& address) {
    for (size_t i = address.width_bytes(); i-- > 0;) {
        if (++address.bytes[i] != 0) return true;
    }
    return false;
}

} // namespace

std::optional<IpPrefix> IpPrefix::parse(std::string_view text) {
    const auto slash = text.find('/');
    auto address = IpAddress::parse(text.substr(0, slash));
    if (!address) return std::nullopt;
    IpPrefix prefix = IpPrefix::host(*address);
    if (slash == std::string_view::npos) return prefix;
    const auto length_text = text.substr(slash + 1);
    if (length_text.empty() || length_text.size() > 3) return std::nullopt;
    unsigned length = 0;
    for (char c : length_text) {
        if (c < '0' || c > '9') return std::nullopt;
        length = length * 10 + unsigned(c - '0');
    }
    if (length > address->width_bits()) return std::nullopt;
    prefix.length = uint8_t(length);
    return prefix;
}

std::string IpPrefix::to_string() const {
    return address.to_string() + "/" + std::to_string(length);
}

bool IpPrefix::contains(const IpAddress& other) const {
    if (other.family != address.family) return false;
    for (size_t bit = 0; bit < length; ++bit)
        if (bit_at(other, bit) != bit_at(address, bit)) return false;
    return true;
}

bool IpPrefix::contains(const IpPrefix& inner) const {
    return inner.length >= length && contains(inner.address);
}

IpAddress IpPrefix::first() const { return with_host_bits(address, length, false); }
IpAddress IpPrefix::last() const { return with_host_bits(address, length, true); }
bool IpPrefix::is_canonical() const { return first() == address; }

std::vector<IpPrefix> IpRange::to_prefixes() const {
    std::vector<IpPrefix> prefixes;
    if (first.family != last.family || last < first) return prefixes;
    IpAddress cursor = first;
    const size_t width = cursor.width_bits();
    while (true) {
        // Largest aligned block starting at cursor that does not pass `last`.
        size_t length = width;
        while (length > 0) {
            const size_t candidate = length - 1;
            if (bit_at(cursor, candidate)) break; // cursor not aligned to a bigger block
            if (with_host_bits(cursor, candidate, true) > last) break;
            length = candidate;
        }
        prefixes.push_back({cursor, uint8_t(length)});
        IpAddress block_last = with_host_bits(cursor, length, true);
        if (block_last >= last) break;
        cursor = block_last;
        if (!increment(cursor)) break;
    }
    return prefixes;
}

} // namespace gdoi
