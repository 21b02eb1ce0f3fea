#include "bpf/datapath_error.hpp"

#include <cstring>
#include <string_view>
#include <vector>

namespace bpf {

std::string errno_text(int err) {
    if (err < 0) err = -err;
    char buffer[128];
    // GNU strerror_r may return a static string instead of filling the buffer.
    const char* text = strerror_r(err, buffer, sizeof(buffer));
    return std::string(text) + " (errno " + std::to_string(err) + ")";
}

std::string log_tail(const std::string& log, size_t max_lines) {
    std::vector<std::string_view> lines;
    std::string_view rest = log;
    while (!rest.empty()) {
        size_t end = rest.find('\n');
        std::string_view line = rest.substr(0, end);
        if (!line.empty()) lines.push_back(line);
        if (end == std::string_view::npos) break;
        rest.remove_prefix(end + 1);
    }
    std::string out;
    size_t first = lines.size() > max_lines ? lines.size() - max_lines : 0;
    for (size_t i = first; i < lines.size(); ++i) {
        out += lines[i];
        out += '\n';
    }
    return out;
}

} // namespace bpf
