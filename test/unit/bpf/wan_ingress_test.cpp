// WAN ingress: group ESP toward our protected prefixes goes to the inbound anchor.
#include "datapath_fixture.hpp"

#include <catch2/catch.hpp>

using namespace bpftest;
using bpf::Program;

TEST_CASE("WAN ingress sends group ESP toward a local prefix to the inbound anchor",
          "[bpf][ingress]") {
    Fixture f;
    Bytes payload = esp_payload(kSpi, 42, 96);
    Bytes frame = ipv4_frame(ip("10.2.0.10"), ip("10.1.0.10"), payload, {.ttl = 57});
    auto result = run(f.datapath.program_fd(Program::wan_ingress), frame, 0x9);
    CHECK(result.retval == kActOk);
    Ipv4View out = read_ipv4(result.frame);
    CHECK(out.source == ip("10.2.0.10"));
    CHECK(out.destination == ip("100.127.0.1"));
    CHECK(out.ttl == 57);
    CHECK(out.checksum_ok);
    CHECK(Bytes(result.frame.end() - static_cast<long>(payload.size()), result.frame.end()) ==
          payload);
    CHECK(result.mark == 0x9);
    CHECK(f.datapath.counters().in_rewritten == 1);
}

TEST_CASE("WAN ingress leaves unknown SPIs, other destinations and other protocols alone",
          "[bpf][ingress]") {
    Fixture f;
    int fd = f.datapath.program_fd(Program::wan_ingress);
    const Bytes unchanged[] = {
        ipv4_frame(ip("10.2.0.10"), ip("10.1.0.10"), esp_payload(0x20000002, 1, 32)),
        ipv4_frame(ip("10.2.0.10"), ip("10.3.0.10"), esp_payload(kSpi, 1, 32)),
        ipv4_frame(ip("198.51.100.2"), ip("192.0.2.1"), esp_payload(kSpi, 1, 32)),
        ipv4_frame(ip("10.2.0.10"), ip("10.1.0.10"), esp_payload(kSpi, 1, 32),
                   {.protocol = kProtoUdp}),
    };
    for (const Bytes& frame : unchanged) {
        auto result = run(fd, frame);
        CHECK(result.retval == kActOk);
        CHECK(result.frame == frame);
    }
    auto counters = f.datapath.counters();
    CHECK(counters.in_rewritten == 0);
    CHECK(counters.in_unknown_spi == 1);
}

TEST_CASE("WAN ingress follows the SPI set", "[bpf][ingress]") {
    Fixture f;
    int fd = f.datapath.program_fd(Program::wan_ingress);
    Bytes frame = ipv4_frame(ip("10.2.0.10"), ip("10.1.0.10"), esp_payload(kSpi, 1, 32));
    CHECK(f.datapath.remove_inbound_spi(kSpi));
    CHECK_FALSE(f.datapath.remove_inbound_spi(kSpi));
    CHECK(run(fd, frame).frame == frame);
    f.datapath.add_inbound_spi(kSpi);
    CHECK(read_ipv4(run(fd, frame).frame).destination == ip("100.127.0.1"));
    CHECK(f.datapath.remove_local_prefix(prefix("10.1.0.0/16")));
    CHECK(run(fd, frame).frame == frame);
}

TEST_CASE("WAN ingress rewrites fragments: the first by SPI, later ones without one",
          "[bpf][ingress]") {
    Fixture f;
    int fd = f.datapath.program_fd(Program::wan_ingress);
    auto first = run(fd, ipv4_frame(ip("10.2.0.10"), ip("10.1.0.10"), esp_payload(kSpi, 5, 1472),
                                    {.flags_fragment = 0x2000}));
    CHECK(read_ipv4(first.frame).destination == ip("100.127.0.1"));
    // Non-first fragment: random bytes where an SPI would be.
    auto later = run(fd, ipv4_frame(ip("10.2.0.10"), ip("10.1.0.10"), filler(200, 0xee),
                                    {.flags_fragment = 185}));
    Ipv4View out = read_ipv4(later.frame);
    CHECK(out.destination == ip("100.127.0.1"));
    CHECK(out.checksum_ok);
    CHECK(out.flags_fragment == 185);
    // ...but only toward our own prefixes.
    Bytes elsewhere =
        ipv4_frame(ip("10.2.0.10"), ip("10.3.0.10"), filler(200, 0xee), {.flags_fragment = 185});
    CHECK(run(fd, elsewhere).frame == elsewhere);
    auto counters = f.datapath.counters();
    CHECK(counters.in_rewritten == 2);
    CHECK(counters.in_fragments == 1);
}

TEST_CASE("WAN ingress handles IPv6 ESP and IPv6 fragments", "[bpf][ingress][ipv6]") {
    Fixture f;
    int fd = f.datapath.program_fd(Program::wan_ingress);
    auto whole = run(fd, ipv6_frame(ip("fd00:2::10"), ip("fd00:1::10"), esp_payload(kSpi, 1, 64)));
    CHECK(read_ipv6(whole.frame).destination == ip("2001:db8:ffff::100"));
    CHECK(read_ipv6(whole.frame).source == ip("fd00:2::10"));

    auto first = run(fd, ipv6_frame(ip("fd00:2::10"), ip("fd00:1::10"), esp_payload(kSpi, 1, 64),
                                    {.fragment = Ipv6Fragment{.offset_units = 0, .more = true}}));
    CHECK(read_ipv6(first.frame).destination == ip("2001:db8:ffff::100"));
    auto later = run(fd, ipv6_frame(ip("fd00:2::10"), ip("fd00:1::10"), filler(64, 1),
                                    {.fragment = Ipv6Fragment{.offset_units = 100}}));
    CHECK(read_ipv6(later.frame).destination == ip("2001:db8:ffff::100"));

    Bytes unknown = ipv6_frame(ip("fd00:2::10"), ip("fd00:1::10"), esp_payload(0x30000003, 1, 64));
    CHECK(run(fd, unknown).frame == unknown);
    Bytes other = ipv6_frame(ip("fd00:2::10"), ip("fd00:9::10"), esp_payload(kSpi, 1, 64));
    CHECK(run(fd, other).frame == other);
    CHECK(f.datapath.counters().in_fragments == 1);
}

TEST_CASE(
    "WAN ingress: group ESP toward a protected group goes to the anchor, clear text is dropped",
    "[bpf][ingress][multicast]") {
    Fixture f;
    f.datapath.add_local_prefix(prefix("239.1.1.0/24"));
    f.datapath.add_local_prefix(prefix("224.0.0.0/24"));
    int fd = f.datapath.program_fd(Program::wan_ingress);

    auto esp = run(fd, ipv4_frame(ip("10.2.0.10"), ip("239.1.1.1"), esp_payload(kSpi, 1, 32)));
    CHECK(esp.retval == kActOk);
    CHECK(read_ipv4(esp.frame).destination == ip("100.127.0.1"));

    // ip_mr_input checks no XFRM policy: clear text toward the group would reach the LAN.
    auto clear = run(
        fd, ipv4_frame(ip("10.2.0.10"), ip("239.1.1.1"), filler(40, 3), {.protocol = kProtoUdp}));
    CHECK(clear.retval == kActShot);
    // Link-local groups (OSPF, PIM, IGMP) and groups nobody protects pass untouched.
    for (const char* group : {"224.0.0.5", "239.2.0.1"}) {
        Bytes frame =
            ipv4_frame(ip("10.2.0.10"), ip(group), filler(40, 3), {.protocol = kProtoUdp});
        auto result = run(fd, frame);
        CHECK(result.retval == kActOk);
        CHECK(result.frame == frame);
    }
    // A key server's multicast rekey to a group the TEK covers too: GDOI, UDP 848.
    Bytes udp(8 + 40, 0x5a);
    udp[0] = 0x03, udp[1] = 0x50, udp[2] = 0x03, udp[3] = 0x50; // ports 848 -> 848
    Bytes rekey = ipv4_frame(ip("203.0.113.1"), ip("239.1.1.200"), udp, {.protocol = kProtoUdp});
    CHECK(run(fd, rekey).retval == kActOk);
    auto counters = f.datapath.counters();
    CHECK(counters.in_rewritten == 1);
    CHECK(counters.in_clear_multicast_dropped == 1);
}
