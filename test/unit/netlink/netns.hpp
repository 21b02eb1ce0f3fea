// Test support: every kernel test case runs in a network namespace of its own, created fresh
// (unshare(CLONE_NEWNET)) when the case starts. The test process never returns to the host's
// namespace, so nothing a test installs can reach the host; a namespace disappears when its
// last socket closes.
#pragma once

#include <array>
#include <catch2/catch.hpp>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <sched.h>
#include <stdexcept>
#include <string>
#include <unistd.h>
#include <utility>

namespace netlink_test {

struct CommandResult {
    int status;
    std::string output; // stdout and stderr
};

inline CommandResult run(const std::string& command) {
    CommandResult result{-1, {}};
    FILE* pipe = popen((command + " 2>&1").c_str(), "r");
    if (!pipe) return result;
    std::array<char, 4096> buffer;
    size_t n;
    while ((n = fread(buffer.data(), 1, buffer.size(), pipe)) > 0)
        result.output.append(buffer.data(), n);
    const int status = pclose(pipe);
    result.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return result;
}

// `command` must succeed (a failure shows its output); its output.
inline std::string must(const std::string& command) {
    auto result = run(command);
    INFO(command << ": " << result.output);
    REQUIRE(result.status == 0);
    return std::move(result.output);
}

class FreshNetworkNamespace {
public:
    FreshNetworkNamespace() {
        if (geteuid() != 0)
            throw std::runtime_error("kernel tests need root (CAP_NET_ADMIN) to create namespaces");
        if (unshare(CLONE_NEWNET) != 0)
            throw std::runtime_error(std::string("unshare(CLONE_NEWNET): ") + std::strerror(errno));
        auto up = run("ip link set lo up");
        if (up.status != 0) throw std::runtime_error("ip link set lo up: " + up.output);
    }
};

} // namespace netlink_test
