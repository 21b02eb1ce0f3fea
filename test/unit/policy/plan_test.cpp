#include "policy/object_band.hpp"
#include "policy/plan.hpp"
#include "policy/render.hpp"
#include "policy_fixtures.hpp"

using namespace fixtures;
using namespace policy;
using netlink::XfrmPolicyAction;
using netlink::XfrmPolicyDirection;
using K = Operation::Kind;

namespace {

// The make-before-break invariants, checked after every single kernel or map operation:
//  - every `out` policy that encrypts points at an installed state of an unexpired TEK;
//  - every SPI the ingress program rewrites has its inbound state;
//  - every TEK that members may be sending with right now can be decrypted;
//  - protected traffic is always either encrypted or blocked, never sent in clear.
struct InvariantChecker {
    Harness& h;
    TimePoint now;
    std::vector<std::pair<const char*, const char*>> protected_pairs;
    size_t checks = 0;

    void check() {
        ++checks;
        const auto schedule = h.timeline.schedule();
        auto expires = [&](uint32_t spi) {
            for (const auto& s : schedule)
                if (s.spi == spi) return s.expires_at;
            return TimePoint{};
        };
        for (const auto& p : h.kernel.policies()) {
            if (p.id.direction != XfrmPolicyDirection::out || p.templates.empty()) continue;
            const auto& t = p.templates[0];
            // An ACQUIRE trap names a state that never exists, by design
            // (policy/per_destination.hpp).
            if (band::reqid_slot_of_acquire_reqid(t.reqid) != 0 && t.spi == 0) continue;
            const auto* state = h.kernel.find_state({t.destination, t.spi, t.ip_protocol, {}});
            INFO("out policy " << describe(p));
            REQUIRE(state);
            CHECK(state->reqid == t.reqid);
            CHECK(state->source == t.source);
            // At the very instant of expiry the plan for that instant is still running.
            CHECK(expires(t.spi) >= now);
        }
        for (uint32_t spi : h.maps.entries.inbound_spis) {
            INFO("SPI entry " << spi);
            CHECK(h.kernel.find_state({addr("100.127.0.1"), spi, 50, {}}));
        }
        for (const auto& s : schedule) {
            if (s.activate_outbound_at <= now && now <= s.deactivate_outbound_at &&
                now < s.expires_at) {
                INFO("TEK in use by senders " << s.spi);
                CHECK(h.kernel.find_state({addr("100.127.0.1"), s.spi, 50, {}}));
            }
        }
        for (auto [src, dst] : protected_pairs) {
            const auto* o = lookup(h.kernel.policies(), XfrmPolicyDirection::out, src, dst, 2);
            INFO(src << " -> " << dst);
            REQUIRE(o);
            CHECK((o->action == XfrmPolicyAction::block || !o->templates.empty()));
        }
    }
    void attach() {
        h.kernel.on_change([this](const netlink::FakeKernelIpsec&, const auto&) { check(); });
        h.maps.observer = [this] { check(); };
    }
};

std::vector<std::string> mutating_calls(const netlink::FakeKernelIpsec& kernel) {
    std::vector<std::string> result;
    for (const auto& c : kernel.calls())
        if (c.kind != netlink::FakeKernelIpsec::Call::Kind::dump_states &&
            c.kind != netlink::FakeKernelIpsec::Call::Kind::dump_policies)
            result.push_back(c.text);
    return result;
}

} // namespace

TEST_CASE("first registration: inbound state before its SPI entry, states before policies",
          "[plan]") {
    Harness h;
    h.timeline.observe(group_policy({tek(0x10000001)}), t0());
    const auto p = h.plan_at(t0());
    const std::vector<K> kinds_expected = {
        K::add_state,  K::add_map_entry, K::add_map_entry, K::add_state,  K::add_map_entry,
        K::add_policy, K::add_policy,    K::add_policy,    K::add_policy, K::add_policy};
    std::vector<K> kinds;
    for (const auto& op : p.operations)
        kinds.push_back(op.kind);
    CHECK(kinds == kinds_expected);
    CHECK(p.operations[0].state.id.destination == addr("100.127.0.1"));
    CHECK(p.operations[1].entry.kind == MapEntry::Kind::protected_destination);
    CHECK(p.operations[2].entry.kind == MapEntry::Kind::inbound_spi);
    CHECK(p.operations[3].state.id.destination == addr("100.127.0.2"));
    CHECK(p.operations[4].entry.kind == MapEntry::Kind::outbound_flow);
    CHECK(p.next_due == at(3600s));

    REQUIRE(policy::apply_plan(p.operations, h.kernel, h.maps).ok());
    CHECK(h.kernel.states().size() == 2);
    // out (and the router's ACQUIRE trap ahead of it), fwd per LAN, in to the router.
    CHECK(h.kernel.policies().size() == 5);
    // Applied plans converge: nothing left to do.
    CHECK(h.plan_at(t0()).operations.empty());
    CHECK(h.plan_at(at(1000s)).operations.empty());
}

TEST_CASE("rekey timeline: new inbound, ATD, switch outbound, DTD, old removed", "[plan]") {
    Harness h;
    InvariantChecker inv{h, t0(), {{"10.1.0.5", "10.2.0.5"}, {"10.2.0.5", "10.1.0.5"}}};
    h.timeline.observe(group_policy({tek(0xA0000001, "10.0.0.0/8", "10.0.0.0/8", 300s)}), t0());
    REQUIRE(h.step(t0()).ok());
    inv.attach();
    h.kernel.clear_calls();

    // The push at 200 s: the old TEK with its remaining 100 s, and the new one. ATD 60, DTD 90.
    h.timeline.observe(group_policy({tek(0xA0000001, "10.0.0.0/8", "10.0.0.0/8", 100s),
                                     tek(0xB0000002, "10.0.0.0/8", "10.0.0.0/8", 300s)},
                                    60s, 90s),
                       at(200s));
    inv.now = at(200s);
    auto p = h.plan_at(at(200s));
    CHECK(texts(p.operations) ==
          std::vector<std::string>{"add state dst 100.127.0.1 proto esp spi 0xb0000002",
                                   "add map entry inbound spi 0xb0000002"});
    CHECK(p.next_due == at(260s));
    REQUIRE(policy::apply_plan(p.operations, h.kernel, h.maps).ok());
    // Nothing is due between the events.
    CHECK(h.plan_at(at(259s)).operations.empty());

    h.kernel.clear_calls();
    inv.now = at(260s);
    p = h.plan_at(at(260s));
    CHECK(p.next_due == at(290s));
    REQUIRE(policy::apply_plan(p.operations, h.kernel, h.maps).ok());
    // Make before break, and the old outbound state stays until the DTD: a packet that met
    // the `out` policy just before the switch still finds its state.
    CHECK(mutating_calls(h.kernel) ==
          std::vector<std::string>{
              "add_state dst 100.127.0.2 proto 50 spi 0xb0000002",
              "update_policy dir out src 10.0.0.0/8 dst 10.0.0.0/8 ifindex 2",
          });
    CHECK(lookup(h.kernel.policies(), XfrmPolicyDirection::out, "10.1.0.5", "10.2.0.5", 2)
              ->templates[0]
              .spi == 0xB0000002);
    CHECK(h.kernel.find_state({addr("100.127.0.2"), 0xA0000001, 50, {}}));

    h.kernel.clear_calls();
    h.maps.log.clear();
    inv.now = at(290s);
    p = h.plan_at(at(290s));
    CHECK(texts(p.operations) ==
          std::vector<std::string>{"delete state dst 100.127.0.2 proto esp spi 0xa0000001",
                                   "remove map entry inbound spi 0xa0000001",
                                   "delete state dst 100.127.0.1 proto esp spi 0xa0000001"});
    CHECK(p.next_due == at(500s));
    REQUIRE(policy::apply_plan(p.operations, h.kernel, h.maps).ok());
    CHECK(h.kernel.states().size() == 2);
    CHECK(h.maps.entries.inbound_spis == std::set<uint32_t>{0xB0000002});
    CHECK(inv.checks >= 7);
}

TEST_CASE("replacing every TEK of a group never leaves a moment without a valid state", "[plan]") {
    Harness h;
    InvariantChecker inv{h,
                         t0(),
                         {{"10.1.0.5", "10.2.0.5"},
                          {"10.2.0.5", "10.1.0.5"},
                          {"172.16.1.1", "172.17.1.1"},
                          {"172.17.1.1", "172.16.1.1"}}};
    // Two ACL entries, rekeyed three times; pushes 90 s before expiry, no ATD, DTD 45 s.
    uint32_t spi = 0x1000;
    auto push = [&](TimePoint when, std::chrono::seconds life) {
        h.timeline.observe(group_policy({tek(spi, "10.1.0.0/16", "10.2.0.0/16", life),
                                         tek(spi + 1, "172.16.0.0/16", "172.17.0.0/16", life)},
                                        std::nullopt, 45s),
                           when);
        spi += 0x10;
    };
    inv.now = t0();
    push(t0(), 600s);
    REQUIRE(h.step(t0()).ok());
    inv.attach(); // from the first complete installation on
    std::vector<TimePoint> pushes = {at(510s), at(1020s), at(1530s)};
    TimePoint now = t0();
    size_t pushed = 0;
    std::vector<TimePoint> visited;
    while (now < at(2000s)) {
        auto next = h.plan_at(now).next_due;
        if (pushed < pushes.size() && (!next || pushes[pushed] < *next)) next = pushes[pushed];
        REQUIRE(next);
        if (*next >= at(2000s)) break;
        now = *next;
        inv.now = now;
        if (pushed < pushes.size() && pushes[pushed] == now) {
            push(now, 600s);
            ++pushed;
        }
        visited.push_back(now);
        const auto result = h.step(now);
        INFO(result.error);
        REQUIRE(result.ok());
        h.timeline.prune(now);
        // Between events the kernel already matches what is desired.
        CHECK(h.plan_at(now).operations.empty());
    }
    CHECK(pushed == 3);
    CHECK(visited.size() == 9); // per rekey: push, switch 30 s before expiry, old expiry
    CHECK(inv.checks > 40);
    // Three rekeys later: the last pair of TEKs alone, each with both states.
    const auto last_in = h.kernel.find_state({addr("100.127.0.1"), 0x1030, 50, {}});
    CHECK(last_in);
    CHECK(h.kernel.states().size() == 4);
}

TEST_CASE("fail-closed and fail-open transitions are make-before-break too", "[plan]") {
    Harness h;
    h.config.lan_prefixes = {pfx("10.1.0.0/16")};
    h.config.fail_open.push_back({"mgmt", pfx("10.1.0.0/24"), pfx("10.9.0.0/24")});
    InvariantChecker inv{h, t0(), {{"10.1.1.5", "10.2.0.5"}}};

    // Not registered yet: everything from the LAN is blocked.
    REQUIRE(h.step(t0()).ok());
    inv.attach();
    CHECK(
        lookup(h.kernel.policies(), XfrmPolicyDirection::out, "10.1.1.5", "10.2.0.5", 2)->action ==
        XfrmPolicyAction::block);

    // Registered: TEK policies go in before the blocks come out.
    h.kernel.clear_calls();
    h.timeline.observe(group_policy({tek(0x1000, "10.0.0.0/8", "10.0.0.0/8", 60s)}), at(10s));
    inv.now = at(10s);
    REQUIRE(h.step(at(10s)).ok());
    auto calls = mutating_calls(h.kernel);
    auto first = [&](const std::string& prefix) {
        return size_t(std::find_if(calls.begin(), calls.end(),
                                   [&](const std::string& c) { return c.rfind(prefix, 0) == 0; }) -
                      calls.begin());
    };
    CHECK(first("add_policy") < first("delete_policy"));
    CHECK(first("delete_policy") < calls.size());
    for (const auto& p : h.kernel.policies())
        CHECK(p.action == XfrmPolicyAction::allow);

    // The key expires while no server answers: blocks and fail-open rules go in first, then the
    // TEK policies and states go.
    h.kernel.clear_calls();
    h.status.servers_unreachable = true;
    inv.now = at(70s);
    REQUIRE(h.step(at(70s)).ok());
    calls = mutating_calls(h.kernel);
    CHECK(first("add_policy") < first("delete_policy"));
    CHECK(first("delete_policy") < first("delete_state"));
    CHECK(h.kernel.states().empty());
    const auto* mgmt =
        lookup(h.kernel.policies(), XfrmPolicyDirection::out, "10.1.0.5", "10.9.0.5", 2);
    REQUIRE(mgmt);
    CHECK(mgmt->action == XfrmPolicyAction::allow);
    CHECK(mgmt->templates.empty());

    // A server answers again (no keys yet): fail-open ends, fail-closed stays.
    h.status.servers_unreachable = false;
    REQUIRE(h.step(at(80s)).ok());
    CHECK(
        lookup(h.kernel.policies(), XfrmPolicyDirection::out, "10.1.0.5", "10.9.0.5", 2)->action ==
        XfrmPolicyAction::block);
    // And registers: back to encryption.
    h.timeline.observe(group_policy({tek(0x2000, "10.0.0.0/8", "10.0.0.0/8", 600s)}), at(90s));
    inv.now = at(90s);
    REQUIRE(h.step(at(90s)).ok());
    CHECK(lookup(h.kernel.policies(), XfrmPolicyDirection::out, "10.1.0.5", "10.9.0.5", 2)
              ->templates[0]
              .spi == 0x2000);
}

TEST_CASE("after a restart, gdoid adopts its objects without churn and ignores foreign ones",
          "[plan]") {
    Harness before;
    before.config.bypass_mark = netlink::XfrmMark{0x100000, 0x100000};
    auto p = group_policy({tek(0x1000, "10.1.0.0/16", "10.2.0.0/16", 3600s),
                           tek(0x2000, "10.3.0.0/16", "10.4.0.0/16", 3600s)});
    p.deny = {selector("10.1.0.0/16", "10.7.0.0/16")};
    before.timeline.observe(p, t0());
    REQUIRE(before.step(t0()).ok());

    // Somebody else's objects share the kernel: strongSwan's tunnel (same SPI as ours, other
    // destination), an operator's bypass, a policy in our priority band but with a foreign
    // reqid, and another group's objects.
    netlink::XfrmState strongswan;
    strongswan.id = {addr("198.51.100.7"), 0x1000, 50, {}};
    strongswan.source = addr("192.0.2.1");
    strongswan.reqid = 1;
    before.kernel.insert_foreign(strongswan);
    netlink::XfrmPolicy operator_bypass;
    operator_bypass.id.selector = netlink::XfrmSelector{pfx("10.1.0.0/16"), pfx("10.2.5.0/24")};
    operator_bypass.id.direction = XfrmPolicyDirection::out;
    operator_bypass.priority = 10;
    before.kernel.insert_foreign(operator_bypass);
    netlink::XfrmPolicy squatter = operator_bypass;
    squatter.id.selector.destination = pfx("10.2.6.0/24");
    squatter.priority = band::priority(0, band::tek_offset);
    squatter.templates.push_back(
        {addr("192.0.2.1"), addr("198.51.100.7"), 0, 50, netlink::XfrmMode::tunnel, 7, false});
    before.kernel.insert_foreign(squatter);
    netlink::XfrmState other_group = strongswan;
    other_group.id.destination = addr("100.127.0.9");
    other_group.reqid = band::reqid(1, 1);
    before.kernel.insert_foreign(other_group);
    const auto kernel_before_restart = before.kernel.policies();

    // The daemon restarts 100 s later and registers again: same TEKs, shorter remaining life.
    Harness after;
    after.config = before.config;
    after.kernel = before.kernel;
    after.maps.entries = before.maps.entries;
    after.kernel.clear_calls();
    auto again = group_policy({tek(0x1000, "10.1.0.0/16", "10.2.0.0/16", 3500s),
                               tek(0x2000, "10.3.0.0/16", "10.4.0.0/16", 3500s)});
    again.deny = p.deny;
    after.timeline.observe(again, at(100s));
    const auto installed = after.installed();
    // The dump carries no keys, and still nothing differs.
    for (const auto& s : installed.states)
        if (s.encryption) CHECK(s.encryption->key.empty());
    CHECK(after.plan_at(at(100s)).operations.empty());

    SECTION("foreign objects survive the whole life of the group") {
        after.timeline.observe(again, at(100s));
        REQUIRE(after.step(at(100s)).ok());
        after.timeline.forget_all_teks(); // ejected: everything of ours goes
        REQUIRE(after.step(at(200s)).ok());
        for (const auto& c : after.kernel.calls()) {
            CHECK_THAT(c.text, !Catch::Contains("198.51.100.7"));
            CHECK_THAT(c.text, !Catch::Contains("10.2.5.0/24"));
            CHECK_THAT(c.text, !Catch::Contains("10.2.6.0/24"));
            CHECK_THAT(c.text, !Catch::Contains("100.127.0.9"));
        }
        CHECK(after.kernel.find_state(strongswan.id));
        CHECK(after.kernel.find_state(other_group.id));
        CHECK(after.kernel.find_policy(operator_bypass.id));
        CHECK(after.kernel.find_policy(squatter.id));
        // Of ours, only the fail-closed blocks (last known ACL) and the bypasses remain.
        for (const auto& s : after.kernel.states())
            CHECK_FALSE(band::owns(s, 0));
        CHECK(after.maps.entries.inbound_spis.empty());
    }
    SECTION("a TEK the server no longer lists is removed; the adopted reqid avoids churn") {
        auto only_second = group_policy({tek(0x2000, "10.3.0.0/16", "10.4.0.0/16", 3500s)});
        GroupTimeline fresh;
        fresh.observe(only_second, at(100s));
        for (const auto& s : installed.states)
            if (band::owns(s, 0)) fresh.adopt_reqid_slot(s.id.spi, s.reqid - band::group_base(0));
        after.timeline = fresh;
        const auto ops = after.plan_at(at(100s)).operations;
        for (const auto& op : ops) {
            INFO(op.to_string());
            const bool churn = (op.kind == K::add_state || op.kind == K::delete_state) &&
                               op.state.id.spi == 0x2000;
            CHECK_FALSE(churn);
            CHECK(op.kind != K::add_policy);
        }
        CHECK(count_kind(ops, K::delete_state) == 2); // TEK 0x1000, both directions
        CHECK(count_kind(ops, K::update_policy) > 0); // 0x2000's entry moved up in the ACL
    }
}

TEST_CASE("a changed df-bit replaces the outbound state: UPDSA cannot change its flags", "[plan]") {
    Harness h;
    h.timeline.observe(group_policy({tek(0x1000)}), t0());
    REQUIRE(h.step(t0()).ok());
    h.config.df_bit = DfBit::copy;
    const auto ops = h.plan_at(at(1s)).operations;
    REQUIRE(ops.size() == 2);
    CHECK(ops[0].kind == K::delete_state);
    CHECK(ops[1].kind == K::add_state);
    CHECK(ops[1].state.id.destination == addr("100.127.0.2"));
    CHECK_FALSE(ops[1].state.no_pmtu_discovery);
    // applied, the kernel holds the new rule, and nothing is left to do
    REQUIRE(h.step(at(1s)).ok());
    CHECK(h.plan_at(at(2s)).operations.empty());
}

TEST_CASE("what UPDSA can change is updated in place", "[plan]") {
    netlink::XfrmState installed;
    installed.no_pmtu_discovery = true;
    netlink::XfrmState desired = installed;
    desired.hard_lifetime_seconds = 60;
    desired.set_mark = netlink::XfrmMark{0x10, 0x10};
    CHECK(policy::updatable_in_place(desired, installed));
    desired.no_pmtu_discovery = false;
    CHECK_FALSE(policy::updatable_in_place(desired, installed));
    desired = installed;
    desired.replay_window = 32;
    CHECK_FALSE(policy::updatable_in_place(desired, installed));
}

TEST_CASE("operations print without keys", "[plan]") {
    Harness h;
    h.timeline.observe(group_policy({tek(0x10000001)}), t0());
    for (const auto& op : h.plan_at(t0()).operations) {
        const auto text = op.to_string();
        CHECK_THAT(text, !Catch::Contains("0101010101"));
        CHECK_FALSE(text.empty());
    }
}
