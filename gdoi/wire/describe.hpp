// A decoded message as "path = value" lines, for debug logs and the test vectors. Key material
// never appears: KD attribute values show only their length.
#pragma once

#include <string>
#include <vector>

#include "gdoi/wire/message.hpp"

namespace gdoi::wire {

// e.g. "header.exchange = 32", "p3.sa.kek.spi = bc69...", "p3.sa.tek1.src = 4:0:0000f80a00ffffff"
std::vector<std::string> describe_message(const Message& message);

} // namespace gdoi::wire
