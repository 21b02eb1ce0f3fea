// gdoictl's side of the control socket: connect, send one request frame, read one reply frame.
// Failures become a sentence for the operator and one of the documented exit codes.
#pragma once

#include <chrono>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

namespace gdoid::ctl {

struct ClientError {
    int exit_code = 0;
    std::string message; // complete sentence without the "gdoictl: " prefix
};

struct ClientResult {
    std::optional<nlohmann::json> reply; // a well-formed reply object (ok true or false)
    std::optional<ClientError> error;
};

ClientResult send_request(const std::string& socket_path, const nlohmann::json& request,
                          std::chrono::milliseconds timeout = std::chrono::seconds(10));

// For an {"ok":false} reply: the exit code that fits the error code.
int exit_code_for_error(const nlohmann::json& reply);
// "permission-denied: only root may run `reload`"
std::string describe_error(const nlohmann::json& reply);

} // namespace gdoid::ctl
