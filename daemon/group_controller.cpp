#include "daemon/group_controller.hpp"

#include <cstdio>

#include "daemon/log.hpp"

namespace gdoid::daemon {

namespace {

std::string hex(std::span<const uint8_t> bytes) {
    std::string out;
    char buffer[3];
    for (uint8_t b : bytes) {
        std::snprintf(buffer, sizeof buffer, "%02x", b);
        out += buffer;
    }
    return out;
}

const char* tek_cipher_name(gdoi::TekCipher cipher) {
    switch (cipher) {
    case gdoi::TekCipher::none: return "none";
    case gdoi::TekCipher::des3_cbc: return "3des-cbc";
    case gdoi::TekCipher::aes_cbc: return "aes-cbc";
    case gdoi::TekCipher::aes_gcm_16: return "aes-gcm-16";
    case gdoi::TekCipher::null_encryption: return "null";
    }
    return "unknown";
}

const char* integrity_name(gdoi::TekIntegrity integrity) {
    switch (integrity) {
    case gdoi::TekIntegrity::none: return "none";
    case gdoi::TekIntegrity::hmac_md5: return "hmac-md5";
    case gdoi::TekIntegrity::hmac_sha1: return "hmac-sha1";
    case gdoi::TekIntegrity::hmac_sha256: return "hmac-sha256";
    case gdoi::TekIntegrity::hmac_sha384: return "hmac-sha384";
    case gdoi::TekIntegrity::hmac_sha512: return "hmac-sha512";
    }
    return "unknown";
}

std::string endpoint_text(const gdoi::SelectorEndpoint& endpoint, uint8_t protocol) {
    std::string out;
    for (const auto& prefix : endpoint.prefixes()) out += (out.empty() ? "" : ",") + prefix.to_string();
    if (endpoint.port != 0 || protocol != 0) {
        out += " proto " + std::to_string(protocol);
        if (endpoint.port != 0) out += " port " + std::to_string(endpoint.port);
    }
    return out;
}

std::string spi_text(uint32_t spi) {
    char buffer[16];
    std::snprintf(buffer, sizeof buffer, "0x%08x", spi);
    return buffer;
}

} // namespace

KekSummary summarize_kek(const gdoi::KekPolicy& kek, std::chrono::system_clock::time_point received) {
    KekSummary summary;
    summary.spi = hex(kek.spi);
    summary.cipher = std::string(kek.cipher == gdoi::KekCipher::des3_cbc ? "3des-cbc" : "aes-cbc") + "-" +
                     std::to_string(kek.key_bits);
    summary.expires = received + kek.lifetime;
    return summary;
}

TekSummary summarize_tek(const gdoi::TekPolicy& tek, std::chrono::system_clock::time_point received) {
    TekSummary summary;
    summary.spi = tek.spi;
    summary.cipher = std::string(tek_cipher_name(tek.cipher)) + "-" + std::to_string(tek.cipher_key_bits) + "/" +
                     integrity_name(tek.integrity);
    summary.source = endpoint_text(tek.selector.source, tek.selector.ip_protocol);
    summary.destination = endpoint_text(tek.selector.destination, tek.selector.ip_protocol);
    summary.expires = received + tek.lifetime;
    return summary;
}

GroupController::GroupController(sd_event* event, Group& group, GdoiSocket& socket, GroupDataplane& dataplane)
    : event_(event), group_(group), socket_(socket), dataplane_(dataplane),
      driver_(group.config(), [this](const ServerAddress& server) {
          const std::string group_name = group_.name();
          const std::string server_name = server.to_string();
          return RegistrationDriver::attempt_config(
              group_.config(), server, [group_name, server_name](gdoi::ike::LogLevel level, const std::string& text) {
                  const LogFields fields{.group = group_name, .server = server_name};
                  switch (level) {
                  case gdoi::ike::LogLevel::debug: log_debug(text, fields); break;
                  case gdoi::ike::LogLevel::info: log_info(text, fields); break;
                  case gdoi::ike::LogLevel::warning: log_warning(text, fields); break;
                  case gdoi::ike::LogLevel::error: log_error(text, fields); break;
                  }
              });
      }) {}

GroupController::~GroupController() = default;

void GroupController::start() {
    group_.set_state(GroupState::registering);
    driver_.start(gdoi::ike::Clock::now());
    pump();
}

void GroupController::on_datagram(const ServerAddress& from, std::span<const uint8_t> bytes) {
    const auto now = gdoi::ike::Clock::now();
    driver_.on_datagram(from, bytes, now);
    pump();
}

void GroupController::pump() {
    for (const auto& datagram : driver_.take_datagrams()) socket_.send(datagram.to, datagram.bytes);
    for (auto& progress : driver_.take_events()) handle(progress);
    arm_timer();
}

void GroupController::handle(RegistrationProgress& progress) {
    const auto& servers = group_.config().servers;
    const std::string server = servers[progress.server_index].to_string();
    const LogFields fields{.group = group_.name(), .server = server};
    switch (progress.kind) {
    case RegistrationProgress::Kind::attempt_started:
        group_.set_server_in_use(progress.server_index);
        if (group_.state() != GroupState::registered) group_.set_state(GroupState::registering);
        log_info("registering with key server " + server + " (attempt " + std::to_string(progress.attempt) + " of " +
                     std::to_string(group_.config().retry.count + 1) + ")",
                 fields);
        break;
    case RegistrationProgress::Kind::attempt_failed: {
        ++group_.counters.registration_failures;
        const auto wait = std::chrono::duration_cast<std::chrono::seconds>(
            progress.next_attempt_at.value_or(gdoi::ike::Clock::now()) - gdoi::ike::Clock::now());
        group_.record_error(progress.reason);
        log_error("registration with key server " + server + " failed: " + progress.reason + "; next attempt in " +
                      std::to_string(std::max<int64_t>(wait.count(), 0)) + " s",
                  fields);
        break;
    }
    case RegistrationProgress::Kind::all_servers_failed:
        group_.set_state(GroupState::failed);
        group_.set_server_in_use(std::nullopt);
        log_error("no key server answered the registration; trying again from the preferred server", fields);
        // Partial fail-open (Juniper): the operator's rules pass in clear text only now.
        dataplane_.set_servers_unreachable(true);
        break;
    case RegistrationProgress::Kind::registered: {
        const auto received = std::chrono::system_clock::now();
        policy_ = std::move(progress.policy);
        ++group_.counters.registrations;
        group_.set_state(GroupState::registered);
        group_.set_server_in_use(progress.server_index);
        group_.kek = policy_->kek ? std::optional(summarize_kek(*policy_->kek, received)) : std::nullopt;
        group_.teks.clear();
        for (const auto& tek : policy_->teks) group_.teks.push_back(summarize_tek(tek, received));
        group_.sequence = policy_->sequence;
        group_.last_rekey = GroupRekeyRecord{"pull", received};
        std::string spis;
        for (const auto& tek : policy_->teks) spis += (spis.empty() ? "" : ", ") + spi_text(tek.spi);
        log_info("registered with key server " + server + ": " + std::to_string(policy_->teks.size()) + " TEK(s) [" +
                     spis + "]" + (policy_->kek ? ", KEK " + group_.kek->spi : std::string(", no KEK")),
                 fields);
        dataplane_.observe(*policy_);
        break;
    }
    }
}

void GroupController::arm_timer() {
    const auto next = driver_.next_timer();
    if (!next) {
        if (timer_) sd_event_source_set_enabled(timer_.get(), SD_EVENT_OFF);
        return;
    }
    // steady_clock is CLOCK_MONOTONIC on Linux, the clock sd-event's timer uses here.
    const uint64_t usec = uint64_t(std::chrono::duration_cast<std::chrono::microseconds>(next->time_since_epoch()).count());
    if (!timer_) {
        sd_event_source* source = nullptr;
        if (sd_event_add_time(event_, &source, CLOCK_MONOTONIC, usec, 10000, on_timer, this) < 0) {
            log_error("cannot arm the registration timer", {.group = group_.name()});
            return;
        }
        timer_.reset(source);
    } else {
        sd_event_source_set_time(timer_.get(), usec);
    }
    sd_event_source_set_enabled(timer_.get(), SD_EVENT_ONESHOT);
}

int GroupController::on_timer(sd_event_source*, uint64_t, void* userdata) {
    auto& controller = *static_cast<GroupController*>(userdata);
    const auto now = gdoi::ike::Clock::now();
    controller.driver_.on_timer(now);
    controller.pump();
    return 0;
}

} // namespace gdoid::daemon
