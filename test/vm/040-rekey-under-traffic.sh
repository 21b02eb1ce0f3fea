#!/usr/bin/env bash
# A rekey while traffic flows, done by the daemon alone: gdoi-test-ks in ks1 pushes new TEKs
# (GROUPKEY-PUSH, push-now) while host-a1 pings host-b1 five times a second. Asserts what an
# operator of a Cisco or Juniper group would expect:
#   - both members accept the push (gdoictl: pushes_accepted 1, sequence advanced, new TEK SPIs);
#   - the new TEKs' inbound states are installed at once, the senders switch to the new SPIs
#     after the key server's activation time delay (ATD 5 s): the WAN capture shows the old SPI
#     first, then the new one, never the members' own addresses;
#   - not one echo is lost across the switch (make-before-break);
#   - a forged push (random KEK SPI) is refused and counted by reason, and changes nothing;
#   - a DELETE of the old TEKs (delete-tek) removes their states once the deactivation time
#     delay has passed, while traffic keeps flowing on the new ones;
#   - /proc/net/xfrm_stat stays all zero.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/lib/topology.sh"
. "$here/lib/static-esp.sh" # xfrm_stat_errors
. "$here/lib/gdoi-lab.sh"
GLAB_DATAPATH_KEYS=yes
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
ok() { echo "ok: $*"; }
OLD_AB=$GLAB_TEK_SPI_AB OLD_BA=$GLAB_TEK_SPI_BA

lab_up
glab_up || { echo "FAIL: the members did not register (logs in $GLAB_LOGS)"; exit 1; }
ok "gm-a and gm-b registered with ks1 (TEKs $OLD_AB, $OLD_BA)"

# spis_of NODE: the SPIs of NODE's ESP states, one per line ("0x..." lower case)
spis_of() { lab_exec "$1" ip xfrm state | awk '/proto esp spi/ { print $4 }' | sort -u; }
state_exists() { lab_exec "$1" ip xfrm state list dst "$3" proto esp spi "$2" 2>/dev/null | grep -q "spi $2"; }
group_json() { glab_status "$1" | glab_json "$2"; }

# ---------------------------------------------------------------- push under traffic
lab_capture core to-gma "$GLAB_LOGS/rekey.pcap" "esp"
ping_log=$GLAB_LOGS/rekey-ping.txt
lab_exec host-a1 ping -n -i 0.2 -c 150 -W 2 "$LAB_HOST_B1" >"$ping_log" 2>&1 &
ping_pid=$!
sleep 3
reply=$(glab_ks_push ks1) || { echo "FAIL: push-now refused: $reply"; exit 1; }
echo "push-now: $reply"
mapfile -t new_spis < <(glab_json "' '.join(j['new_tek_spis'])" <<<"$reply" | tr ' ' '\n')
push_seq=$(glab_json "j['sequence']" <<<"$reply")
[ "${#new_spis[@]}" = 2 ] && ok "the key server pushed two new TEKs: ${new_spis[*]} (sequence $push_seq)" ||
    fail "push-now named ${#new_spis[@]} new TEKs"

for node in gm-a gm-b; do
    for ((i = 0; i < 50; i++)); do
        [ "$(group_json "$node" "j['result']['groups'][0]['counters']['pushes_accepted']")" -ge 1 ] && break
        sleep 0.2
    done
    status=$(glab_status "$node")
    accepted=$(glab_json "j['result']['groups'][0]['counters']['pushes_accepted']" <<<"$status")
    seq=$(glab_json "j['result']['groups'][0]['sequence']" <<<"$status")
    teks=$(glab_json "' '.join(sorted(t['spi'] for t in j['result']['groups'][0]['teks']))" <<<"$status")
    [ "$accepted" = 1 ] && [ "$seq" = "$push_seq" ] &&
        ok "$node accepted the push: sequence $seq, TEKs $teks" ||
        fail "$node: pushes_accepted $accepted, sequence $seq (want 1, $push_seq); log: $GLAB_LOGS/$node.gdoid.log"
    for spi in "${new_spis[@]}"; do
        spis_of "$node" | grep -qx "$spi" && ok "$node installed the state(s) of new TEK $spi" ||
            fail "$node has no state for new TEK $spi: $(spis_of "$node" | tr '\n' ' ')"
    done
done

wait "$ping_pid" || true
lab_capture_stop
received=$(awk '/packets transmitted/ { print $4 }' "$ping_log")
[ "$received" = 150 ] && ok "150/150 echoes answered across the rekey" ||
    fail "echoes lost across the rekey: $(grep 'packets transmitted' "$ping_log")"

pcap=$GLAB_LOGS/rekey.pcap
spi_sequence=$(tcpdump -r "$pcap" -n "src host $LAB_HOST_A1 and dst host $LAB_HOST_B1" 2>/dev/null |
    sed -n 's/.*ESP(spi=\(0x[0-9a-f]*\),.*/\1/p' | uniq | tr '\n' ' ')
echo "SPIs of host-a1 -> host-b1 ESP on the WAN, in order: $spi_sequence"
first=$(awk '{ print $1 }' <<<"$spi_sequence") last=$(awk '{ print $NF }' <<<"$spi_sequence")
[ "$first" = "$OLD_AB" ] && [[ " ${new_spis[*]} " == *" $last "* ]] && [ "$(wc -w <<<"$spi_sequence")" = 2 ] &&
    ok "outbound switched once, from $first to $last, after the activation time delay" ||
    fail "outbound SPIs on the WAN: $spi_sequence (want $OLD_AB then one of ${new_spis[*]})"
members=$(tcpdump -r "$pcap" -n "host $LAB_GMA_WAN and host $LAB_GMB_WAN" 2>/dev/null | wc -l)
[ "$members" = 0 ] && ok "every ESP packet carried the hosts' addresses" || fail "$members ESP packets between the members' WAN addresses"

# ---------------------------------------------------------------- a forged push changes nothing
lab_exec ks1 python3 - "$LAB_GMA_WAN" <<'PY'
import os, socket, struct, sys
body = os.urandom(64)
# ISAKMP header: random cookies, next payload HASH(8), version 1.0, GROUPKEY-PUSH (33), E flag
header = os.urandom(16) + struct.pack("!BBBBII", 8, 0x10, 33, 1, 0, 28 + len(body))
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("0.0.0.0", 0)) # the key server holds port 848 here; gdoid does not care
s.sendto(header + body, (sys.argv[1], 848))
PY
for ((i = 0; i < 25; i++)); do
    n=$(group_json gm-a "j['result']['groups'][0]['counters']['pushes_rejected_by_reason'].get('unknown_kek_spi', 0)")
    [ "$n" = 1 ] && break
    sleep 0.2
done
state=$(group_json gm-a "j['result']['groups'][0]['state']")
[ "$n" = 1 ] && [ "$state" = registered ] && ok "a forged push was refused (unknown_kek_spi 1), the group stays registered" ||
    fail "forged push: unknown_kek_spi $n, state $state"

# ---------------------------------------------------------------- delete the old TEKs
for spi in "$OLD_AB" "$OLD_BA"; do
    glab_ks_call ks1 "{\"command\":\"delete-tek\",\"group\":$GLAB_GROUP_ID,\"spi\":\"$spi\"}" >/dev/null ||
        fail "delete-tek $spi refused"
done
# DELETE honours the DTD (10 s); allow for TCG slowness.
for ((i = 0; i < 100; i++)); do
    left=$( (spis_of gm-a; spis_of gm-b) | grep -cx -e "$OLD_AB" -e "$OLD_BA" || true)
    [ "$left" = 0 ] && break
    sleep 0.3
done
[ "$left" = 0 ] && ok "the deleted TEKs' states are gone from both members" ||
    fail "$left states of the deleted TEKs remain: gm-a $(spis_of gm-a | tr '\n' ' ') gm-b $(spis_of gm-b | tr '\n' ' ')"
out=$(lab_ping host-b1 "$LAB_HOST_A1" 5) && grep -q " 5 received" <<<"$out" &&
    ok "traffic flows on the new TEKs after the delete" || fail "after the delete: $(grep 'packets transmitted' <<<"$out")"

for node in gm-a gm-b; do
    errors=$(xfrm_stat_errors "$node")
    [ -z "$errors" ] && ok "$node /proc/net/xfrm_stat: all zero" || fail "$node /proc/net/xfrm_stat: $(tr '\n' ' ' <<<"$errors")"
done

if ((failures)); then
    echo "$failures check(s) failed; captures and logs in $GLAB_LOGS"
    exit 1
fi
echo "rekey under traffic: switched from $OLD_AB to ${new_spis[*]} without loss; forged push refused; deletes honoured"
