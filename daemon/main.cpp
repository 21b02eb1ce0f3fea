// gdoid: the GDOI group member daemon. Parses the command line and hands over to Daemon.
//
// No iostreams and no CLI11 here (gdoictl keeps CLI11): <iostream> and every std::stringstream
// set up the classic std::locale with all its facets, and CLI11 is a lot of code run once; the
// two cost gdoid ~0.5 MiB of resident pages (bench/memory.sh: libstdc++ and gdoid's own text)
// for five options. getopt_long and stdio do the same.
#include "daemon/config_parser.hpp"
#include "daemon/daemon.hpp"
#include "daemon/log.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <getopt.h>
#include <string>
#include <sys/prctl.h>

using namespace gdoid::daemon;

namespace {

constexpr const char* usage_text =
    "gdoid: GDOI (RFC 6407) group member daemon\n"
    "Usage: gdoid [OPTIONS]\n"
    "\n"
    "Options:\n"
    "  -h,--help                   print this help and exit\n"
    "  -c,--config FILE            configuration file (default: /etc/gdoid/gdoid.conf)\n"
    "  --check-config [FILE]       validate FILE (default: the --config file), print every\n"
    "                              problem, and exit\n"
    "  --log-level LEVEL           error, warning, info or debug (overrides the file)\n"
    "  -f,--foreground             log to stderr with readable prefixes, even under systemd\n"
    "  -V,--version                print the version and exit\n";

int usage_error(const std::string& message) {
    if (!message.empty()) std::fprintf(stderr, "gdoid: %s\n", message.c_str());
    std::fputs("Run with --help for more information.\n", stderr);
    return exit_code::usage;
}

// --check-config: every problem on stderr, a one-line summary on stdout when there is none.
int check_config(const std::string& path) {
    const auto result = load_config_file(path);
    for (const auto& diagnostic : result.diagnostics)
        std::fprintf(stderr, "%s\n", diagnostic.to_string().c_str());
    if (!result.ok()) {
        std::fprintf(stderr, "%s: %zu error(s)\n", path.c_str(), size_t(result.error_count()));
        return exit_code::config_invalid;
    }
    const auto& config = *result.config;
    std::string names;
    for (const auto& group : config.groups)
        names += (names.empty() ? "" : ", ") + group.name;
    std::printf("%s: configuration OK: %zu group(s) (%s), control socket %s\n", path.c_str(),
                config.groups.size(), names.c_str(), config.daemon.control_socket.c_str());
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
        std::fprintf(stderr,
                     "gdoid: cannot make the process non-dumpable (prctl PR_SET_DUMPABLE): %s\n",
                     std::strerror(errno));

    std::string config_path = "/etc/gdoid/gdoid.conf";
    std::string check_path;
    std::string level_text;
    bool check = false;
    bool foreground = false;
    enum : int { option_check_config = 256, option_log_level };
    const option options[] = {
        {"help", no_argument, nullptr, 'h'},
        {"config", required_argument, nullptr, 'c'},
        {"check-config", optional_argument, nullptr, option_check_config},
        {"log-level", required_argument, nullptr, option_log_level},
        {"foreground", no_argument, nullptr, 'f'},
        {"version", no_argument, nullptr, 'V'},
        {nullptr, 0, nullptr, 0},
    };
    // '+': no reordering, so that "--check-config FILE" can take the next word as its FILE.
    for (int c; (c = getopt_long(argc, argv, "+hc:fV", options, nullptr)) != -1;) {
        switch (c) {
        case 'h':
            std::fputs(usage_text, stdout);
            return exit_code::ok;
        case 'c':
            config_path = optarg;
            break;
        case option_check_config:
            check = true;
            if (optarg != nullptr)
                check_path = optarg;
            else if (optind < argc && argv[optind][0] != '-')
                check_path = argv[optind++];
            break;
        case option_log_level:
            level_text = optarg;
            if (!parse_log_level(level_text))
                return usage_error("--log-level: \"" + level_text +
                                   "\" is not one of error, warning, info, debug");
            break;
        case 'f':
            foreground = true;
            break;
        case 'V':
            std::fputs("gdoid " GDOID_VERSION "\n", stdout);
            return exit_code::ok;
        default:
            return usage_error(""); // getopt_long said what is wrong
        }
    }
    if (optind < argc)
        return usage_error(std::string("unexpected argument \"") + argv[optind] + "\"");
    if (check) return check_config(check_path.empty() ? config_path : check_path);

    const auto level = parse_log_level(level_text);
    // gdoid never forks: systemd (Type=notify) or the shell keeps it in the foreground.
    log_init(foreground ? LogTarget::stderr_text : LogTarget::automatic,
             level.value_or(LogLevel::info));
    // Absolute, so that status and logs say which file it is whatever the working directory.
    std::error_code ignored;
    const auto absolute = std::filesystem::absolute(config_path, ignored);
    Daemon daemon({absolute.empty() ? config_path : absolute.lexically_normal().string(), level});
    return daemon.run();
}
