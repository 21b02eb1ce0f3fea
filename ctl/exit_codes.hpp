// gdoictl's exit codes, documented in gdoictl(8); scripts rely on them.
#pragma once

namespace gdoid::ctl::exit_code {
inline constexpr int ok = 0;
inline constexpr int command_failed = 1;    // gdoid ran the command and reported a failure
inline constexpr int usage = 2;             // bad command line
inline constexpr int not_running = 3;       // no socket, or nobody listening on it
inline constexpr int permission_denied = 4; // socket not accessible, or the command is root-only
inline constexpr int protocol_error = 5;    // gdoid did not understand us, or we did not understand it
inline constexpr int timeout = 6;           // no reply in time
} // namespace gdoid::ctl::exit_code
