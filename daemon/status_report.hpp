// Builds the control protocol's status model from the daemon's groups.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "bpf/datapath.hpp"
#include "daemon/control_protocol.hpp"
#include "daemon/group.hpp"

namespace gdoid::daemon {

control::GroupStatus make_group_status(const Group& group);
control::DaemonStatus make_status(const std::vector<std::unique_ptr<Group>>& groups, const std::string& config_path,
                                  std::chrono::seconds uptime, const std::optional<std::string>& config_error);

// The datapath's counters by the names `gdoictl status` shows.
std::map<std::string, uint64_t> datapath_counter_map(const bpf::DatapathCounters& counters);

} // namespace gdoid::daemon
