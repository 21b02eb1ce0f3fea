// LAN ingress: packets toward protected remote prefixes get a slot and the flag in skb->mark.
#include "datapath_fixture.hpp"

#include <catch2/catch.hpp>

using namespace bpftest;
using bpf::Program;

namespace {

const Bytes kUdp = filler(64, 1);

uint32_t slot_of(const bpf::MarkLayout& layout, uint32_t mark) {
    return (mark >> layout.slot_shift) & (layout.slot_count() - 1);
}

} // namespace

TEST_CASE("LAN ingress marks a packet toward a protected remote prefix and stores its pair",
          "[bpf][lan]") {
    Fixture f;
    Bytes frame =
        ipv4_frame(ip("10.1.0.10"), ip("10.2.0.10"), kUdp, {.protocol = kProtoUdp, .ttl = 64});
    auto result = run(f.datapath.program_fd(Program::lan_ingress), frame, 0x5);
    CHECK(result.retval == kActOk);
    CHECK(result.frame == frame); // the packet itself is not changed
    CHECK((result.mark & f.layout.flag_mark) != 0);
    CHECK((result.mark & ~f.layout.reserved_mask) == 0x5); // other mark bits untouched
    Slot slot = read_slot(f.datapath, slot_of(f.layout, result.mark));
    CHECK(slot.family == 4);
    CHECK(slot.source == ip("10.1.0.10"));
    CHECK(slot.destination == ip("10.2.0.10"));
    CHECK(slot.ttl == 63); // what the inner packet leaves the router with
    CHECK(slot.last_used_ns <= monotonic_ns());
    CHECK(f.datapath.counters().lan_marked == 1);
}

TEST_CASE("LAN ingress leaves other destinations and bypass-marked packets alone", "[bpf][lan]") {
    Fixture f;
    int fd = f.datapath.program_fd(Program::lan_ingress);
    for (const char* destination : {"10.3.0.1", "8.8.8.8", "10.1.0.20"}) {
        auto result = run(fd, ipv4_frame(ip("10.1.0.10"), ip(destination), kUdp), 0x7);
        CHECK(result.retval == kActOk);
        CHECK(result.mark == 0x7);
    }
    auto bypassed = run(fd, ipv4_frame(ip("10.1.0.10"), ip("10.2.0.10"), kUdp), kBypassMark);
    CHECK(bypassed.mark == kBypassMark);
    auto counters = f.datapath.counters();
    CHECK(counters.lan_marked == 0);
    CHECK(counters.lan_bypassed == 1);
}

TEST_CASE("LAN ingress does nothing until configured", "[bpf][lan]") {
    bpf::Datapath datapath = bpf::Datapath::load();
    datapath.add_remote_prefix(prefix("10.2.0.0/16"));
    auto result = run(datapath.program_fd(Program::lan_ingress),
                      ipv4_frame(ip("10.1.0.10"), ip("10.2.0.10"), kUdp));
    CHECK(result.retval == kActOk);
    CHECK(result.mark == 0);
}

TEST_CASE("LAN ingress reuses the slot of the same pair", "[bpf][lan]") {
    Fixture f;
    int fd = f.datapath.program_fd(Program::lan_ingress);
    Bytes frame = ipv4_frame(ip("10.1.0.10"), ip("10.2.0.10"), kUdp);
    auto first = run(fd, frame);
    auto second = run(fd, frame);
    CHECK(first.mark == second.mark);
    auto other = run(fd, ipv4_frame(ip("10.1.0.11"), ip("10.2.0.10"), kUdp));
    CHECK((other.mark & f.layout.flag_mark) != 0);
    CHECK(slot_of(f.layout, other.mark) != slot_of(f.layout, first.mark));
    CHECK(f.datapath.counters().lan_slot_reused == 1);
    CHECK(f.datapath.counters().lan_marked == 3);
}

TEST_CASE("LAN ingress probes past a live slot of another pair instead of overwriting it",
          "[bpf][lan]") {
    Fixture f;
    int fd = f.datapath.program_fd(Program::lan_ingress);
    Bytes frame = ipv4_frame(ip("10.1.0.10"), ip("10.2.0.10"), kUdp);
    uint32_t home = slot_of(f.layout, run(fd, frame).mark);
    // Another live pair now owns the slot this pair hashes to.
    Slot foreign{4, 20, monotonic_ns(), ip("10.1.9.9"), ip("10.2.9.9")};
    write_slot(f.datapath, home, foreign);

    auto probed = run(fd, frame);
    uint32_t next = slot_of(f.layout, probed.mark);
    CHECK((probed.mark & f.layout.flag_mark) != 0);
    CHECK(next == ((home + 1) & (f.layout.slot_count() - 1)));
    Slot kept = read_slot(f.datapath, home);
    CHECK(kept.source == ip("10.1.9.9"));
    CHECK(kept.destination == ip("10.2.9.9"));
    CHECK(read_slot(f.datapath, next).source == ip("10.1.0.10"));
    CHECK(f.datapath.counters().lan_slot_collisions == 1);

    SECTION("a stale slot is free again") {
        foreign.last_used_ns = monotonic_ns() - 10'000'000'000ull;
        write_slot(f.datapath, home, foreign);
        // Probing stops at the first usable slot, so the pair moves back home.
        auto retaken = run(fd, frame);
        CHECK(slot_of(f.layout, retaken.mark) == home);
        CHECK(read_slot(f.datapath, home).source == ip("10.1.0.10"));
    }
}

TEST_CASE("LAN ingress leaves the packet unflagged when every probed slot is live", "[bpf][lan]") {
    Fixture f;
    int fd = f.datapath.program_fd(Program::lan_ingress);
    Bytes frame = ipv4_frame(ip("10.1.0.10"), ip("10.2.0.10"), kUdp);
    uint32_t home = slot_of(f.layout, run(fd, frame).mark);
    for (uint32_t i = 0; i < GDOID_SLOT_PROBES; ++i) {
        gdoi::IpAddress source = ip("10.1.9.0");
        source.bytes[3] = static_cast<uint8_t>(i + 1);
        write_slot(f.datapath, (home + i) & (f.layout.slot_count() - 1),
                   Slot{4, 20, monotonic_ns() + 60'000'000'000ull, source, ip("10.2.9.9")});
    }
    auto result = run(fd, frame, 0x3);
    CHECK(result.retval == kActOk);
    CHECK(result.mark == 0x3);
    auto counters = f.datapath.counters();
    CHECK(counters.lan_slot_exhausted == 1);
    CHECK(counters.lan_slot_collisions == GDOID_SLOT_PROBES);
}

TEST_CASE("LAN ingress handles IPv6 and VLAN-tagged frames", "[bpf][lan]") {
    Fixture f;
    int fd = f.datapath.program_fd(Program::lan_ingress);
    auto v6 = run(fd, ipv6_frame(ip("fd00:1::10"), ip("fd00:2::10"), kUdp,
                                 {.next_header = kProtoUdp, .hop_limit = 30}));
    REQUIRE((v6.mark & f.layout.flag_mark) != 0);
    Slot slot = read_slot(f.datapath, slot_of(f.layout, v6.mark));
    CHECK(slot.family == 6);
    CHECK(slot.source == ip("fd00:1::10"));
    CHECK(slot.destination == ip("fd00:2::10"));
    CHECK(slot.ttl == 29);
    auto v6_other = run(fd, ipv6_frame(ip("fd00:1::10"), ip("fd00:3::10"), kUdp));
    CHECK(v6_other.mark == 0);

    auto tagged = run(fd, ipv4_frame(ip("10.1.0.10"), ip("10.2.0.10"), kUdp, {.vlan = 100}));
    CHECK((tagged.mark & f.layout.flag_mark) != 0);
}
