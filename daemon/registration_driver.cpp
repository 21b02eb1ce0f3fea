#include "daemon/registration_driver.hpp"

#include "gdoi/ike/certificate_authentication.hpp"

#include <algorithm>
#include <random>

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
    case IkeHash::sha384: return gdoi::crypto::HashAlgorithm::sha384;
    case IkeHash::sha512: return gdoi::crypto::HashAlgorithm::sha512;
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
    // The configuration accepts only groups the crypto layer supports (1, 2, 5, 14, 15, 16, 19-21).
    proposal.group = gdoi::crypto::dh_group_from_number(config.ike.dh_group).value_or(gdoi::crypto::DhGroup::modp2048);
    proposal.lifetime = config.ike.lifetime;

    gdoi::pull::RegistrationConfig attempt;
    attempt.phase1.local_address = config.local_address;
    attempt.phase1.server_address = server.address;
    attempt.phase1.pre_shared_key = config.psk;
    if (config.certificate && config.certificate->credentials)
        attempt.phase1.certificate = *config.certificate->credentials;
    attempt.phase1.proposals = {proposal};
    attempt.phase1.quirks = config.quirks;
    attempt.phase1.log = std::move(log);
    // One attempt lives at most one retry interval; retransmissions happen inside it.
    const auto budget = std::max<gdoi::ike::Duration>(config.retry.interval, std::chrono::seconds(2));
    attempt.phase1.retransmit = gdoi::ike::member_retransmit_policy(budget, std::random_device{}());
    attempt.pull_retransmit = attempt.phase1.retransmit;
    attempt.group_id = config.id;
    attempt.max_teks = config.max_teks;
    return attempt;
}

void RegistrationDriver::start(TimePoint now, bool reuse_phase1) {
    active_ = true;
    server_index_ = 0;
    attempt_number_ = 0;
    wait_until_.reset();
    reuse_on_next_attempt_ = reuse_phase1;
    begin_attempt(now);
}

void RegistrationDriver::stop() {
    active_ = false;
    attempt_.reset();
    wait_until_.reset();
    reuse_on_next_attempt_ = false;
    live_phase1_.clear(); // SecretBytes wipe the keys
}

RegistrationProgress RegistrationDriver::progress(RegistrationProgress::Kind kind) const {
    RegistrationProgress event;
    event.kind = kind;
    event.server_index = server_index_;
    event.attempt = attempt_number_;
    return event;
}

void RegistrationDriver::begin_attempt(TimePoint now) {
    ++attempt_number_;
    attempt_started_ = now;
    attempt_done_ = false;
    wait_until_.reset();
    auto attempt = factory_(config_.servers[server_index_]);
    std::erase_if(live_phase1_, [&](const auto& entry) { return entry.second.expired(now); });
    if (std::exchange(reuse_on_next_attempt_, false)) {
        // A copy: the cached SA stays usable for a later round if this attempt is abandoned.
        if (const auto live = live_phase1_.find(server_index_); live != live_phase1_.end())
            attempt.reuse_phase1 = live->second;
    }
    attempt_ = std::make_unique<gdoi::pull::Registration>(std::move(attempt));
    attempt_->start(now);
    auto started = progress(RegistrationProgress::Kind::attempt_started);
    if (attempt_->reused_phase1()) {
        started.reused_phase1 = true;
        started.phase1_expires = attempt_->phase1_sa()->expires();
    }
    events_.push_back(std::move(started));
    collect(now);
}

bool RegistrationDriver::on_datagram(const ServerAddress& from, std::span<const uint8_t> bytes, TimePoint now) {
    if (!active_ || !attempt_ || attempt_done_) return false;
    const auto& server = config_.servers[server_index_];
    if (from.address != server.address) return false; // not the server we are talking to
    attempt_->on_datagram(bytes, now);
    collect(now);
    return true;
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
            if (auto sa = attempt_->take_phase1_sa()) live_phase1_.insert_or_assign(server_index_, std::move(*sa));
            auto done = progress(RegistrationProgress::Kind::registered);
            done.policy = std::move(event.policy);
            if (const auto live = live_phase1_.find(server_index_); live != live_phase1_.end()) {
                done.phase1 = live->second.proposal.describe();
                done.server_certificate = live->second.peer_certificate;
            }
            events_.push_back(std::move(done));
        } else {
            if (attempt_->reused_phase1()) {
                // The server may have rebooted and forgotten the SA, or dropped it for its own
                // reasons: the retry, like every later registration, negotiates a new one.
                live_phase1_.erase(server_index_);
                event.reason += " (under the reused Phase 1 SA, now dropped; Main Mode follows at once)";
                // The PULL was a shortcut, not one of the server's attempts: a key server that
                // restarted and forgot the SA gets its Main Mode now, with every configured
                // attempt still ahead (counted, it would take one of them from the Main Mode).
                attempt_failed(std::move(event.reason), now, /*counted=*/false);
                continue;
            }
            attempt_failed(std::move(event.reason), now);
        }
    }
}

void RegistrationDriver::attempt_failed(std::string reason, TimePoint now, bool counted) {
    // Attempts toward one server start one retry interval apart (Juniper: "retry 3 times,
    // 10 s apart, then move to the next server"); a quick refusal waits out the interval.
    const TimePoint next = counted ? std::max(now, attempt_started_ + config_.retry.interval) : now;
    auto failed = progress(RegistrationProgress::Kind::attempt_failed);
    failed.reason = reason;
    failed.next_attempt_at = next;
    events_.push_back(std::move(failed));
    if (!counted) {
        --attempt_number_;
        wait_until_ = next;
        return;
    }
    if (attempt_number_ > config_.retry.count) {
        // This server had its first try and all its retries: the next one, or a new round.
        attempt_number_ = 0;
        ++server_index_;
        if (server_index_ == config_.servers.size()) {
            server_index_ = 0;
            RegistrationProgress round_failed;
            round_failed.kind = RegistrationProgress::Kind::all_servers_failed;
            round_failed.reason = std::move(reason);
            round_failed.next_attempt_at = next;
            events_.push_back(std::move(round_failed));
        }
    }
    wait_until_ = next;
}

std::vector<OutgoingDatagram> RegistrationDriver::take_datagrams() { return std::exchange(out_, {}); }
std::vector<RegistrationProgress> RegistrationDriver::take_events() { return std::exchange(events_, {}); }

} // namespace gdoid::daemon
