// Errors of the BPF datapath (loading, attaching, map updates), each with a kind the daemon
// can act on and a message an operator can read: what failed, where, and why.
#pragma once

#include <stdexcept>
#include <string>

namespace bpf {

enum class DatapathErrorKind {
    invalid_config,     // a value we were given cannot work (mark layout, anchor family ...)
    permission,         // missing CAP_BPF/CAP_SYS_ADMIN or CAP_NET_ADMIN, or an LSM said no
    bpf_unavailable,    // the kernel has no bpf() syscall or lacks a map/program type we need
    verifier_rejected,  // the kernel's verifier refused a program; the message has the log tail
    no_such_device,     // the named interface does not exist (in this network namespace)
    unsupported_device, // the interface is not Ethernet-framed
    attach_failed,      // tc/netlink refused the qdisc or filter
    map_update_failed,  // a map update failed (full, or the kernel refused it)
};

class DatapathError : public std::runtime_error {
public:
    DatapathError(DatapathErrorKind kind, const std::string& message)
        : std::runtime_error(message), kind_(kind) {}
    DatapathErrorKind kind() const { return kind_; }

private:
    DatapathErrorKind kind_;
};

// strerror for a positive or negative errno value, thread safe.
std::string errno_text(int err);

// What a failed skeleton load means for the operator, from libbpf's return code and its log
// (which quotes the verifier between "-- BEGIN PROG LOAD LOG --" and "-- END ... --").
DatapathError load_error(int rc, const std::string& libbpf_log, const std::string& kernel_release);
std::string kernel_release(); // uname -r

// The last `max_lines` non-empty lines of a verifier/libbpf log, the part that says why.
std::string log_tail(const std::string& log, size_t max_lines);

} // namespace bpf
