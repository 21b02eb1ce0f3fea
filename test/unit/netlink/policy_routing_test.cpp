// Policy routing for pre-fragmentation against the host kernel, each case in a fresh namespace:
// FIB rules, default routes in a table of gdoid's, links. The host has no xfrm_interface
// module: there the XFRM interface case checks the refusal; where the module is present it
// creates and adopts one.
#include "netlink/kernel_ipsec.hpp"
#include "netlink/link_monitor.hpp"
#include "netlink/policy_routing.hpp"
#include "netns.hpp"

#include <catch2/catch.hpp>
#include <linux/rtnetlink.h>
#include <netinet/in.h>

using namespace netlink;
using netlink_test::FreshNetworkNamespace;
using netlink_test::must;
using netlink_test::run;

namespace {

constexpr auto v4 = gdoi::IpFamily::v4;
constexpr auto v6 = gdoi::IpFamily::v6;
constexpr uint32_t mark = 0x00100000;
constexpr uint32_t table = 0x6764; // above 255: needs FRA_TABLE

gdoi::IpPrefix prefix(const char* text) {
    auto parsed = gdoi::IpPrefix::parse(text);
    REQUIRE(parsed.has_value());
    return *parsed;
}

// The rule pre-fragmentation steers by: marked packets to gdoid's table.
FibRule marked(uint32_t priority) {
    FibRule rule;
    rule.priority = priority;
    rule.fwmark = mark;
    rule.fwmask = mark;
    rule.table = table;
    return rule;
}

FibRule nop(uint32_t priority) {
    FibRule rule;
    rule.priority = priority;
    rule.action = FibRule::Action::nop;
    return rule;
}

FibRule go_to(uint32_t priority, uint32_t target) {
    FibRule rule;
    rule.priority = priority;
    rule.action = FibRule::Action::go_to;
    rule.goto_priority = target;
    return rule;
}

// Every selector at once.
FibRule everything(uint32_t priority) {
    FibRule rule = marked(priority);
    rule.source = prefix("10.0.0.0/8");
    rule.destination = prefix("192.0.2.1/32");
    rule.ip_protocol = IPPROTO_UDP;
    rule.source_port = 500;
    rule.destination_port = 4500;
    return rule;
}

std::string rules_shown(const std::string& family_flag = "-4") {
    return must("ip " + family_flag + " rule show");
}

int ifindex(const std::string& name) {
    auto index = ifindex_by_name(name);
    REQUIRE(index.has_value());
    return *index;
}

void veth_pair_up() {
    must("ip link add wan0 type veth peer name lan0 && ip link set wan0 up && ip link set lan0 up");
}

} // namespace

TEST_CASE("FIB rules read in ip rule words", "[netlink][rules]") {
    CHECK(everything(100).to_string() == "pref 100 from 10.0.0.0/8 to 192.0.2.1/32 fwmark "
                                         "0x100000/0x100000 ipproto udp sport 500 dport 4500 "
                                         "lookup 26468");
    CHECK(go_to(90, 200).to_string() == "pref 90 goto 200");
    CHECK(nop(200).to_string() == "pref 200 nop");
    FibRule rule = marked(7);
    rule.ip_protocol = 132; // no name of ours
    CHECK(rule.to_string() == "pref 7 fwmark 0x100000/0x100000 ipproto 132 lookup 26468");
}

TEST_CASE_METHOD(FreshNetworkNamespace, "FIB rules of every kind are added, read back and deleted",
                 "[netlink][kernel][rules]") {
    const std::vector<FibRule> rules = {go_to(90, 200), everything(100), marked(110), nop(200)};
    for (const auto& rule : rules)
        CHECK(add_rule(v4, rule));
    CHECK(dump_rules(v4, 1, 32000) == rules);

    // As `ip rule` shows them: gdoid's protocol, the goto resolved by its nop target.
    const std::string shown = rules_shown();
    CHECK(shown.find("90:\tfrom all goto 200 proto 109\n") != std::string::npos);
    CHECK(shown.find("100:\tfrom 10.0.0.0/8 to 192.0.2.1 fwmark 0x100000/0x100000 ipproto udp "
                     "sport 500 dport 4500 lookup 26468 proto 109\n") != std::string::npos);
    CHECK(shown.find("110:\tfrom all fwmark 0x100000/0x100000 lookup 26468 proto 109\n") !=
          std::string::npos);
    CHECK(shown.find("200:\tfrom all nop proto 109\n") != std::string::npos);
    CHECK(shown.find("unresolved") == std::string::npos);

    for (const auto& rule : rules)
        CHECK(delete_rule(v4, rule));
    CHECK(dump_rules(v4, 1, 32000).empty());
    CHECK(rules_shown().find("proto 109") == std::string::npos);
}

TEST_CASE_METHOD(FreshNetworkNamespace, "IPv6 FIB rules read back with their addresses",
                 "[netlink][kernel][rules]") {
    FibRule rule = marked(100);
    rule.source = prefix("2001:db8:1::/48");
    rule.destination = prefix("2001:db8::7/128");
    rule.ip_protocol = IPPROTO_TCP;
    rule.destination_port = 443;
    CHECK(add_rule(v6, rule));
    CHECK(dump_rules(v6, 100, 100) == std::vector<FibRule>{rule});
    CHECK(dump_rules(v4, 100, 100).empty()); // the other family's rules are apart
    CHECK(rules_shown("-6").find("100:\tfrom 2001:db8:1::/48 to 2001:db8::7 fwmark "
                                 "0x100000/0x100000 ipproto tcp dport 443 lookup 26468 proto "
                                 "109\n") != std::string::npos);
    CHECK(delete_rule(v6, rule));
    CHECK(dump_rules(v6, 100, 100).empty());
}

TEST_CASE_METHOD(FreshNetworkNamespace,
                 "adding a rule twice and deleting a missing one change nothing",
                 "[netlink][kernel][rules]") {
    const FibRule rule = everything(100);
    CHECK(add_rule(v4, rule));
    CHECK_FALSE(add_rule(v4, rule));
    CHECK(dump_rules(v4, 100, 100) == std::vector<FibRule>{rule}); // once, not twice
    CHECK(delete_rule(v4, rule));
    CHECK_FALSE(delete_rule(v4, rule));
    CHECK_FALSE(delete_rule(v4, nop(300)));
    CHECK(dump_rules(v4, 1, 32000).empty());
}

TEST_CASE_METHOD(FreshNetworkNamespace, "dump_rules returns the priority range asked for",
                 "[netlink][kernel][rules]") {
    for (uint32_t priority : {99u, 100u, 150u, 200u, 201u})
        REQUIRE(add_rule(v4, marked(priority)));
    CHECK(dump_rules(v4, 100, 200) == std::vector<FibRule>{marked(100), marked(150), marked(200)});
    CHECK(dump_rules(v4, 150, 150) == std::vector<FibRule>{marked(150)});
    CHECK(dump_rules(v4, 202, 32000).empty());

    // The namespace's own rules parse too: local, main and default.
    auto lookup = [](uint32_t priority, uint32_t table_id) {
        FibRule rule;
        rule.priority = priority;
        rule.table = table_id;
        return rule;
    };
    const auto all = dump_rules(v4, 0, 0xffffffff);
    CHECK(all == std::vector<FibRule>{
                     lookup(0, RT_TABLE_LOCAL), marked(99), marked(100), marked(150), marked(200),
                     marked(201), lookup(32766, RT_TABLE_MAIN), lookup(32767, RT_TABLE_DEFAULT)});
}

TEST_CASE_METHOD(FreshNetworkNamespace, "rules FibRule cannot express are left out of dumps",
                 "[netlink][kernel][rules]") {
    must("ip rule add pref 150 iif lo lookup 5");
    must("ip rule add pref 151 not fwmark 0x1/0x1 lookup 5");
    must("ip rule add pref 152 ipproto udp sport 1000-2000 lookup 5");
    must("ip rule add pref 153 blackhole");
    must("ip rule add pref 154 tos 0x10 lookup 5");
    must("ip rule add pref 155 lookup 5"); // this one FibRule can hold
    FibRule plain;
    plain.priority = 155;
    plain.table = 5;
    CHECK(dump_rules(v4, 150, 155) == std::vector<FibRule>{plain});
}

TEST_CASE_METHOD(FreshNetworkNamespace, "an operator's identical rule is never deleted for gdoid's",
                 "[netlink][kernel][rules]") {
    must("ip rule add pref 120 fwmark 0x100000/0x100000 lookup 26468"); // proto unspec
    const FibRule rule = marked(120);
    CHECK(dump_rules(v4, 120, 120) == std::vector<FibRule>{rule}); // every protocol is reported
    CHECK_FALSE(delete_rule(v4, rule));
    CHECK(rules_shown().find("120:\tfrom all fwmark 0x100000/0x100000 lookup 26468\n") !=
          std::string::npos);

    CHECK(add_rule(v4, rule)); // gdoid's own beside it
    CHECK(dump_rules(v4, 120, 120) == std::vector<FibRule>{rule, rule});
    CHECK(delete_rule(v4, rule));
    CHECK_FALSE(delete_rule(v4, rule));
    CHECK(dump_rules(v4, 120, 120) == std::vector<FibRule>{rule});
    CHECK(rules_shown().find("proto 109") == std::string::npos);
}

TEST_CASE_METHOD(FreshNetworkNamespace, "a goto is told apart from one to another target",
                 "[netlink][kernel][rules]") {
    REQUIRE(add_rule(v4, nop(200)));
    REQUIRE(add_rule(v4, nop(300)));
    REQUIRE(add_rule(v4, go_to(90, 200)));
    // The kernel's duplicate check and its delete match both ignore the target.
    try {
        add_rule(v4, go_to(90, 300));
        FAIL("a goto to another target was taken as already there");
    } catch (const KernelError& e) {
        CHECK(e.error_number() == EEXIST);
        CHECK(std::string(e.what()) ==
              "adding IPv4 FIB rule pref 90 goto 300: File exists: the kernel takes it for a rule "
              "already there (one that differs only in its goto target)");
    }
    CHECK_FALSE(delete_rule(v4, go_to(90, 300)));
    CHECK(dump_rules(v4, 90, 90) == std::vector<FibRule>{go_to(90, 200)});
}

TEST_CASE_METHOD(FreshNetworkNamespace, "the kernel's refusal of a rule names the rule",
                 "[netlink][kernel][rules]") {
    try {
        add_rule(v4, go_to(300, 200)); // backwards
        FAIL("no error for a backward goto");
    } catch (const KernelError& e) {
        CHECK(e.error_number() == EINVAL);
        CHECK_THAT(e.what(), Catch::StartsWith("adding IPv4 FIB rule pref 300 goto 200: Invalid "
                                               "argument (kernel: "));
    }
    CHECK(dump_rules(v4, 1, 32000).empty());
}

TEST_CASE_METHOD(FreshNetworkNamespace, "rules that would not read back equal are refused",
                 "[netlink][kernel][rules]") {
    FibRule rule = marked(100);
    rule.fwmask = 0; // a mark with no mask
    CHECK_THROWS_WITH(add_rule(v4, rule),
                      "FIB rule pref 100 fwmark 0x100000/0x0 lookup 26468: fwmark 0x100000 has "
                      "bits outside its mask 0x0");
    rule = marked(100);
    rule.table = 0;
    CHECK_THROWS_WITH(add_rule(v4, rule), Catch::EndsWith(": a lookup needs a table"));
    rule = go_to(100, 200);
    rule.table = 5;
    CHECK_THROWS_WITH(add_rule(v4, rule), Catch::EndsWith(": only a lookup rule has a table"));
    rule = nop(100);
    rule.goto_priority = 200;
    CHECK_THROWS_WITH(add_rule(v4, rule),
                      Catch::EndsWith(": only a goto rule has a target priority"));
    rule = marked(100);
    rule.source = prefix("2001:db8::/32");
    CHECK_THROWS_WITH(add_rule(v4, rule), Catch::EndsWith(": source 2001:db8::/32 is not IPv4"));
    rule = marked(100);
    rule.destination = prefix("10.0.0.0/0");
    rule.destination.address = gdoi::IpAddress::v4(10, 0, 0, 0);
    CHECK_THROWS_WITH(delete_rule(v4, rule),
                      Catch::EndsWith(": destination 10.0.0.0/0 has length 0: write \"any\" as "
                                      "IpPrefix{}"));
    CHECK_THROWS_AS(add_rule(v4, rule), std::invalid_argument);
    CHECK(dump_rules(v4, 1, 32000).empty()); // none reached the kernel
}

TEST_CASE_METHOD(FreshNetworkNamespace,
                 "the default route in gdoid's table is created and replaced",
                 "[netlink][kernel][route]") {
    veth_pair_up();
    replace_default_route(table, ifindex("wan0"), v4);
    CHECK(must("ip -4 route show table 26468") == "default dev wan0 proto 109 scope link \n");
    replace_default_route(table, ifindex("wan0"), v4); // the same again: still one
    CHECK(must("ip -4 route show table 26468") == "default dev wan0 proto 109 scope link \n");
    replace_default_route(table, ifindex("lan0"), v4);
    CHECK(must("ip -4 route show table 26468") == "default dev lan0 proto 109 scope link \n");
    CHECK(must("ip -4 route show table main").find("default") == std::string::npos);

    replace_default_route(7, ifindex("lo"), v4); // a table that fits the header octet
    CHECK(must("ip -4 route show table 7") == "default dev lo proto 109 scope link \n");

    try {
        replace_default_route(table, 9999, v4);
        FAIL("no error for a missing device");
    } catch (const KernelError& e) {
        CHECK(e.error_number() == ENODEV);
        CHECK_THAT(e.what(), Catch::StartsWith("replacing the IPv4 default route in table 26468 "
                                               "(dev ifindex 9999): No such device"));
    }
    CHECK_THROWS_AS(replace_default_route(0, ifindex("wan0"), v4), std::invalid_argument);
    CHECK(must("ip -4 route show table main").find("default") == std::string::npos);
}

TEST_CASE_METHOD(FreshNetworkNamespace, "links are deleted once and their MTU is set",
                 "[netlink][kernel][link]") {
    veth_pair_up();
    set_link_mtu(ifindex("wan0"), 1300);
    CHECK(must("ip link show wan0").find(" mtu 1300 ") != std::string::npos);
    try {
        set_link_mtu(ifindex("wan0"), 60); // below Ethernet's minimum of 68
        FAIL("no error for MTU 60");
    } catch (const KernelError& e) {
        CHECK(e.error_number() == EINVAL);
        CHECK_THAT(e.what(), Catch::StartsWith("setting MTU 60 on wan0: Invalid argument"));
    }
    CHECK_THROWS_WITH(set_link_mtu(9999, 1400),
                      Catch::StartsWith("setting MTU 1400 on ifindex 9999: No such device"));

    CHECK(delete_link("lan0"));
    CHECK_FALSE(delete_link("lan0"));
    CHECK_FALSE(ifindex_by_name("wan0").has_value()); // a veth goes with its peer
    CHECK_FALSE(delete_link("nosuchdev0"));
    CHECK_THROWS_AS(delete_link("a-name-too-long-for-linux"), std::invalid_argument);
}

TEST_CASE_METHOD(FreshNetworkNamespace, "a device of the XFRM interface's name is not adopted",
                 "[netlink][kernel][link]") {
    veth_pair_up();
    must("ip link add gdoi-pf0 type veth peer name gdoi-pf0p");
    const XfrmInterfaceSpec spec{"gdoi-pf0", 0x6764, ifindex("wan0"), 1400};
    try {
        ensure_xfrm_interface(spec);
        FAIL("a veth was taken for an XFRM interface");
    } catch (const KernelError& e) {
        CHECK(e.error_number() == EEXIST);
        CHECK(std::string(e.what()) == "creating XFRM interface gdoi-pf0 on wan0 (if_id 0x6764): "
                                       "gdoi-pf0 already exists as a device of kind veth");
    }
    CHECK(must("ip link show gdoi-pf0").find(" mtu 1500 ") != std::string::npos); // untouched

    XfrmInterfaceSpec on_lo = spec;
    on_lo.name = "lo";
    CHECK_THROWS_WITH(ensure_xfrm_interface(on_lo),
                      "creating XFRM interface lo on wan0 (if_id 0x6764): lo already exists as a "
                      "hardware or loopback device");

    XfrmInterfaceSpec bad = spec;
    bad.if_id = 0;
    CHECK_THROWS_AS(ensure_xfrm_interface(bad), std::invalid_argument);
    bad = spec;
    bad.name = "gdoi-prefrag-0000";
    CHECK_THROWS_AS(ensure_xfrm_interface(bad), std::invalid_argument);
}

TEST_CASE_METHOD(FreshNetworkNamespace, "the XFRM interface is created where the kernel has them",
                 "[netlink][kernel][link][xfrmi]") {
    veth_pair_up();
    const XfrmInterfaceSpec spec{"gdoi-pf0", 0x6764, ifindex("wan0"), 1400};
    const bool kernel_has_xfrmi =
        run("ip link add gdoi-probe type xfrm dev wan0 if_id 1").status == 0;
    if (kernel_has_xfrmi) must("ip link del gdoi-probe");
    if (!kernel_has_xfrmi) {
        WARN("no xfrm_interface module: checking the refusal only");
        try {
            ensure_xfrm_interface(spec);
            FAIL("an XFRM interface was created without xfrm_interface");
        } catch (const KernelError& e) {
            CHECK(e.error_number() == EOPNOTSUPP);
            CHECK_THAT(e.what(),
                       Catch::StartsWith("creating XFRM interface gdoi-pf0 on wan0 (if_id 0x6764): "
                                         "Operation not supported") &&
                           Catch::EndsWith("; is the xfrm_interface module available?"));
        }
        CHECK_FALSE(ifindex_by_name("gdoi-pf0").has_value());
        return;
    }
    const int index = ensure_xfrm_interface(spec);
    CHECK(index == ifindex("gdoi-pf0"));
    const std::string shown = must("ip -d link show gdoi-pf0");
    CHECK(shown.find(" mtu 1400 ") != std::string::npos);
    CHECK(shown.find(",UP") != std::string::npos);
    CHECK(shown.find("if_id 0x6764") != std::string::npos);
    CHECK(shown.find("addrgenmode none") != std::string::npos);
    CHECK(must("ip -6 addr show dev gdoi-pf0").empty()); // no link-local address

    XfrmInterfaceSpec again = spec;
    again.mtu = 1300;
    CHECK(ensure_xfrm_interface(again) == index); // adopted
    CHECK(must("ip link show gdoi-pf0").find(" mtu 1300 ") != std::string::npos);

    XfrmInterfaceSpec other = spec;
    other.if_id = 0x6765;
    CHECK_THROWS_WITH(ensure_xfrm_interface(other),
                      "creating XFRM interface gdoi-pf0 on wan0 (if_id 0x6765): gdoi-pf0 already "
                      "exists as an XFRM interface with if_id 0x6764 on wan0");
    CHECK(delete_link("gdoi-pf0"));
    CHECK_FALSE(ifindex_by_name("gdoi-pf0").has_value());
}
