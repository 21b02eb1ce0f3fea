// Errors of the wire codec. A DecodeError names the payload and field that failed, where in the
// message, and which ISAKMP notify answers it (like Botan's TLS_Exception carries its alert);
// the caller decides whether to answer or drop. EncodeError means our own model was invalid.
#pragma once

#include "gdoi/wire/constants.hpp"

#include <cstddef>
#include <stdexcept>
#include <string>

namespace gdoi::wire {

class DecodeError : public std::runtime_error {
public:
    DecodeError(NotifyType notify, std::string context, std::string detail, size_t offset);

    NotifyType notify() const { return notify_; }
    // The payload (and sub-structure) being read, e.g. "SA TEK" or "KD key packet 2".
    const std::string& context() const { return context_; }
    // What was wrong, e.g. "expected 4 octets of SPI, 2 left".
    const std::string& detail() const { return detail_; }
    // Absolute offset in the decoded buffer where the failing field starts.
    size_t offset() const { return offset_; }

private:
    NotifyType notify_;
    std::string context_;
    std::string detail_;
    size_t offset_;
};

class EncodeError : public std::invalid_argument {
public:
    using std::invalid_argument::invalid_argument;
};

// "PAYLOAD-MALFORMED" style names for logs.
const char* notify_type_name(NotifyType type);

} // namespace gdoi::wire
