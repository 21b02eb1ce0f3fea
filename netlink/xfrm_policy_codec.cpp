// XFRM policy messages: NEWPOLICY/UPDPOLICY/DELPOLICY/GETPOLICY and their decoding.
#include "netlink/xfrm_codec.hpp"
#include "netlink/xfrm_translate.hpp"

#include <arpa/inet.h>
#include <cstring>
#include <sys/socket.h>

namespace netlink {

namespace {

// The kernel's XFRM_MAX_DEPTH (include/net/xfrm.h): templates per policy.
constexpr size_t max_templates = 6;

xfrm_selector selector_or_throw(const XfrmSelector& selector) {
    try {
        return to_xfrm_selector(selector);
    } catch (const std::invalid_argument& e) {
        throw InvalidXfrmObject(e.what());
    }
}

void put_policy_mark(MessageBuilder& message, const std::optional<XfrmMark>& mark) {
    if (!mark || (mark->value == 0 && mark->mask == 0)) return;
    xfrm_mark m{mark->value, mark->mask};
    message.put_attribute(XFRMA_MARK, m);
}

xfrm_user_tmpl to_user_template(const XfrmTemplate& t, IpFamily selector_family) {
    if (t.source.family != t.destination.family)
        throw InvalidXfrmObject("template " + t.source.to_string() + " -> " +
                                t.destination.to_string() + " mixes address families");
    xfrm_user_tmpl out{};
    // Transport templates leave the endpoints unspecified; they then take the selector family.
    const bool wildcard = t.source.is_unspecified() && t.destination.is_unspecified();
    const IpFamily family =
        wildcard && t.mode == XfrmMode::transport ? selector_family : t.source.family;
    out.family = to_address_family(family);
    out.saddr = to_xfrm_address(t.source);
    out.id.daddr = to_xfrm_address(t.destination);
    out.id.spi = htonl(t.spi);
    out.id.proto = t.ip_protocol;
    out.mode = uint8_t(t.mode);
    out.reqid = t.reqid;
    out.optional = t.optional ? 1 : 0;
    // Any algorithm: the state found by reqid decides (as `ip xfrm` does).
    out.aalgos = out.ealgos = out.calgos = ~0u;
    return out;
}

} // namespace

MessageBuilder build_add_policy(const XfrmPolicy& policy, bool update) {
    xfrm_userpolicy_info info{};
    info.sel = selector_or_throw(policy.id.selector);
    info.lft.soft_byte_limit = XFRM_INF;
    info.lft.hard_byte_limit = XFRM_INF;
    info.lft.soft_packet_limit = XFRM_INF;
    info.lft.hard_packet_limit = XFRM_INF;
    info.priority = policy.priority;
    info.dir = uint8_t(policy.id.direction);
    info.action = policy.action == XfrmPolicyAction::allow ? XFRM_POLICY_ALLOW : XFRM_POLICY_BLOCK;
    info.share = XFRM_SHARE_ANY;
    if (policy.action == XfrmPolicyAction::block && !policy.templates.empty())
        throw InvalidXfrmObject("a block policy cannot have templates");
    if (policy.templates.size() > max_templates)
        throw InvalidXfrmObject("at most " + std::to_string(max_templates) + " templates");

    MessageBuilder message(update ? XFRM_MSG_UPDPOLICY : XFRM_MSG_NEWPOLICY,
                           update ? 0 : NLM_F_CREATE | NLM_F_EXCL);
    message.put_header(info);
    if (!policy.templates.empty()) {
        std::vector<xfrm_user_tmpl> templates;
        for (const auto& t : policy.templates)
            templates.push_back(to_user_template(t, policy.id.selector.source.address.family));
        message.put_attribute(
            XFRMA_TMPL, std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(templates.data()),
                                                 templates.size() * sizeof(xfrm_user_tmpl)));
    }
    put_policy_mark(message, policy.id.mark);
    if (policy.id.if_id != 0) message.put_attribute(XFRMA_IF_ID, policy.id.if_id);
    return message;
}

MessageBuilder build_policy_id_request(uint16_t type, const XfrmPolicyId& id) {
    xfrm_userpolicy_id header{};
    header.sel = selector_or_throw(id.selector);
    header.dir = uint8_t(id.direction);
    MessageBuilder message(type, 0);
    message.put_header(header);
    put_policy_mark(message, id.mark);
    if (id.if_id != 0) message.put_attribute(XFRMA_IF_ID, id.if_id);
    return message;
}

MessageBuilder build_policy_dump_request() {
    MessageBuilder message(XFRM_MSG_GETPOLICY, NLM_F_DUMP);
    message.put_header(xfrm_userpolicy_id{});
    return message;
}

XfrmPolicy decode_policy(const xfrm_userpolicy_info& info, const AttributeSet& attributes) {
    XfrmPolicy p;
    p.id.selector = from_xfrm_selector(info.sel);
    if (info.dir > uint8_t(XfrmPolicyDirection::fwd))
        throw std::runtime_error("policy with unknown direction " + std::to_string(info.dir));
    p.id.direction = XfrmPolicyDirection(info.dir);
    if (auto m = attributes.get_struct<xfrm_mark>(XFRMA_MARK); m && (m->v || m->m))
        p.id.mark = XfrmMark{m->v, m->m};
    if (auto if_id = attributes.get_struct<uint32_t>(XFRMA_IF_ID)) p.id.if_id = *if_id;
    p.priority = info.priority;
    p.index = info.index;
    p.action = info.action == XFRM_POLICY_BLOCK ? XfrmPolicyAction::block : XfrmPolicyAction::allow;
    if (auto raw = attributes.get(XFRMA_TMPL)) {
        for (size_t at = 0; at + sizeof(xfrm_user_tmpl) <= raw->size();
             at += sizeof(xfrm_user_tmpl)) {
            xfrm_user_tmpl t;
            std::memcpy(&t, raw->data() + at, sizeof t);
            const IpFamily family = t.family == AF_UNSPEC ? p.id.selector.source.address.family
                                                          : from_address_family(t.family);
            XfrmTemplate out;
            out.source = from_xfrm_address(t.saddr, family);
            out.destination = from_xfrm_address(t.id.daddr, family);
            out.spi = ntohl(t.id.spi);
            out.ip_protocol = t.id.proto;
            out.mode = XfrmMode(t.mode);
            out.reqid = t.reqid;
            out.optional = t.optional != 0;
            p.templates.push_back(out);
        }
    }
    return p;
}

XfrmPolicy decode_policy(const nlmsghdr* message) {
    if (message->nlmsg_type != XFRM_MSG_NEWPOLICY && message->nlmsg_type != XFRM_MSG_UPDPOLICY)
        throw std::runtime_error("expected an XFRM policy message, got type " +
                                 std::to_string(message->nlmsg_type));
    AttributeSet attributes(message, sizeof(xfrm_userpolicy_info));
    xfrm_userpolicy_info info;
    std::memcpy(&info, reinterpret_cast<const uint8_t*>(message) + NLMSG_HDRLEN, sizeof info);
    return decode_policy(info, attributes);
}

} // namespace netlink
