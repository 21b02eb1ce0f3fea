// When a member pulls new keys by itself because no GROUPKEY-PUSH brought them: inside the
// configured pull window before the group's keys expire (Juniper: re-register when 7 % to 5 % of
// the lifetime is left), at a random point of it so a thousand members do not all call the key
// server in the same second. Pure: the caller passes the time and the random draw.
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <vector>

#include "daemon/config.hpp"
#include "gdoi/group_policy.hpp"

namespace gdoid::daemon {

struct KeyLifetime {
    std::chrono::steady_clock::time_point received;
    std::chrono::seconds lifetime;
};

// The moment to pull again for keys of `lifetime` received at `received`; `draw` in [0, 1]
// picks the point inside the window (0 = its start, 1 = its end). Never before `received`.
std::chrono::steady_clock::time_point pull_point(const KeyLifetime& keys, const PullWindow& window, double draw);

// The earliest pull point over `keys`: the KEK and the newest TEK (the keys traffic would run
// out of last), each with the time it was FIRST received and the lifetime it had then (a push
// repeating a key does not give it a new life); nullopt when nothing expires.
std::optional<std::chrono::steady_clock::time_point> next_pull(const std::vector<KeyLifetime>& keys,
                                                               const PullWindow& window, double draw);

// A TEK's first receipt and the lifetime it had then; nullopt for a TEK not seen before.
using FirstReceipt = std::function<std::optional<KeyLifetime>(uint32_t spi)>;

// The keys a pull renews: the policy's KEK, whose lifetime was given at `kek_received`, and the
// TEK that runs out last, each TEK counted from its first receipt (`first_receipt`, empty or
// nullopt: from `now` with the policy's lifetime). Keys without a lifetime are left out.
std::vector<KeyLifetime> renewal_keys(const gdoi::GroupPolicy& policy,
                                      std::chrono::steady_clock::time_point kek_received,
                                      const FirstReceipt& first_receipt,
                                      std::chrono::steady_clock::time_point now);

// The same for a policy whose keys were all received at `received` (a fresh registration).
std::optional<std::chrono::steady_clock::time_point> next_pull(const gdoi::GroupPolicy& policy,
                                                               std::chrono::steady_clock::time_point received,
                                                               const PullWindow& window, double draw);

} // namespace gdoid::daemon
