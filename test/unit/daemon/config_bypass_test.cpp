// [[group.bypass]]: the member's own list of traffic that stays in clear text. What is
// accepted, and the sentence for each mistake an operator can make.
#include "config_test_support.hpp"
#include "daemon/config_diff.hpp"
#include "daemon/config_parser.hpp"

#include <catch2/catch.hpp>

using namespace gdoid::daemon;
using namespace gdoid::daemon::test;

namespace {

// A minimal valid group (8 lines); the bypass tables follow from line 9.
std::string group(const std::string& psk_path, const std::string& local_address = "192.0.2.10") {
    return "[[group]]\n"
           "name = \"wan\"\n"
           "id = 1\n"
           "servers = [\"" +
           std::string(local_address.find(':') == std::string::npos ? "192.0.2.1" : "2001:db8::1") +
           "\"]\n"
           "local-address = \"" +
           local_address +
           "\"\n"
           "pre-shared-key = { file = \"" +
           psk_path +
           "\" }\n"
           "wan-interface = \"eth0\"\n"
           "lan-interfaces = [\"eth1\"]\n";
}

ConfigResult parse_with(const TempDir& dir, const std::string& psk, const std::string& bypass,
                        const std::string& local_address = "192.0.2.10") {
    return parse_config(group(psk, local_address) + bypass, "b.conf", test_options(dir));
}

} // namespace

TEST_CASE("bypass classes: prefixes, protocol by name or number, ports", "[config][bypass]") {
    TempDir dir;
    const auto psk = dir.write("k", test_psk);
    const auto result = parse_with(dir, psk,
                                   "[[group.bypass]]\n"
                                   "name = \"snmp\"\n"
                                   "source = \"10.1.0.0/16\"\n"
                                   "destination = \"10.2.0.0/16\"\n"
                                   "protocol = \"udp\"\n"
                                   "destination-port = 161\n"
                                   "[[group.bypass]]\n"
                                   "name = \"ospf\"\n"
                                   "source = \"10.1.0.1/32\"\n"
                                   "destination = \"10.2.0.1/32\"\n"
                                   "protocol = 89\n"
                                   "[[group.bypass]]\n"
                                   "name = \"monitor.all\"\n"
                                   "source = \"10.1.0.11/32\"\n"
                                   "destination = \"10.2.0.0/24\"\n"
                                   "[[group.bypass]]\n"
                                   "name = \"bgp\"\n"
                                   "source = \"10.1.0.1/32\"\n"
                                   "destination = \"10.2.0.1/32\"\n"
                                   "protocol = \"tcp\"\n"
                                   "source-port = 179\n");
    INFO(Catch::Detail::stringify(messages(result)));
    REQUIRE(result.ok());
    const auto& bypass = result.config->groups[0].bypass;
    REQUIRE(bypass.size() == 4);
    CHECK(bypass[0] == BypassClassConfig{"snmp", *gdoi::IpPrefix::parse("10.1.0.0/16"),
                                         *gdoi::IpPrefix::parse("10.2.0.0/16"), 17, 0, 161});
    CHECK(bypass[1].protocol == 89);
    CHECK(protocol_name(bypass[1].protocol) == "ospf");
    CHECK(bypass[2].protocol == 0);
    CHECK(protocol_name(0) == "any");
    CHECK(protocol_name(253) == "253");
    CHECK(bypass[3].source_port == 179);
    CHECK(bypass[3].destination_port == 0);
}

TEST_CASE("bypass classes: every mistake has its sentence", "[config][bypass]") {
    TempDir dir;
    const auto psk = dir.write("k", test_psk);
    const auto check = [&](const std::string& bypass, const std::vector<std::string>& expected,
                           const std::string& local_address = "192.0.2.10") {
        INFO(bypass);
        CHECK(messages(parse_with(dir, psk, bypass, local_address)) == expected);
    };
    check("bypass = \"udp 161\"\n",
          {"b.conf:9:10: `bypass` must be written as [[group.bypass]] tables"});
    check("[[group.bypass]]\nsource = \"10.1.0.0/16\"\ndestination = \"10.2.0.0/16\"\n",
          {"b.conf:9:1: bypass class #1 is missing the required key `name`"});
    check("[[group.bypass]]\nname = \"snmp trap\"\nsource = \"10.1.0.0/16\"\ndestination = "
          "\"10.2.0.0/16\"\n",
          {"b.conf:10:8: bypass class #1: `name` \"snmp trap\" is not valid (1 to 32 letters, "
           "digits, '-', "
           "'_' or '.')"});
    check(
        "[[group.bypass]]\nname = \"a\"\nsource = \"10.1.0.1/16\"\ndestination = \"10.2.0.0/16\"\n",
        {"b.conf:11:10: bypass class `a`: `source` \"10.1.0.1/16\" has host bits set; did you mean "
         "\"10.1.0.0/16\"?"});
    check("[[group.bypass]]\nname = \"a\"\nsource = \"10.1.0.0/16\"\ndestination = \"lan-b\"\n",
          {"b.conf:12:15: bypass class `a`: `destination` \"lan-b\" is not an address prefix like "
           "\"10.1.0.0/16\""});
    check("[[group.bypass]]\nname = \"a\"\nsource = \"10.1.0.0/16\"\n",
          {"b.conf:9:1: bypass class `a` is missing the required key `destination`"});
    check(
        "[[group.bypass]]\nname = \"a\"\nsource = \"10.1.0.0/16\"\ndestination = \"10.2.0.0/16\"\n"
        "protocol = \"snmp\"\n",
        {"b.conf:13:12: bypass class `a`: `protocol` \"snmp\" is not one of \"tcp\", \"udp\", "
         "\"sctp\", "
         "\"icmp\", \"icmpv6\", \"igmp\", \"gre\", \"esp\", \"ah\", \"ospf\", \"pim\", \"vrrp\" or "
         "a "
         "protocol number 1 to 255"});
    check(
        "[[group.bypass]]\nname = \"a\"\nsource = \"10.1.0.0/16\"\ndestination = \"10.2.0.0/16\"\n"
        "protocol = 256\n",
        {"b.conf:13:12: bypass class `a`: `protocol` must be a protocol name like \"udp\" or a "
         "number "
         "1 to 255"});
    check(
        "[[group.bypass]]\nname = \"a\"\nsource = \"10.1.0.0/16\"\ndestination = \"10.2.0.0/16\"\n"
        "protocol = \"ospf\"\ndestination-port = 161\n",
        {"b.conf:14:20: bypass class `a`: `destination-port` needs `protocol` \"tcp\", \"udp\" or "
         "\"sctp\", not \"ospf\""});
    check(
        "[[group.bypass]]\nname = \"a\"\nsource = \"10.1.0.0/16\"\ndestination = \"10.2.0.0/16\"\n"
        "source-port = 161\n",
        {"b.conf:13:15: bypass class `a`: `source-port` needs `protocol` \"tcp\", \"udp\" or "
         "\"sctp\", "
         "not any"});
    check(
        "[[group.bypass]]\nname = \"a\"\nsource = \"10.1.0.0/16\"\ndestination = \"10.2.0.0/16\"\n"
        "protocol = \"udp\"\ndestination-port = 70000\n",
        {"b.conf:14:20: `destination-port` must be between 1 and 65535, not 70000"});
    check("[[group.bypass]]\nname = \"a\"\nsource = \"10.1.0.0/16\"\ndestination = "
          "\"2001:db8::/32\"\n",
          {"b.conf:9:1: bypass class `a`: `source` 10.1.0.0/16 and `destination` 2001:db8::/32 are "
           "not "
           "the same address family"});
    check(
        "[[group.bypass]]\nname = \"a\"\nsource = \"10.1.0.0/16\"\ndestination = \"10.2.0.0/16\"\n",
        {"b.conf:9:1: bypass class `a`: 10.1.0.0/16 is not of the group's address family "
         "(`local-address` 2001:db8::10); the group's policies never see such traffic"},
        "2001:db8::10");
    check(
        "[[group.bypass]]\nname = \"a\"\nsource = \"10.1.0.0/16\"\ndestination = \"10.2.0.0/16\"\n"
        "[[group.bypass]]\nname = \"a\"\nsource = \"10.3.0.0/16\"\ndestination = \"10.2.0.0/16\"\n",
        {"b.conf:14:8: bypass class name `a` is used twice"});
    check(
        "[[group.bypass]]\nname = \"a\"\nsource = \"10.1.0.0/16\"\ndestination = \"10.2.0.0/16\"\n"
        "ports = 161\n",
        {"b.conf:13:1: unknown key `ports` in [[group.bypass]]"});
}

TEST_CASE("sixty-five bypass classes are one too many", "[config][bypass]") {
    TempDir dir;
    const auto psk = dir.write("k", test_psk);
    std::string text;
    for (int i = 1; i <= 65; ++i)
        text += "[[group.bypass]]\nname = \"c" + std::to_string(i) + "\"\nsource = \"10.0." +
                std::to_string(i) + ".0/24\"\ndestination = \"10.9.0.0/16\"\n";
    // Class 65 starts on line 8 + 64 * 4 + 1.
    CHECK(messages(parse_with(dir, psk, text)) ==
          std::vector<std::string>{
              "b.conf:265:1: group `wan` has 65 bypass classes; at most 64 are allowed"});
}

TEST_CASE("a changed bypass class is a local change: the keys stay", "[config][bypass]") {
    TempDir dir;
    const auto psk = dir.write("k", test_psk);
    const std::string one =
        "[[group.bypass]]\nname = \"a\"\nsource = \"10.1.0.0/16\"\ndestination = \"10.2.0.0/16\"\n";
    const auto before = parse_with(dir, psk, one);
    const auto after = parse_with(dir, psk, one + "protocol = \"udp\"\ndestination-port = 514\n");
    REQUIRE(before.ok());
    REQUIRE(after.ok());
    const auto diff = diff_configs(*before.config, *after.config);
    REQUIRE(diff.changed.size() == 1);
    CHECK(diff.changed[0].fields == std::vector<std::string>{"bypass"});
    CHECK_FALSE(diff.changed[0].needs_reregistration);
}
