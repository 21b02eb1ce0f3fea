// The loader's contract: validation with specific messages, canonical map keys, full maps,
// missing privileges, and what the verifier says about our programs.
#include "datapath_fixture.hpp"

#include <bpf/bpf.h>
#include <catch2/catch.hpp>
#include <cstring>
#include <linux/capability.h>
#include <string>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

using namespace bpftest;
using bpf::DatapathErrorKind;

namespace {

// Runs `action`, expecting a DatapathError of `kind` whose message contains `text`.
template <typename Action>
void expect_error(Action action, DatapathErrorKind kind, const std::string& text) {
    try {
        action();
        FAIL("no error; expected one mentioning '" << text << "'");
    } catch (const bpf::DatapathError& error) {
        INFO(error.what());
        CHECK(error.kind() == kind);
        CHECK(std::string(error.what()).find(text) != std::string::npos);
    }
}

} // namespace

TEST_CASE("the reserved mark mask is validated with a reason", "[bpf][loader]") {
    auto layout = bpf::mark_layout(0xffe00000, 0x00100000);
    CHECK(layout.flag_mark == 0x80000000);
    CHECK(layout.slot_shift == 21);
    CHECK(layout.slot_bits == 10);
    CHECK(layout.mark_for_slot(3) == 0x80600000);
    auto low = bpf::mark_layout(0x000001f0, 0);
    CHECK(low.flag_mark == 0x100);
    CHECK(low.slot_count() == 16);
    auto widest = bpf::mark_layout(0x0001ffff, 0);
    CHECK(widest.slot_bits == GDOID_SLOT_MAX_BITS);

    auto invalid = DatapathErrorKind::invalid_config;
    expect_error([] { bpf::mark_layout(0, 0); }, invalid, "needs mark bits");
    expect_error([] { bpf::mark_layout(0x00ff00ff, 0); }, invalid, "not one contiguous run");
    expect_error([] { bpf::mark_layout(0x000000f0, 0); }, invalid, "has 4 bits");
    expect_error([] { bpf::mark_layout(0x0003ffff, 0); }, invalid, "has 18 bits");
    expect_error([] { bpf::mark_layout(0xffe00000, 0x00200000); }, invalid,
                 "overlaps the bypass mark 0x00200000");
}

TEST_CASE("prefix keys are canonical, so remove finds what add stored", "[bpf][loader]") {
    auto key = bpf::lpm_key_v4(prefix("10.1.2.3/16"));
    CHECK(key.prefixlen == 16);
    CHECK(key.addr[0] == 10);
    CHECK(key.addr[1] == 1);
    CHECK(key.addr[2] == 0);
    CHECK(key.addr[3] == 0);
    auto key6 = bpf::lpm_key_v6(prefix("fd00:1::ffff/32"));
    CHECK(key6.prefixlen == 32);
    CHECK(key6.addr[15] == 0);
    expect_error([] { bpf::lpm_key_v6(prefix("10.0.0.0/8")); }, DatapathErrorKind::invalid_config,
                 "is not IPv6");

    Fixture f;
    f.datapath.add_remote_prefix(prefix("10.7.2.3/16"));
    CHECK(f.datapath.remove_remote_prefix(prefix("10.7.0.0/16")));
    CHECK_FALSE(f.datapath.remove_remote_prefix(prefix("10.7.0.0/16")));
    CHECK(f.datapath.remove_local_prefix(prefix("fd00:1::/48")));
}

TEST_CASE("configure rejects anchors that cannot work", "[bpf][loader]") {
    Fixture f;
    auto invalid = DatapathErrorKind::invalid_config;
    auto with_v4 = [&f](const char* local, const char* remote, const char* inbound) {
        auto config = test_config();
        config.v4 = bpf::Anchors{ip(local), ip(remote), ip(inbound)};
        f.datapath.configure(config);
    };
    expect_error([&] { with_v4("192.0.2.1", "100.127.0.2", "127.0.0.5"); }, invalid, "martian");
    expect_error([&] { with_v4("192.0.2.1", "100.127.0.2", "2001:db8::1"); }, invalid,
                 "2001:db8::1 is not IPv4");
    expect_error([&] { with_v4("192.0.2.1", "192.0.2.1", "100.127.0.1"); }, invalid,
                 "three different addresses");
    expect_error([&] { with_v4("0.0.0.0", "100.127.0.2", "100.127.0.1"); }, invalid, "unicast");
    auto config = test_config();
    config.bypass_mark = 0x80000000;
    expect_error([&] { f.datapath.configure(config); }, invalid, "overlaps the bypass mark");
    // A rejected configuration leaves the previous one working.
    auto result = run(f.datapath.program_fd(bpf::Program::lan_ingress),
                      ipv4_frame(ip("10.1.0.10"), ip("10.2.0.10"), filler(20, 1)));
    CHECK((result.mark & 0x80000000) != 0);
}

TEST_CASE("a different mark layout is used as configured", "[bpf][loader]") {
    Fixture f;
    auto config = test_config();
    config.reserved_mark_mask = 0x000001f0;
    f.datapath.configure(config);
    auto result = run(f.datapath.program_fd(bpf::Program::lan_ingress),
                      ipv4_frame(ip("10.1.0.10"), ip("10.2.0.10"), filler(20, 1)), 0x80000001);
    CHECK((result.mark & 0x100) != 0);
    CHECK((result.mark & ~0x1f0u & ~0x100u) == 0x80000001);
    auto egress =
        run(f.datapath.program_fd(bpf::Program::wan_egress),
            ipv4_frame(ip("192.0.2.1"), ip("100.127.0.2"), esp_payload(kSpi, 1, 16)), result.mark);
    CHECK(egress.retval == kActOk);
    CHECK(egress.mark == 0x80000001);
    CHECK(read_ipv4(egress.frame).destination == ip("10.2.0.10"));
}

TEST_CASE("a full prefix map is reported as such", "[bpf][loader]") {
    Fixture f; // already holds 10.2.0.0/16 in the remote v4 trie
    gdoi::IpPrefix p = prefix("10.128.0.0/24");
    for (uint32_t i = 1; i < GDOID_MAX_PREFIXES; ++i) {
        p.address.bytes[1] = static_cast<uint8_t>(128 + (i >> 8));
        p.address.bytes[2] = static_cast<uint8_t>(i);
        f.datapath.add_remote_prefix(p);
    }
    expect_error([&] { f.datapath.add_remote_prefix(prefix("10.200.0.0/24")); },
                 DatapathErrorKind::map_update_failed, "10.200.0.0/24 to BPF map gdoid_remote_v4");
}

TEST_CASE("loading without CAP_BPF and CAP_SYS_ADMIN says what is missing", "[bpf][loader]") {
    int pipe_fds[2];
    REQUIRE(pipe(pipe_fds) == 0);
    pid_t child = fork();
    REQUIRE(child >= 0);
    if (child == 0) {
        ::close(pipe_fds[0]);
        __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
        __user_cap_data_struct data[2]{};
        syscall(SYS_capget, &header, data);
        data[0].effective &= ~(1u << CAP_SYS_ADMIN);
        data[1].effective &= ~(1u << (39 - 32)); // CAP_BPF
        int code = syscall(SYS_capset, &header, data) == 0 ? 0 : 3;
        std::string message;
        if (code == 0) {
            try {
                bpf::Datapath::load();
                code = 4;
            } catch (const bpf::DatapathError& error) {
                code = error.kind() == DatapathErrorKind::permission ? 0 : 5;
                message = error.what();
            }
        }
        (void)!write(pipe_fds[1], message.data(), message.size());
        _exit(code);
    }
    ::close(pipe_fds[1]);
    std::string message;
    char buffer[512];
    ssize_t n;
    while ((n = read(pipe_fds[0], buffer, sizeof(buffer))) > 0)
        message.append(buffer, n);
    ::close(pipe_fds[0]);
    int status = 0;
    REQUIRE(waitpid(child, &status, 0) == child);
    INFO(message);
    REQUIRE(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
    CHECK(message.find("CAP_BPF") != std::string::npos);
}

TEST_CASE("log_tail keeps the lines that say why", "[bpf][loader]") {
    CHECK(bpf::log_tail("a\nb\n\nc\nd\n", 2) == "c\nd\n");
    CHECK(bpf::log_tail("only", 5) == "only\n");
    CHECK(bpf::log_tail("", 3).empty());
}

TEST_CASE("the kernel accepted all three programs", "[bpf][loader]") {
    Fixture f;
    for (auto program :
         {bpf::Program::lan_ingress, bpf::Program::wan_egress, bpf::Program::wan_ingress}) {
        auto stats = f.datapath.program_stats(program);
        INFO(stats.name << ": verified " << stats.verified_insns << ", xlated "
                        << stats.xlated_insns << ", jited " << stats.jited_bytes << " bytes");
        CHECK(stats.name.rfind("gdoid_", 0) == 0);
        CHECK(stats.xlated_insns > 0);
        CHECK(stats.verified_insns >= stats.xlated_insns / 2);
        CHECK(stats.jited_bytes > 0);
    }
}

TEST_CASE("a verifier rejection is reported with the verifier's reason", "[bpf][loader]") {
    // A real rejection from this kernel: a program that returns an uninitialised R0.
    bpf_insn program[1] = {};
    program[0].code = BPF_JMP | BPF_EXIT;
    std::string verifier_log(4096, '\0');
    bpf_prog_load_opts opts{};
    opts.sz = sizeof(opts);
    opts.log_buf = verifier_log.data();
    opts.log_size = static_cast<uint32_t>(verifier_log.size());
    opts.log_level = 1;
    int fd = bpf_prog_load(BPF_PROG_TYPE_SCHED_CLS, "gdoid_bad", "GPL", program, 1, &opts);
    REQUIRE(fd < 0);
    int rc = -errno;
    verifier_log.resize(std::strlen(verifier_log.c_str()));
    REQUIRE_FALSE(verifier_log.empty());
    // Wrapped the way libbpf 1.1 prints it.
    std::string libbpf_log =
        "libbpf: prog 'gdoid_bad': BPF program load failed: " + bpf::errno_text(rc) +
        "\nlibbpf: prog 'gdoid_bad': -- BEGIN PROG " + "LOAD LOG --\n" + verifier_log +
        "-- END PROG LOAD LOG --\n";
    auto error = bpf::load_error(rc, libbpf_log, "5.4.0-test");
    INFO(error.what());
    CHECK(error.kind() == DatapathErrorKind::verifier_rejected);
    CHECK(std::string(error.what()).find("R0 !read_ok") != std::string::npos);
    CHECK(std::string(error.what()).find("kernel 5.4.0-test") != std::string::npos);

    auto no_syscall = bpf::load_error(-ENOSYS, "", "5.10.0");
    CHECK(no_syscall.kind() == DatapathErrorKind::bpf_unavailable);
    CHECK(std::string(no_syscall.what()).find("CONFIG_BPF_SYSCALL") != std::string::npos);
    auto lsm = bpf::load_error(-EPERM, "", "6.1.0");
    CHECK(lsm.kind() == DatapathErrorKind::permission);
    auto old = bpf::load_error(
        -EINVAL, "libbpf: map 'gdoid_slots': failed to create: Invalid argument(-22)\n", "4.19.0");
    CHECK(old.kind() == DatapathErrorKind::bpf_unavailable);
    CHECK(std::string(old.what()).find("gdoid_slots") != std::string::npos);
    CHECK(std::string(old.what()).find("minimum kernel 5.10") != std::string::npos);
}
