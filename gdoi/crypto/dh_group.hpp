// Diffie-Hellman over the groups IKEv1 negotiates: MODP 1 and 2 (RFC 2409 section 6.1/6.2),
// 5, 14, 15, 16 (RFC 3526) and ECP 19, 20, 21 (RFC 5903, NIST P-256/P-384/P-521; the elliptic
// part lives in ecp_group.cpp). One DiffieHellman object holds one ephemeral private value.
#pragma once

#include "gdoi/crypto/openssl_error.hpp"
#include "gdoi/secret_bytes.hpp"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace gdoi::crypto {

// IANA "Group Description" numbers.
enum class DhGroup : uint16_t {
    modp768 = 1,
    modp1024 = 2,
    modp1536 = 5,
    modp2048 = 14,
    modp3072 = 15,
    modp4096 = 16,
    ecp256 = 19,
    ecp384 = 20,
    ecp521 = 21,
};

std::optional<DhGroup> dh_group_from_number(uint16_t number); // nullopt if not supported
std::string_view dh_group_name(DhGroup group); // "MODP-1024 (group 2)", "ECP-256 (group 19)"
bool dh_group_is_elliptic(DhGroup group);      // the RFC 5903 ECP groups
// Octets of the field prime p: the MODP modulus, or the ECP curve's field (32, 48, 66).
size_t dh_prime_length(DhGroup group);
// Octets of g^x as the KE payload carries it: p's length for MODP; x | y, each coordinate
// padded to the field, for ECP (RFC 5903 section 7: 64, 96, 132).
size_t dh_public_value_length(DhGroup group);
// Octets of g^xy as SKEYID_* use it: p's length for MODP; the x coordinate for ECP.
size_t dh_shared_secret_length(DhGroup group);

class DiffieHellman {
public:
    // Generates a fresh private value in the group.
    explicit DiffieHellman(DhGroup group);

    // Test only: an ECP key pair from a fixed private scalar (big-endian, field length), so
    // known-answer tests can replay RFC 5903 section 8. Never used by the protocol code.
    static DiffieHellman from_private_for_test(DhGroup group,
                                               std::span<const uint8_t> private_scalar);

    DhGroup group() const { return group_; }
    // g^x as the KE payload carries it, dh_public_value_length(group()) octets.
    const std::vector<uint8_t>& public_value() const { return public_value_; }

    // g^xy, dh_shared_secret_length(group()) octets, left-padded (RFC 2409 uses it at that
    // length in SKEYID_*). Throws CryptoError naming the group when the peer's value is not
    // acceptable (see dh_public_value_problem).
    SecretBytes shared_secret(std::span<const uint8_t> peer_public) const;

private:
    DiffieHellman(DhGroup group, EvpPkeyPtr key);

    DhGroup group_;
    EvpPkeyPtr key_;
    std::vector<uint8_t> public_value_;
};

// Why a peer's public value is refused, or nullopt when it is acceptable:
// MODP: it must have the prime's length and 1 < y < p-1. RFC 2409 does not say it, but
//   y in {0, 1, p-1} forces a known shared secret (small-subgroup confinement).
// ECP: it must be x | y at exactly twice the field length and name a point on the curve
//   (which excludes the point at infinity; see ecp_group.cpp).
std::optional<std::string> dh_public_value_problem(DhGroup group,
                                                   std::span<const uint8_t> peer_public);
inline bool dh_public_value_acceptable(DhGroup group, std::span<const uint8_t> peer_public) {
    return !dh_public_value_problem(group, peer_public);
}

} // namespace gdoi::crypto
