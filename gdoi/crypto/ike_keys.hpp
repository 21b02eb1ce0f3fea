// IKEv1 Phase 1 key derivation for pre-shared keys (RFC 2409 section 5 and appendix B):
// SKEYID, SKEYID_d/a/e, the encryption key (expanded when the cipher needs more than the PRF
// gives) and the initial Phase 1 / per-message-ID Phase 2 IVs.
#pragma once

#include "gdoi/crypto/cbc_cipher.hpp"
#include "gdoi/crypto/prf.hpp"
#include "gdoi/secret_bytes.hpp"

#include <cstdint>
#include <span>
#include <vector>

namespace gdoi::crypto {

struct Phase1Keys {
    HashAlgorithm hash = HashAlgorithm::sha1;
    CbcCipher cipher = CbcCipher::des3;
    SecretBytes skeyid;
    SecretBytes skeyid_d;
    SecretBytes skeyid_a;
    SecretBytes skeyid_e;
    SecretBytes encryption_key; // cipher_key_length(cipher) octets
};

// RFC 2409 section 5: "For pre-shared keys: SKEYID = prf(pre-shared-key, Ni_b | Nr_b)".
SecretBytes skeyid_pre_shared(HashAlgorithm hash, const SecretBytes& pre_shared_key,
                              std::span<const uint8_t> nonce_i, std::span<const uint8_t> nonce_r);

// RFC 2409 section 5: "For signatures: SKEYID = prf(Ni_b | Nr_b, g^xy)".
SecretBytes skeyid_signature(HashAlgorithm hash, std::span<const uint8_t> nonce_i,
                             std::span<const uint8_t> nonce_r, const SecretBytes& shared_secret);

// RFC 2409 section 5:
//   SKEYID_d = prf(SKEYID, g^xy | CKY-I | CKY-R | 0)
//   SKEYID_a = prf(SKEYID, SKEYID_d | g^xy | CKY-I | CKY-R | 1)
//   SKEYID_e = prf(SKEYID, SKEYID_a | g^xy | CKY-I | CKY-R | 2)
Phase1Keys derive_phase1_keys(HashAlgorithm hash, CbcCipher cipher, SecretBytes skeyid,
                              const SecretBytes& shared_secret, std::span<const uint8_t> cookie_i,
                              std::span<const uint8_t> cookie_r);

// RFC 2409 appendix B: the key is the first octets of SKEYID_e, or when SKEYID_e is too short,
// of Ka = K1 | K2 | K3 ... with K1 = prf(SKEYID_e, 0), K2 = prf(SKEYID_e, K1), ...
SecretBytes expand_encryption_key(HashAlgorithm hash, const SecretBytes& skeyid_e,
                                  size_t key_length);

// RFC 2409 appendix B: "IV = hash(g^xi | g^xr)", truncated to the cipher block size.
std::vector<uint8_t> phase1_initial_iv(HashAlgorithm hash, std::span<const uint8_t> g_xi,
                                       std::span<const uint8_t> g_xr, size_t block_size);

// RFC 2409 appendix B: for Quick Mode (and GROUPKEY-PULL, informational exchanges)
// "IV = hash(last phase 1 CBC output block | M-ID)", truncated to the block size; M-ID in
// network order.
std::vector<uint8_t> phase2_initial_iv(HashAlgorithm hash,
                                       std::span<const uint8_t> last_phase1_block,
                                       uint32_t message_id, size_t block_size);

} // namespace gdoi::crypto
