// gdoid's top level: the event loop, signals (SIGTERM/SIGINT stop, SIGHUP reload), the
// service protocol, the control socket and one Group per configured group.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "daemon/config.hpp"
#include "daemon/config_diff.hpp"
#include "daemon/config_parser.hpp"
#include "daemon/control_protocol.hpp"
#include "daemon/control_server.hpp"
#include "daemon/datapath_service.hpp"
#include "daemon/gdoi_socket.hpp"
#include "daemon/group_controller.hpp"
#include "daemon/group_dataplane.hpp"
#include "daemon/group.hpp"
#include "daemon/kernel_event_watcher.hpp"
#include "daemon/notify.hpp"
#include "daemon/sd_event_ptr.hpp"
#include "netlink/kernel_ipsec.hpp"
#include "netlink/link_monitor.hpp"

namespace gdoid::daemon {

// Process exit codes of gdoid (documented in gdoid(8)).
namespace exit_code {
inline constexpr int ok = 0;
inline constexpr int config_invalid = 1;
inline constexpr int usage = 2;
inline constexpr int startup_failed = 3;
} // namespace exit_code

struct DaemonOptions {
    std::string config_path;
    std::optional<LogLevel> log_level_override; // --log-level wins over the file
};

struct ReloadOutcome {
    bool applied = false;
    ConfigDiff diff;                      // when applied
    std::vector<Diagnostic> diagnostics;  // errors (not applied) or warnings
};

class Daemon {
public:
    explicit Daemon(DaemonOptions options);
    ~Daemon();

    // Loads the configuration, binds the socket, runs until SIGTERM/SIGINT; returns the exit code.
    int run();

    // Re-reads the configuration file; on any error keeps the current one.
    ReloadOutcome reload(std::string_view trigger);
    control::DaemonStatus status() const;
    const std::vector<std::unique_ptr<Group>>& groups() const { return groups_; }

private:
    bool install_signal_handlers();
    void apply(Config config, const ConfigDiff& diff);
    nlohmann::json handle_request(const control::Request& request, const control::PeerCredentials& peer);
    void log_group_configured(const Group& group);
    // Starts a controller for every group that has none (apply() has stopped those of replaced
    // and removed groups), and closes GDOI sockets no group uses any more.
    void sync_controllers();
    GdoiSocket* socket_for(const Group& group, std::string& error);
    void dispatch(const gdoi::IpAddress& local, const ServerAddress& from, std::span<const uint8_t> bytes);
    GroupDataplane& dataplane_for(Group& group);
    // Daemon stopping: every group's kernel objects and the datapath go.
    void withdraw_all();
    // Daemon stopping with graceful-restart: everything stays in the kernel for the next one.
    void leave_for_restart();
    // Watches the groups' WAN interfaces (recreated when the set changes).
    void sync_link_monitor();
    void on_link_events();
    void on_kernel_event(const netlink::KernelEvent& event);
    static int on_link_readable(sd_event_source* source, int fd, uint32_t events, void* userdata);

    static int on_signal(sd_event_source* source, const struct signalfd_siginfo* info, void* userdata);
    // After every event: systemd's STATUS= follows the groups' states (`systemctl status`).
    static int on_event_handled(sd_event_source* source, void* userdata);
    void update_service_status();

    DaemonOptions options_;
    SdEventPtr event_;
    std::vector<SdEventSourcePtr> signal_sources_;
    std::unique_ptr<Watchdog> watchdog_;
    SdEventSourcePtr status_source_;
    std::string service_status_; // the STATUS= last sent
    std::unique_ptr<ControlServer> control_;
    std::optional<Config> config_;
    std::vector<std::unique_ptr<Group>> groups_;
    std::unique_ptr<netlink::KernelIpsec> kernel_; // null when the kernel has no XFRM netlink
    std::map<std::string, std::unique_ptr<GdoiSocket>> sockets_; // by local address
    DatapathService datapath_;
    // By group name: a group's kernel side outlives a reload that replaces its Group object,
    // so its SAs stay installed while it registers again.
    std::map<std::string, std::unique_ptr<GroupDataplane>> dataplanes_;
    // Declared after the groups and sockets they point into, so they are destroyed first.
    std::map<const Group*, std::unique_ptr<GroupController>> controllers_;
    std::unique_ptr<KernelEventWatcher> kernel_events_;
    std::unique_ptr<netlink::LinkMonitor> links_;
    std::set<std::string> watched_links_;
    SdEventSourcePtr link_source_;
    std::optional<std::string> config_error_; // why the last reload was refused
    int stop_signal_ = 0;    // SIGTERM or SIGINT, once received
    bool starting_ = false;  // the first apply(): leftovers of an earlier gdoid are adopted
    std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
};

} // namespace gdoid::daemon
