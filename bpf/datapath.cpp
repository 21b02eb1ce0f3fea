#include "bpf/datapath.hpp"

#include "bpf/datapath.skel.h"

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <linux/capability.h>
#include <mutex>
#include <sys/random.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace bpf {
namespace {

// libbpf reports through one process-wide print callback; while we load, it writes into this
// buffer so a failure can quote the verifier.
std::mutex log_mutex;
std::string* log_capture = nullptr;

int capture_print(libbpf_print_level level, const char* format, va_list args) {
    if (level == LIBBPF_DEBUG || log_capture == nullptr) return 0;
    char line[1024];
    int n = std::vsnprintf(line, sizeof(line), format, args);
    if (n > 0)
        log_capture->append(line, std::min<size_t>(static_cast<size_t>(n), sizeof(line) - 1));
    return 0;
}

bool has_capability(int capability) {
    __user_cap_header_struct header{};
    header.version = _LINUX_CAPABILITY_VERSION_3;
    __user_cap_data_struct data[2]{};
    if (syscall(SYS_capget, &header, data) != 0) return false;
    return (data[capability / 32].effective & (1u << (capability % 32))) != 0;
}

bpf_map* map_of(gdoid_datapath* skeleton, const gdoi::IpPrefix& prefix, bool remote) {
    bool v4 = prefix.address.family == gdoi::IpFamily::v4;
    if (remote) return v4 ? skeleton->maps.gdoid_remote_v4 : skeleton->maps.gdoid_remote_v6;
    return v4 ? skeleton->maps.gdoid_local_v4 : skeleton->maps.gdoid_local_v6;
}

void update(bpf_map* map, const void* key, size_t key_size, const void* value, size_t value_size,
            const std::string& what) {
    int rc = bpf_map__update_elem(map, key, key_size, value, value_size, BPF_ANY);
    if (rc < 0)
        throw DatapathError(DatapathErrorKind::map_update_failed,
                            "cannot add " + what + " to BPF map " + bpf_map__name(map) + ": " +
                                errno_text(rc) +
                                (rc == -E2BIG || rc == -ENOSPC ? " (map full)" : ""));
}

bool erase(bpf_map* map, const void* key, size_t key_size, const std::string& what) {
    int rc = bpf_map__delete_elem(map, key, key_size, 0);
    if (rc == -ENOENT) return false;
    if (rc < 0)
        throw DatapathError(DatapathErrorKind::map_update_failed,
                            "cannot remove " + what + " from BPF map " + bpf_map__name(map) + ": " +
                                errno_text(rc));
    return true;
}

void check_anchors(const Anchors& anchors, gdoi::IpFamily family, const char* label) {
    const char* family_name = family == gdoi::IpFamily::v4 ? "IPv4" : "IPv6";
    for (const auto* address : {&anchors.local, &anchors.remote, &anchors.inbound}) {
        if (address->family != family)
            throw DatapathError(DatapathErrorKind::invalid_config, std::string(label) + " anchor " +
                                                                       address->to_string() +
                                                                       " is not " + family_name);
        if (address->is_unspecified() || address->is_multicast())
            throw DatapathError(DatapathErrorKind::invalid_config,
                                std::string(label) + " anchor " + address->to_string() +
                                    " must be a unicast address");
    }
    // datapath-notes.md pitfall 6: an anchor in 127/8 is a martian destination.
    if (family == gdoi::IpFamily::v4 && anchors.inbound.bytes[0] == 127)
        throw DatapathError(DatapathErrorKind::invalid_config,
                            "inbound anchor " + anchors.inbound.to_string() +
                                " is in 127.0.0.0/8, which the kernel drops as martian; use an "
                                "ordinary local /32");
    if (anchors.local == anchors.remote || anchors.local == anchors.inbound ||
        anchors.remote == anchors.inbound)
        throw DatapathError(DatapathErrorKind::invalid_config,
                            std::string(label) + " anchors must be three different addresses");
}

} // namespace

void Datapath::SkeletonDeleter::operator()(gdoid_datapath* skeleton) const {
    gdoid_datapath__destroy(skeleton);
}

Datapath::Datapath() = default;
Datapath::Datapath(Datapath&&) noexcept = default;
Datapath& Datapath::operator=(Datapath&& other) noexcept {
    if (this != &other) {
        detach();
        devices_ = std::move(other.devices_);
        skeleton_ = std::move(other.skeleton_);
        layout_ = other.layout_;
        hash_seed_ = other.hash_seed_;
    }
    return *this;
}
Datapath::~Datapath() {
    detach();
}

namespace {

// Map fds of the program attached at the WAN egress slot, by map name; empty with `why` set
// when they cannot be had.
std::vector<std::pair<std::string, int>> running_maps(const std::string& wan, const AttachOptions& options,
                                                      std::string& why) {
    std::vector<std::pair<std::string, int>> maps;
    const uint32_t prog_id = attached_program_id(wan, {TcDirection::egress, options.handle, options.priority});
    if (prog_id == 0) {
        why = "no gdoid filter on " + wan + " egress";
        return maps;
    }
    const int prog_fd = bpf_prog_get_fd_by_id(prog_id);
    if (prog_fd < 0) {
        why = "cannot open BPF program " + std::to_string(prog_id) + " by id: " + std::strerror(errno) +
              " (needs CAP_SYS_ADMIN)";
        return maps;
    }
    bpf_prog_info info{};
    uint32_t ids[64] = {};
    info.nr_map_ids = 64;
    info.map_ids = reinterpret_cast<uint64_t>(ids);
    uint32_t length = sizeof(info);
    const int rc = bpf_obj_get_info_by_fd(prog_fd, &info, &length);
    ::close(prog_fd);
    if (rc < 0 || std::string_view(info.name).substr(0, 6) != "gdoid_") {
        why = "BPF program " + std::to_string(prog_id) + " on " + wan + " is not gdoid's";
        return maps;
    }
    for (uint32_t i = 0; i < std::min<uint32_t>(info.nr_map_ids, 64); ++i) {
        const int fd = bpf_map_get_fd_by_id(ids[i]);
        if (fd < 0) continue;
        bpf_map_info map_info{};
        uint32_t map_length = sizeof(map_info);
        if (bpf_obj_get_info_by_fd(fd, &map_info, &map_length) == 0)
            maps.emplace_back(map_info.name, fd);
        else
            ::close(fd);
    }
    return maps;
}

} // namespace

Datapath Datapath::load_reusing_maps(const std::string& wan, std::string& why_not, const AttachOptions& options) {
    auto running = running_maps(wan, options, why_not);
    if (running.empty()) return load();
    Datapath datapath;
    std::string log;
    int rc = 0;
    size_t reused = 0;
    {
        std::lock_guard lock(log_mutex);
        log_capture = &log;
        libbpf_print_fn_t previous = libbpf_set_print(capture_print);
        datapath.skeleton_.reset(gdoid_datapath__open());
        if (datapath.skeleton_) {
            bpf_map* map = nullptr;
            bpf_object__for_each_map(map, datapath.skeleton_->obj) {
                if (bpf_map__is_internal(map)) continue; // globals stay this program's own
                // The kernel keeps BPF_OBJ_NAME_LEN - 1 characters of a map's name.
                const std::string name = std::string(bpf_map__name(map)).substr(0, BPF_OBJ_NAME_LEN - 1);
                for (const auto& [running_name, fd] : running)
                    if (running_name == name && bpf_map__reuse_fd(map, fd) == 0) ++reused;
            }
            rc = gdoid_datapath__load(datapath.skeleton_.get());
        } else {
            rc = -errno;
        }
        libbpf_set_print(previous);
        log_capture = nullptr;
    }
    for (const auto& entry : running) ::close(entry.second);
    if (!datapath.skeleton_ || rc < 0) {
        // An incompatible map (another version's layout): load fresh ones instead.
        why_not = "the running datapath's maps do not fit this version";
        return load();
    }
    if (reused == 0) why_not = "no map of the running datapath matched";
    if (getrandom(&datapath.hash_seed_, sizeof(datapath.hash_seed_), 0) != sizeof(datapath.hash_seed_))
        datapath.hash_seed_ = static_cast<uint32_t>(std::chrono::steady_clock::now().time_since_epoch().count());
    return datapath;
}

Datapath Datapath::load() {
    // Say exactly what is missing before the kernel answers with a bare EPERM.
    constexpr int cap_bpf = 39; // CAP_BPF, since 5.8; CAP_SYS_ADMIN covers it everywhere
    if (!has_capability(cap_bpf) && !has_capability(CAP_SYS_ADMIN))
        throw DatapathError(DatapathErrorKind::permission,
                            "loading the BPF datapath needs CAP_BPF (or CAP_SYS_ADMIN), which "
                            "this process does not have");
    if (!has_capability(CAP_NET_ADMIN))
        throw DatapathError(DatapathErrorKind::permission,
                            "attaching the BPF datapath to tc needs CAP_NET_ADMIN, which this "
                            "process does not have");

    Datapath datapath;
    std::string log;
    int rc = 0;
    {
        std::lock_guard lock(log_mutex);
        log_capture = &log;
        libbpf_print_fn_t previous = libbpf_set_print(capture_print);
        datapath.skeleton_.reset(gdoid_datapath__open());
        rc = datapath.skeleton_ ? gdoid_datapath__load(datapath.skeleton_.get()) : -errno;
        libbpf_set_print(previous);
        log_capture = nullptr;
    }
    if (!datapath.skeleton_ || rc < 0)
        throw load_error(rc < 0 ? rc : -EINVAL, log, kernel_release());

    if (getrandom(&datapath.hash_seed_, sizeof(datapath.hash_seed_), 0) !=
        sizeof(datapath.hash_seed_))
        datapath.hash_seed_ =
            static_cast<uint32_t>(std::chrono::steady_clock::now().time_since_epoch().count());
    return datapath;
}

void Datapath::configure(const DatapathConfig& config) {
    MarkLayout layout = bpf::mark_layout(config.reserved_mark_mask, config.bypass_mark,
                                         config.pre_fragment_mtu != 0);
    if (config.pre_fragment_mtu != 0 &&
        (!config.pre_fragment_remote || config.pre_fragment_remote->family != gdoi::IpFamily::v4))
        throw DatapathError(DatapathErrorKind::invalid_config,
                            "pre-fragmentation needs an IPv4 dummy destination for the XFRM "
                            "interface's states");
    if (config.slot_idle_timeout.count() <= 0)
        throw DatapathError(DatapathErrorKind::invalid_config,
                            "slot idle timeout must be positive");
    gdoid_config value{};
    value.flags = GDOID_CFG_ENABLED;
    if (config.copy_ttl) value.flags |= GDOID_CFG_COPY_TTL;
    if (config.set_df) value.flags |= GDOID_CFG_SET_DF;
    value.tcp_mss = config.tcp_mss;
    value.pre_fragment_mtu = config.pre_fragment_mtu;
    value.pre_fragment_mark = layout.pre_fragment_mark;
    if (config.pre_fragment_mtu != 0)
        std::memcpy(&value.v4_remote_pre_fragment, config.pre_fragment_remote->bytes.data(), 4);
    value.reserved_mask = layout.reserved_mask;
    value.flag_mark = layout.flag_mark;
    value.slot_shift = layout.slot_shift;
    value.slot_bits = layout.slot_bits;
    value.bypass_mark = config.bypass_mark;
    value.slot_idle_ns =
        static_cast<uint64_t>(std::chrono::nanoseconds(config.slot_idle_timeout).count());
    value.hash_seed = hash_seed_;
    if (config.v4) {
        check_anchors(*config.v4, gdoi::IpFamily::v4, "IPv4");
        value.flags |= GDOID_CFG_HAVE_V4;
        std::memcpy(&value.v4_local, config.v4->local.bytes.data(), 4);
        std::memcpy(&value.v4_remote, config.v4->remote.bytes.data(), 4);
        std::memcpy(&value.v4_inbound, config.v4->inbound.bytes.data(), 4);
    }
    if (config.v6) {
        check_anchors(*config.v6, gdoi::IpFamily::v6, "IPv6");
        value.flags |= GDOID_CFG_HAVE_V6;
        std::memcpy(value.v6_local, config.v6->local.bytes.data(), 16);
        std::memcpy(value.v6_remote, config.v6->remote.bytes.data(), 16);
        std::memcpy(value.v6_inbound, config.v6->inbound.bytes.data(), 16);
    }
    uint32_t zero = 0;
    // A packet marked under the old layout would name a different slot under the new one
    // (turning pre-fragmentation on or off moves the slot index by a bit): empty the slots,
    // so such a packet is dropped as unrestored instead of leaving with another pair's
    // addresses.
    const bool relayout = layout_.reserved_mask != 0 && (layout_.slot_shift != layout.slot_shift ||
                                                         layout_.slot_bits != layout.slot_bits);
    update(skeleton_->maps.gdoid_config, &zero, sizeof(zero), &value, sizeof(value),
           "the configuration");
    if (relayout) clear_slots(layout_.slot_count());
    layout_ = layout;
}

void Datapath::attach(const std::string& wan, const std::vector<std::string>& lans,
                      const AttachOptions& options) {
    detach();
    std::vector<TcDevice> devices;
    auto device_for = [&devices](const std::string& name) -> TcDevice& {
        TcDevice candidate(name);
        for (TcDevice& device : devices)
            if (device.ifindex() == candidate.ifindex()) return device;
        devices.push_back(std::move(candidate));
        return devices.back();
    };
    // Resolve every name first, so a typo fails before anything is attached.
    device_for(wan);
    for (const std::string& lan : lans)
        device_for(lan);
    // Egress restore first: while it is missing, flagged packets would leak toward A_R.
    TcDevice& wan_device = devices.front();
    wan_device.attach({TcDirection::egress, options.handle, options.priority},
                      program_fd(Program::wan_egress));
    wan_device.attach({TcDirection::ingress, options.handle, options.priority},
                      program_fd(Program::wan_ingress));
    for (const std::string& lan : lans)
        device_for(lan).attach({TcDirection::ingress, options.handle, options.priority + 1},
                               program_fd(Program::lan_ingress));
    devices_ = std::move(devices);
}

void Datapath::detach() noexcept {
    // LAN ingress first (no new flags), WAN last.
    for (auto it = devices_.rbegin(); it != devices_.rend(); ++it)
        it->detach_all();
    devices_.clear();
}

void Datapath::release_attachments() noexcept {
    for (TcDevice& device : devices_)
        device.release();
    devices_.clear();
}

std::vector<std::string> Datapath::restore_filters() {
    std::vector<std::string> restored;
    // WAN first (devices_.front()): its egress restore must stand before LAN ingress flags.
    for (TcDevice& device : devices_) {
        auto put_back = device.restore_missing();
        restored.insert(restored.end(), put_back.begin(), put_back.end());
    }
    return restored;
}

size_t Datapath::remove_stale_filters(const std::string& device, const AttachOptions& options) {
    size_t removed = 0;
    const TcFilterSlot slots[] = {
        {TcDirection::ingress, options.handle, options.priority},
        {TcDirection::egress, options.handle, options.priority},
        {TcDirection::ingress, options.handle, options.priority + 1},
    };
    for (const TcFilterSlot& slot : slots)
        if (remove_stale_filter(device, slot)) ++removed;
    return removed;
}

void Datapath::add_remote_prefix(const gdoi::IpPrefix& prefix, uint32_t group_id) {
    bpf_map* map = map_of(skeleton_.get(), prefix, true);
    if (prefix.address.family == gdoi::IpFamily::v4) {
        gdoid_lpm_v4 key = lpm_key_v4(prefix);
        update(map, &key, sizeof(key), &group_id, sizeof(group_id), prefix.to_string());
    } else {
        gdoid_lpm_v6 key = lpm_key_v6(prefix);
        update(map, &key, sizeof(key), &group_id, sizeof(group_id), prefix.to_string());
    }
}

bool Datapath::remove_remote_prefix(const gdoi::IpPrefix& prefix) {
    bpf_map* map = map_of(skeleton_.get(), prefix, true);
    if (prefix.address.family == gdoi::IpFamily::v4) {
        gdoid_lpm_v4 key = lpm_key_v4(prefix);
        return erase(map, &key, sizeof(key), prefix.to_string());
    }
    gdoid_lpm_v6 key = lpm_key_v6(prefix);
    return erase(map, &key, sizeof(key), prefix.to_string());
}

void Datapath::add_local_prefix(const gdoi::IpPrefix& prefix, uint32_t group_id) {
    bpf_map* map = map_of(skeleton_.get(), prefix, false);
    if (prefix.address.family == gdoi::IpFamily::v4) {
        gdoid_lpm_v4 key = lpm_key_v4(prefix);
        update(map, &key, sizeof(key), &group_id, sizeof(group_id), prefix.to_string());
    } else {
        gdoid_lpm_v6 key = lpm_key_v6(prefix);
        update(map, &key, sizeof(key), &group_id, sizeof(group_id), prefix.to_string());
    }
}

bool Datapath::remove_local_prefix(const gdoi::IpPrefix& prefix) {
    bpf_map* map = map_of(skeleton_.get(), prefix, false);
    if (prefix.address.family == gdoi::IpFamily::v4) {
        gdoid_lpm_v4 key = lpm_key_v4(prefix);
        return erase(map, &key, sizeof(key), prefix.to_string());
    }
    gdoid_lpm_v6 key = lpm_key_v6(prefix);
    return erase(map, &key, sizeof(key), prefix.to_string());
}

void Datapath::add_inbound_spi(uint32_t spi, uint32_t group_id) {
    uint32_t key = htonl(spi); // the program compares the SPI as it is on the wire
    char text[16];
    std::snprintf(text, sizeof(text), "SPI 0x%08x", spi);
    update(skeleton_->maps.gdoid_spis, &key, sizeof(key), &group_id, sizeof(group_id), text);
}

bool Datapath::remove_inbound_spi(uint32_t spi) {
    uint32_t key = htonl(spi);
    char text[16];
    std::snprintf(text, sizeof(text), "SPI 0x%08x", spi);
    return erase(skeleton_->maps.gdoid_spis, &key, sizeof(key), text);
}

void Datapath::clear_slots(uint32_t count) {
    const gdoid_slot empty{};
    for (uint32_t index = 0; index < count && index < GDOID_SLOT_CAPACITY; ++index)
        update(skeleton_->maps.gdoid_slots, &index, sizeof(index), &empty, sizeof(empty),
               "slot " + std::to_string(index));
}

DatapathCounters Datapath::counters() const {
    int cpus = libbpf_num_possible_cpus();
    std::vector<uint64_t> per_cpu(cpus > 0 ? static_cast<size_t>(cpus) : 1);
    uint64_t sums[GDOID_CTR_COUNT] = {};
    for (uint32_t index = 0; index < GDOID_CTR_COUNT; ++index) {
        if (bpf_map__lookup_elem(skeleton_->maps.gdoid_counters, &index, sizeof(index),
                                 per_cpu.data(), per_cpu.size() * sizeof(uint64_t), 0) < 0)
            continue;
        for (uint64_t value : per_cpu)
            sums[index] += value;
    }
    DatapathCounters out;
    out.lan_marked = sums[GDOID_CTR_LAN_MARKED];
    out.lan_slot_reused = sums[GDOID_CTR_LAN_SLOT_REUSED];
    out.lan_slot_collisions = sums[GDOID_CTR_LAN_SLOT_COLLISION];
    out.lan_slot_exhausted = sums[GDOID_CTR_LAN_SLOT_EXHAUSTED];
    out.lan_bypassed = sums[GDOID_CTR_LAN_BYPASS];
    out.out_restored = sums[GDOID_CTR_OUT_RESTORED];
    out.out_fragments = sums[GDOID_CTR_OUT_FRAGMENTS];
    out.out_unrestored_dropped = sums[GDOID_CTR_OUT_UNRESTORED];
    out.lan_mss_clamped = sums[GDOID_CTR_LAN_MSS_CLAMPED];
    out.out_unflagged_dropped = sums[GDOID_CTR_OUT_UNFLAGGED];
    out.in_rewritten = sums[GDOID_CTR_IN_REWRITTEN];
    out.in_fragments = sums[GDOID_CTR_IN_FRAGMENTS];
    out.in_unknown_spi = sums[GDOID_CTR_IN_UNKNOWN_SPI];
    out.malformed = sums[GDOID_CTR_MALFORMED];
    out.out_multicast = sums[GDOID_CTR_OUT_MULTICAST];
    out.in_clear_multicast_dropped = sums[GDOID_CTR_IN_CLEAR_MULTICAST];
    out.out_df_set = sums[GDOID_CTR_OUT_DF_SET];
    out.lan_pre_fragment = sums[GDOID_CTR_LAN_PRE_FRAGMENT];
    out.out_pre_fragmented = sums[GDOID_CTR_OUT_PRE_FRAGMENTED];
    return out;
}

int Datapath::program_fd(Program program) const {
    switch (program) {
    case Program::lan_ingress:
        return bpf_program__fd(skeleton_->progs.gdoid_lan_in);
    case Program::wan_egress:
        return bpf_program__fd(skeleton_->progs.gdoid_wan_out);
    case Program::wan_ingress:
        return bpf_program__fd(skeleton_->progs.gdoid_wan_in);
    }
    return -1;
}

ProgramStats Datapath::program_stats(Program program) const {
    bpf_prog_info info{};
    uint32_t length = sizeof(info);
    ProgramStats stats;
    if (bpf_obj_get_info_by_fd(program_fd(program), &info, &length) < 0) return stats;
    stats.name = info.name;
    stats.verified_insns = info.verified_insns;
    stats.xlated_insns = info.xlated_prog_len / 8;
    stats.jited_bytes = info.jited_prog_len;
    return stats;
}

int Datapath::slots_map_fd() const {
    return bpf_map__fd(skeleton_->maps.gdoid_slots);
}

} // namespace bpf
