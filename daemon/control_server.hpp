// The control socket: a UNIX stream socket served from the sd-event loop. Non-blocking, a
// deadline per client and a bound on clients, so a stuck or hostile client can neither hang
// nor crash the daemon. Framing, parsing and authorisation rules live in control_protocol.
#pragma once

#include <chrono>
#include <functional>
#include <list>
#include <memory>
#include <optional>
#include <string>

#include "daemon/control_protocol.hpp"
#include "daemon/rate_limiter.hpp"
#include "daemon/sd_event_ptr.hpp"

namespace gdoid::daemon {

class ControlServer {
public:
    // Called for known commands the peer is allowed to run; returns the complete reply.
    using Handler = std::function<nlohmann::json(const control::Request&, const control::PeerCredentials&)>;

    struct Options {
        std::string path;
        std::optional<gid_t> control_gid; // socket group and readers; unset: root only
        std::chrono::milliseconds client_timeout{5000};
        size_t max_clients = 32;
    };

    // Creates the directory (0755) if missing, replaces a stale socket, refuses to replace a
    // live one, binds and listens. On failure returns nullptr and sets `error`.
    static std::unique_ptr<ControlServer> create(sd_event* event, Options options, Handler handler,
                                                 std::string& error);
    ~ControlServer(); // closes every connection and removes the socket file

    ControlServer(const ControlServer&) = delete;
    ControlServer& operator=(const ControlServer&) = delete;

    const std::string& path() const { return options_.path; }
    // New control group (reload): changes the socket's group and who may read status.
    bool set_control_gid(std::optional<gid_t> gid, std::string& error);
    size_t client_count() const { return clients_.size(); }

private:
    struct Passkey { // construction goes through create()
        explicit Passkey() = default;
    };

public:
    ControlServer(Passkey, sd_event* event, Options options, Handler handler);

private:
    struct Client;

    static int on_accept(sd_event_source*, int fd, uint32_t revents, void* userdata);
    static int on_client_io(sd_event_source*, int fd, uint32_t revents, void* userdata);
    static int on_client_timeout(sd_event_source*, uint64_t usec, void* userdata);

    void accept_clients();
    void handle_readable(Client& client);
    void handle_writable(Client& client);
    void serve(Client& client);
    void start_reply(Client& client, const nlohmann::json& reply, bool close_after);
    bool flush(Client& client); // true when everything was written
    nlohmann::json dispatch(const std::string& body, const control::PeerCredentials& peer);
    void arm_deadline(Client& client);
    void drop(Client& client);

    sd_event* event_;
    Options options_;
    Handler handler_;
    UniqueFd listener_;
    bool socket_file_created_ = false;
    SdEventSourcePtr listener_source_;
    std::list<std::unique_ptr<Client>> clients_;
    RateLimiter warnings_;
};

} // namespace gdoid::daemon
