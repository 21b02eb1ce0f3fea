#include <catch2/catch.hpp>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "config_test_support.hpp"
#include "daemon/config_parser.hpp"

using namespace gdoid::daemon;
using namespace gdoid::daemon::test;

namespace {

std::string read_example() {
    const char* root = std::getenv("GDOID_SOURCE_ROOT");
    REQUIRE(root != nullptr);
    std::ifstream in(std::string(root) + "/examples/gdoid.conf");
    REQUIRE(in);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

void replace(std::string& text, const std::string& from, const std::string& to) {
    const auto at = text.find(from);
    REQUIRE(at != std::string::npos);
    text.replace(at, from.size(), to);
}

// A minimal valid group; line numbers in the tests below count from the first line of the file.
std::string group(const std::string& psk_path, const std::string& name = "wan", int id = 1) {
    return "[[group]]\n"
           "name = \"" + name + "\"\n"
           "id = " + std::to_string(id) + "\n"
           "servers = [\"192.0.2.1\"]\n"
           "local-address = \"192.0.2.10\"\n"
           "pre-shared-key = { file = \"" + psk_path + "\" }\n"
           "wan-interface = \"eth0\"\n"
           "lan-interfaces = [\"eth1\"]\n";
}

} // namespace

TEST_CASE("the shipped example configuration is valid and reads as documented", "[config]") {
    TempDir dir;
    const auto psk = dir.write("wan.key", std::string(test_psk) + "\n");
    dir.write("branch-psk", "another-secret-of-enough-length");
    std::string text = read_example();
    replace(text, "{ file = \"/etc/gdoid/psk/wan.key\" }", "{ file = \"" + psk + "\" }");

    const auto result = parse_config(text, "gdoid.conf", test_options(dir));
    INFO(Catch::Detail::stringify(messages(result)));
    REQUIRE(result.ok());
    CHECK(result.diagnostics.empty());
    const auto& config = *result.config;
    CHECK(config.daemon.control_socket == "/run/gdoid/control");
    CHECK(config.daemon.control_group == "adm");
    CHECK(config.daemon.log_level == LogLevel::info);
    REQUIRE(config.groups.size() == 2);

    const auto& wan = config.groups[0];
    CHECK(wan.name == "wan");
    CHECK(wan.id == 1234);
    REQUIRE(wan.servers.size() == 2);
    CHECK(wan.servers[0].to_string() == "192.0.2.1:848");
    CHECK(wan.servers[1].to_string() == "192.0.2.2:848");
    CHECK(wan.local_address.to_string() == "192.0.2.10");
    CHECK(wan.psk_source.kind == PskSource::Kind::file);
    // The trailing newline is not part of the key.
    CHECK(wan.psk == gdoi::SecretBytes(std::string_view(test_psk)));
    CHECK(wan.ike.encryption == IkeEncryption::aes256_cbc);
    CHECK(wan.ike.hash == IkeHash::sha256);
    CHECK(wan.ike.dh_group == 14);
    CHECK(wan.ike.lifetime == std::chrono::hours(24));
    CHECK(wan.wan_interface == "eth0");
    CHECK(wan.lan_interfaces == std::vector<std::string>{"eth1", "eth2"});
    CHECK(wan.lan_prefixes == std::vector{*gdoi::IpPrefix::parse("10.1.0.0/16")});
    CHECK(wan.anchor.inbound.to_string() == "100.127.255.1");
    CHECK(wan.anchor.remote.to_string() == "100.127.255.2");
    CHECK(wan.match_direction == MatchDirection::both);
    CHECK(wan.df_bit == DfBit::clear);
    CHECK(wan.crypto_offload == CryptoOffload::automatic);
    REQUIRE(wan.bypass_mark);
    CHECK(wan.bypass_mark->value == 0x00100000);
    CHECK(wan.bypass_mark->mask == 0x00100000);
    CHECK(wan.tcp_mss == 1360);
    CHECK(wan.retry.count == 3);
    CHECK(wan.retry.interval == std::chrono::seconds(10));
    CHECK(wan.rekey.pull_window == PullWindow{PullWindow::Unit::percent, 7, 5});
    CHECK(wan.rekey.activate_before_expiry == std::chrono::seconds(30));
    REQUIRE(wan.fail_open.size() == 1);
    CHECK(wan.fail_open[0].name == "management");
    CHECK(wan.fail_open[0].source.to_string() == "10.0.0.0/24");
    CHECK(wan.fail_open[0].destination.to_string() == "10.9.0.0/24");
    REQUIRE(wan.bypass.size() == 1);
    CHECK(wan.bypass[0] == BypassClassConfig{"snmp", *gdoi::IpPrefix::parse("10.1.0.0/16"),
                                             *gdoi::IpPrefix::parse("10.9.0.0/24"), 17, 0, 161});
    CHECK(wan.quirks.group_id_byte_order == gdoi::GroupIdByteOrder::network);
    CHECK(wan.quirks.sa_tek_id_length == gdoi::IdLengthWidth::automatic);
    CHECK(wan.quirks.phase1_doi == 1);

    const auto& branch = config.groups[1];
    CHECK(branch.name == "branch-v6");
    CHECK(branch.servers[0].to_string() == "[2001:db8::1]:848");
    CHECK(branch.servers[0].address.family == gdoi::IpFamily::v6);
    CHECK(branch.psk_source.kind == PskSource::Kind::credential);
    CHECK(branch.psk == gdoi::SecretBytes(std::string_view("another-secret-of-enough-length")));
    CHECK(branch.match_direction == MatchDirection::both); // defaults
    CHECK(branch.df_bit == DfBit::clear);
    // what the one datapath holds is the same as group wan's (check_shared_datapath)
    CHECK(branch.bypass_mark == wan.bypass_mark);
    CHECK(branch.tcp_mss == wan.tcp_mss);
    CHECK(branch.lan_prefixes.empty());
    CHECK(branch.anchor == default_anchor_addresses(gdoi::IpFamily::v6)); // its local address is IPv6
}

TEST_CASE("lan-prefixes and anchor: read, defaulted by family, and refused with the reason", "[config]") {
    TempDir dir;
    const auto psk = dir.write("k", test_psk);
    SECTION("given") {
        std::string text = group(psk);
        text += "lan-prefixes = [\"10.1.0.0/16\", \"10.3.0.0/24\"]\n"
                "anchor = { inbound = \"100.64.9.1\", remote = \"100.64.9.2\" }\n";
        const auto result = parse_config(text, "a.conf", test_options(dir));
        INFO(Catch::Detail::stringify(messages(result)));
        REQUIRE(result.ok());
        const auto& g = result.config->groups.at(0);
        CHECK(g.lan_prefixes == std::vector{*gdoi::IpPrefix::parse("10.1.0.0/16"), *gdoi::IpPrefix::parse("10.3.0.0/24")});
        CHECK(g.anchor.inbound == *gdoi::IpAddress::parse("100.64.9.1"));
        CHECK(g.anchor.remote == *gdoi::IpAddress::parse("100.64.9.2"));
    }
    SECTION("defaults follow the local address's family") {
        std::string text = group(psk);
        replace(text, "servers = [\"192.0.2.1\"]", "servers = [\"2001:db8::1\"]");
        replace(text, "local-address = \"192.0.2.10\"", "local-address = \"2001:db8::10\"");
        const auto result = parse_config(text, "a.conf", test_options(dir));
        INFO(Catch::Detail::stringify(messages(result)));
        REQUIRE(result.ok());
        CHECK(result.config->groups.at(0).anchor == default_anchor_addresses(gdoi::IpFamily::v6));
        CHECK(result.config->groups.at(0).anchor.inbound.family == gdoi::IpFamily::v6);
    }
    SECTION("errors") {
        std::string text = group(psk);
        text += "lan-prefixes = [\"10.1.0.1/16\", 7]\n"
                "anchor = { inbound = \"127.0.0.9\", remote = \"2001:db8::2\" }\n";
        const auto result = parse_config(text, "e.conf", test_options(dir));
        CHECK(messages(result) ==
              std::vector<std::string>{
                  "e.conf:9:17: `lan-prefixes`: \"10.1.0.1/16\" has host bits set; did you mean \"10.1.0.0/16\"?",
                  "e.conf:9:32: `lan-prefixes`: each entry must be an address prefix like \"10.1.0.0/16\"",
                  "e.conf:10:22: `anchor`: `inbound` \"127.0.0.9\" is a loopback address; the kernel drops packets "
                  "forwarded to it (use an ordinary address that is not on the wire, e.g. in 100.64.0.0/10)",
                  "e.conf:10:44: `anchor`: `remote` \"2001:db8::2\" is not of the same address family as "
                  "`local-address`",
              });
    }
    SECTION("the remote anchor must not be one of our own prefixes") {
        std::string text = group(psk);
        text += "lan-prefixes = [\"100.64.0.0/10\"]\nanchor = { inbound = \"100.127.0.1\", remote = \"100.64.0.2\" }\n";
        const auto result = parse_config(text, "r.conf", test_options(dir));
        REQUIRE(messages(result).size() == 1);
        CHECK_THAT(messages(result)[0], Catch::Contains("`remote` 100.64.0.2 is inside `lan-prefixes` 100.64.0.0/10"));
    }
}

TEST_CASE("pre-fragmentation: off by default, on for IPv4 groups (VRFs too), refused for IPv6",
          "[config]") {
    TempDir dir;
    const auto psk = dir.write("k", test_psk);
    const auto plain = parse_config(group(psk), "p.conf", test_options(dir));
    REQUIRE(plain.ok());
    CHECK_FALSE(plain.config->groups.at(0).pre_fragmentation);
    const auto on = parse_config(group(psk) + "pre-fragmentation = true\n", "p.conf", test_options(dir));
    INFO(Catch::Detail::stringify(messages(on)));
    REQUIRE(on.ok());
    CHECK(on.config->groups.at(0).pre_fragmentation);

    std::string v6 = group(psk);
    replace(v6, "servers = [\"192.0.2.1\"]", "servers = [\"2001:db8::1\"]");
    replace(v6, "local-address = \"192.0.2.10\"", "local-address = \"2001:db8::10\"");
    const auto refused_v6 = parse_config(v6 + "pre-fragmentation = true\n", "p.conf", test_options(dir));
    REQUIRE(messages(refused_v6).size() == 1);
    CHECK_THAT(messages(refused_v6)[0], Catch::Contains("p.conf:9:21: `pre-fragmentation = true` applies to IPv4 groups"));
    CHECK_THAT(messages(refused_v6)[0], Catch::Contains("Packet Too Big"));

    // with a routing instance too (VM 120 shows both VRF layouts)
    const auto vrf = parse_config(group(psk) + "routing-instance = \"vrf-wan\"\npre-fragmentation = true\n",
                                  "p.conf", test_options(dir));
    INFO(Catch::Detail::stringify(messages(vrf)));
    REQUIRE(vrf.ok());
    CHECK(vrf.config->groups.at(0).pre_fragmentation);
}

TEST_CASE("a missing required key is reported at its table", "[config]") {
    TempDir dir;
    const auto psk = dir.write("k", test_psk);
    std::string text = group(psk);
    replace(text, "id = 1\n", "");
    const auto result = parse_config(text, "m.conf", test_options(dir));
    CHECK_FALSE(result.ok());
    CHECK(messages(result) == std::vector<std::string>{"m.conf:1:1: group `wan` is missing the required key `id`"});
}

TEST_CASE("a value of the wrong type names the key and both types", "[config]") {
    TempDir dir;
    const auto psk = dir.write("k", test_psk);
    std::string text = group(psk);
    replace(text, "id = 1\n", "id = \"1\"\n");
    const auto result = parse_config(text, "t.conf", test_options(dir));
    CHECK(messages(result) == std::vector<std::string>{"t.conf:3:6: `id` must be an integer, not a string"});
}

TEST_CASE("out-of-range values are refused with the allowed range", "[config]") {
    TempDir dir;
    const auto psk = dir.write("k", test_psk);
    std::string text = group(psk);
    replace(text, "id = 1\n", "id = 4294967296\nike = { dh-group = 3, lifetime = \"25h\" }\ntcp-mss = 10\nmax-teks = 0\n");
    const auto result = parse_config(text, "r.conf", test_options(dir));
    CHECK(messages(result) == std::vector<std::string>{
                                  "r.conf:3:6: `id` must be between 1 and 4294967295, not 4294967296",
                                  "r.conf:4:20: `dh-group` must be one of 1, 2, 5, 14, 15, 16 (MODP) or "
                                  "19, 20, 21 (ECP), not 3",
                                  "r.conf:4:34: `lifetime` must be between 3m and 1d, not 25h",
                                  "r.conf:5:11: `tcp-mss` must be between 64 and 65535, not 10",
                                  "r.conf:6:12: `max-teks` must be between 1 and 65535, not 0",
                              });
}

TEST_CASE("ike: SHA-384/512 and DH groups 15, 16, 19, 20, 21 are read; others are refused", "[config]") {
    TempDir dir;
    const auto psk = dir.write("k", test_psk);
    struct Accepted {
        std::string hash;
        IkeHash expected_hash;
        int dh_group;
    };
    for (const auto& c : {Accepted{"sha384", IkeHash::sha384, 20}, Accepted{"sha512", IkeHash::sha512, 21},
                          Accepted{"sha256", IkeHash::sha256, 19}, Accepted{"sha512", IkeHash::sha512, 15},
                          Accepted{"sha384", IkeHash::sha384, 16}}) {
        CAPTURE(c.hash, c.dh_group);
        std::string text = group(psk);
        replace(text, "id = 1\n",
                "id = 1\nike = { hash = \"" + c.hash + "\", dh-group = " + std::to_string(c.dh_group) + " }\n");
        const auto result = parse_config(text, "n.conf", test_options(dir));
        INFO(Catch::Detail::stringify(messages(result)));
        REQUIRE(result.ok());
        const auto& ike = result.config->groups[0].ike;
        CHECK(ike.hash == c.expected_hash);
        CHECK(to_string(ike.hash) == c.hash);
        CHECK(ike.dh_group == c.dh_group);
        CHECK(ike.encryption == IkeEncryption::aes256_cbc); // the defaults stay
        CHECK(ike.lifetime == std::chrono::hours(24));
    }
    // Without an ike table: AES-256, SHA-256, group 14.
    const auto plain = parse_config(group(psk), "d.conf", test_options(dir));
    REQUIRE(plain.ok());
    CHECK(plain.config->groups[0].ike.hash == IkeHash::sha256);
    CHECK(plain.config->groups[0].ike.dh_group == 14);

    std::string text = group(psk);
    replace(text, "id = 1\n", "id = 1\nike = { hash = \"sha224\", dh-group = 24 }\n");
    const auto result = parse_config(text, "x.conf", test_options(dir));
    CHECK(messages(result) ==
          std::vector<std::string>{
              "x.conf:4:16: `hash` must be one of \"md5\", \"sha1\", \"sha256\", \"sha384\", \"sha512\", not "
              "\"sha224\"",
              "x.conf:4:37: `dh-group` must be one of 1, 2, 5, 14, 15, 16 (MODP) or 19, 20, 21 (ECP), not 24",
          });
}

TEST_CASE("five key servers are one too many", "[config]") {
    TempDir dir;
    const auto psk = dir.write("k", test_psk);
    std::string text = group(psk);
    replace(text, "servers = [\"192.0.2.1\"]",
            "servers = [\"192.0.2.1\", \"192.0.2.2\", \"192.0.2.3\", \"192.0.2.4\", \"192.0.2.5\"]");
    const auto result = parse_config(text, "s.conf", test_options(dir));
    CHECK(messages(result) ==
          std::vector<std::string>{"s.conf:4:11: `servers` lists 5 key servers; at most 4 are allowed"});

    // Four is fine.
    std::string four = group(psk);
    replace(four, "servers = [\"192.0.2.1\"]",
            "servers = [\"192.0.2.1\", \"192.0.2.2\", \"192.0.2.3\", \"[2001:db8::1]:849\"]");
    replace(four, "local-address = \"192.0.2.10\"", "local-address = \"192.0.2.10\"");
    const auto mixed = parse_config(four, "s.conf", test_options(dir));
    CHECK(messages(mixed) == std::vector<std::string>{"s.conf:5:17: `local-address` 192.0.2.10 and key server "
                                                      "2001:db8::1 are not the same address family"});
}

TEST_CASE("eleven fail-open rules are one too many", "[config]") {
    TempDir dir;
    const auto psk = dir.write("k", test_psk);
    std::string text = group(psk);
    for (int i = 1; i <= 11; ++i)
        text += "[[group.fail-open]]\nname = \"r" + std::to_string(i) + "\"\nsource = \"10.0." + std::to_string(i) +
                ".0/24\"\ndestination = \"10.9.0.0/16\"\n";
    const auto result = parse_config(text, "f.conf", test_options(dir));
    // Rule 11 starts on line 8 + 10 * 4 + 1.
    CHECK(messages(result) ==
          std::vector<std::string>{"f.conf:49:1: group `wan` has 11 fail-open rules; at most 10 are allowed"});

    std::string ten = group(psk);
    for (int i = 1; i <= 10; ++i)
        ten += "[[group.fail-open]]\nname = \"r" + std::to_string(i) + "\"\nsource = \"10.0." + std::to_string(i) +
               ".0/24\"\ndestination = \"10.9.0.0/16\"\n";
    const auto accepted = parse_config(ten, "f.conf", test_options(dir));
    REQUIRE(accepted.ok());
    CHECK(accepted.config->groups[0].fail_open.size() == 10);
}

TEST_CASE("an unknown key is an error, with a suggestion when it looks like a typo", "[config]") {
    TempDir dir;
    const auto psk = dir.write("k", test_psk);
    const std::string text = "[daemon]\nlog-levle = \"debug\"\ncolour = true\n" + group(psk);
    const auto result = parse_config(text, "u.conf", test_options(dir));
    CHECK(messages(result) == std::vector<std::string>{
                                  "u.conf:2:1: unknown key `log-levle` in [daemon]; did you mean `log-level`?",
                                  "u.conf:3:1: unknown key `colour` in [daemon]",
                              });
    std::string typo = group(psk);
    replace(typo, "wan-interface", "wan-interfce");
    CHECK(messages(parse_config(typo, "u.conf", test_options(dir))) ==
          std::vector<std::string>{
              "u.conf:1:1: group `wan` is missing the required key `wan-interface`",
              "u.conf:7:1: unknown key `wan-interfce` in [[group]]; did you mean `wan-interface`?",
          });
}

TEST_CASE("group names and ids must be unique", "[config]") {
    TempDir dir;
    const auto psk = dir.write("k", test_psk);
    const std::string text = group(psk, "wan", 1) + group(psk, "wan", 2) + group(psk, "lan", 2);
    const auto result = parse_config(text, "d.conf", test_options(dir));
    CHECK(messages(result) == std::vector<std::string>{
                                  "d.conf:10:8: duplicate group name `wan` (first defined at line 1)",
                                  "d.conf:19:6: duplicate group id 2 (also used by group `wan`)",
                              });
}

TEST_CASE("two groups cannot guard the same LAN prefix: the kernel keeps one policy per selector", "[config]") {
    TempDir dir;
    const auto psk = dir.write("k", test_psk);
    const std::string first = group(psk) + "lan-prefixes = [\"10.1.0.0/16\"]\n";
    const auto clash = parse_config(first + group(psk, "lan", 2) + "lan-prefixes = [\"10.9.0.0/16\", \"10.1.0.0/16\"]\n",
                                    "p.conf", test_options(dir));
    CHECK(messages(clash) == std::vector<std::string>{
                                 "p.conf:18:16: group `lan`: lan-prefixes 10.1.0.0/16 is also group `wan`'s (line 1): "
                                 "the kernel holds one XFRM policy per selector and direction, so two groups cannot "
                                 "both guard one prefix",
                             });
    const auto apart =
        parse_config(first + group(psk, "lan", 2) + "lan-prefixes = [\"10.9.0.0/16\"]\n", "p.conf", test_options(dir));
    INFO(Catch::Detail::stringify(messages(apart)));
    CHECK(apart.ok());
}

TEST_CASE("groups must agree on what their shared datapath holds, said at --check-config", "[config]") {
    // At run time the second group's datapath was refused after it had registered
    // ("groups sharing a WAN interface must agree on them"); the file says so now, at the key.
    TempDir dir;
    const auto psk = dir.write("k", test_psk);
    std::string second = group(psk, "lan", 2) + "df-bit = \"set\"\ntcp-mss = 1300\nbypass-mark = \"0x10\"\n";
    replace(second, "wan-interface = \"eth0\"", "wan-interface = \"eth9\"");
    replace(second, "local-address = \"192.0.2.10\"", "local-address = \"192.0.2.11\"");
    const auto result = parse_config(group(psk) + second, "d.conf", test_options(dir));
    CHECK(messages(result) ==
          std::vector<std::string>{
              "d.conf:13:17: group `lan`: local-address 192.0.2.11 and anchor 100.127.255.1/100.127.255.2 differ "
              "from 192.0.2.10 and anchor 100.127.255.1/100.127.255.2 (group `wan`, line 1): all groups share one "
              "header-preservation datapath, whose anchors are one set per address family",
              "d.conf:15:17: group `lan`: wan-interface `eth9` differs from `eth0` (group `wan`, line 1): all groups "
              "share one header-preservation datapath, on one WAN interface",
              "d.conf:17:10: group `lan`: df-bit \"set\" is for all groups or none (group `wan`, line 1): all groups "
              "share one header-preservation datapath, which sets DF on every packet it restores",
              "d.conf:18:11: group `lan`: tcp-mss 1300 differs from none (group `wan`, line 1): all groups share one "
              "header-preservation datapath, which clamps every SYN to one value",
              "d.conf:19:15: group `lan`: bypass-mark 0x10 differs from none (group `wan`, line 1): all groups share "
              "one header-preservation datapath, which skips one mark bit",
          });

    // An IPv6 group brings its own anchors; df-bit clear and copy are per state, not datapath.
    std::string v6 = group(psk, "v6", 3) + "df-bit = \"copy\"\n";
    replace(v6, "local-address = \"192.0.2.10\"", "local-address = \"2001:db8::10\"");
    replace(v6, "servers = [\"192.0.2.1\"]", "servers = [\"2001:db8::1\"]");
    const auto mixed = parse_config(group(psk) + v6, "d.conf", test_options(dir));
    INFO(Catch::Detail::stringify(messages(mixed)));
    CHECK(mixed.ok());
}

TEST_CASE("every problem in the file is reported, not just the first", "[config]") {
    TempDir dir;
    const auto psk = dir.write("k", test_psk);
    std::string text = group(psk);
    replace(text, "servers = [\"192.0.2.1\"]", "servers = [\"192.0.2.300\"]");
    replace(text, "lan-interfaces = [\"eth1\"]", "lan-interfaces = [\"eth0\"]\ndf-bit = \"maybe\"\ncrypto-offload = \"yes\"");
    const auto result = parse_config(text, "a.conf", test_options(dir));
    CHECK(messages(result) ==
          std::vector<std::string>{
              "a.conf:4:12: `servers`: \"192.0.2.300\" is not an IPv4 or IPv6 address with an optional port",
              "a.conf:8:19: `lan-interfaces`: eth0 is already the `wan-interface`",
              "a.conf:9:10: `df-bit` must be one of \"clear\", \"set\", \"copy\", not \"maybe\"",
              "a.conf:10:18: `crypto-offload` must be one of \"auto\", \"off\", not \"yes\"",
          });
}

TEST_CASE("a pre-shared key written into the file is refused without being echoed", "[config][secrets]") {
    TempDir dir;
    std::string text = group("/unused");
    replace(text, "pre-shared-key = { file = \"/unused\" }", "pre-shared-key = \"my-literal-secret-key-0001\"");
    const auto result = parse_config(text, "l.conf", test_options(dir));
    const auto lines = messages(result);
    REQUIRE(lines.size() == 1);
    CHECK(lines[0] == "l.conf:6:18: `pre-shared-key` must name where the key is, not hold it: write "
                      "{ file = \"/etc/gdoid/<group>.psk\" } or { credential = \"<name>\" }");
    CHECK(lines[0].find("my-literal-secret") == std::string::npos);
}

TEST_CASE("syntax errors carry toml++'s position", "[config]") {
    const auto result = parse_config("[daemon]\nlog-level = \n", "x.conf", {});
    REQUIRE(result.diagnostics.size() == 1);
    CHECK(result.diagnostics[0].line == 2);
    CHECK(result.diagnostics[0].to_string().rfind("x.conf:2:", 0) == 0);
}

TEST_CASE("an unreadable file is one error without a position", "[config]") {
    const auto result = load_config_file("/nonexistent/gdoid.conf");
    CHECK(messages(result) == std::vector<std::string>{
                                  "/nonexistent/gdoid.conf: cannot read the configuration: No such file or directory"});
}

TEST_CASE("value syntaxes: durations, pull windows, marks, server addresses", "[config]") {
    CHECK(parse_duration("30s") == std::chrono::seconds(30));
    CHECK(parse_duration("1h30m") == std::chrono::seconds(5400));
    CHECK(parse_duration("2d") == std::chrono::seconds(172800));
    CHECK_FALSE(parse_duration("30"));
    CHECK_FALSE(parse_duration("s"));
    CHECK_FALSE(parse_duration("-5s"));
    CHECK_FALSE(parse_duration("99999999999999999999s"));
    CHECK(format_duration(std::chrono::seconds(5400)) == "1h30m");

    CHECK(parse_pull_window("7%-5%").window == PullWindow{PullWindow::Unit::percent, 7, 5});
    CHECK(parse_pull_window("90s-30s").window == PullWindow{PullWindow::Unit::seconds, 90, 30});
    CHECK_FALSE(parse_pull_window("5%-7%").window);
    CHECK_FALSE(parse_pull_window("60%-5%").window);
    CHECK_FALSE(parse_pull_window("7%").window);

    CHECK(parse_bypass_mark("0x100/0xf00").mark == BypassMark{0x100, 0xf00});
    CHECK_FALSE(parse_bypass_mark("0x0").mark);
    CHECK_FALSE(parse_bypass_mark("0x1000/0x100").mark);
    CHECK_FALSE(parse_bypass_mark("256").mark);
    CHECK_FALSE(parse_bypass_mark("0x100000000").mark);

    CHECK(parse_server_address("192.0.2.1:1848")->port == 1848);
    CHECK(parse_server_address("2001:db8::1")->port == 848);
    CHECK(parse_server_address("[2001:db8::1]:9")->port == 9);
    CHECK_FALSE(parse_server_address("192.0.2.1:0"));
    CHECK_FALSE(parse_server_address("192.0.2.1:65536"));
    CHECK_FALSE(parse_server_address("[192.0.2.1]:848"));
    CHECK_FALSE(parse_server_address("ks.example.net"));
}

TEST_CASE("graceful-restart and restart-time in [daemon]", "[config]") {
    TempDir dir;
    const auto psk = dir.write("k", test_psk);
    const auto defaults = parse_config(group(psk), "g.conf", test_options(dir));
    REQUIRE(defaults.ok());
    CHECK_FALSE(defaults.config->daemon.graceful_restart);
    CHECK(defaults.config->daemon.restart_time == std::chrono::seconds(120));

    const auto on = parse_config("[daemon]\ngraceful-restart = true\nrestart-time = \"5m\"\n" + group(psk), "g.conf",
                                 test_options(dir));
    REQUIRE(on.ok());
    CHECK(on.config->daemon.graceful_restart);
    CHECK(on.config->daemon.restart_time == std::chrono::seconds(300));

    CHECK(messages(parse_config("[daemon]\ngraceful-restart = \"yes\"\nrestart-time = \"2s\"\n" + group(psk), "g.conf",
                                test_options(dir))) ==
          std::vector<std::string>{
              "g.conf:2:20: `graceful-restart` must be true or false, not a string",
              "g.conf:3:16: `restart-time` must be between 5s and 1h, not 2s",
          });
}
