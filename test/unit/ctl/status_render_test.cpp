#include <catch2/catch.hpp>

#include "ctl/client.hpp"
#include "ctl/exit_codes.hpp"
#include "ctl/status_render.hpp"

using namespace gdoid;
using namespace gdoid::ctl;

namespace {

control::DaemonStatus sample() {
    control::DaemonStatus status;
    status.version = "0.1.0";
    status.pid = 4242;
    status.uptime_seconds = 90061;
    status.config_path = "/etc/gdoid/gdoid.conf";
    control::GroupStatus wan;
    wan.name = "wan";
    wan.id = 1234;
    wan.state = "registered";
    wan.servers = {"192.0.2.1:848", "192.0.2.2:848"};
    wan.server_in_use = "192.0.2.2:848";
    wan.registrations = 2;
    wan.registration_failures = 1;
    control::GroupStatus lab;
    lab.name = "lab";
    lab.id = 7;
    lab.state = "idle";
    lab.servers = {"[2001:db8::1]:848"};
    status.groups = {wan, lab};
    return status;
}

} // namespace

TEST_CASE("status renders every group from the reply model", "[ctl]") {
    const auto text = render_status(sample(), false);
    CHECK(text == "gdoid 0.1.0 (pid 4242), up 1d 1h 1m 1s\n"
                  "  configuration: /etc/gdoid/gdoid.conf\n"
                  "\n"
                  "group wan (id 1234): registered\n"
                  "  key servers: 192.0.2.1:848, 192.0.2.2:848 (in use)\n"
                  "  server in use: 192.0.2.2:848\n"
                  "  last error: none\n"
                  "  registrations: 2 (1 failed), pushes: 0 accepted, 0 rejected\n"
                  "\n"
                  "group lab (id 7): idle\n"
                  "  key servers: [2001:db8::1]:848\n"
                  "  server in use: none\n"
                  "  last error: none\n"
                  "  registrations: 0 (0 failed), pushes: 0 accepted, 0 rejected\n");
    CHECK(text.find('\033') == std::string::npos);
}

TEST_CASE("colour only when asked, and a refused reload is visible", "[ctl]") {
    auto status = sample();
    status.config_error = "gdoid.conf:3:1: unknown key `x`";
    const auto plain = render_status(status, false);
    CHECK(plain.find("  last reload refused: gdoid.conf:3:1: unknown key `x` (the previous configuration is in force)\n") !=
          std::string::npos);
    const auto coloured = render_status(status, true);
    CHECK(coloured.find("\033[1;32mregistered\033[0m") != std::string::npos);
    CHECK(coloured.find("\033[1;33midle\033[0m") != std::string::npos);
}

TEST_CASE("uptime reads like a duration", "[ctl]") {
    CHECK(format_uptime(0) == "0s");
    CHECK(format_uptime(59) == "59s");
    CHECK(format_uptime(3600) == "1h");
    CHECK(format_uptime(86400 + 5) == "1d 5s");
}

TEST_CASE("error replies map to the documented exit codes", "[ctl]") {
    auto reply = [](const char* code) { return control::make_error_reply(code, "m"); };
    CHECK(exit_code_for_error(reply("permission-denied")) == exit_code::permission_denied);
    CHECK(exit_code_for_error(reply("malformed-json")) == exit_code::protocol_error);
    CHECK(exit_code_for_error(reply("unknown-command")) == exit_code::protocol_error);
    CHECK(exit_code_for_error(reply("unsupported-version")) == exit_code::protocol_error);
    CHECK(exit_code_for_error(reply("request-too-large")) == exit_code::protocol_error);
    CHECK(exit_code_for_error(reply("config-invalid")) == exit_code::command_failed);
    CHECK(describe_error(reply("permission-denied")) == "permission-denied: m");
}

TEST_CASE("the client tells a missing daemon from a refused connection", "[ctl]") {
    auto result = send_request("/nonexistent/gdoid/control", control::make_request("status"));
    REQUIRE(result.error);
    CHECK(result.error->exit_code == exit_code::not_running);
    CHECK(result.error->message == "cannot reach gdoid at /nonexistent/gdoid/control: no such socket (is gdoid running?)");
}

TEST_CASE("ack counters: sent and ignored requests show on the pushes line", "[ctl]") {
    auto status = sample();
    status.groups[0].pushes_accepted = 4;
    status.groups[0].acks_sent = 1;
    status.groups[0].ack_requests_ignored = 3;
    status.groups[1].ack_requests_ignored = 1;
    const auto text = render_status(status, false);
    CHECK_THAT(text,
               Catch::Contains(
                   "  registrations: 2 (1 failed), pushes: 4 accepted, 0 rejected, 1 acknowledged, "
                   "3 ack requests ignored (see the log)\n"));
    CHECK_THAT(text, Catch::Contains(
                         "pushes: 0 accepted, 0 rejected, 1 ack request ignored (see the log)\n"));
}

TEST_CASE("status names the Phase 1 in use and how pushes are signed", "[ctl]") {
    auto status = sample();
    status.groups[0].phase1 = control::Phase1Status{
        "AES-256-CBC/SHA384/ECP-384 (group 20), 28800 s, RSA signatures", "certificate", "CN=ks1,O=Example"};
    status.groups[1].phase1 =
        control::Phase1Status{"AES-256-CBC/SHA256/MODP-2048 (group 14), 86400 s", "pre-shared-key", std::nullopt};
    const auto text = render_status(status, false);
    CHECK(text.find("  phase 1: AES-256-CBC/SHA384/ECP-384 (group 20), 28800 s, RSA signatures, key server "
                    "certificate \"CN=ks1,O=Example\"\n") != std::string::npos);
    CHECK(text.find("  phase 1: AES-256-CBC/SHA256/MODP-2048 (group 14), 86400 s, pre-shared key\n") !=
          std::string::npos);
}

// The bad-input catalogue's counter for stray datagrams (docs/bad-input.md): in the JSON that
// gdoictl status --json prints, back from it, and on the pushes line.
TEST_CASE("ignored datagrams: in the JSON and on the pushes line", "[ctl]") {
    auto status = sample();
    status.groups[0].datagrams_ignored = 1000;
    status.groups[1].datagrams_ignored = 1;
    const auto json = control::to_json(status);
    CHECK(json["groups"][0]["counters"]["datagrams_ignored"] == 1000);
    std::string error;
    const auto back = control::status_from_json(json, error);
    REQUIRE(back);
    CHECK(back->groups[0].datagrams_ignored == 1000);
    const auto text = render_status(status, false);
    CHECK_THAT(text, Catch::Contains("0 rejected, 1000 stray datagrams ignored (see the log)\n"));
    CHECK_THAT(text, Catch::Contains("0 rejected, 1 stray datagram ignored (see the log)\n"));
}
