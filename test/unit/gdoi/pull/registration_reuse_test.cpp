// Registrations that reuse the Phase 1 SA of an earlier one (RegistrationConfig::reuse_phase1):
// only the four GROUPKEY-PULL messages cross the wire, against the real key server side of
// gdoi/ in the same process; an SA that is expired, about to expire, or with another server is
// not reused and Main Mode runs instead.
#include "gdoi/crypto/prf.hpp"
#include "gdoi/crypto/rsa_signature.hpp"
#include "gdoi/pull/key_server_endpoint.hpp"
#include "gdoi/pull/registration.hpp"
#include "gdoi/wire/constants.hpp"
#include "gdoi/wire/message.hpp"
#include "test/unit/gdoi/ike/lossy_network.hpp"

#include <catch2/catch.hpp>

#include <set>

using namespace gdoi;
using namespace gdoi::pull;
using namespace std::chrono_literals;
using gdoi::ike::Phase1Sa;
using gdoi::ike::TimePoint;

namespace {

const IpAddress member_address = IpAddress::v4(192, 0, 2, 10);
const IpAddress server_address = IpAddress::v4(192, 0, 2, 1);
const char* psk = "twenty-or-more-characters-of-secret";
constexpr uint32_t group_id = 1234;
constexpr auto budget = 30s; // the member's retransmission budget, Main Mode and PULL alike

TekPolicy tek(uint32_t spi, const char* from, const char* to) {
    TekPolicy t;
    t.spi = spi;
    t.selector = {0, SelectorEndpoint::from_prefix(*IpPrefix::parse(from)),
                  SelectorEndpoint::from_prefix(*IpPrefix::parse(to))};
    t.cipher = TekCipher::aes_cbc;
    t.cipher_key_bits = 256;
    t.integrity = TekIntegrity::hmac_sha256;
    t.cipher_key = crypto::random_secret(32);
    t.integrity_key = crypto::random_secret(32);
    t.lifetime = 3600s;
    return t;
}

GroupPolicy served_policy() {
    static const auto signing_key = crypto::RsaPrivateKey::generate(2048);
    GroupPolicy p;
    p.group_id = group_id;
    KekPolicy kek;
    kek.spi.fill(0x5a);
    kek.cipher = KekCipher::aes_cbc;
    kek.key_bits = 128;
    kek.key = crypto::random_secret(16);
    kek.iv = crypto::random_bytes(16);
    kek.signature_key_bits = 2048;
    kek.public_key_der = signing_key.public_key_der();
    kek.lifetime = 86400s;
    kek.source = SelectorEndpoint::from_prefix(*IpPrefix::parse("192.0.2.1/32"), 848);
    kek.destination = SelectorEndpoint::from_prefix(*IpPrefix::parse("239.1.1.1/32"), 848);
    p.kek = std::move(kek);
    p.teks.push_back(tek(0x11111111, "10.1.0.0/16", "10.2.0.0/16"));
    p.teks.push_back(tek(0x22222222, "10.2.0.0/16", "10.1.0.0/16"));
    p.sequence = 3;
    return p;
}

// What crossed the wire during one registration, by ISAKMP exchange type.
struct Traffic {
    std::vector<wire::Header> to_server, to_member;

    size_t count(const std::vector<wire::Header>& headers, uint8_t exchange_type) const {
        return size_t(std::count_if(headers.begin(), headers.end(), [&](const wire::Header& h) {
            return h.exchange_type == exchange_type;
        }));
    }
};

struct Lab {
    const ike::Phase1Proposal proposal{crypto::CbcCipher::aes256, crypto::HashAlgorithm::sha256,
                                       crypto::DhGroup::modp2048, 600s};
    GroupPolicy served = served_policy();
    std::unique_ptr<KeyServerEndpoint> server = make_server();
    TimePoint now{};
    std::vector<std::string> member_log;

    std::unique_ptr<KeyServerEndpoint> make_server() {
        KeyServerEndpointConfig ks;
        ks.phase1.local_address = server_address;
        ks.phase1.acceptable = {proposal};
        ks.phase1.pre_shared_key_for = [](const IpAddress&) {
            return std::optional<SecretBytes>(SecretBytes(std::string_view(psk)));
        };
        ks.authorizer = [this](const IpAddress&, const std::vector<uint32_t>&) -> PullDecision {
            return PullGrant{served, {}, served.sequence.value_or(0)};
        };
        return std::make_unique<KeyServerEndpoint>(std::move(ks));
    }

    RegistrationConfig member_config(std::optional<Phase1Sa> reuse = std::nullopt,
                                     IpAddress server = server_address) {
        RegistrationConfig rc;
        rc.phase1.local_address = member_address;
        rc.phase1.server_address = server;
        rc.phase1.pre_shared_key = SecretBytes(std::string_view(psk));
        rc.phase1.proposals = {proposal};
        rc.phase1.initial_contact = false;
        rc.phase1.retransmit.budget = budget;
        rc.phase1.log = [this](ike::LogLevel, const std::string& s) { member_log.push_back(s); };
        rc.pull_retransmit.budget = budget;
        rc.group_id = group_id;
        rc.reuse_phase1 = std::move(reuse);
        return rc;
    }

    // One registration over a clean network; every datagram's header lands in `traffic`.
    RegistrationEvent run(Registration& member, Traffic& traffic) {
        test_net::LossyNetwork net(1, {});
        std::vector<RegistrationEvent> events;
        member.start(now);
        test_net::run(
            member, net, now,
            [&](const test_net::Datagram& d, TimePoint t) {
                traffic.to_server.push_back(wire::decode_header(d));
                auto answers = server->on_datagram(member_address, d, t);
                for (const auto& a : answers)
                    traffic.to_member.push_back(wire::decode_header(a));
                return answers;
            },
            [&] {
                for (auto& e : member.take_events())
                    events.push_back(std::move(e));
                return !events.empty();
            });
        REQUIRE(events.size() == 1);
        return std::move(events[0]);
    }

    // A first registration with Main Mode; returns its Phase 1 SA.
    Phase1Sa first_registration() {
        Registration member(member_config());
        Traffic traffic;
        auto event = run(member, traffic);
        REQUIRE(event.kind == RegistrationEvent::Kind::registered);
        CHECK_FALSE(member.reused_phase1());
        CHECK(traffic.count(traffic.to_server, wire::exchange::identity_protection) == 3);
        auto sa = member.take_phase1_sa();
        REQUIRE(sa);
        CHECK_FALSE(member.take_phase1_sa()); // moved out once
        return std::move(*sa);
    }
};

} // namespace

TEST_CASE("PULL reuse: later registrations run only the GROUPKEY-PULL under the live SA",
          "[pull][reuse]") {
    Lab lab;
    Phase1Sa sa = lab.first_registration();
    REQUIRE(lab.server->phase1_sa_count() == 1);
    std::set<uint32_t> message_ids;
    // Several PULLs in a row: each gets its own message ID and IV chain (RFC 2409 appendix B)
    // from the same SA, and the SA handed back keeps working for the next one.
    for (int round = 1; round <= 3; ++round) {
        CAPTURE(round);
        lab.now += 100s;
        Registration member(lab.member_config(sa));
        Traffic traffic;
        auto event = lab.run(member, traffic);
        CAPTURE(event.reason);
        REQUIRE(event.kind == RegistrationEvent::Kind::registered);
        CHECK(member.reused_phase1());
        REQUIRE(event.policy);
        REQUIRE(event.policy->teks.size() == 2);
        CHECK(event.policy->teks[0].cipher_key == lab.served.teks[0].cipher_key);
        // HDR*, HASH(1), Ni, ID / HASH(2), Nr, SA / HASH(3) / HASH(4), SEQ, KD: nothing else.
        CHECK(traffic.to_server.size() == 2);
        CHECK(traffic.to_member.size() == 2);
        CHECK(traffic.count(traffic.to_server, wire::exchange::groupkey_pull) == 2);
        CHECK(traffic.count(traffic.to_member, wire::exchange::groupkey_pull) == 2);
        for (const auto& h : traffic.to_server) {
            CHECK(h.initiator_cookie == sa.initiator_cookie);
            CHECK(h.responder_cookie == sa.responder_cookie);
            CHECK(h.message_id == traffic.to_server.front().message_id);
        }
        message_ids.insert(traffic.to_server.front().message_id);
        CHECK(lab.server->phase1_sa_count() == 1);
        CHECK(lab.server->registrations().size() == size_t(1 + round));
        auto back = member.take_phase1_sa();
        REQUIRE(back);
        CHECK(back->initiator_cookie == sa.initiator_cookie);
        CHECK(back->established == sa.established);
        sa = std::move(*back);
    }
    CHECK(message_ids.size() == 3);
    CHECK(message_ids.count(0) == 0);
}

TEST_CASE("PULL reuse: an SA that is expired or ends within the attempt's budget is not reused",
          "[pull][reuse]") {
    Lab lab;
    const Phase1Sa sa = lab.first_registration();
    const auto expires = sa.expires();
    auto later_registration = [&](TimePoint at) {
        lab.now = at;
        lab.server->expire(at);
        Registration member(lab.member_config(sa));
        Traffic traffic;
        auto event = lab.run(member, traffic);
        REQUIRE(event.kind == RegistrationEvent::Kind::registered);
        return std::pair{member.reused_phase1(), traffic};
    };

    SECTION("expired: Main Mode, new cookies") {
        auto [reused, traffic] = later_registration(expires);
        CHECK_FALSE(reused);
        REQUIRE_FALSE(traffic.to_server.empty());
        CHECK(traffic.to_server.front().exchange_type == wire::exchange::identity_protection);
        CHECK(traffic.to_server.front().initiator_cookie != sa.initiator_cookie);
        CHECK(traffic.count(traffic.to_server, wire::exchange::identity_protection) == 3);
        CHECK(lab.server->phase1_sa_count() == 1); // the old one is gone, the new one counts
    }
    SECTION("one second short of outliving the budget: Main Mode") {
        auto [reused, traffic] = later_registration(expires - budget + 1s);
        CHECK_FALSE(reused);
        CHECK(traffic.count(traffic.to_server, wire::exchange::identity_protection) == 3);
        CHECK(lab.server->phase1_sa_count() == 2); // the old SA lives on at the server
    }
    SECTION("outliving the budget by a second: reused") {
        auto [reused, traffic] = later_registration(expires - budget - 1s);
        CHECK(reused);
        CHECK(traffic.count(traffic.to_server, wire::exchange::identity_protection) == 0);
        CHECK(lab.server->phase1_sa_count() == 1);
    }
}

TEST_CASE("PULL reuse: an SA with another server is not used for this one", "[pull][reuse]") {
    Lab lab;
    Phase1Sa sa = lab.first_registration();
    sa.peer = IpAddress::v4(192, 0, 2, 99); // as if the group's server list had changed
    lab.now += 10s;
    Registration member(lab.member_config(sa));
    Traffic traffic;
    auto event = lab.run(member, traffic);
    REQUIRE(event.kind == RegistrationEvent::Kind::registered);
    CHECK_FALSE(member.reused_phase1());
    CHECK(traffic.count(traffic.to_server, wire::exchange::identity_protection) == 3);
}

TEST_CASE("PULL reuse: a key server that forgot the SA (restarted) does not answer",
          "[pull][reuse]") {
    Lab lab;
    const Phase1Sa sa = lab.first_registration();
    lab.server = lab.make_server(); // the restart
    lab.now += 10s;
    Registration member(lab.member_config(sa));
    Traffic traffic;
    auto event = lab.run(member, traffic);
    REQUIRE(event.kind == RegistrationEvent::Kind::failed);
    CHECK(member.reused_phase1());
    CHECK(event.reason == "key server 192.0.2.1 did not answer GROUPKEY-PULL message 1 within 30 s");
    CHECK(traffic.to_member.empty());
    CHECK(traffic.count(traffic.to_server, wire::exchange::identity_protection) == 0);
    CHECK_FALSE(member.take_phase1_sa()); // nothing to keep from a failed registration
}
