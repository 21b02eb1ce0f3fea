#include "daemon/log.hpp"

#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <sys/stat.h>
#include <sys/uio.h>
#include <syslog.h>
#include <unistd.h>
#include <vector>

#include <systemd/sd-journal.h>

namespace gdoid::daemon {

std::string spi_text(uint32_t spi) {
    char buffer[16];
    std::snprintf(buffer, sizeof buffer, "0x%08x", spi);
    return buffer;
}

namespace {

struct LogState {
    LogLevel level = LogLevel::info;
    bool journal = false;
    LogSink sink;
};

LogState& state() {
    static LogState instance;
    return instance;
}

// systemd sets JOURNAL_STREAM=<dev>:<inode> for the stream it connected to stdout/stderr; the
// variable is inherited by children, so it only counts when it still matches our stderr.
bool stderr_is_journal() {
    const char* env = std::getenv("JOURNAL_STREAM");
    if (!env) return false;
    unsigned long long device = 0, inode = 0;
    if (std::sscanf(env, "%llu:%llu", &device, &inode) != 2) return false;
    struct stat info {};
    if (fstat(STDERR_FILENO, &info) != 0) return false;
    return info.st_dev == device && info.st_ino == inode;
}

int syslog_priority(LogLevel level) {
    switch (level) {
    case LogLevel::error: return LOG_ERR;
    case LogLevel::warning: return LOG_WARNING;
    case LogLevel::info: return LOG_INFO;
    case LogLevel::debug: return LOG_DEBUG;
    }
    return LOG_INFO;
}


void send_to_journal(LogLevel level, std::string_view message, const LogFields& fields) {
    std::vector<std::string> entries;
    entries.reserve(8);
    entries.push_back("MESSAGE=" + std::string(message));
    entries.push_back("PRIORITY=" + std::to_string(syslog_priority(level)));
    entries.push_back("SYSLOG_IDENTIFIER=gdoid");
    if (!fields.group.empty()) entries.push_back("GDOI_GROUP=" + std::string(fields.group));
    if (!fields.server.empty()) entries.push_back("GDOI_SERVER=" + std::string(fields.server));
    if (fields.spi) entries.push_back("GDOI_SPI=" + spi_text(*fields.spi));
    if (!fields.message_id.empty()) entries.push_back("MESSAGE_ID=" + std::string(fields.message_id));
    std::vector<iovec> vectors;
    for (auto& entry : entries) vectors.push_back({entry.data(), entry.size()});
    if (sd_journal_sendv(vectors.data(), int(vectors.size())) < 0) {
        // The journal is gone (shutdown, restart): the line must not be lost silently.
        const auto line = format_log_line(level, message, fields) + "\n";
        [[maybe_unused]] auto ignored = ::write(STDERR_FILENO, line.data(), line.size());
    }
}

} // namespace

void log_init(LogTarget target, LogLevel level) {
    state().level = level;
    state().journal = target == LogTarget::journal || (target == LogTarget::automatic && stderr_is_journal());
}

void log_set_level(LogLevel level) { state().level = level; }
LogLevel log_level() { return state().level; }
bool log_enabled(LogLevel level) { return int(level) <= int(state().level); }
bool log_to_journal() { return state().journal; }
void log_set_sink(LogSink sink) { state().sink = std::move(sink); }

std::string format_log_line(LogLevel level, std::string_view message, const LogFields& fields) {
    std::string line(to_string(level));
    line += ": ";
    std::string context;
    if (!fields.group.empty()) context += "group " + std::string(fields.group);
    if (!fields.server.empty()) context += (context.empty() ? "" : ", ") + std::string("server ") + std::string(fields.server);
    if (fields.spi) context += (context.empty() ? "" : ", ") + std::string("spi ") + spi_text(*fields.spi);
    if (!context.empty()) line += "[" + context + "] ";
    line += message;
    return line;
}

void log_write(LogLevel level, std::string_view message, const LogFields& fields) {
    if (!log_enabled(level)) return;
    auto& s = state();
    if (s.sink) {
        s.sink(level, message, fields);
        return;
    }
    if (s.journal) {
        send_to_journal(level, message, fields);
        return;
    }
    // One write per line so lines from a crash-time flush do not interleave.
    char stamp[32] = "";
    timespec now{};
    clock_gettime(CLOCK_REALTIME, &now);
    tm parts{};
    localtime_r(&now.tv_sec, &parts);
    std::strftime(stamp, sizeof stamp, "%Y-%m-%d %H:%M:%S", &parts);
    const auto line = std::string(stamp) + " gdoid[" + std::to_string(getpid()) + "]: " +
                      format_log_line(level, message, fields) + "\n";
    [[maybe_unused]] auto ignored = ::write(STDERR_FILENO, line.data(), line.size());
}

} // namespace gdoid::daemon
