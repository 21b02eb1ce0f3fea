// gdoid: the GDOI group member daemon. Parses the command line and hands over to Daemon.
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <iostream>

#include <sys/prctl.h>

#include <CLI/CLI.hpp>

#include "daemon/config_parser.hpp"
#include "daemon/daemon.hpp"
#include "daemon/log.hpp"

using namespace gdoid::daemon;

namespace {

// --check-config: every problem on stderr, a one-line summary on stdout when there is none.
int check_config(const std::string& path) {
    const auto result = load_config_file(path);
    for (const auto& diagnostic : result.diagnostics) std::cerr << diagnostic.to_string() << '\n';
    if (!result.ok()) {
        std::cerr << path << ": " << result.error_count() << " error(s)\n";
        return exit_code::config_invalid;
    }
    const auto& config = *result.config;
    std::string names;
    for (const auto& group : config.groups) names += (names.empty() ? "" : ", ") + group.name;
    std::cout << path << ": configuration OK: " << config.groups.size() << " group(s) (" << names
              << "), control socket " << config.daemon.control_socket << '\n';
    return exit_code::ok;
}

} // namespace

int main(int argc, char** argv) {
    // First of all, before any key or pre-shared key is read: gdoid holds the PSK, SKEYIDs and
    // the KEK/TEK keys in memory. Not dumpable means no core dump can write them to disk and no
    // other process of the same uid may ptrace us or read /proc/PID/mem (the /proc entries
    // become root's). It cannot fail for 0 (the kernel refuses only values other than 0, 1);
    // were it to, the daemon still runs and says so.
    if (::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0)
        std::cerr << "gdoid: cannot make the process non-dumpable (prctl PR_SET_DUMPABLE): "
                  << std::strerror(errno) << '\n';
    CLI::App app{"gdoid: GDOI (RFC 6407) group member daemon"};
    std::string config_path = "/etc/gdoid/gdoid.conf";
    std::string check_path;
    std::string level_text;
    bool foreground = false;
    bool version = false;
    app.add_option("-c,--config", config_path, "configuration file")->capture_default_str();
    auto* check = app.add_option("--check-config", check_path,
                                 "validate FILE (default: the --config file), print every problem, and exit")
                      ->expected(0, 1);
    app.add_option("--log-level", level_text, "error, warning, info or debug (overrides the file)")
        ->check(CLI::IsMember({"error", "warning", "info", "debug"}));
    app.add_flag("-f,--foreground", foreground, "log to stderr with readable prefixes, even under systemd");
    app.add_flag("-V,--version", version, "print the version and exit");
    try {
        app.parse(argc, argv);
    } catch (const CLI::CallForHelp& e) {
        return app.exit(e);
    } catch (const CLI::ParseError& e) {
        app.exit(e);
        return exit_code::usage;
    }
    if (version) {
        std::cout << "gdoid " GDOID_VERSION "\n";
        return exit_code::ok;
    }
    if (check->count() > 0) return check_config(check_path.empty() ? config_path : check_path);

    const auto level = parse_log_level(level_text);
    // gdoid never forks: systemd (Type=notify) or the shell keeps it in the foreground.
    log_init(foreground ? LogTarget::stderr_text : LogTarget::automatic, level.value_or(LogLevel::info));
    // Absolute, so that status and logs say which file it is whatever the working directory.
    std::error_code ignored;
    const auto absolute = std::filesystem::absolute(config_path, ignored);
    Daemon daemon({absolute.empty() ? config_path : absolute.lexically_normal().string(), level});
    return daemon.run();
}
