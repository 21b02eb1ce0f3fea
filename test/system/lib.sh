# Shared helpers for the system scenarios (test/system/NNN-*.sh). Source it first:
#     . "$(dirname "$0")/lib.sh"
#     st_init            # root check, private temp dir $ST_DIR, cleanup trap
#
# Executables come from meson through the environment (test/system/meson.build):
#     $GDOID, $GDOICTL            gdoid and gdoictl from the build tree
#     $GDOID_SOURCE_ROOT          the source tree (examples/, test/)
#     $GDOI_TEST_KS, $PULL_PROBE  the test key server and the one-shot member (test/ks)
#
# Functions (all fail the scenario with a message on error; cleanup runs on every exit):
#   st_init                       set -euo pipefail, require root, create $ST_DIR, install the trap
#   st_cleanup_push CMD...        run CMD at exit (last pushed runs first)
#   st_netns_create NAME          create network namespace NAME (lo up), deleted at exit;
#                                 names are suffixed with the PID: use the value of $ST_NETNS
#   st_psk_file PATH [KEY]        write a root-owned 0600 pre-shared-key file (default $ST_PSK)
#   st_example_config OUT         examples/gdoid.conf with the socket under $ST_DIR, its PSK file
#                                 and credential created, control-group "nogroup"
#   st_start_gdoid CONFIG [ARGS]  start gdoid (in $ST_NETNS if set) logging to $ST_DIR/gdoid.log;
#                                 sets $ST_GDOID_PID; waits until the control socket answers
#   st_stop_gdoid [SIGNAL]        send SIGNAL (TERM), wait, set $ST_GDOID_STATUS to the exit status
#   st_wait_for_socket PATH [S]   wait up to S seconds (20) for a listening socket at PATH
#   st_wait_for_log REGEX [S]     wait up to S seconds (20) for a line in $ST_DIR/gdoid.log
#   st_notify_listen              start a sd_notify receiver; exports NOTIFY_SOCKET, messages
#                                 land one per line in $ST_DIR/notify.log
#   st_ks_lab PREFIX              the key server lab: namespaces "ks" and "gm" joined by veth, the
#                                 key server at PREFIX.1/24, the member at PREFIX.2/24 (PREFIX
#                                 like 10.77.0); sets $KS_NS $GM_NS $KS_IF $GM_IF $KS_ADDR
#                                 $GM_ADDR, writes $ST_DIR/psk ($ST_PSK) and the key server's RSA
#                                 key $ST_DIR/ks-key.pem
#   st_ks_start TOML [NAME]       run $GDOI_TEST_KS in $KS_NS with config file TOML (whose
#                                 control-socket must be $ST_DIR/NAME.sock; NAME default "ks"),
#                                 log $ST_DIR/NAME.log; sets $KS_PID, waits for the control socket
#   st_ks_control JSON [NAME]     send one request to key server NAME's control socket, print
#                                 the reply (one JSON line)
#   st_ks_group_config NAME ADDRESS [GROUP_TOML]   write $ST_DIR/NAME.toml: a key server on
#                                 ADDRESS (control socket $ST_DIR/NAME.sock) serving group 4321 to
#                                 $GM_ADDR with $ST_PSK; Phase 1 aes-256/sha256/14; KEK aes-128-cbc
#                                 signed with $ST_DIR/ks-key.pem; a TEK pair 10.1/16 <-> 10.2/16
#                                 (aes-256-cbc + hmac-sha256, 3600 s); GROUP_TOML is added to the
#                                 group (e.g. [group.gap], [group.rekey]). Variables: ST_KS_SEQUENCE
#                                 (1), ST_KEK_LIFETIME (86400), ST_KEK_DESTINATION ($GM_ADDR:848),
#                                 ST_TEK_SPIS ("A B": the pair's SPIs; unset: random)
#   st_gdoid_group_config FILE SERVER...   write a gdoid.conf for the member in $GM_NS: group
#                                 "lab" (4321) with SERVERs in order, control socket $ST_SOCKET,
#                                 PSK $ST_DIR/psk, retry 1 x 2 s, debug log; ST_GDOID_EXTRA is
#                                 added to the group
#   st_pki DIR                    a throw-away PKI with the openssl command: DIR/ca.{crt,key}
#                                 ("CN=gdoid lab CA"), DIR/ks.{crt,key} ("CN=ks.lab.example",
#                                 subjectAltName DNS ks.lab.example and IP $KS_ADDR),
#                                 DIR/gm.{crt,key} ("CN=gm.lab.example"), DIR/rogue-ca.* and
#                                 DIR/rogue-ks.* (same names, another CA); keys 0600 root
#   st_status_json                gdoictl status --json on $ST_SOCKET
#   st_wait_group PYTHON SECONDS WHAT   wait until PYTHON (over the first group `g` of
#                                 `gdoictl status --json`) holds; else print the status and fail
#   st_json EXPR                  read JSON on stdin, print the Python expression EXPR over `j`
#   st_json_check WHAT PYTHON     read JSON on stdin into `j` and run PYTHON (assert statements)
#                                 in one interpreter (python3 starts slowly on a loaded machine)
#   st_run OUT_VAR STATUS_VAR CMD...   run CMD, capture stdout+stderr and the exit status
#   st_assert_eq EXPECTED ACTUAL WHAT
#   st_assert_contains TEXT NEEDLE WHAT / st_assert_not_contains TEXT NEEDLE WHAT
#   st_fail MESSAGE               print and exit 1
#   st_pass MESSAGE               print a progress line
#
# Conventions: every scenario is independent, creates everything it needs under $ST_DIR or in
# namespaces it creates, and removes all of it (processes, namespaces, files) also on failure.

ST_PSK="system-test-psk-$(date +%s)-$$-long-enough"

st_fail() {
    echo "FAIL: $*" >&2
    if [ -n "${ST_DIR:-}" ] && [ -f "$ST_DIR/gdoid.log" ]; then
        echo "---- gdoid.log ----" >&2
        tail -n 40 "$ST_DIR/gdoid.log" >&2
    fi
    exit 1
}

st_pass() { echo "ok: $*"; }

ST_CLEANUP=()
st_cleanup_push() { ST_CLEANUP+=("$*"); }

st_run_cleanup() {
    local status=$?
    set +e
    local i
    for ((i = ${#ST_CLEANUP[@]} - 1; i >= 0; i--)); do
        eval "${ST_CLEANUP[$i]}" >/dev/null 2>&1
    done
    exit $status
}

st_init() {
    set -euo pipefail
    if [ "$(id -u)" != 0 ]; then
        echo "this scenario needs root (network namespaces, root-owned key files)" >&2
        exit 77 # meson: skipped
    fi
    : "${GDOID:?GDOID must name the gdoid executable}"
    : "${GDOICTL:?GDOICTL must name the gdoictl executable}"
    : "${GDOID_SOURCE_ROOT:?GDOID_SOURCE_ROOT must name the source tree}"
    ST_DIR=$(mktemp -d /tmp/gdoid-system.XXXXXX)
    # Unprivileged test users must reach the socket inside; secrets stay 0600 files.
    chmod 0755 "$ST_DIR"
    trap st_run_cleanup EXIT
    trap 'exit 130' INT TERM HUP PIPE
    st_cleanup_push "rm -rf '$ST_DIR'"
}

st_netns_create() {
    ST_NETNS="$1-$$"
    ip netns add "$ST_NETNS" || st_fail "cannot create network namespace $ST_NETNS"
    st_cleanup_push "ip netns delete '$ST_NETNS'"
    ip -n "$ST_NETNS" link set lo up
}

st_psk_file() {
    local path=$1 key=${2:-$ST_PSK}
    (umask 077 && printf '%s\n' "$key" >"$path")
    chown root:root "$path"
    chmod 0600 "$path"
}

st_example_config() {
    local out=$1
    mkdir -p "$ST_DIR/credentials"
    chmod 0700 "$ST_DIR/credentials"
    st_psk_file "$ST_DIR/wan.key"
    st_psk_file "$ST_DIR/credentials/branch-psk" "$ST_PSK-branch"
    export CREDENTIALS_DIRECTORY="$ST_DIR/credentials"
    ST_SOCKET="$ST_DIR/run/control"
    sed -e "s|^control-socket = .*|control-socket = \"$ST_SOCKET\"|" \
        -e "s|^control-group = .*|control-group = \"nogroup\"|" \
        -e "s|{ file = \"/etc/gdoid/psk/wan.key\" }|{ file = \"$ST_DIR/wan.key\" }|" \
        "$GDOID_SOURCE_ROOT/examples/gdoid.conf" >"$out"
    grep -q "$ST_DIR/wan.key" "$out" || st_fail "examples/gdoid.conf no longer has the PSK line this helper rewrites"
}

st_wait_for_socket() {
    local path=$1 seconds=${2:-20} i
    for ((i = 0; i < seconds * 20; i++)); do
        if [ -S "$path" ] && "$GDOICTL" --socket "$path" status >/dev/null 2>&1; then return 0; fi
        if [ -n "${ST_GDOID_PID:-}" ] && ! kill -0 "$ST_GDOID_PID" 2>/dev/null; then
            st_fail "gdoid exited before its control socket $path answered"
        fi
        sleep 0.05
    done
    st_fail "no control socket answering at $path after ${seconds}s"
}

st_start_gdoid() {
    local config=$1
    shift
    local prefix=()
    [ -n "${ST_NETNS:-}" ] && prefix=(ip netns exec "$ST_NETNS")
    "${prefix[@]}" "$GDOID" --foreground --config "$config" "$@" >>"$ST_DIR/gdoid.log" 2>&1 &
    ST_GDOID_PID=$!
    st_cleanup_push "kill -KILL $ST_GDOID_PID"
    st_wait_for_socket "${ST_SOCKET:?st_example_config sets ST_SOCKET}"
}

st_stop_gdoid() {
    local signal=${1:-TERM}
    kill -"$signal" "$ST_GDOID_PID"
    ST_GDOID_STATUS=0
    wait "$ST_GDOID_PID" || ST_GDOID_STATUS=$?
}

st_wait_for_log() {
    local regex=$1 seconds=${2:-20} i
    for ((i = 0; i < seconds * 20; i++)); do
        grep -Eq -- "$regex" "$ST_DIR/gdoid.log" 2>/dev/null && return 0
        sleep 0.05
    done
    st_fail "no log line matching /$regex/ after ${seconds}s"
}

st_notify_listen() {
    export NOTIFY_SOCKET="$ST_DIR/notify.sock"
    python3 -u - "$NOTIFY_SOCKET" >"$ST_DIR/notify.log" 2>&1 <<'PY' &
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
while True:
    data = s.recv(4096).decode()
    print(data.replace("\n", " "), flush=True)
PY
    st_cleanup_push "kill $!"
    local i
    for ((i = 0; i < 400; i++)); do [ -S "$NOTIFY_SOCKET" ] && return 0; sleep 0.05; done
    st_fail "the sd_notify receiver did not start"
}

st_json() {
    python3 -c 'import json, sys
j = json.load(sys.stdin)
v = eval(sys.argv[1])
print(json.dumps(v) if isinstance(v, (dict, list, bool)) or v is None else v)' "$1"
}

st_json_check() {
    local what=$1
    python3 -c 'import json, sys
j = json.load(sys.stdin)
exec(sys.argv[1])' "$2" || st_fail "$what"
}

st_run() {
    local __out=$1 __status=$2
    shift 2
    local __text __code=0
    __text=$("$@" 2>&1) || __code=$?
    printf -v "$__out" '%s' "$__text"
    printf -v "$__status" '%s' "$__code"
}

st_assert_eq() {
    [ "$1" == "$2" ] || st_fail "$3: expected '$1', got '$2'"
}

st_assert_contains() {
    case "$1" in *"$2"*) ;; *) st_fail "$3: '$2' not found in: $1" ;; esac
}

st_assert_not_contains() {
    case "$1" in *"$2"*) st_fail "$3: '$2' must not appear in: $1" ;; *) ;; esac
}

st_ks_lab() {
    local prefix=$1
    : "${GDOI_TEST_KS:?GDOI_TEST_KS must name gdoi-test-ks}"
    st_netns_create ks
    KS_NS=$ST_NETNS
    st_netns_create gm
    GM_NS=$ST_NETNS
    unset ST_NETNS
    KS_IF="ks$$" GM_IF="gm$$" KS_ADDR="$prefix.1" GM_ADDR="$prefix.2"
    ip link add "$KS_IF" netns "$KS_NS" type veth peer name "$GM_IF" netns "$GM_NS" ||
        st_fail "cannot create the veth pair"
    ip -n "$KS_NS" addr add "$KS_ADDR/24" dev "$KS_IF"
    ip -n "$GM_NS" addr add "$GM_ADDR/24" dev "$GM_IF"
    ip -n "$KS_NS" link set "$KS_IF" up
    ip -n "$GM_NS" link set "$GM_IF" up
    st_psk_file "$ST_DIR/psk"
    openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$ST_DIR/ks-key.pem" 2>/dev/null ||
        st_fail "cannot generate the key server's RSA key"
}

st_ks_start() {
    local config=$1 name=${2:-ks} i
    ip netns exec "$KS_NS" "$GDOI_TEST_KS" --config "$config" 2>"$ST_DIR/$name.log" &
    KS_PID=$!
    st_cleanup_push "kill $KS_PID; wait $KS_PID"
    for ((i = 0; i < 100; i++)); do [ -S "$ST_DIR/$name.sock" ] && return 0; sleep 0.1; done
    cat "$ST_DIR/$name.log" >&2
    st_fail "gdoi-test-ks ($name) did not start"
}

st_ks_control() {
    python3 - "$ST_DIR/${2:-ks}.sock" "$1" <<'PY'
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.settimeout(10)
s.connect(sys.argv[1])
s.sendall(sys.argv[2].encode() + b"\n")
data = b""
while not data.endswith(b"\n"):
    chunk = s.recv(65536)
    if not chunk:
        break
    data += chunk
print(data.decode().strip())
PY
}

st_ks_group_config() {
    local name=$1 address=$2 group_toml=${3:-} spi_ab="" spi_ba=""
    if [ -n "${ST_TEK_SPIS:-}" ]; then
        read -r spi_ab spi_ba <<<"$ST_TEK_SPIS"
        spi_ab="spi = $spi_ab" spi_ba="spi = $spi_ba"
    fi
    cat >"$ST_DIR/$name.toml" <<TOML
listen = ["$address"]
port = 848
control-socket = "$ST_DIR/$name.sock"

[phase1]
proposals = [ { encryption = "aes-256-cbc", hash = "sha256", dh-group = 14, lifetime = 86400 } ]

[[group]]
id = 4321
sequence = ${ST_KS_SEQUENCE:-1}
psk = { "$GM_ADDR" = "$ST_PSK" }

[group.kek]
algorithm = "aes-128-cbc"
signing-key = "$ST_DIR/ks-key.pem"
signature-hash = "sha256"
lifetime = ${ST_KEK_LIFETIME:-86400}
source = "$address:848"
destination = "${ST_KEK_DESTINATION:-$GM_ADDR:848}"

[[group.tek]]
$spi_ab
cipher = "aes-256-cbc"
integrity = "hmac-sha256"
source = "10.1.0.0/16"
destination = "10.2.0.0/16"
lifetime = 3600

[[group.tek]]
$spi_ba
cipher = "aes-256-cbc"
integrity = "hmac-sha256"
source = "10.2.0.0/16"
destination = "10.1.0.0/16"
lifetime = 3600

$group_toml
TOML
}

st_gdoid_group_config() {
    local file=$1 servers="" server
    shift
    for server in "$@"; do servers+="${servers:+, }\"$server\""; done
    cat >"$file" <<TOML
[daemon]
control-socket = "$ST_SOCKET"
log-level = "debug"

[[group]]
name = "lab"
id = 4321
servers = [$servers]
local-address = "$GM_ADDR"
pre-shared-key = { file = "$ST_DIR/psk" }
ike = { encryption = "aes-256", hash = "sha256", dh-group = 14, lifetime = "8h" }
wan-interface = "$GM_IF"
lan-interfaces = ["lo"]
retry = { count = 1, interval = "2s" }
${ST_GDOID_EXTRA:-}
TOML
}

st_pki() {
    local dir=$1
    # shellcheck source=../support/test-pki.sh
    . "$GDOID_SOURCE_ROOT/test/support/test-pki.sh"
    pki_ca "$dir" ca "/O=gdoid lab/CN=gdoid lab CA" &&
        pki_ca "$dir" rogue-ca "/O=gdoid lab/CN=gdoid lab CA" &&
        pki_issue "$dir" ks "/O=gdoid lab/CN=ks.lab.example" ca "DNS:ks.lab.example,IP:${KS_ADDR:-127.0.0.1}" &&
        pki_issue "$dir" gm "/O=gdoid lab/CN=gm.lab.example" ca &&
        pki_issue "$dir" rogue-ks "/O=gdoid lab/CN=ks.lab.example" rogue-ca "DNS:ks.lab.example" ||
        st_fail "cannot make the test PKI with openssl"
}

st_status_json() { "$GDOICTL" --socket "$ST_SOCKET" status --json; }

st_wait_group() {
    local i
    for ((i = 0; i < $2 * 5; i++)); do
        st_status_json | python3 -c "import json, sys
g = json.load(sys.stdin)['result']['groups'][0]
sys.exit(0 if ($1) else 1)" && return 0
        sleep 0.2
    done
    st_status_json >&2
    st_fail "$3: not reached within $2 s"
}
