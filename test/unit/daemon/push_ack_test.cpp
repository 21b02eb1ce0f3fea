// gdoid.conf `push-ack` (RFC 8263 GROUPKEY-PUSH acknowledgements) from the file to the wire:
// the parser (default off, on, a wrong value), the reload diff, the group's receiver settings,
// and what GroupController does with an accepted push's ack request (PushAckRequests): the ack
// to send when on; counted, and logged once per reason, when off or unanswerable. The pushes
// are real: built and signed by the test key server's builder, checked by the member's receiver.
#include "config_test_support.hpp"
#include "daemon/config_diff.hpp"
#include "daemon/config_parser.hpp"
#include "daemon/control_protocol.hpp"
#include "daemon/push_ack_requests.hpp"
#include "gdoi/crypto/rsa_signature.hpp"
#include "gdoi/push/push_ack.hpp"
#include "gdoi/push/push_builder.hpp"

#include <catch2/catch.hpp>
#include <cstdlib>
#include <fstream>
#include <sstream>

using namespace gdoid::daemon;
using namespace gdoid::daemon::test;

namespace {

std::string group(const std::string& psk_path, const std::string& extra = "") {
    return "[[group]]\n"
           "name = \"wan\"\n"
           "id = 1\n"
           "servers = [\"192.0.2.1\"]\n"
           "local-address = \"192.0.2.10\"\n"
           "pre-shared-key = { file = \"" +
           psk_path +
           "\" }\n"
           "wan-interface = \"eth0\"\n"
           "lan-interfaces = [\"eth1\"]\n" +
           extra;
}

GroupConfig parsed_group(const std::string& extra) {
    TempDir dir;
    const auto psk = dir.write("k", test_psk);
    auto result = parse_config(group(psk, extra), "p.conf", test_options(dir));
    INFO(messages(result).size());
    REQUIRE(result.ok());
    REQUIRE(result.config->groups.size() == 1);
    return result.config->groups[0];
}

const gdoi::crypto::KekPrivateKey& ks_key() {
    static const gdoi::crypto::KekPrivateKey key(gdoi::crypto::RsaPrivateKey::generate(2048));
    return key;
}

// The group's KEK as the registration gave it, asking for `type` acks.
gdoi::KekPolicy asking_kek(uint16_t type) {
    gdoi::KekPolicy k;
    for (size_t i = 0; i < k.spi.size(); ++i)
        k.spi[i] = uint8_t(0x30 + i);
    k.cipher = gdoi::KekCipher::aes_cbc;
    k.key_bits = 128;
    k.key = gdoi::crypto::random_secret(16);
    k.iv = gdoi::crypto::random_bytes(16);
    k.signature_hash = gdoi::SignatureHash::sha256;
    k.public_key_der = ks_key().public_key_der();
    k.signature_key_bits = 2048;
    k.lifetime = std::chrono::seconds(86400);
    k.ack_request = gdoi::AckRequest::rfc8263;
    k.ack_type = type;
    return k;
}

// A signed push with SEQ `seq` and the KEK's SA KEK (so its ack request), checked by a
// receiver built from `config` the way GroupController builds it.
gdoi::push::PushVerdict receive(gdoi::push::PushReceiver& rx, const gdoi::KekPolicy& kek,
                                uint32_t seq) {
    gdoi::push::PushSpec spec;
    spec.kek = kek;
    spec.signer = &ks_key();
    spec.sequence = seq;
    spec.sa_kek = kek;
    auto verdict = rx.receive(gdoi::push::build_push(spec), kek, seq - 1, gdoi::push::TimePoint{});
    INFO(verdict.message);
    REQUIRE(verdict.accepted());
    return verdict;
}

} // namespace

TEST_CASE("push-ack: off by default, true turns it on, anything else is refused",
          "[config][push-ack]") {
    CHECK_FALSE(parsed_group("").push_ack);
    CHECK(parsed_group("push-ack = true\n").push_ack);
    CHECK_FALSE(parsed_group("push-ack = false\n").push_ack);

    TempDir dir;
    const auto psk = dir.write("k", test_psk);
    SECTION("a string") {
        const auto result =
            parse_config(group(psk, "push-ack = \"yes\"\n"), "b.conf", test_options(dir));
        CHECK_FALSE(result.ok());
        CHECK(messages(result) ==
              std::vector<std::string>{
                  "b.conf:9:12: `push-ack` must be true or false, not a string"});
    }
    SECTION("a number") {
        const auto result = parse_config(group(psk, "push-ack = 1\n"), "b.conf", test_options(dir));
        CHECK(messages(result) ==
              std::vector<std::string>{
                  "b.conf:9:12: `push-ack` must be true or false, not an integer"});
    }
    SECTION("a typo is an unknown key") {
        const auto result =
            parse_config(group(psk, "push-acks = true\n"), "b.conf", test_options(dir));
        REQUIRE(messages(result).size() == 1);
        CHECK_THAT(messages(result)[0], Catch::Contains("did you mean `push-ack`?"));
    }
}

TEST_CASE("push-ack: the shipped example says false, as documented", "[config][push-ack]") {
    const char* root = std::getenv("GDOID_SOURCE_ROOT");
    REQUIRE(root != nullptr);
    std::ifstream in(std::string(root) + "/examples/gdoid.conf");
    REQUIRE(in);
    std::ostringstream text;
    text << in.rdbuf();
    CHECK(text.str().find("\npush-ack = false ") != std::string::npos);
}

TEST_CASE("push-ack: a reload that flips it is a change that keeps the registration",
          "[diff][push-ack]") {
    Config before;
    before.groups = {parsed_group("")};
    Config after;
    after.groups = {parsed_group("push-ack = true\n")};
    // Two parses read two PSK files (of one key): the same source for the diff.
    after.groups[0].psk_source = before.groups[0].psk_source;
    after.groups[0].psk = before.groups[0].psk;
    const auto diff = diff_configs(before, after);
    REQUIRE(diff.changed.size() == 1);
    CHECK(diff.changed[0].fields == std::vector<std::string>{"push-ack"});
    CHECK_FALSE(diff.changed[0].needs_reregistration);
}

TEST_CASE("push-ack: the group's receiver settings follow the configuration", "[push-ack]") {
    const auto off = push_receiver_config(parsed_group(""));
    CHECK_FALSE(off.answer_ack_requests);
    CHECK(off.member_address == gdoi::IpAddress::parse("192.0.2.10"));
    CHECK(push_receiver_config(parsed_group("push-ack = true\n")).answer_ack_requests);
}

TEST_CASE("push-ack on: the ack is handed over to be sent, nothing is counted as ignored",
          "[push-ack]") {
    const auto config = parsed_group("push-ack = true\n");
    gdoi::push::PushReceiver rx(push_receiver_config(config));
    PushAckRequests requests(config.push_ack);
    GroupCounters counters;
    const auto kek = asking_kek(1);
    auto verdict = receive(rx, kek, 5);
    const auto outcome = requests.on_accepted(verdict, counters);
    REQUIRE(outcome.ack);
    CHECK_FALSE(outcome.log_line);
    CHECK(counters.ack_requests_ignored == 0);
    const auto check = gdoi::push::verify_ack(*outcome.ack, kek);
    INFO(check.reason);
    CHECK(check.valid);
    CHECK(check.sequence == 5u);
    CHECK(check.member == gdoi::IpAddress::parse("192.0.2.10"));
}

TEST_CASE("push-ack off: the request is counted every time and logged once", "[push-ack]") {
    const auto config = parsed_group("");
    gdoi::push::PushReceiver rx(push_receiver_config(config));
    PushAckRequests requests(config.push_ack);
    GroupCounters counters;
    const auto kek = asking_kek(1);
    auto first = receive(rx, kek, 2);
    const auto outcome = requests.on_accepted(first, counters);
    CHECK_FALSE(outcome.ack);
    CHECK(counters.ack_requests_ignored == 1);
    REQUIRE(outcome.log_line);
    CHECK_THAT(*outcome.log_line, Catch::Contains("KEK_ACK_REQUESTED REKEY_ACK_KEK_SHA256 (1)") &&
                                      Catch::Contains("push-ack is off for this group") &&
                                      Catch::Contains("set push-ack = true to answer") &&
                                      Catch::Contains("RFC 8263 section 4"));
    for (uint32_t seq = 3; seq <= 4; ++seq) {
        auto again = receive(rx, kek, seq);
        const auto next = requests.on_accepted(again, counters);
        CHECK_FALSE(next.ack);
        CHECK_FALSE(next.log_line);
    }
    CHECK(counters.ack_requests_ignored == 3);
    CHECK(counters.acks_sent == 0);
}

TEST_CASE("push-ack on, a type gdoid cannot answer: counted, logged once with its reason",
          "[push-ack]") {
    const auto config = parsed_group("push-ack = true\n");
    gdoi::push::PushReceiver rx(push_receiver_config(config));
    PushAckRequests requests(config.push_ack);
    GroupCounters counters;
    auto lkh = receive(rx, asking_kek(2), 2);
    const auto outcome = requests.on_accepted(lkh, counters);
    CHECK_FALSE(outcome.ack);
    REQUIRE(outcome.log_line);
    CHECK_THAT(*outcome.log_line, Catch::Contains("REKEY_ACK_LKH_SHA256 (2)") &&
                                      Catch::Contains("not answered (RFC 8263 section 4") &&
                                      !Catch::Contains("push-ack is off"));
    // Another reason is news: logged too.
    auto unknown = receive(rx, asking_kek(9), 3);
    const auto second = requests.on_accepted(unknown, counters);
    REQUIRE(second.log_line);
    CHECK_THAT(*second.log_line, Catch::Contains("unassigned value 9"));
    CHECK(counters.ack_requests_ignored == 2);
}

TEST_CASE("push-ack: ack_requests_ignored travels in the status JSON", "[control][push-ack]") {
    gdoid::control::DaemonStatus status;
    status.version = "0.1.0";
    gdoid::control::GroupStatus g;
    g.name = "wan";
    g.id = 1;
    g.state = "registered";
    g.acks_sent = 2;
    g.ack_requests_ignored = 7;
    status.groups = {g};
    const auto json = gdoid::control::to_json(status);
    CHECK(json["groups"][0]["counters"]["ack_requests_ignored"] == 7);
    std::string error;
    const auto back = gdoid::control::status_from_json(json, error);
    INFO(error);
    REQUIRE(back);
    CHECK(back->groups[0].ack_requests_ignored == 7);
    CHECK(back->groups[0].acks_sent == 2);
}
