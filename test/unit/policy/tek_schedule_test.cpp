#include "policy/tek_schedule.hpp"
#include "policy_fixtures.hpp"

using namespace fixtures;
using namespace policy;

namespace {

TekSchedule schedule_of(const GroupTimeline& timeline, uint32_t spi) {
    for (const auto& s : timeline.schedule())
        if (s.spi == spi) return s;
    FAIL("no schedule for SPI " << spi);
    return {};
}

} // namespace

TEST_CASE("a single TEK is used at once in both directions until it expires", "[schedule]") {
    GroupTimeline timeline;
    timeline.observe(group_policy({tek(0x1000, "10.0.0.0/8", "10.0.0.0/8", 3600s)}), t0());
    const auto s = schedule_of(timeline, 0x1000);
    CHECK(s.install_at == t0());
    CHECK(s.activate_outbound_at == t0());
    CHECK(s.deactivate_outbound_at == at(3600s));
    CHECK(s.remove_at == at(3600s));
    CHECK(s.expires_at == at(3600s));
    CHECK(s.inbound_at(at(3599s)));
    CHECK_FALSE(s.inbound_at(at(3600s)));
    CHECK(timeline.next_change_after(t0()) == at(3600s));
    CHECK_FALSE(timeline.next_change_after(at(3600s)));
}

TEST_CASE("rekey with ATD and DTD: inbound at once, switch after ATD, old gone after DTD",
          "[schedule]") {
    GroupTimeline timeline;
    timeline.observe(group_policy({tek(0x1000, "10.0.0.0/8", "10.0.0.0/8", 300s)}), t0());
    // The push repeats the old TEK with what is left of its life, as real servers do.
    timeline.observe(group_policy({tek(0x1000, "10.0.0.0/8", "10.0.0.0/8", 100s),
                                   tek(0x2000, "10.0.0.0/8", "10.0.0.0/8", 300s)},
                                  60s, 90s),
                     at(200s));
    const auto old_tek = schedule_of(timeline, 0x1000);
    const auto new_tek = schedule_of(timeline, 0x2000);
    CHECK(old_tek.received_at == t0()); // not reset by the repetition
    CHECK(old_tek.expires_at == at(300s));
    CHECK(new_tek.install_at == at(200s));
    CHECK(new_tek.activate_outbound_at == at(260s)); // ATD
    CHECK(old_tek.deactivate_outbound_at == at(260s));
    CHECK(old_tek.remove_at == at(290s)); // DTD after receipt of the new TEK
    CHECK(new_tek.expires_at == at(500s));
    CHECK(new_tek.slot == old_tek.slot);
    CHECK(timeline.next_change_after(at(200s)) == at(260s));
    CHECK(timeline.next_change_after(at(260s)) == at(290s));
    CHECK(timeline.next_change_after(at(290s)) == at(500s));
}

TEST_CASE("without ATD the switch comes the configured lead before the old key expires",
          "[schedule]") {
    SECTION("default lead of 30 s") {
        GroupTimeline timeline;
        timeline.observe(group_policy({tek(0x1000, "10.0.0.0/8", "10.0.0.0/8", 3600s)}), t0());
        timeline.observe(group_policy({tek(0x2000, "10.0.0.0/8", "10.0.0.0/8", 3600s)}), at(3510s));
        CHECK(schedule_of(timeline, 0x2000).activate_outbound_at == at(3570s));
        // No DTD: the old inbound state lives until the old key expires.
        CHECK(schedule_of(timeline, 0x1000).remove_at == at(3600s));
    }
    SECTION("a configured lead of 45 s") {
        GroupTimeline timeline(45s);
        timeline.observe(group_policy({tek(0x1000, "10.0.0.0/8", "10.0.0.0/8", 3600s)}), t0());
        timeline.observe(group_policy({tek(0x2000, "10.0.0.0/8", "10.0.0.0/8", 3600s)}), at(3510s));
        CHECK(schedule_of(timeline, 0x2000).activate_outbound_at == at(3555s));
    }
    SECTION("an ATD longer than the old key's remaining life is cut to the lead") {
        GroupTimeline timeline;
        timeline.observe(group_policy({tek(0x1000, "10.0.0.0/8", "10.0.0.0/8", 3600s)}), t0());
        timeline.observe(group_policy({tek(0x2000, "10.0.0.0/8", "10.0.0.0/8", 3600s)}, 600s),
                         at(3500s));
        CHECK(schedule_of(timeline, 0x2000).activate_outbound_at == at(3570s));
    }
    SECTION("a new key that arrives with less than the lead left is used at once") {
        GroupTimeline timeline;
        timeline.observe(group_policy({tek(0x1000, "10.0.0.0/8", "10.0.0.0/8", 3600s)}), t0());
        timeline.observe(group_policy({tek(0x2000, "10.0.0.0/8", "10.0.0.0/8", 3600s)}), at(3590s));
        CHECK(schedule_of(timeline, 0x2000).activate_outbound_at == at(3590s));
        CHECK(schedule_of(timeline, 0x1000).deactivate_outbound_at == at(3590s));
    }
}

TEST_CASE("a PULL after a restart brings old and new TEK together: the one expiring first is old",
          "[schedule]") {
    GroupTimeline timeline;
    timeline.observe(group_policy({tek(0x2000, "10.0.0.0/8", "10.0.0.0/8", 3600s),
                                   tek(0x1000, "10.0.0.0/8", "10.0.0.0/8", 40s)},
                                  std::nullopt, 20s),
                     t0());
    const auto old_tek = schedule_of(timeline, 0x1000);
    const auto new_tek = schedule_of(timeline, 0x2000);
    CHECK(new_tek.activate_outbound_at == at(10s)); // 30 s before the old one's end
    CHECK(old_tek.deactivate_outbound_at == at(10s));
    CHECK(old_tek.remove_at == at(20s));
    CHECK(old_tek.inbound_at(t0()));
}

TEST_CASE("a registration bringing old and new TEK from a server with an ATD sends with the new one at once",
          "[schedule]") {
    // The push that made 0x2000 came before we registered: the group switched within its ATD
    // and drops 0x1000 after the DTD; waiting out the ATD again would send with a dead key.
    GroupTimeline timeline;
    timeline.observe(group_policy({tek(0x1000, "10.0.0.0/8", "10.0.0.0/8", 3560s),
                                   tek(0x2000, "10.0.0.0/8", "10.0.0.0/8", 3595s)},
                                  5s, 10s),
                     t0());
    const auto old_tek = schedule_of(timeline, 0x1000);
    const auto new_tek = schedule_of(timeline, 0x2000);
    CHECK(new_tek.activate_outbound_at == t0());
    CHECK(new_tek.outbound_at(t0()));
    CHECK_FALSE(old_tek.outbound_at(t0()));
    CHECK(old_tek.inbound_at(t0())); // late packets of the old key are still read, for the DTD
    CHECK(old_tek.remove_at == at(10s));

    // A push later in life still waits for its ATD: only TEKs first seen together skip it.
    timeline.observe(group_policy({tek(0x3000, "10.0.0.0/8", "10.0.0.0/8", 3600s)}, 5s, 10s), at(100s));
    CHECK(schedule_of(timeline, 0x3000).activate_outbound_at == at(105s));
}

TEST_CASE("slots follow the key server's ACL order and keep their reqid across rekeys",
          "[schedule]") {
    GroupTimeline timeline;
    timeline.observe(group_policy({tek(0x1000, "10.1.0.0/16", "10.2.0.0/16"),
                                   tek(0x1001, "10.3.0.0/16", "10.4.0.0/16")}),
                     t0());
    REQUIRE(timeline.slots().size() == 2);
    CHECK(timeline.slots()[0].selector == selector("10.1.0.0/16", "10.2.0.0/16"));
    CHECK(timeline.slots()[0].acl_position == 0);
    CHECK(timeline.slots()[1].acl_position == 1);
    const uint32_t reqid_a = timeline.slots()[0].reqid_slot;
    const uint32_t reqid_b = timeline.slots()[1].reqid_slot;
    CHECK(reqid_a != reqid_b);
    CHECK(reqid_a != 0);

    // The server reorders its ACL and adds an entry: positions follow, reqids stay.
    timeline.observe(group_policy({tek(0x2001, "10.3.0.0/16", "10.4.0.0/16"),
                                   tek(0x2002, "10.5.0.0/16", "10.6.0.0/16"),
                                   tek(0x2000, "10.1.0.0/16", "10.2.0.0/16")}),
                     at(100s));
    REQUIRE(timeline.slots().size() == 3);
    CHECK(timeline.slots()[0].selector == selector("10.3.0.0/16", "10.4.0.0/16"));
    CHECK(timeline.slots()[0].reqid_slot == reqid_b);
    CHECK(timeline.slots()[2].selector == selector("10.1.0.0/16", "10.2.0.0/16"));
    CHECK(timeline.slots()[2].reqid_slot == reqid_a);
    CHECK(timeline.slots()[1].reqid_slot != reqid_a);
    CHECK(timeline.slots()[1].reqid_slot != reqid_b);
}

TEST_CASE("deletes, ejection, pruning and adopted reqids", "[schedule]") {
    GroupTimeline timeline;
    timeline.observe(group_policy({tek(0x1000, "10.0.0.0/8", "10.0.0.0/8", 100s)}), t0());
    timeline.observe(group_policy({tek(0x2000, "10.0.0.0/8", "10.0.0.0/8", 300s)}, 10s, 20s),
                     at(50s));

    SECTION("a DELETE payload removes the TEK at once") {
        timeline.forget_tek(0x2000);
        REQUIRE(timeline.schedule().size() == 1);
        CHECK(timeline.schedule()[0].spi == 0x1000);
        CHECK(timeline.schedule()[0].deactivate_outbound_at == at(100s));
    }
    SECTION("ejection forgets every TEK but keeps the ACL for fail-closed") {
        timeline.forget_all_teks();
        CHECK(timeline.schedule().empty());
        CHECK(timeline.slots().size() == 1);
    }
    SECTION("prune drops TEKs whose schedule ended, and nothing else") {
        timeline.prune(at(69s));
        CHECK(timeline.teks().size() == 2);
        timeline.prune(at(70s)); // old removed at receipt + DTD = 70 s
        REQUIRE(timeline.teks().size() == 1);
        CHECK(timeline.teks()[0].tek.spi == 0x2000);
        CHECK(schedule_of(timeline, 0x2000).activate_outbound_at <= at(70s));
    }
    SECTION("an installed state's reqid is reused after a restart") {
        timeline.adopt_reqid_slot(0x2000, 77);
        CHECK(timeline.slots()[0].reqid_slot == 77);
        timeline.adopt_reqid_slot(0x9999, 78); // unknown SPI: ignored
        CHECK(timeline.slots()[0].reqid_slot == 77);
    }
}

TEST_CASE("a TEK without lifetime never expires", "[schedule]") {
    GroupTimeline timeline;
    timeline.observe(group_policy({tek(0x1000, "10.0.0.0/8", "10.0.0.0/8", 0s)}), t0());
    const auto s = schedule_of(timeline, 0x1000);
    CHECK(s.expires_at == never);
    CHECK(s.inbound_at(at(std::chrono::hours(24 * 365))));
    CHECK_FALSE(timeline.next_change_after(t0()));
}

TEST_CASE("a superseded TEK the key server keeps listing never comes back", "[schedule]") {
    // Seen in the VM lab: the server repeats every live TEK in each push. Once the old TEK's
    // DTD had run out and it was forgotten, the next push re-added it as if new, and senders
    // switched back to the old key.
    GroupTimeline timeline;
    timeline.observe(group_policy({tek(0x1000, "10.0.0.0/8", "10.0.0.0/8", 3600s)}), t0());
    timeline.observe(group_policy({tek(0x1000, "10.0.0.0/8", "10.0.0.0/8", 3560s),
                                   tek(0x2000, "10.0.0.0/8", "10.0.0.0/8", 3600s)},
                                  5s, 10s),
                     at(40s));
    timeline.forget_tek(0x1000); // its DTD ran out
    CHECK(timeline.retired(0x1000));
    timeline.observe(group_policy({tek(0x1000, "10.0.0.0/8", "10.0.0.0/8", 3520s),
                                   tek(0x2000, "10.0.0.0/8", "10.0.0.0/8", 3560s),
                                   tek(0x3000, "10.0.0.0/8", "10.0.0.0/8", 3600s)},
                                  5s, 10s),
                     at(80s));
    REQUIRE(timeline.find(0x1000) == nullptr);
    CHECK(schedule_of(timeline, 0x3000).activate_outbound_at == at(85s));
    CHECK(schedule_of(timeline, 0x2000).deactivate_outbound_at == at(85s));
    CHECK(schedule_of(timeline, 0x2000).remove_at == at(90s));
    for (const auto& s : timeline.schedule())
        CHECK_FALSE(s.outbound_at(at(86s)) != (s.spi == 0x3000));
    // 0x2000 sent until 85 s and is received until 90 s: a retired sender in between only.
    CHECK_FALSE(schedule_of(timeline, 0x2000).retired_sender_at(at(84s)));
    CHECK(schedule_of(timeline, 0x2000).retired_sender_at(at(86s)));
    CHECK_FALSE(schedule_of(timeline, 0x2000).retired_sender_at(at(90s)));
    CHECK_FALSE(schedule_of(timeline, 0x3000).retired_sender_at(at(86s)));
}

TEST_CASE(
    "a key server restarted with new keys: its TEKs are received at once, sent with after its ATD",
    "[schedule][ks-restart]") {
    // Registered at t0 (TEK 0x1000, 600 s); the server restarts and forgets it. Our
    // re-registration at 100 s brings only its new TEK 0x2000 for the same ACL entry. The other
    // members still send 0x1000 until they re-register too: switching at once would make them
    // drop what we send; they all switch within the ATD of the registration that taught them.
    GroupTimeline timeline(4s);
    timeline.observe(group_policy({tek(0x1000, "10.1.0.0/16", "10.2.0.0/16", 600s)}, 20s, 30s),
                     t0());
    timeline.observe(group_policy({tek(0x2000, "10.1.0.0/16", "10.2.0.0/16", 600s)}, 20s, 30s),
                     at(100s));
    const auto old_tek = schedule_of(timeline, 0x1000);
    const auto new_tek = schedule_of(timeline, 0x2000);
    REQUIRE(new_tek.slot == old_tek.slot);
    CHECK(new_tek.install_at == at(100s)); // inbound at once: the others may switch before us
    CHECK(new_tek.activate_outbound_at == at(120s));
    CHECK(old_tek.outbound_at(at(119s)));
    CHECK_FALSE(new_tek.outbound_at(at(119s)));
    CHECK(new_tek.outbound_at(at(120s)));
    CHECK(old_tek.inbound_at(at(120s)));
    CHECK(old_tek.remove_at == at(130s)); // the DTD after the new TEK's receipt
    CHECK(old_tek.expires_at == at(600s));

    SECTION("an old TEK too close to its end for the ATD is left the lead before it expires") {
        GroupTimeline late(4s);
        late.observe(group_policy({tek(0x1000, "10.1.0.0/16", "10.2.0.0/16", 110s)}, 20s, 30s),
                     t0());
        late.observe(group_policy({tek(0x2000, "10.1.0.0/16", "10.2.0.0/16", 600s)}, 20s, 30s),
                     at(100s));
        CHECK(schedule_of(late, 0x2000).activate_outbound_at == at(106s));
        CHECK(schedule_of(late, 0x1000).remove_at == at(110s));
    }
}

TEST_CASE(
    "a restarted key server's TEK and its push's newer one learnt together while ours is valid: "
    "the newest after the ATD",
    "[schedule][ks-restart]") {
    // The server restarted with 0x2000, pushed 0x3000 under its new KEK (which we could not
    // read) and our re-registration brings both. The group still sends 0x1000 until each
    // member re-registers: not at once, as for a member that joins with nothing of its own.
    GroupTimeline timeline(4s);
    timeline.observe(group_policy({tek(0x1000, "10.1.0.0/16", "10.2.0.0/16", 600s)}, 20s, 30s),
                     t0());
    timeline.observe(group_policy({tek(0x2000, "10.1.0.0/16", "10.2.0.0/16", 590s),
                                   tek(0x3000, "10.1.0.0/16", "10.2.0.0/16", 600s)},
                                  20s, 30s),
                     at(100s));
    const auto ours = schedule_of(timeline, 0x1000);
    const auto middle = schedule_of(timeline, 0x2000);
    const auto newest = schedule_of(timeline, 0x3000);
    CHECK(newest.install_at == at(100s));
    CHECK(middle.install_at == at(100s));
    CHECK(newest.activate_outbound_at == at(120s));
    CHECK(ours.deactivate_outbound_at == at(120s));
    for (auto t : {at(100s), at(119s), at(120s), at(200s)})
        CHECK_FALSE(middle.outbound_at(t));
    CHECK(ours.outbound_at(at(119s)));
    CHECK(newest.outbound_at(at(120s)));
    CHECK(ours.remove_at == at(130s));
    CHECK(middle.remove_at == at(130s));
}
