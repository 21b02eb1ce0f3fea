// A deterministic simulated network between one member and one key server for protocol tests:
// datagrams can be lost, duplicated and delayed (which reorders them); a virtual clock runs
// the member's retransmission timers. Seeded, so a failure reproduces.
#pragma once

#include "gdoi/ike/exchange_clock.hpp"

#include <algorithm>
#include <functional>
#include <optional>
#include <random>
#include <vector>

namespace test_net {

using gdoi::ike::Datagram;
using gdoi::ike::Duration;
using gdoi::ike::TimePoint;

struct Faults {
    double loss = 0;      // probability a datagram vanishes
    double duplicate = 0; // probability it arrives twice
    Duration max_delay = std::chrono::milliseconds(1);
};

struct Flight {
    TimePoint at;
    bool to_server;
    Datagram bytes;
    uint64_t order;
};

class LossyNetwork {
public:
    LossyNetwork(uint32_t seed, Faults faults) : random_(seed), faults_(faults) {}

    void send(bool to_server, const Datagram& bytes, TimePoint now) {
        ++sent_;
        if (chance(faults_.loss)) {
            ++lost_;
            return;
        }
        int copies = chance(faults_.duplicate) ? 2 : 1;
        duplicated_ += copies - 1;
        for (int i = 0; i < copies; ++i) {
            auto delay = std::chrono::duration_cast<Duration>(faults_.max_delay * uniform());
            in_flight_.push_back({now + delay, to_server, bytes, counter_++});
        }
    }

    std::optional<TimePoint> next_delivery() const {
        if (in_flight_.empty()) return std::nullopt;
        return std::min_element(in_flight_.begin(), in_flight_.end(), earlier)->at;
    }

    // Removes and returns the earliest datagram (ties in send order).
    Flight pop() {
        auto it = std::min_element(in_flight_.begin(), in_flight_.end(), earlier);
        Flight f = std::move(*it);
        in_flight_.erase(it);
        return f;
    }

    int sent() const { return sent_; }
    int lost() const { return lost_; }
    int duplicated() const { return duplicated_; }

private:
    static bool earlier(const Flight& a, const Flight& b) {
        return a.at < b.at || (a.at == b.at && a.order < b.order);
    }
    bool chance(double p) { return p > 0 && uniform() < p; }
    double uniform() { return std::uniform_real_distribution<double>(0, 1)(random_); }

    std::mt19937 random_;
    Faults faults_;
    std::vector<Flight> in_flight_;
    uint64_t counter_ = 0;
    int sent_ = 0, lost_ = 0, duplicated_ = 0;
};

// Runs a member (anything with on_datagram/on_timer/next_timer/take_datagrams) against a
// server callback until the member is done or nothing is left to happen.
template <typename Member>
void run(Member& member, LossyNetwork& net, TimePoint& now,
         const std::function<std::vector<Datagram>(const Datagram&, TimePoint)>& server,
         const std::function<bool()>& finished, int max_steps = 100000) {
    auto flush = [&] {
        for (auto& d : member.take_datagrams())
            net.send(true, d, now);
    };
    flush();
    for (int step = 0; step < max_steps && !finished(); ++step) {
        auto delivery = net.next_delivery();
        auto timer = member.next_timer();
        if (!delivery && !timer) return;
        if (delivery && (!timer || *delivery <= *timer)) {
            now = std::max(now, *delivery);
            Flight f = net.pop();
            if (f.to_server) {
                for (auto& answer : server(f.bytes, now))
                    net.send(false, answer, now);
            } else {
                member.on_datagram(f.bytes, now);
            }
        } else {
            now = std::max(now, *timer);
            member.on_timer(now);
        }
        flush();
    }
}

} // namespace test_net
