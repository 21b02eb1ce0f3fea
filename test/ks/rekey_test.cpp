// The test key server's pushes (test/ks/rekey.*) read by the member's receiver
// (gdoi::push::PushReceiver) in one process: what the control commands promise is what a
// member sees.
#include "gdoi/crypto/kek_signature.hpp"
#include "gdoi/crypto/prf.hpp"
#include "gdoi/push/push_crypto.hpp"
#include "gdoi/push/push_receiver.hpp"
#include "test/ks/rekey.hpp"
#include "test/ks/timed_rekey.hpp"

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <tuple>
#include <unistd.h>

using namespace gdoi;
using namespace gdoi_test_ks;

namespace {

const IpAddress m1 = IpAddress::v4(10, 77, 0, 2);
const IpAddress m2 = IpAddress::v4(10, 77, 0, 3);

TekPolicy tek(uint32_t spi, const char* from, const char* to) {
    TekPolicy t;
    t.spi = spi;
    t.selector = {0, SelectorEndpoint::from_prefix(*IpPrefix::parse(from)),
                  SelectorEndpoint::from_prefix(*IpPrefix::parse(to))};
    t.cipher = TekCipher::aes_cbc;
    t.cipher_key_bits = 256;
    t.integrity = TekIntegrity::hmac_sha256;
    t.cipher_key = crypto::random_secret(32);
    t.integrity_key = crypto::random_secret(32);
    t.lifetime = std::chrono::seconds(3600);
    return t;
}

KsGroup group() {
    static const auto signer = std::make_shared<const crypto::KekPrivateKey>(
        crypto::KekPrivateKey::generate(crypto::KekSignatureScheme::rsa));
    KsGroup g;
    g.policy.group_id = 1234;
    g.policy.sequence = 3;
    KekPolicy kek;
    auto spi = crypto::random_bytes(16);
    std::copy(spi.begin(), spi.end(), kek.spi.begin());
    kek.key_bits = 128;
    kek.key = crypto::random_secret(16);
    kek.iv = crypto::random_bytes(16);
    kek.public_key_der = signer->public_key_der();
    kek.signature_key_bits = 2048;
    kek.lifetime = std::chrono::seconds(86400);
    kek.source = SelectorEndpoint::from_prefix(*IpPrefix::parse("10.77.0.1/32"), 848);
    kek.destination = SelectorEndpoint::from_prefix(*IpPrefix::parse("239.77.1.1/32"), 848);
    g.policy.kek = kek;
    g.signer = signer;
    g.policy.teks = {tek(0x10000001, "10.1.0.0/16", "10.2.0.0/16"),
                     tek(0x10000002, "10.2.0.0/16", "10.1.0.0/16")};
    g.tek_templates = g.policy.teks;
    return g;
}

push::PushVerdict receive(const OutgoingPush& p, const KekPolicy& kek, uint32_t last_sequence,
                          std::span<const TekPolicy> teks, TimePoint now) {
    push::PushReceiverConfig config;
    config.member_address = m1;
    return push::check_push(p.datagram, kek, last_sequence, now, teks, config);
}

} // namespace

TEST_CASE("push-now: members and the multicast group get a rekey they verify", "[ks][push]") {
    KsGroup g = group();
    GroupRuntime rt;
    TimePoint now{};
    const auto held = current_policy(g, rt, now);
    const KekPolicy kek = *g.policy.kek;

    auto plan = rekey(g, rt, {m1, m2}, false, now + std::chrono::seconds(600));
    CHECK(plan.sequence == 4);
    CHECK(*g.policy.sequence == 4);
    REQUIRE(plan.pushes.size() == 3);
    CHECK(plan.pushes[0].to == m1);
    CHECK(plan.pushes[1].to == m2);
    CHECK(plan.pushes[2].multicast);
    CHECK(plan.pushes[2].to.to_string() == "239.77.1.1");
    REQUIRE(plan.new_tek_spis.size() == 2);
    CHECK_FALSE(plan.new_kek_spi);

    auto v = receive(plan.pushes[0], kek, 3, held.teks, now + std::chrono::seconds(600));
    REQUIRE(v.accepted());
    CHECK(v.update->sequence == 4);
    CHECK(v.update->new_tek_spis == plan.new_tek_spis);
    CHECK_FALSE(v.update->kek_rollover);
    CHECK_FALSE(v.update->ejection_suspected);
    REQUIRE(v.update->teks.size() == 4); // old ones kept until they expire
    CHECK(v.update->teks[0].lifetime == std::chrono::seconds(3000));
    CHECK(v.update->teks[2].lifetime == std::chrono::seconds(3600));
    // The same datagram again is a replay.
    CHECK(receive(plan.pushes[2], kek, 4, held.teks, now).reason == push::PushReason::replayed_seq);
    // Later PULLs hand out the four TEKs.
    CHECK(current_policy(g, rt, now + std::chrono::seconds(600)).teks.size() == 4);
}

TEST_CASE("push-now with a KEK rollover travels under the old KEK", "[ks][push]") {
    KsGroup g = group();
    GroupRuntime rt;
    TimePoint now{};
    const KekPolicy old = *g.policy.kek;
    auto teks = current_policy(g, rt, now).teks;

    auto plan = rekey(g, rt, {m1}, true, now);
    REQUIRE(plan.new_kek_spi);
    CHECK(g.policy.kek->spi == *plan.new_kek_spi);
    CHECK(rt.previous_keks.size() == 1);
    auto v = receive(plan.pushes[0], old, 3, teks, now);
    REQUIRE(v.accepted());
    CHECK(v.update->kek_rollover);
    REQUIRE(v.update->kek);
    CHECK(v.update->kek->spi == *plan.new_kek_spi);

    // The next push is under the new KEK: the old one no longer opens it.
    auto next = rekey(g, rt, {m1}, false, now);
    CHECK(receive(next.pushes[0], old, 4, v.update->teks, now).reason ==
          push::PushReason::unknown_kek_spi);
    auto w = receive(next.pushes[0], *v.update->kek, 4, v.update->teks, now);
    CHECK(w.accepted());
}

TEST_CASE("delete-tek: one SPI or every TEK, and it leaves the policy", "[ks][push]") {
    KsGroup g = group();
    GroupRuntime rt;
    TimePoint now{};
    const KekPolicy kek = *g.policy.kek;
    auto teks = current_policy(g, rt, now).teks;

    CHECK_THROWS_AS(delete_tek(g, rt, {m1}, 0x0badf00d, now), RekeyError);
    CHECK(*g.policy.sequence == 3); // a refused request does not use a SEQ

    auto one = delete_tek(g, rt, {m1}, 0x10000001, now);
    auto v = receive(one.pushes[0], kek, 3, teks, now);
    REQUIRE(v.accepted());
    CHECK(v.update->deletes.tek_spis == std::vector<uint32_t>{0x10000001});
    REQUIRE(g.policy.teks.size() == 1);
    CHECK(g.policy.teks[0].spi == 0x10000002);

    auto all = delete_tek(g, rt, {m1}, 0, now);
    CHECK(all.deleted_tek_spis == std::vector<uint32_t>{0x10000002});
    auto w = receive(all.pushes[0], kek, 4, teks, now);
    REQUIRE(w.accepted());
    CHECK(w.update->deletes.all_teks);
    CHECK(g.policy.teks.empty());
}

TEST_CASE("eject-member: the member sees an ejection, only it gets the push", "[ks][push]") {
    KsGroup g = group();
    GroupRuntime rt;
    TimePoint now{};
    const KekPolicy kek = *g.policy.kek;
    auto teks = current_policy(g, rt, now).teks;

    SECTION("old TEKs with a short DTD") {
        auto plan = eject(g, rt, m1, std::chrono::seconds(10), now + std::chrono::seconds(3595));
        CHECK(plan.method == "old-teks-short-dtd");
        REQUIRE(plan.pushes.size() == 1);
        CHECK(plan.pushes[0].to == m1);
        CHECK(rt.ejected.count(m1) == 1);
        auto v = receive(plan.pushes[0], kek, 3, teks, now);
        REQUIRE(v.accepted());
        CHECK(v.update->ejection_suspected);
        // 5 s of TEK life left: the DTD is cut below it.
        CHECK(v.update->gap->deactivation_delay == std::chrono::seconds(4));
    }
    SECTION("no TEK left: a delete of every TEK") {
        delete_tek(g, rt, {}, 0, now);
        auto plan = eject(g, rt, m1, std::chrono::seconds(10), now);
        CHECK(plan.method == "delete-all-teks");
        auto v = receive(plan.pushes[0], kek, 4, teks, now);
        REQUIRE(v.accepted());
        CHECK(v.update->ejection_suspected);
    }
}

TEST_CASE("TEKs past their lifetime leave the group", "[ks][push]") {
    KsGroup g = group();
    GroupRuntime rt;
    TimePoint now{};
    CHECK(current_policy(g, rt, now).teks.size() == 2);
    rekey(g, rt, {}, false, now + std::chrono::seconds(1800));
    auto p = current_policy(g, rt, now + std::chrono::seconds(3600));
    REQUIRE(p.teks.size() == 2); // only the new generation
    CHECK(p.teks[0].lifetime == std::chrono::seconds(1800));
    CHECK(g.policy.teks.size() == 2);
}

// [group.rekey] under a simulated clock: t0 is when the configured TEKs were made.
TEST_CASE("timed rekey: due when the newest TEKs have before-expiry left", "[ks][timed]") {
    using std::chrono::seconds;
    KsGroup g = group();
    GroupRuntime rt;
    const TimePoint t0{};
    current_policy(g, rt, t0); // records the births, as ks_main does at start

    SECTION("no [group.rekey]: never") {
        CHECK_FALSE(next_timed_rekey(g, rt));
        CHECK_THROWS_AS(timed_rekey(g, rt, {m1}, t0), RekeyError);
        CHECK(*g.policy.sequence == 3);
    }

    g.timed_rekey = TimedRekeyConfig{seconds(600), TimedRekeyConfig::Send::push};

    SECTION("TEKs whose birth is unknown are not timed") {
        CHECK_FALSE(next_timed_rekey(g, GroupRuntime{}));
    }
    SECTION("the shortest-lived configured TEK decides; one rekey renews them all") {
        CHECK(next_timed_rekey(g, rt) == t0 + seconds(3000));
        g.policy.teks[1].lifetime = g.tek_templates[1].lifetime = seconds(1200);
        CHECK(next_timed_rekey(g, rt) == t0 + seconds(600));
    }
    SECTION("send = push: a push-now, then timed from the new TEKs") {
        const KekPolicy kek = *g.policy.kek;
        const auto held = current_policy(g, rt, t0).teks;
        auto plan = timed_rekey(g, rt, {m1, m2}, t0 + seconds(3000));
        CHECK(rt.timed_rekeys == 1);
        CHECK(plan.sequence == 4);
        REQUIRE(plan.new_tek_spis.size() == 2);
        REQUIRE(plan.pushes.size() == 3); // both members and the multicast group
        CHECK_FALSE(plan.new_kek_spi);
        auto v = receive(plan.pushes[0], kek, 3, held, t0 + seconds(3000));
        REQUIRE(v.accepted());
        CHECK(v.update->new_tek_spis == plan.new_tek_spis);
        REQUIRE(v.update->teks.size() == 4);
        CHECK(v.update->teks[0].lifetime == seconds(600)); // the old ones, until they expire
        // The old TEKs are still in the group but no longer the newest: they time nothing.
        CHECK(next_timed_rekey(g, rt) == t0 + seconds(6000));
        CHECK(timed_rekey_summary(g, plan) ==
              "timed rekey of group 1234: new TEKs " + push::spi_hex(plan.new_tek_spis[0]) + ", " +
                  push::spi_hex(plan.new_tek_spis[1]) + " (sequence 4), pushed to 2 members");
    }
    SECTION("send = none: the group moves on, nothing is sent, the next PULL has both") {
        g.timed_rekey->send = TimedRekeyConfig::Send::none;
        auto plan = timed_rekey(g, rt, {m1, m2}, t0 + seconds(3000));
        CHECK(plan.pushes.empty());
        CHECK(plan.sequence == 4);
        CHECK(rt.timed_rekeys == 1);
        auto pulled = current_policy(g, rt, t0 + seconds(3010));
        CHECK(pulled.sequence == 4);
        REQUIRE(pulled.teks.size() == 4);
        CHECK(pulled.teks[0].spi == 0x10000001);
        CHECK(pulled.teks[0].lifetime == seconds(590));
        CHECK(pulled.teks[2].spi == plan.new_tek_spis[0]);
        CHECK(pulled.teks[2].lifetime == seconds(3590));
        CHECK(next_timed_rekey(g, rt) == t0 + seconds(6000));
        CHECK(timed_rekey_summary(g, plan).ends_with("(sequence 4), not pushed (send = none)"));
    }
    SECTION("a group without a KEK can still renew its TEKs unpushed") {
        g.policy.kek.reset();
        g.timed_rekey->send = TimedRekeyConfig::Send::none;
        CHECK(timed_rekey(g, rt, {m1}, t0 + seconds(3000)).new_tek_spis.size() == 2);
    }
    SECTION("overdue (the server was held up): due in the past, one rekey catches up") {
        auto due = next_timed_rekey(g, rt);
        REQUIRE(due);
        CHECK(*due < t0 + seconds(3500));
        timed_rekey(g, rt, {}, t0 + seconds(3500));
        CHECK(next_timed_rekey(g, rt) == t0 + seconds(6500));
    }
    SECTION("push-now starts the clock again") {
        rekey(g, rt, {m1}, false, t0 + seconds(100));
        CHECK(next_timed_rekey(g, rt) == t0 + seconds(3100));
        CHECK(rt.timed_rekeys == 0);
    }
    SECTION("a configured TEK whose TEKs were deleted times nothing") {
        g.policy.teks[1].lifetime = g.tek_templates[1].lifetime = seconds(1200);
        delete_tek(g, rt, {}, 0x10000002, t0);
        CHECK(next_timed_rekey(g, rt) == t0 + seconds(3000));
        delete_tek(g, rt, {}, 0, t0);
        CHECK_FALSE(next_timed_rekey(g, rt));
        rekey(g, rt, {}, false, t0 + seconds(10)); // push-now makes both anew
        CHECK(next_timed_rekey(g, rt) == t0 + seconds(610));
    }
}

namespace {

// load_config on `toml` written to a scratch file.
KsConfig config_from(const std::string& toml) {
    auto path = std::filesystem::temp_directory_path() /
                ("ks-timed-rekey-test-" + std::to_string(::getpid()) + ".toml");
    std::ofstream(path) << toml;
    struct Remove {
        std::filesystem::path p;
        ~Remove() { std::filesystem::remove(p); }
    } remove{path};
    return load_config(path.string());
}

const std::string group_head = R"(
[[group]]
id = 1234
default-psk = "x"
[[group.tek]]
spi = 0x10000001
source = "10.1.0.0/16"
destination = "10.2.0.0/16"
lifetime = 20
)";

} // namespace

TEST_CASE("[group.rekey] is read and checked", "[ks][timed][config]") {
    using Catch::Matchers::Contains;
    CHECK_FALSE(config_from(group_head).groups[0].timed_rekey);

    auto none = config_from(group_head + "[group.rekey]\nbefore-expiry = 15\nsend = \"none\"\n");
    REQUIRE(none.groups[0].timed_rekey);
    CHECK(none.groups[0].timed_rekey->before_expiry == std::chrono::seconds(15));
    CHECK(none.groups[0].timed_rekey->send == TimedRekeyConfig::Send::none);

    CHECK_THROWS_WITH(config_from(group_head + "[group.rekey]\nsend = \"none\"\n"),
                      Contains("missing \"before-expiry\""));
    CHECK_THROWS_WITH(config_from(group_head + "[group.rekey]\nbefore-expiry = 0\n"),
                      Contains(":11:17: before-expiry must be greater than 0"));
    CHECK_THROWS_WITH(
        config_from(group_head + "[group.rekey]\nbefore-expiry = 20\nsend = \"none\"\n"),
        Contains("before-expiry (20) must be smaller than every TEK lifetime of the group (TEK "
                 "0x10000001 lives 20 s)"));
    CHECK_THROWS_WITH(
        config_from(group_head + "[group.rekey]\nbefore-expiry = 5\nsend = \"pull\"\n"),
        Contains(":12:8: unknown send \"pull\" (push:"));
    CHECK_THROWS_WITH(config_from(group_head + "[group.rekey]\nbefore-expiry = 5\n"),
                      Contains("send = \"push\" needs a [group.kek]"));
    CHECK_THROWS_WITH(config_from("[[group]]\nid = 1\nrekey = 5\n"),
                      Contains(":3:9: [group.rekey] must be a table"));
}

TEST_CASE("push-now \"wrong-signature\": refused by the member, the group moves on", "[ks][push]") {
    KsGroup g = group();
    GroupRuntime rt;
    TimePoint now{};
    const KekPolicy kek = *g.policy.kek;
    auto teks = current_policy(g, rt, now).teks;

    auto bad = rekey(g, rt, {m1}, false, now, true);
    REQUIRE(rt.impostor_signer);
    CHECK(rt.impostor_signer->scheme() == g.signer->scheme());
    CHECK(rt.impostor_signer->public_key_der() != g.signer->public_key_der());
    auto v = receive(bad.pushes[0], kek, 3, teks, now);
    CHECK(v.reason == push::PushReason::bad_signature);
    CHECK_THAT(v.message, Catch::Contains("signature does not verify with the KEK's RSA key"));
    // The next genuine push (SEQ 5) is accepted.
    auto good = rekey(g, rt, {m1}, false, now);
    CHECK(receive(good.pushes[0], kek, 3, teks, now).accepted());
}

TEST_CASE("[group.kek] signature-algorithm: ECDSA keys, the KEK announces them",
          "[ks][push][config]") {
    using Catch::Matchers::Contains;
    const std::string kek_head = group_head + R"(
[group.kek]
source = "10.77.0.1:848"
destination = "239.77.1.1:848"
)";
    auto rsa = config_from(kek_head);
    REQUIRE(rsa.groups[0].policy.kek);
    CHECK(rsa.groups[0].policy.kek->signature_algorithm == SignatureAlgorithm::rsa);
    CHECK(rsa.groups[0].policy.kek->signature_hash == SignatureHash::sha256);
    CHECK(rsa.groups[0].policy.kek->signature_key_bits == 2048);

    auto rsa512 = config_from(kek_head + "signature-hash = \"sha512\"\n");
    CHECK(rsa512.groups[0].policy.kek->signature_hash == SignatureHash::sha512);

    for (auto [name, algorithm, hash, bits] :
         {std::tuple{"ecdsa-p256", SignatureAlgorithm::ecdsa_256, SignatureHash::sha256, 256},
          std::tuple{"ecdsa-p384", SignatureAlgorithm::ecdsa_384, SignatureHash::sha384, 384}}) {
        CAPTURE(name);
        auto c = config_from(kek_head + "signature-algorithm = \"" + name + "\"\n");
        auto& group = c.groups[0];
        REQUIRE(group.policy.kek);
        const KekPolicy& kek = *group.policy.kek;
        CHECK(kek.signature_algorithm == algorithm);
        CHECK(kek.signature_hash == hash);
        CHECK(kek.signature_key_bits == bits);
        // The KD key is the signer's public key, an EC key on the curve.
        auto key = crypto::KekPublicKey::from_der(algorithm, kek.public_key_der);
        CHECK(key.key_bits() == size_t(bits));
        // Its pushes verify at the member.
        GroupRuntime rt;
        TimePoint now{};
        auto teks = current_policy(group, rt, now).teks;
        auto plan = rekey(group, rt, {m1}, false, now);
        auto v = receive(plan.pushes[0], kek, 0, teks, now);
        INFO(v.message);
        CHECK(v.accepted());
    }
    CHECK_THROWS_WITH(
        config_from(kek_head + "signature-algorithm = \"dsa\"\n"),
        Contains("unknown signature-algorithm \"dsa\" (rsa, ecdsa-p256, ecdsa-p384)"));
    CHECK_THROWS_WITH(config_from(kek_head + "signature-algorithm = \"ecdsa-p384\"\n" +
                                  "signature-hash = \"sha256\"\n"),
                      Contains("ecdsa-p384 signs with sha384 (RFC 4754), not sha256"));
    CHECK_THROWS_WITH(config_from(kek_head + "signature-hash = \"md4\"\n"),
                      Contains("unknown signature-hash \"md4\""));
    CHECK_THROWS_WITH(config_from(kek_head + "signature-algorithm = \"ecdsa-p256\"\n" +
                                  "signing-key = \"/nonexistent/ks-key.pem\"\n"),
                      Contains("cannot open EC private key file /nonexistent/ks-key.pem "
                               "(signature-algorithm ecdsa-p256)"));
}
