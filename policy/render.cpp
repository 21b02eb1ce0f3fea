#include "policy/render.hpp"

#include "policy/tek_states.hpp"

#include <cstdio>

namespace policy {

namespace {

std::string protocol_name(uint8_t protocol) {
    switch (protocol) {
    case 1:
        return "icmp";
    case 6:
        return "tcp";
    case 17:
        return "udp";
    case 50:
        return "esp";
    case 51:
        return "ah";
    case 58:
        return "ipv6-icmp";
    default:
        return std::to_string(protocol);
    }
}

std::string device_name(int ifindex, const LocalSettings* settings) {
    if (settings != nullptr) {
        if (settings->wan.ifindex == ifindex && !settings->wan.name.empty())
            return settings->wan.name;
        for (const auto& lan : settings->lans)
            if (lan.ifindex == ifindex && !lan.name.empty()) return lan.name;
    }
    return "if" + std::to_string(ifindex);
}

std::string mark_text(const netlink::XfrmMark& mark) {
    char buffer[32];
    snprintf(buffer, sizeof buffer, "0x%x/0x%x", mark.value, mark.mask);
    return buffer;
}

std::string algorithm_text(const char* label, const netlink::XfrmAlgorithm& algorithm) {
    std::string text = std::string(" ") + label + " " + algorithm.name + " (" +
                       std::to_string(algorithm.key.size() * 8) + "-bit key";
    if (algorithm.icv_or_trunc_bits != 0)
        text += ", " + std::to_string(algorithm.icv_or_trunc_bits);
    return text + ")";
}

std::string template_text(const netlink::XfrmTemplate& t) {
    std::string text = "tmpl src " + t.source.to_string() + " dst " + t.destination.to_string() +
                       " proto " + protocol_name(t.ip_protocol);
    if (t.spi != 0) text += " spi " + hex32(t.spi);
    text += " reqid " + std::to_string(t.reqid) + " mode ";
    text += t.mode == netlink::XfrmMode::tunnel ? "tunnel" : "transport";
    if (t.optional) text += " level use";
    return text;
}

} // namespace

std::string describe(const netlink::XfrmStateId& id) {
    std::string text = "dst " + id.destination.to_string() + " proto " +
                       protocol_name(id.ip_protocol) + " spi " + hex32(id.spi);
    if (id.mark) text += " mark " + mark_text(*id.mark);
    return text;
}

std::string describe(const netlink::XfrmState& state) {
    std::string text = "src " + state.source.to_string() + " " + describe(state.id) + " reqid " +
                       std::to_string(state.reqid) + " mode " +
                       (state.mode == netlink::XfrmMode::tunnel ? "tunnel" : "transport");
    text += "\n    ";
    switch (state.direction) {
    case netlink::XfrmStateDirection::in:
        text += "dir in ";
        break;
    case netlink::XfrmStateDirection::out:
        text += "dir out ";
        break;
    case netlink::XfrmStateDirection::unspecified:
        break;
    }
    text += "replay-window " + std::to_string(state.replay_window);
    if (state.no_pmtu_discovery) text += " flag nopmtudisc";
    if (state.output_sequence_may_wrap) text += " extra-flag oseq-may-wrap";
    if (state.set_mark) text += " output-mark " + mark_text(*state.set_mark);
    if (state.if_id) text += " if_id " + hex32(state.if_id);
    if (state.offload_device) text += " offload dev " + *state.offload_device;
    if (state.aead) text += algorithm_text("aead", *state.aead);
    if (state.encryption) text += algorithm_text("enc", *state.encryption);
    if (state.authentication) text += algorithm_text("auth-trunc", *state.authentication);
    if (state.hard_lifetime_seconds == 0 && state.soft_lifetime_seconds == 0)
        text += " lifetime: by gdoid";
    return text;
}

std::string describe(const netlink::XfrmPolicyId& id, const LocalSettings* settings) {
    const auto& s = id.selector;
    std::string text = "src " + s.source.to_string() + " dst " + s.destination.to_string();
    if (s.ip_protocol != 0) text += " proto " + protocol_name(s.ip_protocol);
    if (s.source_port != 0) text += " sport " + std::to_string(s.source_port);
    if (s.destination_port != 0) text += " dport " + std::to_string(s.destination_port);
    if (s.ifindex != 0) text += " dev " + device_name(s.ifindex, settings);
    text += " dir ";
    switch (id.direction) {
    case netlink::XfrmPolicyDirection::in:
        text += "in";
        break;
    case netlink::XfrmPolicyDirection::out:
        text += "out";
        break;
    case netlink::XfrmPolicyDirection::fwd:
        text += "fwd";
        break;
    }
    if (id.mark) text += " mark " + mark_text(*id.mark);
    if (id.if_id) text += " if_id " + hex32(id.if_id);
    return text;
}

std::string describe(const netlink::XfrmPolicy& policy, const LocalSettings* settings) {
    std::string text = describe(policy.id, settings) + " priority " +
                       std::to_string(policy.priority) +
                       (policy.action == netlink::XfrmPolicyAction::allow ? " allow" : " block");
    for (const auto& t : policy.templates)
        text += "\n    " + template_text(t);
    return text;
}

std::string render_desired(const DesiredObjects& desired, const LocalSettings& settings) {
    std::string text =
        "group " + settings.group_name + " (id " + std::to_string(settings.group_id) + "): ";
    text += desired.has_valid_sa ? "keys valid" : "NO VALID KEYS, fail-closed";
    text += "\n";
    text += "states (" + std::to_string(desired.states.size()) + "):\n";
    for (size_t i = 0; i < desired.states.size(); ++i)
        text += "  # " + desired.state_roles[i] + "\n  " + describe(desired.states[i]) + "\n";
    text += "policies (" + std::to_string(desired.policies.size()) + "):\n";
    for (size_t i = 0; i < desired.policies.size(); ++i)
        text += "  # " + desired.policy_roles[i] + "\n  " +
                describe(desired.policies[i], &settings) + "\n";
    text += "datapath:\n";
    for (uint32_t spi : desired.datapath.inbound_spis)
        text += "  inbound spi " + hex32(spi) + "\n";
    for (const auto& p : desired.datapath.protected_destinations)
        text += "  protected " + p.to_string() + "\n";
    for (const auto& [s, d] : desired.datapath.outbound_flows)
        text += "  flow " + s.to_string() + " -> " + d.to_string() + "\n";
    if (!desired.problems.empty()) {
        text += "problems:\n";
        for (const auto& p : desired.problems)
            text += "  " + p + "\n";
    }
    return text;
}

} // namespace policy

std::string policy::MapEntry::to_string() const {
    switch (kind) {
    case Kind::inbound_spi:
        return "inbound spi " + hex32(spi);
    case Kind::protected_destination:
        return "protected " + prefix.to_string();
    case Kind::outbound_flow:
        return "flow " + prefix.to_string() + " -> " + destination.to_string();
    }
    return "?";
}
