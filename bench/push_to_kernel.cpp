// Figure 3 whole: from a GROUPKEY-PUSH datagram's arrival to the new inbound state installed
// and the policies switched, COUNT pushes in a row as a member receives them. Each push is made
// by the test key server's own code (test/ks/rekey.*, RSA-2048 KEK, 2 TEKs, a rekey every half
// TEK lifetime in simulated time) and goes the daemon's way (daemon/group_controller.cpp,
// daemon/group_dataplane.cpp): PushReceiver (decrypt, signature, SEQ, payloads), push::apply,
// the group's timeline, policy::desired_objects, the kernel's states and policies dumped,
// policy::diff, policy::apply_plan. The datapath maps are an in-memory writer (bpf() is not
// the figure).
//   bench-push-to-kernel [--kernel fake|netlink] [COUNT]
// fake: the kernel is netlink/'s FakeKernelIpsec, so the time is our processing alone.
// netlink: the same sequence on the fake kernel first, then on real XFRM netlink in a fresh
// network namespace (needs root and a kernel with ESP: the VM); the kernel part is the time
// spent in the dumps and in apply_plan's kernel calls, reported beside ours.
// After every push (outside the timed part) the kernel must hold an inbound state for every
// TEK the push brought: a push that did not reach the kernel fails the benchmark.
#include "bench/bench_row.hpp"
#include "bench/push_source.hpp"
#include "gdoi/push/push_apply.hpp"
#include "gdoi/push/push_crypto.hpp"
#include "gdoi/push/push_receiver.hpp"
#include "netlink/fake_kernel_ipsec.hpp"
#include "netlink/netlink_kernel_ipsec.hpp"
#include "policy/apply_plan.hpp"
#include "policy/desired_objects.hpp"
#include "policy/plan.hpp"
#include "policy/tek_schedule.hpp"

#include <sched.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <memory>
#include <string>

using namespace gdoi;
using namespace gdoi_test_ks;
using bench::format_seconds;
using bench::p50_p99;
using bench::percentile;

namespace {

using Clock = std::chrono::steady_clock;

double seconds_between(Clock::time_point a, Clock::time_point b) {
    return std::chrono::duration<double>(b - a).count();
}

// The datapath maps of the group, in memory.
class MemoryMaps : public policy::DatapathMapWriter {
public:
    void add(const policy::MapEntry& e) override {
        switch (e.kind) {
        case policy::MapEntry::Kind::inbound_spi:
            entries.inbound_spis.insert(e.spi);
            break;
        case policy::MapEntry::Kind::protected_destination:
            entries.protected_destinations.insert(e.prefix);
            break;
        case policy::MapEntry::Kind::outbound_flow:
            entries.outbound_flows.insert({e.prefix, e.destination});
            break;
        }
    }
    void remove(const policy::MapEntry& e) override {
        switch (e.kind) {
        case policy::MapEntry::Kind::inbound_spi:
            entries.inbound_spis.erase(e.spi);
            break;
        case policy::MapEntry::Kind::protected_destination:
            entries.protected_destinations.erase(e.prefix);
            break;
        case policy::MapEntry::Kind::outbound_flow:
            entries.outbound_flows.erase({e.prefix, e.destination});
            break;
        }
    }
    policy::DatapathEntries entries;
};

// A router with its WAN on lo (ifindex 1 exists in every namespace, so the real kernel takes
// the same objects as the fake), LAN prefix 10.1.0.0/16.
policy::LocalSettings router_settings() {
    policy::LocalSettings s;
    s.group_name = "bench";
    s.group_id = 1234;
    s.group_slot = 0;
    s.wan = {"lo", 1};
    s.v4 = policy::Anchors{IpAddress::v4(192, 0, 2, 1), IpAddress::v4(100, 127, 0, 2),
                           IpAddress::v4(100, 127, 0, 1)};
    s.lan_prefixes = {*IpPrefix::parse("10.1.0.0/16")};
    s.router_addresses = {IpAddress::v4(10, 1, 0, 1)};
    return s;
}

// Per push, seconds: ours = check + plan (+ the fake kernel's calls); kernel = the dumps and
// apply_plan's calls.
struct Samples {
    std::vector<double> check;  // PushReceiver::receive + push::apply + timeline
    std::vector<double> plan;   // desired_objects + diff
    std::vector<double> kernel; // dump_states + dump_policies + apply_plan
    std::vector<double> total;  // arrival to apply_plan's return
    std::vector<double> cpu;    // the same span in this thread's CPU time
    std::vector<double> verify; // baseline: the RSA-2048 verification of the same datagram
    size_t operations = 0;      // kernel and map operations applied, all pushes
};

Samples run(netlink::KernelIpsec& kernel, int count) {
    KsGroup group = bench::push_group();
    GroupRuntime runtime;
    TimePoint now = Clock::now();
    GroupPolicy held = current_policy(group, runtime, now);
    const auto verifier = crypto::KekPublicKey::from_der(crypto::KekSignatureScheme::rsa,
                                                         group.signer->public_key_der());
    push::PushReceiverConfig config;
    config.member_address = bench::push_member;
    push::PushReceiver receiver(config); // one per group, as the daemon holds it
    policy::GroupTimeline timeline;
    policy::GroupStatus status;
    const auto settings = router_settings();
    MemoryMaps maps;

    // Registration: the PULL's policy goes in first, untimed.
    timeline.observe(held, now);
    {
        policy::InstalledObjects installed{kernel.dump_states(), kernel.dump_policies(),
                                           maps.entries};
        const auto ops = policy::diff(policy::desired_objects(timeline, settings, status, now),
                                      installed, settings.group_slot);
        if (const auto r = policy::apply_plan(ops, kernel, maps); !r.ok())
            throw std::runtime_error("the registration's objects were refused: " + r.error);
    }

    Samples s;
    for (int i = 0; i < count; ++i) {
        now += std::chrono::seconds(1800); // a rekey every half TEK lifetime: 2-3 TEKs held
        const PushPlan made = rekey(group, runtime, {bench::push_member}, false, now);
        if (made.pushes.empty()) throw std::runtime_error("the key server made no push");
        const auto& datagram = made.pushes[0].datagram;

        const double cpu_start = bench::thread_cpu_seconds();
        const auto t0 = Clock::now();
        const push::PushVerdict verdict =
            receiver.receive(datagram, *held.kek, held.sequence.value_or(0), now, held.teks);
        if (!verdict.accepted())
            throw std::runtime_error("push " + std::to_string(i) + " refused: " + verdict.message);
        auto applied = push::apply(held, *verdict.update, now);
        held = std::move(applied.next);
        timeline.observe(held, now);
        for (const auto& removal : applied.removals)
            if (removal.at <= now) {
                timeline.forget_tek(removal.spi);
                std::erase_if(held.teks, [&](const TekPolicy& t) { return t.spi == removal.spi; });
            }
        const auto t1 = Clock::now();
        const auto desired = policy::desired_objects(timeline, settings, status, now);
        const auto t2 = Clock::now();
        policy::InstalledObjects installed{kernel.dump_states(), kernel.dump_policies(),
                                           maps.entries};
        const auto t3 = Clock::now();
        const auto operations = policy::diff(desired, installed, settings.group_slot);
        const auto t4 = Clock::now();
        // The daemon waits 100 ms in `settle` before deleting states a switched policy used;
        // the policies are switched by then, so the figure ends there.
        std::optional<Clock::time_point> switched;
        const auto result = policy::apply_plan(operations, kernel, maps,
                                               [&] { switched = Clock::now(); });
        const auto t5 = switched.value_or(Clock::now());
        const double cpu = bench::thread_cpu_seconds() - cpu_start;
        if (!result.ok())
            throw std::runtime_error("push " + std::to_string(i) + ": " + result.error);

        s.check.push_back(seconds_between(t0, t1));
        s.plan.push_back(seconds_between(t1, t2) + seconds_between(t3, t4));
        s.kernel.push_back(seconds_between(t2, t3) + seconds_between(t4, t5));
        s.total.push_back(seconds_between(t0, t5));
        s.cpu.push_back(cpu);
        s.operations += result.applied;

        // The push reached the kernel: an inbound state for each TEK it brought.
        const auto states = kernel.dump_states();
        for (const auto& tek : verdict.update->teks) {
            const bool found = std::any_of(states.begin(), states.end(), [&](const auto& st) {
                return st.id.spi == tek.spi &&
                       st.direction != netlink::XfrmStateDirection::out &&
                       st.id.destination == settings.v4->inbound_anchor;
            });
            if (!found)
                throw std::runtime_error("push " + std::to_string(i) + ": no inbound state for TEK " +
                                         push::spi_hex(tek.spi) + " in the kernel after the plan");
        }

        const auto signature = group.signer->sign(crypto::HashAlgorithm::sha256, {datagram});
        const auto verify_start = Clock::now();
        if (!verifier.verify(crypto::HashAlgorithm::sha256, {datagram}, signature).valid)
            throw std::runtime_error("baseline signature did not verify");
        s.verify.push_back(seconds_between(verify_start, Clock::now()));
    }
    return s;
}

} // namespace

int main(int argc, char** argv) try {
    std::string mode = "fake";
    int count = 500;
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        if (arg == "--kernel" && i + 1 < argc)
            mode = argv[++i];
        else if (!arg.empty() && arg.find_first_not_of("0123456789") == std::string::npos)
            count = std::atoi(arg.c_str());
        else
            throw std::runtime_error("usage: bench-push-to-kernel [--kernel fake|netlink] [COUNT]");
    }
    if (count <= 0) throw std::runtime_error("COUNT must be positive");
    if (mode != "fake" && mode != "netlink")
        throw std::runtime_error("--kernel " + mode + ": fake or netlink");
    const std::string n = " x" + std::to_string(count);

    netlink::FakeKernelIpsec fake;
    const Samples ours = run(fake, count);
    const double base = percentile(ours.verify, 0.5);
    bench::print_row(
        "3 push -> kernel, ours (fake kernel)" + n,
        p50_p99(ours.total) + " (CPU p99 " + format_seconds(percentile(ours.cpu, 0.99)) + ")",
        "p50 " + format_seconds(base), percentile(ours.total, 0.5) / base, "p99 <= 1 ms",
        "arrival -> PushReceiver + push::apply + timeline (p50 " +
            format_seconds(percentile(ours.check, 0.5)) + ") -> desired_objects + diff (p50 " +
            format_seconds(percentile(ours.plan, 0.5)) + ") -> fake kernel dumps + apply_plan (p50 " +
            format_seconds(percentile(ours.kernel, 0.5)) + ", " +
            std::to_string(ours.operations / size_t(count)) +
            " operations a push); CPU p99: this thread's CPU time, without what other processes "
            "of a loaded machine take; baseline: the RSA-2048 verification alone");
    if (mode == "fake") return 0;

    if (unshare(CLONE_NEWNET) != 0)
        throw std::runtime_error(std::string("unshare(CLONE_NEWNET): ") + std::strerror(errno) +
                                 " (the netlink mode needs root)");
    netlink::NetlinkKernelIpsec real;
    const Samples netlink = run(real, count);
    const double fake_kernel = percentile(ours.kernel, 0.5);
    bench::print_row("3 push -> kernel, kernel part (netlink, fresh netns)" + n,
                     p50_p99(netlink.kernel), "p50 " + format_seconds(fake_kernel),
                     percentile(netlink.kernel, 0.5) / fake_kernel, "-",
                     "XFRM dumps + apply_plan's calls on real netlink (" +
                         std::to_string(netlink.operations / size_t(count)) +
                         " operations a push); baseline: the same calls on the fake kernel");
    bench::print_row("3 push -> kernel, whole (netlink, fresh netns)" + n, p50_p99(netlink.total),
                     "p50 " + format_seconds(percentile(ours.total, 0.5)),
                     percentile(netlink.total, 0.5) / percentile(ours.total, 0.5), "-",
                     "arrival to policies switched on real XFRM; ours on the same run: p50 " +
                         format_seconds(percentile(netlink.check, 0.5) +
                                        percentile(netlink.plan, 0.5)) +
                         "; baseline: the whole on the fake kernel");
    return 0;
} catch (const std::exception& e) {
    std::cerr << "bench-push-to-kernel: " << e.what() << std::endl;
    return 1;
}
