#!/usr/bin/env bash
# GROUPKEY-PUSH received by the daemon itself (host kernel: the ESP states cannot be installed
# here, which this scenario does not look at). gdoid in namespace "gm" registers with
# gdoi-test-ks in "ks" (KEK with RFC 8263 acks, a TEK pair; gdoid with push-ack = true, so it
# answers them: test/system/304-gdoid-push-ack.sh covers the default). Asserts what an operator checks
# with `gdoictl status --json` and the log:
#   1. push-now is accepted: pushes_accepted 1, the sequence the key server reports, the new
#      TEK SPIs listed, last_rekey.kind "push"; one ack sent, and the key server counts it with
#      the push's sequence;
#   2. the real push datagram (captured on the member's veth) resent from the key server's
#      namespace, each time broken on purpose so that one check fails: replay -> replayed_seq,
#      10 octets short -> bad_header, other cookies -> unknown_kek_spi, one octet of the
#      ciphertext flipped -> bad_signature/malformed/decrypt_failed, E flag clear ->
#      not_encrypted, and a genuine push of another key server (its own KEK, same group id) ->
#      unknown_kek_spi. Each is dropped and counted under its reason, logged once
#      ("refused (<reason>)"), and changes nothing: still registered, same TEKs, same sequence;
#   3. delete-tek of one of the pushed TEKs: it leaves `teks`, the other one stays; the older
#      push replayed after it is refused (replayed_seq) and changes nothing;
#   4. eject-member: gdoid sees the ejection, registers again, is refused, and ends in state
#      "removed-by-key-server" with last_error naming the key server.
# The KEK destination is the member's own address (unicast only): with a multicast destination
# every push arrives twice and the second copy counts as replayed_seq, which would blur the
# per-reason counts asserted here.
. "$(dirname "$0")/lib.sh"
st_init
: "${GDOI_TEST_KS:?GDOI_TEST_KS must name gdoi-test-ks}"
command -v tcpdump >/dev/null || { echo "tcpdump is needed to capture the push" >&2; exit 77; }
started=$SECONDS
# The interpreter itself, not a version manager's shim (which costs ~1 s a call on a busy box);
# lib.sh's helpers call python3 too.
PYTHON3=$(python3 -c 'import sys; print(sys.executable)')
python3() { "$PYTHON3" "$@"; }

st_ks_lab 10.82.0
KS2_ADDR=10.82.0.3
ip -n "$KS_NS" addr add "$KS2_ADDR/24" dev "$KS_IF"
cat >"$ST_DIR/ks.toml" <<TOML
listen = ["$KS_ADDR"]
port = 848
control-socket = "$ST_DIR/ks.sock"

[[group]]
id = 4321
sequence = 10
psk = { "$GM_ADDR" = "$ST_PSK" }

[group.kek]
algorithm = "aes-128-cbc"
signing-key = "$ST_DIR/ks-key.pem"
signature-hash = "sha256"
lifetime = 86400
source = "$KS_ADDR:848"
destination = "$GM_ADDR:848"
ack = "rfc8263"

[group.gap]
atd = 0
dtd = 1

[[group.tek]]
spi = 0x20000001
cipher = "aes-256-cbc"
integrity = "hmac-sha256"
source = "10.1.0.0/16"
destination = "10.2.0.0/16"
lifetime = 3600

[[group.tek]]
spi = 0x20000002
cipher = "aes-256-cbc"
integrity = "hmac-sha256"
source = "10.2.0.0/16"
destination = "10.1.0.0/16"
lifetime = 3600
TOML
st_ks_start "$ST_DIR/ks.toml"

cat >"$ST_DIR/gdoid.conf" <<TOML
[daemon]
control-socket = "$ST_DIR/run/control"
log-level = "debug"

[[group]]
name = "lab"
id = 4321
servers = ["$KS_ADDR"]
local-address = "$GM_ADDR"
pre-shared-key = { file = "$ST_DIR/psk" }
ike = { encryption = "aes-256", hash = "sha256", dh-group = 14, lifetime = "8h" }
wan-interface = "$GM_IF"
lan-interfaces = ["lo"]
retry = { count = 1, interval = "2s" }
push-ack = true
TOML
ST_SOCKET="$ST_DIR/run/control"
ST_NETNS=$GM_NS
: >"$ST_DIR/gdoid.log"

# wait_status PYTHON-CONDITION SECONDS WHAT: poll `gdoictl status --json` (one interpreter) until
# the condition over g (the group) holds; the last status is left in $ST_DIR/status.json.
wait_status() { poll_status "$1" "$2" || st_fail "$3 (within $2 s)"; }
poll_status() {
    python3 - "$GDOICTL" "$ST_SOCKET" "$ST_DIR/status.json" "$1" "$2" <<'PY'
import json, subprocess, sys, time
ctl, socket, out, cond, seconds = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], float(sys.argv[5])
deadline = time.monotonic() + seconds
while True:
    text = subprocess.run([ctl, "--socket", socket, "status", "--json"], capture_output=True, text=True).stdout
    try:
        j = json.loads(text)
        g = j["result"]["groups"][0]
        ok = eval(cond)
    except Exception:
        ok = False
    if ok or time.monotonic() > deadline:
        open(out, "w").write(text)
        if not ok:
            print(text, file=sys.stderr)
        sys.exit(0 if ok else 1)
    time.sleep(0.1)
PY
}
group_field() { st_json "j['result']['groups'][0]$1" <"$ST_DIR/status.json"; }

# capture_start FILE FILTER: one UDP datagram matching FILTER, seen on the member's veth.
capture_start() {
    ip netns exec "$GM_NS" timeout 20 tcpdump -Z root -n -U -c 1 -i "$GM_IF" -w "$1" "$2" 2>"$1.err" &
    CAPTURE_PID=$!
    st_cleanup_push "kill $CAPTURE_PID"
    local i
    for ((i = 0; i < 100; i++)); do grep -q "listening on" "$1.err" && return 0; sleep 0.05; done
    cat "$1.err" >&2
    st_fail "tcpdump did not start"
}
# capture_end FILE: wait for the datagram, write its UDP payload to FILE.bin
capture_end() {
    wait "$CAPTURE_PID" || { cat "$1.err" >&2; st_fail "no datagram captured into $1"; }
    python3 - "$1" "$1.bin" <<'PY' || st_fail "cannot read the captured datagram from $1"
import struct, sys
data = open(sys.argv[1], "rb").read()
magic = data[:4]
endian = "<" if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1") else ">"
linktype = struct.unpack(endian + "I", data[20:24])[0]
assert linktype == 1, f"link type {linktype}, expected Ethernet"
off = 24
caplen, origlen = struct.unpack(endian + "II", data[off + 8:off + 16])
assert caplen == origlen, "datagram truncated by the capture"
frame = data[off + 16:off + 16 + caplen]
assert frame[12:14] == b"\x08\x00", "not IPv4"
ip = frame[14:]
ihl = (ip[0] & 0x0F) * 4
total = struct.unpack(">H", ip[2:4])[0]
assert ip[9] == 17, "not UDP"
udp = ip[ihl:total]
length = struct.unpack(">H", udp[4:6])[0]
open(sys.argv[2], "wb").write(udp[8:length])
PY
}
# resend FILE.bin VARIANT [SOURCE]: send the captured push, altered by VARIANT, from the key
# server's namespace (port 0: the key server holds 848) to the member's GDOI port.
resend() {
    ip netns exec "$KS_NS" "$PYTHON3" - "$1" "$2" "${3:-$KS_ADDR}" "$GM_ADDR" <<'PY' || st_fail "cannot resend $1 ($2)"
import socket, sys
d = bytearray(open(sys.argv[1], "rb").read())
variant = sys.argv[2]
assert len(d) > 28 + 64 and d[18] == 33 and d[19] & 1, "the capture is not an encrypted GROUPKEY-PUSH"
if variant == "truncated":
    d = d[:-10]
elif variant == "cookies":
    d[0:16] = bytes(b ^ 0xA5 for b in d[0:16])
elif variant == "flipped":
    d[28 + (len(d) - 28) // 2] ^= 0xFF
elif variant == "e-flag":
    d[19] &= 0xFE
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[3], 0))
s.sendto(bytes(d), (sys.argv[4], 848))
PY
}

st_start_gdoid "$ST_DIR/gdoid.conf"
wait_status "g['state'] == 'registered'" 20 "gdoid did not register"
st_assert_eq 10 "$(group_field "['sequence']")" "sequence after the registration"
st_pass "gdoid registered with $KS_ADDR: sequence 10, TEKs 0x20000001 0x20000002"

# ---- 1. push-now, captured on the way
capture_start "$ST_DIR/push.pcap" "udp and src host $KS_ADDR and dst host $GM_ADDR and dst port 848"
reply=$(st_ks_control '{"command":"push-now","group":4321}')
capture_end "$ST_DIR/push.pcap"
echo "$reply" | st_json_check "push-now reply: $reply" "$(cat <<PY
assert j['ok'] and j['sequence'] == 11, j
assert j['destinations'] == ['$GM_ADDR'] and j['datagrams_sent'] == 1, j
assert len(j['new_tek_spis']) == 2, j
PY
)"
push_seq=$(echo "$reply" | st_json "j['sequence']")
new_spis=$(echo "$reply" | st_json "j['new_tek_spis']")
wait_status "g['counters']['pushes_accepted'] == 1 and g['counters']['acks_sent'] == 1" 10 "push $push_seq not accepted and acked"
st_json_check "status after push-now" "$(cat <<PY
g = j['result']['groups'][0]
assert g['state'] == 'registered', g
assert g['sequence'] == $push_seq, g
assert g['last_rekey']['kind'] == 'push', g['last_rekey']
spis = {int(t['spi'], 16) for t in g['teks']}
new = {int(s, 16) for s in $new_spis}
assert new <= spis, (spis, new)
assert g['counters']['pushes_rejected'] == 0, g['counters']
PY
)" <"$ST_DIR/status.json"
grep -aqF "GROUPKEY-PUSH sequence $push_seq from $KS_ADDR:848 accepted" "$ST_DIR/gdoid.log" || st_fail "no log line for the accepted push"
for ((i = 0; i < 50; i++)); do
    acks=$(st_ks_control '{"command":"status"}' | st_json "j['acks']")
    [ "$(echo "$acks" | st_json "j == [{'group': 4321, 'member': '$GM_ADDR', 'count': 1, 'last_sequence': $push_seq}]")" = true ] && break
    sleep 0.1
done
[ "$i" -lt 50 ] || { tail -n 20 "$ST_DIR/ks.log" >&2; st_fail "the key server did not count gdoid's ack for SEQ $push_seq: $acks"; }
# The TEKs the push superseded leave the data path after the DTD (1 s); the TEK list is taken
# once that has happened and must not change in step 2.
st_wait_for_log "TEK 0x20000001 removed" 5
st_wait_for_log "TEK 0x20000002 removed" 5
poll_status "True" 1
teks_after_push=$(group_field "['teks']" | st_json "' '.join(sorted(t['spi'] for t in j))")
st_pass "push SEQ $push_seq accepted: new TEKs $new_spis, last_rekey push, 1 ack sent and counted by the key server ($acks)"

# ---- 2. every check failing on purpose
[ "$(stat -c %s "$ST_DIR/push.pcap.bin")" -gt 100 ] || st_fail "captured push too short"
rejected=0
# refused VARIANT ALLOWED-REASONS [FILE] [SOURCE]: resend, expect exactly one more refusal under
# one of ALLOWED-REASONS (space separated), nothing else changed. Sets $REASON.
refused() {
    local variant=$1 allowed=$2 file=${3:-$ST_DIR/push.pcap.bin} source=${4:-$KS_ADDR}
    local before
    before=$(group_field "['counters']['pushes_rejected_by_reason']")
    resend "$file" "$variant" "$source"
    rejected=$((rejected + 1))
    wait_status "g['counters']['pushes_rejected'] == $rejected" 5 "push ($variant) not refused"
    REASON=$(st_json_check "push ($variant) refused as one of: $allowed" "$(cat <<PY
import json
g = j['result']['groups'][0]
before = json.loads('$before')
after = g['counters']['pushes_rejected_by_reason']
grown = {r: n - before.get(r, 0) for r, n in after.items() if n != before.get(r, 0)}
assert len(grown) == 1 and list(grown.values()) == [1], (before, after)
reason = next(iter(grown))
assert reason in '$allowed'.split(), (reason, '$allowed')
assert g['state'] == 'registered', g['state']
assert g['sequence'] == $push_seq, g['sequence']
assert g['counters']['pushes_accepted'] == 1 and g['counters']['acks_sent'] == 1, g['counters']
assert ' '.join(sorted(t['spi'] for t in g['teks'])) == '$teks_after_push', g['teks']
print(reason)
PY
)" <"$ST_DIR/status.json")
    st_pass "$variant push from $source dropped: $REASON (group registered, sequence $push_seq, TEKs unchanged)"
}
refused same replayed_seq
refused truncated bad_header
refused cookies unknown_kek_spi
refused flipped "bad_signature malformed decrypt_failed"
flipped_reason=$REASON
refused e-flag not_encrypted
for reason in replayed_seq bad_header unknown_kek_spi "$flipped_reason" not_encrypted; do
    n=$(grep -aEc "GROUPKEY-PUSH from $KS_ADDR:[0-9]+ refused \($reason\)" "$ST_DIR/gdoid.log" || true)
    st_assert_eq 1 "$n" "log lines 'refused ($reason)' from $KS_ADDR"
done
st_pass "each refusal logged once with its reason"

# (f) a genuine push of another key server for the same group id, with its own KEK: it has
# no member, so its only datagram goes to its multicast destination; captured and sent to gdoid.
cat >"$ST_DIR/ks2.toml" <<TOML
listen = ["$KS2_ADDR"]
port = 848
control-socket = "$ST_DIR/ks2.sock"

[[group]]
id = 4321
sequence = 100
default-psk = "$ST_PSK"

[group.kek]
algorithm = "aes-128-cbc"
source = "$KS2_ADDR:848"
destination = "239.82.9.9:848"
multicast-ttl = 1

[[group.tek]]
source = "10.1.0.0/16"
destination = "10.2.0.0/16"
TOML
ip netns exec "$KS_NS" "$GDOI_TEST_KS" --config "$ST_DIR/ks2.toml" 2>"$ST_DIR/ks2.log" &
KS2_PID=$!
st_cleanup_push "kill $KS2_PID; wait $KS2_PID"
for ((i = 0; i < 100; i++)); do [ -S "$ST_DIR/ks2.sock" ] && break; sleep 0.1; done
[ -S "$ST_DIR/ks2.sock" ] || { cat "$ST_DIR/ks2.log" >&2; st_fail "the second gdoi-test-ks did not start"; }
capture_start "$ST_DIR/push2.pcap" "udp and src host $KS2_ADDR and dst port 848"
reply2=$(python3 - "$ST_DIR/ks2.sock" <<'PY'
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.settimeout(10)
s.connect(sys.argv[1])
s.sendall(b'{"command":"push-now","group":4321}\n')
data = b""
while not data.endswith(b"\n"):
    chunk = s.recv(65536)
    if not chunk:
        break
    data += chunk
print(data.decode().strip())
PY
)
st_assert_eq true "$(echo "$reply2" | st_json "j['ok'] and j['sequence'] == 101")" "the second key server's push-now: $reply2"
capture_end "$ST_DIR/push2.pcap"
refused same unknown_kek_spi "$ST_DIR/push2.pcap.bin" "$KS2_ADDR"
n=$(grep -aEc "GROUPKEY-PUSH from $KS2_ADDR:[0-9]+ refused \(unknown_kek_spi\)" "$ST_DIR/gdoid.log" || true)
st_assert_eq 1 "$n" "log lines 'refused (unknown_kek_spi)' from $KS2_ADDR"
st_assert_eq 2 "$(group_field "['counters']['pushes_rejected_by_reason']['unknown_kek_spi']")" "unknown_kek_spi count"
st_pass "the other key server's push (SEQ 101, its own KEK) refused as unknown_kek_spi"

# ---- 3. delete-tek of one of the TEKs the push brought: gone from the TEK list (DTD 1 s).
deleted=$(echo "$new_spis" | st_json "j[0]")
kept=$(echo "$new_spis" | st_json "j[1]")
registrations_before=$(group_field "['counters']['registrations']")
reply=$(st_ks_control "{\"command\":\"delete-tek\",\"group\":4321,\"spi\":\"$deleted\"}")
st_assert_eq "[\"$deleted\"]" "$(echo "$reply" | st_json "j.get('deleted_tek_spis')")" "delete-tek reply: $reply"
delete_seq=$(echo "$reply" | st_json "j['sequence']")
wait_status "g['counters']['pushes_accepted'] == 2" 10 "delete push SEQ $delete_seq not accepted"
wait_status "g['state'] == 'registered' and all(int(t['spi'], 16) != $deleted for t in g['teks'])" 10 \
    "TEK $deleted still listed after the DTD, or the group is not registered"
st_json_check "TEKs after delete-tek" "$(cat <<PY
g = j['result']['groups'][0]
spis = {int(t['spi'], 16) for t in g['teks']}
assert $kept in spis, (sorted(map(hex, spis)), '$kept')
assert g['sequence'] == $delete_seq, g['sequence']
PY
)" <"$ST_DIR/status.json"
st_wait_for_log "TEK $deleted removed" 5
registrations=$(group_field "['counters']['registrations']")
how="no re-registration"
[ "$registrations" = "$registrations_before" ] ||
    how="NOTE: gdoid took the delete for an ejection and registered again ($(grep -ao 'appears to have removed this member ([^)]*)' "$ST_DIR/gdoid.log" | tail -n 1))"
st_pass "delete-tek $deleted (SEQ $delete_seq): accepted, TEK gone from status, $kept stays; $how; TEKs now $(group_field "['teks']" | st_json "' '.join(sorted(t['spi'] for t in j))")"

# ---- 3b. an OLD push (SEQ $push_seq, genuine, signed) replayed after the newer delete push:
# refused as replayed_seq (RFC 6407 section 4.3: a SEQ not greater than the last accepted),
# sequence and TEKs unchanged.
teks_now=$(group_field "['teks']" | st_json "' '.join(sorted(t['spi'] for t in j))")
replayed_before=$(group_field "['counters']['pushes_rejected_by_reason'].get('replayed_seq', 0)")
resend "$ST_DIR/push.pcap.bin" same
wait_status "g['counters']['pushes_rejected_by_reason'].get('replayed_seq', 0) == $replayed_before + 1" 5 \
    "the old push SEQ $push_seq was not refused as replayed_seq"
st_json_check "status after the old push" "$(cat <<PY
g = j['result']['groups'][0]
assert g['sequence'] == $delete_seq, g['sequence']
assert ' '.join(sorted(t['spi'] for t in g['teks'])) == '$teks_now', g['teks']
assert g['counters']['pushes_accepted'] == 2, g['counters']
PY
)" <"$ST_DIR/status.json"
st_pass "the older push SEQ $push_seq replayed after SEQ $delete_seq: refused (replayed_seq), nothing changed"

# ---- 4. eject-member: refused on re-registration, removed-by-key-server
failures_before=$(group_field "['counters']['registration_failures']")
reply=$(st_ks_control "{\"command\":\"eject-member\",\"group\":4321,\"member\":\"$GM_ADDR\",\"dtd\":2}")
st_assert_eq true "$(echo "$reply" | st_json "j['ok']")" "eject-member reply: $reply"
st_wait_for_log "appears to have removed this member" 10
# retry count 1: a round is two refused attempts 2 s apart; the state once the round is over.
if ! poll_status "g['state'] == 'removed-by-key-server' and g['counters']['registration_failures'] >= $failures_before + 2" 15 2>/dev/null; then
    echo "---- observed after the ejection ----" >&2
    st_json "j['result']['groups'][0]" <"$ST_DIR/status.json" >&2
    grep -aE "removed|register|refused|failed|TEK" "$ST_DIR/gdoid.log" | tail -n 15 >&2
    st_fail "after eject-member and a refused re-registration the group is in state '$(group_field "['state']")', not removed-by-key-server"
fi
error=$(group_field "['last_error']['message']")
st_assert_contains "$error" "$KS_ADDR" "last_error names the key server"
st_assert_eq 3 "$(group_field "['counters']['pushes_accepted']")" "pushes accepted (rekey, delete, ejection)"
st_assert_eq true "$(st_ks_control '{"command":"status"}' | st_json "j['ejected'] == [{'group': 4321, 'member': '$GM_ADDR'}]")" "the key server lists the ejected member"
# gdoid keeps trying (a new round every retry interval): sample the state for 3 s; it may show
# "registering" during an attempt, never "failed" (servers unreachable) or "registered".
seen=$("$PYTHON3" - "$GDOICTL" "$ST_SOCKET" <<'PY'
import json, subprocess, sys, time
seen = {}
end = time.monotonic() + 3
while time.monotonic() < end:
    j = json.loads(subprocess.run([sys.argv[1], "--socket", sys.argv[2], "status", "--json"], capture_output=True, text=True).stdout)
    state = j["result"]["groups"][0]["state"]
    seen[state] = seen.get(state, 0) + 1
    time.sleep(0.05)
print(" ".join(f"{k}:{v}" for k, v in sorted(seen.items())))
PY
)
for state_count in $seen; do
    case "${state_count%%:*}" in
    removed-by-key-server | registering) ;;
    *) st_fail "after the ejection the group showed state ${state_count%%:*} (states sampled over 3 s: $seen)" ;;
    esac
done
st_assert_contains "$seen" "removed-by-key-server:" "state sampled after the ejection"
st_pass "ejected: re-registration refused, state removed-by-key-server (sampled over 3 s: $seen), last_error: $error"

st_stop_gdoid
st_assert_eq 0 "$ST_GDOID_STATUS" "gdoid exit status"
st_pass "scenario took $((SECONDS - started)) s"
