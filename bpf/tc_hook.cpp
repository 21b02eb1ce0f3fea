#include "bpf/tc_hook.hpp"

#include <array>
#include <cerrno>
#include <memory>
#include <string_view>

// glibc's <net/if.h> before any <linux/...> header: both define struct ifreq.
#include "bpf/datapath_error.hpp"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <fcntl.h>
#include <libmnl/libmnl.h>
#include <linux/pkt_sched.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

namespace bpf {
namespace {

const char* hook_name(TcDirection direction) {
    return direction == TcDirection::ingress ? "ingress" : "egress";
}

bpf_tc_hook make_hook(int ifindex, bpf_tc_attach_point point) {
    bpf_tc_hook hook{};
    hook.sz = sizeof(hook);
    hook.ifindex = ifindex;
    hook.attach_point = point;
    return hook;
}

bpf_tc_attach_point attach_point(TcDirection direction) {
    return direction == TcDirection::ingress ? BPF_TC_INGRESS : BPF_TC_EGRESS;
}

// libbpf prints the kernel's extended ack for answers we expect and handle (EEXIST for an
// existing qdisc, ENOENT for an empty filter slot); keep those off stderr.
class QuietLibbpf {
public:
    QuietLibbpf() : previous_(libbpf_set_print(nullptr)) {}
    ~QuietLibbpf() { libbpf_set_print(previous_); }
    QuietLibbpf(const QuietLibbpf&) = delete;
    QuietLibbpf& operator=(const QuietLibbpf&) = delete;

private:
    libbpf_print_fn_t previous_;
};

int quiet_query(const bpf_tc_hook& hook, bpf_tc_opts& opts) {
    QuietLibbpf quiet;
    return bpf_tc_query(&hook, &opts);
}

bpf_tc_opts make_opts(const TcFilterSlot& slot) {
    bpf_tc_opts opts{};
    opts.sz = sizeof(opts);
    opts.handle = slot.handle;
    opts.priority = slot.priority;
    return opts;
}

// The link-layer type (ARPHRD_*) of a device, from the caller's network namespace.
int link_type(const std::string& name) {
    int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    ifreq request{};
    name.copy(request.ifr_name, IFNAMSIZ - 1);
    int rc = ::ioctl(fd, SIOCGIFHWADDR, &request);
    ::close(fd);
    return rc < 0 ? -1 : request.ifr_hwaddr.sa_family;
}

struct MnlCloser {
    void operator()(mnl_socket* socket) const { mnl_socket_close(socket); }
};

ino_t netns_inode(int fd) {
    struct stat info {};
    return fstat(fd, &info) == 0 ? info.st_ino : 0;
}

// Enters `target` for its lifetime when the calling thread is elsewhere.
class NetnsVisit {
public:
    explicit NetnsVisit(int target) {
        if (target < 0) return;
        original_ = ::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
        if (original_ < 0) {
            ok_ = false;
            return;
        }
        if (netns_inode(original_) == netns_inode(target) || ::setns(target, CLONE_NEWNET) != 0) {
            ok_ = netns_inode(original_) == netns_inode(target);
            ::close(original_);
            original_ = -1;
        }
    }
    // False when the device's namespace could not be entered: touch nothing then.
    bool ok() const { return ok_; }
    ~NetnsVisit() {
        if (original_ < 0) return;
        (void)::setns(original_, CLONE_NEWNET);
        ::close(original_);
    }
    NetnsVisit(const NetnsVisit&) = delete;
    NetnsVisit& operator=(const NetnsVisit&) = delete;

private:
    int original_ = -1;
    bool ok_ = true;
};

// The dump also lists each (priority, protocol) head without a handle: count filters only.
int count_message(const nlmsghdr* message, void* data) {
    if (message->nlmsg_type != RTM_NEWTFILTER) return MNL_CB_OK;
    const auto* tc = static_cast<const tcmsg*>(mnl_nlmsg_get_payload(message));
    if (tc->tcm_handle != 0) ++*static_cast<size_t*>(data);
    return MNL_CB_OK;
}

} // namespace

TcDevice::TcDevice(const std::string& name) : name_(name) {
    if (name.empty() || name.size() >= IFNAMSIZ)
        throw DatapathError(DatapathErrorKind::no_such_device,
                            "interface name '" + name + "' is not a valid interface name");
    ifindex_ = static_cast<int>(if_nametoindex(name.c_str()));
    if (ifindex_ == 0)
        throw DatapathError(DatapathErrorKind::no_such_device,
                            "interface '" + name + "' does not exist: " + errno_text(errno));
    // The programs find the IP header behind an Ethernet header (and VLAN tags in the frame);
    // on a raw-IP device (ppp, tun, wireguard) they would read garbage.
    int type = link_type(name);
    if (type != ARPHRD_ETHER)
        throw DatapathError(DatapathErrorKind::unsupported_device,
                            "interface '" + name + "' is not an Ethernet device (link type " +
                                std::to_string(type) +
                                "); header preservation supports Ethernet devices only");
    netns_fd_ = ::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
}

TcDevice::~TcDevice() {
    detach_all();
    if (netns_fd_ >= 0) ::close(netns_fd_);
}

TcDevice::TcDevice(TcDevice&& other) noexcept
    : name_(std::move(other.name_)), ifindex_(other.ifindex_), netns_fd_(other.netns_fd_),
      created_qdisc_(other.created_qdisc_), qdisc_checked_(other.qdisc_checked_),
      attached_(std::move(other.attached_)) {
    other.attached_.clear();
    other.netns_fd_ = -1;
    other.created_qdisc_ = false;
    other.qdisc_checked_ = false;
}

void TcDevice::attach(const TcFilterSlot& slot, int prog_fd) {
    NetnsVisit visit(netns_fd_);
    if (!visit.ok())
        throw DatapathError(DatapathErrorKind::attach_failed,
                            "cannot enter the network namespace of '" + name_ + "'");
    bpf_tc_hook hook = make_hook(ifindex_, attach_point(slot.direction));
    if (!qdisc_checked_) {
        // libbpf asks with NLM_F_EXCL: EEXIST means someone (maybe an earlier gdoid) made it.
        int rc = 0;
        {
            QuietLibbpf quiet;
            rc = bpf_tc_hook_create(&hook);
        }
        if (rc < 0 && rc != -EEXIST)
            throw DatapathError(DatapathErrorKind::attach_failed,
                                "cannot create the clsact qdisc on '" + name_ +
                                    "': " + errno_text(rc));
        created_qdisc_ = rc == 0;
        qdisc_checked_ = true;
    }
    bpf_tc_opts opts = make_opts(slot);
    opts.prog_fd = prog_fd;
    opts.flags = BPF_TC_F_REPLACE;
    int rc = bpf_tc_attach(&hook, &opts);
    if (rc < 0)
        throw DatapathError(DatapathErrorKind::attach_failed,
                            std::string("cannot attach the BPF filter to ") +
                                hook_name(slot.direction) + " of '" + name_ + "' (handle " +
                                std::to_string(slot.handle) + ", priority " +
                                std::to_string(slot.priority) + "): " + errno_text(rc));
    attached_.push_back({slot, opts.prog_id, prog_fd});
}

std::vector<std::string> TcDevice::restore_missing() {
    std::vector<Attached> missing;
    {
        NetnsVisit visit(netns_fd_);
        if (!visit.ok())
            throw DatapathError(DatapathErrorKind::attach_failed,
                                "cannot enter the network namespace of '" + name_ + "'");
        for (const Attached& entry : attached_) {
            bpf_tc_hook hook = make_hook(ifindex_, attach_point(entry.slot.direction));
            bpf_tc_opts query = make_opts(entry.slot);
            // Only an empty slot: another program at our slot was put there on purpose by someone
            // (detach_all() leaves it alone for the same reason).
            if (quiet_query(hook, query) < 0) missing.push_back(entry);
        }
    }
    if (missing.empty()) return {};
    std::vector<std::string> restored;
    // The qdisc may be gone with them: ask again whether it exists before attaching.
    qdisc_checked_ = false;
    const bool created_before = created_qdisc_;
    for (const Attached& entry : missing) {
        std::erase_if(attached_, [&](const Attached& a) {
            return a.slot.direction == entry.slot.direction && a.slot.handle == entry.slot.handle &&
                   a.slot.priority == entry.slot.priority;
        });
        attach(entry.slot, entry.prog_fd);
        restored.push_back(std::string(hook_name(entry.slot.direction)) + " of '" + name_ + "'");
    }
    created_qdisc_ = created_qdisc_ || created_before;
    return restored;
}

void TcDevice::detach_all() noexcept {
    if (attached_.empty() && !created_qdisc_) return;
    NetnsVisit visit(netns_fd_);
    if (!visit.ok()) {
        attached_.clear();
        created_qdisc_ = false;
        return;
    }
    for (const Attached& entry : attached_) {
        bpf_tc_hook hook = make_hook(ifindex_, attach_point(entry.slot.direction));
        bpf_tc_opts query = make_opts(entry.slot);
        // Another program at our slot means someone replaced it after us: not ours to remove.
        if (quiet_query(hook, query) < 0 || query.prog_id != entry.prog_id) continue;
        bpf_tc_opts opts = make_opts(entry.slot);
        bpf_tc_detach(&hook, &opts);
    }
    attached_.clear();
    if (created_qdisc_) {
        try {
            if (count_tc_filters(ifindex_, TcDirection::ingress) == 0 &&
                count_tc_filters(ifindex_, TcDirection::egress) == 0) {
                bpf_tc_hook hook = make_hook(
                    ifindex_, static_cast<bpf_tc_attach_point>(BPF_TC_INGRESS | BPF_TC_EGRESS));
                bpf_tc_hook_destroy(&hook);
            }
        } catch (const DatapathError&) {
            // Cannot tell whether it is empty: leaving an empty qdisc is harmless, deleting
            // someone's filters is not.
        }
    }
    created_qdisc_ = false;
    qdisc_checked_ = false;
}

bool remove_stale_filter(const std::string& device, const TcFilterSlot& slot) {
    TcDevice resolved(device);
    bpf_tc_hook hook = make_hook(resolved.ifindex(), attach_point(slot.direction));
    bpf_tc_opts query = make_opts(slot);
    if (quiet_query(hook, query) < 0) return false;
    int fd = bpf_prog_get_fd_by_id(query.prog_id);
    if (fd < 0) return false;
    bpf_prog_info info{};
    uint32_t length = sizeof(info);
    int rc = bpf_obj_get_info_by_fd(fd, &info, &length);
    ::close(fd);
    if (rc < 0 || std::string_view(info.name).substr(0, 6) != "gdoid_") return false;
    bpf_tc_opts opts = make_opts(slot);
    return bpf_tc_detach(&hook, &opts) == 0;
}

uint32_t attached_program_id(const std::string& device, const TcFilterSlot& slot) {
    try {
        TcDevice resolved(device);
        bpf_tc_hook hook = make_hook(resolved.ifindex(), attach_point(slot.direction));
        bpf_tc_opts query = make_opts(slot);
        return quiet_query(hook, query) < 0 ? 0 : query.prog_id;
    } catch (const DatapathError&) {
        return 0;
    }
}

size_t count_tc_filters(int ifindex, TcDirection direction) {
    std::unique_ptr<mnl_socket, MnlCloser> socket(mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC));
    if (!socket || mnl_socket_bind(socket.get(), 0, MNL_SOCKET_AUTOPID) < 0)
        throw DatapathError(DatapathErrorKind::attach_failed,
                            "cannot open a route netlink socket: " + errno_text(errno));
    std::array<char, 16384> buffer{};
    nlmsghdr* request = mnl_nlmsg_put_header(buffer.data());
    request->nlmsg_type = RTM_GETTFILTER;
    request->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
    const uint32_t seq = 1;
    request->nlmsg_seq = seq;
    auto* tc = static_cast<tcmsg*>(mnl_nlmsg_put_extra_header(request, sizeof(tcmsg)));
    tc->tcm_family = AF_UNSPEC;
    tc->tcm_ifindex = ifindex;
    tc->tcm_parent = TC_H_MAKE(TC_H_CLSACT, direction == TcDirection::ingress ? TC_H_MIN_INGRESS
                                                                              : TC_H_MIN_EGRESS);
    if (mnl_socket_sendto(socket.get(), request, request->nlmsg_len) < 0)
        throw DatapathError(DatapathErrorKind::attach_failed,
                            "cannot ask the kernel for tc filters: " + errno_text(errno));
    const uint32_t port = mnl_socket_get_portid(socket.get());
    size_t count = 0;
    for (;;) {
        ssize_t received = mnl_socket_recvfrom(socket.get(), buffer.data(), buffer.size());
        if (received < 0)
            throw DatapathError(DatapathErrorKind::attach_failed,
                                "cannot read the tc filter dump: " + errno_text(errno));
        int rc = mnl_cb_run(buffer.data(), static_cast<size_t>(received), seq, port, count_message,
                            &count);
        if (rc == MNL_CB_STOP) break;
        if (rc < 0) {
            // No clsact qdisc (EINVAL/ENOENT): no filters on that hook.
            if (errno == EINVAL || errno == ENOENT) return 0;
            throw DatapathError(DatapathErrorKind::attach_failed,
                                "tc filter dump failed: " + errno_text(errno));
        }
    }
    return count;
}

} // namespace bpf
