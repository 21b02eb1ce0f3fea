#include "daemon/config_reader.hpp"

#include <algorithm>

namespace gdoid::daemon {

size_t edit_distance(std::string_view a, std::string_view b) {
    std::vector<size_t> row(b.size() + 1);
    for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
    for (size_t i = 1; i <= a.size(); ++i) {
        size_t diagonal = row[0];
        row[0] = i;
        for (size_t j = 1; j <= b.size(); ++j) {
            const size_t above = row[j];
            row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
            diagonal = above;
        }
    }
    return row[b.size()];
}

std::optional<std::string_view> closest_match(std::string_view word,
                                              std::initializer_list<std::string_view> candidates) {
    std::optional<std::string_view> best;
    size_t best_distance = 0;
    for (auto candidate : candidates) {
        const size_t distance = edit_distance(word, candidate);
        if (!best || distance < best_distance) {
            best = candidate;
            best_distance = distance;
        }
    }
    // Two edits, or a third of the word for long keys: a typo, not a different word.
    if (best && (best_distance <= 2 || best_distance <= word.size() / 3)) return best;
    return std::nullopt;
}

std::string_view type_name(const toml::node& node) {
    switch (node.type()) {
    case toml::node_type::string: return "a string";
    case toml::node_type::integer: return "an integer";
    case toml::node_type::floating_point: return "a floating-point number";
    case toml::node_type::boolean: return "a boolean";
    case toml::node_type::table: return "a table";
    case toml::node_type::array: return "an array";
    case toml::node_type::date: return "a date";
    case toml::node_type::time: return "a time";
    case toml::node_type::date_time: return "a date-time";
    case toml::node_type::none: break;
    }
    return "nothing";
}

void ConfigReader::error(const toml::source_region& where, std::string message) {
    diagnostics_.push_back({Diagnostic::Severity::error, path_, where.begin.line, where.begin.column,
                            std::move(message)});
}

void ConfigReader::warning(const toml::source_region& where, std::string message) {
    diagnostics_.push_back({Diagnostic::Severity::warning, path_, where.begin.line,
                            where.begin.column, std::move(message)});
}

void ConfigReader::error_without_position(std::string message) {
    diagnostics_.push_back({Diagnostic::Severity::error, path_, 0, 0, std::move(message)});
}

bool ConfigReader::has_errors() const {
    return std::any_of(diagnostics_.begin(), diagnostics_.end(),
                       [](const Diagnostic& d) { return d.severity == Diagnostic::Severity::error; });
}

void ConfigReader::check_keys(const toml::table& table, std::initializer_list<std::string_view> allowed,
                              std::string_view where) {
    for (const auto& [key, node] : table) {
        if (std::find(allowed.begin(), allowed.end(), key.str()) != allowed.end()) continue;
        std::string message = "unknown key `" + std::string(key.str()) + "` in " + std::string(where);
        if (auto suggestion = closest_match(key.str(), allowed))
            message += "; did you mean `" + std::string(*suggestion) + "`?";
        error(key.source(), std::move(message));
    }
}

namespace {

void report_missing(ConfigReader& reader, const toml::table& table, std::string_view key,
                    std::string_view context) {
    reader.error(table.source(),
                 std::string(context) + " is missing the required key `" + std::string(key) + "`");
}

} // namespace

std::optional<std::string> ConfigReader::get_string(const toml::table& table, std::string_view key,
                                                    bool required, std::string_view context) {
    const auto* node = table.get(key);
    if (!node) {
        if (required) report_missing(*this, table, key, context);
        return std::nullopt;
    }
    const auto* value = node->as_string();
    if (!value) {
        error(*node, "`" + std::string(key) + "` must be a string, not " + std::string(type_name(*node)));
        return std::nullopt;
    }
    return value->get();
}

std::optional<int64_t> ConfigReader::get_integer(const toml::table& table, std::string_view key,
                                                 bool required, std::string_view context, int64_t min,
                                                 int64_t max) {
    const auto* node = table.get(key);
    if (!node) {
        if (required) report_missing(*this, table, key, context);
        return std::nullopt;
    }
    const auto* value = node->as_integer();
    if (!value) {
        error(*node, "`" + std::string(key) + "` must be an integer, not " + std::string(type_name(*node)));
        return std::nullopt;
    }
    if (value->get() < min || value->get() > max) {
        error(*node, "`" + std::string(key) + "` must be between " + std::to_string(min) + " and " +
                         std::to_string(max) + ", not " + std::to_string(value->get()));
        return std::nullopt;
    }
    return value->get();
}

std::optional<bool> ConfigReader::get_bool(const toml::table& table, std::string_view key) {
    const auto* node = table.get(key);
    if (!node) return std::nullopt;
    const auto* value = node->as_boolean();
    if (!value) {
        error(*node, "`" + std::string(key) + "` must be true or false, not " + std::string(type_name(*node)));
        return std::nullopt;
    }
    return value->get();
}

const toml::table* ConfigReader::get_table(const toml::table& table, std::string_view key,
                                           bool required, std::string_view context) {
    const auto* node = table.get(key);
    if (!node) {
        if (required) report_missing(*this, table, key, context);
        return nullptr;
    }
    const auto* value = node->as_table();
    if (!value)
        error(*node, "`" + std::string(key) + "` must be a table, not " + std::string(type_name(*node)));
    return value;
}

const toml::array* ConfigReader::get_array(const toml::table& table, std::string_view key,
                                           bool required, std::string_view context) {
    const auto* node = table.get(key);
    if (!node) {
        if (required) report_missing(*this, table, key, context);
        return nullptr;
    }
    const auto* value = node->as_array();
    if (!value)
        error(*node, "`" + std::string(key) + "` must be an array, not " + std::string(type_name(*node)));
    return value;
}

std::optional<std::chrono::seconds> ConfigReader::get_duration(const toml::table& table,
                                                               std::string_view key,
                                                               std::chrono::seconds min,
                                                               std::chrono::seconds max) {
    const auto* node = table.get(key);
    if (!node) return std::nullopt;
    const auto* text = node->as_string();
    if (!text) {
        error(*node, "`" + std::string(key) + "` must be a duration string like \"30s\", \"10m\" or \"24h\", not " +
                         std::string(type_name(*node)));
        return std::nullopt;
    }
    const auto duration = parse_duration(text->get());
    if (!duration) {
        error(*node, "`" + std::string(key) + "`: \"" + text->get() +
                         "\" is not a duration; write a number with a unit s, m, h or d, as in \"30s\" or \"24h\"");
        return std::nullopt;
    }
    if (*duration < min || *duration > max) {
        error(*node, "`" + std::string(key) + "` must be between " + format_duration(min) + " and " +
                         format_duration(max) + ", not " + text->get());
        return std::nullopt;
    }
    return duration;
}

} // namespace gdoid::daemon
