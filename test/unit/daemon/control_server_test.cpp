// The control socket against real UNIX sockets: the server runs on an sd-event loop in this
// thread, a blocking client in another; replies and disconnects are what a client would see.
#include <catch2/catch.hpp>

#include <atomic>
#include <filesystem>
#include <future>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <thread>
#include <unistd.h>

#include "config_test_support.hpp"
#include "daemon/control_server.hpp"

using namespace gdoid::daemon;
using namespace gdoid;
using nlohmann::json;
using namespace std::chrono_literals;

namespace {

struct Loop {
    SdEventPtr event;
    Loop() {
        sd_event* raw = nullptr;
        REQUIRE(sd_event_new(&raw) >= 0);
        event.reset(raw);
    }
    // Runs the loop until the client finishes.
    template <typename T>
    T run_until(std::future<T>& client) {
        while (client.wait_for(0s) != std::future_status::ready) sd_event_run(event.get(), 10000);
        return client.get();
    }
};

int connect_to(const std::string& path) {
    const int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::strncpy(address.sun_path, path.c_str(), sizeof address.sun_path - 1);
    if (connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
        close(fd);
        return -1;
    }
    timeval limit{5, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof limit);
    return fd;
}

// Sends raw bytes, reads one reply frame (or "" when the server closed without one).
std::string round_trip(int fd, const std::string& bytes) {
    if (!bytes.empty()) send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    control::FrameDecoder decoder(control::max_reply_size);
    std::string body;
    char buffer[4096];
    while (decoder.next(body) != control::FrameDecoder::Status::frame) {
        const ssize_t n = recv(fd, buffer, sizeof buffer, 0);
        if (n <= 0) return "";
        decoder.feed(std::string_view(buffer, size_t(n)));
    }
    return body;
}

bool closed_by_peer(int fd) {
    char byte;
    return recv(fd, &byte, 1, 0) == 0;
}

struct Fixture {
    test::TempDir dir;
    Loop loop;
    std::string path = (dir.path() / "run" / "control").string();
    std::unique_ptr<ControlServer> server;
    std::atomic<int> handled{0};

    explicit Fixture(std::chrono::milliseconds timeout = 5000ms) {
        std::string error;
        server = ControlServer::create(
            loop.event.get(), {path, std::nullopt, timeout, 32},
            [this](const control::Request& request, const control::PeerCredentials& peer) {
                ++handled;
                return control::make_ok_reply({{"command", request.command}, {"uid", peer.uid}});
            },
            error);
        REQUIRE(server);
    }
};

} // namespace

TEST_CASE("control socket: created private, answers, and is removed", "[control-server]") {
    Fixture f;
    struct stat info {};
    REQUIRE(lstat(f.path.c_str(), &info) == 0);
    CHECK(S_ISSOCK(info.st_mode));
    CHECK((info.st_mode & 0777) == 0600); // no control group: root only
    REQUIRE(stat(std::filesystem::path(f.path).parent_path().c_str(), &info) == 0);
    CHECK((info.st_mode & 0777) == 0755);

    auto client = std::async(std::launch::async, [&] {
        const int fd = connect_to(f.path);
        // Two requests on one connection, the second split in pieces.
        auto first = round_trip(fd, control::encode_frame(R"({"version":1,"command":"status"})"));
        const auto frame = control::encode_frame(R"({"version":1,"command":"reload"})");
        send(fd, frame.data(), 3, MSG_NOSIGNAL);
        std::this_thread::sleep_for(50ms);
        auto second = round_trip(fd, frame.substr(3));
        close(fd);
        return std::pair{first, second};
    });
    const auto [first, second] = f.loop.run_until(client);
    const auto reply = json::parse(first);
    CHECK(reply["ok"] == true);
    CHECK(reply["result"]["command"] == "status");
    CHECK(reply["result"]["uid"] == geteuid());
    CHECK(json::parse(second)["result"]["command"] == "reload");

    f.server.reset();
    CHECK(access(f.path.c_str(), F_OK) != 0);
}

TEST_CASE("control socket: bad requests get error replies, the server stays up", "[control-server]") {
    Fixture f;
    auto client = std::async(std::launch::async, [&] {
        std::vector<std::string> replies;
        const int fd = connect_to(f.path);
        replies.push_back(round_trip(fd, control::encode_frame("{not json")));
        replies.push_back(round_trip(fd, control::encode_frame(R"({"version":1,"command":"explode"})")));
        replies.push_back(round_trip(fd, control::encode_frame(R"({"version":9,"command":"status"})")));
        close(fd);
        // Oversized: refused from the header, the connection then closed.
        const int big = connect_to(f.path);
        std::string huge = control::encode_frame(std::string(control::max_request_size + 1, 'x'));
        replies.push_back(round_trip(big, huge));
        replies.push_back(closed_by_peer(big) ? "closed" : "open");
        close(big);
        // And it still serves.
        const int again = connect_to(f.path);
        replies.push_back(round_trip(again, control::encode_frame(R"({"version":1,"command":"status"})")));
        close(again);
        return replies;
    });
    const auto replies = f.loop.run_until(client);
    REQUIRE(replies.size() == 6);
    CHECK(json::parse(replies[0])["error"]["code"] == "malformed-json");
    CHECK(json::parse(replies[1])["error"]["code"] == "unknown-command");
    CHECK(json::parse(replies[1])["error"]["message"] == "unknown command `explode` (known: status, reload, re-register, kernel)");
    CHECK(json::parse(replies[2])["error"]["code"] == "unsupported-version");
    CHECK(json::parse(replies[3])["error"]["code"] == "request-too-large");
    CHECK(json::parse(replies[3])["error"]["message"] == "the request is 65537 bytes; at most 65536 are accepted");
    CHECK(replies[4] == "closed");
    CHECK(json::parse(replies[5])["ok"] == true);
    CHECK(f.handled == 1);
}

TEST_CASE("control socket: a client that stalls is disconnected at its deadline", "[control-server]") {
    Fixture f(200ms);
    auto client = std::async(std::launch::async, [&] {
        const int fd = connect_to(f.path);
        send(fd, "\0\0", 2, MSG_NOSIGNAL); // half a header, then nothing
        const auto start = std::chrono::steady_clock::now();
        const bool closed = closed_by_peer(fd);
        const auto waited = std::chrono::steady_clock::now() - start;
        close(fd);
        return std::pair{closed, waited};
    });
    const auto [closed, waited] = f.loop.run_until(client);
    CHECK(closed);
    CHECK(waited >= 150ms);
    CHECK(waited < 3s);
    CHECK(f.server->client_count() == 0);
}

TEST_CASE("control socket: a stale socket is replaced, a live one is not", "[control-server]") {
    test::TempDir dir;
    Loop loop;
    const auto path = (dir.path() / "control").string();
    auto handler = [](const control::Request&, const control::PeerCredentials&) { return json::object(); };
    std::string error;
    {
        // A socket file nobody listens on, as a crashed gdoid leaves it.
        const int fd = socket(AF_UNIX, SOCK_STREAM, 0);
        sockaddr_un address{};
        address.sun_family = AF_UNIX;
        std::strncpy(address.sun_path, path.c_str(), sizeof address.sun_path - 1);
        REQUIRE(bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
        close(fd);
    }
    auto first = ControlServer::create(loop.event.get(), {path, std::nullopt, 5000ms, 32}, handler, error);
    REQUIRE(first);
    auto second = ControlServer::create(loop.event.get(), {path, std::nullopt, 5000ms, 32}, handler, error);
    CHECK_FALSE(second);
    CHECK(error == "another gdoid is already serving " + path);
    CHECK(access(path.c_str(), F_OK) == 0); // the live one's socket is untouched

    const auto regular = dir.write("not-a-socket", "x");
    CHECK_FALSE(ControlServer::create(loop.event.get(), {regular, std::nullopt, 5000ms, 32}, handler, error));
    CHECK(error == regular + " exists and is not a socket; refusing to replace it");
}
