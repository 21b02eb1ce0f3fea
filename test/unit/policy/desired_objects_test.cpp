#include "policy/desired_objects.hpp"
#include "policy/object_band.hpp"
#include "policy_fixtures.hpp"

using namespace fixtures;
using namespace policy;
using netlink::XfrmPolicy;
using netlink::XfrmPolicyAction;
using netlink::XfrmPolicyDirection;

namespace {

GroupStatus unreachable() {
    GroupStatus status;
    status.servers_unreachable = true;
    return status;
}

bool router_originated(const DesiredObjects& d, size_t index) {
    return d.policy_roles[index].find("router-originated") != std::string::npos;
}

// The ACL entries' own policies in this direction (router-originated ones aside: their own
// cases are in per_destination_test.cpp).
std::vector<XfrmPolicy> with(const DesiredObjects& d, XfrmPolicyDirection dir) {
    std::vector<XfrmPolicy> result;
    for (size_t i = 0; i < d.policies.size(); ++i)
        if (d.policies[i].id.direction == dir && !router_originated(d, i))
            result.push_back(d.policies[i]);
    return result;
}

const netlink::XfrmState* state(const DesiredObjects& d, const char* destination, uint32_t spi) {
    for (const auto& s : d.states)
        if (s.id.destination == addr(destination) && s.id.spi == spi) return &s;
    return nullptr;
}

DesiredObjects translate(const std::vector<gdoi::TekPolicy>& teks, LocalSettings s = settings(),
                         GroupStatus status = {}, std::vector<gdoi::TrafficSelector> deny = {}) {
    GroupTimeline timeline;
    auto p = group_policy(teks);
    p.deny = std::move(deny);
    timeline.observe(p, t0());
    return desired_objects(timeline, s, status, t0());
}

} // namespace

TEST_CASE("one symmetric TEK: two states, out on the WAN, fwd per LAN, in for the router",
          "[desired]") {
    const auto d = translate({tek(0x10000001)});
    CHECK(d.has_valid_sa);
    CHECK(d.problems.empty());
    REQUIRE(d.states.size() == 2);
    const auto* in = state(d, "100.127.0.1", 0x10000001);
    const auto* out = state(d, "100.127.0.2", 0x10000001);
    REQUIRE(in);
    REQUIRE(out);
    CHECK(in->reqid == out->reqid);
    CHECK(band::owns(*in, 0));

    const auto outs = with(d, XfrmPolicyDirection::out);
    REQUIRE(outs.size() == 1); // 10/8 <-> 10/8 is its own mirror
    CHECK(outs[0].id.selector.source == pfx("10.0.0.0/8"));
    CHECK(outs[0].id.selector.ifindex == 2);
    CHECK(outs[0].action == XfrmPolicyAction::allow);
    REQUIRE(outs[0].templates.size() == 1);
    const auto& t = outs[0].templates[0];
    CHECK(t.source == addr("192.0.2.1"));
    CHECK(t.destination == addr("100.127.0.2"));
    CHECK(t.spi == 0x10000001);
    CHECK(t.reqid == out->reqid);
    CHECK(t.mode == netlink::XfrmMode::tunnel);

    const auto fwds = with(d, XfrmPolicyDirection::fwd);
    REQUIRE(fwds.size() == 2);
    CHECK(fwds[0].id.selector.ifindex == 3);
    CHECK(fwds[1].id.selector.ifindex == 4);
    for (const auto& f : fwds) {
        REQUIRE(f.templates.size() == 1);
        CHECK(f.templates[0].source.is_unspecified());
        CHECK(f.templates[0].destination.is_unspecified());
        CHECK(f.templates[0].spi == 0); // old and new TEK both accepted during a rekey
        CHECK(f.templates[0].reqid == in->reqid);
    }
    const auto ins = with(d, XfrmPolicyDirection::in);
    REQUIRE(ins.size() == 1);
    CHECK(ins[0].id.selector.destination == pfx("10.1.0.1/32"));
    CHECK(ins[0].id.selector.ifindex == 0);

    for (const auto& p : d.policies)
        CHECK(band::owns(p, 0));
    CHECK(d.datapath.inbound_spis == std::set<uint32_t>{0x10000001});
    CHECK(d.datapath.protected_destinations == std::set<gdoi::IpPrefix>{pfx("10.0.0.0/8")});
    CHECK(d.datapath.outbound_flows.size() == 1);
    CHECK(d.state_roles.size() == d.states.size());
    CHECK(d.policy_roles.size() == d.policies.size());
}

TEST_CASE("an asymmetric TEK covers both directions of the pair", "[desired]") {
    const auto d = translate({tek(0x1000, "10.1.0.0/16", "10.2.0.0/16")});
    const auto outs = with(d, XfrmPolicyDirection::out);
    REQUIRE(outs.size() == 2);
    CHECK(outs[0].id.selector.source == pfx("10.1.0.0/16"));
    CHECK(outs[0].id.selector.destination == pfx("10.2.0.0/16"));
    CHECK(outs[1].id.selector.source == pfx("10.2.0.0/16"));
    CHECK(outs[1].id.selector.destination == pfx("10.1.0.0/16"));
    CHECK(with(d, XfrmPolicyDirection::fwd).size() == 4);
    // The router (10.1.0.1) is only a destination of the mirrored half.
    const auto ins = with(d, XfrmPolicyDirection::in);
    REQUIRE(ins.size() == 1);
    CHECK(ins[0].id.selector.source == pfx("10.2.0.0/16"));
    CHECK(ins[0].id.selector.destination == pfx("10.1.0.1/32"));

    SECTION("ports and protocol are mirrored with the addresses") {
        auto t = tek(0x1000, "10.1.0.0/16", "10.2.0.0/16");
        t.selector.ip_protocol = 6;
        t.selector.destination.port = 443;
        const auto d2 = translate({t});
        const auto o = with(d2, XfrmPolicyDirection::out);
        REQUIRE(o.size() == 2);
        CHECK(o[0].id.selector.ip_protocol == 6);
        CHECK(o[0].id.selector.destination_port == 443);
        CHECK(o[0].id.selector.source_port == 0);
        CHECK(o[1].id.selector.source_port == 443);
        CHECK(o[1].id.selector.destination_port == 0);
    }
    SECTION("a mirror the key server lists itself is not duplicated") {
        const auto d2 = translate(
            {tek(0x1000, "10.1.0.0/16", "10.2.0.0/16"), tek(0x1001, "10.2.0.0/16", "10.1.0.0/16")});
        const auto o = with(d2, XfrmPolicyDirection::out);
        REQUIRE(o.size() == 2);
        CHECK(o[0].templates[0].spi == 0x1000);
        CHECK(o[1].templates[0].spi == 0x1001);
    }
}

TEST_CASE("several TEKs keep the key server's ACL order in their priorities", "[desired]") {
    const auto d = translate(
        {tek(0x1000, "10.1.0.0/16", "10.9.0.0/16"), tek(0x2000, "10.0.0.0/8", "10.0.0.0/8")});
    REQUIRE(d.states.size() == 4);
    const auto* first = lookup(d.policies, XfrmPolicyDirection::out, "10.1.0.5", "10.9.0.5", 2);
    REQUIRE(first);
    CHECK(first->templates[0].spi == 0x1000); // the earlier, more specific entry wins
    const auto* second = lookup(d.policies, XfrmPolicyDirection::out, "10.3.0.5", "10.9.0.5", 2);
    REQUIRE(second);
    CHECK(second->templates[0].spi == 0x2000);
    CHECK(state(d, "100.127.0.1", 0x1000)->reqid != state(d, "100.127.0.1", 0x2000)->reqid);
}

TEST_CASE("IPv6 selectors use the IPv6 anchors", "[desired]") {
    auto s = settings();
    s.v6 = Anchors{addr("2001:db8:ffff::1"), addr("2001:db8:fffe::2"), addr("2001:db8:fffe::1")};
    const auto d = translate({tek(0x3000, "2001:db8:1::/48", "2001:db8:2::/48")}, s);
    CHECK(d.problems.empty());
    const auto* in = state(d, "2001:db8:fffe::1", 0x3000);
    REQUIRE(in);
    CHECK(in->source.family == gdoi::IpFamily::v6);
    CHECK(in->source.is_unspecified());
    CHECK(in->selector.source == pfx("::/0"));
    const auto* o =
        lookup(d.policies, XfrmPolicyDirection::out, "2001:db8:1::5", "2001:db8:2::5", 2);
    REQUIRE(o);
    CHECK(o->templates[0].source == addr("2001:db8:ffff::1"));
    CHECK(o->templates[0].destination == addr("2001:db8:fffe::2"));
    const auto* f =
        lookup(d.policies, XfrmPolicyDirection::fwd, "2001:db8:1::5", "2001:db8:2::5", 3);
    REQUIRE(f);
    CHECK(f->templates[0].source == addr("::"));
    CHECK(f->templates[0].source.family == gdoi::IpFamily::v6);

    SECTION("without IPv6 anchors the TEK is reported, not half-installed") {
        const auto d2 = translate({tek(0x3000, "2001:db8:1::/48", "2001:db8:2::/48"), tek(0x1000)});
        REQUIRE(d2.problems.size() == 1);
        CHECK_THAT(d2.problems[0], Catch::Contains("0x00003000") && Catch::Contains("IPv6 anchor"));
        CHECK(d2.states.size() == 2); // the IPv4 TEK still works
        CHECK(d2.has_valid_sa);
    }
}

TEST_CASE("address ranges are split into prefixes", "[desired]") {
    auto t = tek(0x1000);
    t.selector.source.range = {addr("10.0.0.1"), addr("10.0.0.6")};
    t.selector.destination = endpoint("10.2.0.0/16");
    const auto d = translate({t});
    const auto outs = with(d, XfrmPolicyDirection::out);
    REQUIRE(outs.size() == 8); // 4 prefixes, both directions
    std::set<std::string> sources;
    for (const auto& p : outs)
        if (p.id.selector.destination == pfx("10.2.0.0/16"))
            sources.insert(p.id.selector.source.to_string());
    CHECK(sources ==
          std::set<std::string>{"10.0.0.1/32", "10.0.0.2/31", "10.0.0.4/31", "10.0.0.6/32"});
    CHECK(lookup(d.policies, XfrmPolicyDirection::out, "10.0.0.7", "10.2.0.1", 2) == nullptr);
}

TEST_CASE("deny entries, bypass classes and the bypass mark take precedence", "[desired]") {
    auto s = settings();
    s.bypass_mark = netlink::XfrmMark{0x00100000, 0x00100000};
    s.bypass_classes.push_back({"dns", {17, endpoint("10.0.0.0/8"), endpoint("10.5.0.53/32", 53)}});
    const auto d = translate({tek(0x1000)}, s, {}, {selector("10.1.0.0/16", "10.7.0.0/16")});

    // The key server's deny entry: clear text both ways, every direction.
    for (auto [src, dst] : {std::pair{"10.1.0.5", "10.7.0.5"}, std::pair{"10.7.0.5", "10.1.0.5"}}) {
        const auto* o = lookup(d.policies, XfrmPolicyDirection::out, src, dst, 2);
        REQUIRE(o);
        CHECK(o->action == XfrmPolicyAction::allow);
        CHECK(o->templates.empty());
        const auto* f = lookup(d.policies, XfrmPolicyDirection::fwd, src, dst, 3);
        REQUIRE(f);
        CHECK(f->templates.empty());
    }
    // Other traffic is still encrypted.
    const auto* o = lookup(d.policies, XfrmPolicyDirection::out, "10.1.0.5", "10.8.0.5", 2);
    REQUIRE(o);
    CHECK(o->templates.size() == 1);
    // Marked packets are exempt from everything, in every direction.
    for (auto dir : {XfrmPolicyDirection::out, XfrmPolicyDirection::fwd, XfrmPolicyDirection::in}) {
        const auto* m = lookup(d.policies, dir, "10.1.0.5", "10.8.0.5", 3, 0x00100000);
        REQUIRE(m);
        CHECK(m->templates.empty());
        CHECK(m->action == XfrmPolicyAction::allow);
        CHECK(m->id.mark == s.bypass_mark);
    }
    // The bypass class (a port) is there; its priority sits after the deny entry's.
    const XfrmPolicy* dns = nullptr;
    const XfrmPolicy* deny = nullptr;
    for (const auto& p : d.policies) {
        if (p.id.selector.destination_port == 53 && p.id.direction == XfrmPolicyDirection::out)
            dns = &p;
        if (p.id.selector.destination == pfx("10.7.0.0/16") &&
            p.id.direction == XfrmPolicyDirection::out)
            deny = &p;
    }
    REQUIRE(dns);
    REQUIRE(deny);
    CHECK(dns->id.selector.ip_protocol == 17);
    CHECK(deny->priority < dns->priority);
    CHECK(dns->priority < o->priority);
}

TEST_CASE("match-direction decides which half is installed", "[desired]") {
    auto s = settings();
    SECTION("input: decrypt only") {
        s.match_direction = MatchDirection::input;
        const auto d = translate({tek(0x1000)}, s);
        CHECK(state(d, "100.127.0.1", 0x1000));
        CHECK_FALSE(state(d, "100.127.0.2", 0x1000));
        CHECK(with(d, XfrmPolicyDirection::out).empty());
        CHECK(with(d, XfrmPolicyDirection::fwd).size() == 2);
        CHECK(d.datapath.outbound_flows.empty());
        CHECK_FALSE(d.datapath.inbound_spis.empty());
    }
    SECTION("output: encrypt only") {
        s.match_direction = MatchDirection::output;
        const auto d = translate({tek(0x1000)}, s);
        CHECK_FALSE(state(d, "100.127.0.1", 0x1000));
        CHECK(state(d, "100.127.0.2", 0x1000));
        CHECK(with(d, XfrmPolicyDirection::out).size() == 1);
        CHECK(with(d, XfrmPolicyDirection::fwd).empty());
        CHECK(with(d, XfrmPolicyDirection::in).empty());
        CHECK(d.datapath.inbound_spis.empty());
    }
    SECTION("both") {
        const auto d = translate({tek(0x1000)}, s);
        CHECK(d.states.size() == 2);
        CHECK(with(d, XfrmPolicyDirection::out).size() == 1);
        CHECK(with(d, XfrmPolicyDirection::fwd).size() == 2);
    }
}

TEST_CASE("df-bit reaches the outbound state", "[desired]") {
    auto s = settings();
    for (auto [df, nopmtu] : {std::pair{DfBit::clear, true}, std::pair{DfBit::set, false},
                              std::pair{DfBit::copy, false}}) {
        s.df_bit = df;
        const auto d = translate({tek(0x1000)}, s);
        CHECK(state(d, "100.127.0.2", 0x1000)->no_pmtu_discovery == nopmtu);
        CHECK_FALSE(state(d, "100.127.0.1", 0x1000)->no_pmtu_discovery);
    }
}

TEST_CASE("receive-only TEKs get no outbound state; their traffic is blocked, not sent in clear",
          "[desired]") {
    auto t = tek(0x1000);
    SECTION("SA direction receiver-only") {
        t.direction = gdoi::SaDirection::receiver_only;
    }
    SECTION("marked receive-only by validation") {
        t.receive_only = true;
    }
    SECTION("AES-GCM (no RFC 6054 sender IDs)") {
        t.cipher = gdoi::TekCipher::aes_gcm_16;
        t.cipher_key = key(20, 1);
        t.integrity = gdoi::TekIntegrity::none;
        t.integrity_key = {};
    }
    const auto d = translate({t});
    CHECK(state(d, "100.127.0.1", 0x1000));
    CHECK_FALSE(state(d, "100.127.0.2", 0x1000));
    const auto* o = lookup(d.policies, XfrmPolicyDirection::out, "10.1.0.5", "10.2.0.5", 2);
    REQUIRE(o);
    CHECK(o->action == XfrmPolicyAction::block);
    CHECK(d.datapath.outbound_flows.empty());
    const auto* f = lookup(d.policies, XfrmPolicyDirection::fwd, "10.2.0.5", "10.1.0.5", 3);
    REQUIRE(f);
    CHECK(f->action == XfrmPolicyAction::allow);
    CHECK(f->templates.size() == 1);
}

TEST_CASE("sender-only TEKs get no inbound state", "[desired]") {
    auto t = tek(0x1000);
    t.direction = gdoi::SaDirection::sender_only;
    const auto d = translate({t});
    CHECK_FALSE(state(d, "100.127.0.1", 0x1000));
    CHECK(state(d, "100.127.0.2", 0x1000));
    CHECK(d.datapath.inbound_spis.empty());
    const auto* f = lookup(d.policies, XfrmPolicyDirection::fwd, "10.2.0.5", "10.1.0.5", 3);
    REQUIRE(f);
    CHECK(f->action == XfrmPolicyAction::block);
}

TEST_CASE("fail-closed without keys, fail-open only while servers are unreachable", "[desired]") {
    auto s = settings();
    s.lan_prefixes = {pfx("10.1.0.0/16")};
    s.fail_open.push_back({"mgmt", pfx("10.1.0.0/24"), pfx("10.9.0.0/24")});
    GroupTimeline never_registered;

    SECTION("before the first registration the LAN prefixes are blocked") {
        const auto d = desired_objects(never_registered, s, {}, t0());
        CHECK_FALSE(d.has_valid_sa);
        CHECK(d.states.empty());
        const auto* o = lookup(d.policies, XfrmPolicyDirection::out, "10.1.0.5", "192.0.2.99", 2);
        REQUIRE(o);
        CHECK(o->action == XfrmPolicyAction::block);
        const auto* f = lookup(d.policies, XfrmPolicyDirection::fwd, "198.51.100.1", "10.1.0.5", 3);
        REQUIRE(f);
        CHECK(f->action == XfrmPolicyAction::block);
        // Not fail-open: the servers were not declared unreachable.
        CHECK(lookup(d.policies, XfrmPolicyDirection::out, "10.1.0.5", "10.9.0.5", 2)->action ==
              XfrmPolicyAction::block);
        // Traffic inside our own LAN is not a group matter.
        const auto* local = lookup(d.policies, XfrmPolicyDirection::fwd, "10.1.0.5", "10.1.2.5", 4);
        REQUIRE(local);
        CHECK(local->action == XfrmPolicyAction::allow);
        // The router's own LAN address is no way around it: clear text from elsewhere is
        // refused, its LAN still reaches it.
        const auto* to_router =
            lookup(d.policies, XfrmPolicyDirection::in, "198.51.100.1", "10.1.0.1", 0);
        REQUIRE(to_router);
        CHECK(to_router->action == XfrmPolicyAction::block);
        const auto* lan_to_router =
            lookup(d.policies, XfrmPolicyDirection::in, "10.1.0.5", "10.1.0.1", 0);
        REQUIRE(lan_to_router);
        CHECK(lan_to_router->action == XfrmPolicyAction::allow);
    }
    SECTION("IPv6: the router's own traffic is blocked too, though it has no output device") {
        // IPv6's output route lookup leaves the flow's device unset (datapath-notes.md), so
        // the router's own packets meet only policies without one: a WAN-scoped block alone
        // let them leave in clear text before the first registration.
        s.lan_prefixes = {pfx("2001:db8:1::/48")};
        s.router_addresses = {addr("2001:db8:1::1"), addr("10.1.0.1")};
        s.v6 = Anchors{addr("2001:db8:ffff::1"), addr("2001:db8:fffe::2"), addr("2001:db8:fffe::1")};
        const auto d = desired_objects(never_registered, s, {}, t0());
        const auto* own =
            lookup(d.policies, XfrmPolicyDirection::out, "2001:db8:1::1", "2001:db8:2::5", 0);
        REQUIRE(own);
        CHECK(own->action == XfrmPolicyAction::block);
        CHECK(own->id.selector.source == pfx("2001:db8:1::1/128"));
        // Only the router's addresses: a host's forwarded traffic has the WAN as its device
        // and meets the scoped block; nothing unscoped catches other sources.
        CHECK(lookup(d.policies, XfrmPolicyDirection::out, "2001:db8:1::5", "2001:db8:2::5", 0) ==
              nullptr);
        CHECK(lookup(d.policies, XfrmPolicyDirection::out, "2001:db8:1::5", "2001:db8:2::5", 2)
                  ->action == XfrmPolicyAction::block);
        // Toward its own LAN it stays free (that leaves on a LAN device).
        const auto* to_lan =
            lookup(d.policies, XfrmPolicyDirection::out, "2001:db8:1::1", "2001:db8:1::7", 0);
        REQUIRE(to_lan);
        CHECK(to_lan->action == XfrmPolicyAction::allow);
        // Its WAN address is outside the LAN prefixes: not blocked.
        CHECK(lookup(d.policies, XfrmPolicyDirection::out, "2001:db8:ffff::1", "2001:db8:2::5", 0) ==
              nullptr);
        // IPv4 sets the device: no unscoped block for the router's IPv4 address.
        s.lan_prefixes = {pfx("10.1.0.0/16")};
        const auto d4 = desired_objects(never_registered, s, {}, t0());
        CHECK(lookup(d4.policies, XfrmPolicyDirection::out, "10.1.0.1", "192.0.2.99", 0) == nullptr);
    }
    SECTION("servers unreachable: fail-open rules pass both ways, the rest stays blocked") {
        const auto d = desired_objects(never_registered, s, unreachable(), t0());
        const auto* o = lookup(d.policies, XfrmPolicyDirection::out, "10.1.0.5", "10.9.0.5", 2);
        REQUIRE(o);
        CHECK(o->action == XfrmPolicyAction::allow);
        CHECK(o->templates.empty());
        const auto* back = lookup(d.policies, XfrmPolicyDirection::fwd, "10.9.0.5", "10.1.0.5", 3);
        REQUIRE(back);
        CHECK(back->action == XfrmPolicyAction::allow);
        CHECK(lookup(d.policies, XfrmPolicyDirection::out, "10.1.1.5", "10.9.0.5", 2)->action ==
              XfrmPolicyAction::block);
    }
    SECTION("with valid keys neither block nor fail-open policies exist") {
        GroupTimeline timeline;
        timeline.observe(group_policy({tek(0x1000, "10.0.0.0/8", "10.0.0.0/8", 60s)}), t0());
        const auto d = desired_objects(timeline, s, unreachable(), t0());
        CHECK(d.has_valid_sa);
        for (const auto& p : d.policies) {
            CHECK(p.action == XfrmPolicyAction::allow);
            const bool fail_open = p.priority >= band::priority(0, band::fail_open_offset) &&
                                   p.priority < band::priority(0, band::tek_offset);
            CHECK_FALSE(fail_open);
            CHECK(p.priority < band::priority(0, band::block_offset));
        }
        SECTION("after expiry without LAN prefixes, the last known ACL is blocked") {
            s.lan_prefixes.clear();
            const auto expired = desired_objects(timeline, s, {}, at(60s));
            CHECK_FALSE(expired.has_valid_sa);
            CHECK(expired.states.empty());
            const auto* o =
                lookup(expired.policies, XfrmPolicyDirection::out, "10.1.0.5", "10.2.0.5", 2);
            REQUIRE(o);
            CHECK(o->action == XfrmPolicyAction::block);
            CHECK(lookup(expired.policies, XfrmPolicyDirection::out, "10.1.0.5", "192.0.2.7", 2) ==
                  nullptr);
            // The `in` policy that demanded ESP toward the router is gone with the keys; a
            // block takes its place instead of nothing.
            const auto* to_router =
                lookup(expired.policies, XfrmPolicyDirection::in, "10.2.0.5", "10.1.0.1", 0);
            REQUIRE(to_router);
            CHECK(to_router->action == XfrmPolicyAction::block);
            CHECK(lookup(expired.policies, XfrmPolicyDirection::in, "192.0.2.7", "10.1.0.1", 0) ==
                  nullptr);
        }
    }
}

TEST_CASE("a TEK that cannot be installed is reported; the others still are", "[desired]") {
    auto bad = tek(0x1000, "10.1.0.0/16", "10.2.0.0/16");
    bad.cipher_key = {};
    const auto d = translate({bad, tek(0x2000, "10.3.0.0/16", "10.4.0.0/16")});
    REQUIRE(d.problems.size() == 1);
    CHECK_THAT(d.problems[0], Catch::Contains("0x00001000"));
    CHECK(d.states.size() == 2);
    // The refused entry's traffic is blocked, not sent in clear; the other entry encrypts.
    const auto* refused = lookup(d.policies, XfrmPolicyDirection::out, "10.1.0.5", "10.2.0.5", 2);
    REQUIRE(refused);
    CHECK(refused->action == XfrmPolicyAction::block);
    const auto* refused_in =
        lookup(d.policies, XfrmPolicyDirection::fwd, "10.2.0.5", "10.1.0.5", 3);
    REQUIRE(refused_in);
    CHECK(refused_in->action == XfrmPolicyAction::block);
    const auto* refused_to_router =
        lookup(d.policies, XfrmPolicyDirection::in, "10.2.0.5", "10.1.0.1", 0);
    REQUIRE(refused_to_router);
    CHECK(refused_to_router->action == XfrmPolicyAction::block);
    const auto* working = lookup(d.policies, XfrmPolicyDirection::out, "10.3.0.5", "10.4.0.5", 2);
    REQUIRE(working);
    CHECK(working->templates.size() == 1);
}

TEST_CASE("every object lands in its own group's part of the band", "[desired]") {
    auto s = settings();
    s.group_slot = 3;
    s.bypass_mark = netlink::XfrmMark{1, 1};
    const auto d = translate({tek(0x1000)}, s);
    for (const auto& st : d.states) {
        CHECK(netlink::is_owned(st)); // what NetlinkKernelIpsec accepts
        CHECK(band::owns(st, 3));
        CHECK_FALSE(band::owns(st, 0));
    }
    for (const auto& p : d.policies) {
        CHECK(netlink::is_owned(p));
        CHECK(band::owns(p, 3));
        CHECK_FALSE(band::owns(p, 2));
    }
}

TEST_CASE("blocked objects: with keys but no way to install them, the group's traffic is blocked",
          "[desired]") {
    GroupTimeline timeline;
    timeline.observe(group_policy({tek(0x1000, "10.1.0.0/16", "10.2.0.0/16")}), t0());
    auto s = settings();
    const auto d = blocked_objects(timeline, s, {});
    CHECK(d.states.empty());
    CHECK_FALSE(d.has_valid_sa);
    CHECK(d.datapath.inbound_spis.empty());
    const auto* out = lookup(d.policies, XfrmPolicyDirection::out, "10.1.0.5", "10.2.0.5", 2);
    REQUIRE(out);
    CHECK(out->action == XfrmPolicyAction::block);
    const auto* in = lookup(d.policies, XfrmPolicyDirection::fwd, "10.2.0.5", "10.1.0.5", 3);
    REQUIRE(in);
    CHECK(in->action == XfrmPolicyAction::block);
    // The LAN prefixes, when configured, are blocked as before the first registration.
    s.lan_prefixes = {pfx("10.1.0.0/16")};
    const auto lan = blocked_objects(GroupTimeline{}, s, {});
    CHECK(lookup(lan.policies, XfrmPolicyDirection::out, "10.1.0.5", "192.0.2.99", 2)->action ==
          XfrmPolicyAction::block);
}

namespace {

const XfrmPolicy* out_policy(const DesiredObjects& d, const char* source, const char* destination) {
    for (const auto& p : d.policies)
        if (p.id.direction == XfrmPolicyDirection::out && p.id.selector.source == pfx(source) &&
            p.id.selector.destination == pfx(destination))
            return &p;
    return nullptr;
}

gdoi::TekPolicy multicast_tek(uint32_t spi, const char* destination = "239.1.1.0/24") {
    auto t = tek(spi, "10.1.0.0/16", destination);
    t.selector.ip_protocol = 17;
    return t;
}

} // namespace

TEST_CASE("a TEK toward a multicast group also catches what the router forwards (ipmr)",
          "[desired][multicast]") {
    auto s = settings();
    s.lan_prefixes = {pfx("10.2.0.0/16")};
    const auto d =
        translate({multicast_tek(0x3000)}, s, {}, {selector("10.1.5.0/24", "239.1.1.0/24")});
    CHECK(d.problems.empty());

    // ipmr_queue_xmit looks up (router address -> group, protocol 4): any source, any protocol.
    const auto* forwarded = out_policy(d, "0.0.0.0/0", "239.1.1.0/24");
    REQUIRE(forwarded);
    CHECK(forwarded->id.selector.ip_protocol == 0);
    CHECK(forwarded->id.selector.ifindex == 2);
    CHECK(forwarded->action == XfrmPolicyAction::allow);
    REQUIRE(forwarded->templates.size() == 1);
    CHECK(forwarded->templates[0].spi == 0x3000);
    CHECK(forwarded->templates[0].destination == addr("100.127.0.2"));
    // The entry's own policy stays (the router's own traffic from its LAN address).
    const auto* own = out_policy(d, "10.1.0.0/16", "239.1.1.0/24");
    REQUIRE(own);
    CHECK(own->id.selector.ip_protocol == 17);
    CHECK(own->priority == forwarded->priority);
    // A group is never a source: no mirror.
    CHECK(out_policy(d, "239.1.1.0/24", "10.1.0.0/16") == nullptr);
    // The deny entry stays an exemption of its own sources only; widened it would uncover
    // the whole group.
    const auto* deny = out_policy(d, "10.1.5.0/24", "239.1.1.0/24");
    REQUIRE(deny);
    CHECK(deny->templates.empty());
    for (const auto& p : d.policies)
        if (p.id.direction == XfrmPolicyDirection::out && p.id.selector.source.length == 0)
            CHECK(!p.templates.empty());
    // Group ESP arrives toward the group: the WAN ingress steers it to the anchor.
    CHECK(d.datapath.protected_destinations.contains(pfx("239.1.1.0/24")));
    CHECK(d.datapath.protected_destinations.contains(pfx("10.2.0.0/16")));
    REQUIRE(d.notes.size() == 1);
    CHECK(d.notes[0].find("239.1.1.0/24") != std::string::npos);
    CHECK(d.notes[0].find("in_clear_multicast_dropped") != std::string::npos);
}

TEST_CASE("forwarded multicast is blocked, not sent in clear, when the entry cannot send",
          "[desired][multicast]") {
    auto t = multicast_tek(0x3001);
    t.receive_only = true;
    const auto d = translate({t});
    const auto* forwarded = out_policy(d, "0.0.0.0/0", "239.1.1.0/24");
    REQUIRE(forwarded);
    CHECK(forwarded->action == XfrmPolicyAction::block);
}

TEST_CASE("a destination that holds the multicast range gets an any-source policy for it",
          "[desired][multicast]") {
    const auto d = translate({tek(0x3002, "10.1.0.0/16", "0.0.0.0/0")});
    const auto* forwarded = out_policy(d, "0.0.0.0/0", "224.0.0.0/4");
    REQUIRE(forwarded);
    CHECK(forwarded->templates.size() == 1);
    // Unicast only: nothing more.
    const auto u = translate({tek(0x3003, "10.1.0.0/16", "10.2.0.0/16")});
    for (const auto& p : u.policies)
        CHECK(p.id.selector.source.length != 0);
    CHECK(u.notes.empty());
}

TEST_CASE("a configured bypass class with a port: both directions, ports swapped, per direction",
          "[desired]") {
    auto s = settings();
    // [[group.bypass]] snmp: udp 10.1.0.0/16 -> 10.2.0.0/16 port 161 (as local_settings_builder makes it).
    s.bypass_classes.push_back({"snmp", {17, endpoint("10.1.0.0/16"), endpoint("10.2.0.0/16", 161)}});
    const auto find = [](const DesiredObjects& d, XfrmPolicyDirection dir, uint16_t sport, uint16_t dport) {
        const XfrmPolicy* found = nullptr;
        for (size_t i = 0; i < d.policies.size(); ++i) {
            const auto& sel = d.policies[i].id.selector;
            if (d.policies[i].id.direction == dir && sel.ip_protocol == 17 && sel.source_port == sport &&
                sel.destination_port == dport) {
                CHECK(d.policy_roles[i] == "bypass snmp");
                found = &d.policies[i];
            }
        }
        return found;
    };
    // The TEK's encrypting policy (fixtures' lookup() ignores ports, so it is found by its template).
    const auto tek_out = [](const DesiredObjects& d) {
        const XfrmPolicy* found = nullptr;
        for (const auto& p : d.policies)
            if (p.id.direction == XfrmPolicyDirection::out && !p.templates.empty()) found = &p;
        return found;
    };
    SECTION("both: out, fwd and in for each direction, ahead of the TEK") {
        const auto d = translate({tek(0x1000)}, s);
        for (auto dir : {XfrmPolicyDirection::out, XfrmPolicyDirection::fwd, XfrmPolicyDirection::in}) {
            const auto* forward = find(d, dir, 0, 161);
            const auto* reply = find(d, dir, 161, 0);
            REQUIRE(forward);
            REQUIRE(reply);
            CHECK(forward->action == XfrmPolicyAction::allow);
            CHECK(forward->templates.empty());
            CHECK(forward->id.selector.source == pfx("10.1.0.0/16"));
            CHECK(forward->id.selector.destination == pfx("10.2.0.0/16"));
            CHECK(reply->id.selector.source == pfx("10.2.0.0/16"));
            CHECK(reply->id.selector.destination == pfx("10.1.0.0/16"));
            REQUIRE(tek_out(d));
            CHECK(forward->priority < tek_out(d)->priority);
            CHECK(reply->priority < tek_out(d)->priority);
        }
    }
    SECTION("input: nothing is encrypted, so only the fwd and in halves are needed") {
        s.match_direction = MatchDirection::input;
        const auto d = translate({tek(0x1000)}, s);
        CHECK(find(d, XfrmPolicyDirection::out, 0, 161) == nullptr);
        CHECK(find(d, XfrmPolicyDirection::fwd, 161, 0));
        CHECK(find(d, XfrmPolicyDirection::in, 0, 161));
    }
    SECTION("output: nothing is required to arrive encrypted, so only the out half") {
        s.match_direction = MatchDirection::output;
        const auto d = translate({tek(0x1000)}, s);
        CHECK(find(d, XfrmPolicyDirection::out, 161, 0));
        CHECK(find(d, XfrmPolicyDirection::fwd, 0, 161) == nullptr);
        CHECK(find(d, XfrmPolicyDirection::in, 161, 0) == nullptr);
    }
}

TEST_CASE("pre-fragmentation: packets routed into the interface pass the policy path, it encrypts them",
          "[desired][prefrag]") {
    constexpr uint32_t kMark = 0x00200000;
    constexpr uint32_t kIfId = 0x6764;
    constexpr int kInterface = 9; // gdoi-pf0; the WAN device is 2
    auto s = settings();
    s.pre_fragmentation = PreFragmentation{kIfId, kInterface, addr("100.127.0.3")};
    s.bypass_classes.push_back({"snmp", {17, endpoint("10.1.0.0/16"), endpoint("10.2.0.0/16", 161)}});
    auto web = tek(0x2000);
    web.selector = {6, endpoint("10.1.0.0/16"), endpoint("172.16.0.0/16", 443)};
    const auto d = translate({tek(0x1000), web}, s, {}, {selector("10.1.0.0/16", "10.7.0.0/16")});

    // A forwarded packet the routing rules sent into the interface (its output device) passes
    // its `out` lookup untransformed; on the WAN device it is encrypted, marked or not, so a
    // marked packet that misses the interface (a deleted rule) never leaves in clear text.
    const auto* marked = lookup(d.policies, XfrmPolicyDirection::out, "10.1.0.5", "10.8.0.5", kInterface, kMark);
    const auto* plain = lookup(d.policies, XfrmPolicyDirection::out, "10.1.0.5", "10.8.0.5", 2);
    const auto* missed = lookup(d.policies, XfrmPolicyDirection::out, "10.1.0.5", "10.8.0.5", 2, kMark);
    REQUIRE(marked);
    REQUIRE(plain);
    CHECK(marked->action == XfrmPolicyAction::allow);
    CHECK(marked->templates.empty());
    CHECK(marked->id.selector.ifindex == kInterface);
    CHECK_FALSE(marked->id.mark);
    CHECK(plain->templates.size() == 1);
    CHECK(missed == plain);
    CHECK(band::owns(*marked, 0));
    // The interface's lookup (its if_id) finds the entry's copy, toward its own dummy
    // destination, with the entry's SPI and reqid.
    const auto* through = lookup(d.policies, XfrmPolicyDirection::out, "10.1.0.5", "10.8.0.5", 2, 0, kIfId);
    REQUIRE(through);
    REQUIRE(through->templates.size() == 1);
    CHECK(through->templates[0].destination == addr("100.127.0.3"));
    CHECK(through->templates[0].spi == plain->templates[0].spi);
    CHECK(through->templates[0].reqid == plain->templates[0].reqid);
    CHECK(through->priority == plain->priority);
    // Its state: the outbound state's copy (same SPI, keys and flags) under the if_id.
    const auto* copy = state(d, "100.127.0.3", 0x1000);
    const auto* anchor = state(d, "100.127.0.2", 0x1000);
    REQUIRE(copy);
    REQUIRE(anchor);
    CHECK(copy->if_id == kIfId);
    CHECK(anchor->if_id == 0);
    CHECK(copy->reqid == anchor->reqid);
    CHECK(copy->source == anchor->source);
    CHECK(copy->encryption->key == anchor->encryption->key);
    CHECK(copy->no_pmtu_discovery == anchor->no_pmtu_discovery);
    // A deny entry and a bypass class stay clear text for marked packets: the routing rules let
    // them pass (they never reach the interface) and their allow policy comes first.
    const auto* denied = lookup(d.policies, XfrmPolicyDirection::out, "10.1.0.5", "10.7.0.5", 2, kMark);
    REQUIRE(denied);
    CHECK(denied->templates.empty());
    CHECK(denied->id.selector.ifindex == 0);
    REQUIRE(d.pre_fragmentation.through_interface.size() == 1); // 10/8 <-> 10/8, its own mirror
    CHECK(d.pre_fragmentation.through_interface[0].source == pfx("10.0.0.0/8"));
    CHECK(d.pre_fragmentation.through_interface[0].destination == pfx("10.0.0.0/8"));
    CHECK(d.pre_fragmentation.through_interface[0].ip_protocol == 0);
    const auto& exceptions = d.pre_fragmentation.exceptions;
    CHECK(exceptions.size() == 4); // the deny entry and the class, each with its mirror
    CHECK(std::count_if(exceptions.begin(), exceptions.end(), [](const netlink::XfrmSelector& e) {
              return e.ip_protocol == 17 && (e.destination_port == 161 || e.source_port == 161);
          }) == 2);
    // An entry with ports keeps the policy path: a fragment carries no ports.
    CHECK(lookup(d.policies, XfrmPolicyDirection::out, "10.1.0.5", "172.16.0.5", 2, 0, kIfId) == nullptr);
    CHECK(lookup(d.policies, XfrmPolicyDirection::out, "10.1.0.5", "172.16.0.5", 2) != nullptr);
    CHECK(state(d, "100.127.0.3", 0x2000) != nullptr); // its state is there (same rule as anchor)
}

TEST_CASE("pre-fragmentation: IPv6, multicast and a group without it get nothing of it",
          "[desired][prefrag]") {
    auto s = settings();
    const auto none = translate({tek(0x1000)}, s);
    CHECK(none.pre_fragmentation.through_interface.empty());
    for (const auto& st : none.states)
        CHECK(st.if_id == 0);
    s.pre_fragmentation = PreFragmentation{0x6764, 9, addr("100.127.0.3")};
    const auto multicast = translate({multicast_tek(0x3000)}, s);
    CHECK(multicast.pre_fragmentation.through_interface.empty());
    s.match_direction = MatchDirection::input;
    const auto receiving = translate({tek(0x1000)}, s);
    CHECK(receiving.pre_fragmentation.through_interface.empty());
    for (const auto& p : receiving.policies)
        CHECK(p.id.if_id == 0);
}
