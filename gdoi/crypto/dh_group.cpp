#include "gdoi/crypto/dh_group.hpp"

#include <openssl/core_names.h>
#include <openssl/dh.h>
#include <string>

namespace gdoi::crypto {

namespace {

// The primes as the RFCs print them; every group uses generator 2.
// RFC 2409 section 6.1: group 1
constexpr const char* modp768_prime =
    "FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74"
    "020BBEA63B139B22514A08798E3404DDEF9519B3CD3A431B302B0A6DF25F1437"
    "4FE1356D6D51C245E485B576625E7EC6F44C42E9A63A3620FFFFFFFFFFFFFFFF";
// RFC 2409 section 6.2: group 2
constexpr const char* modp1024_prime =
    "FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74"
    "020BBEA63B139B22514A08798E3404DDEF9519B3CD3A431B302B0A6DF25F1437"
    "4FE1356D6D51C245E485B576625E7EC6F44C42E9A637ED6B0BFF5CB6F406B7ED"
    "EE386BFB5A899FA5AE9F24117C4B1FE649286651ECE65381FFFFFFFFFFFFFFFF";
// RFC 3526 section 2: group 5
constexpr const char* modp1536_prime =
    "FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74"
    "020BBEA63B139B22514A08798E3404DDEF9519B3CD3A431B302B0A6DF25F1437"
    "4FE1356D6D51C245E485B576625E7EC6F44C42E9A637ED6B0BFF5CB6F406B7ED"
    "EE386BFB5A899FA5AE9F24117C4B1FE649286651ECE45B3DC2007CB8A163BF05"
    "98DA48361C55D39A69163FA8FD24CF5F83655D23DCA3AD961C62F356208552BB"
    "9ED529077096966D670C354E4ABC9804F1746C08CA237327FFFFFFFFFFFFFFFF";
// RFC 3526 section 3: group 14
constexpr const char* modp2048_prime =
    "FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74"
    "020BBEA63B139B22514A08798E3404DDEF9519B3CD3A431B302B0A6DF25F1437"
    "4FE1356D6D51C245E485B576625E7EC6F44C42E9A637ED6B0BFF5CB6F406B7ED"
    "EE386BFB5A899FA5AE9F24117C4B1FE649286651ECE45B3DC2007CB8A163BF05"
    "98DA48361C55D39A69163FA8FD24CF5F83655D23DCA3AD961C62F356208552BB"
    "9ED529077096966D670C354E4ABC9804F1746C08CA18217C32905E462E36CE3B"
    "E39E772C180E86039B2783A2EC07A28FB5C55DF06F4C52C9DE2BCBF695581718"
    "3995497CEA956AE515D2261898FA051015728E5A8AACAA68FFFFFFFFFFFFFFFF";

const char* prime_hex(DhGroup group) {
    switch (group) {
    case DhGroup::modp768:
        return modp768_prime;
    case DhGroup::modp1024:
        return modp1024_prime;
    case DhGroup::modp1536:
        return modp1536_prime;
    case DhGroup::modp2048:
        return modp2048_prime;
    }
    throw CryptoError("unknown Diffie-Hellman group");
}

BignumPtr bignum_from_hex(const char* hex) {
    BIGNUM* raw = nullptr;
    if (BN_hex2bn(&raw, hex) == 0) throw_openssl_error("parsing a MODP prime");
    return BignumPtr(raw);
}

BignumPtr prime_of(DhGroup group) {
    return bignum_from_hex(prime_hex(group));
}

// An EVP_PKEY of type DH with the group's p and g and, if given, a public value.
EvpPkeyPtr make_dh_pkey(DhGroup group, const BIGNUM* public_value) {
    BignumPtr p = prime_of(group);
    BignumPtr g(BN_new());
    if (!g || BN_set_word(g.get(), 2) != 1) throw_openssl_error("DH generator");
    ParamBldPtr builder(OSSL_PARAM_BLD_new());
    if (!builder || OSSL_PARAM_BLD_push_BN(builder.get(), OSSL_PKEY_PARAM_FFC_P, p.get()) != 1 ||
        OSSL_PARAM_BLD_push_BN(builder.get(), OSSL_PKEY_PARAM_FFC_G, g.get()) != 1)
        throw_openssl_error("DH parameters");
    if (public_value &&
        OSSL_PARAM_BLD_push_BN(builder.get(), OSSL_PKEY_PARAM_PUB_KEY, public_value) != 1)
        throw_openssl_error("DH peer public value");
    ParamPtr params(OSSL_PARAM_BLD_to_param(builder.get()));
    if (!params) throw_openssl_error("DH parameters");
    EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, "DH", nullptr));
    EVP_PKEY* raw = nullptr;
    if (!ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
        EVP_PKEY_fromdata(ctx.get(), &raw,
                          public_value ? EVP_PKEY_PUBLIC_KEY : EVP_PKEY_KEY_PARAMETERS,
                          params.get()) != 1)
        throw_openssl_error("DH key object");
    return EvpPkeyPtr(raw);
}

} // namespace

std::optional<DhGroup> dh_group_from_number(uint16_t number) {
    switch (number) {
    case 1:
        return DhGroup::modp768;
    case 2:
        return DhGroup::modp1024;
    case 5:
        return DhGroup::modp1536;
    case 14:
        return DhGroup::modp2048;
    default:
        return std::nullopt;
    }
}

std::string_view dh_group_name(DhGroup group) {
    switch (group) {
    case DhGroup::modp768:
        return "MODP-768 (group 1)";
    case DhGroup::modp1024:
        return "MODP-1024 (group 2)";
    case DhGroup::modp1536:
        return "MODP-1536 (group 5)";
    case DhGroup::modp2048:
        return "MODP-2048 (group 14)";
    }
    return "unknown group";
}

size_t dh_prime_length(DhGroup group) {
    switch (group) {
    case DhGroup::modp768:
        return 96;
    case DhGroup::modp1024:
        return 128;
    case DhGroup::modp1536:
        return 192;
    case DhGroup::modp2048:
        return 256;
    }
    throw CryptoError("unknown Diffie-Hellman group");
}

bool dh_public_value_acceptable(DhGroup group, std::span<const uint8_t> peer_public) {
    if (peer_public.size() != dh_prime_length(group)) return false;
    BignumPtr y(BN_bin2bn(peer_public.data(), static_cast<int>(peer_public.size()), nullptr));
    BignumPtr p_minus_1 = prime_of(group);
    if (!y || !p_minus_1 || BN_sub_word(p_minus_1.get(), 1) != 1)
        throw_openssl_error("DH public value check");
    return BN_cmp(y.get(), BN_value_one()) > 0 && BN_cmp(y.get(), p_minus_1.get()) < 0;
}

DiffieHellman::DiffieHellman(DhGroup group) : group_(group) {
    EvpPkeyPtr params = make_dh_pkey(group, nullptr);
    EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, params.get(), nullptr));
    EVP_PKEY* raw = nullptr;
    if (!ctx || EVP_PKEY_keygen_init(ctx.get()) != 1 || EVP_PKEY_generate(ctx.get(), &raw) != 1)
        throw_openssl_error(std::string("generating a ") + std::string(dh_group_name(group)) +
                            " key");
    key_.reset(raw);
    BIGNUM* pub_raw = nullptr;
    if (EVP_PKEY_get_bn_param(key_.get(), OSSL_PKEY_PARAM_PUB_KEY, &pub_raw) != 1)
        throw_openssl_error("reading the DH public value");
    BignumPtr pub(pub_raw);
    public_value_.resize(dh_prime_length(group));
    if (BN_bn2binpad(pub.get(), public_value_.data(), static_cast<int>(public_value_.size())) < 0)
        throw_openssl_error("encoding the DH public value");
}

SecretBytes DiffieHellman::shared_secret(std::span<const uint8_t> peer_public) const {
    if (!dh_public_value_acceptable(group_, peer_public))
        throw CryptoError("peer's Diffie-Hellman public value is not in 1 < y < p-1 for " +
                          std::string(dh_group_name(group_)) + " (" +
                          std::to_string(peer_public.size()) + " octets)");
    BignumPtr y(BN_bin2bn(peer_public.data(), static_cast<int>(peer_public.size()), nullptr));
    if (!y) throw_openssl_error("DH peer public value");
    EvpPkeyPtr peer = make_dh_pkey(group_, y.get());
    EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, key_.get(), nullptr));
    if (!ctx || EVP_PKEY_derive_init(ctx.get()) != 1 ||
        // RFC 2409 uses g^xy at the full prime length; keep the leading zeros.
        EVP_PKEY_CTX_set_dh_pad(ctx.get(), 1) != 1 ||
        EVP_PKEY_derive_set_peer(ctx.get(), peer.get()) != 1)
        throw_openssl_error("DH key agreement");
    size_t length = 0;
    if (EVP_PKEY_derive(ctx.get(), nullptr, &length) != 1) throw_openssl_error("DH key agreement");
    SecretBytes secret(length);
    if (EVP_PKEY_derive(ctx.get(), secret.reveal_mutable().data(), &length) != 1)
        throw_openssl_error("DH key agreement");
    if (length != dh_prime_length(group_))
        throw CryptoError("DH shared secret has " + std::to_string(length) + " octets, expected " +
                          std::to_string(dh_prime_length(group_)));
    return secret;
}

} // namespace gdoi::crypto
