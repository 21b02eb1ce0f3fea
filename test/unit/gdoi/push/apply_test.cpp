// apply(): what the member does with an accepted push — ATD/DTD absent vs present, old TEKs
// kept to expiry without DTD, deletes (one SPI, SPI 0, with and without DTD), KEK rollover,
// ejection.
#include "gdoi/push/push_apply.hpp"

#include <catch2/catch.hpp>

using namespace gdoi;
using namespace gdoi::push;
using std::chrono::seconds;

namespace {

TekPolicy tek(uint32_t spi, const char* src = "10.1.0.0/16", const char* dst = "10.1.0.0/16") {
    TekPolicy t;
    t.spi = spi;
    t.selector.source = SelectorEndpoint::from_prefix(*IpPrefix::parse(src));
    t.selector.destination = SelectorEndpoint::from_prefix(*IpPrefix::parse(dst));
    t.lifetime = seconds(3600);
    return t;
}

GroupPolicy group_with(std::vector<TekPolicy> teks) {
    GroupPolicy g;
    g.group_id = 1234;
    KekPolicy k;
    k.spi.fill(0xaa);
    g.kek = k;
    g.teks = std::move(teks);
    g.sequence = 4;
    g.gap.activation_delay = seconds(30);
    return g;
}

const TimePoint t0 = TimePoint{} + seconds(1000);

bool has_event(const ApplyResult& r, const std::string& text) {
    for (auto& e : r.events)
        if (e.find(text) != std::string::npos) return true;
    return false;
}

} // namespace

TEST_CASE("apply: rekey with ATD and DTD schedules the old TEK's removal", "[push][apply]") {
    auto current = group_with({tek(0x100)});
    PushUpdate u;
    u.sequence = 5;
    auto old_repeated = tek(0x100);
    old_repeated.lifetime = seconds(80); // time left
    u.teks = {old_repeated, tek(0x200)};
    u.new_tek_spis = {0x200};
    u.gap = GroupAssociatedPolicy{seconds(60), seconds(90), {}};
    auto r = apply(current, u, t0);
    CHECK(r.next.sequence == 5u);
    REQUIRE(r.next.teks.size() == 2);
    CHECK(r.next.teks[0].lifetime == seconds(80));
    CHECK(r.next.gap.activation_delay == seconds(60));
    CHECK(r.next.gap.deactivation_delay == seconds(90));
    CHECK(has_event(r, "rekey: new TEK spi 0x00000200 activates in 60 s"));
    CHECK(has_event(r, "old TEK spi 0x00000100 removed after DTD 90 s"));
    REQUIRE(r.removals.size() == 1);
    CHECK(r.removals[0].spi == 0x100u);
    CHECK(r.removals[0].at == t0 + seconds(90));
    CHECK_FALSE(r.reregister);
}

TEST_CASE("apply: a DTD shorter than the ATD keeps the old TEK until senders switch", "[push][apply]") {
    // Members switch to the new TEK at the ATD; deleting the old SA at an earlier DTD would drop
    // everything they send in between.
    auto current = group_with({tek(0x100)});
    PushUpdate u;
    u.sequence = 6;
    u.teks = {tek(0x100), tek(0x200)};
    u.new_tek_spis = {0x200};
    u.gap = GroupAssociatedPolicy{seconds(60), seconds(30), {}};
    auto r = apply(current, u, t0);
    REQUIRE(r.removals.size() == 1);
    CHECK(r.removals[0].spi == 0x100u);
    CHECK(r.removals[0].at == t0 + seconds(60));
    CHECK(has_event(r, "old TEK spi 0x00000100 removed after 60 s (the ATD; the DTD 30 s is shorter)"));
}

TEST_CASE("apply: no ATD installs at once, no DTD keeps the old TEK to its expiry",
          "[push][apply]") {
    auto current = group_with({tek(0x100)});
    PushUpdate u;
    u.sequence = 5;
    u.teks = {tek(0x200)};
    u.new_tek_spis = {0x200};
    // No GAP payload at all: the earlier policy's ATD of 30 s must not apply to this push.
    auto r = apply(current, u, t0);
    CHECK_FALSE(r.next.gap.activation_delay);
    CHECK_FALSE(r.next.gap.deactivation_delay);
    CHECK(has_event(r, "new TEK spi 0x00000200 active now (no ATD)"));
    CHECK(has_event(r, "old TEK spi 0x00000100 kept until it expires (no DTD)"));
    CHECK(r.removals.empty());
    CHECK(r.next.teks.size() == 2);

    // ATD 0 present is "now" too, but stays visible as 0 (absent and 0 are different values).
    u.gap = GroupAssociatedPolicy{seconds(0), std::nullopt, {}};
    auto r0 = apply(current, u, t0);
    CHECK(r0.next.gap.activation_delay == seconds(0));
    CHECK(has_event(r0, "active now"));
}

TEST_CASE("apply: deletes", "[push][apply]") {
    auto current = group_with({tek(0x100), tek(0x101, "10.2.0.0/16", "10.2.0.0/16")});
    SECTION("one SPI, no DTD: removed now") {
        PushUpdate u;
        u.sequence = 5;
        u.deletes.tek_spis = {0x101};
        auto r = apply(current, u, t0);
        REQUIRE(r.next.teks.size() == 1);
        CHECK(r.next.teks[0].spi == 0x100u);
        REQUIRE(r.removals.size() == 1);
        CHECK(r.removals[0].at == t0);
        CHECK(has_event(r, "delete: TEK spi 0x00000101 removed now"));
    }
    SECTION("one SPI with DTD: removed after it") {
        PushUpdate u;
        u.sequence = 5;
        u.deletes.tek_spis = {0x101};
        u.gap = GroupAssociatedPolicy{std::nullopt, seconds(90), {}};
        auto r = apply(current, u, t0);
        CHECK(r.next.teks.size() == 2); // still there until the DTD passes
        REQUIRE(r.removals.size() == 1);
        CHECK(r.removals[0].at == t0 + seconds(90));
        CHECK(has_event(r, "delete: TEK spi 0x00000101, removed after DTD 90 s"));
    }
    SECTION("SPI 0 deletes every TEK; the member must register again") {
        PushUpdate u;
        u.sequence = 5;
        u.deletes.all_teks = true;
        auto r = apply(current, u, t0);
        CHECK(r.next.teks.empty());
        CHECK(r.removals.size() == 2);
        CHECK(r.reregister);
    }
    SECTION("KEK delete leaves no KEK") {
        PushUpdate u;
        u.sequence = 5;
        u.deletes.kek_spis = {current.kek->spi};
        auto r = apply(current, u, t0);
        CHECK_FALSE(r.next.kek);
        CHECK(r.reregister);
        CHECK(has_event(r, "delete: KEK aaaa"));
    }
    SECTION("unknown SPI is logged, nothing removed") {
        PushUpdate u;
        u.sequence = 5;
        u.deletes.tek_spis = {0x999};
        auto r = apply(current, u, t0);
        CHECK(r.next.teks.size() == 2);
        CHECK(r.removals.empty());
        CHECK(has_event(r, "not known here"));
    }
}

TEST_CASE("apply: KEK rollover and ejection", "[push][apply]") {
    auto current = group_with({tek(0x100)});
    PushUpdate u;
    u.sequence = 5;
    KekPolicy next;
    next.spi.fill(0xbb);
    next.cipher = KekCipher::aes_cbc;
    next.lifetime = seconds(86400);
    u.kek = next;
    u.kek_rollover = true;
    auto r = apply(current, u, t0);
    CHECK(r.kek_rolled_over);
    REQUIRE(r.next.kek);
    CHECK(r.next.kek->spi == next.spi);
    CHECK(has_event(r, "KEK rolled over to bbbb"));

    PushUpdate eject;
    eject.sequence = 6;
    eject.teks = {tek(0x100)};
    eject.gap = GroupAssociatedPolicy{std::nullopt, seconds(10), {}};
    eject.ejection_suspected = true;
    eject.ejection_reason = "push carries only TEKs already held";
    auto e = apply(current, eject, t0);
    CHECK(e.reregister);
    CHECK(has_event(e, "ejected by key server"));
}
