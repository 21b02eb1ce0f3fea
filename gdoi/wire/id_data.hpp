// Identification Data of the address ID types (RFC 2407 section 4.6.2.2 ff.), shared by the ID
// payload and the SA KEK / SA TEK source and destination IDs; conversion to selectors.
#pragma once

#include "gdoi/group_policy.hpp"
#include "gdoi/wire/reader.hpp"

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

namespace gdoi::wire {

// The Identification Data length an address ID type requires, or nullopt for other types.
std::optional<size_t> id_data_size(uint8_t id_type);

// An address ID (IPV4/IPV6 ADDR, ADDR_SUBNET, ADDR_RANGE) as an address range.
// `byte_reversed_ipv4`: the reference key server writes IPv4 addresses and masks reversed.
// nullopt for other ID types or a mask that is not contiguous.
std::optional<IpRange> id_data_to_range(uint8_t id_type, std::span<const uint8_t> data,
                                        bool byte_reversed_ipv4 = false);

// The smallest address ID for a range: ADDR for one address, ADDR_SUBNET for one prefix,
// else ADDR_RANGE. Returns {id_type, data}.
struct IdData {
    uint8_t id_type;
    std::vector<uint8_t> data;
};
IdData range_to_id_data(const IpRange& range, bool byte_reversed_ipv4 = false);

namespace detail {
// Throws INVALID-ID-INFORMATION when the data length does not fit the address ID type.
void check_id_data(const Reader& r, uint8_t id_type, std::span<const uint8_t> data,
                   size_t data_position);
} // namespace detail

} // namespace gdoi::wire
