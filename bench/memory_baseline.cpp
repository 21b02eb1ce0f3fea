// Figure 4's baseline: a C++ program linked (--no-as-needed) against every shared library gdoid
// links, doing nothing but wait, so its VmHWM is what the loader and the libraries cost before
// gdoid runs a line of its own. bench/memory.sh reads /proc/PID/status and kills it;
// bench/startup.sh times `bench-memory-baseline --exit` (exec, load, return).
#include <string>
#include <unistd.h>

int main(int argc, char**) {
    std::string alive = "waiting"; // libstdc++ in use, as in any C++ program
    if (argc > 1) return 0;
    while (!alive.empty())
        pause();
    return 0;
}
