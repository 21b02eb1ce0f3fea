// ECDSA signatures on P-256 and P-384 in the IKE encoding of RFC 4754 section 7: the signature
// is r | s, two fixed-length big-endian integers, not the DER ECDSA-Sig-Value of X.509 and CMS.
// RFC 6407 (SIG_ALGORITHM ECDSA-256 / ECDSA-384) refers to RFC 4754 for GROUPKEY-PUSH.
#pragma once

#include "gdoi/crypto/openssl_error.hpp"
#include "gdoi/crypto/prf.hpp"

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace gdoi::crypto {

enum class EcCurve : uint8_t { p256, p384 };

std::string_view ec_curve_name(EcCurve curve); // "P-256", "P-384"
size_t ec_curve_bits(EcCurve curve);           // 256, 384
// Octets of r and of s in the RFC 4754 encoding (the size of the curve's order): 32, 48.
size_t ec_scalar_octets(EcCurve curve);

// What an ECDSA verification found; only `valid` is a valid signature.
enum class EcdsaVerdict : uint8_t {
    valid,
    invalid,      // r | s of the right size that does not verify
    wrong_length, // not 2 * ec_scalar_octets
    der_encoded,  // a DER ECDSA-Sig-Value where r | s belongs
};

class EcdsaPublicKey {
public:
    // DER SubjectPublicKeyInfo of an EC key on P-256 or P-384 (named curve, point on the curve);
    // throws CryptoError saying what the key is otherwise.
    static EcdsaPublicKey from_der(std::span<const uint8_t> der);
    // A key already read from DER (see RsaPublicKey::from_pkey); same checks as from_der.
    static EcdsaPublicKey from_pkey(EvpPkeyPtr key);
    // The uncompressed point 04 | x | y on `curve` (as test vectors give keys); throws CryptoError.
    static EcdsaPublicKey from_point(EcCurve curve, std::span<const uint8_t> uncompressed);

    EcCurve curve() const { return curve_; }
    std::vector<uint8_t> der() const; // SubjectPublicKeyInfo
    // Verifies r | s over hash(data parts). The hash is the caller's choice (RFC 4754 pairs it
    // with the curve; see kek_signature.hpp).
    EcdsaVerdict verify(HashAlgorithm hash, ByteSpans data,
                        std::span<const uint8_t> signature) const;

private:
    EvpPkeyPtr key_;
    EcCurve curve_ = EcCurve::p256;
};

class EcdsaPrivateKey {
public:
    static EcdsaPrivateKey generate(EcCurve curve);
    // Reads a PEM private key file holding an EC key on P-256 or P-384; throws CryptoError
    // naming the path and what the file holds otherwise.
    static EcdsaPrivateKey load_pem_file(const std::string& path);

    EcCurve curve() const { return curve_; }
    std::vector<uint8_t> public_key_der() const; // SubjectPublicKeyInfo
    // r | s over hash(data parts), 2 * ec_scalar_octets(curve()) octets.
    std::vector<uint8_t> sign(HashAlgorithm hash, ByteSpans data) const;

private:
    EvpPkeyPtr key_;
    EcCurve curve_ = EcCurve::p256;
};

// The curve of an EC key when it is P-256 or P-384; nullopt for any other key or curve.
std::optional<EcCurve> ec_curve_of(const EVP_PKEY* key);

} // namespace gdoi::crypto
