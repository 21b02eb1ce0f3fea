#include <catch2/catch.hpp>

#include "daemon/config_diff.hpp"

using namespace gdoid::daemon;

namespace {

GroupConfig make_group(const std::string& name, uint32_t id) {
    GroupConfig group;
    group.name = name;
    group.id = id;
    group.servers = {{*gdoi::IpAddress::parse("192.0.2.1"), 848}};
    group.local_address = *gdoi::IpAddress::parse("192.0.2.10");
    group.psk_source = {PskSource::Kind::file, "/etc/gdoid/" + name + ".key"};
    group.psk = gdoi::SecretBytes(std::string_view("a-pre-shared-key-of-some-length"));
    group.wan_interface = "eth0";
    group.lan_interfaces = {"eth1"};
    return group;
}

Config make_config(std::vector<GroupConfig> groups) {
    Config config;
    config.groups = std::move(groups);
    return config;
}

} // namespace

TEST_CASE("identical configurations differ in nothing", "[diff]") {
    const auto a = make_config({make_group("wan", 1), make_group("lan", 2)});
    const auto diff = diff_configs(a, a);
    CHECK(diff.empty());
    CHECK(diff.unchanged == std::vector<std::string>{"wan", "lan"});
    CHECK(diff.summary() == "no changes");
}

TEST_CASE("added, removed and changed groups are told apart by name", "[diff]") {
    const auto before = make_config({make_group("wan", 1), make_group("old", 2), make_group("same", 3)});
    auto changed = make_group("wan", 1);
    changed.servers.push_back({*gdoi::IpAddress::parse("192.0.2.2"), 848});
    const auto after = make_config({changed, make_group("same", 3), make_group("new", 4)});
    const auto diff = diff_configs(before, after);
    CHECK(diff.added == std::vector<std::string>{"new"});
    CHECK(diff.removed == std::vector<std::string>{"old"});
    REQUIRE(diff.changed.size() == 1);
    CHECK(diff.changed[0].name == "wan");
    CHECK(diff.changed[0].fields == std::vector<std::string>{"servers"});
    CHECK(diff.changed[0].needs_reregistration);
    CHECK(diff.unchanged == std::vector<std::string>{"same"});
    CHECK(diff.summary() == "added new; removed old; changed wan (servers)");
}

TEST_CASE("a new pre-shared key is a change, reported without the key", "[diff]") {
    auto before = make_config({make_group("wan", 1)});
    auto after = before;
    after.groups[0].psk = gdoi::SecretBytes(std::string_view("a-different-key-of-some-length"));
    const auto diff = diff_configs(before, after);
    REQUIRE(diff.changed.size() == 1);
    CHECK(diff.changed[0].fields == std::vector<std::string>{"pre-shared-key"});
    CHECK(diff.summary().find("different-key") == std::string::npos);
}

TEST_CASE("data-path-only changes keep the registration", "[diff]") {
    auto before = make_config({make_group("wan", 1)});
    auto after = before;
    after.groups[0].df_bit = DfBit::copy;
    after.groups[0].fail_open.push_back({"mgmt", *gdoi::IpPrefix::parse("10.0.0.0/8"), *gdoi::IpPrefix::parse("10.9.0.0/16")});
    auto diff = diff_configs(before, after);
    REQUIRE(diff.changed.size() == 1);
    CHECK(diff.changed[0].fields == std::vector<std::string>{"df-bit", "fail-open"});
    CHECK_FALSE(diff.changed[0].needs_reregistration);

    after.groups[0].quirks.phase1_doi = 2;
    after.groups[0].ike.dh_group = 5;
    diff = diff_configs(before, after);
    REQUIRE(diff.changed.size() == 1);
    CHECK(diff.changed[0].fields == std::vector<std::string>{"ike", "server-quirks", "df-bit", "fail-open"});
    CHECK(diff.changed[0].needs_reregistration);
}

TEST_CASE("daemon settings changes are listed", "[diff]") {
    auto before = make_config({make_group("wan", 1)});
    auto after = before;
    after.daemon.log_level = LogLevel::debug;
    after.daemon.control_group = "adm";
    after.daemon.control_gid = 4;
    const auto diff = diff_configs(before, after);
    CHECK(diff.daemon_fields == std::vector<std::string>{"control-group", "log-level"});
    CHECK(diff.changed.empty());
    CHECK_FALSE(diff.empty());
}

TEST_CASE("graceful-restart and restart-time are daemon settings of a reload", "[diff]") {
    const auto before = make_config({make_group("wan", 1)});
    auto after = before;
    after.daemon.graceful_restart = true;
    after.daemon.restart_time = std::chrono::seconds(300);
    const auto diff = diff_configs(before, after);
    CHECK(diff.daemon_fields == std::vector<std::string>{"graceful-restart", "restart-time"});
    CHECK(diff.unchanged == std::vector<std::string>{"wan"}); // the groups' SAs are not touched
}
