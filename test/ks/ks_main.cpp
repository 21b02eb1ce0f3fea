// gdoi-test-ks: a real GDOI key server for the tests. Phase 1 responder and GROUPKEY-PULL
// responder over UDP, configured from TOML, logging every exchange to stderr, steered through a
// UNIX control socket (JSON lines). Usage: gdoi-test-ks --config ks.toml
#include "gdoi/pull/key_server_endpoint.hpp"
#include "test/ks/control_channel.hpp"
#include "test/ks/ks_config.hpp"
#include "test/ks/policy_json.hpp"
#include "test/ks/udp_socket.hpp"

#include <CLI/CLI.hpp>
#include <chrono>
#include <csignal>
#include <ctime>
#include <iostream>
#include <memory>
#include <poll.h>
#include <signal.h>

using namespace gdoi;
using namespace gdoi_test_ks;

namespace {

volatile std::sig_atomic_t stop_requested = 0;
void on_signal(int) {
    stop_requested = 1;
}

void log_line(ike::LogLevel level, const std::string& text) {
    static const char* names[] = {"debug", "info", "warning", "error"};
    auto now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
    char stamp[32];
    std::strftime(stamp, sizeof stamp, "%H:%M:%S", std::gmtime(&now));
    std::cerr << stamp << " gdoi-test-ks " << names[static_cast<int>(level)] << ": " << text
              << std::endl;
}

struct Server {
    KsConfig config;
    bool silent = false;
    std::unique_ptr<pull::KeyServerEndpoint> endpoint;

    const KsGroup* find_group(const std::vector<uint32_t>& ids) const {
        for (const auto& g : config.groups)
            for (auto id : ids)
                if (g.policy.group_id == id) return &g;
        return nullptr;
    }

    std::optional<SecretBytes> psk_for(const IpAddress& peer) const {
        // Main Mode with pre-shared keys finds the key by the peer's address (RFC 2409
        // section 5.4): the first group that knows this member, else a default.
        for (const auto& g : config.groups)
            if (auto it = g.psks.find(peer); it != g.psks.end()) return it->second;
        for (const auto& g : config.groups)
            if (g.default_psk) return *g.default_psk;
        return std::nullopt;
    }

    pull::PullDecision authorise(const IpAddress& member, const std::vector<uint32_t>& ids) const {
        const KsGroup* group = find_group(ids);
        if (!group)
            return pull::PullRefusal{wire::NotifyType::invalid_id_information,
                                     "no group " + std::to_string(ids.front()) + " here"};
        if (group->authorised && std::find(group->authorised->begin(), group->authorised->end(),
                                           member) == group->authorised->end())
            return pull::PullRefusal{wire::NotifyType::authentication_failed,
                                     member.to_string() + " is not an authorised member of group " +
                                         std::to_string(group->policy.group_id)};
        if (!group->psks.count(member) && !group->default_psk)
            return pull::PullRefusal{wire::NotifyType::authentication_failed,
                                     member.to_string() + " has no pre-shared key in group " +
                                         std::to_string(group->policy.group_id)};
        return pull::PullGrant{group->policy, group->options, group->policy.sequence.value_or(0)};
    }

    nlohmann::json control(const nlohmann::json& request) {
        std::string command = request.value("command", "");
        if (command == "status") {
            nlohmann::json members = nlohmann::json::array();
            for (const auto& r : endpoint->registrations())
                members.push_back({{"address", r.member.to_string()}, {"group", r.group_id}});
            nlohmann::json groups = nlohmann::json::array();
            for (const auto& g : config.groups)
                groups.push_back(policy_to_json(g.policy));
            return {{"ok", true},
                    {"silent", silent},
                    {"phase1_sas", endpoint->phase1_sa_count()},
                    {"members", members},
                    {"groups", groups}};
        }
        if (command == "silent") {
            silent = true;
            log_line(ike::LogLevel::info, "control: going silent (every datagram is dropped)");
            return {{"ok", true}};
        }
        if (command == "come-back") {
            silent = false;
            log_line(ike::LogLevel::info, "control: answering again");
            return {{"ok", true}};
        }
        if (command == "push-now" || command == "delete-tek" || command == "eject-member")
            return {{"ok", false}, {"error", command + " is not implemented yet in gdoi-test-ks"}};
        return {{"ok", false}, {"error", "unknown command \"" + command + "\""}};
    }
};

} // namespace

int main(int argc, char** argv) {
    CLI::App app{"gdoi-test-ks: GDOI key server for tests"};
    std::string config_path;
    app.add_option("-c,--config", config_path, "TOML configuration")->required();
    CLI11_PARSE(app, argc, argv);

    Server server;
    try {
        server.config = load_config(config_path);
    } catch (const std::exception& e) {
        std::cerr << "gdoi-test-ks: " << e.what() << std::endl;
        return 2;
    }
    pull::KeyServerEndpointConfig ec;
    ec.phase1.local_address = server.config.listen.front();
    ec.phase1.acceptable = server.config.proposals;
    ec.phase1.pre_shared_key_for = [&](const IpAddress& peer) { return server.psk_for(peer); };
    ec.phase1.notify_authentication_failure = server.config.notify_authentication_failure;
    ec.authorizer = [&](const IpAddress& m, const std::vector<uint32_t>& ids) {
        return server.authorise(m, ids);
    };
    ec.log = log_line;
    server.endpoint = std::make_unique<pull::KeyServerEndpoint>(ec);

    std::vector<UdpSocket> sockets;
    std::unique_ptr<ControlChannel> control;
    try {
        for (const auto& address : server.config.listen)
            sockets.emplace_back(address, server.config.port);
        if (!server.config.control_socket.empty())
            control = std::make_unique<ControlChannel>(
                server.config.control_socket,
                [&](const nlohmann::json& r) { return server.control(r); });
    } catch (const std::exception& e) {
        std::cerr << "gdoi-test-ks: " << e.what() << std::endl;
        return 2;
    }
    struct sigaction action {};
    action.sa_handler = on_signal;
    sigaction(SIGTERM, &action, nullptr);
    sigaction(SIGINT, &action, nullptr);
    for (const auto& g : server.config.groups)
        log_line(ike::LogLevel::info, "serving group " + std::to_string(g.policy.group_id) +
                                          " with " + std::to_string(g.policy.teks.size()) +
                                          " TEK(s)");
    log_line(ike::LogLevel::info, "listening on port " + std::to_string(server.config.port));

    while (!stop_requested) {
        std::vector<pollfd> fds;
        for (const auto& s : sockets)
            fds.push_back({s.fd(), POLLIN, 0});
        if (control)
            for (int fd : control->fds())
                fds.push_back({fd, POLLIN, 0});
        int n = ::poll(fds.data(), fds.size(), 1000);
        auto now = ike::Clock::now();
        server.endpoint->expire(now);
        if (n <= 0) continue;
        for (size_t i = 0; i < fds.size(); ++i) {
            if (!(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
            if (i < sockets.size()) {
                while (auto received = sockets[i].receive()) {
                    if (server.silent) continue;
                    auto answers =
                        server.endpoint->on_datagram(received->from, received->data, now);
                    for (const auto& a : answers)
                        sockets[i].send_to(a, received->from, received->port);
                }
            } else {
                control->on_readable(fds[i].fd);
            }
        }
    }
    log_line(ike::LogLevel::info, "stopping");
    return 0;
}
