// The registration schedule across key servers and the reuse of live Phase 1 SAs, on a simulated
// clock, against the real key server side of gdoi/ (Main Mode + GROUPKEY-PULL responders) in one process.
#include <catch2/catch.hpp>

#include "daemon/registration_driver.hpp"
#include "gdoi/crypto/prf.hpp"
#include "gdoi/crypto/rsa_signature.hpp"
#include "gdoi/pull/key_server_endpoint.hpp"
#include "gdoi/wire/constants.hpp"

using namespace gdoid::daemon;
using namespace std::chrono_literals;
using gdoi::IpAddress;

namespace {

const char* psk = "a-pre-shared-key-of-enough-length";

GroupConfig group_config(std::vector<const char*> servers, uint32_t retries, std::chrono::seconds interval) {
    GroupConfig config;
    config.name = "lab";
    config.id = 4321;
    for (const char* s : servers) config.servers.push_back({*IpAddress::parse(s), 848});
    config.local_address = *IpAddress::parse("192.0.2.10");
    config.psk = gdoi::SecretBytes(std::string_view(psk));
    config.ike = {IkeEncryption::aes256_cbc, IkeHash::sha256, 14, 8h};
    config.retry = {retries, interval};
    return config;
}

gdoi::GroupPolicy served_policy() {
    static const auto key = gdoi::crypto::RsaPrivateKey::generate(2048);
    gdoi::GroupPolicy p;
    p.group_id = 4321;
    gdoi::KekPolicy kek;
    kek.spi.fill(0x5a);
    kek.cipher = gdoi::KekCipher::aes_cbc;
    kek.key_bits = 128;
    kek.key = gdoi::crypto::random_secret(16);
    kek.iv = gdoi::crypto::random_bytes(16);
    kek.signature_key_bits = 2048;
    kek.public_key_der = key.public_key_der();
    kek.lifetime = 86400s;
    kek.source = gdoi::SelectorEndpoint::from_prefix(*gdoi::IpPrefix::parse("192.0.2.2/32"), 848);
    kek.destination = gdoi::SelectorEndpoint::from_prefix(*gdoi::IpPrefix::parse("239.1.1.1/32"), 848);
    p.kek = std::move(kek);
    for (auto [spi, from, to] : {std::tuple{0x30000001u, "10.1.0.0/16", "10.2.0.0/16"},
                                 std::tuple{0x30000002u, "10.2.0.0/16", "10.1.0.0/16"}}) {
        gdoi::TekPolicy tek;
        tek.spi = spi;
        tek.selector = {0, gdoi::SelectorEndpoint::from_prefix(*gdoi::IpPrefix::parse(from)),
                        gdoi::SelectorEndpoint::from_prefix(*gdoi::IpPrefix::parse(to))};
        tek.cipher = gdoi::TekCipher::aes_cbc;
        tek.cipher_key_bits = 256;
        tek.integrity = gdoi::TekIntegrity::hmac_sha256;
        tek.cipher_key = gdoi::crypto::random_secret(32);
        tek.integrity_key = gdoi::crypto::random_secret(32);
        tek.lifetime = 3600s;
        p.teks.push_back(std::move(tek));
    }
    p.sequence = 9;
    return p;
}

// A key server at `address` that answers (or, when `silent`, swallows everything).
struct ServerSpec {
    IpAddress address;
    bool silent = false;
    std::string member_psk = psk;
};

ServerSpec server(const char* address, bool silent = false, std::string member_psk = psk) {
    return ServerSpec{*IpAddress::parse(address), silent, std::move(member_psk)};
}

std::unique_ptr<gdoi::pull::KeyServerEndpoint> endpoint_for(const ServerSpec& spec) {
    gdoi::pull::KeyServerEndpointConfig ks;
    ks.phase1.local_address = spec.address;
    ks.phase1.acceptable = {{gdoi::crypto::CbcCipher::aes256, gdoi::crypto::HashAlgorithm::sha256,
                             gdoi::crypto::DhGroup::modp2048, 86400s}};
    ks.phase1.pre_shared_key_for = [key = spec.member_psk](const IpAddress&) {
        return std::optional<gdoi::SecretBytes>(gdoi::SecretBytes(std::string_view(key)));
    };
    ks.authorizer = [](const IpAddress&, const std::vector<uint32_t>&) -> gdoi::pull::PullDecision {
        auto policy = served_policy();
        const uint32_t seq = policy.sequence.value_or(0);
        return gdoi::pull::PullGrant{std::move(policy), {}, seq};
    };
    return std::make_unique<gdoi::pull::KeyServerEndpoint>(std::move(ks));
}

struct Lab {
    GroupConfig config;
    std::vector<ServerSpec> servers;
    std::vector<std::unique_ptr<gdoi::pull::KeyServerEndpoint>> endpoints;
    std::unique_ptr<RegistrationDriver> driver;
    TimePoint now{};
    std::vector<RegistrationProgress> events;
    std::vector<std::pair<size_t, TimePoint>> attempts; // (server, when)
    std::vector<RegistrationProgress> started;          // the attempt_started events
    std::vector<size_t> main_mode_messages;             // sent to each server

    Lab(GroupConfig c, std::vector<ServerSpec> s) : config(std::move(c)), servers(std::move(s)) {
        for (const auto& spec : servers) endpoints.push_back(endpoint_for(spec));
        main_mode_messages.resize(servers.size());
        driver = std::make_unique<RegistrationDriver>(config, [this](const ServerAddress& server) {
            return RegistrationDriver::attempt_config(config, server, {});
        });
    }

    void drain() {
        for (int round = 0; round < 100; ++round) {
            auto out = driver->take_datagrams();
            for (auto& e : driver->take_events()) {
                if (e.kind == RegistrationProgress::Kind::attempt_started) {
                    attempts.push_back({e.server_index, now});
                    started.push_back(e);
                }
                events.push_back(std::move(e));
            }
            if (out.empty()) return;
            for (auto& d : out) {
                for (size_t i = 0; i < servers.size(); ++i) {
                    if (servers[i].address != d.to.address) continue;
                    if (d.bytes.at(18) == gdoi::wire::exchange::identity_protection) ++main_mode_messages[i];
                    if (servers[i].silent) continue;
                    for (auto& answer : endpoints[i]->on_datagram(config.local_address, d.bytes, now))
                        driver->on_datagram({servers[i].address, 848}, answer, now);
                }
            }
        }
    }

    // Runs the simulated clock until registered or `limit` passed.
    bool run_until_registered(std::chrono::seconds limit, bool reuse_phase1 = false) {
        driver->start(now, reuse_phase1);
        drain();
        return run_on(limit);
    }

    // Forgets what earlier rounds did (the driver keeps its state).
    void forget_history() {
        events.clear();
        attempts.clear();
        started.clear();
        std::fill(main_mode_messages.begin(), main_mode_messages.end(), 0);
    }

    // A key server that restarted: it knows no Phase 1 SA any more.
    void restart_server(size_t index) { endpoints[index] = endpoint_for(servers[index]); }

    // Runs the clock of a round already under way.
    bool run_on(std::chrono::seconds limit) {
        const TimePoint end = now + limit;
        while (now < end) {
            if (!events.empty() && events.back().kind == RegistrationProgress::Kind::registered) return true;
            auto next = driver->next_timer();
            if (!next) return false;
            now = std::max(now, *next);
            driver->on_timer(now);
            drain();
        }
        return !events.empty() && events.back().kind == RegistrationProgress::Kind::registered;
    }
};

double seconds_since_start(TimePoint t) { return std::chrono::duration<double>(t - TimePoint{}).count(); }

} // namespace

TEST_CASE("registration: the preferred server answers at once", "[registration]") {
    Lab lab(group_config({"192.0.2.1", "192.0.2.2"}, 3, 10s), {server("192.0.2.1")});
    REQUIRE(lab.run_until_registered(60s));
    const auto& done = lab.events.back();
    CHECK(done.server_index == 0);
    REQUIRE(done.policy);
    CHECK(done.policy->teks.size() == 2);
    CHECK(done.policy->teks[0].spi == 0x30000001);
    CHECK(done.policy->sequence == 9u);
    CHECK(lab.attempts.size() == 1);
}

TEST_CASE("registration: a silent server gets its retries 10 s apart, then the next server", "[registration]") {
    Lab lab(group_config({"192.0.2.1", "192.0.2.2"}, 3, 10s), {server("192.0.2.1", true), server("192.0.2.2")});
    REQUIRE(lab.run_until_registered(120s));
    // First try plus 3 retries on server 1 at 0, 10, 20, 30 s; server 2 at 40 s.
    REQUIRE(lab.attempts.size() == 5);
    for (size_t i = 0; i < 4; ++i) {
        CHECK(lab.attempts[i].first == 0);
        CHECK(seconds_since_start(lab.attempts[i].second) == Approx(10.0 * double(i)));
    }
    CHECK(lab.attempts[4].first == 1);
    CHECK(seconds_since_start(lab.attempts[4].second) == Approx(40.0));
    CHECK(lab.events.back().server_index == 1);
    const auto failures = std::count_if(lab.events.begin(), lab.events.end(), [](const RegistrationProgress& e) {
        return e.kind == RegistrationProgress::Kind::attempt_failed;
    });
    CHECK(failures == 4);
}

TEST_CASE("registration: every server silent starts a new round at the preferred one", "[registration]") {
    Lab lab(group_config({"192.0.2.1", "192.0.2.2"}, 1, 5s), {server("192.0.2.1", true), server("192.0.2.2", true)});
    CHECK_FALSE(lab.run_until_registered(25s));
    // 0 s and 5 s on server 1, 10 s and 15 s on server 2, then server 1 again at 20 s.
    REQUIRE(lab.attempts.size() >= 5);
    CHECK(lab.attempts[0].first == 0);
    CHECK(lab.attempts[2].first == 1);
    CHECK(lab.attempts[4].first == 0);
    CHECK(seconds_since_start(lab.attempts[4].second) == Approx(20.0));
    CHECK(std::any_of(lab.events.begin(), lab.events.end(), [](const RegistrationProgress& e) {
        return e.kind == RegistrationProgress::Kind::all_servers_failed;
    }));
}

TEST_CASE("registration: a wrong pre-shared key fails with the server's refusal and is retried", "[registration]") {
    Lab lab(group_config({"192.0.2.1"}, 2, 10s), {server("192.0.2.1", false, "the-server-holds-another-key-for-us")});
    CHECK_FALSE(lab.run_until_registered(25s));
    const auto failed = std::find_if(lab.events.begin(), lab.events.end(), [](const RegistrationProgress& e) {
        return e.kind == RegistrationProgress::Kind::attempt_failed;
    });
    REQUIRE(failed != lab.events.end());
    CHECK_THAT(failed->reason, Catch::Contains("pre-shared key"));
    CHECK_THAT(failed->reason, Catch::Contains("192.0.2.1"));
    // A quick refusal still waits out the retry interval before the next attempt.
    REQUIRE(lab.attempts.size() >= 2);
    CHECK(seconds_since_start(lab.attempts[1].second) == Approx(10.0));
}

TEST_CASE("registration: datagrams from a server we are not talking to are ignored", "[registration]") {
    Lab lab(group_config({"192.0.2.1"}, 3, 10s), {server("192.0.2.1")});
    lab.driver->start(lab.now);
    lab.driver->take_datagrams();
    const std::vector<uint8_t> junk(100, 0xab);
    lab.driver->on_datagram({*IpAddress::parse("198.51.100.7"), 848}, junk, lab.now);
    CHECK(lab.driver->take_events().size() == 1); // only the attempt_started from start()
    CHECK(lab.driver->active());
}

// Pulls for expiring keys (GroupController's pull timer) reuse the live Phase 1 SA; nothing else
// does, and an SA that failed once is never tried again.

TEST_CASE("registration: a pull round reuses the live Phase 1 SA; other rounds run Main Mode", "[registration][reuse]") {
    Lab lab(group_config({"192.0.2.1"}, 3, 10s), {server("192.0.2.1")});
    REQUIRE(lab.run_until_registered(60s, true)); // nothing to reuse yet
    REQUIRE(lab.started.size() == 1);
    CHECK_FALSE(lab.started[0].reused_phase1);
    CHECK(lab.main_mode_messages[0] == 3);
    const TimePoint established = lab.now;

    lab.now += 7h;
    lab.forget_history();
    REQUIRE(lab.run_until_registered(60s, true));
    REQUIRE(lab.started.size() == 1);
    CHECK(lab.started[0].reused_phase1);
    REQUIRE(lab.started[0].phase1_expires);
    CHECK(*lab.started[0].phase1_expires == established + 8h); // ike lifetime = "8h"
    CHECK(lab.main_mode_messages[0] == 0);
    CHECK(lab.endpoints[0]->phase1_sa_count() == 1);
    CHECK(lab.endpoints[0]->registrations().size() == 2);
    REQUIRE(lab.events.back().policy);
    CHECK(lab.events.back().policy->teks.size() == 2);

    SECTION("a round without reuse (gdoictl re-register, ejection) negotiates anew") {
        lab.forget_history();
        REQUIRE(lab.run_until_registered(60s));
        CHECK_FALSE(lab.started[0].reused_phase1);
        CHECK(lab.main_mode_messages[0] == 3);
        CHECK(lab.endpoints[0]->phase1_sa_count() == 2);
        // The next pull runs under the newest SA, which lives 8 h from now.
        lab.forget_history();
        REQUIRE(lab.run_until_registered(60s, true));
        CHECK(lab.started[0].reused_phase1);
        CHECK(*lab.started[0].phase1_expires == lab.now + 8h);
        CHECK(lab.endpoints[0]->phase1_sa_count() == 2);
    }
    SECTION("an SA that would expire during the attempt's 10 s budget is not reused") {
        lab.now = established + 8h - 5s;
        lab.forget_history();
        REQUIRE(lab.run_until_registered(60s, true));
        CHECK_FALSE(lab.started[0].reused_phase1);
        CHECK(lab.main_mode_messages[0] == 3);
    }
    SECTION("stop() (interface down) forgets every SA") {
        lab.driver->stop();
        lab.forget_history();
        REQUIRE(lab.run_until_registered(60s, true));
        CHECK_FALSE(lab.started[0].reused_phase1);
        CHECK(lab.main_mode_messages[0] == 3);
    }
}

TEST_CASE("registration: a failed PULL under the reused SA drops it; the retry runs Main Mode", "[registration][reuse]") {
    Lab lab(group_config({"192.0.2.1"}, 2, 10s), {server("192.0.2.1")});
    REQUIRE(lab.run_until_registered(60s));
    lab.now += 1h;
    lab.restart_server(0); // it forgot our SA: the PULL under it gets no answer
    lab.forget_history();

    SECTION("the retry registers with a new Main Mode") {
        REQUIRE(lab.run_until_registered(60s, true));
        REQUIRE(lab.started.size() == 2);
        CHECK(lab.started[0].reused_phase1);
        CHECK_FALSE(lab.started[1].reused_phase1);
        CHECK(lab.started[1].attempt == 1); // the PULL was not one of the server's attempts
        CHECK(seconds_since_start(lab.attempts[1].second) - seconds_since_start(lab.attempts[0].second) ==
              Approx(10.0));
        const auto failed = std::find_if(lab.events.begin(), lab.events.end(), [](const RegistrationProgress& e) {
            return e.kind == RegistrationProgress::Kind::attempt_failed;
        });
        REQUIRE(failed != lab.events.end());
        CHECK_THAT(failed->reason, Catch::Contains("did not answer GROUPKEY-PULL message 1") &&
                                       Catch::Contains("reused Phase 1 SA, now dropped"));
        CHECK(failed->next_attempt_at == lab.attempts[1].second); // Main Mode at once
        CHECK(lab.main_mode_messages[0] == 3);
        CHECK(lab.endpoints[0]->phase1_sa_count() == 1);
    }
    SECTION("the dropped SA is not offered to the next pull round either") {
        lab.servers[0].silent = true; // the retry fails too
        lab.driver->start(lab.now, true);
        lab.drain();
        REQUIRE(lab.started.size() == 1);
        CHECK(lab.started[0].reused_phase1);
        const auto pull_failed = [&] {
            return std::any_of(lab.events.begin(), lab.events.end(), [](const RegistrationProgress& e) {
                return e.kind == RegistrationProgress::Kind::attempt_failed;
            });
        };
        while (!pull_failed()) { // retransmissions, then the PULL gives up
            const auto next = lab.driver->next_timer();
            REQUIRE(next);
            lab.now = std::max(lab.now, *next);
            lab.driver->on_timer(lab.now);
            lab.drain();
        }
        CHECK(lab.main_mode_messages[0] == 0);
        lab.forget_history();
        lab.driver->start(lab.now, true); // the pull timer again
        lab.drain();
        REQUIRE(lab.started.size() == 1);
        CHECK_FALSE(lab.started[0].reused_phase1);
        CHECK(lab.main_mode_messages[0] == 1);
    }
}

TEST_CASE("registration: only the first attempt of a pull round may reuse an SA", "[registration][reuse]") {
    // Registered with server 2 while server 1 was silent: the SA is with server 2.
    Lab lab(group_config({"192.0.2.1", "192.0.2.2"}, 1, 10s), {server("192.0.2.1", true), server("192.0.2.2")});
    REQUIRE(lab.run_until_registered(60s));
    REQUIRE(lab.events.back().server_index == 1);
    REQUIRE(lab.endpoints[1]->phase1_sa_count() == 1);

    // The pull round starts at the preferred server (no SA with it); when it fails over to
    // server 2, that is a later attempt of the round: Main Mode although an SA is alive.
    lab.now += 1h;
    lab.forget_history();
    REQUIRE(lab.run_until_registered(60s, true));
    REQUIRE(lab.started.size() == 3);
    for (const auto& started : lab.started) CHECK_FALSE(started.reused_phase1);
    CHECK(lab.started[2].server_index == 1);
    CHECK(lab.main_mode_messages[1] == 3);
    CHECK(lab.endpoints[1]->phase1_sa_count() == 2);
}
