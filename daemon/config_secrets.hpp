// Loads pre-shared keys and PEM private keys from a 0600 file owned by gdoid's user or a systemd credential
// ($CREDENTIALS_DIRECTORY/<name>) into SecretBytes. Error messages name the source, never the key.
#pragma once

#include <optional>
#include <string>
#include <sys/types.h>

#include "daemon/config.hpp"
#include "gdoi/secret_bytes.hpp"

namespace gdoid::daemon {

struct SecretLoadOptions {
    uid_t required_owner = 0;
    std::optional<std::string> credentials_directory; // unset: $CREDENTIALS_DIRECTORY
};

struct PskLoad {
    gdoi::SecretBytes psk; // empty on error
    std::string error;     // what is wrong, in a sentence; empty on success
};

PskLoad load_psk(const PskSource& source, const SecretLoadOptions& options);
// The same rules for a PEM private key (certificate authentication): up to 16 KiB, untrimmed;
// `psk` holds the PEM text.
PskLoad load_private_key_pem(const PskSource& source, const SecretLoadOptions& options);

} // namespace gdoid::daemon
