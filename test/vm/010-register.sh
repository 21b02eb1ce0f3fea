#!/usr/bin/env bash
# Both members register with the real test key server in the lab: gdoi-test-ks in ks1, gdoid in
# gm-a and gm-b (test/vm/lib/gdoi-lab.sh). Asserts what an operator checks: `gdoictl status
# --json` on each member says registered, with ks1 in use, and the KEK SPI and the TEK SPIs
# are exactly the ones the key server's `status` control command reports; the key server lists
# both members. gm-b's first server is an address nobody answers for, so gm-b shows the failover
# to ks1 (its counters and its log). gdoictl's exit codes: 0 ok, 2 usage, 3 no daemon, 4 not
# allowed. A wall clock step of +1 h and -2 h changes nothing (monotonic timers). gdoid stops on
# SIGTERM with status 0. No pre-shared key appears in any log.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/lib/topology.sh"
. "$here/lib/gdoi-lab.sh"
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
ok() { echo "ok: $*"; }

lab_up
echo "lab is up"
glab_ks_start ks1
ok "gdoi-test-ks runs in ks1 ($LAB_KS1), control socket ${GLAB_KS_SOCKET[ks1]}"
glab_member_config gm-a "$LAB_KS1"
glab_member_config gm-b "$GLAB_SILENT_KS" "$LAB_KS1"
echo "gdoid configurations (lan-prefixes written: $GLAB_DATAPATH_KEYS_USED):"
sed 's/^/    gm-b: /' "${GLAB_CONFIG[gm-b]}"
glab_member_start gm-a
glab_member_start gm-b
ok "gdoid answers gdoictl on gm-a and gm-b"

glab_wait_registered gm-a 90 && ok "gm-a registered" || fail "gm-a did not register"
# gm-b: 2 attempts at the silent server (first + 1 retry, 3 s apart), then ks1
glab_wait_registered gm-b 120 && ok "gm-b registered" || fail "gm-b did not register"
((failures == 0)) || exit 1

ks_status=$(glab_ks_command status) || { fail "key server status: $ks_status"; exit 1; }
printf '%s\n' "$ks_status" >"$GLAB_LOGS/ks1.status.json"
for gm in gm-a gm-b; do
    glab_status "$gm" >"$GLAB_LOGS/$gm.status.json" || fail "$gm: gdoictl status --json failed"
done
echo "gdoictl status on gm-b:"
glab_ctl gm-b status | sed 's/^/    /'

# One interpreter for every comparison (python3 starts slowly under emulation).
if python3 - "$GLAB_LOGS" "$LAB_KS1" "$GLAB_SILENT_KS" "$LAB_GMA_WAN" "$LAB_GMB_WAN" "$GLAB_GROUP_ID" <<'PY'; then
import json, sys
logs, ks1, silent, gma_wan, gmb_wan, group_id = sys.argv[1:]
ks = json.load(open(f"{logs}/ks1.status.json"))
failures = 0
def check(cond, text):
    global failures
    print(("ok: " if cond else "FAIL: ") + text)
    failures += not cond

kg = [g for g in ks["groups"] if g["group"] == int(group_id)]
check(len(kg) == 1, f"the key server holds group {group_id}")
kg = kg[0]
ks_kek = kg["kek"]["spi"].lower()
ks_teks = sorted(t["spi"] for t in kg["teks"])
members = sorted((m["address"], m["group"]) for m in ks["members"])
check(members == sorted([(gma_wan, int(group_id)), (gmb_wan, int(group_id))]),
      f"the key server lists both members: {members}")
for gm, failures_expected, servers in (("gm-a", 0, [f"{ks1}:848"]),
                                       ("gm-b", 2, [f"{silent}:848", f"{ks1}:848"])):
    s = json.load(open(f"{logs}/{gm}.status.json"))["result"]
    groups = s["groups"]
    check(len(groups) == 1, f"{gm}: one group")
    g = groups[0]
    check(g["id"] == int(group_id) and g["state"] == "registered", f"{gm}: group {g['id']} {g['state']}")
    check(g["servers"] == servers, f"{gm}: servers {g['servers']}")
    check(g["server_in_use"] == f"{ks1}:848", f"{gm}: server in use {g['server_in_use']}")
    kek = (g["kek"] or {}).get("spi", "").lower().removeprefix("0x")
    check(kek == ks_kek, f"{gm}: KEK SPI {kek} = the key server's {ks_kek}")
    teks = sorted(int(t["spi"], 16) for t in g["teks"])
    check(teks == ks_teks, f"{gm}: TEK SPIs {[hex(t) for t in teks]} = the key server's {[hex(t) for t in ks_teks]}")
    c = g["counters"]
    check(c["registrations"] == 1, f"{gm}: registrations {c['registrations']}")
    check(c["registration_failures"] == failures_expected,
          f"{gm}: registration failures {c['registration_failures']} (expected {failures_expected})")
    check(g["last_rekey"] and g["last_rekey"]["kind"] == "pull", f"{gm}: last rekey {g['last_rekey']}")
sys.exit(1 if failures else 0)
PY
    :
else
    failures=$((failures + 1))
fi

log_b=$GLAB_LOGS/gm-b.gdoid.log
grep -qF "registering with key server $GLAB_SILENT_KS:848 (attempt 2 of 2)" "$log_b" &&
    ok "gm-b log: retried the silent server" || fail "gm-b log has no retry of $GLAB_SILENT_KS"
grep -qF "registering with key server $LAB_KS1:848 (attempt 1 of 2)" "$log_b" &&
    ok "gm-b log: failed over to $LAB_KS1" || fail "gm-b log has no failover to $LAB_KS1"
if grep -qF "$GLAB_SILENT_KS" "$GLAB_LOGS/gm-a.gdoid.log"; then fail "gm-a tried the silent server"; fi

# gdoictl exit codes (gdoictl(8)): ok, usage, nobody listening, not allowed
expect_rc() { # expect_rc WANT WHAT CMD...
    local want=$1 what=$2 rc=0
    shift 2
    "$@" >/dev/null 2>&1 || rc=$?
    [ "$rc" = "$want" ] && ok "gdoictl $what: exit $rc" || fail "gdoictl $what: exit $rc, expected $want"
}
expect_rc 0 "status" glab_ctl gm-a status
expect_rc 0 "status --json" glab_ctl gm-a status --json
expect_rc 2 "with an unknown subcommand" glab_ctl gm-a no-such-command
expect_rc 3 "on a socket nobody listens on" "$GLAB_GDOICTL" --socket "$GLAB_RUN/no-such-socket" status
expect_rc 4 "reload as an unprivileged user" setpriv --reuid=65534 --regid=65534 --clear-groups \
    "$GLAB_GDOICTL" --socket "${GLAB_SOCKET[gm-a]}" reload

# The wall clock steps an hour forward, then two back (an NTP step, an operator's `date`): key
# expiry, rekey and pull timers run on monotonic time, so nothing expires, re-registers or
# rekeys, and the status still shows the time left, not a deadline an hour off. The guest has
# its own clock; it is set right again after.
# clock_view NODE: "registrations TEK-SPIs seconds-left-of-first-TEK" from gdoictl status --json
clock_view() {
    glab_status "$1" | python3 -c 'import json, sys, time
g = json.load(sys.stdin)["result"]["groups"][0]
print(g["counters"]["registrations"], ",".join(sorted(t["spi"] for t in g["teks"])), g["teks"][0]["expires"] - int(time.time()), g["state"])'
}
read -r regs0 teks0 left0 state0 <<<"$(clock_view gm-b)"
registering0=$(grep -c "registering with key server" "$log_b")
for step in +3600 -7200; do
    date -s "@$(($(date +%s) + step))" >/dev/null
    sleep 2 # a timer wrongly on the wall clock fires at once
    read -r regs teks left state <<<"$(clock_view gm-b)"
    if [ "$regs $teks $state" = "$regs0 $teks0 $state0" ] && ((left <= left0 + 1 && left > left0 - 60)) &&
        [ "$(grep -c "registering with key server" "$log_b")" = "$registering0" ]; then
        ok "wall clock stepped ${step} s: gm-b still registered once, same TEKs ($teks), ${left} s left (was ${left0} s), no new registration"
    else
        fail "wall clock stepped ${step} s: registrations $regs (was $regs0), TEKs $teks (was $teks0), state $state, ${left} s left (was ${left0} s)"
    fi
done
date -s "@$(($(date +%s) + 3600))" >/dev/null # undo both steps
if grep -qi "expired" "$log_b" "$GLAB_LOGS/gm-a.gdoid.log"; then fail "a key expired after the clock steps: $(grep -i expired "$log_b" | head -3)"; fi

# gdoid stops cleanly; then gdoictl finds nobody
glab_member_stop gm-a TERM
[ "$GLAB_EXIT_STATUS" = 0 ] && ok "gdoid on gm-a exits 0 on SIGTERM" || fail "gdoid on gm-a exited $GLAB_EXIT_STATUS on SIGTERM"
expect_rc 3 "after gdoid stopped" glab_ctl gm-a status
glab_member_stop gm-b TERM
[ "$GLAB_EXIT_STATUS" = 0 ] && ok "gdoid on gm-b exits 0 on SIGTERM" || fail "gdoid on gm-b exited $GLAB_EXIT_STATUS on SIGTERM"

# No pre-shared key in any log or output kept in the scratch folder.
leaks=0
for gm in gm-a gm-b; do
    if grep -rlF -- "${GLAB_PSK[$gm]}" "$GLAB_LOGS" 2>/dev/null; then leaks=1; fi
done
[ "$leaks" = 0 ] && ok "no pre-shared key in any log ($(ls "$GLAB_LOGS" | tr '\n' ' '))" ||
    fail "a pre-shared key appears in the files above"

if ((failures)); then
    echo "$failures check(s) failed; logs in $GLAB_LOGS"
    exit 1
fi
echo "both members registered with ks1; gm-b failed over from the silent server"
