// Figure 2, registration: COUNT registrations with a key server over UDP, each a fresh Main
// Mode + GROUPKEY-PULL driven by gdoi::pull::Registration exactly as gdoid drives it, then
// COUNT PULLs under the first registration's Phase 1 SA (a pull rekey); p50/p99 of Phase 1 and
// PULL. Baseline: the crypto of one exchange alone, timed in the same run -- both ends' DH
// (key generation and g^xy, as member and key server each do once) and the SKEYID chain of
// RFC 2409 section 5 (4 PRF calls per end) -- so the ratio is what the protocol adds.
//   bench-registration --server A --local A --psk-file F --group N --count N
//                      [--dh-group 14 --encryption aes-256-cbc --hash sha256]
#include "gdoi/pull/registration.hpp"

#include "bench/bench_row.hpp"
#include "gdoi/crypto/dh_group.hpp"
#include "gdoi/crypto/prf.hpp"
#include "test/ks/udp_socket.hpp"

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <fstream>
#include <iostream>
#include <poll.h>

using namespace gdoi;

namespace {

using Clock = std::chrono::steady_clock;

double seconds_between(Clock::time_point a, Clock::time_point b) {
    return std::chrono::duration<double>(b - a).count();
}

using bench::percentile;

struct Timing {
    double phase1 = 0; // 0 when the Phase 1 SA was reused
    double pull = 0;
};

struct Endpoint {
    IpAddress server, local;
    uint16_t port = 848;
};

// One registration over `socket`; returns its timing and hands back the Phase 1 SA.
Timing register_once(pull::RegistrationConfig config, const Endpoint& endpoint,
                     const gdoi_test_ks::UdpSocket& socket,
                     std::optional<ike::Phase1Sa>& phase1_out) {
    pull::Registration registration(std::move(config));
    const auto start = Clock::now();
    std::optional<Clock::time_point> phase1_done;
    registration.start(ike::Clock::now());
    if (registration.reused_phase1()) phase1_done = start;
    while (true) {
        for (const auto& d : registration.take_datagrams())
            socket.send_to(d, endpoint.server, endpoint.port);
        for (auto& event : registration.take_events()) {
            if (event.kind != pull::RegistrationEvent::Kind::registered)
                throw std::runtime_error("registration failed: " + event.reason);
            const auto end = Clock::now();
            phase1_out = registration.take_phase1_sa();
            return {seconds_between(start, *phase1_done), seconds_between(*phase1_done, end)};
        }
        int timeout = 1000;
        if (auto next = registration.next_timer()) {
            auto left =
                std::chrono::duration_cast<std::chrono::milliseconds>(*next - ike::Clock::now());
            timeout = static_cast<int>(std::clamp<int64_t>(left.count(), 0, 1000));
        }
        pollfd fd{socket.fd(), POLLIN, 0};
        ::poll(&fd, 1, timeout);
        const auto now = ike::Clock::now();
        while (auto received = socket.receive())
            if (received->from == endpoint.server) registration.on_datagram(received->data, now);
        registration.on_timer(now);
        if (!phase1_done && registration.phase1_sa()) phase1_done = Clock::now();
    }
}

// Both ends' DH and SKEYID chain, once: the floor under one fresh registration.
double crypto_floor(crypto::DhGroup group, crypto::HashAlgorithm hash) {
    const crypto::Bytes nonces = crypto::random_bytes(32);
    const auto start = Clock::now();
    crypto::DiffieHellman member(group), server(group);
    const SecretBytes a = member.shared_secret(server.public_value());
    const SecretBytes b = server.shared_secret(member.public_value());
    for (const SecretBytes* g_xy : {&a, &b}) {
        // SKEYID = prf(psk, Ni | Nr); SKEYID_d, _a, _e = prf(SKEYID, g^xy | ... ).
        SecretBytes skeyid = crypto::hmac(hash, nonces, {nonces});
        SecretBytes d = crypto::hmac(hash, skeyid.reveal(), {g_xy->reveal()});
        SecretBytes a_key = crypto::hmac(hash, skeyid.reveal(), {d.reveal(), g_xy->reveal()});
        SecretBytes e = crypto::hmac(hash, skeyid.reveal(), {a_key.reveal(), g_xy->reveal()});
        if (e.reveal().empty()) throw std::runtime_error("empty PRF output");
    }
    return seconds_between(start, Clock::now());
}

} // namespace

int main(int argc, char** argv) try {
    CLI::App app{"bench-registration: registrations with a key server, timed"};
    std::string server_text, local_text, psk_file, encryption = "aes-256-cbc", hash_text = "sha256";
    uint32_t group = 0;
    int dh_number = 14, count = 500;
    app.add_option("--server", server_text)->required();
    app.add_option("--local", local_text)->required();
    app.add_option("--psk-file", psk_file)->required();
    app.add_option("--group", group)->required();
    app.add_option("--count", count);
    app.add_option("--dh-group", dh_number);
    app.add_option("--encryption", encryption);
    app.add_option("--hash", hash_text);
    CLI11_PARSE(app, argc, argv);

    Endpoint endpoint{*IpAddress::parse(server_text), *IpAddress::parse(local_text)};
    std::ifstream psk_stream(psk_file);
    std::string psk;
    if (!std::getline(psk_stream, psk) || psk.empty())
        throw std::runtime_error("cannot read a pre-shared key from " + psk_file);
    ike::Phase1Proposal proposal;
    proposal.cipher =
        encryption == "3des-cbc" ? crypto::CbcCipher::des3 : crypto::CbcCipher::aes256;
    proposal.hash =
        hash_text == "sha1" ? crypto::HashAlgorithm::sha1 : crypto::HashAlgorithm::sha256;
    const auto dh = crypto::dh_group_from_number(uint16_t(dh_number));
    if (!dh) throw std::runtime_error("unsupported DH group");
    proposal.group = *dh;

    pull::RegistrationConfig config;
    config.phase1.local_address = endpoint.local;
    config.phase1.server_address = endpoint.server;
    config.phase1.pre_shared_key = SecretBytes(std::string_view(psk));
    config.phase1.proposals = {proposal};
    config.phase1.retransmit.budget = std::chrono::seconds(10);
    config.pull_retransmit.budget = std::chrono::seconds(10);
    config.phase1.log = [](ike::LogLevel level, const std::string& text) {
        if (level >= ike::LogLevel::warning) std::cerr << text << std::endl;
    };
    config.group_id = group;

    gdoi_test_ks::UdpSocket socket(endpoint.local, 0);
    std::vector<double> phase1, pull_fresh, total, pull_reused, floor;
    std::optional<ike::Phase1Sa> sa;
    for (int i = 0; i < count; ++i) {
        config.phase1.initial_contact = i == 0;
        std::optional<ike::Phase1Sa> this_sa;
        const Timing t = register_once(config, endpoint, socket, this_sa);
        phase1.push_back(t.phase1);
        pull_fresh.push_back(t.pull);
        total.push_back(t.phase1 + t.pull);
        if (!sa) sa = std::move(this_sa);
        floor.push_back(crypto_floor(*dh, proposal.hash));
    }
    for (int i = 0; i < count; ++i) {
        pull::RegistrationConfig again = config;
        again.phase1.initial_contact = false;
        again.reuse_phase1 = std::move(sa);
        std::optional<ike::Phase1Sa> back;
        const Timing t = register_once(std::move(again), endpoint, socket, back);
        if (t.phase1 != 0 || !back) throw std::runtime_error("the Phase 1 SA was not reused");
        pull_reused.push_back(t.pull);
        sa = std::move(back);
    }

    const std::string name = "DH " + std::to_string(dh_number) + "/" +
                             (encryption == "3des-cbc" ? "3DES" : "AES-256") + "/" +
                             (hash_text == "sha1" ? "SHA-1" : "SHA-256");
    const std::string n = std::to_string(count);
    using bench::format_seconds;
    const double floor_p50 = percentile(floor, 0.5);
    bench::print_row("2 registration " + name + " x" + n,
                     "p50 " + format_seconds(percentile(total, 0.5)),
                     "p50 " + format_seconds(floor_p50), percentile(total, 0.5) / floor_p50,
                     dh_number == 14 ? "p50 <= 5 ms" : "-",
                     "Phase 1 p50/p99 " + format_seconds(percentile(phase1, 0.5)) + "/" +
                         format_seconds(percentile(phase1, 0.99)) + ", PULL p50/p99 " +
                         format_seconds(percentile(pull_fresh, 0.5)) + "/" +
                         format_seconds(percentile(pull_fresh, 0.99)) + ", total p99 " +
                         format_seconds(percentile(total, 0.99)) +
                         "; baseline: both ends' DH keygen + g^xy and SKEYID chain");
    bench::print_row("2 PULL under reused Phase 1 SA " + name + " x" + n,
                     "p50 " + format_seconds(percentile(pull_reused, 0.5)),
                     "p50 " + format_seconds(floor_p50), percentile(pull_reused, 0.5) / floor_p50,
                     "-",
                     "p99 " + format_seconds(percentile(pull_reused, 0.99)) +
                         "; baseline as for a fresh registration (the DH this skips)");
    return 0;
} catch (const std::exception& e) {
    std::cerr << "bench-registration: " << e.what() << std::endl;
    return 1;
}
