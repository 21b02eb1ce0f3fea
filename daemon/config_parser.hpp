// Reads gdoid.conf (TOML) into a daemon::Config, validating all of it before anything is used.
// Every problem is reported, each as "file:line:col: message", not just the first one.
#pragma once

#include <unistd.h>

#include <optional>
#include <string>
#include <string_view>
#include <sys/types.h>
#include <vector>

#include "daemon/config.hpp"

namespace gdoid::daemon {

struct Diagnostic {
    enum class Severity : uint8_t { error, warning };
    Severity severity = Severity::error;
    std::string file;
    uint32_t line = 0;   // 1-based; 0 when the problem has no position (file unreadable)
    uint32_t column = 0; // 1-based
    std::string message;

    // "gdoid.conf:12:5: message" for errors, "gdoid.conf:12:5: warning: message" for warnings.
    std::string to_string() const;
};

struct ConfigLoadOptions {
    // Read and check pre-shared keys (owner, mode, length). Off only for tools that must not
    // touch secrets; the daemon and --check-config always load them.
    bool load_secrets = true;
    // The owner a pre-shared-key file must have: the user gdoid runs as (root, or `gdoid` under
    // its unit), so that nobody else can have written or swapped the key.
    uid_t secret_owner = ::geteuid();
    // Where systemd credentials are found; unset: $CREDENTIALS_DIRECTORY.
    std::optional<std::string> credentials_directory;
    // Resolve [daemon] control-group through the group database (off in unit tests).
    bool resolve_control_group = true;
};

struct ConfigResult {
    std::optional<Config> config; // set only when there is no error
    std::vector<Diagnostic> diagnostics;

    bool ok() const { return config.has_value(); }
    size_t error_count() const;
};

ConfigResult load_config_file(const std::string& path, const ConfigLoadOptions& options = {});
// `path` is used in messages only.
ConfigResult parse_config(std::string_view text, const std::string& path,
                          const ConfigLoadOptions& options = {});

} // namespace gdoid::daemon
