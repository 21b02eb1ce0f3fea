// Figure 1, states (needs ESP in the kernel: the VM, bench/vm_run.sh): N group ESP states
// installed, replaced as a rekey does (the new SPIs added, then the old ones deleted:
// make-before-break) and deleted with netlink/'s batch API, against `ip -batch` with the
// identical objects in the same fresh network namespace right before and after. The states are
// the kind gdoid installs for a TEK: tunnel mode, AES-256-CBC + HMAC-SHA-256-128, replay window
// 0, DF cleared, output sequence may wrap, the egress program's output mark, an owned reqid.
//   bench-kernel-states [COUNT]      (root; prints ROW lines, see bench/run_all.sh)
#include "bench/bench_namespace.hpp"
#include "bench/bench_row.hpp"
#include "netlink/netlink_kernel_ipsec.hpp"
#include "netlink/ownership.hpp"

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sched.h>
#include <stdexcept>
#include <string>
#include <unistd.h>
#include <vector>

using namespace netlink;

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
    return std::chrono::duration<double>(Clock::now() - start).count();
}

// A rekey gives every TEK a new SPI: generation g's state i has SPI first_spi(g) + i.
uint32_t spi_of(size_t i, uint32_t generation) {
    return 0x20000000u + generation * 0x100000u + uint32_t(i);
}

std::string source_prefix(size_t i) {
    char text[32];
    std::snprintf(text, sizeof text, "10.%zu.%zu.0/24", 10 + i / 256, i % 256);
    return text;
}

constexpr const char* tunnel_source = "192.0.2.10";
constexpr const char* tunnel_destination = "100.127.0.1"; // gdoid's anchor, as it installs them
constexpr const char* selector_destination = "172.16.0.0/12";
constexpr uint32_t output_mark = 0x00800000;

// Test keys, the same for every state and both tools (the kernel does not care).
std::string hex_key(size_t bytes, uint8_t seed) {
    std::string out = "0x";
    char b[3];
    for (size_t i = 0; i < bytes; ++i) {
        std::snprintf(b, sizeof b, "%02x", unsigned(uint8_t(seed + 7 * i)));
        out += b;
    }
    return out;
}
gdoi::SecretBytes key_of(size_t bytes, uint8_t seed) {
    gdoi::SecretBytes key(bytes);
    auto k = key.reveal_mutable();
    for (size_t i = 0; i < bytes; ++i)
        k[i] = uint8_t(seed + 7 * i);
    return key;
}

XfrmState group_state(size_t i, uint32_t generation) {
    XfrmState s;
    s.id.destination = *IpAddress::parse(tunnel_destination);
    s.id.spi = spi_of(i, generation);
    s.source = *IpAddress::parse(tunnel_source);
    s.mode = XfrmMode::tunnel;
    s.reqid = owned_reqid(generation);
    s.selector.source = *IpPrefix::parse(source_prefix(i));
    s.selector.destination = *IpPrefix::parse(selector_destination);
    s.encryption = XfrmAlgorithm{"cbc(aes)", key_of(32, 1), 0};
    s.authentication = XfrmAlgorithm{"hmac(sha256)", key_of(32, 2), 128};
    s.replay_window = 0;
    s.no_pmtu_discovery = true;
    s.output_sequence_may_wrap = true;
    s.set_mark = XfrmMark{output_mark, output_mark};
    return s;
}

// The same objects for iproute2.
void write_state_lines(std::ofstream& out, const char* verb, size_t count, uint32_t generation) {
    for (size_t i = 0; i < count; ++i) {
        char spi[16];
        std::snprintf(spi, sizeof spi, "0x%08x", spi_of(i, generation));
        out << "xfrm state " << verb << " src " << tunnel_source << " dst " << tunnel_destination
            << " proto esp spi " << spi;
        if (std::strcmp(verb, "delete") != 0)
            out << " reqid " << owned_reqid(generation) << " mode tunnel replay-window 0"
                << " flag nopmtudisc extra-flag oseq-may-wrap output-mark " << output_mark
                << " mask " << output_mark << " sel src " << source_prefix(i) << " dst "
                << selector_destination << " enc cbc(aes) " << hex_key(32, 1)
                << " auth-trunc hmac(sha256) " << hex_key(32, 2) << " 128";
        out << '\n';
    }
}

double time_ip_batch(const std::string& file) {
    const auto start = Clock::now();
    const std::string command = "ip -batch " + file;
    if (std::system(command.c_str()) != 0) throw std::runtime_error(command + " failed");
    return seconds_since(start);
}

struct StepTimes {
    double add = 0, replace = 0, remove = 0;
};

StepTimes ip_batch_round(const std::string& dir, size_t count) {
    auto file = [&](const char* name, auto write) {
        const std::string path = dir + "/" + name;
        std::ofstream out(path);
        write(out);
        if (!out) throw std::runtime_error("cannot write " + path);
        return path;
    };
    const auto add = file("add", [&](auto& o) { write_state_lines(o, "add", count, 1); });
    const auto replace = file("replace", [&](auto& o) {
        write_state_lines(o, "add", count, 2);
        write_state_lines(o, "delete", count, 1);
    });
    const auto remove = file("delete", [&](auto& o) { write_state_lines(o, "delete", count, 2); });
    StepTimes t;
    t.add = time_ip_batch(add);
    t.replace = time_ip_batch(replace);
    t.remove = time_ip_batch(remove);
    return t;
}

std::vector<XfrmOperation> additions(size_t count, uint32_t generation) {
    std::vector<XfrmOperation> ops;
    ops.reserve(count);
    for (size_t i = 0; i < count; ++i)
        ops.push_back(XfrmOperation::add(group_state(i, generation)));
    return ops;
}

std::vector<XfrmOperation> deletions(size_t count, uint32_t generation) {
    std::vector<XfrmOperation> ops;
    ops.reserve(count);
    for (size_t i = 0; i < count; ++i)
        ops.push_back(XfrmOperation::remove(group_state(i, generation).id));
    return ops;
}

size_t state_count(NetlinkKernelIpsec& kernel, uint32_t generation) {
    size_t n = 0;
    for (const auto& s : kernel.dump_states())
        if (s.reqid == owned_reqid(generation)) ++n;
    return n;
}

StepTimes ours_round(NetlinkKernelIpsec& kernel, size_t count) {
    StepTimes t;
    auto adds = additions(count, 1);
    auto start = Clock::now();
    kernel.apply(adds);
    t.add = seconds_since(start);
    if (state_count(kernel, 1) != count) throw std::runtime_error("the add left states missing");
    // A rekey: the new generation's states first, then the old one's go (one batch, in order).
    auto replace = additions(count, 2);
    auto old = deletions(count, 1);
    replace.insert(replace.end(), std::make_move_iterator(old.begin()),
                   std::make_move_iterator(old.end()));
    start = Clock::now();
    kernel.apply(replace);
    t.replace = seconds_since(start);
    if (state_count(kernel, 2) != count || state_count(kernel, 1) != 0)
        throw std::runtime_error("the replace did not leave exactly the new generation");
    auto removes = deletions(count, 2);
    start = Clock::now();
    kernel.apply(removes);
    t.remove = seconds_since(start);
    return t;
}

} // namespace

int main(int argc, char** argv) try {
    const size_t count = argc > 1 ? std::strtoul(argv[1], nullptr, 10) : 1000;
    if (count == 0 || count > 60000) throw std::runtime_error("COUNT must be 1..60000");
    // Before any thread exists, so the dumper and the `ip` children inherit the namespace.
    const bench::ScratchNamespace scratch("bench-states");
    const char* dir = scratch.dir();

    NetlinkKernelIpsec kernel;
    // Unmeasured: the kernel's first state of these algorithms instantiates their crypto
    // templates (seconds under TCG), which would otherwise land on whichever tool goes first.
    ours_round(kernel, 1);
    const StepTimes before = ip_batch_round(dir, count);
    if (!kernel.dump_states().empty()) throw std::runtime_error("ip -batch left states behind");
    const StepTimes ours = ours_round(kernel, count);
    if (!kernel.dump_states().empty()) throw std::runtime_error("states left behind");
    const StepTimes after = ip_batch_round(dir, count);
    if (!kernel.dump_states().empty()) throw std::runtime_error("ip -batch left states behind");

    const std::string n = std::to_string(count);
    const auto row = [&](const char* step, double our, double first, double second,
                         const std::string& note) {
        const double baseline = (first + second) / 2;
        bench::print_row("1 states " + std::string(step) + " x" + n + " (VM)",
                         bench::format_seconds(our), bench::format_seconds(baseline),
                         our / baseline, "<= 0.50",
                         "ip -batch before/after: " + bench::format_seconds(first) + "/" +
                             bench::format_seconds(second) + note);
    };
    row("add", ours.add, before.add, after.add, "");
    row("replace", ours.replace, before.replace, after.replace,
        "; new SPIs added, then the old deleted (" + n + " + " + n + " operations)");
    row("delete", ours.remove, before.remove, after.remove, "");
    return 0;
} catch (const std::exception& e) {
    std::fprintf(stderr, "bench-kernel-states: %s\n", e.what());
    return 1;
}
