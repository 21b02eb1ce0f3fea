// One result line of a benchmark, in the form bench/run_all.sh collects into the table:
// ROW<TAB>figure<TAB>result<TAB>baseline<TAB>ratio<TAB>target<TAB>note
#pragma once

#include <cstdio>
#include <string>

namespace bench {

inline std::string format_seconds(double seconds) {
    char text[32];
    if (seconds < 0.001)
        std::snprintf(text, sizeof text, "%.1f us", seconds * 1e6);
    else if (seconds < 1)
        std::snprintf(text, sizeof text, "%.2f ms", seconds * 1e3);
    else
        std::snprintf(text, sizeof text, "%.3f s", seconds);
    return text;
}

inline void print_row(const std::string& figure, const std::string& result,
                      const std::string& baseline, double ratio, const std::string& target,
                      const std::string& note) {
    std::printf("ROW\t%s\t%s\t%s\t%.2f\t%s\t%s\n", figure.c_str(), result.c_str(), baseline.c_str(),
                ratio, target.c_str(), note.c_str());
    std::fflush(stdout);
}

} // namespace bench
