#include "daemon/datapath_service.hpp"

#include "daemon/log.hpp"
#include "netlink/interface_address.hpp"

#include <algorithm>
#include <stdexcept>

namespace gdoid::daemon {

namespace {

// The LAN devices of all groups, each once, sorted.
std::vector<std::string> all_lans(const std::map<std::string, DatapathNeeds>& groups) {
    std::vector<std::string> lans;
    for (const auto& [group, needs] : groups)
        for (const auto& lan : needs.lans)
            if (std::find(lans.begin(), lans.end(), lan) == lans.end()) lans.push_back(lan);
    std::sort(lans.begin(), lans.end());
    return lans;
}

// The dummy destination of the pre-fragmentation interface's states: the address after the
// remote anchor (both only ever seen by gdoid's own WAN egress program).
gdoi::IpAddress next_address(gdoi::IpAddress address) {
    for (size_t i = address.width_bytes(); i-- > 0;)
        if (++address.bytes[i] != 0) break;
    return address;
}

bool same_anchors(const bpf::Anchors& a, const bpf::Anchors& b) {
    return a.local == b.local && a.remote == b.remote && a.inbound == b.inbound;
}

std::string entry_key(const policy::MapEntry& entry) {
    switch (entry.kind) {
    case policy::MapEntry::Kind::inbound_spi:
        return std::to_string(entry.spi);
    case policy::MapEntry::Kind::protected_destination:
        return entry.prefix.to_string();
    case policy::MapEntry::Kind::outbound_flow:
        return entry.destination.to_string();
    }
    return {};
}

} // namespace

bool DatapathNeeds::operator==(const DatapathNeeds& other) const {
    return wan == other.wan && lans == other.lans && same_anchors(anchors, other.anchors) &&
           bypass_mark == other.bypass_mark && set_df == other.set_df && tcp_mss == other.tcp_mss &&
           destination_only_fallback == other.destination_only_fallback && routing_instance == other.routing_instance &&
           pre_fragmentation == other.pre_fragmentation && pre_fragment_mtu == other.pre_fragment_mtu;
}

SharedDatapathSettings DatapathNeeds::shared() const {
    SharedDatapathSettings s;
    s.wan_interface = wan;
    s.routing_instance = routing_instance;
    s.local_anchor = anchors.local;
    s.inbound_anchor = anchors.inbound;
    s.remote_anchor = anchors.remote;
    s.bypass_mask = bypass_mark;
    s.set_df = set_df;
    s.tcp_mss = tcp_mss;
    return s;
}

void DatapathService::load(const DatapathNeeds& needs) {
    try {
        if (holds_.empty()) {
            datapath_.emplace(bpf::Datapath::load());
            return;
        }
        // Taking over from an earlier gdoid: its programs and ours share the maps, so the
        // packets in flight while the filters are replaced one by one keep their slots.
        std::string why_not;
        datapath_.emplace(bpf::Datapath::load_reusing_maps(needs.wan, why_not));
        if (why_not.empty())
            log_info("the BPF datapath reuses the maps of the running one on " + needs.wan);
        else
            log_warning("the BPF datapath cannot reuse the maps of the running one on " + needs.wan + " (" + why_not +
                        "): packets in flight while its filters are replaced may be dropped");
        return;
    } catch (const bpf::DatapathError& e) {
        if (!needs.destination_only_fallback) throw;
        fallback_reason_ = e.what();
    }
    // The loader said exactly why; the operator allowed the fallback.
    fallback_ = std::make_unique<NftIngress>(needs.wan, needs.anchors.inbound);
    log_warning("header preservation falls back to destination-only (outer source = " +
                needs.anchors.local.to_string() + "): " + *fallback_reason_ +
                "; the WAN ingress rewrite runs in nftables (table netdev " + fallback_->table() +
                ")");
}

void DatapathService::require(const std::string& group, const DatapathNeeds& needs) {
    // Called at every reconcile of every group: nothing to do unless its needs changed.
    if (const auto known = needs_.find(group);
        (datapath_ || fallback_) && known != needs_.end() && known->second == needs)
        return;
    for (const auto& [other, theirs] : needs_) {
        if (other == group) continue;
        const auto disagreements = datapath_disagreements(needs.shared(), theirs.shared());
        if (!disagreements.empty())
            throw std::runtime_error(disagreements.front().what + " of group " + other +
                                     ", which already uses the datapath: all groups share one "
                                     "header-preservation datapath, " +
                                     disagreements.front().why);
    }
    const auto family = needs.anchors.local.family;
    const auto anchor = gdoi::IpPrefix::host(needs.anchors.inbound);
    const std::string device = needs.routing_instance.value_or("lo");
    if (const auto it = anchors_added_.find(family);
        it != anchors_added_.end() && (it->second.device != device || !(it->second.prefix == anchor))) {
        // A reload moved the anchor (another address, or routing-instance changed): the groups
        // agree on both (checked above), so no other group still needs the old one.
        netlink::remove_interface_address(it->second.device, it->second.prefix);
        log_info("removed the inbound anchor address " + it->second.prefix.to_string() + " from " +
                 it->second.device);
        anchors_added_.erase(it);
    }
    if (!anchors_added_.contains(family)) {
        // Already there means an earlier gdoid that ended without cleaning up (SIGKILL, the
        // watchdog) left it: the address is gdoid's, so it is adopted and removed with the
        // datapath, like the states and policies such a gdoid leaves.
        const bool added = netlink::add_interface_address(device, anchor);
        anchors_added_.emplace(family, AddedAnchor{device, anchor});
        log_info((added ? "added the inbound anchor address " : "adopted the inbound anchor address ") +
                 anchor.to_string() + (added ? " to " : ", already on ") + device);
    }
    if (!datapath_ && !fallback_) load(needs);
    if (fallback_) {
        if (!needs.destination_only_fallback)
            throw std::runtime_error(
                "the BPF datapath could not load (" + fallback_reason_.value_or("") +
                ") and this group does not allow datapath-fallback = \"destination-only\"");
        auto wanted = needs_;
        wanted[group] = needs;
        configure_fallback(wanted);
        needs_ = std::move(wanted);
        return;
    }
    auto wanted = needs_;
    wanted[group] = needs;
    apply_pre_fragmentation(wanted);
    datapath_->configure(datapath_config(wanted));
    needs_ = std::move(wanted);
    reattach();
}

void DatapathService::apply_pre_fragmentation(const std::map<std::string, DatapathNeeds>& groups) {
    uint32_t mtu = 0;
    for (const auto& [name, needs] : groups)
        if (needs.pre_fragmentation && needs.anchors.local.family == gdoi::IpFamily::v4 &&
            needs.pre_fragment_mtu != 0)
            mtu = mtu == 0 ? needs.pre_fragment_mtu : std::min(mtu, needs.pre_fragment_mtu);
    if (mtu == 0 || !datapath_) {
        // Also once at the start: an earlier gdoid killed while it used pre-fragmentation left
        // its interface and rules, which this configuration no longer wants.
        if (pre_fragmentation_.active() || !pre_fragmentation_leftovers_checked_) pre_fragmentation_.remove();
        pre_fragmentation_leftovers_checked_ = true;
        pre_fragmentation_error_.reset();
        return;
    }
    try {
        pre_fragmentation_.ensure(groups.begin()->second.wan, mtu);
        pre_fragmentation_leftovers_checked_ = true;
        pre_fragmentation_error_.reset();
    } catch (const std::exception& e) {
        // Oversize packets are then encrypted whole and the ESP packet is fragmented, as
        // without pre-fragmentation: nothing leaves in clear text.
        if (pre_fragmentation_error_ != e.what())
            log_warning(std::string("pre-fragmentation is off: ") + e.what() +
                        "; oversize packets are encrypted whole and the ESP packet is fragmented");
        pre_fragmentation_error_ = e.what();
        pre_fragmentation_.remove();
    }
}

std::optional<policy::PreFragmentation> DatapathService::pre_fragmentation() const {
    if (!datapath_ || !pre_fragmentation_.active()) return std::nullopt;
    if (datapath_->mark_layout().pre_fragment_mark == 0) return std::nullopt;
    for (const auto& [name, needs] : needs_)
        if (needs.anchors.local.family == gdoi::IpFamily::v4)
            return policy::PreFragmentation{kPreFragmentationIfId, pre_fragmentation_.ifindex(),
                                            next_address(needs.anchors.remote)};
    return std::nullopt;
}

void DatapathService::set_pre_fragmentation_rules(const std::string& group,
                                                  const policy::PreFragmentationRules& rules) {
    if (!datapath_ || !pre_fragmentation_.active()) return;
    const uint32_t bypass = needs_.empty() ? 0 : needs_.begin()->second.bypass_mark; // groups agree
    pre_fragmentation_.set_rules(group, rules, datapath_->mark_layout().pre_fragment_mark, bypass);
}

// Both families' anchors from the groups that use them: configuring from one group alone would
// switch the other family's programs off.
bpf::DatapathConfig
DatapathService::datapath_config(const std::map<std::string, DatapathNeeds>& groups) const {
    bpf::DatapathConfig config;
    const DatapathNeeds& any = groups.begin()->second; // all groups agree on these (require)
    config.bypass_mark = any.bypass_mark;
    config.set_df = any.set_df;
    config.tcp_mss = any.tcp_mss;
    for (const auto& [name, needs] : groups)
        (needs.anchors.local.family == gdoi::IpFamily::v4 ? config.v4 : config.v6) = needs.anchors;
    if (pre_fragmentation_.active() && config.v4) {
        config.pre_fragment_mtu = static_cast<uint16_t>(std::min<uint32_t>(pre_fragmentation_.mtu(), 0xffff));
        config.pre_fragment_remote = next_address(config.v4->remote);
    }
    return config;
}

void DatapathService::remove_anchor_addresses(bool all) {
    for (auto it = anchors_added_.begin(); it != anchors_added_.end();) {
        const auto family = it->first;
        const bool used = std::any_of(needs_.begin(), needs_.end(), [family](const auto& g) {
            return g.second.anchors.local.family == family;
        });
        if (!all && used) {
            ++it;
            continue;
        }
        netlink::remove_interface_address(it->second.device, it->second.prefix);
        log_info("removed the inbound anchor address " + it->second.prefix.to_string() + " from " +
                 it->second.device);
        it = anchors_added_.erase(it);
    }
}

void DatapathService::release(const std::string& group) {
    holds_.erase(group);
    if (needs_.erase(group) == 0) return;
    if (needs_.empty()) {
        pre_fragmentation_.remove(); // its rules with it
        datapath_.reset(); // detaches; the maps go with the programs
        fallback_.reset(); // deletes the nftables table
        fallback_reason_.reset();
        attached_.reset();
        references_.clear();
        remove_anchor_addresses(true);
        return;
    }
    try {
        set_pre_fragmentation_rules(group, {});
    } catch (const std::exception& e) {
        log_warning("pre-fragmentation: removing group " + group + "'s rules: " + e.what());
    }
    apply_pre_fragmentation(needs_);
    if (datapath_) datapath_->configure(datapath_config(needs_)); // a family may have gone
    if (fallback_) {
        try {
            configure_fallback(needs_); // a LAN may have gone
        } catch (const std::exception& e) {
            log_warning(std::string("updating the nftables TCP MSS clamp: ") + e.what());
        }
    }
    remove_anchor_addresses(false);
    reattach();
}

// The fallback's LAN chains (the tcp-mss clamp) for the LAN devices of all groups.
void DatapathService::configure_fallback(const std::map<std::string, DatapathNeeds>& groups) {
    const uint16_t mss =
        groups.empty() ? 0 : groups.begin()->second.tcp_mss; // groups agree (require)
    if (fallback_->set_lan_clamp(all_lans(groups), mss) && mss)
        log_info("TCP MSS clamp " + std::to_string(mss) +
                 " on the LAN devices in nftables (table netdev " + fallback_->table() + ")");
}

void DatapathService::hold_attachment(const std::string& group) { holds_.insert(group); }

void DatapathService::release_hold(const std::string& group) {
    if (holds_.erase(group) == 0) return;
    reattach();
}

bool DatapathService::leave_running() {
    holds_.clear();
    if (fallback_) return false;
    if (datapath_) datapath_->release_attachments();
    datapath_.reset();
    attached_.reset();
    references_.clear();
    anchors_added_.clear(); // stays on lo: the next gdoid adopts it (require())
    pre_fragmentation_.forget(); // the interface and its rules too (ensure() adopts them)
    needs_.clear();
    return true;
}

void DatapathService::reattach() {
    if (!datapath_ || needs_.empty() || !holds_.empty()) return;
    const std::string wan = needs_.begin()->second.wan;
    const auto lans = all_lans(needs_);
    auto wanted = std::make_pair(wan, lans);
    if (attached_ == wanted) return;
    datapath_->attach(wan, lans); // all or nothing; replaces an earlier attachment
    attached_ = std::move(wanted);
}

std::optional<bpf::DatapathCounters> DatapathService::counters() const {
    if (!datapath_) return std::nullopt;
    return datapath_->counters();
}

std::optional<bpf::MarkLayout> DatapathService::mark_layout() const {
    if (!datapath_) return std::nullopt;
    return datapath_->mark_layout();
}

void DatapathService::add_reference(Table table, const std::string& key,
                                    const policy::MapEntry& entry, uint32_t group_id) {
    if (!datapath_ && !fallback_) throw std::runtime_error("the BPF datapath is not loaded");
    auto& count = references_[{table, key}];
    if (count == 0 && fallback_) {
        switch (table) {
        case Table::inbound_spi:
            fallback_->add_spi(entry.spi);
            break;
        case Table::local_prefix:
            fallback_->add_prefix(entry.prefix);
            break;
        case Table::remote_prefix: // where the LAN chains clamp the MSS
            fallback_->add_remote_prefix(entry.destination);
            break;
        }
    } else if (count == 0) {
        switch (table) {
        case Table::inbound_spi:
            datapath_->add_inbound_spi(entry.spi, group_id);
            break;
        case Table::local_prefix:
            datapath_->add_local_prefix(entry.prefix, group_id);
            break;
        case Table::remote_prefix:
            datapath_->add_remote_prefix(entry.destination, group_id);
            break;
        }
    }
    ++count;
}

void DatapathService::drop_reference(Table table, const std::string& key,
                                     const policy::MapEntry& entry) {
    const auto found = references_.find({table, key});
    if (found == references_.end()) return;
    if (--found->second > 0) return;
    references_.erase(found);
    if (fallback_) {
        switch (table) {
        case Table::inbound_spi:
            fallback_->remove_spi(entry.spi);
            break;
        case Table::local_prefix:
            fallback_->remove_prefix(entry.prefix);
            break;
        case Table::remote_prefix:
            fallback_->remove_remote_prefix(entry.destination);
            break;
        }
        return;
    }
    if (!datapath_) return;
    switch (table) {
    case Table::inbound_spi:
        datapath_->remove_inbound_spi(entry.spi);
        break;
    case Table::local_prefix:
        datapath_->remove_local_prefix(entry.prefix);
        break;
    case Table::remote_prefix:
        datapath_->remove_remote_prefix(entry.destination);
        break;
    }
}

void DatapathService::MapWriter::add(const policy::MapEntry& entry) {
    using K = policy::MapEntry::Kind;
    switch (entry.kind) {
    case K::inbound_spi:
        if (entries_.inbound_spis.contains(entry.spi)) return;
        service_.add_reference(Table::inbound_spi, entry_key(entry), entry, group_id_);
        entries_.inbound_spis.insert(entry.spi);
        return;
    case K::protected_destination:
        if (entries_.protected_destinations.contains(entry.prefix)) return;
        service_.add_reference(Table::local_prefix, entry_key(entry), entry, group_id_);
        entries_.protected_destinations.insert(entry.prefix);
        return;
    case K::outbound_flow: {
        // The LAN ingress program matches destinations only (the source is whoever is behind a
        // LAN device), so flows to one destination share its entry.
        const auto flow = std::make_pair(entry.prefix, entry.destination);
        if (entries_.outbound_flows.contains(flow)) return;
        service_.add_reference(Table::remote_prefix, entry_key(entry), entry, group_id_);
        entries_.outbound_flows.insert(flow);
        return;
    }
    }
}

void DatapathService::MapWriter::remove(const policy::MapEntry& entry) {
    using K = policy::MapEntry::Kind;
    switch (entry.kind) {
    case K::inbound_spi:
        if (entries_.inbound_spis.erase(entry.spi) == 0) return;
        service_.drop_reference(Table::inbound_spi, entry_key(entry), entry);
        return;
    case K::protected_destination:
        if (entries_.protected_destinations.erase(entry.prefix) == 0) return;
        service_.drop_reference(Table::local_prefix, entry_key(entry), entry);
        return;
    case K::outbound_flow:
        if (entries_.outbound_flows.erase({entry.prefix, entry.destination}) == 0) return;
        service_.drop_reference(Table::remote_prefix, entry_key(entry), entry);
        return;
    }
}

void DatapathService::restore_filters(const std::string& cause) {
    if (!datapath_ || !attached_) return;
    try {
        const auto restored = datapath_->restore_filters();
        if (restored.empty()) return;
        filters_restored_ += restored.size();
        std::string which;
        for (const auto& filter : restored) which += (which.empty() ? "" : ", ") + filter;
        log_warning(cause + ": gdoid's tc-BPF filter(s) on " + which + " were missing and are put back (" +
                    std::to_string(filters_restored_) + " restored since start)");
    } catch (const std::exception& e) {
        log_error(cause + ": a tc-BPF filter of gdoid's is missing and cannot be put back: " + e.what());
    }
}

bool DatapathService::restore_pre_fragmentation(const std::string& cause) {
    if (!datapath_ || !pre_fragmentation_.active()) return false;
    try {
        const int before = pre_fragmentation_.ifindex();
        if (!pre_fragmentation_.restore()) return false;
        log_warning(cause + ": the pre-fragmentation interface " + kPreFragmentationInterface + " (index " +
                    std::to_string(before) + ") was gone and is created again (index " +
                    std::to_string(pre_fragmentation_.ifindex()) +
                    "); meanwhile oversize packets were encrypted whole, never sent in clear text");
        return true;
    } catch (const std::exception& e) {
        // As when it cannot be set up (apply_pre_fragmentation): off, said once, tried again
        // at the groups' next reconcile.
        if (pre_fragmentation_error_ != e.what())
            log_error(cause + ": pre-fragmentation's interface, route or rules cannot be put back: " + e.what() +
                      "; pre-fragmentation is off, oversize packets are encrypted whole and the ESP packet is fragmented");
        pre_fragmentation_error_ = e.what();
        pre_fragmentation_.remove();
        return true;
    }
}

} // namespace gdoid::daemon
