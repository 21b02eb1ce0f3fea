// The header-preservation datapath (bpf::Datapath) as the daemon runs it: loaded once, when
// the first group needs it, attached to the WAN device and every group's LAN devices, and
// shared by the groups. Each group writes its map entries through its own MapWriter, which
// reference-counts entries two groups have in common so one group's cleanup cannot remove
// another's.
#pragma once

#include "bpf/datapath.hpp"
#include "daemon/datapath_agreement.hpp"
#include "daemon/nft_ingress.hpp"
#include "daemon/pre_fragmentation_routing.hpp"
#include "policy/apply_plan.hpp"

#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace gdoid::daemon {

// What one group asks of the shared datapath.
struct DatapathNeeds {
    std::string wan;
    std::vector<std::string> lans;
    bpf::Anchors anchors; // of the group's family
    uint32_t bypass_mark = 0;
    bool set_df = false;
    uint16_t tcp_mss = 0; // 0 = no clamp
    // The VRF device the WAN interface is enslaved to (routing-instance): the inbound anchor
    // must be local in the VRF's table, where ESP arriving on the WAN is routed, so it goes on
    // that device instead of lo.
    std::optional<std::string> routing_instance;
    // When the BPF datapath cannot load: run the nftables ingress rewrite instead, for
    // destination-only preservation (datapath-fallback = "destination-only").
    bool destination_only_fallback = false;
    // pre-fragmentation (IPv4 groups): the group wants oversize DF-clear packets fragmented
    // before encryption; `pre_fragment_mtu` is the largest inner packet its TEKs carry in one
    // ESP packet on the WAN device (the interface's MTU is the smallest of the groups').
    bool pre_fragmentation = false;
    uint32_t pre_fragment_mtu = 0;

    bool operator==(const DatapathNeeds& other) const;
    // What the groups must agree on (datapath_agreement.hpp).
    SharedDatapathSettings shared() const;
};

class DatapathService {
public:
    // Registers a group's needs and (re)attaches when they change what is attached. The first
    // group fixes the WAN device and anchors; a group that asks for others is refused with
    // the reason (one WAN datapath per daemon). Puts the inbound anchor address on lo (on the
    // routing instance's VRF device when there is one) when it is not there (the inbound states are found by it; it must be local). Throws
    // bpf::DatapathError / netlink::KernelError / std::runtime_error.
    void require(const std::string& group, const DatapathNeeds& needs);
    // The group no longer uses the datapath; detaches (and removes the anchor address gdoid
    // added) when no group does.
    void release(const std::string& group);

    class MapWriter : public policy::DatapathMapWriter {
    public:
        MapWriter(DatapathService& service, uint32_t group_id)
            : service_(service), group_id_(group_id) {}
        void add(const policy::MapEntry& entry) override;
        void remove(const policy::MapEntry& entry) override;
        // What this group has in the maps (the "installed" side of policy::plan()).
        const policy::DatapathEntries& entries() const { return entries_; }

    private:
        DatapathService& service_;
        uint32_t group_id_;
        policy::DatapathEntries entries_;
    };

    // Restart without loss. A group that adopted objects an earlier gdoid left holds the
    // attachment: that gdoid's filters (with their maps) keep running until the group's own
    // entries are in this instance's maps; release_hold() then replaces them in one step.
    void hold_attachment(const std::string& group);
    void release_hold(const std::string& group);
    // Graceful restart: forget the filters and the anchor address without removing them, so
    // they outlive this process. Returns false when the nftables fallback runs (a netdev
    // table cannot be handed over; the caller withdraws instead).
    bool leave_running();

    bool loaded() const { return datapath_.has_value(); }
    // Puts back the tc filters of ours that someone removed (`tc filter del`, `tc qdisc del dev
    // wan0 clsact`), logs one warning naming them and the cause, and counts them
    // (filters_restored). Nothing to do when none is missing; a failure is logged, not thrown.
    void restore_filters(const std::string& cause);
    // The same for pre-fragmentation's interface, route and rules. True when the groups must
    // reconcile: the interface was created again (a new index their policies must follow), or
    // it could not be put back and pre-fragmentation is off (logged once, retried then).
    bool restore_pre_fragmentation(const std::string& cause);
    uint64_t filters_restored() const { return filters_restored_; }
    // Set while the BPF datapath could not load and the nftables fallback runs instead: why
    // BPF failed, in the loader's words.
    const std::optional<std::string>& fallback_reason() const { return fallback_reason_; }
    std::optional<bpf::DatapathCounters> counters() const;
    // The packet-mark layout of the loaded datapath (for the bypass-mark overlap check).
    std::optional<bpf::MarkLayout> mark_layout() const;

    // What a group with pre-fragmentation puts in its kernel objects while the interface is up
    // (nullopt when no group asked for it, or when it could not be set up: see
    // pre_fragmentation_error()).
    std::optional<policy::PreFragmentation> pre_fragmentation() const;
    // Why the interface could not be set up (the groups then encrypt oversize packets whole).
    const std::optional<std::string>& pre_fragmentation_error() const { return pre_fragmentation_error_; }
    uint32_t pre_fragmentation_mtu() const { return pre_fragmentation_.mtu(); }
    // The group's routing rules (its DesiredObjects::pre_fragmentation). Throws
    // netlink::KernelError.
    void set_pre_fragmentation_rules(const std::string& group, const policy::PreFragmentationRules& rules);

private:
    friend class MapWriter;
    enum class Table { inbound_spi, local_prefix, remote_prefix };
    void add_reference(Table table, const std::string& key, const policy::MapEntry& entry,
                       uint32_t group_id);
    void drop_reference(Table table, const std::string& key, const policy::MapEntry& entry);
    void reattach();
    void configure_fallback(const std::map<std::string, DatapathNeeds>& groups);
    bpf::DatapathConfig datapath_config(const std::map<std::string, DatapathNeeds>& groups) const;
    // Sets up (or removes) the XFRM interface for the groups that ask for pre-fragmentation;
    // a failure is kept in pre_fragmentation_error_, never thrown.
    void apply_pre_fragmentation(const std::map<std::string, DatapathNeeds>& groups);
    // Removes the anchor addresses gdoid added: all, or those of families no group uses.
    void remove_anchor_addresses(bool all);

    // Loads the BPF datapath, or the fallback when it cannot load and `needs` allow it.
    void load(const DatapathNeeds& needs);

    std::optional<bpf::Datapath> datapath_;
    std::unique_ptr<NftIngress> fallback_;
    std::optional<std::string> fallback_reason_;
    std::map<std::string, DatapathNeeds> needs_;                               // by group name
    std::optional<std::pair<std::string, std::vector<std::string>>> attached_; // wan, lans
    std::map<std::pair<Table, std::string>, size_t> references_;
    uint64_t filters_restored_ = 0;
    struct AddedAnchor {
        std::string device; // lo, or the routing instance's VRF device
        gdoi::IpPrefix prefix;
    };
    std::map<gdoi::IpFamily, AddedAnchor> anchors_added_; // the addresses gdoid put on, per family
    std::set<std::string> holds_; // groups holding the attachment (hold_attachment)
    PreFragmentationRouting pre_fragmentation_;
    std::optional<std::string> pre_fragmentation_error_;
    bool pre_fragmentation_leftovers_checked_ = false;
};

} // namespace gdoid::daemon
