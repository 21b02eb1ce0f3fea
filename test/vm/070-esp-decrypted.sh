#!/usr/bin/env bash
# Header preservation proven by decryption: the WAN capture of several simultaneous flows is
# decrypted with the group's keys (tshark's ESP decryption, ICVs checked), and every packet is
# compared with what it carries. gm-a keeps the default df-bit "clear", gm-b is configured
# df-bit "copy". Flows, at the same time:
#   ICMP host-a1 <-> host-b1 with DSCP EF (46); TCP host-a2 -> host-b1:5001 both ways with
#   DSCP AF11 (10), DF set by TCP; UDP host-b2 <-> host-a1 with DSCP AF21 (18); one ICMP echo
#   host-a1 -> host-b2 of 1488 octets with DF clear, fragmented after encryption by gm-a.
# Asserts for every ESP packet on the core: decrypted with a good ICV; the SYN and SYN-ACK
# carry MSS 1300 (both members clamp: tcp-mss = 1300); outer source and
# destination equal the inner ones; next header 4 (IP in IP); outer DSCP equals inner DSCP;
# outer DF is 0 when gm-a sent it (clear) and equals the inner DF when gm-b sent it (copy);
# each flow is present in both directions; nothing crossed in clear text.
# Both members clamp TCP MSS to 1300 (tcp-mss): the decrypted SYN and SYN-ACK carry MSS 1300.
# Then the core link toward gm-b gets a smaller MTU (1400): a 1408-octet UDP datagram host-a2 ->
# host-b1 with DF set still arrives (gm-a cleared DF on the outer header, the core fragments the
# ESP packet, gm-b reassembles and decrypts it).
# Phase 1 runs with certificates (GLAB_AUTH=certificate, RSA signatures): both members and the
# key server log whom they authenticated, so certificate registration is shown with traffic.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/lib/topology.sh"
. "$here/lib/static-esp.sh" # xfrm_stat_check
. "$here/lib/gdoi-lab.sh"
GLAB_DATAPATH_KEYS=yes
GLAB_MEMBER_EXTRA='tcp-mss = 1300'
GLAB_AUTH=certificate
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
ok() { echo "ok: $*"; }
command -v tshark >/dev/null || { echo "FAIL: tshark is needed"; exit 1; }

lab_up
glab_ks_start ks1
glab_member_config gm-a
glab_member_config gm-b
sed -i '/^retry = /a df-bit = "copy"' "${GLAB_CONFIG[gm-b]}"
cp "${GLAB_CONFIG[gm-b]}" "$GLAB_LOGS/gm-b.gdoid.conf"
glab_member_start gm-a && glab_member_start gm-b &&
    glab_wait_registered gm-a && glab_wait_registered gm-b ||
    { echo "FAIL: the members did not register (logs in $GLAB_LOGS)"; exit 1; }
ok "gm-a (df-bit clear) and gm-b (df-bit copy) registered"
for gm in gm-a gm-b; do
    if grep -q 'key server authenticated by certificate "CN=ks1.lab,O=gdoi lab"' "$GLAB_LOGS/$gm.gdoid.log" &&
        grep -q "member authenticated by certificate \"CN=$gm.lab,O=gdoi lab\"" "$GLAB_LOGS/ks1.ks.log"; then
        ok "$gm and ks1 authenticated each other by certificate (RSA signatures)"
    else
        fail "$gm: no certificate authentication in $GLAB_LOGS/$gm.gdoid.log and ks1.ks.log"
    fi
done

# ---------------------------------------------------------------- flows at the same time
LAB_SNAPLEN=2000 lab_capture core to-gma "$GLAB_LOGS/flows.pcap" "net 10.0.0.0/8"
py_udp_echo='
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.IPPROTO_IP, socket.IP_TOS, int(sys.argv[1], 0))
s.bind(("0.0.0.0", 5002))
s.settimeout(30)
for _ in range(int(sys.argv[2])):
    data, peer = s.recvfrom(65535)
    s.sendto(data, peer)
'
lab_bg host-a1 python3 -c "$py_udp_echo" 0x48 3 >"$GLAB_LOGS/udp-echo.log" 2>&1
glab_tcp_sink host-b1 0x28
sleep 2 # the listeners start slowly under emulation
lab_bg host-a1 ping -n -c 6 -i 0.3 -Q 0xb8 "$LAB_HOST_B1" >"$GLAB_LOGS/ping-ef.txt" 2>&1
ping_pid=$LAB_LAST_PID
tcp_reply=$(glab_tcp_send host-a2 "$LAB_HOST_B1" "" 0x28) || true
udp_replies=$(lab_exec host-b2 python3 -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.IPPROTO_IP, socket.IP_TOS, 0x48)
s.settimeout(5)
got = 0
for i in range(3):
    s.sendto(b"u" * 200, (sys.argv[1], 5002))
    try:
        s.recvfrom(65535); got += 1
    except socket.timeout:
        pass
print(got)' "$LAB_HOST_A1" 2>&1) || true
frag=$(lab_exec host-a1 ping -n -c 2 -i 0.3 -W 3 -s 1460 -M dont "$LAB_HOST_B2" 2>&1 | grep -o '[0-9]* received' || true)
wait "$ping_pid" || true
lab_capture_stop
said=$(lab_capture_complete "$GLAB_LOGS/flows.pcap") && ok "$said" || fail "$said"
[ "$tcp_reply" = 20000 ] && ok "TCP host-a2 -> host-b1: 20000 octets delivered" || fail "TCP: reply '$tcp_reply'"
[ "$udp_replies" = 3 ] && ok "UDP host-b2 <-> host-a1: 3/3 echoed" || fail "UDP: '$udp_replies' of 3 echoed"
grep -q " 6 received" "$GLAB_LOGS/ping-ef.txt" && ok "ICMP (DSCP EF) host-a1 <-> host-b1: 6/6" ||
    fail "ICMP EF: $(grep 'packets transmitted' "$GLAB_LOGS/ping-ef.txt")"
[ "$frag" = "2 received" ] && ok "1488-octet echoes host-a1 <-> host-b2 (ESP fragmented): 2/2" || fail "fragmented echoes: '$frag'"

clear=$(tcpdump -r "$GLAB_LOGS/flows.pcap" -n "not esp and not (ip[6:2] & 0x1fff != 0)" 2>/dev/null | wc -l)
[ "$clear" = 0 ] && ok "no clear text between the LANs on the core" || fail "$clear packets in clear text on the core"

sa_opts=()
while read -r record; do sa_opts+=(-o "$record"); done < <(glab_esp_sa_records gm-a)
((${#sa_opts[@]} == 4)) || fail "could not read the two TEKs' keys from gm-a's states"
tshark -r "$GLAB_LOGS/flows.pcap" -n -o esp.enable_encryption_decode:TRUE \
    -o esp.enable_authentication_check:TRUE "${sa_opts[@]}" -Y esp -T fields -E occurrence=a -E aggregator='|' \
    -e frame.number -e ip.src -e ip.dst -e ip.dsfield.dscp -e ip.flags.df -e ip.proto -e esp.protocol \
    -e esp.icv_good -e esp.spi -e tcp.options.mss_val >"$GLAB_LOGS/flows.decrypted.tsv" 2>"$GLAB_LOGS/tshark.log" || true
report=$(python3 - "$GLAB_LOGS/flows.decrypted.tsv" "$LAB_LAN_A" <<'PY'
import ipaddress, sys
lan_a = ipaddress.ip_network(sys.argv[2])
flows, problems, packets = {}, [], 0
def flag(v):
    return 1 if v in ("1", "True", "true") else 0
for line in open(sys.argv[1]):
    f = line.rstrip("\n").split("\t")
    if len(f) < 9:
        continue
    frame, src, dst, dscp, df, proto, nh, icv, spi = f[:9]
    mss = f[9] if len(f) > 9 else ""
    src, dst, dscp, df, proto = (x.split("|") for x in (src, dst, dscp, df, proto))
    packets += 1
    what = f"frame {frame} (spi {spi})"
    if len(src) < 2 or not nh or int(nh, 0) != 4:
        problems.append(f"{what}: not decrypted (next header {nh!r}, {len(src)} IP headers)")
        continue
    if flag(icv) != 1:
        problems.append(f"{what}: ICV not good ({icv!r})")
    if (src[0], dst[0]) != (src[1], dst[1]):
        problems.append(f"{what}: outer {src[0]} > {dst[0]} but inner {src[1]} > {dst[1]}")
    if dscp[0] != dscp[1]:
        problems.append(f"{what}: outer DSCP {dscp[0]}, inner {dscp[1]}")
    from_a = ipaddress.ip_address(src[1]) in lan_a
    want_df = 0 if from_a else flag(df[1])  # gm-a: clear; gm-b: copy
    if flag(df[0]) != want_df:
        problems.append(f"{what}: outer DF {df[0]} from {'gm-a (clear)' if from_a else 'gm-b (copy)'}, inner DF {df[1]}")
    name = {"1": "icmp", "6": "tcp", "17": "udp"}.get(proto[1], proto[1])
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
((packets > 40)) && [ "$problems" = 0 ] &&
    ok "$packets ESP packets decrypted, ICV good: outer addresses = inner, next header 4, DSCP copied, DF clear from gm-a and copied by gm-b" ||
    fail "$packets ESP packets decrypted, $problems problem(s) (tshark: $GLAB_LOGS/tshark.log)"
for flow in "icmp $LAB_HOST_A1 > $LAB_HOST_B1 dscp 46" "icmp $LAB_HOST_B1 > $LAB_HOST_A1 dscp 46" \
    "tcp $LAB_HOST_A2 > $LAB_HOST_B1 dscp 10" "tcp $LAB_HOST_B1 > $LAB_HOST_A2 dscp 10" \
    "udp $LAB_HOST_B2 > $LAB_HOST_A1 dscp 18" "udp $LAB_HOST_A1 > $LAB_HOST_B2 dscp 18" \
    "icmp $LAB_HOST_A1 > $LAB_HOST_B2 dscp 0" \
    "syn $LAB_HOST_A2 > $LAB_HOST_B1 mss 1300" "syn $LAB_HOST_B1 > $LAB_HOST_A2 mss 1300"; do
    grep -q "x $flow\$" <<<"$report" && ok "decrypted: $flow" || fail "no decrypted packet of: $flow"
done

# ---------------------------------------------------------------- a smaller MTU in the core
lab_set_mtu core to-gmb 1400
LAB_SNAPLEN=2000 lab_capture core to-gmb "$GLAB_LOGS/small-mtu.pcap" "net 10.0.0.0/8"
got=$(lab_exec host-b1 python3 -c '
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("0.0.0.0", 5003)); s.settimeout(20)
data, _ = s.recvfrom(65535)
print(len(data))' 2>&1 &
sleep 2
lab_exec host-a2 python3 -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.IPPROTO_IP, 10, 2)  # IP_MTU_DISCOVER = IP_PMTUDISC_DO: DF set
s.sendto(b"m" * 1380, (sys.argv[1], 5003))' "$LAB_HOST_B1"
wait)
lab_capture_stop
said=$(lab_capture_complete "$GLAB_LOGS/small-mtu.pcap") && ok "$said" || fail "$said"
fragments=$(tcpdump -r "$GLAB_LOGS/small-mtu.pcap" -n "src host $LAB_HOST_A2 and (ip[6:2] & 0x3fff != 0)" 2>/dev/null | wc -l)
df_outer=$(tcpdump -r "$GLAB_LOGS/small-mtu.pcap" -n -v "src host $LAB_HOST_A2" 2>/dev/null | grep -c "flags \[DF\]" || true)
[ "$got" = 1380 ] && ((fragments >= 2)) && [ "$df_outer" = 0 ] &&
    ok "core MTU 1400: a 1408-octet datagram with DF set arrived; its ESP crossed as $fragments fragments, outer DF clear" ||
    fail "core MTU 1400: received '$got' (want 1380), $fragments ESP fragments, $df_outer outer packets with DF"

for node in gm-a gm-b; do
    counters=$(glab_status "$node" | glab_json "j['result']['datapath']['counters']")
    read -r restored unrestored unflagged clamped < <(glab_json "j['out_restored'], j['out_unrestored_dropped'], j['out_unflagged_dropped'], j['lan_mss_clamped']" <<<"$counters" | tr -d '()[],')
    ((restored > 20)) && [ "$unrestored" = 0 ] && [ "$unflagged" = 0 ] && [ "$clamped" = 1 ] &&
        ok "$node datapath: $restored packets restored to their own addresses, 0 dropped unrestored, 1 SYN clamped" ||
        fail "$node datapath counters: $counters"
done
xfrm_stat_check gm-a gm-b
if ((failures)); then
    echo "$failures check(s) failed; captures and logs in $GLAB_LOGS"
    exit 1
fi
echo "ESP decrypted: $packets packets, every one with the hosts' addresses, DSCP and DF as configured"
