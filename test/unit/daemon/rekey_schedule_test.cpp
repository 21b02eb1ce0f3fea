#include <catch2/catch.hpp>

#include "daemon/rekey_schedule.hpp"

using namespace gdoid::daemon;
using namespace std::chrono;

namespace {

const steady_clock::time_point t0 = steady_clock::time_point(hours(1000));

gdoi::TekPolicy tek(seconds lifetime) {
    gdoi::TekPolicy t;
    t.lifetime = lifetime;
    return t;
}

} // namespace

TEST_CASE("the pull point lies inside the window, at the draw's place", "[rekey]") {
    const PullWindow percent{PullWindow::Unit::percent, 7, 5};
    const KeyLifetime hour{t0, seconds(3600)};
    // 7 % of 3600 s = 252 s before expiry, 5 % = 180 s before expiry.
    CHECK(pull_point(hour, percent, 0.0) == t0 + seconds(3600 - 252));
    CHECK(pull_point(hour, percent, 1.0) == t0 + seconds(3600 - 180));
    CHECK(pull_point(hour, percent, 0.5) == t0 + seconds(3600 - 216));
    CHECK(pull_point(hour, percent, 7.0) == pull_point(hour, percent, 1.0)); // clamped

    const PullWindow absolute{PullWindow::Unit::seconds, 90, 30};
    CHECK(pull_point(hour, absolute, 0.0) == t0 + seconds(3600 - 90));
    CHECK(pull_point(hour, absolute, 1.0) == t0 + seconds(3600 - 30));
    // A lifetime shorter than the window: pull at once rather than in the past.
    CHECK(pull_point({t0, seconds(20)}, absolute, 0.0) == t0);
}

TEST_CASE("the next pull follows the KEK or the newest TEK, whichever runs out first", "[rekey]") {
    const PullWindow window{PullWindow::Unit::seconds, 60, 60};
    gdoi::GroupPolicy policy;
    CHECK_FALSE(next_pull(policy, t0, window, 0.5)); // nothing expires: no pull

    policy.teks = {tek(seconds(600)), tek(seconds(1800))};
    // The older TEK's expiry does not matter: the newer one keeps traffic flowing.
    CHECK(next_pull(policy, t0, window, 0.5) == t0 + seconds(1800 - 60));

    policy.kek = gdoi::KekPolicy{};
    policy.kek->lifetime = seconds(900);
    CHECK(next_pull(policy, t0, window, 0.5) == t0 + seconds(900 - 60)); // without a KEK no push can come

    policy.kek->lifetime = seconds(0); // a KEK without a lifetime does not expire
    CHECK(next_pull(policy, t0, window, 0.5) == t0 + seconds(1800 - 60));
}

TEST_CASE("each key counts from when it was first received, not from the last push", "[rekey]") {
    // A KEK of 2000 s received at registration (t0); pushes at +100, +200, +300 bring new TEKs
    // but no KEK: the pull for the KEK stays where the KEK's own life puts it (it used to slide
    // 100 s later with every push, past the KEK's expiry).
    const PullWindow window{PullWindow::Unit::seconds, 120, 120};
    const KeyLifetime kek{t0, seconds(2000)};
    for (int push = 1; push <= 3; ++push) {
        const KeyLifetime newest_tek{t0 + seconds(100 * push), seconds(3600)};
        CHECK(next_pull({kek, newest_tek}, window, 0.5) == t0 + seconds(2000 - 120));
    }
    // The newest TEK decides when it runs out first; keys without a lifetime never do.
    CHECK(next_pull({KeyLifetime{t0, seconds(0)}, KeyLifetime{t0 + seconds(50), seconds(600)}}, window, 0.5) ==
          t0 + seconds(50 + 600 - 120));
    CHECK_FALSE(next_pull(std::vector<KeyLifetime>{}, window, 0.5));
}

TEST_CASE("the keys a pull renews: the KEK and the TEK that runs out last, by first receipt", "[rekey]") {
    gdoi::GroupPolicy policy;
    policy.kek = gdoi::KekPolicy{};
    policy.kek->lifetime = seconds(2000);
    policy.teks = {tek(seconds(3600)), tek(seconds(900)), tek(seconds(0))};
    policy.teks[0].spi = 0xA;
    policy.teks[1].spi = 0xB;
    policy.teks[2].spi = 0xC; // no lifetime: never expires, renews nothing
    const auto now = t0 + seconds(3000);
    // 0xA was first seen at t0 with 3600 s (ends at t0+3600); 0xB is new (ends at now+900).
    const FirstReceipt first = [](uint32_t spi) -> std::optional<KeyLifetime> {
        if (spi == 0xA) return KeyLifetime{t0, seconds(3600)};
        return std::nullopt;
    };
    const auto keys = renewal_keys(policy, t0 + seconds(100), first, now);
    REQUIRE(keys.size() == 2);
    CHECK(keys[0].received == t0 + seconds(100)); // the KEK, from when its lifetime was given
    CHECK(keys[0].lifetime == seconds(2000));
    CHECK(keys[1].received == now); // 0xB runs out at now+900, after 0xA's t0+3600
    CHECK(keys[1].lifetime == seconds(900));

    // Without first receipts every TEK counts from `now`: the longest lifetime wins.
    const auto fresh = renewal_keys(policy, now, {}, now);
    REQUIRE(fresh.size() == 2);
    CHECK(fresh[1].lifetime == seconds(3600));
}
