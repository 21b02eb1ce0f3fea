#include "daemon/config_diff.hpp"

#include <functional>

namespace gdoid::daemon {

namespace {

struct FieldRule {
    const char* name;
    bool reregister;
    std::function<bool(const GroupConfig&, const GroupConfig&)> same;
};

#define GDOID_FIELD(key, member, reregister) \
    FieldRule { key, reregister, [](const GroupConfig& a, const GroupConfig& b) { return a.member == b.member; } }

const std::vector<FieldRule>& field_rules() {
    // Registration inputs first: any of them means a new Phase 1 and PULL.
    static const std::vector<FieldRule> rules = {
        GDOID_FIELD("id", id, true),
        GDOID_FIELD("servers", servers, true),
        GDOID_FIELD("local-address", local_address, true),
        GDOID_FIELD("routing-instance", routing_instance, true),
        FieldRule{"pre-shared-key", true,
                  [](const GroupConfig& a, const GroupConfig& b) {
                      return a.psk_source == b.psk_source && a.psk == b.psk;
                  }},
        GDOID_FIELD("certificate", certificate, true),
        GDOID_FIELD("ike", ike, true),
        GDOID_FIELD("retry", retry, true),
        GDOID_FIELD("server-quirks", quirks.group_id_byte_order, true),
        FieldRule{"server-quirks", true,
                  [](const GroupConfig& a, const GroupConfig& b) {
                      return a.quirks.sa_tek_id_length == b.quirks.sa_tek_id_length &&
                             a.quirks.sa_kek_id_length == b.quirks.sa_kek_id_length &&
                             a.quirks.sa_tek_ipv4_byte_reversed == b.quirks.sa_tek_ipv4_byte_reversed &&
                             a.quirks.phase1_doi == b.quirks.phase1_doi;
                  }},
        // Local data-path settings: the kernel objects are recomputed, the keys stay.
        GDOID_FIELD("wan-interface", wan_interface, false),
        GDOID_FIELD("lan-interfaces", lan_interfaces, false),
        GDOID_FIELD("lan-prefixes", lan_prefixes, false),
        GDOID_FIELD("anchor", anchor, false),
        GDOID_FIELD("match-direction", match_direction, false),
        GDOID_FIELD("df-bit", df_bit, false),
        GDOID_FIELD("pre-fragmentation", pre_fragmentation, false),
        GDOID_FIELD("crypto-offload", crypto_offload, false),
        GDOID_FIELD("datapath-fallback", datapath_fallback, false),
        GDOID_FIELD("bypass-mark", bypass_mark, false),
        GDOID_FIELD("tcp-mss", tcp_mss, false),
        GDOID_FIELD("per-destination-idle", per_destination_idle, false),
        GDOID_FIELD("rekey", rekey, false),
        GDOID_FIELD("fail-open", fail_open, false),
        GDOID_FIELD("bypass", bypass, false),
        // Read by the group's next push; nothing to set up again.
        GDOID_FIELD("push-ack", push_ack, false),
        GDOID_FIELD("max-teks", max_teks, true),
    };
    return rules;
}

#undef GDOID_FIELD

std::string join(const std::vector<std::string>& items) {
    std::string out;
    for (const auto& item : items) out += (out.empty() ? "" : ", ") + item;
    return out;
}

} // namespace

ConfigDiff diff_configs(const Config& before, const Config& after) {
    ConfigDiff diff;
    if (before.daemon.control_socket != after.daemon.control_socket) diff.daemon_fields.push_back("control-socket");
    if (before.daemon.control_group != after.daemon.control_group ||
        before.daemon.control_gid != after.daemon.control_gid)
        diff.daemon_fields.push_back("control-group");
    if (before.daemon.log_level != after.daemon.log_level) diff.daemon_fields.push_back("log-level");
    if (before.daemon.graceful_restart != after.daemon.graceful_restart) diff.daemon_fields.push_back("graceful-restart");
    if (before.daemon.restart_time != after.daemon.restart_time) diff.daemon_fields.push_back("restart-time");

    for (const auto& old_group : before.groups)
        if (!after.find_group(old_group.name)) diff.removed.push_back(old_group.name);
    for (const auto& new_group : after.groups) {
        const auto* old_group = before.find_group(new_group.name);
        if (!old_group) {
            diff.added.push_back(new_group.name);
            continue;
        }
        GroupChange change{new_group.name, {}, false};
        for (const auto& rule : field_rules()) {
            if (rule.same(*old_group, new_group)) continue;
            if (change.fields.empty() || change.fields.back() != rule.name) change.fields.push_back(rule.name);
            change.needs_reregistration = change.needs_reregistration || rule.reregister;
        }
        if (change.fields.empty())
            diff.unchanged.push_back(new_group.name);
        else
            diff.changed.push_back(std::move(change));
    }
    return diff;
}

std::string ConfigDiff::summary() const {
    if (empty()) return "no changes";
    std::vector<std::string> parts;
    if (!added.empty()) parts.push_back("added " + join(added));
    if (!removed.empty()) parts.push_back("removed " + join(removed));
    for (const auto& change : changed)
        parts.push_back("changed " + change.name + " (" + join(change.fields) + ")");
    if (!daemon_fields.empty()) parts.push_back("daemon settings (" + join(daemon_fields) + ")");
    std::string out;
    for (const auto& part : parts) out += (out.empty() ? "" : "; ") + part;
    return out;
}

} // namespace gdoid::daemon
