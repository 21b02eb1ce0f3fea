// gdoi-test-ks: a real GDOI key server for the tests. Phase 1 responder and GROUPKEY-PULL
// responder over UDP, configured from TOML, logging every exchange to stderr, steered through a
// UNIX control socket (JSON lines). Usage: gdoi-test-ks --config ks.toml
#include "gdoi/pull/key_server_endpoint.hpp"
#include "gdoi/push/push_ack.hpp"
#include "gdoi/push/push_crypto.hpp"
#include "gdoi/wire/message.hpp"
#include "test/ks/control_channel.hpp"
#include "test/ks/ks_config.hpp"
#include "test/ks/policy_json.hpp"
#include "test/ks/rekey.hpp"
#include "test/ks/timed_rekey.hpp"
#include "test/ks/udp_socket.hpp"

#include <CLI/CLI.hpp>
#include <algorithm>
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
    std::vector<GroupRuntime> runtime; // parallel to config.groups
    bool silent = false;
    std::unique_ptr<pull::KeyServerEndpoint> endpoint;
    std::vector<UdpSocket>* sockets = nullptr;

    KsGroup* find_group(const std::vector<uint32_t>& ids) {
        for (auto& g : config.groups)
            for (auto id : ids)
                if (g.policy.group_id == id) return &g;
        return nullptr;
    }
    GroupRuntime& runtime_of(const KsGroup& g) {
        return runtime[static_cast<size_t>(&g - config.groups.data())];
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

    pull::PullDecision authorise(const IpAddress& member, const std::vector<uint32_t>& ids) {
        KsGroup* group = find_group(ids);
        if (!group)
            return pull::PullRefusal{wire::NotifyType::invalid_id_information,
                                     "no group " + std::to_string(ids.front()) + " here"};
        if (group->authorised && std::find(group->authorised->begin(), group->authorised->end(),
                                           member) == group->authorised->end())
            return pull::PullRefusal{wire::NotifyType::authentication_failed,
                                     member.to_string() + " is not an authorised member of group " +
                                         std::to_string(group->policy.group_id)};
        // With certificates configured, Phase 1 has already proven who the member is.
        if (!group->psks.count(member) && !group->default_psk && !config.certificate)
            return pull::PullRefusal{wire::NotifyType::authentication_failed,
                                     member.to_string() + " has no pre-shared key in group " +
                                         std::to_string(group->policy.group_id)};
        auto& rt = runtime_of(*group);
        if (rt.ejected.count(member))
            return pull::PullRefusal{wire::NotifyType::authentication_failed,
                                     member.to_string() + " was ejected from group " +
                                         std::to_string(group->policy.group_id)};
        auto policy = current_policy(*group, rt, ike::Clock::now());
        return pull::PullGrant{policy, group->options, policy.sequence.value_or(0)};
    }

    // Members registered in `group` (each address once, ejected ones left out), in order.
    std::vector<IpAddress> members_of(const KsGroup& group) {
        std::vector<IpAddress> out;
        const auto& ejected = runtime_of(group).ejected;
        for (const auto& r : endpoint->registrations())
            if (r.group_id == group.policy.group_id && !ejected.count(r.member) &&
                std::find(out.begin(), out.end(), r.member) == out.end())
                out.push_back(r.member);
        return out;
    }

    // Sends from the first listen socket (the KS listen address, port 848); multicast leaves
    // through the listen address's interface with the group's TTL.
    nlohmann::json send(const KsGroup& group, const PushPlan& plan, const std::string& what) {
        const UdpSocket& socket = sockets->front();
        size_t sent = 0;
        nlohmann::json to = nlohmann::json::array();
        for (const auto& p : plan.pushes) {
            bool ok = true;
            if (p.multicast) {
                try {
                    socket.set_multicast_sender(config.listen.front(), group.multicast_ttl);
                } catch (const std::exception& e) {
                    log_line(ike::LogLevel::warning, what + ": " + e.what());
                    ok = false;
                }
            }
            ok = ok && socket.send_to(p.datagram, p.to, p.port);
            sent += ok ? 1 : 0;
            log_line(ok ? ike::LogLevel::info : ike::LogLevel::warning,
                     what + " group " + std::to_string(group.policy.group_id) + " SEQ " +
                         std::to_string(plan.sequence) + (ok ? " sent to " : " NOT sent to ") +
                         (p.multicast ? "multicast " : "member ") + p.to.to_string() + ":" +
                         std::to_string(p.port) + " (" + std::to_string(p.datagram.size()) +
                         " octets)");
            to.push_back(p.to.to_string());
        }
        nlohmann::json reply = {{"ok", true},
                                {"group", group.policy.group_id},
                                {"sequence", plan.sequence},
                                {"datagrams_sent", sent},
                                {"destinations", to}};
        nlohmann::json spis = nlohmann::json::array();
        for (auto spi : plan.new_tek_spis)
            spis.push_back(push::spi_hex(spi));
        reply["new_tek_spis"] = spis;
        if (plan.new_kek_spi) reply["new_kek_spi"] = push::hex(*plan.new_kek_spi);
        if (!plan.deleted_tek_spis.empty()) {
            nlohmann::json deleted = nlohmann::json::array();
            for (auto spi : plan.deleted_tek_spis)
                deleted.push_back(push::spi_hex(spi));
            reply["deleted_tek_spis"] = deleted;
        }
        return reply;
    }

    // "0x10000001", "268435457" or a JSON number.
    static uint32_t spi_from(const nlohmann::json& v) {
        if (v.is_number_unsigned()) return v.get<uint32_t>();
        if (v.is_string())
            return static_cast<uint32_t>(std::stoul(v.get<std::string>(), nullptr, 0));
        throw RekeyError("\"spi\" must be a number or a string like \"0x10000001\"");
    }

    nlohmann::json push_command(const std::string& command, const nlohmann::json& request) {
        if (!request.contains("group") || !request["group"].is_number_unsigned())
            return {{"ok", false}, {"error", command + " needs \"group\": <number>"}};
        uint32_t id = request["group"].get<uint32_t>();
        KsGroup* group = find_group({id});
        if (!group) return {{"ok", false}, {"error", "no group " + std::to_string(id) + " here"}};
        auto& rt = runtime_of(*group);
        auto now = ike::Clock::now();
        try {
            if (command == "push-now") {
                bool roll = request.value("kek", false);
                bool wrong_signature = request.value("wrong-signature", false);
                // "transport":"multicast" / "unicast": to the KEK's multicast group only, or to
                // the members only, as a key server configured for one kind of rekey sends them
                // (so a scenario can tell which one a member received).
                const std::string transport = request.value("transport", "both");
                if (transport != "both" && transport != "multicast" && transport != "unicast")
                    return {{"ok", false},
                            {"error", "push-now \"transport\" is \"both\", \"multicast\" or \"unicast\""}};
                const bool multicast_kek = group->policy.kek && group->policy.kek->destination.range.first.is_multicast();
                if (transport == "multicast" && !multicast_kek)
                    return {{"ok", false},
                            {"error", "push-now \"transport\":\"multicast\": the KEK's destination is not a "
                                      "multicast address"}};
                auto plan = rekey(*group, rt, members_of(*group), roll, now, wrong_signature);
                if (transport != "both")
                    std::erase_if(plan.pushes, [&](const OutgoingPush& p) { return p.multicast != (transport == "multicast"); });
                auto reply = send(*group, plan,
                                  std::string(roll ? "rekey (TEKs and KEK)" : "rekey") +
                                      (wrong_signature ? " signed with a key not the KEK's" : ""));
                if (wrong_signature) reply["wrong_signature"] = true;
                return reply;
            }
            if (command == "delete-tek") {
                if (!request.contains("spi"))
                    return {{"ok", false}, {"error", "delete-tek needs \"spi\" (0 = every TEK)"}};
                auto plan =
                    delete_tek(*group, rt, members_of(*group), spi_from(request["spi"]), now);
                return send(*group, plan, "delete");
            }
            auto member = IpAddress::parse(request.value("member", ""));
            if (!member)
                return {{"ok", false}, {"error", "eject-member needs \"member\": <IP address>"}};
            auto plan =
                eject(*group, rt, *member, std::chrono::seconds(request.value("dtd", 10)), now);
            auto reply = send(*group, plan, "ejection of " + member->to_string());
            reply["method"] = plan.method;
            if (request.value("rekey-others", false)) {
                // RFC 6407 section 1 / 4 (paraphrased): the GCKS removes a member by rekeying the
                // others with keys it does not get. Unicast only: the ejected member still holds
                // the old KEK and would read a multicast push.
                auto others = rekey(*group, rt, members_of(*group), true, now);
                std::erase_if(others.pushes, [](const OutgoingPush& p) { return p.multicast; });
                reply["rekey_others"] =
                    send(*group, others, "rekey without " + member->to_string());
            }
            return reply;
        } catch (const std::exception& e) {
            return {{"ok", false}, {"error", command + ": " + e.what()}};
        }
    }

    // [group.rekey]: the earliest timed rekey of any group, to wake up for.
    std::optional<TimePoint> next_timed_rekey_due() {
        std::optional<TimePoint> earliest;
        for (const auto& g : config.groups)
            if (auto due = next_timed_rekey(g, runtime_of(g));
                due && (!earliest || *due < *earliest))
                earliest = due;
        return earliest;
    }

    void run_due_timed_rekeys(TimePoint now) {
        for (auto& g : config.groups) {
            auto& rt = runtime_of(g);
            if (auto due = next_timed_rekey(g, rt); !due || *due > now) continue;
            try {
                auto plan = timed_rekey(g, rt, members_of(g), now);
                send(g, plan, "timed rekey");
                log_line(ike::LogLevel::info, timed_rekey_summary(g, plan));
            } catch (const std::exception& e) {
                // Still due on the next turn: trying again would spin.
                g.timed_rekey.reset();
                log_line(ike::LogLevel::error, "timed rekeys of group " +
                                                   std::to_string(g.policy.group_id) +
                                                   " stopped: " + e.what());
            }
        }
    }

    // A GROUPKEY-PUSH ack (RFC 8263, profile in gdoi/push/push_ack.hpp): checked against the
    // KEKs we pushed under (current and rolled-over ones), counted per member.
    void on_ack(const IpAddress& from, std::span<const uint8_t> datagram) {
        for (auto& g : config.groups) {
            if (!g.policy.kek || g.policy.kek->ack_request == AckRequest::none) continue;
            auto& rt = runtime_of(g);
            std::vector<const KekPolicy*> keks{&*g.policy.kek};
            for (const auto& k : rt.previous_keks)
                keks.push_back(&k);
            std::string why;
            for (const KekPolicy* kek : keks) {
                if (!std::equal(kek->spi.begin(), kek->spi.end(), datagram.begin())) continue;
                auto check = push::verify_ack(datagram, *kek);
                if (check.valid) {
                    auto& a = rt.acks[check.member.value_or(from)];
                    ++a.count;
                    a.last_sequence = check.sequence;
                    log_line(ike::LogLevel::info, "ack from " + from.to_string() + " for group " +
                                                      std::to_string(g.policy.group_id) + " SEQ " +
                                                      std::to_string(check.sequence) + " (" +
                                                      std::to_string(a.count) +
                                                      " from this member)");
                    return;
                }
                why = check.reason;
            }
            if (!why.empty()) {
                ++rt.bad_acks;
                log_line(ike::LogLevel::warning, "ack from " + from.to_string() + " for group " +
                                                     std::to_string(g.policy.group_id) +
                                                     " refused: " + why);
                return;
            }
        }
        log_line(ike::LogLevel::warning,
                 "ack from " + from.to_string() + " names no KEK of a group that asks for acks");
    }

    nlohmann::json control(const nlohmann::json& request) {
        std::string command = request.value("command", "");
        if (command == "status") {
            nlohmann::json members = nlohmann::json::array();
            for (const auto& r : endpoint->registrations())
                members.push_back({{"address", r.member.to_string()}, {"group", r.group_id}});
            nlohmann::json groups = nlohmann::json::array();
            nlohmann::json acks = nlohmann::json::array();
            nlohmann::json ejected = nlohmann::json::array();
            auto now = ike::Clock::now();
            for (auto& g : config.groups) {
                auto& rt = runtime_of(g);
                auto group = policy_to_json(current_policy(g, rt, now));
                group["timed_rekeys"] = rt.timed_rekeys;
                groups.push_back(std::move(group));
                for (const auto& [member, a] : rt.acks)
                    acks.push_back({{"group", g.policy.group_id},
                                    {"member", member.to_string()},
                                    {"count", a.count},
                                    {"last_sequence", a.last_sequence}});
                if (rt.bad_acks)
                    acks.push_back({{"group", g.policy.group_id}, {"refused", rt.bad_acks}});
                for (const auto& m : rt.ejected)
                    ejected.push_back({{"group", g.policy.group_id}, {"member", m.to_string()}});
            }
            return {{"ok", true},
                    {"silent", silent},
                    {"phase1_sas", endpoint->phase1_sa_count()},
                    {"members", members},
                    {"groups", groups},
                    {"acks", acks},
                    {"ejected", ejected}};
        }
        // Test-only (a key server for production would never answer this): the current KEK and
        // TEK keys in hex, so a test can prove that none of them ever reaches gdoid's logs or status
        // (test/system/305-gdoid-secrets.sh). `status` shows SHA-256 fingerprints only.
        if (command == "secrets") {
            nlohmann::json groups = nlohmann::json::array();
            auto now = ike::Clock::now();
            for (auto& g : config.groups) {
                auto policy = current_policy(g, runtime_of(g), now);
                nlohmann::json keys = nlohmann::json::array();
                if (policy.kek) keys.push_back(push::hex(policy.kek->key.reveal()));
                for (const auto& t : policy.teks) {
                    keys.push_back(push::hex(t.cipher_key.reveal()));
                    keys.push_back(push::hex(t.integrity_key.reveal()));
                }
                groups.push_back({{"group", g.policy.group_id}, {"keys", keys}});
            }
            return {{"ok", true}, {"groups", groups}};
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
            return push_command(command, request);
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
    if (server.config.certificate) {
        ec.phase1.certificate = server.config.certificate->credentials;
        ec.phase1.send_certificate = server.config.certificate->send;
    }
    ec.authorizer = [&](const IpAddress& m, const std::vector<uint32_t>& ids) {
        return server.authorise(m, ids);
    };
    ec.log = log_line;
    server.endpoint = std::make_unique<pull::KeyServerEndpoint>(ec);
    server.runtime.resize(server.config.groups.size());
    for (size_t i = 0; i < server.config.groups.size(); ++i)
        for (const auto& tek : server.config.groups[i].policy.teks)
            server.runtime[i].tek_born[tek.spi] = ike::Clock::now();

    std::vector<UdpSocket> sockets;
    server.sockets = &sockets;
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
    for (const auto& g : server.config.groups) {
        std::string timed;
        if (g.timed_rekey)
            timed = ", timed rekeys " + std::to_string(g.timed_rekey->before_expiry.count()) +
                    " s before expiry (send = " +
                    (g.timed_rekey->send == TimedRekeyConfig::Send::push ? "push" : "none") + ")";
        log_line(ike::LogLevel::info, "serving group " + std::to_string(g.policy.group_id) +
                                          " with " + std::to_string(g.policy.teks.size()) +
                                          " TEK(s)" + timed);
    }
    log_line(ike::LogLevel::info, "listening on port " + std::to_string(server.config.port));

    while (!stop_requested) {
        std::vector<pollfd> fds;
        for (const auto& s : sockets)
            fds.push_back({s.fd(), POLLIN, 0});
        if (control)
            for (int fd : control->fds())
                fds.push_back({fd, POLLIN, 0});
        int timeout_ms = 1000;
        if (auto due = server.next_timed_rekey_due()) {
            auto left = std::chrono::ceil<std::chrono::milliseconds>(*due - ike::Clock::now());
            timeout_ms = static_cast<int>(std::clamp<int64_t>(left.count(), 0, timeout_ms));
        }
        int n = ::poll(fds.data(), fds.size(), timeout_ms);
        auto now = ike::Clock::now();
        server.endpoint->expire(now);
        server.run_due_timed_rekeys(now);
        if (n <= 0) continue;
        for (size_t i = 0; i < fds.size(); ++i) {
            if (!(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
            if (i < sockets.size()) {
                while (auto received = sockets[i].receive()) {
                    if (server.silent) continue;
                    if (received->data.size() > 18 &&
                        received->data[18] == push::AckProfile::exchange_type) {
                        server.on_ack(received->from, received->data);
                        continue;
                    }
                    // An answer that cannot be built (a policy of 1,000 TEKs does not fit one
                    // GDOI message) fails that exchange, with the reason, never the server.
                    std::vector<ike::Datagram> answers;
                    try {
                        answers = server.endpoint->on_datagram(received->from, received->data, now);
                    } catch (const std::exception& e) {
                        log_line(ike::LogLevel::error, "cannot answer " + received->from.to_string() +
                                                           ": " + e.what() + "; exchange dropped");
                    }
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
