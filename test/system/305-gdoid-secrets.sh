#!/usr/bin/env bash
# Secrets stay inside gdoid (issue #17). gdoid in namespace "gm" registers with gdoi-test-ks,
# takes a GROUPKEY-PUSH (new TEKs and a new KEK) and pulls new keys once the KEK runs out (the
# key server makes new TEKs every 10 s without pushing them). Asserts:
#   1. the process is not dumpable (prctl PR_SET_DUMPABLE 0 in main): gdoid runs with gid
#      nogroup (setpriv), and the kernel hands a non-dumpable process's /proc/PID entries to
#      root, so /proc/PID/mem's group is 0, where a dumpable process under the same setpriv
#      (the control, `sleep`) shows 65534;
#   2. no key reached a log or a status: every key the key server handed out along the way
#      (its test-only `secrets` command: KEK key, TEK cipher and integrity keys, read after the
#      registration, the push and the pull) and the PSK are searched for in gdoid's log, every
#      `gdoictl status --json` and `gdoictl status` output of the scenario, raw and in hex
#      (lower and upper case). The SKEYIDs and the DH secret never leave the process (no
#      command reports them), so they cannot be searched for here: they live in SecretBytes and
#      are never formatted. The search is proven able to fail first, on a file holding a key.
. "$(dirname "$0")/lib.sh"
st_init
: "${GDOI_TEST_KS:?GDOI_TEST_KS must name gdoi-test-ks}"
command -v setpriv >/dev/null || { echo "setpriv (util-linux) is needed" >&2; exit 77; }
PYTHON3=$(python3 -c 'import sys; print(sys.executable)')
python3() { "$PYTHON3" "$@"; }

st_ks_lab 10.86.0
ST_KS_SEQUENCE=5 ST_KEK_LIFETIME=40
st_ks_group_config ks "$KS_ADDR" '[group.gap]
atd = 0
dtd = 1

[group.rekey]
before-expiry = 3590
send = "none"'
st_ks_start "$ST_DIR/ks.toml" ks

# gdoid as root with gid nogroup: a dumpable process's /proc/PID files would then belong to
# group nogroup. The wrapper execs, so $ST_GDOID_PID is gdoid's PID.
real_gdoid=$GDOID
GDOID="$ST_DIR/gdoid-nogroup"
printf '#!/bin/sh\nexec setpriv --regid=65534 --clear-groups %q "$@"\n' "$real_gdoid" >"$GDOID"
chmod 755 "$GDOID"

ST_SOCKET="$ST_DIR/run/control"
ST_GDOID_EXTRA='rekey = { pull-window = "25s-20s" }'
st_gdoid_group_config "$ST_DIR/gdoid.conf" "$KS_ADDR"
ST_NETNS=$GM_NS
st_start_gdoid "$ST_DIR/gdoid.conf"

# ---------------------------------------------------------------- 1. not dumpable
setpriv --regid=65534 --clear-groups sleep 60 &
control_pid=$!
st_cleanup_push "kill $control_pid"
sleep 0.2
st_assert_eq 65534 "$(stat -c %g /proc/$control_pid/mem)" \
    "group of /proc/PID/mem of a dumpable process under setpriv --regid=65534 (the control)"
st_assert_eq 65534 "$(awk '/^Gid:/ {print $3}' /proc/$ST_GDOID_PID/status)" "gdoid's saved gid"
st_assert_eq 0 "$(stat -c %g /proc/$ST_GDOID_PID/mem)" \
    "group of gdoid's /proc/PID/mem (root when the process is not dumpable)"
st_assert_eq 0 "$(stat -c %g /proc/$ST_GDOID_PID/environ)" "group of gdoid's /proc/PID/environ"
st_pass "gdoid is not dumpable: its /proc entries belong to root, not to its gid"

# ---------------------------------------------------------------- 2. keys in no output
snapshot=0
snapshot() { # every status output, kept for the search
    snapshot=$((snapshot + 1))
    st_status_json >"$ST_DIR/out-status-$snapshot.json" || true
    "$GDOICTL" --socket "$ST_SOCKET" status >"$ST_DIR/out-status-$snapshot.txt" 2>&1 || true
    st_ks_control '{"command":"secrets"}' ks >>"$ST_DIR/secrets.jsonl"
}
group_field() { st_status_json | st_json "j['result']['groups'][0]$1"; }

st_wait_group "g['state'] == 'registered'" 30 "registration"
snapshot
st_ks_control '{"command":"push-now","group":4321,"kek":true}' ks >/dev/null
st_wait_group "g['counters']['pushes_accepted'] >= 1" 15 "the push (new TEKs and KEK)"
snapshot
registrations=$(group_field "['counters']['registrations']")
st_wait_group "g['counters']['registrations'] > $registrations and g['state'] == 'registered'" 45 \
    "the pull for the expiring KEK"
snapshot
st_pass "registered, took a push and pulled ($snapshot status snapshots)"

# search KEYS_FILE PSK FILE...: every key, raw and in hex either case, in every FILE; prints
# "KIND found in FILE" for each hit and fails when there is one.
search() {
    python3 - "$@" <<'PY'
import json, sys
keys_file, psk, files = sys.argv[1], sys.argv[2].encode(), sys.argv[3:]
keys = {psk: "the PSK"}
for line in open(keys_file):
    for g in json.loads(line)["groups"]:
        for i, k in enumerate(g["keys"]):
            keys[bytes.fromhex(k)] = "key %d of group %d (%s...)" % (i, g["group"], k[:8])
assert len(keys) >= 4, keys.values()
found = 0
for name in files:
    data = open(name, "rb").read()
    for key, what in keys.items():
        for form in (key, key.hex().encode(), key.hex().upper().encode()):
            if len(key) >= 8 and form in data:
                print("%s found in %s" % (what, name))
                found += 1
print("%d keys searched in %d files" % (len(keys), len(files)), file=sys.stderr)
sys.exit(1 if found else 0)
PY
}
# The search can fail: a file with the first TEK key in upper-case hex is caught.
python3 -c 'import json,sys; print(json.loads(open(sys.argv[1]).readline())["groups"][0]["keys"][1].upper())' \
    "$ST_DIR/secrets.jsonl" >"$ST_DIR/planted.txt"
if search "$ST_DIR/secrets.jsonl" "$ST_PSK" "$ST_DIR/planted.txt" >/dev/null 2>&1; then
    st_fail "the key search did not find a key planted in a file"
fi
st_stop_gdoid TERM
hits=$(search "$ST_DIR/secrets.jsonl" "$ST_PSK" "$ST_DIR/gdoid.log" "$ST_DIR"/out-status-*) ||
    st_fail "key material in gdoid's output: $hits"
st_assert_contains "$(cat "$ST_DIR/gdoid.log")" "accepted" "the log covers the push"
st_pass "no PSK, KEK or TEK key in gdoid's log or any status output"
