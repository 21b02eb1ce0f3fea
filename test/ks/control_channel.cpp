#include "test/ks/control_channel.hpp"

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

namespace gdoi_test_ks {

ControlChannel::ControlChannel(std::string path, Handler handler)
    : path_(std::move(path)), handler_(std::move(handler)) {
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    if (path_.size() >= sizeof address.sun_path)
        throw std::runtime_error("control socket path too long: " + path_);
    std::memcpy(address.sun_path, path_.c_str(), path_.size() + 1);
    listener_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (listener_ < 0)
        throw std::runtime_error(std::string("control socket: ") + std::strerror(errno));
    ::unlink(path_.c_str());
    if (::bind(listener_, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
        ::listen(listener_, 8) != 0) {
        int e = errno;
        ::close(listener_);
        throw std::runtime_error("control socket " + path_ + ": " + std::strerror(e));
    }
}

ControlChannel::~ControlChannel() {
    for (const auto& [fd, buffer] : clients_)
        ::close(fd);
    if (listener_ >= 0) {
        ::close(listener_);
        ::unlink(path_.c_str());
    }
}

std::vector<int> ControlChannel::fds() const {
    std::vector<int> out{listener_};
    for (const auto& [fd, buffer] : clients_)
        out.push_back(fd);
    return out;
}

void ControlChannel::on_readable(int fd) {
    if (fd == listener_) {
        int client = ::accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC);
        if (client >= 0) clients_[client] = "";
        return;
    }
    auto it = clients_.find(fd);
    if (it == clients_.end()) return;
    char buffer[4096];
    ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n <= 0) {
        ::close(fd);
        clients_.erase(it);
        return;
    }
    it->second.append(buffer, static_cast<size_t>(n));
    size_t newline;
    while ((newline = it->second.find('\n')) != std::string::npos) {
        std::string line = it->second.substr(0, newline);
        it->second.erase(0, newline + 1);
        serve_line(fd, line);
    }
}

void ControlChannel::serve_line(int fd, const std::string& line) {
    nlohmann::json reply;
    try {
        reply = handler_(nlohmann::json::parse(line));
    } catch (const nlohmann::json::exception& e) {
        reply = {{"ok", false}, {"error", std::string("bad request: ") + e.what()}};
    }
    std::string text = reply.dump() + "\n";
    size_t written = 0;
    while (written < text.size()) {
        ssize_t n = ::write(fd, text.data() + written, text.size() - written);
        if (n <= 0) break;
        written += static_cast<size_t>(n);
    }
}

} // namespace gdoi_test_ks
