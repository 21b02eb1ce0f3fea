// Parses the [[group.bypass]] tables of gdoid.conf: the member's own list of traffic that is
// never encrypted (source/destination prefix, protocol, ports). Split from
// config_group_parser to keep one concept per file; called after `local-address`.
#pragma once

#include "daemon/config.hpp"
#include "daemon/config_reader.hpp"

#include <string_view>
#include <toml++/toml.h>

namespace gdoid::daemon {

void parse_bypass_classes(ConfigReader& reader, const toml::table& table, GroupConfig& group,
                          std::string_view context);

} // namespace gdoid::daemon
