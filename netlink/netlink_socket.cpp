#include "netlink/netlink_socket.hpp"

#include "netlink/kernel_ipsec.hpp"

#include <cerrno>
#include <cstring>
#include <map>
#include <openssl/crypto.h>
#include <random>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/uio.h>

namespace netlink {

namespace {
// mnl_nlmsg_ok compares the length as an int: a message claiming 2 GiB or more passes it and
// would be read past the buffer. Found by test/fuzz/fuzz_netlink.cpp
// (corpus-netlink/crash-length-over-2gib); the kernel never sends such a length, a privileged
// process could.
bool message_fits(const nlmsghdr* m, int left) {
    return left >= 0 && m->nlmsg_len <= unsigned(left);
}

// Large enough for the biggest dump chunk the kernel sends (it sizes them to the reader's
// buffer up to 32 KiB) with room to spare.
constexpr size_t receive_buffer_size = 64 * 1024;
// Each ack costs about a kilobyte of receive-buffer accounting (skb truesize); a batch chunk is
// capped so its acks always fit the buffer we ask for below.
constexpr size_t max_messages_per_chunk = 256;
constexpr int requested_receive_buffer = 4 * 1024 * 1024;
constexpr int dump_attempts = 5;
// An ack is 36 octets, an error ack with extended-ack text a few hundred.
constexpr size_t batch_datagram_size = 2048;

[[noreturn]] void throw_errno(std::string_view what, int error_number) {
    throw KernelError(format_kernel_error(what, {error_number, {}}), error_number);
}

} // namespace

std::string format_kernel_error(std::string_view what, const KernelFailure& failure) {
    std::string text(what);
    text += ": ";
    text += std::strerror(failure.error_number);
    if (!failure.kernel_message.empty()) text += " (kernel: " + failure.kernel_message + ")";
    return text;
}

KernelFailure decode_error_message(const nlmsghdr* message) {
    KernelFailure failure;
    const size_t payload = message->nlmsg_len - MNL_NLMSG_HDRLEN;
    if (message->nlmsg_len < MNL_NLMSG_HDRLEN || payload < sizeof(nlmsgerr)) {
        failure.error_number = EBADMSG;
        failure.kernel_message = "truncated netlink error message";
        return failure;
    }
    nlmsgerr error;
    std::memcpy(&error, mnl_nlmsg_get_payload(message), sizeof error);
    failure.error_number = -error.error;
    if (!(message->nlmsg_flags & NLM_F_ACK_TLVS)) return failure;
    // Extended ack TLVs follow the echoed request, or directly the nlmsgerr when capped.
    size_t offset = sizeof(nlmsgerr);
    if (!(message->nlmsg_flags & NLM_F_CAPPED) && error.msg.nlmsg_len >= MNL_NLMSG_HDRLEN)
        offset += error.msg.nlmsg_len - MNL_NLMSG_HDRLEN;
    offset = MNL_ALIGN(offset);
    const auto* base = static_cast<const uint8_t*>(mnl_nlmsg_get_payload(message));
    while (offset + sizeof(nlattr) <= payload) {
        nlattr a;
        std::memcpy(&a, base + offset, sizeof a);
        if (a.nla_len < sizeof(nlattr) || offset + a.nla_len > payload) break;
        if ((a.nla_type & NLA_TYPE_MASK) == NLMSGERR_ATTR_MSG) {
            const char* text = reinterpret_cast<const char*>(base + offset + sizeof(nlattr));
            failure.kernel_message.assign(text, strnlen(text, a.nla_len - sizeof(nlattr)));
        }
        offset += NLA_ALIGN(a.nla_len);
    }
    return failure;
}

void NetlinkSocket::ReceiveBuffer::allocate(size_t n) {
    bytes.reset(new uint8_t[n]); // default-initialised: not written, not resident
    size = n;
}

NetlinkSocket::NetlinkSocket(int protocol, bool nonblocking) {
    receive_buffer_.allocate(receive_buffer_size);
    socket_.reset(mnl_socket_open2(protocol, SOCK_CLOEXEC | (nonblocking ? SOCK_NONBLOCK : 0)));
    if (!socket_) throw_errno("opening netlink socket", errno);
    if (mnl_socket_bind(socket_.get(), 0, MNL_SOCKET_AUTOPID) < 0)
        throw_errno("binding netlink socket", errno);
    int on = 1;
    // Extended ack gives the kernel's reason; capped acks keep error replies small.
    mnl_socket_setsockopt(socket_.get(), NETLINK_EXT_ACK, &on, sizeof on);
    mnl_socket_setsockopt(socket_.get(), NETLINK_CAP_ACK, &on, sizeof on);
    // Root may exceed rmem_max (SO_RCVBUFFORCE); otherwise take what the sysctl allows.
    if (setsockopt(fd(), SOL_SOCKET, SO_RCVBUFFORCE, &requested_receive_buffer,
                   sizeof requested_receive_buffer) < 0)
        setsockopt(fd(), SOL_SOCKET, SO_RCVBUF, &requested_receive_buffer,
                   sizeof requested_receive_buffer);
    if (!nonblocking) {
        // A kernel that never answers must not hang the daemon forever.
        timeval timeout{10, 0};
        setsockopt(fd(), SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    }
    next_sequence_ = std::random_device{}() | 1;
}

NetlinkSocket::~NetlinkSocket() {
    if (receive_buffer_.data()) OPENSSL_cleanse(receive_buffer_.data(), receive_buffer_.written);
    if (batch_buffers_.data()) OPENSSL_cleanse(batch_buffers_.data(), batch_buffers_.written);
}

void NetlinkSocket::subscribe(unsigned group) {
    if (mnl_socket_setsockopt(socket_.get(), NETLINK_ADD_MEMBERSHIP, &group, sizeof group) < 0)
        throw_errno("subscribing to netlink group " + std::to_string(group), errno);
}

void NetlinkSocket::send(std::span<const uint8_t> bytes, size_t message_count) {
    ++counters_.sendmsg_calls;
    counters_.messages_sent += message_count;
    if (mnl_socket_sendto(socket_.get(), bytes.data(), bytes.size()) < 0)
        throw_errno("sending " + std::to_string(message_count) + " netlink message(s)", errno);
}

ssize_t NetlinkSocket::receive() {
    ++counters_.recvmsg_calls;
    const ssize_t n =
        mnl_socket_recvfrom(socket_.get(), receive_buffer_.data(), receive_buffer_.size);
    if (n < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            throw KernelError("netlink: no answer from the kernel within 10 s", ETIMEDOUT);
        if (errno == ENOBUFS)
            throw KernelError("netlink: acknowledgements were lost (receive buffer overrun); the "
                              "kernel state must be re-read",
                              ENOBUFS);
        throw_errno("receiving from netlink", errno);
    }
    receive_buffer_.note_written(size_t(n));
    return n;
}

int NetlinkSocket::receive_many() {
    if (!batch_buffers_.data()) {
        batch_buffers_.allocate(max_messages_per_chunk * batch_datagram_size);
        batch_lengths_.resize(max_messages_per_chunk);
    }
    std::vector<iovec> iov(max_messages_per_chunk);
    std::vector<mmsghdr> headers(max_messages_per_chunk);
    for (size_t i = 0; i < max_messages_per_chunk; ++i) {
        iov[i] = {batch_buffers_.data() + i * batch_datagram_size, batch_datagram_size};
        headers[i] = {};
        headers[i].msg_hdr.msg_iov = &iov[i];
        headers[i].msg_hdr.msg_iovlen = 1;
    }
    ++counters_.recvmsg_calls;
    const int n =
        recvmmsg(fd(), headers.data(), unsigned(max_messages_per_chunk), MSG_WAITFORONE, nullptr);
    if (n < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            throw KernelError("netlink: no answer from the kernel within 10 s", ETIMEDOUT);
        if (errno == ENOBUFS)
            throw KernelError("netlink: acknowledgements were lost (receive buffer overrun); the "
                              "kernel state must be re-read",
                              ENOBUFS);
        throw_errno("receiving from netlink", errno);
    }
    for (int i = 0; i < n; ++i) {
        if (headers[i].msg_hdr.msg_flags & MSG_TRUNC)
            throw KernelError("netlink: an acknowledgement was larger than expected", EMSGSIZE);
        batch_lengths_[i] = headers[i].msg_len;
        batch_buffers_.note_written(i * batch_datagram_size + headers[i].msg_len);
    }
    return n;
}

std::optional<KernelFailure> NetlinkSocket::request(std::span<uint8_t> message,
                                                    std::vector<std::vector<uint8_t>>* replies) {
    auto* header = reinterpret_cast<nlmsghdr*>(message.data());
    header->nlmsg_flags |= NLM_F_ACK;
    header->nlmsg_seq = next_sequence_++;
    // The kernel stamps its notifications with the requester's nlmsg_pid: with ours in it,
    // event listeners can tell our own changes from everyone else's.
    header->nlmsg_pid = port_id();
    send(message, 1);
    for (;;) {
        int n = int(receive());
        for (auto* m = reinterpret_cast<const nlmsghdr*>(receive_buffer_.data());
             mnl_nlmsg_ok(m, n) && message_fits(m, n); m = mnl_nlmsg_next(m, &n)) {
            if (m->nlmsg_seq != header->nlmsg_seq) continue; // a late answer to someone else
            if (m->nlmsg_type == NLMSG_ERROR) {
                KernelFailure failure = decode_error_message(m);
                if (failure.error_number == 0) return std::nullopt;
                return failure;
            }
            if (replies) {
                const auto* bytes = reinterpret_cast<const uint8_t*>(m);
                replies->emplace_back(bytes, bytes + m->nlmsg_len);
            }
        }
    }
}

std::vector<std::vector<uint8_t>> NetlinkSocket::dump(std::span<uint8_t> message,
                                                      std::string_view what) {
    auto* header = reinterpret_cast<nlmsghdr*>(message.data());
    header->nlmsg_flags |= NLM_F_DUMP;
    for (int attempt = 1;; ++attempt) {
        std::vector<std::vector<uint8_t>> result;
        bool interrupted = false, done = false;
        header->nlmsg_seq = next_sequence_++;
        send(message, 1);
        while (!done) {
            int n = int(receive());
            for (auto* m = reinterpret_cast<const nlmsghdr*>(receive_buffer_.data());
                 mnl_nlmsg_ok(m, n) && message_fits(m, n); m = mnl_nlmsg_next(m, &n)) {
                if (m->nlmsg_seq != header->nlmsg_seq) continue;
                if (m->nlmsg_flags & NLM_F_DUMP_INTR) interrupted = true;
                if (m->nlmsg_type == NLMSG_DONE) {
                    int status = 0;
                    if (m->nlmsg_len >= MNL_NLMSG_HDRLEN + sizeof status)
                        std::memcpy(&status, mnl_nlmsg_get_payload(m), sizeof status);
                    if (status < 0)
                        throw KernelError(format_kernel_error(what, {-status, {}}), -status);
                    done = true;
                    break;
                }
                if (m->nlmsg_type == NLMSG_ERROR) {
                    KernelFailure failure = decode_error_message(m);
                    if (failure.error_number != 0)
                        throw KernelError(format_kernel_error(what, failure), failure.error_number);
                    continue;
                }
                const auto* bytes = reinterpret_cast<const uint8_t*>(m);
                result.emplace_back(bytes, bytes + m->nlmsg_len);
            }
        }
        if (!interrupted) return result;
        for (auto& r : result)
            OPENSSL_cleanse(r.data(), r.size());
        if (attempt == dump_attempts)
            throw KernelError(std::string(what) + ": the kernel's table kept changing during " +
                                  std::to_string(dump_attempts) + " dump attempts",
                              EAGAIN);
    }
}

std::vector<std::optional<KernelFailure>>
NetlinkSocket::batch(const std::vector<std::span<uint8_t>>& messages, size_t batch_bytes) {
    std::vector<std::optional<KernelFailure>> results(messages.size());
    std::vector<uint8_t> chunk;
    chunk.reserve(batch_bytes);
    size_t next = 0;
    while (next < messages.size()) {
        // Pack as many whole messages as fit; a chunk always takes at least one.
        chunk.clear();
        std::map<uint32_t, size_t> pending; // sequence -> index
        while (next < messages.size() && pending.size() < max_messages_per_chunk) {
            auto message = messages[next];
            const size_t aligned = MNL_ALIGN(message.size());
            if (!pending.empty() && chunk.size() + aligned > batch_bytes) break;
            auto* header = reinterpret_cast<nlmsghdr*>(message.data());
            header->nlmsg_flags |= NLM_F_ACK;
            header->nlmsg_seq = next_sequence_++;
            header->nlmsg_pid = port_id();
            pending.emplace(header->nlmsg_seq, next);
            chunk.insert(chunk.end(), message.begin(), message.end());
            chunk.resize(chunk.size() + (aligned - message.size()), 0);
            ++next;
        }
        const size_t count = pending.size();
        try {
            send(chunk, count);
        } catch (...) {
            OPENSSL_cleanse(chunk.data(), chunk.size());
            throw;
        }
        OPENSSL_cleanse(chunk.data(), chunk.size());
        while (!pending.empty()) {
            // Every ack is its own datagram: take up to a chunk's worth per recvmmsg call.
            const int datagrams = receive_many();
            for (int d = 0; d < datagrams; ++d) {
                int n = int(batch_lengths_[d]);
                for (auto* m = reinterpret_cast<const nlmsghdr*>(batch_buffers_.data() +
                                                                 d * batch_datagram_size);
                     mnl_nlmsg_ok(m, n) && message_fits(m, n); m = mnl_nlmsg_next(m, &n)) {
                    if (m->nlmsg_type != NLMSG_ERROR) continue;
                    auto it = pending.find(m->nlmsg_seq);
                    if (it == pending.end()) continue;
                    KernelFailure failure = decode_error_message(m);
                    if (failure.error_number != 0) results[it->second] = std::move(failure);
                    pending.erase(it);
                }
            }
        }
    }
    return results;
}

} // namespace netlink
