#include "test/ks/timed_rekey.hpp"

#include "gdoi/push/push_crypto.hpp"

#include <algorithm>

namespace gdoi_test_ks {

using namespace gdoi;

namespace {

// The configured TEK (index in tek_templates) the TEK `spi` was made from.
std::optional<size_t> configured_tek_of(const KsGroup& group, const GroupRuntime& runtime,
                                        uint32_t spi) {
    if (auto it = runtime.made_from.find(spi); it != runtime.made_from.end()) return it->second;
    for (size_t i = 0; i < group.tek_templates.size(); ++i)
        if (group.tek_templates[i].spi == spi) return i; // a configured TEK itself
    return std::nullopt;
}

} // namespace

std::optional<TimePoint> next_timed_rekey(const KsGroup& group, const GroupRuntime& runtime) {
    if (!group.timed_rekey) return std::nullopt;
    struct Newest {
        TimePoint born;
        std::chrono::seconds lifetime;
    };
    std::vector<std::optional<Newest>> newest(group.tek_templates.size());
    for (const auto& tek : group.policy.teks) {
        auto born = runtime.tek_born.find(tek.spi);
        auto from = configured_tek_of(group, runtime, tek.spi);
        if (born == runtime.tek_born.end() || !from) continue;
        auto& n = newest[*from];
        if (!n || n->born < born->second) n = Newest{born->second, tek.lifetime};
    }
    std::optional<TimePoint> due;
    for (const auto& n : newest)
        if (n) {
            auto at = n->born + n->lifetime - group.timed_rekey->before_expiry;
            if (!due || at < *due) due = at;
        }
    return due;
}

PushPlan timed_rekey(KsGroup& group, GroupRuntime& runtime, const std::vector<IpAddress>& members,
                     TimePoint now) {
    if (!group.timed_rekey)
        throw RekeyError("group " + std::to_string(group.policy.group_id) +
                         " has no [group.rekey]");
    PushPlan plan = group.timed_rekey->send == TimedRekeyConfig::Send::push
                        ? rekey(group, runtime, members, false, now)
                        : renew_teks(group, runtime, now);
    ++runtime.timed_rekeys;
    return plan;
}

std::string timed_rekey_summary(const KsGroup& group, const PushPlan& plan) {
    std::string spis;
    for (auto spi : plan.new_tek_spis)
        spis += (spis.empty() ? "" : ", ") + push::spi_hex(spi);
    std::string line = "timed rekey of group " + std::to_string(group.policy.group_id) +
                       ": new TEKs " + spis + " (sequence " + std::to_string(plan.sequence) + "), ";
    if (group.timed_rekey && group.timed_rekey->send == TimedRekeyConfig::Send::none)
        return line + "not pushed (send = none)";
    auto members = std::count_if(plan.pushes.begin(), plan.pushes.end(),
                                 [](const OutgoingPush& p) { return !p.multicast; });
    return line + "pushed to " + std::to_string(members) + " members";
}

} // namespace gdoi_test_ks
