// A netlink request socket (libmnl): request + ack with sequence matching, dumps that restart
// when the kernel marks them inconsistent, extended-ack error text, and batches that pack many
// requests per sendmsg (wireguard-tools style) while still reporting failures by index.
#pragma once

#include <algorithm>
#include <cstdint>
#include <libmnl/libmnl.h>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace netlink {

// What the kernel said when it refused one request.
struct KernelFailure {
    int error_number = 0;       // positive errno
    std::string kernel_message; // extended ack text, may be empty
};

// "adding XFRM state spi 0x10000001 dst 100.127.0.1: Invalid argument (kernel: ...)"
std::string format_kernel_error(std::string_view what, const KernelFailure& failure);

struct NetlinkCounters {
    uint64_t sendmsg_calls = 0;
    uint64_t recvmsg_calls = 0;
    uint64_t messages_sent = 0;
};

class NetlinkSocket {
public:
    // protocol: NETLINK_XFRM, NETLINK_ROUTE... Blocking unless nonblocking is set.
    explicit NetlinkSocket(int protocol, bool nonblocking = false);
    ~NetlinkSocket();
    NetlinkSocket(const NetlinkSocket&) = delete;
    NetlinkSocket& operator=(const NetlinkSocket&) = delete;

    int fd() const { return mnl_socket_get_fd(socket_.get()); }
    uint32_t port_id() const { return mnl_socket_get_portid(socket_.get()); }
    void subscribe(unsigned group); // NETLINK_ADD_MEMBERSHIP
    const NetlinkCounters& counters() const { return counters_; }

    // Sends one request with NLM_F_ACK and waits for its ack. Replies with the same sequence
    // number (e.g. a GETSA answer) are appended to `replies` when given.
    std::optional<KernelFailure> request(std::span<uint8_t> message,
                                         std::vector<std::vector<uint8_t>>* replies = nullptr);

    // NLM_F_DUMP request; returns every message of a consistent dump (restarted when the kernel
    // sets NLM_F_DUMP_INTR). Throws KernelError(what) if the kernel refuses the dump.
    std::vector<std::vector<uint8_t>> dump(std::span<uint8_t> message, std::string_view what);

    // Sends all messages, as few sendmsg calls as fit `batch_bytes` each, every one with its own
    // sequence number and NLM_F_ACK; returns one entry per message (nullopt = accepted). The
    // kernel goes on after a refused message, so later ones are still applied.
    std::vector<std::optional<KernelFailure>> batch(const std::vector<std::span<uint8_t>>& messages,
                                                    size_t batch_bytes = 64 * 1024);

private:
    struct Closer {
        void operator()(mnl_socket* s) const { mnl_socket_close(s); }
    };
    void send(std::span<const uint8_t> bytes, size_t message_count);
    ssize_t receive();
    int receive_many(); // recvmmsg into batch_buffers_; returns the datagram count
    std::unique_ptr<mnl_socket, Closer> socket_;
    // Receive buffers are allocated without zero-filling, and wiped on destruction only as far
    // as the kernel wrote: pages never written are never made resident (bench/memory.sh: the
    // zero-filled 512 KiB of batch buffers were most of gdoid's heap).
    struct ReceiveBuffer {
        std::unique_ptr<uint8_t[]> bytes;
        size_t size = 0;
        size_t written = 0; // high-water mark: what the destructor wipes
        void allocate(size_t n);
        uint8_t* data() { return bytes.get(); }
        void note_written(size_t end) { written = std::max(written, end); }
    };
    ReceiveBuffer receive_buffer_;
    ReceiveBuffer batch_buffers_;
    std::vector<size_t> batch_lengths_;
    uint32_t next_sequence_;
    NetlinkCounters counters_;
};

// Decodes an NLMSG_ERROR payload (errno + optional extended-ack message).
KernelFailure decode_error_message(const nlmsghdr* message);

} // namespace netlink
