#include "daemon/config_parser.hpp"
#include "daemon/config_certificate.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <grp.h>
#include <map>
#include <tuple>

#include "daemon/config_group_parser.hpp"
#include "daemon/config_reader.hpp"
#include "daemon/datapath_agreement.hpp"
#include "daemon/file_text.hpp"
#include "daemon/config_secrets.hpp"

namespace gdoid::daemon {

std::string Diagnostic::to_string() const {
    std::string out = file;
    if (line > 0) out += ":" + std::to_string(line) + ":" + std::to_string(column);
    out += ": ";
    if (severity == Severity::warning) out += "warning: ";
    return out + message;
}

size_t ConfigResult::error_count() const {
    return size_t(std::count_if(diagnostics.begin(), diagnostics.end(), [](const Diagnostic& d) {
        return d.severity == Diagnostic::Severity::error;
    }));
}

namespace {

std::optional<uint32_t> lookup_group(const std::string& name) {
    struct group entry {};
    struct group* found = nullptr;
    std::vector<char> buffer(4096);
    while (getgrnam_r(name.c_str(), &entry, buffer.data(), buffer.size(), &found) == ERANGE &&
           buffer.size() < (1u << 20))
        buffer.resize(buffer.size() * 2);
    if (!found) return std::nullopt;
    return uint32_t(found->gr_gid);
}

void parse_daemon_settings(ConfigReader& reader, const toml::table& table, DaemonSettings& settings,
                           const ConfigLoadOptions& options) {
    reader.check_keys(table, {"control-socket", "control-group", "log-level", "graceful-restart", "restart-time"},
                      "[daemon]");
    if (const auto* node = table.get("control-socket")) {
        if (auto path = reader.get_string(table, "control-socket", false, "[daemon]")) {
            // sun_path holds 108 bytes including the terminating zero.
            if (path->empty() || path->front() != '/')
                reader.error(*node, "`control-socket` must be an absolute path");
            else if (path->size() > 107)
                reader.error(*node, "`control-socket` is " + std::to_string(path->size()) +
                                        " characters long; a UNIX socket path has at most 107");
            else
                settings.control_socket = *path;
        }
    }
    if (const auto* node = table.get("control-group")) {
        if (auto name = reader.get_string(table, "control-group", false, "[daemon]")) {
            settings.control_group = *name;
            if (options.resolve_control_group) {
                settings.control_gid = lookup_group(*name);
                if (!settings.control_gid)
                    reader.error(*node, "`control-group`: there is no group `" + *name + "` on this system");
            }
        }
    }
    if (auto level = reader.get_choice<LogLevel>(table, "log-level",
                                                 {{"error", LogLevel::error},
                                                  {"warning", LogLevel::warning},
                                                  {"info", LogLevel::info},
                                                  {"debug", LogLevel::debug}}))
        settings.log_level = *level;
    if (auto graceful = reader.get_bool(table, "graceful-restart")) settings.graceful_restart = *graceful;
    // Long enough for a restart under load, short enough that keys nobody manages stop soon.
    if (auto limit = reader.get_duration(table, "restart-time", std::chrono::seconds(5), std::chrono::hours(1)))
        settings.restart_time = *limit;
}

// Group names and ids identify a group in logs, the control socket and on the wire.
void check_unique(ConfigReader& reader, const std::vector<GroupConfig>& groups,
                  const std::vector<const toml::table*>& tables) {
    std::map<std::string, size_t> names;
    std::map<uint32_t, size_t> ids;
    for (size_t i = 0; i < groups.size(); ++i) {
        const auto& group = groups[i];
        const auto& table = *tables[i];
        if (!group.name.empty()) {
            auto [it, fresh] = names.emplace(group.name, i);
            if (!fresh) {
                const auto* node = table.get("name");
                reader.error(node ? node->source() : table.source(),
                             "duplicate group name `" + group.name + "` (first defined at line " +
                                 std::to_string(tables[it->second]->source().begin.line) + ")");
            }
        }
        if (group.id != 0) {
            auto [it, fresh] = ids.emplace(group.id, i);
            if (!fresh) {
                const auto* node = table.get("id");
                reader.error(node ? node->source() : table.source(),
                             "duplicate group id " + std::to_string(group.id) + " (also used by group `" +
                                 groups[it->second].name + "`)");
            }
        }
    }
}

// Every group's traffic goes through one header-preservation datapath on one WAN interface
// (DatapathService): what the datapath holds once must be the same for all groups, or the
// second group would be refused at run time, after it registered. Said here, at the key, by
// the rules DatapathService applies (datapath_agreement.hpp). Each group is compared with the
// groups before it and reported against the first one it disagrees with.
void check_shared_datapath(ConfigReader& reader, const std::vector<GroupConfig>& groups,
                           const std::vector<const toml::table*>& tables) {
    const auto at = [&](size_t i, const std::string& key) {
        const auto* node = tables[i]->get(key);
        return node ? node->source() : tables[i]->source();
    };
    for (size_t i = 1; i < groups.size(); ++i) {
        if (groups[i].wan_interface.empty()) continue; // already reported
        const auto settings = shared_datapath_settings(groups[i]);
        for (size_t j = 0; j < i; ++j) {
            if (groups[j].wan_interface.empty()) continue;
            const auto disagreements = datapath_disagreements(settings, shared_datapath_settings(groups[j]));
            for (const auto& d : disagreements)
                reader.error(at(i, d.key), "group `" + groups[i].name + "`: " + d.what + " (group `" +
                                               groups[j].name + "`, line " +
                                               std::to_string(tables[j]->source().begin.line) +
                                               "): all groups share one header-preservation datapath, " + d.why);
            if (!disagreements.empty()) break;
        }
    }
}

// The kernel keys an XFRM policy by selector and direction, not priority: two groups listing
// the same LAN prefix would both want the fail-closed policies of that prefix, and the second
// group's kernel update would fail with "File exists" at run time.
void check_lan_prefixes(ConfigReader& reader, const std::vector<GroupConfig>& groups,
                        const std::vector<const toml::table*>& tables) {
    for (size_t i = 1; i < groups.size(); ++i)
        for (const auto& prefix : groups[i].lan_prefixes)
            for (size_t j = 0; j < i; ++j) {
                const auto& other = groups[j].lan_prefixes;
                if (std::find(other.begin(), other.end(), prefix) == other.end()) continue;
                const auto* node = tables[i]->get("lan-prefixes");
                reader.error(node ? node->source() : tables[i]->source(),
                             "group `" + groups[i].name + "`: lan-prefixes " + prefix.to_string() +
                                 " is also group `" + groups[j].name + "`'s (line " +
                                 std::to_string(tables[j]->source().begin.line) +
                                 "): the kernel holds one XFRM policy per selector and direction, so two groups "
                                 "cannot both guard one prefix");
                break;
            }
}

} // namespace

ConfigResult parse_config(std::string_view text, const std::string& path,
                          const ConfigLoadOptions& options) {
    ConfigResult result;
    toml::table root;
    try {
        root = toml::parse(text, path);
    } catch (const toml::parse_error& error) {
        // toml++ stops at the first syntax error; nothing after it can be trusted.
        const auto& where = error.source().begin;
        result.diagnostics.push_back({Diagnostic::Severity::error, path, where.line, where.column,
                                      std::string(error.description())});
        return result;
    }

    ConfigReader reader(path);
    Config config;
    config.path = path;
    reader.check_keys(root, {"daemon", "group"}, "the top level");

    if (const auto* daemon_table = reader.get_table(root, "daemon", false, "the file"))
        parse_daemon_settings(reader, *daemon_table, config.daemon, options);

    std::vector<const toml::table*> group_tables;
    if (const auto* node = root.get("group")) {
        const auto* array = node->as_array();
        if (!array || !array->is_array_of_tables()) {
            reader.error(*node, "`group` must be written as one or more [[group]] tables");
        } else {
            for (const auto& element : *array) {
                const auto& table = *element.as_table();
                group_tables.push_back(&table);
                config.groups.push_back(parse_group(reader, table, config.groups.size() + 1));
            }
        }
    }
    if (config.groups.empty() && !root.get("group"))
        reader.error(root.source(), "no [[group]] is configured; gdoid needs at least one group");
    check_unique(reader, config.groups, group_tables);
    check_shared_datapath(reader, config.groups, group_tables);
    check_lan_prefixes(reader, config.groups, group_tables);

    if (options.load_secrets) {
        const SecretLoadOptions secret_options{options.secret_owner, options.credentials_directory};
        for (size_t i = 0; i < config.groups.size(); ++i) {
            auto& group = config.groups[i];
            if (group.certificate) {
                if (group.certificate->certificate_file.empty() ||
                    group.certificate->private_key.name.empty() ||
                    group.certificate->ca_files.empty())
                    continue; // already reported
                auto loaded = load_certificate(*group.certificate, secret_options, std::time(nullptr));
                const auto* node = group_tables[i]->get("certificate");
                const auto& where = node ? node->source() : group_tables[i]->source();
                for (auto& warning : loaded.warnings)
                    reader.warning(where, "group `" + group.name + "`: " + warning);
                if (!loaded.error.empty()) reader.error(where, "group `" + group.name + "`: " + loaded.error);
                continue;
            }
            if (group.psk_source.name.empty()) continue; // already reported
            auto loaded = load_psk(group.psk_source, secret_options);
            if (!loaded.error.empty()) {
                const auto* node = group_tables[i]->get("pre-shared-key");
                reader.error(node ? node->source() : group_tables[i]->source(),
                             "group `" + group.name + "`: " + loaded.error);
            } else {
                group.psk = std::move(loaded.psk);
            }
        }
    }

    const bool failed = reader.has_errors();
    result.diagnostics = reader.take_diagnostics();
    // In file order, as an editor would walk them.
    std::stable_sort(result.diagnostics.begin(), result.diagnostics.end(),
                     [](const Diagnostic& a, const Diagnostic& b) {
                         return std::tie(a.line, a.column) < std::tie(b.line, b.column);
                     });
    if (!failed) result.config = std::move(config);
    return result;
}

ConfigResult load_config_file(const std::string& path, const ConfigLoadOptions& options) {
    std::string error;
    auto content = read_file_text(path, error);
    if (!content) {
        ConfigResult result;
        result.diagnostics.push_back(
            {Diagnostic::Severity::error, path, 0, 0, "cannot read the configuration: " + error});
        return result;
    }
    return parse_config(*content, path, options);
}

} // namespace gdoid::daemon
