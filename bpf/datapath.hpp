// gdoid's header-preservation datapath (design.md, "Header preservation on a stock kernel"):
// loads the tc-BPF programs of datapath.bpf.c, attaches them to the WAN and LAN devices and
// offers the typed map operations the daemon calls. Every failure is a DatapathError.
#pragma once

#include "bpf/datapath_error.hpp"
#include "bpf/map_keys.hpp"
#include "bpf/tc_hook.hpp"
#include "gdoi/ip_address.hpp"

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

struct gdoid_datapath; // the bpftool skeleton (datapath.skel.h), private to datapath.cpp

namespace bpf {

enum class Program { lan_ingress, wan_egress, wan_ingress };

// The three addresses of the anchor design for one family (datapath-notes.md: A_L, A_R, A_IN).
struct Anchors {
    gdoi::IpAddress local;   // source of the outbound state: our WAN address
    gdoi::IpAddress remote;  // destination of the outbound state: the dummy remote anchor
    gdoi::IpAddress inbound; // destination of the inbound states: a local /32, not in 127/8
};

// Slot index in bits 21..30, flag in bit 31: 1024 slots.
inline constexpr uint32_t kDefaultReservedMark = 0xffe00000;

struct DatapathConfig {
    uint32_t reserved_mark_mask = kDefaultReservedMark;
    uint32_t bypass_mark = 0; // packets carrying any of these bits are left alone
    // A slot idle this long is free; a flagged packet whose slot is older is dropped. Only
    // needs to cover the time from LAN ingress to WAN egress (forwarding + encryption).
    std::chrono::milliseconds slot_idle_timeout{2000};
    bool copy_ttl = true; // outer TTL/hop limit := the inner packet's (the kernel uses 64)
    bool set_df = false;  // df-bit = set: the group's unfragmented IPv4 ESP gets DF (also router-originated)
    uint16_t tcp_mss = 0; // SYNs toward the remote prefixes advertise at most this (0 = off)
    // pre-fragmentation (IPv4): forwarded packets toward the remote prefixes, DF clear and
    // longer than this, get the layout's pre-fragmentation mark (0 = off; the mark bit is then
    // not taken from the slot index). `pre_fragment_remote` is the dummy destination of the
    // XFRM interface's outbound states, restored like the remote anchor.
    uint16_t pre_fragment_mtu = 0;
    std::optional<gdoi::IpAddress> pre_fragment_remote;
    std::optional<Anchors> v4;
    std::optional<Anchors> v6;
};

// Sums over all CPUs of the programs' counters (datapath_abi.h, enum gdoid_counter).
struct DatapathCounters {
    uint64_t lan_marked = 0;
    uint64_t lan_slot_reused = 0;
    uint64_t lan_slot_collisions = 0;
    uint64_t lan_slot_exhausted = 0;
    uint64_t lan_bypassed = 0;
    uint64_t out_restored = 0;
    uint64_t out_fragments = 0;
    uint64_t out_unrestored_dropped = 0;
    uint64_t out_unflagged_dropped = 0;
    uint64_t in_rewritten = 0;
    uint64_t in_fragments = 0;
    uint64_t in_unknown_spi = 0;
    uint64_t malformed = 0;
    uint64_t lan_mss_clamped = 0;
    uint64_t out_multicast = 0;
    uint64_t in_clear_multicast_dropped = 0;
    uint64_t out_df_set = 0;
    uint64_t lan_pre_fragment = 0;   // oversize DF-clear IPv4 sent through the XFRM interface
    uint64_t out_pre_fragmented = 0; // its ESP packets restored at WAN egress
};

// What the kernel says about one loaded program.
struct ProgramStats {
    std::string name;
    uint32_t verified_insns = 0; // instructions the verifier processed (0 before 5.16)
    uint32_t xlated_insns = 0;   // BPF instructions after the verifier's rewrites
    uint32_t jited_bytes = 0;
};

// Our filters' handle and priorities on the clsact hooks. LAN ingress uses priority + 1 so a
// device can be both LAN and WAN.
struct AttachOptions {
    uint32_t handle = 0x67640001; // "gd", 1
    uint32_t priority = 0x4744;
};

class Datapath {
public:
    // Opens and loads the programs and maps (not attached, passing everything through until
    // configure()). Throws DatapathError: permission, bpf_unavailable, verifier_rejected.
    static Datapath load();
    // The same, but the maps are those of the gdoid programs attached to `wan` (an earlier
    // gdoid's, left running): slots, prefixes and SPIs carry over, so that replacing its filters
    // loses no packet in flight between LAN ingress and WAN egress. When that is not possible
    // (no such filter, no CAP_SYS_ADMIN to open a program by id, other maps) it loads fresh maps
    // and says why in `why_not`.
    static Datapath load_reusing_maps(const std::string& wan, std::string& why_not,
                                      const AttachOptions& options = {});

    Datapath(Datapath&&) noexcept;
    Datapath& operator=(Datapath&&) noexcept;
    ~Datapath(); // detach()

    // Validates and applies the configuration atomically per field set; may be called again
    // (new WAN address, new mark layout). Throws DatapathError(invalid_config, ...).
    void configure(const DatapathConfig& config);
    const MarkLayout& mark_layout() const { return layout_; }

    // Attaches WAN ingress+egress to `wan` and LAN ingress to each of `lans`. All or nothing:
    // on failure, whatever was attached is removed again. Replaces an earlier attachment.
    void attach(const std::string& wan, const std::vector<std::string>& lans,
                const AttachOptions& options = {});
    // Removes our filters (and qdiscs we created that are left empty). Never throws.
    void detach() noexcept;
    // Leaves the filters attached and running when this object goes away: a restart without a
    // datapath gap (the programs keep their maps alive; the next instance's attach() replaces
    // them at the same handle and priorities).
    void release_attachments() noexcept;
    // Puts back filters of ours someone removed (`tc filter del`, `tc qdisc del ... clsact`);
    // returns what was put back ("egress of 'wan0'"), empty when nothing was missing. Throws
    // DatapathError(attach_failed).
    std::vector<std::string> restore_filters();
    // Removes gdoid filters an earlier run left on `device` (e.g. one no longer configured).
    // Returns how many. Throws DatapathError (no_such_device, unsupported_device).
    static size_t remove_stale_filters(const std::string& device,
                                       const AttachOptions& options = {});

    // Protected prefixes of the group's remote members (packets toward them get a slot).
    void add_remote_prefix(const gdoi::IpPrefix& prefix, uint32_t group_id = 0);
    bool remove_remote_prefix(const gdoi::IpPrefix& prefix); // false: was not there
    // Our own protected prefixes (group ESP toward them goes to the inbound anchor).
    void add_local_prefix(const gdoi::IpPrefix& prefix, uint32_t group_id = 0);
    bool remove_local_prefix(const gdoi::IpPrefix& prefix);
    // SPIs (host byte order) of installed inbound group states. Add after the state is
    // installed, remove before it is deleted (datapath-notes.md pitfall 4).
    void add_inbound_spi(uint32_t spi, uint32_t group_id = 0);
    bool remove_inbound_spi(uint32_t spi);

    DatapathCounters counters() const;
    ProgramStats program_stats(Program program) const;
    int program_fd(Program program) const;
    int slots_map_fd() const; // struct gdoid_slot values, BPF_F_LOCK for consistent reads

private:
    Datapath();
    struct SkeletonDeleter {
        void operator()(gdoid_datapath* skeleton) const;
    };
    std::unique_ptr<gdoid_datapath, SkeletonDeleter> skeleton_;
    std::vector<TcDevice> devices_;
    // Empties the first `count` slots, all a layout of that many slots can name (configure(),
    // when the mark layout changes).
    void clear_slots(uint32_t count);
    MarkLayout layout_{};
    uint32_t hash_seed_ = 0;
};

} // namespace bpf
