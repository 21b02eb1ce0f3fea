// Main Mode authenticated with RSA signatures: initiator (member) against responder (key server)
// in one process, with certificates from a throw-away PKI. Asserts what an operator sees: who
// was authenticated, and for each refusal which certificate broke which rule.
#include "gdoi/ike/isakmp_io.hpp"
#include "gdoi/ike/main_mode_initiator.hpp"
#include "gdoi/ike/main_mode_responder.hpp"
#include "gdoi/wire/message.hpp"
#include "test/support/test_pki.hpp"
#include "test/unit/gdoi/ike/lossy_network.hpp"

#include <catch2/catch.hpp>

using namespace gdoi;
using namespace gdoi::ike;
using crypto::CbcCipher;
using crypto::DhGroup;
using crypto::HashAlgorithm;
using test_support::request;
using test_support::TestPki;
using Send = MainModeResponderConfig::SendCertificate;

namespace {

const IpAddress member_address = IpAddress::v4(192, 0, 2, 10);
const IpAddress server_address = IpAddress::v4(192, 0, 2, 1);

TestPki& pki() {
    static TestPki instance("CN=GET VPN CA,O=Example");
    return instance;
}

CertificateCredentials credentials(const test_support::IssuedCertificate& own, const TestPki& ca) {
    CertificateCredentials c;
    c.certificate = own.certificate;
    c.private_key = own.key;
    auto trust = std::make_shared<crypto::TrustStore>();
    trust->add_authority(ca.ca().certificate);
    c.trust = trust;
    return c;
}

struct CertPair {
    MainModeResponderConfig responder_config;
    std::unique_ptr<MainModeResponder> responder;
    std::unique_ptr<MainModeInitiator> initiator;
    std::vector<Datagram> member_sent;
    TimePoint now{};

    CertPair(CertificateCredentials member, CertificateCredentials server, Send send = Send::always,
             Phase1Proposal proposal = {CbcCipher::aes256, HashAlgorithm::sha256,
                                        DhGroup::modp2048, std::chrono::seconds(3600)}) {
        responder_config.local_address = server_address;
        responder_config.acceptable = {proposal};
        responder_config.certificate = std::move(server);
        responder_config.send_certificate = send;
        responder = std::make_unique<MainModeResponder>(responder_config, member_address);
        MainModeInitiatorConfig c;
        c.local_address = member_address;
        c.server_address = server_address;
        c.certificate = std::move(member);
        c.proposals = {proposal};
        c.retransmit = {std::chrono::seconds(1), std::chrono::seconds(4), std::chrono::seconds(30)};
        initiator = std::make_unique<MainModeInitiator>(std::move(c));
    }

    void run() {
        test_net::LossyNetwork net(1, {});
        initiator->start(now);
        test_net::run(
            *initiator, net, now,
            [&](const test_net::Datagram& d, TimePoint t) {
                member_sent.push_back(d);
                return responder->on_datagram(d, t);
            },
            [&] { return initiator->established() || initiator->failed(); });
    }
};

} // namespace

TEST_CASE("Main Mode with certificates: both ends authenticate each other by name",
          "[ike][certificate]") {
    auto member = pki().issue(request("CN=gm1.example.net,O=Example"));
    auto server = pki().issue(request("CN=ks1.example.net,O=Example", {"DNS:ks1.example.net"}));
    for (auto group : {DhGroup::modp2048, DhGroup::modp1024}) {
        for (auto hash : {HashAlgorithm::sha256, HashAlgorithm::sha1}) {
            CertPair pair(credentials(member, pki()), credentials(server, pki()), Send::always,
                          {CbcCipher::aes256, hash, group, std::chrono::seconds(3600)});
            pair.run();
            REQUIRE(pair.initiator->established());
            REQUIRE(pair.responder->established());
            CHECK(pair.initiator->peer_subject() == "O=Example,CN=ks1.example.net");
            CHECK(pair.responder->peer_subject() == "O=Example,CN=gm1.example.net");
            auto sa = pair.initiator->take_sa();
            CHECK(sa->proposal.authentication == Phase1Authentication::rsa_signature);
            CHECK(sa->skeyid_a == pair.responder->sa()->skeyid_a);
            CHECK(sa->skeyid_d == pair.responder->sa()->skeyid_d);
        }
    }
}

TEST_CASE("what the member sends: method 3, CERTREQ naming its CA, ID as DN, CERT and SIG",
          "[ike][certificate]") {
    auto member = pki().issue(request("CN=gm1,O=Example"));
    auto server = pki().issue(request("CN=ks1,O=Example"));
    CertPair pair(credentials(member, pki()), credentials(server, pki()));
    pair.run();
    REQUIRE(pair.initiator->established());
    REQUIRE(pair.member_sent.size() == 3);
    auto mm1 = wire::decode_message(pair.member_sent[0]);
    auto transform = mm1.find<wire::SaPayload>()->proposals.at(0).transforms.at(0);
    std::string why;
    CHECK(from_transform(transform, why)->authentication == Phase1Authentication::rsa_signature);
    CHECK(wire::find_attribute(transform.attributes, wire::ike_attr::authentication_method)
              ->number() == 3u);
    auto mm3 = wire::decode_message(pair.member_sent[1]);
    auto requests = mm3.find_all<wire::CertRequestPayload>();
    REQUIRE(requests.size() == 1);
    CHECK(requests[0]->cert_type == 4);
    CHECK(pki().ca().certificate.subject_equals(requests[0]->authority));
    // Message 5 is encrypted: its size shows the CERT (a 2048-bit certificate is ~800 octets).
    CHECK(pair.member_sent[2].size() > 800);
}

TEST_CASE("key servers that send their CERT only when asked, or never", "[ike][certificate]") {
    auto member = pki().issue(request("CN=gm1,O=Example"));
    auto server = pki().issue(request("CN=ks1,O=Example"));
    SECTION("on request: we ask, so it comes") {
        CertPair pair(credentials(member, pki()), credentials(server, pki()), Send::on_request);
        pair.run();
        CHECK(pair.initiator->established());
    }
    SECTION("on request, but we do not ask and hold no copy") {
        auto ours = credentials(member, pki());
        ours.send_certificate_request = false;
        CertPair pair(ours, credentials(server, pki()), Send::on_request);
        pair.run();
        REQUIRE(pair.initiator->failed());
        CHECK(pair.initiator->failure_reason() ==
              "key server 192.0.2.1 failed certificate authentication: the peer sent no "
              "certificate and none is configured for it");
    }
    SECTION("never, with the server's certificate configured locally") {
        auto ours = credentials(member, pki());
        ours.peer_certificate = server.certificate;
        CertPair pair(ours, credentials(server, pki()), Send::never);
        pair.run();
        CHECK(pair.initiator->established());
        CHECK(pair.initiator->peer_subject() == "O=Example,CN=ks1");
    }
}

TEST_CASE("certificate refusals name the certificate and the rule", "[ike][certificate]") {
    auto member = pki().issue(request("CN=gm1,O=Example"));
    auto server = pki().issue(request("CN=ks1,O=Example", {"DNS:ks1.example.net"}));
    SECTION("the server's certificate expired") {
        auto expired = pki().issue(request("CN=old ks,O=Example", {}, -3 * 86400, -86400));
        CertPair pair(credentials(member, pki()), credentials(expired, pki()));
        pair.run();
        REQUIRE(pair.initiator->failed());
        CHECK_THAT(pair.initiator->failure_reason(),
                   Catch::StartsWith("key server 192.0.2.1 failed certificate authentication: "
                                     "certificate \"O=Example,CN=old ks\" expired on "));
    }
    SECTION("the server's certificate is from a CA we do not trust") {
        TestPki rogue("CN=rogue CA");
        auto impostor = rogue.issue(request("CN=ks1,O=Example"));
        CertPair pair(credentials(member, pki()), credentials(impostor, pki()));
        pair.run();
        REQUIRE(pair.initiator->failed());
        CHECK(pair.initiator->failure_reason() ==
              "key server 192.0.2.1 failed certificate authentication: certificate "
              "\"O=Example,CN=ks1\" was not issued by a configured certificate authority (its "
              "issuer is \"CN=rogue CA\")");
    }
    SECTION("the pin names another server") {
        auto ours = credentials(member, pki());
        ours.peer_identity = "ks2.example.net";
        CertPair pair(ours, credentials(server, pki()));
        pair.run();
        REQUIRE(pair.initiator->failed());
        CHECK(pair.initiator->failure_reason() ==
              "key server 192.0.2.1 failed certificate authentication: certificate "
              "\"O=Example,CN=ks1\" does not match the configured identity \"ks2.example.net\"");
    }
    SECTION("the pin matches by DN or by DNS name") {
        for (const char* pin : {"CN=ks1, O=Example", "ks1.example.net"}) {
            auto ours = credentials(member, pki());
            ours.peer_identity = pin;
            CertPair pair(ours, credentials(server, pki()));
            pair.run();
            CHECK(pair.initiator->established());
        }
    }
    SECTION("the server signs with a key that is not its certificate's") {
        auto server_creds = credentials(server, pki());
        auto other = pki().issue(request("CN=x"));
        if (other.key == server.key) other = pki().issue(request("CN=y"));
        server_creds.private_key = other.key;
        CertPair pair(credentials(member, pki()), server_creds);
        pair.run();
        REQUIRE(pair.initiator->failed());
        CHECK(pair.initiator->failure_reason() ==
              "key server 192.0.2.1 failed certificate authentication: the signature does not "
              "verify with the key of certificate \"O=Example,CN=ks1\"");
    }
    SECTION("the member's certificate is revoked: the server refuses and says so") {
        auto revoked = pki().issue(request("CN=stolen gm,O=Example"));
        auto server_creds = credentials(server, pki());
        auto trust = std::make_shared<crypto::TrustStore>();
        trust->add_authority(pki().ca().certificate);
        trust->add_crls_pem(pki().crl_pem({revoked.serial}), "crl");
        server_creds.trust = trust;
        CertPair pair(credentials(revoked, pki()), server_creds);
        pair.run();
        REQUIRE(pair.initiator->failed());
        CHECK(pair.initiator->failure_reason() ==
              "key server 192.0.2.1 refused our certificate \"O=Example,CN=stolen gm\" "
              "(AUTHENTICATION-FAILED; its log says why: CA, validity, revocation or "
              "authorisation)");
        CHECK(pair.responder->failure_reason() ==
              "member certificate refused: certificate \"O=Example,CN=stolen gm\" is revoked by "
              "the CRL of \"O=Example,CN=GET VPN CA\"");
    }
    SECTION("a pre-shared-key member meets a certificate-only server") {
        MainModeResponderConfig rc;
        rc.local_address = server_address;
        rc.acceptable = {{CbcCipher::aes256, HashAlgorithm::sha256, DhGroup::modp2048,
                          std::chrono::seconds(3600)}};
        rc.certificate = credentials(server, pki());
        MainModeResponder responder(rc, member_address);
        MainModeInitiatorConfig c;
        c.local_address = member_address;
        c.server_address = server_address;
        c.pre_shared_key = SecretBytes(std::string_view("a-pre-shared-key-of-20-characters"));
        c.proposals = rc.acceptable;
        MainModeInitiator initiator(std::move(c));
        initiator.start({});
        auto answer = responder.on_datagram(initiator.take_datagrams().at(0), {});
        initiator.on_datagram(answer.at(0), {});
        REQUIRE(initiator.failed());
        CHECK(initiator.failure_reason() ==
              "key server 192.0.2.1 accepted none of our Phase 1 proposals (NO-PROPOSAL-CHOSEN)");
    }
}
