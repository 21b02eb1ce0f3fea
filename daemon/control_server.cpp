#include "daemon/control_server.hpp"

#include <cerrno>
#include <cstring>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "daemon/log.hpp"

namespace gdoid::daemon {

using nlohmann::json;

struct ControlServer::Client {
    ControlServer* server = nullptr;
    std::list<std::unique_ptr<Client>>::iterator position;
    UniqueFd fd;
    SdEventSourcePtr io;
    SdEventSourcePtr deadline;
    control::PeerCredentials peer;
    control::FrameDecoder decoder{control::max_request_size};
    std::string output;
    size_t written = 0;
    bool close_after_reply = false;
    bool draining = false; // reply sent after a fatal error: discard input until EOF or deadline
};

namespace {

bool fill_address(const std::string& path, sockaddr_un& address, std::string& error) {
    address = {};
    address.sun_family = AF_UNIX;
    if (path.size() >= sizeof address.sun_path) {
        error = "control socket path " + path + " is too long";
        return false;
    }
    std::memcpy(address.sun_path, path.c_str(), path.size() + 1);
    return true;
}

std::string errno_text(const std::string& what) { return what + ": " + std::strerror(errno); }

// A socket file left by a gdoid that died is replaced; one a live gdoid listens on is not.
bool clear_stale_socket(const std::string& path, const sockaddr_un& address, std::string& error) {
    struct stat info {};
    if (lstat(path.c_str(), &info) != 0) {
        if (errno == ENOENT) return true;
        error = errno_text("cannot inspect " + path);
        return false;
    }
    if (!S_ISSOCK(info.st_mode)) {
        error = path + " exists and is not a socket; refusing to replace it";
        return false;
    }
    UniqueFd probe(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (probe && connect(probe.get(), reinterpret_cast<const sockaddr*>(&address), sizeof address) == 0) {
        error = "another gdoid is already serving " + path;
        return false;
    }
    if (unlink(path.c_str()) != 0 && errno != ENOENT) {
        error = errno_text("cannot remove the stale socket " + path);
        return false;
    }
    return true;
}

bool make_parent_directory(const std::string& path, std::string& error) {
    const auto slash = path.rfind('/');
    if (slash == std::string::npos || slash == 0) return true;
    const std::string directory = path.substr(0, slash);
    if (mkdir(directory.c_str(), 0755) == 0) {
        // Exactly 0755 whatever the umask (the unit sets UMask=0077): clients must traverse it.
        if (chmod(directory.c_str(), 0755) == 0) return true;
    } else if (errno == EEXIST) {
        return true;
    }
    error = errno_text("cannot create the control socket directory " + directory);
    return false;
}

bool read_peer(int fd, control::PeerCredentials& peer) {
    ucred credentials{};
    socklen_t length = sizeof credentials;
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &credentials, &length) != 0) return false;
    peer.pid = credentials.pid;
    peer.uid = credentials.uid;
    peer.gid = credentials.gid;
    // Supplementary groups as they were when the peer connected (Linux 4.13+).
    std::vector<gid_t> groups(64);
    for (int attempt = 0; attempt < 4; ++attempt) {
        length = socklen_t(groups.size() * sizeof(gid_t));
        if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups.data(), &length) == 0) {
            groups.resize(length / sizeof(gid_t));
            peer.groups = std::move(groups);
            return true;
        }
        if (errno != ERANGE) break;
        groups.resize(length / sizeof(gid_t) + 1);
    }
    peer.groups.clear(); // primary group only; members via supplementary groups are refused
    return true;
}

} // namespace

ControlServer::ControlServer(Passkey, sd_event* event, Options options, Handler handler)
    : event_(event), options_(std::move(options)), handler_(std::move(handler)) {}

std::unique_ptr<ControlServer> ControlServer::create(sd_event* event, Options options, Handler handler,
                                                     std::string& error) {
    auto server = std::make_unique<ControlServer>(Passkey{}, event, std::move(options), std::move(handler));
    const auto& path = server->options_.path;
    sockaddr_un address{};
    if (!fill_address(path, address, error) || !make_parent_directory(path, error) ||
        !clear_stale_socket(path, address, error))
        return nullptr;

    server->listener_.reset(socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (!server->listener_) {
        error = errno_text("cannot create the control socket");
        return nullptr;
    }
    // Nobody may connect between bind() and the chmod/chown below.
    const mode_t old_mask = umask(0177);
    const int bound = bind(server->listener_.get(), reinterpret_cast<const sockaddr*>(&address), sizeof address);
    umask(old_mask);
    if (bound != 0) {
        error = errno_text("cannot bind the control socket " + path);
        return nullptr;
    }
    server->socket_file_created_ = true;
    if (!server->set_control_gid(server->options_.control_gid, error)) return nullptr;
    if (listen(server->listener_.get(), 64) != 0) {
        error = errno_text("cannot listen on " + path);
        return nullptr;
    }
    sd_event_source* source = nullptr;
    const int r = sd_event_add_io(event, &source, server->listener_.get(), EPOLLIN, on_accept, server.get());
    if (r < 0) {
        error = "cannot watch the control socket: " + std::string(std::strerror(-r));
        return nullptr;
    }
    server->listener_source_.reset(source);
    return server;
}

ControlServer::~ControlServer() {
    clients_.clear();
    listener_source_.reset();
    listener_.reset();
    // Only our own file: a failed create() must not remove the socket of a live gdoid.
    if (socket_file_created_) unlink(options_.path.c_str());
}

bool ControlServer::set_control_gid(std::optional<gid_t> gid, std::string& error) {
    // 0660 <gdoid's user>:<control-group> lets members connect; 0600 keeps everyone but root and
    // gdoid's own user out. Without CAP_CHOWN the chown works when gdoid's user is in the group.
    if (gid && chown(options_.path.c_str(), uid_t(-1), *gid) != 0) {
        error = errno_text("cannot give the control socket to group " + std::to_string(*gid));
        return false;
    }
    if (chmod(options_.path.c_str(), gid ? 0660 : 0600) != 0) {
        error = errno_text("cannot set the mode of " + options_.path);
        return false;
    }
    options_.control_gid = gid;
    return true;
}

int ControlServer::on_accept(sd_event_source*, int, uint32_t, void* userdata) {
    static_cast<ControlServer*>(userdata)->accept_clients();
    return 0;
}

void ControlServer::accept_clients() {
    for (;;) {
        UniqueFd fd(accept4(listener_.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC));
        if (!fd) {
            if (errno == EINTR || errno == ECONNABORTED) continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK && warnings_.check("accept").emit)
                log_warning(errno_text("control socket: accept failed"));
            return;
        }
        if (clients_.size() >= options_.max_clients) {
            if (warnings_.check("too-many-clients").emit)
                log_warning("control socket: " + std::to_string(clients_.size()) +
                            " clients already connected; refusing more");
            continue; // closing it is the answer
        }
        auto client = std::make_unique<Client>();
        client->server = this;
        client->fd = std::move(fd);
        if (!read_peer(client->fd.get(), client->peer)) continue;
        sd_event_source* source = nullptr;
        if (sd_event_add_io(event_, &source, client->fd.get(), EPOLLIN, on_client_io, client.get()) < 0)
            continue;
        client->io.reset(source);
        clients_.push_back(std::move(client));
        auto& added = *clients_.back();
        added.position = std::prev(clients_.end());
        arm_deadline(added);
    }
}

void ControlServer::arm_deadline(Client& client) {
    const uint64_t usec = uint64_t(options_.client_timeout.count()) * 1000;
    if (client.deadline) {
        sd_event_source_set_time_relative(client.deadline.get(), usec);
        sd_event_source_set_enabled(client.deadline.get(), SD_EVENT_ONESHOT);
        return;
    }
    sd_event_source* source = nullptr;
    if (sd_event_add_time_relative(event_, &source, CLOCK_MONOTONIC, usec, 0, on_client_timeout, &client) >= 0)
        client.deadline.reset(source);
}

int ControlServer::on_client_timeout(sd_event_source*, uint64_t, void* userdata) {
    auto& client = *static_cast<Client*>(userdata);
    log_debug("control socket: closing a connection from pid " + std::to_string(client.peer.pid) +
              " that did not complete its request in time");
    client.server->drop(client);
    return 0;
}

int ControlServer::on_client_io(sd_event_source*, int, uint32_t revents, void* userdata) {
    auto& client = *static_cast<Client*>(userdata);
    auto* server = client.server;
    if (revents & EPOLLOUT) {
        server->handle_writable(client);
        return 0; // `client` may be gone
    }
    if (revents & (EPOLLIN | EPOLLHUP | EPOLLERR)) server->handle_readable(client);
    return 0;
}

void ControlServer::handle_readable(Client& client) {
    char buffer[16384];
    for (;;) {
        const ssize_t n = recv(client.fd.get(), buffer, sizeof buffer, 0);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
        if (n <= 0) { // end of stream or error: the client is gone
            drop(client);
            return;
        }
        if (client.draining) continue;
        client.decoder.feed(std::string_view(buffer, size_t(n)));
        // Stop reading once a complete request (or an oversized header) is there: one request
        // at a time, and a flood cannot grow the buffer beyond one read.
        if (client.decoder.ready()) break;
    }
    if (!client.draining) serve(client);
}

void ControlServer::serve(Client& client) {
    for (;;) {
        std::string body;
        switch (client.decoder.next(body)) {
        case control::FrameDecoder::Status::need_more:
            sd_event_source_set_io_events(client.io.get(), EPOLLIN);
            return;
        case control::FrameDecoder::Status::oversized:
            start_reply(client,
                        control::make_error_reply(
                            control::error_code::request_too_large,
                            "the request is " + std::to_string(client.decoder.declared_size()) +
                                " bytes; at most " + std::to_string(control::max_request_size) +
                                " are accepted"),
                        true);
            break;
        case control::FrameDecoder::Status::frame:
            start_reply(client, dispatch(body, client.peer), false);
            break;
        }
        if (!flush(client)) return; // waiting for EPOLLOUT, or the client is gone
        if (client.draining) return;
    }
}
json ControlServer::dispatch(const std::string& body, const control::PeerCredentials& peer) {
    auto parsed = control::parse_request(body);
    if (!parsed.request) return parsed.error_reply;
    const auto* command = control::find_command(parsed.request->command);
    if (!command) {
        std::string known;
        for (const auto& c : control::commands()) known += (known.empty() ? "" : ", ") + std::string(c.name);
        return control::make_error_reply(control::error_code::unknown_command,
                                         "unknown command `" + parsed.request->command + "` (known: " + known + ")");
    }
    if (!control::is_allowed(command->access, peer, options_.control_gid, ::geteuid())) {
        const std::string rule = command->access == control::Access::action
                                     ? "only root and gdoid's own user may run `" + std::string(command->name) + "`"
                                     : "only root, gdoid's own user and members of the control group may run `" +
                                           std::string(command->name) + "`";
        log_info("control socket: refused `" + std::string(command->name) + "` to uid " +
                 std::to_string(peer.uid) + " (pid " + std::to_string(peer.pid) + ")");
        return control::make_error_reply(control::error_code::permission_denied, rule);
    }
    try {
        return handler_(*parsed.request, peer);
    } catch (const std::exception& error) {
        log_error("control socket: `" + parsed.request->command + "` failed: " + error.what());
        return control::make_error_reply(control::error_code::internal_error, error.what());
    }
}

void ControlServer::start_reply(Client& client, const json& reply, bool close_after) {
    client.output = control::encode_frame(control::dump_json(reply));
    client.written = 0;
    client.close_after_reply = close_after;
}

void ControlServer::handle_writable(Client& client) {
    if (flush(client) && !client.draining) serve(client);
}

bool ControlServer::flush(Client& client) {
    while (client.written < client.output.size()) {
        const ssize_t n = send(client.fd.get(), client.output.data() + client.written,
                               client.output.size() - client.written, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            sd_event_source_set_io_events(client.io.get(), EPOLLOUT);
            return false;
        }
        if (n < 0) {
            drop(client);
            return false;
        }
        client.written += size_t(n);
    }
    client.output.clear();
    client.written = 0;
    if (client.close_after_reply) {
        // Stop answering but let the peer finish sending, so it reads our reply rather than
        // a reset; the deadline bounds how long that may take.
        shutdown(client.fd.get(), SHUT_WR);
        client.draining = true;
        sd_event_source_set_io_events(client.io.get(), EPOLLIN);
    }
    arm_deadline(client);
    return true;
}

void ControlServer::drop(Client& client) { clients_.erase(client.position); }

} // namespace gdoid::daemon
