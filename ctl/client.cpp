#include "ctl/client.hpp"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/time.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "ctl/exit_codes.hpp"
#include "daemon/control_protocol.hpp"

namespace gdoid::ctl {

namespace {

struct Socket {
    int fd = -1;
    ~Socket() {
        if (fd >= 0) ::close(fd);
    }
};

using Clock = std::chrono::steady_clock;

// Waits for `events` until the deadline; false on timeout.
bool wait_for(int fd, short events, Clock::time_point deadline) {
    for (;;) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
        if (left.count() <= 0) return false;
        pollfd entry{fd, events, 0};
        const int r = poll(&entry, 1, int(left.count()));
        if (r > 0) return true;
        if (r < 0 && errno != EINTR) return true; // let the following call report the error
    }
}

ClientError connect_error(const std::string& path, int error) {
    const std::string prefix = "cannot reach gdoid at " + path + ": ";
    switch (error) {
    case ENOENT: return {exit_code::not_running, prefix + "no such socket (is gdoid running?)"};
    case ECONNREFUSED: return {exit_code::not_running, prefix + "connection refused (is gdoid running?)"};
    case EACCES:
    case EPERM:
        return {exit_code::permission_denied,
                prefix + "permission denied (status needs root or membership in gdoid's control-group)"};
    case ENOTSOCK: return {exit_code::not_running, prefix + "not a socket"};
    default: return {exit_code::not_running, prefix + std::strerror(error)};
    }
}

} // namespace

ClientResult send_request(const std::string& socket_path, const nlohmann::json& request,
                          std::chrono::milliseconds timeout) {
    const auto deadline = Clock::now() + timeout;
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    if (socket_path.size() >= sizeof address.sun_path)
        return {std::nullopt, ClientError{exit_code::usage, "the socket path " + socket_path + " is too long"}};
    std::memcpy(address.sun_path, socket_path.c_str(), socket_path.size() + 1);

    Socket socket_fd{::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)};
    if (socket_fd.fd < 0)
        return {std::nullopt, ClientError{exit_code::not_running, std::string("cannot create a socket: ") + std::strerror(errno)}};
    // A UNIX connect only waits when gdoid's backlog is full; SO_SNDTIMEO bounds that wait.
    const timeval send_timeout{long(timeout.count() / 1000), long(timeout.count() % 1000) * 1000};
    setsockopt(socket_fd.fd, SOL_SOCKET, SO_SNDTIMEO, &send_timeout, sizeof send_timeout);
    if (connect(socket_fd.fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0) {
        if (errno == EAGAIN || errno == EINPROGRESS)
            return {std::nullopt, ClientError{exit_code::timeout, "gdoid at " + socket_path + " does not accept connections (busy or hung)"}};
        return {std::nullopt, connect_error(socket_path, errno)};
    }
    fcntl(socket_fd.fd, F_SETFL, fcntl(socket_fd.fd, F_GETFL) | O_NONBLOCK);

    const std::string frame = control::encode_frame(control::dump_json(request));
    size_t written = 0;
    bool peer_closed = false;
    while (written < frame.size()) {
        if (!wait_for(socket_fd.fd, POLLOUT, deadline))
            return {std::nullopt, ClientError{exit_code::timeout, "gdoid did not accept the request in time"}};
        const ssize_t n = send(socket_fd.fd, frame.data() + written, frame.size() - written, MSG_NOSIGNAL);
        if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
        if (n < 0 && (errno == EPIPE || errno == ECONNRESET)) {
            peer_closed = true; // gdoid refused the rest; its reply may be waiting
            break;
        }
        if (n < 0) return {std::nullopt, connect_error(socket_path, errno)};
        written += size_t(n);
    }

    control::FrameDecoder decoder(control::max_reply_size);
    std::string body;
    for (;;) {
        const auto status = decoder.next(body);
        if (status == control::FrameDecoder::Status::frame) break;
        if (status == control::FrameDecoder::Status::oversized)
            return {std::nullopt, ClientError{exit_code::protocol_error,
                                              "gdoid's reply announces " + std::to_string(decoder.declared_size()) +
                                                  " bytes, more than gdoictl accepts"}};
        if (!wait_for(socket_fd.fd, POLLIN, deadline))
            return {std::nullopt, ClientError{exit_code::timeout, "no reply from gdoid within " +
                                                                     std::to_string(timeout.count() / 1000) + " s"}};
        char buffer[65536];
        const ssize_t n = recv(socket_fd.fd, buffer, sizeof buffer, 0);
        if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
        if (n <= 0)
            return {std::nullopt,
                    ClientError{exit_code::protocol_error,
                                std::string("gdoid closed the connection without a reply") +
                                    (peer_closed ? " (the request was refused while being sent)" : "")}};
        decoder.feed(std::string_view(buffer, size_t(n)));
    }

    auto reply = nlohmann::json::parse(body, nullptr, false);
    if (reply.is_discarded() || !reply.is_object() || !reply.contains("ok") || !reply["ok"].is_boolean())
        return {std::nullopt, ClientError{exit_code::protocol_error, "gdoid's reply is not a valid control reply"}};
    if (!reply.contains("version") || reply["version"] != control::protocol_version)
        return {std::nullopt, ClientError{exit_code::protocol_error,
                                          "gdoid replied with an unsupported protocol version"}};
    return {std::move(reply), std::nullopt};
}

int exit_code_for_error(const nlohmann::json& reply) {
    const auto code = reply.value("/error/code"_json_pointer, std::string());
    if (code == control::error_code::permission_denied) return exit_code::permission_denied;
    if (code == control::error_code::malformed_json || code == control::error_code::bad_request ||
        code == control::error_code::unknown_command || code == control::error_code::unsupported_version ||
        code == control::error_code::request_too_large)
        return exit_code::protocol_error;
    return exit_code::command_failed;
}

std::string describe_error(const nlohmann::json& reply) {
    const auto code = reply.value("/error/code"_json_pointer, std::string("unknown-error"));
    const auto message = reply.value("/error/message"_json_pointer, std::string("(no message)"));
    return code + ": " + message;
}

} // namespace gdoid::ctl
