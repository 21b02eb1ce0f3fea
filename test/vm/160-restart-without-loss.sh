#!/usr/bin/env bash
# Restart without loss (issue 17). host-a1 pings host-b1 as fast as TCG allows (ping -i 0.002)
# through gm-a and gm-b while gm-a's gdoid goes away and comes back:
#   a. SIGKILL: the kernel keeps forwarding with the installed SAs, the tc-BPF filters stay on
#      wan0 and lan0 (gdoid's programs, their maps alive), the anchor stays on lo; the next
#      gdoid adopts them (log, `gdoictl status`: kernel adopted), registers again and replaces
#      them with its own (same SPIs): 0 echoes lost;
#   b. SIGTERM with `graceful-restart = true` (reload turns it on): gdoid exits 0 and leaves the
#      same; the next one adopts and registers: 0 echoes lost;
#   c. SIGTERM without it (reload turns it off): everything goes as before this option existed,
#      no state, policy, gdoid filter or anchor left (the echoes meanwhile are lost: counted,
#      not asserted); the next gdoid registers from scratch and traffic flows again.
# The packet counts of every step are printed (sent/received/lost). The core capture of a and b
# is decrypted (keys read from the kernel): outer = inner, next header 4, ICV good, no clear text.
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

lab_up
glab_up || { echo "FAIL: the members did not register (logs in $GLAB_LOGS)"; exit 1; }
ok "gm-a and gm-b registered with ks1 (TEKs $GLAB_TEK_SPI_AB, $GLAB_TEK_SPI_BA)"

spis_of() { lab_exec "$1" ip xfrm state | awk '/proto esp spi/ { print $4 }' | sort -u | tr '\n' ' '; }
policies_of() { lab_exec "$1" ip xfrm policy | grep -c '^src' || true; }
gdoid_filters() { # gdoid's tc-BPF filters on gm-a, one word per filter ("wan0/ingress ...")
    local dev dir
    for dev in wan0 lan0; do
        for dir in ingress egress; do
            [[ $(lab_exec gm-a tc filter show dev "$dev" "$dir" 2>/dev/null) == *gdoid_* ]] && printf '%s/%s ' "$dev" "$dir"
        done
    done
    return 0
}
anchor_on_lo() { # (not `ip | grep -q`: grep leaving early fails the pipe under pipefail)
    local addresses
    addresses=$(lab_exec gm-a ip -o addr show dev lo)
    [[ $addresses == *" $GLAB_ANCHOR_INBOUND/"* ]]
}

# restart_and_adopt STEP: gdoid on gm-a again; it adopts, registers, takes over
restart_and_adopt() {
    local log_lines
    log_lines=$(wc -l <"$GLAB_LOGS/gm-a.gdoid.log")
    glab_member_start gm-a || { fail "$1: gdoid did not start again"; return 1; }
    glab_wait_registered gm-a 90 || { fail "$1: gdoid did not register again"; return 1; }
    local deadline=$((SECONDS + 30))
    until tail -n +"$log_lines" "$GLAB_LOGS/gm-a.gdoid.log" | grep -q 'adoption ended (registered)'; do
        ((SECONDS < deadline)) || break
        sleep 0.3
    done
    local new
    new=$(tail -n +"$log_lines" "$GLAB_LOGS/gm-a.gdoid.log")
    grep -q 'adopted [1-9][0-9]* states and [1-9][0-9]* policies an earlier gdoid left' <<<"$new" &&
        grep -q 'adoption ended (registered)' <<<"$new" &&
        ok "$1: the new gdoid adopted what the old one left and took it over once registered" ||
        fail "$1: no adoption in the log ($GLAB_LOGS/gm-a.gdoid.log)"
    [ "$(glab_status gm-a | glab_json "j['result']['groups'][0]['kernel']['adopted']")" = false ] &&
        ok "$1: gdoictl status: kernel no longer adopted, own objects installed" ||
        fail "$1: status still says adopted"
    local spis
    spis=$(spis_of gm-a)
    [[ $spis == *"$GLAB_TEK_SPI_AB"* && $spis == *"$GLAB_TEK_SPI_BA"* ]] &&
        ok "$1: same TEKs installed after the restart ($spis)" || fail "$1: states after the restart: $spis"
}

# left_in_kernel STEP: after gdoid went without cleaning up
left_in_kernel() {
    local spis filters
    spis=$(spis_of gm-a) filters=$(gdoid_filters)
    [[ $spis == *"$GLAB_TEK_SPI_AB"* && $spis == *"$GLAB_TEK_SPI_BA"* ]] && (($(policies_of gm-a) > 0)) &&
        ok "$1: the group's states ($spis) and $(policies_of gm-a) policies stay in the kernel" ||
        fail "$1: kernel objects after the stop: states '$spis', $(policies_of gm-a) policies"
    [ "$filters" = "wan0/ingress wan0/egress lan0/ingress " ] && anchor_on_lo &&
        ok "$1: gdoid's tc-BPF filters stay attached ($filters) and the anchor on lo" ||
        fail "$1: filters left: '$filters', anchor on lo: $(anchor_on_lo && echo yes || echo no)"
    # the datapath keeps working with nobody to feed it: echoes still answered, seen right now
    local out
    out=$(lab_exec host-a2 ping -n -c 3 -i 0.2 -W 2 "$LAB_HOST_B2" 2>&1 | grep -o '[0-9]* received' || true)
    [ "$out" = "3 received" ] && ok "$1: with no gdoid running, host-a2 -> host-b2 still answered (3/3)" ||
        fail "$1: with no gdoid running, host-a2 -> host-b2: '$out' of 3"
}

# 256 octets hold these ESP packets whole (echoes of 64 octets), and the smaller ring slots
# keep tcpdump from dropping under load
lab_capture core to-gma "$GLAB_LOGS/restart.pcap" "net 10.0.0.0/8"
sa_records=$(glab_esp_sa_records gm-a)

# ---------------------------------------------------------------- a. SIGKILL
glab_ping_flood_start a
glab_member_stop gm-a KILL
[ "$GLAB_EXIT_STATUS" = 137 ] && ok "a: gdoid on gm-a killed (SIGKILL)" || fail "a: gdoid exit status $GLAB_EXIT_STATUS after SIGKILL"
left_in_kernel a
restart_and_adopt a
glab_ping_flood_stop a || failures=$((failures + 1))

# ---------------------------------------------------------------- b. SIGTERM, graceful-restart
sed -i 's/^\[daemon\]$/[daemon]\ngraceful-restart = true\nrestart-time = "120s"/' "${GLAB_CONFIG[gm-a]}"
out=$(glab_ctl gm-a reload 2>&1) && ok "b: graceful-restart turned on by reload ($out)" || fail "b: reload: $out"
glab_ping_flood_start b
glab_member_stop gm-a TERM
[ "$GLAB_EXIT_STATUS" = 0 ] && ok "b: gdoid exited 0 on SIGTERM" || fail "b: gdoid exit status $GLAB_EXIT_STATUS on SIGTERM"
grep -q 'graceful restart: leaving [1-9][0-9]* states, [1-9][0-9]* policies and the tc-BPF datapath' "$GLAB_LOGS/gm-a.gdoid.log" &&
    ok "b: the log says what it left for the next gdoid" || fail "b: no graceful-restart line in the log"
left_in_kernel b
restart_and_adopt b
glab_ping_flood_stop b || failures=$((failures + 1))
lab_capture_stop
xfrm_stat_check gm-a gm-b # a and b: nothing dropped by XFRM (c drops by design: fail-closed)

# ---------------------------------------------------------------- c. SIGTERM without it
sed -i '/^graceful-restart = true$/d; /^restart-time = /d' "${GLAB_CONFIG[gm-a]}"
out=$(glab_ctl gm-a reload 2>&1) && ok "c: graceful-restart turned off by reload ($out)" || fail "c: reload: $out"
glab_ping_flood_start c
glab_member_stop gm-a TERM
[ "$GLAB_EXIT_STATUS" = 0 ] && ok "c: gdoid exited 0 on SIGTERM" || fail "c: gdoid exit status $GLAB_EXIT_STATUS"
spis=$(spis_of gm-a) policies=$(policies_of gm-a) filters=$(gdoid_filters)
[ -z "$spis" ] && [ "$policies" = 0 ] && [ -z "$filters" ] && ! anchor_on_lo &&
    ok "c: without graceful-restart SIGTERM removes everything: no state, policy, gdoid filter or anchor left" ||
    fail "c: left after SIGTERM: states '$spis', $policies policies, filters '$filters', anchor $(anchor_on_lo && echo yes || echo no)"
glab_member_start gm-a && glab_wait_registered gm-a 90 && ok "c: gdoid registers again from scratch" ||
    fail "c: gdoid did not register again"
grep -c 'adopted [0-9]* states' "$GLAB_LOGS/gm-a.gdoid.log" | grep -qx 2 && ok "c: nothing adopted this time" ||
    fail "c: the third start adopted something"
sleep 2
glab_ping_flood_stop c expect-loss || failures=$((failures + 1))
out=$(lab_ping host-a1 "$LAB_HOST_B1" 5 2>&1 | grep -o '[0-9]* received' || true)
[ "$out" = "5 received" ] && ok "c: traffic flows again after the fresh registration (5/5)" || fail "c: after the restart: '$out' of 5"

# ---------------------------------------------------------------- the capture of a and b, decrypted
said=$(lab_capture_complete "$GLAB_LOGS/restart.pcap") && ok "$said" || fail "$said"
clear=$(tcpdump -r "$GLAB_LOGS/restart.pcap" -n "not esp and not (ip[6:2] & 0x1fff != 0)" 2>/dev/null | wc -l)
[ "$clear" = 0 ] && ok "a, b: no clear text between the LANs on the core" || fail "a, b: $clear packets in clear text on the core"
sa_opts=()
while read -r record; do sa_opts+=(-o "$record"); done <<<"$sa_records"
tshark -r "$GLAB_LOGS/restart.pcap" -n -o esp.enable_encryption_decode:TRUE -o esp.enable_authentication_check:TRUE \
    "${sa_opts[@]}" -Y esp -T fields -E occurrence=a -E aggregator='|' \
    -e ip.src -e ip.dst -e esp.protocol -e esp.icv_good >"$GLAB_LOGS/restart.decrypted.tsv" 2>"$GLAB_LOGS/tshark.log" || true
read -r packets problems < <(python3 - "$GLAB_LOGS/restart.decrypted.tsv" <<'PY'
import sys
packets = problems = 0
for line in open(sys.argv[1]):
    f = line.rstrip("\n").split("\t")
    if len(f) < 4:
        continue
    packets += 1
    src, dst = f[0].split("|"), f[1].split("|")
    good = len(src) == 2 and f[2] and int(f[2], 0) == 4 and f[3] in ("1", "True", "true") and (src[0], dst[0]) == (src[1], dst[1])
    problems += 0 if good else 1
print(packets, problems)
PY
)
((packets > 1000)) && [ "$problems" = 0 ] &&
    ok "a, b: $packets ESP packets decrypted, ICV good, outer addresses = inner, next header 4 (old and new gdoid alike)" ||
    fail "a, b: $packets ESP packets decrypted, $problems problem(s)"
cat "$GLAB_LOGS/counts.txt"
if ((failures)); then
    echo "$failures check(s) failed; captures and logs in $GLAB_LOGS"
    exit 1
fi
echo "SIGKILL and graceful SIGTERM: 0 echoes lost; plain SIGTERM cleans up"
