// Carries out a plan's operations in order on the kernel facade and the datapath maps, and
// stops at the first refusal. Because plans add before they remove, stopping leaves whatever
// worked before in place; the next plan() starts from what is then installed.
#pragma once

#include "netlink/kernel_ipsec.hpp"
#include "policy/plan.hpp"

#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace policy {

// The BPF maps, as bpf/ will expose them (an interface so policy/ stays free of bpf()).
class DatapathMapWriter {
public:
    virtual ~DatapathMapWriter() = default;
    virtual void add(const MapEntry& entry) = 0;    // throws std::runtime_error on failure
    virtual void remove(const MapEntry& entry) = 0; // throws std::runtime_error on failure
};

struct ApplyResult {
    size_t applied = 0;                 // operations that succeeded, from the first
    std::optional<size_t> failed_index; // the operation that was refused
    std::string error;                  // "operation 3 of 9 (add policy ...) failed: ..."
    int error_number = 0;               // the kernel's errno, 0 for a map failure
    // States added without the NIC offload they asked for because the kernel refused the request
    // (e.g. no esp4_offload/esp6_offload, a driver that rejects the SA); the last reason.
    size_t offload_refused = 0;
    std::string offload_error;
    bool ok() const { return !failed_index.has_value(); }
};

// `settle`, when given, runs once before the first state deletion that follows a policy change
// in the same plan. The kernel resolves a packet's policy and then its states without a lock
// across both: a packet on another CPU that met the old `out` policy just before the switch
// still looks for the old state, and finds it deleted (dropped, counted XfrmOutNoStates; seen
// once under an ASan build in VM 090). The daemon lets those packets through first. A rekey no
// longer deletes at the switch (desired_objects keeps the old TEK's outbound states until its
// DTD: 100 ms was not always enough in a loaded emulated VM); the hook covers the rest, such
// as a TEK that runs out at the moment its successor takes over.
ApplyResult apply_plan(const std::vector<Operation>& operations, netlink::KernelIpsec& kernel,
                       DatapathMapWriter& maps, const std::function<void()>& settle = {});

} // namespace policy
