// The reference key server's real pushes (test/vectors/reference-ks) through PushReceiver and
// apply(): starting from the KEK the PULL delivered, every push is accepted in order, the KEK
// rollover is followed, and every damaged, replayed, stale or truncated copy is refused with
// the reason an operator would need, without touching the group state.
#include "gdoi/crypto/cbc_cipher.hpp"
#include "gdoi/push/push_apply.hpp"
#include "gdoi/push/push_crypto.hpp"
#include "gdoi/push/push_policy_codec.hpp"
#include "gdoi/push/push_receiver.hpp"
#include "gdoi/wire/message.hpp"
#include "test/support/pcap_reader.hpp"

#include <catch2/catch.hpp>
#include <fstream>
#include <iterator>

using namespace gdoi;
using namespace gdoi::push;
using namespace gdoi::wire;
using test_support::from_hex;
using test_support::read_udp_datagrams;
using test_support::reference_vector_path;

namespace {

ServerQuirks reference_quirks() {
    ServerQuirks q;
    q.group_id_byte_order = GroupIdByteOrder::little_endian;
    q.sa_tek_ipv4_byte_reversed = true;
    q.phase1_doi = doi::gdoi;
    return q;
}

struct Push {
    TimePoint at;
    std::vector<uint8_t> bytes;
};

std::vector<Push> pushes(const char* file) {
    std::vector<Push> out;
    for (auto& d : read_udp_datagrams(reference_vector_path(file)))
        if (d.payload.size() > 28 && d.payload[18] == exchange::groupkey_push)
            out.push_back(
                {TimePoint{} + std::chrono::milliseconds(int64_t(d.timestamp * 1000)), d.payload});
    return out;
}

std::vector<uint8_t> der_file() {
    std::ifstream f(reference_vector_path("ks-rsa-public.der"), std::ios::binary);
    return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
}

// The group as PULL messages 2 (SA) and 4 (SEQ, KD) of the key server's plaintext log give it.
GroupPolicy pulled_group() {
    auto frames = read_udp_datagrams(reference_vector_path("ks-plaintext-log.pcap"));
    DecodeContext ctx{reference_quirks(), TrailingData::padding};
    Message m2 = decode_message(frames.at(7).payload, ctx);
    Message m4 = decode_message(frames.at(9).payload, ctx);
    auto* sa = m2.find<GdoiSaPayload>();
    auto* kd = m4.find<KdPayload>();
    REQUIRE(sa);
    REQUIRE(kd);
    REQUIRE(sa->kek());
    GroupPolicy g;
    std::vector<std::string> notes;
    const KeyPacket* kek_packet = nullptr;
    for (auto& p : kd->packets)
        if (p.kd_type == kd_type::kek) kek_packet = &p;
    auto kek = kek_from_wire(*sa->kek(), kek_packet, KekPolicy{}, notes);
    INFO(kek.error);
    REQUIRE(kek.value);
    g.kek = kek.value;
    for (auto* t : sa->teks()) {
        const KeyPacket* tp = nullptr;
        for (auto& p : kd->packets)
            if (p.kd_type == kd_type::tek && p.spi.size() == 4 &&
                ((uint32_t(p.spi[0]) << 24 | uint32_t(p.spi[1]) << 16 | uint32_t(p.spi[2]) << 8 |
                  p.spi[3]) == t->spi))
                tp = &p;
        auto tek = tek_from_wire(*t, tp, reference_quirks());
        INFO(tek.error);
        REQUIRE(tek.value);
        g.teks.push_back(*tek.value);
    }
    REQUIRE(m4.find<SeqPayload>());
    g.sequence = m4.find<SeqPayload>()->sequence;
    if (sa->gap()) g.gap = gap_from_wire(*sa->gap());
    return g;
}

PushReceiverConfig reference_config() {
    return PushReceiverConfig{reference_quirks(), IpAddress::v4(10, 248, 0, 2)};
}

// Re-encrypts a (modified) plaintext push under `kek`, keeping the header as it is.
std::vector<uint8_t> reencrypt(const std::vector<uint8_t>& plain, const KekPolicy& kek) {
    auto body = crypto::cbc_encrypt(kek_cbc_cipher(kek), kek.key, kek.iv,
                                    std::span(plain).subspan(kHeaderSize));
    // Sized up front: GCC 12 -O2 misreports inserts into a fresh vector (-Wstringop-overflow).
    std::vector<uint8_t> out(kHeaderSize + body.size());
    std::copy_n(plain.begin(), kHeaderSize, out.begin());
    std::copy(body.begin(), body.end(), out.begin() + kHeaderSize);
    return out;
}

} // namespace

TEST_CASE("reference: the KEK from PULL message 4 is the README's initial KEK",
          "[push][reference]") {
    GroupPolicy g = pulled_group();
    CHECK(hex(g.kek->spi) == "bc69f081d589998325283a0ce95baebc");
    CHECK(g.kek->cipher == KekCipher::des3_cbc);
    CHECK(hex(g.kek->key.reveal()) == "daf94bd9ab8f12c98c0df8c4f7645a5c29f87f4aa710aa94");
    CHECK(hex(g.kek->iv) == "254ccc0ecd25a5ef");
    CHECK(g.kek->signature_hash == SignatureHash::sha1);
    CHECK(g.kek->public_key_der == der_file());
    CHECK(g.sequence == 0u);
    REQUIRE(g.teks.size() == 1);
    CHECK(g.teks[0].selector.destination.range.first == IpAddress::v4(239, 192, 1, 1));
}

TEST_CASE("reference: every push is accepted in order, the KEK rollover is followed",
          "[push][reference]") {
    auto wire = pushes("wire.pcap");
    auto decrypted = pushes("wire-pushes-decrypted.pcap");
    REQUIRE(wire.size() == 5);
    REQUIRE(decrypted.size() == wire.size());

    GroupPolicy group = pulled_group();
    const KekSpi initial_spi = group.kek->spi;
    PushReceiver receiver(reference_config());
    std::vector<uint32_t> seqs;
    size_t rollovers = 0, tek_pushes = 0, delete_pushes = 0;
    for (size_t i = 0; i < wire.size(); ++i) {
        CAPTURE(i);
        const KekPolicy kek_before = *group.kek;
        auto v =
            receiver.receive(wire[i].bytes, kek_before, *group.sequence, wire[i].at, group.teks);
        INFO(v.message);
        REQUIRE(v.accepted());
        // Our plaintext is the body the decrypted capture shows (its header has E cleared).
        auto plaintext = v.plaintext.reveal();
        REQUIRE(plaintext.size() == decrypted[i].bytes.size());
        CHECK(std::equal(plaintext.begin() + 28, plaintext.end(), decrypted[i].bytes.begin() + 28));
        CHECK((decrypted[i].bytes[19] & flags::encryption) == 0);
        const PushUpdate& u = *v.update;
        seqs.push_back(u.sequence);
        CHECK_FALSE(v.ack); // the reference KEK does not ask for acks

        if (u.kek_rollover) {
            ++rollovers;
            CHECK(u.kek->spi != kek_before.spi);
            CHECK_FALSE(
                same_kek_key(KekCipher::des3_cbc, u.kek->key.reveal(), kek_before.key.reveal()));
            CHECK(u.kek->public_key_der == der_file());
            bool noted = false;
            for (auto& n : u.notes)
                noted |= n.find("old KEK SPI") != std::string::npos;
            CHECK(noted); // its KD packet is labelled with the old SPI
        }
        if (u.gap) { // every SA of this server carries GAP ATD 60 / DTD 90
            CHECK(u.gap->activation_delay == std::chrono::seconds(60));
            CHECK(u.gap->deactivation_delay == std::chrono::seconds(90));
        }
        if (!u.teks.empty()) {
            ++tek_pushes;
            CHECK(u.new_tek_spis.size() == 1);
            for (auto& t : u.teks) {
                CHECK(t.cipher == TekCipher::des3_cbc);
                CHECK(t.cipher_key.size() == 24);
                CHECK(t.integrity == TekIntegrity::hmac_sha1);
                CHECK(t.integrity_key.size() == 20);
                CHECK(t.preservation == AddressPreservation::destination_only);
                CHECK(t.direction == SaDirection::receiver_only);
                CHECK(t.selector.destination.range.first == IpAddress::v4(239, 192, 1, 1));
            }
        }
        if (i == 0) {
            // The first TEK push repeats the old TEK with the time it has left (LIFE_DURATION
            // is time LEFT), next to the new one.
            REQUIRE(u.teks.size() == 2);
            CHECK(u.teks[0].spi == 0x227192ddu);
            CHECK(u.teks[0].lifetime == std::chrono::seconds(60));
            CHECK(u.teks[1].spi == 0xcbb49dcau);
            CHECK(u.teks[1].lifetime == std::chrono::seconds(120));
            CHECK(u.new_tek_spis == std::vector<uint32_t>{0xcbb49dca});
        }
        if (!u.deletes.empty()) {
            ++delete_pushes;
            CHECK_FALSE(u.deletes.tek_spis.empty());
            CHECK(u.teks.empty());
        }

        auto applied = apply(group, u, wire[i].at);
        for (auto& e : applied.events)
            INFO(e);
        CHECK(applied.kek_rolled_over == u.kek_rollover);
        group = applied.next;
        REQUIRE(group.kek);

        // A push is accepted once: the same datagram again is a replay.
        auto again =
            receiver.receive(wire[i].bytes, *group.kek, *group.sequence, wire[i].at, group.teks);
        if (u.kek_rollover)
            CHECK(again.reason == PushReason::unknown_kek_spi); // old KEK is gone
        else
            CHECK(again.reason == PushReason::replayed_seq);
        if (u.kek_rollover && i + 1 < wire.size()) {
            // The next push is accepted only under the new KEK.
            auto stale = receiver.receive(wire[i + 1].bytes, kek_before, *group.sequence,
                                          wire[i + 1].at, group.teks);
            CHECK(stale.reason == PushReason::unknown_kek_spi);
            CHECK(stale.message.find("unknown KEK SPI") != std::string::npos);
        }
    }
    CHECK(seqs == std::vector<uint32_t>{1, 2, 3, 4, 5});
    CHECK(rollovers == 1);
    CHECK(tek_pushes == 3); // 60 s, 120 s (after the KEK rekey) and 180 s
    CHECK(delete_pushes == 1);
    CHECK(group.kek->spi != initial_spi);
    CHECK(receiver.counters()[PushReason::accepted] == 5);
}

TEST_CASE("reference: the DELETE push in the key server's log is understood", "[push][reference]") {
    auto wire = pushes("wire.pcap");
    auto logged = pushes("ks-plaintext-log.pcap");
    REQUIRE_FALSE(logged.empty());
    // The DELETE sent at shutdown. The log holds the ciphertext but its writer clears the E
    // flag; restored, the datagram is exactly the one on the wire.
    auto last = logged.back();
    CHECK((last.bytes[19] & flags::encryption) == 0);
    last.bytes[19] |= flags::encryption;
    CHECK(last.bytes == wire.back().bytes);
    {
        auto as_logged = logged.back();
        GroupPolicy g = pulled_group();
        CHECK(PushReceiver(reference_config())
                  .receive(as_logged.bytes, *g.kek, 0, last.at, g.teks)
                  .reason == PushReason::not_encrypted);
    }

    GroupPolicy group = pulled_group();
    PushReceiver receiver(reference_config());
    for (size_t i = 0; i + 1 < wire.size(); ++i) {
        auto v =
            receiver.receive(wire[i].bytes, *group.kek, *group.sequence, wire[i].at, group.teks);
        REQUIRE(v.accepted());
        group = apply(group, *v.update, wire[i].at).next;
    }
    auto v = receiver.receive(last.bytes, *group.kek, *group.sequence, last.at, group.teks);
    INFO(v.message);
    REQUIRE(v.accepted());
    const PushUpdate& u = *v.update;
    CHECK(u.sequence == 5u);
    CHECK_FALSE(u.kek);
    CHECK(u.teks.empty());
    REQUIRE_FALSE(u.deletes.tek_spis.empty());
    // Every TEK the member holds is named: the member is left without keys and must re-register.
    for (auto& t : group.teks)
        CHECK(std::count(u.deletes.tek_spis.begin(), u.deletes.tek_spis.end(), t.spi) == 1);
    CHECK(u.ejection_suspected);
    auto applied = apply(group, u, last.at);
    CHECK(applied.next.teks.empty());
    CHECK(applied.reregister);
    bool logged_delete = false;
    for (auto& e : applied.events)
        logged_delete |= e.rfind("delete: TEK spi 0x", 0) == 0;
    CHECK(logged_delete);
}

TEST_CASE("reference: damaged, replayed and truncated pushes are refused with their reason",
          "[push][reference]") {
    auto wire = pushes("wire.pcap");
    GroupPolicy group = pulled_group();
    PushReceiver receiver(reference_config());
    for (size_t i = 0; i < wire.size(); ++i) {
        CAPTURE(i);
        const auto& push = wire[i].bytes;
        const KekPolicy kek = *group.kek;
        const uint32_t seq = *group.sequence;
        auto check = [&](const std::vector<uint8_t>& bad) {
            return receiver.receive(bad, kek, seq, wire[i].at, group.teks);
        };

        // One bit flipped in the ciphertext: garbage after decryption or a failing signature.
        for (size_t at = 28; at < push.size(); at += 5) {
            auto bad = push;
            bad[at] ^= 0x04;
            auto v = check(bad);
            CAPTURE(at, v.message);
            CHECK((v.reason == PushReason::malformed || v.reason == PushReason::bad_signature));
            CHECK_FALSE(v.update);
        }
        // One bit flipped in each header octet: each check names its own reason.
        for (size_t at = 0; at < 28; ++at) {
            auto bad = push;
            bad[at] ^= at == 17 ? 0x10 : 0x01;
            auto v = check(bad);
            CAPTURE(at, v.message);
            CHECK_FALSE(v.accepted());
            if (at < 16) CHECK(v.reason == PushReason::unknown_kek_spi);
            if (at == 16)
                CHECK((v.reason == PushReason::malformed || v.reason == PushReason::bad_signature));
            if (at == 17 || at >= 24) CHECK(v.reason == PushReason::bad_header);
            if (at == 18) CHECK(v.reason == PushReason::not_push);
            if (at == 19) CHECK(v.reason == PushReason::not_encrypted);
            if (at >= 20 && at < 24) CHECK(v.reason == PushReason::bad_signature);
        }
        // One bit flipped in the signature itself (re-encrypted so only the SIG differs).
        {
            auto good = check(push);
            REQUIRE(good.accepted());
            const std::vector<uint8_t> good_plain(good.plaintext.reveal().begin(),
                                                  good.plaintext.reveal().end());
            auto chain = walk_payload_chain(good_plain);
            auto sig = chain.payloads.back();
            REQUIRE(sig.type == payload::signature);
            auto plain = good_plain;
            plain[sig.offset + 4 + (sig.length - 4) / 2] ^= 0x80;
            auto v = check(reencrypt(plain, kek));
            CHECK(v.reason == PushReason::bad_signature);
            // The unmodified plaintext re-encrypted is the original push again.
            CHECK(check(reencrypt(good_plain, kek)).accepted());
        }
        // Truncation: with the length field left alone, then with it made consistent.
        for (size_t cut : {size_t(0), size_t(10), size_t(28), size_t(29), size_t(36),
                           push.size() - 8, push.size() - 1}) {
            std::vector<uint8_t> bad(push.begin(), push.begin() + long(cut));
            auto v = check(bad);
            CAPTURE(cut, v.message);
            CHECK(v.reason == PushReason::bad_header);
            if (cut >= 28) {
                rewrite_header_length(bad, uint32_t(cut));
                auto w = check(bad);
                CAPTURE(w.message);
                CHECK(((cut - 28) % 8 != 0 || cut == 28 ? w.reason == PushReason::decrypt_failed
                                                        : w.reason == PushReason::malformed));
            }
        }
        for (size_t cut = 36; cut < push.size(); cut += 8) {
            std::vector<uint8_t> bad(push.begin(), push.begin() + long(cut));
            rewrite_header_length(bad, uint32_t(cut));
            auto v = check(bad);
            CAPTURE(cut, v.message);
            CHECK(v.reason == PushReason::malformed);
        }

        // Nothing of the above consumed anything: the genuine push is still accepted.
        auto v = check(push);
        REQUIRE(v.accepted());
        group = apply(group, *v.update, wire[i].at).next;
    }
    CHECK(receiver.counters()[PushReason::unknown_kek_spi] == 16 * wire.size());
    CHECK(receiver.counters().rejected() > 0);
}
