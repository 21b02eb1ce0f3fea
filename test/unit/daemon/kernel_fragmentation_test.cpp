// The kernel's fragmentation counters as gdoictl status shows them, from /proc/net/snmp(6).
#include "daemon/kernel_fragmentation.hpp"

#include <catch2/catch.hpp>

using gdoid::daemon::parse_fragmentation_counters;

namespace {
// As Linux 6.1 writes them (Icmp and Tcp sections shortened).
constexpr const char* snmp =
    "Ip: Forwarding DefaultTTL InReceives InHdrErrors InAddrErrors ForwDatagrams InUnknownProtos "
    "InDiscards InDelivers OutRequests OutDiscards OutNoRoutes ReasmTimeout ReasmReqds ReasmOKs "
    "ReasmFails FragOKs FragFails FragCreates\n"
    "Ip: 1 64 120 0 0 80 0 0 40 90 0 0 0 6 3 0 2 5 7\n"
    "Icmp: InMsgs InErrors\n"
    "Icmp: 4 0\n";
constexpr const char* snmp6 = "Ip6InReceives                   \t55\n"
                              "Ip6ReasmOKs                     \t1\n"
                              "Ip6FragOKs                      \t4\n"
                              "Ip6FragCreates                  \t9\n"
                              "Icmp6OutPktTooBigs              \t2\n"
                              "Icmp6OutType2                   \t2\n";
} // namespace

TEST_CASE("fragmentation counters are read by name from the kernel's tables", "[daemon][kernel]") {
    const auto c = parse_fragmentation_counters(snmp, snmp6);
    CHECK(c.at("ipv4_fragmented") == 2);
    CHECK(c.at("ipv4_frag_needed") == 5);
    CHECK(c.at("ipv4_fragments_created") == 7);
    CHECK(c.at("ipv4_reassembled") == 3);
    CHECK(c.at("ipv6_fragmented") == 4);
    CHECK(c.at("ipv6_fragments_created") == 9);
    CHECK(c.at("ipv6_packet_too_big") == 2);
    CHECK(c.at("ipv6_reassembled") == 1);
}

TEST_CASE("a counter the kernel does not report is left out, not invented", "[daemon][kernel]") {
    SECTION("no IPv6") {
        const auto c = parse_fragmentation_counters(snmp, "");
        CHECK(c.size() == 4);
        CHECK_FALSE(c.contains("ipv6_packet_too_big"));
    }
    SECTION("a value that is not a number") {
        const auto c = parse_fragmentation_counters("Ip: FragOKs FragFails\nIp: x 3\n", "");
        CHECK_FALSE(c.contains("ipv4_fragmented"));
        CHECK(c.at("ipv4_frag_needed") == 3);
    }
    SECTION("names without values") {
        CHECK(parse_fragmentation_counters("Ip: FragOKs FragFails\n", "").empty());
    }
}
