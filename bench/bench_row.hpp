// One result line of a benchmark, in the form bench/run_all.sh collects into the table:
// ROW<TAB>figure<TAB>result<TAB>baseline<TAB>ratio<TAB>target<TAB>note
#pragma once

#include <algorithm>
#include <cstdio>
#include <stdexcept>
#include <string>
#include <vector>

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

// The value below which a fraction p of `values` lies (nearest rank).
inline double percentile(std::vector<double> values, double p) {
    if (values.empty()) throw std::logic_error("percentile of no values");
    std::sort(values.begin(), values.end());
    return values[std::min(values.size() - 1, size_t(p * double(values.size() - 1) + 0.5))];
}

// "p50 1.23 ms, p99 4.56 ms": how the latency rows state their result.
inline std::string p50_p99(const std::vector<double>& seconds) {
    return "p50 " + format_seconds(percentile(seconds, 0.5)) + ", p99 " +
           format_seconds(percentile(seconds, 0.99));
}

inline void print_row(const std::string& figure, const std::string& result,
                      const std::string& baseline, double ratio, const std::string& target,
                      const std::string& note) {
    std::printf("ROW\t%s\t%s\t%s\t%.2f\t%s\t%s\n", figure.c_str(), result.c_str(), baseline.c_str(),
                ratio, target.c_str(), note.c_str());
    std::fflush(stdout);
}

} // namespace bench
