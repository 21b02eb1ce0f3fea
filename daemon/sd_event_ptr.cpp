#include "daemon/sd_event_ptr.hpp"

#include <unistd.h>

namespace gdoid::daemon {

void UniqueFd::reset(int fd) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = fd;
}

} // namespace gdoid::daemon
