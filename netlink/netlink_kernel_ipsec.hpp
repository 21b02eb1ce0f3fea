// The real kernel facade: KernelIpsec over XFRM netlink (libmnl), with batching, ownership
// enforcement (netlink/ownership.hpp) and per-socket bypass.
#pragma once

#include "netlink/kernel_ipsec.hpp"
#include "netlink/netlink_socket.hpp"
#include "netlink/ownership.hpp"

#include <cstddef>
#include <span>
#include <string>
#include <variant>
#include <vector>

namespace netlink {

// One change in a batch.
struct XfrmOperation {
    enum class Kind {
        add_state,
        update_state,
        delete_state,
        add_policy,
        update_policy,
        delete_policy
    };
    Kind kind;
    std::variant<XfrmState, XfrmStateId, XfrmPolicy, XfrmPolicyId> object;

    static XfrmOperation add(XfrmState s) { return {Kind::add_state, std::move(s)}; }
    static XfrmOperation update(XfrmState s) { return {Kind::update_state, std::move(s)}; }
    static XfrmOperation remove(XfrmStateId id) { return {Kind::delete_state, std::move(id)}; }
    static XfrmOperation add(XfrmPolicy p) { return {Kind::add_policy, std::move(p)}; }
    static XfrmOperation update(XfrmPolicy p) { return {Kind::update_policy, std::move(p)}; }
    static XfrmOperation remove(XfrmPolicyId id) { return {Kind::delete_policy, std::move(id)}; }
};

// "adding XFRM state spi 0x10000001 dst 100.127.0.1" for an operation.
std::string describe(const XfrmOperation& operation);

struct BatchFailure {
    size_t index;        // position in the batch
    int error_number;    // errno (EPERM for an ownership refusal, EINVAL for a bad value)
    std::string message; // full operator-readable text, kernel reason included
};

// Thrown by apply() when at least one operation failed; every other operation was applied.
class BatchError : public KernelError {
public:
    explicit BatchError(std::vector<BatchFailure> failures, size_t total);
    const std::vector<BatchFailure>& failures() const { return failures_; }

private:
    std::vector<BatchFailure> failures_;
};

// The kernel's SA table, as XFRM_MSG_GETSADINFO reports it (netlink/state_hash.hpp).
struct StateHashSize {
    uint32_t states = 0;      // XFRMA_SAD_CNT
    uint32_t buckets = 0;     // xfrmu_sadhinfo.sadhcnt
    uint32_t max_buckets = 0; // xfrmu_sadhinfo.sadhmcnt
};

struct FlushResult {
    size_t states = 0;
    size_t policies = 0;
};

class NetlinkKernelIpsec : public KernelIpsec {
public:
    NetlinkKernelIpsec();

    void add_state(const XfrmState& state) override;
    void update_state(const XfrmState& state) override;
    void delete_state(const XfrmStateId& id) override;
    std::vector<XfrmState> dump_states() override; // every state, ours or not; no keys

    void add_policy(const XfrmPolicy& policy) override;
    void update_policy(const XfrmPolicy& policy) override;
    void delete_policy(const XfrmPolicyId& id) override;
    std::vector<XfrmPolicy> dump_policies() override; // every policy, ours or not
    void discard_acquire(const AcquirePlaceholder& placeholder) override;

    void bypass_socket(int fd, IpFamily family) override;

    // Many operations, packed into few sendmsg calls. Objects added must carry gdoid's marks;
    // updates and deletes of objects that exist but are not gdoid's are refused. Throws
    // BatchError naming every failed operation by index (the others are applied).
    void apply(std::span<const XfrmOperation> operations);

    std::vector<XfrmState> dump_owned_states();
    std::vector<XfrmPolicy> dump_owned_policies();
    // Deletes every state and policy that is gdoid's and nothing else (states first, so
    // traffic never leaves in clear while an owned policy still points at a state).
    FlushResult flush_owned();

    // Defined in state_hash.cpp. Throws KernelError when the kernel refuses the request.
    StateHashSize state_hash_size();

    // Whether the kernel knows XFRMA_SA_DIR (Linux >= 6.10); probed once at construction.
    bool sa_direction_supported() const { return sa_direction_supported_; }
    // The request socket's netlink port: notifications caused by our own requests carry it.
    uint32_t port_id() const { return socket_.port_id(); }
    const NetlinkCounters& counters() const { return socket_.counters(); }

private:
    bool probe_sa_direction();
    void apply_one(const XfrmOperation& operation);
    std::optional<XfrmState> get_state(const XfrmStateId& id);
    std::optional<XfrmPolicy> get_policy(const XfrmPolicyId& id);

    NetlinkSocket socket_;
    bool sa_direction_supported_ = false;
};

} // namespace netlink
