// XFRM state messages: NEWSA/UPDSA/DELSA/GETSA and their decoding.
#include "netlink/xfrm_codec.hpp"
#include "netlink/xfrm_translate.hpp"

#include <algorithm>
#include <arpa/inet.h>
#include <cstring>

namespace netlink {

namespace {

// xfrm_algo, xfrm_algo_auth and xfrm_algo_aead: a fixed header followed by the key. The packed
// attribute holds the key, so it lives in SecretBytes and is wiped after use.
gdoi::SecretBytes pack_algorithm(const XfrmAlgorithm& algorithm, size_t header_size,
                                 std::optional<uint32_t> third_field) {
    gdoi::SecretBytes packed(header_size + algorithm.key.size());
    auto out = packed.reveal_mutable();
    std::memcpy(out.data(), algorithm.name.data(), std::min<size_t>(algorithm.name.size(), 63));
    const uint32_t key_bits = uint32_t(algorithm.key.size() * 8);
    std::memcpy(out.data() + 64, &key_bits, sizeof key_bits);
    if (third_field) std::memcpy(out.data() + 68, &*third_field, sizeof *third_field);
    auto key = algorithm.key.reveal();
    if (!key.empty()) std::memcpy(out.data() + header_size, key.data(), key.size());
    return packed;
}

void check(const std::optional<std::string>& problem, const char* role) {
    if (problem) throw InvalidXfrmObject(std::string(role) + ": " + *problem);
}

void put_mark(MessageBuilder& message, const std::optional<XfrmMark>& mark) {
    // The kernel treats 0/0 as "no mark" and does not report it back; send nothing for it.
    if (!mark || (mark->value == 0 && mark->mask == 0)) return;
    xfrm_mark m{mark->value, mark->mask};
    message.put_attribute(XFRMA_MARK, m);
}

std::optional<XfrmMark> read_mark(const AttributeSet& attributes) {
    auto m = attributes.get_struct<xfrm_mark>(XFRMA_MARK);
    if (!m || (m->v == 0 && m->m == 0)) return std::nullopt;
    return XfrmMark{m->v, m->m};
}

std::string algorithm_name(std::span<const uint8_t> payload) {
    const char* name = reinterpret_cast<const char*>(payload.data());
    return std::string(name, strnlen(name, 64));
}

uint32_t u32_at(std::span<const uint8_t> payload, size_t offset) {
    uint32_t value;
    std::memcpy(&value, payload.data() + offset, sizeof value);
    return value;
}

} // namespace

MessageBuilder build_add_state(const XfrmState& state, bool update,
                               const StateEncodingOptions& options) {
    const auto& id = state.id;
    if (id.destination.family != state.source.family)
        throw InvalidXfrmObject("source " + state.source.to_string() + " and destination " +
                                id.destination.to_string() + " differ in address family");
    if (state.replay_window > 32)
        throw InvalidXfrmObject("replay window " + std::to_string(state.replay_window) +
                                " needs ESN, which group SAs do not use (at most 32)");
    if (state.aead && (state.encryption || state.authentication))
        throw InvalidXfrmObject("an AEAD state cannot also carry a cipher or an HMAC");
    if (!state.aead && !state.encryption)
        throw InvalidXfrmObject("a state needs an encryption or an AEAD algorithm");
    if (state.encryption)
        check(check_algorithm(*state.encryption, AlgorithmKind::encryption), "encryption");
    if (state.authentication)
        check(check_algorithm(*state.authentication, AlgorithmKind::authentication),
              "authentication");
    if (state.aead) check(check_algorithm(*state.aead, AlgorithmKind::aead), "AEAD");

    xfrm_usersa_info info{};
    try {
        info.sel = to_xfrm_selector(state.selector);
    } catch (const std::invalid_argument& e) {
        throw InvalidXfrmObject(e.what());
    }
    info.id.daddr = to_xfrm_address(id.destination);
    info.id.spi = htonl(id.spi);
    info.id.proto = id.ip_protocol;
    info.saddr = to_xfrm_address(state.source);
    info.family = to_address_family(id.destination.family);
    info.mode = uint8_t(state.mode);
    info.reqid = state.reqid;
    info.replay_window = uint8_t(state.replay_window);
    if (state.no_pmtu_discovery) info.flags |= XFRM_STATE_NOPMTUDISC;
    info.lft.soft_byte_limit = XFRM_INF;
    info.lft.hard_byte_limit = XFRM_INF;
    info.lft.soft_packet_limit = XFRM_INF;
    info.lft.hard_packet_limit = XFRM_INF;
    info.lft.soft_add_expires_seconds = state.soft_lifetime_seconds;
    info.lft.hard_add_expires_seconds = state.hard_lifetime_seconds;

    MessageBuilder message(update ? XFRM_MSG_UPDSA : XFRM_MSG_NEWSA,
                           update ? 0 : NLM_F_CREATE | NLM_F_EXCL);
    message.put_header(info);
    if (state.encryption) {
        auto packed = pack_algorithm(*state.encryption, sizeof(xfrm_algo), std::nullopt);
        message.put_attribute(XFRMA_ALG_CRYPT, packed.reveal());
    }
    if (state.authentication) {
        // Always with explicit truncation: plain XFRMA_ALG_AUTH would truncate SHA-2 to 96 bits.
        uint32_t trunc = state.authentication->icv_or_trunc_bits;
        if (trunc == 0) trunc = find_algorithm(state.authentication->name)->icv_or_trunc_bits;
        auto packed = pack_algorithm(*state.authentication, sizeof(xfrm_algo_auth), trunc);
        message.put_attribute(XFRMA_ALG_AUTH_TRUNC, packed.reveal());
    }
    if (state.aead) {
        uint32_t icv = state.aead->icv_or_trunc_bits;
        if (icv == 0) icv = find_algorithm(state.aead->name)->icv_or_trunc_bits;
        auto packed = pack_algorithm(*state.aead, sizeof(xfrm_algo_aead), icv);
        message.put_attribute(XFRMA_ALG_AEAD, packed.reveal());
    }
    put_mark(message, id.mark);
    if (state.output_sequence_may_wrap)
        message.put_attribute(XFRMA_SA_EXTRA_FLAGS, uint32_t(XFRM_SA_XFLAG_OSEQ_MAY_WRAP));
    if (state.if_id != 0) message.put_attribute(XFRMA_IF_ID, state.if_id);
    if (state.set_mark) {
        message.put_attribute(XFRMA_SET_MARK, state.set_mark->value);
        message.put_attribute(XFRMA_SET_MARK_MASK, state.set_mark->mask);
    }
    if (options.offload_ifindex != 0) {
        xfrm_user_offload offload{};
        offload.ifindex = options.offload_ifindex;
        if (id.destination.family == IpFamily::v6) offload.flags |= XFRM_OFFLOAD_IPV6;
        if (state.direction == XfrmStateDirection::in) offload.flags |= XFRM_OFFLOAD_INBOUND;
        message.put_attribute(XFRMA_OFFLOAD_DEV, offload);
    }
    if (options.sa_direction_supported && state.direction != XfrmStateDirection::unspecified)
        message.put_attribute(
            xfrma_sa_dir,
            uint8_t(state.direction == XfrmStateDirection::in ? xfrm_sa_dir_in : xfrm_sa_dir_out));
    return message;
}

MessageBuilder build_state_id_request(uint16_t type, const XfrmStateId& id) {
    xfrm_usersa_id header{};
    header.daddr = to_xfrm_address(id.destination);
    header.spi = htonl(id.spi);
    header.family = to_address_family(id.destination.family);
    header.proto = id.ip_protocol;
    MessageBuilder message(type, 0);
    message.put_header(header);
    put_mark(message, id.mark);
    return message;
}

MessageBuilder build_allocate_placeholder_spi(const AcquirePlaceholder& placeholder) {
    xfrm_userspi_info request{};
    request.info.id.daddr = to_xfrm_address(placeholder.destination);
    request.info.id.proto = placeholder.ip_protocol;
    request.info.saddr = to_xfrm_address(placeholder.source);
    request.info.family = to_address_family(placeholder.destination.family);
    request.info.mode = XFRM_MODE_TUNNEL;
    request.info.reqid = placeholder.reqid;
    request.info.seq = placeholder.sequence;
    request.min = 1;
    request.max = 255;
    MessageBuilder message(XFRM_MSG_ALLOCSPI, 0);
    message.put_header(request);
    return message;
}

MessageBuilder build_state_dump_request() {
    MessageBuilder message(XFRM_MSG_GETSA, NLM_F_DUMP);
    message.put_header(xfrm_usersa_id{});
    return message;
}

DecodedState decode_state(const xfrm_usersa_info& info, const AttributeSet& attributes) {
    DecodedState decoded;
    XfrmState& s = decoded.state;
    const IpFamily family = from_address_family(info.family);
    s.id.destination = from_xfrm_address(info.id.daddr, family);
    s.id.spi = ntohl(info.id.spi);
    s.id.ip_protocol = info.id.proto;
    s.id.mark = read_mark(attributes);
    s.source = from_xfrm_address(info.saddr, family);
    s.mode = XfrmMode(info.mode);
    s.reqid = info.reqid;
    s.selector = from_xfrm_selector(info.sel);
    s.replay_window = info.replay_window;
    s.no_pmtu_discovery = info.flags & XFRM_STATE_NOPMTUDISC;
    s.hard_lifetime_seconds = info.lft.hard_add_expires_seconds;
    s.soft_lifetime_seconds = info.lft.soft_add_expires_seconds;
    s.packets = info.curlft.packets;
    s.bytes = info.curlft.bytes;
    s.added_at = info.curlft.add_time;
    // Names and lengths only: keys stay in the kernel.
    if (auto a = attributes.get(XFRMA_ALG_CRYPT))
        s.encryption = XfrmAlgorithm{algorithm_name(*a), {}, 0};
    if (auto a = attributes.get(XFRMA_ALG_AUTH_TRUNC))
        s.authentication = XfrmAlgorithm{algorithm_name(*a), {}, u32_at(*a, 68)};
    else if (auto a = attributes.get(XFRMA_ALG_AUTH))
        s.authentication = XfrmAlgorithm{algorithm_name(*a), {}, 96};
    if (auto a = attributes.get(XFRMA_ALG_AEAD))
        s.aead = XfrmAlgorithm{algorithm_name(*a), {}, u32_at(*a, 68)};
    if (auto flags = attributes.get_struct<uint32_t>(XFRMA_SA_EXTRA_FLAGS))
        s.output_sequence_may_wrap = *flags & XFRM_SA_XFLAG_OSEQ_MAY_WRAP;
    auto set_value = attributes.get_struct<uint32_t>(XFRMA_SET_MARK);
    auto set_mask = attributes.get_struct<uint32_t>(XFRMA_SET_MARK_MASK);
    if (set_value || set_mask)
        s.set_mark = XfrmMark{set_value.value_or(0), set_mask.value_or(0xffffffff)};
    if (auto if_id = attributes.get_struct<uint32_t>(XFRMA_IF_ID)) s.if_id = *if_id;
    if (auto offload = attributes.get_struct<xfrm_user_offload>(XFRMA_OFFLOAD_DEV))
        decoded.offload_ifindex = offload->ifindex;
    if (auto dir = attributes.get_struct<uint8_t>(xfrma_sa_dir))
        s.direction = *dir == xfrm_sa_dir_in    ? XfrmStateDirection::in
                      : *dir == xfrm_sa_dir_out ? XfrmStateDirection::out
                                                : XfrmStateDirection::unspecified;
    return decoded;
}

DecodedState decode_state(const nlmsghdr* message) {
    if (message->nlmsg_type != XFRM_MSG_NEWSA && message->nlmsg_type != XFRM_MSG_UPDSA)
        throw std::runtime_error("expected an XFRM state message, got type " +
                                 std::to_string(message->nlmsg_type));
    AttributeSet attributes(message, sizeof(xfrm_usersa_info));
    xfrm_usersa_info info;
    std::memcpy(&info, reinterpret_cast<const uint8_t*>(message) + NLMSG_HDRLEN, sizeof info);
    return decode_state(info, attributes);
}

} // namespace netlink
