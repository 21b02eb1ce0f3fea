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

write_ks_config() { # write_ks_config NAME ADDRESS SPI_AB SPI_BA
    cat >"$ST_DIR/$1.toml" <<TOML
listen = ["$2"]
port = 848
control-socket = "$ST_DIR/$1.sock"

[phase1]
proposals = [ { encryption = "aes-256-cbc", hash = "sha256", dh-group = 14, lifetime = 86400 } ]

[[group]]
id = 4321
sequence = 1
psk = { "$GM_ADDR" = "$ST_PSK" }

[group.kek]
algorithm = "aes-128-cbc"
signing-key = "$ST_DIR/ks-key.pem"
signature-hash = "sha256"
lifetime = 86400
source = "$2:848"
destination = "239.84.1.1:848"

[[group.tek]]
spi = $3
cipher = "aes-256-cbc"
integrity = "hmac-sha256"
source = "10.1.0.0/16"
destination = "10.2.0.0/16"
lifetime = 3600

[[group.tek]]
spi = $4
cipher = "aes-256-cbc"
integrity = "hmac-sha256"
source = "10.2.0.0/16"
destination = "10.1.0.0/16"
lifetime = 3600
TOML
}
write_ks_config ks "$KS_ADDR" 0x21000001 0x21000002
write_ks_config ks2 "$KS2_ADDR" 0x22000001 0x22000002
st_ks_start "$ST_DIR/ks.toml" ks
st_ks_start "$ST_DIR/ks2.toml" ks2

ST_SOCKET="$ST_DIR/run/control"
cat >"$ST_DIR/gdoid.conf" <<TOML
[daemon]
control-socket = "$ST_SOCKET"
log-level = "debug"

[[group]]
name = "lab"
id = 4321
servers = ["$KS_ADDR", "$KS2_ADDR"]
local-address = "$GM_ADDR"
pre-shared-key = { file = "$ST_DIR/psk" }
ike = { encryption = "aes-256", hash = "sha256", dh-group = 14, lifetime = "8h" }
wan-interface = "$GM_IF"
lan-interfaces = ["lo"]
retry = { count = 1, interval = "2s" }
TOML
ST_NETNS=$GM_NS
st_start_gdoid "$ST_DIR/gdoid.conf"

status_json() { "$GDOICTL" --socket "$ST_SOCKET" status --json; }
# wait_for PYTHON-CONDITION SECONDS WHAT: until the condition over the group `g` holds
wait_for() {
    local i
    for ((i = 0; i < $2 * 5; i++)); do
        status_json | python3 -c "import json, sys
g = json.load(sys.stdin)['result']['groups'][0]
sys.exit(0 if ($1) else 1)" && return 0
        sleep 0.2
    done
    status_json >&2
    st_fail "$3: not reached within $2 s"
}
tek_spis='sorted(t["spi"] for t in g["teks"])'

wait_for "g['state'] == 'registered'" 30 "registration"
wait_for "g['server_in_use'] == '$KS_ADDR:848' and $tek_spis == ['0x21000001', '0x21000002']" 5 \
    "registered with ks1, holding its TEKs"
st_pass "registered with the preferred server ks1 ($KS_ADDR), TEKs 0x21000001/0x21000002"

# ---------------------------------------------------------------- ks1 silent: over to ks2
st_assert_contains "$(st_ks_control '{"command":"silent"}' ks)" '"ok":true' "ks1 goes silent"
lines_before=$(wc -l <"$ST_DIR/gdoid.log")
"$GDOICTL" --socket "$ST_SOCKET" re-register >/dev/null
# While ks1 does not answer the keys from ks1 stay (they have an hour left).
sleep 1
wait_for "g['state'] == 'rekeying' and $tek_spis == ['0x21000001', '0x21000002']" 3 \
    "old keys kept while the preferred server does not answer"
wait_for "g['state'] == 'registered' and g['server_in_use'] == '$KS2_ADDR:848'" 30 "failover to ks2"
wait_for "{'0x22000001', '0x22000002'} <= set(t['spi'] for t in g['teks'])" 5 "ks2's TEKs"
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
wait_for "g['state'] == 'registered' and g['server_in_use'] == '$KS_ADDR:848'" 30 "back to ks1"
wait_for "{'0x21000001', '0x21000002'} <= set(t['spi'] for t in g['teks'])" 5 "ks1's TEKs again"
log=$(tail -n +"$((lines_before + 1))" "$ST_DIR/gdoid.log")
st_assert_not_contains "$log" "registering with key server $KS2_ADDR" "no attempt at ks2 once ks1 answers"
st_pass "ks1 answers again: the next registration goes straight back to the preferred server"

# ---------------------------------------------------------------- both silent
st_ks_control '{"command":"silent"}' ks >/dev/null
st_ks_control '{"command":"silent"}' ks2 >/dev/null
failures_before=$(status_json | st_json "j['result']['groups'][0]['counters']['registration_failures']")
"$GDOICTL" --socket "$ST_SOCKET" re-register >/dev/null
# ks1 twice, ks2 twice, 2 s apart: a full round within ~8 s (+ the last attempt's budget).
wait_for "g['counters']['registration_failures'] >= $failures_before + 4" 30 "a full failed round"
status_json >"$ST_DIR/status.json"
st_json_check "status while both servers are silent" "$(cat <<PY
g = j['result']['groups'][0]
assert g['state'] in ('failed', 'rekeying', 'registering'), g['state']
spis = set(t['spi'] for t in g['teks'])
assert {'0x21000001', '0x21000002'} <= spis, spis
assert g['last_error'] is not None and '$KS2_ADDR' in g['last_error']['message'], g['last_error']
PY
)" <"$ST_DIR/status.json"
st_wait_for_log "no key server answered the registration; trying again from the preferred server" 5
st_pass "both servers silent: every attempt fails, the unexpired keys stay, the log says so"

st_stop_gdoid
st_assert_eq 0 "$ST_GDOID_STATUS" "gdoid exit status"
