// Hash functions and the HMAC pseudo-random function of IKEv1/GDOI (RFC 2409 section 5).
// Phase 1 negotiates the hash; the PRF is always HMAC with that hash.
#pragma once

#include "gdoi/secret_bytes.hpp"

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <span>
#include <string_view>
#include <vector>

namespace gdoi::crypto {

enum class HashAlgorithm : uint8_t { md5, sha1, sha256, sha384, sha512 };

std::string_view hash_name(HashAlgorithm hash); // "MD5", "SHA1", "SHA256", ...
size_t hash_length(HashAlgorithm hash);         // octets of output

using Bytes = std::vector<uint8_t>;
using ByteSpans = std::initializer_list<std::span<const uint8_t>>;

// hash(part1 | part2 | ...)
Bytes digest(HashAlgorithm hash, ByteSpans parts);

// HMAC-<hash>(key, part1 | part2 | ...). The result is secret (keys are derived from it).
SecretBytes hmac(HashAlgorithm hash, std::span<const uint8_t> key, ByteSpans parts);

// Same, for MAC values that go on the wire (HASH payloads, acks): not secret.
Bytes hmac_public(HashAlgorithm hash, std::span<const uint8_t> key, ByteSpans parts);

// Constant-time comparison of two MAC values.
bool equal_constant_time(std::span<const uint8_t> a, std::span<const uint8_t> b);

// Cryptographically strong random octets (nonces, cookies, IVs, DH private values via OpenSSL).
Bytes random_bytes(size_t count);
SecretBytes random_secret(size_t count);

} // namespace gdoi::crypto
