// The key server's side of registration, I/O free: dispatches datagrams from members to a
// Main Mode responder per initiator cookie and a GROUPKEY-PULL responder per (SA, message ID),
// and remembers who registered. The test key server (test/ks) puts a UDP socket around it.
#pragma once

#include "gdoi/ike/main_mode_responder.hpp"
#include "gdoi/pull/pull_responder.hpp"

#include <map>
#include <memory>
#include <span>
#include <vector>

namespace gdoi::pull {

struct KeyServerEndpointConfig {
    ike::MainModeResponderConfig phase1;
    PullAuthorizer authorizer;
    ike::LogSink log;
    ike::Duration idle_timeout = std::chrono::minutes(5); // half-open exchanges are forgotten
};

struct MemberRegistration {
    IpAddress member;
    uint32_t group_id = 0;
    ike::TimePoint when{};
};

class KeyServerEndpoint {
public:
    explicit KeyServerEndpoint(KeyServerEndpointConfig config);

    // Datagrams to send back to `from`.
    std::vector<ike::Datagram> on_datagram(const IpAddress& from, std::span<const uint8_t> datagram,
                                           ike::TimePoint now);
    // Forgets exchanges idle for longer than the timeout, and established Phase 1 SAs (with
    // their PULLs) once past their negotiated lifetime: phase1_sa_count() drops then.
    void expire(ike::TimePoint now);

    const std::vector<MemberRegistration>& registrations() const { return registrations_; }
    size_t phase1_sa_count() const;

private:
    struct Peer {
        std::unique_ptr<ike::MainModeResponder> main_mode;
        std::map<uint32_t, std::unique_ptr<PullResponder>> pulls; // by message ID
        IpAddress address;
    };

    KeyServerEndpointConfig config_;
    std::map<wire::Cookie, Peer> peers_; // by initiator cookie
    std::vector<MemberRegistration> registrations_;
};

} // namespace gdoi::pull
