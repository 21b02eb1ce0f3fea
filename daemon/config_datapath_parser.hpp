// Parses the [[group]] keys that describe the router's side of the header-preservation
// datapath: `lan-prefixes` and `anchor`. Split from config_group_parser to keep one concept
// per file; called by parse_group() after `local-address` (the anchors' family follows it).
#pragma once

#include <toml++/toml.h>

#include <string_view>

#include "daemon/config.hpp"
#include "daemon/config_reader.hpp"

namespace gdoid::daemon {

void parse_lan_prefixes(ConfigReader& reader, const toml::table& table, GroupConfig& group);
// Fills group.anchor from `anchor = { inbound = "...", remote = "..." }` or the defaults of
// local-address's family.
void parse_anchor(ConfigReader& reader, const toml::table& table, GroupConfig& group,
                  std::string_view context);

} // namespace gdoid::daemon
