// The cryptography both ends of a GROUPKEY-PUSH share: which CBC cipher a KEK names, which hash
// its signature uses, and exactly which octets are signed (RFC 6407 section 4.1 and the
// reference key server: "rekey" | HDR with E set and the unpadded length | payloads before SIG).
// Sender and receiver call the same functions so the two cannot drift apart.
#pragma once

#include "gdoi/crypto/cbc_cipher.hpp"
#include "gdoi/crypto/prf.hpp"
#include "gdoi/group_policy.hpp"

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace gdoi::push {

// The prefix of the signed data. RFC 6407 section 4.1 (paraphrased, the verbatim text was not
// reachable here): the SIG covers the string "rekey" followed by the header and every payload
// before SIG. 5 ASCII octets, no terminator: what the reference key server signs.
inline constexpr uint8_t kSignaturePrefix[] = {'r', 'e', 'k', 'e', 'y'};

// The CBC cipher of a KEK; throws std::invalid_argument naming what is wrong (unknown AES key
// size). AES key size comes from key_bits, or from the key itself when key_bits is 0.
crypto::CbcCipher kek_cbc_cipher(const KekPolicy& kek);
crypto::HashAlgorithm signature_hash_algorithm(SignatureHash hash);
const char* kek_cipher_name(KekCipher cipher);

// The octets covered by the signature after the "rekey" prefix: `message` is the plaintext
// message (header + chain); `sig_offset` where the SIG payload starts; `chain_end` where the
// chain ends (the header length the key server signed). The header gets the E flag and
// `chain_end` as its length whatever the copy in `message` says.
std::vector<uint8_t> push_signed_data(std::span<const uint8_t> message, size_t sig_offset,
                                      size_t chain_end);

// Two KEK keys are the same key: for 3DES the low bit of every octet is DES parity and not key
// material (FIPS 46-3), so keys differing only there are one key.
bool same_kek_key(KekCipher cipher, std::span<const uint8_t> a, std::span<const uint8_t> b);

// "bc69f081d5899983..." (SPIs are not secret).
std::string hex(std::span<const uint8_t> bytes);
std::string spi_hex(uint32_t spi); // "0x227192dd"

} // namespace gdoi::push
