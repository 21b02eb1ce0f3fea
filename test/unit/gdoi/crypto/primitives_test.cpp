// DH, HMAC, CBC ciphers and RSA signatures against published vectors and each other.
#include "gdoi/crypto/cbc_cipher.hpp"
#include "gdoi/crypto/dh_group.hpp"
#include "gdoi/crypto/prf.hpp"
#include "gdoi/crypto/rsa_signature.hpp"
#include "test/support/pcap_reader.hpp"

#include <catch2/catch.hpp>
#include <string>

using namespace gdoi;
using namespace gdoi::crypto;
using test_support::from_hex;
using test_support::to_hex;

static std::vector<uint8_t> text(const std::string& s) {
    return {s.begin(), s.end()};
}
static std::vector<uint8_t> repeat(uint8_t octet, size_t count) {
    return std::vector<uint8_t>(count, octet);
}
static std::string hex(const SecretBytes& s) {
    return to_hex(std::vector<uint8_t>(s.reveal().begin(), s.reveal().end()));
}

TEST_CASE("Diffie-Hellman: two independent instances agree in every group", "[crypto][dh]") {
    for (auto group : {DhGroup::modp768, DhGroup::modp1024, DhGroup::modp1536, DhGroup::modp2048}) {
        DiffieHellman alice(group), bob(group);
        CAPTURE(dh_group_name(group));
        CHECK(alice.public_value().size() == dh_prime_length(group));
        CHECK(alice.public_value() != bob.public_value());
        auto a = alice.shared_secret(bob.public_value());
        auto b = bob.shared_secret(alice.public_value());
        CHECK(a.size() == dh_prime_length(group));
        CHECK(a == b);
        DiffieHellman carol(group);
        CHECK_FALSE(carol.shared_secret(bob.public_value()) == a);
    }
}

TEST_CASE("Diffie-Hellman: group numbers map to the RFC groups only", "[crypto][dh]") {
    CHECK(dh_group_from_number(1) == DhGroup::modp768);
    CHECK(dh_group_from_number(2) == DhGroup::modp1024);
    CHECK(dh_group_from_number(5) == DhGroup::modp1536);
    CHECK(dh_group_from_number(14) == DhGroup::modp2048);
    CHECK_FALSE(dh_group_from_number(0));
    CHECK_FALSE(dh_group_from_number(3)); // EC2N groups 3 and 4 of RFC 2409: not supported
    CHECK_FALSE(dh_group_from_number(4));
    // 15, 16 (MODP) and 19-21 (ECP): modp_group_test.cpp and ecp_group_test.cpp.
}

TEST_CASE("Diffie-Hellman: peer public values outside 1 < y < p-1 are refused", "[crypto][dh]") {
    DiffieHellman dh(DhGroup::modp1024);
    const size_t n = 128;
    auto zero = repeat(0, n);
    auto one = repeat(0, n);
    one.back() = 1;
    auto two = repeat(0, n);
    two.back() = 2;
    // p-1 for MODP-1024 ends in ...FFFFFFFE; p itself ends in ...FFFFFFFF.
    auto p = from_hex("FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74"
                      "020BBEA63B139B22514A08798E3404DDEF9519B3CD3A431B302B0A6DF25F1437"
                      "4FE1356D6D51C245E485B576625E7EC6F44C42E9A637ED6B0BFF5CB6F406B7ED"
                      "EE386BFB5A899FA5AE9F24117C4B1FE649286651ECE65381FFFFFFFFFFFFFFFF");
    auto p_minus_1 = p;
    p_minus_1.back() = 0xfe;
    auto p_minus_2 = p;
    p_minus_2.back() = 0xfd;
    CHECK_FALSE(dh_public_value_acceptable(DhGroup::modp1024, zero));
    CHECK_FALSE(dh_public_value_acceptable(DhGroup::modp1024, one));
    CHECK_FALSE(dh_public_value_acceptable(DhGroup::modp1024, p_minus_1));
    CHECK_FALSE(dh_public_value_acceptable(DhGroup::modp1024, p));
    CHECK_FALSE(dh_public_value_acceptable(DhGroup::modp1024, repeat(0xff, n)));
    CHECK_FALSE(dh_public_value_acceptable(DhGroup::modp1024, repeat(0x05, n - 1)));
    CHECK(dh_public_value_acceptable(DhGroup::modp1024, two));
    CHECK(dh_public_value_acceptable(DhGroup::modp1024, p_minus_2));
    CHECK_THROWS_AS(dh.shared_secret(one), CryptoError);
    CHECK_THROWS_AS(dh.shared_secret(p_minus_1), CryptoError);
    CHECK_THROWS_WITH(dh.shared_secret(zero), Catch::Contains("1 < y < p-1"));
    CHECK(dh.shared_secret(two).size() == n);
}

TEST_CASE("HMAC matches RFC 2202 (MD5, SHA-1) and RFC 4231 (SHA-256)", "[crypto][hmac]") {
    const auto hi = text("Hi There");
    const auto jefe = text("Jefe");
    const auto want = text("what do ya want for nothing?");
    const auto big = text("Test Using Larger Than Block-Size Key - Hash Key First");
    // RFC 2202 test cases 1, 2, 6
    CHECK(hex(hmac(HashAlgorithm::md5, repeat(0x0b, 16), {hi})) ==
          "9294727a3638bb1c13f48ef8158bfc9d");
    CHECK(hex(hmac(HashAlgorithm::md5, jefe, {want})) == "750c783e6ab0b503eaa86e310a5db738");
    CHECK(hex(hmac(HashAlgorithm::md5, repeat(0xaa, 80), {big})) ==
          "6b1ab7fe4bd7bf8f0b62e6ce61b9d0cd");
    CHECK(hex(hmac(HashAlgorithm::sha1, repeat(0x0b, 20), {hi})) ==
          "b617318655057264e28bc0b6fb378c8ef146be00");
    CHECK(hex(hmac(HashAlgorithm::sha1, jefe, {want})) ==
          "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79");
    CHECK(hex(hmac(HashAlgorithm::sha1, repeat(0xaa, 80), {big})) ==
          "aa4ae5e15272d00e95705637ce8a3b55ed402112");
    // RFC 4231 test cases 1, 2, 6
    CHECK(hex(hmac(HashAlgorithm::sha256, repeat(0x0b, 20), {hi})) ==
          "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
    CHECK(hex(hmac(HashAlgorithm::sha256, jefe, {want})) ==
          "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    CHECK(hex(hmac(HashAlgorithm::sha256, repeat(0xaa, 131), {big})) ==
          "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
    // Split input gives the same MAC as the joined input; the public variant agrees.
    auto split =
        hmac(HashAlgorithm::sha256, jefe, {text("what do ya "), text("want for nothing?")});
    CHECK(hex(split) == "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    CHECK(to_hex(hmac_public(HashAlgorithm::sha256, jefe, {want})) == hex(split));
}

TEST_CASE("AES-CBC matches NIST SP 800-38A F.2.1/F.2.3/F.2.5 both ways", "[crypto][cipher]") {
    const auto iv = from_hex("000102030405060708090a0b0c0d0e0f");
    const auto plain = from_hex("6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e51"
                                "30c81c46a35ce411e5fbc1191a0a52eff69f2445df4f9b17ad2b417be66c3710");
    struct Case {
        CbcCipher cipher;
        const char* key;
        const char* expected;
    };
    const Case cases[] = {
        {CbcCipher::aes128, "2b7e151628aed2a6abf7158809cf4f3c",
         "7649abac8119b246cee98e9b12e9197d5086cb9b507219ee95db113a917678b2"
         "73bed6b8e3c1743b7116e69e222295163ff1caa1681fac09120eca307586e1a7"},
        {CbcCipher::aes192, "8e73b0f7da0e6452c810f32b809079e562f8ead2522c6b7b",
         "4f021db243bc633d7178183a9fa071e8b4d9ada9ad7dedf4e5e738763f69145a"
         "571b242012fb7ae07fa9baac3df102e008b0e27988598881d920a9e64f5615cd"},
        {CbcCipher::aes256, "603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4",
         "f58c4c04d6e5f1ba779eabfb5f7bfbd69cfc4e967edb808d679f777bc6702c7d"
         "39f23369a9d9bacfa530e26304231461b2eb05e2c39be9fcda6c19078c6a9d1b"},
    };
    for (const auto& c : cases) {
        CAPTURE(cipher_name(c.cipher));
        SecretBytes key(from_hex(c.key));
        CHECK(to_hex(cbc_encrypt(c.cipher, key, iv, plain)) == c.expected);
        CHECK(cbc_decrypt(c.cipher, key, iv, from_hex(c.expected)) == plain);
    }
}

TEST_CASE("3DES matches the NIST SP 800-67 example and round-trips in CBC", "[crypto][cipher]") {
    SecretBytes key(from_hex("0123456789ABCDEF23456789ABCDEF01456789ABCDEF0123"));
    const std::vector<uint8_t> zero_iv(8, 0);
    // With a zero IV the first CBC block is the ECB block of the NIST example.
    CHECK(to_hex(cbc_encrypt(CbcCipher::des3, key, zero_iv, text("The qufc"))) ==
          "a826fd8ce53b855f");
    const auto iv = from_hex("254ccc0ecd25a5ef");
    const auto plain = text("The quick brown fox jumps over the lazy dog.....");
    auto cipher = cbc_encrypt(CbcCipher::des3, key, iv, plain);
    CHECK(cipher.size() == plain.size());
    CHECK(cipher != plain);
    CHECK(cbc_decrypt(CbcCipher::des3, key, iv, cipher) == plain);
}

TEST_CASE("CBC refuses partial blocks, wrong key and IV sizes", "[crypto][cipher]") {
    SecretBytes key(repeat(1, 16));
    CHECK_THROWS_WITH(cbc_encrypt(CbcCipher::aes128, key, repeat(0, 16), repeat(0, 15)),
                      Catch::Contains("not a whole number of blocks"));
    CHECK_THROWS_WITH(cbc_encrypt(CbcCipher::aes256, key, repeat(0, 16), repeat(0, 16)),
                      Catch::Contains("key is 16 octets, expected 32"));
    CHECK_THROWS_WITH(cbc_decrypt(CbcCipher::aes128, key, repeat(0, 8), repeat(0, 16)),
                      Catch::Contains("IV is 8 octets"));
}

TEST_CASE("ISAKMP padding fills whole blocks with zeros and a pad length", "[crypto][cipher]") {
    CHECK(isakmp_pad(repeat(7, 16), 16).size() == 16);
    auto padded = isakmp_pad(repeat(7, 13), 8);
    REQUIRE(padded.size() == 16);
    CHECK(padded[13] == 0);
    CHECK(padded[14] == 0);
    CHECK(padded[15] == 2);
}

TEST_CASE("RSA PKCS#1 v1.5: both signature forms verify, a flipped bit does not", "[crypto][rsa]") {
    auto key = RsaPrivateKey::generate(2048);
    auto pub = RsaPublicKey::from_der(key.public_key_der());
    CHECK(pub.modulus_bits() == 2048);
    const auto message = text("rekey and some payloads");
    for (auto hash : {HashAlgorithm::sha1, HashAlgorithm::sha256}) {
        for (auto form : {SignatureForm::bare_digest, SignatureForm::digest_info}) {
            auto signature = key.sign(hash, {message}, form);
            CHECK(signature.size() == 256);
            CHECK(pub.verify(hash, {message}, signature) == form);
            auto tampered = message;
            tampered[3] ^= 0x01;
            CHECK_FALSE(pub.verify(hash, {tampered}, signature));
            auto bad_signature = signature;
            bad_signature[100] ^= 0x80;
            CHECK_FALSE(pub.verify(hash, {message}, bad_signature));
        }
    }
    auto other = RsaPrivateKey::generate(1024);
    auto signature = other.sign(HashAlgorithm::sha256, {message}, SignatureForm::bare_digest);
    CHECK_FALSE(pub.verify(HashAlgorithm::sha256, {message}, signature));
    CHECK_THROWS_AS(RsaPublicKey::from_der(text("not a key")), CryptoError);
}
