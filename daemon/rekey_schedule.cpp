#include "daemon/rekey_schedule.hpp"

#include <algorithm>

namespace gdoid::daemon {

std::chrono::steady_clock::time_point pull_point(const KeyLifetime& keys, const PullWindow& window, double draw) {
    using namespace std::chrono;
    const auto expiry = keys.received + keys.lifetime;
    milliseconds start_before{0};
    milliseconds end_before{0};
    if (window.unit == PullWindow::Unit::percent) {
        const auto life = duration_cast<milliseconds>(keys.lifetime).count();
        start_before = milliseconds(life * window.start / 100);
        end_before = milliseconds(life * window.end / 100);
    } else {
        start_before = seconds(window.start);
        end_before = seconds(window.end);
    }
    draw = std::clamp(draw, 0.0, 1.0);
    const auto before = start_before - duration_cast<milliseconds>((start_before - end_before) * draw);
    return std::max(keys.received, expiry - before);
}

std::optional<std::chrono::steady_clock::time_point> next_pull(const std::vector<KeyLifetime>& keys,
                                                               const PullWindow& window, double draw) {
    std::optional<std::chrono::steady_clock::time_point> earliest;
    for (const auto& key : keys) {
        if (key.lifetime.count() <= 0) continue; // no lifetime given: nothing to renew
        const auto at = pull_point(key, window, draw);
        if (!earliest || at < *earliest) earliest = at;
    }
    return earliest;
}

std::vector<KeyLifetime> renewal_keys(const gdoi::GroupPolicy& policy,
                                      std::chrono::steady_clock::time_point kek_received,
                                      const FirstReceipt& first_receipt,
                                      std::chrono::steady_clock::time_point now) {
    std::vector<KeyLifetime> keys;
    if (policy.kek && policy.kek->lifetime.count() > 0) keys.push_back({kek_received, policy.kek->lifetime});
    std::optional<KeyLifetime> last_tek;
    for (const auto& tek : policy.teks) {
        KeyLifetime life{now, tek.lifetime};
        if (first_receipt)
            if (const auto known = first_receipt(tek.spi)) life = *known;
        if (life.lifetime.count() <= 0) continue;
        if (!last_tek || life.received + life.lifetime > last_tek->received + last_tek->lifetime) last_tek = life;
    }
    if (last_tek) keys.push_back(*last_tek);
    return keys;
}

std::optional<std::chrono::steady_clock::time_point> next_pull(const gdoi::GroupPolicy& policy,
                                                               std::chrono::steady_clock::time_point received,
                                                               const PullWindow& window, double draw) {
    return next_pull(renewal_keys(policy, received, {}, received), window, draw);
}

} // namespace gdoid::daemon
