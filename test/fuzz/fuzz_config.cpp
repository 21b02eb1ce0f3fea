// libFuzzer target for gdoid.conf: the TOML text through parse_config (toml++ and every section
// parser), without touching secrets or the group database. Invariants beyond "no crash": parse
// errors are diagnostics, never exceptions; a configuration comes back only without errors.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "daemon/config_parser.hpp"

using namespace gdoid::daemon;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    ConfigLoadOptions options;
    options.load_secrets = false; // no file system: the PSK files named are not read
    options.resolve_control_group = false;
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    const auto result = parse_config(text, "fuzz.conf", options);
    if (result.ok() && result.error_count() != 0) std::abort();
    if (!result.ok() && result.error_count() == 0) std::abort();
    for (const auto& diagnostic : result.diagnostics) (void)diagnostic.to_string();
    return 0;
}
