// Test support for the bad-input catalogue (docs/bad-input.md): one registered member made of
// the daemon's real parts -- GroupController, GroupDataplane over the fake kernel, the GDOI
// socket on a real UDP port -- and a key server made of gdoi/'s KeyServerEndpoint behind a UDP
// socket of its own, both in a fresh network namespace (veths: wan0 192.0.2.10 member, .1 key
// server, .99 a stranger; lan0 10.1.0.1). Datagrams travel through the kernel and reach the member
// the way the daemon receives them. After registration the fake kernel holds the group's states and
// policies; kernel_snapshot() is their netlink encoding, keys included, so a row can assert they
// are byte-for-byte what they were.
#pragma once

#include "daemon/datapath_service.hpp"
#include "daemon/gdoi_socket.hpp"
#include "daemon/group.hpp"
#include "daemon/group_controller.hpp"
#include "daemon/group_dataplane.hpp"
#include "daemon/local_settings_builder.hpp"
#include "daemon/log.hpp"
#include "gdoi/crypto/kek_signature.hpp"
#include "gdoi/crypto/prf.hpp"
#include "gdoi/pull/key_server_endpoint.hpp"
#include "gdoi/push/push_builder.hpp"
#include "netlink/fake_kernel_ipsec.hpp"
#include "netlink/xfrm_codec.hpp"
#include "test/unit/netlink/netns.hpp"

#include <arpa/inet.h>
#include <catch2/catch.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <netinet/in.h>
#include <poll.h>
#include <string>
#include <sys/socket.h>
#include <systemd/sd-event.h>
#include <unistd.h>
#include <vector>

namespace gdoid::daemon::bad_input {

using namespace std::chrono_literals;

inline gdoi::IpAddress ip(const char* text) {
    return *gdoi::IpAddress::parse(text);
}
inline const gdoi::IpAddress member_address = ip("192.0.2.10");
inline const gdoi::IpAddress server_address = ip("192.0.2.1");
inline const gdoi::IpAddress stranger_address = ip("192.0.2.99");
inline constexpr uint32_t first_sequence = 10;

inline gdoi::SelectorEndpoint endpoint(const char* prefix) {
    return gdoi::SelectorEndpoint::from_prefix(*gdoi::IpPrefix::parse(prefix));
}

// The key server's signing key (RSA 2048, as GET VPN key servers use), made once per process.
inline const gdoi::crypto::KekPrivateKey& server_key() {
    static const gdoi::crypto::KekPrivateKey key(
        gdoi::crypto::KekPrivateKey::generate(gdoi::crypto::KekSignatureScheme::rsa, 2048));
    return key;
}

// The classic GET VPN "permit ip 10.0.0.0/8 10.0.0.0/8": its own mirror, one TEK both ways.
inline gdoi::TekPolicy tek(uint32_t spi, std::chrono::seconds lifetime = 3600s) {
    gdoi::TekPolicy t;
    t.spi = spi;
    t.selector = {0, endpoint("10.0.0.0/8"), endpoint("10.0.0.0/8")};
    t.cipher = gdoi::TekCipher::aes_cbc;
    t.cipher_key_bits = 256;
    t.integrity = gdoi::TekIntegrity::hmac_sha256;
    t.cipher_key = gdoi::crypto::random_secret(32);
    t.integrity_key = gdoi::crypto::random_secret(32);
    t.lifetime = lifetime;
    return t;
}

inline gdoi::KekPolicy kek() {
    static const gdoi::KekPolicy k = [] {
        gdoi::KekPolicy k;
        for (size_t i = 0; i < k.spi.size(); ++i)
            k.spi[i] = uint8_t(0xa0 + i);
        k.cipher = gdoi::KekCipher::aes_cbc;
        k.key_bits = 128;
        k.key = gdoi::crypto::random_secret(16);
        k.iv = gdoi::crypto::random_bytes(16);
        k.signature_algorithm = gdoi::SignatureAlgorithm::rsa;
        k.signature_hash = gdoi::SignatureHash::sha256;
        k.signature_key_bits = 2048;
        k.public_key_der = server_key().public_key_der();
        k.lifetime = 86400s;
        k.source = endpoint("192.0.2.1/32");
        k.destination = endpoint("192.0.2.10/32");
        return k;
    }();
    return k;
}

// What the key server hands out at registration: the KEK, TEK 0x10000001, SEQ 10.
inline gdoi::GroupPolicy served_policy() {
    static const gdoi::TekPolicy first = tek(0x10000001);
    gdoi::GroupPolicy p;
    p.group_id = 4321;
    p.kek = kek();
    p.teks = {first};
    p.sequence = first_sequence;
    return p;
}

// A push as the test key server builds it (gdoi/push/push_builder), SEQ `sequence`.
inline gdoi::push::PushSpec push_spec(uint32_t sequence) {
    gdoi::push::PushSpec spec;
    spec.kek = kek();
    spec.signer = &server_key();
    spec.sequence = sequence;
    spec.sa_kek = kek();
    spec.teks = {tek(0x20000002)};
    return spec;
}

// A payload chain of our own (SEQ first), signed and encrypted like a real push.
inline std::vector<uint8_t> seal(std::span<const uint8_t> chain,
                                 uint8_t first = gdoi::wire::payload::sequence) {
    return gdoi::push::seal_push(kek(), server_key(), gdoi::crypto::SignatureForm::digest_info,
                                 first, chain);
}

struct Fd {
    int fd = -1;
    ~Fd() {
        if (fd >= 0) close(fd);
    }
};

inline sockaddr_in v4(const gdoi::IpAddress& address, uint16_t port) {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    REQUIRE(inet_pton(AF_INET, address.to_string().c_str(), &a.sin_addr) == 1);
    return a;
}

inline int udp_socket(const gdoi::IpAddress& address, uint16_t port) {
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    REQUIRE(fd >= 0);
    const auto a = v4(address, port);
    REQUIRE(bind(fd, reinterpret_cast<const sockaddr*>(&a), sizeof a) == 0);
    return fd;
}

inline GroupConfig member_config() {
    GroupConfig config;
    config.name = "wan";
    config.id = 4321;
    config.servers = {{server_address, 848}};
    config.local_address = member_address;
    config.psk = gdoi::SecretBytes(std::string_view("a-pre-shared-key-of-enough-length"));
    config.ike = {IkeEncryption::aes256_cbc, IkeHash::sha256, 14, 8h};
    config.wan_interface = "wan0";
    config.lan_interfaces = {"lan0"};
    config.anchor = default_anchor_addresses(gdoi::IpFamily::v4);
    // The BPF datapath may not load in every test environment; the XFRM objects are the same.
    config.datapath_fallback = DatapathFallback::destination_only;
    return config;
}

class Lab {
public:
    struct LogLine {
        LogLevel level;
        std::string text;
    };

    explicit Lab(GroupConfig config = member_config())
        : network_(setup_network()), group_(std::move(config)) {
        sd_event* e = nullptr;
        REQUIRE(sd_event_new(&e) >= 0);
        event_ = e;
        log_set_sink([this](LogLevel level, std::string_view text, const LogFields&) {
            log.push_back({level, std::string(text)});
        });
        gdoi::pull::KeyServerEndpointConfig ks;
        ks.phase1.local_address = server_address;
        ks.phase1.acceptable = {{gdoi::crypto::CbcCipher::aes256,
                                 gdoi::crypto::HashAlgorithm::sha256,
                                 gdoi::crypto::DhGroup::modp2048, 86400s}};
        ks.phase1.pre_shared_key_for = [key = group_.config().psk](const gdoi::IpAddress&) {
            return std::optional<gdoi::SecretBytes>(key);
        };
        ks.authorizer = [this](const gdoi::IpAddress&,
                               const std::vector<uint32_t>&) -> gdoi::pull::PullDecision {
            auto policy = served_policy();
            const uint32_t seq = policy.sequence.value_or(0);
            return gdoi::pull::PullGrant{std::move(policy), {}, seq};
        };
        server_ = std::make_unique<gdoi::pull::KeyServerEndpoint>(std::move(ks));
        server_fd_.fd = udp_socket(server_address, 848);
        dataplane_ = std::make_unique<GroupDataplane>(event_, group_, &kernel_, datapath_,
                                                      pick_group_slot(group_.config().id, {}));
        std::string error;
        socket_ = GdoiSocket::open(
            event_, member_address, 848, std::nullopt, &kernel_,
            [this](const ServerAddress& from, std::span<const uint8_t> bytes) {
                ++datagrams_received;
                controller_->on_datagram(from, bytes); // what Daemon::dispatch() does
            },
            error);
        INFO(error);
        REQUIRE(socket_);
        controller_ = std::make_unique<GroupController>(event_, group_, *socket_, *dataplane_);
    }
    ~Lab() {
        controller_.reset();
        dataplane_.reset();
        socket_.reset();
        sd_event_unref(event_);
        log_set_sink(nullptr);
    }

    // Registers through the real network path; the fake kernel then holds the group's objects.
    void register_member() {
        controller_->start();
        REQUIRE(run_until([&] { return group_.state() == GroupState::registered; }, 20s));
        REQUIRE(run_until([&] { return !kernel_.states().empty(); }, 5s));
        run_for(300ms); // the dataplane's make-before-break settles
    }

    // Runs the member's event loop and answers as the key server (unless `server_silent`) until
    // `done` or `limit`.
    bool run_until(const std::function<bool()>& done, std::chrono::milliseconds limit) {
        const auto until = std::chrono::steady_clock::now() + limit;
        while (std::chrono::steady_clock::now() < until) {
            if (done()) return true;
            serve_once();
            sd_event_run(event_, 10000);
        }
        return done();
    }
    void run_for(std::chrono::milliseconds duration) {
        run_until([] { return false; }, duration);
    }

    // A datagram from `from` (port 848) to the member's GDOI socket, through the kernel.
    void send(const gdoi::IpAddress& from, std::span<const uint8_t> bytes) {
        Fd own;
        int fd = server_fd_.fd;
        if (from != server_address) fd = own.fd = udp_socket(from, 848);
        const auto to = v4(member_address, 848);
        REQUIRE(sendto(fd, bytes.data(), bytes.size(), 0, reinterpret_cast<const sockaddr*>(&to),
                       sizeof to) == ssize_t(bytes.size()));
    }

    // The fake kernel's states and policies as the netlink messages that would install them.
    std::vector<uint8_t> kernel_snapshot() const {
        std::vector<uint8_t> out;
        for (const auto& s : kernel_.states()) {
            auto m = netlink::build_add_state(s, false, {});
            out.insert(out.end(), m.bytes().begin(), m.bytes().end());
        }
        for (const auto& p : kernel_.policies()) {
            auto m = netlink::build_add_policy(p, false);
            out.insert(out.end(), m.bytes().begin(), m.bytes().end());
        }
        return out;
    }

    bool logged(const std::string& text) const {
        for (const auto& line : log)
            if (line.text.find(text) != std::string::npos) return true;
        return false;
    }

    Group& group() { return group_; }
    GroupController& controller() { return *controller_; }
    netlink::FakeKernelIpsec& kernel() { return kernel_; }

    bool server_silent = false;
    size_t server_answers_left =
        SIZE_MAX;                  // a server that answers this many datagrams, then goes silent
    size_t datagrams_received = 0; // by the member's GDOI socket
    std::vector<LogLine> log;

private:
    static bool setup_network() {
        static netlink_test::FreshNetworkNamespace
            netns; // once per process: never back to the host's
        netlink_test::must(
            "ip link show wan0 >/dev/null 2>&1 || { "
            "ip link add wan0 type veth peer name wan0p && ip link set wan0p up && ip link set "
            "wan0 up && "
            "ip addr add 192.0.2.10/24 dev wan0 && ip addr add 192.0.2.1/24 dev wan0 && "
            "ip addr add 192.0.2.99/24 dev wan0 && "
            "ip link add lan0 type veth peer name lan0p && ip link set lan0p up && ip link set "
            "lan0 up && "
            "ip addr add 10.1.0.1/16 dev lan0; }");
        return true;
    }

    void serve_once() {
        std::vector<uint8_t> buffer(65536);
        for (;;) {
            sockaddr_in from{};
            socklen_t length = sizeof from;
            const ssize_t n = recvfrom(server_fd_.fd, buffer.data(), buffer.size(), 0,
                                       reinterpret_cast<sockaddr*>(&from), &length);
            if (n < 0) return;
            if (server_silent || server_answers_left == 0) continue;
            const auto answers = server_->on_datagram(
                member_address, std::span(buffer.data(), size_t(n)), gdoi::ike::Clock::now());
            if (!answers.empty() && server_answers_left != SIZE_MAX) --server_answers_left;
            for (const auto& answer : answers)
                sendto(server_fd_.fd, answer.data(), answer.size(), 0,
                       reinterpret_cast<const sockaddr*>(&from), length);
        }
    }

    bool network_;
    Group group_;
    sd_event* event_ = nullptr;
    netlink::FakeKernelIpsec kernel_;
    DatapathService datapath_;
    std::unique_ptr<gdoi::pull::KeyServerEndpoint> server_;
    Fd server_fd_;
    std::unique_ptr<GroupDataplane> dataplane_;
    std::unique_ptr<GdoiSocket> socket_;
    std::unique_ptr<GroupController> controller_;
};

} // namespace gdoid::daemon::bad_input
