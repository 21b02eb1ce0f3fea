// Cost per packet of each program on its working path, measured by BPF_PROG_TEST_RUN against a
// two-instruction program that only returns TC_ACT_OK. Run as its own meson test (unit-bpf-perf)
// and prints the numbers; fails only if a program becomes absurdly slow (> 20 us/packet).
#include "datapath_fixture.hpp"

#include <algorithm>
#include <bpf/bpf.h>
#include <catch2/catch.hpp>
#include <cstdio>
#include <unistd.h>
#include <vector>

using namespace bpftest;

namespace {

constexpr int kRuns = 3000;

int load_noop() {
    bpf_insn program[2] = {};
    program[0].code = BPF_ALU64 | BPF_MOV | BPF_K; // r0 = TC_ACT_OK (0)
    program[1].code = BPF_JMP | BPF_EXIT;
    int fd = bpf_prog_load(BPF_PROG_TYPE_SCHED_CLS, "gdoid_noop", "GPL", program, 2, nullptr);
    REQUIRE(fd >= 0);
    return fd;
}

struct Timing {
    double mean_ns;
    uint32_t median_ns;
};

// Single runs (repeat = 1) so every run sees the input packet, not the previous run's output.
template <typename Make> Timing measure(int fd, Make make_input, int expected_retval) {
    std::vector<uint32_t> samples;
    samples.reserve(kRuns);
    for (int i = 0; i < kRuns; ++i) {
        auto [frame, mark] = make_input();
        auto result = run(fd, frame, mark);
        REQUIRE(result.retval == expected_retval);
        samples.push_back(result.duration_ns);
    }
    double sum = 0;
    for (uint32_t sample : samples)
        sum += sample;
    std::nth_element(samples.begin(), samples.begin() + kRuns / 2, samples.end());
    return {sum / kRuns, samples[kRuns / 2]};
}

} // namespace

TEST_CASE("per-packet cost of the datapath programs against a no-op program", "[.][perf]") {
    Fixture f;
    auto config = test_config();
    config.slot_idle_timeout = std::chrono::seconds(600);
    f.datapath.configure(config);
    int noop = load_noop();

    Bytes lan =
        ipv4_frame(ip("10.1.0.10"), ip("10.2.0.10"), filler(1400, 1), {.protocol = kProtoUdp});
    Bytes lan_other =
        ipv4_frame(ip("10.1.0.10"), ip("8.8.8.8"), filler(1400, 1), {.protocol = kProtoUdp});
    uint32_t mark = run(f.datapath.program_fd(bpf::Program::lan_ingress), lan).mark;
    Bytes esp_out = ipv4_frame(ip("192.0.2.1"), ip("100.127.0.2"), esp_payload(kSpi, 1, 1400));
    Bytes esp_in = ipv4_frame(ip("10.2.0.10"), ip("10.1.0.10"), esp_payload(kSpi, 1, 1400));
    Bytes esp6_out =
        ipv6_frame(ip("2001:db8:ffff::1"), ip("2001:db8:ffff::2"), esp_payload(kSpi, 1, 1400));
    uint32_t mark6 = run(f.datapath.program_fd(bpf::Program::lan_ingress),
                         ipv6_frame(ip("fd00:1::10"), ip("fd00:2::10"), filler(100, 1),
                                    {.next_header = kProtoUdp}))
                         .mark;

    struct Case {
        const char* name;
        int fd;
        Bytes frame;
        uint32_t mark;
        int retval;
    };
    const Case cases[] = {
        {"no-op baseline", noop, lan, 0, kActOk},
        {"LAN ingress, protected (slot hit)", f.datapath.program_fd(bpf::Program::lan_ingress), lan,
         0, kActOk},
        {"LAN ingress, not protected", f.datapath.program_fd(bpf::Program::lan_ingress), lan_other,
         0, kActOk},
        {"WAN egress, IPv4 restore", f.datapath.program_fd(bpf::Program::wan_egress), esp_out, mark,
         kActOk},
        {"WAN egress, IPv6 restore", f.datapath.program_fd(bpf::Program::wan_egress), esp6_out,
         mark6, kActOk},
        {"WAN egress, other traffic", f.datapath.program_fd(bpf::Program::wan_egress), lan, 0,
         kActOk},
        {"WAN ingress, IPv4 rewrite", f.datapath.program_fd(bpf::Program::wan_ingress), esp_in, 0,
         kActOk},
        {"WAN ingress, other traffic", f.datapath.program_fd(bpf::Program::wan_ingress), lan, 0,
         kActOk},
    };
    std::printf("%-36s %10s %10s\n", "program/path (1.4 kB frames)", "mean ns", "median ns");
    for (const Case& c : cases) {
        Timing timing = measure(
            c.fd,
            [&c] {
                return std::pair{c.frame, c.mark};
            },
            c.retval);
        std::printf("%-36s %10.1f %10u\n", c.name, timing.mean_ns, timing.median_ns);
        CHECK(timing.median_ns < 20000);
    }
    for (auto program :
         {bpf::Program::lan_ingress, bpf::Program::wan_egress, bpf::Program::wan_ingress}) {
        auto stats = f.datapath.program_stats(program);
        std::printf("%-16s verified %6u insns, xlated %4u insns, jited %5u bytes\n",
                    stats.name.c_str(), stats.verified_insns, stats.xlated_insns,
                    stats.jited_bytes);
    }
    ::close(noop);
}
