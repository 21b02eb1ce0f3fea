// The `certificate` table of a group (Phase 1 with RSA signatures): parsing it, and loading the
// files it names into the credentials Main Mode uses, with every check an operator needs at
// --check-config time (readable, key matches certificate, chain to the configured authorities).
#pragma once

#include "daemon/config.hpp"
#include "daemon/config_secrets.hpp"

#include <ctime>
#include <string>
#include <string_view>

#include <toml++/toml.h>

namespace gdoid::daemon {

class ConfigReader;

// Reads `certificate` of a [[group]] table into group.certificate (absent: nothing).
void parse_certificate(ConfigReader& reader, const toml::table& group_table, GroupConfig& group,
                       std::string_view context);

struct CertificateLoad {
    std::string error;                 // the first problem, in a sentence; empty on success
    std::vector<std::string> warnings; // e.g. "expires in 12 days"
};
// Reads every file, builds settings.credentials and settings.material_digest. `now` is the
// wall-clock time the validity checks use.
CertificateLoad load_certificate(CertificateSettings& settings, const SecretLoadOptions& options,
                                 std::time_t now);

} // namespace gdoid::daemon
