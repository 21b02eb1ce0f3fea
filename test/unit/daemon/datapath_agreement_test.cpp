// The rules the groups on one header-preservation datapath must agree on: one case per rule,
// each said with both values and the reason (the same sentence --check-config and the run-time
// refusal use).
#include "daemon/datapath_agreement.hpp"

#include <catch2/catch.hpp>

using namespace gdoid::daemon;

namespace {

gdoi::IpAddress address(const char* text) {
    const auto parsed = gdoi::IpAddress::parse(text);
    REQUIRE(parsed);
    return *parsed;
}

SharedDatapathSettings base() {
    SharedDatapathSettings s;
    s.wan_interface = "wan0";
    s.local_anchor = address("192.0.2.1");
    s.inbound_anchor = address("100.127.255.1");
    s.remote_anchor = address("100.127.255.2");
    return s;
}

// The one disagreement expected, as "key: what; why".
std::vector<std::string> said(const SharedDatapathSettings& group,
                              const SharedDatapathSettings& other) {
    std::vector<std::string> out;
    for (const auto& d : datapath_disagreements(group, other))
        out.push_back(d.key + ": " + d.what + "; " + d.why);
    return out;
}

} // namespace

TEST_CASE("agreement: groups with the same shared settings agree", "[datapath-agreement]") {
    CHECK(datapath_disagreements(base(), base()).empty());
}

TEST_CASE("agreement: one WAN interface", "[datapath-agreement]") {
    auto group = base();
    group.wan_interface = "wan1";
    CHECK(said(group, base()) ==
          std::vector<std::string>{
              "wan-interface: wan-interface `wan1` differs from `wan0`; on one WAN interface"});
}

TEST_CASE("agreement: one routing instance", "[datapath-agreement]") {
    auto group = base();
    group.routing_instance = "vrf-wan";
    CHECK(said(group, base()) ==
          std::vector<std::string>{
              "routing-instance: routing-instance `vrf-wan` differs from none (the main "
              "table); whose WAN interface and inbound anchor are in one routing instance"});
    auto other = base();
    other.routing_instance = "vrf-wan";
    CHECK(said(group, other).empty());
}

TEST_CASE("agreement: one set of anchors per address family", "[datapath-agreement]") {
    auto group = base();
    group.local_anchor = address("192.0.2.9");
    CHECK(said(group, base()) ==
          std::vector<std::string>{
              "local-address: local-address 192.0.2.9 and anchor 100.127.255.1/100.127.255.2 "
              "differ from 192.0.2.1 and anchor 100.127.255.1/100.127.255.2; whose anchors are "
              "one set per address family"});
    group = base();
    group.inbound_anchor = address("100.127.0.1");
    REQUIRE(datapath_disagreements(group, base()).size() == 1);
    CHECK(datapath_disagreements(group, base()).front().key == "anchor");
    group = base();
    group.remote_anchor = address("100.127.0.2");
    CHECK(datapath_disagreements(group, base()).size() == 1);

    // An IPv6 group brings its own anchors: nothing to compare with an IPv4 group's.
    auto v6 = base();
    v6.local_anchor = address("2001:db8::1");
    v6.inbound_anchor = address("fd00:6764:6f69::1");
    v6.remote_anchor = address("fd00:6764:6f69::2");
    CHECK(datapath_disagreements(v6, base()).empty());
}

TEST_CASE("agreement: df-bit set for all groups or none", "[datapath-agreement]") {
    auto group = base();
    group.set_df = true;
    CHECK(said(group, base()) ==
          std::vector<std::string>{"df-bit: df-bit \"set\" is for all groups or none; which "
                                   "sets DF on every packet it restores"});
}

TEST_CASE("agreement: one tcp-mss", "[datapath-agreement]") {
    auto group = base();
    group.tcp_mss = 1300;
    CHECK(said(group, base()) ==
          std::vector<std::string>{
              "tcp-mss: tcp-mss 1300 differs from none; which clamps every SYN to one value"});
}

TEST_CASE("agreement: one bypass-mark", "[datapath-agreement]") {
    auto group = base();
    group.bypass_mask = 0x10;
    auto other = base();
    other.bypass_mask = 0x20;
    CHECK(said(group, other) ==
          std::vector<std::string>{
              "bypass-mark: bypass-mark 0x10 differs from 0x20; which skips one mark bit"});
}

TEST_CASE("agreement: every disagreement is said, not just the first", "[datapath-agreement]") {
    auto group = base();
    group.wan_interface = "wan1";
    group.set_df = true;
    group.tcp_mss = 1300;
    group.bypass_mask = 0x10;
    std::vector<std::string> keys;
    for (const auto& d : datapath_disagreements(group, base()))
        keys.push_back(d.key);
    CHECK(keys == std::vector<std::string>{"wan-interface", "df-bit", "tcp-mss", "bypass-mark"});
}
