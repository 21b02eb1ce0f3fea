// The human rendering of `gdoictl status`, from the same model as the --json output.
#pragma once

#include <string>

#include "daemon/control_protocol.hpp"

namespace gdoid::ctl {

// `colour`: ANSI colours (only when stdout is a terminal and NO_COLOR is unset).
std::string render_status(const control::DaemonStatus& status, bool colour);
// "3d 2h 5m 7s", "0s"
std::string format_uptime(int64_t seconds);

} // namespace gdoid::ctl
