#include "daemon/unknown_kek_reregistration.hpp"

#include <catch2/catch.hpp>
#include <vector>

using namespace gdoid::daemon;
using namespace std::chrono_literals;
using Decision = UnknownKekReregistration::Decision;

namespace {

ServerAddress at_address(const char* text, uint16_t port = 848) {
    auto address = gdoi::IpAddress::parse(text);
    REQUIRE(address);
    return {*address, port};
}

} // namespace

TEST_CASE("a push under an unknown KEK from one of our key servers registers again, once a minute "
          "at most",
          "[unknown-kek]") {
    const std::vector<ServerAddress> servers{at_address("192.0.2.1"), at_address("192.0.2.2")};
    UnknownKekReregistration trigger(60s);
    const UnknownKekReregistration::Clock::time_point t0{};

    // The second server too, and from its KEK source port rather than 848.
    CHECK(trigger.on_unknown_kek(at_address("192.0.2.2", 4848), servers, false, t0) ==
          Decision::reregister);
    // Forged copies (or the restarted server's next pushes) within the minute change nothing.
    CHECK(trigger.on_unknown_kek(at_address("192.0.2.1"), servers, false, t0 + 1s) ==
          Decision::held_off);
    CHECK(trigger.on_unknown_kek(at_address("192.0.2.1"), servers, false, t0 + 59s) ==
          Decision::held_off);
    CHECK(trigger.held_off() == 2);
    CHECK(trigger.on_unknown_kek(at_address("192.0.2.1"), servers, false, t0 + 60s) ==
          Decision::reregister);
    CHECK(trigger.held_off() == 0);

    SECTION("an address that is none of our servers never triggers anything") {
        CHECK(trigger.on_unknown_kek(at_address("198.51.100.7"), servers, false, t0 + 1h) ==
              Decision::not_a_server);
        CHECK(trigger.on_unknown_kek(at_address("192.0.2.1"), servers, false, t0 + 1h) ==
              Decision::reregister);
    }
    SECTION("a registration under way already brings the new KEK, and spends no turn") {
        CHECK(trigger.on_unknown_kek(at_address("192.0.2.1"), servers, true, t0 + 1h) ==
              Decision::registration_busy);
        CHECK(trigger.on_unknown_kek(at_address("192.0.2.1"), servers, false, t0 + 1h) ==
              Decision::reregister);
    }
}
