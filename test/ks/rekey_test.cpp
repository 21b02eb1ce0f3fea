// The test key server's pushes (test/ks/rekey.*) read by the member's receiver
// (gdoi::push::PushReceiver) in one process: what the control commands promise is what a
// member sees.
#include "gdoi/crypto/prf.hpp"
#include "gdoi/push/push_receiver.hpp"
#include "test/ks/rekey.hpp"

#include <catch2/catch.hpp>

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
    static const auto signer =
        std::make_shared<const crypto::RsaPrivateKey>(crypto::RsaPrivateKey::generate(2048));
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
