#!/usr/bin/env bash
# Pulls for expiring keys reuse the live Phase 1 SA (one Main Mode, several GROUPKEY-PULLs);
# nothing else does. gdoid in "gm" registers with gdoi-test-ks in "ks"; the KEK lives 40 s and
# the pull window is "25s-20s", so gdoid pulls 15-20 s after each registration. The key server
# makes new TEKs every 10 s without pushing them ([group.rekey] send = "none"). Asserts:
#   1. the pull runs under the first registration's SA and brings the new TEKs: the key server
#      still counts one Phase 1 SA (`phase1_sas`) and one "Phase 1 established" but two
#      registrations; gdoid's status shows the second registration (registrations 2, a later
#      last_rekey of kind "pull", TEKs the first registration did not have), its log "pulling new
#      keys from ... under the live Phase 1 SA (expires in 7h5xm...)";
#   2. `gdoictl re-register` negotiates a new Main Mode (the key server holds 2 SAs);
#   3. the key server restarts (forgets every SA, new keys): the next pull under the reused SA
#      gets no answer, the SA is dropped, the retry runs Main Mode and brings the new TEKs.
. "$(dirname "$0")/lib.sh"
st_init
: "${GDOI_TEST_KS:?GDOI_TEST_KS must name gdoi-test-ks}"

st_ks_lab 10.85.0
# The key server: KEK lifetime 40 s (the key the pull renews), unicast pushes, timed rekeys
# that are never pushed, so new TEKs reach gdoid only through its pull.
ST_KS_SEQUENCE=5 ST_KEK_LIFETIME=40
ks_gap='[group.gap]
atd = 0
dtd = 1'
st_ks_group_config ks "$KS_ADDR" "$ks_gap

[group.rekey]
before-expiry = 3590
send = \"none\""
st_ks_start "$ST_DIR/ks.toml" ks

ST_SOCKET="$ST_DIR/run/control"
ST_GDOID_EXTRA='rekey = { pull-window = "25s-20s" }'
st_gdoid_group_config "$ST_DIR/gdoid.conf" "$KS_ADDR"
ST_NETNS=$GM_NS
st_start_gdoid "$ST_DIR/gdoid.conf"

group_field() { st_status_json | st_json "j['result']['groups'][0]$1"; }
ks_phase1_sas() { st_ks_control '{"command":"status"}' "$1" | st_json "j['phase1_sas']"; }
ks_tek_spis() { st_ks_control '{"command":"status"}' "$1" | st_json "sorted('0x%08x' % t['spi'] for t in j['groups'][0]['teks'])"; }
count_lines() { grep -cF -- "$1" "$2" || true; } # count_lines TEXT FILE
main_mode_line="registering with key server $KS_ADDR:848 (attempt 1 of 2): new Main Mode"

# ---------------------------------------------------------------- 1. the pull reuses the SA
st_wait_group "g['state'] == 'registered'" 30 "registration"
first_rekey=$(group_field "['last_rekey']['time']")
first_teks=$(st_status_json | st_json "sorted(t['spi'] for t in j['result']['groups'][0]['teks'])")
st_assert_eq 1 "$(ks_phase1_sas ks)" "Phase 1 SAs at the key server after the registration"
st_assert_eq 1 "$(count_lines "$main_mode_line" "$ST_DIR/gdoid.log")" "Main Mode of the registration logged"

st_wait_group "g['counters']['registrations'] >= 2" 30 "the pull inside the window (15-20 s)"
st_status_json >"$ST_DIR/status.json"
ks_teks=$(ks_tek_spis ks)
st_json_check "status after the pull" "$(cat <<PY
g = j['result']['groups'][0]
assert g['state'] == 'registered', g
assert g['counters']['registrations'] == 2, g['counters']
assert g['counters']['registration_failures'] == 0, g['counters']
assert g['last_rekey']['kind'] == 'pull', g['last_rekey']
assert g['last_rekey']['time'] > $first_rekey, (g['last_rekey'], $first_rekey)
assert g['next_pull'] is not None, g
held = set(t['spi'] for t in g['teks'])
assert held - set($first_teks), ('no TEK the registration did not have', g['teks'])
assert held <= set($ks_teks), ('TEKs the key server does not hold', g['teks'], $ks_teks)
PY
)" <"$ST_DIR/status.json"
st_assert_eq 1 "$(ks_phase1_sas ks)" "Phase 1 SAs at the key server after the pull"
st_assert_eq 1 "$(count_lines "Phase 1 established" "$ST_DIR/ks.log")" "Main Modes the key server completed"
st_assert_eq 2 "$(count_lines "member registered in group 4321" "$ST_DIR/ks.log")" "PULLs the key server completed"
st_assert_eq 1 "$(count_lines "$main_mode_line" "$ST_DIR/gdoid.log")" "Main Modes gdoid started"
st_wait_for_log "pulling new keys from $KS_ADDR:848 under the live Phase 1 SA \(expires in 7h5[0-9]m" 1
st_pass "the pull for expiring keys ran under the first registration's Phase 1 SA and brought new TEKs"

# ---------------------------------------------------------------- 2. the operator's re-register
registrations=$(group_field "['counters']['registrations']")
"$GDOICTL" --socket "$ST_SOCKET" re-register >/dev/null
st_wait_group "g['counters']['registrations'] > $registrations and g['state'] == 'registered'" 20 "re-registration"
st_assert_eq 2 "$(ks_phase1_sas ks)" "Phase 1 SAs at the key server after gdoictl re-register"
st_assert_eq 2 "$(count_lines "$main_mode_line" "$ST_DIR/gdoid.log")" "Main Modes gdoid started"
st_pass "gdoictl re-register negotiated a new Main Mode"

# ---------------------------------------------------------------- 3. the key server restarts
kill "$KS_PID"
wait "$KS_PID" || true
st_ks_group_config ks-restarted "$KS_ADDR" "$ks_gap"
st_ks_start "$ST_DIR/ks-restarted.toml" ks-restarted
new_teks=$(ks_tek_spis ks-restarted)
lines_before=$(wc -l <"$ST_DIR/gdoid.log")
# The pull comes 15-20 s after the re-registration; under the dead SA it fails after its 2 s
# budget, and Main Mode follows at once as the server's first attempt (the PULL under the
# reused SA is not one of them).
st_wait_group "sorted(t['spi'] for t in g['teks']) == $new_teks and g['state'] == 'registered'" 40 \
    "the restarted key server's TEKs $new_teks"
log=$(tail -n +"$((lines_before + 1))" "$ST_DIR/gdoid.log")
st_assert_contains "$log" "pulling new keys from $KS_ADDR:848 under the live Phase 1 SA" "the pull tried the SA"
st_assert_contains "$log" "under the reused Phase 1 SA, now dropped" "the failure drops the SA"
st_assert_contains "$log" "Main Mode follows at once" "the failure says what comes next"
st_assert_contains "$log" "registering with key server $KS_ADDR:848 (attempt 1 of 2): new Main Mode" \
    "the retry negotiates anew, with every attempt of the server still ahead"
st_assert_eq 1 "$(ks_phase1_sas ks-restarted)" "Phase 1 SAs at the restarted key server"
st_assert_eq 1 "$(count_lines "Phase 1 established" "$ST_DIR/ks-restarted.log")" \
    "Main Modes the restarted key server completed"
st_pass "after a key server restart the reused SA fails once, then Main Mode brings the new TEKs $new_teks"

st_stop_gdoid
st_assert_eq 0 "$ST_GDOID_STATUS" "gdoid exit status"
