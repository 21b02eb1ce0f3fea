#include "netlink/netlink_message.hpp"

#include <cstring>
#include <libmnl/libmnl.h>
#include <openssl/crypto.h>
#include <stdexcept>

namespace netlink {

namespace {

using S = AttributeShape;

// Sizes as the kernel checks them (net/xfrm/xfrm_user.c, xfrma_policy and verify_* helpers).
const AttributeRule rules[] = {
    {XFRMA_ALG_AUTH, "XFRMA_ALG_AUTH", S::algorithm, sizeof(xfrm_algo)},
    {XFRMA_ALG_CRYPT, "XFRMA_ALG_CRYPT", S::algorithm, sizeof(xfrm_algo)},
    {XFRMA_ALG_COMP, "XFRMA_ALG_COMP", S::algorithm, sizeof(xfrm_algo)},
    {XFRMA_ENCAP, "XFRMA_ENCAP", S::exact, sizeof(xfrm_encap_tmpl)},
    {XFRMA_TMPL, "XFRMA_TMPL", S::array_of, sizeof(xfrm_user_tmpl)},
    {XFRMA_SA, "XFRMA_SA", S::exact, sizeof(xfrm_usersa_info)},
    {XFRMA_POLICY, "XFRMA_POLICY", S::exact, sizeof(xfrm_userpolicy_info)},
    {XFRMA_SEC_CTX, "XFRMA_SEC_CTX", S::minimum, sizeof(xfrm_user_sec_ctx)},
    {XFRMA_LTIME_VAL, "XFRMA_LTIME_VAL", S::exact, sizeof(xfrm_lifetime_cur)},
    {XFRMA_REPLAY_VAL, "XFRMA_REPLAY_VAL", S::exact, sizeof(xfrm_replay_state)},
    {XFRMA_REPLAY_THRESH, "XFRMA_REPLAY_THRESH", S::exact, sizeof(uint32_t)},
    {XFRMA_ETIMER_THRESH, "XFRMA_ETIMER_THRESH", S::exact, sizeof(uint32_t)},
    {XFRMA_SRCADDR, "XFRMA_SRCADDR", S::exact, sizeof(xfrm_address_t)},
    {XFRMA_COADDR, "XFRMA_COADDR", S::exact, sizeof(xfrm_address_t)},
    {XFRMA_LASTUSED, "XFRMA_LASTUSED", S::exact, sizeof(uint64_t)},
    {XFRMA_POLICY_TYPE, "XFRMA_POLICY_TYPE", S::exact, sizeof(xfrm_userpolicy_type)},
    {XFRMA_MIGRATE, "XFRMA_MIGRATE", S::array_of, sizeof(xfrm_user_migrate)},
    {XFRMA_ALG_AEAD, "XFRMA_ALG_AEAD", S::algorithm, sizeof(xfrm_algo_aead)},
    {XFRMA_KMADDRESS, "XFRMA_KMADDRESS", S::exact, sizeof(xfrm_user_kmaddress)},
    {XFRMA_ALG_AUTH_TRUNC, "XFRMA_ALG_AUTH_TRUNC", S::algorithm, sizeof(xfrm_algo_auth)},
    {XFRMA_MARK, "XFRMA_MARK", S::exact, sizeof(xfrm_mark)},
    {XFRMA_TFCPAD, "XFRMA_TFCPAD", S::exact, sizeof(uint32_t)},
    {XFRMA_REPLAY_ESN_VAL, "XFRMA_REPLAY_ESN_VAL", S::minimum, sizeof(xfrm_replay_state_esn)},
    {XFRMA_SA_EXTRA_FLAGS, "XFRMA_SA_EXTRA_FLAGS", S::exact, sizeof(uint32_t)},
    {XFRMA_PROTO, "XFRMA_PROTO", S::exact, sizeof(uint8_t)},
    {XFRMA_ADDRESS_FILTER, "XFRMA_ADDRESS_FILTER", S::exact, sizeof(xfrm_address_filter)},
    {XFRMA_PAD, "XFRMA_PAD", S::minimum, 0},
    {XFRMA_OFFLOAD_DEV, "XFRMA_OFFLOAD_DEV", S::exact, sizeof(xfrm_user_offload)},
    {XFRMA_SET_MARK, "XFRMA_SET_MARK", S::exact, sizeof(uint32_t)},
    {XFRMA_SET_MARK_MASK, "XFRMA_SET_MARK_MASK", S::exact, sizeof(uint32_t)},
    {XFRMA_IF_ID, "XFRMA_IF_ID", S::exact, sizeof(uint32_t)},
    {XFRMA_MTIMER_THRESH, "XFRMA_MTIMER_THRESH", S::exact, sizeof(uint32_t)},
    {xfrma_sa_dir, "XFRMA_SA_DIR", S::exact, sizeof(uint8_t)},
};

// The key length field sits right after the 64-octet name in all three algorithm structs.
static_assert(offsetof(xfrm_algo, alg_key_len) == 64);
static_assert(offsetof(xfrm_algo_auth, alg_key_len) == 64);
static_assert(offsetof(xfrm_algo_aead, alg_key_len) == 64);

} // namespace

const AttributeRule* xfrm_attribute_rule(uint16_t type) {
    for (const auto& rule : rules)
        if (rule.type == type) return &rule;
    return nullptr;
}

std::optional<std::string> check_xfrm_attribute(uint16_t type, std::span<const uint8_t> payload) {
    const AttributeRule* rule = xfrm_attribute_rule(type);
    if (!rule) return "unknown XFRM attribute type " + std::to_string(type);
    const std::string name(rule->name);
    const std::string size = std::to_string(payload.size());
    switch (rule->shape) {
    case S::exact:
        if (payload.size() != rule->size)
            return name + " must be " + std::to_string(rule->size) + " octets, not " + size;
        break;
    case S::minimum:
        if (payload.size() < rule->size)
            return name + " needs at least " + std::to_string(rule->size) + " octets, has " + size;
        break;
    case S::array_of:
        if (payload.empty() || payload.size() % rule->size != 0)
            return name + " must be a non-empty multiple of " + std::to_string(rule->size) +
                   " octets, not " + size;
        break;
    case S::algorithm: {
        if (payload.size() < rule->size)
            return name + " needs at least " + std::to_string(rule->size) + " octets, has " + size;
        if (std::memchr(payload.data(), 0, 64) == nullptr)
            return name + " algorithm name is not terminated";
        uint32_t key_bits;
        std::memcpy(&key_bits, payload.data() + 64, sizeof key_bits);
        const size_t needed = rule->size + (size_t(key_bits) + 7) / 8;
        if (payload.size() != needed)
            return name + " declares a " + std::to_string(key_bits) + "-bit key: must be " +
                   std::to_string(needed) + " octets, not " + size;
        break;
    }
    }
    return std::nullopt;
}

MessageBuilder::MessageBuilder(uint16_t type, uint16_t flags, size_t capacity)
    : buffer_(capacity, 0) {
    if (capacity < MNL_NLMSG_HDRLEN) throw std::length_error("netlink buffer too small");
    nlmsghdr* h = mnl_nlmsg_put_header(buffer_.data());
    h->nlmsg_type = type;
    h->nlmsg_flags = NLM_F_REQUEST | flags;
}

MessageBuilder::~MessageBuilder() {
    OPENSSL_cleanse(buffer_.data(), buffer_.size());
}

void MessageBuilder::put_header_bytes(std::span<const uint8_t> bytes) {
    if (has_attributes_ || header()->nlmsg_len != MNL_NLMSG_HDRLEN)
        throw std::logic_error("netlink fixed header must come first and only once");
    if (MNL_NLMSG_HDRLEN + MNL_ALIGN(bytes.size()) > buffer_.size())
        throw std::length_error("netlink message header does not fit the buffer");
    void* where = mnl_nlmsg_put_extra_header(header(), bytes.size());
    std::memcpy(where, bytes.data(), bytes.size());
}

void MessageBuilder::put_attribute(uint16_t type, std::span<const uint8_t> payload) {
    if (auto problem = check_xfrm_attribute(type, payload))
        throw std::logic_error("building netlink message: " + *problem);
    if (!mnl_attr_put_check(header(), buffer_.size(), type, payload.size(), payload.data()))
        throw std::length_error("netlink message does not fit its " +
                                std::to_string(buffer_.size()) + "-octet buffer");
    has_attributes_ = true;
}

AttributeSet::AttributeSet(const nlmsghdr* message, size_t header_size) {
    const size_t offset = MNL_NLMSG_HDRLEN + MNL_ALIGN(header_size);
    if (message->nlmsg_len < offset)
        throw std::runtime_error("netlink message type " + std::to_string(message->nlmsg_type) +
                                 " is shorter than its " + std::to_string(header_size) +
                                 "-octet header");
    const auto* base = reinterpret_cast<const uint8_t*>(message);
    parse({base + offset, message->nlmsg_len - offset});
}

AttributeSet::AttributeSet(std::span<const uint8_t> attributes) {
    parse(attributes);
}

void AttributeSet::parse(std::span<const uint8_t> data) {
    size_t at = 0;
    while (data.size() - at >= sizeof(nlattr)) {
        nlattr a;
        std::memcpy(&a, data.data() + at, sizeof a);
        if (a.nla_len < sizeof(nlattr) || a.nla_len > data.size() - at)
            throw std::runtime_error("netlink attribute at offset " + std::to_string(at) +
                                     " has a bad length " + std::to_string(a.nla_len));
        const uint16_t type = a.nla_type & NLA_TYPE_MASK;
        std::span<const uint8_t> payload =
            data.subspan(at + sizeof(nlattr), a.nla_len - sizeof(nlattr));
        if (type <= xfrma_known_max && xfrm_attribute_rule(type)) {
            if (auto problem = check_xfrm_attribute(type, payload))
                throw std::runtime_error("kernel sent a malformed attribute: " + *problem);
            attributes_[type] = payload;
        }
        at += NLA_ALIGN(a.nla_len);
        if (at > data.size()) break;
    }
}

std::optional<std::span<const uint8_t>> AttributeSet::get(uint16_t type) const {
    if (type > xfrma_known_max) return std::nullopt;
    return attributes_[type];
}

} // namespace netlink
