// X.509 certificates, the trust store and the Phase 1 RSA signature, against certificates made by
// a throw-away PKI (test/support/test_pki.*, OpenSSL's own API).
#include "gdoi/crypto/certificate.hpp"
#include "gdoi/crypto/phase1_signature.hpp"
#include "gdoi/crypto/prf.hpp"
#include "test/support/test_pki.hpp"

#include <catch2/catch.hpp>
#include <openssl/ec.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

using namespace gdoi::crypto;
using test_support::CertificateRequest;
using test_support::request;
using test_support::TestPki;

namespace {

TestPki& pki() {
    static TestPki instance;
    return instance;
}

std::time_t now() { return std::time(nullptr); }

std::string verify_reason(const TrustStore& trust, const Certificate& leaf) {
    auto verdict = trust.verify(leaf, {}, now());
    return verdict.trusted ? "trusted" : verdict.reason;
}

TrustStore trusting(const Certificate& ca) {
    TrustStore trust;
    trust.add_authority(ca);
    return trust;
}

} // namespace

TEST_CASE("certificates read from PEM and DER, with their names", "[crypto][certificate]") {
    auto issued = pki().issue(request("CN=ks1.example.net,O=Example,C=DE", {"DNS:ks1.example.net", "IP:192.0.2.1"}));
    auto both = Certificate::all_from_pem(issued.certificate_pem + pki().ca().certificate_pem, "x");
    REQUIRE(both.size() == 2);
    CHECK(both[0].subject() == "C=DE,O=Example,CN=ks1.example.net");
    CHECK(both[0].issuer() == "O=gdoid tests,CN=gdoid test root CA");
    auto again = Certificate::from_der(both[0].der());
    CHECK(again.subject_der() == both[0].subject_der());
    CHECK(both[0].has_rsa_key());
    CHECK(both[0].key_bits() == 2048);

    CHECK_THROWS_WITH(Certificate::all_from_pem("no certificate here", "file /x.pem"),
                      Catch::Contains("file /x.pem holds no PEM certificate"));
    auto broken = issued.certificate_pem;
    broken[100] = broken[100] == 'A' ? 'B' : 'A';
    broken.insert(80, "!!");
    CHECK_THROWS_WITH(Certificate::all_from_pem(broken, "file /y.pem"),
                      Catch::Contains("file /y.pem: certificate 1 does not parse"));
    std::vector<uint8_t> der(again.der().begin(), again.der().end());
    der.push_back(0);
    CHECK_THROWS_WITH(Certificate::from_der(der), Catch::Contains("1 stray octets"));
    CHECK_THROWS_AS(Certificate::from_der(std::vector<uint8_t>{0x30, 0x03, 0x02, 0x01}), CryptoError);
}

TEST_CASE("a configured identity names a certificate by DN either way round or by "
          "subjectAltName",
          "[crypto][certificate]") {
    auto cert = pki().issue(request("CN=ks1.example.net,O=Example,C=DE", {"DNS:ks1.example.net", "IP:192.0.2.1", "IP:2001:db8::1"}))
                    .certificate;
    CHECK(cert.matches_identity("C=DE,O=Example,CN=ks1.example.net"));
    CHECK(cert.matches_identity("CN=ks1.example.net, O=Example, C=DE"));
    CHECK(cert.matches_identity("cn = ks1.example.net ,o=Example,c=DE"));
    CHECK(cert.matches_identity("KS1.Example.NET"));
    CHECK(cert.matches_identity("192.0.2.1"));
    CHECK(cert.matches_identity("2001:db8::1"));
    CHECK_FALSE(cert.matches_identity("CN=ks1.example.net,O=Example"));
    CHECK_FALSE(cert.matches_identity("CN=ks2.example.net,O=Example,C=DE"));
    CHECK_FALSE(cert.matches_identity("ks2.example.net"));
    CHECK_FALSE(cert.matches_identity("192.0.2.2"));
    CHECK_FALSE(cert.matches_identity(""));
    const uint8_t v4[] = {192, 0, 2, 1};
    CHECK(cert.has_ip_address(v4));
}

TEST_CASE("the trust store names why a certificate is refused", "[crypto][certificate]") {
    auto trust = trusting(pki().ca().certificate);
    CHECK(verify_reason(trust, pki().issue(request("CN=good")).certificate) == "trusted");

    SECTION("expired") {
        auto old = pki().issue(request("CN=old", {}, -7200 - 86400, -86400));
        CHECK_THAT(verify_reason(trust, old.certificate),
                   Catch::StartsWith("certificate \"CN=old\" expired on ") && Catch::EndsWith("GMT"));
    }
    SECTION("not yet valid") {
        auto future = pki().issue(request("CN=future", {}, 86400, 2 * 86400));
        CHECK_THAT(verify_reason(trust, future.certificate),
                   Catch::StartsWith("certificate \"CN=future\" is not valid before "));
    }
    SECTION("another CA") {
        TestPki other("CN=another CA");
        CHECK(verify_reason(trust, other.issue(request("CN=stranger")).certificate) ==
              "certificate \"CN=stranger\" was not issued by a configured certificate authority "
              "(its issuer is \"CN=another CA\")");
        CHECK(verify_reason(TrustStore{}, pki().issue(request("CN=x")).certificate) ==
              "no certificate authority is configured");
    }
    SECTION("a forged signature") {
        auto cert = pki().issue(request("CN=forged")).certificate;
        std::vector<uint8_t> der(cert.der().begin(), cert.der().end());
        der[der.size() - 10] ^= 0x40; // inside the CA's signature
        CHECK(verify_reason(trust, Certificate::from_der(der)) ==
              "certificate \"CN=forged\" has a signature that does not verify with the key of its "
              "issuer \"O=gdoid tests,CN=gdoid test root CA\"");
    }
    SECTION("revoked, by the CRL") {
        auto revoked = pki().issue(request("CN=revoked"));
        auto kept = pki().issue(request("CN=kept"));
        trust.add_crls_pem(pki().crl_pem({revoked.serial}), "crl");
        CHECK(trust.checks_revocation());
        CHECK(verify_reason(trust, revoked.certificate) ==
              "certificate \"CN=revoked\" is revoked by the CRL of \"O=gdoid tests,CN=gdoid test "
              "root CA\"");
        CHECK(verify_reason(trust, kept.certificate) == "trusted");
    }
    SECTION("revocation checking without a CRL from the issuer, or with a stale one") {
        TestPki other("CN=CRL-less CA");
        auto both = trusting(pki().ca().certificate);
        both.add_authority(other.ca().certificate);
        both.add_crls_pem(pki().crl_pem({}), "crl");
        CHECK_THAT(verify_reason(both, other.issue(request("CN=unchecked")).certificate),
                   Catch::StartsWith("revocation checking is on, but the configured CRLs hold none "
                                     "from \"CN=CRL-less CA\""));
        auto stale = trusting(pki().ca().certificate);
        stale.add_crls_pem(pki().crl_pem({}, -60), "crl");
        CHECK_THAT(verify_reason(stale, pki().issue(request("CN=x")).certificate),
                   Catch::Contains("has passed its next update"));
    }
    SECTION("CRL text that is not a CRL") {
        TrustStore t;
        CHECK_THROWS_WITH(t.add_crls_pem("nothing", "CRL file /etc/gdoid/ca.crl"),
                          Catch::Contains("CRL file /etc/gdoid/ca.crl holds no PEM CRL"));
    }
}

TEST_CASE("an intermediate sent by the peer completes the chain", "[crypto][certificate]") {
    TestPki root("CN=root for chain");
    auto intermediate = TestPki::subordinate(root, "CN=intermediate CA");
    auto leaf = intermediate.issue(request("CN=leaf"));
    auto trust = trusting(root.ca().certificate);
    CHECK(trust.verify(leaf.certificate, {intermediate.ca().certificate}, now()).trusted);
    CHECK(verify_reason(trust, leaf.certificate) ==
          "certificate \"CN=leaf\" was not issued by a configured certificate authority (its "
          "issuer is \"CN=intermediate CA\")");
    // A subordinate CA configured as the trust anchor (as Cisco trustpoints allow) suffices.
    CHECK(trusting(intermediate.ca().certificate).verify(leaf.certificate, {}, now()).trusted);
}

TEST_CASE("Phase 1 signatures: PKCS #1 type 1 over HASH_I itself, no DigestInfo",
          "[crypto][certificate]") {
    auto issued = pki().issue(request("CN=signer"));
    auto hash = digest(HashAlgorithm::sha256, {std::vector<uint8_t>{1, 2, 3}});
    auto signature = issued.key->sign(hash);
    CHECK(signature.size() == 256);
    CHECK(verify_phase1_signature(issued.certificate, hash, signature));

    // Independently: the RSA public operation recovers exactly the 32 hash octets, so no
    // DigestInfo (which would add 19 octets) is in the padding.
    EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, X509_get0_pubkey(issued.certificate.get()), nullptr));
    REQUIRE(EVP_PKEY_verify_recover_init(ctx.get()) == 1);
    REQUIRE(EVP_PKEY_CTX_set_rsa_padding(ctx.get(), RSA_PKCS1_PADDING) == 1);
    std::vector<uint8_t> recovered(256);
    size_t length = recovered.size();
    REQUIRE(EVP_PKEY_verify_recover(ctx.get(), recovered.data(), &length, signature.data(), signature.size()) == 1);
    recovered.resize(length);
    CHECK(recovered == hash);

    auto flipped = signature;
    flipped[5] ^= 1;
    CHECK_FALSE(verify_phase1_signature(issued.certificate, hash, flipped));
    auto other_hash = hash;
    other_hash[0] ^= 1;
    CHECK_FALSE(verify_phase1_signature(issued.certificate, other_hash, signature));
    CHECK_FALSE(verify_phase1_signature(issued.certificate, hash,
                                        std::span(signature).subspan(0, 255)));
    auto someone_else = pki().issue(request("CN=other"));
    if (someone_else.key != issued.key)
        CHECK_FALSE(verify_phase1_signature(someone_else.certificate, hash, signature));
    CHECK(issued.key->matches(issued.certificate));
}

TEST_CASE("Phase 1 private keys: unencrypted RSA of 2048 bits or more, named errors",
          "[crypto][certificate]") {
    auto bytes = [](const std::string& s) {
        return std::span(reinterpret_cast<const uint8_t*>(s.data()), s.size());
    };
    auto issued = pki().issue(request("CN=key owner"));
    auto key = Phase1PrivateKey::from_pem(bytes(issued.key_pem), "file /k.pem");
    CHECK(key.matches(issued.certificate));
    CHECK(key.bits() == 2048);
    CHECK_THROWS_WITH(Phase1PrivateKey::from_pem(bytes("garbage"), "file /k.pem"),
                      "file /k.pem is not an unencrypted PEM private key (BEGIN PRIVATE KEY or "
                      "BEGIN RSA PRIVATE KEY)");
    auto small = Phase1PrivateKey::generate(1024);
    CHECK_THROWS_WITH(Phase1PrivateKey::from_pem(bytes(small.to_pem_for_test()), "file /s.pem"),
                      "file /s.pem holds a 1024-bit RSA key; at least 2048 bits are required");
    EvpPkeyPtr ec(EVP_EC_gen("P-256"));
    REQUIRE(ec);
    BIO* bio = BIO_new(BIO_s_mem());
    REQUIRE(PEM_write_bio_PrivateKey(bio, ec.get(), nullptr, nullptr, 0, nullptr, nullptr) == 1);
    char* data = nullptr;
    const long length = BIO_get_mem_data(bio, &data);
    std::string ec_pem(data, static_cast<size_t>(length));
    BIO_free(bio);
    CHECK_THROWS_WITH(Phase1PrivateKey::from_pem(bytes(ec_pem), "file /ec.pem"),
                      "file /ec.pem holds a EC key; Phase 1 signatures need an RSA key");
}
