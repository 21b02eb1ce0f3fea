// Figure 2, the storm: MEMBERS members register at the same moment with one key server (the
// morning after a power cut). Each member is a gdoi::pull::Registration, as gdoid drives it
// (fresh Main Mode + GROUPKEY-PULL, gdoid's retransmission: 1 s doubling, with jitter), with its
// own UDP socket; all of them are started together and served by one poll loop, so the key
// server sees MEMBERS concurrent exchanges over UDP. Reported: time until all are registered,
// each member's wait (its start to its registration) as median, p99 and max, max/median
// (target: no member waits more than 2x the median), and how many members had to retransmit.
// Baseline: one registration alone with the same driver, in the same run, just before.
// With --ks-pid, the key server's CPU time during the storm (from /proc) is set beside the
// members' (this process's), to show which side the wall time went to.
//   bench-storm --server A --local A --psk-file F --group N [--members 200] [--ks-pid PID]
#include "gdoi/pull/registration.hpp"

#include "bench/bench_row.hpp"
#include "gdoi/crypto/dh_group.hpp"
#include "bench/push_source.hpp"
#include "test/ks/udp_socket.hpp"

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>
#include <random>
#include <poll.h>
#include <sys/resource.h>
#include <unistd.h>

using namespace gdoi;
using bench::format_seconds;
using bench::percentile;

namespace {

using Clock = std::chrono::steady_clock;

struct Member {
    std::unique_ptr<pull::Registration> registration;
    gdoi_test_ks::UdpSocket socket;
    Clock::time_point started;
    std::optional<double> waited; // seconds, once registered
    size_t sent = 0;              // datagrams sent: above the exchange's own, retransmissions
};

struct Storm {
    double all_registered = 0; // seconds from the first start to the last registration
    double start_spread = 0;   // seconds from the first member's start to the last one's
    std::vector<double> waits;
    std::vector<size_t> sent;
};

// Starts `count` registrations at once and drives them all to the end; throws when one fails.
Storm run_storm(const pull::RegistrationConfig& config, const IpAddress& server, size_t count) {
    std::vector<Member> members;
    members.reserve(count);
    std::random_device seeds;
    for (size_t i = 0; i < count; ++i) {
        // Each member its own jitter, as each gdoid seeds its own.
        auto member = config;
        member.phase1.retransmit.jitter_seed = seeds();
        member.pull_retransmit.jitter_seed = seeds();
        members.push_back({std::make_unique<pull::Registration>(member),
                           gdoi_test_ks::UdpSocket(config.phase1.local_address, 0), {}, {}, 0});
    }
    const auto first = Clock::now();
    // Each member's first datagram leaves as soon as it started, as 200 boxes would send theirs.
    auto send = [&](Member& m) {
        for (const auto& d : m.registration->take_datagrams()) {
            m.socket.send_to(d, server, 848);
            ++m.sent;
        }
    };
    for (auto& m : members) {
        m.started = Clock::now();
        m.registration->start(ike::Clock::now());
        send(m);
    }
    std::vector<pollfd> fds(count);
    size_t done = 0;
    while (done < count) {
        auto next_timer = ike::Clock::now() + std::chrono::seconds(1);
        for (size_t i = 0; i < count; ++i) {
            auto& m = members[i];
            if (m.waited) continue;
            send(m);
            for (auto& event : m.registration->take_events()) {
                if (event.kind != pull::RegistrationEvent::Kind::registered)
                    throw std::runtime_error("member " + std::to_string(i) +
                                             " did not register: " + event.reason);
                m.waited = std::chrono::duration<double>(Clock::now() - m.started).count();
                ++done;
            }
            if (auto t = m.registration->next_timer(); t && !m.waited)
                next_timer = std::min(next_timer, *t);
            fds[i] = {m.waited ? -1 : m.socket.fd(), POLLIN, 0};
        }
        if (done == count) break;
        const auto left =
            std::chrono::duration_cast<std::chrono::milliseconds>(next_timer - ike::Clock::now());
        ::poll(fds.data(), fds.size(), static_cast<int>(std::clamp<int64_t>(left.count(), 0, 1000)));
        const auto now = ike::Clock::now();
        for (size_t i = 0; i < count; ++i) {
            auto& m = members[i];
            if (m.waited) continue;
            if (fds[i].revents & POLLIN)
                while (auto received = m.socket.receive())
                    if (received->from == server) m.registration->on_datagram(received->data, now);
            m.registration->on_timer(now);
        }
    }
    Storm out;
    out.all_registered = std::chrono::duration<double>(Clock::now() - first).count();
    out.start_spread = std::chrono::duration<double>(members.back().started - first).count();
    for (const auto& m : members) {
        out.waits.push_back(*m.waited);
        out.sent.push_back(m.sent);
    }
    return out;
}

// CPU seconds (user + system) of process `pid` so far, from /proc/PID/stat; nullopt without it.
std::optional<double> process_cpu_seconds(int pid) {
    std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
    std::string text;
    if (!std::getline(stat, text)) return std::nullopt;
    const auto close = text.rfind(')'); // the command name may hold spaces
    if (close == std::string::npos) return std::nullopt;
    std::istringstream fields(text.substr(close + 2));
    std::string field;
    double utime = 0, stime = 0;
    for (int i = 3; i <= 15 && fields >> field; ++i) {
        if (i == 14) utime = std::stod(field);
        if (i == 15) stime = std::stod(field);
    }
    return (utime + stime) / double(sysconf(_SC_CLK_TCK));
}

// The namespace's UDP datagrams dropped because a socket's receive buffer was full
// (/proc/net/snmp Udp RcvbufErrors); nullopt when unreadable.
std::optional<long long> udp_receive_buffer_drops() {
    std::ifstream snmp("/proc/net/snmp");
    std::string names, values;
    while (std::getline(snmp, names) && std::getline(snmp, values)) {
        if (names.rfind("Udp:", 0) != 0) continue;
        std::istringstream n(names), v(values);
        std::string name, value;
        while (n >> name && v >> value)
            if (name == "RcvbufErrors") return std::stoll(value);
    }
    return std::nullopt;
}

double own_cpu_seconds() {
    rusage usage{};
    getrusage(RUSAGE_SELF, &usage);
    auto seconds = [](timeval t) { return double(t.tv_sec) + double(t.tv_usec) * 1e-6; };
    return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

} // namespace

int main(int argc, char** argv) try {
    CLI::App app{"bench-storm: many members registering with one key server at once"};
    std::string server_text, local_text, psk_file;
    uint32_t group = 0;
    size_t count = 200;
    app.add_option("--server", server_text)->required();
    app.add_option("--local", local_text)->required();
    app.add_option("--psk-file", psk_file)->required();
    app.add_option("--group", group)->required();
    app.add_option("--members", count);
    int ks_pid = 0;
    app.add_option("--ks-pid", ks_pid);
    CLI11_PARSE(app, argc, argv);
    if (count == 0) throw std::runtime_error("--members must be positive");

    const auto server = IpAddress::parse(server_text), local = IpAddress::parse(local_text);
    if (!server || !local) throw std::runtime_error("--server and --local take IP addresses");
    std::ifstream psk_stream(psk_file);
    std::string psk;
    if (!std::getline(psk_stream, psk) || psk.empty())
        throw std::runtime_error("cannot read a pre-shared key from " + psk_file);
    ike::Phase1Proposal proposal; // DH 14, AES-256, SHA-256: what the key server offers first
    proposal.cipher = crypto::CbcCipher::aes256;
    proposal.hash = crypto::HashAlgorithm::sha256;
    proposal.group = *crypto::dh_group_from_number(14);

    pull::RegistrationConfig config;
    config.phase1.local_address = *local;
    config.phase1.server_address = *server;
    config.phase1.pre_shared_key = SecretBytes(std::string_view(psk));
    config.phase1.proposals = {proposal};
    config.phase1.initial_contact = false; // a member that lost power did not say goodbye
    config.phase1.log = [](ike::LogLevel level, const std::string& text) {
        if (level >= ike::LogLevel::warning) std::cerr << text << std::endl;
    };
    config.group_id = group;
    // gdoid's schedule (RegistrationDriver::attempt_config): a 10 s attempt (retry interval's
    // default), resends after 1 s doubling, each wait shortened at random by up to a third.
    config.phase1.retransmit = ike::member_retransmit_policy(std::chrono::seconds(10), 0);
    config.pull_retransmit = config.phase1.retransmit;

    // Baseline: the median of 5 registrations alone (the first also warms OpenSSL up).
    std::vector<double> lone;
    size_t exchange = 0; // datagrams of one exchange without loss
    for (int i = 0; i < 5; ++i) {
        const Storm alone = run_storm(config, *server, 1);
        lone.push_back(alone.waits[0]);
        exchange = exchange ? std::min(exchange, alone.sent[0]) : alone.sent[0];
    }
    const double alone_median = percentile(lone, 0.5);
    const auto ks_cpu_before = ks_pid ? process_cpu_seconds(ks_pid) : std::nullopt;
    const double own_cpu_before = own_cpu_seconds();
    const auto drops_before = udp_receive_buffer_drops();
    const Storm storm = run_storm(config, *server, count);
    const double own_cpu = own_cpu_seconds() - own_cpu_before;
    const auto drops_after = udp_receive_buffer_drops();
    const auto ks_cpu_after = ks_pid ? process_cpu_seconds(ks_pid) : std::nullopt;
    std::string cpu_split = "members' CPU (this process) " + format_seconds(own_cpu);
    if (ks_cpu_before && ks_cpu_after)
        cpu_split += ", key server's CPU " + format_seconds(*ks_cpu_after - *ks_cpu_before);
    if (drops_before && drops_after)
        cpu_split += "; " + std::to_string(*drops_after - *drops_before) +
                     " datagrams dropped by full UDP receive buffers (RcvbufErrors)";

    const double median = percentile(storm.waits, 0.5);
    const double max = *std::max_element(storm.waits.begin(), storm.waits.end());
    const auto retransmitted =
        std::count_if(storm.sent.begin(), storm.sent.end(), [&](size_t s) { return s > exchange; });
    const size_t extra = [&] {
        size_t n = 0;
        for (size_t s : storm.sent) n += s > exchange ? s - exchange : 0;
        return n;
    }();
    const std::string n = std::to_string(count);
    bench::print_row("2 storm: " + n + " members at once, DH 14, until all registered",
                     format_seconds(storm.all_registered), "p50 " + format_seconds(alone_median) + " (1 alone)",
                     storm.all_registered / alone_median, "-",
                     std::to_string(retransmitted) + " of " + n + " members retransmitted (" +
                         std::to_string(extra) + " datagrams beyond the " +
                         std::to_string(exchange) + " of an exchange); " + cpu_split +
                         " (members and key server share this machine's cores); "
                         "baseline: one registration alone (median of 5), same driver, same run");
    bench::print_row("2 storm: " + n + " members, wait max / median",
                     "median " + format_seconds(median) + ", p99 " +
                         format_seconds(percentile(storm.waits, 0.99)) + ", max " +
                         format_seconds(max),
                     "p50 " + format_seconds(alone_median) + " (1 alone)", max / median,
                     "max <= 2x median",
                     "each member's wait: its own start to its registration (the " + n +
                         " starts, each generating its DH key, spread over " +
                         format_seconds(storm.start_spread) + "); ratio column: max / median");
    return 0;
} catch (const std::exception& e) {
    std::cerr << "bench-storm: " << e.what() << std::endl;
    return 1;
}
