// gdoid's log: journald with structured fields (GDOI_GROUP=, GDOI_SERVER=, GDOI_SPI=, MESSAGE_ID=) when
// stderr is connected to the journal, readable lines on stderr otherwise; level filtering.
// Secrets never reach this module: it takes text only, and SecretBytes cannot become text.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "daemon/config.hpp"

namespace gdoid::daemon {

struct LogFields {
    std::string_view group = {};  // GDOI_GROUP=
    std::string_view server = {}; // GDOI_SERVER=
    std::optional<uint32_t> spi = {}; // GDOI_SPI= (printed as 0x%08x)
    std::string_view message_id = {}; // MESSAGE_ID= (daemon/message_ids.hpp); journal only
};

enum class LogTarget : uint8_t {
    automatic, // journal when $JOURNAL_STREAM names our stderr, stderr otherwise
    journal,
    stderr_text,
};

// An SPI as operators write it, in logs (GDOI_SPI=) and status: "0x10000001".
std::string spi_text(uint32_t spi);

void log_init(LogTarget target, LogLevel level);
void log_set_level(LogLevel level);
LogLevel log_level();
bool log_enabled(LogLevel level);
// True when lines go to the journal (for tests and --foreground diagnostics).
bool log_to_journal();

void log_write(LogLevel level, std::string_view message, const LogFields& fields = {});
inline void log_error(std::string_view message, const LogFields& fields = {}) { log_write(LogLevel::error, message, fields); }
inline void log_warning(std::string_view message, const LogFields& fields = {}) { log_write(LogLevel::warning, message, fields); }
inline void log_info(std::string_view message, const LogFields& fields = {}) { log_write(LogLevel::info, message, fields); }
inline void log_debug(std::string_view message, const LogFields& fields = {}) { log_write(LogLevel::debug, message, fields); }

// Tests capture log lines here instead of the journal/stderr; pass nullptr to restore.
using LogSink = std::function<void(LogLevel, std::string_view message, const LogFields&)>;
void log_set_sink(LogSink sink);

// The stderr rendering, exposed for tests: "warning: [group wan, server 192.0.2.1:848] text".
std::string format_log_line(LogLevel level, std::string_view message, const LogFields& fields);

} // namespace gdoid::daemon
