#!/usr/bin/env bash
# gdoid on boxes with VRFs (issue 15, scenarios 1 and 2), one lab:
# CPE, control plane in a VRF: gm-a's WAN (wan0) is enslaved to vrf-wan (table 10), so the key
#   servers are reachable only there; the LAN stays in the main table (which routes the remote
#   LAN out of wan0, and vrf-wan routes the own LAN back to lan0: the two routes an operator
#   leaks between the tables).
#   - without routing-instance gdoid cannot bind local-address and its status says exactly why
#     and what to write;
#   - with routing-instance = "vrf-wan" it registers (status: registered, ks1 in use), puts the
#     inbound anchor on vrf-wan (local in table 10, where the WAN's ESP is routed), and the
#     group's traffic crosses the core as ESP that decrypts (keys read from the kernel) with
#     outer addresses = inner, next header 4, nothing in clear text;
#   - a multicast-only push (the key server's `"transport":"multicast"`, routed by core with
#     smcroute) reaches gm-a's socket in vrf-wan, joined on wan0: gm-a takes its new TEKs; so
#     does a unicast-only push (`"transport":"unicast"`).
# PE, customer LAN in a VRF: lan0 moves into vrf-cust (table 20), the WAN stays in vrf-wan; after
#   a restart the same group encrypts, decrypts and restores addresses across the two VRFs
#   (decrypted core capture as above; datapath counters: restored > 0, unrestored 0); a host
#   behind lan9, in a third VRF and not in lan-interfaces, reaches host-b1 in clear text.
# gm-a runs with pre-fragmentation: in both layouts two DF-clear 1478-octet echoes (too big for
# the tunnel on the 1500-octet WAN) are answered and leave gm-a fragmented before encryption
# (4 ESP packets of its XFRM interface restored, no outer fragment from host-a1).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/lib/topology.sh"
. "$here/lib/static-esp.sh" # xfrm_stat_check
. "$here/lib/gdoi-lab.sh"
GLAB_DATAPATH_KEYS=yes
GLAB_KS_MULTICAST_TTL=4 # ks1 -> core -> gm-a: two hops
GLAB_MEMBER_EXTRA="pre-fragmentation = true"
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
ok() { echo "ok: $*"; }
for tool in tshark smcrouted; do command -v "$tool" >/dev/null || { echo "FAIL: $tool is needed"; exit 1; }; done
kek_group=239.192.0.1 # gdoi-lab.sh's KEK destination
gma_lan_net=10.1.0.0/24

group_json() { glab_status "$1" | glab_json "$2"; }

# Decrypts PCAP with gm-a's keys, checks every packet and the flows FLOW... ("icmp A > B").
check_decrypted() {
    local pcap=$1 what=$2 report packets problems flow clear
    shift 2
    clear=$(tcpdump -r "$pcap" -n "not esp and not (ip[6:2] & 0x1fff != 0)" 2>/dev/null | wc -l)
    [ "$clear" = 0 ] && ok "$what: no clear text between the LANs on the core" ||
        fail "$what: $clear packets in clear text on the core"
    report=$(glab_wire_flows "$pcap" gm-a)
    grep -v '^SUMMARY' <<<"$report" || true
    read -r _ packets _ problems <<<"$(grep '^SUMMARY' <<<"$report")"
    ((packets >= 8)) && [ "$problems" = 0 ] &&
        ok "$what: $packets ESP packets decrypted, ICV good, outer addresses = inner, next header 4" ||
        fail "$what: $packets ESP packets decrypted, $problems problem(s) ($pcap.tshark.log)"
    for flow in "$@"; do
        grep -q "x esp $flow\$" <<<"$report" && ok "$what: decrypted $flow" || fail "$what: no decrypted packet of $flow"
    done
}

# Pings both ways between the LANs under a core capture; decrypts it. Two DF-clear echoes too big
# for the tunnel (1478 octets on a 1500-octet WAN) leave gm-a fragmented before encryption
# (pre-fragmentation across the VRFs: gdoid's XFRM interface on wan0, in vrf-wan).
traffic_check() {
    local what=$1 pcap=$GLAB_LOGS/$2.pcap before after big fragments
    before=$(glab_datapath_counters gm-a out_pre_fragmented)
    LAB_SNAPLEN=2000 lab_capture core to-gma "$pcap" "net 10.0.0.0/8"
    lab_ping host-a1 "$LAB_HOST_B1" 4 >/dev/null && ok "$what: host-a1 -> host-b1 answered" ||
        fail "$what: host-a1 -> host-b1 unanswered"
    lab_ping host-b2 "$LAB_HOST_A2" 4 >/dev/null && ok "$what: host-b2 -> host-a2 answered" ||
        fail "$what: host-b2 -> host-a2 unanswered"
    big=$(lab_exec host-a1 ping -n -c 2 -i 0.3 -W 3 -M dont -s 1450 "$LAB_HOST_B1" 2>&1 | grep -o '[0-9]* received' || true)
    lab_capture_stop
    after=$(glab_datapath_counters gm-a out_pre_fragmented)
    fragments=$(tcpdump -r "$pcap" -n "src host $LAB_HOST_A1 and (ip[6:2] & 0x3fff != 0)" 2>/dev/null | wc -l)
    [ "$big" = "2 received" ] && [ $((after - before)) = 4 ] && [ "$fragments" = 0 ] &&
        ok "$what: 2 DF-clear 1478-octet echoes host-a1 -> host-b1 answered, fragmented before encryption (4 ESP packets of gdoi-pf0 restored, no outer fragment from host-a1)" ||
        fail "$what: oversize DF-clear echoes '$big', out_pre_fragmented grew by $((after - before)) (want 4), $fragments outer fragments from host-a1"
    check_decrypted "$pcap" "$what" "icmp $LAB_HOST_A1 > $LAB_HOST_B1" "icmp $LAB_HOST_B1 > $LAB_HOST_A1" \
        "icmp $LAB_HOST_B2 > $LAB_HOST_A2" "icmp $LAB_HOST_A2 > $LAB_HOST_B2"
}

lab_up
# ---------------------------------------------------------------- CPE: the WAN in vrf-wan
lab_vrf gm-a vrf-wan 10 wan0
ip -n gm-a -batch - <<EOF
route add default via $LAB_CORE_A dev wan0 table 10
route add $LAB_LAN_B via $LAB_CORE_A dev wan0 onlink
route add $gma_lan_net dev lan0 table 10
EOF
if ! lab_exec gm-a ip route get "$LAB_KS1" >/dev/null 2>&1 &&
    lab_exec gm-a ip route get vrf vrf-wan "$LAB_KS1" >/dev/null 2>&1; then
    ok "gm-a reaches ks1 only in vrf-wan (no route in the main table)"
else
    fail "gm-a's routes to ks1: main '$(lab_exec gm-a ip route get "$LAB_KS1" 2>&1)'"
fi

glab_ks_start ks1
glab_member_config gm-b
glab_member_start gm-b
glab_member_config gm-a # no routing-instance
glab_member_start gm-a
want="cannot bind the GDOI socket to $LAB_GMA_WAN:848: Cannot assign requested address ($LAB_GMA_WAN is on wan0, which is in routing instance vrf-wan, not in the main routing table: set routing-instance = \"vrf-wan\" in the group)"
said="" state=""
for ((i = 0; i < 60; i++)); do
    status=$(glab_status gm-a) || status='{}'
    state=$(glab_json "j['result']['groups'][0]['state']" <<<"$status" 2>/dev/null) || state=""
    said=$(glab_json "(j['result']['groups'][0].get('last_error') or {}).get('message', '')" <<<"$status" 2>/dev/null) || said=""
    [ -n "$said" ] && break
    sleep 0.5
done
[ "$state" = failed ] && [ "$said" = "$want" ] &&
    ok "without routing-instance: state failed, status says: $said" ||
    fail "without routing-instance: state '$state', last error '$said' (want '$want')"
grep -qF "$want" "$GLAB_LOGS/gm-a.gdoid.log" && ok "without routing-instance: the log says the same sentence" ||
    fail "without routing-instance: the sentence is not in $GLAB_LOGS/gm-a.gdoid.log"
glab_member_stop gm-a

GLAB_ROUTING_INSTANCE_GMA=vrf-wan
glab_member_config gm-a
glab_member_start gm-a
glab_wait_registered gm-a && glab_wait_registered gm-b ||
    { echo "FAIL: the members did not register (logs in $GLAB_LOGS)"; exit 1; }
server=$(group_json gm-a "j['result']['groups'][0]['server_in_use']") || server=""
[[ $server == "$LAB_KS1"* ]] && ok "routing-instance = \"vrf-wan\": gm-a registered with ks1 through vrf-wan (in use: $server)" ||
    fail "gm-a registered, but its server in use is '$server'"
lab_exec gm-a ip -4 addr show dev vrf-wan | grep -q " $GLAB_ANCHOR_INBOUND/32 " &&
    ok "the inbound anchor $GLAB_ANCHOR_INBOUND is on vrf-wan (local in table 10)" ||
    fail "the inbound anchor is not on vrf-wan: $(lab_exec gm-a ip -4 -br addr)"
traffic_check "CPE (WAN in vrf-wan)" cpe

# A multicast-only push: core routes ks1's KEK group to the members.
grep -q "joined multicast group $kek_group on wan0" "$GLAB_LOGS/gm-a.gdoid.log" &&
    ok "gm-a joined $kek_group on wan0 (its socket bound to vrf-wan)" ||
    fail "gm-a did not join the KEK's multicast group on wan0"
lab_multicast_routing core br-ks "to-gma to-gmb" "$kek_group" "$LAB_KS1"
lab_capture core to-gma "$GLAB_LOGS/multicast.pcap" "udp and dst host $kek_group"
reply=$(glab_ks_push ks1 '"transport":"multicast"') || { echo "FAIL: multicast push-now refused: $reply"; exit 1; }
push_seq=$(glab_json "j['sequence']" <<<"$reply")
destinations=$(glab_json "' '.join(j['destinations'])" <<<"$reply")
mapfile -t new_spis < <(glab_json "'\n'.join(j['new_tek_spis'])" <<<"$reply")
[ "$destinations" = "$kek_group" ] && ok "ks1 pushed sequence $push_seq to $kek_group only" ||
    fail "the push went to '$destinations', not only to $kek_group"
seq=""
for ((i = 0; i < 60; i++)); do
    seq=$(group_json gm-a "j['result']['groups'][0]['sequence']") || seq=""
    [ "$seq" = "$push_seq" ] && break
    sleep 0.5
done
lab_capture_stop
arrived=$(tcpdump -r "$GLAB_LOGS/multicast.pcap" -n 2>/dev/null | grep -c "$LAB_KS1.848 > $kek_group.848" || true)
teks=$(group_json gm-a "' '.join(str(t['spi']) for t in j['result']['groups'][0]['teks'])")
missing=""
for spi in "${new_spis[@]}"; do
    [[ " $teks " == *" $spi "* ]] || missing+=" $spi"
done
[ "$seq" = "$push_seq" ] && [ -z "$missing" ] && ((arrived >= 1)) &&
    ok "gm-a took the multicast push inside vrf-wan: sequence $seq, new TEKs ${new_spis[*]} ($arrived datagram(s) to $kek_group on the core)" ||
    fail "multicast push: gm-a sequence '$seq' (want $push_seq), TEKs '$teks' missing '$missing', $arrived datagram(s) on the core"

# A unicast-only push to the members: gm-a receives it on its socket in vrf-wan.
reply=$(glab_ks_push ks1 '"transport":"unicast"') || { echo "FAIL: unicast push-now refused: $reply"; exit 1; }
push_seq=$(glab_json "j['sequence']" <<<"$reply")
destinations=$(glab_json "' '.join(sorted(j['destinations']))" <<<"$reply")
mapfile -t new_spis < <(glab_json "'\n'.join(j['new_tek_spis'])" <<<"$reply")
for ((i = 0; i < 60; i++)); do
    seq=$(group_json gm-a "j['result']['groups'][0]['sequence']") || seq=""
    [ "$seq" = "$push_seq" ] && break
    sleep 0.5
done
teks=$(group_json gm-a "' '.join(str(t['spi']) for t in j['result']['groups'][0]['teks'])")
missing=""
for spi in "${new_spis[@]}"; do
    [[ " $teks " == *" $spi "* ]] || missing+=" $spi"
done
[ "$destinations" = "$LAB_GMA_WAN $LAB_GMB_WAN" ] && [ "$seq" = "$push_seq" ] && [ -z "$missing" ] &&
    ok "gm-a took the unicast push (to $destinations only) inside vrf-wan: sequence $seq, new TEKs ${new_spis[*]}" ||
    fail "unicast push to '$destinations': gm-a sequence '$seq' (want $push_seq), TEKs '$teks' missing '$missing'"

# ---------------------------------------------------------------- PE: the LAN in vrf-cust
glab_member_stop gm-a
lab_vrf gm-a vrf-cust 20 lan0
ip -n gm-a -batch - <<EOF
route add $gma_lan_net dev lan0 table 10
route add $LAB_LAN_B via $LAB_CORE_A dev wan0 onlink table 20
EOF
glab_member_start gm-a
glab_wait_registered gm-a || { echo "FAIL: gm-a did not register with lan0 in vrf-cust"; exit 1; }
ok "PE: gm-a registered again with lan0 in vrf-cust and wan0 in vrf-wan"
traffic_check "PE (LAN in vrf-cust, WAN in vrf-wan)" pe
# A second customer VRF on gm-a whose interface is not in lan-interfaces, with prefixes the
# group does not protect: its traffic to the remote LAN is routed as it was, in clear text.
lab_add_host host-c1 gm-a lan9 172.16.9.10/24 172.16.9.1
lab_vrf gm-a vrf-other 30 lan9
ip -n gm-a -batch - <<EOF
addr add 172.16.9.1/24 dev lan9
route add $LAB_LAN_B via $LAB_CORE_A dev wan0 onlink table 30
route add 172.16.9.0/24 dev lan9 table 10
EOF
lab_exec core ip route add 172.16.9.0/24 via "$LAB_GMA_WAN"
lab_capture core to-gma "$GLAB_LOGS/other-vrf.pcap" "host 172.16.9.10"
lab_ping host-c1 "$LAB_HOST_B1" 3 >/dev/null && ok "vrf-other: host-c1 -> host-b1 answered" ||
    fail "vrf-other: host-c1 -> host-b1 unanswered"
lab_capture_stop
clear=$(tcpdump -r "$GLAB_LOGS/other-vrf.pcap" -n icmp 2>/dev/null | wc -l)
esp=$(tcpdump -r "$GLAB_LOGS/other-vrf.pcap" -n esp 2>/dev/null | wc -l)
((clear >= 6)) && [ "$esp" = 0 ] &&
    ok "vrf-other (lan9, not in lan-interfaces): $clear ICMP packets crossed in clear text, none as ESP" ||
    fail "vrf-other: $clear clear ICMP packets, $esp ESP packets on the core"

counters=$(group_json gm-a "j['result']['datapath']['counters']")
read -r restored unrestored < <(glab_json "j['out_restored'], j['out_unrestored_dropped']" <<<"$counters" | tr -d '()[],')
((restored >= 8)) && [ "$unrestored" = 0 ] &&
    ok "PE: gm-a's datapath restored $restored packets to their own addresses, 0 dropped unrestored" ||
    fail "PE: gm-a datapath counters: $counters"

xfrm_stat_check gm-a gm-b
glab_member_stop gm-a
left=$(lab_exec gm-a ip -4 addr show dev vrf-wan | grep -c "$GLAB_ANCHOR_INBOUND" || true)
[ "$left" = 0 ] && ok "after stop the anchor is gone from vrf-wan" || fail "after stop the anchor is still on vrf-wan"
if ((failures)); then
    echo "$failures check(s) failed; captures and logs in $GLAB_LOGS"
    exit 1
fi
echo "VRFs: registration, unicast and multicast pushes in vrf-wan; ESP with the hosts' addresses from the main table and from vrf-cust"
