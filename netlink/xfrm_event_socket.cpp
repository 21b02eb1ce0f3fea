#include "netlink/xfrm_event_socket.hpp"

#include "netlink/ownership.hpp"
#include "netlink/xfrm_codec.hpp"
#include "netlink/xfrm_translate.hpp"

#include <cerrno>
#include <cstring>
#include <linux/xfrm.h>
#include <openssl/crypto.h>
#include <sys/socket.h>

namespace netlink {

namespace {
// mnl_nlmsg_ok compares the length as an int: a message claiming 2 GiB or more passes it and
// would be read past the buffer. Found by test/fuzz/fuzz_netlink.cpp
// (corpus-netlink/crash-length-over-2gib); the kernel never sends such a length, a privileged
// process could.
bool message_fits(const nlmsghdr* m, int left) {
    return left >= 0 && m->nlmsg_len <= unsigned(left);
}

template <class T> bool read_header(const nlmsghdr* m, T& out) {
    if (m->nlmsg_len < NLMSG_HDRLEN + sizeof(T)) return false;
    std::memcpy(&out, reinterpret_cast<const uint8_t*>(m) + NLMSG_HDRLEN, sizeof out);
    return true;
}

KernelEvent resync() {
    KernelEvent event;
    event.type = KernelEventType::resync_needed;
    return event;
}

} // namespace

XfrmEventSocket::XfrmEventSocket(bool owned_only)
    : socket_(NETLINK_XFRM, true), owned_only_(owned_only), buffer_(64 * 1024) {
    for (unsigned group : {XFRMNLGRP_EXPIRE, XFRMNLGRP_ACQUIRE, XFRMNLGRP_SA, XFRMNLGRP_POLICY})
        socket_.subscribe(group);
}

void XfrmEventSocket::set_receive_buffer(int bytes) {
    setsockopt(socket_.fd(), SOL_SOCKET, SO_RCVBUFFORCE, &bytes, sizeof bytes);
}

std::vector<KernelEvent> XfrmEventSocket::read_events() {
    std::vector<KernelEvent> events;
    bool overrun = false;
    for (;;) {
        const ssize_t n = recv(socket_.fd(), buffer_.data(), buffer_.size(), MSG_DONTWAIT);
        if (n < 0) {
            if (errno == EINTR) continue;
            if (errno == ENOBUFS) { // the kernel dropped notifications: tell, and keep reading
                overrun = true;
                continue;
            }
            if (errno == EAGAIN || errno == EWOULDBLOCK) break;
            throw KernelError(format_kernel_error("reading XFRM events", {errno, {}}), errno);
        }
        int left = int(n);
        for (auto* m = reinterpret_cast<const nlmsghdr*>(buffer_.data()); mnl_nlmsg_ok(m, left) && message_fits(m, left);
             m = mnl_nlmsg_next(m, &left)) {
            try {
                decode(m, events);
            } catch (const std::exception&) {
                // A notification we cannot read may have been about our objects.
                overrun = true;
            }
        }
        // Notifications carry state details (keys among them): do not leave them around.
        OPENSSL_cleanse(buffer_.data(), size_t(n));
    }
    if (overrun) events.push_back(resync());
    return events;
}

void XfrmEventSocket::decode(const nlmsghdr* m, std::vector<KernelEvent>& events) {
    if (ignored_ports_.count(m->nlmsg_pid)) return;
    KernelEvent event;
    switch (m->nlmsg_type) {
    case XFRM_MSG_EXPIRE: {
        xfrm_user_expire expire;
        if (!read_header(m, expire)) throw std::runtime_error("short XFRM_MSG_EXPIRE");
        AttributeSet attributes(m, sizeof expire);
        DecodedState decoded = decode_state(expire.state, attributes);
        if (owned_only_ && !is_owned(decoded.state)) return;
        event.type = KernelEventType::state_expired;
        event.state = decoded.state.id;
        event.hard = expire.hard != 0;
        break;
    }
    case XFRM_MSG_DELSA: {
        // Header: xfrm_usersa_id; the full state follows in XFRMA_SA, its extras at top level.
        AttributeSet attributes(m, sizeof(xfrm_usersa_id));
        auto info = attributes.get_struct<xfrm_usersa_info>(XFRMA_SA);
        if (!info) throw std::runtime_error("XFRM_MSG_DELSA without XFRMA_SA");
        DecodedState decoded = decode_state(*info, attributes);
        if (owned_only_ && !is_owned(decoded.state)) return;
        event.type = KernelEventType::state_deleted;
        event.state = decoded.state.id;
        break;
    }
    case XFRM_MSG_ACQUIRE: {
        xfrm_user_acquire acquire;
        if (!read_header(m, acquire)) throw std::runtime_error("short XFRM_MSG_ACQUIRE");
        AttributeSet attributes(m, sizeof acquire);
        XfrmPolicy policy = decode_policy(acquire.policy, attributes);
        if (owned_only_ && !is_owned(policy)) return;
        event.type = KernelEventType::acquire;
        event.policy = policy.id;
        // The selector of an acquire is the triggering packet's flow (full-length prefixes).
        const XfrmSelector flow = from_xfrm_selector(acquire.sel);
        event.acquire_source = flow.source.address;
        event.acquire_destination = flow.destination.address;
        event.policy_priority = policy.priority;
        // The placeholder is keyed by the template's addresses (the source the kernel chose
        // when the template leaves it open) and its reqid; the sequence number names it.
        AcquirePlaceholder placeholder;
        const IpFamily family = from_address_family(acquire.policy.sel.family ? acquire.policy.sel.family
                                                                              : acquire.sel.family);
        placeholder.destination = from_xfrm_address(acquire.id.daddr, family);
        placeholder.source = from_xfrm_address(acquire.saddr, family);
        placeholder.ip_protocol = acquire.id.proto;
        placeholder.reqid = policy.templates.empty() ? 0 : policy.templates.front().reqid;
        placeholder.sequence = acquire.seq;
        event.placeholder = placeholder;
        break;
    }
    case XFRM_MSG_POLEXPIRE: {
        xfrm_user_polexpire expire;
        if (!read_header(m, expire)) throw std::runtime_error("short XFRM_MSG_POLEXPIRE");
        AttributeSet attributes(m, sizeof expire);
        XfrmPolicy policy = decode_policy(expire.pol, attributes);
        if (owned_only_ && !is_owned(policy)) return;
        event.type = KernelEventType::policy_expired;
        event.policy = policy.id;
        event.hard = expire.hard != 0;
        break;
    }
    case XFRM_MSG_DELPOLICY: {
        AttributeSet attributes(m, sizeof(xfrm_userpolicy_id));
        auto info = attributes.get_struct<xfrm_userpolicy_info>(XFRMA_POLICY);
        if (!info) throw std::runtime_error("XFRM_MSG_DELPOLICY without XFRMA_POLICY");
        XfrmPolicy policy = decode_policy(*info, attributes);
        if (owned_only_ && !is_owned(policy)) return;
        event.type = KernelEventType::policy_deleted;
        event.policy = policy.id;
        break;
    }
    case XFRM_MSG_FLUSHSA:
    case XFRM_MSG_FLUSHPOLICY:
        break; // someone flushed a whole table: ours may be gone too
    default:
        return; // additions and updates: the daemon made (or does not care about) them
    }
    events.push_back(event);
}

} // namespace netlink
