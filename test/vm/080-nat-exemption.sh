#!/usr/bin/env bash
# NAT on the WAN: a member that also masquerades its LAN toward the WAN (a common CPE setup)
# must exempt the group's traffic from the NAT, or that traffic leaves IN CLEAR TEXT: the
# masquerade rewrites the inner packet's source in POSTROUTING, the XFRM policy lookup that
# follows no longer matches it (policies select the LAN prefixes), and the kernel sends it
# unencrypted, with nothing counted as an error. gdoid cannot see netfilter rules; gdoid(8) and
# gdoid.conf(5) document the required rule, and this scenario proves both halves:
#   - with `oifname "wan0" masquerade` alone on gm-a, host-a1's echoes to host-b1 cross the
#     core in clear text from gm-a's WAN address (the leak the exemption exists for);
#   - with `oifname "wan0" rt ipsec exists accept` before it (packets whose route is an IPsec
#     bundle skip the NAT), the same traffic crosses only as ESP with the hosts' own addresses,
#     every echo answered, while other LAN traffic is still masqueraded.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/lib/topology.sh"
. "$here/lib/gdoi-lab.sh"
GLAB_DATAPATH_KEYS=yes
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
ok() { echo "ok: $*"; }
command -v nft >/dev/null || { echo "FAIL: nft (package nftables) is needed"; exit 1; }
pcap_count() { { tcpdump -r "$1" -n "$2" 2>/dev/null || true; } | wc -l; }
received() { { lab_ping "$1" "$2" "$3" 2>/dev/null || true; } | sed -n 's/.* \([0-9]*\) received.*/\1/p'; }

lab_up
glab_up || { echo "FAIL: the members did not register (logs in $GLAB_LOGS)"; exit 1; }
ok "gm-a and gm-b registered, SAs installed"

lab_exec gm-a nft -f - <<'NFT'
table ip cpe-nat {
    chain postrouting {
        type nat hook postrouting priority srcnat; policy accept;
        oifname "wan0" masquerade
    }
}
NFT
lab_capture core to-gma "$GLAB_LOGS/masquerade.pcap" icmp or esp
n=$(received host-a1 "$LAB_HOST_B1" 3)
lab_capture_stop
leaked=$(pcap_count "$GLAB_LOGS/masquerade.pcap" "icmp and src host $LAB_GMA_WAN")
esp=$(pcap_count "$GLAB_LOGS/masquerade.pcap" esp)
((leaked > 0)) && [ "$esp" = 0 ] &&
    ok "masquerade alone: the group's traffic left in clear text ($leaked ICMP packets from $LAB_GMA_WAN, 0 ESP; $n/3 answered) - the pitfall is real" ||
    fail "masquerade alone: $leaked clear ICMP from $LAB_GMA_WAN, $esp ESP (expected the leak)"

lab_exec gm-a nft insert rule ip cpe-nat postrouting oifname '"wan0"' rt ipsec exists accept
lab_exec gm-a conntrack -F 2>/dev/null || true
lab_capture core to-gma "$GLAB_LOGS/exempted.pcap" icmp or esp
n=$(received host-a1 "$LAB_HOST_B1" 3)
other=$(received host-a1 "$LAB_CORE_A" 2)
lab_capture_stop
clear_group=$(pcap_count "$GLAB_LOGS/exempted.pcap" "icmp and host $LAB_HOST_B1")
esp=$(pcap_count "$GLAB_LOGS/exempted.pcap" "esp and src host $LAB_HOST_A1 and dst host $LAB_HOST_B1")
nat_other=$(pcap_count "$GLAB_LOGS/exempted.pcap" "icmp and src host $LAB_GMA_WAN and dst host $LAB_CORE_A")
[ "$n" = 3 ] && [ "$clear_group" = 0 ] && [ "$esp" = 3 ] &&
    ok "with 'rt ipsec exists accept' first: 3/3 echoes, 3 ESP packets host-a1 > host-b1 with the hosts' addresses, no clear text" ||
    fail "with the exemption: $n/3 echoes, $clear_group clear ICMP with host-b1, $esp ESP host-a1 > host-b1 (want 3, 0, 3)"
[ "$other" = 2 ] && ((nat_other >= 2)) &&
    ok "traffic outside the group is still masqueraded ($nat_other echoes to the core router from $LAB_GMA_WAN)" ||
    fail "non-group traffic: $other/2 answered, $nat_other masqueraded"
lab_exec gm-a nft delete table ip cpe-nat

if ((failures)); then
    echo "$failures check(s) failed; captures and logs in $GLAB_LOGS"
    exit 1
fi
echo "NAT: masquerade without the exemption leaks the group's traffic; 'rt ipsec exists accept' before it keeps it in ESP"
