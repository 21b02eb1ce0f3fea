#include "test/ks/rekey.hpp"

#include "gdoi/crypto/prf.hpp"
#include "gdoi/push/push_crypto.hpp"

#include <algorithm>

namespace gdoi_test_ks {

using namespace gdoi;

namespace {

constexpr uint16_t kGdoiPort = 848;

uint32_t fresh_tek_spi(const GroupPolicy& policy) {
    while (true) {
        auto b = crypto::random_bytes(4);
        // Never 0 (the "every TEK" SPI of a DELETE) and never an SPI the group already uses.
        uint32_t spi = uint32_t(b[0] | 0x01) << 24 | uint32_t(b[1]) << 16 | uint32_t(b[2]) << 8 |
                       uint32_t(b[3]);
        if (std::none_of(policy.teks.begin(), policy.teks.end(),
                         [&](const TekPolicy& t) { return t.spi == spi; }))
            return spi;
    }
}

TekPolicy fresh_tek(const TekPolicy& templ, const GroupPolicy& policy) {
    TekPolicy tek = templ;
    tek.spi = fresh_tek_spi(policy);
    tek.cipher_key = crypto::random_secret(templ.cipher_key.size());
    tek.integrity_key = templ.integrity_key.size()
                            ? crypto::random_secret(templ.integrity_key.size())
                            : SecretBytes{};
    return tek;
}

KekPolicy fresh_kek(const KekPolicy& old) {
    KekPolicy kek = old;
    do {
        auto spi = crypto::random_bytes(kek.spi.size());
        std::copy(spi.begin(), spi.end(), kek.spi.begin());
    } while (kek.spi == old.spi);
    kek.key = crypto::random_secret(old.key.size());
    kek.iv = crypto::random_bytes(old.iv.size());
    return kek;
}

void require_kek(const KsGroup& group) {
    if (!group.policy.kek || !group.signer)
        throw RekeyError("group " + std::to_string(group.policy.group_id) +
                         " has no KEK: it cannot be pushed to (add [group.kek])");
}

// RFC 6407 section 3.2.1 / 5.7 (paraphrased): the GCKS increments SEQ for each GROUPKEY-PUSH,
// and a member refuses a push whose SEQ is not greater than the last. A rekey that is not
// pushed takes a SEQ too, so that a member's next PULL sees the group state has moved on.
uint32_t next_sequence(KsGroup& group) {
    group.policy.sequence = group.policy.sequence.value_or(0) + 1;
    return *group.policy.sequence;
}

// The frame every push of the group shares: under the current KEK, signed with the KEK's key,
// with `sequence`.
push::PushSpec push_frame(const KsGroup& group, uint32_t sequence) {
    require_kek(group);
    push::PushSpec spec;
    spec.kek = *group.policy.kek;
    spec.signer = group.signer.get();
    spec.quirks = group.options.quirks;
    spec.sequence = sequence;
    return spec;
}

push::PushSpec base_spec(KsGroup& group) {
    require_kek(group); // before the SEQ is used up
    return push_frame(group, next_sequence(group));
}

// The new group state of a rekey, pushed or not.
struct Renewal {
    std::vector<TekPolicy> teks; // the still-valid TEKs with their remaining life, then the new
    PushPlan plan;               // sequence and new_tek_spis; no pushes yet
};

Renewal renew(KsGroup& group, GroupRuntime& runtime, TimePoint now) {
    if (group.tek_templates.empty())
        throw RekeyError("group " + std::to_string(group.policy.group_id) +
                         " has no configured TEK to make new ones from");
    Renewal out;
    // The old TEKs stay with their remaining life, so a member keeps them until they expire
    // (traffic still protected by them is accepted during the changeover).
    out.teks = current_policy(group, runtime, now).teks;
    out.plan.sequence = next_sequence(group);
    for (size_t i = 0; i < group.tek_templates.size(); ++i) {
        TekPolicy tek = fresh_tek(group.tek_templates[i], group.policy);
        out.plan.new_tek_spis.push_back(tek.spi);
        runtime.tek_born[tek.spi] = now;
        runtime.made_from[tek.spi] = i;
        group.policy.teks.push_back(tek);
        out.teks.push_back(std::move(tek));
    }
    return out;
}

void forget_tek(GroupRuntime& runtime, uint32_t spi) {
    runtime.tek_born.erase(spi);
    runtime.made_from.erase(spi);
}

void address_to(PushPlan& plan, const std::vector<uint8_t>& datagram, const KekPolicy& kek,
                const std::vector<IpAddress>& members, bool multicast) {
    for (const auto& m : members)
        plan.pushes.push_back({datagram, m, kGdoiPort, false});
    const auto& dst = kek.destination;
    if (multicast && dst.range.first == dst.range.last && dst.range.first.is_multicast())
        plan.pushes.push_back({datagram, dst.range.first, dst.port ? dst.port : kGdoiPort, true});
}

} // namespace

GroupPolicy current_policy(KsGroup& group, GroupRuntime& runtime, TimePoint now) {
    GroupPolicy out = group.policy;
    out.teks.clear();
    std::vector<TekPolicy> alive;
    for (auto& tek : group.policy.teks) {
        auto born = runtime.tek_born.emplace(tek.spi, now).first->second;
        auto left = tek.lifetime - std::chrono::duration_cast<std::chrono::seconds>(now - born);
        if (left.count() <= 0) {
            forget_tek(runtime, tek.spi);
            continue; // expired: the member would have to drop it anyway
        }
        TekPolicy copy = tek;
        copy.lifetime = left;
        out.teks.push_back(std::move(copy));
        alive.push_back(std::move(tek));
    }
    group.policy.teks = std::move(alive);
    return out;
}

PushPlan rekey(KsGroup& group, GroupRuntime& runtime, const std::vector<IpAddress>& members,
               bool roll_kek, TimePoint now, bool wrong_signature) {
    require_kek(group); // before the group state changes
    if (wrong_signature && !runtime.impostor_signer)
        runtime.impostor_signer = std::make_shared<const crypto::KekPrivateKey>(
            crypto::KekPrivateKey::generate(group.signer->scheme()));
    Renewal renewal = renew(group, runtime, now);
    PushPlan plan = std::move(renewal.plan);
    push::PushSpec spec = push_frame(group, plan.sequence);
    if (wrong_signature) spec.signer = runtime.impostor_signer.get();
    spec.teks = std::move(renewal.teks);
    if (group.policy.gap.activation_delay || group.policy.gap.deactivation_delay)
        spec.gap = group.policy.gap;

    // The SA KEK is always announced (the current one, or its successor). A KEK rollover
    // travels under the old KEK: the member can only decrypt with the KEK it holds, and takes
    // the new one from the KD KEK packet (gdoi::push::interpret_push: kek_rollover).
    if (roll_kek) {
        KekPolicy next = fresh_kek(*group.policy.kek);
        spec.sa_kek = next;
        plan.new_kek_spi = next.spi;
    } else {
        spec.sa_kek = *group.policy.kek;
    }
    auto datagram = push::build_push(spec);
    if (roll_kek) {
        runtime.previous_keks.push_back(*group.policy.kek);
        group.policy.kek = *spec.sa_kek;
    }
    address_to(plan, datagram, spec.kek, members, true);
    return plan;
}

PushPlan renew_teks(KsGroup& group, GroupRuntime& runtime, TimePoint now) {
    return renew(group, runtime, now).plan;
}

PushPlan delete_tek(KsGroup& group, GroupRuntime& runtime, const std::vector<IpAddress>& members,
                    uint32_t spi, TimePoint now) {
    current_policy(group, runtime, now); // forget expired TEKs first
    auto& teks = group.policy.teks;
    if (spi != 0 &&
        std::none_of(teks.begin(), teks.end(), [&](const TekPolicy& t) { return t.spi == spi; }))
        throw RekeyError("group " + std::to_string(group.policy.group_id) + " has no TEK " +
                         push::spi_hex(spi));
    push::PushSpec spec = base_spec(group);
    PushPlan plan;
    plan.sequence = spec.sequence;
    // A DELETE whose SPI is 0 removes every TEK of the group (what gdoi::push reads as
    // PushDeletes::all_teks); otherwise the one SPI.
    if (spi == 0) {
        spec.deletes.all_teks = true;
        for (const auto& t : teks)
            plan.deleted_tek_spis.push_back(t.spi);
    } else {
        spec.deletes.tek_spis.push_back(spi);
        plan.deleted_tek_spis.push_back(spi);
    }
    auto datagram = push::build_push(spec);
    for (uint32_t gone : plan.deleted_tek_spis) {
        forget_tek(runtime, gone);
        group.options.tek_emission.erase(gone);
    }
    std::erase_if(teks, [&](const TekPolicy& t) {
        return std::count(plan.deleted_tek_spis.begin(), plan.deleted_tek_spis.end(), t.spi) > 0;
    });
    address_to(plan, datagram, spec.kek, members, true);
    return plan;
}

PushPlan eject(KsGroup& group, GroupRuntime& runtime, const IpAddress& member,
               std::chrono::seconds dtd, TimePoint now) {
    GroupPolicy held = current_policy(group, runtime, now);
    push::PushSpec spec = base_spec(group);
    PushPlan plan;
    plan.sequence = spec.sequence;
    if (held.teks.empty()) {
        // Nothing to repeat: a delete of every TEK with no replacement is the other ejection
        // gdoi::push recognises.
        spec.deletes.all_teks = true;
        plan.method = "delete-all-teks";
    } else {
        plan.method = "old-teks-short-dtd";
        // Juniper Group VPNv2 ejection: a rekey with only the old SAs and a DTD smaller than
        // their remaining life; without new keys the member re-registers and is refused.
        auto shortest = std::min_element(held.teks.begin(), held.teks.end(),
                                         [](const TekPolicy& a, const TekPolicy& b) {
                                             return a.lifetime < b.lifetime;
                                         })
                            ->lifetime;
        spec.teks = held.teks;
        spec.gap = group.policy.gap;
        spec.gap->deactivation_delay =
            std::max(std::chrono::seconds(0), std::min(dtd, shortest - std::chrono::seconds(1)));
    }
    auto datagram = push::build_push(spec);
    runtime.ejected.insert(member);
    plan.pushes.push_back({std::move(datagram), member, kGdoiPort, false});
    return plan;
}

} // namespace gdoi_test_ks
