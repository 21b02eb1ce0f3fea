// What a configuration reload changes: which groups are new, gone, changed (and in which
// settings) or untouched, so that SIGHUP tears down only what really changed.
#pragma once

#include <string>
#include <vector>

#include "daemon/config.hpp"

namespace gdoid::daemon {

struct GroupChange {
    std::string name;
    // The settings that differ, as named in the file ("servers", "pre-shared-key", ...).
    std::vector<std::string> fields;
    // True when the change invalidates the registration (servers, keys, IKE, ids...): the group
    // must register again. False when only local data-path settings changed.
    bool needs_reregistration = false;
};

struct ConfigDiff {
    std::vector<std::string> added;   // in the new file only, in file order
    std::vector<std::string> removed; // in the old file only
    std::vector<GroupChange> changed;
    std::vector<std::string> unchanged;
    // [daemon] settings that differ ("control-socket", "control-group", "log-level").
    std::vector<std::string> daemon_fields;

    bool empty() const { return added.empty() && removed.empty() && changed.empty() && daemon_fields.empty(); }
    // One line for the log: "added: a; removed: b; changed: c (servers, ike)".
    std::string summary() const;
};

// Groups are matched by name. The pre-shared key is compared in constant time and only ever
// reported as "pre-shared-key".
ConfigDiff diff_configs(const Config& before, const Config& after);

} // namespace gdoid::daemon
