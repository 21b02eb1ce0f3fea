// Pure translation between gdoid's XFRM values and the kernel's uapi structures: addresses,
// selectors, algorithm names and truncation, human-readable object names. No sockets here.
#pragma once

#include "netlink/xfrm_objects.hpp"

#include <cstdint>
#include <linux/xfrm.h>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace netlink {

uint16_t to_address_family(IpFamily family); // AF_INET / AF_INET6
// Throws std::invalid_argument for anything but AF_INET / AF_INET6.
IpFamily from_address_family(uint16_t family);

xfrm_address_t to_xfrm_address(const IpAddress& address);
IpAddress from_xfrm_address(const xfrm_address_t& address, IpFamily family);

// Throws std::invalid_argument when source and destination families differ or a prefix
// length exceeds the address width.
xfrm_selector to_xfrm_selector(const XfrmSelector& selector);
XfrmSelector from_xfrm_selector(const xfrm_selector& selector);

enum class AlgorithmKind { encryption, authentication, aead };

struct AlgorithmInfo {
    std::string_view kernel_name;
    AlgorithmKind kind;
    std::vector<uint32_t> key_bits; // accepted key lengths (AEAD: including the 32-bit salt)
    uint32_t icv_or_trunc_bits;     // RFC truncation (auth) or ICV length (AEAD); 0 for ciphers
    uint16_t ipsec_id;              // ESP transform ID (ciphers, AEAD) or auth algorithm (RFC 2407)
};

// The algorithms gdoid programs, with the truncations the RFCs mandate (RFC 2404: 96 bits for
// HMAC-SHA1-96, RFC 4868: half the hash length for HMAC-SHA-256/384/512).
const std::vector<AlgorithmInfo>& supported_algorithms();
const AlgorithmInfo* find_algorithm(std::string_view kernel_name);
// ESP transform ID (RFC 2407 4.4.4 / IANA) -> cipher or AEAD; nullptr when unsupported.
const AlgorithmInfo* find_esp_transform(uint16_t transform_id);
// IPsec authentication algorithm attribute (RFC 2407 4.5) -> HMAC; nullptr when unsupported.
const AlgorithmInfo* find_auth_algorithm(uint16_t auth_id);

// Checks name, kind, key length and truncation; returns an operator-readable reason or nullopt.
std::optional<std::string> check_algorithm(const XfrmAlgorithm& algorithm, AlgorithmKind kind);

// "spi 0x10000001 dst 100.127.0.1" (+ " mark 0x1/0xff")
std::string describe(const XfrmStateId& id);
// "out policy 10.1.0.0/16 -> 10.2.0.0/16" (+ proto, ports, dev ifindex, mark)
std::string describe(const XfrmPolicyId& id);

} // namespace netlink
