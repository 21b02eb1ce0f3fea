#!/usr/bin/env bash
# gdoid registering with gdoi-test-ks for a group the key server does not serve: the operator
# must read, in `gdoictl status --json` and in the log, one sentence naming the group id and the
# key server, and the group must not claim to be registered.
. "$(dirname "$0")/lib.sh"
st_init

st_ks_lab 10.80.0
cat >"$ST_DIR/ks.toml" <<TOML
listen = ["$KS_ADDR"]
port = 848
control-socket = "$ST_DIR/ks.sock"

[[group]]
id = 4321
psk = { "$GM_ADDR" = "$ST_PSK" }

[group.kek]
signing-key = "$ST_DIR/ks-key.pem"
source = "$KS_ADDR:848"
destination = "239.80.1.1:848"

[[group.tek]]
source = "10.1.0.0/16"
destination = "10.2.0.0/16"

[[group.tek]]
source = "10.2.0.0/16"
destination = "10.1.0.0/16"
TOML
st_ks_start "$ST_DIR/ks.toml"

cat >"$ST_DIR/gdoid.conf" <<TOML
[daemon]
control-socket = "$ST_DIR/run/control"
log-level = "debug"

[[group]]
name = "lab"
id = 999
servers = ["$KS_ADDR"]
local-address = "$GM_ADDR"
pre-shared-key = { file = "$ST_DIR/psk" }
ike = { encryption = "aes-256", hash = "sha256", dh-group = 14, lifetime = "8h" }
wan-interface = "$GM_IF"
lan-interfaces = ["lo"]
retry = { count = 1, interval = "2s" }
TOML
ST_SOCKET="$ST_DIR/run/control"
ST_NETNS=$GM_NS
: >"$ST_DIR/gdoid.log"
st_start_gdoid "$ST_DIR/gdoid.conf"

sentence="key server $KS_ADDR does not serve group 999 (INVALID-ID-INFORMATION)"
st_wait_for_log "registration with key server $KS_ADDR:848 failed: .*does not serve group 999" 30
st_assert_contains "$(cat "$ST_DIR/gdoid.log")" "$sentence" "the log names the group and the server"
"$GDOICTL" --socket "$ST_SOCKET" status --json >"$ST_DIR/status.json"
st_json_check "status of a group the key server does not serve" "$(cat <<PY
g = j['result']['groups'][0]
assert g['state'] != 'registered', g
assert '$sentence' in g['last_error']['message'], g['last_error']
PY
)" <"$ST_DIR/status.json"
st_assert_contains "$(cat "$ST_DIR/ks.log")" "no group 999 here" "the key server logs the refusal"
st_stop_gdoid
st_assert_eq 0 "$ST_GDOID_STATUS" "gdoid exit status"
st_pass "unknown group 999: \"$sentence\" in the log and in gdoictl status"
