// Diffie-Hellman over the MODP groups IKEv1 uses: 1 and 2 (RFC 2409 section 6.1/6.2),
// 5 and 14 (RFC 3526). One DiffieHellman object holds one ephemeral private value.
#pragma once

#include "gdoi/crypto/openssl_error.hpp"
#include "gdoi/secret_bytes.hpp"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

namespace gdoi::crypto {

// IANA "Group Description" numbers.
enum class DhGroup : uint16_t { modp768 = 1, modp1024 = 2, modp1536 = 5, modp2048 = 14 };

std::optional<DhGroup> dh_group_from_number(uint16_t number); // nullopt if not supported
std::string_view dh_group_name(DhGroup group);                // "MODP-1024 (group 2)"
size_t dh_prime_length(DhGroup group);                        // octets of p (and of g^x, g^xy)

class DiffieHellman {
public:
    // Generates a fresh private value in the group.
    explicit DiffieHellman(DhGroup group);

    DhGroup group() const { return group_; }
    // g^x, left-padded with zeros to the prime length as the KE payload carries it.
    const std::vector<uint8_t>& public_value() const { return public_value_; }

    // g^xy, left-padded to the prime length (RFC 2409 uses it at that length in SKEYID_*).
    // Throws CryptoError if the peer value is not 1 < y < p-1 or is not prime-length.
    SecretBytes shared_secret(std::span<const uint8_t> peer_public) const;

private:
    DhGroup group_;
    EvpPkeyPtr key_;
    std::vector<uint8_t> public_value_;
};

// True when 1 < y < p-1 and y has exactly the prime's length in octets. RFC 2409 does not
// say it, but y in {0, 1, p-1} forces a known shared secret (small-subgroup confinement).
bool dh_public_value_acceptable(DhGroup group, std::span<const uint8_t> peer_public);

} // namespace gdoi::crypto
