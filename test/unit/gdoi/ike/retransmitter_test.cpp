// The resend schedule of the exchange state machines (gdoi/ike/exchange_clock): exact doubling
// without jitter; with a member's jitter every wait lies in [interval * 2/3, interval], and two
// members started in the same instant resend at different times.
#include "gdoi/ike/exchange_clock.hpp"

#include <catch2/catch.hpp>
#include <set>

using namespace gdoi::ike;
using namespace std::chrono_literals;

namespace {

// The times of every resend until the verdict, relative to the first send.
std::vector<Duration> resend_times(const RetransmitPolicy& policy) {
    Retransmitter retransmitter(policy);
    const TimePoint start{};
    retransmitter.sent({1, 2, 3}, start, true);
    std::vector<Duration> times;
    while (auto due = retransmitter.next()) {
        if (retransmitter.on_timer(*due) != Retransmitter::Tick::resend) break;
        times.push_back(*due - start);
    }
    return times;
}

} // namespace

TEST_CASE("without jitter resends double exactly up to the ceiling", "[retransmit]") {
    const auto times = resend_times({1s, 8s, 30s});
    CHECK(times == std::vector<Duration>{1s, 3s, 7s, 15s, 23s});
}

TEST_CASE("a member's jitter shortens each wait by at most a third, differently per member",
          "[retransmit]") {
    std::set<Duration> first_resends;
    for (uint64_t seed = 1; seed <= 50; ++seed) {
        const auto policy = member_retransmit_policy(10s, seed);
        Retransmitter retransmitter(policy);
        const TimePoint start{};
        retransmitter.sent({1}, start, true);
        Duration nominal = policy.initial;
        TimePoint previous = start;
        bool first = true;
        while (auto due = retransmitter.next()) {
            const Duration wait = *due - previous;
            // The last wait may be cut short by the budget's end; every other one is jittered.
            if (*due - start < policy.budget) {
                CHECK(wait <= nominal);
                CHECK(wait >= nominal * 2 / 3 - 1ms);
            }
            if (first) first_resends.insert(wait);
            first = false;
            if (retransmitter.on_timer(*due) != Retransmitter::Tick::resend) break;
            previous = *due;
            nominal = std::min(nominal * 2, policy.max_interval);
        }
    }
    // 50 members started together: their first resends are spread, not one instant.
    CHECK(first_resends.size() >= 45);
}
