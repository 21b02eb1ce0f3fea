// SIG_I / SIG_R of Main Mode authenticated with RSA signatures (RFC 2409 section 5.1): "the
// signed data, SIG_I or SIG_R, is the result of the negotiated digital signature algorithm
// applied to HASH_I or HASH_R respectively". RFC 2409 names no padding; every IKEv1
// implementation we know of (and Cisco IOS and Junos) applies the RSA private key to HASH_I
// itself with PKCS #1 v1.5 block type 1 padding and NO DigestInfo (the hash is a prf output, not
// a digest of a named algorithm): what we sign and what we accept.
#pragma once

#include "gdoi/crypto/certificate.hpp"
#include "gdoi/crypto/openssl_error.hpp"

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace gdoi::crypto {

class Phase1PrivateKey {
public:
    // An RSA private key from PEM text (PKCS#8 or PKCS#1, unencrypted). Throws CryptoError
    // naming `source`, never quoting the text.
    static Phase1PrivateKey from_pem(std::span<const uint8_t> pem, const std::string& source);
    static Phase1PrivateKey generate(unsigned bits); // tests

    // True when the certificate carries this key's public half.
    bool matches(const Certificate& certificate) const;
    size_t bits() const;
    std::vector<uint8_t> sign(std::span<const uint8_t> hash) const;
    // PEM (PKCS#8) of the private key: tests write it to files.
    std::string to_pem_for_test() const;
    EVP_PKEY* get() const { return key_.get(); }

private:
    EvpPkeyPtr key_;
};

// True when `signature` is the certificate's RSA key applied to `hash` as above.
bool verify_phase1_signature(const Certificate& signer, std::span<const uint8_t> hash,
                             std::span<const uint8_t> signature);

} // namespace gdoi::crypto
