#include "gdoi/pull/registration.hpp"

namespace gdoi::pull {

Registration::Registration(RegistrationConfig config)
    : config_(std::move(config)), main_mode_(config_.phase1) {}

void Registration::start(ike::TimePoint now) {
    main_mode_.start(now);
    advance(now);
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

void Registration::advance(ike::TimePoint now) {
    for (auto& d : main_mode_.take_datagrams())
        out_.push_back(std::move(d));
    if (!pull_) {
        if (main_mode_.failed()) return finish_failed(main_mode_.failure_reason());
        if (!main_mode_.established()) return;
        sa_ = main_mode_.take_sa();
        PullInitiatorConfig pull_config;
        pull_config.group_id = config_.group_id;
        pull_config.quirks = config_.phase1.quirks;
        pull_config.retransmit = config_.pull_retransmit;
        pull_config.log = config_.phase1.log;
        pull_ = std::make_unique<PullInitiator>(pull_config, *sa_);
        pull_->start(now);
    }
    for (auto& d : pull_->take_datagrams())
        out_.push_back(std::move(d));
    if (pull_->failed()) return finish_failed(pull_->failure_reason());
    if (pull_->done()) {
        finished_ = true;
        events_.push_back({RegistrationEvent::Kind::registered, pull_->take_policy(), {}});
    }
}

} // namespace gdoi::pull
