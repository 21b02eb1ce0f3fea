// A whole registration (Main Mode + GROUPKEY-PULL) of a member against the key server side in
// one process, over a network that loses, duplicates and reorders datagrams.
#include "gdoi/crypto/prf.hpp"
#include "gdoi/crypto/rsa_signature.hpp"
#include "gdoi/pull/key_server_endpoint.hpp"
#include "gdoi/pull/registration.hpp"
#include "gdoi/wire/constants.hpp"
#include "test/unit/gdoi/ike/lossy_network.hpp"

#include <catch2/catch.hpp>

using namespace gdoi;
using namespace gdoi::pull;
using gdoi::ike::LogLevel;
using gdoi::ike::Phase1Proposal;
using gdoi::ike::TimePoint;

namespace {

const IpAddress member_address = IpAddress::v4(192, 0, 2, 10);
const IpAddress server_address = IpAddress::v4(192, 0, 2, 1);
const char* psk = "twenty-or-more-characters-of-secret";

IpPrefix prefix(const char* text) {
    return *IpPrefix::parse(text);
}

TrafficSelector selector(const char* from, const char* to, uint8_t protocol = 0,
                         uint16_t port = 0) {
    return {protocol, SelectorEndpoint::from_prefix(prefix(from)),
            SelectorEndpoint::from_prefix(prefix(to), port)};
}

TekPolicy tek(uint32_t spi, TrafficSelector s, TekCipher cipher = TekCipher::aes_cbc,
              uint16_t bits = 256, TekIntegrity integrity = TekIntegrity::hmac_sha256) {
    TekPolicy t;
    t.spi = spi;
    t.selector = s;
    t.cipher = cipher;
    t.cipher_key_bits = cipher == TekCipher::des3_cbc ? 192 : bits;
    t.integrity = integrity;
    size_t key = cipher == TekCipher::des3_cbc ? 24 : bits / 8u;
    if (cipher == TekCipher::aes_gcm_16) key += 4;
    t.cipher_key = crypto::random_secret(key);
    if (integrity != TekIntegrity::none)
        t.integrity_key = crypto::random_secret(integrity == TekIntegrity::hmac_sha1 ? 20 : 32);
    t.lifetime = std::chrono::seconds(3600);
    t.preservation = AddressPreservation::destination_only;
    t.direction = SaDirection::symmetric;
    return t;
}

const crypto::RsaPrivateKey& ks_key() {
    static const auto key = crypto::RsaPrivateKey::generate(2048);
    return key;
}

GroupPolicy group_policy(uint32_t id) {
    GroupPolicy p;
    p.group_id = id;
    KekPolicy kek;
    auto spi = crypto::random_bytes(16);
    std::copy(spi.begin(), spi.end(), kek.spi.begin());
    kek.cipher = KekCipher::aes_cbc;
    kek.key_bits = 128;
    kek.key = crypto::random_secret(16);
    kek.iv = crypto::random_bytes(16);
    kek.signature_hash = SignatureHash::sha256;
    kek.signature_key_bits = 2048;
    kek.public_key_der = ks_key().public_key_der();
    kek.lifetime = std::chrono::seconds(86400);
    kek.ack_request = AckRequest::rfc8263;
    kek.ack_type = 3; // REKEY_ACK_KEK_SHA512: the attribute's value travels too
    kek.source = SelectorEndpoint::from_prefix(prefix("192.0.2.1/32"), 848);
    kek.destination = SelectorEndpoint::from_prefix(prefix("239.10.1.1/32"), 848);
    p.kek = std::move(kek);
    p.gap.activation_delay = std::chrono::seconds(60);
    p.gap.deactivation_delay = std::chrono::seconds(90);
    p.teks.push_back(tek(0x11111111, selector("10.1.0.0/16", "10.2.0.0/16")));
    p.teks.push_back(tek(0x22222222, selector("10.2.0.0/16", "10.1.0.0/16")));
    p.teks.push_back(tek(0x33333333, selector("10.1.0.0/16", "239.192.1.1/32", 17, 5000),
                         TekCipher::des3_cbc, 192, TekIntegrity::hmac_sha1));
    p.sequence = 7;
    return p;
}

void check_equal(const SelectorEndpoint& a, const SelectorEndpoint& b) {
    CHECK(a.range.first.to_string() == b.range.first.to_string());
    CHECK(a.range.last.to_string() == b.range.last.to_string());
    CHECK(a.port == b.port);
}

void check_equal(const GroupPolicy& got, const GroupPolicy& want) {
    CHECK(got.group_id == want.group_id);
    CHECK(got.sequence == want.sequence);
    CHECK(got.gap.activation_delay == want.gap.activation_delay);
    CHECK(got.gap.deactivation_delay == want.gap.deactivation_delay);
    REQUIRE(got.kek.has_value() == want.kek.has_value());
    if (want.kek) {
        const auto &g = *got.kek, &w = *want.kek;
        CHECK(g.spi == w.spi);
        CHECK(g.cipher == w.cipher);
        CHECK(g.key_bits == w.key_bits);
        CHECK(g.key == w.key);
        CHECK(g.iv == w.iv);
        CHECK(g.signature_hash == w.signature_hash);
        CHECK(g.signature_algorithm == w.signature_algorithm);
        CHECK(g.signature_key_bits == w.signature_key_bits);
        CHECK(g.public_key_der == w.public_key_der);
        CHECK(g.lifetime == w.lifetime);
        CHECK(g.ack_request == w.ack_request);
        CHECK(g.ack_type == w.ack_type);
        check_equal(g.source, w.source);
        check_equal(g.destination, w.destination);
    }
    REQUIRE(got.teks.size() == want.teks.size());
    for (size_t i = 0; i < want.teks.size(); ++i) {
        const auto &g = got.teks[i], &w = want.teks[i];
        CAPTURE(i, w.spi);
        CHECK(g.spi == w.spi);
        CHECK(g.selector == w.selector);
        CHECK(g.cipher == w.cipher);
        CHECK(g.cipher_key_bits == w.cipher_key_bits);
        CHECK(g.integrity == w.integrity);
        CHECK(g.cipher_key == w.cipher_key);
        CHECK(g.integrity_key == w.integrity_key);
        CHECK(g.lifetime == w.lifetime);
        CHECK(g.tunnel_mode == w.tunnel_mode);
        CHECK(g.preservation == w.preservation);
        CHECK(g.direction == w.direction);
    }
}

struct World {
    GroupPolicy served = group_policy(1234);
    PolicyEncodeOptions options;
    std::vector<IpAddress> authorised{member_address};
    std::vector<std::string> member_log, server_log;
    std::unique_ptr<KeyServerEndpoint> server;
    std::unique_ptr<Registration> member;
    std::function<void(test_net::Datagram&)> tamper_answer; // applied to the server's answers
    TimePoint now{};
    gdoi::ike::Duration budget = std::chrono::seconds(30);
    size_t max_teks = kDefaultMaxTeks;
    std::chrono::seconds phase1_lifetime{86400};
    test_net::Datagram last_from_member;

    void build(ServerQuirks quirks = {}, std::string member_psk = psk, uint32_t group = 1234) {
        const Phase1Proposal p{crypto::CbcCipher::aes256, crypto::HashAlgorithm::sha256,
                               crypto::DhGroup::modp2048, phase1_lifetime};
        KeyServerEndpointConfig ks;
        ks.phase1.local_address = server_address;
        ks.phase1.acceptable = {p};
        ks.phase1.pre_shared_key_for = [](const IpAddress&) {
            return std::optional<SecretBytes>(SecretBytes(std::string_view(psk)));
        };
        ks.log = [this](LogLevel, const std::string& s) { server_log.push_back(s); };
        ks.authorizer = [this](const IpAddress& m,
                               const std::vector<uint32_t>& ids) -> PullDecision {
            if (std::find(ids.begin(), ids.end(), served.group_id) == ids.end())
                return PullRefusal{wire::NotifyType::invalid_id_information, "unknown group"};
            if (std::find(authorised.begin(), authorised.end(), m) == authorised.end())
                return PullRefusal{wire::NotifyType::authentication_failed, "not authorised"};
            return PullGrant{served, options, served.sequence.value_or(0)};
        };
        options.quirks = quirks;
        server = std::make_unique<KeyServerEndpoint>(std::move(ks));
        RegistrationConfig rc;
        rc.phase1.local_address = member_address;
        rc.phase1.server_address = server_address;
        rc.phase1.pre_shared_key = SecretBytes(std::string_view(member_psk));
        rc.phase1.proposals = {p};
        rc.phase1.quirks = quirks;
        rc.phase1.log = [this](LogLevel, const std::string& s) { member_log.push_back(s); };
        rc.group_id = group;
        rc.max_teks = max_teks;
        rc.phase1.retransmit.budget = budget;
        rc.pull_retransmit.budget = budget;
        member = std::make_unique<Registration>(std::move(rc));
    }

    RegistrationEvent run(uint32_t seed = 1, test_net::Faults faults = {}) {
        test_net::LossyNetwork net(seed, faults);
        std::vector<RegistrationEvent> events;
        member->start(now);
        test_net::run(
            *member, net, now,
            [&](const test_net::Datagram& d, TimePoint t) {
                last_from_member = d;
                auto answers = server->on_datagram(member_address, d, t);
                if (tamper_answer)
                    for (auto& a : answers)
                        tamper_answer(a);
                return answers;
            },
            [&] {
                for (auto& e : member->take_events())
                    events.push_back(std::move(e));
                return !events.empty();
            });
        REQUIRE(events.size() == 1);
        return std::move(events[0]);
    }

    bool member_logged(const std::string& text) const {
        return std::any_of(member_log.begin(), member_log.end(),
                           [&](const std::string& l) { return l.find(text) != std::string::npos; });
    }
};

} // namespace

TEST_CASE("PULL: the member receives exactly the key server's policy", "[pull]") {
    World w;
    w.build();
    auto event = w.run();
    REQUIRE(event.kind == RegistrationEvent::Kind::registered);
    REQUIRE(event.policy);
    check_equal(*event.policy, w.served);
    CHECK_FALSE(event.policy->teks[0].receive_only);
    REQUIRE(w.server->registrations().size() == 1);
    CHECK(w.server->registrations()[0].group_id == 1234);
    CHECK(w.server->registrations()[0].member == member_address);
}

TEST_CASE("PULL: registration survives loss, duplication and reordering", "[pull]") {
    for (uint32_t seed = 1; seed <= 25; ++seed) {
        CAPTURE(seed);
        World w;
        w.budget = std::chrono::seconds(90); // many losses in a row are part of the test
        w.build();
        auto event = w.run(seed, {0.25, 0.25, std::chrono::milliseconds(1200)});
        CAPTURE(event.reason);
        if (event.kind != RegistrationEvent::Kind::registered)
            for (const auto& l : w.member_log)
                UNSCOPED_INFO(l);
        REQUIRE(event.kind == RegistrationEvent::Kind::registered);
        check_equal(*event.policy, w.served);
        CHECK(w.server->registrations().size() == 1);
    }
}

TEST_CASE("PULL: reference-server quirks both ways (group id order, reversed IPv4, DOI 2)",
          "[pull]") {
    ServerQuirks quirks;
    quirks.group_id_byte_order = GroupIdByteOrder::little_endian;
    quirks.sa_tek_ipv4_byte_reversed = true;
    quirks.sa_tek_id_length = IdLengthWidth::two_octets;
    quirks.phase1_doi = 2;
    World w;
    w.build(quirks);
    auto event = w.run();
    REQUIRE(event.kind == RegistrationEvent::Kind::registered);
    check_equal(*event.policy, w.served);
}

TEST_CASE("PULL: a tampered message 2 is dropped and the retransmission succeeds", "[pull]") {
    World w;
    w.build();
    int tampered = 0;
    w.tamper_answer = [&](test_net::Datagram& d) {
        if (d.size() > 200 && d[18] == wire::exchange::groupkey_pull && tampered++ == 0)
            d[100] ^= 0x20;
    };
    auto event = w.run();
    REQUIRE(event.kind == RegistrationEvent::Kind::registered);
    CHECK(tampered >= 2);
    CHECK(w.member_logged("HASH(2) does not verify"));
}

TEST_CASE("PULL: failures carry the specific reason", "[pull]") {
    World w;
    SECTION("wrong pre-shared key") {
        w.build({}, "not-the-right-key-but-long-enough");
        auto e = w.run();
        REQUIRE(e.kind == RegistrationEvent::Kind::failed);
        CHECK(e.reason ==
              "key server 192.0.2.1 rejected our pre-shared key (AUTHENTICATION-FAILED)");
    }
    SECTION("unknown group") {
        w.build({}, psk, 99);
        auto e = w.run();
        REQUIRE(e.kind == RegistrationEvent::Kind::failed);
        CHECK(e.reason == "key server 192.0.2.1 does not serve group 99 (INVALID-ID-INFORMATION)");
    }
    SECTION("member not authorised") {
        w.authorised.clear();
        w.build();
        auto e = w.run();
        REQUIRE(e.kind == RegistrationEvent::Kind::failed);
        CHECK(e.reason == "key server 192.0.2.1 refused to register us in group 1234: not an "
                          "authorised member (AUTHENTICATION-FAILED)");
    }
    SECTION("unpaired selectors") {
        w.served.teks.erase(w.served.teks.begin() + 1); // drop 10.2/16 -> 10.1/16
        w.build();
        auto e = w.run();
        REQUIRE(e.kind == RegistrationEvent::Kind::failed);
        CHECK_THAT(e.reason, Catch::Contains("TEK policies must come in pairs") &&
                                 Catch::Contains("unpaired: ESP AES-CBC-256 SPI 0x11111111 "
                                                 "10.1.0.0/16 -> 10.2.0.0/16"));
    }
    SECTION("a TEK without keys is never installed") {
        w.options.tek_emission[0x22222222].omit_keys = true;
        w.build();
        auto e = w.run();
        REQUIRE(e.kind == RegistrationEvent::Kind::failed);
        CHECK_THAT(e.reason, Catch::Contains("unpaired: ESP AES-CBC-256 SPI 0x11111111") &&
                                 Catch::Contains("rejected TEK ESP AES-CBC-256 SPI 0x22222222 "
                                                 "10.2.0.0/16 -> 10.1.0.0/16: no key packet"));
    }
    SECTION("AES with KEY_LENGTH 0 is rejected, the rest installs") {
        w.options.tek_emission[0x33333333].zero_key_length = true;
        w.served.teks[2] = tek(0x33333333, selector("10.1.0.0/16", "239.192.1.1/32"));
        w.build();
        auto e = w.run();
        REQUIRE(e.kind == RegistrationEvent::Kind::registered);
        REQUIRE(e.policy->teks.size() == 2);
        CHECK(e.policy->teks[0].spi == 0x11111111);
        CHECK(e.policy->teks[1].spi == 0x22222222);
        CHECK(w.member_logged("SA TEK SPI 0x33333333: AES-CBC with KEY_LENGTH 0"));
    }
    SECTION("unsupported transform") {
        w.options.tek_emission[0x33333333].transform_id = wire::esp_transform::aes_ctr;
        w.build();
        auto e = w.run();
        REQUIRE(e.kind == RegistrationEvent::Kind::failed);
        CHECK_THAT(e.reason, Catch::Contains("ESP transform AES-CTR (13) is not supported"));
    }
    SECTION("more TEKs than max-teks: refused whole before any is read") {
        w.max_teks = 2;
        w.build();
        auto e = w.run();
        REQUIRE(e.kind == RegistrationEvent::Kind::failed);
        CHECK(e.reason == "key server 192.0.2.1 sent 3 TEKs for group 1234, more than max-teks (2): policy refused, "
                          "nothing installed (raise max-teks if the group really has that many)");
    }
    SECTION("nothing answers the PULL") {
        w.build();
        w.tamper_answer = [](test_net::Datagram& d) {
            if (d[18] == wire::exchange::groupkey_pull) d.assign(d.size(), 0);
        };
        auto e = w.run();
        REQUIRE(e.kind == RegistrationEvent::Kind::failed);
        CHECK(e.reason ==
              "key server 192.0.2.1 did not answer GROUPKEY-PULL message 1 within 30 s");
    }
}

TEST_CASE("PULL: AES-GCM TEKs are accepted for receiving only", "[pull]") {
    World w;
    w.served.teks[0] = tek(0x11111111, selector("10.1.0.0/16", "10.2.0.0/16"),
                           TekCipher::aes_gcm_16, 128, TekIntegrity::none);
    w.build();
    auto e = w.run();
    REQUIRE(e.kind == RegistrationEvent::Kind::registered);
    CHECK(e.policy->teks[0].receive_only);
    CHECK(e.policy->teks[0].cipher_key.size() == 20);
    CHECK_FALSE(e.policy->teks[1].receive_only);
    CHECK(w.member_logged("AES-GCM needs RFC 6054 sender IDs"));
}

TEST_CASE("PULL: never started or continued on a Phase 1 SA past its lifetime",
          "[pull][lifetime]") {
    SECTION("the SA expires while the member retransmits message 1") {
        World w;
        w.phase1_lifetime = std::chrono::seconds(20); // shorter than the 30 s retransmit budget
        w.build();
        // Every PULL answer is damaged: the member drops it and keeps retransmitting.
        w.tamper_answer = [](test_net::Datagram& d) {
            if (d[18] == wire::exchange::groupkey_pull) d.back() ^= 0x01;
        };
        auto start = w.now;
        auto e = w.run();
        CHECK(e.kind == RegistrationEvent::Kind::failed);
        CHECK(e.reason == "Phase 1 SA with key server 192.0.2.1 reached its negotiated lifetime "
                          "of 20 s before GROUPKEY-PULL completed; registering again needs a new "
                          "Main Mode");
        // It failed at the SA's end (timer armed there), not at the 30 s budget.
        CHECK(w.now - start >= std::chrono::seconds(20));
        CHECK(w.now - start < std::chrono::seconds(30));
    }
    SECTION("a PULL is not started on an SA that already expired") {
        ike::Phase1Sa sa;
        sa.peer = server_address;
        sa.proposal.lifetime = std::chrono::seconds(600);
        sa.established = TimePoint{} + std::chrono::seconds(1);
        PullInitiatorConfig config;
        config.group_id = 1234;
        PullInitiator pull(config, sa);
        pull.start(sa.established + std::chrono::seconds(600));
        CHECK(pull.failed());
        CHECK(pull.take_datagrams().empty());
        CHECK(pull.failure_reason().find("reached its negotiated lifetime of 600 s before "
                                         "GROUPKEY-PULL could start") != std::string::npos);
    }
    SECTION("one second before the end it still starts") {
        World w;
        w.phase1_lifetime = std::chrono::seconds(600);
        w.build();
        auto e = w.run();
        REQUIRE(e.kind == RegistrationEvent::Kind::registered);
        ike::Phase1Sa* sa = w.member->phase1_sa();
        REQUIRE(sa);
        PullInitiatorConfig config;
        config.group_id = 1234;
        PullInitiator pull(config, *sa);
        pull.start(sa->expires() - std::chrono::seconds(1));
        CHECK_FALSE(pull.failed());
        CHECK(pull.take_datagrams().size() == 1);
        CHECK(pull.next_timer() <= sa->expires());
    }
}

TEST_CASE("key server: Phase 1 SAs are forgotten at the end of their lifetime",
          "[pull][lifetime]") {
    World w;
    w.phase1_lifetime = std::chrono::seconds(120);
    w.build();
    auto e = w.run();
    REQUIRE(e.kind == RegistrationEvent::Kind::registered);
    auto established = w.member->phase1_sa()->established;
    CHECK(w.server->phase1_sa_count() == 1);
    w.server->expire(established + std::chrono::seconds(119));
    CHECK(w.server->phase1_sa_count() == 1);

    SECTION("expire() drops it") {
        w.server->expire(established + std::chrono::seconds(120));
        CHECK(w.server->phase1_sa_count() == 0);
        CHECK(std::any_of(w.server_log.begin(), w.server_log.end(), [](const std::string& l) {
            return l.find("reached its lifetime of 120 s") != std::string::npos;
        }));
    }
    SECTION("a PULL message under the expired SA is dropped with it") {
        auto answers = w.server->on_datagram(member_address, w.last_from_member,
                                             established + std::chrono::seconds(121));
        CHECK(answers.empty());
        CHECK(w.server->phase1_sa_count() == 0);
        CHECK(std::any_of(w.server_log.begin(), w.server_log.end(), [](const std::string& l) {
            return l.find("past its lifetime of 120 s") != std::string::npos;
        }));
    }
}
