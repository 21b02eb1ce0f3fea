// A group policy as JSON for the test key server's status and pull-probe's output, so a test can
// compare what a member received with what the server holds. Keys appear only as SHA-256
// fingerprints (first 8 octets), never in clear.
#pragma once

#include "gdoi/group_policy.hpp"

#include <nlohmann/json.hpp>

namespace gdoi_test_ks {

nlohmann::json policy_to_json(const gdoi::GroupPolicy& policy);
std::string fingerprint(const gdoi::SecretBytes& key);

} // namespace gdoi_test_ks
