#include "datapath_fixture.hpp"

#include <bpf/bpf.h>
#include <catch2/catch.hpp>
#include <cstring>
#include <ctime>

namespace bpftest {

bpf::DatapathConfig test_config() {
    bpf::DatapathConfig config;
    config.bypass_mark = kBypassMark;
    config.v4 = bpf::Anchors{ip("192.0.2.1"), ip("100.127.0.2"), ip("100.127.0.1")};
    config.v6 =
        bpf::Anchors{ip("2001:db8:ffff::1"), ip("2001:db8:ffff::2"), ip("2001:db8:ffff::100")};
    return config;
}

Fixture::Fixture() : datapath(bpf::Datapath::load()) {
    datapath.configure(test_config());
    layout = datapath.mark_layout();
    datapath.add_remote_prefix(prefix("10.2.0.0/16"));
    datapath.add_remote_prefix(prefix("fd00:2::/48"));
    datapath.add_local_prefix(prefix("10.1.0.0/16"));
    datapath.add_local_prefix(prefix("fd00:1::/48"));
    datapath.add_inbound_spi(kSpi);
}

RunResult run(int prog_fd, const Bytes& frame, uint32_t mark) {
    RunResult result;
    result.frame.resize(frame.size() + 256);
    __sk_buff context_in{};
    context_in.mark = mark;
    __sk_buff context_out{};
    bpf_test_run_opts opts{};
    opts.sz = sizeof(opts);
    opts.data_in = frame.data();
    opts.data_size_in = static_cast<uint32_t>(frame.size());
    opts.data_out = result.frame.data();
    opts.data_size_out = static_cast<uint32_t>(result.frame.size());
    opts.ctx_in = &context_in;
    opts.ctx_size_in = sizeof(context_in);
    opts.ctx_out = &context_out;
    opts.ctx_size_out = sizeof(context_out);
    opts.repeat = 1;
    int rc = bpf_prog_test_run_opts(prog_fd, &opts);
    REQUIRE(rc == 0);
    result.frame.resize(opts.data_size_out);
    result.retval = static_cast<int>(opts.retval);
    result.mark = context_out.mark;
    result.duration_ns = opts.duration;
    return result;
}

Slot read_slot(const bpf::Datapath& datapath, uint32_t index) {
    gdoid_slot raw{};
    REQUIRE(bpf_map_lookup_elem_flags(datapath.slots_map_fd(), &index, &raw, BPF_F_LOCK) == 0);
    Slot slot;
    slot.family = raw.family;
    slot.ttl = raw.ttl;
    slot.last_used_ns = raw.last_used_ns;
    auto family = raw.family == 6 ? gdoi::IpFamily::v6 : gdoi::IpFamily::v4;
    slot.source.family = slot.destination.family = family;
    size_t width = family == gdoi::IpFamily::v6 ? 16 : 4;
    std::memcpy(slot.source.bytes.data(), raw.saddr, width);
    std::memcpy(slot.destination.bytes.data(), raw.daddr, width);
    return slot;
}

void write_slot(const bpf::Datapath& datapath, uint32_t index, const Slot& slot) {
    gdoid_slot raw{};
    raw.family = slot.family;
    raw.ttl = slot.ttl;
    raw.last_used_ns = slot.last_used_ns;
    size_t width = slot.family == 6 ? 16 : 4;
    std::memcpy(raw.saddr, slot.source.bytes.data(), width);
    std::memcpy(raw.daddr, slot.destination.bytes.data(), width);
    REQUIRE(bpf_map_update_elem(datapath.slots_map_fd(), &index, &raw, BPF_F_LOCK) == 0);
}

uint64_t monotonic_ns() {
    timespec now{};
    clock_gettime(CLOCK_MONOTONIC, &now);
    return static_cast<uint64_t>(now.tv_sec) * 1000000000ull + static_cast<uint64_t>(now.tv_nsec);
}

} // namespace bpftest
