#include "policy/apply_plan.hpp"

#include <stdexcept>

namespace policy {

namespace {

void apply_one(const Operation& op, netlink::KernelIpsec& kernel, DatapathMapWriter& maps,
               ApplyResult& result) {
    using K = Operation::Kind;
    switch (op.kind) {
    case K::add_state:
        try {
            kernel.add_state(op.state);
        } catch (const netlink::KernelError& e) {
            // NIC offload is an optimisation: when the kernel refuses the request, the same
            // state in software. Devices without IPsec offload are skipped silently by the
            // kernel; a driver that has it but cannot take this state (Linux drivers take
            // AES-GCM only) makes the kernel refuse the whole state, as does a kernel without
            // esp4_offload/esp6_offload.
            if (!op.state.offload_device) throw;
            ++result.offload_refused;
            result.offload_error = e.what();
            auto software = op.state;
            software.offload_device.reset();
            kernel.add_state(software);
        }
        return;
    case K::update_state:
        kernel.update_state(op.state);
        return;
    case K::delete_state:
        kernel.delete_state(op.state.id);
        return;
    case K::add_policy:
        kernel.add_policy(op.policy);
        return;
    case K::update_policy:
        kernel.update_policy(op.policy);
        return;
    case K::delete_policy:
        kernel.delete_policy(op.policy.id);
        return;
    case K::add_map_entry:
        maps.add(op.entry);
        return;
    case K::remove_map_entry:
        maps.remove(op.entry);
        return;
    }
}

} // namespace

ApplyResult apply_plan(const std::vector<Operation>& operations, netlink::KernelIpsec& kernel,
                       DatapathMapWriter& maps, const std::function<void()>& settle) {
    using K = Operation::Kind;
    ApplyResult result;
    bool policy_changed = false;
    for (size_t i = 0; i < operations.size(); ++i) {
        const auto kind = operations[i].kind;
        if (kind == K::add_policy || kind == K::update_policy || kind == K::delete_policy)
            policy_changed = true;
        if (kind == K::delete_state && policy_changed && settle) {
            settle();
            policy_changed = false;
        }
        const std::string where = "operation " + std::to_string(i + 1) + " of " +
                                  std::to_string(operations.size()) + " (" +
                                  operations[i].to_string() + ") failed: ";
        try {
            apply_one(operations[i], kernel, maps, result);
        } catch (const netlink::KernelError& e) {
            result.failed_index = i;
            result.error = where + e.what();
            result.error_number = e.error_number();
            return result;
        } catch (const std::runtime_error& e) {
            result.failed_index = i;
            result.error = where + e.what();
            return result;
        }
        ++result.applied;
    }
    return result;
}

} // namespace policy
