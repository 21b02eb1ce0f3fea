#include "daemon/status_report.hpp"

#include "daemon/log.hpp"
#include "daemon/policy_summary.hpp"

#include "netlink/interface_address.hpp"
#include "policy/esp_overhead.hpp"

#include <cstdio>

namespace gdoid::daemon {

using netlink::interface_mtu;

control::GroupStatus make_group_status(const Group& group) {
    control::GroupStatus status;
    const auto& config = group.config();
    status.name = config.name;
    status.id = config.id;
    status.state = std::string(to_string(group.state()));
    for (const auto& server : config.servers) status.servers.push_back(server.to_string());
    if (auto index = group.server_in_use(); index && *index < config.servers.size())
        status.server_in_use = config.servers[*index].to_string();
    if (const auto& error = group.last_error())
        status.last_error = control::GroupErrorStatus{
            error->message, std::chrono::duration_cast<std::chrono::seconds>(error->when.time_since_epoch()).count()};
    const auto epoch_seconds = [](std::chrono::system_clock::time_point t) {
        return int64_t(std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count());
    };
    // Monotonic deadlines shown as wall-clock times of this moment: after a clock step they
    // still say how long is left.
    const auto wall_now = std::chrono::system_clock::now();
    const auto steady_now = std::chrono::steady_clock::now();
    const auto wall_epoch_seconds = [&](std::chrono::steady_clock::time_point t) {
        return epoch_seconds(wall_now + std::chrono::duration_cast<std::chrono::system_clock::duration>(t - steady_now));
    };
    if (group.phase1)
        status.phase1 = control::Phase1Status{
            group.phase1->proposal, group.phase1->server_certificate.empty() ? "pre-shared-key" : "certificate",
            group.phase1->server_certificate.empty() ? std::nullopt
                                                     : std::optional<std::string>(group.phase1->server_certificate)};
    if (group.kek)
        status.kek = control::KekStatus{group.kek->spi, group.kek->cipher, group.kek->signature,
                                        wall_epoch_seconds(group.kek->expires)};
    const auto wan_mtu = interface_mtu(config.wan_interface);
    for (const auto& tek : group.teks) {
        control::TekStatus entry;
        entry.spi = spi_text(tek.spi);
        entry.cipher = tek.cipher;
        entry.source = tek.source;
        entry.destination = tek.destination;
        entry.expires = wall_epoch_seconds(tek.expires);
        if (wan_mtu && tek.esp_overhead) entry.inner_mtu = policy::inner_mtu(*tek.esp_overhead, *wan_mtu);
        status.teks.push_back(std::move(entry));
    }
    status.match_direction = std::string(to_string(config.match_direction));
    if (config.bypass_mark) {
        char mark[32];
        std::snprintf(mark, sizeof mark, "0x%x/0x%x", config.bypass_mark->value, config.bypass_mark->mask);
        status.bypass_mark = mark;
    }
    for (const auto& c : config.bypass)
        status.bypass.push_back({"configuration", c.name, protocol_name(c.protocol),
                                 bypass_endpoint_text(gdoi::SelectorEndpoint::from_prefix(c.source, c.source_port)),
                                 bypass_endpoint_text(gdoi::SelectorEndpoint::from_prefix(c.destination, c.destination_port))});
    for (size_t i = 0; i < group.deny_entries.size(); ++i)
        status.bypass.push_back({"key server", "deny entry " + std::to_string(i + 1), group.deny_entries[i][0],
                                 group.deny_entries[i][1], group.deny_entries[i][2]});
    status.sequence = group.sequence;
    if (group.last_rekey) status.last_rekey = control::RekeyStatus{group.last_rekey->kind, epoch_seconds(group.last_rekey->when)};
    if (group.next_pull) status.next_pull = wall_epoch_seconds(*group.next_pull);
    status.registrations = group.counters.registrations;
    status.registration_failures = group.counters.registration_failures;
    status.pushes_accepted = group.counters.pushes_accepted;
    status.pushes_rejected = group.counters.pushes_rejected;
    status.pushes_rejected_by_reason = group.counters.pushes_rejected_by_reason;
    status.acks_sent = group.counters.acks_sent;
    status.ack_requests_ignored = group.counters.ack_requests_ignored;
    status.datagrams_ignored = group.counters.datagrams_ignored;
    const auto& kernel = group.kernel;
    static constexpr const char* kernel_states[] = {"waiting", "installed", "error", "unavailable"};
    status.kernel = control::KernelStatus{kernel_states[size_t(kernel.state)], kernel.states, kernel.policies,
                                          kernel.per_destination_flows, kernel.fail_closed, kernel.fail_open, kernel.problems, kernel.error,
                                          kernel.warning, kernel.repairs, kernel.notes, kernel.adopted};
    return status;
}

control::DaemonStatus make_status(const std::vector<std::unique_ptr<Group>>& groups, const std::string& config_path,
                                  std::chrono::seconds uptime, const std::optional<std::string>& config_error) {
    control::DaemonStatus status;
    status.version = GDOID_VERSION;
    status.pid = getpid();
    status.uptime_seconds = uptime.count();
    status.config_path = config_path;
    status.config_error = config_error;
    for (const auto& group : groups) status.groups.push_back(make_group_status(*group));
    return status;
}

std::map<std::string, uint64_t> datapath_counter_map(const bpf::DatapathCounters& c) {
    return {{"lan_marked", c.lan_marked},
            {"lan_slot_reused", c.lan_slot_reused},
            {"lan_slot_collisions", c.lan_slot_collisions},
            {"lan_slot_exhausted", c.lan_slot_exhausted},
            {"lan_bypassed", c.lan_bypassed},
            {"out_restored", c.out_restored},
            {"out_fragments", c.out_fragments},
            {"out_unrestored_dropped", c.out_unrestored_dropped},
            {"out_unflagged_dropped", c.out_unflagged_dropped},
            {"in_rewritten", c.in_rewritten},
            {"in_fragments", c.in_fragments},
            {"in_unknown_spi", c.in_unknown_spi},
            {"malformed", c.malformed},
            {"lan_mss_clamped", c.lan_mss_clamped},
            {"out_multicast", c.out_multicast},
            {"in_clear_multicast_dropped", c.in_clear_multicast_dropped},
            {"out_df_set", c.out_df_set},
            {"lan_pre_fragment", c.lan_pre_fragment},
            {"out_pre_fragmented", c.out_pre_fragmented}};
}

} // namespace gdoid::daemon
