#include "ctl/status_render.hpp"

#include <ctime>

namespace gdoid::ctl {

namespace {

struct Palette {
    bool on;
    std::string bold(const std::string& text) const { return on ? "\033[1m" + text + "\033[0m" : text; }
    std::string green(const std::string& text) const { return on ? "\033[1;32m" + text + "\033[0m" : text; }
    std::string yellow(const std::string& text) const { return on ? "\033[1;33m" + text + "\033[0m" : text; }
    std::string red(const std::string& text) const { return on ? "\033[1;31m" + text + "\033[0m" : text; }
};

std::string state_text(const Palette& palette, const std::string& state) {
    if (state == "registered") return palette.green(state);
    if (state == "servers-unreachable") return palette.yellow(state);
    if (state == "failed" || state == "removed-by-key-server" || state == "interface-down") return palette.red(state);
    return palette.yellow(state);
}

std::string local_time(int64_t epoch) {
    const time_t seconds = time_t(epoch);
    tm parts{};
    localtime_r(&seconds, &parts);
    char buffer[32];
    std::strftime(buffer, sizeof buffer, "%Y-%m-%d %H:%M:%S", &parts);
    return buffer;
}

} // namespace

std::string format_uptime(int64_t seconds) {
    if (seconds <= 0) return "0s";
    std::string out;
    for (auto [size, unit] : {std::pair<int64_t, const char*>{86400, "d"}, {3600, "h"}, {60, "m"}, {1, "s"}}) {
        if (seconds >= size) {
            out += (out.empty() ? "" : " ") + std::to_string(seconds / size) + unit;
            seconds %= size;
        }
    }
    return out;
}

std::string render_status(const control::DaemonStatus& status, bool colour) {
    const Palette palette{colour};
    std::string out;
    out += palette.bold("gdoid") + " " + status.version + " (pid " + std::to_string(status.pid) + "), up " +
           format_uptime(status.uptime_seconds) + "\n";
    out += "  configuration: " + status.config_path + "\n";
    if (status.config_error)
        out += "  " + palette.red("last reload refused") + ": " + *status.config_error +
               " (the previous configuration is in force)\n";
    if (status.datapath_counters) {
        // The counters an operator acts on; `--json` has all of them.
        const auto& c = *status.datapath_counters;
        const auto get = [&](const char* name) {
            const auto it = c.find(name);
            return it == c.end() ? uint64_t(0) : it->second;
        };
        const uint64_t unrestored = get("out_unrestored_dropped") + get("out_unflagged_dropped");
        out += "  datapath: " + std::to_string(get("out_restored")) + " packets sent with their own addresses, " +
               std::to_string(get("in_rewritten")) + " received; " +
               (unrestored ? palette.red(std::to_string(unrestored) + " dropped unrestored")
                           : std::string("0 dropped unrestored")) +
               "\n";
    }
    if (status.fragmentation_counters) {
        // The kernel's own counts (this namespace, every flow, not only the groups').
        const auto& c = *status.fragmentation_counters;
        const auto get = [&](const char* name) {
            const auto it = c.find(name);
            return it == c.end() ? std::string("-") : std::to_string(it->second);
        };
        out += "  fragmentation (kernel): IPv4 " + get("ipv4_fragmented") + " fragmented, " +
               get("ipv4_frag_needed") + " refused with fragmentation-needed; IPv6 " +
               get("ipv6_packet_too_big") + " Packet Too Big sent\n";
    }
    if (status.pre_fragmentation) {
        const auto& pre = *status.pre_fragmentation;
        if (pre.error) {
            out += "  pre-fragmentation: " + palette.red("off: " + *pre.error) + "\n";
        } else {
            const auto counter = [&](const char* name) {
                if (!status.datapath_counters) return std::string("-");
                const auto it = status.datapath_counters->find(name);
                return it == status.datapath_counters->end() ? std::string("-") : std::to_string(it->second);
            };
            out += "  pre-fragmentation: " + pre.interface + ", MTU " + std::to_string(pre.mtu) + ": " +
                   counter("lan_pre_fragment") + " packets fragmented before encryption, " +
                   counter("out_pre_fragmented") + " ESP packets\n";
        }
    }
    if (status.groups.empty()) out += "  no groups\n";
    for (const auto& group : status.groups) {
        out += "\n" + palette.bold("group " + group.name) + " (id " + std::to_string(group.id) +
               "): " + state_text(palette, group.state) + "\n";
        std::string servers;
        for (const auto& server : group.servers) {
            const bool in_use = group.server_in_use && *group.server_in_use == server;
            servers += (servers.empty() ? "" : ", ") + server + (in_use ? " (in use)" : "");
        }
        out += "  key servers: " + servers + "\n";
        out += "  server in use: " + group.server_in_use.value_or("none") + "\n";
        if (group.last_error)
            out += "  last error: " + palette.red(group.last_error->message) + " (" +
                   local_time(group.last_error->time) + ")\n";
        else
            out += "  last error: none\n";
        if (group.last_rekey)
            out += "  keys from: " + group.last_rekey->kind + " at " + local_time(group.last_rekey->time) +
                   (group.sequence ? ", push sequence " + std::to_string(*group.sequence) : std::string()) + "\n";
        if (group.next_pull)
            out += "  next rekey: pull at " + local_time(*group.next_pull) + " unless a push comes first\n";
        if (group.phase1)
            out += "  phase 1: " + group.phase1->proposal +
                   (group.phase1->server_certificate ? ", key server certificate \"" + *group.phase1->server_certificate + "\""
                                                     : std::string(", pre-shared key")) +
                   "\n";
        if (group.kek)
            out += "  KEK " + group.kek->spi + " " + group.kek->cipher +
                   (group.kek->signature.empty() ? std::string() : ", pushes signed " + group.kek->signature) +
                   ", expires " + local_time(group.kek->expires) + "\n";
        for (const auto& tek : group.teks)
            out += "  TEK " + tek.spi + " " + tek.cipher + " " + tek.source + " -> " + tek.destination +
                   ", expires " + local_time(tek.expires) +
                   (tek.inner_mtu ? ", inner MTU " + std::to_string(*tek.inner_mtu) : std::string()) + "\n";
        out += "  registrations: " + std::to_string(group.registrations) + " (" +
               std::to_string(group.registration_failures) + " failed), pushes: " +
               std::to_string(group.pushes_accepted) + " accepted, " + std::to_string(group.pushes_rejected) +
               " rejected" + (group.acks_sent ? ", " + std::to_string(group.acks_sent) + " acknowledged" : std::string()) +
               (group.ack_requests_ignored
                    ? ", " + std::to_string(group.ack_requests_ignored) + " ack request" +
                          (group.ack_requests_ignored == 1 ? "" : "s") + " ignored (see the log)"
                    : std::string()) +
               (group.datagrams_ignored
                    ? ", " + std::to_string(group.datagrams_ignored) + " stray datagram" +
                          (group.datagrams_ignored == 1 ? "" : "s") + " ignored (see the log)"
                    : std::string()) +
               "\n";
        if (group.match_direction != "both")
            out += "  match-direction: " + palette.yellow(group.match_direction) +
                   (group.match_direction == "input" ? " (decrypts, sends clear text)"
                                                     : " (encrypts, does not decrypt)") +
                   "\n";
        if (group.bypass_mark) out += "  bypass-mark: " + *group.bypass_mark + " (packets marked by the firewall stay clear)\n";
        for (const auto& c : group.bypass)
            out += "  bypass " + c.name + " (" + c.origin + "): " + c.protocol + " " + c.source + " <-> " +
                   c.destination + "\n";
        if (!group.pushes_rejected_by_reason.empty()) {
            std::string reasons;
            for (const auto& [reason, count] : group.pushes_rejected_by_reason)
                reasons += (reasons.empty() ? "" : ", ") + reason + " " + std::to_string(count);
            out += "  refused pushes: " + reasons + "\n";
        }
        if (group.kernel) {
            const auto& kernel = *group.kernel;
            std::string line = "  kernel: " + (kernel.state == "installed" ? palette.green(kernel.state)
                                               : kernel.state == "waiting" ? palette.yellow(kernel.state)
                                                                           : palette.red(kernel.state));
            line += ", " + std::to_string(kernel.states) + " states, " + std::to_string(kernel.policies) + " policies";
            if (kernel.per_destination_flows > 0)
                line += ", " + std::to_string(kernel.per_destination_flows) + " per-destination flow" +
                        (kernel.per_destination_flows == 1 ? "" : "s");
            if (kernel.adopted) line += ", " + palette.yellow("adopted from the previous gdoid");
            if (kernel.fail_closed) line += ", " + palette.yellow("fail-closed");
            if (kernel.fail_open) line += ", " + palette.yellow("fail-open rules active");
            if (kernel.repairs > 0)
                line += ", " + palette.yellow(std::to_string(kernel.repairs) + " repair" + (kernel.repairs == 1 ? "" : "s") +
                                              " of objects removed by others");
            out += line + "\n";
            if (kernel.error) out += "  kernel error: " + palette.red(*kernel.error) + "\n";
            if (kernel.warning) out += "  warning: " + palette.yellow(*kernel.warning) + "\n";
            for (const auto& problem : kernel.problems) out += "  not installed: " + problem + "\n";
            for (const auto& note : kernel.notes) out += "  note: " + note + "\n";
        }
    }
    return out;
}

} // namespace gdoid::ctl
