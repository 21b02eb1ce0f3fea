// RSA PKCS#1 v1.5 signatures of GROUPKEY-PUSH messages (RFC 6407 section 4.1 / 5.6).
// The Cisco reference key server signs the bare digest without the DigestInfo wrapper, RFC 3447
// signers wrap it: a member verifies both; the test key server can produce either.
#pragma once

#include "gdoi/crypto/openssl_error.hpp"
#include "gdoi/crypto/prf.hpp"

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace gdoi::crypto {

enum class SignatureForm : uint8_t { bare_digest, digest_info };

class RsaPublicKey {
public:
    // DER SubjectPublicKeyInfo (as KD's SIG_ALGORITHM_KEY carries it); throws CryptoError.
    static RsaPublicKey from_der(std::span<const uint8_t> der);
    // A key already read (KekPublicKey reads the DER once to tell RSA from EC); throws
    // CryptoError when it is not RSA.
    static RsaPublicKey from_pkey(EvpPkeyPtr key);

    size_t modulus_bits() const;
    // Verifies an RSA PKCS#1 v1.5 signature over hash(data parts), accepting both forms.
    // Returns the form that matched, or nullopt if the signature is not valid.
    std::optional<SignatureForm> verify(HashAlgorithm hash, ByteSpans data,
                                        std::span<const uint8_t> signature) const;

private:
    EvpPkeyPtr key_;
};

class RsaPrivateKey {
public:
    // Reads a PEM private key file; throws CryptoError naming the path.
    static RsaPrivateKey load_pem_file(const std::string& path);
    static RsaPrivateKey generate(unsigned bits);

    std::vector<uint8_t> public_key_der() const; // SubjectPublicKeyInfo
    size_t modulus_bits() const;
    std::vector<uint8_t> sign(HashAlgorithm hash, ByteSpans data, SignatureForm form) const;

private:
    EvpPkeyPtr key_;
};

} // namespace gdoi::crypto
