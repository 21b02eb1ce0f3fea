// The key server's GROUPKEY-PUSH signature, whatever the KEK's SIG_ALGORITHM: RSA PKCS#1 v1.5
// with the SIG_HASH_ALGORITHM hash, or ECDSA-256 / ECDSA-384 in the RFC 4754 encoding. The
// public key (KD SIG_ALGORITHM_KEY, DER SubjectPublicKeyInfo) must be of the algorithm's kind.
//
// RFC 6407 section 4 (paraphrased; the verbatim text was not reachable from here): every
// algorithm signs the same octets, the hash of "rekey" | HDR | the payloads before SIG
// (gdoi/push/push_crypto.hpp); the algorithm only decides how that hash is signed.
#pragma once

#include "gdoi/crypto/ecdsa_signature.hpp"
#include "gdoi/crypto/prf.hpp"
#include "gdoi/crypto/rsa_signature.hpp"
#include "gdoi/group_policy.hpp"

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace gdoi::crypto {

enum class KekSignatureScheme : uint8_t { rsa, ecdsa_p256, ecdsa_p384 };

// RFC 6407 names of SIG_ALGORITHM values: "RSA", "DSS", "ECDSS", "ECDSA-256", ...
std::string_view sig_algorithm_name(SignatureAlgorithm algorithm);
// The key a scheme signs with, in words: "RSA", "ECDSA P-256", "ECDSA P-384".
std::string_view scheme_key_name(KekSignatureScheme scheme);

HashAlgorithm signature_hash(SignatureHash hash);

// What verifies a KEK's pushes: the scheme and the hash it signs.
struct KekSignatureSuite {
    KekSignatureScheme scheme = KekSignatureScheme::rsa;
    HashAlgorithm hash = HashAlgorithm::sha256;
};

// SIG_ALGORITHM + SIG_HASH_ALGORITHM -> suite. RSA signs with the SIG_HASH_ALGORITHM hash;
// ECDSA-256 and ECDSA-384 with the one hash RFC 4754 pairs with their curve (SHA-256, SHA-384),
// and a KEK naming another hash with them is contradictory. Throws CryptoError with a sentence
// for a contradiction or an algorithm we do not verify (DSS, ECDSS, ECDSA-521).
KekSignatureSuite kek_signature_suite(SignatureAlgorithm algorithm, SignatureHash hash);

// The outcome of a verification: valid, or why not (a sentence fragment for the operator, e.g.
// "signature does not verify with the KEK's ECDSA P-256 key").
struct KekVerification {
    bool valid = false;
    std::string why;
    std::optional<SignatureForm> rsa_form; // which RSA form matched
};

class KekPublicKey {
public:
    // The KD key checked against the KEK's SIG_ALGORITHM; throws CryptoError such as
    // "SIG_ALGORITHM ECDSA-256 but the KD key is RSA" or "... is ECDSA P-384".
    static KekPublicKey from_der(SignatureAlgorithm algorithm, std::span<const uint8_t> der);
    static KekPublicKey from_der(KekSignatureScheme scheme, std::span<const uint8_t> der);

    KekSignatureScheme scheme() const;
    size_t key_bits() const;         // RSA modulus bits, or the curve's size
    std::string description() const; // "ECDSA P-256 key", "RSA key (2048 bits)"
    KekVerification verify(HashAlgorithm hash, ByteSpans data,
                           std::span<const uint8_t> signature) const;

private:
    std::variant<RsaPublicKey, EcdsaPublicKey> key_;
};

class KekPrivateKey {
public:
    KekPrivateKey(RsaPrivateKey key) : key_(std::move(key)) {}
    KekPrivateKey(EcdsaPrivateKey key) : key_(std::move(key)) {}

    // RSA keys of `rsa_bits`, EC keys on the scheme's curve.
    static KekPrivateKey generate(KekSignatureScheme scheme, unsigned rsa_bits = 2048);
    // A PEM private key of the scheme's kind; throws CryptoError naming the path and the kind
    // expected.
    static KekPrivateKey load_pem_file(KekSignatureScheme scheme, const std::string& path);

    KekSignatureScheme scheme() const;
    SignatureAlgorithm sig_algorithm() const; // RSA, ECDSA-256 or ECDSA-384
    size_t key_bits() const;                  // SIG_KEY_LENGTH
    size_t signature_size() const;            // octets of the SIG payload data
    std::vector<uint8_t> public_key_der() const;
    // RSA: PKCS#1 v1.5 in `rsa_form`; ECDSA: r | s (RFC 4754 section 7).
    std::vector<uint8_t> sign(HashAlgorithm hash, ByteSpans data,
                              SignatureForm rsa_form = SignatureForm::digest_info) const;

private:
    std::variant<RsaPrivateKey, EcdsaPrivateKey> key_;
};

} // namespace gdoi::crypto
