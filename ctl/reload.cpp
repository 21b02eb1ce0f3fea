// gdoictl reload: re-read the configuration (root only); like SIGHUP, but reports the outcome.
#include <iostream>

#include "ctl/command.hpp"

namespace gdoid::ctl {

void add_reload_command(CLI::App& app, Context& context) {
    auto* command = app.add_subcommand("reload", "re-read gdoid's configuration file (root only)");
    command->callback([&context] {
        auto reply = run_command(context, "reload");
        if (!reply) return;
        for (const auto& warning : (*reply)["result"].value("warnings", nlohmann::json::array()))
            if (warning.is_string()) std::cerr << warning.get<std::string>() << '\n';
        std::cout << "reloaded: " << (*reply)["result"].value("summary", std::string("done")) << '\n';
    });
}

} // namespace gdoid::ctl
