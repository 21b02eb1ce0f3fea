// What the kernel of gdoid's network namespace counts about fragmentation and "fragmentation
// needed" / "Packet Too Big": the member's own record of what its datapath fragmented or refused.
// Read from /proc/self/net/snmp and snmp6 (the reader's network namespace).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace gdoid::daemon {

// The counters by gdoictl name, from the texts of /proc/net/snmp and /proc/net/snmp6:
//   ipv4_fragmented          Ip FragOKs       packets this box cut into fragments
//   ipv4_fragments_created   Ip FragCreates   the fragments that made
//   ipv4_frag_needed         Ip FragFails     too big with DF set: dropped, ICMP "fragmentation
//                                             needed" sent (ip_forward, ip_fragment)
//   ipv4_reassembled         Ip ReasmOKs      datagrams reassembled for this box
//   ipv6_fragmented          Ip6FragOKs       (the box's own IPv6 packets: routers never fragment)
//   ipv6_fragments_created   Ip6FragCreates
//   ipv6_packet_too_big      Icmp6OutPktTooBigs  ICMPv6 Packet Too Big sent
//   ipv6_reassembled         Ip6ReasmOKs
// A counter the text does not have is left out (no IPv6 in the kernel: no snmp6).
std::map<std::string, uint64_t> parse_fragmentation_counters(std::string_view snmp,
                                                             std::string_view snmp6);

// Both files read now; nullopt when /proc/net/snmp cannot be read.
std::optional<std::map<std::string, uint64_t>> read_fragmentation_counters();

} // namespace gdoid::daemon
