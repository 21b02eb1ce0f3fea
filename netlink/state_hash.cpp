#include "netlink/state_hash.hpp"

#include "netlink/netlink_message.hpp"
#include "netlink/ownership.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <libmnl/libmnl.h>
#include <linux/xfrm.h>
#include <netinet/in.h>
#include <thread>
#include <utility>

namespace netlink {

namespace {

using Clock = std::chrono::steady_clock;

// Placeholders share addresses and reqid, so every one after the first lands in the bucket of
// the others: the kernel resizes only when the added state collides (xfrm_hash_grow_check()).
XfrmState placeholder(uint32_t index) {
    XfrmState state;
    state.id.destination = IpAddress::v4(0, 0, 0, 0);
    state.id.spi = 0x100 + index; // 0-255 are reserved (RFC 4303 section 2.1)
    state.id.ip_protocol = IPPROTO_ESP;
    state.source = IpAddress::v4(0, 0, 0, 0);
    state.mode = XfrmMode::tunnel;
    state.reqid = owned_placeholder_reqid;
    state.selector.source = {IpAddress::v4(0, 0, 0, 0), 0};
    state.selector.destination = {IpAddress::v4(0, 0, 0, 0), 0};
    state.replay_window = 0;
    // Algorithms every group member has loaded already; the keys protect nothing (no policy
    // points at a placeholder, and nothing is received at 0.0.0.0).
    state.encryption = XfrmAlgorithm{"cbc(aes)", gdoi::SecretBytes(size_t(16)), 0};
    state.authentication = XfrmAlgorithm{"hmac(sha256)", gdoi::SecretBytes(size_t(32)), 128};
    return state;
}

// Applies the batch; a few refusals (an SPI a foreign state already holds toward 0.0.0.0) are
// tolerated, a kernel that refuses every one (no ESP) is not. Returns how many were applied.
size_t apply_tolerating(NetlinkKernelIpsec& kernel, const std::vector<XfrmOperation>& operations) {
    try {
        kernel.apply(operations);
        return operations.size();
    } catch (const BatchError& e) {
        if (e.failures().size() == operations.size()) throw;
        return operations.size() - e.failures().size();
    }
}

void remove_placeholders(NetlinkKernelIpsec& kernel) {
    std::vector<XfrmOperation> removals;
    for (const auto& state : kernel.dump_owned_states()) {
        if (state.reqid == owned_placeholder_reqid) removals.push_back(XfrmOperation::remove(state.id));
        if (removals.size() == 64) apply_tolerating(kernel, std::exchange(removals, {}));
    }
    if (!removals.empty()) apply_tolerating(kernel, removals);
}

// The resize runs in a work item after the add that triggered it: wait for the table to change.
StateHashSize wait_for_resize(NetlinkKernelIpsec& kernel, uint32_t from_buckets) {
    const auto deadline = Clock::now() + std::chrono::milliseconds(200);
    StateHashSize size = kernel.state_hash_size();
    while (size.buckets == from_buckets && Clock::now() < deadline) {
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
        size = kernel.state_hash_size();
    }
    return size;
}

struct SadInfo {
    StateHashSize size;
    bool have_count = false;
    bool have_buckets = false;
};

int read_attribute(const nlattr* attribute, void* data) {
    auto& info = *static_cast<SadInfo*>(data);
    switch (mnl_attr_get_type(attribute)) {
    case XFRMA_SAD_CNT:
        if (mnl_attr_validate(attribute, MNL_TYPE_U32) < 0) return MNL_CB_ERROR;
        info.size.states = mnl_attr_get_u32(attribute);
        info.have_count = true;
        break;
    case XFRMA_SAD_HINFO: {
        if (mnl_attr_get_payload_len(attribute) < sizeof(xfrmu_sadhinfo)) return MNL_CB_ERROR;
        xfrmu_sadhinfo hash{};
        std::memcpy(&hash, mnl_attr_get_payload(attribute), sizeof hash);
        info.size.buckets = hash.sadhcnt;
        info.size.max_buckets = hash.sadhmcnt;
        info.have_buckets = true;
        break;
    }
    default:
        break;
    }
    return MNL_CB_OK;
}

} // namespace

StateHashSize NetlinkKernelIpsec::state_hash_size() {
    // xfrm_get_sadinfo(): the request carries a u32 of flags, the answer (XFRM_MSG_NEWSADINFO)
    // the same u32 followed by XFRMA_SAD_* attributes (their own numbering, not XFRMA_*).
    MessageBuilder request(XFRM_MSG_GETSADINFO, NLM_F_REQUEST);
    request.put_header(uint32_t(0));
    std::vector<std::vector<uint8_t>> replies;
    if (auto failure = socket_.request(request.bytes(), &replies))
        throw KernelError(format_kernel_error("reading the kernel's SA table size", *failure),
                          failure->error_number);
    for (const auto& reply : replies) {
        const auto* message = reinterpret_cast<const nlmsghdr*>(reply.data());
        if (reply.size() < sizeof(nlmsghdr) || message->nlmsg_type != XFRM_MSG_NEWSADINFO) continue;
        SadInfo info;
        if (mnl_attr_parse(message, sizeof(uint32_t), read_attribute, &info) == MNL_CB_OK &&
            info.have_count && info.have_buckets)
            return info.size;
    }
    throw KernelError("reading the kernel's SA table size: the answer carried no SA count and hash size", EPROTO);
}

StateHashGrowth grow_state_hash(NetlinkKernelIpsec& kernel, uint32_t buckets) {
    const auto started = Clock::now();
    StateHashGrowth growth;
    remove_placeholders(kernel); // a gdoid killed while growing it
    growth.before = kernel.state_hash_size();
    growth.after = growth.before;
    const uint32_t target = std::min(buckets, growth.before.max_buckets);
    if (growth.before.buckets >= target) return growth;

    // xfrm_hash_grow_check(): an added state that collides doubles the table when the table
    // holds more states than buckets - 1. With target / 2 + 1 states, every size below the
    // target is such a table; each further collision doubles it once more.
    const uint32_t wanted_states = target / 2 + 1;
    const uint32_t first_batch = growth.before.states < wanted_states ? wanted_states - growth.before.states : 1;
    uint32_t next_index = 0;
    try {
        // In chunks: each message is built in a 4 KiB buffer, and gdoid's heap should not keep
        // the high-water mark of hundreds of them.
        while (next_index < first_batch) {
            std::vector<XfrmOperation> additions;
            for (; next_index < first_batch && additions.size() < 64; ++next_index)
                additions.push_back(XfrmOperation::add(placeholder(next_index)));
            growth.placeholders += apply_tolerating(kernel, additions);
        }
        // The kernel doubles at most once per add that finds no resize pending: one more
        // placeholder per doubling still missing (log2(1024 / 8) = 7 at most).
        StateHashSize size = wait_for_resize(kernel, growth.before.buckets);
        for (int round = 0; size.buckets < target && round < 24; ++round) {
            kernel.apply(std::vector{XfrmOperation::add(placeholder(next_index++))});
            ++growth.placeholders;
            size = wait_for_resize(kernel, size.buckets);
        }
    } catch (...) {
        remove_placeholders(kernel);
        throw;
    }
    remove_placeholders(kernel);
    growth.after = kernel.state_hash_size();
    growth.took = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - started);
    return growth;
}

} // namespace netlink
