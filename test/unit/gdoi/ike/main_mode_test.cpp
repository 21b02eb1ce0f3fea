// Main Mode initiator against responder in one process, over a network that loses,
// duplicates and reorders datagrams.
#include "gdoi/ike/isakmp_io.hpp"
#include "gdoi/ike/main_mode_initiator.hpp"
#include "gdoi/ike/main_mode_responder.hpp"
#include "gdoi/wire/message.hpp"
#include "test/unit/gdoi/ike/lossy_network.hpp"

#include <algorithm>
#include <catch2/catch.hpp>

using namespace gdoi;
using namespace gdoi::ike;
using crypto::CbcCipher;
using crypto::DhGroup;
using crypto::HashAlgorithm;

namespace {

const IpAddress member_address = IpAddress::v4(192, 0, 2, 10);
const IpAddress server_address = IpAddress::v4(192, 0, 2, 1);
const char* psk = "a-pre-shared-key-of-more-than-20-characters";

struct Pair {
    MainModeResponderConfig responder_config;
    std::unique_ptr<MainModeResponder> responder;
    std::unique_ptr<MainModeInitiator> initiator;
    std::vector<std::string> member_log, server_log;
    TimePoint now{};

    Pair(std::vector<Phase1Proposal> offered, std::vector<Phase1Proposal> accepted,
         std::string member_psk = psk, uint32_t doi = 1, bool notify = true,
         bool initial_contact = true) {
        responder_config.local_address = server_address;
        responder_config.acceptable = std::move(accepted);
        responder_config.pre_shared_key_for =
            [](const IpAddress& peer) -> std::optional<SecretBytes> {
            if (peer == member_address) return SecretBytes(std::string_view(psk));
            return std::nullopt;
        };
        responder_config.notify_authentication_failure = notify;
        responder_config.log = [this](LogLevel, const std::string& s) { server_log.push_back(s); };
        responder = std::make_unique<MainModeResponder>(responder_config, member_address);
        MainModeInitiatorConfig c;
        c.local_address = member_address;
        c.server_address = server_address;
        c.pre_shared_key = SecretBytes(std::string_view(member_psk));
        c.proposals = std::move(offered);
        c.quirks.phase1_doi = doi;
        c.initial_contact = initial_contact;
        c.retransmit = {std::chrono::seconds(1), std::chrono::seconds(4), std::chrono::seconds(30)};
        c.log = [this](LogLevel, const std::string& s) { member_log.push_back(s); };
        initiator = std::make_unique<MainModeInitiator>(std::move(c));
    }

    void run(uint32_t seed, test_net::Faults faults) {
        test_net::LossyNetwork net(seed, faults);
        initiator->start(now);
        test_net::run(
            *initiator, net, now,
            [&](const test_net::Datagram& d, TimePoint t) { return responder->on_datagram(d, t); },
            [&] { return initiator->established() || initiator->failed(); });
    }
};

// Both ends hold the same keys and IV chain: a protected notification from the responder
// reads correctly at the initiator (and one with a flipped bit does not).
void check_same_sa(Phase1Sa& server_sa, Phase1Sa& member_sa) {
    CHECK(server_sa.skeyid_a == member_sa.skeyid_a);
    CHECK(server_sa.skeyid_d == member_sa.skeyid_d);
    CHECK(server_sa.initiator_cookie == member_sa.initiator_cookie);
    CHECK(server_sa.responder_cookie == member_sa.responder_cookie);
    auto notify = protected_notify(server_sa, wire::NotifyType::invalid_id_information);
    std::string why;
    auto read = read_informational(notify, &member_sa, why);
    REQUIRE(read);
    CHECK(read->notify_type == static_cast<uint16_t>(wire::NotifyType::invalid_id_information));
    notify[notify.size() - 3] ^= 0x01;
    CHECK_FALSE(read_informational(notify, &member_sa, why));
}

} // namespace

TEST_CASE("Main Mode completes for every supported proposal combination", "[ike][main-mode]") {
    for (auto cipher : {CbcCipher::des3, CbcCipher::aes128, CbcCipher::aes192, CbcCipher::aes256}) {
        for (auto hash : {HashAlgorithm::md5, HashAlgorithm::sha1, HashAlgorithm::sha256,
                          HashAlgorithm::sha384, HashAlgorithm::sha512}) {
            for (auto group : {DhGroup::modp768, DhGroup::modp1024, DhGroup::modp1536,
                               DhGroup::modp2048, DhGroup::modp3072, DhGroup::modp4096,
                               DhGroup::ecp256, DhGroup::ecp384, DhGroup::ecp521}) {
                Phase1Proposal p{cipher, hash, group, std::chrono::seconds(3600)};
                CAPTURE(p.describe());
                Pair pair({p}, {p}, psk, group == DhGroup::modp1024 ? 2 : 1);
                pair.run(1, {});
                REQUIRE(pair.initiator->established());
                REQUIRE(pair.responder->established());
                auto member_sa = pair.initiator->take_sa();
                REQUIRE(member_sa);
                CHECK(member_sa->proposal.same_algorithms(p));
                check_same_sa(*pair.responder->sa(), *member_sa);
            }
        }
    }
}

TEST_CASE("Main Mode with ECP groups carries x | y in KE and survives a lossy network",
          "[ike][main-mode]") {
    for (auto [group, hash] : {std::pair{DhGroup::ecp256, HashAlgorithm::sha256},
                               std::pair{DhGroup::ecp384, HashAlgorithm::sha384},
                               std::pair{DhGroup::ecp521, HashAlgorithm::sha512},
                               std::pair{DhGroup::modp3072, HashAlgorithm::sha512}}) {
        const Phase1Proposal p{CbcCipher::aes256, hash, group, std::chrono::seconds(3600)};
        CAPTURE(p.describe());
        Pair pair({p}, {p});
        pair.initiator->start(pair.now);
        auto mm1 = pair.initiator->take_datagrams().at(0);
        auto mm2 = pair.responder->on_datagram(mm1, pair.now).at(0);
        pair.initiator->on_datagram(mm2, pair.now);
        auto mm3 = pair.initiator->take_datagrams().at(0);
        const auto message3 = wire::decode_message(mm3);
        auto* ke = message3.find<wire::KePayload>();
        REQUIRE(ke);
        CHECK(ke->data.size() == crypto::dh_public_value_length(group)); // 64, 96, 132 or 384
        // The rest, through loss and reordering.
        Pair lossy({p}, {p});
        lossy.run(7, {0.3, 0.3, std::chrono::milliseconds(800)});
        REQUIRE(lossy.initiator->established());
        auto member_sa = lossy.initiator->take_sa();
        CHECK(member_sa->proposal.same_algorithms(p));
        check_same_sa(*lossy.responder->sa(), *member_sa);
    }
}

TEST_CASE("an ECP value that is not a point of the group ends Main Mode with a sentence",
          "[ike][main-mode]") {
    const Phase1Proposal p{CbcCipher::aes256, HashAlgorithm::sha384, DhGroup::ecp384,
                           std::chrono::seconds(3600)};
    // Overwrites the KE data of a datagram in place (same length, so it still parses).
    auto corrupt_ke = [](std::vector<uint8_t> datagram, uint8_t fill) {
        const auto message = wire::decode_message(datagram);
        auto* ke = message.find<wire::KePayload>();
        REQUIRE(ke);
        auto at = std::search(datagram.begin(), datagram.end(), ke->data.begin(), ke->data.end());
        REQUIRE(at != datagram.end());
        if (fill == 0xfe)
            *(at + static_cast<long>(ke->data.size()) - 1) ^= 0x01; // y off by one: off the curve
        else
            std::fill_n(at, ke->data.size(), fill);
        return datagram;
    };
    for (uint8_t fill : {uint8_t(0x00), uint8_t(0xfe)}) {
        CAPTURE(int(fill));
        { // from the key server (message 4)
            Pair pair({p}, {p});
            pair.initiator->start(pair.now);
            auto mm2 =
                pair.responder->on_datagram(pair.initiator->take_datagrams().at(0), pair.now);
            pair.initiator->on_datagram(mm2.at(0), pair.now);
            auto mm4 =
                pair.responder->on_datagram(pair.initiator->take_datagrams().at(0), pair.now);
            pair.initiator->on_datagram(corrupt_ke(mm4.at(0), fill), pair.now);
            REQUIRE(pair.initiator->failed());
            CHECK(pair.initiator->failure_reason() ==
                  "key server 192.0.2.1 sent an unusable Diffie-Hellman value: peer's "
                  "Diffie-Hellman public value for ECP-384 (group 20) is not a point on the curve");
        }
        { // from the member (message 3): refused with INVALID-KEY-INFORMATION
            Pair pair({p}, {p});
            pair.initiator->start(pair.now);
            auto mm2 =
                pair.responder->on_datagram(pair.initiator->take_datagrams().at(0), pair.now);
            pair.initiator->on_datagram(mm2.at(0), pair.now);
            auto mm3 = corrupt_ke(pair.initiator->take_datagrams().at(0), fill);
            auto answer = pair.responder->on_datagram(mm3, pair.now);
            REQUIRE(pair.responder->failed());
            CHECK(pair.responder->failure_reason() ==
                  "peer's Diffie-Hellman public value for ECP-384 (group 20) is not a point on "
                  "the curve");
            REQUIRE(answer.size() == 1);
            const auto message = wire::decode_message(answer[0]);
            auto* notify = message.find<wire::NotifyPayload>();
            REQUIRE(notify);
            CHECK(notify->notify_type ==
                  static_cast<uint16_t>(wire::NotifyType::invalid_key_information));
        }
    }
}

TEST_CASE("Main Mode survives loss, duplication and reordering", "[ike][main-mode]") {
    const Phase1Proposal p{CbcCipher::aes256, HashAlgorithm::sha256, DhGroup::modp1536,
                           std::chrono::seconds(86400)};
    int resent_total = 0;
    for (uint32_t seed = 1; seed <= 40; ++seed) {
        CAPTURE(seed);
        Pair pair({p}, {p});
        test_net::LossyNetwork probe(seed, {});
        pair.run(seed, {0.3, 0.3, std::chrono::milliseconds(1500)});
        REQUIRE(pair.initiator->established());
        auto member_sa = pair.initiator->take_sa();
        check_same_sa(*pair.responder->sa(), *member_sa);
        for (const auto& line : pair.member_log)
            resent_total += line.find("sending it again") != std::string::npos;
    }
    CHECK(resent_total > 10); // the faults really happened
}

TEST_CASE("the responder picks the first acceptable transform and answers in the DOI asked",
          "[ike][main-mode]") {
    const Phase1Proposal weak{CbcCipher::des3, HashAlgorithm::md5, DhGroup::modp768,
                              std::chrono::seconds(600)};
    const Phase1Proposal strong{CbcCipher::aes128, HashAlgorithm::sha1, DhGroup::modp2048,
                                std::chrono::seconds(7200)};
    Pair pair({weak, strong}, {strong}, psk, 2);
    pair.run(3, {});
    REQUIRE(pair.initiator->established());
    auto sa = pair.initiator->take_sa();
    CHECK(sa->proposal.same_algorithms(strong));
    CHECK(sa->doi == 2);
    CHECK(pair.responder->sa()->doi == 2);
}

TEST_CASE("Main Mode failures end with one sentence naming the reason", "[ike][main-mode]") {
    const Phase1Proposal p{CbcCipher::aes256, HashAlgorithm::sha256, DhGroup::modp2048,
                           std::chrono::seconds(86400)};
    SECTION("wrong pre-shared key, server answers AUTHENTICATION-FAILED") {
        Pair pair({p}, {p}, "another-pre-shared-key-of-20-characters");
        pair.run(1, {});
        REQUIRE(pair.initiator->failed());
        CHECK(pair.initiator->failure_reason() ==
              "key server 192.0.2.1 rejected our pre-shared key (AUTHENTICATION-FAILED)");
        CHECK(pair.responder->failure_reason().find("HASH_I mismatch") != std::string::npos);
    }
    SECTION("wrong pre-shared key, server stays silent") {
        Pair pair({p}, {p}, "another-pre-shared-key-of-20-characters", 1, false);
        pair.run(1, {});
        REQUIRE(pair.initiator->failed());
        CHECK_THAT(pair.initiator->failure_reason(),
                   Catch::StartsWith(
                       "key server 192.0.2.1 did not answer Main Mode message 5 within 30 s"));
        CHECK(pair.now - TimePoint{} >= std::chrono::seconds(30));
        CHECK(pair.now - TimePoint{} < std::chrono::seconds(35));
    }
    SECTION("no common proposal") {
        Phase1Proposal other = p;
        other.group = DhGroup::modp1024;
        Pair pair({p}, {other});
        pair.run(1, {});
        REQUIRE(pair.initiator->failed());
        CHECK(pair.initiator->failure_reason() ==
              "key server 192.0.2.1 accepted none of our Phase 1 proposals (NO-PROPOSAL-CHOSEN)");
    }
    SECTION("server never answers") {
        Pair pair({p}, {p});
        test_net::LossyNetwork net(1, {1.0, 0, std::chrono::milliseconds(1)});
        pair.initiator->start(pair.now);
        test_net::run(
            *pair.initiator, net, pair.now,
            [&](const test_net::Datagram& d, TimePoint t) {
                return pair.responder->on_datagram(d, t);
            },
            [&] { return pair.initiator->failed(); });
        REQUIRE(pair.initiator->failed());
        CHECK(pair.initiator->failure_reason() ==
              "key server 192.0.2.1 did not answer Main Mode message 1 within 30 s");
        // 1 s, 2 s, 4 s, 4 s ... within 30 s: first send plus 8 resends
        CHECK(net.sent() == 9);
    }
}

TEST_CASE("the initiator sends INITIAL-CONTACT on first contact only when asked",
          "[ike][main-mode]") {
    // RFC 2407 section 4.6.3.3: INITIAL-CONTACT only when we hold no other SA with the peer;
    // the daemon passes initial_contact = false on later registrations with the same server.
    const Phase1Proposal p{CbcCipher::aes128, HashAlgorithm::sha1, DhGroup::modp1024,
                           std::chrono::seconds(600)};
    // Runs the exchange by hand; returns the size of message 5 (a NOTIFY adds 28 octets: more
    // than one cipher block, so the padded size shows whether it is there).
    auto mm5_size = [](Pair& pair) {
        pair.initiator->start(pair.now);
        auto mm2 = pair.responder->on_datagram(pair.initiator->take_datagrams().at(0), pair.now);
        pair.initiator->on_datagram(mm2.at(0), pair.now);
        auto mm4 = pair.responder->on_datagram(pair.initiator->take_datagrams().at(0), pair.now);
        pair.initiator->on_datagram(mm4.at(0), pair.now);
        auto mm5 = pair.initiator->take_datagrams().at(0);
        auto mm6 = pair.responder->on_datagram(mm5, pair.now);
        pair.initiator->on_datagram(mm6.at(0), pair.now);
        REQUIRE(pair.initiator->established());
        REQUIRE(pair.responder->established());
        return mm5.size();
    };
    auto server_logged = [](const Pair& pair) {
        bool logged = false;
        for (const auto& line : pair.server_log)
            logged |= line.find("INITIAL-CONTACT") != std::string::npos;
        return logged;
    };
    SECTION("first contact (the default) and a later registration") {
        Pair first({p}, {p});
        auto with = mm5_size(first);
        CHECK(server_logged(first)); // the responder read the notification
        Pair later({p}, {p}, psk, 1, true, false);
        auto without = mm5_size(later);
        CHECK_FALSE(server_logged(later));
        CHECK(with > without);
    }
    SECTION("through a lossy network too") {
        Pair pair({p}, {p}, psk, 1, true, false);
        pair.run(3, {0.2, 0.2, std::chrono::milliseconds(300)});
        REQUIRE(pair.initiator->established());
        CHECK_FALSE(server_logged(pair));
    }
}

TEST_CASE("garbage and foreign datagrams do not disturb an exchange", "[ike][main-mode]") {
    const Phase1Proposal p{CbcCipher::aes128, HashAlgorithm::sha256, DhGroup::modp1024,
                           std::chrono::seconds(600)};
    Pair pair({p}, {p});
    pair.initiator->start(pair.now);
    auto mm1 = pair.initiator->take_datagrams().at(0);
    auto mm2 = pair.responder->on_datagram(mm1, pair.now).at(0);
    pair.initiator->on_datagram(std::vector<uint8_t>(5, 0xff), pair.now);
    auto foreign = mm2;
    foreign[0] ^= 0xff; // another initiator cookie
    pair.initiator->on_datagram(foreign, pair.now);
    CHECK(pair.initiator->take_datagrams().empty());
    for (size_t cut = 1; cut < mm2.size(); cut += 7) {
        pair.initiator->on_datagram(std::span<const uint8_t>(mm2).first(cut), pair.now);
        CHECK(pair.initiator->take_datagrams().empty());
    }
    pair.initiator->on_datagram(mm2, pair.now);
    CHECK(pair.initiator->take_datagrams().size() == 1); // MM3
    CHECK_FALSE(pair.initiator->failed());
}
