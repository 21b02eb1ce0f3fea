// Building and reading netlink messages safely: a builder whose attribute appends are checked
// against the buffer size and against the XFRM attribute size table, and a bounds-checked
// attribute reader. A wrong-size attribute is caught here (and in unit tests), never by the kernel.
#pragma once

#include <array>
#include <cstdint>
#include <cstring>
#include <linux/netlink.h>
#include <linux/xfrm.h>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace netlink {

// Newer than Debian 12's uapi headers (Linux 6.10): the SA direction attribute.
static_assert(XFRMA_MTIMER_THRESH == 32, "unexpected xfrm attribute numbering");
inline constexpr uint16_t xfrma_sa_dir = XFRMA_MTIMER_THRESH + 1;
inline constexpr uint16_t xfrma_known_max = xfrma_sa_dir;
inline constexpr uint8_t xfrm_sa_dir_in = 1;
inline constexpr uint8_t xfrm_sa_dir_out = 2;

enum class AttributeShape { exact, minimum, algorithm, array_of };

struct AttributeRule {
    uint16_t type;
    std::string_view name;
    AttributeShape shape;
    size_t size; // exact size, minimum size, algorithm header size, or array element size
};

// The XFRM attribute table (mirrors the kernel's xfrma_policy); nullptr for unknown types.
const AttributeRule* xfrm_attribute_rule(uint16_t type);
// Why a payload of this size is wrong for this attribute, or nullopt when it is right. For
// algorithm attributes the declared key length must fit in the payload too.
std::optional<std::string> check_xfrm_attribute(uint16_t type, std::span<const uint8_t> payload);

// One netlink message under construction. The buffer may hold key material: it is wiped when
// the builder is destroyed.
class MessageBuilder {
public:
    explicit MessageBuilder(uint16_t type, uint16_t flags, size_t capacity = 4096);
    ~MessageBuilder();
    MessageBuilder(const MessageBuilder&) = delete;
    MessageBuilder& operator=(const MessageBuilder&) = delete;
    MessageBuilder(MessageBuilder&&) = default; // the moved-from buffer is empty

    // The fixed header that follows nlmsghdr (xfrm_usersa_info, xfrm_userpolicy_id, ...).
    template <class T> void put_header(const T& value) {
        put_header_bytes({reinterpret_cast<const uint8_t*>(&value), sizeof value});
    }
    // Throws std::logic_error if the size is wrong for the XFRM attribute type, and
    // std::length_error if the message would not fit the buffer.
    void put_attribute(uint16_t type, std::span<const uint8_t> payload);
    template <class T> void put_attribute(uint16_t type, const T& value) {
        put_attribute(type, {reinterpret_cast<const uint8_t*>(&value), sizeof value});
    }

    nlmsghdr* header() { return reinterpret_cast<nlmsghdr*>(buffer_.data()); }
    std::span<uint8_t> bytes() { return {buffer_.data(), header()->nlmsg_len}; }

private:
    void put_header_bytes(std::span<const uint8_t> bytes);
    std::vector<uint8_t> buffer_;
    bool has_attributes_ = false;
};

// The attributes of one received message, validated against the table. Unknown types are
// skipped (newer kernels add attributes); a known type with a wrong size is an error.
class AttributeSet {
public:
    // Throws std::runtime_error naming the attribute if one is malformed.
    AttributeSet(const nlmsghdr* message, size_t header_size);
    AttributeSet(std::span<const uint8_t> attributes);

    std::optional<std::span<const uint8_t>> get(uint16_t type) const;
    template <class T> std::optional<T> get_struct(uint16_t type) const {
        auto payload = get(type);
        if (!payload || payload->size() < sizeof(T)) return std::nullopt;
        T value;
        std::memcpy(&value, payload->data(), sizeof value);
        return value;
    }

private:
    void parse(std::span<const uint8_t> attributes);
    std::array<std::optional<std::span<const uint8_t>>, xfrma_known_max + 1> attributes_{};
};

} // namespace netlink
