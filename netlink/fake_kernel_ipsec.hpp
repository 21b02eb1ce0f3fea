// An in-memory KernelIpsec for unit tests: the kernel's identity rules (a state is its
// destination/SPI/protocol/mark, a policy its selector/direction/mark), its errors (EEXIST on a
// duplicate add, ESRCH for a missing state and ENOENT for a missing policy, as the kernel
// answers), an ordered log of every call, a journal of the changes made, injected failures,
// and room for foreign objects.
#pragma once

#include "netlink/kernel_ipsec.hpp"

#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace netlink {

class FakeKernelIpsec : public KernelIpsec {
public:
    struct Call {
        enum class Kind {
            add_state,
            update_state,
            delete_state,
            dump_states,
            add_policy,
            update_policy,
            delete_policy,
            dump_policies,
            bypass_socket,
            discard_acquire,
        };
        Kind kind = Kind::add_state;
        std::optional<XfrmStateId> state;
        std::optional<XfrmPolicyId> policy;
        std::string text; // "add_state dst 100.127.0.1 spi 0x10000001", for assertions
        int error = 0;    // errno the call failed with, 0 = succeeded
    };

    void add_state(const XfrmState& state) override;
    void update_state(const XfrmState& state) override;
    void delete_state(const XfrmStateId& id) override;
    std::vector<XfrmState> dump_states() override;
    void add_policy(const XfrmPolicy& policy) override;
    void update_policy(const XfrmPolicy& policy) override;
    void delete_policy(const XfrmPolicyId& id) override;
    std::vector<XfrmPolicy> dump_policies() override;
    void bypass_socket(int fd, IpFamily family) override;
    void discard_acquire(const AcquirePlaceholder& placeholder) override;

    // What the kernel does when a packet meets a policy whose template has no state: it keeps
    // a placeholder (SPI 0, no algorithms; dumped like any state) until discard_acquire() or
    // its expiry. Returns it as the ACQUIRE would name it.
    AcquirePlaceholder insert_acquire_placeholder(const IpAddress& destination, const IpAddress& source,
                                                  uint32_t reqid);

    // Objects someone else (strongSwan, an operator) installed; not logged as calls.
    void insert_foreign(const XfrmState& state) { states_.push_back(state); }
    void insert_foreign(const XfrmPolicy& policy);

    // The next call for which `match` is true fails with `error_number` (KernelError) and
    // changes nothing. With `once` false every matching call fails.
    void fail_when(std::function<bool(const Call&)> match, int error_number, bool once = true);
    // Shorthand: the n-th (0-based) call of this kind from now on fails.
    void fail_nth(Call::Kind kind, size_t n, int error_number);

    // Called after every successful change, with the call that made it: lets a test check an
    // invariant at every single step of a plan.
    void on_change(std::function<void(const FakeKernelIpsec&, const Call&)> observer) {
        observer_ = std::move(observer);
    }

    const std::vector<Call>& calls() const { return calls_; }
    std::vector<std::string> call_texts() const;
    void clear_calls() { calls_.clear(); }

    // The changes made, in order, one short line each, so a test can assert a whole sequence
    // of kernel operations: "add state 0x00001000 in", "delete state 0x00001000 out",
    // "update policy out 10.1.0.0/16->10.2.0.0/16 dev if2 esp spi 0x00001000",
    // "add policy fwd 10.2.0.0/16->10.1.0.0/16 dev if3 block", "bypass socket fd 5".
    // A state without a direction (kernels before XFRMA_SA_DIR) reads "dst <address>" instead.
    // Refused calls and dumps change nothing and are not in it.
    const std::vector<std::string>& journal() const { return journal_; }
    void clear_journal() { journal_.clear(); }

    // What is installed, keys included (the real kernel never reports keys; dump_*() do not).
    const std::vector<XfrmState>& states() const { return states_; }
    const std::vector<XfrmPolicy>& policies() const { return policies_; }
    const XfrmState* find_state(const XfrmStateId& id) const;
    const XfrmPolicy* find_policy(const XfrmPolicyId& id) const;
    const std::vector<std::pair<int, IpFamily>>& bypassed_sockets() const { return bypassed_; }

    static const char* kind_name(Call::Kind kind);

private:
    struct Failure {
        std::function<bool(const Call&)> match;
        int error_number;
        bool once;
    };
    // Logs the call; throws KernelError if an injected failure matches.
    void begin(Call call);
    // Records the change (`line` for the journal) and tells the observer.
    void finish(std::string line);
    [[noreturn]] void refuse(const std::string& what, int error_number);

    std::vector<XfrmState> states_;
    std::vector<XfrmPolicy> policies_;
    std::vector<std::pair<int, IpFamily>> bypassed_;
    std::vector<Call> calls_;
    std::vector<std::string> journal_;
    std::vector<Failure> failures_;
    std::function<void(const FakeKernelIpsec&, const Call&)> observer_;
    uint32_t next_index_ = 8; // the kernel's policy indexes are never 0
    uint32_t next_acquire_sequence_ = 1;
};

} // namespace netlink
