// Figure 3, our processing part only: COUNT GROUPKEY-PUSH rekeys made by the test key server's
// own code (test/ks/rekey.*) checked by gdoi::push::PushReceiver (decrypt, signature, sequence,
// payloads) and applied to the held policy (gdoi::push::apply), one after another as a member
// receives them; p50/p99. Kernel programming is not in it (bench/push_to_kernel.cpp has the
// daemon's plan on the fake kernel and real netlink). Baseline: the KEK signature verification alone (RSA
// 2048, SHA-256) over the same datagram, timed in the same run.
//   bench-push-processing [COUNT]
#include "bench/bench_row.hpp"
#include "bench/push_source.hpp"
#include "gdoi/crypto/kek_signature.hpp"
#include "gdoi/crypto/prf.hpp"
#include "gdoi/push/push_apply.hpp"
#include "gdoi/push/push_receiver.hpp"
#include "test/ks/rekey.hpp"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <iostream>

using namespace gdoi;
using namespace gdoi_test_ks;

namespace {

using Clock = std::chrono::steady_clock;
using bench::percentile;
using bench::push_member;

} // namespace

int main(int argc, char** argv) try {
    const int count = argc > 1 ? std::atoi(argv[1]) : 500;
    if (count <= 0) throw std::runtime_error("COUNT must be positive");
    KsGroup group = bench::push_group();
    GroupRuntime runtime;
    TimePoint now{};
    GroupPolicy held = current_policy(group, runtime, now);
    const auto verifier = crypto::KekPublicKey::from_der(crypto::KekSignatureScheme::rsa,
                                                         group.signer->public_key_der());
    push::PushReceiverConfig config;
    config.member_address = push_member;
    push::PushReceiver receiver(config); // as the daemon holds one per group
    std::vector<double> ours, floor;
    for (int i = 0; i < count; ++i) {
        now += std::chrono::seconds(1800); // a rekey every half TEK lifetime: 2-3 TEK pairs held
        const PushPlan plan = rekey(group, runtime, {push_member}, false, now);
        if (plan.pushes.empty()) throw std::runtime_error("the key server made no push");
        const auto& datagram = plan.pushes[0].datagram;
        const auto start = Clock::now();
        const push::PushVerdict verdict =
            receiver.receive(datagram, *held.kek, held.sequence.value_or(0), now, held.teks);
        if (!verdict.accepted())
            throw std::runtime_error("push " + std::to_string(i) + " refused: " + verdict.message);
        auto applied = push::apply(held, *verdict.update, now);
        ours.push_back(std::chrono::duration<double>(Clock::now() - start).count());
        held = std::move(applied.next);
        std::erase_if(held.teks, [&](const TekPolicy& t) {
            return std::any_of(applied.removals.begin(), applied.removals.end(),
                               [&](const auto& r) { return r.spi == t.spi && r.at <= now; });
        });

        const auto signature = group.signer->sign(crypto::HashAlgorithm::sha256, {datagram});
        const auto verify_start = Clock::now();
        const auto check = verifier.verify(crypto::HashAlgorithm::sha256, {datagram}, signature);
        floor.push_back(std::chrono::duration<double>(Clock::now() - verify_start).count());
        if (!check.valid) throw std::runtime_error("baseline signature did not verify");
    }
    using bench::format_seconds;
    const double p50 = percentile(ours, 0.5), base = percentile(floor, 0.5);
    bench::print_row("3 push -> policy (no kernel) x" + std::to_string(count),
                     bench::p50_p99(ours),
                     "p50 " + format_seconds(base), p50 / base, "p99 <= 1 ms",
                     "PushReceiver (check_push, the KEK key held) + push::apply on the held "
                     "policy; baseline: the RSA-2048 signature verification alone; kernel "
                     "programming not included");
    return 0;
} catch (const std::exception& e) {
    std::cerr << "bench-push-processing: " << e.what() << std::endl;
    return 1;
}
