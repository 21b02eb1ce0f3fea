#include "gdoi/crypto/dh_group.hpp"

#include "gdoi/crypto/ecp_group.hpp"

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
// RFC 3526 section 4: group 15
constexpr const char* modp3072_prime =
    "FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74"
    "020BBEA63B139B22514A08798E3404DDEF9519B3CD3A431B302B0A6DF25F1437"
    "4FE1356D6D51C245E485B576625E7EC6F44C42E9A637ED6B0BFF5CB6F406B7ED"
    "EE386BFB5A899FA5AE9F24117C4B1FE649286651ECE45B3DC2007CB8A163BF05"
    "98DA48361C55D39A69163FA8FD24CF5F83655D23DCA3AD961C62F356208552BB"
    "9ED529077096966D670C354E4ABC9804F1746C08CA18217C32905E462E36CE3B"
    "E39E772C180E86039B2783A2EC07A28FB5C55DF06F4C52C9DE2BCBF695581718"
    "3995497CEA956AE515D2261898FA051015728E5A8AAAC42DAD33170D04507A33"
    "A85521ABDF1CBA64ECFB850458DBEF0A8AEA71575D060C7DB3970F85A6E1E4C7"
    "ABF5AE8CDB0933D71E8C94E04A25619DCEE3D2261AD2EE6BF12FFA06D98A0864"
    "D87602733EC86A64521F2B18177B200CBBE117577A615D6C770988C0BAD946E2"
    "08E24FA074E5AB3143DB5BFCE0FD108E4B82D120A93AD2CAFFFFFFFFFFFFFFFF";
// RFC 3526 section 5: group 16
constexpr const char* modp4096_prime =
    "FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74"
    "020BBEA63B139B22514A08798E3404DDEF9519B3CD3A431B302B0A6DF25F1437"
    "4FE1356D6D51C245E485B576625E7EC6F44C42E9A637ED6B0BFF5CB6F406B7ED"
    "EE386BFB5A899FA5AE9F24117C4B1FE649286651ECE45B3DC2007CB8A163BF05"
    "98DA48361C55D39A69163FA8FD24CF5F83655D23DCA3AD961C62F356208552BB"
    "9ED529077096966D670C354E4ABC9804F1746C08CA18217C32905E462E36CE3B"
    "E39E772C180E86039B2783A2EC07A28FB5C55DF06F4C52C9DE2BCBF695581718"
    "3995497CEA956AE515D2261898FA051015728E5A8AAAC42DAD33170D04507A33"
    "A85521ABDF1CBA64ECFB850458DBEF0A8AEA71575D060C7DB3970F85A6E1E4C7"
    "ABF5AE8CDB0933D71E8C94E04A25619DCEE3D2261AD2EE6BF12FFA06D98A0864"
    "D87602733EC86A64521F2B18177B200CBBE117577A615D6C770988C0BAD946E2"
    "08E24FA074E5AB3143DB5BFCE0FD108E4B82D120A92108011A723C12A787E6D7"
    "88719A10BDBA5B2699C327186AF4E23C1A946834B6150BDA2583E9CA2AD44CE8"
    "DBBBC2DB04DE8EF92E8EFC141FBECAA6287C59474E6BC05D99B2964FA090C3A2"
    "233BA186515BE7ED1F612970CEE2D7AFB81BDD762170481CD0069127D5B05AA9"
    "93B4EA988D8FDDC186FFB7DC90A6C08F4DF435C934063199FFFFFFFFFFFFFFFF";

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
    case DhGroup::modp3072:
        return modp3072_prime;
    case DhGroup::modp4096:
        return modp4096_prime;
    case DhGroup::ecp256:
    case DhGroup::ecp384:
    case DhGroup::ecp521:
        break;
    }
    throw CryptoError(std::string(dh_group_name(group)) + " is not a MODP group");
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

std::string peer_value_prefix(DhGroup group) {
    return "peer's Diffie-Hellman public value for " + std::string(dh_group_name(group));
}

std::optional<std::string> modp_public_value_problem(DhGroup group,
                                                     std::span<const uint8_t> peer_public) {
    if (peer_public.size() != dh_prime_length(group))
        return peer_value_prefix(group) + " has " + std::to_string(peer_public.size()) +
               " octets, expected " + std::to_string(dh_prime_length(group));
    BignumPtr y(BN_bin2bn(peer_public.data(), static_cast<int>(peer_public.size()), nullptr));
    BignumPtr p_minus_1 = prime_of(group);
    if (!y || !p_minus_1 || BN_sub_word(p_minus_1.get(), 1) != 1)
        throw_openssl_error("DH public value check");
    if (BN_cmp(y.get(), BN_value_one()) > 0 && BN_cmp(y.get(), p_minus_1.get()) < 0)
        return std::nullopt;
    return peer_value_prefix(group) + " is not in 1 < y < p-1";
}

EvpPkeyPtr modp_generate(DhGroup group) {
    EvpPkeyPtr params = make_dh_pkey(group, nullptr);
    EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, params.get(), nullptr));
    EVP_PKEY* raw = nullptr;
    if (!ctx || EVP_PKEY_keygen_init(ctx.get()) != 1 || EVP_PKEY_generate(ctx.get(), &raw) != 1)
        throw_openssl_error(std::string("generating a ") + std::string(dh_group_name(group)) +
                            " key");
    return EvpPkeyPtr(raw);
}

std::vector<uint8_t> modp_public_value(DhGroup group, const EVP_PKEY* key) {
    BIGNUM* pub_raw = nullptr;
    if (EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_PUB_KEY, &pub_raw) != 1)
        throw_openssl_error("reading the DH public value");
    BignumPtr pub(pub_raw);
    std::vector<uint8_t> out(dh_prime_length(group));
    if (BN_bn2binpad(pub.get(), out.data(), static_cast<int>(out.size())) < 0)
        throw_openssl_error("encoding the DH public value");
    return out;
}

SecretBytes modp_shared_secret(DhGroup group, EVP_PKEY* own, std::span<const uint8_t> peer_public) {
    BignumPtr y(BN_bin2bn(peer_public.data(), static_cast<int>(peer_public.size()), nullptr));
    if (!y) throw_openssl_error("DH peer public value");
    EvpPkeyPtr peer = make_dh_pkey(group, y.get());
    EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, own, nullptr));
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
    if (length != dh_prime_length(group))
        throw CryptoError("DH shared secret has " + std::to_string(length) + " octets, expected " +
                          std::to_string(dh_prime_length(group)));
    return secret;
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
    case 15:
        return DhGroup::modp3072;
    case 16:
        return DhGroup::modp4096;
    case 19:
        return DhGroup::ecp256;
    case 20:
        return DhGroup::ecp384;
    case 21:
        return DhGroup::ecp521;
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
    case DhGroup::modp3072:
        return "MODP-3072 (group 15)";
    case DhGroup::modp4096:
        return "MODP-4096 (group 16)";
    case DhGroup::ecp256:
        return "ECP-256 (group 19)";
    case DhGroup::ecp384:
        return "ECP-384 (group 20)";
    case DhGroup::ecp521:
        return "ECP-521 (group 21)";
    }
    return "unknown group";
}

bool dh_group_is_elliptic(DhGroup group) {
    return group == DhGroup::ecp256 || group == DhGroup::ecp384 || group == DhGroup::ecp521;
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
    case DhGroup::modp3072:
        return 384;
    case DhGroup::modp4096:
        return 512;
    // RFC 5903 section 7: "component bit length" 256, 384 and 528 (521 rounded up to octets).
    case DhGroup::ecp256:
        return 32;
    case DhGroup::ecp384:
        return 48;
    case DhGroup::ecp521:
        return 66;
    }
    throw CryptoError("unknown Diffie-Hellman group");
}

size_t dh_public_value_length(DhGroup group) {
    return dh_group_is_elliptic(group) ? 2 * dh_prime_length(group) : dh_prime_length(group);
}

size_t dh_shared_secret_length(DhGroup group) {
    return dh_prime_length(group);
}

std::optional<std::string> dh_public_value_problem(DhGroup group,
                                                   std::span<const uint8_t> peer_public) {
    if (!dh_group_is_elliptic(group)) return modp_public_value_problem(group, peer_public);
    if (peer_public.size() != dh_public_value_length(group))
        return peer_value_prefix(group) + " has " + std::to_string(peer_public.size()) +
               " octets, expected " + std::to_string(dh_public_value_length(group)) +
               " (x | y, RFC 5903 section 7)";
    if (!ecp::peer_key(group, peer_public))
        return peer_value_prefix(group) + " is not a point on the curve";
    return std::nullopt;
}

DiffieHellman::DiffieHellman(DhGroup group)
    : DiffieHellman(group,
                    dh_group_is_elliptic(group) ? ecp::generate(group) : modp_generate(group)) {}

DiffieHellman::DiffieHellman(DhGroup group, EvpPkeyPtr key) : group_(group), key_(std::move(key)) {
    public_value_ = dh_group_is_elliptic(group) ? ecp::public_value(group, key_.get())
                                                : modp_public_value(group, key_.get());
}

DiffieHellman DiffieHellman::from_private_for_test(DhGroup group,
                                                   std::span<const uint8_t> private_scalar) {
    if (!dh_group_is_elliptic(group))
        throw CryptoError("from_private_for_test takes ECP groups only, not " +
                          std::string(dh_group_name(group)));
    return DiffieHellman(group, ecp::key_from_private(group, private_scalar));
}

SecretBytes DiffieHellman::shared_secret(std::span<const uint8_t> peer_public) const {
    if (!dh_group_is_elliptic(group_)) {
        if (auto problem = modp_public_value_problem(group_, peer_public))
            throw CryptoError(*problem);
        return modp_shared_secret(group_, key_.get(), peer_public);
    }
    EvpPkeyPtr peer = ecp::peer_key(group_, peer_public);
    if (!peer)
        throw CryptoError(dh_public_value_problem(group_, peer_public)
                              .value_or(peer_value_prefix(group_) + " was refused by OpenSSL"));
    return ecp::shared_secret(group_, key_.get(), peer.get());
}

} // namespace gdoi::crypto
