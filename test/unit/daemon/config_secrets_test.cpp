#include <catch2/catch.hpp>

#include <unistd.h>

#include "config_test_support.hpp"
#include "daemon/config_secrets.hpp"

using namespace gdoid::daemon;
using namespace gdoid::daemon::test;

namespace {

std::string config_with_psk(const std::string& psk_source) {
    return "[[group]]\n"
           "name = \"wan\"\n"
           "id = 7\n"
           "servers = [\"192.0.2.1\"]\n"
           "local-address = \"192.0.2.10\"\n"
           "pre-shared-key = " + psk_source + "\n"
           "wan-interface = \"eth0\"\n"
           "lan-interfaces = [\"eth1\"]\n";
}

std::string all_text(const ConfigResult& result) {
    std::string text;
    for (const auto& line : messages(result)) text += line + "\n";
    return text;
}

} // namespace

TEST_CASE("a pre-shared key shorter than 20 characters is refused", "[secrets]") {
    TempDir dir;
    const auto file = dir.write("short.key", "only-19-characters!\n");
    const auto result = parse_config(config_with_psk("{ file = \"" + file + "\" }"), "p.conf", test_options(dir));
    CHECK(messages(result) == std::vector<std::string>{
                                  "p.conf:6:18: group `wan`: the pre-shared key in pre-shared-key file " + file +
                                  " is 19 characters long; at least 20 are required"});
    CHECK(all_text(result).find("only-19") == std::string::npos);

    // Exactly 20 is enough.
    const auto enough = dir.write("ok.key", "exactly-20-character\n");
    CHECK(parse_config(config_with_psk("{ file = \"" + enough + "\" }"), "p.conf", test_options(dir)).ok());
}

TEST_CASE("a pre-shared-key file others can read is refused, saying who can", "[secrets]") {
    TempDir dir;
    const auto world = dir.write("world.key", std::string(test_psk), 0644);
    auto result = parse_config(config_with_psk("{ file = \"" + world + "\" }"), "p.conf", test_options(dir));
    CHECK(messages(result) == std::vector<std::string>{
                                  "p.conf:6:18: group `wan`: pre-shared-key file " + world +
                                  " has mode 0644, which lets all users access it; it must be 0600 or stricter "
                                  "(chmod 600)"});
    const auto group_readable = dir.write("group.key", std::string(test_psk), 0640);
    result = parse_config(config_with_psk("{ file = \"" + group_readable + "\" }"), "p.conf", test_options(dir));
    CHECK(messages(result) == std::vector<std::string>{
                                  "p.conf:6:18: group `wan`: pre-shared-key file " + group_readable +
                                  " has mode 0640, which lets its group access it; it must be 0600 or stricter "
                                  "(chmod 600)"});
    CHECK(all_text(result).find(test_psk) == std::string::npos);
    // 0400 is stricter than 0600 and fine.
    const auto read_only = dir.write("ro.key", std::string(test_psk), 0400);
    CHECK(parse_config(config_with_psk("{ file = \"" + read_only + "\" }"), "p.conf", test_options(dir)).ok());
}

TEST_CASE("a pre-shared-key file not owned by root is refused", "[secrets]") {
    TempDir dir;
    const auto file = dir.write("owned.key", std::string(test_psk));
    auto options = test_options(dir);
    std::string owner;
    if (geteuid() == 0) {
        // As root the real rule is exercised: root required, the file given to nobody.
        REQUIRE(chown(file.c_str(), 65534, 65534) == 0);
        options.secret_owner = 0;
        owner = "uid 65534; it must be owned by root (chown root)";
    } else {
        options.secret_owner = geteuid() + 1;
        owner = "uid " + std::to_string(geteuid()) + "; it must be owned by uid " + std::to_string(geteuid() + 1) +
                " (chown uid " + std::to_string(geteuid() + 1) + ")";
    }
    const auto result = parse_config(config_with_psk("{ file = \"" + file + "\" }"), "p.conf", options);
    CHECK(messages(result) ==
          std::vector<std::string>{"p.conf:6:18: group `wan`: pre-shared-key file " + file + " is owned by " + owner});
}

TEST_CASE("pre-shared keys from systemd credentials", "[secrets]") {
    TempDir dir;
    dir.write("ks-psk", std::string(test_psk) + "\r\n", 0400);
    auto result = parse_config(config_with_psk("{ credential = \"ks-psk\" }"), "c.conf", test_options(dir));
    REQUIRE(result.ok());
    CHECK(result.config->groups[0].psk == gdoi::SecretBytes(std::string_view(test_psk)));

    result = parse_config(config_with_psk("{ credential = \"missing\" }"), "c.conf", test_options(dir));
    CHECK(messages(result) == std::vector<std::string>{"c.conf:6:18: group `wan`: cannot open credential missing (" +
                                                       dir.path().string() + "/missing): No such file or directory"});

    auto no_directory = test_options(dir);
    no_directory.credentials_directory.reset();
    unsetenv("CREDENTIALS_DIRECTORY");
    result = parse_config(config_with_psk("{ credential = \"ks-psk\" }"), "c.conf", no_directory);
    REQUIRE(result.diagnostics.size() == 1);
    CHECK(result.diagnostics[0].message.find("$CREDENTIALS_DIRECTORY is not set") != std::string::npos);

    result = parse_config(config_with_psk("{ credential = \"../etc/shadow\" }"), "c.conf", test_options(dir));
    CHECK(messages(result) == std::vector<std::string>{
                                  "c.conf:6:33: `pre-shared-key`: `credential` must be a credential name without '/'"});
    result = parse_config(config_with_psk("{ file = \"a\", credential = \"b\" }"), "c.conf", test_options(dir));
    CHECK(messages(result) ==
          std::vector<std::string>{"c.conf:6:18: `pre-shared-key` takes either `file` or `credential`, not both"});
}

TEST_CASE("symbolic links, directories and oversized files are not keys", "[secrets]") {
    TempDir dir;
    const auto target = dir.write("real.key", std::string(test_psk));
    const auto link = (dir.path() / "link.key").string();
    REQUIRE(symlink(target.c_str(), link.c_str()) == 0);
    SecretLoadOptions options{geteuid(), std::nullopt};
    auto loaded = load_psk({PskSource::Kind::file, link}, options);
    CHECK(loaded.error == "pre-shared-key file " + link + " is a symbolic link; name the file itself");
    CHECK(loaded.psk.empty());

    loaded = load_psk({PskSource::Kind::file, dir.path().string()}, options);
    CHECK_FALSE(loaded.error.empty());

    const auto big = dir.write("big.key", std::string(2000, 'k'));
    loaded = load_psk({PskSource::Kind::file, big}, options);
    CHECK(loaded.error == "pre-shared-key file " + big + " is larger than 1024 bytes; is it the right file?");

    const auto empty = dir.write("empty.key", "\n");
    loaded = load_psk({PskSource::Kind::file, empty}, options);
    CHECK(loaded.error == "pre-shared-key file " + empty + " is empty");

    loaded = load_psk({PskSource::Kind::file, "relative.key"}, options);
    CHECK(loaded.error == "pre-shared-key file relative.key: the path must be absolute");
}
