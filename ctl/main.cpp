// gdoictl: the operator's command for gdoid, over its control socket.
#include <iostream>

#include "ctl/client.hpp"
#include "ctl/command.hpp"
#include "ctl/exit_codes.hpp"
#include "daemon/control_protocol.hpp"

namespace gdoid::ctl {

std::optional<nlohmann::json> run_command(Context& context, const std::string& command, nlohmann::json arguments) {
    auto result = send_request(context.socket_path, control::make_request(command, std::move(arguments)),
                               std::chrono::seconds(context.timeout_seconds));
    if (result.error) {
        std::cerr << "gdoictl: " << result.error->message << '\n';
        context.exit_code = result.error->exit_code;
        return std::nullopt;
    }
    auto& reply = *result.reply;
    if (!reply["ok"].get<bool>()) {
        std::cerr << "gdoictl: gdoid refused `" << command << "`: " << describe_error(reply) << '\n';
        context.exit_code = exit_code_for_error(reply);
        return std::nullopt;
    }
    if (!reply.contains("result")) {
        std::cerr << "gdoictl: gdoid's reply has no result\n";
        context.exit_code = exit_code::protocol_error;
        return std::nullopt;
    }
    return std::move(reply);
}

} // namespace gdoid::ctl

int main(int argc, char** argv) {
    using namespace gdoid::ctl;
    Context context;
    CLI::App app{"gdoictl: control the gdoid GDOI group member"};
    app.add_option("-s,--socket", context.socket_path, "gdoid's control socket")->capture_default_str();
    app.add_option("-t,--timeout", context.timeout_seconds, "seconds to wait for gdoid's answer")
        ->check(CLI::Range(1u, 3600u))
        ->capture_default_str();
    app.require_subcommand(1);
    add_status_command(app, context);
    add_reload_command(app, context);
    add_action_commands(app, context);
    try {
        app.parse(argc, argv);
    } catch (const CLI::CallForHelp& e) {
        return app.exit(e);
    } catch (const CLI::ParseError& e) {
        app.exit(e);
        return exit_code::usage;
    }
    return context.exit_code;
}
