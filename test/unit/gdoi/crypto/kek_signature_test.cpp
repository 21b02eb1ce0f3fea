// KEK signatures (gdoi/crypto/kek_signature.*, ecdsa_signature.*): the RFC 4754 section 8
// ECDSA-256 and ECDSA-384 test vectors verified as published (r | s), sign/verify round trips
// for every scheme and hash, and each refusal with its sentence: wrong key type, wrong curve,
// truncated or DER-encoded signatures, flipped bits, contradictory SIG_HASH_ALGORITHM.
#include "gdoi/crypto/kek_key_cache.hpp"
#include "gdoi/crypto/kek_signature.hpp"
#include "test/support/pcap_reader.hpp"

#include <catch2/catch.hpp>
#include <cstdio>
#include <filesystem>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <string>
#include <unistd.h>

using namespace gdoi;
using namespace gdoi::crypto;
using Catch::Matchers::Contains;
using test_support::from_hex;

namespace {

std::vector<uint8_t> text(const std::string& s) {
    return {s.begin(), s.end()};
}

std::vector<uint8_t> join(std::vector<uint8_t> a, const std::vector<uint8_t>& b) {
    a.insert(a.end(), b.begin(), b.end());
    return a;
}

// RFC 4754 section 8 (8.1 ECDSA-256, 8.2 ECDSA-384): the signer's public key (gwx, gwy), the
// message "abc", its hash and the signature (r, s) made with the published k. The values as the
// RFC prints them; the RFC text itself was not reachable from here, they were taken from
// transcriptions that cite it (Nettle's testsuite "From RFC 4754", and independent test suites in
// Python and C#), which agree octet for octet.
struct Rfc4754Vector {
    EcCurve curve;
    SignatureAlgorithm algorithm;
    HashAlgorithm hash;
    const char* gwx;
    const char* gwy;
    const char* h; // hash("abc")
    const char* r;
    const char* s;
};

const Rfc4754Vector kEcdsa256{
    EcCurve::p256,
    SignatureAlgorithm::ecdsa_256,
    HashAlgorithm::sha256,
    "2442A5CC 0ECD015F A3CA31DC 8E2BBC70 BF42D60C BCA20085 E0822CB0 4235E970",
    "6FC98BD7 E50211A4 A27102FA 3549DF79 EBCB4BF2 46B80945 CDDFE7D5 09BBFD7D",
    "BA7816BF 8F01CFEA 414140DE 5DAE2223 B00361A3 96177A9C B410FF61 F20015AD",
    "CB28E099 9B9C7715 FD0A80D8 E47A7707 9716CBBF 917DD72E 97566EA1 C066957C",
    "86FA3BB4 E26CAD5B F90B7F81 899256CE 7594BB1E A0C89212 748BFF3B 3D5B0315",
};

const Rfc4754Vector kEcdsa384{
    EcCurve::p384,
    SignatureAlgorithm::ecdsa_384,
    HashAlgorithm::sha384,
    "96281BF8 DD5E0525 CA049C04 8D345D30 82968D10 FEDF5C5A CA0C64E6 465A97EA 5CE10C9D FEC21797 "
    "41571072 1F437922",
    "447688BA 94708EB6 E2E4D59F 6AB6D7ED FF9301D2 49FE49C3 3096655F 5D502FAD 3D383B91 C5E7EDAA "
    "2B714CC9 9D5743CA",
    "CB00753F 45A35E8B B5A03D69 9AC65007 272C32AB 0EDED163 1A8B605A 43FF5BED 8086072B A1E7CC23 "
    "58BAECA1 34C825A7",
    "FB017B91 4E291494 32D8BAC2 9A514640 B46F53DD AB2C6994 8084E293 0F1C8F7E 08E07C9C 63F2D21A "
    "07DCB56A 6AF56EB3",
    "B263A130 5E057F98 4D38726A 1B468741 09F417BC A112674C 528262A4 0A629AF1 CBB9F516 CE0FA7D2 "
    "FF630863 A00E8B9F",
};

// The vector's public key as KD would carry it: DER SubjectPublicKeyInfo.
std::vector<uint8_t> vector_key_der(const Rfc4754Vector& v) {
    auto point = join(join({0x04}, from_hex(v.gwx)), from_hex(v.gwy));
    return EcdsaPublicKey::from_point(v.curve, point).der();
}

std::vector<uint8_t> vector_signature(const Rfc4754Vector& v) {
    return join(from_hex(v.r), from_hex(v.s));
}

// DER INTEGER of an unsigned big-endian number (a 00 in front when the top bit is set), and the
// ECDSA-Sig-Value SEQUENCE of two: written out here, independent of OpenSSL.
std::vector<uint8_t> der_integer(std::vector<uint8_t> n) {
    while (n.size() > 1 && n[0] == 0 && !(n[1] & 0x80))
        n.erase(n.begin());
    if (n[0] & 0x80) n.insert(n.begin(), 0x00);
    std::vector<uint8_t> out{0x02, static_cast<uint8_t>(n.size())};
    return join(out, n);
}
std::vector<uint8_t> der_signature(const std::vector<uint8_t>& r_s) {
    size_t half = r_s.size() / 2;
    auto body = join(der_integer({r_s.begin(), r_s.begin() + static_cast<long>(half)}),
                     der_integer({r_s.begin() + static_cast<long>(half), r_s.end()}));
    REQUIRE(body.size() < 128);
    return join({0x30, static_cast<uint8_t>(body.size())}, body);
}

std::vector<uint8_t> spki_of_generated(const char* type, const char* curve) {
    EvpPkeyPtr key(curve ? EVP_PKEY_Q_keygen(nullptr, nullptr, type, curve)
                         : EVP_PKEY_Q_keygen(nullptr, nullptr, type));
    REQUIRE(key);
    unsigned char* raw = nullptr;
    int length = i2d_PUBKEY(key.get(), &raw);
    REQUIRE(length > 0);
    std::vector<uint8_t> out(raw, raw + length);
    OPENSSL_free(raw);
    return out;
}

// A PEM private key file of `type`/`curve`, removed at the end of the scope.
struct PemKeyFile {
    std::string path;
    PemKeyFile(const char* type, const char* curve, const char* name) {
        path = (std::filesystem::temp_directory_path() /
                ("kek-signature-test-" + std::to_string(::getpid()) + "-" + name + ".pem"))
                   .string();
        EvpPkeyPtr key(curve ? EVP_PKEY_Q_keygen(nullptr, nullptr, type, curve)
                             : EVP_PKEY_Q_keygen(nullptr, nullptr, type, size_t{2048}));
        REQUIRE(key);
        FILE* f = std::fopen(path.c_str(), "w");
        REQUIRE(f);
        bool written =
            PEM_write_PrivateKey(f, key.get(), nullptr, nullptr, 0, nullptr, nullptr) == 1;
        std::fclose(f);
        REQUIRE(written);
    }
    ~PemKeyFile() { std::filesystem::remove(path); }
};

} // namespace

TEST_CASE("RFC 4754 section 8: the ECDSA-256 and ECDSA-384 vectors verify as r | s",
          "[crypto][ecdsa][kat]") {
    for (const auto* v : {&kEcdsa256, &kEcdsa384}) {
        CAPTURE(ec_curve_name(v->curve));
        const auto message = text("abc");
        // The hash RFC 4754 pairs with the curve is the one the vector signs.
        CHECK(digest(v->hash, {message}) == from_hex(v->h));
        auto suite = kek_signature_suite(v->algorithm, v->algorithm == SignatureAlgorithm::ecdsa_256
                                                           ? SignatureHash::sha256
                                                           : SignatureHash::sha384);
        CHECK(suite.hash == v->hash);

        auto key = KekPublicKey::from_der(v->algorithm, vector_key_der(*v));
        CHECK(key.key_bits() == ec_curve_bits(v->curve));
        const auto signature = vector_signature(*v);
        REQUIRE(signature.size() == 2 * ec_scalar_octets(v->curve));
        auto ok = key.verify(suite.hash, {message}, signature);
        INFO(ok.why);
        CHECK(ok.valid);
        // Split message parts hash the same as the whole.
        CHECK(key.verify(suite.hash, {text("a"), text("bc")}, signature).valid);

        const std::string refused = "signature does not verify with the KEK's ECDSA " +
                                    std::string(ec_curve_name(v->curve)) + " key";
        // One bit of r, one bit of s, another message, another hash: each refused.
        for (size_t at : {size_t{0}, signature.size() / 2, signature.size() - 1}) {
            auto flipped = signature;
            flipped[at] ^= 0x01;
            auto bad = key.verify(suite.hash, {message}, flipped);
            CHECK_FALSE(bad.valid);
            CHECK(bad.why == refused);
        }
        CHECK_FALSE(key.verify(suite.hash, {text("abd")}, signature).valid);
        CHECK_FALSE(key.verify(HashAlgorithm::sha512, {message}, signature).valid);
        // s and r swapped is not the signature either.
        auto swapped = join(from_hex(v->s), from_hex(v->r));
        CHECK_FALSE(key.verify(suite.hash, {message}, swapped).valid);
    }
}

TEST_CASE("ECDSA: truncated, padded and DER-encoded signatures are refused as such",
          "[crypto][ecdsa]") {
    const auto& v = kEcdsa256;
    auto key = KekPublicKey::from_der(v.algorithm, vector_key_der(v));
    const auto message = text("abc");
    const auto signature = vector_signature(v);

    auto truncated = key.verify(HashAlgorithm::sha256, {message},
                                std::span(signature).first(signature.size() - 1));
    CHECK_FALSE(truncated.valid);
    CHECK(truncated.why == "ECDSA P-256 signature of 63 octets: RFC 4754 section 7 wants r | s, "
                           "two 32-octet integers (64 octets)");
    auto longer = join(signature, {0x00});
    CHECK_THAT(key.verify(HashAlgorithm::sha256, {message}, longer).why,
               Contains("signature of 65 octets: RFC 4754 section 7"));
    CHECK_THAT(key.verify(HashAlgorithm::sha256, {message}, {}).why,
               Contains("signature of 0 octets"));

    // The same r and s as DER (what X.509 and OpenSSL use): refused for its encoding.
    auto der = der_signature(signature);
    CHECK(der.size() == 72); // both r and s have the top bit set: 33-octet INTEGERs
    auto as_der = key.verify(HashAlgorithm::sha256, {message}, der);
    CHECK_FALSE(as_der.valid);
    CHECK(as_der.why == "ECDSA P-256 signature of 72 octets is DER-encoded (an ASN.1 SEQUENCE of "
                        "r and s): RFC 4754 section 7 wants r | s, two 32-octet integers (64 "
                        "octets)");

    // r = 0 or s = 0 is never a signature (OpenSSL checks 0 < r, s < n).
    auto zero_r = signature;
    std::fill(zero_r.begin(), zero_r.begin() + 32, 0);
    CHECK_THAT(key.verify(HashAlgorithm::sha256, {message}, zero_r).why,
               Contains("does not verify"));
    auto all_ff = std::vector<uint8_t>(64, 0xff); // r, s >= n
    CHECK_FALSE(key.verify(HashAlgorithm::sha256, {message}, all_ff).valid);
}

TEST_CASE("KEK public key: the KD key must be of the SIG_ALGORITHM's kind and curve",
          "[crypto][kek]") {
    const auto rsa = KekPrivateKey::generate(KekSignatureScheme::rsa, 2048).public_key_der();
    const auto p256 = vector_key_der(kEcdsa256);
    const auto p384 = vector_key_der(kEcdsa384);

    CHECK_THROWS_WITH(KekPublicKey::from_der(SignatureAlgorithm::ecdsa_256, rsa),
                      "SIG_ALGORITHM ECDSA-256 but the KD key is RSA");
    CHECK_THROWS_WITH(KekPublicKey::from_der(SignatureAlgorithm::ecdsa_256, p384),
                      "SIG_ALGORITHM ECDSA-256 but the KD key is ECDSA P-384");
    CHECK_THROWS_WITH(KekPublicKey::from_der(SignatureAlgorithm::ecdsa_384, p256),
                      "SIG_ALGORITHM ECDSA-384 but the KD key is ECDSA P-256");
    CHECK_THROWS_WITH(KekPublicKey::from_der(SignatureAlgorithm::rsa, p256),
                      "SIG_ALGORITHM RSA but the KD key is ECDSA P-256");
    CHECK_THROWS_WITH(
        KekPublicKey::from_der(SignatureAlgorithm::ecdsa_384, spki_of_generated("EC", "P-521")),
        "SIG_ALGORITHM ECDSA-384 but the KD key is an EC key on curve secp521r1");
    CHECK_THROWS_WITH(KekPublicKey::from_der(SignatureAlgorithm::ecdsa_256,
                                             spki_of_generated("ED25519", nullptr)),
                      "SIG_ALGORITHM ECDSA-256 but the KD key is a ED25519 key");
    CHECK_THROWS_WITH(KekPublicKey::from_der(SignatureAlgorithm::ecdsa_521, p256),
                      Contains("SIG_ALGORITHM ECDSA-521 is not supported"));
    CHECK_THROWS_AS(KekPublicKey::from_der(SignatureAlgorithm::ecdsa_256, text("not a key")),
                    CryptoError);
    CHECK_THROWS_WITH(KekPublicKey::from_der(SignatureAlgorithm::ecdsa_256, join(p256, {0x00})),
                      Contains("trailing octets"));

    CHECK(KekPublicKey::from_der(SignatureAlgorithm::ecdsa_384, p384).description() ==
          "ECDSA P-384 key");
    CHECK(KekPublicKey::from_der(SignatureAlgorithm::rsa, rsa).description() ==
          "RSA key (2048 bits)");
    // A point not on the curve is no key (y of the P-256 vector with one bit changed).
    auto off_curve = join(join({0x04}, from_hex(kEcdsa256.gwx)), from_hex(kEcdsa256.gwy));
    off_curve.back() ^= 0x01;
    CHECK_THROWS_AS(EcdsaPublicKey::from_point(EcCurve::p256, off_curve), CryptoError);
}

TEST_CASE("KEK signatures: sign/verify round trips for every scheme and hash", "[crypto][kek]") {
    struct Case {
        KekSignatureScheme scheme;
        SignatureAlgorithm algorithm;
        SignatureHash hash;
        size_t signature_size;
    };
    const std::vector<Case> cases{
        {KekSignatureScheme::rsa, SignatureAlgorithm::rsa, SignatureHash::sha1, 256},
        {KekSignatureScheme::rsa, SignatureAlgorithm::rsa, SignatureHash::sha256, 256},
        {KekSignatureScheme::rsa, SignatureAlgorithm::rsa, SignatureHash::sha384, 256},
        {KekSignatureScheme::rsa, SignatureAlgorithm::rsa, SignatureHash::sha512, 256},
        {KekSignatureScheme::ecdsa_p256, SignatureAlgorithm::ecdsa_256, SignatureHash::sha256, 64},
        {KekSignatureScheme::ecdsa_p384, SignatureAlgorithm::ecdsa_384, SignatureHash::sha384, 96},
    };
    const auto message = text("rekey and the payloads before SIG");
    for (const auto& c : cases) {
        CAPTURE(sig_algorithm_name(c.algorithm), int(c.hash));
        auto key = KekPrivateKey::generate(c.scheme, 2048);
        CHECK(key.scheme() == c.scheme);
        CHECK(key.sig_algorithm() == c.algorithm);
        CHECK(key.signature_size() == c.signature_size);
        auto suite = kek_signature_suite(c.algorithm, c.hash);
        CHECK(suite.scheme == c.scheme);
        CHECK(suite.hash == signature_hash(c.hash));
        auto pub = KekPublicKey::from_der(c.algorithm, key.public_key_der());
        CHECK(pub.key_bits() == key.key_bits());

        std::vector<SignatureForm> forms{SignatureForm::digest_info};
        if (c.scheme == KekSignatureScheme::rsa) forms.push_back(SignatureForm::bare_digest);
        for (auto form : forms) {
            auto signature = key.sign(suite.hash, {message}, form);
            CHECK(signature.size() == c.signature_size);
            auto ok = pub.verify(suite.hash, {message}, signature);
            INFO(ok.why);
            CHECK(ok.valid);
            if (c.scheme == KekSignatureScheme::rsa) CHECK(ok.rsa_form == form);
            auto flipped = signature;
            flipped[signature.size() / 3] ^= 0x10;
            auto bad = pub.verify(suite.hash, {message}, flipped);
            CHECK_FALSE(bad.valid);
            CHECK_THAT(bad.why, Contains("signature does not verify with the KEK's"));
        }
        // Another key of the same kind does not verify it.
        auto other = KekPrivateKey::generate(c.scheme, 2048);
        CHECK_FALSE(pub.verify(suite.hash, {message}, other.sign(suite.hash, {message})).valid);
    }
}

TEST_CASE("KEK suite: ECDSA fixes its hash, unsupported algorithms are named", "[crypto][kek]") {
    CHECK(kek_signature_suite(SignatureAlgorithm::rsa, SignatureHash::sha384).hash ==
          HashAlgorithm::sha384);
    CHECK_THROWS_WITH(kek_signature_suite(SignatureAlgorithm::ecdsa_256, SignatureHash::sha1),
                      "SIG_ALGORITHM ECDSA-256 signs with SHA256 (RFC 4754) but "
                      "SIG_HASH_ALGORITHM names SHA1: contradictory KEK, refused");
    CHECK_THROWS_WITH(kek_signature_suite(SignatureAlgorithm::ecdsa_384, SignatureHash::sha256),
                      Contains("ECDSA-384 signs with SHA384"));
    for (auto unsupported :
         {SignatureAlgorithm::dss, SignatureAlgorithm::ecdss, SignatureAlgorithm::ecdsa_521})
        CHECK_THROWS_WITH(kek_signature_suite(unsupported, SignatureHash::sha256),
                          Contains("is not supported (RSA, ECDSA-256 and ECDSA-384 are)"));
}

TEST_CASE("KEK private keys from PEM: of the configured kind and curve", "[crypto][kek]") {
    PemKeyFile p256("EC", "P-256", "p256");
    PemKeyFile rsa("RSA", nullptr, "rsa");
    auto key = KekPrivateKey::load_pem_file(KekSignatureScheme::ecdsa_p256, p256.path);
    CHECK(key.scheme() == KekSignatureScheme::ecdsa_p256);
    CHECK(key.signature_size() == 64);
    CHECK_THROWS_WITH(KekPrivateKey::load_pem_file(KekSignatureScheme::ecdsa_p384, p256.path),
                      p256.path + " holds a P-256 key, ECDSA P-384 is configured");
    CHECK_THROWS_WITH(KekPrivateKey::load_pem_file(KekSignatureScheme::rsa, p256.path),
                      p256.path + " does not hold an RSA private key");
    CHECK_THROWS_WITH(KekPrivateKey::load_pem_file(KekSignatureScheme::ecdsa_p256, rsa.path),
                      rsa.path + " does not hold an EC private key on P-256 or P-384");
    CHECK(KekPrivateKey::load_pem_file(KekSignatureScheme::rsa, rsa.path).key_bits() == 2048);
}

TEST_CASE("KEK key cache: read once per key, read again when the key or the scheme changes",
          "[crypto][kek]") {
    const auto first = KekPrivateKey::generate(KekSignatureScheme::rsa, 2048);
    const auto second = KekPrivateKey::generate(KekSignatureScheme::rsa, 2048);
    const auto data = text("rekey");
    const auto signed_by_first = first.sign(HashAlgorithm::sha256, {data});
    const auto signed_by_second = second.sign(HashAlgorithm::sha256, {data});
    KekKeyCache cache;

    CHECK(cache.get(KekSignatureScheme::rsa, first.public_key_der())
              .verify(HashAlgorithm::sha256, {data}, signed_by_first)
              .valid);
    // The same DER again: the key already read, not read again.
    CHECK(cache.get(KekSignatureScheme::rsa, first.public_key_der())
              .verify(HashAlgorithm::sha256, {data}, signed_by_first)
              .valid);
    CHECK(cache.reads() == 1);

    // A new KEK key: the new one verifies, the old one's signatures no longer do.
    const auto& next = cache.get(KekSignatureScheme::rsa, second.public_key_der());
    CHECK(next.verify(HashAlgorithm::sha256, {data}, signed_by_second).valid);
    CHECK_FALSE(next.verify(HashAlgorithm::sha256, {data}, signed_by_first).valid);
    CHECK(cache.reads() == 2);

    // The same DER under another scheme is checked again (and refused); the cache then holds
    // nothing and reads the good key anew.
    CHECK_THROWS_WITH(cache.get(KekSignatureScheme::ecdsa_p256, second.public_key_der()),
                      "SIG_ALGORITHM ECDSA-256 but the KD key is RSA");
    CHECK_THROWS_AS(cache.get(KekSignatureScheme::rsa, text("not a key")), CryptoError);
    CHECK(cache.get(KekSignatureScheme::rsa, second.public_key_der())
              .verify(HashAlgorithm::sha256, {data}, signed_by_second)
              .valid);
    CHECK(cache.reads() == 5);
}
