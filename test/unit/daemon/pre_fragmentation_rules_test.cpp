// The routing rules of pre-fragmentation, from the groups' selectors (pure): what
// PreFragmentationRouting installs with netlink/policy_routing.
#include "daemon/pre_fragmentation_routing.hpp"

#include <catch2/catch.hpp>

using gdoid::daemon::kPreFragmentationTable;
using gdoid::daemon::pre_fragmentation_rules;
using netlink::FibRule;

namespace {

gdoi::IpPrefix pfx(const char* text) {
    return *gdoi::IpPrefix::parse(text);
}

netlink::XfrmSelector selector(const char* source, const char* destination, uint8_t protocol = 0,
                               uint16_t destination_port = 0) {
    netlink::XfrmSelector s;
    s.source = pfx(source);
    s.destination = pfx(destination);
    s.ip_protocol = protocol;
    s.destination_port = destination_port;
    return s;
}

constexpr uint32_t kMark = 0x00200000;
constexpr uint32_t kBypass = 0x00100000;

} // namespace

TEST_CASE("pre-fragmentation rules: a nop to continue at, the bypasses, then the entries",
          "[prefrag]") {
    policy::PreFragmentationRules group;
    group.through_interface = {selector("10.1.0.0/16", "10.2.0.0/16"), selector("10.2.0.0/16", "10.1.0.0/16")};
    group.exceptions = {selector("10.1.0.0/16", "10.2.0.0/16", 17, 161)};
    const auto rules = pre_fragmentation_rules({group}, kMark, kBypass);
    REQUIRE(rules.size() == 4);
    // Added in this order: the jump target exists before the exceptions that jump to it, and
    // both before the rules that route marked packets into the interface.
    CHECK(rules[0].priority == 42);
    CHECK(rules[0].action == FibRule::Action::nop);
    CHECK(rules[1].priority == 40);
    CHECK(rules[1].action == FibRule::Action::go_to);
    CHECK(rules[1].goto_priority == 42);
    CHECK(rules[1].ip_protocol == 17);
    CHECK(rules[1].destination_port == 161);
    CHECK(rules[1].fwmark == kMark);
    CHECK(rules[1].fwmask == kMark);
    for (size_t i : {2u, 3u}) {
        CHECK(rules[i].priority == 41);
        CHECK(rules[i].action == FibRule::Action::to_table);
        CHECK(rules[i].table == kPreFragmentationTable);
        CHECK(rules[i].fwmark == kMark);
        CHECK(rules[i].fwmask == (kMark | kBypass)); // a bypass-marked packet is never routed in
    }
    CHECK(rules[2].to_string().find("lookup 26468") != std::string::npos);
}

TEST_CASE("pre-fragmentation rules: groups share rules, /0 selects nothing, no entry no rule",
          "[prefrag]") {
    policy::PreFragmentationRules a;
    a.through_interface = {selector("10.0.0.0/8", "0.0.0.0/0")};
    policy::PreFragmentationRules b = a; // another group with the same entry
    const auto rules = pre_fragmentation_rules({a, b}, kMark, 0);
    REQUIRE(rules.size() == 2); // the nop and one rule for both
    CHECK(rules[1].source == pfx("10.0.0.0/8"));
    CHECK(rules[1].destination == gdoi::IpPrefix{}); // "to all", as `ip rule` writes it
    CHECK(rules[1].fwmask == kMark);

    policy::PreFragmentationRules only_exceptions;
    only_exceptions.exceptions = {selector("10.1.0.0/16", "10.7.0.0/16")};
    CHECK(pre_fragmentation_rules({only_exceptions}, kMark, 0).empty());
    CHECK(pre_fragmentation_rules({}, kMark, 0).empty());
}
