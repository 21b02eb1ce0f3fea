// pull-probe: registers with a key server over a real UDP socket using the member state
// machine (gdoi::pull::Registration) exactly as the daemon will, and prints the group policy
// it received as JSON on stdout (keys as fingerprints). Exit 0 registered, 1 failed, 2 usage.
// With --listen-push S it then stays S seconds on its port (848 for pushes) and prints one JSON
// line per GROUPKEY-PUSH received with gdoi::push::PushReceiver's verdict, applying the accepted
// ones (gdoi::push::apply) and answering acks as a member does.
#include "gdoi/pull/registration.hpp"
#include "gdoi/push/push_apply.hpp"
#include "gdoi/push/push_crypto.hpp"
#include "gdoi/push/push_receiver.hpp"
#include "test/ks/policy_json.hpp"
#include "test/ks/udp_socket.hpp"

#include <CLI/CLI.hpp>
#include <fstream>
#include <iostream>
#include <poll.h>

using namespace gdoi;
using namespace gdoi_test_ks;

namespace {

nlohmann::json spis_json(const std::vector<uint32_t>& spis) {
    nlohmann::json out = nlohmann::json::array();
    for (auto spi : spis)
        out.push_back(push::spi_hex(spi));
    return out;
}

// One line per datagram: the verdict, what the push changes, whether we acked.
nlohmann::json verdict_json(const push::PushVerdict& v, const char* via, const IpAddress& from,
                            bool ack_sent) {
    nlohmann::json j = {
        {"event", "push"},          {"via", via},
        {"from", from.to_string()}, {"reason", std::string(push::push_reason_name(v.reason))},
        {"message", v.message},     {"ack_sent", ack_sent}};
    if (const auto& u = v.update) {
        std::vector<uint32_t> teks;
        for (const auto& t : u->teks)
            teks.push_back(t.spi);
        j["sequence"] = u->sequence;
        j["tek_spis"] = spis_json(teks);
        j["new_tek_spis"] = spis_json(u->new_tek_spis);
        j["kek_rollover"] = u->kek_rollover;
        if (u->kek) j["kek_spi"] = push::hex(u->kek->spi);
        j["deleted_tek_spis"] = spis_json(u->deletes.tek_spis);
        j["all_teks_deleted"] = u->deletes.all_teks;
        j["ejection_suspected"] = u->ejection_suspected;
        if (u->ejection_suspected) j["ejection_reason"] = u->ejection_reason;
        if (u->gap && u->gap->deactivation_delay) j["dtd"] = u->gap->deactivation_delay->count();
    }
    return j;
}

// Listens for pushes on `unicast` (and on the KEK's multicast group) until `seconds` passed.
void listen_for_pushes(GroupPolicy policy, const UdpSocket& unicast, const IpAddress& local,
                       const IpAddress& server, uint16_t server_port, int seconds) {
    std::optional<UdpSocket> multicast;
    const auto& dst = policy.kek->destination;
    if (dst.range.first == dst.range.last && dst.range.first.is_multicast()) {
        multicast.emplace(dst.range.first, dst.port ? dst.port : 848);
        multicast->join_multicast(dst.range.first, local);
    }
    push::PushReceiverConfig rc;
    rc.member_address = local;
    rc.answer_ack_requests = true; // the probe answers as a member with gdoid.conf push-ack on
    push::PushReceiver receiver(rc);
    uint32_t last_sequence = policy.sequence.value_or(0);
    auto end = ike::Clock::now() + std::chrono::seconds(seconds);
    while (ike::Clock::now() < end) {
        std::vector<pollfd> fds{{unicast.fd(), POLLIN, 0}};
        if (multicast) fds.push_back({multicast->fd(), POLLIN, 0});
        ::poll(fds.data(), fds.size(), 200);
        for (size_t i = 0; i < fds.size(); ++i) {
            const UdpSocket& socket = i == 0 ? unicast : *multicast;
            while (auto received = socket.receive()) {
                auto now = ike::Clock::now();
                auto verdict =
                    receiver.receive(received->data, *policy.kek, last_sequence, now, policy.teks);
                bool ack_sent = verdict.ack && unicast.send_to(*verdict.ack, server, server_port);
                std::cout << verdict_json(verdict, i == 0 ? "unicast" : "multicast", received->from,
                                          ack_sent)
                                 .dump()
                          << std::endl;
                if (!verdict.accepted()) continue;
                last_sequence = verdict.update->sequence;
                auto applied = push::apply(policy, *verdict.update, now);
                policy = std::move(applied.next);
                for (const auto& r : applied.removals)
                    std::erase_if(policy.teks, [&](const TekPolicy& t) {
                        return t.spi == r.spi && r.at <= now;
                    });
            }
        }
    }
}

} // namespace

int main(int argc, char** argv) {
    CLI::App app{"pull-probe: register with a GDOI key server once and print the policy"};
    std::string server_text, local_text, psk_file, encryption = "aes-256-cbc", hash = "sha256";
    uint32_t group = 0;
    uint16_t port = 848, local_port = 0;
    int dh_group = 14, budget = 30, doi = 1;
    int listen_push = 0;
    bool little_endian = false, reversed = false, verbose = false;
    app.add_option("--server", server_text, "key server address")->required();
    app.add_option("--port", port, "key server port");
    app.add_option("--local", local_text, "our address")->required();
    app.add_option("--local-port", local_port, "our port (0 = any)");
    app.add_option("--group", group, "group number")->required();
    app.add_option("--psk-file", psk_file, "file holding the pre-shared key")->required();
    app.add_option("--encryption", encryption,
                   "3des-cbc | aes-128-cbc | aes-192-cbc | aes-256-cbc");
    app.add_option("--hash", hash, "md5 | sha1 | sha256 | sha384 | sha512")
        ->check(CLI::IsMember({"md5", "sha1", "sha256", "sha384", "sha512"}));
    app.add_option("--dh-group", dh_group, "1 | 2 | 5 | 14 | 15 | 16 | 19 | 20 | 21");
    app.add_option("--budget", budget, "seconds before giving up");
    app.add_option("--phase1-doi", doi, "DOI of our Phase 1 SA (1 or 2)");
    app.add_flag("--group-id-little-endian", little_endian, "send the group number in host order");
    app.add_flag("--sa-tek-ipv4-reversed", reversed, "the server byte-reverses SA TEK IPv4 IDs");
    app.add_flag("-v,--verbose", verbose, "log the exchange to stderr");
    app.add_option("--listen-push", listen_push,
                   "after registering, print the verdict of every push received for S seconds "
                   "(one JSON object per line; use --local-port 848)");
    CLI11_PARSE(app, argc, argv);

    auto server = IpAddress::parse(server_text);
    auto local = IpAddress::parse(local_text);
    if (!server || !local) {
        std::cerr << "pull-probe: --server and --local must be IP addresses" << std::endl;
        return 2;
    }
    std::ifstream psk_stream(psk_file);
    std::string psk;
    if (!psk_stream || !std::getline(psk_stream, psk) || psk.empty()) {
        std::cerr << "pull-probe: cannot read a pre-shared key from " << psk_file << std::endl;
        return 2;
    }
    ike::Phase1Proposal proposal;
    proposal.cipher = encryption == "3des-cbc"      ? crypto::CbcCipher::des3
                      : encryption == "aes-128-cbc" ? crypto::CbcCipher::aes128
                      : encryption == "aes-192-cbc" ? crypto::CbcCipher::aes192
                                                    : crypto::CbcCipher::aes256;
    proposal.hash = hash == "md5"      ? crypto::HashAlgorithm::md5
                    : hash == "sha1"   ? crypto::HashAlgorithm::sha1
                    : hash == "sha384" ? crypto::HashAlgorithm::sha384
                    : hash == "sha512" ? crypto::HashAlgorithm::sha512
                                       : crypto::HashAlgorithm::sha256;
    auto dh = crypto::dh_group_from_number(static_cast<uint16_t>(dh_group));
    if (!dh) {
        std::cerr << "pull-probe: --dh-group must be 1, 2, 5, 14, 15, 16, 19, 20 or 21" << std::endl;
        return 2;
    }
    proposal.group = *dh;

    pull::RegistrationConfig config;
    config.phase1.local_address = *local;
    config.phase1.server_address = *server;
    config.phase1.pre_shared_key = SecretBytes(std::string_view(psk));
    config.phase1.proposals = {proposal};
    config.phase1.quirks.phase1_doi = static_cast<uint32_t>(doi);
    config.phase1.quirks.group_id_byte_order =
        little_endian ? GroupIdByteOrder::little_endian : GroupIdByteOrder::network;
    config.phase1.quirks.sa_tek_ipv4_byte_reversed = reversed;
    config.phase1.retransmit.budget = std::chrono::seconds(budget);
    config.pull_retransmit.budget = std::chrono::seconds(budget);
    config.phase1.log = [verbose](ike::LogLevel level, const std::string& text) {
        if (verbose || level >= ike::LogLevel::warning)
            std::cerr << "pull-probe: " << text << std::endl;
    };
    config.group_id = group;

    try {
        UdpSocket socket(*local, local_port);
        pull::Registration registration(std::move(config));
        registration.start(ike::Clock::now());
        while (true) {
            for (const auto& d : registration.take_datagrams())
                socket.send_to(d, *server, port);
            for (auto& event : registration.take_events()) {
                if (event.kind == pull::RegistrationEvent::Kind::registered) {
                    if (listen_push <= 0) {
                        std::cout << policy_to_json(*event.policy).dump(2) << std::endl;
                        return 0;
                    }
                    std::cout << nlohmann::json{{"event", "registered"},
                                                {"policy", policy_to_json(*event.policy)}}
                                     .dump()
                              << std::endl;
                    if (!event.policy->kek) {
                        std::cerr << "pull-probe: the group has no KEK: no push can come"
                                  << std::endl;
                        return 1;
                    }
                    listen_for_pushes(*event.policy, socket, *local, *server, port, listen_push);
                    return 0;
                }
                std::cerr << "pull-probe: registration failed: " << event.reason << std::endl;
                return 1;
            }
            int timeout = 1000;
            if (auto next = registration.next_timer()) {
                auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                    *next - ike::Clock::now());
                timeout = static_cast<int>(std::clamp<int64_t>(left.count(), 0, 1000));
            }
            pollfd fd{socket.fd(), POLLIN, 0};
            ::poll(&fd, 1, timeout);
            auto now = ike::Clock::now();
            while (auto received = socket.receive())
                if (received->from == *server) registration.on_datagram(received->data, now);
            registration.on_timer(now);
        }
    } catch (const std::exception& e) {
        std::cerr << "pull-probe: " << e.what() << std::endl;
        return 2;
    }
}
