#!/usr/bin/env bash
# SIGHUP: a broken file is refused with its position in the log and the old configuration
# stays (status still shows it, and says why); a valid change is applied and only the groups
# that changed are reported as changed.
. "$(dirname "$0")/lib.sh"
st_init
st_netns_create gdoid-003
st_example_config "$ST_DIR/gdoid.conf"
st_notify_listen
st_start_gdoid "$ST_DIR/gdoid.conf"
cp "$ST_DIR/gdoid.conf" "$ST_DIR/good.conf"

# Break it: a typo in a key of the second group.
sed -i 's/^lan-interfaces = \["eth3"\]/lan-interfcs = ["eth3"]/' "$ST_DIR/gdoid.conf"
line=$(grep -n '^lan-interfcs' "$ST_DIR/gdoid.conf" | cut -d: -f1)
kill -HUP "$ST_GDOID_PID"
st_wait_for_log "reload refused: 2 error\(s\) in $ST_DIR/gdoid.conf; keeping the previous configuration"
grep -qF "error: reload: $ST_DIR/gdoid.conf:$line:1: unknown key \`lan-interfcs\` in [[group]]; did you mean \`lan-interfaces\`?" "$ST_DIR/gdoid.log" ||
    st_fail "the log does not name the unknown key with its position"
kill -0 "$ST_GDOID_PID" || st_fail "gdoid died on a broken reload"
st_pass "a broken file is refused, the log names line $line"

json=$("$GDOICTL" --socket "$ST_SOCKET" status --json)
st_json_check "status after the refused reload" "
r = j['result']
assert [g['name'] for g in r['groups']] == ['wan', 'branch-v6'], r['groups']
assert r['daemon']['config_error'].startswith('$ST_DIR/gdoid.conf:'), r['daemon']
assert 'is missing the required key' in r['daemon']['config_error'], r['daemon']
assert r['daemon']['config_error'].endswith('(and 1 more)'), r['daemon']
" <<<"$json"
out=$("$GDOICTL" --socket "$ST_SOCKET" status)
st_assert_contains "$out" "last reload refused: $ST_DIR/gdoid.conf:" "human status shows the refused reload"
st_assert_contains "$out" "group branch-v6 (id 5678): failed" "the old groups are still there"
grep -q "RELOADING=1 MONOTONIC_USEC=[0-9]* " "$ST_DIR/notify.log" || st_fail "no RELOADING=1 with MONOTONIC_USEC"
st_pass "the previous configuration stays in force and status says why"

# A valid change: a new server for wan, branch-v6 untouched, a third group added.
cp "$ST_DIR/good.conf" "$ST_DIR/gdoid.conf"
sed -i 's/^servers = \["192.0.2.1", "192.0.2.2:848"\]/servers = ["192.0.2.1", "192.0.2.2:848", "192.0.2.3"]/' "$ST_DIR/gdoid.conf"
cat >>"$ST_DIR/gdoid.conf" <<CONF

[[group]]
name = "lab"
id = 99
servers = ["198.51.100.1"]
# what the one datapath holds is group wan's (gdoid --check-config refuses anything else)
local-address = "192.0.2.10"
pre-shared-key = { file = "$ST_DIR/wan.key" }
wan-interface = "eth0"
lan-interfaces = ["eth8"]
bypass-mark = "0x00100000"
tcp-mss = 1360
CONF
kill -HUP "$ST_GDOID_PID"
st_wait_for_log "reload: added lab; changed wan \(servers\)"
st_wait_for_log "\[group wan\] configuration changed \(servers\); registering again"
json=$("$GDOICTL" --socket "$ST_SOCKET" status --json)
st_json_check "status after the applied reload" "
r = j['result']
assert [g['name'] for g in r['groups']] == ['wan', 'branch-v6', 'lab'], r['groups']
assert r['groups'][0]['servers'][2] == '192.0.2.3:848', r['groups'][0]
assert r['daemon']['config_error'] is None, r['daemon']
" <<<"$json"
st_pass "a valid change is applied; only wan changed, lab added"

# The same over the control socket, reporting errors to the caller.
echo 'broken = [' >>"$ST_DIR/gdoid.conf"
st_run out status "$GDOICTL" --socket "$ST_SOCKET" reload
st_assert_eq 1 "$status" "gdoictl reload of a broken file exit status"
st_assert_contains "$out" "config-invalid: the configuration has errors; the previous one stays in force" "gdoictl reload explains"
st_assert_contains "$out" "$ST_DIR/gdoid.conf:" "gdoictl reload shows the position"
st_pass "gdoictl reload reports a broken file"

st_stop_gdoid TERM
st_assert_eq 0 "$ST_GDOID_STATUS" "gdoid exit status"
! grep -qF "$ST_PSK" "$ST_DIR/gdoid.log" || st_fail "the pre-shared key appears in the log"
