#include "daemon/kernel_event_watcher.hpp"

#include "daemon/log.hpp"

#include <sys/epoll.h>

namespace gdoid::daemon {

KernelEventWatcher::KernelEventWatcher(uint32_t own_port_id, Handler handler) : handler_(std::move(handler)) {
    // Our own changes come back as notifications too; they are no news.
    socket_.ignore_port_id(own_port_id);
}

std::unique_ptr<KernelEventWatcher> KernelEventWatcher::create(sd_event* event, uint32_t own_port_id,
                                                               Handler handler) {
    std::unique_ptr<KernelEventWatcher> watcher;
    try {
        watcher.reset(new KernelEventWatcher(own_port_id, std::move(handler)));
    } catch (const std::exception& e) {
        log_warning(std::string("cannot listen to the kernel's XFRM notifications (router-originated traffic to "
                                "the groups stays dropped): ") +
                    e.what());
        return nullptr;
    }
    sd_event_source* source = nullptr;
    if (sd_event_add_io(event, &source, watcher->socket_.fd(), EPOLLIN, on_readable, watcher.get()) < 0) {
        log_warning("cannot listen to the kernel's XFRM notifications: the event loop refused the socket");
        return nullptr;
    }
    watcher->source_.reset(source);
    return watcher;
}

int KernelEventWatcher::on_readable(sd_event_source*, int, uint32_t, void* userdata) {
    auto* self = static_cast<KernelEventWatcher*>(userdata);
    try {
        for (const auto& event : self->socket_.read_events()) self->handler_(event);
    } catch (const std::exception& e) {
        log_warning(std::string("reading the kernel's XFRM notifications: ") + e.what());
    }
    return 0;
}

} // namespace gdoid::daemon
