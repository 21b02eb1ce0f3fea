#include "daemon/nft_ingress.hpp"

#include "daemon/log.hpp"

#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <spawn.h>
#include <stdexcept>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace gdoid::daemon {

namespace {

std::string hex(uint32_t value) {
    char buffer[16];
    snprintf(buffer, sizeof buffer, "0x%08x", value);
    return buffer;
}

std::string read_all(int fd) {
    std::string out;
    char buffer[4096];
    for (;;) {
        const ssize_t n = read(fd, buffer, sizeof buffer);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        out.append(buffer, size_t(n));
    }
    return out;
}

} // namespace

void run_nft(const std::string& script) {
    int input[2], output[2];
    if (pipe2(input, O_CLOEXEC) != 0)
        throw std::runtime_error(std::string("pipe: ") + std::strerror(errno));
    if (pipe2(output, O_CLOEXEC) != 0) {
        close(input[0]);
        close(input[1]);
        throw std::runtime_error(std::string("pipe: ") + std::strerror(errno));
    }
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, input[0], 0);
    posix_spawn_file_actions_adddup2(&actions, output[1], 1);
    posix_spawn_file_actions_adddup2(&actions, output[1], 2);
    char arg0[] = "nft", arg1[] = "-f", arg2[] = "-";
    char* argv[] = {arg0, arg1, arg2, nullptr};
    pid_t pid = 0;
    const int spawned = posix_spawnp(&pid, "nft", &actions, nullptr, argv, environ);
    posix_spawn_file_actions_destroy(&actions);
    close(input[0]);
    close(output[1]);
    if (spawned != 0) {
        close(input[1]);
        close(output[0]);
        throw std::runtime_error(std::string("cannot run nft (package nftables): ") +
                                 std::strerror(spawned));
    }
    size_t written = 0;
    while (written < script.size()) {
        const ssize_t n = write(input[1], script.data() + written, script.size() - written);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        written += size_t(n);
    }
    close(input[1]);
    const std::string said = read_all(output[0]);
    close(output[0]);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        std::string first_line = said.substr(0, said.find('\n'));
        throw std::runtime_error(
            "nft refused the change: " +
            (first_line.empty() ? "exit status " + std::to_string(status) : first_line));
    }
}

std::string NftIngress::setup_script(const std::string& table, const std::string& wan,
                                     const gdoi::IpAddress& inbound_anchor) {
    const bool v4 = inbound_anchor.family == gdoi::IpFamily::v4;
    const std::string address_type = v4 ? "ipv4_addr" : "ipv6_addr";
    std::string s;
    // add + delete + add: one transaction that also replaces a table an earlier run left.
    s += "add table netdev " + table + "\n";
    s += "delete table netdev " + table + "\n";
    s += "table netdev " + table + " {\n";
    s += "  set group_spis { typeof esp spi; }\n";
    s += "  set protected { type " + address_type + "; flags interval; }\n";
    s += "  set remote { type " + address_type + "; flags interval; }\n";
    // Before anything else on the device sees the packet (the kernel's own ingress hooks
    // come later), like the tc-BPF program at the head of clsact ingress.
    s += "  chain wan_ingress {\n";
    s += "    type filter hook ingress device \"" + wan + "\" priority -500; policy accept;\n";
    if (v4) {
        s += "    ip protocol esp ip frag-off & 0x1fff == 0 ip daddr @protected esp spi "
             "@group_spis ip daddr set " +
             inbound_anchor.to_string() + "\n";
        // Later fragments carry no SPI: toward our prefixes they can only be group ESP
        // (datapath-notes.md pitfall 5); they must reach the same reassembly.
        s += "    ip protocol esp ip frag-off & 0x1fff != 0 ip daddr @protected ip daddr set " +
             inbound_anchor.to_string() + "\n";
    } else {
        s += "    ip6 nexthdr esp ip6 daddr @protected esp spi @group_spis ip6 daddr set " +
             inbound_anchor.to_string() + "\n";
    }
    s += "  }\n}\n";
    return s;
}

std::string NftIngress::lan_clamp_script(const std::string& table, gdoi::IpFamily family,
                                         size_t old_chains, const std::vector<std::string>& lans,
                                         uint16_t mss) {
    auto chain_name = [](size_t i) { return "lan" + std::to_string(i); };
    std::string s;
    for (size_t i = 0; i < old_chains; ++i)
        s += "delete chain netdev " + table + " " + chain_name(i) + "\n";
    if (mss == 0) return s;
    const std::string daddr = family == gdoi::IpFamily::v4 ? "ip daddr" : "ip6 daddr";
    const std::string size = std::to_string(mss);
    for (size_t i = 0; i < lans.size(); ++i) {
        const std::string chain = chain_name(i);
        s += "add chain netdev " + table + " " + chain + " { type filter hook ingress device \"" +
             lans[i] + "\" priority -500; policy accept; }\n";
        // SYN and SYN-ACK alike: the MSS each side advertises is what the other sends.
        s += "add rule netdev " + table + " " + chain + " " + daddr +
             " @remote tcp flags & syn == syn tcp option maxseg size > " + size +
             " tcp option maxseg size set " + size + "\n";
    }
    return s;
}

NftIngress::NftIngress(std::string wan, const gdoi::IpAddress& inbound_anchor)
    : table_("gdoid_" + wan), wan_(std::move(wan)), family_(inbound_anchor.family) {
    // Interface names may hold characters nft does not take in an identifier.
    for (char& c : table_)
        if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_') c = '_';
    run_nft(setup_script(table_, wan_, inbound_anchor));
}

NftIngress::~NftIngress() {
    try {
        run_nft("delete table netdev " + table_ + "\n");
    } catch (const std::exception& e) {
        log_warning("removing the nftables table netdev " + table_ + ": " + e.what());
    }
}

void NftIngress::add_spi(uint32_t spi) {
    run_nft("add element netdev " + table_ + " group_spis { " + hex(spi) + " }\n");
}

void NftIngress::remove_spi(uint32_t spi) {
    run_nft("delete element netdev " + table_ + " group_spis { " + hex(spi) + " }\n");
}

void NftIngress::add_prefix(const gdoi::IpPrefix& prefix) {
    run_nft("add element netdev " + table_ + " protected { " + prefix.to_string() + " }\n");
}

void NftIngress::remove_prefix(const gdoi::IpPrefix& prefix) {
    run_nft("delete element netdev " + table_ + " protected { " + prefix.to_string() + " }\n");
}

void NftIngress::add_remote_prefix(const gdoi::IpPrefix& prefix) {
    run_nft("add element netdev " + table_ + " remote { " + prefix.to_string() + " }\n");
}

void NftIngress::remove_remote_prefix(const gdoi::IpPrefix& prefix) {
    run_nft("delete element netdev " + table_ + " remote { " + prefix.to_string() + " }\n");
}

bool NftIngress::set_lan_clamp(const std::vector<std::string>& lans, uint16_t mss) {
    if (mss == clamp_mss_ && (mss == 0 || lans == clamp_lans_)) return false;
    const auto script =
        lan_clamp_script(table_, family_, clamp_mss_ ? clamp_lans_.size() : 0, lans, mss);
    if (!script.empty()) run_nft(script);
    clamp_lans_ = lans;
    clamp_mss_ = mss;
    return true;
}

} // namespace gdoid::daemon
