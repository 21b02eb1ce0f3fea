// Helpers for the configuration tests: a private temporary directory with a pre-shared-key file
// the test owns, and a valid group snippet to build broken files from.
#pragma once

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include "daemon/config_parser.hpp"

namespace gdoid::daemon::test {

inline constexpr const char* test_psk = "correct-horse-battery-staple-42";

class TempDir {
public:
    TempDir() {
        std::string pattern = (std::filesystem::temp_directory_path() / "gdoid-config-XXXXXX").string();
        REQUIRE(mkdtemp(pattern.data()) != nullptr);
        path_ = pattern;
    }
    ~TempDir() {
        std::error_code ignored;
        std::filesystem::remove_all(path_, ignored);
    }
    const std::filesystem::path& path() const { return path_; }

    std::string write(const std::string& name, const std::string& content, mode_t mode = 0600) const {
        const auto file = (path_ / name).string();
        {
            std::ofstream out(file, std::ios::trunc);
            out << content;
        }
        REQUIRE(chmod(file.c_str(), mode) == 0);
        return file;
    }

private:
    std::filesystem::path path_;
};

// Options for files the test itself owns (the daemon requires root; the tests may not be root).
inline ConfigLoadOptions test_options(const TempDir& dir) {
    ConfigLoadOptions options;
    options.secret_owner = geteuid();
    options.credentials_directory = dir.path().string();
    options.resolve_control_group = false;
    return options;
}

// Every error message of a result, each as "file:line:col: message".
inline std::vector<std::string> messages(const ConfigResult& result) {
    std::vector<std::string> out;
    for (const auto& diagnostic : result.diagnostics) out.push_back(diagnostic.to_string());
    return out;
}

} // namespace gdoid::daemon::test
