#include "daemon/registration_driver.hpp"

#include <algorithm>

#include "gdoi/crypto/dh_group.hpp"

namespace gdoid::daemon {

namespace {

gdoi::crypto::CbcCipher cipher_of(IkeEncryption encryption) {
    switch (encryption) {
    case IkeEncryption::des3_cbc: return gdoi::crypto::CbcCipher::des3;
    case IkeEncryption::aes128_cbc: return gdoi::crypto::CbcCipher::aes128;
    case IkeEncryption::aes192_cbc: return gdoi::crypto::CbcCipher::aes192;
    case IkeEncryption::aes256_cbc: break;
    }
    return gdoi::crypto::CbcCipher::aes256;
}

gdoi::crypto::HashAlgorithm hash_of(IkeHash hash) {
    switch (hash) {
    case IkeHash::md5: return gdoi::crypto::HashAlgorithm::md5;
    case IkeHash::sha1: return gdoi::crypto::HashAlgorithm::sha1;
    case IkeHash::sha256: break;
    }
    return gdoi::crypto::HashAlgorithm::sha256;
}

} // namespace

RegistrationDriver::RegistrationDriver(const GroupConfig& config, AttemptFactory factory)
    : config_(config), factory_(std::move(factory)) {}

gdoi::pull::RegistrationConfig RegistrationDriver::attempt_config(const GroupConfig& config,
                                                                  const ServerAddress& server,
                                                                  gdoi::ike::LogSink log) {
    gdoi::ike::Phase1Proposal proposal;
    proposal.cipher = cipher_of(config.ike.encryption);
    proposal.hash = hash_of(config.ike.hash);
    // The configuration accepts only groups the crypto layer supports (1, 2, 5, 14).
    proposal.group = gdoi::crypto::dh_group_from_number(config.ike.dh_group).value_or(gdoi::crypto::DhGroup::modp2048);
    proposal.lifetime = config.ike.lifetime;

    gdoi::pull::RegistrationConfig attempt;
    attempt.phase1.local_address = config.local_address;
    attempt.phase1.server_address = server.address;
    attempt.phase1.pre_shared_key = config.psk;
    attempt.phase1.proposals = {proposal};
    attempt.phase1.quirks = config.quirks;
    attempt.phase1.log = std::move(log);
    // One attempt lives at most one retry interval; retransmissions happen inside it.
    const auto budget = std::max<gdoi::ike::Duration>(config.retry.interval, std::chrono::seconds(2));
    attempt.phase1.retransmit.initial = std::min<gdoi::ike::Duration>(std::chrono::seconds(1), budget / 2);
    attempt.phase1.retransmit.max_interval = std::min<gdoi::ike::Duration>(std::chrono::seconds(8), budget / 2);
    attempt.phase1.retransmit.budget = budget;
    attempt.pull_retransmit = attempt.phase1.retransmit;
    attempt.group_id = config.id;
    return attempt;
}

void RegistrationDriver::start(TimePoint now) {
    active_ = true;
    server_index_ = 0;
    attempt_number_ = 0;
    wait_until_.reset();
    begin_attempt(now);
}

void RegistrationDriver::stop() {
    active_ = false;
    attempt_.reset();
    wait_until_.reset();
}

void RegistrationDriver::begin_attempt(TimePoint now) {
    ++attempt_number_;
    attempt_started_ = now;
    attempt_done_ = false;
    wait_until_.reset();
    attempt_ = std::make_unique<gdoi::pull::Registration>(factory_(config_.servers[server_index_]));
    events_.push_back({RegistrationProgress::Kind::attempt_started, server_index_, attempt_number_, {}, {}, {}});
    attempt_->start(now);
    collect(now);
}

void RegistrationDriver::on_datagram(const ServerAddress& from, std::span<const uint8_t> bytes, TimePoint now) {
    if (!active_ || !attempt_ || attempt_done_) return;
    const auto& server = config_.servers[server_index_];
    if (from.address != server.address) return; // not the server we are talking to
    attempt_->on_datagram(bytes, now);
    collect(now);
}

void RegistrationDriver::on_timer(TimePoint now) {
    if (!active_) return;
    if (wait_until_) {
        if (now >= *wait_until_) begin_attempt(now);
        return;
    }
    if (attempt_ && !attempt_done_) {
        attempt_->on_timer(now);
        collect(now);
    }
}

std::optional<TimePoint> RegistrationDriver::next_timer() const {
    if (!active_) return std::nullopt;
    if (wait_until_) return wait_until_;
    if (attempt_ && !attempt_done_) return attempt_->next_timer();
    return std::nullopt;
}

void RegistrationDriver::collect(TimePoint now) {
    for (auto& bytes : attempt_->take_datagrams())
        out_.push_back({config_.servers[server_index_], std::move(bytes)});
    for (auto& event : attempt_->take_events()) {
        if (attempt_done_) break;
        attempt_done_ = true;
        if (event.kind == gdoi::pull::RegistrationEvent::Kind::registered) {
            active_ = false;
            RegistrationProgress done{RegistrationProgress::Kind::registered, server_index_, attempt_number_, {}, {}, {}};
            done.policy = std::move(event.policy);
            events_.push_back(std::move(done));
        } else {
            attempt_failed(event.reason, now);
        }
    }
}

void RegistrationDriver::attempt_failed(const std::string& reason, TimePoint now) {
    // Attempts toward one server start one retry interval apart (Juniper: "retry 3 times,
    // 10 s apart, then move to the next server"); a quick refusal waits out the interval.
    const TimePoint next = std::max(now, attempt_started_ + config_.retry.interval);
    RegistrationProgress failed{RegistrationProgress::Kind::attempt_failed, server_index_, attempt_number_, reason, next, {}};
    events_.push_back(std::move(failed));
    if (attempt_number_ > config_.retry.count) {
        // This server had its first try and all its retries: the next one, or a new round.
        attempt_number_ = 0;
        ++server_index_;
        if (server_index_ == config_.servers.size()) {
            server_index_ = 0;
            events_.push_back({RegistrationProgress::Kind::all_servers_failed, 0, 0, reason, next, {}});
        }
    }
    wait_until_ = next;
}

std::vector<OutgoingDatagram> RegistrationDriver::take_datagrams() { return std::exchange(out_, {}); }
std::vector<RegistrationProgress> RegistrationDriver::take_events() { return std::exchange(events_, {}); }

} // namespace gdoid::daemon
