# shellcheck shell=bash disable=SC2034
# (SC2034: the GLAB_* variables are this library's interface to the scenarios)
# gdoid and the test key server in the standard lab (source after topology.sh and lab_up; bash;
# root). The key server gdoi-test-ks runs in ks1 (203.0.113.1), gdoid in gm-a and gm-b, each
# with its own configuration, pre-shared key (0600) and control socket under one runtime folder
# in /run (a tmpfs in the VM: the 9p scratch folder cannot hold sockets); logs go to the scratch
# folder. Everything started here is stopped at exit (lab_on_exit), before lab_down.
#
# The group (one KS, one group, one KEK, one pair of TEKs):
#   group $GLAB_GROUP_ID; KEK aes-128-cbc signed with an RSA-2048 key made by openssl;
#   TEK $GLAB_TEK_SPI_AB 10.1.0.0/16 -> 10.2.0.0/16 and TEK $GLAB_TEK_SPI_BA 10.2.0.0/16 ->
#   10.1.0.0/16 (LAB_LAN_A/LAB_LAN_B), aes-256-cbc + hmac-sha256, tunnel mode, header
#   preservation source-and-destination, direction symmetric. A pair, not one TEK: gdoid
#   refuses a policy whose selectors are not mirrored ("TEK policies must come in pairs", as
#   Junos does). Phase 1 aes-256/sha256/DH 14.
#   Each member has its own pre-shared key (GLAB_PSK[gm-a], GLAB_PSK[gm-b]).
#   $GLAB_SILENT_KS (203.0.113.99) is blackholed in core: a key server that never answers.
#
# Functions
#   glab_init                     runtime folder, binaries, silent address; called by the others
#   glab_ks_start [NODE [ADDR]]   write NODE's gdoi-test-ks config (default ks1 / LAB_KS1, LAB6_KS1 for GLAB_FAMILY=6), start it,
#                                 wait for its control socket
#   glab_ks_stop [NODE]           stop NODE's key server (ks1) and wait; glab_ks_start starts it
#                                 again with new keys (a new KEK signing key, new TEK keys)
#   glab_ks_next_key [NODE]       make the KEK signing key NODE's next start takes (ahead of time)
#   glab_ks_restart [NODE]        glab_ks_stop and glab_ks_start with new keys (that signing key,
#                                 made first if missing; GLAB_TEK_SPI_* at the call); prints how
#                                 long the server was down
#   glab_ks_call NODE JSON        one request on NODE's control channel; prints the reply line;
#                                 status 0 if "ok":true, 1 if "ok":false, 2 if no reply
#   glab_ks_command CMD [NODE]    glab_ks_call NODE '{"command":"CMD"}' (NODE default ks1)
#   glab_ks_push [NODE [MORE]]    a rekey: push-now for group $GLAB_GROUP_ID (MORE: extra JSON
#                                 members, e.g. '"kek":true'); the reply as glab_ks_call
#   glab_member_config GM [SERVER...]   write GM's gdoid.conf (servers default: LAB_KS1)
#   glab_member_group GM NAME ID [SERVER...]   print a further [[group]] of GM (to append to
#                                 GLAB_CONFIG[GM]): same keys, interfaces and datapath as "lab"
#   glab_ks_group ID SPI_AB SPI_BA SRC DST [NODE]   print a further key server [[group]] (for
#                                 GLAB_KS_EXTRA, after glab_init): KEK signed with NODE's key,
#                                 a TEK pair SRC <-> DST
#   glab_member_start GM          gdoid --foreground --config … in GM's namespace, in the
#                                 background (log: $GLAB_LOGS/GM.gdoid.log); waits until its
#                                 control socket answers
#   glab_member_stop GM [SIGNAL]  SIGNAL (TERM) to GM's gdoid, wait; exit status in $GLAB_EXIT_STATUS
#   glab_member_set GM KEY VALUE  set the [[group]] key KEY = VALUE (TOML, e.g. '"input"') in
#                                 GM's written configuration, replacing the line when it is
#                                 there (for a later start or `glab_ctl GM reload`)
#   glab_ctl GM ARGS...           gdoictl --socket <GM's socket> ARGS...
#   glab_status GM                gdoictl status --json for GM
#   glab_wait_registered GM [S]   wait up to S seconds (90) until GM's group is registered;
#                                 on timeout print the status and the log tail, status 1
#   glab_up                       glab_ks_start ks1; gm-a and gm-b configured with
#                                 GLAB_SERVERS_GMA / GLAB_SERVERS_GMB (default: ks1), started,
#                                 both registered
#   glab_esp_sa_records NODE      tshark `esp_sa` records (one per line, for `-o RECORD`) of
#                                 NODE's AES-CBC + HMAC-SHA-256 ESP states, keys as the kernel
#                                 holds them (any address of the GLAB_FAMILY family: one record per SPI)
#   glab_wire_flows PCAP NODE...  every packet between the LANs in PCAP (captured with
#                                 LAB_SNAPLEN=2000), ESP decrypted with the keys of the NODEs'
#                                 states (glab_esp_sa_records; a NODE written @FILE: the records
#                                 in FILE, e.g. collected earlier), one line per flow with its count:
#                                 "   3 x esp udp 10.1.0.10:40000 > 10.2.0.10:162" (ESP that
#                                 decrypted with a good ICV, next header 4 and outer addresses =
#                                 inner: the flow shown is the inner one) or "   3 x clear udp …";
#                                 ports for TCP/UDP only (a port above 32767, ephemeral, is
#                                 written "*"); then "PROBLEM …" lines for ESP that did not
#                                 decrypt or whose outer addresses differ, and "SUMMARY esp clear
#                                 problems"; tshark's own output in PCAP.tshark.log
#   glab_ping_flood_start STEP / glab_ping_flood_stop STEP [expect-loss]   host-a1 -> host-b1 at
#                                 ping -i 0.002 for one step; stop prints the totals and asserts 0 lost
#   glab_ping_report LOG SECONDS WHAT   from ping's summary in LOG (SECONDS of pinging host-a1 ->
#                                 host-b1 during WHAT): ok/fail (the scenario's functions) on zero
#                                 loss and on at least 500 packets/s (requests + replies, the
#                                 issue's bar); echoes answered in $GLAB_PING_RECEIVED
#   glab_spi_sequence PCAP SRC DST  the SPIs of the ESP packets SRC -> DST in PCAP, in order, each
#                                 run of one SPI once ("0x20000001 0x8f3b40ad ")
#   glab_tcp_sink NODE [TOS]      in the background (lab_bg): NODE accepts one TCP connection on
#                                 port 5001 over IPv$GLAB_FAMILY (TOS / traffic class on its socket,
#                                 default 0), counts what arrives and answers with the count;
#                                 log $GLAB_LOGS/tcp-sink-NODE.log
#   glab_wait_listening NODE tcp|udp PORT...   wait (30 s at most) until NODE has a socket
#                                 listening (tcp) or bound (udp) on each PORT; status 1 and a
#                                 message when one is missing (a fixed sleep is not enough under load)
#   glab_tcp_send NODE DST [SRC] [TOS]  20000 octets from NODE (from address SRC when given) to
#                                 DST:5001 (IPv6 when DST is); prints the sink's answer, "20000"
#                                 when all arrived
#   glab_member_add_group GM NAME ID SERVER [EXTRA]   append a second [[group]] NAME (id ID, key
#                                 server SERVER) to GM's configuration, in the family of
#                                 GLAB_FAMILY at the call (GLAB_FAMILY=6 glab_member_add_group …
#                                 for an IPv6 group beside an IPv4 one), EXTRA appended to it;
#                                 then SIGHUP (gdoid reloads). Start the key server with the same
#                                 GLAB_FAMILY/GLAB_GROUP_ID/GLAB_TEK_SPI_* first.
#   glab_datapath_counters GM NAME...  GM's datapath counters NAME... (gdoictl status), space-separated
#   glab_sa_table NODE            NODE's kernel SA table: "STATES BUCKETS" (ip -s xfrm state count)
#   glab_wait_for SECONDS WHAT CMD...   until CMD succeeds (every 0.3 s); after SECONDS the
#                                 scenario's fail "after SECONDS s: not WHAT", status 1
#   glab_json EXPR                JSON on stdin, print the Python expression EXPR over `j`
#   glab_json_check PYTHON        JSON on stdin into `j`, run PYTHON (asserts); its status
#   glab_down                     stop the members and key servers, remove the runtime folder
#                                 (registered with lab_on_exit by glab_init; idempotent)
# Variables
#   GLAB_GDOID GLAB_GDOICTL GLAB_KS   binaries (default: $GDOID_BUILD_DIR/…, else $GDOID/$GDOICTL/$GDOI_TEST_KS)
#   GLAB_RUN                      runtime folder (/run/gdoi-lab.XXXXXX); GLAB_LOGS: logs (scratch)
#   GLAB_SOCKET[GM] GLAB_CONFIG[GM] GLAB_KS_SOCKET[NODE] GLAB_GDOID_PID[GM] GLAB_KS_PID[NODE]
#   GLAB_LOG_LEVEL                gdoid's log-level (debug)
#   GLAB_FAMILY                   4 (default) or 6: an IPv6 group (Cisco `crypto gdoi group ipv6`)
#                                 in the same lab, after lab_add_ipv6: the key server listens on
#                                 LAB6_KS1, the members use LAB6_GMA_WAN/LAB6_GMB_WAN as
#                                 local-address, the TEKs protect LAB6_LAN_A <-> LAB6_LAN_B, the
#                                 KEK names the key server's unicast address (the test key server
#                                 sends no IPv6 multicast: every push goes unicast), and the
#                                 anchors are gdoid's IPv6 defaults (fd00:6764:6f69::1 and ::2).
#                                 Read by glab_init: set it before the first glab_* call.
#   GLAB_RETRY                    gdoid's retry setting ({ count = 1, interval = "3s" })
#   GLAB_MEMBER_EXTRA             TOML appended to each member's [[group]] (more keys, or
#                                 [[group.fail-open]] tables); empty by default
#   GLAB_KS_EXTRA                 TOML appended to each key server's [[group]] (e.g. a
#                                 [group.rekey] table, or a further group: glab_ks_group); empty by default
#   GLAB_DAEMON_EXTRA             TOML appended to each member's [daemon] table (e.g.
#                                 graceful-restart = true); empty by default
#   GLAB_AUTH                     psk (default) or certificate: Phase 1 with RSA signatures; a
#                                 PKI made by openssl under $GLAB_RUN/pki (test/support/
#                                 test-pki.sh): CA "CN=gdoi lab CA", key servers "CN=<node>.lab",
#                                 members "CN=<gm>.lab"; the key server sends its CERT and
#                                 takes every member the CA certified
#   GLAB_TEK_LIFETIME             the TEKs' lifetime in seconds (3600)
#   GLAB_KS_MULTICAST_TTL         the TTL of the key server's multicast pushes (1: they stay on
#                                 br-ks; more when core routes them, lab_multicast_routing)
#   GLAB_ROUTING_INSTANCE_GMA     routing-instance of gm-a's group (a VRF name; empty: none)
#   GLAB_KS_ATD GLAB_KS_DTD       the key server's activation/deactivation time delays (5, 10)
#   GLAB_DATAPATH_KEYS            auto | yes | no: write `lan-prefixes` (the member's own LAN,
#                                 with which gdoid installs SAs, policies and its tc-BPF datapath).
#                                 auto: only if `gdoid --check-config` accepts the key (older
#                                 builds refuse unknown keys); GLAB_DATAPATH_KEYS_USED says which.
#                                 The anchor addresses are left at gdoid's defaults
#                                 (GLAB_ANCHOR_INBOUND 100.127.255.1, GLAB_ANCHOR_REMOTE 100.127.255.2).
# Needs python3 (the KS control channel, JSON checks) and openssl (the KEK signing key).

GLAB_GROUP_ID=${GLAB_GROUP_ID:-4321}
GLAB_TEK_SPI_AB=${GLAB_TEK_SPI_AB:-0x20000001}
GLAB_TEK_SPI_BA=${GLAB_TEK_SPI_BA:-0x20000002}
GLAB_SILENT_KS=${GLAB_SILENT_KS:-203.0.113.99}
GLAB_ANCHOR_INBOUND=100.127.255.1 # gdoid's defaults (daemon/config.cpp); IPv6: glab_init
GLAB_ANCHOR_REMOTE=100.127.255.2
GLAB_FAMILY=${GLAB_FAMILY:-4}
GLAB_LOG_LEVEL=${GLAB_LOG_LEVEL:-debug}
GLAB_RETRY=${GLAB_RETRY:-'{ count = 1, interval = "3s" }'}
GLAB_DATAPATH_KEYS=${GLAB_DATAPATH_KEYS:-auto}
GLAB_MEMBER_EXTRA=${GLAB_MEMBER_EXTRA:-}
GLAB_KS_EXTRA=${GLAB_KS_EXTRA:-}
GLAB_DAEMON_EXTRA=${GLAB_DAEMON_EXTRA:-}
GLAB_TEK_LIFETIME=${GLAB_TEK_LIFETIME:-3600}
GLAB_KS_MULTICAST_TTL=${GLAB_KS_MULTICAST_TTL:-1}
GLAB_ROUTING_INSTANCE_GMA=${GLAB_ROUTING_INSTANCE_GMA:-}
GLAB_AUTH=${GLAB_AUTH:-psk}
GLAB_KS_ATD=${GLAB_KS_ATD:-5}
GLAB_KS_DTD=${GLAB_KS_DTD:-10}
GLAB_DATAPATH_KEYS_USED=""
GLAB_RUN=""
declare -gA GLAB_PSK=() GLAB_SOCKET=() GLAB_CONFIG=() GLAB_KS_SOCKET=() GLAB_GDOID_PID=() GLAB_KS_PID=()

_glab_die() { echo "gdoi-lab: $*" >&2; return 1; }

# _glab_lab NAME: the lab address NAME (KS1, GMA_WAN, LAN_A …) of the group's family
# (LAB_NAME or LAB6_NAME).
_glab_lab() {
    local name=LAB_$1
    [ "$GLAB_FAMILY" = 6 ] && name=LAB6_$1
    printf '%s' "${!name:?topology.sh has no $name (IPv6: call lab_add_ipv6 first)}"
}

glab_init() {
    [ -n "$GLAB_RUN" ] && return 0
    local b=${GDOID_BUILD_DIR:-}
    GLAB_GDOID=${GLAB_GDOID:-${GDOID:-$b/daemon/gdoid}}
    GLAB_GDOICTL=${GLAB_GDOICTL:-${GDOICTL:-$b/ctl/gdoictl}}
    GLAB_KS=${GLAB_KS:-${GDOI_TEST_KS:-$b/test/ks/gdoi-test-ks}}
    local x
    for x in "$GLAB_GDOID" "$GLAB_GDOICTL" "$GLAB_KS"; do
        [ -x "$x" ] || { _glab_die "$x is not built (set GDOID_BUILD_DIR or GLAB_GDOID/GLAB_GDOICTL/GLAB_KS)"; return 1; }
    done
    command -v python3 >/dev/null || { _glab_die "python3 is needed"; return 1; }
    case $GLAB_FAMILY in
        4) ;;
        6)
            [ -n "${LAB6_KS1:-}" ] || { _glab_die "GLAB_FAMILY=6 needs topology.sh's LAB6_* addresses"; return 1; }
            GLAB_ANCHOR_INBOUND=fd00:6764:6f69::1 GLAB_ANCHOR_REMOTE=fd00:6764:6f69::2
            ;;
        *) _glab_die "GLAB_FAMILY must be 4 or 6"; return 1 ;;
    esac
    GLAB_RUN=$(mktemp -d /run/gdoi-lab.XXXXXX) || return 1
    chmod 0755 "$GLAB_RUN" # unprivileged gdoictl must reach the socket, to be refused by gdoid
    GLAB_LOGS=${GLAB_LOGS:-${GDOID_VM_SCRATCH:-$GLAB_RUN/logs}}
    mkdir -p "$GLAB_LOGS"
    lab_on_exit glab_down
    # a key server address nobody answers for: core drops it without an ICMP error
    lab_exec core ip route add blackhole "$GLAB_SILENT_KS/32"
    local gm
    for gm in gm-a gm-b; do
        GLAB_PSK[$gm]="gdoi-lab-$gm-psk-$(date +%s)-$RANDOM$RANDOM$RANDOM"
    done
    case $GLAB_AUTH in
        psk) ;;
        certificate) _glab_pki || return 1 ;;
        *) _glab_die "GLAB_AUTH must be psk or certificate"; return 1 ;;
    esac
}

# The lab's PKI (GLAB_AUTH=certificate): one CA, a certificate per key server and member.
_glab_pki() {
    local pki_lib node
    pki_lib=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../support" 2>/dev/null && pwd)/test-pki.sh
    [ -f "$pki_lib" ] || pki_lib=${GDOID_SOURCE_ROOT:-}/test/support/test-pki.sh
    [ -f "$pki_lib" ] || { _glab_die "test/support/test-pki.sh not found"; return 1; }
    # shellcheck source=../../support/test-pki.sh
    . "$pki_lib"
    pki_ca "$GLAB_RUN/pki" ca "/O=gdoi lab/CN=gdoi lab CA" || return 1
    for node in ks1 ks2 gm-a gm-b; do
        pki_issue "$GLAB_RUN/pki" "$node" "/O=gdoi lab/CN=$node.lab" ca || return 1
    done
    chmod 0755 "$GLAB_RUN/pki"
}

glab_down() {
    local node pid i
    for node in "${!GLAB_GDOID_PID[@]}" "${!GLAB_KS_PID[@]}"; do
        pid=${GLAB_GDOID_PID[$node]:-${GLAB_KS_PID[$node]:-}}
        if [ -n "$pid" ]; then kill -TERM "$pid" 2>/dev/null || true; fi
    done
    for node in "${!GLAB_GDOID_PID[@]}" "${!GLAB_KS_PID[@]}"; do
        pid=${GLAB_GDOID_PID[$node]:-${GLAB_KS_PID[$node]:-}}
        [ -n "$pid" ] || continue
        for ((i = 0; i < 100; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    GLAB_GDOID_PID=() GLAB_KS_PID=()
    [ -n "$GLAB_RUN" ] && rm -rf "$GLAB_RUN"
    GLAB_RUN=""
}

# ---------------------------------------------------------------- the key server

# [phase1.certificate] of key server NODE when GLAB_AUTH=certificate; nothing otherwise.
_glab_ks_certificate() {
    [ "$GLAB_AUTH" = certificate ] || return 0
    printf '[phase1.certificate]\nfile = "%s"\nprivate-key = "%s"\nca = ["%s"]\n' \
        "$GLAB_RUN/pki/$1.crt" "$GLAB_RUN/pki/$1.key" "$GLAB_RUN/pki/ca.crt"
}

# The key server's per-member pre-shared keys (none with GLAB_AUTH=certificate).
_glab_ks_psks() {
    if [ "$GLAB_AUTH" = psk ]; then
        printf 'psk = { "%s" = "%s", "%s" = "%s" }\n' "$1" "${GLAB_PSK[gm-a]}" "$2" "${GLAB_PSK[gm-b]}"
    fi
}

glab_ks_start() {
    local node=${1:-ks1} address=${2:-}
    glab_init || return 1
    if [ -z "$address" ]; then
        case $node in ks1) address=$(_glab_lab KS1) ;; ks2) address=$(_glab_lab KS2) ;; *) _glab_die "glab_ks_start $node: which address?"; return 1 ;; esac
    fi
    local gma_wan gmb_wan lan_a lan_b kek_source kek_destination
    gma_wan=$(_glab_lab GMA_WAN) gmb_wan=$(_glab_lab GMB_WAN) lan_a=$(_glab_lab LAN_A) lan_b=$(_glab_lab LAN_B)
    if [ "$GLAB_FAMILY" = 6 ]; then
        kek_source=$address kek_destination=$address # unicast pushes only (see GLAB_FAMILY)
    else
        kek_source=$address:848 kek_destination=239.192.0.1:848
    fi
    local dir=$GLAB_RUN/$node
    mkdir -p "$dir" && chmod 0700 "$dir"
    if [ -f "$dir/kek-signing.next.pem" ]; then # made ahead by glab_ks_restart
        mv "$dir/kek-signing.next.pem" "$dir/kek-signing.pem"
    else
        openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$dir/kek-signing.pem" 2>/dev/null ||
            { _glab_die "openssl could not generate the KEK signing key"; return 1; }
    fi
    GLAB_KS_SOCKET[$node]=$dir/control
    (umask 077 && cat >"$dir/ks.toml") <<TOML
# gdoi-test-ks in $node, written by test/vm/lib/gdoi-lab.sh
listen = ["$address"]
port = 848
control-socket = "${GLAB_KS_SOCKET[$node]}"

[phase1]
proposals = [ { encryption = "aes-256-cbc", hash = "sha256", dh-group = 14, lifetime = 86400 } ]
$(_glab_ks_certificate "$node")

[[group]]
id = $GLAB_GROUP_ID
sequence = 1
$(_glab_ks_psks "$gma_wan" "$gmb_wan")

[group.kek]
algorithm = "aes-128-cbc"
signing-key = "$dir/kek-signing.pem"
signature-hash = "sha256"
lifetime = 86400
source = "$kek_source"
destination = "$kek_destination"
multicast-ttl = $GLAB_KS_MULTICAST_TTL

[group.gap]
atd = $GLAB_KS_ATD
dtd = $GLAB_KS_DTD

[[group.tek]]
spi = $GLAB_TEK_SPI_AB
cipher = "aes-256-cbc"
integrity = "hmac-sha256"
source = "$lan_a"
destination = "$lan_b"
lifetime = $GLAB_TEK_LIFETIME
mode = "tunnel"
preservation = "source-and-destination"
direction = "symmetric"

[[group.tek]]
spi = $GLAB_TEK_SPI_BA
cipher = "aes-256-cbc"
integrity = "hmac-sha256"
source = "$lan_b"
destination = "$lan_a"
lifetime = $GLAB_TEK_LIFETIME
mode = "tunnel"
preservation = "source-and-destination"
direction = "symmetric"

$GLAB_KS_EXTRA
TOML
    lab_bg "$node" "$GLAB_KS" --config "$dir/ks.toml" >>"$GLAB_LOGS/$node.ks.log" 2>&1
    GLAB_KS_PID[$node]=$LAB_LAST_PID
    local i
    for ((i = 0; i < 300; i++)); do
        [ -S "${GLAB_KS_SOCKET[$node]}" ] && return 0
        kill -0 "${GLAB_KS_PID[$node]}" 2>/dev/null || break
        sleep 0.1
    done
    tail -n 20 "$GLAB_LOGS/$node.ks.log" >&2
    _glab_die "gdoi-test-ks in $node did not open its control socket"
}

glab_ks_stop() {
    local node=${1:-ks1} pid
    pid=${GLAB_KS_PID[$node]:-}
    [ -n "$pid" ] || { _glab_die "no key server running in $node"; return 1; }
    kill -TERM "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    unset "GLAB_KS_PID[$node]"
    rm -f "${GLAB_KS_SOCKET[$node]}"
}

# glab_ks_next_key [NODE]: the KEK signing key NODE's key server takes at its next start, made
# now (an RSA key costs seconds to minutes under TCG on a loaded machine: make it before the
# step that restarts the server). glab_ks_restart [NODE]: NODE's key server (ks1) stopped and
# started again with new keys: that signing key (made first if it is not there), new KEK and
# TEK keys (GLAB_TEK_SPI_* at the call). Prints how long no server was there.
glab_ks_next_key() {
    local node=${1:-ks1}
    openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$GLAB_RUN/$node/kek-signing.next.pem" 2>/dev/null ||
        { _glab_die "openssl could not generate the next KEK signing key"; return 1; }
}
glab_ks_restart() {
    local node=${1:-ks1} started
    [ -f "$GLAB_RUN/$node/kek-signing.next.pem" ] || glab_ks_next_key "$node" || return 1
    started=$(date +%s.%N)
    glab_ks_stop "$node" && glab_ks_start "$node" || return 1
    echo "$node restarted: down $(python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.1f}')" "$started" "$(date +%s.%N)") s"
}

glab_ks_call() {
    local node=$1 request=$2
    [ -n "${GLAB_KS_SOCKET[$node]:-}" ] || { _glab_die "no key server started in $node"; return 2; }
    python3 - "${GLAB_KS_SOCKET[$node]}" "$request" <<'PY'
import json, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.settimeout(60)
try:
    s.connect(sys.argv[1])
    s.sendall(sys.argv[2].encode() + b"\n")
    buf = b""
    while not buf.endswith(b"\n"):
        chunk = s.recv(65536)
        if not chunk:
            break
        buf += chunk
except OSError as e:
    print(f"gdoi-lab: key server control channel {sys.argv[1]}: {e}", file=sys.stderr)
    sys.exit(2)
line = buf.decode().strip()
if not line:
    print("gdoi-lab: the key server closed the control channel without a reply", file=sys.stderr)
    sys.exit(2)
print(line)
sys.exit(0 if json.loads(line).get("ok") is True else 1)
PY
}

glab_ks_command() { glab_ks_call "${2:-ks1}" "{\"command\":\"$1\"}"; }

glab_ks_push() { glab_ks_call "${1:-ks1}" "{\"command\":\"push-now\",\"group\":$GLAB_GROUP_ID${2:+,$2}}"; }

# ---------------------------------------------------------------- the members

# _glab_write_member_config GM WITH_DATAPATH_KEYS(0|1) SERVER...
_glab_write_member_config() {
    local gm=$1 keys=$2 group
    shift 2
    group=$(_glab_member_group "$gm" lab "$GLAB_GROUP_ID" "$keys" "$@") || return 1
    cat >"${GLAB_CONFIG[$gm]}" <<TOML
# gdoid on $gm, written by test/vm/lib/gdoi-lab.sh
[daemon]
control-socket = "${GLAB_SOCKET[$gm]}"
log-level = "$GLAB_LOG_LEVEL"
$GLAB_DAEMON_EXTRA

$group
$GLAB_MEMBER_EXTRA
TOML
}

# _glab_member_group GM NAME ID WITH_DATAPATH_KEYS(0|1) SERVER...: one [[group]] table of GM.
_glab_member_group() {
    local gm=$1 name=$2 id=$3 keys=$4 local_address lan_prefix
    shift 4
    case $gm in
        gm-a) local_address=$(_glab_lab GMA_WAN) lan_prefix=$(_glab_lab LAN_A) ;;
        gm-b) local_address=$(_glab_lab GMB_WAN) lan_prefix=$(_glab_lab LAN_B) ;;
        *) _glab_die "unknown member $gm"; return 1 ;;
    esac
    local servers="" s
    for s in "$@"; do servers+="${servers:+, }\"$s\""; done
    local routing_instance=""
    [ "$gm" = gm-a ] && [ -n "$GLAB_ROUTING_INSTANCE_GMA" ] &&
        routing_instance="routing-instance = \"$GLAB_ROUTING_INSTANCE_GMA\""
    local datapath="# lan-prefixes: left out (GLAB_DATAPATH_KEYS=$GLAB_DATAPATH_KEYS, this gdoid refuses the key)"
    # anchor = { inbound = "$GLAB_ANCHOR_INBOUND", remote = "$GLAB_ANCHOR_REMOTE" } is the default
    [ "$keys" = 1 ] && datapath="lan-prefixes = [\"$lan_prefix\"]            # our own protected prefixes"
    cat <<TOML
[[group]]
name = "$name"
id = $id
servers = [$servers]
local-address = "$local_address"
$routing_instance
$(_glab_member_authentication "$gm")
ike = { encryption = "aes-256", hash = "sha256", dh-group = 14, lifetime = "8h" }
wan-interface = "wan0"
lan-interfaces = ["lan0"]
$datapath
retry = $GLAB_RETRY
TOML
}

# glab_member_group GM NAME ID [SERVER...]: a further [[group]] of GM (its datapath keys as
# the first group's), for a scenario to append to GLAB_CONFIG[GM] (servers default: LAB_KS1).
glab_member_group() {
    local gm=$1 name=$2 id=$3
    shift 3
    (($#)) || set -- "$(_glab_lab KS1)"
    _glab_member_group "$gm" "$name" "$id" "$([ "$GLAB_DATAPATH_KEYS_USED" = no ] && echo 0 || echo 1)" "$@"
}

# glab_ks_group ID SPI_AB SPI_BA SOURCE DESTINATION [NODE]: a further [[group]] of key server
# NODE (ks1) for GLAB_KS_EXTRA (after glab_init): the members' keys, a KEK signed with the
# node's key, the gap, and a TEK pair SOURCE <-> DESTINATION.
glab_ks_group() {
    local id=$1 ab=$2 ba=$3 source=$4 destination=$5 node=${6:-ks1} address
    case $node in ks1) address=$(_glab_lab KS1) ;; ks2) address=$(_glab_lab KS2) ;; *) _glab_die "glab_ks_group: which address for $node?"; return 1 ;; esac
    local kek_destination=239.192.0.1:848 kek_source=$address:848
    [ "$GLAB_FAMILY" = 6 ] && kek_source=$address kek_destination=$address
    local tek spi src dst
    cat <<TOML
[[group]]
id = $id
sequence = 1
$(_glab_ks_psks "$(_glab_lab GMA_WAN)" "$(_glab_lab GMB_WAN)")

[group.kek]
algorithm = "aes-128-cbc"
signing-key = "$GLAB_RUN/$node/kek-signing.pem"
signature-hash = "sha256"
lifetime = 86400
source = "$kek_source"
destination = "$kek_destination"

[group.gap]
atd = $GLAB_KS_ATD
dtd = $GLAB_KS_DTD
TOML
    for tek in "$ab $source $destination" "$ba $destination $source"; do
        read -r spi src dst <<<"$tek"
        cat <<TOML

[[group.tek]]
spi = $spi
cipher = "aes-256-cbc"
integrity = "hmac-sha256"
source = "$src"
destination = "$dst"
lifetime = $GLAB_TEK_LIFETIME
mode = "tunnel"
preservation = "source-and-destination"
direction = "symmetric"
TOML
    done
}

# The member's Phase 1 authentication line: its PSK file, or its certificate (GLAB_AUTH).
_glab_member_authentication() {
    local gm=$1
    if [ "$GLAB_AUTH" = certificate ]; then
        printf 'certificate = { file = "%s", private-key = { file = "%s" }, ca = ["%s"] }\n' \
            "$GLAB_RUN/pki/$gm.crt" "$GLAB_RUN/pki/$gm.key" "$GLAB_RUN/pki/ca.crt"
    else
        printf 'pre-shared-key = { file = "%s" }\n' "$GLAB_RUN/$gm/psk"
    fi
}

glab_member_config() {
    local gm=$1
    shift
    glab_init || return 1
    (($#)) || set -- "$(_glab_lab KS1)"
    local dir=$GLAB_RUN/$gm
    mkdir -p "$dir" && chmod 0755 "$dir"
    (umask 077 && printf '%s\n' "${GLAB_PSK[$gm]}" >"$dir/psk")
    chmod 0600 "$dir/psk"
    GLAB_SOCKET[$gm]=$dir/control
    GLAB_CONFIG[$gm]=$dir/gdoid.conf
    local out
    case $GLAB_DATAPATH_KEYS in
        yes) _glab_write_member_config "$gm" 1 "$@" ;;
        no) _glab_write_member_config "$gm" 0 "$@" ;;
        auto)
            _glab_write_member_config "$gm" 1 "$@" || return 1
            if ! out=$("$GLAB_GDOID" --check-config "${GLAB_CONFIG[$gm]}" 2>&1) && grep -q 'lan-prefixes' <<<"$out"; then
                _glab_write_member_config "$gm" 0 "$@" || return 1
            fi
            ;;
        *) _glab_die "GLAB_DATAPATH_KEYS must be auto, yes or no"; return 1 ;;
    esac
    if grep -q '^lan-prefixes' "${GLAB_CONFIG[$gm]}"; then GLAB_DATAPATH_KEYS_USED=yes; else GLAB_DATAPATH_KEYS_USED=no; fi
    cp "${GLAB_CONFIG[$gm]}" "$GLAB_LOGS/$gm.gdoid.conf" # no secret in it: the key is in a file
    out=$("$GLAB_GDOID" --check-config "${GLAB_CONFIG[$gm]}" 2>&1) ||
        { printf '%s\n' "$out" >&2; _glab_die "gdoid --check-config refuses $gm's configuration"; return 1; }
}

glab_member_set() {
    local gm=$1 key=$2 value=$3 file=${GLAB_CONFIG[$1]:?no gdoid configured for $1}
    if grep -q "^$key = " "$file"; then
        sed -i "s|^$key = .*|$key = $value|" "$file"
    else
        sed -i "/^retry = /a $key = $value" "$file"
    fi
    cp "$file" "$GLAB_LOGS/$gm.gdoid.conf"
}

glab_ctl() {
    local gm=$1
    shift
    "$GLAB_GDOICTL" --socket "${GLAB_SOCKET[$gm]:?no gdoid configured for $gm}" "$@"
}

glab_status() { glab_ctl "$1" status --json; }

glab_member_start() {
    local gm=$1 i
    [ -n "${GLAB_CONFIG[$gm]:-}" ] || glab_member_config "$gm" || return 1
    lab_bg "$gm" "$GLAB_GDOID" --foreground --config "${GLAB_CONFIG[$gm]}" >>"$GLAB_LOGS/$gm.gdoid.log" 2>&1
    GLAB_GDOID_PID[$gm]=$LAB_LAST_PID
    for ((i = 0; i < 600; i++)); do
        [ -S "${GLAB_SOCKET[$gm]}" ] && glab_ctl "$gm" status >/dev/null 2>&1 && return 0
        kill -0 "${GLAB_GDOID_PID[$gm]}" 2>/dev/null || break
        sleep 0.1
    done
    tail -n 20 "$GLAB_LOGS/$gm.gdoid.log" >&2
    _glab_die "gdoid on $gm did not answer on ${GLAB_SOCKET[$gm]}"
}

glab_member_stop() {
    local gm=$1 signal=${2:-TERM} pid=${GLAB_GDOID_PID[$1]:-}
    GLAB_EXIT_STATUS=""
    [ -n "$pid" ] || { _glab_die "no gdoid running on $gm"; return 1; }
    kill -"$signal" "$pid"
    GLAB_EXIT_STATUS=0
    wait "$pid" || GLAB_EXIT_STATUS=$?
    unset "GLAB_GDOID_PID[$gm]"
}

glab_wait_registered() {
    local gm=$1 seconds=${2:-90} json
    local deadline=$((SECONDS + seconds)) # a deadline, not a count: each check costs ~1 s under TCG
    while ((SECONDS < deadline)); do
        json=$(glab_status "$gm" 2>/dev/null) || json=""
        [[ $json == *'"state":"registered"'* ]] && return 0
        kill -0 "${GLAB_GDOID_PID[$gm]}" 2>/dev/null || { echo "gdoi-lab: gdoid on $gm exited" >&2; break; }
        sleep 0.25
    done
    echo "gdoi-lab: $gm not registered after $seconds s; gdoictl status:" >&2
    glab_ctl "$gm" status >&2 || true
    echo "gdoi-lab: last lines of $GLAB_LOGS/$gm.gdoid.log:" >&2
    tail -n 15 "$GLAB_LOGS/$gm.gdoid.log" >&2
    return 1
}

glab_up() {
    local -a a b
    glab_init || return 1
    read -r -a a <<<"${GLAB_SERVERS_GMA:-$(_glab_lab KS1)}"
    read -r -a b <<<"${GLAB_SERVERS_GMB:-$(_glab_lab KS1)}"
    glab_ks_start ks1 &&
        glab_member_config gm-a "${a[@]}" && glab_member_config gm-b "${b[@]}" &&
        glab_member_start gm-a && glab_member_start gm-b &&
        glab_wait_registered gm-a && glab_wait_registered gm-b
}

glab_member_add_group() {
    local gm=$1 name=$2 id=$3 server=$4 extra=${5:-} wan lan
    case $gm in
        gm-a) wan=$(_glab_lab GMA_WAN) lan=$(_glab_lab LAN_A) ;;
        gm-b) wan=$(_glab_lab GMB_WAN) lan=$(_glab_lab LAN_B) ;;
        *) _glab_die "unknown member $gm"; return 1 ;;
    esac
    cat >>"${GLAB_CONFIG[$gm]:?no gdoid configured for $gm}" <<TOML

[[group]]
name = "$name"
id = $id
servers = ["$server"]
local-address = "$wan"
$(_glab_member_authentication "$gm")
ike = { encryption = "aes-256", hash = "sha256", dh-group = 14, lifetime = "8h" }
wan-interface = "wan0"
lan-interfaces = ["lan0"]
lan-prefixes = ["$lan"]
retry = $GLAB_RETRY
$extra
TOML
    cp "${GLAB_CONFIG[$gm]}" "$GLAB_LOGS/$gm.gdoid.conf"
    kill -HUP "${GLAB_GDOID_PID[$gm]:?gdoid is not running on $gm}"
}

# ---------------------------------------------------------------- traffic under rekeys

# glab_ping_flood_start STEP / glab_ping_flood_stop STEP [expect-loss]: host-a1 pings host-b1
# as fast as TCG allows (ping -i 0.002) during one step of a scenario; stopping prints the
# totals ("step STEP: sent N received N lost N", also appended to $GLAB_LOGS/counts.txt; ping
# prints them on SIGALRM) and, unless expect-loss, an ok/FAIL line: more than 200 sent and
# none lost. Status 1 on that FAIL.
glab_ping_flood_start() {
    _glab_flood_log=$GLAB_LOGS/ping-$1.txt
    lab_bg host-a1 ping -n -q -i 0.002 -w 600 "$LAB_HOST_B1" >"$_glab_flood_log" 2>&1
    _glab_flood_pid=$LAB_LAST_PID
    sleep 1
}
glab_ping_flood_stop() {
    sleep 1
    kill -ALRM "$_glab_flood_pid" 2>/dev/null || true
    wait "$_glab_flood_pid" || true
    local stats sent received
    stats=$(grep 'packets transmitted' "$_glab_flood_log" || true)
    sent=$(awk '{ print $1 }' <<<"$stats") received=$(awk '{ print $4 }' <<<"$stats")
    echo "step $1: sent ${sent:-?} received ${received:-?} lost $((${sent:-0} - ${received:-0}))" | tee -a "$GLAB_LOGS/counts.txt"
    [ "${2:-}" = expect-loss ] && return 0
    if [ -n "$sent" ] && ((sent > 200)) && [ "$received" = "$sent" ]; then
        echo "ok: step $1: $received/$sent echoes host-a1 -> host-b1 answered, 0 lost"
    else
        echo "FAIL: step $1: echoes host-a1 -> host-b1 lost: $stats"
        return 1
    fi
}

# glab_ping_lost FILE: from the output of `ping -D -O`, one line per echo never answered:
# "icmp_seq=N at HH:MM:SS.mmm" (when ping gave up waiting), so a loss can be set beside the
# daemons' logs (kernel updates are logged with their second).
glab_ping_lost() {
    python3 - "$1" <<'PY'
import re, sys, time
waited, answered = {}, set()
for line in open(sys.argv[1], errors="replace"):
    m = re.match(r"\[(\d+\.\d+)\] (no answer yet for )?.*icmp_seq=(\d+)", line)
    if not m:
        continue
    if m.group(2):
        waited[int(m.group(3))] = float(m.group(1))
    else:
        answered.add(int(m.group(3)))
for seq, t in sorted(waited.items()):
    if seq not in answered:
        print(f"icmp_seq={seq} at {time.strftime('%H:%M:%S', time.localtime(t))}.{int(t * 1000) % 1000:03d}")
PY
}

glab_ping_report() {
    local log=$1 duration=$2 what=$3 stats transmitted received
    stats=$(grep 'packets transmitted' "$log")
    transmitted=$(awk '{ print $1 }' <<<"$stats") received=$(awk '{ print $4 }' <<<"$stats")
    GLAB_PING_RECEIVED=$received
    echo "ping host-a1 -> host-b1 over ${duration} s: $stats ($((transmitted / duration)) echoes/s)"
    [ -n "$received" ] && [ "$received" = "$transmitted" ] && [ "$transmitted" -gt 0 ] &&
        ok "$received/$transmitted echoes answered across $what: zero loss" ||
        fail "echoes lost across $what: $stats"
    local pps=$(((transmitted + received) / duration))
    ((pps >= 500)) && ok "$pps packets/s between host-a1 and host-b1 (echo requests + replies; at least 500)" ||
        fail "only $pps packets/s between host-a1 and host-b1 (want at least 500)"
}

glab_tcp_sink() {
    lab_bg "$1" python3 -c '
import socket, sys
six = sys.argv[2] == "6"
l = socket.socket(socket.AF_INET6 if six else socket.AF_INET)
l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
if six: l.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_TCLASS, int(sys.argv[1], 0))
else: l.setsockopt(socket.IPPROTO_IP, socket.IP_TOS, int(sys.argv[1], 0))
l.bind(("::" if six else "0.0.0.0", 5001)); l.listen(1); l.settimeout(30)
c, _ = l.accept(); c.settimeout(30)
n = 0
while True:
    d = c.recv(65536)
    if not d: break
    n += len(d)
c.sendall(str(n).encode()); c.close()' "${2:-0}" "$GLAB_FAMILY" >"$GLAB_LOGS/tcp-sink-$1.log" 2>&1
}

glab_wait_listening() {
    local node=$1 proto=$2 port missing deadline=$((SECONDS + 30)) sockets state=0A
    shift 2
    [ "$proto" = udp ] && state=07 # /proc/net/udp: bound; tcp: LISTEN (not `ss`: its diag modules)
    while :; do
        missing=""
        sockets=$(lab_exec "$node" cat "/proc/net/$proto" "/proc/net/${proto}6" 2>/dev/null | awk -v s="$state" '$4 == s { split($2, a, ":"); print a[2] }')
        for port in "$@"; do
            grep -qx "$(printf '%04X' "$port")" <<<"$sockets" || missing+=" $port"
        done
        [ -z "$missing" ] && return 0
        ((SECONDS < deadline)) || break
        sleep 0.2
    done
    echo "gdoi-lab: nothing listens on $proto port(s)$missing in $node after 30 s" >&2
    return 1
}

glab_tcp_send() {
    lab_exec "$1" python3 -c '
import socket, sys
six = ":" in sys.argv[1]
c = socket.socket(socket.AF_INET6 if six else socket.AF_INET)
if six: c.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_TCLASS, int(sys.argv[3], 0))
else: c.setsockopt(socket.IPPROTO_IP, socket.IP_TOS, int(sys.argv[3], 0))
if sys.argv[2]: c.bind((sys.argv[2], 0))
c.settimeout(30)
c.connect((sys.argv[1], 5001))
c.sendall(b"t" * 20000); c.shutdown(socket.SHUT_WR)
print(c.recv(100).decode())' "$2" "${3:-}" "${4:-0}" 2>&1
}

glab_spi_sequence() {
    tcpdump -r "$1" -n "src host $2 and dst host $3" 2>/dev/null |
        sed -n 's/.*ESP(spi=\(0x[0-9a-f]*\),.*/\1/p' | uniq | tr '\n' ' '
}

# ---------------------------------------------------------------- decrypting captures

glab_esp_sa_records() {
    lab_exec "$1" ip xfrm state | awk -v family="$GLAB_FAMILY" '
        /proto esp spi/ { spi = $4 }
        /^[ \t]*enc cbc\(aes\)/ { enc[spi] = $3 }
        /^[ \t]*auth-trunc hmac\(sha256\)/ { auth[spi] = $3 }
        END {
            for (s in enc)
                printf "uat:esp_sa:\"IPv%s\",\"*\",\"*\",\"%s\",\"AES-CBC [RFC3602]\",\"%s\",\"HMAC-SHA-256-128 [RFC4868]\",\"%s\"\n", family, s, enc[s], auth[s]
        }' | sort -u
}

glab_wire_flows() {
    local pcap=$1 node record
    shift
    local -a sa_opts=()
    while read -r record; do sa_opts+=(-o "$record"); done < <(for node in "$@"; do
        if [[ $node == @* ]]; then cat "${node#@}"; else glab_esp_sa_records "$node"; fi
    done | sort -u)
    tshark -r "$pcap" -n -o esp.enable_encryption_decode:TRUE -o esp.enable_authentication_check:TRUE \
        "${sa_opts[@]}" -Y "ip and not (ip.flags.mf == 1 or ip.frag_offset > 0)" -T fields -E occurrence=a -E aggregator='|' \
        -e frame.number -e ip.src -e ip.dst -e ip.proto -e esp.spi -e esp.protocol -e esp.icv_good \
        -e tcp.srcport -e tcp.dstport -e udp.srcport -e udp.dstport >"$pcap.tsv" 2>"$pcap.tshark.log" || true
    python3 - "$pcap.tsv" <<'PY'
import sys
flows, problems, counts = {}, [], {"esp": 0, "clear": 0}
names = {"1": "icmp", "6": "tcp", "17": "udp", "58": "icmpv6", "89": "ospf"}
def port(p):
    return "*" if int(p) > 32767 else p
for line in open(sys.argv[1]):
    f = line.rstrip("\n").split("\t")
    f += [""] * (11 - len(f))
    frame, src, dst, proto, spi, nh, icv, tsp, tdp, usp, udp_ = f[:11]
    src, dst, proto = src.split("|"), dst.split("|"), proto.split("|")
    if spi:
        if len(src) < 2 or not nh or int(nh, 0) != 4:
            problems.append(f"frame {frame} (spi {spi}): ESP not decrypted (next header {nh!r})")
            continue
        if icv not in ("1", "True", "true"):
            problems.append(f"frame {frame} (spi {spi}): ICV not good ({icv!r})")
        if (src[0], dst[0]) != (src[1], dst[1]):
            problems.append(f"frame {frame} (spi {spi}): outer {src[0]} > {dst[0]}, inner {src[1]} > {dst[1]}")
        kind, s, d, p = "esp", src[1], dst[1], proto[-1]
    else:
        kind, s, d, p = "clear", src[0], dst[0], proto[0]
    counts[kind] += 1
    sp, dp = (tsp, tdp) if tsp else (usp, udp_)
    name = names.get(p, p)
    key = f"{kind} {name} {s}:{port(sp)} > {d}:{port(dp)}" if sp else f"{kind} {name} {s} > {d}"
    flows[key] = flows.get(key, 0) + 1
for k in sorted(flows):
    print(f"{flows[k]:4d} x {k}")
for p in problems[:10]:
    print("PROBLEM", p)
print(f"SUMMARY {counts['esp']} {counts['clear']} {len(problems)}")
PY
}

# ---------------------------------------------------------------- JSON

# glab_datapath_counters GM NAME...: the tc-BPF datapath's counters NAME... from GM's gdoictl
# status, space-separated (lan_pre_fragment, out_df_set, out_unrestored_dropped, ...)
glab_datapath_counters() {
    local gm=$1
    shift
    glab_status "$gm" | python3 -c 'import json, sys
c = json.load(sys.stdin)["result"]["datapath"]["counters"]
print(" ".join(str(c[name]) for name in sys.argv[1:]))' "$@"
}

# glab_wait_for SECONDS WHAT CMD...: a wait on a condition instead of a sleep.
glab_wait_for() {
    local seconds=$1 what=$2
    local deadline=$((SECONDS + seconds))
    shift 2
    until "$@"; do
        ((SECONDS < deadline)) || { fail "after $seconds s: not $what"; return 1; }
        sleep 0.3
    done
}

# glab_sa_table NODE: "STATES BUCKETS" of NODE's SA table; its hash only grows, and a resize
# under traffic drops the packets whose lookups it meets (netlink/state_hash.hpp).
glab_sa_table() {
    lab_exec "$1" ip -s xfrm state count | sed -n 's/.*SAD count \([0-9]*\) (buckets count \([0-9]*\).*/\1 \2/p'
}

glab_json() {
    python3 -c 'import json, sys
j = json.load(sys.stdin)
v = eval(sys.argv[1])
print(json.dumps(v) if isinstance(v, (dict, list, bool)) or v is None else v)' "$1"
}

glab_json_check() {
    python3 -c 'import json, sys
j = json.load(sys.stdin)
exec(sys.argv[1])' "$1"
}
