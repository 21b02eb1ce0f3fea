#!/usr/bin/env bash
# A key server that restarts with new keys and a new KEK while the members are registered
# (issue 17, restart without loss). host-a1 pings host-b1 as fast as TCG allows (ping -i 0.002)
# through gm-a and gm-b while ks1 is stopped and started again (glab_ks_restart: its next KEK
# signing key made before (glab_ks_next_key), so the server is gone only while it starts, not
# also while an RSA key is made; TEKs of an hour, far longer than that). The restarted server has a
# new KEK (SPI, key, signing key) and new TEKs $NEW_AB/$NEW_BA, and its first push (push-now: a
# rekey with TEKs newer still) goes to the KEK's multicast group (routed by core) under that KEK.
# Asserts:
#   - both members refuse the push (they cannot authenticate it: `unknown_kek_spi` counted, no
#     push accepted) and take it as the sign that the server lost its state: each registers
#     again with a new Main Mode (log, `registrations`), without dropping the SAs in use;
#   - both then hold the server's new KEK (`gdoictl status`, the key server's own status) and its
#     TEKs; host-a1's echoes leave under the old TEK until the ATD has passed and then under
#     the pushed TEK, never the one in between (policy/tek_schedule.cpp), SPIs in order;
#   - 0 echoes lost across the restart and the switch (counts printed);
#   - the core capture decrypted with every key the kernel held (collected before and after):
#     ESP only, outer addresses = inner, next header 4, ICV good; no clear text; xfrm_stat clean.
# The other sign, a pull under the old Phase 1 SA that goes unanswered (Main Mode follows at
# once), is shown by unit-daemon-registration; here the hour-long TEKs leave no pull in the run.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/lib/topology.sh"
. "$here/lib/static-esp.sh" # xfrm_stat_check
. "$here/lib/gdoi-lab.sh"
GLAB_DATAPATH_KEYS=yes
# TEKs of an hour (the default): a loaded machine once took 5 minutes from the key server's
# start to its restart. The ATD is what lets the members re-register at different moments.
GLAB_KS_ATD=30
GLAB_KS_DTD=40
# The restarted server has no members to push to: its push reaches them only as multicast, which
# core routes from br-ks to both members (as 120 does).
GLAB_KS_MULTICAST_TTL=4
NEW_AB=0x20000101 NEW_BA=0x20000102
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
ok() { echo "ok: $*"; }
command -v tshark >/dev/null || { echo "FAIL: tshark is needed"; exit 1; }
group_json() { glab_status "$1" | glab_json "j['result']['groups'][0]$2"; }
ks_kek() { glab_ks_command status | glab_json "j['groups'][0]['kek']['spi']" 2>/dev/null || true; }
# packets gm-a sent under SPI $1: the counter of its outbound state (to the remote anchor)
sent_under() {
    lab_exec gm-a ip -s xfrm state | awk -v spi="$1" -v dst="$GLAB_ANCHOR_REMOTE" '
        /^src / { here = ($4 == dst); current = 0 }
        /proto esp spi/ { mine = here && index($4, spi) == 1 } # -s: "0x20000101(536871169)"
        /lifetime current:/ { current = mine }
        current && !done && /\(packets\)/ { sub(/\(packets\).*/, ""); sub(/.* /, ""); print; done = 1 }'
    # (awk reads to the end: an early exit would kill ip with SIGPIPE, which pipefail and set -e
    # turn into the scenario's end, exit 141)
}

lab_up
lab_multicast_routing core br-ks "to-gma to-gmb" 239.192.0.1 "$LAB_KS1"
glab_up || { echo "FAIL: the members did not register (logs in $GLAB_LOGS)"; exit 1; }
old_kek=$(group_json gm-a "['kek']['spi']")
ok "gm-a and gm-b registered with ks1 (KEK $old_kek, TEKs $GLAB_TEK_SPI_AB/$GLAB_TEK_SPI_BA)"
records=$GLAB_LOGS/sa-records.txt # every TEK key the kernel held, for the decryption at the end
glab_esp_sa_records gm-a >"$records"
# follow STEP KEK: wait (120 s at most) until both members hold the key server's KEK KEK
follow() {
    local step=$1 kek=$2 a="" b="" deadline=$((SECONDS + 120))
    while ((SECONDS < deadline)); do
        a=$(group_json gm-a "['kek']['spi']") b=$(group_json gm-b "['kek']['spi']")
        [ "$a" = "$kek" ] && [ "$b" = "$kek" ] && break
        sleep 0.5
    done
    [ "$a" = "$kek" ] && [ "$b" = "$kek" ] && ok "$step: both members follow the restarted key server: KEK $kek" ||
        fail "$step: the members did not follow: gm-a KEK $a, gm-b KEK $b (ks1's $kek)"
}
# sending STEP SPI: wait (ATD + 30 s at most) until gm-a's outbound state SPI carried 100 packets
sending() {
    local n="" deadline=$((SECONDS + GLAB_KS_ATD + 30))
    while ((SECONDS < deadline)); do
        n=$(sent_under "$2")
        [ -n "$n" ] && ((n > 100)) && break
        sleep 0.5
    done
    echo "$1: gm-a sent ${n:-no} packets under $2"
    glab_esp_sa_records gm-a >>"$records"
}
# step_begins: the registration counts and log positions at the start of a step; step_log STEP
# GM: the lines GM logged since (a file); counter EXPR: a counter of the status in $json
declare -A registrations=() log_from=()
step_begins() {
    local gm
    for gm in gm-a gm-b; do
        registrations[$gm]=$(group_json "$gm" "['counters']['registrations']")
        log_from[$gm]=$(($(wc -l <"$GLAB_LOGS/$gm.gdoid.log") + 1))
    done
}
step_log() { tail -n +"${log_from[$2]}" "$GLAB_LOGS/$2.gdoid.log" >"$GLAB_LOGS/$2.$1.log"; echo "$GLAB_LOGS/$2.$1.log"; }
counter() { glab_json "j['result']['groups'][0]['counters']$1" <<<"$json"; }
# has_teks STEP GM SPI...: gdoictl status of GM lists every SPI
has_teks() {
    local step=$1 gm=$2 teks spi missing=""
    shift 2
    teks=$(glab_json "' '.join(t['spi'] for t in j['result']['groups'][0]['teks'])" <<<"$json")
    for spi in "$@"; do [[ " $teks " == *" $spi "* ]] || missing+=" $spi"; done
    [ -z "$missing" ] && ok "$step: $gm: gdoictl status lists the restarted server's TEKs ($teks)" ||
        fail "$step: $gm: TEKs$missing missing from gdoictl status ($teks)"
}

glab_ks_next_key ks1 # before the flood: only the restart itself falls into it
lab_capture core to-gma "$GLAB_LOGS/ks-restart.pcap" "net 10.0.0.0/8"

# ---------------------------------------------------------------- a. its first push says it
step_begins
glab_ping_flood_start a
GLAB_TEK_SPI_AB=$NEW_AB GLAB_TEK_SPI_BA=$NEW_BA glab_ks_restart ks1 || fail "a: ks1 did not start again"
new_kek=$(ks_kek)
[ -n "$new_kek" ] && [ "$new_kek" != "$old_kek" ] && ok "a: ks1 restarted with a new KEK $new_kek and TEKs $NEW_AB/$NEW_BA" ||
    fail "a: ks1's KEK after the restart: '$new_kek' (before: $old_kek)"
reply=$(glab_ks_push ks1) || fail "a: push-now refused: $reply"
pushed=$(glab_json "' '.join(j['new_tek_spis'])" <<<"$reply")
echo "a: ks1's first push (a rekey) under its new KEK: TEKs $pushed"
follow a "$new_kek"
pushed_ab=""
for spi in $pushed; do # the pushed TEK host-a1's echoes will leave under
    glab_status gm-a | glab_json_check "
import sys
t = [t for t in j['result']['groups'][0]['teks'] if t['spi'] == '$spi']
sys.exit(0 if t and t[0]['source'] == '$LAB_LAN_A' else 1)" && pushed_ab=$spi
done
sending a "${pushed_ab:-?}"
glab_ping_flood_stop a || failures=$((failures + 1))
for gm in gm-a gm-b; do
    json=$(glab_status "$gm") log=$(step_log a "$gm")
    refused=$(counter "['pushes_rejected_by_reason'].get('unknown_kek_spi', 0)") accepted=$(counter "['pushes_accepted']")
    n=$(counter "['registrations']")
    ((refused >= 1)) && [ "$accepted" = 0 ] &&
        ok "a: $gm: the push under the unknown KEK refused ($refused unknown_kek_spi), nothing of it accepted" ||
        fail "a: $gm: unknown_kek_spi $refused, pushes accepted $accepted"
    grep -q 'under a KEK SPI this member was never given: the server appears to have restarted' "$log" &&
        grep -q "Main Mode with $LAB_KS1: Phase 1 established" "$log" && ((n == registrations[$gm] + 1)) &&
        ok "a: $gm: registered again at once with a new Main Mode (registrations ${registrations[$gm]} -> $n)" ||
        fail "a: $gm: no re-registration on the unknown KEK (registrations ${registrations[$gm]} -> $n; $log)"
    has_teks a "$gm" "$NEW_AB" "$NEW_BA" $pushed
done

lab_capture_stop

spis=$(glab_spi_sequence "$GLAB_LOGS/ks-restart.pcap" "$LAB_HOST_A1" "$LAB_HOST_B1")
echo "host-a1 -> host-b1 SPIs on the wire, in order: $spis"
[ -n "$pushed_ab" ] && [ "$spis" = "$GLAB_TEK_SPI_AB $pushed_ab " ] &&
    ok "host-a1's echoes: $GLAB_TEK_SPI_AB until the ATD, then the pushed $pushed_ab (never $NEW_AB)" ||
    fail "host-a1's SPIs on the wire: '$spis' (want $GLAB_TEK_SPI_AB then ${pushed_ab:-the pushed TEK})"

said=$(lab_capture_complete "$GLAB_LOGS/ks-restart.pcap") && ok "$said" || fail "$said"
flows=$(glab_wire_flows "$GLAB_LOGS/ks-restart.pcap" "@$records")
printf '%s\n' "$flows"
read -r _ esp clear problems < <(grep '^SUMMARY' <<<"$flows")
((esp > 1000)) && [ "$clear" = 0 ] && [ "$problems" = 0 ] &&
    ok "$esp ESP packets decrypted with the keys of both servers' lives: ICV good, outer = inner, next header 4; no clear text" ||
    fail "core capture: $esp ESP, $clear clear, $problems problem(s) ($(wc -l <"$records") keys read from the kernel)"
xfrm_stat_check gm-a gm-b
cat "$GLAB_LOGS/counts.txt"
if ((failures)); then
    echo "$failures check(s) failed; captures and logs in $GLAB_LOGS"
    exit 1
fi
echo "key server restarted with new keys and KEK: members followed at its first push, 0 echoes lost"
