// GROUPKEY-PUSH signed with each KEK SIG_ALGORITHM the member verifies: RSA with SHA-256/384/512
// (both PKCS#1 forms) and ECDSA-256/-384 (RFC 4754 r | s). A valid push is verified and applied;
// a KD key of the wrong kind or curve, another key server's key, a flipped bit, a truncated or
// DER-encoded signature are refused as bad_signature with their specific sentence, counted, and
// change nothing. The SA KEK side: ECDSA's implied hash, a contradictory SIG_HASH_ALGORITHM.
#include "gdoi/crypto/cbc_cipher.hpp"
#include "gdoi/crypto/kek_signature.hpp"
#include "gdoi/crypto/prf.hpp"
#include "gdoi/push/push_apply.hpp"
#include "gdoi/push/push_builder.hpp"
#include "gdoi/push/push_crypto.hpp"
#include "gdoi/push/push_receiver.hpp"
#include "gdoi/wire/message.hpp"
#include "gdoi/wire/policy_codec.hpp"

#include <algorithm>
#include <catch2/catch.hpp>
#include <functional>
#include <map>

using namespace gdoi;
using namespace gdoi::push;
using Catch::Matchers::Contains;
using crypto::KekPrivateKey;
using crypto::KekSignatureScheme;
using crypto::SignatureForm;

namespace {

const KekPrivateKey& key_of(KekSignatureScheme scheme, int which = 0) {
    static std::map<std::pair<KekSignatureScheme, int>, KekPrivateKey> keys;
    auto found = keys.find({scheme, which});
    if (found == keys.end())
        found = keys.emplace(std::pair{scheme, which}, KekPrivateKey::generate(scheme, 2048)).first;
    return found->second;
}

KekPolicy make_kek(const KekPrivateKey& signer, SignatureHash hash) {
    KekPolicy k;
    for (size_t i = 0; i < k.spi.size(); ++i)
        k.spi[i] = uint8_t(0x50 + i);
    k.cipher = KekCipher::aes_cbc;
    k.key_bits = 128;
    k.key = crypto::random_secret(16);
    k.iv = crypto::random_bytes(16);
    k.signature_algorithm = signer.sig_algorithm();
    k.signature_hash = hash;
    k.public_key_der = signer.public_key_der();
    k.signature_key_bits = static_cast<uint16_t>(signer.key_bits());
    k.lifetime = std::chrono::seconds(86400);
    k.source = SelectorEndpoint::from_prefix(*IpPrefix::parse("192.0.2.1/32"), 848);
    k.destination = SelectorEndpoint::from_prefix(*IpPrefix::parse("239.10.1.1/32"), 848);
    return k;
}

TekPolicy make_tek(uint32_t spi) {
    TekPolicy t;
    t.spi = spi;
    // Its own mirror (RFC 6407 policies come in pairs): one TEK is a complete pair.
    t.selector.source = SelectorEndpoint::from_prefix(*IpPrefix::parse("10.1.0.0/16"));
    t.selector.destination = SelectorEndpoint::from_prefix(*IpPrefix::parse("10.1.0.0/16"));
    t.cipher = TekCipher::aes_cbc;
    t.cipher_key_bits = 256;
    t.cipher_key = crypto::random_secret(32);
    t.integrity = TekIntegrity::hmac_sha256;
    t.integrity_key = crypto::random_secret(32);
    t.lifetime = std::chrono::seconds(3600);
    return t;
}

// A TEK rekey under `kek` signed by `signer`: the old TEK 0x1000 repeated, the new 0x2000.
std::vector<uint8_t> rekey_push(const KekPolicy& kek, const KekPrivateKey& signer,
                                SignatureForm form = SignatureForm::digest_info) {
    PushSpec spec;
    spec.kek = kek;
    spec.signer = &signer;
    spec.signature_form = form;
    spec.sequence = 7;
    spec.sa_kek = kek;
    spec.teks = {make_tek(0x1000), make_tek(0x2000)};
    return build_push(spec);
}

const IpAddress kMember = IpAddress::v4(192, 0, 2, 10);
const TimePoint kNow = TimePoint{} + std::chrono::seconds(1000);

PushReceiver member() {
    return PushReceiver(PushReceiverConfig{ServerQuirks{}, kMember});
}

// The push a valid one decrypts to (`plaintext` of an accepted verdict), with its SIG data
// changed by `edit`, encrypted again under `kek` as the key server would.
std::vector<uint8_t> reseal(const SecretBytes& plaintext, const KekPolicy& kek,
                            const std::function<void(std::vector<uint8_t>&)>& edit) {
    auto plain = plaintext.reveal();
    wire::Message m =
        wire::decode_message(plain, wire::DecodeContext{{}, wire::TrailingData::padding});
    auto signature = m.payloads.back().get<wire::SigPayload>()->data;
    edit(signature);
    m.payloads.back() = wire::SigPayload{signature};
    auto bytes = wire::encode_message(m);
    auto cipher = kek_cbc_cipher(kek);
    auto body = crypto::isakmp_pad(std::span(bytes).subspan(wire::kHeaderSize),
                                   crypto::cipher_block_size(cipher));
    auto encrypted = crypto::cbc_encrypt(cipher, kek.key, kek.iv, body);
    std::vector<uint8_t> out(bytes.begin(), bytes.begin() + wire::kHeaderSize);
    out.insert(out.end(), encrypted.begin(), encrypted.end());
    wire::rewrite_header_length(out, static_cast<uint32_t>(out.size()));
    return out;
}

GroupPolicy group_holding(const KekPolicy& kek) {
    GroupPolicy g;
    g.group_id = 1234;
    g.kek = kek;
    g.teks = {make_tek(0x1000)};
    g.sequence = 6;
    return g;
}

// A refused push: bad_signature with `sentence`, counted once, no update, no ack.
void check_refused(PushReceiver& rx, std::span<const uint8_t> datagram, const KekPolicy& kek,
                   const std::string& sentence) {
    const auto before = rx.counters()[PushReason::bad_signature];
    auto v = rx.receive(datagram, kek, 6, kNow, std::vector{make_tek(0x1000)});
    INFO(v.message);
    CHECK(v.reason == PushReason::bad_signature);
    CHECK_THAT(v.message, Contains(sentence));
    CHECK_THAT(v.message, Contains("push under KEK " + hex(kek.spi) + " refused"));
    CHECK_FALSE(v.update);
    CHECK_FALSE(v.ack);
    CHECK(rx.counters()[PushReason::bad_signature] == before + 1);
    CHECK(rx.counters()[PushReason::accepted] == 0);
}

} // namespace

TEST_CASE("push signatures: every SIG_ALGORITHM and hash verifies and the push is applied",
          "[push][signature]") {
    struct Case {
        KekSignatureScheme scheme;
        SignatureHash hash;
        SignatureForm form;
    };
    std::vector<Case> cases;
    for (auto hash : {SignatureHash::sha256, SignatureHash::sha384, SignatureHash::sha512})
        for (auto form : {SignatureForm::bare_digest, SignatureForm::digest_info})
            cases.push_back({KekSignatureScheme::rsa, hash, form});
    cases.push_back({KekSignatureScheme::ecdsa_p256, SignatureHash::sha256, {}});
    cases.push_back({KekSignatureScheme::ecdsa_p384, SignatureHash::sha384, {}});

    for (const auto& c : cases) {
        const auto& signer = key_of(c.scheme);
        CAPTURE(crypto::scheme_key_name(c.scheme), int(c.hash), int(c.form));
        KekPolicy kek = make_kek(signer, c.hash);
        auto datagram = rekey_push(kek, signer, c.form);
        auto rx = member();
        auto v = rx.receive(datagram, kek, 6, kNow, std::vector{make_tek(0x1000)});
        INFO(v.message);
        REQUIRE(v.accepted());
        CHECK(rx.counters()[PushReason::accepted] == 1);
        CHECK(v.update->new_tek_spis == std::vector<uint32_t>{0x2000});
        REQUIRE(v.update->kek);
        CHECK(v.update->kek->signature_algorithm == signer.sig_algorithm());
        CHECK(v.update->kek->public_key_der == signer.public_key_der());

        // Applied: the new TEK joins the group, the SEQ moves on, the KEK keeps its signer.
        auto applied = apply(group_holding(kek), *v.update, kNow);
        CHECK(applied.next.sequence == 7u);
        CHECK(std::any_of(applied.next.teks.begin(), applied.next.teks.end(),
                          [](const TekPolicy& t) { return t.spi == 0x2000; }));
        REQUIRE(applied.next.kek);
        CHECK(applied.next.kek->signature_algorithm == signer.sig_algorithm());
        CHECK_FALSE(applied.reregister);
    }
}

TEST_CASE("push signatures: the ECDSA SIG payload is r | s of the curve's size",
          "[push][signature]") {
    for (auto [scheme, octets] : {std::pair{KekSignatureScheme::ecdsa_p256, size_t{64}},
                                  std::pair{KekSignatureScheme::ecdsa_p384, size_t{96}}}) {
        const auto& signer = key_of(scheme);
        KekPolicy kek =
            make_kek(signer, scheme == KekSignatureScheme::ecdsa_p256 ? SignatureHash::sha256
                                                                      : SignatureHash::sha384);
        auto rx = member();
        auto v = rx.receive(rekey_push(kek, signer), kek, 6, kNow);
        REQUIRE(v.accepted());
        auto m = wire::decode_message(v.plaintext.reveal(),
                                      wire::DecodeContext{{}, wire::TrailingData::padding});
        CHECK(m.payloads.back().get<wire::SigPayload>()->data.size() == octets);
    }
}

TEST_CASE("push signatures: refusals name what is wrong and change nothing", "[push][signature]") {
    const auto& p256 = key_of(KekSignatureScheme::ecdsa_p256);
    const auto& p384 = key_of(KekSignatureScheme::ecdsa_p384);
    const auto& rsa = key_of(KekSignatureScheme::rsa);
    const KekPolicy kek = make_kek(p256, SignatureHash::sha256);
    const auto datagram = rekey_push(kek, p256);
    auto rx = member();

    SECTION("KD key of another kind or curve than SIG_ALGORITHM") {
        KekPolicy rsa_key = kek;
        rsa_key.public_key_der = rsa.public_key_der();
        check_refused(rx, datagram, rsa_key, "SIG_ALGORITHM ECDSA-256 but the KD key is RSA");
        KekPolicy p384_key = kek;
        p384_key.public_key_der = p384.public_key_der();
        check_refused(rx, datagram, p384_key,
                      "SIG_ALGORITHM ECDSA-256 but the KD key is ECDSA P-384");
        // And the other way round: an RSA KEK whose KD key is an EC key.
        KekPolicy rsa_kek = make_kek(rsa, SignatureHash::sha256);
        auto rsa_push = rekey_push(rsa_kek, rsa);
        rsa_kek.public_key_der = p256.public_key_der();
        check_refused(rx, rsa_push, rsa_kek, "SIG_ALGORITHM RSA but the KD key is ECDSA P-256");
    }
    SECTION("another key server's key of the same curve") {
        KekPolicy other = kek;
        other.public_key_der = key_of(KekSignatureScheme::ecdsa_p256, 1).public_key_der();
        check_refused(rx, datagram, other,
                      "signature does not verify with the KEK's ECDSA P-256 key");
    }
    SECTION("signature edited after signing") {
        auto valid = member().receive(datagram, kek, 6, kNow);
        REQUIRE(valid.accepted());
        check_refused(rx, reseal(valid.plaintext, kek, [](auto& s) { s[40] ^= 0x04; }), kek,
                      "signature does not verify with the KEK's ECDSA P-256 key");
        check_refused(rx, reseal(valid.plaintext, kek, [](auto& s) { s.pop_back(); }), kek,
                      "ECDSA P-256 signature of 63 octets: RFC 4754 section 7 wants r | s");
        // The same r and s in DER, as an X.509-minded signer would send them.
        auto to_der = [](std::vector<uint8_t>& s) {
            auto integer = [](std::vector<uint8_t> n) {
                while (n.size() > 1 && n[0] == 0 && !(n[1] & 0x80))
                    n.erase(n.begin());
                if (n[0] & 0x80) n.insert(n.begin(), 0x00);
                n.insert(n.begin(), {0x02, static_cast<uint8_t>(n.size())});
                return n;
            };
            auto r = integer({s.begin(), s.begin() + 32});
            auto sv = integer({s.begin() + 32, s.end()});
            std::vector<uint8_t> der{0x30, static_cast<uint8_t>(r.size() + sv.size())};
            der.insert(der.end(), r.begin(), r.end());
            der.insert(der.end(), sv.begin(), sv.end());
            s = der;
        };
        check_refused(rx, reseal(valid.plaintext, kek, to_der), kek,
                      "is DER-encoded (an ASN.1 SEQUENCE of r and s): RFC 4754 section 7");
        // Unchanged, the same plaintext sealed again is still accepted: the edits did it.
        CHECK(
            member().receive(reseal(valid.plaintext, kek, [](auto&) {}), kek, 6, kNow).accepted());
    }
    SECTION("a KEK naming ECDSA-256 with another hash") {
        KekPolicy sha1 = kek;
        sha1.signature_hash = SignatureHash::sha1;
        check_refused(rx, datagram, sha1,
                      "SIG_ALGORITHM ECDSA-256 signs with SHA256 (RFC 4754) but "
                      "SIG_HASH_ALGORITHM names SHA1");
    }
    SECTION("ECDSA-521 is named as unsupported") {
        KekPolicy p521 = kek;
        p521.signature_algorithm = SignatureAlgorithm::ecdsa_521;
        p521.signature_hash = SignatureHash::sha512;
        check_refused(rx, datagram, p521, "SIG_ALGORITHM ECDSA-521 is not supported");
    }
}

TEST_CASE("push builder: the signing key must be of the KEK's SIG_ALGORITHM", "[push][signature]") {
    KekPolicy kek = make_kek(key_of(KekSignatureScheme::ecdsa_p256), SignatureHash::sha256);
    CHECK_THROWS_WITH(rekey_push(kek, key_of(KekSignatureScheme::ecdsa_p384)),
                      "build_push: the KEK names SIG_ALGORITHM ECDSA-256 but the signing key is "
                      "ECDSA P-384");
}

TEST_CASE("SA KEK: ECDSA implies its hash; a contradictory SIG_HASH_ALGORITHM is refused",
          "[push][signature][wire]") {
    KekPolicy kek = make_kek(key_of(KekSignatureScheme::ecdsa_p384), SignatureHash::sha384);
    auto without_hash = wire::sa_kek_from(kek);
    std::erase_if(without_hash.attributes, [](const wire::Attribute& a) {
        return a.type == wire::kek_attr::sig_hash_algorithm;
    });
    auto read = wire::kek_policy_from(without_hash);
    CHECK(read.signature_algorithm == SignatureAlgorithm::ecdsa_384);
    CHECK(read.signature_hash == SignatureHash::sha384); // not the default SHA-256

    auto contradictory = without_hash;
    contradictory.attributes.push_back(
        wire::Attribute::tv(wire::kek_attr::sig_hash_algorithm, wire::sig_hash::sha256));
    CHECK_THROWS_WITH(wire::kek_policy_from(contradictory),
                      "SA KEK: SIG_ALGORITHM 5 (ECDSA-384) signs with SHA-384 (RFC 4754) but "
                      "SIG_HASH_ALGORITHM is 3 (SHA-256): contradictory, refused");
    CHECK(wire::kek_policy_from(wire::sa_kek_from(kek)).signature_hash == SignatureHash::sha384);
}
