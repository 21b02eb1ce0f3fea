#include "bpf/datapath_error.hpp"

#include <cerrno>
#include <cstring>
#include <string_view>
#include <sys/utsname.h>
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

std::string kernel_release() {
    utsname name{};
    return uname(&name) == 0 ? name.release : "unknown";
}

namespace {

// The verifier's own words between libbpf's markers, or the log's tail.
std::string verifier_excerpt(const std::string& log) {
    const std::string begin = "-- BEGIN PROG LOAD LOG --";
    size_t start = log.find(begin);
    size_t end = log.find("-- END PROG LOAD LOG --");
    if (start != std::string::npos && end != std::string::npos && end > start)
        return log_tail(log.substr(start + begin.size(), end - start - begin.size()), 12);
    return log_tail(log, 12);
}

} // namespace

DatapathError load_error(int rc, const std::string& log, const std::string& release) {
    const std::string kernel = "kernel " + release;
    if (rc == -ENOSYS)
        return DatapathError(DatapathErrorKind::bpf_unavailable,
                             kernel + " has no bpf() system call (CONFIG_BPF_SYSCALL is off): "
                                      "header preservation cannot run");
    if (rc == -EPERM)
        return DatapathError(DatapathErrorKind::permission,
                             "the kernel refused to load the BPF datapath: " + errno_text(rc) +
                                 " (needs CAP_BPF or CAP_SYS_ADMIN; a seccomp filter without bpf(), a "
                                 "lockdown or an LSM policy may forbid BPF)\n" +
                                 log_tail(log, 6));
    if (log.find("BEGIN PROG LOAD LOG") != std::string::npos)
        return DatapathError(DatapathErrorKind::verifier_rejected,
                             "the " + kernel + " verifier rejected the datapath (" +
                                 errno_text(rc) + "; minimum kernel 5.10). Verifier log tail:\n" +
                                 verifier_excerpt(log));
    return DatapathError(
        DatapathErrorKind::bpf_unavailable,
        kernel + " cannot create the datapath's maps or programs: " + errno_text(rc) +
            " (minimum kernel 5.10 with BPF and BTF). libbpf:\n" + log_tail(log, 6));
}

} // namespace bpf
