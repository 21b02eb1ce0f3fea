#include "gdoi/crypto/ecp_group.hpp"

#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/obj_mac.h>
#include <string>

namespace gdoi::crypto::ecp {

namespace {

struct EcGroupFree {
    void operator()(EC_GROUP* p) const { EC_GROUP_free(p); }
};
struct EcPointFree {
    void operator()(EC_POINT* p) const { EC_POINT_clear_free(p); }
};
using EcGroupPtr = std::unique_ptr<EC_GROUP, EcGroupFree>;
using EcPointPtr = std::unique_ptr<EC_POINT, EcPointFree>;

// RFC 5903 section 5 aligns the groups with NIST's curves; OpenSSL knows them by these names.
const char* curve_name(DhGroup group) {
    switch (group) {
    case DhGroup::ecp256:
        return "P-256";
    case DhGroup::ecp384:
        return "P-384";
    case DhGroup::ecp521:
        return "P-521";
    default:
        break;
    }
    throw CryptoError(std::string(dh_group_name(group)) + " is not an ECP group");
}

int curve_nid(DhGroup group) {
    switch (group) {
    case DhGroup::ecp256:
        return NID_X9_62_prime256v1;
    case DhGroup::ecp384:
        return NID_secp384r1;
    case DhGroup::ecp521:
        return NID_secp521r1;
    default:
        break;
    }
    throw CryptoError(std::string(dh_group_name(group)) + " is not an ECP group");
}

// An EC key from OSSL_PARAMs: the curve, and an encoded public point and/or a private scalar.
// Null when OpenSSL refuses the values (for a public point: not on the curve).
EvpPkeyPtr ec_key_from_data(DhGroup group, std::span<const uint8_t> encoded_point,
                            const BIGNUM* private_scalar) {
    ParamBldPtr builder(OSSL_PARAM_BLD_new());
    if (!builder ||
        OSSL_PARAM_BLD_push_utf8_string(builder.get(), OSSL_PKEY_PARAM_GROUP_NAME,
                                        curve_name(group), 0) != 1 ||
        OSSL_PARAM_BLD_push_octet_string(builder.get(), OSSL_PKEY_PARAM_PUB_KEY,
                                         encoded_point.data(), encoded_point.size()) != 1 ||
        (private_scalar &&
         OSSL_PARAM_BLD_push_BN(builder.get(), OSSL_PKEY_PARAM_PRIV_KEY, private_scalar) != 1))
        throw_openssl_error("EC key parameters");
    ParamPtr params(OSSL_PARAM_BLD_to_param(builder.get()));
    EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr));
    if (!params || !ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1)
        throw_openssl_error("EC key object");
    EVP_PKEY* raw = nullptr;
    if (EVP_PKEY_fromdata(ctx.get(), &raw, private_scalar ? EVP_PKEY_KEYPAIR : EVP_PKEY_PUBLIC_KEY,
                          params.get()) != 1) {
        ERR_clear_error();
        return nullptr;
    }
    return EvpPkeyPtr(raw);
}

void append_padded(std::vector<uint8_t>& out, const BIGNUM* value, size_t length) {
    size_t at = out.size();
    out.resize(at + length);
    if (BN_bn2binpad(value, out.data() + at, static_cast<int>(length)) < 0)
        throw_openssl_error("encoding an EC coordinate");
}

} // namespace

EvpPkeyPtr generate(DhGroup group) {
    EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr));
    EVP_PKEY* raw = nullptr;
    if (!ctx || EVP_PKEY_keygen_init(ctx.get()) != 1 ||
        EVP_PKEY_CTX_set_group_name(ctx.get(), curve_name(group)) != 1 ||
        EVP_PKEY_generate(ctx.get(), &raw) != 1)
        throw_openssl_error("generating a " + std::string(dh_group_name(group)) + " key");
    return EvpPkeyPtr(raw);
}

EvpPkeyPtr key_from_private(DhGroup group, std::span<const uint8_t> private_scalar) {
    const std::string what = std::string(dh_group_name(group)) + " private scalar";
    if (private_scalar.size() != dh_prime_length(group))
        throw CryptoError(what + " has " + std::to_string(private_scalar.size()) +
                          " octets, expected " + std::to_string(dh_prime_length(group)));
    BignumPtr d(BN_bin2bn(private_scalar.data(), static_cast<int>(private_scalar.size()), nullptr));
    EcGroupPtr curve(EC_GROUP_new_by_curve_name(curve_nid(group)));
    if (!d || !curve) throw_openssl_error(what);
    const BIGNUM* order = EC_GROUP_get0_order(curve.get());
    if (BN_is_zero(d.get()) || BN_cmp(d.get(), order) >= 0)
        throw CryptoError(what + " is not in 0 < d < n");
    // OpenSSL does not derive the public point when given only the private scalar: d * G.
    EcPointPtr point(EC_POINT_new(curve.get()));
    if (!point || EC_POINT_mul(curve.get(), point.get(), d.get(), nullptr, nullptr, nullptr) != 1)
        throw_openssl_error(what);
    std::vector<uint8_t> encoded(1 + dh_public_value_length(group));
    if (EC_POINT_point2oct(curve.get(), point.get(), POINT_CONVERSION_UNCOMPRESSED, encoded.data(),
                           encoded.size(), nullptr) != encoded.size())
        throw_openssl_error(what);
    EvpPkeyPtr key = ec_key_from_data(group, encoded, d.get());
    if (!key) throw CryptoError(what + " was refused by OpenSSL");
    return key;
}

std::vector<uint8_t> public_value(DhGroup group, const EVP_PKEY* key) {
    BIGNUM* x_raw = nullptr;
    BIGNUM* y_raw = nullptr;
    if (EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_EC_PUB_X, &x_raw) != 1)
        throw_openssl_error("reading the EC public point");
    BignumPtr x(x_raw);
    if (EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_EC_PUB_Y, &y_raw) != 1)
        throw_openssl_error("reading the EC public point");
    BignumPtr y(y_raw);
    // RFC 5903 section 7: "The Diffie-Hellman public value is obtained by concatenating the x
    // and y values", each "enforced, if necessary, by prepending the value with zeros" to the
    // component bit length. No SEC 1 0x04 octet.
    std::vector<uint8_t> out;
    out.reserve(dh_public_value_length(group));
    append_padded(out, x.get(), dh_prime_length(group));
    append_padded(out, y.get(), dh_prime_length(group));
    return out;
}

EvpPkeyPtr peer_key(DhGroup group, std::span<const uint8_t> peer_public) {
    if (peer_public.size() != dh_public_value_length(group)) return nullptr;
    // As an uncompressed SEC 1 point. OpenSSL refuses coordinates not below p and points not
    // on the curve. x | y has no way to spell the point at infinity (SEC 1 writes it as a lone
    // 0x00), and (0, 0) is not on these curves (b != 0), so the all-zero value is refused too.
    std::vector<uint8_t> encoded;
    encoded.reserve(1 + peer_public.size());
    encoded.push_back(POINT_CONVERSION_UNCOMPRESSED);
    encoded.insert(encoded.end(), peer_public.begin(), peer_public.end());
    EvpPkeyPtr key = ec_key_from_data(group, encoded, nullptr);
    if (!key) return nullptr;
    // The full public-key validation (on the curve, not infinity, of order n) as a second
    // opinion: an invalid point would leak the private scalar (invalid-curve attack). RFC 5903
    // itself checks nothing; RFC 6989 made such tests mandatory for IKEv2's ECP groups, and
    // the attack is the same in IKEv1.
    EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, key.get(), nullptr));
    if (!ctx) throw_openssl_error("EC public key check");
    if (EVP_PKEY_public_check(ctx.get()) != 1) {
        ERR_clear_error();
        return nullptr;
    }
    return key;
}

SecretBytes shared_secret(DhGroup group, EVP_PKEY* own, EVP_PKEY* peer) {
    EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, own, nullptr));
    if (!ctx || EVP_PKEY_derive_init(ctx.get()) != 1 ||
        EVP_PKEY_derive_set_peer(ctx.get(), peer) != 1)
        throw_openssl_error("ECDH key agreement");
    size_t length = 0;
    if (EVP_PKEY_derive(ctx.get(), nullptr, &length) != 1)
        throw_openssl_error("ECDH key agreement");
    // RFC 5903 section 7: "The Diffie-Hellman shared secret value consists of the x value of
    // the Diffie-Hellman common value" (OpenSSL's ECDH output: x, padded to the field).
    SecretBytes secret(length);
    if (EVP_PKEY_derive(ctx.get(), secret.reveal_mutable().data(), &length) != 1)
        throw_openssl_error("ECDH key agreement");
    if (length != dh_shared_secret_length(group))
        throw CryptoError("ECDH shared secret has " + std::to_string(length) +
                          " octets, expected " + std::to_string(dh_shared_secret_length(group)));
    return secret;
}

} // namespace gdoi::crypto::ecp
