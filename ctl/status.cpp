// gdoictl status [-j|--json] [-p|--pretty]
#include <cstdlib>
#include <iostream>
#include <unistd.h>

#include "ctl/command.hpp"
#include "ctl/exit_codes.hpp"
#include "ctl/status_render.hpp"

namespace gdoid::ctl {

void add_status_command(CLI::App& app, Context& context) {
    auto* command = app.add_subcommand("status", "show the daemon and every group's state");
    auto json = std::make_shared<bool>(false);
    auto pretty = std::make_shared<bool>(false);
    command->add_flag("-j,--json", *json, "print gdoid's reply as JSON (the control protocol's result)");
    command->add_flag("-p,--pretty", *pretty, "indent the JSON output");
    command->callback([&context, json, pretty] {
        auto reply = run_command(context, "status");
        if (!reply) return;
        if (*json || *pretty) {
            std::cout << control::dump_json(*reply, *pretty ? 2 : -1) << '\n';
            return;
        }
        std::string error;
        const auto status = control::status_from_json((*reply)["result"], error);
        if (!status) {
            std::cerr << "gdoictl: gdoid's status reply is not understood: " << error << '\n';
            context.exit_code = exit_code::protocol_error;
            return;
        }
        const bool colour = isatty(STDOUT_FILENO) && !std::getenv("NO_COLOR");
        std::cout << render_status(*status, colour);
    });
}

} // namespace gdoid::ctl
