// Shared set-up for the datapath tests: a loaded and configured bpf::Datapath with the
// topology of datapath-notes.md (gmA), BPF_PROG_TEST_RUN, and direct slot access.
#pragma once

#include "bpf/datapath.hpp"
#include "packet_builder.hpp"

#include <cstdint>

namespace bpftest {

// gmA of datapath-notes.md: LAN 10.1/16 behind us, 10.2/16 behind the other member.
inline constexpr uint32_t kSpi = 0x10000001;
inline constexpr uint32_t kBypassMark = 0x00100000;
inline constexpr int kActOk = 0;   // TC_ACT_OK
inline constexpr int kActShot = 2; // TC_ACT_SHOT

bpf::DatapathConfig test_config();

struct Fixture {
    Fixture(); // loads, configures, fills prefixes and the SPI
    bpf::Datapath datapath;
    bpf::MarkLayout layout;
};

struct RunResult {
    int retval = -1;
    Bytes frame;
    uint32_t mark = 0;
    uint32_t duration_ns = 0;
};
// One BPF_PROG_TEST_RUN of `frame` with skb->mark = `mark`. Fails the test on a run error.
RunResult run(int prog_fd, const Bytes& frame, uint32_t mark = 0);

struct Slot {
    uint8_t family = 0;
    uint8_t ttl = 0;
    uint64_t last_used_ns = 0;
    gdoi::IpAddress source, destination;
};
Slot read_slot(const bpf::Datapath& datapath, uint32_t index);
void write_slot(const bpf::Datapath& datapath, uint32_t index, const Slot& slot);
uint64_t monotonic_ns(); // the clock of bpf_ktime_get_ns()

} // namespace bpftest
