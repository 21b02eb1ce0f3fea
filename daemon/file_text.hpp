// A whole file's text, read with open/read: no std::ifstream, whose std::locale set-up (every
// facet of the classic locale) would make resident ~0.25 MiB of libstdc++ that gdoid never uses.
#pragma once

#include <optional>
#include <string>

namespace gdoid::daemon {

// The text of PATH, or nullopt with ERROR set to the system's reason ("No such file or
// directory", "Is a directory"), without the path: callers name the file their own way.
std::optional<std::string> read_file_text(const std::string& path, std::string& error);

} // namespace gdoid::daemon
