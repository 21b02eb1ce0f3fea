// RAII owners for sd-event objects: an event loop reference and an event source that is
// disabled and released when its owner goes away (so no callback can reach a dead object).
#pragma once

#include <memory>

#include <systemd/sd-event.h>

namespace gdoid::daemon {

struct SdEventUnref {
    void operator()(sd_event* event) const { sd_event_unref(event); }
};
struct SdEventSourceRelease {
    void operator()(sd_event_source* source) const { sd_event_source_disable_unref(source); }
};

using SdEventPtr = std::unique_ptr<sd_event, SdEventUnref>;
using SdEventSourcePtr = std::unique_ptr<sd_event_source, SdEventSourceRelease>;

// A file descriptor closed with its owner.
class UniqueFd {
public:
    UniqueFd() = default;
    explicit UniqueFd(int fd) : fd_(fd) {}
    UniqueFd(UniqueFd&& other) noexcept : fd_(other.release()) {}
    UniqueFd& operator=(UniqueFd&& other) noexcept {
        if (this != &other) reset(other.release());
        return *this;
    }
    UniqueFd(const UniqueFd&) = delete;
    UniqueFd& operator=(const UniqueFd&) = delete;
    ~UniqueFd() { reset(); }

    int get() const { return fd_; }
    explicit operator bool() const { return fd_ >= 0; }
    int release() {
        const int fd = fd_;
        fd_ = -1;
        return fd;
    }
    void reset(int fd = -1);

private:
    int fd_ = -1;
};

} // namespace gdoid::daemon
