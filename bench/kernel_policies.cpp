// Figure 1, policies: N XFRM policies of one group installed, replaced as a rekey does and
// deleted with netlink/'s batch API, against `ip -batch` with the identical objects in the same
// fresh network namespace right before and after. The replace is also run under a second
// thread that looks every selector up over and over and checks that none is ever missing.
//   bench-kernel-policies [COUNT]      (root; prints ROW lines, see bench/run_all.sh)
#include "bench/bench_namespace.hpp"
#include "bench/bench_row.hpp"
#include "netlink/netlink_kernel_ipsec.hpp"
#include "netlink/netlink_socket.hpp"
#include "netlink/ownership.hpp"
#include "netlink/xfrm_codec.hpp"

#include <atomic>
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
#include <thread>
#include <unistd.h>
#include <vector>

using namespace netlink;

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
    return std::chrono::duration<double>(Clock::now() - start).count();
}

// The TEK generation a policy's template points at: a rekey moves every policy to the next
// reqid, which the kernel does with one XFRM_MSG_UPDPOLICY each (an atomic swap).
constexpr uint32_t priority_offset = 1000;

std::string source_prefix(size_t i) {
    char text[32];
    std::snprintf(text, sizeof text, "10.%zu.%zu.0/24", 10 + i / 256, i % 256);
    return text;
}

XfrmPolicy group_policy(size_t i, uint32_t generation) {
    XfrmPolicy p;
    p.id.selector.source = *IpPrefix::parse(source_prefix(i));
    p.id.selector.destination = *IpPrefix::parse("172.16.0.0/12");
    p.id.direction = XfrmPolicyDirection::out;
    p.priority = owned_priority(priority_offset);
    XfrmTemplate t;
    t.source = *IpAddress::parse("192.0.2.10");
    t.destination = *IpAddress::parse("100.127.0.1");
    t.reqid = owned_reqid(generation);
    p.templates.push_back(t);
    return p;
}

// The same objects for iproute2: one file per step.
std::string write_batch(const std::string& path, const char* verb, size_t count,
                        uint32_t generation) {
    std::ofstream out(path);
    for (size_t i = 0; i < count; ++i) {
        out << "xfrm policy " << verb << " src " << source_prefix(i)
            << " dst 172.16.0.0/12 dir out";
        if (std::strcmp(verb, "delete") != 0)
            out << " priority " << owned_priority(priority_offset)
                << " tmpl src 192.0.2.10 dst 100.127.0.1 proto esp mode tunnel reqid "
                << owned_reqid(generation);
        out << '\n';
    }
    if (!out) throw std::runtime_error("cannot write " + path);
    return path;
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
    StepTimes t;
    t.add = time_ip_batch(write_batch(dir + "/add", "add", count, 1));
    t.replace = time_ip_batch(write_batch(dir + "/update", "update", count, 2));
    t.remove = time_ip_batch(write_batch(dir + "/delete", "delete", count, 2));
    return t;
}

std::vector<XfrmOperation> operations(size_t count, uint32_t generation, bool update) {
    std::vector<XfrmOperation> ops;
    ops.reserve(count);
    for (size_t i = 0; i < count; ++i)
        ops.push_back(update ? XfrmOperation::update(group_policy(i, generation))
                             : XfrmOperation::add(group_policy(i, generation)));
    return ops;
}

std::vector<XfrmOperation> deletions(size_t count) {
    std::vector<XfrmOperation> ops;
    ops.reserve(count);
    for (size_t i = 0; i < count; ++i)
        ops.push_back(XfrmOperation::remove(group_policy(i, 0).id));
    return ops;
}

StepTimes ours_round(NetlinkKernelIpsec& kernel, size_t count) {
    StepTimes t;
    auto adds = operations(count, 1, false);
    auto start = Clock::now();
    kernel.apply(adds);
    t.add = seconds_since(start);
    auto updates = operations(count, 2, true);
    start = Clock::now();
    kernel.apply(updates);
    t.replace = seconds_since(start);
    auto removes = deletions(count);
    start = Clock::now();
    kernel.apply(removes);
    t.remove = seconds_since(start);
    return t;
}

// Replaces every policy while another thread looks each selector up, round after round, with
// XFRM_MSG_GETPOLICY (the kernel's own lookup by selector); returns how many lookups were made.
// Throws when one ever found no policy. Not a full dump: a dump concurrent with the replace was
// seen to miss a selector (the policy list the dump walks is not a snapshot), which says nothing
// about the lookup packets go through.
size_t checked_replace(NetlinkKernelIpsec& kernel, size_t count) {
    kernel.apply(operations(count, 1, false));
    std::atomic<bool> replacing{true};
    std::atomic<size_t> lookups{0};
    std::string missing;
    std::thread checker([&] {
        NetlinkSocket reader(NETLINK_XFRM); // in the namespace the thread inherited
        size_t done = 0;
        do {
            for (size_t i = 0; i < count && missing.empty(); ++i) {
                MessageBuilder request =
                    build_policy_id_request(XFRM_MSG_GETPOLICY, group_policy(i, 0).id);
                std::vector<std::vector<uint8_t>> replies;
                if (auto failure = reader.request(request.bytes(), &replies);
                    failure || replies.empty())
                    missing = source_prefix(i) + " -> 172.16.0.0/12 (" +
                              (failure ? std::strerror(failure->error_number) : "no reply") + ")";
                ++done;
            }
        } while (replacing.load() && missing.empty());
        lookups = done;
    });
    // Three rounds, so the checker meets replaces in progress whatever its start-up delay.
    for (uint32_t generation = 2; generation <= 4; ++generation)
        kernel.apply(operations(count, generation, true));
    replacing = false;
    checker.join();
    kernel.apply(deletions(count));
    if (!missing.empty())
        throw std::runtime_error("a lookup during the replace found no policy for " + missing);
    return lookups.load();
}

} // namespace

int main(int argc, char** argv) try {
    const size_t count = argc > 1 ? std::strtoul(argv[1], nullptr, 10) : 10000;
    if (count == 0 || count > 60000) throw std::runtime_error("COUNT must be 1..60000");
    // Before any thread exists, so the dumper and the `ip` children inherit the namespace.
    const bench::ScratchNamespace scratch("bench-policies");
    const char* dir = scratch.dir();

    const StepTimes before = ip_batch_round(dir, count);
    NetlinkKernelIpsec kernel;
    const StepTimes ours = ours_round(kernel, count);
    const StepTimes after = ip_batch_round(dir, count);
    const size_t lookups = checked_replace(kernel, count);
    if (!kernel.dump_policies().empty()) throw std::runtime_error("policies left behind");

    const std::string n = std::to_string(count);
    const auto row = [&](const char* step, double our, double first, double second,
                         const std::string& note) {
        const double baseline = (first + second) / 2;
        bench::print_row("1 policies " + std::string(step) + " x" + n, bench::format_seconds(our),
                         bench::format_seconds(baseline), our / baseline, "<= 0.50",
                         "ip -batch before/after: " + bench::format_seconds(first) + "/" +
                             bench::format_seconds(second) + note);
    };
    row("add", ours.add, before.add, after.add, "");
    row("replace", ours.replace, before.replace, after.replace,
        "; make-before-break: " + std::to_string(lookups) +
            " XFRM_MSG_GETPOLICY lookups during 3 further replaces, none without a policy");
    row("delete", ours.remove, before.remove, after.remove, "");
    return 0;
} catch (const std::exception& e) {
    std::fprintf(stderr, "bench-kernel-policies: %s\n", e.what());
    return 1;
}
