#!/usr/bin/env bash
# The control socket against bad clients: malformed JSON, unknown commands, wrong versions,
# oversized requests, a client that stalls, and a crowd of idle connections. gdoid answers
# each with an error reply (or closes at the deadline) and keeps serving.
. "$(dirname "$0")/lib.sh"
st_init
st_netns_create gdoid-005
st_example_config "$ST_DIR/gdoid.conf"
st_start_gdoid "$ST_DIR/gdoid.conf"

python3 - "$ST_SOCKET" <<'PY' || st_fail "bad clients were not handled as expected"
import json, select, socket, struct, sys, time
path = sys.argv[1]

def connect():
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(path)  # blocking: waits for room in the backlog
    s.settimeout(15)
    return s

def read_frame(s):
    data = b""
    while len(data) < 4:
        chunk = s.recv(4 - len(data))
        if not chunk:
            return None
        data += chunk
    size = struct.unpack(">I", data)[0]
    body = b""
    while len(body) < size:
        chunk = s.recv(size - len(body))
        if not chunk:
            return None
        body += chunk
    return json.loads(body)

def ask(s, payload):
    s.sendall(struct.pack(">I", len(payload)) + payload)
    return read_frame(s)

def code(reply):
    assert reply["ok"] is False and reply["version"] == 1, reply
    return reply["error"]["code"]

s = connect()
assert code(ask(s, b"{oops")) == "malformed-json"
assert code(ask(s, b'{"version":1,"command":"format-disk"}')) == "unknown-command"
assert code(ask(s, b'{"version":2,"command":"status"}')) == "unsupported-version"
assert code(ask(s, b'{"version":1}')) == "bad-request"
assert ask(s, b'{"version":1,"command":"status"}')["ok"] is True
s.close()
print("ok: malformed, unknown, wrong version and bad requests get error replies")

s = connect()
big = b'{"version":1,"command":"status","arguments":{"pad":"' + b"x" * 200000 + b'"}}'
s.sendall(struct.pack(">I", len(big)) + big[:1000])
reply = read_frame(s)
assert code(reply) == "request-too-large", reply
assert reply["error"]["message"] == "the request is %d bytes; at most 65536 are accepted" % len(big), reply
s.close()
print("ok: an oversized request is refused from its header")

# A client that sends half a header and stalls is closed at the 5 s deadline.
s = connect()
s.sendall(b"\x00\x00")
start = time.monotonic()
assert s.recv(1) == b"", "expected the server to close the connection"
waited = time.monotonic() - start
assert 3 < waited < 15, waited
s.close()
print("ok: a stalled client is disconnected after %.1f s" % waited)

# 40 idle connections, more than the 32 gdoid serves at once: the extra ones are closed at
# once rather than queued; once the idle ones are gone, a new client is served.
started = time.monotonic()
idle = [connect() for _ in range(40)]
time.sleep(1)
readable, _, _ = select.select(idle, [], [], 0)
closed = sum(1 for c in readable if c.recv(1) == b"")
if time.monotonic() - started < 4:  # before any 5 s deadline: exactly the 8 beyond 32
    assert closed == 8, closed
else:  # a very slow machine: deadlines may have closed more
    assert closed >= 8, closed
for c in idle:
    c.close()
time.sleep(0.5)
s = connect()
assert ask(s, b'{"version":1,"command":"status"}')["ok"] is True
s.close()
print("ok: beyond 32 clients, %d connections were closed at once; gdoid keeps serving" % closed)
PY
kill -0 "$ST_GDOID_PID" || st_fail "gdoid died"
"$GDOICTL" --socket "$ST_SOCKET" status >/dev/null || st_fail "gdoictl status after the bad clients"
st_stop_gdoid TERM
st_assert_eq 0 "$ST_GDOID_STATUS" "gdoid exit status"
