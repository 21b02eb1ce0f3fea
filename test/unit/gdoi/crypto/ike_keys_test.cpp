// RFC 2409 key derivation, key expansion and IV chaining, checked against an independent
// computation written here with straight OpenSSL one-shot calls.
#include "gdoi/crypto/ike_keys.hpp"
#include "gdoi/crypto/isakmp_cipher.hpp"
#include "gdoi/crypto/openssl_error.hpp"
#include "test/support/pcap_reader.hpp"

#include <catch2/catch.hpp>
#include <openssl/evp.h>
#include <openssl/hmac.h>

using namespace gdoi;
using namespace gdoi::crypto;
using Bytes = std::vector<uint8_t>;

namespace {

const EVP_MD* md(HashAlgorithm hash) {
    switch (hash) {
    case HashAlgorithm::md5:
        return EVP_md5();
    case HashAlgorithm::sha1:
        return EVP_sha1();
    case HashAlgorithm::sha256:
        return EVP_sha256();
    case HashAlgorithm::sha384:
        return EVP_sha384();
    case HashAlgorithm::sha512:
        return EVP_sha512();
    }
    FAIL("unknown hash");
    return nullptr;
}

Bytes cat(std::initializer_list<Bytes> parts) {
    Bytes out;
    for (const auto& p : parts)
        out.insert(out.end(), p.begin(), p.end());
    return out;
}

Bytes reference_hmac(HashAlgorithm hash, const Bytes& key, const Bytes& data) {
    unsigned char out[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    REQUIRE(HMAC(md(hash), key.data(), static_cast<int>(key.size()), data.data(), data.size(), out,
                 &length));
    return Bytes(out, out + length);
}

Bytes reference_digest(HashAlgorithm hash, const Bytes& data) {
    unsigned char out[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    REQUIRE(EVP_Digest(data.data(), data.size(), out, &length, md(hash), nullptr) == 1);
    return Bytes(out, out + length);
}

Bytes reference_cbc(const EVP_CIPHER* cipher, const Bytes& key, const Bytes& iv, const Bytes& in) {
    EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
    REQUIRE(ctx);
    Bytes out(in.size() + 32);
    int a = 0, b = 0;
    REQUIRE(EVP_EncryptInit_ex(ctx, cipher, nullptr, key.data(), iv.data()) == 1);
    EVP_CIPHER_CTX_set_padding(ctx, 0);
    REQUIRE(EVP_EncryptUpdate(ctx, out.data(), &a, in.data(), static_cast<int>(in.size())) == 1);
    REQUIRE(EVP_EncryptFinal_ex(ctx, out.data() + a, &b) == 1);
    EVP_CIPHER_CTX_free(ctx);
    out.resize(static_cast<size_t>(a + b));
    return out;
}

Bytes bytes_of(const SecretBytes& s) {
    return Bytes(s.reveal().begin(), s.reveal().end());
}

Bytes pattern(size_t n, uint8_t seed) {
    Bytes out(n);
    for (size_t i = 0; i < n; ++i)
        out[i] = static_cast<uint8_t>(seed + i * 7);
    return out;
}

} // namespace

TEST_CASE("SKEYID and SKEYID_d/a/e follow RFC 2409 section 5", "[crypto][ike]") {
    const Bytes psk = pattern(24, 1), ni = pattern(16, 2), nr = pattern(20, 3),
                gxy = pattern(128, 4), ci = pattern(8, 5), cr = pattern(8, 6);
    for (auto hash : {HashAlgorithm::md5, HashAlgorithm::sha1, HashAlgorithm::sha256,
                      HashAlgorithm::sha384, HashAlgorithm::sha512}) {
        CAPTURE(hash_name(hash));
        auto skeyid = skeyid_pre_shared(hash, SecretBytes(psk), ni, nr);
        const Bytes s = reference_hmac(hash, psk, cat({ni, nr}));
        CHECK(bytes_of(skeyid) == s);
        auto keys = derive_phase1_keys(hash, CbcCipher::aes128, skeyid, SecretBytes(gxy), ci, cr);
        const Bytes d = reference_hmac(hash, s, cat({gxy, ci, cr, {0}}));
        const Bytes a = reference_hmac(hash, s, cat({d, gxy, ci, cr, {1}}));
        const Bytes e = reference_hmac(hash, s, cat({a, gxy, ci, cr, {2}}));
        CHECK(bytes_of(keys.skeyid_d) == d);
        CHECK(bytes_of(keys.skeyid_a) == a);
        CHECK(bytes_of(keys.skeyid_e) == e);
        CHECK(bytes_of(keys.encryption_key) == Bytes(e.begin(), e.begin() + 16));
    }
}

TEST_CASE("the encryption key is expanded per RFC 2409 appendix B when SKEYID_e is short",
          "[crypto][ike]") {
    struct Case {
        HashAlgorithm hash;
        size_t key_length;
    };
    // MD5 (16) for 3DES (24) and AES-256 (32), SHA-1 (20) for 3DES/AES-192/AES-256: expansion;
    // SHA-256 (32) for AES-256, SHA-384 (48) and SHA-512 (64) for every cipher: truncation only.
    for (auto c :
         {Case{HashAlgorithm::md5, 24}, Case{HashAlgorithm::md5, 32}, Case{HashAlgorithm::sha1, 24},
          Case{HashAlgorithm::sha1, 32}, Case{HashAlgorithm::sha256, 32},
          Case{HashAlgorithm::sha256, 16}, Case{HashAlgorithm::sha384, 16},
          Case{HashAlgorithm::sha384, 24}, Case{HashAlgorithm::sha384, 32},
          Case{HashAlgorithm::sha512, 24}, Case{HashAlgorithm::sha512, 32}}) {
        CAPTURE(hash_name(c.hash), c.key_length);
        const Bytes skeyid_e = pattern(hash_length(c.hash), 9);
        Bytes expected;
        if (skeyid_e.size() >= c.key_length) {
            expected = skeyid_e;
        } else {
            Bytes k = reference_hmac(c.hash, skeyid_e, Bytes{0}); // K1 = prf(SKEYID_e, 0)
            expected = k;
            while (expected.size() < c.key_length) {
                k = reference_hmac(c.hash, skeyid_e, k); // Kn = prf(SKEYID_e, Kn-1)
                expected.insert(expected.end(), k.begin(), k.end());
            }
        }
        expected.resize(c.key_length);
        CHECK(bytes_of(expand_encryption_key(c.hash, SecretBytes(skeyid_e), c.key_length)) ==
              expected);
    }
}

TEST_CASE("Phase 1 IV chains across messages and Phase 2 IVs derive per message ID",
          "[crypto][ike]") {
    const Bytes gxi = pattern(128, 11), gxr = pattern(128, 12);
    const Bytes key = pattern(24, 13);
    const auto hash = HashAlgorithm::sha1;
    auto iv = phase1_initial_iv(hash, gxi, gxr, 8);
    Bytes expected_iv = reference_digest(hash, cat({gxi, gxr}));
    expected_iv.resize(8);
    CHECK(iv == expected_iv);

    IsakmpCipher cipher(CbcCipher::des3, hash, SecretBytes(key), iv);
    // MM5 and MM6: each message starts from the previous message's last cipher block.
    const Bytes mm5 = pattern(40, 14), mm6 = pattern(37, 15);
    auto c5 = cipher.encrypt(0, mm5);
    CHECK(c5 == reference_cbc(EVP_des_ede3_cbc(), key, expected_iv, mm5));
    Bytes iv6(c5.end() - 8, c5.end());
    // A decrypt without commit leaves the chain alone.
    auto d6 = cipher.decrypt(0, reference_cbc(EVP_des_ede3_cbc(), key, iv6, isakmp_pad(mm6, 8)));
    REQUIRE(d6);
    CHECK(Bytes(d6->plaintext.begin(), d6->plaintext.begin() + 37) == mm6);
    CHECK(cipher.current_iv(0) == iv6);
    cipher.commit(0, d6->next_iv);
    Bytes last_block = d6->next_iv;
    cipher.finish_phase1();

    // Two concurrent exchanges with different message IDs each start from
    // hash(last Phase 1 block | M-ID) and chain independently.
    for (uint32_t mid : {0xcffb04cbu, 0x00000001u}) {
        CAPTURE(mid);
        Bytes m = {uint8_t(mid >> 24), uint8_t(mid >> 16), uint8_t(mid >> 8), uint8_t(mid)};
        Bytes p2iv = reference_digest(hash, cat({last_block, m}));
        p2iv.resize(8);
        CHECK(cipher.current_iv(mid) == p2iv);
        const Bytes first = pattern(24, 16), second = pattern(48, 17);
        auto c1 = cipher.encrypt(mid, first);
        CHECK(c1 == reference_cbc(EVP_des_ede3_cbc(), key, p2iv, first));
        auto c2 = cipher.encrypt(mid, second);
        CHECK(c2 == reference_cbc(EVP_des_ede3_cbc(), key, Bytes(c1.end() - 8, c1.end()), second));
    }
    CHECK_FALSE(cipher.decrypt(5, Bytes(7, 0)));
}

TEST_CASE("a Phase 2 IV cannot be asked for before Phase 1 finished", "[crypto][ike]") {
    IsakmpCipher cipher(CbcCipher::aes128, HashAlgorithm::sha256, SecretBytes(pattern(16, 1)),
                        pattern(16, 2));
    CHECK_THROWS_AS(cipher.current_iv(7), CryptoError);
}
