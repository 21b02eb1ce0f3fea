// gdoictl re-register [GROUP]: register again from the preferred key server now (root only);
// gdoictl kernel [GROUP]: the kernel objects gdoid wants for a group, with what each is for.
#include <iostream>

#include "ctl/command.hpp"
#include "ctl/exit_codes.hpp"

namespace gdoid::ctl {

namespace {

nlohmann::json group_argument(const std::string& group) {
    return group.empty() ? nlohmann::json::object() : nlohmann::json{{"group", group}};
}

} // namespace

void add_action_commands(CLI::App& app, Context& context) {
    static std::string reregister_group;
    auto* reregister = app.add_subcommand(
        "re-register", "register again from the preferred key server now; the current keys stay in use "
                       "until new ones arrive (root only)");
    reregister->add_option("group", reregister_group, "the group (default: every group)");
    reregister->callback([&context] {
        auto reply = run_command(context, "re-register", group_argument(reregister_group));
        if (!reply) return;
        for (const auto& name : (*reply)["result"].value("groups", nlohmann::json::array()))
            if (name.is_string()) std::cout << "registering again: " << name.get<std::string>() << '\n';
    });

    static std::string kernel_group;
    auto* kernel = app.add_subcommand("kernel", "the XFRM states, policies and datapath entries gdoid keeps "
                                                "for a group, with what each one is for (no keys)");
    kernel->add_option("group", kernel_group, "the group (default: every group)");
    kernel->callback([&context] {
        auto reply = run_command(context, "kernel", group_argument(kernel_group));
        if (!reply) return;
        for (const auto& entry : (*reply)["result"].value("groups", nlohmann::json::array())) {
            if (!entry.is_object()) continue;
            const std::string text = entry.value("objects", std::string());
            std::cout << (text.empty() ? "group " + entry.value("name", std::string()) +
                                             ": no kernel objects can be computed yet (see gdoictl status)\n"
                                       : text);
        }
    });
}

} // namespace gdoid::ctl
