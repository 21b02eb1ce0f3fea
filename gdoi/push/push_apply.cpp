#include "gdoi/push/push_apply.hpp"

#include "gdoi/push/push_crypto.hpp"

#include <algorithm>

namespace gdoi::push {

namespace {

std::string seconds(std::chrono::seconds s) {
    return std::to_string(s.count()) + " s";
}

bool contains(const std::vector<uint32_t>& v, uint32_t x) {
    return std::find(v.begin(), v.end(), x) != v.end();
}

} // namespace

ApplyResult apply(const GroupPolicy& current, const PushUpdate& update, TimePoint now) {
    ApplyResult r;
    r.next = current;
    r.next.sequence = update.sequence;
    auto& events = r.events;

    // ---- KEK ----
    if (update.kek) {
        if (update.kek_rollover) {
            r.kek_rolled_over = true;
            events.push_back("KEK rolled over to " + hex(update.kek->spi) + " (" +
                             kek_cipher_name(update.kek->cipher) + ", lifetime " +
                             seconds(update.kek->lifetime) + ")" +
                             (current.kek ? ", replacing " + hex(current.kek->spi) : ""));
        }
        r.next.kek = update.kek;
    }
    const auto& d = update.deletes;
    if (r.next.kek &&
        (d.all_keks || std::count(d.kek_spis.begin(), d.kek_spis.end(), r.next.kek->spi))) {
        events.push_back("delete: KEK " + hex(r.next.kek->spi) +
                         " removed by the key server; no further push can be received");
        r.next.kek.reset();
        r.reregister = true;
    }

    // ---- GAP ---- A push without ATD means "now", without DTD "until expiry": the push's
    // own GAP (or its absence) governs, not the one of an earlier policy.
    GroupAssociatedPolicy gap = update.gap.value_or(GroupAssociatedPolicy{});
    if (!gap.delivery_delay_window) gap.delivery_delay_window = current.gap.delivery_delay_window;
    r.next.gap = gap;

    // ---- TEKs carried ----
    for (const auto& tek : update.teks) {
        auto it = std::find_if(r.next.teks.begin(), r.next.teks.end(),
                               [&](const TekPolicy& t) { return t.spi == tek.spi; });
        if (it != r.next.teks.end()) {
            *it = tek; // repeated old TEK: its lifetime is now the time it has left
            continue;
        }
        r.next.teks.push_back(tek);
        std::string when = gap.activation_delay && gap.activation_delay->count() > 0
                               ? "activates in " + seconds(*gap.activation_delay)
                               : "active now (no ATD)";
        events.push_back("rekey: new TEK spi " + spi_hex(tek.spi) + " " + when + ", lifetime " +
                         seconds(tek.lifetime) + (tek.receive_only ? ", receive only (GCM)" : ""));
    }
    for (const auto& rejected : update.rejected_teks)
        events.push_back("rekey: TEK " + spi_hex(rejected.spi) + " refused: " + rejected.reason);

    // Old TEKs superseded by a new TEK of the same selector: gone after the DTD, or kept to
    // their expiry when there is no DTD.
    for (const auto& old : current.teks) {
        if (contains(update.new_tek_spis, old.spi)) continue;
        bool superseded =
            std::any_of(update.teks.begin(), update.teks.end(), [&](const TekPolicy& t) {
                return contains(update.new_tek_spis, t.spi) && t.selector == old.selector;
            });
        if (!superseded) continue;
        if (gap.deactivation_delay) {
            // RFC 6407 section 5.3.1: the DTD is how long after the new SAs a member waits
            // before deleting the old ones; the ATD is when senders start using the new ones.
            // A DTD shorter than the ATD would delete the old SA while every member still
            // sends with it: the old SA stays at least until the ATD has passed.
            const auto delay = std::max(*gap.deactivation_delay,
                                        gap.activation_delay.value_or(std::chrono::seconds(0)));
            r.removals.push_back({old.spi, now + delay, "superseded"});
            events.push_back("rekey: old TEK spi " + spi_hex(old.spi) + " removed after " +
                             (delay == *gap.deactivation_delay
                                  ? "DTD " + seconds(delay)
                                  : seconds(delay) + " (the ATD; the DTD " +
                                        seconds(*gap.deactivation_delay) + " is shorter)"));
        } else {
            events.push_back("rekey: old TEK spi " + spi_hex(old.spi) +
                             " kept until it expires (no DTD)");
        }
    }

    // ---- deletes ----
    std::vector<uint32_t> doomed;
    for (const auto& t : r.next.teks)
        if (d.all_teks || contains(d.tek_spis, t.spi)) doomed.push_back(t.spi);
    for (uint32_t spi : d.tek_spis)
        if (!contains(doomed, spi))
            events.push_back("delete: TEK spi " + spi_hex(spi) + " is not known here, ignored");
    for (uint32_t spi : doomed) {
        if (gap.deactivation_delay && gap.deactivation_delay->count() > 0) {
            r.removals.push_back({spi, now + *gap.deactivation_delay, "deleted by the key server"});
            events.push_back("delete: TEK spi " + spi_hex(spi) + ", removed after DTD " +
                             seconds(*gap.deactivation_delay));
        } else {
            r.removals.push_back({spi, now, "deleted by the key server"});
            events.push_back("delete: TEK spi " + spi_hex(spi) + " removed now");
            std::erase_if(r.next.teks, [&](const TekPolicy& t) { return t.spi == spi; });
        }
    }

    // ---- ejection ----
    if (update.ejection_suspected) {
        events.push_back("ejected by key server (" + update.ejection_reason + "): re-registering");
        r.reregister = true;
    } else if (!current.teks.empty() && r.next.teks.empty()) {
        events.push_back("no TEK left after push SEQ " + std::to_string(update.sequence) +
                         ": re-registering");
        r.reregister = true;
    }
    return r;
}

} // namespace gdoi::push
