#!/usr/bin/env bash
# Pull rekeys while traffic flows: the key server makes new TEKs on its own before the old ones
# expire but never pushes them ([group.rekey] send = "none": a server whose pushes do not reach
# the members), so each member must pull them itself inside its pull window. Shortened times so
# that five rekeys fit in about a minute and a half (every figure is configuration):
#   TEK lifetime 32 s; the key server makes new TEKs when 16 s are left;
#   members pull when 12 s to 9 s are left (pull-window "12s-9s") and switch their senders to
#   the new TEK 4 s before the old one expires (activate-before-expiry "4s"; ATD 20 s is longer,
#   so the expiry rule decides), which leaves both members at least 5 s to have pulled it.
# Asserts, while host-a1 pings host-b1 as fast as the emulated machine allows:
#   - both members pull at least 5 times (`registrations` 6+, last_rekey "pull"), no push;
#   - not one echo is lost;
#   - the WAN capture shows the outbound SPI change at least 5 times, each time to a TEK not
#     used before (never back to an old one), always with the hosts' addresses;
#   - the pulls reuse each member's Phase 1 SA: the key server holds one per member;
#   - /proc/net/xfrm_stat stays all zero;
#   - gdoid grew each member's SA table to 1,024 buckets before it installed anything, and no
#     rekey resized it under traffic (one such resize lost an echo in CI before gdoid did so).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/lib/topology.sh"
. "$here/lib/static-esp.sh" # xfrm_stat_check
. "$here/lib/gdoi-lab.sh"
GLAB_DATAPATH_KEYS=yes
GLAB_TEK_LIFETIME=32
GLAB_KS_ATD=20
GLAB_KS_DTD=30
GLAB_KS_EXTRA='[group.rekey]
before-expiry = 16
send = "none"'
GLAB_MEMBER_EXTRA='rekey = { pull-window = "12s-9s", activate-before-expiry = "4s" }'
PULLS=5
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
ok() { echo "ok: $*"; }
group_json() { glab_status "$1" | glab_json "j['result']['groups'][0]$2"; }

lab_up
glab_up || { echo "FAIL: the members did not register (logs in $GLAB_LOGS)"; exit 1; }
ok "gm-a and gm-b registered with ks1 (TEK lifetime $GLAB_TEK_LIFETIME s, no pushes)"

declare -A table_before
for node in gm-a gm-b; do
    read -r states buckets <<<"$(glab_sa_table "$node")"
    table_before[$node]=$buckets
    ((buckets >= 1024)) && grep -q "kernel SA table grown from 8 to $buckets hash buckets" "$GLAB_LOGS/$node.gdoid.log" &&
        ok "$node: gdoid grew the SA table from 8 to $buckets buckets before installing its $states states" ||
        fail "$node: SA table of $buckets buckets for $states states (want >= 1024, grown by gdoid at start; log $GLAB_LOGS/$node.gdoid.log)"
done

lab_capture core to-gma "$GLAB_LOGS/pull.pcap" "esp and src host $LAB_HOST_A1"
ping_log=$GLAB_LOGS/pull-ping.txt
lab_bg host-a1 ping -n -q -i 0.002 -w 600 "$LAB_HOST_B1" >"$ping_log" 2>&1
ping_pid=$LAB_LAST_PID
ping_started=$SECONDS

# Five pulls each, about 16 s apart; then one more switch period so the last new TEK carries
# traffic before the ping stops.
deadline=$((SECONDS + 16 * PULLS + 60))
while ((SECONDS < deadline)); do
    a=$(group_json gm-a "['counters']['registrations']") b=$(group_json gm-b "['counters']['registrations']")
    ((a > PULLS && b > PULLS)) && break
    sleep 2
done
sleep 6
kill -ALRM "$ping_pid" 2>/dev/null || true
wait "$ping_pid" || true
duration=$((SECONDS - ping_started))
lab_capture_stop

for node in gm-a gm-b; do
    status=$(glab_status "$node")
    regs=$(glab_json "j['result']['groups'][0]['counters']['registrations']" <<<"$status")
    kind=$(glab_json "j['result']['groups'][0]['last_rekey']['kind']" <<<"$status")
    pushes=$(glab_json "j['result']['groups'][0]['counters']['pushes_accepted']" <<<"$status")
    ((regs > PULLS)) && [ "$kind" = pull ] && [ "$pushes" = 0 ] &&
        ok "$node pulled new keys $((regs - 1)) times by itself (last rekey: pull, no push)" ||
        fail "$node: registrations $regs, last rekey $kind, pushes $pushes (want > $PULLS, pull, 0); log $GLAB_LOGS/$node.gdoid.log"
done

glab_ping_report "$ping_log" "$duration" "the pull rekeys"
received=$GLAB_PING_RECEIVED

spi_sequence=$(glab_spi_sequence "$GLAB_LOGS/pull.pcap" "$LAB_HOST_A1" "$LAB_HOST_B1")
echo "SPIs of host-a1 -> host-b1 ESP on the WAN, in order: $spi_sequence"
switches=$(($(wc -w <<<"$spi_sequence") - 1))
distinct=$(tr ' ' '\n' <<<"$spi_sequence" | grep -c . | tr -d ' ')
unique=$(tr ' ' '\n' <<<"$spi_sequence" | grep . | sort -u | wc -l)
((switches >= PULLS)) && [ "$distinct" = "$unique" ] &&
    ok "outbound switched $switches times, each time to a TEK not used before" ||
    fail "outbound SPIs on the WAN: $spi_sequence (want >= $PULLS switches, never back to an old SPI)"
members=$(tcpdump -r "$GLAB_LOGS/pull.pcap" -n "host $LAB_GMA_WAN or host $LAB_GMB_WAN" 2>/dev/null | wc -l)
[ "$members" = 0 ] && ok "every ESP packet carried the hosts' addresses" || fail "$members ESP packets with a member's WAN address"

# One Phase 1 SA per member at the key server: every pull ran under the live one.
sas=$(glab_ks_command status ks1 | glab_json "j['phase1_sas']")
reused=$(grep -c "pulling new keys from .* under the live Phase 1 SA" "$GLAB_LOGS/gm-a.gdoid.log" || true)
[ "$sas" = 2 ] && ((reused >= PULLS)) &&
    ok "the pulls reused the members' Phase 1 SAs (key server holds $sas; gm-a logged $reused reuses)" ||
    fail "Phase 1 SAs at the key server: $sas (want 2); gm-a logged $reused pulls under the live SA"

for node in gm-a gm-b; do
    read -r states buckets <<<"$(glab_sa_table "$node")"
    [ "$buckets" = "${table_before[$node]}" ] &&
        ok "$node: no rekey resized the SA table ($buckets buckets, $states states now)" ||
        fail "$node: the SA table went from ${table_before[$node]} to $buckets buckets under traffic"
done
xfrm_stat_check gm-a gm-b
if ((failures)); then
    echo "$failures check(s) failed; captures and logs in $GLAB_LOGS"
    exit 1
fi
echo "pull rekey under traffic: $switches switches, $received echoes without loss"
