// MODP groups 15 and 16 (RFC 3526 sections 4 and 5). RFC 3526 has no test vectors, so the
// primes are pinned against OpenSSL's own copies of them (the named groups "modp_3072" and
// "modp_4096", typed into OpenSSL independently of ours), and a key exchange with an OpenSSL
// key of that named group must agree with ours.
#include "gdoi/crypto/dh_group.hpp"
#include "gdoi/crypto/openssl_error.hpp"

#include <catch2/catch.hpp>
#include <openssl/core_names.h>
#include <openssl/dh.h>
#include <string>

using namespace gdoi;
using namespace gdoi::crypto;
using Bytes = std::vector<uint8_t>;

namespace {

struct NamedGroup {
    DhGroup group;
    const char* openssl_name;
    size_t octets;
};
const NamedGroup named_groups[] = {{DhGroup::modp3072, "modp_3072", 384},
                                   {DhGroup::modp4096, "modp_4096", 512}};

// A DH key of OpenSSL's named group: fresh (public == nullptr) or just a peer's public value.
EvpPkeyPtr openssl_key(const char* name, const BIGNUM* public_value) {
    ParamBldPtr builder(OSSL_PARAM_BLD_new());
    REQUIRE(builder);
    REQUIRE(OSSL_PARAM_BLD_push_utf8_string(builder.get(), OSSL_PKEY_PARAM_GROUP_NAME, name, 0));
    if (public_value)
        REQUIRE(OSSL_PARAM_BLD_push_BN(builder.get(), OSSL_PKEY_PARAM_PUB_KEY, public_value));
    ParamPtr params(OSSL_PARAM_BLD_to_param(builder.get()));
    EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, "DH", nullptr));
    REQUIRE(ctx);
    REQUIRE(EVP_PKEY_fromdata_init(ctx.get()) == 1);
    EVP_PKEY* raw = nullptr;
    REQUIRE(EVP_PKEY_fromdata(ctx.get(), &raw,
                              public_value ? EVP_PKEY_PUBLIC_KEY : EVP_PKEY_KEY_PARAMETERS,
                              params.get()) == 1);
    EvpPkeyPtr key(raw);
    if (public_value) return key;
    EvpPkeyCtxPtr gen(EVP_PKEY_CTX_new_from_pkey(nullptr, key.get(), nullptr));
    REQUIRE(gen);
    REQUIRE(EVP_PKEY_keygen_init(gen.get()) == 1);
    EVP_PKEY* fresh = nullptr;
    REQUIRE(EVP_PKEY_generate(gen.get(), &fresh) == 1);
    return EvpPkeyPtr(fresh);
}

Bytes padded(const BIGNUM* value, size_t octets) {
    Bytes out(octets);
    REQUIRE(BN_bn2binpad(value, out.data(), static_cast<int>(octets)) == static_cast<int>(octets));
    return out;
}

BignumPtr bn_param(const EVP_PKEY* key, const char* name) {
    BIGNUM* raw = nullptr;
    REQUIRE(EVP_PKEY_get_bn_param(key, name, &raw) == 1);
    return BignumPtr(raw);
}

Bytes bytes_of(const SecretBytes& s) {
    return Bytes(s.reveal().begin(), s.reveal().end());
}

} // namespace

TEST_CASE("MODP 15/16: group numbers, names and sizes", "[crypto][dh][modp]") {
    CHECK(dh_group_from_number(15) == DhGroup::modp3072);
    CHECK(dh_group_from_number(16) == DhGroup::modp4096);
    CHECK_FALSE(dh_group_from_number(17)); // 6144 and 8192 bits: not offered
    CHECK_FALSE(dh_group_from_number(18));
    CHECK(dh_group_name(DhGroup::modp3072) == "MODP-3072 (group 15)");
    CHECK(dh_group_name(DhGroup::modp4096) == "MODP-4096 (group 16)");
    for (const auto& g : named_groups) {
        CHECK_FALSE(dh_group_is_elliptic(g.group));
        CHECK(dh_prime_length(g.group) == g.octets);
        CHECK(dh_public_value_length(g.group) == g.octets);
        CHECK(dh_shared_secret_length(g.group) == g.octets);
    }
}

TEST_CASE("MODP 15/16: the prime is OpenSSL's copy of the RFC 3526 prime", "[crypto][dh][modp]") {
    for (const auto& g : named_groups) {
        CAPTURE(g.openssl_name);
        EvpPkeyPtr reference = openssl_key(g.openssl_name, nullptr);
        BignumPtr p = bn_param(reference.get(), OSSL_PKEY_PARAM_FFC_P);
        BignumPtr generator = bn_param(reference.get(), OSSL_PKEY_PARAM_FFC_G);
        REQUIRE(BN_is_word(generator.get(), 2)); // RFC 3526: "The generator is: 2."
        REQUIRE(BN_num_bytes(p.get()) == static_cast<int>(g.octets));
        // Our acceptance rule is 1 < y < p-1 with our p. p-2 accepted and p-1 refused pins our
        // p to exactly OpenSSL's: p-2 < ours-1 <= p-1.
        BignumPtr p_minus_1(BN_dup(p.get())), p_minus_2(BN_dup(p.get()));
        REQUIRE(BN_sub_word(p_minus_1.get(), 1));
        REQUIRE(BN_sub_word(p_minus_2.get(), 2));
        CHECK(dh_public_value_acceptable(g.group, padded(p_minus_2.get(), g.octets)));
        CHECK_FALSE(dh_public_value_acceptable(g.group, padded(p_minus_1.get(), g.octets)));
        CHECK_FALSE(dh_public_value_acceptable(g.group, padded(p.get(), g.octets)));
    }
}

TEST_CASE("MODP 15/16: we agree with an OpenSSL key of the named group", "[crypto][dh][modp]") {
    for (const auto& g : named_groups) {
        CAPTURE(g.openssl_name);
        DiffieHellman ours(g.group);
        CHECK(ours.public_value().size() == g.octets);
        EvpPkeyPtr theirs = openssl_key(g.openssl_name, nullptr);
        BignumPtr their_public = bn_param(theirs.get(), OSSL_PKEY_PARAM_PUB_KEY);
        auto our_secret = ours.shared_secret(padded(their_public.get(), g.octets));
        CHECK(our_secret.size() == g.octets);

        BignumPtr our_public(
            BN_bin2bn(ours.public_value().data(), static_cast<int>(g.octets), nullptr));
        EvpPkeyPtr peer = openssl_key(g.openssl_name, our_public.get());
        EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, theirs.get(), nullptr));
        REQUIRE(ctx);
        REQUIRE(EVP_PKEY_derive_init(ctx.get()) == 1);
        REQUIRE(EVP_PKEY_CTX_set_dh_pad(ctx.get(), 1) == 1);
        REQUIRE(EVP_PKEY_derive_set_peer(ctx.get(), peer.get()) == 1);
        Bytes their_secret(g.octets);
        size_t length = their_secret.size();
        REQUIRE(EVP_PKEY_derive(ctx.get(), their_secret.data(), &length) == 1);
        CHECK(length == g.octets);
        CHECK(bytes_of(our_secret) == their_secret);
    }
}

TEST_CASE("MODP 15/16: two instances agree; values are prime-length", "[crypto][dh][modp]") {
    for (const auto& g : named_groups) {
        CAPTURE(g.openssl_name);
        DiffieHellman alice(g.group), bob(g.group);
        CHECK(alice.public_value().size() == g.octets);
        CHECK(bob.public_value().size() == g.octets);
        CHECK(alice.public_value() != bob.public_value());
        auto a = alice.shared_secret(bob.public_value());
        CHECK(a.size() == g.octets);
        CHECK(a == bob.shared_secret(alice.public_value()));
    }
}

TEST_CASE("MODP 15/16: 0, 1, p-1, p and values of the wrong length are refused",
          "[crypto][dh][modp]") {
    for (const auto& g : named_groups) {
        const std::string name(dh_group_name(g.group));
        CAPTURE(name);
        DiffieHellman dh(g.group);
        BignumPtr p = bn_param(openssl_key(g.openssl_name, nullptr).get(), OSSL_PKEY_PARAM_FFC_P);
        BignumPtr p_minus_1(BN_dup(p.get()));
        REQUIRE(BN_sub_word(p_minus_1.get(), 1));
        Bytes zero(g.octets, 0), one(g.octets, 0), two(g.octets, 0);
        one.back() = 1;
        two.back() = 2;
        for (const auto& value : {zero, one, padded(p_minus_1.get(), g.octets),
                                  padded(p.get(), g.octets), Bytes(g.octets, 0xff)}) {
            CHECK_FALSE(dh_public_value_acceptable(g.group, value));
            CHECK_THROWS_WITH(dh.shared_secret(value),
                              Catch::Contains(name) && Catch::Contains("1 < y < p-1"));
        }
        // A valid value with a leading zero octet more, or one less: wrong length.
        Bytes long_two = two;
        long_two.insert(long_two.begin(), 0);
        Bytes short_two(two.begin() + 1, two.end());
        for (const auto& value : {long_two, short_two, Bytes{}}) {
            CAPTURE(value.size());
            CHECK_FALSE(dh_public_value_acceptable(g.group, value));
            CHECK_THROWS_WITH(dh.shared_secret(value),
                              Catch::Contains(name) &&
                                  Catch::Contains("expected " + std::to_string(g.octets)));
        }
        CHECK(dh_public_value_acceptable(g.group, two));
        CHECK(dh.shared_secret(two).size() == g.octets);
    }
}
