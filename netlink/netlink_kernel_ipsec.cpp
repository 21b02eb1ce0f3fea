#include "netlink/netlink_kernel_ipsec.hpp"

#include "netlink/xfrm_codec.hpp"
#include "netlink/xfrm_translate.hpp"

#include <cerrno>
#include <cstring>
#include <map>
#include <net/if.h>
#include <netinet/in.h>
#include <openssl/crypto.h>
#include <sys/socket.h>

namespace netlink {

namespace {

using Kind = XfrmOperation::Kind;

bool is_state_kind(Kind k) {
    return k == Kind::add_state || k == Kind::update_state || k == Kind::delete_state;
}

// The kernel reports a 0/0 mark as no mark at all; compare identities the same way.
std::optional<XfrmMark> normalised(const std::optional<XfrmMark>& mark) {
    if (mark && mark->value == 0 && mark->mask == 0) return std::nullopt;
    return mark;
}
XfrmStateId normalised(XfrmStateId id) {
    id.mark = normalised(id.mark);
    return id;
}
XfrmPolicyId normalised(XfrmPolicyId id) {
    id.mark = normalised(id.mark);
    return id;
}

const XfrmStateId& state_id_of(const XfrmOperation& op) {
    if (op.kind == Kind::delete_state) return std::get<XfrmStateId>(op.object);
    return std::get<XfrmState>(op.object).id;
}
const XfrmPolicyId& policy_id_of(const XfrmOperation& op) {
    if (op.kind == Kind::delete_policy) return std::get<XfrmPolicyId>(op.object);
    return std::get<XfrmPolicy>(op.object).id;
}

// What an operator can do about the most common refusals.
std::string hint(const XfrmOperation& op, int error_number) {
    if (is_state_kind(op.kind) && op.kind != Kind::delete_state && error_number == EPROTONOSUPPORT)
        return "; this kernel has no ESP support (enable CONFIG_INET_ESP/CONFIG_INET6_ESP or "
               "load the esp4/esp6 modules)";
    if (is_state_kind(op.kind) && op.kind != Kind::delete_state && error_number == ENOSYS)
        return "; the kernel lacks the crypto algorithm (load its module, e.g. aes, sha256, gcm)";
    if (op.kind == Kind::add_state && error_number == EEXIST)
        return "; a state with this SPI exists";
    if (op.kind == Kind::add_policy && error_number == EEXIST)
        return "; a policy with this selector, direction and mark exists";
    return "";
}

std::string text_for(const XfrmOperation& op, const KernelFailure& failure) {
    return format_kernel_error(describe(op), failure) + hint(op, failure.error_number);
}

// Refuses objects that would not be recognisable as gdoid's after a restart.
std::optional<std::string> not_marked_as_ours(const XfrmOperation& op) {
    char buffer[96];
    if (op.kind == Kind::add_state || op.kind == Kind::update_state) {
        const auto& s = std::get<XfrmState>(op.object);
        if (is_owned(s)) return std::nullopt;
        std::snprintf(buffer, sizeof buffer, "reqid 0x%08x is outside gdoid's range 0x%08x-0x%08x",
                      s.reqid, owned_reqid_first, owned_reqid_last);
        return buffer;
    }
    if (op.kind == Kind::add_policy || op.kind == Kind::update_policy) {
        const auto& p = std::get<XfrmPolicy>(op.object);
        if (is_owned(p)) return std::nullopt;
        if (!is_owned_priority(p.priority))
            std::snprintf(buffer, sizeof buffer,
                          "priority 0x%08x is outside gdoid's band 0x%08x-0x%08x", p.priority,
                          owned_priority_first, owned_priority_last);
        else
            std::snprintf(buffer, sizeof buffer, "a template reqid is outside gdoid's range");
        return buffer;
    }
    return std::nullopt;
}

std::string foreign_text(const XfrmOperation& op) {
    return describe(op) + ": refused, the kernel object exists and belongs to another program " +
           "(not in gdoid's reqid range / priority band)";
}

int offload_ifindex(const XfrmState& state) {
    if (!state.offload_device) return 0;
    const unsigned index = if_nametoindex(state.offload_device->c_str());
    if (index == 0)
        throw KernelError("adding XFRM state " + describe(state.id) + ": offload device \"" +
                              *state.offload_device + "\" does not exist",
                          ENODEV);
    return int(index);
}

void wipe(std::vector<std::vector<uint8_t>>& messages) {
    for (auto& m : messages)
        OPENSSL_cleanse(m.data(), m.size());
}

} // namespace

std::string describe(const XfrmOperation& op) {
    static const char* verbs[] = {"adding", "updating", "deleting",
                                  "adding", "updating", "deleting"};
    const std::string verb = verbs[int(op.kind)];
    if (is_state_kind(op.kind)) return verb + " XFRM state " + describe(state_id_of(op));
    return verb + " XFRM " + describe(policy_id_of(op));
}

BatchError::BatchError(std::vector<BatchFailure> failures, size_t total)
    : KernelError(std::to_string(failures.size()) + " of " + std::to_string(total) +
                      " XFRM operations failed; first: #" + std::to_string(failures.front().index) +
                      " " + failures.front().message,
                  failures.front().error_number),
      failures_(std::move(failures)) {}

NetlinkKernelIpsec::NetlinkKernelIpsec() : socket_(NETLINK_XFRM) {
    sa_direction_supported_ = probe_sa_direction();
}

bool NetlinkKernelIpsec::probe_sa_direction() {
    // Kernels that know XFRMA_SA_DIR validate it strictly (range 1..2) and refuse 0 with
    // ERANGE ("integer out of range") before looking anything up; older kernels ignore the
    // unknown attribute and answer ESRCH for the (nonexistent) state.
    XfrmStateId nowhere;
    nowhere.destination = IpAddress::v4(127, 0, 0, 255);
    nowhere.spi = 0xffffffff;
    MessageBuilder probe = build_state_id_request(XFRM_MSG_GETSA, nowhere);
    probe.put_attribute(xfrma_sa_dir, uint8_t(0));
    std::vector<std::vector<uint8_t>> replies;
    auto failure = socket_.request(probe.bytes(), &replies);
    wipe(replies);
    return failure && (failure->error_number == ERANGE || failure->error_number == EINVAL);
}

void NetlinkKernelIpsec::apply_one(const XfrmOperation& op) {
    if (auto problem = not_marked_as_ours(op))
        throw KernelError(describe(op) + ": refused, " + *problem, EPERM);
    // Updating or deleting replaces or removes whatever the kernel holds under that identity:
    // make sure it is ours first.
    if (op.kind == Kind::update_state || op.kind == Kind::delete_state) {
        if (auto existing = get_state(state_id_of(op)); existing && !is_owned(*existing))
            throw KernelError(foreign_text(op), EPERM);
    } else if (op.kind == Kind::update_policy || op.kind == Kind::delete_policy) {
        if (auto existing = get_policy(policy_id_of(op)); existing && !is_owned(*existing))
            throw KernelError(foreign_text(op), EPERM);
    }
    std::optional<MessageBuilder> message;
    try {
        switch (op.kind) {
        case Kind::add_state:
        case Kind::update_state: {
            const auto& s = std::get<XfrmState>(op.object);
            message.emplace(build_add_state(s, op.kind == Kind::update_state,
                                            {sa_direction_supported_, offload_ifindex(s)}));
            break;
        }
        case Kind::delete_state:
            message.emplace(build_state_id_request(XFRM_MSG_DELSA, state_id_of(op)));
            break;
        case Kind::add_policy:
        case Kind::update_policy:
            message.emplace(
                build_add_policy(std::get<XfrmPolicy>(op.object), op.kind == Kind::update_policy));
            break;
        case Kind::delete_policy:
            message.emplace(build_policy_id_request(XFRM_MSG_DELPOLICY, policy_id_of(op)));
            break;
        }
    } catch (const InvalidXfrmObject& e) {
        throw KernelError(describe(op) + ": " + e.what(), EINVAL);
    }
    if (auto failure = socket_.request(message->bytes()))
        throw KernelError(text_for(op, *failure), failure->error_number);
}

void NetlinkKernelIpsec::add_state(const XfrmState& s) {
    apply_one(XfrmOperation::add(s));
}
void NetlinkKernelIpsec::update_state(const XfrmState& s) {
    apply_one(XfrmOperation::update(s));
}
void NetlinkKernelIpsec::delete_state(const XfrmStateId& id) {
    apply_one(XfrmOperation::remove(id));
}
void NetlinkKernelIpsec::add_policy(const XfrmPolicy& p) {
    apply_one(XfrmOperation::add(p));
}
void NetlinkKernelIpsec::update_policy(const XfrmPolicy& p) {
    apply_one(XfrmOperation::update(p));
}
void NetlinkKernelIpsec::delete_policy(const XfrmPolicyId& id) {
    apply_one(XfrmOperation::remove(id));
}

std::optional<XfrmState> NetlinkKernelIpsec::get_state(const XfrmStateId& id) {
    MessageBuilder request = build_state_id_request(XFRM_MSG_GETSA, id);
    std::vector<std::vector<uint8_t>> replies;
    auto failure = socket_.request(request.bytes(), &replies);
    std::optional<XfrmState> found;
    if (!failure && !replies.empty())
        found = decode_state(reinterpret_cast<const nlmsghdr*>(replies.front().data())).state;
    wipe(replies);
    if (failure && failure->error_number != ESRCH && failure->error_number != ENOENT)
        throw KernelError(format_kernel_error("looking up XFRM state " + describe(id), *failure),
                          failure->error_number);
    return found;
}

std::optional<XfrmPolicy> NetlinkKernelIpsec::get_policy(const XfrmPolicyId& id) {
    MessageBuilder request = build_policy_id_request(XFRM_MSG_GETPOLICY, id);
    std::vector<std::vector<uint8_t>> replies;
    auto failure = socket_.request(request.bytes(), &replies);
    if (failure && failure->error_number != ENOENT && failure->error_number != ESRCH)
        throw KernelError(format_kernel_error("looking up XFRM " + describe(id), *failure),
                          failure->error_number);
    if (failure || replies.empty()) return std::nullopt;
    return decode_policy(reinterpret_cast<const nlmsghdr*>(replies.front().data()));
}

std::vector<XfrmState> NetlinkKernelIpsec::dump_states() {
    MessageBuilder request = build_state_dump_request();
    auto messages = socket_.dump(request.bytes(), "listing XFRM states");
    std::vector<XfrmState> states;
    for (const auto& m : messages) {
        // Entries gdoid cannot represent (other families, modes) cannot be gdoid's: skip them.
        try {
            DecodedState decoded = decode_state(reinterpret_cast<const nlmsghdr*>(m.data()));
            if (decoded.offload_ifindex) {
                char name[IF_NAMESIZE] = {};
                if (if_indextoname(unsigned(decoded.offload_ifindex), name))
                    decoded.state.offload_device = name;
            }
            states.push_back(std::move(decoded.state));
        } catch (const std::exception&) {
        }
    }
    wipe(messages); // the kernel includes keys in dumps
    return states;
}

std::vector<XfrmPolicy> NetlinkKernelIpsec::dump_policies() {
    MessageBuilder request = build_policy_dump_request();
    auto messages = socket_.dump(request.bytes(), "listing XFRM policies");
    std::vector<XfrmPolicy> policies;
    for (const auto& m : messages) {
        try {
            policies.push_back(decode_policy(reinterpret_cast<const nlmsghdr*>(m.data())));
        } catch (const std::exception&) {
        }
    }
    return policies;
}

std::vector<XfrmState> NetlinkKernelIpsec::dump_owned_states() {
    auto all = dump_states();
    std::erase_if(all, [](const XfrmState& s) { return !is_owned(s); });
    return all;
}

std::vector<XfrmPolicy> NetlinkKernelIpsec::dump_owned_policies() {
    auto all = dump_policies();
    std::erase_if(all, [](const XfrmPolicy& p) { return !is_owned(p); });
    return all;
}

void NetlinkKernelIpsec::apply(std::span<const XfrmOperation> operations) {
    std::vector<BatchFailure> failures;
    // One dump per object kind tells which existing identities are foreign.
    bool need_states = false, need_policies = false;
    for (const auto& op : operations) {
        need_states |= op.kind == Kind::update_state || op.kind == Kind::delete_state;
        need_policies |= op.kind == Kind::update_policy || op.kind == Kind::delete_policy;
    }
    std::map<XfrmStateId, bool> state_owner;
    std::map<XfrmPolicyId, bool> policy_owner;
    if (need_states)
        for (const auto& s : dump_states())
            state_owner[normalised(s.id)] = is_owned(s);
    if (need_policies)
        for (const auto& p : dump_policies())
            policy_owner[normalised(p.id)] = is_owned(p);

    std::vector<MessageBuilder> built;
    std::vector<size_t> index_of;
    std::vector<std::span<uint8_t>> messages;
    for (size_t i = 0; i < operations.size(); ++i) {
        const auto& op = operations[i];
        if (auto problem = not_marked_as_ours(op)) {
            failures.push_back({i, EPERM, describe(op) + ": refused, " + *problem});
            continue;
        }
        bool foreign = false;
        if (op.kind == Kind::update_state || op.kind == Kind::delete_state) {
            auto it = state_owner.find(normalised(state_id_of(op)));
            foreign = it != state_owner.end() && !it->second;
        } else if (op.kind == Kind::update_policy || op.kind == Kind::delete_policy) {
            auto it = policy_owner.find(normalised(policy_id_of(op)));
            foreign = it != policy_owner.end() && !it->second;
        }
        if (foreign) {
            failures.push_back({i, EPERM, foreign_text(op)});
            continue;
        }
        try {
            switch (op.kind) {
            case Kind::add_state:
            case Kind::update_state: {
                const auto& s = std::get<XfrmState>(op.object);
                built.push_back(build_add_state(s, op.kind == Kind::update_state,
                                                {sa_direction_supported_, offload_ifindex(s)}));
                break;
            }
            case Kind::delete_state:
                built.push_back(build_state_id_request(XFRM_MSG_DELSA, state_id_of(op)));
                break;
            case Kind::add_policy:
            case Kind::update_policy:
                built.push_back(build_add_policy(std::get<XfrmPolicy>(op.object),
                                                 op.kind == Kind::update_policy));
                break;
            case Kind::delete_policy:
                built.push_back(build_policy_id_request(XFRM_MSG_DELPOLICY, policy_id_of(op)));
                break;
            }
        } catch (const InvalidXfrmObject& e) {
            failures.push_back({i, EINVAL, describe(op) + ": " + e.what()});
            continue;
        } catch (const KernelError& e) {
            failures.push_back({i, e.error_number(), e.what()});
            continue;
        }
        index_of.push_back(i);
    }
    for (auto& b : built)
        messages.push_back(b.bytes());
    auto results = socket_.batch(messages);
    for (size_t k = 0; k < results.size(); ++k)
        if (results[k])
            failures.push_back({index_of[k], results[k]->error_number,
                                text_for(operations[index_of[k]], *results[k])});
    if (failures.empty()) return;
    std::sort(failures.begin(), failures.end(),
              [](const BatchFailure& a, const BatchFailure& b) { return a.index < b.index; });
    throw BatchError(std::move(failures), operations.size());
}

void NetlinkKernelIpsec::discard_acquire(const AcquirePlaceholder& placeholder) {
    const std::string what = "removing the ACQUIRE placeholder dst " + placeholder.destination.to_string() +
                             " src " + placeholder.source.to_string();
    if (!is_owned_reqid(placeholder.reqid))
        throw KernelError(what + ": refused, its reqid is not gdoid's (netlink/ownership.hpp)", EPERM);
    // A placeholder has SPI 0 and DELSA finds states by SPI: give it one first. Should it be
    // gone already, ALLOCSPI makes a fresh one, which the DELSA below removes again.
    MessageBuilder allocate = build_allocate_placeholder_spi(placeholder);
    std::vector<std::vector<uint8_t>> replies;
    auto failure = socket_.request(allocate.bytes(), &replies);
    std::optional<XfrmStateId> id;
    if (!failure && !replies.empty()) {
        try {
            id = decode_state(reinterpret_cast<const nlmsghdr*>(replies.front().data())).state.id;
        } catch (const std::exception&) {
        }
    }
    wipe(replies);
    if (failure) throw KernelError(format_kernel_error(what, *failure), failure->error_number);
    if (!id) throw KernelError(what + ": the kernel's ALLOCSPI answer named no state", EPROTO);
    MessageBuilder remove = build_state_id_request(XFRM_MSG_DELSA, *id);
    if (auto failed = socket_.request(remove.bytes()); failed && failed->error_number != ESRCH)
        throw KernelError(format_kernel_error(what, *failed), failed->error_number);
}

FlushResult NetlinkKernelIpsec::flush_owned() {
    FlushResult result;
    std::vector<XfrmOperation> operations;
    for (const auto& s : dump_owned_states())
        operations.push_back(XfrmOperation::remove(s.id));
    result.states = operations.size();
    for (const auto& p : dump_owned_policies())
        operations.push_back(XfrmOperation::remove(p.id));
    result.policies = operations.size() - result.states;
    if (!operations.empty()) apply(operations);
    return result;
}

void NetlinkKernelIpsec::bypass_socket(int fd, IpFamily family) {
    // A per-socket policy with action allow and no templates overrides every SPD entry for
    // this socket, in both directions (ip(7) IP_XFRM_POLICY; strongSwan/libreswan do the same
    // for their IKE sockets).
    xfrm_userpolicy_info policy{};
    policy.action = XFRM_POLICY_ALLOW;
    policy.sel.family = to_address_family(family);
    policy.lft.soft_byte_limit = policy.lft.hard_byte_limit = XFRM_INF;
    policy.lft.soft_packet_limit = policy.lft.hard_packet_limit = XFRM_INF;
    const int level = family == IpFamily::v4 ? IPPROTO_IP : IPPROTO_IPV6;
    const int option = family == IpFamily::v4 ? IP_XFRM_POLICY : IPV6_XFRM_POLICY;
    for (uint8_t direction : {uint8_t(XFRM_POLICY_IN), uint8_t(XFRM_POLICY_OUT)}) {
        policy.dir = direction;
        if (setsockopt(fd, level, option, &policy, sizeof policy) < 0) {
            const int error_number = errno;
            throw KernelError(
                format_kernel_error("exempting socket " + std::to_string(fd) +
                                        (direction == XFRM_POLICY_IN ? " (in)" : " (out)") +
                                        " from IPsec policies",
                                    {error_number, {}}),
                error_number);
        }
    }
}

} // namespace netlink
