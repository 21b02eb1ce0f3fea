#include "gdoi/push/push_interpret.hpp"

#include "gdoi/push/push_crypto.hpp"
#include "gdoi/push/push_policy_codec.hpp"
#include "gdoi/wire/policy_codec.hpp"

#include <algorithm>
#include <optional>

namespace gdoi::push {

using namespace gdoi::wire;

namespace {

uint32_t spi_u32(std::span<const uint8_t> b) {
    return uint32_t(b[0]) << 24 | uint32_t(b[1]) << 16 | uint32_t(b[2]) << 8 | uint32_t(b[3]);
}

bool known(std::span<const TekPolicy> teks, uint32_t spi) {
    return std::any_of(teks.begin(), teks.end(), [&](const TekPolicy& t) { return t.spi == spi; });
}

// The longest TEK lifetime we install. Cisco GET VPN and Juniper Group VPNv2 key servers give
// TEKs at most a day; a month is room for any server and still not "never".
constexpr std::chrono::seconds kMaxTekLifetime{30 * 86400};

// A pushed TEK as a member can install it, or why not.
std::optional<std::string> check_installable(TekPolicy& tek, std::vector<std::string>& notes) {
    // Group traffic would cross the WAN in clear text, and the kernel facade has no
    // cipher_null (netlink/xfrm_translate): refused here, with the reason, rather than by the
    // kernel at every retry.
    if (tek.cipher == TekCipher::null_encryption)
        return "ESP_NULL (no encryption) refused: the group's traffic would cross the WAN in clear "
               "text";
    // RFC 2407 section 4.5: without an SA Life Duration the lifetime is 28800 seconds; a
    // registration reads it that way (gdoi/pull), so a push must too, or the TEK would
    // never expire.
    if (tek.lifetime.count() == 0) {
        tek.lifetime = std::chrono::seconds(28800);
        notes.push_back(
            "TEK " + spi_hex(tek.spi) +
            " came with lifetime 0 s (none): RFC 2407's 28800 s applies, as at registration");
    }
    if (tek.lifetime > kMaxTekLifetime)
        return "lifetime " + std::to_string(tek.lifetime.count()) + " s is beyond " +
               std::to_string(kMaxTekLifetime.count()) + " s (30 days): a key server error";
    return std::nullopt;
}

// Juniper: "Policies for one TEK must come in pairs"; a TEK to a multicast group has no mirror.
void reject_unpaired(PushUpdate& u, std::span<const TekPolicy> current_teks) {
    auto has_mirror = [&](const TrafficSelector& s) {
        auto mirror = s.mirrored();
        auto same = [&](const TekPolicy& t) { return t.selector == mirror; };
        return std::any_of(u.teks.begin(), u.teks.end(), same) ||
               std::any_of(current_teks.begin(), current_teks.end(), same);
    };
    std::vector<TekPolicy> kept;
    for (auto& tek : u.teks) {
        if (tek.selector.destination.range.first.is_multicast() || has_mirror(tek.selector)) {
            kept.push_back(std::move(tek));
            continue;
        }
        u.rejected_teks.push_back(
            {tek.spi, "TEK " + spi_hex(tek.spi) +
                          ": unicast policy without its mirror (policies must come in pairs)"});
    }
    u.teks = std::move(kept);
}

void read_deletes(PushUpdate& u, const Message& m) {
    for (const DeletePayload* d : m.find_all<DeletePayload>()) {
        for (const auto& spi : d->spis) {
            bool zero = std::all_of(spi.begin(), spi.end(), [](uint8_t b) { return b == 0; });
            if (d->spi_size == kTekSpiSize && spi.size() == kTekSpiSize) {
                if (zero)
                    u.deletes.all_teks = true;
                else
                    u.deletes.tek_spis.push_back(spi_u32(spi));
            } else if (d->spi_size == kKekSpiSize && spi.size() == kKekSpiSize) {
                if (zero) {
                    u.deletes.all_keks = true;
                } else {
                    KekSpi k{};
                    std::copy(spi.begin(), spi.end(), k.begin());
                    u.deletes.kek_spis.push_back(k);
                }
            } else {
                u.notes.push_back("DELETE with SPI size " + std::to_string(d->spi_size) +
                                  " ignored (4 for a TEK, 16 for a KEK)");
            }
        }
    }
}

void detect_ejection(PushUpdate& u, std::span<const TekPolicy> current_teks) {
    // Juniper Group VPNv2: "the GC/KS sends a rekey message with only the old SAs and a
    // smaller DTD value ... Since it did not receive new SA keys, the member router tries to
    // re-register".
    if (!u.kek_rollover && !u.teks.empty() && u.new_tek_spis.empty() && u.gap &&
        u.gap->deactivation_delay &&
        std::all_of(u.teks.begin(), u.teks.end(), [&](const TekPolicy& t) {
            return t.lifetime.count() == 0 || *u.gap->deactivation_delay < t.lifetime;
        })) {
        u.ejection_suspected = true;
        u.ejection_reason = "push carries only TEKs already held, with DTD " +
                            std::to_string(u.gap->deactivation_delay->count()) +
                            " s shorter than their remaining life";
        return;
    }
    // "... the GC/KS sends a delete payload for the SPI of the old SA. The group member router
    // deletes the SA immediately and attempts to re-register".
    if (u.new_tek_spis.empty() && !current_teks.empty()) {
        for (const auto& t : current_teks) {
            if (u.deletes.all_teks ||
                std::count(u.deletes.tek_spis.begin(), u.deletes.tek_spis.end(), t.spi) > 0) {
                u.ejection_suspected = true;
                u.ejection_reason = u.deletes.all_teks ? "delete of every TEK with no replacement"
                                                       : "delete of TEK " + spi_hex(t.spi) +
                                                             " in use with no replacement";
                return;
            }
        }
    }
}

} // namespace

std::variant<PushUpdate, std::string> interpret_push(const Message& m, const KekPolicy& current_kek,
                                                     std::span<const TekPolicy> current_teks,
                                                     const ServerQuirks& quirks, TimePoint now) {
    PushUpdate u;
    u.received_at = now;
    if (auto* seq = m.find<SeqPayload>()) u.sequence = seq->sequence;

    const KdPayload* kd = m.find<KdPayload>();
    const KeyPacket* kd_kek = nullptr;
    auto tek_packet = [&](uint32_t spi) -> const KeyPacket* {
        if (!kd) return nullptr;
        for (const auto& p : kd->packets)
            if (p.kd_type == kd_type::tek && p.spi.size() == kTekSpiSize && spi_u32(p.spi) == spi)
                return &p;
        return nullptr;
    };
    if (kd)
        for (const auto& p : kd->packets)
            if (p.kd_type == kd_type::kek && !kd_kek) kd_kek = &p;

    auto sas = m.find_all<GdoiSaPayload>();
    if (sas.size() > 1)
        return std::string("push carries " + std::to_string(sas.size()) + " SA payloads");
    if (!sas.empty()) {
        const GdoiSaPayload& sa = *sas.front();
        if (const SaKekPayload* k = sa.kek()) {
            auto kek = kek_from_wire(*k, kd_kek, current_kek, u.notes);
            if (!kek.value) return kek.error;
            u.kek_rollover =
                kek.value->spi != current_kek.spi || kek.value->cipher != current_kek.cipher ||
                !same_kek_key(kek.value->cipher, kek.value->key.reveal(), current_kek.key.reveal());
            u.kek = std::move(kek.value);
        } else if (kd_kek) {
            u.notes.push_back("KD KEK packet without an SA KEK ignored");
        }
        // A malformed GAP refuses the push as it refuses a registration (pull/group_policy_read).
        if (const GapPayload* g = sa.gap()) {
            try {
                u.gap = gap_from_wire(*g);
            } catch (const PolicyError& e) {
                return std::string(e.what());
            }
        }
        for (const SaTekPayload* t : sa.teks()) {
            auto tek = tek_from_wire(*t, tek_packet(t->spi), quirks);
            if (!tek.value) {
                u.rejected_teks.push_back({t->spi, tek.error});
                continue;
            }
            if (known(u.teks, t->spi)) return "TEK " + spi_hex(t->spi) + " appears twice";
            if (auto problem = check_installable(*tek.value, u.notes)) {
                u.rejected_teks.push_back({t->spi, *problem});
                continue;
            }
            u.teks.push_back(std::move(*tek.value));
        }
    } else if (kd) {
        u.notes.push_back("KD without an SA payload ignored");
    }
    reject_unpaired(u, current_teks);
    // A KEK that expires before the TEKs is accepted (nothing is unsafe about it), but no push
    // can be received once it is gone: the member pulls before then (its pull window follows
    // the KEK), and the operator is told why it will.
    if (const KekPolicy* k = u.kek ? &*u.kek : nullptr; k && k->lifetime.count() > 0)
        for (const auto& t : u.teks)
            if (t.lifetime > k->lifetime) {
                u.notes.push_back("KEK lifetime " + std::to_string(k->lifetime.count()) +
                                  " s is shorter than TEK " + spi_hex(t.spi) + "'s " +
                                  std::to_string(t.lifetime.count()) +
                                  " s: the member pulls new keys before the KEK expires");
                break;
            }
    for (const auto& t : u.teks)
        if (!known(current_teks, t.spi)) u.new_tek_spis.push_back(t.spi);

    read_deletes(u, m);
    const KekPolicy& asking = u.kek ? *u.kek : current_kek;
    u.ack_request = asking.ack_request;
    u.ack_type = asking.ack_type;
    detect_ejection(u, current_teks);
    return u;
}

} // namespace gdoi::push
