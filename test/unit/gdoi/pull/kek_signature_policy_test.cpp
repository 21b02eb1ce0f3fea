// The KEK's push signature as GROUPKEY-PULL hands it out (gdoi/pull/group_policy_{write,read}):
// the key server writes the signing key's SIG_ALGORITHM, the member reads RSA, ECDSA-256 and
// ECDSA-384 back, and refuses the registration when the KD key is not of that kind or curve, or
// the algorithm is one it cannot verify.
#include "gdoi/crypto/kek_signature.hpp"
#include "gdoi/crypto/prf.hpp"
#include "gdoi/pull/group_policy_codec.hpp"

#include <catch2/catch.hpp>

using namespace gdoi;
using Catch::Matchers::Contains;
using crypto::KekPrivateKey;
using crypto::KekSignatureScheme;

namespace {

GroupPolicy policy_signed_by(const KekPrivateKey& signer) {
    GroupPolicy g;
    g.group_id = 1234;
    KekPolicy k;
    k.spi.fill(0x5a);
    k.key_bits = 128;
    k.key = crypto::random_secret(16);
    k.iv = crypto::random_bytes(16);
    k.signature_algorithm = signer.sig_algorithm();
    k.signature_hash = signer.scheme() == KekSignatureScheme::ecdsa_p384 ? SignatureHash::sha384
                                                                         : SignatureHash::sha256;
    k.public_key_der = signer.public_key_der();
    k.signature_key_bits = static_cast<uint16_t>(signer.key_bits());
    k.lifetime = std::chrono::seconds(86400);
    k.source = SelectorEndpoint::from_prefix(*IpPrefix::parse("192.0.2.1/32"), 848);
    k.destination = SelectorEndpoint::from_prefix(*IpPrefix::parse("192.0.2.10/32"), 848);
    g.kek = k;
    return g;
}

// What the member reads from the key server's message 2 and 4 payloads.
struct Read {
    GroupPolicy policy;
    pull::PolicyCheck sa, kd;
};
Read member_reads(const GroupPolicy& sent) {
    pull::PolicyEncodeOptions options;
    Read r;
    r.sa = pull::read_group_sa(pull::write_group_sa(sent, options), {}, r.policy);
    if (r.sa.ok())
        r.kd = pull::read_key_download(pull::write_key_download(sent, options), r.policy);
    return r;
}

} // namespace

TEST_CASE("PULL: the KEK's signature algorithm and key travel and are checked", "[pull][kek]") {
    for (auto scheme : {KekSignatureScheme::rsa, KekSignatureScheme::ecdsa_p256,
                        KekSignatureScheme::ecdsa_p384}) {
        CAPTURE(crypto::scheme_key_name(scheme));
        auto signer = KekPrivateKey::generate(scheme, 2048);
        auto sent = policy_signed_by(signer);
        auto r = member_reads(sent);
        INFO(r.sa.error.value_or("") << r.kd.error.value_or(""));
        REQUIRE(r.sa.ok());
        REQUIRE(r.kd.ok());
        REQUIRE(r.policy.kek);
        CHECK(r.policy.kek->signature_algorithm == sent.kek->signature_algorithm);
        CHECK(r.policy.kek->signature_hash == sent.kek->signature_hash);
        CHECK(r.policy.kek->signature_key_bits == signer.key_bits());
        CHECK(r.policy.kek->public_key_der == signer.public_key_der());
    }
}

TEST_CASE("PULL: a KD key that does not fit SIG_ALGORITHM fails the registration", "[pull][kek]") {
    auto p256 = KekPrivateKey::generate(KekSignatureScheme::ecdsa_p256);
    auto sent = policy_signed_by(p256);

    sent.kek->public_key_der = KekPrivateKey::generate(KekSignatureScheme::rsa).public_key_der();
    auto rsa_key = member_reads(sent);
    REQUIRE(rsa_key.sa.ok());
    CHECK_THAT(rsa_key.kd.error.value_or(""),
               Contains("KD: the key server's public key is unusable: SIG_ALGORITHM ECDSA-256 but "
                        "the KD key is RSA"));

    sent.kek->public_key_der =
        KekPrivateKey::generate(KekSignatureScheme::ecdsa_p384).public_key_der();
    CHECK_THAT(member_reads(sent).kd.error.value_or(""),
               Contains("SIG_ALGORITHM ECDSA-256 but the KD key is ECDSA P-384"));

    auto p521 = policy_signed_by(p256);
    p521.kek->signature_algorithm = SignatureAlgorithm::ecdsa_521;
    p521.kek->signature_hash = SignatureHash::sha512;
    CHECK_THAT(member_reads(p521).sa.error.value_or(""),
               Contains("SA KEK: SIG_ALGORITHM ECDSA-521 is not supported (RSA, ECDSA-256 and "
                        "ECDSA-384 are) (SIG_ALGORITHM 6)"));
}
