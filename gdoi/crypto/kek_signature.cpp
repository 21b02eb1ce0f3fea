#include "gdoi/crypto/kek_signature.hpp"

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/x509.h>

namespace gdoi::crypto {

namespace {

template <class... Ts> struct Overloaded : Ts... { using Ts::operator()...; };
template <class... Ts> Overloaded(Ts...) -> Overloaded<Ts...>;

std::optional<EcCurve> curve_of(KekSignatureScheme scheme) {
    switch (scheme) {
    case KekSignatureScheme::rsa:
        return std::nullopt;
    case KekSignatureScheme::ecdsa_p256:
        return EcCurve::p256;
    case KekSignatureScheme::ecdsa_p384:
        return EcCurve::p384;
    }
    return std::nullopt;
}

KekSignatureScheme scheme_of(EcCurve curve) {
    return curve == EcCurve::p256 ? KekSignatureScheme::ecdsa_p256 : KekSignatureScheme::ecdsa_p384;
}

// What the KD key is, in words: "RSA", "ECDSA P-384", "an EC key on curve secp521r1",
// "an ED25519 key".
std::string describe_key(const EVP_PKEY* key) {
    if (EVP_PKEY_get_base_id(key) == EVP_PKEY_RSA) return "RSA";
    if (auto curve = ec_curve_of(key)) return "ECDSA " + std::string(ec_curve_name(*curve));
    if (EVP_PKEY_get_base_id(key) == EVP_PKEY_EC) {
        char name[64] = {};
        size_t length = 0;
        bool named = EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, name,
                                                    sizeof name, &length) == 1;
        ERR_clear_error();
        return named ? std::string("an EC key on curve ") + name
                     : "an EC key with explicit curve parameters";
    }
    const char* type = EVP_PKEY_get0_type_name(key);
    return std::string("a ") + (type ? type : "unknown") + " key";
}

} // namespace

std::string_view sig_algorithm_name(SignatureAlgorithm algorithm) {
    switch (algorithm) {
    case SignatureAlgorithm::rsa:
        return "RSA";
    case SignatureAlgorithm::dss:
        return "DSS";
    case SignatureAlgorithm::ecdss:
        return "ECDSS";
    case SignatureAlgorithm::ecdsa_256:
        return "ECDSA-256";
    case SignatureAlgorithm::ecdsa_384:
        return "ECDSA-384";
    case SignatureAlgorithm::ecdsa_521:
        return "ECDSA-521";
    }
    return "unknown";
}

std::string_view scheme_key_name(KekSignatureScheme scheme) {
    switch (scheme) {
    case KekSignatureScheme::rsa:
        return "RSA";
    case KekSignatureScheme::ecdsa_p256:
        return "ECDSA P-256";
    case KekSignatureScheme::ecdsa_p384:
        return "ECDSA P-384";
    }
    return "unknown";
}

HashAlgorithm signature_hash(SignatureHash hash) {
    switch (hash) {
    case SignatureHash::md5:
        return HashAlgorithm::md5;
    case SignatureHash::sha1:
        return HashAlgorithm::sha1;
    case SignatureHash::sha256:
        return HashAlgorithm::sha256;
    case SignatureHash::sha384:
        return HashAlgorithm::sha384;
    case SignatureHash::sha512:
        return HashAlgorithm::sha512;
    }
    return HashAlgorithm::sha256;
}

KekSignatureSuite kek_signature_suite(SignatureAlgorithm algorithm, SignatureHash hash) {
    const std::string name(sig_algorithm_name(algorithm));
    // RFC 4754 pairs each curve with one hash (ECDSA-256: P-256 and SHA-256, ECDSA-384: P-384
    // and SHA-384; its section 8 test vectors sign SHA-256("abc") and SHA-384("abc")). RFC 6407
    // names the ECDSA algorithms by that pairing and does not say what a different
    // SIG_HASH_ALGORITHM would mean (not found in the text reachable from here): such a KEK is
    // refused rather than guessed at.
    auto ecdsa = [&](KekSignatureScheme scheme, SignatureHash paired) {
        if (hash != paired)
            throw CryptoError("SIG_ALGORITHM " + name + " signs with " +
                              std::string(hash_name(signature_hash(paired))) +
                              " (RFC 4754) but SIG_HASH_ALGORITHM names " +
                              std::string(hash_name(signature_hash(hash))) +
                              ": contradictory KEK, refused");
        return KekSignatureSuite{scheme, signature_hash(paired)};
    };
    switch (algorithm) {
    case SignatureAlgorithm::rsa:
        return {KekSignatureScheme::rsa, signature_hash(hash)};
    case SignatureAlgorithm::ecdsa_256:
        return ecdsa(KekSignatureScheme::ecdsa_p256, SignatureHash::sha256);
    case SignatureAlgorithm::ecdsa_384:
        return ecdsa(KekSignatureScheme::ecdsa_p384, SignatureHash::sha384);
    case SignatureAlgorithm::dss:
    case SignatureAlgorithm::ecdss:
    case SignatureAlgorithm::ecdsa_521:
        break;
    }
    throw CryptoError("SIG_ALGORITHM " + name +
                      " is not supported (RSA, ECDSA-256 and ECDSA-384 are)");
}

KekPublicKey KekPublicKey::from_der(SignatureAlgorithm algorithm, std::span<const uint8_t> der) {
    switch (algorithm) {
    case SignatureAlgorithm::rsa:
        return from_der(KekSignatureScheme::rsa, der);
    case SignatureAlgorithm::ecdsa_256:
        return from_der(KekSignatureScheme::ecdsa_p256, der);
    case SignatureAlgorithm::ecdsa_384:
        return from_der(KekSignatureScheme::ecdsa_p384, der);
    default:
        throw CryptoError("SIG_ALGORITHM " + std::string(sig_algorithm_name(algorithm)) +
                          " is not supported (RSA, ECDSA-256 and ECDSA-384 are)");
    }
}

KekPublicKey KekPublicKey::from_der(KekSignatureScheme scheme, std::span<const uint8_t> der) {
    // Read once: to say what the key is when it is not what the KEK announced, and as the key
    // itself (a DER read costs as much as the RSA verification of a push).
    const unsigned char* cursor = der.data();
    EvpPkeyPtr key(d2i_PUBKEY(nullptr, &cursor, static_cast<long>(der.size())));
    if (!key) throw_openssl_error("reading the key server's public key (DER SubjectPublicKeyInfo)");
    if (cursor != der.data() + der.size())
        throw CryptoError("trailing octets after the key server's public key");
    const auto wanted_curve = curve_of(scheme);
    const bool fits = wanted_curve ? ec_curve_of(key.get()) == wanted_curve
                                   : EVP_PKEY_get_base_id(key.get()) == EVP_PKEY_RSA;
    if (!fits) {
        static constexpr SignatureAlgorithm announced[] = {
            SignatureAlgorithm::rsa, SignatureAlgorithm::ecdsa_256, SignatureAlgorithm::ecdsa_384};
        throw CryptoError("SIG_ALGORITHM " +
                          std::string(sig_algorithm_name(announced[static_cast<size_t>(scheme)])) +
                          " but the KD key is " + describe_key(key.get()));
    }
    KekPublicKey out;
    if (wanted_curve)
        out.key_ = EcdsaPublicKey::from_pkey(std::move(key));
    else
        out.key_ = RsaPublicKey::from_pkey(std::move(key));
    return out;
}

KekSignatureScheme KekPublicKey::scheme() const {
    return std::visit(Overloaded{[](const RsaPublicKey&) { return KekSignatureScheme::rsa; },
                                 [](const EcdsaPublicKey& k) { return scheme_of(k.curve()); }},
                      key_);
}

size_t KekPublicKey::key_bits() const {
    return std::visit(Overloaded{[](const RsaPublicKey& k) { return k.modulus_bits(); },
                                 [](const EcdsaPublicKey& k) { return ec_curve_bits(k.curve()); }},
                      key_);
}

std::string KekPublicKey::description() const {
    if (const auto* rsa = std::get_if<RsaPublicKey>(&key_))
        return "RSA key (" + std::to_string(rsa->modulus_bits()) + " bits)";
    return std::string(scheme_key_name(scheme())) + " key";
}

KekVerification KekPublicKey::verify(HashAlgorithm hash, ByteSpans data,
                                     std::span<const uint8_t> signature) const {
    KekVerification out;
    const std::string does_not_verify = "signature does not verify with the KEK's " + description();
    if (const auto* rsa = std::get_if<RsaPublicKey>(&key_)) {
        out.rsa_form = rsa->verify(hash, data, signature);
        out.valid = out.rsa_form.has_value();
        if (!out.valid) out.why = does_not_verify;
        return out;
    }
    const auto& ec = std::get<EcdsaPublicKey>(key_);
    const size_t expected = 2 * ec_scalar_octets(ec.curve());
    const std::string layout = "RFC 4754 section 7 wants r | s, two " +
                               std::to_string(expected / 2) + "-octet integers (" +
                               std::to_string(expected) + " octets)";
    switch (ec.verify(hash, data, signature)) {
    case EcdsaVerdict::valid:
        out.valid = true;
        break;
    case EcdsaVerdict::invalid:
        out.why = does_not_verify;
        break;
    case EcdsaVerdict::wrong_length:
        out.why = std::string(scheme_key_name(scheme())) + " signature of " +
                  std::to_string(signature.size()) + " octets: " + layout;
        break;
    case EcdsaVerdict::der_encoded:
        out.why = std::string(scheme_key_name(scheme())) + " signature of " +
                  std::to_string(signature.size()) +
                  " octets is DER-encoded (an ASN.1 SEQUENCE of r and s): " + layout;
        break;
    }
    return out;
}

KekPrivateKey KekPrivateKey::generate(KekSignatureScheme scheme, unsigned rsa_bits) {
    if (auto curve = curve_of(scheme)) return EcdsaPrivateKey::generate(*curve);
    return RsaPrivateKey::generate(rsa_bits);
}

KekPrivateKey KekPrivateKey::load_pem_file(KekSignatureScheme scheme, const std::string& path) {
    auto curve = curve_of(scheme);
    if (!curve) return RsaPrivateKey::load_pem_file(path);
    auto key = EcdsaPrivateKey::load_pem_file(path);
    if (key.curve() != *curve)
        throw CryptoError(path + " holds a " + std::string(ec_curve_name(key.curve())) + " key, " +
                          std::string(scheme_key_name(scheme)) + " is configured");
    return key;
}

KekSignatureScheme KekPrivateKey::scheme() const {
    return std::visit(Overloaded{[](const RsaPrivateKey&) { return KekSignatureScheme::rsa; },
                                 [](const EcdsaPrivateKey& k) { return scheme_of(k.curve()); }},
                      key_);
}

SignatureAlgorithm KekPrivateKey::sig_algorithm() const {
    switch (scheme()) {
    case KekSignatureScheme::ecdsa_p256:
        return SignatureAlgorithm::ecdsa_256;
    case KekSignatureScheme::ecdsa_p384:
        return SignatureAlgorithm::ecdsa_384;
    case KekSignatureScheme::rsa:
        break;
    }
    return SignatureAlgorithm::rsa;
}

size_t KekPrivateKey::key_bits() const {
    return std::visit(Overloaded{[](const RsaPrivateKey& k) { return k.modulus_bits(); },
                                 [](const EcdsaPrivateKey& k) { return ec_curve_bits(k.curve()); }},
                      key_);
}

size_t KekPrivateKey::signature_size() const {
    return std::visit(
        Overloaded{[](const RsaPrivateKey& k) { return (k.modulus_bits() + 7) / 8; },
                   [](const EcdsaPrivateKey& k) { return 2 * ec_scalar_octets(k.curve()); }},
        key_);
}

std::vector<uint8_t> KekPrivateKey::public_key_der() const {
    return std::visit([](const auto& k) { return k.public_key_der(); }, key_);
}

std::vector<uint8_t> KekPrivateKey::sign(HashAlgorithm hash, ByteSpans data,
                                         SignatureForm rsa_form) const {
    if (const auto* rsa = std::get_if<RsaPrivateKey>(&key_)) return rsa->sign(hash, data, rsa_form);
    return std::get<EcdsaPrivateKey>(key_).sign(hash, data);
}

} // namespace gdoi::crypto
