// What every gdoictl subcommand gets: the socket to talk to and where to leave its exit code.
// One file per subcommand (status.cpp, reload.cpp), each registering itself on the CLI11 app.
#pragma once

#include <string>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

namespace gdoid::ctl {

struct Context {
    std::string socket_path = "/run/gdoid/control";
    // How long to wait for gdoid's answer: a reload that sets up many kernel objects on a slow
    // box can take longer than the default.
    unsigned timeout_seconds = 10;
    int exit_code = 0;
};

void add_status_command(CLI::App& app, Context& context);
void add_reload_command(CLI::App& app, Context& context);
void add_action_commands(CLI::App& app, Context& context);

// Sends `command`, prints errors as "gdoictl: ..." on stderr; returns the reply when ok.
std::optional<nlohmann::json> run_command(Context& context, const std::string& command,
                                          nlohmann::json arguments = nlohmann::json::object());

} // namespace gdoid::ctl
