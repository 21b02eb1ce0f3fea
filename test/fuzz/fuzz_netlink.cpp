// libFuzzer target for what gdoid reads from the kernel over XFRM netlink: a receive buffer of
// messages, walked as netlink/netlink_socket.cpp and xfrm_event_socket.cpp walk it
// (mnl_nlmsg_ok), each message decoded as the reader for its type does: NEWSA/UPDSA dump and GET
// replies (decode_state), NEWPOLICY/UPDPOLICY (decode_policy), the EXPIRE, DELSA, ACQUIRE,
// POLEXPIRE and DELPOLICY notifications (their fixed header, then the attributes, as
// XfrmEventSocket::decode reads them), NLMSG_ERROR (decode_error_message). The mirror of
// XfrmEventSocket::decode is needed because that one is private to a socket; keep them in step.
// Invariant beyond "no crash, no out-of-bounds read": only std::exception is thrown, what the
// readers of foreign input catch (dumps skip the entry, the event socket resyncs). Not only
// std::runtime_error as xfrm_codec.hpp says: an unknown address family is std::invalid_argument
// (xfrm_translate.cpp; corpus-netlink/crash-unknown-family-invalid-argument).
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <exception>
#include <stdexcept>
#include <vector>

#include <libmnl/libmnl.h>
#include <linux/xfrm.h>

#include "netlink/netlink_message.hpp"
#include "netlink/netlink_socket.hpp"
#include "netlink/ownership.hpp"
#include "netlink/xfrm_codec.hpp"
#include "netlink/xfrm_translate.hpp"

using namespace netlink;

namespace {

template <class T> bool read_header(const nlmsghdr* m, T& out) {
    if (m->nlmsg_len < NLMSG_HDRLEN + sizeof(T)) return false;
    std::memcpy(&out, reinterpret_cast<const uint8_t*>(m) + NLMSG_HDRLEN, sizeof out);
    return true;
}

void decode_one(const nlmsghdr* m) {
    switch (m->nlmsg_type) {
    case XFRM_MSG_NEWSA:
    case XFRM_MSG_UPDSA:
        (void)is_owned(decode_state(m).state);
        break;
    case XFRM_MSG_NEWPOLICY:
    case XFRM_MSG_UPDPOLICY:
        (void)is_owned(decode_policy(m));
        break;
    case XFRM_MSG_EXPIRE: {
        xfrm_user_expire expire;
        if (!read_header(m, expire)) throw std::runtime_error("short XFRM_MSG_EXPIRE");
        AttributeSet attributes(m, sizeof expire);
        (void)is_owned(decode_state(expire.state, attributes).state);
        break;
    }
    case XFRM_MSG_DELSA: {
        AttributeSet attributes(m, sizeof(xfrm_usersa_id));
        auto info = attributes.get_struct<xfrm_usersa_info>(XFRMA_SA);
        if (!info) throw std::runtime_error("XFRM_MSG_DELSA without XFRMA_SA");
        (void)is_owned(decode_state(*info, attributes).state);
        break;
    }
    case XFRM_MSG_ACQUIRE: {
        xfrm_user_acquire acquire;
        if (!read_header(m, acquire)) throw std::runtime_error("short XFRM_MSG_ACQUIRE");
        AttributeSet attributes(m, sizeof acquire);
        XfrmPolicy policy = decode_policy(acquire.policy, attributes);
        (void)is_owned(policy);
        (void)from_xfrm_selector(acquire.sel);
        const IpFamily family = from_address_family(
            acquire.policy.sel.family ? acquire.policy.sel.family : acquire.sel.family);
        (void)from_xfrm_address(acquire.id.daddr, family);
        (void)from_xfrm_address(acquire.saddr, family);
        break;
    }
    case XFRM_MSG_POLEXPIRE: {
        xfrm_user_polexpire expire;
        if (!read_header(m, expire)) throw std::runtime_error("short XFRM_MSG_POLEXPIRE");
        AttributeSet attributes(m, sizeof expire);
        (void)is_owned(decode_policy(expire.pol, attributes));
        break;
    }
    case XFRM_MSG_DELPOLICY: {
        AttributeSet attributes(m, sizeof(xfrm_userpolicy_id));
        auto info = attributes.get_struct<xfrm_userpolicy_info>(XFRMA_POLICY);
        if (!info) throw std::runtime_error("XFRM_MSG_DELPOLICY without XFRMA_POLICY");
        (void)is_owned(decode_policy(*info, attributes));
        break;
    }
    case NLMSG_ERROR:
        (void)decode_error_message(m);
        break;
    default:
        break;
    }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    // A receive buffer is aligned; the fuzzer's is not necessarily.
    std::vector<uint32_t> aligned((size + 3) / 4);
    if (size) std::memcpy(aligned.data(), data, size);
    int left = int(size);
    // The same walk as the readers, length check included (mnl_nlmsg_ok alone lets a length of
    // 2 GiB or more through: corpus-netlink/crash-length-over-2gib).
    for (auto* m = reinterpret_cast<const nlmsghdr*>(aligned.data());
         mnl_nlmsg_ok(m, left) && m->nlmsg_len <= unsigned(left);
         m = mnl_nlmsg_next(m, &left)) {
        try {
            decode_one(m);
        } catch (const std::exception&) {
        }
    }
    return 0;
}
