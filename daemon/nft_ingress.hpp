// The inbound half of header preservation without BPF (the destination-only fallback): an
// nftables netdev ingress chain on the WAN device that rewrites the destination of group ESP
// (an active group SPI toward one of our protected prefixes, and non-first fragments toward
// them) to the inbound anchor, exactly what the tc-BPF WAN ingress program does
// (datapath-notes.md shows this rewrite by hand with nftables). It needs CAP_NET_ADMIN and
// nf_tables, not bpf(); netdev ingress chains exist since Linux 4.2.
//
// With tcp-mss set, the table also clamps the MSS of SYNs and SYN-ACKs that enter from a LAN
// device toward one of the group's remote prefixes (netdev ingress chains on the LAN devices),
// what the tc-BPF LAN ingress program does otherwise.
//
// The table is gdoid's own (netdev gdoid_<WAN device>); nothing else in the ruleset is
// touched. It is driven through nft(8) (package nftables), one transaction per change.
#pragma once

#include "gdoi/ip_address.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace gdoid::daemon {

class NftIngress {
public:
    // Creates the table, sets and chain (replacing a leftover of an earlier run). Throws
    // std::runtime_error with nft's own words.
    NftIngress(std::string wan, const gdoi::IpAddress& inbound_anchor);
    ~NftIngress(); // deletes the table
    NftIngress(const NftIngress&) = delete;
    NftIngress& operator=(const NftIngress&) = delete;

    void add_spi(uint32_t spi);
    void remove_spi(uint32_t spi);
    void add_prefix(const gdoi::IpPrefix& prefix);
    void remove_prefix(const gdoi::IpPrefix& prefix);
    // Destinations whose SYNs the LAN chains clamp (the groups' remote prefixes).
    void add_remote_prefix(const gdoi::IpPrefix& prefix);
    void remove_remote_prefix(const gdoi::IpPrefix& prefix);
    // The MSS clamp on these LAN devices (mss 0: none); replaces the previous LAN chains in one
    // transaction, the sets and their elements stay. False when nothing changed (no nft run).
    bool set_lan_clamp(const std::vector<std::string>& lans, uint16_t mss);

    const std::string& table() const { return table_; }

    // The nft script that sets the table up (exposed for the unit test).
    static std::string setup_script(const std::string& table, const std::string& wan,
                                    const gdoi::IpAddress& inbound_anchor);
    // `old_chains` LAN chains are in the table now (lan0, lan1, ...).
    static std::string lan_clamp_script(const std::string& table, gdoi::IpFamily family,
                                        size_t old_chains, const std::vector<std::string>& lans,
                                        uint16_t mss);

private:
    std::string table_;
    std::string wan_;
    gdoi::IpFamily family_;
    std::vector<std::string> clamp_lans_; // the LAN clamp now in the table (one chain each)
    uint16_t clamp_mss_ = 0;              // 0: no LAN chains
};

// Runs `nft -f -` with `script` on its standard input; throws std::runtime_error with what nft
// printed when it fails (or when nft is missing).
void run_nft(const std::string& script);

} // namespace gdoid::daemon
