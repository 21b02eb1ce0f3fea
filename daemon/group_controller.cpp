#include "daemon/group_controller.hpp"
#include "daemon/message_ids.hpp"

#include <net/if.h>

#include <algorithm>

#include "daemon/log.hpp"
#include "daemon/policy_summary.hpp"
#include "daemon/rekey_schedule.hpp"
#include "gdoi/push/push_reason.hpp"

namespace gdoid::daemon {

namespace {

// The longest an ack waits before it is sent. RFC 8263 section 6: "A GM MUST NOT delay sending
// an Acknowledgement Message for more than 5 seconds."
constexpr std::chrono::milliseconds ack_jitter{2000};

// ISAKMP header: exchange type at octet 18 (RFC 2408 section 3.1); GROUPKEY-PUSH is 33
// (RFC 6407 section 4).
constexpr size_t exchange_type_offset = 18;
constexpr uint8_t groupkey_push = 33;

bool is_push(std::span<const uint8_t> bytes) {
    return bytes.size() > exchange_type_offset && bytes[exchange_type_offset] == groupkey_push;
}

gdoi::ike::LogSink attempt_log(const std::string& group, const std::string& server) {
    return [group, server](gdoi::ike::LogLevel level, const std::string& text) {
        const LogFields fields{.group = group, .server = server};
        switch (level) {
        case gdoi::ike::LogLevel::debug: log_debug(text, fields); break;
        case gdoi::ike::LogLevel::info: log_info(text, fields); break;
        case gdoi::ike::LogLevel::warning: log_warning(text, fields); break;
        case gdoi::ike::LogLevel::error: log_error(text, fields); break;
        }
    };
}

std::string seconds_text(std::chrono::steady_clock::duration duration) {
    return std::to_string(std::max<int64_t>(std::chrono::duration_cast<std::chrono::seconds>(duration).count(), 0)) +
           " s";
}

} // namespace

GroupController::GroupController(sd_event* event, Group& group, GdoiSocket& socket, GroupDataplane& dataplane)
    : event_(event), group_(group), socket_(socket), dataplane_(dataplane),
      driver_(group.config(),
              [this](const ServerAddress& server) {
                  auto config = RegistrationDriver::attempt_config(group_.config(), server,
                                                                   attempt_log(group_.name(), server.to_string()));
                  const auto& servers = group_.config().servers;
                  const auto index = size_t(std::find(servers.begin(), servers.end(), server) - servers.begin());
                  config.phase1.initial_contact = !contacted_servers_.contains(index);
                  return config;
              }),
      registration_timer_(event, "registration of group " + group.name(),
                          [this] {
                              driver_.on_timer(gdoi::ike::Clock::now());
                              pump();
                          }),
      pull_timer_(event, "rekey pull of group " + group.name(),
                  [this] {
                      // Keys about to expire: reuse the Phase 1 SA if it is still alive, else a new one.
                      reregister("no rekey push arrived inside the pull window; pulling new keys",
                                 /*reuse_phase1=*/true);
                  }),
      removal_timer_(event, "TEK removal of group " + group.name(), [this] { apply_removals(); }),
      ack_timer_(event, "rekey acknowledgements of group " + group.name(), [this] { send_due_acks(); }),
      push_receiver_(push_receiver_config(group.config())), ack_requests_(group.config().push_ack),
      random_(std::random_device{}()) {}

GroupController::~GroupController() = default;

void GroupController::start() {
    group_.set_state(GroupState::registering);
    driver_.start(gdoi::ike::Clock::now());
    pump();
}

void GroupController::interface_down() {
    if (group_.state() == GroupState::interface_down) return;
    log_warning("WAN interface " + group_.config().wan_interface +
                    " is down: clearing the group's SAs and stopping registration until it is back",
                {.group = group_.name()});
    driver_.stop();
    driver_.take_datagrams();
    driver_.take_events();
    registration_timer_.disarm();
    pull_timer_.disarm();
    removal_timer_.disarm();
    pending_removals_.clear();
    group_.next_pull.reset();
    policy_.reset();
    multicast_.reset();
    multicast_group_.reset();
    group_.kek.reset();
    group_.teks.clear();
    group_.deny_entries.clear();
    group_.set_server_in_use(std::nullopt);
    group_.set_state(GroupState::interface_down);
    dataplane_.forget_all_teks(); // fail-closed stands while the interface is down
}

void GroupController::interface_up() {
    if (group_.state() != GroupState::interface_down) return;
    log_info("WAN interface " + group_.config().wan_interface + " is up: registering", {.group = group_.name()});
    start();
}

void GroupController::reregister(const std::string& why, bool reuse_phase1) {
    log_info(why, {.group = group_.name()});
    pull_timer_.disarm();
    group_.next_pull.reset();
    // The keys in use stay until they expire; only the state says a pull is under way.
    group_.set_state(policy_ ? GroupState::rekeying : GroupState::registering);
    driver_.start(gdoi::ike::Clock::now(), reuse_phase1);
    pump();
}

void GroupController::on_datagram(const ServerAddress& from, std::span<const uint8_t> bytes) {
    if (is_push(bytes)) {
        on_push(from, bytes);
        return;
    }
    if (!driver_.on_datagram(from, bytes, gdoi::ike::Clock::now())) {
        const auto& servers = group_.config().servers;
        const bool from_server = std::any_of(servers.begin(), servers.end(),
                                             [&](const ServerAddress& s) { return s.address == from.address; });
        ignore_datagram(from, bytes.size(),
                        from_server ? "no registration with that key server is under way"
                                    : "the sender is not one of the group's key servers",
                        from_server ? LogLevel::info : LogLevel::warning);
        return;
    }
    pump();
}

void GroupController::ignore_datagram(const ServerAddress& from, size_t size, const std::string& why,
                                      LogLevel level) {
    // Stale retransmissions (info: a key server's late answer is normal), a flood of forged
    // replies: counted, logged once a minute per reason (not per sender: forged senders are
    // many), nothing else happens.
    ++group_.counters.datagrams_ignored;
    if (auto d = rejected_push_log_.check(group_.name() + "/ignored/" + why); d.emit)
        log_write(level, "datagram of " + std::to_string(size) + " octets from " + from.to_string() + " ignored: " + why +
                        (d.suppressed ? " (" + std::to_string(d.suppressed) + " similar suppressed)" : ""),
                    {.group = group_.name(), .server = from.to_string()});
}

void GroupController::pump() {
    for (const auto& datagram : driver_.take_datagrams()) socket_.send(datagram.to, datagram.bytes);
    for (auto& progress : driver_.take_events()) handle(progress);
    arm_registration_timer();
}

void GroupController::handle(RegistrationProgress& progress) {
    const auto& servers = group_.config().servers;
    const std::string server = servers[progress.server_index].to_string();
    const LogFields fields{.group = group_.name(), .server = server};
    switch (progress.kind) {
    case RegistrationProgress::Kind::attempt_started: {
        // Another server than the one tried last: failover, or back to the preferred one.
        const auto previous = group_.server_in_use();
        if (previous && *previous != progress.server_index && *previous < servers.size())
            log_warning("changing key server from " + servers[*previous].to_string() + " to " + server,
                        {.group = group_.name(), .server = server, .message_id = message_id::server_changed});
        group_.set_server_in_use(progress.server_index);
        if (group_.state() != GroupState::registered && group_.state() != GroupState::rekeying)
            group_.set_state(GroupState::registering);
        if (progress.reused_phase1 && progress.phase1_expires) {
            const auto left = std::chrono::duration_cast<std::chrono::seconds>(*progress.phase1_expires -
                                                                               gdoi::ike::Clock::now());
            log_info("pulling new keys from " + server + " under the live Phase 1 SA (expires in " +
                         format_duration(std::max(left, std::chrono::seconds(0))) + ")",
                     fields);
            break;
        }
        log_info("registering with key server " + server + " (attempt " + std::to_string(progress.attempt) + " of " +
                     std::to_string(group_.config().retry.count + 1) + "): new Main Mode",
                 fields);
        break;
    }
    case RegistrationProgress::Kind::attempt_failed: {
        ++group_.counters.registration_failures;
        const auto wait = progress.next_attempt_at.value_or(gdoi::ike::Clock::now()) - gdoi::ike::Clock::now();
        group_.record_error(progress.reason);
        // Juniper: an ejected member re-registers; when the server refuses, the group reports
        // that the key server removed it (its SAs go at the DTD the ejection push gave).
        if (ejected_) group_.set_state(GroupState::removed_by_key_server);
        log_error("registration with key server " + server + " failed: " + progress.reason + "; next attempt in " +
                      seconds_text(wait),
                  fields);
        break;
    }
    case RegistrationProgress::Kind::all_servers_failed:
        group_.set_server_in_use(std::nullopt);
        if (ejected_) {
            group_.set_state(GroupState::removed_by_key_server);
            log_error("removed by the key server: no server accepts this member again; trying again from the "
                      "preferred server",
                      {.group = group_.name(), .server = server, .message_id = message_id::member_ejected});
            break; // refused, not unreachable: fail-open rules do not apply
        }
        // An operator must tell "traffic still protected, key servers gone" from "nothing
        // protected any more": the keys we hold decide.
        group_.set_state(dataplane_.holds_unexpired_keys() ? GroupState::servers_unreachable : GroupState::failed);
        log_error("no key server answered the registration; trying again from the preferred server", fields);
        // Partial fail-open (Juniper): the operator's rules pass in clear text only now.
        dataplane_.set_servers_unreachable(true);
        break;
    case RegistrationProgress::Kind::registered: {
        const auto received = std::chrono::system_clock::now();
        policy_ = std::move(progress.policy);
        kek_received_ = std::chrono::steady_clock::now();
        drop_retired_teks(); // a server's PULL may still list TEKs a push already replaced
        ejected_ = false;
        contacted_servers_.insert(progress.server_index);
        ++group_.counters.registrations;
        if (!progress.phase1.empty()) group_.phase1 = Phase1Summary{progress.phase1, progress.server_certificate};
        group_.set_state(GroupState::registered);
        group_.set_server_in_use(progress.server_index);
        show_policy(group_, *policy_, std::chrono::steady_clock::now());
        group_.last_rekey = GroupRekeyRecord{"pull", received};
        std::string spis;
        for (const auto& tek : policy_->teks) spis += (spis.empty() ? "" : ", ") + spi_text(tek.spi);
        log_info("registered with key server " + server + ": " + std::to_string(policy_->teks.size()) + " TEK(s) [" +
                     spis + "]" + (policy_->kek ? ", KEK " + group_.kek->spi : std::string(", no KEK")),
                 {.group = group_.name(), .server = server, .message_id = message_id::registered});
        dataplane_.observe(*policy_);
        sync_multicast_socket();
        schedule_pull();
        break;
    }
    }
}

void GroupController::on_push(const ServerAddress& from, std::span<const uint8_t> bytes) {
    const auto now = gdoi::push::Clock::now();
    const std::string server = from.to_string();
    const LogFields fields{.group = group_.name(), .server = server};
    if (!policy_ || !policy_->kek) {
        ++group_.counters.pushes_rejected;
        ++group_.counters.pushes_rejected_by_reason["no_kek"];
        if (auto d = rejected_push_log_.check(group_.name() + "/no-kek"); d.emit)
            log_warning("GROUPKEY-PUSH from " + from.to_string() +
                            " ignored: the group has no KEK yet (not registered)",
                        fields);
        return;
    }
    // The TEKs we hold and those we retired: a server's push repeats superseded TEKs, and
    // telling a rekey from an ejection needs to know they are old, not new.
    std::vector<gdoi::TekPolicy> known = policy_->teks;
    known.insert(known.end(), retired_teks_.begin(), retired_teks_.end());
    auto verdict = push_receiver_.receive(bytes, *policy_->kek, policy_->sequence.value_or(0), now, known);
    if (!verdict.accepted()) {
        const std::string reason(gdoi::push::push_reason_name(verdict.reason));
        ++group_.counters.pushes_rejected;
        ++group_.counters.pushes_rejected_by_reason[reason];
        // A refused push changes nothing; the log says why, once a minute per reason at most.
        if (auto d = rejected_push_log_.check(group_.name() + "/" + reason + "/" + from.address.to_string()); d.emit)
            log_warning("GROUPKEY-PUSH from " + from.to_string() + " refused (" + reason + "): " + verdict.message +
                            (d.suppressed ? " (" + std::to_string(d.suppressed) + " similar suppressed)" : ""),
                        {.group = group_.name(), .server = server, .message_id = message_id::push_refused});
        if (verdict.reason == gdoi::push::PushReason::unknown_kek_spi) on_unknown_kek(from);
        return;
    }
    const auto& update = *verdict.update;
    const auto result = gdoi::push::apply(*policy_, update, now);
    policy_ = result.next;
    if (update.kek) kek_received_ = std::chrono::steady_clock::now(); // its lifetime is the time left
    drop_retired_teks();
    const auto received = std::chrono::system_clock::now();
    ++group_.counters.pushes_accepted;
    show_policy(group_, *policy_, std::chrono::steady_clock::now());
    group_.last_rekey = GroupRekeyRecord{"push", received};
    log_info("GROUPKEY-PUSH sequence " + std::to_string(update.sequence) + " from " + from.to_string() + " accepted",
             {.group = group_.name(), .server = server, .message_id = message_id::push_accepted});
    for (const auto& event : result.events) log_info(event, fields);
    for (const auto& note : update.notes) log_info(note, fields);
    // RFC 8263: the ack goes back to the key server, in the clear, only when the KEK asks and
    // the group's push-ack is on; after a random jitter of up to ack_jitter (section 6 allows
    // it), so that a multicast push to thousands of members does not come back as thousands of
    // acks in the same millisecond. An unanswered request is counted and logged once.
    auto ack = ack_requests_.on_accepted(verdict, group_.counters);
    if (ack.log_line) log_info(*ack.log_line, fields);
    if (ack.ack) {
        const auto delay = std::chrono::milliseconds(
            std::uniform_int_distribution<int64_t>(0, ack_jitter.count())(random_));
        pending_acks_.push_back({std::chrono::steady_clock::now() + delay, from, std::move(*ack.ack)});
        send_due_acks();
    }
    for (const auto& removal : result.removals) pending_removals_.push_back(removal);
    dataplane_.observe(*policy_);
    apply_removals();
    if (update.ejection_suspected) {
        // The SAs stay until the DTD the push gave (scheduled above); a re-registration tells
        // whether the server really removed us.
        ejected_ = true;
        reregister("the key server appears to have removed this member (" + update.ejection_reason +
                   "); registering again to find out");
        return;
    }
    if (result.reregister) {
        reregister("the push left the group without usable keys; registering again");
        return;
    }
    sync_multicast_socket();
    schedule_pull();
}

void GroupController::on_unknown_kek(const ServerAddress& from) {
    // Nothing of such a push is used: without our KEK it cannot be decrypted, let alone
    // authenticated. But a key server rekeys a live KEK under that KEK (RFC 6407 section 4:
    // the KEK SPI is the cookie pair of every push), so a push from one of our servers under
    // another SPI says it has lost our group's state (a restart with new keys) or that we
    // missed a KEK rekey. Either way only a new registration brings the KEK it now pushes
    // under; Cisco members re-register on this sign too. The SAs we hold stay in use until
    // they expire, and the new TEKs take over by the rule of policy/tek_schedule.cpp.
    const auto& servers = group_.config().servers;
    switch (unknown_kek_.on_unknown_kek(from, servers, driver_.active(), std::chrono::steady_clock::now())) {
    case UnknownKekReregistration::Decision::not_a_server:
    case UnknownKekReregistration::Decision::registration_busy:
    case UnknownKekReregistration::Decision::held_off: return;
    case UnknownKekReregistration::Decision::reregister: break;
    }
    reregister("GROUPKEY-PUSH from key server " + from.to_string() +
               " under a KEK SPI this member was never given: the server appears to have restarted with new "
               "keys; registering again (the current SAs stay until they expire; at most once a minute)");
}

void GroupController::apply_removals() {
    const auto now = gdoi::push::Clock::now();
    std::optional<gdoi::push::TimePoint> next;
    std::vector<gdoi::push::TekRemoval> later;
    for (const auto& removal : pending_removals_) {
        if (removal.at <= now) {
            log_info("TEK " + spi_text(removal.spi) + " removed: " + removal.why, {.group = group_.name()});
            dataplane_.forget_tek(removal.spi);
            retire(removal.spi);
            drop_retired_teks();
        } else {
            later.push_back(removal);
            if (!next || removal.at < *next) next = removal.at;
        }
    }
    pending_removals_ = std::move(later);
    if (next)
        removal_timer_.arm_at(*next);
    else
        removal_timer_.disarm();
}

void GroupController::retire(uint32_t spi) {
    if (policy_)
        for (const auto& tek : policy_->teks)
            if (tek.spi == spi) retired_teks_.push_back(tek);
    // Bounded: a server lists a superseded TEK only until it expires, a few rekeys at most.
    while (retired_teks_.size() > 64) retired_teks_.erase(retired_teks_.begin());
    if (retired_spis_.size() >= 4096) retired_spis_.clear(); // SPIs are random 32-bit values
    retired_spis_.insert(spi);
}

void GroupController::drop_retired_teks() {
    if (!policy_) return;
    const auto before = policy_->teks.size();
    std::erase_if(policy_->teks, [&](const gdoi::TekPolicy& tek) { return retired_spis_.contains(tek.spi); });
    // Their summaries go too; the others keep the expiry they were shown with.
    if (policy_->teks.size() != before)
        std::erase_if(group_.teks, [&](const TekSummary& tek) { return retired_spis_.contains(tek.spi); });
}

void GroupController::send_due_acks() {
    const auto now = std::chrono::steady_clock::now();
    std::optional<std::chrono::steady_clock::time_point> next;
    std::erase_if(pending_acks_, [&](PendingAck& ack) {
        if (ack.due > now) {
            if (!next || ack.due < *next) next = ack.due;
            return false;
        }
        if (socket_.send(ack.to, ack.datagram)) ++group_.counters.acks_sent;
        return true;
    });
    if (next)
        ack_timer_.arm_at(*next);
    else
        ack_timer_.disarm();
}

void GroupController::schedule_pull() {
    if (!policy_) return;
    const double draw = std::uniform_real_distribution<double>(0.0, 1.0)(random_);
    const auto now = std::chrono::steady_clock::now();
    // Each key with the time it was first received and its lifetime then: a push that repeats
    // a key (or does not carry it at all) gives it no new life. The dataplane's timeline keeps
    // every TEK's first receipt.
    const auto first_receipt = [this](uint32_t spi) -> std::optional<KeyLifetime> {
        if (const auto* known = dataplane_.timeline().find(spi)) return KeyLifetime{known->received_at, known->tek.lifetime};
        return std::nullopt;
    };
    auto at = next_pull(renewal_keys(*policy_, kek_received_, first_receipt, now), group_.config().rekey.pull_window,
                        draw);
    // A server may hand out a key with less life left than the pull window: its pull point is
    // then already past. Not sooner than one retry interval, so such a server is not asked
    // again and again in a tight loop.
    if (at) at = std::max(*at, now + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                                         group_.config().retry.interval));
    if (!at) {
        pull_timer_.disarm();
        group_.next_pull.reset();
        return;
    }
    pull_timer_.arm_at(*at);
    group_.next_pull = *at;
    log_debug("pulling new keys in " + seconds_text(*at - std::chrono::steady_clock::now()) +
                  " unless a rekey push arrives first",
              {.group = group_.name()});
}

void GroupController::sync_multicast_socket() {
    // A multicast KEK destination means the key server pushes to that group: join it on the
    // WAN interface. A unicast destination (our own address) arrives on the shared socket.
    std::optional<gdoi::IpAddress> wanted;
    if (policy_ && policy_->kek && !policy_->kek->destination.prefixes().empty()) {
        const auto address = policy_->kek->destination.prefixes().front().address;
        if (address.is_multicast() && address.family == group_.config().local_address.family) wanted = address;
    }
    if (wanted == multicast_group_) return;
    multicast_.reset();
    multicast_group_.reset();
    if (!wanted) return;
    const auto& config = group_.config();
    std::string error;
    auto socket = GdoiSocket::open_multicast(
        event_, *wanted, default_gdoi_port, config.local_address, config.wan_interface, config.routing_instance,
        [this](const ServerAddress& from, std::span<const uint8_t> bytes) {
            if (is_push(bytes)) on_push(from, bytes);
        },
        error);
    if (!socket) {
        log_error("cannot receive multicast rekeys: " + error, {.group = group_.name()});
        group_.record_error("cannot receive multicast rekeys: " + error);
        return;
    }
    log_info("joined multicast group " + wanted->to_string() + " on " + config.wan_interface + " for rekeys",
             {.group = group_.name()});
    multicast_ = std::move(socket);
    multicast_group_ = wanted;
}

void GroupController::arm_registration_timer() {
    if (const auto next = driver_.next_timer())
        registration_timer_.arm_at(*next);
    else
        registration_timer_.disarm();
}

} // namespace gdoid::daemon
