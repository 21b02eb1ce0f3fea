// What the control socket and the log show of a group policy (never keys): cipher names,
// selectors, expiry times, SPIs as operators write them.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "daemon/group.hpp"
#include "gdoi/group_policy.hpp"

namespace gdoid::daemon {

KekSummary summarize_kek(const gdoi::KekPolicy& kek, std::chrono::steady_clock::time_point received);
TekSummary summarize_tek(const gdoi::TekPolicy& tek, std::chrono::steady_clock::time_point received);
// One side of a bypass class or deny entry: "10.1.0.0/16", "10.1.0.0/16 port 161".
std::string bypass_endpoint_text(const gdoi::SelectorEndpoint& endpoint);
// Fills the group's KEK/TEK/sequence view from a policy received at `received`.
void show_policy(Group& group, const gdoi::GroupPolicy& policy, std::chrono::steady_clock::time_point received);

} // namespace gdoid::daemon
