// Parses and validates one [[group]] table of gdoid.conf (see config_parser.hpp for the file).
#pragma once

#include <cstddef>

#include <toml++/toml.h>

#include "daemon/config.hpp"
#include "daemon/config_reader.hpp"

namespace gdoid::daemon {

// `index` is 1-based, for messages about a group without a usable name.
GroupConfig parse_group(ConfigReader& reader, const toml::table& table, size_t index);

} // namespace gdoid::daemon
