// The elliptic half of DiffieHellman: ECP groups 19, 20, 21 (RFC 5903; NIST P-256, P-384,
// P-521) over OpenSSL's EC keys, with the RFC 5903 section 7 wire forms. Only dh_group.cpp uses it.
#pragma once

#include "gdoi/crypto/dh_group.hpp"
#include "gdoi/crypto/openssl_error.hpp"
#include "gdoi/secret_bytes.hpp"

#include <cstdint>
#include <span>
#include <vector>

namespace gdoi::crypto::ecp {

// A fresh key pair on the group's curve.
EvpPkeyPtr generate(DhGroup group);

// The key pair with private scalar d (big-endian, dh_prime_length(group) octets, 0 < d < n).
EvpPkeyPtr key_from_private(DhGroup group, std::span<const uint8_t> private_scalar);

// x | y of the key's public point, each coordinate left-padded to the field length.
std::vector<uint8_t> public_value(DhGroup group, const EVP_PKEY* key);

// The peer's public key from its KE data x | y, or null when the data has the wrong length or
// does not name a point on the curve.
EvpPkeyPtr peer_key(DhGroup group, std::span<const uint8_t> peer_public);

// The x coordinate of own * peer, padded to the field length.
SecretBytes shared_secret(DhGroup group, EVP_PKEY* own, EVP_PKEY* peer);

} // namespace gdoi::crypto::ecp
