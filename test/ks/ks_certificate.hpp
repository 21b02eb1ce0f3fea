// [phase1.certificate] of the test key server: its certificate, key and the authorities member
// certificates must chain to, and when it sends its CERT, so that tests meet the behaviours of
// real key servers (send always, only when asked, never).
#pragma once

#include "gdoi/ike/certificate_authentication.hpp"
#include "gdoi/ike/main_mode_responder.hpp"

#include <string>
#include <toml++/toml.h>

namespace gdoi_test_ks {

struct KsCertificate {
    gdoi::ike::CertificateCredentials credentials;
    gdoi::ike::MainModeResponderConfig::SendCertificate send =
        gdoi::ike::MainModeResponderConfig::SendCertificate::always;
};

// Throws std::runtime_error("file: what") on a missing or unreadable file or a bad value.
KsCertificate load_ks_certificate(const toml::table& table, const std::string& config_path);

} // namespace gdoi_test_ks
