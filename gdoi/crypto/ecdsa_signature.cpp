#include "gdoi/crypto/ecdsa_signature.hpp"

#include <cstdio>
#include <memory>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

namespace gdoi::crypto {

namespace {

struct FileClose {
    void operator()(FILE* f) const { std::fclose(f); }
};
struct EcdsaSigFree {
    void operator()(ECDSA_SIG* p) const { ECDSA_SIG_free(p); }
};
using EcdsaSigPtr = std::unique_ptr<ECDSA_SIG, EcdsaSigFree>;

const char* openssl_group_name(EcCurve curve) {
    return curve == EcCurve::p256 ? "P-256" : "P-384";
}

// The key is usable: a point on its curve, not the point at infinity.
void check_public_point(EVP_PKEY* key, const std::string& what) {
    EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, key, nullptr));
    if (!ctx || EVP_PKEY_public_check(ctx.get()) != 1)
        throw_openssl_error(what + ": the EC public point is not a valid point of its curve");
}

std::vector<uint8_t> spki_der(EVP_PKEY* key) {
    unsigned char* raw = nullptr;
    int length = i2d_PUBKEY(key, &raw);
    if (length <= 0) throw_openssl_error("encoding the ECDSA public key");
    std::vector<uint8_t> out(raw, raw + length);
    OPENSSL_free(raw);
    return out;
}

// A whole DER ECDSA-Sig-Value (SEQUENCE { r INTEGER, s INTEGER }), nothing after it.
bool is_der_ecdsa_sig(std::span<const uint8_t> signature) {
    if (signature.empty() || signature[0] != 0x30) return false;
    const unsigned char* cursor = signature.data();
    EcdsaSigPtr parsed(d2i_ECDSA_SIG(nullptr, &cursor, static_cast<long>(signature.size())));
    ERR_clear_error();
    return parsed && cursor == signature.data() + signature.size();
}

} // namespace

std::string_view ec_curve_name(EcCurve curve) {
    return curve == EcCurve::p256 ? "P-256" : "P-384";
}

size_t ec_curve_bits(EcCurve curve) {
    return curve == EcCurve::p256 ? 256 : 384;
}

size_t ec_scalar_octets(EcCurve curve) {
    return ec_curve_bits(curve) / 8;
}

std::optional<EcCurve> ec_curve_of(const EVP_PKEY* key) {
    if (!key || EVP_PKEY_get_base_id(key) != EVP_PKEY_EC) return std::nullopt;
    char name[64] = {};
    size_t length = 0;
    if (EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, name, sizeof name,
                                       &length) != 1) {
        ERR_clear_error(); // explicit curve parameters: no name, not a curve we accept
        return std::nullopt;
    }
    switch (OBJ_txt2nid(name)) {
    case NID_X9_62_prime256v1:
        return EcCurve::p256;
    case NID_secp384r1:
        return EcCurve::p384;
    default:
        return std::nullopt;
    }
}

EcdsaPublicKey EcdsaPublicKey::from_der(std::span<const uint8_t> der) {
    const unsigned char* cursor = der.data();
    EvpPkeyPtr key(d2i_PUBKEY(nullptr, &cursor, static_cast<long>(der.size())));
    if (!key) throw_openssl_error("reading the key server's public key (DER SubjectPublicKeyInfo)");
    if (cursor != der.data() + der.size())
        throw CryptoError("trailing octets after the public key");
    return from_pkey(std::move(key));
}

EcdsaPublicKey EcdsaPublicKey::from_pkey(EvpPkeyPtr key) {
    if (!key) throw CryptoError("no key server public key");
    auto curve = ec_curve_of(key.get());
    if (!curve) throw CryptoError("the key server's public key is not an EC key on P-256 or P-384");
    check_public_point(key.get(), "the key server's public key");
    EcdsaPublicKey out;
    out.key_ = std::move(key);
    out.curve_ = *curve;
    return out;
}

EcdsaPublicKey EcdsaPublicKey::from_point(EcCurve curve, std::span<const uint8_t> uncompressed) {
    ParamBldPtr build(OSSL_PARAM_BLD_new());
    if (!build ||
        OSSL_PARAM_BLD_push_utf8_string(build.get(), OSSL_PKEY_PARAM_GROUP_NAME,
                                        openssl_group_name(curve), 0) != 1 ||
        OSSL_PARAM_BLD_push_octet_string(build.get(), OSSL_PKEY_PARAM_PUB_KEY, uncompressed.data(),
                                         uncompressed.size()) != 1)
        throw_openssl_error("EC public key parameters");
    ParamPtr params(OSSL_PARAM_BLD_to_param(build.get()));
    EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr));
    EVP_PKEY* raw = nullptr;
    if (!params || !ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
        EVP_PKEY_fromdata(ctx.get(), &raw, EVP_PKEY_PUBLIC_KEY, params.get()) != 1)
        throw_openssl_error(std::string("reading an ") + openssl_group_name(curve) + " point");
    EcdsaPublicKey out;
    out.key_.reset(raw);
    out.curve_ = curve;
    check_public_point(out.key_.get(), std::string(ec_curve_name(curve)) + " point");
    return out;
}

std::vector<uint8_t> EcdsaPublicKey::der() const {
    return spki_der(key_.get());
}

EcdsaVerdict EcdsaPublicKey::verify(HashAlgorithm hash, ByteSpans data,
                                    std::span<const uint8_t> signature) const {
    // RFC 4754 section 7 (paraphrased; the verbatim text was not reachable from here): r and s
    // each take exactly the size of the group order, big-endian, r first. A DER SEQUENCE is
    // another encoding of the same numbers, and is refused as such.
    const size_t n = ec_scalar_octets(curve_);
    if (signature.size() != 2 * n)
        return is_der_ecdsa_sig(signature) ? EcdsaVerdict::der_encoded : EcdsaVerdict::wrong_length;
    BignumPtr r(BN_bin2bn(signature.data(), static_cast<int>(n), nullptr));
    BignumPtr s(BN_bin2bn(signature.data() + n, static_cast<int>(n), nullptr));
    EcdsaSigPtr sig(ECDSA_SIG_new());
    if (!r || !s || !sig || ECDSA_SIG_set0(sig.get(), r.get(), s.get()) != 1)
        throw_openssl_error("ECDSA signature");
    r.release(); // owned by sig now
    s.release();
    unsigned char* der = nullptr;
    int der_length = i2d_ECDSA_SIG(sig.get(), &der);
    if (der_length <= 0) throw_openssl_error("ECDSA signature");
    std::unique_ptr<unsigned char, void (*)(unsigned char*)> der_owner(
        der, [](unsigned char* p) { OPENSSL_free(p); });

    const auto hashed = digest(hash, data);
    EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, key_.get(), nullptr));
    // OpenSSL checks 1 <= r, s < n itself; 0 is "does not verify", < 0 an error (same verdict).
    bool ok = ctx && EVP_PKEY_verify_init(ctx.get()) == 1 &&
              EVP_PKEY_verify(ctx.get(), der, static_cast<size_t>(der_length), hashed.data(),
                              hashed.size()) == 1;
    ERR_clear_error();
    return ok ? EcdsaVerdict::valid : EcdsaVerdict::invalid;
}

EcdsaPrivateKey EcdsaPrivateKey::generate(EcCurve curve) {
    EvpPkeyPtr key(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", openssl_group_name(curve)));
    if (!key)
        throw_openssl_error(std::string("generating an ") + openssl_group_name(curve) + " key");
    EcdsaPrivateKey out;
    out.key_ = std::move(key);
    out.curve_ = curve;
    return out;
}

EcdsaPrivateKey EcdsaPrivateKey::load_pem_file(const std::string& path) {
    std::unique_ptr<FILE, FileClose> file(std::fopen(path.c_str(), "r"));
    if (!file) throw CryptoError("cannot open EC private key file " + path);
    EvpPkeyPtr key(PEM_read_PrivateKey(file.get(), nullptr, nullptr, nullptr));
    if (!key) throw_openssl_error("reading PEM private key " + path);
    auto curve = ec_curve_of(key.get());
    if (!curve) throw CryptoError(path + " does not hold an EC private key on P-256 or P-384");
    EcdsaPrivateKey out;
    out.key_ = std::move(key);
    out.curve_ = *curve;
    return out;
}

std::vector<uint8_t> EcdsaPrivateKey::public_key_der() const {
    return spki_der(key_.get());
}

std::vector<uint8_t> EcdsaPrivateKey::sign(HashAlgorithm hash, ByteSpans data) const {
    const auto hashed = digest(hash, data);
    EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, key_.get(), nullptr));
    size_t length = 0;
    if (!ctx || EVP_PKEY_sign_init(ctx.get()) != 1 ||
        EVP_PKEY_sign(ctx.get(), nullptr, &length, hashed.data(), hashed.size()) != 1)
        throw_openssl_error("ECDSA sign");
    std::vector<uint8_t> der(length);
    if (EVP_PKEY_sign(ctx.get(), der.data(), &length, hashed.data(), hashed.size()) != 1)
        throw_openssl_error("ECDSA sign");
    const unsigned char* cursor = der.data();
    EcdsaSigPtr sig(d2i_ECDSA_SIG(nullptr, &cursor, static_cast<long>(length)));
    if (!sig) throw_openssl_error("ECDSA sign: reading OpenSSL's DER signature");
    const BIGNUM* r = nullptr;
    const BIGNUM* s = nullptr;
    ECDSA_SIG_get0(sig.get(), &r, &s);
    // RFC 4754 section 7: r | s, each left-padded with zeros to the size of the group order.
    const size_t n = ec_scalar_octets(curve_);
    std::vector<uint8_t> out(2 * n);
    if (BN_bn2binpad(r, out.data(), static_cast<int>(n)) != static_cast<int>(n) ||
        BN_bn2binpad(s, out.data() + n, static_cast<int>(n)) != static_cast<int>(n))
        throw_openssl_error("ECDSA sign: r or s larger than the group order");
    return out;
}

} // namespace gdoi::crypto
