#include "gdoi/pull/registration.hpp"

#include <algorithm>

namespace gdoi::pull {

Registration::Registration(RegistrationConfig config)
    : config_(std::move(config)), main_mode_(config_.phase1) {}

bool Registration::reusable(const ike::Phase1Sa& sa, ike::TimePoint now) const {
    // The SA is not rekeyed (Phase1Sa::expires): it must outlive the whole PULL, retransmissions
    // included, or the attempt would fail halfway where a Main Mode now would have succeeded.
    const auto budget = std::max(config_.phase1.retransmit.budget, config_.pull_retransmit.budget);
    return sa.cipher && sa.cipher->phase1_finished() && sa.peer == config_.phase1.server_address &&
           sa.local == config_.phase1.local_address && !sa.expired(now + budget);
}

void Registration::start(ike::TimePoint now) {
    auto reuse = std::exchange(config_.reuse_phase1, std::nullopt);
    if (reuse && reusable(*reuse, now)) {
        const auto left =
            std::chrono::duration_cast<std::chrono::seconds>(reuse->expires() - now).count();
        log_debug("GROUPKEY-PULL with " + reuse->peer.to_string() + " under the live Phase 1 SA (" +
                  std::to_string(left) + " s left), no Main Mode");
        sa_ = std::move(reuse);
        reused_phase1_ = true;
        start_pull(now);
    } else {
        if (reuse)
            log_debug("the Phase 1 SA with " + reuse->peer.to_string() +
                      " would end before this registration could; negotiating a new one");
        main_mode_.start(now);
    }
    advance(now);
}

std::optional<ike::Phase1Sa> Registration::take_phase1_sa() {
    if (!registered_ || !sa_) return std::nullopt;
    pull_.reset(); // it holds a reference to sa_
    return std::exchange(sa_, std::nullopt);
}

void Registration::on_datagram(std::span<const uint8_t> datagram, ike::TimePoint now) {
    if (finished_) return;
    if (pull_)
        pull_->on_datagram(datagram, now);
    else
        main_mode_.on_datagram(datagram, now);
    advance(now);
}

void Registration::on_timer(ike::TimePoint now) {
    if (finished_) return;
    if (pull_)
        pull_->on_timer(now);
    else
        main_mode_.on_timer(now);
    advance(now);
}

std::optional<ike::TimePoint> Registration::next_timer() const {
    if (finished_) return std::nullopt;
    return pull_ ? pull_->next_timer() : main_mode_.next_timer();
}

std::vector<ike::Datagram> Registration::take_datagrams() {
    return std::exchange(out_, {});
}
std::vector<RegistrationEvent> Registration::take_events() {
    return std::exchange(events_, {});
}

void Registration::finish_failed(const std::string& reason) {
    finished_ = true;
    events_.push_back({RegistrationEvent::Kind::failed, std::nullopt, reason});
}

void Registration::log_debug(const std::string& text) const {
    if (config_.phase1.log) config_.phase1.log(ike::LogLevel::debug, text);
}

void Registration::start_pull(ike::TimePoint now) {
    PullInitiatorConfig pull_config;
    pull_config.group_id = config_.group_id;
    pull_config.max_teks = config_.max_teks;
    pull_config.quirks = config_.phase1.quirks;
    pull_config.retransmit = config_.pull_retransmit;
    pull_config.log = config_.phase1.log;
    pull_ = std::make_unique<PullInitiator>(pull_config, *sa_);
    pull_->start(now);
}

void Registration::advance(ike::TimePoint now) {
    for (auto& d : main_mode_.take_datagrams())
        out_.push_back(std::move(d));
    if (!pull_) {
        if (main_mode_.failed()) return finish_failed(main_mode_.failure_reason());
        if (!main_mode_.established()) return;
        sa_ = main_mode_.take_sa();
        start_pull(now);
    }
    for (auto& d : pull_->take_datagrams())
        out_.push_back(std::move(d));
    if (pull_->failed()) return finish_failed(pull_->failure_reason());
    if (pull_->done()) {
        finished_ = true;
        registered_ = true;
        events_.push_back({RegistrationEvent::Kind::registered, pull_->take_policy(), {}});
    }
}

} // namespace gdoi::pull
