#!/usr/bin/env bash
# An IPv6 group end to end (Cisco `crypto gdoi group ipv6`): the lab gets IPv6 on every link
# (topology.sh lab_add_ipv6), gdoi-test-ks listens on 2001:db8:ff03::1, both members register
# over IPv6 with IPv6 `local-address`, `lan-prefixes` and gdoid's IPv6 anchors, and the TEKs
# protect 2001:db8:1::/64 <-> 2001:db8:2::/64 (gdoi-lab.sh GLAB_FAMILY=6). Asserts:
#   - ICMPv6 (traffic class EF) host-a1 <-> host-b1 started from both sides; TCP host-a2 ->
#     host-b1 and host-b2 -> host-a2 (AF11, data both ways); UDP host-b2 -> host-a1 and
#     host-a1 -> host-b2 (AF21, echoed): every exchange completes;
#   - the core capture holds only ESP for the LANs' traffic; decrypted with the keys read back
#     from the kernel (tshark, ICVs checked), every ESP packet has outer source/destination =
#     inner ones, next header 41 (IPv6 in IPv6, RFC 2473) and the inner DSCP in the outer
#     traffic class; each flow is seen both ways; the SYN and SYN-ACK of both connections
#     carry MSS 1300 (tcp-mss = 1300 on both members: the IPv6 TCP option rewritten by the
#     LAN ingress program);
#   - a GROUPKEY-PUSH rekey while host-a1 pings host-b1 every 10 ms: no echo lost, the
#     outbound SPI on the wire changes to the pushed TEK;
#   - datapath counters: restored > 0, unrestored 0, unflagged 0; /proc/net/xfrm_stat clean;
#   - a UDP datagram too big for the tunnel: gm-a sends one ICMPv6 Packet Too Big, host-a2
#     lowers its path MTU, its next copy arrives in fragments; xfrm_stat still clean;
#   - an IPv4 group added beside it by SIGHUP (ks2): both register, both inbound anchors are
#     on lo, IPv4 and IPv6 echoes cross at once as ESP only with the hosts' addresses;
#   - gdoid stopped (exit 0): no state, policy, tc filter, BPF program or anchor address left.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/lib/topology.sh"
. "$here/lib/static-esp.sh" # xfrm_stat_check
. "$here/lib/gdoi-lab.sh"
GLAB_FAMILY=6
GLAB_DATAPATH_KEYS=yes
# IPv6 routers never fragment (RFC 8200 5): without the clamp, full-size TCP segments that no
# longer fit after the ESP overhead are answered with ICMPv6 Packet Too Big by the member and
# the host retries smaller (in this lab some of those drops were counted as
# XfrmOutStateModeError); with it, no segment is too big.
GLAB_MEMBER_EXTRA='tcp-mss = 1300'
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
ok() { echo "ok: $*"; }
command -v tshark >/dev/null || { echo "FAIL: tshark is needed"; exit 1; }
started=$SECONDS

lab_up
lab_add_ipv6 || { echo "FAIL: the lab has no IPv6 path between the LANs"; exit 1; }
ok "IPv6 lab up: host-a1 reaches host-b1 and ks1 both members over IPv6 in clear text"
glab_up || { echo "FAIL: the members did not register over IPv6 (logs in $GLAB_LOGS)"; exit 1; }
ok "gm-a ($LAB6_GMA_WAN) and gm-b ($LAB6_GMB_WAN) registered with ks1 ($LAB6_KS1)"
for node in gm-a gm-b; do
    { lab_exec "$node" ip xfrm state; lab_exec "$node" ip xfrm policy; } >"$GLAB_LOGS/$node.xfrm.txt" 2>&1 || true
done
AB=$GLAB_TEK_SPI_AB BA=$GLAB_TEK_SPI_BA
declare -A out_spi=([gm-a]=$AB [gm-b]=$BA) in_spi=([gm-a]=$BA [gm-b]=$AB)
for node in gm-a gm-b; do
    lab_exec "$node" ip xfrm state list dst "$GLAB_ANCHOR_REMOTE" proto esp spi "${out_spi[$node]}" | grep -q . &&
        ok "$node: outbound state TEK ${out_spi[$node]} to the remote anchor $GLAB_ANCHOR_REMOTE" ||
        fail "$node: no outbound state TEK ${out_spi[$node]} to $GLAB_ANCHOR_REMOTE ($GLAB_LOGS/$node.xfrm.txt)"
    lab_exec "$node" ip xfrm state list dst "$GLAB_ANCHOR_INBOUND" proto esp spi "${in_spi[$node]}" | grep -q . &&
        ok "$node: inbound state TEK ${in_spi[$node]} to the inbound anchor $GLAB_ANCHOR_INBOUND" ||
        fail "$node: no inbound state TEK ${in_spi[$node]} to $GLAB_ANCHOR_INBOUND ($GLAB_LOGS/$node.xfrm.txt)"
done

# ---------------------------------------------------------------- flows at the same time
# flows.py ROLE PORT TCLASS PEER|COUNT [COUNT]: a UDP echo server and its client, IPv6 (the TCP
# sink and sender are gdoi-lab.sh's, which take the group's family).
cat >"$GLAB_LOGS/flows.py" <<'PY'
import socket, sys
role, port, tclass = sys.argv[1], int(sys.argv[2]), int(sys.argv[3], 0)
s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_TCLASS, tclass)
if role == "udp-echo":
    s.settimeout(30)
    s.bind(("::", port))
    for _ in range(int(sys.argv[4])):
        data, peer = s.recvfrom(65535)
        s.sendto(data, peer)
elif role == "udp-send":
    s.settimeout(5)
    got = 0
    for _ in range(int(sys.argv[5])):
        s.sendto(b"u" * 200, (sys.argv[4], port))
        try:
            s.recvfrom(65535); got += 1
        except socket.timeout:
            pass
    print(got)
PY
flows=$GLAB_LOGS/flows.py
# whole packets (2000 > 1514), not -s 0 (see lab_capture_complete)
LAB_SNAPLEN=2000 lab_capture core to-gma "$GLAB_LOGS/flows.pcap" "net $LAB6_LAN_A or net $LAB6_LAN_B"
glab_tcp_sink host-b1 0x28
glab_tcp_sink host-a2 0x28
lab_bg host-a1 python3 "$flows" udp-echo 5002 0x48 3 >"$GLAB_LOGS/udp-echo-a1.log" 2>&1
lab_bg host-b2 python3 "$flows" udp-echo 5002 0x48 3 >"$GLAB_LOGS/udp-echo-b2.log" 2>&1
sleep 2 # the listeners start slowly under emulation
lab_bg host-a1 ping -n -c 6 -i 0.3 -Q 0xb8 "$LAB6_HOST_B1" >"$GLAB_LOGS/ping-a1b1.txt" 2>&1
ping_a=$LAB_LAST_PID
lab_bg host-b1 ping -n -c 6 -i 0.3 -Q 0xb8 "$LAB6_HOST_A1" >"$GLAB_LOGS/ping-b1a1.txt" 2>&1
ping_b=$LAB_LAST_PID
glab_tcp_send host-a2 "$LAB6_HOST_B1" "" 0x28 >"$GLAB_LOGS/tcp-a2b1.txt" &
tcp_a=$!
glab_tcp_send host-b2 "$LAB6_HOST_A2" "" 0x28 >"$GLAB_LOGS/tcp-b2a2.txt" &
tcp_b=$!
lab_bg host-b2 python3 "$flows" udp-send 5002 0x48 "$LAB6_HOST_A1" 3 >"$GLAB_LOGS/udp-b2a1.txt" 2>&1
udp_b=$LAB_LAST_PID
lab_bg host-a1 python3 "$flows" udp-send 5002 0x48 "$LAB6_HOST_B2" 3 >"$GLAB_LOGS/udp-a1b2.txt" 2>&1
udp_a=$LAB_LAST_PID
for pid in "$ping_a" "$ping_b" "$tcp_a" "$tcp_b" "$udp_a" "$udp_b"; do wait "$pid" || true; done
lab_capture_stop
for f in ping-a1b1 ping-b1a1; do
    grep -q " 6 received" "$GLAB_LOGS/$f.txt" && ok "ICMPv6 (EF) $f: 6/6 echoes answered" ||
        fail "ICMPv6 $f: $(grep 'packets transmitted' "$GLAB_LOGS/$f.txt" || tail -n 2 "$GLAB_LOGS/$f.txt")"
done
for f in tcp-a2b1 tcp-b2a2; do
    [ "$(cat "$GLAB_LOGS/$f.txt")" = 20000 ] && ok "TCP $f: 20000 octets delivered and acknowledged" ||
        fail "TCP $f: reply '$(tr '\n' ' ' <"$GLAB_LOGS/$f.txt")'"
done
for f in udp-b2a1 udp-a1b2; do
    [ "$(cat "$GLAB_LOGS/$f.txt")" = 3 ] && ok "UDP $f: 3/3 datagrams echoed" ||
        fail "UDP $f: '$(tr '\n' ' ' <"$GLAB_LOGS/$f.txt")' of 3 echoed"
done

# every claim below is about all the packets: a capture that lost some proves nothing
capture_complete() { local said; said=$(lab_capture_complete "$1") && ok "$said" || fail "$said"; }
capture_complete "$GLAB_LOGS/flows.pcap"
total=$(tcpdump -r "$GLAB_LOGS/flows.pcap" -n 2>/dev/null | wc -l)
clear=$(tcpdump -r "$GLAB_LOGS/flows.pcap" -n "not esp" 2>/dev/null | wc -l)
[ "$clear" = 0 ] && ((total > 0)) && ok "all $total packets between the LANs on the core are ESP" ||
    fail "$clear of $total packets between the LANs on the core are not ESP"

sa_opts=()
while read -r record; do sa_opts+=(-o "$record"); done < <(glab_esp_sa_records gm-a)
((${#sa_opts[@]} == 4)) || fail "could not read the two TEKs' keys from gm-a's states (${#sa_opts[@]} options)"
tshark -r "$GLAB_LOGS/flows.pcap" -n -o esp.enable_encryption_decode:TRUE \
    -o esp.enable_authentication_check:TRUE "${sa_opts[@]}" -Y esp -T fields -E occurrence=a -E aggregator='|' \
    -e frame.number -e ipv6.src -e ipv6.dst -e ipv6.tclass.dscp -e ipv6.nxt -e esp.protocol \
    -e esp.icv_good -e esp.spi -e tcp.options.mss_val >"$GLAB_LOGS/flows.decrypted.tsv" 2>"$GLAB_LOGS/tshark.log" || true
report=$(python3 - "$GLAB_LOGS/flows.decrypted.tsv" <<'PY'
import sys
flows, problems, packets = {}, [], 0
for line in open(sys.argv[1]):
    f = line.rstrip("\n").split("\t")
    if len(f) < 8:
        continue
    frame, src, dst, dscp, nxt, nh, icv, spi = f[:8]
    mss = f[8] if len(f) > 8 else ""
    src, dst, dscp, nxt = (x.split("|") for x in (src, dst, dscp, nxt))
    packets += 1
    what = f"frame {frame} (spi {spi})"
    if len(src) < 2 or not nh or int(nh, 0) != 41:
        problems.append(f"{what}: not decrypted to IPv6 in IPv6 (next header {nh!r}, {len(src)} IPv6 headers)")
        continue
    if icv not in ("1", "True", "true"):
        problems.append(f"{what}: ICV not good ({icv!r})")
    if (src[0], dst[0]) != (src[1], dst[1]):
        problems.append(f"{what}: outer {src[0]} > {dst[0]} but inner {src[1]} > {dst[1]}")
    if dscp[0] != dscp[1]:
        problems.append(f"{what}: outer DSCP {dscp[0]}, inner {dscp[1]}")
    name = {"58": "icmpv6", "6": "tcp", "17": "udp"}.get(nxt[-1], nxt[-1])
    key = f"{name} {src[1]} > {dst[1]} dscp {dscp[1]}"
    flows[key] = flows.get(key, 0) + 1
    if mss:
        key = f"syn {src[1]} > {dst[1]} mss {mss}"
        flows[key] = flows.get(key, 0) + 1
for k in sorted(flows):
    print(f"  {flows[k]:4d} x {k}")
for p in problems[:10]:
    print("PROBLEM", p)
print(f"SUMMARY {packets} {len(problems)}")
PY
)
echo "$report" | grep -v '^SUMMARY'
read -r _ packets problems <<<"$(grep '^SUMMARY' <<<"$report")"
[ "$packets" = "$total" ] && ((packets > 40)) && [ "$problems" = 0 ] &&
    ok "$packets/$total ESP packets decrypted, ICV good: outer addresses = inner, next header 41, DSCP copied" ||
    fail "$packets of $total ESP packets decrypted, $problems problem(s) (tshark: $GLAB_LOGS/tshark.log)"
for flow in "icmpv6 $LAB6_HOST_A1 > $LAB6_HOST_B1 dscp 46" "icmpv6 $LAB6_HOST_B1 > $LAB6_HOST_A1 dscp 46" \
    "tcp $LAB6_HOST_A2 > $LAB6_HOST_B1 dscp 10" "tcp $LAB6_HOST_B1 > $LAB6_HOST_A2 dscp 10" \
    "tcp $LAB6_HOST_B2 > $LAB6_HOST_A2 dscp 10" "tcp $LAB6_HOST_A2 > $LAB6_HOST_B2 dscp 10" \
    "udp $LAB6_HOST_B2 > $LAB6_HOST_A1 dscp 18" "udp $LAB6_HOST_A1 > $LAB6_HOST_B2 dscp 18" \
    "syn $LAB6_HOST_A2 > $LAB6_HOST_B1 mss 1300" "syn $LAB6_HOST_B1 > $LAB6_HOST_A2 mss 1300" \
    "syn $LAB6_HOST_B2 > $LAB6_HOST_A2 mss 1300" "syn $LAB6_HOST_A2 > $LAB6_HOST_B2 mss 1300"; do
    grep -q "x $flow\$" <<<"$report" && ok "decrypted: $flow" || fail "no decrypted packet of: $flow"
done

# ---------------------------------------------------------------- a rekey under traffic
lab_capture core to-gma "$GLAB_LOGS/rekey.pcap" "esp and src host $LAB6_HOST_A1 and dst host $LAB6_HOST_B1"
# stopped with SIGALRM once the new TEK is in use: ping prints its totals then, and no echo is
# in flight the way one is when -w's deadline hits
# (-D -O: each echo's time, and the ones never answered, for glab_ping_lost)
lab_bg host-a1 ping -n -D -O -i 0.01 -w 600 "$LAB6_HOST_B1" >"$GLAB_LOGS/ping-rekey.txt" 2>&1
ping_pid=$LAB_LAST_PID
ping_started=$SECONDS
sleep 2
pushed=""
reply=$(glab_ks_push) && pushed=$(glab_json "' '.join(j['new_tek_spis'])" <<<"$reply") ||
    fail "push-now failed: $reply"
echo "pushed TEKs: $pushed (at $(date +%T.%3N))"
sleep $((GLAB_KS_ATD + 5)) # the senders switch to the new TEK at the ATD
kill -ALRM "$ping_pid" 2>/dev/null || true
wait "$ping_pid" || true
ping_seconds=$((SECONDS - ping_started))
lab_capture_stop
capture_complete "$GLAB_LOGS/rekey.pcap"
stats=$(grep 'packets transmitted' "$GLAB_LOGS/ping-rekey.txt" || true)
read -r sent _ _ received _ <<<"$stats"
[ -n "$received" ] && [ "$received" = "$sent" ] && ((sent > 100)) &&
    ok "rekey under traffic: $received/$sent echoes answered over $ping_seconds s, zero loss" ||
    fail "rekey under traffic lost echoes: $stats; never answered: $(glab_ping_lost "$GLAB_LOGS/ping-rekey.txt" | tr '\n' ' ')(gdoid's kernel updates and their times: gm-*.gdoid.log)"
spis=$(glab_spi_sequence "$GLAB_LOGS/rekey.pcap" "$LAB6_HOST_A1" "$LAB6_HOST_B1")
read -r -a spi_list <<<"$spis"
((${#spi_list[@]} == 2)) && [ "${spi_list[0]}" = "$AB" ] && [[ " $pushed " == *" ${spi_list[1]} "* ]] &&
    ok "outbound SPI on the wire host-a1 -> host-b1: $spis(switched once, to a pushed TEK)" ||
    fail "outbound SPI sequence host-a1 -> host-b1: '$spis' (want $AB, then one of the pushed TEKs: $pushed)"

# ---------------------------------------------------------------- counters
for node in gm-a gm-b; do
    counters=$(glab_status "$node" | glab_json "j['result']['datapath']['counters']")
    read -r restored unrestored unflagged clamped < <(glab_json "j['out_restored'], j['out_unrestored_dropped'], j['out_unflagged_dropped'], j['lan_mss_clamped']" <<<"$counters" | tr -d '()[],')
    # each member's hosts send one SYN and one SYN-ACK toward the other LAN (more if one is
    # retransmitted on a slow machine)
    ((restored > 100)) && [ "$unrestored" = 0 ] && [ "$unflagged" = 0 ] && ((clamped >= 2)) &&
        ok "$node datapath: $restored IPv6 packets restored to their own addresses, 0 unrestored, 0 unflagged, $clamped SYNs clamped" ||
        fail "$node datapath counters: $counters"
done
xfrm_stat_check gm-a gm-b

# ---------------------------------------------------------------- IPv6 path MTU
# A 1450-octet datagram fits host-a2's link (1498 octets) but not the tunnel (the ESP overhead
# leaves about 1420): gm-a drops it with ICMPv6 Packet Too Big (routers never fragment, RFC 8200
# section 5), host-a2 learns the smaller path MTU and fragments the second copy itself; each
# fragment crosses as an ESP packet of its own and host-b1 reassembles the datagram.
too_big_count() { lab_exec gm-a awk '$1 == "Icmp6OutPktTooBigs" { print $2 }' /proc/net/snmp6; }
too_big_before=$(too_big_count)
got=$(lab_exec host-b1 python3 -c '
import socket
s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
s.bind(("::", 5003)); s.settimeout(20)
data, _ = s.recvfrom(65535)
print(len(data))' 2>&1 &
sleep 2
lab_exec host-a2 python3 -c '
import socket, sys, time
s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
for _ in range(2):
    s.sendto(b"p" * 1450, (sys.argv[1], 5003))
    time.sleep(1)' "$LAB6_HOST_B1"
wait)
pmtu=$(lab_exec host-a2 ip -6 route get "$LAB6_HOST_B1" | grep -o 'mtu [0-9]*' | awk '{ print $2 }' || true)
too_big=$(($(too_big_count) - too_big_before))
[ "$got" = 1450 ] && [ -n "$pmtu" ] && ((pmtu >= 1280 && pmtu < 1500)) && [ "$too_big" = 1 ] &&
    ok "path MTU: gm-a answered one 1450-octet datagram with Packet Too Big (path MTU $pmtu); the host fragmented the next copy and it arrived" ||
    fail "path MTU: received '$got' (want 1450), host-a2 path MTU to host-b1 '$pmtu', gm-a sent $too_big Packet Too Big (want 1)"
xfrm_stat_check gm-a

# ---------------------------------------------------------------- an IPv4 group beside it
# Cisco runs IPv4 and IPv6 as separate groups; on one member both share the WAN datapath, each
# with the anchors of its family. A second key server (ks2, IPv4) serves group 4322; SIGHUP
# adds it to both members.
v4_group=4322
GLAB_FAMILY=4 GLAB_GROUP_ID=$v4_group GLAB_TEK_SPI_AB=0x30000001 GLAB_TEK_SPI_BA=0x30000002 glab_ks_start ks2
for node in gm-a gm-b; do
    if [ "$node" = gm-a ]; then wan=$LAB_GMA_WAN lan=$LAB_LAN_A; else wan=$LAB_GMB_WAN lan=$LAB_LAN_B; fi
    cat >>"${GLAB_CONFIG[$node]}" <<TOML

[[group]]
name = "lab-v4"
id = $v4_group
servers = ["$LAB_KS2"]
local-address = "$wan"
pre-shared-key = { file = "$GLAB_RUN/$node/psk" }
ike = { encryption = "aes-256", hash = "sha256", dh-group = 14, lifetime = "8h" }
wan-interface = "wan0"
lan-interfaces = ["lan0"]
lan-prefixes = ["$lan"]
retry = $GLAB_RETRY
tcp-mss = 1300
TOML
    cp "${GLAB_CONFIG[$node]}" "$GLAB_LOGS/$node.gdoid.conf"
    kill -HUP "${GLAB_GDOID_PID[$node]}"
done
both_registered() { # NODE: both groups registered
    glab_status "$1" 2>/dev/null | glab_json_check '
states = sorted((g["id"], g["state"]) for g in j["result"]["groups"])
sys.exit(0 if states == [(4321, "registered"), (4322, "registered")] else 1)' 2>/dev/null
}
for node in gm-a gm-b; do
    deadline=$((SECONDS + 60))
    until both_registered "$node" || ((SECONDS >= deadline)); do sleep 0.5; done
    both_registered "$node" && ok "$node: IPv6 group 4321 and IPv4 group $v4_group both registered" ||
        fail "$node: the groups are not both registered: $(glab_ctl "$node" status 2>&1 | tr '\n' ' ' | cut -c1-300)"
    lo=$(lab_exec "$node" ip addr show dev lo)
    [[ $lo == *" 100.127.255.1/32 "* && $lo == *" fd00:6764:6f69::1/128 "* ]] &&
        ok "$node: both inbound anchors on lo (100.127.255.1, fd00:6764:6f69::1)" ||
        fail "$node: lo lacks an inbound anchor: $(grep -E 'inet6? ' <<<"$lo" | tr -s ' ' | tr '\n' ' ')"
done
LAB_SNAPLEN=2000 lab_capture core to-gma "$GLAB_LOGS/both.pcap" "net $LAB_LAN_A or net $LAB_LAN_B or net $LAB6_LAN_A or net $LAB6_LAN_B"
out4=$(lab_ping host-a1 "$LAB_HOST_B1" 4 2>&1 || true)
out6=$(lab_ping host-a1 "$LAB6_HOST_B1" 4 2>&1 || true)
lab_capture_stop
capture_complete "$GLAB_LOGS/both.pcap"
grep -q " 4 received" <<<"$out4" && grep -q " 4 received" <<<"$out6" &&
    ok "host-a1 -> host-b1 over IPv4 and over IPv6 at once: 4/4 echoes each" ||
    fail "echoes with both groups: IPv4 '$(grep transmitted <<<"$out4")', IPv6 '$(grep transmitted <<<"$out6")'"
both_clear=$(tcpdump -r "$GLAB_LOGS/both.pcap" -n "not esp" 2>/dev/null | wc -l)
esp4=$(tcpdump -r "$GLAB_LOGS/both.pcap" -n "esp and src host $LAB_HOST_A1 and dst host $LAB_HOST_B1" 2>/dev/null | wc -l)
esp6=$(tcpdump -r "$GLAB_LOGS/both.pcap" -n "esp and src host $LAB6_HOST_A1 and dst host $LAB6_HOST_B1" 2>/dev/null | wc -l)
[ "$both_clear" = 0 ] && ((esp4 >= 4 && esp6 >= 4)) &&
    ok "both groups on the core: ESP only, $esp4 IPv4 and $esp6 IPv6 packets host-a1 > host-b1 with the hosts' addresses" ||
    fail "both groups on the core: $both_clear not ESP, $esp4 IPv4 and $esp6 IPv6 ESP packets host-a1 > host-b1 (want >= 4 each)"
unrestored=$(glab_status gm-a | glab_json "j['result']['datapath']['counters']['out_unrestored_dropped']")
[ "$unrestored" = 0 ] && ok "gm-a datapath with both families: 0 unrestored" || fail "gm-a datapath: $unrestored unrestored"

# ---------------------------------------------------------------- stop: nothing left behind
for node in gm-a gm-b; do
    glab_member_stop "$node"
    [ "$GLAB_EXIT_STATUS" = 0 ] && ok "$node: gdoid exited 0 on SIGTERM" || fail "$node: gdoid exited $GLAB_EXIT_STATUS"
    left=$( {
        lab_exec "$node" ip xfrm state
        lab_exec "$node" ip xfrm policy
        lab_exec "$node" tc filter show dev wan0 ingress
        lab_exec "$node" tc filter show dev wan0 egress
        lab_exec "$node" tc filter show dev lan0 ingress
        lab_exec "$node" ip addr show dev lo | grep -F -e "$GLAB_ANCHOR_INBOUND" -e 100.127.255.1
    } 2>/dev/null || true)
    [ -z "$left" ] && ok "$node: no XFRM state or policy, tc filter or anchor address left after gdoid stopped" ||
        fail "$node: left behind after gdoid stopped: $(tr '\n' ' ' <<<"$left" | cut -c1-400)"
done
programs=$(bpftool prog show 2>/dev/null | grep -c 'name gdoid_' || true)
[ "$programs" = 0 ] && ok "no gdoid BPF program loaded after both members stopped" ||
    fail "$programs gdoid BPF programs still loaded after both members stopped"

echo "run time: $((SECONDS - started)) s"
if ((failures)); then
    echo "$failures check(s) failed; captures and logs in $GLAB_LOGS"
    exit 1
fi
echo "IPv6 group: $packets ESP packets decrypted, every one IPv6 in IPv6 with the hosts' addresses and DSCP"
