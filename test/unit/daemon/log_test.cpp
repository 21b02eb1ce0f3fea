#include <catch2/catch.hpp>

#include <vector>

#include "daemon/log.hpp"

using namespace gdoid::daemon;

TEST_CASE("stderr lines carry level and structured context", "[log]") {
    CHECK(format_log_line(LogLevel::warning, "no reply", {.group = "wan", .server = "192.0.2.1:848"}) ==
          "warning: [group wan, server 192.0.2.1:848] no reply");
    CHECK(format_log_line(LogLevel::info, "installed", {.group = "wan", .spi = 0xabc}) ==
          "info: [group wan, spi 0x00000abc] installed");
    CHECK(format_log_line(LogLevel::error, "plain", {}) == "error: plain");
}

TEST_CASE("the level filters what is written", "[log]") {
    std::vector<std::string> lines;
    log_set_sink([&](LogLevel, std::string_view message, const LogFields&) { lines.emplace_back(message); });
    log_set_level(LogLevel::warning);
    log_debug("d");
    log_info("i");
    log_warning("w");
    log_error("e");
    log_set_level(LogLevel::debug);
    log_debug("d2");
    log_set_sink(nullptr);
    log_set_level(LogLevel::info);
    CHECK(lines == std::vector<std::string>{"w", "e", "d2"});
}
