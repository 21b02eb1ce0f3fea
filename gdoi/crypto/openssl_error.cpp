#include "gdoi/crypto/openssl_error.hpp"

#include <openssl/err.h>

namespace gdoi::crypto {

void throw_openssl_error(const std::string& operation) {
    unsigned long code = ERR_get_error();
    std::string reason = "unknown OpenSSL error";
    if (code != 0) {
        char buffer[256];
        ERR_error_string_n(code, buffer, sizeof buffer);
        reason = buffer;
    }
    ERR_clear_error();
    throw CryptoError(operation + ": " + reason);
}

} // namespace gdoi::crypto
