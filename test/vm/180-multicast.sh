#!/usr/bin/env bash
# A member that also routes multicast (issue 15, scenario 8). gdoi-test-ks hands out a third
# TEK, UDP 10.1.0.0/16 -> 239.1.1.0/24; smcroute routes (10.1.0.10, 239.1.1.1) in gm-a
# (lan0 -> wan0), core (to-gma -> to-gmb) and gm-b (wan0 -> lan0); host-b1 and host-b2 join
# the group, host-a1 sends to it.
#   1. The kernel fact, before gdoid runs: multicast forwarding (ipmr_queue_xmit) looks XFRM
#      up with gm-a's WAN address as source and protocol 4, so an out block policy with the
#      LAN prefix as source lets the forwarded datagrams cross in clear text; the same block
#      with any source stops them.
#   2. With gdoid: every datagram reaches both receivers; on the core every packet toward the
#      group is ESP, decrypts with the TEK read from the kernel (ICV good) and carries outer
#      source = the sender, outer destination = the group, the group's MAC, next header 4,
#      inner UDP; nothing in clear text. gdoictl status says what cannot work (note) and
#      counts the datagrams restored toward the group.
#   3. What cannot work is dropped and counted: clear text toward the group injected on the
#      core never reaches gm-b's LAN (ipmr checks no XFRM policy; gm-b's WAN ingress drops it:
#      in_clear_multicast_dropped); multicast gm-a sends from its WAN address, which the
#      any-source policy encrypts but which no LAN ingress recorded, is dropped at gm-a's WAN
#      (out_unflagged_dropped), never sent in clear text.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/lib/topology.sh"
. "$here/lib/static-esp.sh" # xfrm_stat_check
. "$here/lib/gdoi-lab.sh"
GLAB_DATAPATH_KEYS=yes
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
ok() { echo "ok: $*"; }
command -v tshark >/dev/null || { echo "FAIL: tshark is needed"; exit 1; }
command -v smcrouted >/dev/null || { echo "FAIL: smcroute is needed"; exit 1; }

GROUP=239.1.1.1 GROUP_PREFIX=239.1.1.0/24 GROUP_MAC=01:00:5e:01:01:01 PORT=5099
SPI_MCAST=0x30000001
GLAB_KS_EXTRA="[[group.tek]]
spi = $SPI_MCAST
cipher = \"aes-256-cbc\"
integrity = \"hmac-sha256\"
protocol = 17
source = \"$LAB_LAN_A\"
destination = \"$GROUP_PREFIX\"
lifetime = 3600
mode = \"tunnel\"
preservation = \"source-and-destination\"
direction = \"symmetric\""

lab_up
glab_init # runtime and log folders (GLAB_LOGS) before the key server starts
lab_multicast_routing gm-a lan0 wan0 "$GROUP" "$LAB_HOST_A1"
lab_multicast_routing core to-gma to-gmb "$GROUP" "$LAB_HOST_A1"
lab_multicast_routing gm-b wan0 lan0 "$GROUP" "$LAB_HOST_A1"
ok "smcroute routes ($LAB_HOST_A1, $GROUP) in gm-a, core and gm-b"

# Receivers: join the group on eth0, print each datagram's first word and number, until "stop".
py_receiver='
import socket, struct, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], int(sys.argv[2])))
s.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP,
             struct.pack("4s4s", socket.inet_aton(sys.argv[1]), socket.inet_aton(sys.argv[3])))
print("joined", flush=True)
s.settimeout(float(sys.argv[4]))
try:
    while True:
        data = s.recv(2000).decode(errors="replace").split()
        print(" ".join(data[:2]), flush=True)
        if data and data[0] == "stop":
            break
except socket.timeout:
    print("timeout", flush=True)
'
# Sender: COUNT datagrams "WORD n" padded to 200 octets, TTL 16, from SOURCE (or the default).
py_sender='
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 16)
if sys.argv[5]:
    s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(sys.argv[5]))
for i in range(int(sys.argv[4])):
    s.sendto(f"{sys.argv[3]} {i} ".encode().ljust(200, b"m"), (sys.argv[1], int(sys.argv[2])))
    time.sleep(0.05)
'
send() { lab_exec "$1" python3 -c "$py_sender" "$GROUP" "$PORT" "$2" "$3" "${4:-}"; }
start_receivers() { # TAG
    local h address
    for h in host-b1 host-b2; do
        address=$LAB_HOST_B1
        [ "$h" = host-b2 ] && address=$LAB_HOST_B2
        lab_bg "$h" python3 -c "$py_receiver" "$GROUP" "$PORT" "$address" 60 >"$GLAB_LOGS/recv-$1-$h.txt" 2>&1
        eval "recv_pid_$1_${h//-/_}=$LAB_LAST_PID"
    done
    local deadline=$((SECONDS + 30))
    until grep -q joined "$GLAB_LOGS/recv-$1-host-b1.txt" 2>/dev/null && grep -q joined "$GLAB_LOGS/recv-$1-host-b2.txt" 2>/dev/null; do
        ((SECONDS < deadline)) || { fail "receivers did not join within 30 s"; return 1; }
        sleep 0.2
    done
}
wait_receivers() { # TAG: wait for both receivers to end (they stop on "stop" or after 60 s)
    local h pid_var
    for h in host-b1 host-b2; do
        pid_var="recv_pid_$1_${h//-/_}"
        wait "${!pid_var}" || true
    done
}
received() { grep -c "^$2 " "$GLAB_LOGS/recv-$1-$3.txt" || true; } # TAG WORD HOST

# ---------------------------------------------------------------- 1. the kernel, without gdoid
# Hand-made policies in gm-a, as a naive member would install them for the TEK: block (so
# nothing may cross) with the TEK's own source prefix; then with any source.
start_receivers naive
LAB_SNAPLEN=300 lab_capture core to-gma "$GLAB_LOGS/naive.pcap" "dst net 224.0.0.0/4 and not dst net 224.0.0.0/24"
lab_exec gm-a ip xfrm policy add dir out src "$LAB_LAN_A" dst "$GROUP_PREFIX" dev wan0 action block priority 100
send host-a1 lan-source 5
lab_exec gm-a ip xfrm policy delete dir out src "$LAB_LAN_A" dst "$GROUP_PREFIX" dev wan0
lab_exec gm-a ip xfrm policy add dir out src 0.0.0.0/0 dst "$GROUP_PREFIX" dev wan0 action block priority 100
send host-a1 any-source 5
lab_exec gm-a ip xfrm policy delete dir out src 0.0.0.0/0 dst "$GROUP_PREFIX" dev wan0
send host-a1 stop 1
wait_receivers naive
lab_capture_stop
leaked=$(tcpdump -r "$GLAB_LOGS/naive.pcap" -n "udp and src host $LAB_HOST_A1" 2>/dev/null | wc -l)
got_lan=$(received naive lan-source host-b1) got_any=$(received naive any-source host-b1)
[ "$got_lan" = 5 ] && [ "$got_any" = 0 ] && ((leaked >= 6)) &&
    ok "kernel fact: forwarded multicast passed an out block policy with source $LAB_LAN_A (5/5 in clear text to host-b1); a block with any source stopped it (0/5)" ||
    fail "kernel fact not as expected: LAN-source block let $got_lan/5 through, any-source block $got_any/5, $leaked clear datagrams on the core"

# ---------------------------------------------------------------- 2. with gdoid
glab_ks_start ks1
glab_member_config gm-a
glab_member_config gm-b
glab_member_start gm-a && glab_member_start gm-b &&
    glab_wait_registered gm-a && glab_wait_registered gm-b ||
    { echo "FAIL: the members did not register (logs in $GLAB_LOGS)"; exit 1; }
deadline=$((SECONDS + 30))
until lab_exec gm-a ip xfrm policy show dir out | grep -q "^src 0.0.0.0/0 dst $GROUP_PREFIX" || ((SECONDS > deadline)); do sleep 0.5; done
policy=$(lab_exec gm-a ip xfrm policy show dir out | grep -A3 "^src 0.0.0.0/0 dst $GROUP_PREFIX" || true)
grep -q "dev wan0" <<<"$policy" && grep -q "tmpl src $LAB_GMA_WAN" <<<"$policy" && grep -q "spi $SPI_MCAST" <<<"$policy" &&
    ok "gm-a: the TEK's out policy for forwarded multicast has any source, any protocol, dev wan0" ||
    fail "gm-a has no any-source out policy for $GROUP_PREFIX: $(lab_exec gm-a ip xfrm policy show dir out)"
for gm in gm-a gm-b; do
    note=$(glab_status "$gm" | glab_json "'\n'.join(j['result']['groups'][0]['kernel']['notes'])")
    grep -q "multicast forwarded to $GROUP_PREFIX is encrypted whatever its source" <<<"$note" &&
        glab_ctl "$gm" status | grep -q "note: .*in_clear_multicast_dropped" &&
        ok "$gm: gdoictl status says what forwarded multicast can and cannot do" ||
        fail "$gm: no multicast note in gdoictl status: '$note'"
done
counters() { glab_status "$1" | glab_json "j['result']['datapath']['counters']['$2']"; }
unflagged_before=$(counters gm-a out_unflagged_dropped)

start_receivers gdoid
LAB_SNAPLEN=2000 lab_capture core to-gma "$GLAB_LOGS/group.pcap" "dst net 224.0.0.0/4 and not dst net 224.0.0.0/24"
send host-a1 data 40
# 3a. clear text toward the group, from the core's side of gm-b, with the sender's address
lab_exec core python3 -c '
import socket, struct, sys
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
s.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, b"to-gmb")
src, dst, port = socket.inet_aton(sys.argv[1]), socket.inet_aton(sys.argv[2]), int(sys.argv[3])
for i in range(5):
    payload = f"clear {i} ".encode().ljust(100, b"c")
    udp = struct.pack("!HHHH", port, port, 8 + len(payload), 0) + payload
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, 0, 16, 17, 0, src, dst)
    s.sendto(ip + udp, (sys.argv[2], 0))' "$LAB_HOST_A1" "$GROUP" "$PORT"
# 3b. gm-a itself sends to the group from its WAN address
send gm-a router 5 "$LAB_GMA_WAN"
sleep 1
send host-a1 stop 1
wait_receivers gdoid
lab_capture_stop
said=$(lab_capture_complete "$GLAB_LOGS/group.pcap") && ok "$said" || fail "$said"

for h in host-b1 host-b2; do
    got=$(received gdoid data "$h") distinct=$(grep '^data ' "$GLAB_LOGS/recv-gdoid-$h.txt" | sort -u | wc -l)
    [ "$got" = 40 ] && [ "$distinct" = 40 ] && ok "$h received 40/40 datagrams from host-a1 through both members" ||
        fail "$h received $got datagrams ($distinct distinct) of 40"
    clear=$(received gdoid clear "$h") router=$(received gdoid router "$h")
    [ "$clear" = 0 ] && [ "$router" = 0 ] && ok "$h: 0 injected clear-text datagrams, 0 of gm-a's own" ||
        fail "$h received $clear injected clear-text and $router router datagrams"
done

clear=$(tcpdump -r "$GLAB_LOGS/group.pcap" -n "not esp and not (ip[6:2] & 0x1fff != 0)" 2>/dev/null | wc -l)
[ "$clear" = 0 ] && ok "no clear text toward the group on the core (gm-a's side)" || fail "$clear clear-text packets toward the group on the core"

sa_opts=()
while read -r record; do sa_opts+=(-o "$record"); done < <(glab_esp_sa_records gm-a)
tshark -r "$GLAB_LOGS/group.pcap" -n -o esp.enable_encryption_decode:TRUE \
    -o esp.enable_authentication_check:TRUE "${sa_opts[@]}" -Y esp -T fields -E occurrence=a -E aggregator='|' \
    -e frame.number -e eth.dst -e ip.src -e ip.dst -e ip.proto -e esp.protocol -e esp.icv_good -e esp.spi -e data.data \
    >"$GLAB_LOGS/group.decrypted.tsv" 2>"$GLAB_LOGS/tshark.log" || true
report=$(python3 - "$GLAB_LOGS/group.decrypted.tsv" "$LAB_HOST_A1" "$GROUP" "$GROUP_MAC" "$SPI_MCAST" <<'PY'
import sys
sender, group, mac, spi_want = sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5], 0)
problems, packets, words = [], 0, {}
for line in open(sys.argv[1]):
    f = line.rstrip("\n").split("\t")
    if len(f) < 8:
        continue
    frame, eth, src, dst, proto, nh, icv, spi = f[:8]
    payload = bytes.fromhex(f[8]) if len(f) > 8 and f[8] else b""
    src, dst, proto = src.split("|"), dst.split("|"), proto.split("|")
    packets += 1
    what = f"frame {frame}"
    if len(src) < 2 or not nh or int(nh, 0) != 4:
        problems.append(f"{what}: not decrypted (next header {nh!r})")
        continue
    if icv not in ("1", "True", "true"):
        problems.append(f"{what}: ICV not good ({icv!r})")
    if int(spi, 0) != spi_want:
        problems.append(f"{what}: SPI {spi}, not the multicast TEK's")
    if (src[0], dst[0]) != (sender, group) or (src[1], dst[1]) != (sender, group):
        problems.append(f"{what}: outer {src[0]} > {dst[0]}, inner {src[1]} > {dst[1]}")
    if eth.lower() != mac:
        problems.append(f"{what}: Ethernet destination {eth}, not the group's {mac}")
    if proto[1] != "17":
        problems.append(f"{what}: inner protocol {proto[1]}")
    word = payload.split(b" ")[0].decode(errors="replace") if payload else "?"
    words[word] = words.get(word, 0) + 1
for p in problems[:10]:
    print("PROBLEM", p)
print("WORDS", " ".join(f"{k}={v}" for k, v in sorted(words.items())))
print(f"SUMMARY {packets} {len(problems)}")
PY
)
grep -v '^SUMMARY' <<<"$report"
read -r _ packets problems <<<"$(grep '^SUMMARY' <<<"$report")"
[ "$packets" = 41 ] && [ "$problems" = 0 ] && grep -q "WORDS data=40 stop=1$" <<<"$report" &&
    ok "41 ESP packets toward the group decrypted with TEK $SPI_MCAST (ICV good): outer = inner = $LAB_HOST_A1 > $GROUP, Ethernet $GROUP_MAC, next header 4, UDP; the 40 datagrams and the stop, nothing else" ||
    fail "$packets ESP packets toward the group, $problems problem(s) (tshark: $GLAB_LOGS/tshark.log)"

read -r restored unflagged_after < <(glab_status gm-a |
    glab_json "'%d %d' % (j['result']['datapath']['counters']['out_multicast'], j['result']['datapath']['counters']['out_unflagged_dropped'])")
dropped_clear=$(counters gm-b in_clear_multicast_dropped)
unflagged=$((unflagged_after - unflagged_before))
((restored >= 41)) && ok "gm-a: $restored packets restored toward the group (out_multicast)" || fail "gm-a out_multicast $restored (want >= 41)"
[ "$dropped_clear" = 5 ] && ok "gm-b: the 5 injected clear-text datagrams dropped and counted (in_clear_multicast_dropped)" ||
    fail "gm-b in_clear_multicast_dropped = $dropped_clear (want 5)"
[ "$unflagged" = 5 ] && ok "gm-a: its own 5 datagrams from $LAB_GMA_WAN dropped and counted (out_unflagged_dropped), none in clear text" ||
    fail "gm-a out_unflagged_dropped grew by $unflagged (want 5)"
# gm-a's only XFRM drops are the hand-made block of part 1 (5 datagrams); gm-b has none.
errors=$(xfrm_stat_errors gm-a | tr -s ' \t' ' ' | tr '\n' ' ')
[ "$errors" = "XfrmOutPolBlock 5 " ] && ok "gm-a /proc/net/xfrm_stat: only the 5 blocked in part 1" ||
    fail "gm-a /proc/net/xfrm_stat: $errors"
xfrm_stat_check gm-b

if ((failures)); then
    echo "$failures check(s) failed; captures and logs in $GLAB_LOGS"
    exit 1
fi
echo "forwarded multicast: ESP only, header preserved, every datagram delivered; the rest dropped and counted"
