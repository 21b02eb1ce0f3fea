// The CBC block ciphers of IKEv1 Phase 1, GROUPKEY-PULL and the KEK: 3DES and AES-128/192/256.
// OpenSSL's padding is off; ISAKMP pads by itself (RFC 2408 section 3.5, RFC 2409 appendix B).
#pragma once

#include "gdoi/secret_bytes.hpp"

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

namespace gdoi::crypto {

enum class CbcCipher : uint8_t { des3, aes128, aes192, aes256 };

std::string_view cipher_name(CbcCipher cipher); // "3DES-CBC", "AES-128-CBC", ...
size_t cipher_key_length(CbcCipher cipher);     // octets
size_t cipher_block_size(CbcCipher cipher);     // octets (the IV length too)

// Encrypts or decrypts whole blocks; throws CryptoError when the input is not a multiple of the
// block size, the key or IV has the wrong length, or OpenSSL fails.
std::vector<uint8_t> cbc_encrypt(CbcCipher cipher, const SecretBytes& key,
                                 std::span<const uint8_t> iv, std::span<const uint8_t> plaintext);
std::vector<uint8_t> cbc_decrypt(CbcCipher cipher, const SecretBytes& key,
                                 std::span<const uint8_t> iv, std::span<const uint8_t> ciphertext);

// ISAKMP padding: appends zero octets up to a whole block. RFC 2409 appendix B: "Padding, if any,
// is zeros"; we put the pad length in the last octet as RFC 2408 section 3.5 allows, which every
// receiver ignores because it finds the end by walking the payload chain.
std::vector<uint8_t> isakmp_pad(std::span<const uint8_t> body, size_t block_size);

} // namespace gdoi::crypto
