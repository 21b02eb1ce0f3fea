// What the kernel benchmarks do first: check root, move the whole process into a fresh network
// namespace (before any thread exists, so threads and `ip` children inherit it), and make a
// scratch folder for the baseline's batch files that goes on every exit, a failed check included.
#pragma once

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <sched.h>
#include <stdexcept>
#include <string>
#include <unistd.h>

namespace bench {

class ScratchNamespace {
public:
    // `name` names the scratch folder (/tmp/NAME.XXXXXX).
    explicit ScratchNamespace(const std::string& name) {
        if (geteuid() != 0) throw std::runtime_error("needs root: it creates a network namespace");
        if (unshare(CLONE_NEWNET) != 0)
            throw std::runtime_error(std::string("unshare(CLONE_NEWNET): ") + std::strerror(errno));
        std::string pattern = "/tmp/" + name + ".XXXXXX";
        if (!mkdtemp(pattern.data())) throw std::runtime_error("mkdtemp failed");
        dir_ = pattern;
    }
    ~ScratchNamespace() {
        std::error_code ignored;
        std::filesystem::remove_all(dir_, ignored);
    }
    ScratchNamespace(const ScratchNamespace&) = delete;
    ScratchNamespace& operator=(const ScratchNamespace&) = delete;

    const char* dir() const { return dir_.c_str(); }

private:
    std::string dir_;
};

} // namespace bench
