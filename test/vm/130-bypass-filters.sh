#!/usr/bin/env bash
# Bypass filters on the wire (issue 15, items 3 and 4): traffic the operator keeps out of the
# group, three ways at once, and everything else still ESP.
#   gm-a has iptables rules (iptables-nft, Debian 12's default) written before gdoid starts: a
#   mangle rule marking SNMP (udp 161) and BGP (tcp 179) with the bypass-mark bit 0x00100000,
#   in PREROUTING (hosts' traffic, both ways) and OUTPUT (the router's own BGP session), and an
#   ordinary FORWARD filter that drops ICMP from LAN b to host-a2.
#   gm-b has the same marks as an nftables table (`meta mark set meta mark | 0x00100000`).
#   Both members list two bypass classes in gdoid.conf ([[group.bypass]], no firewall):
#   syslog (udp to port 514 between the LANs) and mgmt (tcp host-a2 -> host-b2:5001).
# Asserts, on the core capture decrypted with the keys read from the kernel: SNMP, BGP, syslog
# and mgmt cross in clear text both ways and never as ESP; ICMP, tcp host-a2 -> host-b1:5001
# (the mgmt port toward another host) and udp to port 162 (next to SNMP's) cross only as ESP
# that decrypts with the hosts' addresses as outer addresses; ICMP host-b1 -> host-a2 crosses
# as ESP and is then dropped by gm-a's FORWARD filter (its counter counts exactly the echoes
# sent); iptables-save on gm-a and `nft -s list ruleset` on gm-b are identical before gdoid
# starts, while it runs and after it stopped; `gdoictl status` shows the mark and the classes.
# With pre-fragmentation on both members (oversize DF-clear packets are routed through gdoid's
# XFRM interface, docs/datapath-notes.md): oversize (1448-octet) DF-clear SNMP and syslog
# datagrams still cross in clear text (the bypass mark and the class keep them off the
# interface's routing rules), oversize udp 162 crosses fragmented before encryption: each
# member's datapath marks 6 oversize packets and restores 4 ESP packets of the interface (the
# two udp 162 datagrams, two fragments each).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/lib/topology.sh"
. "$here/lib/static-esp.sh" # xfrm_stat_check
. "$here/lib/gdoi-lab.sh"
GLAB_DATAPATH_KEYS=yes
mark=0x00100000
GLAB_MEMBER_EXTRA="bypass-mark = \"$mark\"
pre-fragmentation = true

[[group.bypass]]
name = \"syslog\"
source = \"$LAB_LAN_A\"
destination = \"$LAB_LAN_B\"
protocol = \"udp\"
destination-port = 514

[[group.bypass]]
name = \"mgmt\"
source = \"$LAB_HOST_A2/32\"
destination = \"$LAB_HOST_B2/32\"
protocol = \"tcp\"
destination-port = 5001"
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
ok() { echo "ok: $*"; }
command -v tshark >/dev/null || { echo "FAIL: tshark is needed"; exit 1; }
command -v iptables-restore >/dev/null || { echo "FAIL: iptables is needed"; exit 1; }

lab_up
glab_init # GLAB_LOGS
# ---------------------------------------------------------------- the box's own rules, first
lab_exec gm-a iptables-restore <<RULES
*mangle
-A PREROUTING -p udp --dport 161 -j MARK --set-xmark $mark/$mark
-A PREROUTING -p udp --sport 161 -j MARK --set-xmark $mark/$mark
-A PREROUTING -p tcp --dport 179 -j MARK --set-xmark $mark/$mark
-A PREROUTING -p tcp --sport 179 -j MARK --set-xmark $mark/$mark
-A OUTPUT -p tcp --dport 179 -j MARK --set-xmark $mark/$mark
-A OUTPUT -p tcp --sport 179 -j MARK --set-xmark $mark/$mark
COMMIT
*filter
-A FORWARD -s $LAB_LAN_B -d $LAB_HOST_A2/32 -p icmp -j DROP
COMMIT
RULES
lab_exec gm-b nft -f - <<RULES
table inet site-marks {
    chain prerouting {
        type filter hook prerouting priority mangle; policy accept;
        udp dport 161 meta mark set meta mark | $mark
        udp sport 161 meta mark set meta mark | $mark
        tcp dport 179 meta mark set meta mark | $mark
        tcp sport 179 meta mark set meta mark | $mark
    }
    chain output {
        type route hook output priority mangle; policy accept;
        tcp dport 179 meta mark set meta mark | $mark
        tcp sport 179 meta mark set meta mark | $mark
    }
}
RULES
rules_a() { lab_exec gm-a iptables-save | grep -v '^# \(Generated\|Completed\) ' ; } # those two carry the time
rules_b() { lab_exec gm-b nft -s list ruleset; }
rules_a >"$GLAB_LOGS/gm-a.iptables.before"
rules_b >"$GLAB_LOGS/gm-b.nft.before"
grep -q -- "--dport 161 -j MARK --set-xmark 0x100000/0x100000" "$GLAB_LOGS/gm-a.iptables.before" &&
    grep -q "udp dport 161 meta mark set meta mark | $mark" "$GLAB_LOGS/gm-b.nft.before" &&
    ok "gm-a's iptables rules and gm-b's nftables table are in place before gdoid starts" ||
    fail "the box's rules did not load (see $GLAB_LOGS/gm-a.iptables.before, gm-b.nft.before)"

glab_up || { echo "FAIL: the members did not register (logs in $GLAB_LOGS)"; exit 1; }
ok "gm-a and gm-b registered with bypass-mark $mark and two bypass classes"

# ---------------------------------------------------------------- status
for gm in gm-a gm-b; do
    glab_status "$gm" >"$GLAB_LOGS/$gm.status.json"
    if glab_json_check "
g = j['result']['groups'][0]
assert g['bypass_mark'] == '0x100000/0x100000', g['bypass_mark']
want = [{'origin': 'configuration', 'name': 'syslog', 'protocol': 'udp', 'source': '$LAB_LAN_A', 'destination': '$LAB_LAN_B port 514'},
        {'origin': 'configuration', 'name': 'mgmt', 'protocol': 'tcp', 'source': '$LAB_HOST_A2/32', 'destination': '$LAB_HOST_B2/32 port 5001'}]
assert g['bypass'] == want, g['bypass']
assert g['kernel']['state'] == 'installed', g['kernel']
" <"$GLAB_LOGS/$gm.status.json"; then
        ok "$gm gdoictl status --json: bypass_mark 0x100000/0x100000, classes syslog (udp port 514) and mgmt (tcp port 5001), kernel installed"
    else
        fail "$gm gdoictl status --json (in $GLAB_LOGS/$gm.status.json)"
    fi
done
text=$(glab_ctl gm-a status)
grep -q "bypass syslog (configuration): udp $LAB_LAN_A <-> $LAB_LAN_B port 514" <<<"$text" &&
    grep -q "bypass-mark: 0x100000/0x100000" <<<"$text" &&
    ok "gdoictl status names the bypass mark and each class" || fail "gdoictl status: $text"

# ---------------------------------------------------------------- traffic, all at once
LAB_SNAPLEN=2000 lab_capture core to-gma "$GLAB_LOGS/bypass.pcap" "net 10.0.0.0/8"
py_udp_echo='
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.IPPROTO_IP, 10, 0) # IP_MTU_DISCOVER = IP_PMTUDISC_DONT (linux/in.h; Python 3.11 names neither): DF clear
s.bind(("0.0.0.0", int(sys.argv[1])))
s.settimeout(30)
for _ in range(int(sys.argv[2])):
    data, peer = s.recvfrom(65535)
    s.sendto(data, peer)
'
py_udp_ask='
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.IPPROTO_IP, 10, 0) # IP_MTU_DISCOVER = IP_PMTUDISC_DONT (linux/in.h; Python 3.11 names neither): DF clear
s.settimeout(5)
got = 0
size = int(sys.argv[4]) if len(sys.argv) > 4 else 100
for i in range(int(sys.argv[3])):
    s.sendto(b"q" * size, (sys.argv[1], int(sys.argv[2])))
    try:
        s.recvfrom(65535); got += 1
    except socket.timeout:
        pass
print(got)'
py_bgp='
import socket, sys
if sys.argv[1] == "listen":
    l = socket.socket(); l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    l.bind((sys.argv[2], 179)); l.listen(1); l.settimeout(30)
    c, _ = l.accept(); c.settimeout(30); n = 0
    while True:
        d = c.recv(65536)
        if not d: break
        n += len(d)
    c.sendall(str(n).encode()); c.close()
else:
    c = socket.socket(); c.bind((sys.argv[2], 0)); c.settimeout(30)
    c.connect((sys.argv[3], 179)); c.sendall(b"b" * 20000); c.shutdown(socket.SHUT_WR)
    print(c.recv(100).decode())'
lab_bg host-b1 python3 -c "$py_udp_echo" 161 5 >"$GLAB_LOGS/snmp-echo.log" 2>&1
lab_bg host-b1 python3 -c "$py_udp_echo" 162 5 >"$GLAB_LOGS/trap-echo.log" 2>&1
lab_bg host-b1 python3 -c "$py_udp_echo" 514 5 >"$GLAB_LOGS/syslog-echo.log" 2>&1
lab_bg gm-b python3 -c "$py_bgp" listen "$LAB_GMB_LAN" >"$GLAB_LOGS/bgp-listen.log" 2>&1
glab_tcp_sink host-b1
glab_tcp_sink host-b2
glab_wait_listening host-b1 udp 161 162 514 && glab_wait_listening host-b1 tcp 5001 &&
    glab_wait_listening host-b2 tcp 5001 && glab_wait_listening gm-b tcp 179 ||
    fail "the listeners did not start"
snmp=$(lab_exec host-a1 python3 -c "$py_udp_ask" "$LAB_HOST_B1" 161 3 2>&1) || true
trap_=$(lab_exec host-a1 python3 -c "$py_udp_ask" "$LAB_HOST_B1" 162 3 2>&1) || true
syslog=$(lab_exec host-a2 python3 -c "$py_udp_ask" "$LAB_HOST_B1" 514 3 2>&1) || true
# oversize for the tunnel (1448 > 1438 octets of inner MTU on the 1500-octet WAN), DF clear
declare -A prefrag_before=()
for gm in gm-a gm-b; do prefrag_before[$gm]=$(glab_datapath_counters $gm lan_pre_fragment out_pre_fragmented); done
big_snmp=$(lab_exec host-a1 python3 -c "$py_udp_ask" "$LAB_HOST_B1" 161 2 1420 2>&1) || true
big_syslog=$(lab_exec host-a2 python3 -c "$py_udp_ask" "$LAB_HOST_B1" 514 2 1420 2>&1) || true
big_trap=$(lab_exec host-a1 python3 -c "$py_udp_ask" "$LAB_HOST_B1" 162 2 1420 2>&1) || true
# The router's own session: its socket's route is looked up before OUTPUT marks the packets,
# so the kernel counts XfrmOutNoStates for it (see the end); read the counters around it.
no_states() { lab_exec "$1" awk '$1 == "XfrmOutNoStates" { print $2 }' /proc/net/xfrm_stat; }
declare -A no_states_before=() no_states_after=()
for gm in gm-a gm-b; do no_states_before[$gm]=$(no_states $gm); done
bgp=$(lab_exec gm-a python3 -c "$py_bgp" connect "$LAB_GMA_LAN" "$LAB_GMB_LAN" 2>&1) || true
for gm in gm-a gm-b; do no_states_after[$gm]=$(no_states $gm); done
mgmt=$(glab_tcp_send host-a2 "$LAB_HOST_B2") || true
other=$(glab_tcp_send host-a2 "$LAB_HOST_B1") || true
ping_ok=$(lab_exec host-a1 ping -n -c 3 -i 0.2 -W 3 "$LAB_HOST_B1" 2>&1 | grep -o '[0-9]* received' || true)
ping_filtered=$(lab_exec host-b1 ping -n -c 3 -i 0.2 -W 2 "$LAB_HOST_A2" 2>&1 | grep -o '[0-9]* received' || true)
lab_capture_stop
said=$(lab_capture_complete "$GLAB_LOGS/bypass.pcap") && ok "$said" || fail "$said"
[ "$snmp" = 3 ] && ok "SNMP host-a1 -> host-b1:161: 3/3 answered" || fail "SNMP: '$snmp' of 3 answered"
[ "$trap_" = 3 ] && ok "udp host-a1 -> host-b1:162: 3/3 answered" || fail "udp 162: '$trap_' of 3 answered"
[ "$syslog" = 3 ] && ok "syslog host-a2 -> host-b1:514: 3/3 answered" || fail "syslog: '$syslog' of 3 answered"
[ "$big_snmp" = 2 ] && [ "$big_syslog" = 2 ] && [ "$big_trap" = 2 ] &&
    ok "1448-octet DF-clear datagrams (oversize for the tunnel): SNMP 2/2, syslog 2/2, udp 162 2/2 answered" ||
    fail "1448-octet datagrams answered: SNMP '$big_snmp', syslog '$big_syslog', udp 162 '$big_trap' (want 2 each)"
for gm in gm-a gm-b; do
    read -r marked_before restored_before <<<"${prefrag_before[$gm]}"
    read -r marked restored <<<"$(glab_datapath_counters $gm lan_pre_fragment out_pre_fragmented)"
    marked=$((marked - marked_before)) restored=$((restored - restored_before))
    [ "$marked" = 6 ] && [ "$restored" = 4 ] &&
        ok "$gm pre-fragmentation: 6 oversize DF-clear packets marked at LAN ingress, 4 ESP packets of the XFRM interface restored (udp 162 only: the bypasses were routed around it)" ||
        fail "$gm pre-fragmentation: lan_pre_fragment grew by $marked (want 6), out_pre_fragmented by $restored (want 4)"
done
[ "$bgp" = 20000 ] && ok "BGP session gm-a -> gm-b:179 (the routers' own LAN addresses): 20000 octets" || fail "BGP: '$bgp'"
[ "$mgmt" = 20000 ] && ok "tcp host-a2 -> host-b2:5001 (mgmt): 20000 octets" || fail "mgmt: '$mgmt'"
[ "$other" = 20000 ] && ok "tcp host-a2 -> host-b1:5001: 20000 octets" || fail "tcp host-a2 -> host-b1: '$other'"
[ "$ping_ok" = "3 received" ] && ok "ICMP host-a1 -> host-b1: 3/3" || fail "ICMP host-a1 -> host-b1: '$ping_ok'"
[ "$ping_filtered" = "0 received" ] && ok "ICMP host-b1 -> host-a2: 0/3 (gm-a's FORWARD filter)" ||
    fail "ICMP host-b1 -> host-a2: '$ping_filtered', want 0 (FORWARD filter)"
dropped=$(lab_exec gm-a iptables -t filter -L FORWARD -n -v -x | awk -v d="$LAB_HOST_A2" '$3 == "DROP" && $9 == d { print $1 }')
[ "$dropped" = 3 ] && ok "gm-a's FORWARD rule dropped exactly the 3 decrypted echo requests" ||
    fail "gm-a's FORWARD rule counted '$dropped' packets, want 3"

# ---------------------------------------------------------------- the wire, decrypted
report=$(glab_wire_flows "$GLAB_LOGS/bypass.pcap" gm-a gm-b)
echo "$report" | grep -v '^SUMMARY'
read -r _ esp clear problems <<<"$(grep '^SUMMARY' <<<"$report")"
((esp > 20)) && [ "$problems" = 0 ] &&
    ok "$esp ESP packets decrypted, ICV good, outer addresses = inner; $clear in clear text" ||
    fail "$esp ESP packets, $problems problem(s) (tshark: $GLAB_LOGS/bypass.pcap.tshark.log)"
A1=$LAB_HOST_A1 A2=$LAB_HOST_A2 B1=$LAB_HOST_B1 B2=$LAB_HOST_B2
for flow in "udp $A1:\* > $B1:161" "udp $B1:161 > $A1:\*" "tcp $LAB_GMA_LAN:\* > $LAB_GMB_LAN:179" \
    "tcp $LAB_GMB_LAN:179 > $LAB_GMA_LAN:\*" "udp $A2:\* > $B1:514" "udp $B1:514 > $A2:\*" \
    "tcp $A2:\* > $B2:5001" "tcp $B2:5001 > $A2:\*"; do
    grep -q "x clear $flow\$" <<<"$report" && ! grep -q "x esp $flow\$" <<<"$report" &&
        ok "clear text only: $flow" || fail "not (only) clear text: $flow"
done
for flow in "udp $A1:\* > $B1:162" "udp $B1:162 > $A1:\*" "tcp $A2:\* > $B1:5001" "tcp $B1:5001 > $A2:\*" \
    "icmp $A1 > $B1" "icmp $B1 > $A1" "icmp $B1 > $A2"; do
    grep -q "x esp $flow\$" <<<"$report" && ! grep -q "x clear $flow\$" <<<"$report" &&
        ok "ESP only: $flow" || fail "not (only) ESP: $flow"
done
unexpected=$(grep ' x clear ' <<<"$report" | grep -v -e ':161 ' -e ':161$' -e ':179 ' -e ':179$' -e ':514 ' -e ':514$' \
    -e "tcp $A2:\* > $B2:5001" -e "tcp $B2:5001 > $A2:\*" || true)
[ -z "$unexpected" ] && ok "nothing else crossed in clear text" || fail "unexpected clear text: $unexpected"
grep -q "x icmp $A2 > $B1\$\|x esp icmp $A2 > $B1\$" <<<"$report" &&
    fail "host-a2 answered echoes the FORWARD filter should have dropped" ||
    ok "no echo reply from host-a2: the filter applied to the decrypted packets"

# ---------------------------------------------------------------- the rules, untouched
rules_a >"$GLAB_LOGS/gm-a.iptables.during"
rules_b >"$GLAB_LOGS/gm-b.nft.during"
for gm in gm-a gm-b; do
    echo "$gm per-destination flows (router-originated states): $(glab_status $gm | glab_json "j['result']['groups'][0]['kernel']['per_destination_flows']")"
done
counters=$(glab_datapath_counters gm-a out_unrestored_dropped)
[ "$counters" = 0 ] && ok "gm-a datapath: 0 packets dropped unrestored" || fail "gm-a out_unrestored_dropped $counters"
glab_member_stop gm-a
glab_member_stop gm-b
rules_a >"$GLAB_LOGS/gm-a.iptables.after"
rules_b >"$GLAB_LOGS/gm-b.nft.after"
for when in during after; do
    cmp -s "$GLAB_LOGS/gm-a.iptables.before" "$GLAB_LOGS/gm-a.iptables.$when" &&
        ok "gm-a iptables-save $when gdoid = before ($(wc -l <"$GLAB_LOGS/gm-a.iptables.before") lines, time stamp comments aside)" ||
        fail "gm-a iptables-save $when gdoid differs: $(diff "$GLAB_LOGS/gm-a.iptables.before" "$GLAB_LOGS/gm-a.iptables.$when" | head -5)"
    cmp -s "$GLAB_LOGS/gm-b.nft.before" "$GLAB_LOGS/gm-b.nft.$when" &&
        ok "gm-b nft -s list ruleset $when gdoid is byte-identical to before" ||
        fail "gm-b nft ruleset $when gdoid differs: $(diff "$GLAB_LOGS/gm-b.nft.before" "$GLAB_LOGS/gm-b.nft.$when" | head -5)"
done
# XfrmOutNoStates: the BGP socket's own route lookup (mark 0, before OUTPUT sets the bypass bit)
# meets the router-originated ACQUIRE trap until gdoid installed that flow's state; the packets
# themselves are rerouted with the mark (the session moved its 20000 octets, all in clear text).
# Every count must come from the BGP window, every other counter must stay 0.
for gm in gm-a gm-b; do
    others=$(xfrm_stat_errors "$gm" | grep -v '^XfrmOutNoStates' || true)
    total=$(no_states "$gm")
    [ -z "$others" ] && [ "${no_states_before[$gm]}" = 0 ] && [ "$total" = "${no_states_after[$gm]}" ] &&
        ok "$gm /proc/net/xfrm_stat: all zero but XfrmOutNoStates $total, every one during the router's own BGP session" ||
        fail "$gm /proc/net/xfrm_stat: XfrmOutNoStates before BGP ${no_states_before[$gm]}, after ${no_states_after[$gm]}, at the end $total; others: $(tr '\n' ' ' <<<"$others")"
done
if ((failures)); then
    echo "$failures check(s) failed; captures and logs in $GLAB_LOGS"
    exit 1
fi
echo "bypass filters: the marked and listed classes in clear text, everything else ESP with the hosts' addresses"
