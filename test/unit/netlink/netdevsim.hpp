// Test support: a netdevsim NIC in the test's network namespace, for the crypto-offload cases.
// netdevsim is the kernel's simulated device; its IPsec part accepts XFRM states with
// XFRMA_OFFLOAD_DEV the way a real driver does (AES-GCM with a 128-bit ICV only, like ixgbe
// and mlx5), counts the packets it is handed with an offloaded state, and lists its SA table
// in debugfs. Debian's kernel lacks it; scripts/vm-build-netdevsim builds it for the VM.
#pragma once

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <net/if.h>
#include <sstream>
#include <stdexcept>
#include <string>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

namespace netlink_test {

// What the driver's debugfs "ipsec" file says: "SA count=N tx=N", then three lines per SA.
struct NetdevsimIpsecTable {
    unsigned count = 0;
    unsigned tx = 0; // packets the driver was handed with a valid offloaded state
    std::string text;
};

class NetdevsimDevice {
public:
    // One device with one port, created in the calling thread's network namespace (netdevsim
    // records the creator's namespace); it is the namespace's only device besides lo.
    NetdevsimDevice() : id_(next_id()) {
        write_sysfs("/sys/bus/netdevsim/new_device", std::to_string(id_) + " 1");
        struct if_nameindex* all = if_nameindex();
        if (all == nullptr)
            throw std::runtime_error("if_nameindex: " + std::string(std::strerror(errno)));
        for (auto* i = all; i->if_index != 0; ++i)
            if (std::string(i->if_name) != "lo") {
                name_ = i->if_name;
                ifindex_ = int(i->if_index);
            }
        if_freenameindex(all);
        if (name_.empty())
            throw std::runtime_error("netdevsim " + std::to_string(id_) + " made no device here");
        ensure_debugfs();
    }
    ~NetdevsimDevice() {
        try {
            write_sysfs("/sys/bus/netdevsim/del_device", std::to_string(id_));
        } catch (...) {
        }
    }
    NetdevsimDevice(const NetdevsimDevice&) = delete;
    NetdevsimDevice& operator=(const NetdevsimDevice&) = delete;

    const std::string& name() const { return name_; }
    int ifindex() const { return ifindex_; }

    NetdevsimIpsecTable ipsec() const {
        const std::string path =
            "/sys/kernel/debug/netdevsim/netdevsim" + std::to_string(id_) + "/ports/0/ipsec";
        std::ifstream in(path);
        if (!in)
            throw std::runtime_error("cannot read " + path +
                                     " (netdevsim built without XFRM offload?)");
        NetdevsimIpsecTable table;
        std::ostringstream all;
        all << in.rdbuf();
        table.text = all.str();
        if (std::sscanf(table.text.c_str(), "SA count=%u tx=%u", &table.count, &table.tx) != 2)
            throw std::runtime_error(path +
                                     " does not start with \"SA count=N tx=N\": " + table.text);
        return table;
    }

private:
    static unsigned next_id() {
        static unsigned counter = 0;
        return 1000 + unsigned(getpid() % 1000) * 100 + counter++ % 100;
    }
    static void write_sysfs(const std::string& path, const std::string& text) {
        struct stat st;
        if (stat("/sys/bus/netdevsim", &st) != 0)
            throw std::runtime_error(
                "netdevsim is not loaded (no /sys/bus/netdevsim): Debian's kernel lacks it; "
                "scripts/vm-build-netdevsim builds it for the VM (see netdevsim-failed / "
                "netdevsim-build.log in the VM cache)");
        std::ofstream out(path);
        out << text << std::flush;
        if (!out) throw std::runtime_error("writing \"" + text + "\" to " + path + " failed");
    }
    static void ensure_debugfs() {
        struct stat st;
        if (stat("/sys/kernel/debug/netdevsim", &st) == 0) return;
        if (mount("debugfs", "/sys/kernel/debug", "debugfs", 0, nullptr) != 0 && errno != EBUSY)
            throw std::runtime_error("mounting debugfs: " + std::string(std::strerror(errno)));
    }

    unsigned id_;
    std::string name_;
    int ifindex_ = 0;
};

} // namespace netlink_test
