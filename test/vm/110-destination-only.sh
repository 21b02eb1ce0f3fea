#!/usr/bin/env bash
# Without BPF. gm-a's gdoid runs without CAP_BPF, CAP_SYS_ADMIN and CAP_PERFMON (setpriv drops
# them from its bounding set), so the kernel refuses to load the tc-BPF datapath: the
# "missing capability" case of an operator's box. gm-b runs the full datapath.
#   1. datapath-fallback left at "refuse": gdoid says exactly why (gdoictl status, log), the
#      group's traffic is blocked (fail-closed), nothing leaves in clear text.
#   2. datapath-fallback = "destination-only" (reload): a warning in gdoictl status; the WAN
#      ingress rewrite runs in nftables; hosts behind gm-a and gm-b exchange ICMP and TCP;
#      the core capture decrypted with the group keys: gm-b's packets carry the hosts'
#      addresses outside (full preservation), gm-a's carry gm-a's WAN address as outer source
#      and the host's as outer destination, next header 4; no clear text; gm-a's own traffic
#      (from its LAN address) is destination-only too; tcp-mss = 1300 holds without BPF: the
#      SYN host-a2 sends arrives (decrypted) with MSS 1300, clamped by gm-a's nftables chain.
#   3. gdoid stopped: its nftables table, states and policies are gone.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/lib/topology.sh"
. "$here/lib/gdoi-lab.sh"
GLAB_DATAPATH_KEYS=yes
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
ok() { echo "ok: $*"; }
command -v tshark >/dev/null || { echo "FAIL: tshark is needed"; exit 1; }
received() { grep -o '[0-9]* received' "$1" | awk '{ print $1 }'; }
kernel_json() { glab_status "$1" | glab_json "j['result']['groups'][0]['kernel']$2"; }

lab_up
glab_ks_start ks1
full_gdoid=$GLAB_GDOID
cat >"$GLAB_RUN/gdoid-without-bpf" <<WRAP
#!/bin/sh
exec setpriv --bounding-set -bpf,-sys_admin,-perfmon --inh-caps -bpf,-sys_admin,-perfmon -- "$full_gdoid" "\$@"
WRAP
chmod 755 "$GLAB_RUN/gdoid-without-bpf"

GLAB_MEMBER_EXTRA='per-destination-idle = "60s"
tcp-mss = 1300'
glab_member_config gm-b
glab_member_start gm-b
glab_member_config gm-a
GLAB_GDOID=$GLAB_RUN/gdoid-without-bpf
glab_member_start gm-a
GLAB_GDOID=$full_gdoid
glab_wait_registered gm-a && glab_wait_registered gm-b ||
    { echo "FAIL: the members did not register (logs in $GLAB_LOGS)"; exit 1; }

# ---------------------------------------------------------------- 1. refuse
deadline=$((SECONDS + 20))
while ((SECONDS < deadline)) && [ "$(kernel_json gm-a "['state']")" != error ]; do sleep 1; done
error=$(kernel_json gm-a "['error']")
[ "$(kernel_json gm-a "['state']")" = error ] && grep -q "needs CAP_BPF" <<<"$error" &&
    grep -q 'datapath-fallback = "destination-only"' <<<"$error" &&
    ok "without BPF and without the fallback, gm-a refuses and says why: ${error:0:160}..." ||
    fail "gm-a kernel state $(kernel_json gm-a "['state']"), error '$error'"
deadline=$((SECONDS + 15))
while ((SECONDS < deadline)) && [ "$(kernel_json gm-a "['fail_closed']")" != true ]; do sleep 1; done
[ "$(kernel_json gm-a "['fail_closed']")" = true ] && ok "gm-a is fail-closed meanwhile ($(kernel_json gm-a "['policies']") block and bypass policies)" ||
    fail "gm-a not fail-closed: $(kernel_json gm-a '')"
lab_capture core to-gma "$GLAB_LOGS/refused.pcap" "net 10.0.0.0/8"
lab_exec host-a1 ping -n -c 3 -i 0.3 -W 1 "$LAB_HOST_B1" >"$GLAB_LOGS/refused-ping.txt" 2>&1 || true
lab_capture_stop
clear=$(tcpdump -r "$GLAB_LOGS/refused.pcap" -n "not esp" 2>/dev/null | wc -l)
[ "$clear" = 0 ] && [ "$(received "$GLAB_LOGS/refused-ping.txt")" = 0 ] &&
    ok "host-a1 -> host-b1 blocked at gm-a: 0 answered, 0 packets in clear text on the core" ||
    fail "refused group leaked: $clear clear packets, $(received "$GLAB_LOGS/refused-ping.txt") answered"

# ---------------------------------------------------------------- 2. destination-only
sed -i '/^retry = /a datapath-fallback = "destination-only"' "${GLAB_CONFIG[gm-a]}"
cp "${GLAB_CONFIG[gm-a]}" "$GLAB_LOGS/gm-a.gdoid.conf"
kill -HUP "${GLAB_GDOID_PID[gm-a]}"
deadline=$((SECONDS + 30))
while ((SECONDS < deadline)) && [ "$(kernel_json gm-a "['state']")" != installed ]; do sleep 1; done
warning=$(kernel_json gm-a "['warning']")
[ "$(kernel_json gm-a "['state']")" = installed ] && grep -q "destination-only" <<<"$warning" &&
    ok "datapath-fallback = destination-only: installed, with the warning '${warning:0:120}...'" ||
    fail "after the reload: state $(kernel_json gm-a "['state']"), warning '$warning', error '$(kernel_json gm-a "['error']")'"
glab_ctl gm-a status | grep -q "warning: .*destination-only" && ok "gdoictl status shows the warning" ||
    fail "no warning line in gdoictl status: $(glab_ctl gm-a status)"
lab_exec gm-a nft list table netdev gdoid_wan0 >"$GLAB_LOGS/nft-table.txt" 2>&1 &&
    grep -q "ip daddr set" "$GLAB_LOGS/nft-table.txt" && grep -q "tcp option maxseg size set 1300" "$GLAB_LOGS/nft-table.txt" &&
    ok "gm-a's WAN ingress rewrite and LAN MSS clamp run in nftables (table netdev gdoid_wan0)" ||
    fail "no nftables rewrite on gm-a: $(cat "$GLAB_LOGS/nft-table.txt")"

LAB_SNAPLEN=2000 lab_capture core to-gma "$GLAB_LOGS/dest-only.pcap" "net 10.0.0.0/8"
lab_exec host-a1 ping -n -c 8 -i 0.3 -W 2 "$LAB_HOST_B1" >"$GLAB_LOGS/a1-b1.txt" 2>&1 || true
lab_exec host-b2 ping -n -c 8 -i 0.3 -W 2 "$LAB_HOST_A2" >"$GLAB_LOGS/b2-a2.txt" 2>&1 || true
lab_exec gm-a ping -n -c 5 -i 0.3 -W 2 -I "$LAB_GMA_LAN" "$LAB_HOST_B2" >"$GLAB_LOGS/gma-b2.txt" 2>&1 || true
glab_tcp_sink host-b1
sleep 2
tcp_reply=$(glab_tcp_send host-a2 "$LAB_HOST_B1") || true
lab_capture_stop
said=$(lab_capture_complete "$GLAB_LOGS/dest-only.pcap") && ok "$said" || fail "$said"
# A new destination loses its first packet (the kernel asks gdoid for its state) and so does
# a reply toward a host gm-a has not sent to yet.
(($(received "$GLAB_LOGS/a1-b1.txt") >= 7)) && ok "host-a1 -> host-b1: $(received "$GLAB_LOGS/a1-b1.txt")/8" ||
    fail "host-a1 -> host-b1: $(received "$GLAB_LOGS/a1-b1.txt")/8"
(($(received "$GLAB_LOGS/b2-a2.txt") >= 7)) && ok "host-b2 -> host-a2: $(received "$GLAB_LOGS/b2-a2.txt")/8" ||
    fail "host-b2 -> host-a2: $(received "$GLAB_LOGS/b2-a2.txt")/8"
(($(received "$GLAB_LOGS/gma-b2.txt") >= 4)) && ok "gm-a ($LAB_GMA_LAN) -> host-b2: $(received "$GLAB_LOGS/gma-b2.txt")/5" ||
    fail "gm-a -> host-b2: $(received "$GLAB_LOGS/gma-b2.txt")/5"
[ "$tcp_reply" = 20000 ] && ok "TCP host-a2 -> host-b1: 20000 octets delivered" || fail "TCP: reply '$tcp_reply'"

clear=$(tcpdump -r "$GLAB_LOGS/dest-only.pcap" -n "not esp and not (ip[6:2] & 0x1fff != 0)" 2>/dev/null | wc -l)
[ "$clear" = 0 ] && ok "no clear text between the LANs on the core" || fail "$clear packets in clear text on the core"
sa_opts=()
while read -r record; do sa_opts+=(-o "$record"); done < <(glab_esp_sa_records gm-b)
tshark -r "$GLAB_LOGS/dest-only.pcap" -n -o esp.enable_encryption_decode:TRUE \
    -o esp.enable_authentication_check:TRUE "${sa_opts[@]}" -Y esp -T fields -E occurrence=a -E aggregator='|' \
    -e frame.number -e ip.src -e ip.dst -e ip.proto -e esp.protocol -e esp.icv_good -e esp.spi -e tcp.options.mss_val \
    >"$GLAB_LOGS/dest-only.decrypted.tsv" 2>"$GLAB_LOGS/tshark.log" || true
report=$(python3 - "$GLAB_LOGS/dest-only.decrypted.tsv" "$LAB_LAN_A" "$LAB_GMA_WAN" "$LAB_GMA_LAN" <<'PY'
import ipaddress, sys
lan_a, gma_wan, gma_lan = ipaddress.ip_network(sys.argv[2]), sys.argv[3], sys.argv[4]
problems, counts, syn_mss = [], {"gm-a destination-only": 0, "gm-a router": 0, "gm-b full": 0}, []
for line in open(sys.argv[1]):
    f = line.rstrip("\n").split("\t")
    if len(f) < 7:
        continue
    frame, src, dst, proto, nh, icv, spi = f[:7]
    mss = f[7] if len(f) > 7 else ""
    src, dst = src.split("|"), dst.split("|")
    what = f"frame {frame} (spi {spi})"
    if len(src) < 2 or not nh or int(nh, 0) != 4:
        problems.append(f"{what}: not decrypted (next header {nh!r})"); continue
    if icv not in ("1", "True", "true"):
        problems.append(f"{what}: ICV not good")
    if dst[0] != dst[1]:
        problems.append(f"{what}: outer destination {dst[0]}, inner {dst[1]}")
    if src[1] == gma_lan:
        kind, want = "gm-a router", gma_wan         # destination-only for the router too
    elif ipaddress.ip_address(src[1]) in lan_a:
        kind, want = "gm-a destination-only", gma_wan  # our WAN address outside
    else:
        kind, want = "gm-b full", src[1]
    counts[kind] += 1
    if mss and kind == "gm-a destination-only":
        syn_mss.append(mss)  # the SYN host-a2 sent, as it left gm-a
    if src[0] != want:
        problems.append(f"{what} ({kind}): outer source {src[0]}, want {want} (inner {src[1]})")
for k, v in counts.items():
    print(f"  {v:4d} x {k}")
for p in problems[:10]:
    print("PROBLEM", p)
print("SUMMARY", counts["gm-a destination-only"], counts["gm-a router"], counts["gm-b full"], len(problems),
      ",".join(syn_mss) or "none")
PY
)
echo "$report" | grep -v '^SUMMARY'
read -r _ dest_only router full problems syn_mss <<<"$(grep '^SUMMARY' <<<"$report")"
((dest_only >= 20 && router >= 3 && full >= 20)) && [ "$problems" = 0 ] &&
    ok "decrypted: $dest_only packets from gm-a's LAN with outer source $LAB_GMA_WAN and the host as outer destination, $router from gm-a itself (same outer source), and $full from gm-b's LAN with the hosts' addresses; next header 4, ICV good" ||
    fail "decrypted: $dest_only destination-only, $router router, $full full, $problems problem(s)"
# (a retransmitted SYN under emulation is one more 1300)
[[ $syn_mss =~ ^1300(,1300)*$ ]] && ok "tcp-mss without BPF: host-a2's SYN left gm-a with MSS 1300 (its link allows 1460)" ||
    fail "host-a2's SYN(s) on the wire carry MSS '$syn_mss' (want 1300)"

# ---------------------------------------------------------------- 3. stop
glab_member_stop gm-a
left_nft=$(lab_exec gm-a nft list tables 2>/dev/null | grep -c gdoid || true)
left_states=$(lab_exec gm-a ip xfrm state | grep "proto esp spi" | grep -vc "spi 0x00000000" || true)
left_policies=$(lab_exec gm-a ip xfrm policy | grep -c "^src" || true)
[ "$left_nft" = 0 ] && [ "$left_states" = 0 ] && [ "$left_policies" = 0 ] &&
    ok "gdoid stopped: no nftables table, state or policy left on gm-a" ||
    fail "after stop: $left_nft nft tables, $left_states states, $left_policies policies"

if ((failures)); then
    echo "$failures check(s) failed; captures and logs in $GLAB_LOGS"
    exit 1
fi
echo "destination-only fallback: $dest_only packets with gm-a's WAN address outside, the host's destination kept"
