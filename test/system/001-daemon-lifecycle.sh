#!/usr/bin/env bash
# gdoid starts in a fresh network namespace with the example configuration, tells systemd it is
# ready, serves `gdoictl status` (human and JSON), pings the watchdog, and on SIGTERM says it
# is stopping, exits 0 and removes its socket.
. "$(dirname "$0")/lib.sh"
st_init
st_netns_create gdoid-001
st_example_config "$ST_DIR/gdoid.conf"
st_notify_listen
export WATCHDOG_USEC=400000 # ping expected every 200 ms

st_start_gdoid "$ST_DIR/gdoid.conf"
st_pass "gdoid started (pid $ST_GDOID_PID) in namespace $ST_NETNS"

st_run out status "$GDOICTL" --socket "$ST_SOCKET" status
st_assert_eq 0 "$status" "gdoictl status exit status"
st_assert_contains "$out" "gdoid 0.1.0 (pid $ST_GDOID_PID)" "status names the daemon"
st_assert_contains "$out" "configuration: $ST_DIR/gdoid.conf" "status names the configuration"
st_assert_contains "$out" "group wan (id 1234): failed" "status shows group wan"
st_assert_contains "$out" "key servers: 192.0.2.1:848, 192.0.2.2:848" "status lists wan's servers in order"
st_assert_contains "$out" "group branch-v6 (id 5678): failed" "status shows group branch-v6"
st_assert_contains "$out" "key servers: [2001:db8::1]:848, [2001:db8::2]:848" "status lists IPv6 servers"
st_assert_not_contains "$out" $'\033[' "no colour when stdout is not a terminal"
st_pass "gdoictl status"

json=$("$GDOICTL" --socket "$ST_SOCKET" status --json)
pretty=$("$GDOICTL" --socket "$ST_SOCKET" status --json --pretty)
st_assert_contains "$pretty" $'\n  "ok": true' "--pretty indents"
printf '{"compact": %s, "pretty": %s}' "$json" "$pretty" | st_json_check "gdoictl status --json content" "
c = j['compact']; r = c['result']; g = r['groups']
assert c['ok'] is True and c['version'] == 1, c
assert r['daemon']['pid'] == $ST_GDOID_PID, r['daemon']
assert r['daemon']['config_path'] == '$ST_DIR/gdoid.conf', r['daemon']
assert r['daemon']['config_error'] is None, r['daemon']
assert [x['name'] for x in g] == ['wan', 'branch-v6'], g
assert [x['id'] for x in g] == [1234, 5678], g
# The example's local addresses do not exist in this namespace: no GDOI socket, no registration.
assert [x['state'] for x in g] == ['failed', 'failed'], g
assert g[0]['servers'] == ['192.0.2.1:848', '192.0.2.2:848'], g
assert g[1]['servers'] == ['[2001:db8::1]:848', '[2001:db8::2]:848'], g
assert g[0]['server_in_use'] is None, g
assert 'cannot bind the GDOI socket to 192.0.2.10:848' in g[0]['last_error']['message'], g
assert j['pretty']['result']['groups'] == g, 'pretty differs'
"
st_pass "gdoictl status --json / --pretty"

# The socket: 0660 root:nogroup in a 0755 directory.
st_assert_eq "660 root nogroup" "$(stat -c '%a %U %G' "$ST_SOCKET")" "control socket mode and owner"
st_assert_eq "755" "$(stat -c '%a' "$(dirname "$ST_SOCKET")")" "control socket directory mode"

# systemd protocol: READY=1 with a STATUS, watchdog pings from the event loop (every 200 ms:
# over 1 s at least 3 even on a loaded machine, and far fewer than a busy loop would send).
before=$(grep -c '^WATCHDOG=1' "$ST_DIR/notify.log" || true)
sleep 1
pings=$(($(grep -c '^WATCHDOG=1' "$ST_DIR/notify.log" || true) - before))
grep -q "READY=1 STATUS=configured 2 group(s): wan, branch-v6" "$ST_DIR/notify.log" ||
    st_fail "no READY=1 with the group summary in: $(cat "$ST_DIR/notify.log")"
[ "$pings" -ge 3 ] && [ "$pings" -le 8 ] || st_fail "expected 3..8 watchdog pings in 1 s at 200 ms, got $pings"
st_pass "READY=1 and $pings watchdog pings"

st_stop_gdoid TERM
st_assert_eq 0 "$ST_GDOID_STATUS" "gdoid exit status after SIGTERM"
[ ! -e "$ST_SOCKET" ] || st_fail "the control socket is still there after exit"
grep -q "STOPPING=1" "$ST_DIR/notify.log" || st_fail "no STOPPING=1 notification"
st_wait_for_log "received SIGTERM, stopping"
st_run out status "$GDOICTL" --socket "$ST_SOCKET" status
st_assert_eq 3 "$status" "gdoictl exit status without a daemon"
st_assert_eq "gdoictl: cannot reach gdoid at $ST_SOCKET: no such socket (is gdoid running?)" "$out" "gdoictl message without a daemon"
st_pass "SIGTERM: exit 0, socket removed, STOPPING=1"

# A second start on the same socket while one runs is refused; the running one is untouched.
st_start_gdoid "$ST_DIR/gdoid.conf"
first=$ST_GDOID_PID
st_run out status "$GDOID" --foreground --config "$ST_DIR/gdoid.conf"
st_assert_eq 3 "$status" "second gdoid exit status"
st_assert_contains "$out" "another gdoid is already serving $ST_SOCKET" "second gdoid explains why"
"$GDOICTL" --socket "$ST_SOCKET" status >/dev/null || st_fail "the first gdoid lost its socket"
ST_GDOID_PID=$first st_stop_gdoid INT
st_assert_eq 0 "$ST_GDOID_STATUS" "gdoid exit status after SIGINT"
st_pass "a second gdoid is refused; SIGINT stops cleanly"

! grep -qF "$ST_PSK" "$ST_DIR/gdoid.log" "$ST_DIR/notify.log" || st_fail "the pre-shared key appears in the logs"
st_pass "the pre-shared key never appears in the logs"
