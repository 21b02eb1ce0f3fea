// XFRM message assembly and decoding: XfrmState / XfrmPolicy <-> NEWSA, UPDSA, DELSA, GETSA,
// NEWPOLICY, UPDPOLICY, DELPOLICY, GETPOLICY. Pure: builds bytes, reads bytes, no sockets.
#pragma once

#include "netlink/netlink_message.hpp"
#include "netlink/xfrm_objects.hpp"

#include <linux/xfrm.h>
#include <stdexcept>

namespace netlink {

// A value the kernel cannot take, found before anything is sent (std::invalid_argument so the
// caller can phrase it with the object's name).
class InvalidXfrmObject : public std::invalid_argument {
public:
    using std::invalid_argument::invalid_argument;
};

struct StateEncodingOptions {
    bool sa_direction_supported = false; // send XFRMA_SA_DIR (Linux >= 6.10)
    int offload_ifindex = 0;             // resolved XfrmState::offload_device, 0 = none
};

// NEWSA (or UPDSA when update is set). Throws InvalidXfrmObject.
MessageBuilder build_add_state(const XfrmState& state, bool update,
                               const StateEncodingOptions& options);
// DELSA or GETSA for one state.
MessageBuilder build_state_id_request(uint16_t type, const XfrmStateId& id);
MessageBuilder build_state_dump_request();
// ALLOCSPI for an ACQUIRE's placeholder (found by the ACQUIRE's sequence number, else by its
// addresses and reqid): gives it an SPI in [1, 255] -- reserved by RFC 4303 section 2.1, so
// never a group SA's -- under which DELSA can then name it.
MessageBuilder build_allocate_placeholder_spi(const AcquirePlaceholder& placeholder);

// NEWPOLICY (or UPDPOLICY). Throws InvalidXfrmObject.
MessageBuilder build_add_policy(const XfrmPolicy& policy, bool update);
// DELPOLICY or GETPOLICY for one policy.
MessageBuilder build_policy_id_request(uint16_t type, const XfrmPolicyId& id);
MessageBuilder build_policy_dump_request();

struct DecodedState {
    XfrmState state; // keys are not read back
    int offload_ifindex = 0;
};

// Reads a NEWSA/UPDSA message (a dump entry or a GETSA answer). Throws std::runtime_error.
DecodedState decode_state(const nlmsghdr* message);
DecodedState decode_state(const xfrm_usersa_info& info, const AttributeSet& attributes);
// Reads a NEWPOLICY/UPDPOLICY message. Throws std::runtime_error.
XfrmPolicy decode_policy(const nlmsghdr* message);
XfrmPolicy decode_policy(const xfrm_userpolicy_info& info, const AttributeSet& attributes);

} // namespace netlink
