// Our BPF programs on one network device's clsact hooks: creates the clsact qdisc only when
// it is absent, attaches direct-action cls_bpf filters under our own handle and priorities,
// and on stop removes exactly those filters, and the qdisc only if we created it and it is
// now empty. Anyone else's filters and qdiscs are never touched.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace bpf {

enum class TcDirection { ingress, egress };

// Where our filters live on a hook; a distinctive handle tells them from anyone else's.
struct TcFilterSlot {
    TcDirection direction = TcDirection::ingress;
    uint32_t handle = 0;
    uint32_t priority = 0;
};

class TcDevice {
public:
    // Resolves the device in the caller's network namespace; throws DatapathError
    // (no_such_device, unsupported_device) naming it.
    explicit TcDevice(const std::string& name);
    ~TcDevice();
    TcDevice(TcDevice&& other) noexcept;
    TcDevice& operator=(TcDevice&&) = delete;
    TcDevice(const TcDevice&) = delete;
    TcDevice& operator=(const TcDevice&) = delete;

    // Attaches (or replaces our own earlier filter at the same slot). Throws attach_failed.
    void attach(const TcFilterSlot& slot, int prog_fd);
    // Removes our filters (only if they still carry the program we attached), then the
    // clsact qdisc if we created it and no filter is left on either hook. Never throws.
    void detach_all() noexcept;
    // Forgets our filters without removing them: they keep running after this process ends,
    // until the next instance replaces them (a restart without a datapath gap).
    // Puts back each of our filters whose slot is empty (someone ran `tc filter del`, or deleted
    // the clsact qdisc), recreating the qdisc if it went. Returns a
    // description of each one put back ("egress of 'wan0'"); empty when all are in place.
    // Throws attach_failed when one cannot be put back.
    std::vector<std::string> restore_missing();
    void release() noexcept {
        attached_.clear();
        created_qdisc_ = false;
    }

    const std::string& name() const { return name_; }
    int ifindex() const { return ifindex_; }
    bool created_qdisc() const { return created_qdisc_; }

private:
    struct Attached {
        TcFilterSlot slot;
        uint32_t prog_id;
        int prog_fd; // the loaded program's, owned by the Datapath: to attach it again
    };
    std::string name_;
    int ifindex_ = 0;
    // The network namespace the device lives in: ifindexes mean nothing outside it, so
    // detach_all() goes back there even if the caller's thread has moved on.
    int netns_fd_ = -1;
    bool created_qdisc_ = false;
    bool qdisc_checked_ = false;
    std::vector<Attached> attached_;
};

// Filters currently on a device's clsact hook (anyone's), counted by a netlink dump.
// Returns 0 when there is no clsact qdisc. Throws DatapathError(attach_failed) on error.
size_t count_tc_filters(int ifindex, TcDirection direction);

// Removes the filter at `slot` on `device` if its program is one of gdoid's (name "gdoid_*"):
// what an earlier run left behind. Returns true if one was removed. Throws DatapathError
// (no_such_device, unsupported_device).
bool remove_stale_filter(const std::string& device, const TcFilterSlot& slot);

// The id of the BPF program attached at `slot` of `device`, 0 when none (or no such device).
uint32_t attached_program_id(const std::string& device, const TcFilterSlot& slot);

} // namespace bpf
