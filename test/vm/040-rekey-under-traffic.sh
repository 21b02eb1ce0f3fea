#!/usr/bin/env bash
# Rekeys while traffic flows, done by the daemon alone: gdoi-test-ks in ks1 pushes new TEKs
# (GROUPKEY-PUSH, push-now) five times, 8 s apart, while host-a1 pings host-b1 as fast as the
# emulated machine allows (ping -i 0.002, aiming at 500/s). Asserts what an operator of a Cisco
# or Juniper group would expect:
#   - both members accept every push (gdoictl: pushes_accepted 5, sequence advanced, new TEKs);
#   - the new TEKs' inbound states are installed at once, the senders switch to the new SPIs
#     after the key server's activation time delay (ATD 5 s): the WAN capture shows the old SPI
#     first, then the new one, never the members' own addresses;
#   - not one echo is lost across the five switches (make-before-break);
#   - a forged push (random KEK SPI) is refused and counted by reason, and changes nothing;
#   - the TEKs a push replaced leave at the DTD; a DELETE of the previous pair (delete-tek)
#     removes its states, while traffic keeps flowing on the newest;
#   - /proc/net/xfrm_stat stays all zero.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/lib/topology.sh"
. "$here/lib/static-esp.sh" # xfrm_stat_check
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

# ---------------------------------------------------------------- five pushes under traffic
REKEYS=5
lab_capture core to-gma "$GLAB_LOGS/rekey.pcap" "esp and src host $LAB_HOST_A1"
ping_log=$GLAB_LOGS/rekey-ping.txt
# As fast as the emulated machine allows, aiming at 500 echoes a second, for the whole series
# (stopped with SIGALRM after the last switch: ping prints its totals then, and background jobs
# of a script ignore SIGINT).
lab_bg host-a1 ping -n -q -i 0.002 -w 600 "$LAB_HOST_B1" >"$ping_log" 2>&1
ping_pid=$LAB_LAST_PID
ping_started=$SECONDS
sleep 3
declare -a pushed_spis=()
for ((r = 1; r <= REKEYS; r++)); do
    reply=$(glab_ks_push ks1) || { echo "FAIL: push-now $r refused: $reply"; exit 1; }
    mapfile -t new_spis < <(glab_json "' '.join(j['new_tek_spis'])" <<<"$reply" | tr ' ' '\n')
    push_seq=$(glab_json "j['sequence']" <<<"$reply")
    pushed_spis+=("${new_spis[@]}")
    echo "push $r: sequence $push_seq, new TEKs ${new_spis[*]}"
    for node in gm-a gm-b; do
        for ((i = 0; i < 50; i++)); do
            [ "$(group_json "$node" "j['result']['groups'][0]['sequence']")" = "$push_seq" ] && break
            sleep 0.2
        done
        for spi in "${new_spis[@]}"; do
            spis_of "$node" | grep -qx "$spi" ||
                fail "push $r: $node has no state for new TEK $spi: $(spis_of "$node" | tr '\n' ' ')"
        done
    done
    sleep 7 # ATD 5 s: the senders switch to the new TEKs before the next push
done
for node in gm-a gm-b; do
    status=$(glab_status "$node")
    accepted=$(glab_json "j['result']['groups'][0]['counters']['pushes_accepted']" <<<"$status")
    seq=$(glab_json "j['result']['groups'][0]['sequence']" <<<"$status")
    [ "$accepted" = "$REKEYS" ] && [ "$seq" = "$push_seq" ] &&
        ok "$node accepted all $REKEYS pushes (sequence $seq) and installed every new TEK's states at once" ||
        fail "$node: pushes_accepted $accepted, sequence $seq (want $REKEYS, $push_seq); log: $GLAB_LOGS/$node.gdoid.log"
done

kill -ALRM "$ping_pid" 2>/dev/null || true
wait "$ping_pid" || true
duration=$((SECONDS - ping_started))
lab_capture_stop
glab_ping_report "$ping_log" "$duration" "$REKEYS rekeys"
received=$GLAB_PING_RECEIVED

pcap=$GLAB_LOGS/rekey.pcap
spi_sequence=$(glab_spi_sequence "$pcap" "$LAB_HOST_A1" "$LAB_HOST_B1")
echo "SPIs of host-a1 -> host-b1 ESP on the WAN, in order: $spi_sequence"
switches=$(($(wc -w <<<"$spi_sequence") - 1))
first=$(awk '{ print $1 }' <<<"$spi_sequence")
all_new=1
for spi in $(cut -d' ' -f2- <<<"$spi_sequence"); do [[ " ${pushed_spis[*]} " == *" $spi "* ]] || all_new=0; done
[ "$first" = "$OLD_AB" ] && [ "$switches" = "$REKEYS" ] && [ "$all_new" = 1 ] &&
    ok "outbound switched exactly once per rekey ($REKEYS times), each time to a TEK the key server had just pushed" ||
    fail "outbound SPIs on the WAN: $spi_sequence (want $OLD_AB then one new TEK per push)"
members=$(tcpdump -r "$pcap" -n "host $LAB_GMA_WAN and host $LAB_GMB_WAN" 2>/dev/null | wc -l)
[ "$members" = 0 ] && ok "every ESP packet carried the hosts' addresses" || fail "$members ESP packets between the members' WAN addresses"
OLD_AB=$(awk '{ print $NF }' <<<"$spi_sequence")

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
OLD_AB=$GLAB_TEK_SPI_AB OLD_BA=$GLAB_TEK_SPI_BA
# The newest TEK pair is in use; delete the one before it (still held until its DTD or expiry).
DEL_A=${pushed_spis[-4]} DEL_B=${pushed_spis[-3]}
for spi in "$DEL_A" "$DEL_B"; do
    glab_ks_call ks1 "{\"command\":\"delete-tek\",\"group\":$GLAB_GROUP_ID,\"spi\":\"$spi\"}" >/dev/null ||
        fail "delete-tek $spi refused"
done
# DELETE honours the DTD (10 s); allow for TCG slowness.
for ((i = 0; i < 100; i++)); do
    left=$( (spis_of gm-a; spis_of gm-b) | grep -cx -e "$DEL_A" -e "$DEL_B" -e "$OLD_AB" -e "$OLD_BA" || true)
    [ "$left" = 0 ] && break
    sleep 0.3
done
[ "$left" = 0 ] && ok "the deleted TEKs' states are gone from both members" ||
    fail "$left states of the deleted TEKs remain: gm-a $(spis_of gm-a | tr '\n' ' ') gm-b $(spis_of gm-b | tr '\n' ' ')"
out=$(lab_ping host-b1 "$LAB_HOST_A1" 5) && grep -q " 5 received" <<<"$out" &&
    ok "traffic flows on the new TEKs after the delete" || fail "after the delete: $(grep 'packets transmitted' <<<"$out")"

xfrm_stat_check gm-a gm-b

if ((failures)); then
    echo "$failures check(s) failed; captures and logs in $GLAB_LOGS"
    exit 1
fi
echo "rekey under traffic: $REKEYS pushes, $received echoes without loss; forged push refused; deletes honoured"
