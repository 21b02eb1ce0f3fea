#!/usr/bin/env bash
# Key-server failover and return, with two real key servers: gdoi-test-ks as ks1 (10.84.0.1,
# preferred) and ks2 (10.84.0.3) serve the same group, each with its own TEK SPIs so the status
# shows whose keys the member holds. What an operator of Juniper/Cisco members expects:
#   - the member registers with the first server of its list;
#   - ks1 goes silent; at the next registration the member tries ks1 (first try + the configured
#     retry, 2 s apart), then fails over to ks2 and holds ks2's keys; while it fails over, the
#     keys it holds stay in `gdoictl status` (unexpired SAs keep working);
#   - ks1 answers again: the next registration goes back to the preferred server ks1 at once;
#   - both servers silent: every attempt fails, the group keeps its unexpired keys and says which
#     servers failed.
. "$(dirname "$0")/lib.sh"
st_init
: "${GDOI_TEST_KS:?GDOI_TEST_KS must name gdoi-test-ks}"

st_ks_lab 10.84.0
KS2_ADDR=10.84.0.3
ip -n "$KS_NS" addr add "$KS2_ADDR/24" dev "$KS_IF"

ST_KEK_DESTINATION=239.84.1.1:848
ST_TEK_SPIS="0x21000001 0x21000002" st_ks_group_config ks "$KS_ADDR"
ST_TEK_SPIS="0x22000001 0x22000002" st_ks_group_config ks2 "$KS2_ADDR"
st_ks_start "$ST_DIR/ks.toml" ks
st_ks_start "$ST_DIR/ks2.toml" ks2

ST_SOCKET="$ST_DIR/run/control"
st_gdoid_group_config "$ST_DIR/gdoid.conf" "$KS_ADDR" "$KS2_ADDR"
ST_NETNS=$GM_NS
st_start_gdoid "$ST_DIR/gdoid.conf"

tek_spis='sorted(t["spi"] for t in g["teks"])'

st_wait_group "g['state'] == 'registered'" 30 "registration"
st_wait_group "g['server_in_use'] == '$KS_ADDR:848' and $tek_spis == ['0x21000001', '0x21000002']" 5 \
    "registered with ks1, holding its TEKs"
st_pass "registered with the preferred server ks1 ($KS_ADDR), TEKs 0x21000001/0x21000002"

# ---------------------------------------------------------------- ks1 silent: over to ks2
st_assert_contains "$(st_ks_control '{"command":"silent"}' ks)" '"ok":true' "ks1 goes silent"
lines_before=$(wc -l <"$ST_DIR/gdoid.log")
"$GDOICTL" --socket "$ST_SOCKET" re-register >/dev/null
# While ks1 does not answer the keys from ks1 stay (they have an hour left).
sleep 1
st_wait_group "g['state'] == 'rekeying' and $tek_spis == ['0x21000001', '0x21000002']" 3 \
    "old keys kept while the preferred server does not answer"
st_wait_group "g['state'] == 'registered' and g['server_in_use'] == '$KS2_ADDR:848'" 30 "failover to ks2"
st_wait_group "{'0x22000001', '0x22000002'} <= set(t['spi'] for t in g['teks'])" 5 "ks2's TEKs"
log=$(tail -n +"$((lines_before + 1))" "$ST_DIR/gdoid.log")
st_assert_contains "$log" "registering with key server $KS_ADDR:848 (attempt 1 of 2)" "first try of ks1 logged"
st_assert_contains "$log" "registering with key server $KS_ADDR:848 (attempt 2 of 2)" "retry of ks1 logged"
st_assert_contains "$log" "registering with key server $KS2_ADDR:848 (attempt 1 of 2)" "failover to ks2 logged"
members=$(st_ks_control '{"command":"status"}' ks2 | st_json "[m['address'] for m in j['members']]")
st_assert_contains "$members" "$GM_ADDR" "ks2 lists the member"
st_pass "ks1 silent: 2 attempts 2 s apart, then ks2; the member holds ks2's TEKs"

# ---------------------------------------------------------------- ks1 back: the preferred again
st_assert_contains "$(st_ks_control '{"command":"come-back"}' ks)" '"ok":true' "ks1 answers again"
lines_before=$(wc -l <"$ST_DIR/gdoid.log")
"$GDOICTL" --socket "$ST_SOCKET" re-register >/dev/null
st_wait_group "g['state'] == 'registered' and g['server_in_use'] == '$KS_ADDR:848'" 30 "back to ks1"
st_wait_group "{'0x21000001', '0x21000002'} <= set(t['spi'] for t in g['teks'])" 5 "ks1's TEKs again"
log=$(tail -n +"$((lines_before + 1))" "$ST_DIR/gdoid.log")
st_assert_not_contains "$log" "registering with key server $KS2_ADDR" "no attempt at ks2 once ks1 answers"
st_pass "ks1 answers again: the next registration goes straight back to the preferred server"

# ---------------------------------------------------------------- both silent
st_ks_control '{"command":"silent"}' ks >/dev/null
st_ks_control '{"command":"silent"}' ks2 >/dev/null
failures_before=$(st_status_json | st_json "j['result']['groups'][0]['counters']['registration_failures']")
"$GDOICTL" --socket "$ST_SOCKET" re-register >/dev/null
# ks1 twice, ks2 twice, 2 s apart: a full round within ~8 s (+ the last attempt's budget).
st_wait_group "g['counters']['registration_failures'] >= $failures_before + 4" 30 "a full failed round"
st_status_json >"$ST_DIR/status.json"
st_json_check "status while both servers are silent" "$(cat <<PY
g = j['result']['groups'][0]
# Keys still valid: "servers-unreachable", not "failed", between attempts.
assert g['state'] in ('servers-unreachable', 'rekeying', 'registering'), g['state']
spis = set(t['spi'] for t in g['teks'])
assert {'0x21000001', '0x21000002'} <= spis, spis
assert g['last_error'] is not None and '$KS2_ADDR' in g['last_error']['message'], g['last_error']
PY
)" <"$ST_DIR/status.json"
st_wait_for_log "no key server answered the registration; trying again from the preferred server" 5
st_pass "both servers silent: every attempt fails, the unexpired keys stay, the log says so"

st_stop_gdoid
st_assert_eq 0 "$ST_GDOID_STATUS" "gdoid exit status"
