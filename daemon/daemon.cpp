#include "daemon/daemon.hpp"
#include "daemon/message_ids.hpp"

#include "netlink/netlink_kernel_ipsec.hpp"
#include "netlink/state_hash.hpp"

#include <algorithm>
#include <csignal>
#include <cstring>
#include <sys/signalfd.h>
#include <unistd.h>

#include "daemon/local_settings_builder.hpp"
#include "daemon/log.hpp"
#include "daemon/kernel_fragmentation.hpp"
#include "daemon/status_report.hpp"
#include "policy/object_band.hpp"

namespace gdoid::daemon {

namespace {

std::string group_names(const Config& config) {
    std::string names;
    for (const auto& group : config.groups) names += (names.empty() ? "" : ", ") + group.name;
    return names;
}

std::string ready_status(const Config& config) {
    return "configured " + std::to_string(config.groups.size()) + " group(s): " + group_names(config);
}

void log_diagnostics(const std::vector<Diagnostic>& diagnostics, std::string_view prefix) {
    for (const auto& diagnostic : diagnostics) {
        const auto level = diagnostic.severity == Diagnostic::Severity::error ? LogLevel::error : LogLevel::warning;
        log_write(level, std::string(prefix) + diagnostic.to_string());
    }
}

// netlink/state_hash.hpp says why: a resize of the kernel's SA table drops the packets whose
// lookups it meets, and the first rekey under traffic would cause one.
void grow_state_table(netlink::NetlinkKernelIpsec& kernel) {
    try {
        const auto growth = netlink::grow_state_hash(kernel);
        if (growth.placeholders == 0) return;
        log_info("kernel SA table grown from " + std::to_string(growth.before.buckets) + " to " +
                 std::to_string(growth.after.buckets) + " hash buckets before any state is installed (" +
                 std::to_string(growth.placeholders) + " placeholder states added and removed in " +
                 std::to_string(growth.took.count()) + " ms), so that no rekey resizes it under traffic");
    } catch (const std::exception& e) {
        log_warning(std::string("could not grow the kernel's SA table ahead of traffic: ") + e.what() +
                    "; it grows by itself as states are added, and a packet whose lookup meets a resize is dropped");
    }
}

} // namespace

Daemon::Daemon(DaemonOptions options) : options_(std::move(options)) {}

Daemon::~Daemon() {
    // Event sources go before the loop they are registered with.
    link_source_.reset();
    controllers_.clear();
    dataplanes_.clear();
    sockets_.clear();
    control_.reset();
    watchdog_.reset();
    status_source_.reset();
    signal_sources_.clear();
}

bool Daemon::install_signal_handlers() {
    // sd-event reads signals from a signalfd, which only sees blocked signals.
    sigset_t mask;
    sigemptyset(&mask);
    for (int signal : {SIGTERM, SIGINT, SIGHUP}) sigaddset(&mask, signal);
    if (sigprocmask(SIG_BLOCK, &mask, nullptr) != 0) return false;
    std::signal(SIGPIPE, SIG_IGN);
    for (int signal : {SIGTERM, SIGINT, SIGHUP}) {
        sd_event_source* source = nullptr;
        if (sd_event_add_signal(event_.get(), &source, signal, on_signal, this) < 0) return false;
        signal_sources_.emplace_back(source);
    }
    return true;
}

int Daemon::on_signal(sd_event_source*, const struct signalfd_siginfo* info, void* userdata) {
    auto& daemon = *static_cast<Daemon*>(userdata);
    if (info->ssi_signo == SIGHUP) {
        daemon.reload("SIGHUP");
        return 0;
    }
    daemon.stop_signal_ = int(info->ssi_signo);
    log_info(std::string("received ") + (info->ssi_signo == SIGINT ? "SIGINT" : "SIGTERM") + ", stopping");
    notify_stopping("stopping");
    sd_event_exit(daemon.event_.get(), exit_code::ok);
    return 0;
}

int Daemon::on_event_handled(sd_event_source*, void* userdata) {
    static_cast<Daemon*>(userdata)->update_service_status();
    return 0;
}

// "lab registered (203.0.113.1:848); wan registering": what each group is doing, in one line.
void Daemon::update_service_status() {
    std::string text;
    if (config_error_) text = "last reload refused (" + *config_error_ + "); ";
    for (size_t i = 0; i < groups_.size(); ++i) {
        const auto& group = *groups_[i];
        text += (i ? "; " : "") + group.name() + " " + std::string(to_string(group.state()));
        if (const auto server = group.server_in_use(); server && *server < group.config().servers.size())
            text += " (" + group.config().servers[*server].to_string() + ")";
    }
    if (text == service_status_) return;
    service_status_ = text;
    notify_status(text);
}

int Daemon::run() {
    auto loaded = load_config_file(options_.config_path);
    if (!loaded.ok()) {
        log_diagnostics(loaded.diagnostics, "");
        log_error("the configuration " + options_.config_path + " has " + std::to_string(loaded.error_count()) +
                  " error(s); not starting");
        return exit_code::config_invalid;
    }
    log_diagnostics(loaded.diagnostics, "");
    if (!options_.log_level_override) log_set_level(loaded.config->daemon.log_level);

    sd_event* event = nullptr;
    if (sd_event_new(&event) < 0) {
        log_error("cannot create the event loop");
        return exit_code::startup_failed;
    }
    event_.reset(event);
    if (!install_signal_handlers()) {
        log_error(std::string("cannot install signal handlers: ") + std::strerror(errno));
        return exit_code::startup_failed;
    }

    const auto& settings = loaded.config->daemon;
    std::string error;
    control_ = ControlServer::create(
        event_.get(), {settings.control_socket, settings.control_gid ? std::optional<gid_t>(*settings.control_gid) : std::nullopt},
        [this](const control::Request& request, const control::PeerCredentials& peer) {
            return handle_request(request, peer);
        },
        error);
    if (!control_) {
        log_error("control socket: " + error);
        return exit_code::startup_failed;
    }

    try {
        auto kernel = std::make_unique<netlink::NetlinkKernelIpsec>();
        // Before the event watcher, so the placeholders' notifications never reach it.
        grow_state_table(*kernel);
        kernel_events_ = KernelEventWatcher::create(event_.get(), kernel->port_id(),
                                                    [this](const netlink::KernelEvent& e) { on_kernel_event(e); });
        kernel_ = std::move(kernel);
    } catch (const std::exception& e) {
        log_error(std::string("cannot talk to the kernel's IPsec (XFRM netlink): ") + e.what() +
                  "; registration works, but no key can be installed");
    }

    starting_ = true;
    apply(std::move(*loaded.config), ConfigDiff{});
    starting_ = false;
    watchdog_ = Watchdog::start(event_.get());
    log_info("gdoid " GDOID_VERSION " started (pid " + std::to_string(getpid()) + "), configuration " +
             options_.config_path + ", control socket " + control_->path());
    notify_ready(ready_status(*config_));
    sd_event_source* post = nullptr;
    if (sd_event_add_post(event_.get(), &post, on_event_handled, this) >= 0) status_source_.reset(post);

    const int r = sd_event_loop(event_.get());
    if (r >= 0 && stop_signal_ == SIGTERM && config_->daemon.graceful_restart)
        leave_for_restart();
    else
        withdraw_all();
    control_.reset(); // removes the socket file
    if (r < 0) {
        log_error(std::string("event loop failed: ") + std::strerror(-r));
        return exit_code::startup_failed;
    }
    log_info("stopped");
    return r;
}

void Daemon::log_group_configured(const Group& group) {
    std::string servers;
    for (const auto& server : group.config().servers) servers += (servers.empty() ? "" : ", ") + server.to_string();
    log_info("configured: id " + std::to_string(group.config().id) + ", key servers " + servers + ", state " +
                 std::string(to_string(group.state())),
             {.group = group.name()});
}

void Daemon::apply(Config config, const ConfigDiff& diff) {
    std::vector<std::unique_ptr<Group>> next;
    for (const auto& group_config : config.groups) {
        const bool keep = std::find(diff.unchanged.begin(), diff.unchanged.end(), group_config.name) != diff.unchanged.end();
        std::unique_ptr<Group> group;
        if (keep) {
            for (auto& existing : groups_)
                if (existing && existing->name() == group_config.name) group = std::move(existing);
        }
        if (!group) {
            group = std::make_unique<Group>(group_config);
            log_group_configured(*group);
        }
        next.push_back(std::move(group));
    }
    for (const auto& name : diff.removed) log_info("removed from the configuration", {.group = name, .message_id = message_id::group_removed});
    for (const auto& change : diff.changed) {
        std::string fields;
        for (const auto& field : change.fields) fields += (fields.empty() ? "" : ", ") + field;
        log_info("configuration changed (" + fields + "); " +
                     (change.needs_reregistration ? "registering again" : "updating the data path"),
                 {.group = change.name});
    }
    // Controllers and dataplanes point at Group objects: settle them while the old ones still
    // exist. A controller of a replaced group goes (the group registers again); a group's
    // dataplane moves to its new Group object (its SAs stay); a removed group's is withdrawn.
    for (auto it = controllers_.begin(); it != controllers_.end();) {
        const bool kept = std::any_of(next.begin(), next.end(),
                                      [&](const std::unique_ptr<Group>& g) { return g.get() == it->first; });
        it = kept ? std::next(it) : controllers_.erase(it);
    }
    for (auto it = dataplanes_.begin(); it != dataplanes_.end();) {
        const auto group = std::find_if(next.begin(), next.end(),
                                        [&](const std::unique_ptr<Group>& g) { return g->name() == it->first; });
        if (group == next.end()) {
            it->second->withdraw();
            it = dataplanes_.erase(it);
            continue;
        }
        it->second->rebind(**group);
        ++it;
    }
    groups_ = std::move(next);
    config_ = std::move(config);
    sync_controllers();
}

GdoiSocket* Daemon::socket_for(const Group& group, std::string& error) {
    const auto& config = group.config();
    const std::string key = config.local_address.to_string() + "%" + config.routing_instance.value_or("");
    if (auto it = sockets_.find(key); it != sockets_.end()) return it->second.get();
    const gdoi::IpAddress local = config.local_address;
    auto socket = GdoiSocket::open(
        event_.get(), local, default_gdoi_port, config.routing_instance, kernel_.get(),
        [this, local](const ServerAddress& from, std::span<const uint8_t> bytes) { dispatch(local, from, bytes); }, error);
    if (!socket) return nullptr;
    if (!socket->bypassed())
        log_warning("the GDOI socket on " + local.to_string() + " is not exempt from IPsec policies",
                    {.group = group.name()});
    return (sockets_[key] = std::move(socket)).get();
}

void Daemon::dispatch(const gdoi::IpAddress& local, const ServerAddress& from, std::span<const uint8_t> bytes) {
    // Each controller only takes datagrams from the server it is talking to.
    for (auto& [group, controller] : controllers_)
        if (group->config().local_address == local) controller->on_datagram(from, bytes);
}

GroupDataplane& Daemon::dataplane_for(Group& group) {
    if (auto it = dataplanes_.find(group.name()); it != dataplanes_.end()) return *it->second; // rebound by apply()
    std::set<uint32_t> taken;
    for (const auto& [name, dataplane] : dataplanes_) taken.insert(dataplane->group_slot());
    const uint32_t slot = pick_group_slot(group.config().id, taken);
    auto& dataplane = dataplanes_[group.name()];
    dataplane = std::make_unique<GroupDataplane>(event_.get(), group, kernel_.get(), datapath_, slot);
    return *dataplane;
}

void Daemon::leave_for_restart() {
    // The controllers go first (nothing more is sent); the dataplanes are dropped without
    // withdraw(): their states, policies and the datapath stay for the next gdoid to adopt.
    controllers_.clear();
    size_t states = 0, policies = 0, limited = 0;
    for (const auto& group : groups_) states += group->kernel.states, policies += group->kernel.policies;
    if (datapath_.fallback_reason()) {
        log_warning("graceful restart: the nftables destination-only fallback cannot be handed over; removing "
                    "every group's kernel objects as at a normal stop");
        withdraw_all();
        return;
    }
    for (auto& [name, dataplane] : dataplanes_) limited += dataplane->limit_for_restart(config_->daemon.restart_time);
    dataplanes_.clear();
    datapath_.leave_running();
    log_info("graceful restart: leaving " + std::to_string(states) + " states, " + std::to_string(policies) +
                 " policies and the tc-BPF datapath in the kernel; the next gdoid adopts them; the kernel ends " +
                 std::to_string(limited) + " states after restart-time (" +
                 std::to_string(config_->daemon.restart_time.count()) + " s) unless it takes them over",
             {.message_id = message_id::graceful_restart});
}

void Daemon::withdraw_all() {
    controllers_.clear();
    for (auto& [name, dataplane] : dataplanes_) dataplane->withdraw();
    dataplanes_.clear();
}

void Daemon::sync_link_monitor() {
    std::set<std::string> wanted;
    for (const auto& group : groups_) wanted.insert(group->config().wan_interface);
    // Deleted or downed by someone: put back at once (on_link_events), not at the next check.
    wanted.insert(kPreFragmentationInterface);
    if (links_ && wanted == watched_links_) return;
    link_source_.reset();
    links_.reset();
    watched_links_ = wanted;
    try {
        links_ = std::make_unique<netlink::LinkMonitor>(wanted);
    } catch (const std::exception& e) {
        log_warning(std::string("cannot watch interfaces (link up/down will go unnoticed): ") + e.what());
        return;
    }
    sd_event_source* source = nullptr;
    if (sd_event_add_io(event_.get(), &source, links_->fd(), EPOLLIN, on_link_readable, this) < 0) {
        log_warning("cannot watch interfaces: the event loop refused the rtnetlink socket");
        links_.reset();
        return;
    }
    link_source_.reset(source);
}

int Daemon::on_link_readable(sd_event_source*, int, uint32_t, void* userdata) {
    static_cast<Daemon*>(userdata)->on_link_events();
    return 0;
}

void Daemon::on_link_events() {
    if (!links_) return;
    const auto events = links_->read_events();
    // One check for a burst (a qdisc deletion reports every filter under it).
    if (std::any_of(events.begin(), events.end(), [](const netlink::LinkEvent& e) {
            return e.type == netlink::LinkEventType::tc_removed || e.type == netlink::LinkEventType::resync_needed;
        }))
        datapath_.restore_filters("another process deleted tc filters or a qdisc");
    // Our own removal (no group wants pre-fragmentation any more) reports the same deletion:
    // restore_pre_fragmentation() does nothing then.
    if (std::any_of(events.begin(), events.end(), [](const netlink::LinkEvent& e) {
            return (e.interface == kPreFragmentationInterface && e.type == netlink::LinkEventType::link_down) ||
                   e.type == netlink::LinkEventType::resync_needed;
        }) &&
        datapath_.restore_pre_fragmentation("another process deleted or downed " +
                                            std::string(kPreFragmentationInterface)))
        for (auto& [name, dataplane] : dataplanes_)
            dataplane->repair("pre-fragmentation's interface was created again");
    for (const auto& event : events) {
        for (auto& [group, controller] : controllers_) {
            const auto& wan = group->config().wan_interface;
            const bool resync = event.type == netlink::LinkEventType::resync_needed;
            if (!resync && event.interface != wan) continue;
            if (event.type == netlink::LinkEventType::link_down ||
                (resync && links_->is_up(wan) == false))
                controller->interface_down();
            else if (event.type == netlink::LinkEventType::link_up || (resync && links_->is_up(wan) == true))
                controller->interface_up();
        }
    }
}

void Daemon::on_kernel_event(const netlink::KernelEvent& event) {
    // Deletions the watcher reports are never our own (it ignores our netlink port): another
    // process removed objects of ours, or flushed the tables, or notifications were lost.
    // Every group checks its objects against the kernel and puts back what is missing.
    std::string cause;
    switch (event.type) {
    case netlink::KernelEventType::acquire:
        for (auto& [name, dataplane] : dataplanes_)
            if (policy::band::in_group(event.policy_priority, dataplane->group_slot())) dataplane->acquired(event);
        return;
    case netlink::KernelEventType::state_deleted:
        cause = "another process deleted XFRM state" +
                (event.state ? " SPI " + spi_text(event.state->spi) + " to " + event.state->destination.to_string()
                             : std::string());
        break;
    case netlink::KernelEventType::policy_deleted:
        cause = "another process deleted an XFRM policy of ours";
        break;
    case netlink::KernelEventType::resync_needed:
        cause = "the XFRM tables were flushed, or kernel notifications were lost";
        break;
    default:
        return;
    }
    for (auto& [name, dataplane] : dataplanes_) dataplane->repair(cause);
}

void Daemon::sync_controllers() {
    // apply() already dropped the controllers and dataplanes of replaced and removed groups.
    for (auto& group : groups_) {
        if (controllers_.count(group.get())) continue;
        // Kernel objects first: fail-closed blocks stand before the first registration.
        const bool fresh = !dataplanes_.count(group->name());
        GroupDataplane& dataplane = dataplane_for(*group);
        // At start only: what an earlier gdoid left (SIGKILL, graceful restart) is adopted.
        if (fresh && starting_) dataplane.adopt_leftovers(config_->daemon.restart_time);
        dataplane.reconcile();
        std::string error;
        GdoiSocket* socket = socket_for(*group, error);
        if (!socket) {
            group->set_state(GroupState::failed);
            group->record_error(error);
            log_error(error, {.group = group->name()});
            continue;
        }
        auto controller = std::make_unique<GroupController>(event_.get(), *group, *socket, dataplane);
        controllers_[group.get()] = std::move(controller);
    }
    sync_link_monitor();
    for (auto& [group, controller] : controllers_) {
        if (group->state() != GroupState::idle) continue; // already started
        const auto up = links_ ? links_->is_up(group->config().wan_interface) : std::nullopt;
        if (up == false) {
            controller->group().set_state(GroupState::interface_down);
            log_warning("WAN interface " + group->config().wan_interface + " is down: registering when it comes up",
                        {.group = group->name()});
            continue;
        }
        controller->start();
    }
    for (auto it = sockets_.begin(); it != sockets_.end();) {
        const bool used = std::any_of(controllers_.begin(), controllers_.end(), [&](const auto& entry) {
            const auto& config = entry.first->config();
            return config.local_address.to_string() + "%" + config.routing_instance.value_or("") == it->first;
        });
        it = used ? std::next(it) : sockets_.erase(it);
    }
}

ReloadOutcome Daemon::reload(std::string_view trigger) {
    ReloadOutcome outcome;
    notify_reloading("reloading the configuration");
    log_info(std::string(trigger) + ": reloading " + options_.config_path);
    auto loaded = load_config_file(options_.config_path);
    outcome.diagnostics = loaded.diagnostics;
    if (!loaded.ok()) {
        log_diagnostics(loaded.diagnostics, "reload: ");
        const auto first = std::find_if(loaded.diagnostics.begin(), loaded.diagnostics.end(),
                                        [](const Diagnostic& d) { return d.severity == Diagnostic::Severity::error; });
        config_error_ = (first != loaded.diagnostics.end() ? first->to_string() : std::string("invalid")) +
                        (loaded.error_count() > 1 ? " (and " + std::to_string(loaded.error_count() - 1) + " more)" : "");
        log_error("reload refused: " + std::to_string(loaded.error_count()) + " error(s) in " +
                  options_.config_path + "; keeping the previous configuration");
        notify_ready("reload refused (" + *config_error_ + "); " + ready_status(*config_));
        return outcome;
    }
    log_diagnostics(loaded.diagnostics, "reload: ");
    auto& next = *loaded.config;
    outcome.diff = diff_configs(*config_, next);

    if (std::find(outcome.diff.daemon_fields.begin(), outcome.diff.daemon_fields.end(), "control-socket") !=
        outcome.diff.daemon_fields.end()) {
        log_warning("the control socket moves to " + next.daemon.control_socket +
                    " only at the next restart; it stays at " + control_->path());
        next.daemon.control_socket = config_->daemon.control_socket;
    }
    if (next.daemon.control_gid != config_->daemon.control_gid) {
        std::string error;
        const auto gid = next.daemon.control_gid ? std::optional<gid_t>(*next.daemon.control_gid) : std::nullopt;
        if (!control_->set_control_gid(gid, error)) log_error("control socket: " + error);
    }
    if (!options_.log_level_override) log_set_level(next.daemon.log_level);

    log_info("reload: " + outcome.diff.summary());
    apply(std::move(next), outcome.diff);
    config_error_.reset();
    outcome.applied = true;
    notify_ready(ready_status(*config_));
    return outcome;
}

control::DaemonStatus Daemon::status() const {
    const auto uptime = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - started_);
    auto status = make_status(groups_, options_.config_path, uptime, config_error_);
    if (const auto counters = datapath_.counters()) {
        status.datapath_counters = datapath_counter_map(*counters);
        (*status.datapath_counters)["filters_restored"] = datapath_.filters_restored();
    }
    status.fragmentation_counters = read_fragmentation_counters();
    const bool asked = std::any_of(groups_.begin(), groups_.end(), [](const auto& group) {
        return group->config().pre_fragmentation;
    });
    if (asked && (datapath_.pre_fragmentation() || datapath_.pre_fragmentation_error()))
        status.pre_fragmentation = control::DaemonStatus::PreFragmentation{
            kPreFragmentationInterface, datapath_.pre_fragmentation_mtu(), datapath_.pre_fragmentation_error()};
    return status;
}

nlohmann::json Daemon::handle_request(const control::Request& request, const control::PeerCredentials& peer) {
    if (request.command == "status") return control::make_ok_reply(control::to_json(status()));
    if (request.command == "reload") {
        log_info("reload requested over the control socket by uid " + std::to_string(peer.uid));
        const auto outcome = reload("control socket");
        nlohmann::json problems = nlohmann::json::array();
        for (const auto& d : outcome.diagnostics) problems.push_back(d.to_string());
        if (!outcome.applied) {
            std::string message = "the configuration has errors; the previous one stays in force";
            for (const auto& d : outcome.diagnostics)
                if (d.severity == Diagnostic::Severity::error) message += "\n" + d.to_string();
            return control::make_error_reply(control::error_code::config_invalid, message);
        }
        return control::make_ok_reply({{"summary", outcome.diff.summary()}, {"warnings", problems}});
    }
    if (request.command == "re-register" || request.command == "kernel") {
        const auto group = request.arguments.value("group", std::string());
        if (!group.empty() && (!config_ || !config_->find_group(group)))
            return control::make_error_reply(control::error_code::bad_request, "no group named `" + group + "` is configured");
        nlohmann::json names = nlohmann::json::array();
        nlohmann::json groups = nlohmann::json::array();
        for (auto& [g, controller] : controllers_) {
            if (!group.empty() && g->name() != group) continue;
            if (request.command == "re-register") {
                controller->reregister("re-registration requested over the control socket by uid " +
                                       std::to_string(peer.uid));
                names.push_back(g->name());
            } else if (auto it = dataplanes_.find(g->name()); it != dataplanes_.end()) {
                groups.push_back({{"name", g->name()}, {"objects", it->second->render()}});
            }
        }
        return control::make_ok_reply(request.command == "re-register" ? nlohmann::json{{"groups", names}}
                                                                        : nlohmann::json{{"groups", groups}});
    }
    return control::make_error_reply(control::error_code::unknown_command, "`" + request.command + "` is not implemented");
}

} // namespace gdoid::daemon
