#include "gdoi/wire/id_data.hpp"

#include "gdoi/wire/constants.hpp"

#include <algorithm>
#include <string>

namespace gdoi::wire {

std::optional<size_t> id_data_size(uint8_t type) {
    switch (type) {
    case id_type::ipv4_addr:
        return 4;
    case id_type::ipv4_addr_subnet:
    case id_type::ipv4_addr_range:
        return 8;
    case id_type::ipv6_addr:
        return 16;
    case id_type::ipv6_addr_subnet:
    case id_type::ipv6_addr_range:
        return 32;
    default:
        return std::nullopt;
    }
}

namespace {

IpAddress address_from(std::span<const uint8_t> octets, bool v4, bool reversed) {
    IpAddress a;
    a.family = v4 ? IpFamily::v4 : IpFamily::v6;
    if (v4 && reversed)
        std::reverse_copy(octets.begin(), octets.end(), a.bytes.begin());
    else
        std::copy(octets.begin(), octets.end(), a.bytes.begin());
    return a;
}

void put_address(std::vector<uint8_t>& out, const IpAddress& a, bool reversed) {
    size_t n = a.width_bytes();
    if (a.family == IpFamily::v4 && reversed)
        out.insert(out.end(), a.bytes.rend() - 4, a.bytes.rend());
    else
        out.insert(out.end(), a.bytes.begin(), a.bytes.begin() + static_cast<long>(n));
}

std::optional<uint8_t> mask_length(const IpAddress& mask) {
    size_t bits = 0;
    bool ended = false;
    for (size_t i = 0; i < mask.width_bytes(); ++i)
        for (int b = 7; b >= 0; --b) {
            bool set = (mask.bytes[i] >> b) & 1;
            if (set && ended) return std::nullopt;
            if (set)
                ++bits;
            else
                ended = true;
        }
    return static_cast<uint8_t>(bits);
}

} // namespace

std::optional<IpRange> id_data_to_range(uint8_t type, std::span<const uint8_t> data,
                                        bool reversed) {
    auto size = id_data_size(type);
    if (!size || data.size() != *size) return std::nullopt;
    bool v4 = type == id_type::ipv4_addr || type == id_type::ipv4_addr_subnet ||
              type == id_type::ipv4_addr_range;
    size_t w = v4 ? 4 : 16;
    IpAddress first = address_from(data.subspan(0, w), v4, reversed);
    if (type == id_type::ipv4_addr || type == id_type::ipv6_addr) return IpRange{first, first};
    IpAddress second = address_from(data.subspan(w, w), v4, reversed);
    if (type == id_type::ipv4_addr_range || type == id_type::ipv6_addr_range) {
        if (second < first) return std::nullopt;
        return IpRange{first, second};
    }
    auto length = mask_length(second);
    if (!length) return std::nullopt;
    IpPrefix prefix{first, *length};
    return IpRange{prefix.first(), prefix.last()};
}

IdData range_to_id_data(const IpRange& range, bool reversed) {
    bool v4 = range.first.family == IpFamily::v4;
    IdData out;
    if (range.first == range.last) {
        out.id_type = v4 ? id_type::ipv4_addr : id_type::ipv6_addr;
        put_address(out.data, range.first, reversed);
        return out;
    }
    auto prefixes = range.to_prefixes();
    if (prefixes.size() == 1) {
        out.id_type = v4 ? id_type::ipv4_addr_subnet : id_type::ipv6_addr_subnet;
        IpAddress mask;
        mask.family = range.first.family;
        for (size_t bit = 0; bit < prefixes[0].length; ++bit)
            mask.bytes[bit / 8] |= static_cast<uint8_t>(0x80 >> (bit % 8));
        put_address(out.data, prefixes[0].address, reversed);
        put_address(out.data, mask, reversed);
        return out;
    }
    out.id_type = v4 ? id_type::ipv4_addr_range : id_type::ipv6_addr_range;
    put_address(out.data, range.first, reversed);
    put_address(out.data, range.last, reversed);
    return out;
}

namespace detail {
void check_id_data(const Reader& r, uint8_t type, std::span<const uint8_t> data,
                   size_t data_position) {
    auto size = id_data_size(type);
    if (size && data.size() != *size)
        r.fail_at(data_position,
                  "ID type " + std::to_string(type) + " needs " + std::to_string(*size) +
                      " octets of identification data, has " + std::to_string(data.size()),
                  NotifyType::invalid_id_information);
}
} // namespace detail

} // namespace gdoi::wire
