// Whole files read with open/read (daemon/file_text.hpp): the configuration, certificates and
// the kernel's /proc tables go through it.
#include "config_test_support.hpp"
#include "daemon/file_text.hpp"

#include <catch2/catch.hpp>

using gdoid::daemon::read_file_text;
using gdoid::daemon::test::TempDir;

TEST_CASE("a file is read whole, past one read's 4 KiB and with NUL octets", "[daemon][file]") {
    TempDir dir;
    std::string content(10000, 'x');
    content[4095] = '\0';
    content[4096] = '\n';
    content.back() = 'y';
    const auto path = dir.write("big", content);
    std::string error;
    const auto text = read_file_text(path, error);
    REQUIRE(text.has_value());
    CHECK(*text == content);
    CHECK(error.empty());
    CHECK(read_file_text(dir.write("empty", ""), error) == std::string());
}

TEST_CASE("a file that cannot be read gives the system's reason", "[daemon][file]") {
    TempDir dir;
    std::string error;
    CHECK_FALSE(read_file_text((dir.path() / "missing").string(), error).has_value());
    CHECK(error == "No such file or directory");
    error.clear();
    CHECK_FALSE(read_file_text(dir.path().string(), error).has_value());
    CHECK(error == "Is a directory");
}
