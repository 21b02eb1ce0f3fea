#include "netlink/fake_kernel_ipsec.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>

namespace netlink {

namespace {

std::string hex(uint32_t value) {
    char buffer[16];
    snprintf(buffer, sizeof buffer, "0x%08x", value);
    return buffer;
}

std::string state_text(const XfrmStateId& id) {
    std::string text = "dst " + id.destination.to_string() + " proto " +
                       std::to_string(id.ip_protocol) + " spi " + hex(id.spi);
    if (id.mark) text += " mark " + hex(id.mark->value) + "/" + hex(id.mark->mask);
    return text;
}

std::string policy_text(const XfrmPolicyId& id) {
    static const char* const directions[] = {"in", "out", "fwd"};
    std::string text = std::string("dir ") + directions[size_t(id.direction) % 3] + " src " +
                       id.selector.source.to_string() + " dst " +
                       id.selector.destination.to_string();
    if (id.selector.ip_protocol != 0) text += " proto " + std::to_string(id.selector.ip_protocol);
    if (id.selector.source_port != 0) text += " sport " + std::to_string(id.selector.source_port);
    if (id.selector.destination_port != 0)
        text += " dport " + std::to_string(id.selector.destination_port);
    if (id.selector.ifindex != 0) text += " ifindex " + std::to_string(id.selector.ifindex);
    if (id.if_id != 0) text += " if_id " + hex(id.if_id);
    if (id.mark) text += " mark " + hex(id.mark->value) + "/" + hex(id.mark->mask);
    return text;
}

// The journal's short forms (see journal() in the header).
std::string mark_suffix(const std::optional<XfrmMark>& mark) {
    return mark ? " mark " + hex(mark->value) + "/" + hex(mark->mask) : "";
}

std::string state_line(const char* verb, const XfrmStateId& id, XfrmStateDirection direction) {
    std::string text = std::string(verb) + " state " + hex(id.spi);
    switch (direction) {
    case XfrmStateDirection::in:
        text += " in";
        break;
    case XfrmStateDirection::out:
        text += " out";
        break;
    case XfrmStateDirection::unspecified:
        text += " dst " + id.destination.to_string();
        break;
    }
    if (id.ip_protocol != 50) text += " proto " + std::to_string(id.ip_protocol);
    return text + mark_suffix(id.mark);
}

std::string policy_line(const char* verb, const XfrmPolicyId& id) {
    static const char* const directions[] = {"in", "out", "fwd"};
    const auto& s = id.selector;
    std::string text = std::string(verb) + " policy " + directions[size_t(id.direction) % 3] + " " +
                       s.source.to_string() + "->" + s.destination.to_string();
    if (s.ip_protocol != 0) text += " proto " + std::to_string(s.ip_protocol);
    if (s.source_port != 0) text += " sport " + std::to_string(s.source_port);
    if (s.destination_port != 0) text += " dport " + std::to_string(s.destination_port);
    if (s.ifindex != 0) text += " dev if" + std::to_string(s.ifindex);
    if (id.if_id != 0) text += " if_id " + hex(id.if_id);
    return text + mark_suffix(id.mark);
}

// Adds what the policy does: "block", "allow" (a plain bypass) or its templates.
std::string policy_line(const char* verb, const XfrmPolicy& policy) {
    std::string text = policy_line(verb, policy.id);
    if (policy.action == XfrmPolicyAction::block) return text + " block";
    if (policy.templates.empty()) return text + " allow";
    for (const auto& t : policy.templates) {
        text += t.ip_protocol == 50   ? " esp"
                : t.ip_protocol == 51 ? " ah"
                                      : " proto " + std::to_string(t.ip_protocol);
        if (t.spi != 0) text += " spi " + hex(t.spi);
    }
    return text;
}

void wipe_keys(XfrmState& state) {
    for (auto* algorithm : {&state.encryption, &state.authentication, &state.aead})
        if (*algorithm) (*algorithm)->key.wipe();
}

} // namespace

const char* FakeKernelIpsec::kind_name(Call::Kind kind) {
    switch (kind) {
    case Call::Kind::add_state:
        return "add_state";
    case Call::Kind::update_state:
        return "update_state";
    case Call::Kind::delete_state:
        return "delete_state";
    case Call::Kind::dump_states:
        return "dump_states";
    case Call::Kind::add_policy:
        return "add_policy";
    case Call::Kind::update_policy:
        return "update_policy";
    case Call::Kind::delete_policy:
        return "delete_policy";
    case Call::Kind::discard_acquire:
        return "discard_acquire";
    case Call::Kind::dump_policies:
        return "dump_policies";
    case Call::Kind::bypass_socket:
        return "bypass_socket";
    }
    return "?";
}

void FakeKernelIpsec::begin(Call call) {
    call.text = kind_name(call.kind);
    if (call.state) call.text += " " + state_text(*call.state);
    if (call.policy) call.text += " " + policy_text(*call.policy);
    calls_.push_back(call);
    for (auto it = failures_.begin(); it != failures_.end(); ++it) {
        if (!it->match(calls_.back())) continue;
        const int error_number = it->error_number;
        if (it->once) failures_.erase(it);
        refuse("injected failure", error_number);
    }
}

void FakeKernelIpsec::refuse(const std::string& what, int error_number) {
    calls_.back().error = error_number;
    throw KernelError(calls_.back().text + ": " + what + " (" + std::strerror(error_number) + ")",
                      error_number);
}

void FakeKernelIpsec::finish(std::string line) {
    journal_.push_back(std::move(line));
    if (observer_) observer_(*this, calls_.back());
}

const XfrmState* FakeKernelIpsec::find_state(const XfrmStateId& id) const {
    for (const auto& s : states_)
        if (s.id == id) return &s;
    return nullptr;
}

const XfrmPolicy* FakeKernelIpsec::find_policy(const XfrmPolicyId& id) const {
    for (const auto& p : policies_)
        if (p.id == id) return &p;
    return nullptr;
}

void FakeKernelIpsec::add_state(const XfrmState& state) {
    begin({Call::Kind::add_state, state.id, std::nullopt, {}, 0});
    if (find_state(state.id)) refuse("state exists", EEXIST);
    states_.push_back(state);
    finish(state_line("add", state.id, state.direction));
}

void FakeKernelIpsec::update_state(const XfrmState& state) {
    begin({Call::Kind::update_state, state.id, std::nullopt, {}, 0});
    // The kernel's XFRM_MSG_UPDSA does not create: xfrm_state_update() answers ESRCH.
    auto it = std::find_if(states_.begin(), states_.end(),
                           [&](const XfrmState& s) { return s.id == state.id; });
    if (it == states_.end()) refuse("no such state", ESRCH);
    // Like xfrm_state_update() on a valid state: selector, lifetimes and a non-zero output
    // mark change; flags, algorithms, keys and the rest stay as they were.
    it->selector = state.selector;
    it->hard_lifetime_seconds = state.hard_lifetime_seconds;
    it->soft_lifetime_seconds = state.soft_lifetime_seconds;
    if (state.set_mark) it->set_mark = state.set_mark;
    finish(state_line("update", state.id, state.direction));
}

void FakeKernelIpsec::delete_state(const XfrmStateId& id) {
    begin({Call::Kind::delete_state, id, std::nullopt, {}, 0});
    auto it = std::find_if(states_.begin(), states_.end(),
                           [&](const XfrmState& s) { return s.id == id; });
    if (it == states_.end()) refuse("no such state", ESRCH);
    const XfrmStateDirection direction = it->direction;
    states_.erase(it);
    finish(state_line("delete", id, direction));
}

std::vector<XfrmState> FakeKernelIpsec::dump_states() {
    begin({Call::Kind::dump_states, std::nullopt, std::nullopt, {}, 0});
    auto copy = states_;
    for (auto& s : copy)
        wipe_keys(s);
    return copy;
}

void FakeKernelIpsec::insert_foreign(const XfrmPolicy& policy) {
    policies_.push_back(policy);
    policies_.back().index = next_index_;
    next_index_ += 8;
}

void FakeKernelIpsec::add_policy(const XfrmPolicy& policy) {
    begin({Call::Kind::add_policy, std::nullopt, policy.id, {}, 0});
    if (find_policy(policy.id)) refuse("policy exists", EEXIST);
    policies_.push_back(policy);
    policies_.back().index = next_index_;
    next_index_ += 8;
    finish(policy_line("add", policy));
}

void FakeKernelIpsec::update_policy(const XfrmPolicy& policy) {
    begin({Call::Kind::update_policy, std::nullopt, policy.id, {}, 0});
    // XFRM_MSG_UPDPOLICY replaces a policy with the same identity or inserts a new one.
    auto it = std::find_if(policies_.begin(), policies_.end(),
                           [&](const XfrmPolicy& p) { return p.id == policy.id; });
    if (it == policies_.end()) {
        policies_.push_back(policy);
        policies_.back().index = next_index_;
        next_index_ += 8;
    } else {
        const uint32_t index = it->index;
        *it = policy;
        it->index = index;
    }
    finish(policy_line("update", policy));
}

void FakeKernelIpsec::delete_policy(const XfrmPolicyId& id) {
    begin({Call::Kind::delete_policy, std::nullopt, id, {}, 0});
    auto it = std::find_if(policies_.begin(), policies_.end(),
                           [&](const XfrmPolicy& p) { return p.id == id; });
    if (it == policies_.end()) refuse("no such policy", ENOENT);
    policies_.erase(it);
    finish(policy_line("delete", id));
}

std::vector<XfrmPolicy> FakeKernelIpsec::dump_policies() {
    begin({Call::Kind::dump_policies, std::nullopt, std::nullopt, {}, 0});
    return policies_;
}

AcquirePlaceholder FakeKernelIpsec::insert_acquire_placeholder(const IpAddress& destination,
                                                               const IpAddress& source, uint32_t reqid) {
    XfrmState larval;
    larval.id.destination = destination;
    larval.id.spi = 0;
    larval.source = source;
    larval.reqid = reqid;
    states_.push_back(larval);
    return {destination, source, 50, reqid, next_acquire_sequence_++};
}

void FakeKernelIpsec::discard_acquire(const AcquirePlaceholder& placeholder) {
    begin({Call::Kind::discard_acquire, std::nullopt, std::nullopt, {}, 0});
    calls_.back().text += " dst " + placeholder.destination.to_string() + " src " + placeholder.source.to_string();
    // Like ALLOCSPI + DELSA: the placeholder with these addresses and reqid goes; none is fine.
    std::erase_if(states_, [&](const XfrmState& s) {
        return s.id.spi == 0 && s.id.destination == placeholder.destination && s.source == placeholder.source &&
               s.reqid == placeholder.reqid;
    });
    finish("discard acquire dst " + placeholder.destination.to_string() + " src " + placeholder.source.to_string());
}

void FakeKernelIpsec::bypass_socket(int fd, IpFamily family) {
    begin({Call::Kind::bypass_socket, std::nullopt, std::nullopt, {}, 0});
    calls_.back().text += " fd " + std::to_string(fd);
    if (fd < 0) refuse("bad file descriptor", EBADF);
    bypassed_.push_back({fd, family});
    finish("bypass socket fd " + std::to_string(fd));
}

void FakeKernelIpsec::fail_when(std::function<bool(const Call&)> match, int error_number,
                                bool once) {
    failures_.push_back({std::move(match), error_number, once});
}

void FakeKernelIpsec::fail_nth(Call::Kind kind, size_t n, int error_number) {
    auto seen = std::make_shared<size_t>(0);
    fail_when([kind, n, seen](const Call& call) { return call.kind == kind && (*seen)++ == n; },
              error_number);
}

std::vector<std::string> FakeKernelIpsec::call_texts() const {
    std::vector<std::string> texts;
    for (const auto& c : calls_)
        texts.push_back(c.text);
    return texts;
}

} // namespace netlink
