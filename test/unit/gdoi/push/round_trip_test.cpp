// build_push (test key server) -> PushReceiver (member) for every KEK cipher, signature hash and
// signature form, with deletes, KEK rollover, GAP-only updates, refused TEKs and RFC 8263 acks
// checked by verify_ack (the key server side).
#include "gdoi/crypto/prf.hpp"
#include "gdoi/push/push_ack.hpp"
#include "gdoi/push/push_builder.hpp"
#include "gdoi/push/push_crypto.hpp"
#include "gdoi/push/push_receiver.hpp"

#include <catch2/catch.hpp>
#include <tuple>

using namespace gdoi;
using namespace gdoi::push;
using crypto::SignatureForm;

namespace {

const crypto::KekPrivateKey& ks_key() {
    static const crypto::KekPrivateKey key =
        crypto::KekPrivateKey::generate(crypto::KekSignatureScheme::rsa, 2048);
    return key;
}

KekSpi spi_of(uint8_t fill) {
    KekSpi s{};
    for (size_t i = 0; i < s.size(); ++i)
        s[i] = uint8_t(fill + i);
    return s;
}

KekPolicy make_kek(KekCipher cipher, uint16_t bits, SignatureHash hash, uint8_t fill) {
    KekPolicy k;
    k.spi = spi_of(fill);
    k.cipher = cipher;
    k.key_bits = cipher == KekCipher::des3_cbc ? 192 : bits;
    k.key = crypto::random_secret(k.key_bits / 8);
    k.iv = crypto::random_bytes(cipher == KekCipher::des3_cbc ? 8 : 16);
    k.signature_hash = hash;
    k.public_key_der = ks_key().public_key_der();
    k.signature_key_bits = 2048;
    k.lifetime = std::chrono::seconds(86400);
    k.source = SelectorEndpoint::from_prefix(*IpPrefix::parse("192.0.2.1/32"), 848);
    k.destination = SelectorEndpoint::from_prefix(*IpPrefix::parse("239.10.1.1/32"), 848);
    return k;
}

TekPolicy make_tek(uint32_t spi, TekCipher cipher = TekCipher::aes_cbc, uint16_t bits = 256) {
    TekPolicy t;
    t.spi = spi;
    t.selector.source = SelectorEndpoint::from_prefix(*IpPrefix::parse("10.1.0.0/16"));
    t.selector.destination = SelectorEndpoint::from_prefix(*IpPrefix::parse("10.1.0.0/16"));
    t.cipher = cipher;
    t.cipher_key_bits = cipher == TekCipher::des3_cbc ? 192 : bits;
    t.cipher_key =
        crypto::random_secret(t.cipher_key_bits / 8 + (cipher == TekCipher::aes_gcm_16 ? 4 : 0));
    t.integrity = cipher == TekCipher::aes_gcm_16 ? TekIntegrity::none : TekIntegrity::hmac_sha256;
    t.integrity_key = cipher == TekCipher::aes_gcm_16 ? SecretBytes() : crypto::random_secret(32);
    t.lifetime = std::chrono::seconds(3600);
    return t;
}

PushSpec base_spec(const KekPolicy& kek, uint32_t seq) {
    PushSpec s;
    s.kek = kek;
    s.signer = &ks_key();
    s.sequence = seq;
    return s;
}

const IpAddress kMember = IpAddress::v4(192, 0, 2, 10);

PushReceiver member() {
    return PushReceiver(PushReceiverConfig{ServerQuirks{}, kMember});
}

// A member configured to answer RFC 8263 ack requests (gdoid.conf push-ack = true).
PushReceiver answering_member() {
    return PushReceiver(PushReceiverConfig{ServerQuirks{}, kMember, true});
}

} // namespace

TEST_CASE("round trip: TEK push for every KEK cipher, signature hash and form",
          "[push][round-trip]") {
    struct Case {
        KekCipher cipher;
        uint16_t bits;
        SignatureHash hash;
        SignatureForm form;
    };
    std::vector<Case> cases;
    for (auto [c, b] : {std::pair{KekCipher::des3_cbc, uint16_t(192)},
                        std::pair{KekCipher::aes_cbc, uint16_t(128)},
                        std::pair{KekCipher::aes_cbc, uint16_t(256)}})
        for (auto h : {SignatureHash::sha1, SignatureHash::sha256})
            for (auto f : {SignatureForm::bare_digest, SignatureForm::digest_info})
                cases.push_back({c, b, h, f});

    for (const auto& c : cases) {
        CAPTURE(int(c.cipher), c.bits, int(c.hash), int(c.form));
        KekPolicy kek = make_kek(c.cipher, c.bits, c.hash, 0x10);
        TekPolicy old_tek = make_tek(0x1000);
        TekPolicy new_tek = make_tek(0x2000);
        PushSpec spec = base_spec(kek, 7);
        spec.signature_form = c.form;
        spec.sa_kek = kek;
        spec.gap = GroupAssociatedPolicy{std::chrono::seconds(60), std::chrono::seconds(90), {}};
        spec.teks = {old_tek, new_tek};
        auto datagram = build_push(spec);

        auto rx = member();
        auto v = rx.receive(datagram, kek, 6, TimePoint{}, std::vector{old_tek});
        INFO(v.message);
        REQUIRE(v.accepted());
        const auto& u = *v.update;
        CHECK(u.sequence == 7u);
        CHECK_FALSE(u.kek_rollover);
        REQUIRE(u.teks.size() == 2);
        CHECK(u.new_tek_spis == std::vector<uint32_t>{0x2000});
        CHECK(u.teks[1].cipher_key == new_tek.cipher_key);
        CHECK(u.teks[1].integrity_key == new_tek.integrity_key);
        CHECK(u.teks[1].selector == new_tek.selector);
        REQUIRE(u.gap);
        CHECK(u.gap->activation_delay == std::chrono::seconds(60));
        CHECK_FALSE(u.ejection_suspected);

        // Same push, SEQ not above the last: replay. Another KEK key: refused, never accepted.
        CHECK(rx.receive(datagram, kek, 7, TimePoint{}).reason == PushReason::replayed_seq);
        KekPolicy wrong = kek;
        wrong.key = crypto::random_secret(kek.key.size());
        auto w = rx.receive(datagram, wrong, 6, TimePoint{});
        CHECK((w.reason == PushReason::malformed || w.reason == PushReason::bad_signature));
        // Another key server key: bad signature.
        KekPolicy other_ks = kek;
        static const auto other = crypto::RsaPrivateKey::generate(1024).public_key_der();
        other_ks.public_key_der = other;
        CHECK(rx.receive(datagram, other_ks, 6, TimePoint{}).reason == PushReason::bad_signature);
    }
}

TEST_CASE("round trip: KEK rollover, parity-only change, GAP-only, deletes", "[push][round-trip]") {
    KekPolicy kek = make_kek(KekCipher::des3_cbc, 192, SignatureHash::sha256, 0x20);
    auto rx = member();

    SECTION("rollover labelled with the old SPI; the next push only under the new KEK") {
        KekPolicy next = make_kek(KekCipher::aes_cbc, 256, SignatureHash::sha256, 0x40);
        PushSpec spec = base_spec(kek, 2);
        spec.sa_kek = next;
        spec.kd_kek_label_old_spi = true;
        auto v = rx.receive(build_push(spec), kek, 1, TimePoint{});
        INFO(v.message);
        REQUIRE(v.accepted());
        REQUIRE(v.update->kek);
        CHECK(v.update->kek_rollover);
        CHECK(v.update->kek->spi == next.spi);
        CHECK(v.update->kek->key == next.key);
        CHECK(v.update->kek->iv == next.iv);

        PushSpec after = base_spec(next, 3);
        after.teks = {make_tek(0x3000)};
        auto datagram = build_push(after);
        CHECK(rx.receive(datagram, kek, 2, TimePoint{}).reason == PushReason::unknown_kek_spi);
        CHECK(rx.receive(datagram, *v.update->kek, 2, TimePoint{}).accepted());
    }
    SECTION("3DES key differing only in parity bits is the same KEK") {
        KekPolicy parity = kek;
        auto bytes = parity.key.reveal_mutable();
        for (auto& b : bytes)
            b ^= 0x01;
        PushSpec spec = base_spec(kek, 2);
        spec.sa_kek = parity;
        auto v = rx.receive(build_push(spec), kek, 1, TimePoint{});
        REQUIRE(v.accepted());
        CHECK_FALSE(v.update->kek_rollover);
    }
    SECTION("GAP-only update") {
        PushSpec spec = base_spec(kek, 2);
        spec.gap = GroupAssociatedPolicy{std::nullopt, std::chrono::seconds(0), {}};
        auto v = rx.receive(build_push(spec), kek, 1, TimePoint{});
        REQUIRE(v.accepted());
        CHECK(v.update->teks.empty());
        REQUIRE(v.update->gap);
        CHECK_FALSE(v.update->gap->activation_delay);                        // absent
        CHECK(v.update->gap->deactivation_delay == std::chrono::seconds(0)); // present, 0
    }
    SECTION("deletes: TEK SPIs, SPI 0, KEK SPIs") {
        PushSpec spec = base_spec(kek, 2);
        spec.deletes.tek_spis = {0x1000, 0x1001};
        spec.deletes.all_teks = true;
        spec.deletes.kek_spis = {kek.spi};
        auto v = rx.receive(build_push(spec), kek, 1, TimePoint{}, std::vector{make_tek(0x1000)});
        INFO(v.message);
        REQUIRE(v.accepted());
        const auto& d = v.update->deletes;
        CHECK(d.tek_spis == std::vector<uint32_t>{0x1000, 0x1001});
        CHECK(d.all_teks);
        CHECK(d.kek_spis == std::vector<KekSpi>{kek.spi});
        CHECK(v.update->ejection_suspected);
    }
}

TEST_CASE("round trip: unusable TEKs are refused, never passed on", "[push][round-trip]") {
    KekPolicy kek = make_kek(KekCipher::aes_cbc, 128, SignatureHash::sha256, 0x30);
    auto rx = member();
    TekPolicy good = make_tek(0x10);
    TekPolicy no_key = make_tek(0x11);
    no_key.cipher_key = SecretBytes();
    TekPolicy zero_length = make_tek(0x12);
    zero_length.cipher_key_bits = 0; // KEY_LENGTH 0: a known server bug
    TekPolicy short_key = make_tek(0x13);
    short_key.cipher_key = crypto::random_secret(16); // says 256 bits
    TekPolicy gcm = make_tek(0x14, TekCipher::aes_gcm_16, 128);
    TekPolicy unpaired = make_tek(0x15);
    unpaired.selector.destination = SelectorEndpoint::from_prefix(*IpPrefix::parse("10.2.0.0/16"));

    PushSpec spec = base_spec(kek, 2);
    spec.teks = {good, no_key, zero_length, short_key, gcm, unpaired};
    auto v = rx.receive(build_push(spec), kek, 1, TimePoint{});
    INFO(v.message);
    REQUIRE(v.accepted());
    const auto& u = *v.update;
    REQUIRE(u.teks.size() == 2);
    CHECK(u.teks[0].spi == 0x10u);
    CHECK(u.teks[1].spi == 0x14u);
    CHECK(u.teks[1].receive_only);
    CHECK(u.teks[1].cipher_key == gcm.cipher_key);
    REQUIRE(u.rejected_teks.size() == 4);
    CHECK(u.rejected_teks[0].reason.find("TEK_ALGORITHM_KEY") != std::string::npos);
    CHECK(u.rejected_teks[1].reason.find("key length 0") != std::string::npos);
    CHECK(u.rejected_teks[2].reason.find("octets") != std::string::npos);
    CHECK(u.rejected_teks[3].reason.find("pairs") != std::string::npos);
    CHECK(rx.counters().rejected_teks == 4);
}

TEST_CASE("round trip: acks of types 1 and 3 are built and verified when answering is on",
          "[push][ack]") {
    // RFC 8263 2.1 / 2.3: REKEY_ACK_KEK_SHA256 and _SHA512, HMAC output 32 / 64 octets.
    for (uint16_t type : {uint16_t(1), uint16_t(3)}) {
        CAPTURE(type);
        KekPolicy kek = make_kek(KekCipher::aes_cbc, 256, SignatureHash::sha256, 0x50);
        kek.ack_request = AckRequest::rfc8263;
        kek.ack_type = type;
        PushSpec spec = base_spec(kek, 9);
        spec.sa_kek = kek;
        spec.teks = {make_tek(0x77)};
        auto rx = answering_member();
        KekPolicy member_kek = kek;
        member_kek.ack_request = AckRequest::none; // the push's own SA KEK asks
        auto v = rx.receive(build_push(spec), member_kek, 8, TimePoint{});
        INFO(v.message);
        REQUIRE(v.accepted());
        CHECK(v.update->ack_request == AckRequest::rfc8263);
        CHECK(v.update->ack_type == type);
        CHECK_FALSE(v.ack_declined);
        REQUIRE(v.ack);
        const size_t hash_octets = type == 1 ? 32 : 64;
        CHECK(v.ack->size() == 28 + 4 + hash_octets + 8 + 12);
        CHECK((*v.ack)[18] == 35);
        CHECK(((*v.ack)[19] & 0x01) == 0); // in the clear

        auto ok = verify_ack(*v.ack, kek);
        INFO(ok.reason);
        CHECK(ok.valid);
        CHECK(ok.sequence == 9u);
        CHECK(ok.member == kMember);

        KekPolicy other_type = kek;
        other_type.ack_type = type == 1 ? 3 : 1;
        CHECK_FALSE(verify_ack(*v.ack, other_type).valid);
        KekPolicy wrong = kek;
        wrong.key = crypto::random_secret(32);
        auto bad = verify_ack(*v.ack, wrong);
        CHECK_FALSE(bad.valid);
        CHECK(bad.reason.find("HASH") != std::string::npos);
        for (size_t at = 0; at < v.ack->size(); at += 3) {
            auto damaged = *v.ack;
            damaged[at] ^= 0x01;
            CAPTURE(at);
            CHECK_FALSE(verify_ack(damaged, kek).valid);
        }
        CHECK(rx.counters().acks_built == 1);
        CHECK(rx.counters().ack_requests_declined == 0);
    }
}

TEST_CASE("round trip: the registration's KEK asks when the push carries no SA KEK",
          "[push][ack]") {
    // RFC 8263 section 4: the request received in the PULL stands until an SA KEK says otherwise.
    KekPolicy kek = make_kek(KekCipher::aes_cbc, 128, SignatureHash::sha256, 0x58);
    kek.ack_request = AckRequest::rfc8263;
    PushSpec spec = base_spec(kek, 4);
    spec.teks = {make_tek(0x91)};
    auto v = answering_member().receive(build_push(spec), kek, 3, TimePoint{});
    REQUIRE(v.accepted());
    REQUIRE(v.ack);
    CHECK(verify_ack(*v.ack, kek).valid);

    // A push whose SA KEK no longer asks: the most recent SA KEK rules (section 7.2).
    KekPolicy quiet = kek;
    quiet.ack_request = AckRequest::none;
    spec.sequence = 5;
    spec.sa_kek = quiet;
    auto w = answering_member().receive(build_push(spec), kek, 4, TimePoint{});
    REQUIRE(w.accepted());
    CHECK_FALSE(w.ack);
    CHECK_FALSE(w.ack_declined);
}

TEST_CASE("round trip: ack requests gdoid does not answer are declined with the reason",
          "[push][ack]") {
    KekPolicy kek = make_kek(KekCipher::aes_cbc, 256, SignatureHash::sha256, 0x64);
    kek.ack_request = AckRequest::rfc8263;
    PushReceiverConfig config{ServerQuirks{}, kMember, true};
    std::string reason;
    SECTION("answering is off (the default)") {
        config.answer_ack_requests = PushReceiverConfig{}.answer_ack_requests;
        reason = "set not to answer ack requests";
    }
    SECTION("REKEY_ACK_LKH_SHA256: keyed with an LKH key") {
        kek.ack_type = 2;
        reason = "REKEY_ACK_LKH_SHA256 (2), keyed with an LKH key";
    }
    SECTION("REKEY_ACK_LKH_SHA512") {
        kek.ack_type = 4;
        reason = "REKEY_ACK_LKH_SHA512 (4)";
    }
    SECTION("an unassigned value") {
        kek.ack_type = 7;
        reason = "unassigned value 7, which RFC 8263 does not define";
    }
    SECTION("the reserved value 0") {
        kek.ack_type = 0;
        reason = "reserved value 0";
    }
    SECTION("Cisco's private attribute 129") {
        kek.ack_request = AckRequest::cisco_legacy;
        reason = "attribute 129";
    }
    SECTION("no member address for the ID payload") {
        config.member_address.reset();
        reason = "address";
    }
    PushSpec spec = base_spec(kek, 2);
    spec.sa_kek = kek;
    spec.teks = {make_tek(0x66)};
    PushReceiver rx(config);
    auto v = rx.receive(build_push(spec), kek, 1, TimePoint{});
    INFO(v.message);
    REQUIRE(v.accepted()); // a declined ack never refuses the push
    CHECK_FALSE(v.ack);
    REQUIRE(v.ack_declined);
    CHECK_THAT(*v.ack_declined, Catch::Contains(reason));
    CHECK(rx.counters().acks_built == 0);
    CHECK(rx.counters().ack_requests_declined == 1);
}

TEST_CASE("round trip: no request, no ack and nothing declined", "[push][ack]") {
    KekPolicy kek = make_kek(KekCipher::aes_cbc, 128, SignatureHash::sha1, 0x60);
    PushSpec spec = base_spec(kek, 1);
    spec.sa_kek = kek;
    auto rx = answering_member();
    auto v = rx.receive(build_push(spec), kek, 0, TimePoint{});
    REQUIRE(v.accepted());
    CHECK_FALSE(v.ack);
    CHECK_FALSE(v.ack_declined);
    CHECK(rx.counters().ack_requests_declined == 0);
}

TEST_CASE("ack key derivation follows RFC 8263 3.2 for both types", "[push][ack]") {
    KekPolicy kek = make_kek(KekCipher::aes_cbc, 128, SignatureHash::sha256, 0x70);
    const uint8_t label[] = "GROUPKEY-PUSH ACK"; // with its terminating NUL: 18 octets
    static_assert(sizeof label == 18);
    for (auto [type, prf, bits] : {std::tuple{uint16_t(1), crypto::HashAlgorithm::sha256, 512},
                                   std::tuple{uint16_t(3), crypto::HashAlgorithm::sha512, 1024}}) {
        CAPTURE(type);
        auto suite = ack_suite(type);
        REQUIRE(suite);
        const uint8_t length[2] = {uint8_t(bits >> 8), uint8_t(bits)};
        auto key = derive_ack_key(kek, *suite);
        CHECK(key == crypto::hmac(prf, kek.key.reveal(), {label, kek.spi, length}));
        CHECK(key.size() == crypto::hash_length(prf));
    }
    for (uint16_t type : std::initializer_list<uint16_t>{0, 2, 4, 5, 128, 129, 255})
        CHECK_FALSE(ack_suite(type));
}

TEST_CASE("round trip: an authentic push that cannot be applied is invalid_policy",
          "[push][round-trip]") {
    KekPolicy kek = make_kek(KekCipher::aes_cbc, 128, SignatureHash::sha256, 0x80);
    // A rollover to an AES KEK with a 64-bit key: later pushes could not be protected by it.
    KekPolicy broken = make_kek(KekCipher::aes_cbc, 128, SignatureHash::sha256, 0x90);
    broken.key_bits = 64;
    broken.key = crypto::random_secret(8);
    PushSpec spec = base_spec(kek, 3);
    spec.sa_kek = broken;
    spec.teks = {make_tek(0x42)};
    auto rx = member();
    auto v = rx.receive(build_push(spec), kek, 2, TimePoint{});
    CHECK(v.reason == PushReason::invalid_policy);
    CHECK(v.message.find("KEK_KEY_LENGTH 64") != std::string::npos);
    CHECK_FALSE(v.update); // nothing of it is passed on, not even the valid TEK
    CHECK_FALSE(v.ack);
    CHECK(rx.counters()[PushReason::invalid_policy] == 1);
    CHECK(rx.counters()[PushReason::accepted] == 0);
    CHECK(push_reason_name(v.reason) == "invalid_policy");
}

TEST_CASE("round trip: an authentic push with more TEKs than max-teks is refused whole",
          "[push][round-trip]") {
    KekPolicy kek = make_kek(KekCipher::aes_cbc, 128, SignatureHash::sha256, 0xa0);
    PushSpec spec = base_spec(kek, 5);
    for (uint32_t spi = 0x100; spi < 0x105; ++spi)
        spec.teks.push_back(make_tek(spi));
    PushReceiverConfig limited{ServerQuirks{}, kMember};
    limited.max_teks = 4;
    PushReceiver rx(limited);
    auto v = rx.receive(build_push(spec), kek, 4, TimePoint{});
    CHECK(v.reason == PushReason::invalid_policy);
    CHECK(v.message == "authentic push SEQ 5 carries 5 TEKs, more than max-teks (4): refused, nothing changed");
    CHECK_FALSE(v.update);
    CHECK(rx.counters()[PushReason::invalid_policy] == 1);

    limited.max_teks = 5; // exactly the limit is accepted
    PushReceiver at_limit(limited);
    auto accepted = at_limit.receive(build_push(spec), kek, 4, TimePoint{});
    CHECK(accepted.reason == PushReason::accepted);
    REQUIRE(accepted.update);
}

TEST_CASE("round trip: an ejection push (old TEK only, short DTD) is recognised",
          "[push][round-trip]") {
    KekPolicy kek = make_kek(KekCipher::aes_cbc, 128, SignatureHash::sha256, 0xa0);
    TekPolicy held = make_tek(0x55);
    PushSpec spec = base_spec(kek, 4);
    spec.sa_kek = kek;
    spec.gap = GroupAssociatedPolicy{std::nullopt, std::chrono::seconds(10), {}};
    spec.teks = {held}; // 3600 s left, DTD 10 s, nothing new
    auto v = member().receive(build_push(spec), kek, 3, TimePoint{}, std::vector{held});
    REQUIRE(v.accepted());
    CHECK(v.update->ejection_suspected);
    CHECK(v.update->ejection_reason.find("DTD 10 s") != std::string::npos);

    // The same shape with a new TEK is an ordinary rekey.
    spec.sequence = 5;
    spec.teks = {held, make_tek(0x56)};
    auto r = member().receive(build_push(spec), kek, 4, TimePoint{}, std::vector{held});
    REQUIRE(r.accepted());
    CHECK_FALSE(r.update->ejection_suspected);
}

TEST_CASE("round trip: an authentic push whose GAP holds a non-number is refused, not thrown",
          "[push][round-trip]") {
    // Found by fuzz-push (test/fuzz/corpus-push/regression-gap-attribute-not-a-number): the
    // GAP reader's PolicyError escaped the receiver, which must answer every datagram with a
    // verdict. The same GAP refuses a registration (pull/group_policy_read.cpp).
    KekPolicy kek = make_kek(KekCipher::aes_cbc, 128, SignatureHash::sha256, 0xb0);
    PushSpec spec = base_spec(kek, 6);
    spec.gap = GroupAssociatedPolicy{std::chrono::seconds(5), std::chrono::seconds(10), {}};
    spec.teks = {make_tek(0x51)};
    const auto chain = push_chain(spec, [](wire::Message& m) {
        for (auto& payload : m.payloads)
            if (auto* sa = payload.get<wire::GdoiSaPayload>())
                for (auto& attribute : sa->attributes)
                    if (auto* gap = std::get_if<wire::GapPayload>(&attribute)) {
                        const std::vector<uint8_t> odd(9, 0x42); // 9 octets: not a number
                        gap->attributes.push_back(wire::Attribute::tlv(25088, odd));
                    }
    });
    const auto datagram = seal_push(kek, ks_key(), SignatureForm::digest_info,
                                    wire::payload::sequence, chain);
    auto rx = member();
    auto v = rx.receive(datagram, kek, 5, TimePoint{});
    CHECK(v.reason == PushReason::invalid_policy);
    CHECK_THAT(v.message, Catch::Contains("GAP: attribute 25088 is not a number"));
    CHECK_FALSE(v.update);
    CHECK(rx.counters()[PushReason::invalid_policy] == 1);
}
