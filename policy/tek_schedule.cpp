#include "policy/tek_schedule.hpp"

#include "policy/object_band.hpp"

#include <algorithm>
#include <map>

namespace policy {

namespace {

TimePoint after(TimePoint start, std::chrono::seconds delay) {
    if (start == never || delay >= std::chrono::duration_cast<std::chrono::seconds>(never - start))
        return never;
    return start + delay;
}

TimePoint before(TimePoint end, std::chrono::seconds lead) {
    if (end == never) return never;
    return end - lead;
}

} // namespace

const GroupTimeline::KnownTek* GroupTimeline::find(uint32_t spi) const {
    for (const auto& known : teks_)
        if (known.tek.spi == spi) return &known;
    return nullptr;
}

uint32_t GroupTimeline::free_reqid_slot() const {
    for (uint32_t candidate = 1; candidate <= band::max_reqid_slots; ++candidate) {
        const bool used = std::any_of(slots_.begin(), slots_.end(),
                                      [&](const TekSlot& s) { return s.reqid_slot == candidate; });
        if (!used) return candidate;
    }
    return 0; // unreachable in practice: 65535 ACL entries
}

size_t GroupTimeline::slot_for(const gdoi::TrafficSelector& selector) {
    for (size_t i = 0; i < slots_.size(); ++i)
        if (slots_[i].selector == selector) return i;
    slots_.push_back({selector, free_reqid_slot(), uint32_t(slots_.size())});
    return slots_.size() - 1;
}

void GroupTimeline::observe(const gdoi::GroupPolicy& policy, TimePoint received_at) {
    // The ACL order of this policy, by first appearance of each selector.
    std::vector<gdoi::TrafficSelector> order;
    for (const auto& tek : policy.teks)
        if (std::find(order.begin(), order.end(), tek.selector) == order.end())
            order.push_back(tek.selector);

    for (const auto& tek : policy.teks) {
        slot_for(tek.selector);
        if (find(tek.spi) != nullptr || retired(tek.spi)) continue;
        teks_.push_back({tek, received_at, policy.gap.activation_delay,
                         policy.gap.deactivation_delay, arrivals_++});
    }

    // Slots that neither this policy nor a live TEK uses are forgotten; the rest are
    // renumbered: this policy's order first, older entries after, in their previous order.
    std::erase_if(slots_, [&](const TekSlot& slot) {
        const bool in_policy = std::find(order.begin(), order.end(), slot.selector) != order.end();
        const bool has_tek = std::any_of(teks_.begin(), teks_.end(), [&](const KnownTek& k) {
            return k.tek.selector == slot.selector;
        });
        return !in_policy && !has_tek;
    });
    auto position = [&](const TekSlot& slot) {
        const auto it = std::find(order.begin(), order.end(), slot.selector);
        return it != order.end() ? size_t(it - order.begin()) : order.size() + slot.acl_position;
    };
    std::stable_sort(slots_.begin(), slots_.end(),
                     [&](const TekSlot& a, const TekSlot& b) { return position(a) < position(b); });
    for (size_t i = 0; i < slots_.size(); ++i)
        slots_[i].acl_position = uint32_t(i);

    deny_ = policy.deny;
}

void GroupTimeline::forget_tek(uint32_t spi) {
    std::erase_if(teks_, [&](const KnownTek& k) { return k.tek.spi == spi; });
    if (!retired_.insert(spi).second) return;
    retired_order_.push_back(spi);
    if (retired_order_.size() > max_retired) {
        retired_.erase(retired_order_.front());
        retired_order_.pop_front();
    }
}

void GroupTimeline::forget_all_teks() {
    teks_.clear();
}

void GroupTimeline::adopt_reqid_slot(uint32_t spi, uint32_t reqid_slot) {
    const KnownTek* known = find(spi);
    if (known == nullptr || reqid_slot == 0 || reqid_slot > band::max_reqid_slots) return;
    for (const auto& slot : slots_)
        if (slot.reqid_slot == reqid_slot) return; // already taken (maybe by this very slot)
    for (auto& slot : slots_)
        if (slot.selector == known->tek.selector) slot.reqid_slot = reqid_slot;
}

std::vector<TekSchedule> GroupTimeline::schedule() const {
    // Group TEKs by slot, oldest first: receipt time, then the one that expires first (a PULL
    // after a restart may bring old and new together), then arrival order.
    std::map<size_t, std::vector<const KnownTek*>> by_slot;
    for (const auto& known : teks_) {
        for (size_t i = 0; i < slots_.size(); ++i)
            if (slots_[i].selector == known.tek.selector) by_slot[i].push_back(&known);
    }
    auto expiry = [](const KnownTek& k) {
        return k.tek.lifetime.count() > 0 ? after(k.received_at, k.tek.lifetime) : never;
    };

    std::vector<TekSchedule> result;
    for (auto& [slot, list] : by_slot) {
        std::stable_sort(list.begin(), list.end(), [&](const KnownTek* a, const KnownTek* b) {
            if (a->received_at != b->received_at) return a->received_at < b->received_at;
            if (expiry(*a) != expiry(*b)) return expiry(*a) < expiry(*b);
            return a->arrival < b->arrival;
        });
        std::vector<TekSchedule> chain;
        for (size_t i = 0; i < list.size(); ++i) {
            const KnownTek& k = *list[i];
            TekSchedule s;
            s.spi = k.tek.spi;
            s.slot = slot;
            s.received_at = k.received_at;
            s.install_at = k.received_at;
            s.expires_at = expiry(k);
            s.activate_outbound_at = k.received_at;
            if (i > 0) {
                // Senders switch when the key server's ATD has passed, but never later than
                // `lead` before the old key expires (Juniper: 30 s), so no gap opens. RFC 6407
                // section 5.3.1: "The ATD defines how long active members should wait after
                // receiving new SAs before sending traffic over them." This holds for new TEKs
                // from a registration too, not only a push: a key server that restarted with
                // new keys teaches them to each member at its own re-registration, so while
                // our previous TEK is valid we keep sending on it for the ATD (inbound takes
                // both from receipt on), as Cisco members do, and the members that learn
                // later can still read us.
                const TimePoint switch_by = before(chain.back().expires_at, lead_);
                TimePoint t = switch_by;
                if (k.activation_delay)
                    t = std::min(after(k.received_at, *k.activation_delay), switch_by);
                // Old and new in one registration from a server that rekeys with an ATD: the
                // rekey was pushed before we joined, and RFC 6407 section 5.3.1 gives the ATD
                // to "active members" receiving it; the others have switched, or do within
                // the ATD, and drop the old key after the DTD. Waiting out the ATD again here
                // would send with a key the group may already have deleted (VM 120: a member
                // restarted 8 s after a push lost its first echoes). Without an ATD (a server
                // that only lets members pull) the old key stays in use until `lead` before
                // its end, as above: the others may not have pulled the new one yet.
                // But when we still hold a TEK of our own from before this registration (the
                // server restarted with new keys and pushed them before we noticed), the others
                // still send and read our old TEK too: the newest waits the same ATD as the
                // TEK above it, and the ones between are never sent with.
                if (k.activation_delay && k.received_at == list[i - 1]->received_at)
                    t = list.front()->received_at < k.received_at
                            ? chain.back().activate_outbound_at
                            : k.received_at;
                if (t == never) t = k.received_at; // an old key without end and no ATD
                s.activate_outbound_at = std::max(t, k.received_at);
            }
            s.activate_outbound_at = std::min(s.activate_outbound_at, s.expires_at);
            s.deactivate_outbound_at = s.expires_at;
            s.remove_at = s.expires_at;
            if (i > 0) {
                TekSchedule& previous = chain.back();
                previous.deactivate_outbound_at =
                    std::min(previous.expires_at, s.activate_outbound_at);
                // RFC 6407 section 5.3.1: the DTD "defines how long after receiving new SAs
                // it should wait before deleting old SAs". A DTD that ends before senders
                // switch would drop their last old-key packets: keep the old SA to its end.
                if (k.deactivation_delay) {
                    const TimePoint dtd_end = after(k.received_at, *k.deactivation_delay);
                    if (dtd_end > s.activate_outbound_at)
                        previous.remove_at = std::min(previous.expires_at, dtd_end);
                }
            }
            chain.push_back(s);
        }
        result.insert(result.end(), chain.begin(), chain.end());
    }
    return result;
}

void GroupTimeline::prune(TimePoint now) {
    const auto current = schedule();
    std::erase_if(teks_, [&](const KnownTek& k) {
        for (const auto& s : current)
            if (s.spi == k.tek.spi) return s.remove_at <= now && s.deactivate_outbound_at <= now;
        return false;
    });
}

std::optional<TimePoint> GroupTimeline::next_change_after(TimePoint now) const {
    std::optional<TimePoint> next;
    auto consider = [&](TimePoint t) {
        if (t > now && t != never && (!next || t < *next)) next = t;
    };
    for (const auto& s : schedule()) {
        consider(s.install_at);
        consider(s.activate_outbound_at);
        consider(s.deactivate_outbound_at);
        consider(s.remove_at);
    }
    return next;
}

} // namespace policy
