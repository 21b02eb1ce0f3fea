#include <catch2/catch.hpp>

#include "daemon/rate_limiter.hpp"

using namespace gdoid::daemon;
using namespace std::chrono_literals;

TEST_CASE("once per reason per interval, then the count of what was held back", "[rate]") {
    RateLimiter limiter(60s);
    const RateLimiter::Clock::time_point t0{};
    CHECK(limiter.check("bad-hash", t0).emit);
    CHECK_FALSE(limiter.check("bad-hash", t0 + 1s).emit);
    CHECK_FALSE(limiter.check("bad-hash", t0 + 59s).emit);
    // Another reason is independent.
    CHECK(limiter.check("unknown-spi", t0 + 2s).emit);
    const auto next = limiter.check("bad-hash", t0 + 60s);
    CHECK(next.emit);
    CHECK(next.suppressed == 2);
    const auto after = limiter.check("bad-hash", t0 + 121s);
    CHECK(after.emit);
    CHECK(after.suppressed == 0);
}

TEST_CASE("the table of reasons is bounded", "[rate]") {
    RateLimiter limiter(60s, 3);
    const RateLimiter::Clock::time_point t0{};
    CHECK(limiter.check("a", t0).emit);
    CHECK(limiter.check("b", t0).emit);
    CHECK(limiter.check("c", t0).emit);
    // Full of live entries: a fourth reason is dropped, not admitted by evicting one.
    CHECK_FALSE(limiter.check("d", t0 + 1s).emit);
    CHECK(limiter.tracked_reasons() == 3);
    // Once they expire, room is made.
    CHECK(limiter.check("d", t0 + 61s).emit);
    CHECK(limiter.tracked_reasons() == 1);
}
