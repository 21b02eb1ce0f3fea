// AcquiredFlows: which router-originated flows keep their own state, and when they are idle.
#include "daemon/acquired_flows.hpp"

#include <catch2/catch.hpp>

using gdoid::daemon::AcquiredFlows;
using namespace std::chrono_literals;

namespace {

gdoi::IpAddress address(const char* text) {
    return *gdoi::IpAddress::parse(text);
}

policy::AcquiredFlow flow(const char* destination) {
    return {address("10.1.0.1"), address(destination), 1};
}

netlink::XfrmState flow_state(const char* destination, uint32_t spi, uint64_t packets) {
    netlink::XfrmState s;
    s.id.destination = address(destination);
    s.id.spi = spi;
    s.source = address("10.1.0.1");
    s.reqid = 0x6d008001;
    s.packets = packets;
    return s;
}

uint32_t reqid_of(const policy::AcquiredFlow&) {
    return 0x6d008001;
}

} // namespace

TEST_CASE("a flow is forgotten after carrying nothing for the idle time", "[router-flows]") {
    AcquiredFlows flows;
    const auto t0 = AcquiredFlows::Clock::time_point{} + 1000s;
    REQUIRE(flows.add(flow("10.2.0.10"), t0) == AcquiredFlows::Added::added);
    CHECK(flows.add(flow("10.2.0.10"), t0) == AcquiredFlows::Added::known);

    // Traffic at 100 s and 200 s keeps it; nothing new from 200 s on.
    CHECK(flows.expire_idle({flow_state("10.2.0.10", 0x1000, 5)}, t0 + 100s, 300s, reqid_of).empty());
    CHECK(flows.expire_idle({flow_state("10.2.0.10", 0x1000, 9)}, t0 + 200s, 300s, reqid_of).empty());
    CHECK(flows.expire_idle({flow_state("10.2.0.10", 0x1000, 9)}, t0 + 499s, 300s, reqid_of).empty());
    const auto expired = flows.expire_idle({flow_state("10.2.0.10", 0x1000, 9)}, t0 + 500s, 300s, reqid_of);
    REQUIRE(expired.size() == 1);
    CHECK(expired[0] == flow("10.2.0.10"));
    CHECK(flows.empty());
}

TEST_CASE("a new state (a rekey) counts as activity; a missing state does not", "[router-flows]") {
    AcquiredFlows flows;
    const auto t0 = AcquiredFlows::Clock::time_point{} + 1000s;
    flows.add(flow("10.2.0.10"), t0);
    flows.add(flow("10.2.0.11"), t0);
    CHECK(flows.expire_idle({flow_state("10.2.0.10", 0x1000, 3)}, t0 + 10s, 60s, reqid_of).empty());
    // At 65 s: 10.2.0.10 moved to the next TEK (counter back to 0), 10.2.0.11 never got a
    // state (refused by the kernel, say) and has been idle since it was reported.
    const auto expired = flows.expire_idle({flow_state("10.2.0.10", 0x2000, 0)}, t0 + 65s, 60s, reqid_of);
    REQUIRE(expired.size() == 1);
    CHECK(expired[0] == flow("10.2.0.11"));
    CHECK(flows.flows() == std::set<policy::AcquiredFlow>{flow("10.2.0.10")});
}

TEST_CASE("states of other flows, SPI 0 placeholders and other reqids are not the flow's", "[router-flows]") {
    AcquiredFlows flows;
    const auto t0 = AcquiredFlows::Clock::time_point{} + 1000s;
    flows.add(flow("10.2.0.10"), t0);
    auto placeholder = flow_state("10.2.0.10", 0, 50);
    auto foreign = flow_state("10.2.0.10", 0x3000, 70);
    foreign.reqid = 42;
    auto other = flow_state("10.2.0.99", 0x1000, 80);
    CHECK(flows.expire_idle({placeholder, foreign, other}, t0 + 59s, 60s, reqid_of).empty());
    CHECK(flows.expire_idle({placeholder, foreign, other}, t0 + 60s, 60s, reqid_of).size() == 1);
}

TEST_CASE("past the limit new flows are refused", "[router-flows]") {
    AcquiredFlows flows;
    const auto t0 = AcquiredFlows::Clock::time_point{} + 1000s;
    for (size_t i = 0; i < AcquiredFlows::max_flows; ++i) {
        gdoi::IpAddress d = address("10.2.0.0");
        d.bytes[2] = uint8_t(i >> 8);
        d.bytes[3] = uint8_t(i);
        REQUIRE(flows.add({address("10.1.0.1"), d, 1}, t0) == AcquiredFlows::Added::added);
    }
    CHECK(flows.add(flow("10.9.9.9"), t0) == AcquiredFlows::Added::full);
    CHECK(flows.flows().size() == AcquiredFlows::max_flows);
}
