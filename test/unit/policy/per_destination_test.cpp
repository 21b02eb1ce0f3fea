// Router-originated traffic (policy/per_destination.hpp): the ACQUIRE traps, the per-flow
// states and policies, their place in the ACL order, and their life through a rekey.
#include "policy/desired_objects.hpp"
#include "policy/object_band.hpp"
#include "policy/plan.hpp"
#include "policy_fixtures.hpp"

#include <catch2/catch.hpp>

using namespace fixtures;
using namespace policy;
using netlink::XfrmPolicy;
using netlink::XfrmPolicyDirection;

namespace {

// The first TEK slot of a group gets reqid slot 1.
constexpr uint32_t first_slot = 1;

DesiredObjects translate(const std::vector<gdoi::TekPolicy>& teks, const LocalSettings& s,
                         const GroupStatus& status) {
    GroupTimeline timeline;
    timeline.observe(group_policy(teks), t0());
    return desired_objects(timeline, s, status, t0());
}

GroupStatus with_flows(std::initializer_list<std::pair<const char*, const char*>> pairs,
                       uint32_t reqid_slot = first_slot) {
    GroupStatus status;
    for (auto [source, destination] : pairs)
        status.acquired_flows.insert({addr(source), addr(destination), reqid_slot});
    return status;
}

std::vector<std::pair<XfrmPolicy, std::string>> router_policies(const DesiredObjects& d) {
    std::vector<std::pair<XfrmPolicy, std::string>> result;
    for (size_t i = 0; i < d.policies.size(); ++i)
        if (d.policy_roles[i].find("router-originated") != std::string::npos)
            result.push_back({d.policies[i], d.policy_roles[i]});
    return result;
}

const XfrmPolicy* entry_out_policy(const DesiredObjects& d) {
    for (size_t i = 0; i < d.policies.size(); ++i)
        if (d.policies[i].id.direction == XfrmPolicyDirection::out &&
            d.policy_roles[i].ends_with("encrypt"))
            return &d.policies[i];
    return nullptr;
}

} // namespace

TEST_CASE("each router address inside an entry's sources gets an ACQUIRE trap", "[router]") {
    const auto d = translate({tek(0x10000001)}, settings(), {});
    const auto router = router_policies(d);
    // 10.1.0.1 (LAN) is inside 10.0.0.0/8; the WAN address 192.0.2.1 is not.
    REQUIRE(router.size() == 1);
    const auto& trap = router[0].first;
    CHECK(router[0].second == "ACL entry 1 router-originated from 10.1.0.1 (ACQUIRE trap)");
    CHECK(trap.id.direction == XfrmPolicyDirection::out);
    CHECK(trap.id.selector.source == pfx("10.1.0.1/32"));
    CHECK(trap.id.selector.destination == pfx("10.0.0.0/8"));
    CHECK(trap.id.selector.ifindex == 2); // only what leaves on the WAN
    REQUIRE(trap.templates.size() == 1);
    const auto& t = trap.templates[0];
    CHECK(t.source == addr("10.1.0.1"));
    CHECK(t.destination == addr("100.127.0.2"));
    CHECK(t.spi == 0);
    CHECK(t.reqid == band::acquire_reqid(0, first_slot));
    CHECK(band::reqid_slot_of_acquire_reqid(t.reqid) == first_slot);
    // No state has the trap's reqid: every new flow is reported, none is sent through it.
    for (const auto& s : d.states)
        CHECK(s.reqid != t.reqid);
    // Ahead of the entry's own `out` policy (which would send the packet to the anchor, where
    // nothing restores it), behind nothing else of the entry.
    const auto* entry = entry_out_policy(d);
    REQUIRE(entry);
    CHECK(trap.priority < entry->priority);
    CHECK(trap.priority == band::priority(0, band::entry_offset(0, band::EntryRank::router_trap)));
    CHECK(band::owns(trap, 0));
}

TEST_CASE("a WAN address covered by the ACL is a router source too", "[router]") {
    auto s = settings();
    s.v4->wan_address = addr("10.255.0.1");
    const auto d = translate({tek(0x10000001)}, s, {});
    const auto router = router_policies(d);
    REQUIRE(router.size() == 2);
    CHECK(router[0].first.id.selector.source == pfx("10.1.0.1/32"));
    CHECK(router[1].first.id.selector.source == pfx("10.255.0.1/32"));
}

TEST_CASE("a reported flow gets its own state and a policy for exactly its pair", "[router]") {
    const auto d =
        translate({tek(0x10000001)}, settings(), with_flows({{"10.1.0.1", "10.2.0.10"}}));
    const netlink::XfrmState* flow_state = nullptr;
    for (size_t i = 0; i < d.states.size(); ++i)
        if (d.states[i].id.destination == addr("10.2.0.10")) {
            flow_state = &d.states[i];
            CHECK(d.state_roles[i] ==
                  "ACL entry 1 TEK 0x10000001 per-destination 10.1.0.1 -> 10.2.0.10");
        }
    REQUIRE(flow_state);
    CHECK(flow_state->source == addr("10.1.0.1")); // outer = inner without any rewriting
    CHECK(flow_state->id.spi == 0x10000001);
    CHECK(flow_state->reqid == band::acquire_reqid(0, first_slot));
    CHECK(flow_state->direction == netlink::XfrmStateDirection::out);
    CHECK(flow_state->replay_window == 0);
    CHECK(flow_state->output_sequence_may_wrap);
    CHECK(flow_state->no_pmtu_discovery); // df-bit clear by default
    CHECK_FALSE(flow_state->set_mark);    // the WAN egress program must leave it alone
    CHECK(flow_state->encryption);
    CHECK(flow_state->authentication);

    const auto router = router_policies(d);
    REQUIRE(router.size() == 2);
    const auto& pair = router[0].first; // per-destination first, then the trap
    CHECK(pair.id.selector.source == pfx("10.1.0.1/32"));
    CHECK(pair.id.selector.destination == pfx("10.2.0.10/32"));
    CHECK(pair.id.selector.ifindex == 2);
    REQUIRE(pair.templates.size() == 1);
    CHECK(pair.templates[0].source == addr("10.1.0.1"));
    CHECK(pair.templates[0].destination == addr("10.2.0.10"));
    CHECK(pair.templates[0].spi == 0x10000001);
    CHECK(pair.templates[0].reqid == flow_state->reqid);
    CHECK(pair.priority < router[1].first.priority);
    CHECK(d.problems.empty());
}

TEST_CASE("flows of another entry, or outside the entry, get nothing", "[router]") {
    SECTION("another slot's flow") {
        const auto d =
            translate({tek(0x10000001)}, settings(), with_flows({{"10.1.0.1", "10.2.0.10"}}, 7));
        CHECK(router_policies(d).size() == 1); // the trap only
        CHECK(d.states.size() == 2);
    }
    SECTION("a pair the entry does not cover (the ACL changed)") {
        const auto d = translate({tek(0x10000001, "10.1.0.0/16", "10.2.0.0/16")}, settings(),
                                 with_flows({{"10.1.0.1", "10.3.0.10"}}));
        CHECK(d.states.size() == 2);
        for (const auto& [p, role] : router_policies(d))
            CHECK(role.find("10.3.0.10") == std::string::npos);
    }
}

TEST_CASE("no key to send with: no trap and no flow state", "[router]") {
    auto receive_only = tek(0x10000001);
    receive_only.direction = gdoi::SaDirection::receiver_only;
    const auto d = translate({receive_only}, settings(), with_flows({{"10.1.0.1", "10.2.0.10"}}));
    CHECK(router_policies(d).empty());
    for (const auto& s : d.states)
        CHECK(s.id.destination != addr("10.2.0.10"));
}

TEST_CASE("entries keep their order: a later entry's trap does not overtake an earlier entry",
          "[router]") {
    // Entry 1 sends 10.1/16 -> 10.2/16 with one TEK, entry 2 everything else in 10/8.
    const auto d = translate(
        {tek(0x1000, "10.1.0.0/16", "10.2.0.0/16"), tek(0x2000, "10.0.0.0/8", "10.0.0.0/8")},
        settings(), {});
    uint32_t entry1_out = 0, entry2_trap = 0;
    for (size_t i = 0; i < d.policies.size(); ++i) {
        if (d.policy_roles[i] == "ACL entry 1 encrypt" && entry1_out == 0)
            entry1_out = d.policies[i].priority;
        if (d.policy_roles[i] == "ACL entry 2 router-originated from 10.1.0.1 (ACQUIRE trap)")
            entry2_trap = d.policies[i].priority;
    }
    REQUIRE(entry1_out != 0);
    REQUIRE(entry2_trap != 0);
    CHECK(entry1_out < entry2_trap);
}

TEST_CASE("a rekey moves a router flow to the new TEK make-before-break", "[router][plan]") {
    Harness h;
    h.status.acquired_flows.insert({addr("10.1.0.1"), addr("10.2.0.10"), first_slot});
    h.timeline.observe(group_policy({tek(0xA0000001, "10.0.0.0/8", "10.0.0.0/8", 300s)}), t0());
    REQUIRE(h.step(t0()).ok());
    REQUIRE(h.kernel.find_state({addr("10.2.0.10"), 0xA0000001, 50, {}}));

    // The kernel's ACQUIRE placeholder (SPI 0, the trap's reqid) is the kernel's business: a
    // plan neither adopts nor deletes it.
    h.kernel.insert_acquire_placeholder(addr("100.127.0.2"), addr("10.1.0.1"),
                                        band::acquire_reqid(0, first_slot));
    CHECK(h.plan_at(t0()).operations.empty());

    h.timeline.observe(group_policy({tek(0xA0000001, "10.0.0.0/8", "10.0.0.0/8", 100s),
                                     tek(0xB0000002, "10.0.0.0/8", "10.0.0.0/8", 300s)},
                                    60s, 90s),
                       at(200s));
    REQUIRE(h.step(at(200s)).ok());
    h.kernel.clear_calls();
    REQUIRE(h.step(at(260s)).ok()); // senders switch
    std::vector<std::string> calls;
    for (const auto& c : h.kernel.calls())
        calls.push_back(c.text);
    auto position = [&](const std::string& text) {
        for (size_t i = 0; i < calls.size(); ++i)
            if (calls[i] == text) return i;
        FAIL("no call " << text);
        return size_t(0);
    };
    INFO("calls: " << Catch::Detail::stringify(calls));
    const auto new_state = position("add_state dst 10.2.0.10 proto 50 spi 0xb0000002");
    const auto switch_flow =
        position("update_policy dir out src 10.1.0.1/32 dst 10.2.0.10/32 ifindex 2");
    CHECK(new_state < switch_flow);
    // The old TEK's flow state stays until its DTD (a packet that met the flow's policy just
    // before the switch still finds it), then goes.
    CHECK(std::find(calls.begin(), calls.end(),
                    "delete_state dst 10.2.0.10 proto 50 spi 0xa0000001") == calls.end());
    CHECK(h.kernel.find_state({addr("10.2.0.10"), 0xA0000001, 50, {}}));
    const auto* flow_policy =
        lookup(h.kernel.policies(), XfrmPolicyDirection::out, "10.1.0.1", "10.2.0.10", 2);
    REQUIRE(flow_policy);
    CHECK(flow_policy->templates[0].spi == 0xB0000002);
    // The placeholder is still there, untouched.
    size_t placeholders = 0;
    for (const auto& s : h.kernel.states())
        placeholders += s.id.spi == 0;
    CHECK(placeholders == 1);

    REQUIRE(h.step(at(290s)).ok()); // the old TEK's DTD: its flow state goes
    CHECK_FALSE(h.kernel.find_state({addr("10.2.0.10"), 0xA0000001, 50, {}}));
    CHECK(h.kernel.find_state({addr("10.2.0.10"), 0xB0000002, 50, {}}));

    // The flow forgotten (idle): its state and policy go, the trap stays.
    h.status.acquired_flows.clear();
    REQUIRE(h.step(at(291s)).ok());
    CHECK_FALSE(h.kernel.find_state({addr("10.2.0.10"), 0xB0000002, 50, {}}));
    CHECK(lookup(h.kernel.policies(), XfrmPolicyDirection::out, "10.1.0.1", "10.2.0.10", 2)
              ->templates[0]
              .spi == 0);
}

TEST_CASE("destination-only mode: per-destination states from our WAN address replace the anchor",
          "[router][destination-only]") {
    auto s = settings();
    s.destination_only = true;
    const auto empty = translate({tek(0x10000001)}, s, {});
    // No outbound anchor state; inbound as always. The flows are still listed: their remote
    // prefixes are where the nftables TCP MSS clamp applies (daemon/nft_ingress).
    CHECK_FALSE(std::any_of(empty.states.begin(), empty.states.end(), [](const auto& st) {
        return st.id.destination == addr("100.127.0.2");
    }));
    CHECK(empty.datapath.outbound_flows == std::set<std::pair<gdoi::IpPrefix, gdoi::IpPrefix>>{
                                               {pfx("10.0.0.0/8"), pfx("10.0.0.0/8")}});
    CHECK(empty.datapath.inbound_spis == std::set<uint32_t>{0x10000001});
    CHECK(entry_out_policy(empty) == nullptr);
    // A LAN host's first packet to anyone meets the entry's trap (from our WAN address), and
    // so does the router's own traffic: destination-only for everyone.
    const auto* lan = lookup(empty.policies, XfrmPolicyDirection::out, "10.1.0.5", "10.2.0.10", 2);
    REQUIRE(lan);
    REQUIRE(lan->templates.size() == 1);
    CHECK(lan->id.selector.source == pfx("10.0.0.0/8"));
    CHECK(lan->templates[0].source == addr("192.0.2.1"));
    CHECK(lan->templates[0].destination == addr("100.127.0.2"));
    CHECK(lan->templates[0].spi == 0);
    CHECK(lan->templates[0].reqid == band::acquire_reqid(0, first_slot));
    CHECK(lan->priority ==
          band::priority(0, band::entry_offset(0, band::EntryRank::destination_trap)));
    CHECK(lookup(empty.policies, XfrmPolicyDirection::out, "10.1.0.1", "10.2.0.10", 2) == lan);

    // The ACQUIRE named our WAN address as the trap's source: the host gets its own state.
    const auto d = translate({tek(0x10000001)}, s, with_flows({{"192.0.2.1", "10.2.0.10"}}));
    const netlink::XfrmState* to_host = nullptr;
    for (const auto& st : d.states)
        if (st.id.destination == addr("10.2.0.10")) to_host = &st;
    REQUIRE(to_host);
    CHECK(to_host->source == addr("192.0.2.1")); // destination preserved, source ours
    CHECK(to_host->id.spi == 0x10000001);
    const auto* sent = lookup(d.policies, XfrmPolicyDirection::out, "10.1.0.5", "10.2.0.10", 2);
    REQUIRE(sent);
    CHECK(sent->id.selector.source == pfx("10.0.0.0/8"));
    CHECK(sent->id.selector.destination == pfx("10.2.0.10/32"));
    CHECK(sent->templates[0].source == addr("192.0.2.1"));
    CHECK(sent->templates[0].destination == addr("10.2.0.10"));
    CHECK(sent->templates[0].spi == 0x10000001);
    // Another host still meets the trap; the router's own traffic shares the host's state.
    CHECK(lookup(d.policies, XfrmPolicyDirection::out, "10.1.0.5", "10.2.0.11", 2)
              ->templates[0]
              .spi == 0);
    CHECK(lookup(d.policies, XfrmPolicyDirection::out, "10.1.0.1", "10.2.0.10", 2) == sent);
    CHECK(d.problems.empty());
}

TEST_CASE("destination-only mode: a LAN flow outside the entry's destinations gets nothing",
          "[destination-only]") {
    auto s = settings();
    s.destination_only = true;
    const auto d = translate({tek(0x10000001, "10.1.0.0/16", "10.2.0.0/16")}, s,
                             with_flows({{"192.0.2.1", "10.3.0.10"}}));
    for (const auto& st : d.states)
        CHECK(st.id.destination != addr("10.3.0.10"));
}

TEST_CASE("two router addresses sending to one host share its one state", "[router]") {
    // The kernel knows a state by (destination, SPI, protocol): there can be only one.
    auto s = settings();
    s.router_addresses = {addr("10.1.0.1"), addr("10.1.9.1")};
    const auto d = translate({tek(0x10000001)}, s,
                             with_flows({{"10.1.9.1", "10.2.0.10"}, {"10.1.0.1", "10.2.0.10"}}));
    size_t to_host = 0;
    for (const auto& st : d.states)
        if (st.id.destination == addr("10.2.0.10")) {
            ++to_host;
            CHECK(st.source == addr("10.1.0.1")); // the lowest source
        }
    CHECK(to_host == 1);
    CHECK(d.problems.empty());
    const auto* first = lookup(d.policies, XfrmPolicyDirection::out, "10.1.0.1", "10.2.0.10", 2);
    const auto* second = lookup(d.policies, XfrmPolicyDirection::out, "10.1.9.1", "10.2.0.10", 2);
    REQUIRE(first);
    REQUIRE(second);
    CHECK(first != second);
    CHECK(first->templates[0].source == addr("10.1.0.1"));
    CHECK(second->templates[0].source == addr("10.1.0.1")); // through the one state

    SECTION("when the first flow goes, the state is replaced with the other source") {
        Harness h;
        h.config = s;
        h.status = with_flows({{"10.1.9.1", "10.2.0.10"}, {"10.1.0.1", "10.2.0.10"}});
        h.timeline.observe(group_policy({tek(0x10000001)}), t0());
        REQUIRE(h.step(t0()).ok());
        h.status = with_flows({{"10.1.9.1", "10.2.0.10"}});
        REQUIRE(h.step(t0()).ok()); // the fake kernel, like the real one, refuses a second add
        const auto* state = h.kernel.find_state({addr("10.2.0.10"), 0x10000001, 50, {}});
        REQUIRE(state);
        CHECK(state->source == addr("10.1.9.1"));
        CHECK(h.plan_at(t0()).operations.empty());
    }
}

TEST_CASE("an IPv6 router's own traffic is matched whatever the flow's device", "[router][ipv6]") {
    // Linux's IPv6 output route lookup leaves the flow's oif 0, so a WAN-scoped selector would
    // never match the router's own packets and they would leave in clear text.
    LocalSettings s = settings();
    s.v4.reset();
    s.v6 = Anchors{addr("2001:db8:ff01::1"), addr("fd00:6764:6f69::2"), addr("fd00:6764:6f69::1")};
    s.router_addresses = {addr("2001:db8:1::1")};
    const auto d = translate({tek(0x10000001, "2001:db8::/32", "2001:db8::/32")}, s,
                             with_flows({{"2001:db8:1::1", "2001:db8:2::10"}}));
    const auto router = router_policies(d);
    // the flow's pair, the LAN address's trap, the WAN address's trap (inside 2001:db8::/32)
    REQUIRE(router.size() == 3);
    for (const auto& [policy, role] : router) {
        CHECK((policy.id.selector.source == pfx("2001:db8:1::1/128") ||
               policy.id.selector.source == pfx("2001:db8:ff01::1/128")));
        CHECK(policy.id.selector.ifindex == 0);
    }
    // the entry's own policy for forwarded traffic stays on the WAN device
    const auto* entry = entry_out_policy(d);
    REQUIRE(entry);
    CHECK(entry->id.selector.ifindex == 2);
}
