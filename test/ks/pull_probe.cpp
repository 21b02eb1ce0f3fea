// pull-probe: registers with a key server over a real UDP socket using the member state
// machine (gdoi::pull::Registration) exactly as the daemon will, and prints the group policy
// it received as JSON on stdout (keys as fingerprints). Exit 0 registered, 1 failed, 2 usage.
#include "gdoi/pull/registration.hpp"
#include "test/ks/policy_json.hpp"
#include "test/ks/udp_socket.hpp"

#include <CLI/CLI.hpp>
#include <fstream>
#include <iostream>
#include <poll.h>

using namespace gdoi;
using namespace gdoi_test_ks;

int main(int argc, char** argv) {
    CLI::App app{"pull-probe: register with a GDOI key server once and print the policy"};
    std::string server_text, local_text, psk_file, encryption = "aes-256-cbc", hash = "sha256";
    uint32_t group = 0;
    uint16_t port = 848, local_port = 0;
    int dh_group = 14, budget = 30, doi = 1;
    bool little_endian = false, reversed = false, verbose = false;
    app.add_option("--server", server_text, "key server address")->required();
    app.add_option("--port", port, "key server port");
    app.add_option("--local", local_text, "our address")->required();
    app.add_option("--local-port", local_port, "our port (0 = any)");
    app.add_option("--group", group, "group number")->required();
    app.add_option("--psk-file", psk_file, "file holding the pre-shared key")->required();
    app.add_option("--encryption", encryption,
                   "3des-cbc | aes-128-cbc | aes-192-cbc | aes-256-cbc");
    app.add_option("--hash", hash, "md5 | sha1 | sha256");
    app.add_option("--dh-group", dh_group, "1 | 2 | 5 | 14");
    app.add_option("--budget", budget, "seconds before giving up");
    app.add_option("--phase1-doi", doi, "DOI of our Phase 1 SA (1 or 2)");
    app.add_flag("--group-id-little-endian", little_endian, "send the group number in host order");
    app.add_flag("--sa-tek-ipv4-reversed", reversed, "the server byte-reverses SA TEK IPv4 IDs");
    app.add_flag("-v,--verbose", verbose, "log the exchange to stderr");
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
    proposal.hash = hash == "md5"    ? crypto::HashAlgorithm::md5
                    : hash == "sha1" ? crypto::HashAlgorithm::sha1
                                     : crypto::HashAlgorithm::sha256;
    auto dh = crypto::dh_group_from_number(static_cast<uint16_t>(dh_group));
    if (!dh) {
        std::cerr << "pull-probe: --dh-group must be 1, 2, 5 or 14" << std::endl;
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
                    std::cout << policy_to_json(*event.policy).dump(2) << std::endl;
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
