#include "gdoi/pull/key_server_endpoint.hpp"

#include "gdoi/ike/isakmp_io.hpp"
#include "gdoi/wire/message.hpp"

namespace gdoi::pull {

using namespace gdoi::wire;

KeyServerEndpoint::KeyServerEndpoint(KeyServerEndpointConfig config) : config_(std::move(config)) {
    if (!config_.phase1.log) config_.phase1.log = config_.log;
}

size_t KeyServerEndpoint::phase1_sa_count() const {
    size_t n = 0;
    for (const auto& [cookie, peer] : peers_)
        n += peer.main_mode->established() ? 1 : 0;
    return n;
}

std::vector<ike::Datagram> KeyServerEndpoint::on_datagram(const IpAddress& from,
                                                          std::span<const uint8_t> datagram,
                                                          ike::TimePoint now) {
    Header header;
    try {
        header = decode_header(datagram);
    } catch (const DecodeError& e) {
        if (config_.log)
            config_.log(ike::LogLevel::warning,
                        "from " + from.to_string() + ": unreadable datagram dropped: " + e.what());
        return {};
    }
    auto found = peers_.find(header.initiator_cookie);
    if (header.exchange_type == exchange::identity_protection) {
        if (found == peers_.end()) {
            if (header.responder_cookie != Cookie{}) return {}; // an exchange we forgot
            Peer peer;
            peer.address = from;
            peer.main_mode = std::make_unique<ike::MainModeResponder>(config_.phase1, from);
            found = peers_.emplace(header.initiator_cookie, std::move(peer)).first;
        }
        // Cookies bind an exchange to its peer address.
        if (!(found->second.address == from)) return {};
        return found->second.main_mode->on_datagram(datagram, now);
    }
    if (found == peers_.end() || !(found->second.address == from)) return {};
    Peer& peer = found->second;
    ike::Phase1Sa* sa = peer.main_mode->sa();
    if (!sa || header.responder_cookie != sa->responder_cookie) return {};
    if (sa->expired(now)) {
        // The Phase 1 SA is not rekeyed and carries nothing past its lifetime: a late PULL
        // message is dropped with the SA (the member runs Main Mode again).
        if (config_.log)
            config_.log(ike::LogLevel::info, "from " + from.to_string() +
                                                 ": Phase 1 SA past its lifetime of " +
                                                 std::to_string(sa->proposal.lifetime.count()) +
                                                 " s, exchange dropped and SA forgotten");
        peers_.erase(found);
        return {};
    }
    if (header.exchange_type == exchange::informational) {
        std::string why;
        if (auto n = ike::read_informational(datagram, sa, why); n && config_.log)
            config_.log(ike::LogLevel::info,
                        "from " + from.to_string() + ": notification " +
                            notify_type_name(static_cast<NotifyType>(n->notify_type)));
        return {};
    }
    if (header.exchange_type != exchange::groupkey_pull || header.message_id == 0) return {};
    auto& pull = peer.pulls[header.message_id];
    if (!pull)
        pull = std::make_unique<PullResponder>(*sa, header.message_id, config_.authorizer,
                                               config_.log);
    bool was_completed = pull->completed();
    auto answer = pull->on_datagram(datagram, now);
    if (pull->completed() && !was_completed) {
        registrations_.push_back({from, pull->group_id().value_or(0), now});
    }
    return answer;
}

void KeyServerEndpoint::expire(ike::TimePoint now) {
    for (auto it = peers_.begin(); it != peers_.end();) {
        auto& peer = it->second;
        for (auto p = peer.pulls.begin(); p != peer.pulls.end();) {
            if (now - p->second->last_activity() > config_.idle_timeout)
                p = peer.pulls.erase(p);
            else
                ++p;
        }
        const ike::Phase1Sa* sa = peer.main_mode->sa();
        bool idle = !peer.main_mode->established() &&
                    now - peer.main_mode->last_activity() > config_.idle_timeout;
        // An established SA lives until its negotiated lifetime (Phase1Sa::expired).
        if (idle || (sa && sa->expired(now))) {
            if (sa && config_.log)
                config_.log(ike::LogLevel::info, "Phase 1 SA with " + peer.address.to_string() +
                                                     " reached its lifetime of " +
                                                     std::to_string(sa->proposal.lifetime.count()) +
                                                     " s and is forgotten");
            it = peers_.erase(it);
        } else
            ++it;
    }
}

} // namespace gdoi::pull
