// WAN egress: ESP from the local anchor to the dummy remote anchor gets its addresses back.
#include "datapath_fixture.hpp"

#include <catch2/catch.hpp>

using namespace bpftest;
using bpf::Program;

namespace {

// What LAN ingress gives a packet 10.1.0.10 -> 10.2.0.10 (TTL 64): its mark.
uint32_t mark_from_lan(Fixture& f, const char* source, const char* destination,
                       uint32_t other_bits = 0) {
    Bytes frame =
        source[0] == 'f'
            ? ipv6_frame(ip(source), ip(destination), filler(40, 2), {.next_header = kProtoUdp})
            : ipv4_frame(ip(source), ip(destination), filler(40, 2), {.protocol = kProtoUdp});
    auto result = run(f.datapath.program_fd(Program::lan_ingress), frame, other_bits);
    REQUIRE((result.mark & f.layout.flag_mark) != 0);
    return result.mark;
}

Bytes outbound_esp(const Bytes& payload = esp_payload(kSpi, 7, 64), Ipv4Options options = {}) {
    return ipv4_frame(ip("192.0.2.1"), ip("100.127.0.2"), payload, options);
}

} // namespace

TEST_CASE("WAN egress restores addresses and TTL with a correct checksum", "[bpf][egress]") {
    Fixture f;
    uint32_t mark = mark_from_lan(f, "10.1.0.10", "10.2.0.10", 0x40);
    Bytes payload = esp_payload(kSpi, 7, 64);
    Bytes frame = outbound_esp(payload, {.ttl = 64, .tos = 0xb8});
    REQUIRE(read_ipv4(frame).checksum_ok);

    auto result = run(f.datapath.program_fd(Program::wan_egress), frame, mark);
    CHECK(result.retval == kActOk);
    Ipv4View out = read_ipv4(result.frame);
    CHECK(out.source == ip("10.1.0.10"));
    CHECK(out.destination == ip("10.2.0.10"));
    CHECK(out.ttl == 63);
    CHECK(out.protocol == kProtoEsp);
    CHECK(out.checksum_ok);
    CHECK(result.frame[kEthernetLength + 1] == 0xb8); // DSCP the kernel copied stays
    CHECK(Bytes(result.frame.end() - static_cast<long>(payload.size()), result.frame.end()) ==
          payload);
    CHECK((result.mark & f.layout.reserved_mask) == 0);
    CHECK(result.mark == 0x40);
    CHECK(f.datapath.counters().out_restored == 1);
}

TEST_CASE("WAN egress honours copy-ttl off and df-bit set", "[bpf][egress]") {
    Fixture f;
    auto config = test_config();
    config.copy_ttl = false;
    config.set_df = true;
    f.datapath.configure(config);
    uint32_t mark = mark_from_lan(f, "10.1.0.10", "10.2.0.10");
    auto result = run(f.datapath.program_fd(Program::wan_egress), outbound_esp(), mark);
    Ipv4View out = read_ipv4(result.frame);
    CHECK(out.ttl == 64);
    CHECK((out.flags_fragment & 0x4000) != 0);
    CHECK(out.checksum_ok);
    CHECK(out.destination == ip("10.2.0.10"));
    CHECK(f.datapath.counters().out_df_set == 1);
}

TEST_CASE("df-bit set reaches router-originated group ESP, and nothing else", "[bpf][egress]") {
    // A per-destination state's packet: outer = inner = router LAN address -> remote host.
    Fixture f;
    auto config = test_config();
    config.set_df = true;
    f.datapath.configure(config);
    const int fd = f.datapath.program_fd(Program::wan_egress);
    const Bytes router_esp = ipv4_frame(ip("10.1.0.1"), ip("10.2.0.10"), esp_payload(kSpi, 3, 64));

    SECTION("DF set, checksum right, sent unmarked") {
        auto result = run(fd, router_esp, 0);
        CHECK(result.retval == kActOk);
        Ipv4View out = read_ipv4(result.frame);
        CHECK((out.flags_fragment & 0x4000) != 0);
        CHECK(out.checksum_ok);
        CHECK(out.source == ip("10.1.0.1"));
        CHECK(out.destination == ip("10.2.0.10"));
        CHECK(f.datapath.counters().out_df_set == 1);
        CHECK(f.datapath.counters().out_unflagged_dropped == 0);
    }
    SECTION("left alone: a fragment, other traffic, other addresses, df-bit not set") {
        const Bytes fragment = ipv4_frame(ip("10.1.0.1"), ip("10.2.0.10"), esp_payload(kSpi, 3, 64),
                                          {.flags_fragment = 0x2000});
        const Bytes udp = ipv4_frame(ip("10.1.0.1"), ip("10.2.0.10"), filler(40, 2), {.protocol = kProtoUdp});
        const Bytes foreign = ipv4_frame(ip("10.9.0.1"), ip("10.2.0.10"), esp_payload(kSpi, 3, 64));
        const Bytes to_elsewhere = ipv4_frame(ip("10.1.0.1"), ip("10.3.0.10"), esp_payload(kSpi, 3, 64));
        for (const Bytes* frame : {&fragment, &udp, &foreign, &to_elsewhere}) {
            auto result = run(fd, *frame, 0);
            CHECK(result.retval == kActOk);
            CHECK(result.frame == *frame);
        }
        config.set_df = false;
        f.datapath.configure(config);
        auto result = run(fd, router_esp, 0);
        CHECK(result.frame == router_esp);
        CHECK(f.datapath.counters().out_df_set == 0);
    }
}

TEST_CASE("WAN egress restores an IP fragment that carries no ESP header", "[bpf][egress]") {
    Fixture f;
    uint32_t mark = mark_from_lan(f, "10.1.0.10", "10.2.0.10");
    // Offset 1480 octets, last fragment: the payload is the middle of an ESP packet, no SPI.
    Bytes frame = outbound_esp(filler(100, 9), {.flags_fragment = 185});
    auto result = run(f.datapath.program_fd(Program::wan_egress), frame, mark);
    CHECK(result.retval == kActOk);
    Ipv4View out = read_ipv4(result.frame);
    CHECK(out.source == ip("10.1.0.10"));
    CHECK(out.destination == ip("10.2.0.10"));
    CHECK(out.flags_fragment == 185);
    CHECK(out.checksum_ok);
    CHECK(f.datapath.counters().out_fragments == 1);
}

TEST_CASE("WAN egress drops and counts what it cannot restore", "[bpf][egress]") {
    Fixture f;
    int fd = f.datapath.program_fd(Program::wan_egress);

    SECTION("flag set, slot never used") {
        auto result = run(fd, outbound_esp(), f.layout.mark_for_slot(77));
        CHECK(result.retval == kActShot);
        CHECK(f.datapath.counters().out_unrestored_dropped == 1);
    }
    SECTION("flag set, slot stale") {
        write_slot(
            f.datapath, 77,
            Slot{4, 60, monotonic_ns() - 30'000'000'000ull, ip("10.1.0.10"), ip("10.2.0.10")});
        auto result = run(fd, outbound_esp(), f.layout.mark_for_slot(77));
        CHECK(result.retval == kActShot);
        CHECK(f.datapath.counters().out_unrestored_dropped == 1);
    }
    SECTION("slot of the other family") {
        uint32_t mark = mark_from_lan(f, "fd00:1::10", "fd00:2::10");
        auto result = run(fd, outbound_esp(), mark);
        CHECK(result.retval == kActShot);
        CHECK(f.datapath.counters().out_unrestored_dropped == 1);
    }
    SECTION("toward the dummy anchor without the flag") {
        auto result = run(fd, outbound_esp(), 0);
        CHECK(result.retval == kActShot);
        auto counters = f.datapath.counters();
        CHECK(counters.out_unflagged_dropped == 1);
        CHECK(counters.out_restored == 0);
    }
}

TEST_CASE("WAN egress leaves other traffic alone", "[bpf][egress]") {
    Fixture f;
    int fd = f.datapath.program_fd(Program::wan_egress);
    uint32_t mark = mark_from_lan(f, "10.1.0.10", "10.2.0.10");
    // ESP to a real peer (a per-destination state of router traffic), flag or not.
    Bytes to_peer = ipv4_frame(ip("192.0.2.1"), ip("198.51.100.2"), esp_payload(kSpi, 1, 32));
    auto result = run(fd, to_peer, mark);
    CHECK(result.retval == kActOk);
    CHECK(result.frame == to_peer);
    CHECK(result.mark == mark);
    Bytes clear =
        ipv4_frame(ip("10.1.0.10"), ip("10.2.0.10"), filler(40, 3), {.protocol = kProtoUdp});
    CHECK(run(fd, clear, mark).frame == clear);
    CHECK(f.datapath.counters().out_restored == 0);
}

TEST_CASE("WAN egress restores IPv6, with and without a fragment header", "[bpf][egress][ipv6]") {
    Fixture f;
    int fd = f.datapath.program_fd(Program::wan_egress);
    uint32_t mark = mark_from_lan(f, "fd00:1::10", "fd00:2::10");
    Bytes payload = esp_payload(kSpi, 3, 80);
    for (bool fragment : {false, true}) {
        Ipv6Options options{.hop_limit = 64};
        if (fragment) options.fragment = Ipv6Fragment{.offset_units = 181, .more = false};
        Bytes frame = ipv6_frame(ip("2001:db8:ffff::1"), ip("2001:db8:ffff::2"), payload, options);
        auto result = run(fd, frame, mark);
        CHECK(result.retval == kActOk);
        Ipv6View out = read_ipv6(result.frame);
        CHECK(out.source == ip("fd00:1::10"));
        CHECK(out.destination == ip("fd00:2::10"));
        CHECK(out.hop_limit == 63);
        CHECK(Bytes(result.frame.end() - static_cast<long>(payload.size()), result.frame.end()) ==
              payload);
        CHECK((result.mark & f.layout.reserved_mask) == 0);
    }
    auto counters = f.datapath.counters();
    CHECK(counters.out_restored == 2);
    CHECK(counters.out_fragments == 1);
    auto unflagged = run(fd, ipv6_frame(ip("2001:db8:ffff::1"), ip("2001:db8:ffff::2"), payload));
    CHECK(unflagged.retval == kActShot);
}

TEST_CASE("WAN egress gives a packet restored toward a group the group's MAC", "[bpf][egress]") {
    Fixture f;
    f.datapath.add_remote_prefix(prefix("239.0.0.0/8"));
    // 239.129.2.3: the MAC keeps the low 23 bits (RFC 1112 6.4), 01:00:5e:01:02:03.
    uint32_t mark = mark_from_lan(f, "10.1.0.10", "239.129.2.3");
    auto result = run(f.datapath.program_fd(Program::wan_egress), outbound_esp(), mark);
    CHECK(result.retval == kActOk);
    Ipv4View out = read_ipv4(result.frame);
    CHECK(out.source == ip("10.1.0.10"));
    CHECK(out.destination == ip("239.129.2.3"));
    CHECK(out.checksum_ok);
    CHECK(Bytes(result.frame.begin(), result.frame.begin() + 6) ==
          Bytes{0x01, 0x00, 0x5e, 0x01, 0x02, 0x03});
    auto counters = f.datapath.counters();
    CHECK(counters.out_restored == 1);
    CHECK(counters.out_multicast == 1);

    // A unicast destination keeps the frame's MAC (the gateway's).
    Bytes frame = outbound_esp();
    result = run(f.datapath.program_fd(Program::wan_egress), frame,
                 mark_from_lan(f, "10.1.0.10", "10.2.0.10"));
    CHECK(Bytes(result.frame.begin(), result.frame.begin() + 6) ==
          Bytes(frame.begin(), frame.begin() + 6));
    CHECK(f.datapath.counters().out_multicast == 1);
}
