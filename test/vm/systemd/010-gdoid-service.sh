#!/usr/bin/env bash
# gdoid.service as an operator runs it: systemd is PID 1 (scripts/vm --init systemd), gdoid comes
# from the Debian package ($GDOID_DEB, built by scripts/package) and runs as its own user with
# five ambient capabilities. gm-a is the box: the unit joins gm-a's network namespace through a
# drop-in (the only lab-specific setting); gm-b is an ordinary gdoid; gdoi-test-ks runs in ks1.
# Shown, each asserted:
#   - the package installs the user, the unit, the man pages and the example; the unit stays
#     idle while /etc/gdoid/gdoid.conf does not exist; systemd-analyze verify is clean and
#     systemd-analyze security rates the unit at 2.0 or better;
#   - Type=notify: `systemctl start` returns once gdoid sent READY=1 (the unit is active when it
#     returns), `systemctl status` shows gdoid's STATUS= line, which follows the group's state;
#   - the pre-shared key from LoadCredential= (the file is root's; gdoid's user cannot read it);
#   - gdoid runs as the user gdoid with exactly CAP_NET_ADMIN CAP_NET_BIND_SERVICE CAP_NET_RAW
#     CAP_PERFMON CAP_BPF and still registers, installs states, policies and its tc-BPF
#     datapath: host-a1 -> host-b1 crosses the core as ESP with the hosts' addresses; with
#     pre-fragmentation it creates its XFRM interface and routing rules, and oversize DF-clear
#     echoes leave fragmented before encryption;
#   - the journal: `journalctl -u gdoid GDOI_GROUP=lab`, and the stable MESSAGE_IDs of gdoid(8)
#     for registration, failover, an accepted push, a refused push and a group's removal;
#   - `systemctl reload` with a broken file fails, says why in the journal and keeps the running
#     configuration and keys; with a good file it applies it;
#   - the watchdog: gdoid's loop stopped (SIGSTOP) -> systemd kills and restarts it -> the group
#     registers again;
#   - `systemctl stop` leaves no XFRM state or policy, tc filter, BPF program, anchor address,
#     XFRM interface or routing rule.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/../lib/topology.sh"
. "$here/../lib/gdoi-lab.sh"
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
ok() { echo "ok: $*"; }
need() {
    ((failures == 0)) && return 0
    echo "stopping here: the checks below build on the ones that failed; gdoid's journal, last 40 lines:"
    journalctl -u gdoid --no-pager -o short-monotonic | tail -n 40 | sed 's/^/    /'
    gdoictl status 2>&1 | sed 's/^/    /' || true
    exit 1
}

[ "$(ps -p 1 -o comm=)" = systemd ] || { echo "FAIL: PID 1 is not systemd (run with scripts/vm --init systemd)"; exit 1; }
deb=${GDOID_DEB:-}
[ -d "$deb" ] && deb=$(find "$deb" -maxdepth 1 -name 'gdoid_*_amd64.deb' | sort | tail -n 1)
[ -n "$deb" ] && [ -f "$deb" ] || { echo "FAIL: no package: GDOID_DEB names no gdoid_*_amd64.deb (${GDOID_DEB:-unset})"; exit 1; }
MSG_REGISTERED=d4c159de8f2342a99606e2d028e30522 MSG_PUSH_ACCEPTED=8c20aef461a84527aaf3077792a58b99
MSG_PUSH_REFUSED=13473c28b5f746a095b13e6390e851d4 MSG_SERVER_CHANGED=26f560d4413d4225a044db791ac0bd88
MSG_GROUP_REMOVED=b2ee4ebca3564ad69bcfa9d62a71f344
unit_show() { systemctl show gdoid -P "$1"; }
journal() { journalctl -u gdoid --no-pager -o cat "$@"; }
# wait_for SECONDS WHAT CMD...: until CMD succeeds (a deadline: each try costs ~1 s under TCG)
wait_for() {
    local seconds=$1 what=$2 deadline
    shift 2
    deadline=$((SECONDS + seconds))
    until "$@" >/dev/null 2>&1; do
        ((SECONDS < deadline)) || { fail "$what (not within $seconds s)"; return 1; }
        sleep 0.3
    done
}
ctl_json() { gdoictl status --json; }
group_is() { [ "$(ctl_json | glab_json "j['result']['groups'][0]['name'] + ' ' + j['result']['groups'][0]['state']")" = "$1" ]; }

# ---------------------------------------------------------------- the package
echo "installing $(basename "$deb")"
DEBIAN_FRONTEND=noninteractive dpkg -i "$deb" >"$GDOID_VM_SCRATCH/dpkg.log" 2>&1 ||
    { cat "$GDOID_VM_SCRATCH/dpkg.log"; echo "FAIL: dpkg -i $deb"; exit 1; }
uid=$(id -u gdoid 2>/dev/null || echo none)
[ "$uid" != none ] && ((uid < 1000)) && [ "$(id -gn gdoid)" = gdoid ] &&
    ok "the package created the system user gdoid (uid $uid, group gdoid)" || fail "no system user gdoid ($uid)"
for f in /usr/sbin/gdoid /usr/sbin/gdoictl /usr/share/doc/gdoid/examples/gdoid.conf; do
    [ -e "$f" ] || fail "the package did not install $f"
done
man -w gdoid >/dev/null 2>&1 && man -w gdoid.conf >/dev/null 2>&1 || fail "gdoid(8) or gdoid.conf(5) not installed"
unit_file=$(unit_show FragmentPath)
[ "$(stat -c '%U:%G %a' /etc/gdoid)" = "root:gdoid 750" ] && ok "/etc/gdoid is root:gdoid 0750" ||
    fail "/etc/gdoid is $(stat -c '%U:%G %a' /etc/gdoid 2>&1)"
[ "$(unit_show ActiveState)" = inactive ] && [ "$(unit_show ConditionResult)" = no ] &&
    ok "without /etc/gdoid/gdoid.conf the unit stays inactive (condition not met), enabled: $(systemctl is-enabled gdoid)" ||
    fail "before any configuration: $(unit_show ActiveState), condition $(unit_show ConditionResult)"
out=$(systemd-analyze verify "$unit_file" 2>&1) && [ -z "$out" ] && ok "systemd-analyze verify $unit_file: clean" ||
    fail "systemd-analyze verify: $out"
exposure=$(systemd-analyze security --offline=true "$unit_file" 2>&1 | awk '/Overall exposure level/ { print $(NF-2) }')
awk -v e="$exposure" 'BEGIN { exit !(e != "" && e <= 2.0) }' &&
    ok "systemd-analyze security --offline=true: exposure $exposure (at most 2.0)" || fail "exposure '$exposure' (want at most 2.0)"

# ---------------------------------------------------------------- the lab, gdoid on gm-a from its unit
lab_up
GLAB_LOG_LEVEL=info
glab_ks_start ks1
lab_on_exit "systemctl stop gdoid"
# gm-a tries an address nobody answers for first: the failover to ks1 is in the journal
glab_member_config gm-a "$GLAB_SILENT_KS" "$LAB_KS1"
glab_member_config gm-b "$LAB_KS1"
glab_member_start gm-b
install -d -m 0700 /etc/gdoid/credentials
install -m 0600 "$GLAB_RUN/gm-a/psk" /etc/gdoid/credentials/lab.psk
# the lab's configuration with the unit's socket and the key as a credential
write_config() { # NAME [ONLY_SERVER]
    sed -e '/^control-socket/d' -e 's|^pre-shared-key = .*|pre-shared-key = { credential = "lab-psk" }|' \
        -e '/^retry = /a pre-fragmentation = true' \
        -e "s|^name = \"lab\"|name = \"$1\"|" ${2:+-e "s|^servers = .*|servers = [\"$2\"]|"} \
        "${GLAB_CONFIG[gm-a]}" >/etc/gdoid/gdoid.conf.new
    chown root:gdoid /etc/gdoid/gdoid.conf.new && chmod 0640 /etc/gdoid/gdoid.conf.new
    mv /etc/gdoid/gdoid.conf.new /etc/gdoid/gdoid.conf
}
write_config lab
mkdir -p /etc/systemd/system/gdoid.service.d
cat >/etc/systemd/system/gdoid.service.d/lab.conf <<EOF
[Service]
NetworkNamespacePath=/run/netns/$(lab_ns gm-a)
LoadCredential=lab-psk:/etc/gdoid/credentials/lab.psk
WatchdogSec=4s
RestartSec=1s
EOF
systemctl daemon-reload
setpriv --reuid=gdoid --regid=gdoid --clear-groups cat /etc/gdoid/credentials/lab.psk >/dev/null 2>&1 &&
    fail "gdoid's user can read the key file itself" || ok "the key file is root's alone; gdoid gets it as a credential"

t0=$SECONDS
systemctl start gdoid || { systemctl status gdoid --no-pager || true; journal | tail -n 20; echo "FAIL: systemctl start gdoid"; exit 1; }
state=$(unit_show ActiveState)/$(unit_show SubState)
[ "$state" = active/running ] && ok "systemctl start returned after $((SECONDS - t0)) s with the unit $state (Type=notify: READY=1 came first)" ||
    fail "after systemctl start the unit is $state"
pid=$(unit_show MainPID)
wait_for 120 "gm-a registers through its unit" group_is "lab registered"
need
ok "gm-a registered (after the silent server, with ks1)"
status_line=$(systemctl status gdoid --no-pager 2>&1 | sed -n 's/^ *Status: //p')
[ "$status_line" = "\"lab registered ($LAB_KS1:848)\"" ] && ok "systemctl status: Status: $status_line" ||
    fail "systemctl status shows Status: '$status_line' (want \"lab registered ($LAB_KS1:848)\")"

# ---------------------------------------------------------------- least privilege
user=$(ps -o user= -p "$pid")
caps=$(awk '/^CapEff:/ { print $2 }' "/proc/$pid/status")
# bits 10 NET_BIND_SERVICE, 12 NET_ADMIN, 13 NET_RAW, 38 PERFMON, 39 BPF
[ "$user" = gdoid ] && [ "$caps" = 000000c000003400 ] &&
    ok "gdoid runs as $user with CapEff $caps: NET_BIND_SERVICE NET_ADMIN NET_RAW PERFMON BPF, nothing else" ||
    fail "gdoid runs as $user with CapEff $caps (want gdoid, 000000c000003400)"
[ "$(awk '/^CapBnd:/ { print $2 }' "/proc/$pid/status")" = 000000c000003400 ] || fail "bounding set $(awk '/^CapBnd:/ { print $2 }' "/proc/$pid/status")"
glab_wait_registered gm-b 60 || fail "gm-b did not register"
states=$(lab_exec gm-a ip xfrm state | grep -c '^src' || true)
policies=$(lab_exec gm-a ip xfrm policy | grep -c '^src' || true)
filters=$(lab_exec gm-a tc filter show dev lan0 ingress | grep -c ' bpf ' || true)
anchor=$(lab_exec gm-a ip -4 -o addr show dev lo | grep -c "$GLAB_ANCHOR_INBOUND" || true)
((states >= 2 && policies >= 2 && filters >= 1 && anchor == 1)) &&
    ok "as gdoid: $states XFRM states, $policies policies, a tc-BPF filter on lan0, the anchor $GLAB_ANCHOR_INBOUND on lo" ||
    fail "as gdoid: $states states, $policies policies, $filters BPF filters on lan0, anchor $anchor"
# pre-fragmentation: the unit's unprivileged gdoid creates its XFRM interface and routing rules
# (CAP_NET_ADMIN), and an oversize DF-clear echo leaves gm-a fragmented before encryption
pf=$(lab_exec gm-a ip -o -d link show gdoi-pf0 2>/dev/null | grep -c 'xfrm if_id 0x6764' || true)
pf_rules=$(lab_exec gm-a ip rule show pref 41 | grep -c 'lookup 26468' || true)
lab_capture core to-gma "$GDOID_VM_SCRATCH/prefrag.pcap" "src $LAB_HOST_A1 and dst $LAB_HOST_B1"
big=$(lab_exec host-a1 ping -n -c 2 -i 0.3 -W 3 -M dont -s 1450 "$LAB_HOST_B1" 2>&1 | grep -o '[0-9]* received' || true)
lab_capture_stop
esp_whole=$(tcpdump -r "$GDOID_VM_SCRATCH/prefrag.pcap" -n "esp and ip[6:2] & 0x3fff = 0" 2>/dev/null | wc -l)
outer_fragments=$(tcpdump -r "$GDOID_VM_SCRATCH/prefrag.pcap" -n "ip[6:2] & 0x3fff != 0" 2>/dev/null | wc -l)
((pf == 1 && pf_rules >= 1 && esp_whole == 4 && outer_fragments == 0)) && [ "$big" = "2 received" ] &&
    ok "as gdoid, pre-fragmentation: its XFRM interface gdoi-pf0 and routing rules are in place; 2 DF-clear 1478-octet echoes answered, sent as 4 ESP packets with host-a1's address, no outer fragment" ||
    fail "pre-fragmentation as gdoid: interface $pf, rules $pf_rules, echoes '$big', $esp_whole ESP packets (want 4), $outer_fragments outer fragments (want 0)"
lab_capture core to-gma "$GDOID_VM_SCRATCH/wan.pcap" "ip and not udp port 848"
lab_ping host-a1 "$LAB_HOST_B1" 5 >/dev/null && ok "host-a1 reaches host-b1 through the group" || fail "host-a1 -> host-b1 ping failed"
lab_capture_stop
esp=$(tcpdump -r "$GDOID_VM_SCRATCH/wan.pcap" -n "src $LAB_HOST_A1 and dst $LAB_HOST_B1 and esp" 2>/dev/null | wc -l)
clear=$(tcpdump -r "$GDOID_VM_SCRATCH/wan.pcap" -n "icmp" 2>/dev/null | wc -l)
((esp == 5 && clear == 0)) && ok "the core saw 5 ESP packets $LAB_HOST_A1 > $LAB_HOST_B1 (header preservation) and no clear text" ||
    fail "core: $esp ESP packets host-a1 > host-b1 (want 5), $clear clear-text ICMP"
need

# ---------------------------------------------------------------- the journal
n=$(journal GDOI_GROUP=lab | wc -l)
((n >= 3)) && ok "journalctl -u gdoid GDOI_GROUP=lab: $n lines" || fail "journalctl GDOI_GROUP=lab: $n lines"
has_id() { journal "MESSAGE_ID=$1" GDOI_GROUP="${2:-lab}" | grep -q -- "$3"; }
has_id $MSG_REGISTERED lab "registered with key server $LAB_KS1" && ok "MESSAGE_ID=$MSG_REGISTERED: registered" || fail "no registration line with MESSAGE_ID=$MSG_REGISTERED"
has_id $MSG_SERVER_CHANGED lab "to $LAB_KS1" && ok "MESSAGE_ID=$MSG_SERVER_CHANGED: key server changed" || fail "no failover line with MESSAGE_ID=$MSG_SERVER_CHANGED"
glab_ks_push >/dev/null || fail "push-now"
wait_for 60 "gm-a accepts the push" bash -c "journalctl -u gdoid -o cat MESSAGE_ID=$MSG_PUSH_ACCEPTED | grep -q accepted" &&
    ok "MESSAGE_ID=$MSG_PUSH_ACCEPTED: push accepted"
# a push nobody signed: refused, counted, logged with its ID
registrations=$(journalctl -u gdoid -o cat MESSAGE_ID=$MSG_REGISTERED | wc -l)
lab_exec ks1 python3 - "$LAB_GMA_WAN" <<'PY'
import os, socket, struct, sys
body = os.urandom(64)
header = os.urandom(16) + struct.pack("!BBBBII", 8, 0x10, 33, 1, 0, 28 + len(body))
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.sendto(header + body, (sys.argv[1], 848))
PY
wait_for 30 "the forged push is refused" bash -c "journalctl -u gdoid -o cat MESSAGE_ID=$MSG_PUSH_REFUSED | grep -q unknown_kek_spi" &&
    ok "MESSAGE_ID=$MSG_PUSH_REFUSED: push refused (unknown_kek_spi)"
# It came from ks1's address under a KEK SPI gm-a was never given: what a key server restarted
# with new keys sends, so the group registers again (gdoid(8), RESTART WITHOUT LOSS), keeping its
# SAs, and is registered again before the reload below looks at it.
wait_for 30 "the unknown-KEK push from ks1's address makes the group register again" \
    bash -c "journalctl -u gdoid -o cat | grep -q 'appears to have restarted with new keys; registering again'" &&
    wait_for 60 "gm-a registered again after the unknown-KEK push" \
        bash -c "[ \$(journalctl -u gdoid -o cat MESSAGE_ID=$MSG_REGISTERED | wc -l) -gt $registrations ]" &&
    ok "a push under an unknown KEK from ks1's address: the group registered again"
wait_for 30 "gm-a's group registered" group_is "lab registered"

# ---------------------------------------------------------------- reload
spis_before=$(ctl_json | glab_json "sorted(t['spi'] for t in j['result']['groups'][0]['teks'])")
cp /etc/gdoid/gdoid.conf "$GDOID_VM_SCRATCH/good.conf"
echo 'this is = not [valid' >>/etc/gdoid/gdoid.conf
if systemctl reload gdoid 2>"$GDOID_VM_SCRATCH/reload.err"; then
    fail "systemctl reload with a broken file succeeded"
else
    ok "systemctl reload with a broken file fails: $(tail -n 1 "$GDOID_VM_SCRATCH/reload.err")"
fi
journal | grep -q "reload refused" && ok "the journal says why: $(journal | grep "reload refused" | tail -n 1)" || fail "no 'reload refused' in the journal"
spis_after=$(ctl_json | glab_json "sorted(t['spi'] for t in j['result']['groups'][0]['teks'])")
# The keys stay: no registration, no TEK that was not there before (a TEK past the key server's
# DTD may leave meanwhile: that is the rekey's own clock, not the reload).
registrations_after=$(journalctl -u gdoid -o cat MESSAGE_ID=$MSG_REGISTERED | wc -l)
registrations_before=$((registrations + 1))
kept=yes
for spi in $(ctl_json | glab_json "' '.join(t['spi'] for t in j['result']['groups'][0]['teks'])"); do
    [[ $spis_before == *"\"$spi\""* ]] || kept=no
done
[ "$(unit_show MainPID)" = "$pid" ] && group_is "lab registered" && [ "$kept" = yes ] &&
    [ "$spis_after" != "[]" ] && [ "$registrations_after" = "$registrations_before" ] &&
    ok "the running configuration and its keys stay (same process, registered $registrations_after times, TEKs $spis_after of $spis_before)" ||
    fail "after a refused reload: pid $(unit_show MainPID) (was $pid), TEKs $spis_after (were $spis_before), registrations $registrations_after (were $registrations_before)"
write_config lab-renamed
systemctl reload gdoid && ok "systemctl reload with a good file (group lab renamed lab-renamed) succeeds" || fail "systemctl reload with a good file failed"
wait_for 120 "the renamed group registers" group_is "lab-renamed registered" && ok "lab-renamed registered"
has_id $MSG_GROUP_REMOVED lab "removed from the configuration" && ok "MESSAGE_ID=$MSG_GROUP_REMOVED: group lab removed" || fail "no removal line with MESSAGE_ID=$MSG_GROUP_REMOVED"
need

# ---------------------------------------------------------------- the watchdog
restarts=$(unit_show NRestarts)
kill -STOP "$pid"
wait_for 60 "systemd restarts gdoid after its watchdog" bash -c "[ \$(systemctl show gdoid -P NRestarts) -gt $restarts ] && [ \$(systemctl show gdoid -P ActiveState) = active ]"
new_pid=$(unit_show MainPID)
journalctl -u gdoid --no-pager | grep -q "Watchdog timeout" && [ "$new_pid" != "$pid" ] &&
    ok "SIGSTOP: systemd's watchdog fired, killed pid $pid and started pid $new_pid" || fail "watchdog: no 'Watchdog timeout' in the journal or the same pid $new_pid"
wait_for 120 "the restarted gdoid registers again" group_is "lab-renamed registered" && ok "the restarted gdoid registered again"
need

# ---------------------------------------------------------------- what each capability is for
# gdoid started with one capability less each time (bounding and ambient sets): what breaks is
# what that capability is for. The unit keeps exactly the ones something needs.
write_config caps "$LAB_KS1"
all_caps="CAP_NET_ADMIN CAP_BPF CAP_PERFMON CAP_NET_BIND_SERVICE CAP_NET_RAW"
kernel_state() { ctl_json | glab_json "j['result']['groups'][0]['state'] + ' ' + ((j['result']['groups'][0].get('kernel') or {}).get('state') or 'none')"; }
for cap in $all_caps; do
    rest=$(tr ' ' '\n' <<<"$all_caps" | grep -v -x "$cap" | tr '\n' ' ')
    printf '[Service]\nAmbientCapabilities=\nAmbientCapabilities=%s\nCapabilityBoundingSet=\nCapabilityBoundingSet=%s\n' "$rest" "$rest" \
        >/etc/systemd/system/gdoid.service.d/caps.conf
    systemctl daemon-reload
    systemctl restart gdoid || true
    outcome=""
    deadline=$((SECONDS + 30))
    while ((SECONDS < deadline)); do
        outcome=$(kernel_state 2>/dev/null) || outcome="no status"
        [ "$outcome" = "registered installed" ] && break
        sleep 0.5
    done
    problem=$(journalctl --no-pager -o cat _PID="$(unit_show MainPID)" -p warning | grep -v '^ ' | head -n 1 || true)
    case $cap:$outcome in
        CAP_NET_RAW:"registered installed") ok "without $cap: registered, kernel objects installed (it serves routing-instance's SO_BINDTODEVICE only)" ;;
        CAP_NET_RAW:*) fail "without $cap: $outcome, $problem" ;;
        *:"registered installed") fail "without $cap gdoid works fully: the unit should not grant it" ;;
        *) ok "without $cap: $outcome: $problem" ;;
    esac
done
rm /etc/systemd/system/gdoid.service.d/caps.conf
systemctl daemon-reload

# ---------------------------------------------------------------- stop
systemctl stop gdoid
glab_member_stop gm-b # its programs would be counted below: bpftool sees every namespace's
[ "$(unit_show Result)" = success ] && ok "systemctl stop: result success" || fail "systemctl stop: result $(unit_show Result)"
left=$(
    lab_exec gm-a ip xfrm state | grep -c '^src' || true
    lab_exec gm-a ip xfrm policy | grep -c '^src' || true
    for dev in lan0 wan0 lo; do lab_exec gm-a tc filter show dev "$dev" ingress; lab_exec gm-a tc filter show dev "$dev" egress; done | grep -c . || true
    lab_exec gm-a ip -o addr show dev lo | grep -c -e "$GLAB_ANCHOR_INBOUND" -e "$GLAB_ANCHOR_REMOTE" || true
    bpftool prog show 2>/dev/null | grep -c 'sched_cls' || true
    { lab_exec gm-a ip -o link show gdoi-pf0 2>/dev/null; lab_exec gm-a ip rule show | grep -e 26468 -e '^4[0-2]:'; } | grep -c . || true
)
[ "$(echo $left)" = "0 0 0 0 0 0" ] && ok "after stop: no XFRM state or policy, tc filter, BPF program, anchor address, XFRM interface or routing rule on gm-a" ||
    fail "after stop (states policies filters anchors programs pre-fragmentation): $(echo $left)"
((failures == 0))
