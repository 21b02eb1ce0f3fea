#!/usr/bin/env bash
# End-to-end group traffic with the daemon doing everything: gdoi-test-ks in ks1, gdoid in gm-a
# and gm-b (test/vm/lib/gdoi-lab.sh, with `lan-prefixes` required), both registered. Asserts
# what an operator would check:
#   - `ip xfrm state` on each member: the TEK it sends with has an outbound state (to the remote
#     anchor), the TEK it receives has an inbound state (to the local inbound anchor);
#   - host-a1 <-> host-b1 and host-a2 -> host-b2 pings are answered, both ways;
#   - the WAN capture on core (to-gma) holds only ESP, with the hosts' own addresses as outer
#     source and destination (header preservation: 10.1.0.10 > 10.2.0.10 with TEK
#     0x20000001, 10.2.0.10 > 10.1.0.10 with TEK 0x20000002), exactly one ESP packet per echo
#     request/reply, none between the members' WAN addresses and no cleartext ICMP;
#   - the kernel's packet counters of those states moved by exactly the echoes sent;
#   - /proc/net/xfrm_stat is all zero on both members;
#   - `gdoictl status --json`: registered, 1 registration, 0 failures, 0 rejected pushes.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
lib=$here/lib
[ -d "$lib" ] || lib=$here/../lib
. "$lib/topology.sh"
. "$lib/static-esp.sh" # xfrm_stat_check
. "$lib/gdoi-lab.sh"
GLAB_DATAPATH_KEYS=yes # refuse to run with a gdoid that would not install the SAs
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
ok() { echo "ok: $*"; }
AB=$GLAB_TEK_SPI_AB BA=$GLAB_TEK_SPI_BA

lab_up
echo "lab is up"
# Another IPsec daemon on gm-a (a strongSwan-style site-to-site tunnel from gm-a's WAN address
# to a peer elsewhere): its states and policies, with strongSwan's reqid and priorities, exist
# before gdoid starts and must come out of gdoid's whole life byte for byte the same.
foreign_key=0x$(printf '%040x' 7)
lab_exec gm-a ip -batch - <<IP
xfrm state add src $LAB_GMA_WAN dst 203.0.113.77 proto esp spi 0xc1000001 reqid 1 mode tunnel aead 'rfc4106(gcm(aes))' $foreign_key 128
xfrm state add src 203.0.113.77 dst $LAB_GMA_WAN proto esp spi 0xc1000002 reqid 1 mode tunnel aead 'rfc4106(gcm(aes))' $foreign_key 128
xfrm policy add src 10.1.77.0/24 dst 10.77.0.0/16 dir out priority 375423 tmpl src $LAB_GMA_WAN dst 203.0.113.77 proto esp reqid 1 mode tunnel
xfrm policy add src 10.77.0.0/16 dst 10.1.77.0/24 dir in priority 375423 tmpl src 203.0.113.77 dst $LAB_GMA_WAN proto esp reqid 1 mode tunnel
xfrm policy add src 10.77.0.0/16 dst 10.1.77.0/24 dir fwd priority 375423 tmpl src 203.0.113.77 dst $LAB_GMA_WAN proto esp reqid 1 mode tunnel
IP
# foreign_objects: gm-a's objects of that tunnel, as `ip xfrm` prints them, keys included
foreign_objects() {
    { lab_exec gm-a ip xfrm state list reqid 1 | grep -v 'anti-replay'
      lab_exec gm-a ip xfrm policy list | awk '/^src/ { keep = ($0 ~ /10\.77\.0\.0|10\.1\.77\.0/) } keep'; } | sort
}
foreign_before=$(foreign_objects)
[ "$(grep -c 'spi 0xc100000' <<<"$foreign_before")" = 2 ] && [ "$(grep -c 'priority 375423' <<<"$foreign_before")" = 3 ] ||
    fail "the foreign tunnel's 2 states and 3 policies are not in place: $foreign_before"
glab_up || { echo "FAIL: the members did not register (logs in $GLAB_LOGS)"; exit 1; }
ok "gm-a and gm-b registered with ks1"

# ---------------------------------------------------------------- the states gdoid installed
# state_line NODE SPI DST: "src dst spi" of NODE's ESP state with SPI and destination DST
state_line() {
    lab_exec "$1" ip xfrm state list dst "$3" proto esp spi "$2" 2>/dev/null |
        awk '/^src / { s = $2; d = $4 } /proto esp spi/ { print s, d, $4 }'
}
# state_packets NODE SPI DST: the packet counter of that state
state_packets() {
    lab_exec "$1" ip -s xfrm state list dst "$3" proto esp spi "$2" |
        awk '/lifetime current:/ { getline; sub(/^.*, */, ""); sub(/\(packets\).*/, ""); print; exit }'
}
for node in gm-a gm-b; do
    echo "ip xfrm state on $node:"
    lab_exec "$node" ip xfrm state | grep -E '^src|proto esp' | sed "s/^/    $node: /"
done
# gm-a sends with AB and receives with BA; gm-b the other way round
declare -A out_spi=([gm-a]=$AB [gm-b]=$BA) in_spi=([gm-a]=$BA [gm-b]=$AB)
for node in gm-a gm-b; do
    line=$(state_line "$node" "${out_spi[$node]}" "$GLAB_ANCHOR_REMOTE")
    [ -n "$line" ] && ok "$node: outbound state TEK ${out_spi[$node]} ($line)" ||
        fail "$node: no outbound state for TEK ${out_spi[$node]} to the remote anchor $GLAB_ANCHOR_REMOTE"
    line=$(state_line "$node" "${in_spi[$node]}" "$GLAB_ANCHOR_INBOUND")
    [ -n "$line" ] && ok "$node: inbound state TEK ${in_spi[$node]} ($line)" ||
        fail "$node: no inbound state for TEK ${in_spi[$node]} to the inbound anchor $GLAB_ANCHOR_INBOUND"
done
if ((failures)); then
    echo "gdoid did not install the group's states; logs in $GLAB_LOGS"
    exit 1
fi

# ---------------------------------------------------------------- traffic, captured on the WAN
lab_capture core to-gma "$GLAB_LOGS/wan.pcap" "ip and not udp port 848"
declare -A sent=([a1b1]=5 [b1a1]=4 [a2b2]=3)
ping_pair() {
    local from=$1 to=$2 count=$3 out
    if out=$(lab_ping "$from" "$to" "$count"); then
        if grep -q " $count received" <<<"$out"; then ok "$from -> $to: $count/$count echoes answered"
        else fail "$from -> $to lost replies: $(grep 'packets transmitted' <<<"$out")"; fi
    else
        fail "$from -> $to: ping failed: $(grep 'packets transmitted' <<<"$out")"
    fi
}
ping_pair host-a1 "$LAB_HOST_B1" "${sent[a1b1]}"
ping_pair host-b1 "$LAB_HOST_A1" "${sent[b1a1]}"
ping_pair host-a2 "$LAB_HOST_B2" "${sent[a2b2]}"
lab_capture_stop

pcap=$GLAB_LOGS/wan.pcap
echo "first packets on the WAN (core, to-gma):"
tcpdump -r "$pcap" -n -c 4 2>/dev/null | sed 's/^/    /'
count() { tcpdump -r "$pcap" -n "$@" 2>/dev/null | wc -l; }
count_spi() { # count_spi SPI FILTER: ESP packets with SPI that match FILTER
    tcpdump -r "$pcap" -n "$2" 2>/dev/null | grep -c "ESP(spi=$1," || true
}
total=$(count)
icmp=$(count icmp)
not_esp=$(count "not esp")
members=$(count "esp and host $LAB_GMA_WAN and host $LAB_GMB_WAN")
a1b1=$(count_spi "$AB" "esp and src host $LAB_HOST_A1 and dst host $LAB_HOST_B1")
b1a1=$(count_spi "$BA" "esp and src host $LAB_HOST_B1 and dst host $LAB_HOST_A1")
a2b2=$(count_spi "$AB" "esp and src host $LAB_HOST_A2 and dst host $LAB_HOST_B2")
b2a2=$(count_spi "$BA" "esp and src host $LAB_HOST_B2 and dst host $LAB_HOST_A2")
# a1 -> b1 carries a1's requests and a1's replies to b1's requests; the same for the others
want_a1b1=$((sent[a1b1] + sent[b1a1])) want_b1a1=$((sent[a1b1] + sent[b1a1]))
want_a2b2=${sent[a2b2]} want_b2a2=${sent[a2b2]}
want_total=$((want_a1b1 + want_b1a1 + want_a2b2 + want_b2a2))
[ "$icmp" = 0 ] && ok "no cleartext ICMP on the WAN" || fail "$icmp cleartext ICMP packets on the WAN"
[ "$not_esp" = 0 ] && ok "all $total IPv4 packets on the WAN (GDOI aside) are ESP" ||
    fail "$not_esp of $total WAN packets are not ESP"
[ "$members" = 0 ] && ok "no ESP between the members' WAN addresses (addresses are preserved)" ||
    fail "$members ESP packets carry the members' WAN addresses, not the hosts'"
check_count() {
    [ "$2" = "$3" ] && ok "$1: $2 ESP packets" || fail "$1: $2 ESP packets, expected $3"
}
check_count "outer $LAB_HOST_A1 > $LAB_HOST_B1, TEK $AB" "$a1b1" "$want_a1b1"
check_count "outer $LAB_HOST_B1 > $LAB_HOST_A1, TEK $BA" "$b1a1" "$want_b1a1"
check_count "outer $LAB_HOST_A2 > $LAB_HOST_B2, TEK $AB" "$a2b2" "$want_a2b2"
check_count "outer $LAB_HOST_B2 > $LAB_HOST_A2, TEK $BA" "$b2a2" "$want_b2a2"
[ "$total" = "$want_total" ] && ok "$total packets on the WAN in all, one per echo request/reply" ||
    fail "$total packets on the WAN, expected $want_total"

# ---------------------------------------------------------------- counters
check_counter() { # NODE SPI DST WANT
    local got
    got=$(state_packets "$1" "$2" "$3") || got=""
    [ "$got" = "$4" ] && ok "$1 state TEK $2 -> $3: $got packets" ||
        fail "$1 state TEK $2 -> $3 counted '${got}' packets, expected $4"
}
per_direction=$((want_a1b1 + want_a2b2)) # a -> b packets = b -> a packets
for node in gm-a gm-b; do
    check_counter "$node" "${out_spi[$node]}" "$GLAB_ANCHOR_REMOTE" "$per_direction"
    check_counter "$node" "${in_spi[$node]}" "$GLAB_ANCHOR_INBOUND" "$per_direction"
    xfrm_stat_check "$node"
    glab_status "$node" >"$GLAB_LOGS/$node.status.json" || fail "$node: gdoictl status --json failed"
    glab_json_check "$(cat <<'PY'
g = j['result']['groups'][0]
c = g['counters']
problems = []
if g['state'] != 'registered': problems.append(f"state {g['state']}")
if c['registrations'] != 1: problems.append(f"registrations {c['registrations']}")
if c['registration_failures'] != 0: problems.append(f"registration failures {c['registration_failures']}")
if c['pushes_rejected'] != 0: problems.append(f"rejected pushes {c['pushes_rejected']}")
print("; ".join(problems) if problems else f"counters {c}")
sys.exit(1 if problems else 0)
PY
)" <"$GLAB_LOGS/$node.status.json" >"$GLAB_LOGS/$node.counters.txt" &&
        ok "$node gdoictl status: $(cat "$GLAB_LOGS/$node.counters.txt")" ||
        fail "$node gdoictl status: $(cat "$GLAB_LOGS/$node.counters.txt")"
done

[ "$(foreign_objects)" = "$foreign_before" ] &&
    ok "another IPsec daemon's 2 states and 3 policies on gm-a untouched while gdoid ran" ||
    fail "the foreign tunnel changed while gdoid ran: $(diff <(echo "$foreign_before") <(foreign_objects))"
glab_member_stop gm-a
[ "$GLAB_EXIT_STATUS" = 0 ] || fail "gdoid on gm-a exited $GLAB_EXIT_STATUS on SIGTERM"
leftover=$(lab_exec gm-a ip xfrm state list | grep -c '^src' || true)
[ "$(foreign_objects)" = "$foreign_before" ] && [ "$leftover" = 2 ] &&
    ok "gdoid stopped on gm-a: its states are gone, the other daemon's 2 states and 3 policies are byte for byte as before" ||
    fail "after gdoid stopped on gm-a: $leftover states left (want the foreign 2); foreign objects: $(diff <(echo "$foreign_before") <(foreign_objects))"

if ((failures)); then
    echo "$failures check(s) failed; captures and logs in $GLAB_LOGS"
    exit 1
fi
echo "group traffic works end to end: $total ESP packets on the WAN, outer addresses preserved"
