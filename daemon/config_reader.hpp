// Typed, position-aware access to toml++ tables for the configuration parser: every getter
// records a Diagnostic at the offending node (wrong type, out of range, unknown key with a
// "did you mean" suggestion) and keeps going, so one run reports every problem in the file.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <toml++/toml.h>

#include "daemon/config_parser.hpp"

namespace gdoid::daemon {

// Levenshtein distance, for "did you mean" suggestions.
size_t edit_distance(std::string_view a, std::string_view b);
// The closest candidate when it is close enough to be a plausible typo.
std::optional<std::string_view> closest_match(std::string_view word,
                                              std::initializer_list<std::string_view> candidates);

std::string_view type_name(const toml::node& node);

class ConfigReader {
public:
    explicit ConfigReader(std::string path) : path_(std::move(path)) {}

    void error(const toml::source_region& where, std::string message);
    void error(const toml::node& where, std::string message) { error(where.source(), std::move(message)); }
    void warning(const toml::source_region& where, std::string message);
    void error_without_position(std::string message);

    // Reports keys of `table` not in `allowed`; `where` names the table ("[daemon]").
    void check_keys(const toml::table& table, std::initializer_list<std::string_view> allowed,
                    std::string_view where);

    // Getters: nullopt when absent (reported if `required`) or wrongly typed (always reported).
    // `context` names the owner for "missing" messages, e.g. "group `wan`".
    std::optional<std::string> get_string(const toml::table& table, std::string_view key,
                                          bool required, std::string_view context);
    std::optional<int64_t> get_integer(const toml::table& table, std::string_view key, bool required,
                                       std::string_view context, int64_t min, int64_t max);
    std::optional<bool> get_bool(const toml::table& table, std::string_view key);
    const toml::table* get_table(const toml::table& table, std::string_view key, bool required,
                                 std::string_view context);
    const toml::array* get_array(const toml::table& table, std::string_view key, bool required,
                                 std::string_view context);
    // A string that must be one of `choices`.
    template <typename Enum>
    std::optional<Enum> get_choice(const toml::table& table, std::string_view key,
                                   std::initializer_list<std::pair<std::string_view, Enum>> choices);
    std::optional<std::chrono::seconds> get_duration(const toml::table& table, std::string_view key,
                                                     std::chrono::seconds min, std::chrono::seconds max);

    std::vector<Diagnostic> take_diagnostics() { return std::move(diagnostics_); }
    bool has_errors() const;
    const std::string& path() const { return path_; }

private:
    std::string path_;
    std::vector<Diagnostic> diagnostics_;
};

template <typename Enum>
std::optional<Enum> ConfigReader::get_choice(
    const toml::table& table, std::string_view key,
    std::initializer_list<std::pair<std::string_view, Enum>> choices) {
    const auto* node = table.get(key);
    if (!node) return std::nullopt;
    std::string list;
    for (const auto& [name, value] : choices) list += (list.empty() ? "\"" : ", \"") + std::string(name) + "\"";
    const auto* text = node->as_string();
    if (!text) {
        error(*node, "`" + std::string(key) + "` must be one of " + list + ", not " +
                         std::string(type_name(*node)));
        return std::nullopt;
    }
    for (const auto& [name, value] : choices)
        if (name == text->get()) return value;
    error(*node, "`" + std::string(key) + "` must be one of " + list + ", not \"" + text->get() + "\"");
    return std::nullopt;
}

} // namespace gdoid::daemon
