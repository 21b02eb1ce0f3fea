// pre-fragmentation: LAN ingress marks forwarded IPv4 that will not fit the tunnel and may be
// fragmented (DF clear) so that gdoid's routing sends it through its XFRM interface; WAN
// egress restores the ESP of that interface, which points at a dummy destination of its own.
#include "datapath_fixture.hpp"

#include <catch2/catch.hpp>

using namespace bpftest;
using bpf::Program;

namespace {

constexpr uint16_t kTunnelMtu = 1326;
constexpr uint16_t kDf = 0x4000;
const char* const kPreFragmentRemote = "100.127.0.3";

struct PreFragmentFixture : Fixture {
    PreFragmentFixture() {
        auto config = test_config();
        config.pre_fragment_mtu = kTunnelMtu;
        config.pre_fragment_remote = ip(kPreFragmentRemote);
        datapath.configure(config);
        layout = datapath.mark_layout();
    }
};

// A UDP datagram 10.1.0.10 -> DESTINATION whose IPv4 total length is `total`.
Bytes datagram(size_t total, uint16_t flags = 0, const char* destination = "10.2.0.10") {
    return ipv4_frame(ip("10.1.0.10"), ip(destination), filler(total - 20, 3),
                      {.protocol = kProtoUdp, .flags_fragment = flags});
}

} // namespace

TEST_CASE("pre-fragmentation takes the lowest reserved bit; the slot index keeps the rest",
          "[bpf][prefrag]") {
    auto plain = bpf::mark_layout(bpf::kDefaultReservedMark, 0);
    auto layout = bpf::mark_layout(bpf::kDefaultReservedMark, 0, true);
    CHECK(plain.pre_fragment_mark == 0);
    CHECK(layout.pre_fragment_mark == 0x00200000);
    CHECK(layout.flag_mark == plain.flag_mark);
    CHECK(layout.slot_shift == plain.slot_shift + 1);
    CHECK(layout.slot_bits == plain.slot_bits - 1);
    CHECK((layout.mark_for_slot(layout.slot_count() - 1) & layout.pre_fragment_mark) == 0);
    CHECK_THROWS_WITH(bpf::mark_layout(0x000001f0, 0, true),
                      Catch::Contains("it needs 6 to 18 (a flag, the pre-fragmentation bit"));
}

TEST_CASE("LAN ingress marks oversize DF-clear IPv4 toward the remote prefixes, nothing else",
          "[bpf][prefrag]") {
    PreFragmentFixture f;
    int fd = f.datapath.program_fd(Program::lan_ingress);
    const uint32_t pre = f.layout.pre_fragment_mark;
    REQUIRE(pre != 0);

    auto oversize = run(fd, datagram(kTunnelMtu + 1), 0x5);
    CHECK((oversize.mark & f.layout.flag_mark) != 0);
    CHECK((oversize.mark & pre) != 0);
    CHECK((oversize.mark & ~f.layout.reserved_mask) == 0x5);

    // fits the tunnel; DF set (the policy path answers "fragmentation needed"); toward a
    // prefix that is not protected; IPv6 (its sender fragments)
    CHECK((run(fd, datagram(kTunnelMtu)).mark & pre) == 0);
    auto df = run(fd, datagram(1400, kDf));
    CHECK((df.mark & f.layout.flag_mark) != 0);
    CHECK((df.mark & pre) == 0);
    CHECK(run(fd, datagram(1400, 0, "10.3.0.10")).mark == 0);
    auto v6 = run(fd, ipv6_frame(ip("fd00:1::10"), ip("fd00:2::10"), filler(1400, 4),
                                 {.next_header = kProtoUdp}));
    CHECK((v6.mark & f.layout.flag_mark) != 0);
    CHECK((v6.mark & pre) == 0);
    CHECK(f.datapath.counters().lan_pre_fragment == 1);
}

TEST_CASE("without pre-fragmentation no packet gets the bit", "[bpf][prefrag]") {
    Fixture f;
    auto result = run(f.datapath.program_fd(Program::lan_ingress), datagram(1480));
    CHECK((result.mark & f.layout.flag_mark) != 0);
    CHECK(f.layout.pre_fragment_mark == 0);
    CHECK(f.datapath.counters().lan_pre_fragment == 0);
}

TEST_CASE("WAN egress restores the XFRM interface's ESP, each fragment's own packet",
          "[bpf][prefrag]") {
    PreFragmentFixture f;
    auto marked = run(f.datapath.program_fd(Program::lan_ingress), datagram(1400));
    REQUIRE((marked.mark & f.layout.pre_fragment_mark) != 0);
    // the kernel fragmented the inner packet: two ESP packets, both inheriting the mark
    for (uint32_t sequence : {1u, 2u}) {
        Bytes esp = ipv4_frame(ip("192.0.2.1"), ip(kPreFragmentRemote),
                               esp_payload(kSpi, sequence, 200));
        auto result = run(f.datapath.program_fd(Program::wan_egress), esp, marked.mark);
        CHECK(result.retval == kActOk);
        Ipv4View out = read_ipv4(result.frame);
        CHECK(out.source == ip("10.1.0.10"));
        CHECK(out.destination == ip("10.2.0.10"));
        CHECK(out.checksum_ok);
        CHECK((result.mark & f.layout.reserved_mask) == 0);
    }
    auto counters = f.datapath.counters();
    CHECK(counters.out_restored == 2);
    CHECK(counters.out_pre_fragmented == 2);
    // unflagged toward that dummy destination: dropped like toward the remote anchor
    auto unflagged = run(f.datapath.program_fd(Program::wan_egress),
                         ipv4_frame(ip("192.0.2.1"), ip(kPreFragmentRemote), esp_payload(kSpi, 3, 64)));
    CHECK(unflagged.retval == kActShot);
}

TEST_CASE("turning pre-fragmentation on empties the slots: an old mark restores nothing",
          "[bpf][prefrag]") {
    Fixture f;
    auto marked = run(f.datapath.program_fd(Program::lan_ingress), datagram(200));
    REQUIRE((marked.mark & f.layout.flag_mark) != 0);
    auto config = test_config();
    config.pre_fragment_mtu = kTunnelMtu;
    config.pre_fragment_remote = ip(kPreFragmentRemote);
    f.datapath.configure(config);
    auto result = run(f.datapath.program_fd(Program::wan_egress),
                      ipv4_frame(ip("192.0.2.1"), ip("100.127.0.2"), esp_payload(kSpi, 1, 64)),
                      marked.mark);
    CHECK(result.retval == kActShot);
    CHECK(f.datapath.counters().out_unrestored_dropped == 1);
    config.pre_fragment_remote.reset();
    CHECK_THROWS_WITH(f.datapath.configure(config),
                      Catch::Contains("needs an IPv4 dummy destination"));
}
