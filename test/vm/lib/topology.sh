# shellcheck shell=bash
# The standard gdoid lab in network namespaces (source this file; bash; root). Works in the VM
# (scripts/vm) and on the host. Picture:
#
#   host-a1 10.1.0.10 ─┐                                                 ┌─ host-b1 10.2.0.10
#                     sw-a ── lan0 gm-a wan0 ── core ── wan0 gm-b lan0 ── sw-b
#   host-a2 10.1.0.11 ─┘  10.1.0.1   192.0.2.1    │   198.51.100.2  10.2.0.1  └─ host-b2 10.2.0.11
#                                          br-ks 203.0.113.254
#                                           ┌─────┴─────┐
#                                   ks1 203.0.113.1   ks2 203.0.113.2
#
# core routes 10.1.0.0/16 to gm-a and 10.2.0.0/16 to gm-b, so packets keep their LAN addresses
# end to end (what GET VPN header preservation needs), and routes the KS subnet. sw-a/sw-b are
# plain bridges standing for the LAN switches, so each member's lan0 is one ordinary veth.
# Every veth pair has the same MTU on both ends (LAB_MTU, default 1500).
#
# Functions
#   lab_up                      build the lab; registers lab_down to run on EXIT/INT/TERM
#   lab_down                    kill every process in the lab's namespaces, delete them (idempotent)
#   lab_ns NODE                 the namespace name of NODE (gm-a, host-b1, core, ks1, sw-a …)
#   lab_exec NODE CMD...        run CMD in NODE's namespace
#   lab_bg NODE CMD...          start CMD in the background in NODE; killed by lab_down; pid in $LAB_LAST_PID
#   lab_capture NODE IFACE FILE [FILTER...]   start tcpdump -w FILE, return once it listens
#                               (first LAB_SNAPLEN octets of each packet, default 256; 0 = whole)
#   lab_capture_stop            stop every capture started with lab_capture (flushes the files)
#   lab_capture_complete FILE   (after lab_capture_stop) says whether tcpdump lost packets of
#                               FILE's capture (its "dropped by kernel" count); status 0 when none.
#                               A claim about "every packet" needs a complete capture. Whole
#                               packets: LAB_SNAPLEN=2000, not 0 (tcpdump sizes its ring slots by
#                               the snapshot length; 262144-octet slots drop bursts)
#   lab_on_exit CMD             run CMD (a string, eval'ed) at exit, before lab_down, last in first out
#   lab_set_mtu NODE IFACE MTU  set the MTU of IFACE in NODE and of its veth peer
#   lab_ping FROM DST [COUNT]   ping DST from FROM (COUNT echoes, 0.2 s apart, 2 s deadline each); status of ping
#   lab_nodes                   print every node name
#   lab_add_ipv6                (after lab_up; opt-in) the same topology in IPv6 as well: the
#                               LAB6_* addresses below on every link, forwarding on core and the
#                               members, core routing both LAN prefixes; returns once host-a1
#                               reaches host-b1 and ks1 reaches both members over IPv6
#   lab_vrf NODE VRF TABLE IFACE...   (after lab_up) a Linux VRF device VRF with routing table
#                               TABLE in NODE, IFACE... enslaved to it (their addresses and
#                               connected routes move into TABLE; routes of the main table
#                               through them are gone). What an operator types:
#                               `ip link add VRF type vrf table TABLE; ip link set IFACE master VRF`
#   lab_add_host NODE GM IFACE ADDR/LEN GATEWAY   (after lab_up) one more host: namespace NODE
#                               with eth0 ADDR/LEN and a default route via GATEWAY, wired by a
#                               veth to GM's new interface IFACE (up, no address); lab_down
#                               removes it like the others
#   lab_multicast_routing NODE IIF "OIF..." GROUP [SOURCE]   (opt-in) NODE routes multicast:
#                               smcrouted in NODE with IIF and the OIFs as its only VIFs and the
#                               static route GROUP (from SOURCE, else any source) IIF -> OIFs
#                               (e.g. core br-ks "to-gma to-gmb" for a key server's multicast
#                               rekeys); stopped by lab_down; returns once smcrouted holds it
# Variables (addresses): LAB_HOST_A1 LAB_HOST_A2 LAB_HOST_B1 LAB_HOST_B2 LAB_GMA_LAN LAB_GMA_WAN
#   LAB_GMB_LAN LAB_GMB_WAN LAB_CORE_A LAB_CORE_B LAB_CORE_KS LAB_KS1 LAB_KS2 LAB_LAN_A LAB_LAN_B
#   (prefixes 10.1.0.0/16, 10.2.0.0/16) LAB_KS_NET; interface names: gm-a/gm-b have lan0 and wan0,
#   core has to-gma to-gmb br-ks, hosts and key servers have eth0.
# IPv6 (only after lab_add_ipv6; documentation prefixes, RFC 3849): LAN a 2001:db8:1::/64
#   (LAB6_GMA_LAN ::1, LAB6_HOST_A1 ::10, LAB6_HOST_A2 ::11), LAN b 2001:db8:2::/64 (gm-b ::1,
#   hosts ::10 ::11), WAN a 2001:db8:ff01::/64 (LAB6_GMA_WAN ::1, LAB6_CORE_A ::ff), WAN b
#   2001:db8:ff02::/64 (LAB6_GMB_WAN ::2, LAB6_CORE_B ::ff), key servers 2001:db8:ff03::/64
#   (LAB6_KS1 ::1, LAB6_KS2 ::2, LAB6_CORE_KS ::ff); LAB6_LAN_A, LAB6_LAN_B, LAB6_KS_NET.
# Namespace names are "$LAB_PREFIX<node>". LAB_PREFIX defaults to "" in the VM (GDOID_VM=1) and
# to "gdoid<pid>-" on the host, so concurrent runs on a shared machine cannot collide.

LAB_HOST_A1=10.1.0.10 LAB_HOST_A2=10.1.0.11 LAB_GMA_LAN=10.1.0.1 LAB_GMA_WAN=192.0.2.1
LAB_HOST_B1=10.2.0.10 LAB_HOST_B2=10.2.0.11 LAB_GMB_LAN=10.2.0.1 LAB_GMB_WAN=198.51.100.2
LAB_CORE_A=192.0.2.254 LAB_CORE_B=198.51.100.254 LAB_CORE_KS=203.0.113.254
LAB_KS1=203.0.113.1 LAB_KS2=203.0.113.2
LAB_LAN_A=10.1.0.0/16 LAB_LAN_B=10.2.0.0/16 LAB_KS_NET=203.0.113.0/24
LAB_MTU=${LAB_MTU:-1500}
LAB6_HOST_A1=2001:db8:1::10 LAB6_HOST_A2=2001:db8:1::11 LAB6_GMA_LAN=2001:db8:1::1 LAB6_GMA_WAN=2001:db8:ff01::1
LAB6_HOST_B1=2001:db8:2::10 LAB6_HOST_B2=2001:db8:2::11 LAB6_GMB_LAN=2001:db8:2::1 LAB6_GMB_WAN=2001:db8:ff02::2
LAB6_CORE_A=2001:db8:ff01::ff LAB6_CORE_B=2001:db8:ff02::ff LAB6_CORE_KS=2001:db8:ff03::ff
LAB6_KS1=2001:db8:ff03::1 LAB6_KS2=2001:db8:ff03::2
LAB6_LAN_A=2001:db8:1::/64 LAB6_LAN_B=2001:db8:2::/64 LAB6_KS_NET=2001:db8:ff03::/64
if [ -z "${LAB_PREFIX+set}" ]; then
    if [ "${GDOID_VM:-}" = 1 ]; then LAB_PREFIX=""; else LAB_PREFIX="gdoid$$-"; fi
fi

# A scenario runs under `set -e`: a failing command outside a condition ends it at once, and
# without this line it would end with no word of which command (seen in CI: exit 1, no FAIL).
# Top level only (no `set -E`), so it speaks exactly when errexit is about to end the script.
trap 'echo "FAIL: ${BASH_SOURCE[0]##*/} line $LINENO: \"$BASH_COMMAND\" exited $? (set -e ends the scenario here)"' ERR

_lab_nodes=(core gm-a gm-b sw-a sw-b host-a1 host-a2 host-b1 host-b2 ks1 ks2)
_lab_created=()
_lab_pids=()
_lab_capture_pids=()
_lab_exit_cmds=()
_lab_pairs=() # "nsA ifA nsB ifB"

lab_nodes() { printf '%s\n' "${_lab_nodes[@]}"; }
lab_ns() { printf '%s%s\n' "$LAB_PREFIX" "$1"; }
lab_exec() {
    local node=$1
    shift
    ip netns exec "$LAB_PREFIX$node" "$@"
}

lab_on_exit() { _lab_exit_cmds+=("$1"); }

_lab_run_exit() {
    local i
    trap - EXIT INT TERM
    for ((i = ${#_lab_exit_cmds[@]} - 1; i >= 0; i--)); do
        eval "${_lab_exit_cmds[$i]}" || true
    done
    _lab_exit_cmds=()
    lab_down
    # The script's exit status stays what it exited with; returning it from the EXIT trap
    # would only set off the ERR trap once more ("exit 1" exited 1).
    return 0
}

lab_down() {
    lab_capture_stop 2>/dev/null || true
    local pid node
    for pid in "${_lab_pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    if ((${#_lab_created[@]})); then
        local -a files=() pids=()
        for node in "${_lab_created[@]}"; do files+=("/run/netns/$LAB_PREFIX$node"); done
        _lab_ns_pids() { # every process whose network namespace is one of ours
            local -A ours=()
            local ino path link
            while read -r ino; do ours["net:[$ino]"]=1; done < <(stat -L -c %i "${files[@]}" 2>/dev/null)
            while read -r path link; do
                [ -n "$link" ] && [ -n "${ours[$link]:-}" ] && path=${path#/proc/} && echo "${path%%/*}"
            done < <(find /proc -mindepth 3 -maxdepth 3 -path '/proc/[0-9]*/ns/net' -printf '%p %l\n' 2>/dev/null)
            return 0
        }
        mapfile -t pids < <(_lab_ns_pids)
        if ((${#pids[@]})); then
            kill "${pids[@]}" 2>/dev/null || true
            sleep 0.3
            mapfile -t pids < <(_lab_ns_pids)
            ((${#pids[@]})) && kill -9 "${pids[@]}" 2>/dev/null || true
        fi
        local batch=""
        for node in "${_lab_created[@]}"; do batch+="netns del $LAB_PREFIX$node"$'\n'; done
        ip -force -batch - <<<"$batch" 2>/dev/null || true
    fi
    _lab_created=()
    _lab_pids=()
    _lab_pairs=()
}

# The lab is built with one `ip -batch` in the root namespace (namespaces, veth pairs) and one
# `ip -n NS -batch` per namespace: process start-up is the dominant cost under emulation
# (~0.2 s per exec on a busy TCG guest), so a hundred separate `ip` calls would take half a minute.
_lab_root_batch=""
declare -A _lab_ns_batch

_lab_in() { _lab_ns_batch[$1]+="$2"$'\n'; }

# _lab_veth NODE_A IF_A NODE_B IF_B: one veth pair between two nodes, both ends up, same MTU.
_lab_veth() {
    local a=$1 ia=$2 b=$3 ib=$4
    _lab_root_batch+="link add $ia netns $LAB_PREFIX$a mtu $LAB_MTU type veth peer name $ib netns $LAB_PREFIX$b mtu $LAB_MTU"$'\n'
    _lab_in "$a" "link set $ia up"
    _lab_in "$b" "link set $ib up"
    _lab_pairs+=("$a $ia $b $ib")
}

lab_up() {
    local node ns
    for node in "${_lab_nodes[@]}"; do
        ns=$LAB_PREFIX$node
        if [ -e "/run/netns/$ns" ]; then
            echo "topology: namespace $ns already exists (an earlier run left it, or another run" \
                "uses LAB_PREFIX='$LAB_PREFIX'); remove it with: ip netns del $ns" >&2
            return 1
        fi
    done
    trap _lab_run_exit EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
    _lab_root_batch=""
    _lab_ns_batch=()
    for node in "${_lab_nodes[@]}"; do
        _lab_root_batch+="netns add $LAB_PREFIX$node"$'\n'
        _lab_created+=("$node")
        _lab_in "$node" "link set lo up"
    done

    # the two LANs: a bridge in sw-x standing for the switch; the member's lan0 and both hosts
    local side gm port
    for side in a b; do
        gm=gm-$side
        _lab_in "sw-$side" "link add br0 mtu $LAB_MTU type bridge"
        _lab_in "sw-$side" "link set br0 up"
        _lab_veth "$gm" lan0 "sw-$side" p-gm
        _lab_veth "host-${side}1" eth0 "sw-$side" p-h1
        _lab_veth "host-${side}2" eth0 "sw-$side" p-h2
        for port in p-gm p-h1 p-h2; do _lab_in "sw-$side" "link set $port master br0"; done
    done
    _lab_in gm-a "addr add $LAB_GMA_LAN/24 dev lan0"
    _lab_in gm-b "addr add $LAB_GMB_LAN/24 dev lan0"
    _lab_in host-a1 "addr add $LAB_HOST_A1/24 dev eth0"
    _lab_in host-a2 "addr add $LAB_HOST_A2/24 dev eth0"
    _lab_in host-b1 "addr add $LAB_HOST_B1/24 dev eth0"
    _lab_in host-b2 "addr add $LAB_HOST_B2/24 dev eth0"
    for node in host-a1 host-a2; do _lab_in "$node" "route add default via $LAB_GMA_LAN"; done
    for node in host-b1 host-b2; do _lab_in "$node" "route add default via $LAB_GMB_LAN"; done

    # the WAN: core routes both LAN prefixes to the members (no NAT, addresses kept)
    _lab_veth gm-a wan0 core to-gma
    _lab_veth gm-b wan0 core to-gmb
    _lab_in gm-a "addr add $LAB_GMA_WAN/24 dev wan0"
    _lab_in gm-b "addr add $LAB_GMB_WAN/24 dev wan0"
    _lab_in core "addr add $LAB_CORE_A/24 dev to-gma"
    _lab_in core "addr add $LAB_CORE_B/24 dev to-gmb"
    _lab_in gm-a "route add default via $LAB_CORE_A"
    _lab_in gm-b "route add default via $LAB_CORE_B"
    _lab_in core "route add $LAB_LAN_A via $LAB_GMA_WAN"
    _lab_in core "route add $LAB_LAN_B via $LAB_GMB_WAN"

    # the key servers' subnet, bridged inside core
    _lab_in core "link add br-ks mtu $LAB_MTU type bridge"
    _lab_in core "link set br-ks up"
    _lab_in core "addr add $LAB_CORE_KS/24 dev br-ks"
    _lab_veth ks1 eth0 core p-ks1
    _lab_veth ks2 eth0 core p-ks2
    _lab_in core "link set p-ks1 master br-ks"
    _lab_in core "link set p-ks2 master br-ks"
    _lab_in ks1 "addr add $LAB_KS1/24 dev eth0"
    _lab_in ks2 "addr add $LAB_KS2/24 dev eth0"
    _lab_in ks1 "route add default via $LAB_CORE_KS"
    _lab_in ks2 "route add default via $LAB_CORE_KS"

    ip -batch - <<<"$_lab_root_batch" || { echo "topology: creating namespaces and links failed" >&2; return 1; }
    for node in "${_lab_nodes[@]}"; do
        ip -n "$LAB_PREFIX$node" -batch - <<<"${_lab_ns_batch[$node]}" ||
            { echo "topology: configuring $node failed" >&2; return 1; }
    done
    for node in core gm-a gm-b; do
        lab_exec "$node" sysctl -q -w net.ipv4.ip_forward=1 net.ipv4.conf.all.rp_filter=0 \
            net.ipv4.conf.default.rp_filter=0
    done
    # wait until every path works (links and bridge ports come up asynchronously)
    _lab_wait_reachable host-a1 "$LAB_HOST_B1" && _lab_wait_reachable host-b2 "$LAB_HOST_A2" &&
        _lab_wait_reachable host-a2 "$LAB_GMA_LAN" && _lab_wait_reachable host-b1 "$LAB_GMB_LAN" &&
        _lab_wait_reachable ks1 "$LAB_GMA_WAN" && _lab_wait_reachable ks2 "$LAB_GMB_WAN"
}

# The IPv6 layer is separate from lab_up so that the scenarios written for IPv4 see exactly
# the lab they always had. Addresses are added `nodad`: duplicate address detection would keep
# each one tentative (unusable) for a second or more, and nothing else in the lab can own them.
lab_add_ipv6() {
    local node batch
    declare -A b=()
    b[gm-a]="addr add $LAB6_GMA_LAN/64 dev lan0 nodad
addr add $LAB6_GMA_WAN/64 dev wan0 nodad
route add default via $LAB6_CORE_A"
    b[gm-b]="addr add $LAB6_GMB_LAN/64 dev lan0 nodad
addr add $LAB6_GMB_WAN/64 dev wan0 nodad
route add default via $LAB6_CORE_B"
    b[host-a1]="addr add $LAB6_HOST_A1/64 dev eth0 nodad
route add default via $LAB6_GMA_LAN"
    b[host-a2]="addr add $LAB6_HOST_A2/64 dev eth0 nodad
route add default via $LAB6_GMA_LAN"
    b[host-b1]="addr add $LAB6_HOST_B1/64 dev eth0 nodad
route add default via $LAB6_GMB_LAN"
    b[host-b2]="addr add $LAB6_HOST_B2/64 dev eth0 nodad
route add default via $LAB6_GMB_LAN"
    b[ks1]="addr add $LAB6_KS1/64 dev eth0 nodad
route add default via $LAB6_CORE_KS"
    b[ks2]="addr add $LAB6_KS2/64 dev eth0 nodad
route add default via $LAB6_CORE_KS"
    b[core]="addr add $LAB6_CORE_A/64 dev to-gma nodad
addr add $LAB6_CORE_B/64 dev to-gmb nodad
addr add $LAB6_CORE_KS/64 dev br-ks nodad
route add $LAB6_LAN_A via $LAB6_GMA_WAN
route add $LAB6_LAN_B via $LAB6_GMB_WAN"
    for node in core gm-a gm-b; do
        # forwarding first: it also turns the node into a router for neighbour discovery
        lab_exec "$node" sysctl -q -w net.ipv6.conf.all.forwarding=1 ||
            { echo "topology: enabling IPv6 forwarding in $node failed" >&2; return 1; }
    done
    for node in "${!b[@]}"; do
        batch=${b[$node]}
        ip -n "$LAB_PREFIX$node" -6 -batch - <<<"$batch" ||
            { echo "topology: configuring IPv6 in $node failed" >&2; return 1; }
    done
    _lab_wait_reachable host-a1 "$LAB6_HOST_B1" && _lab_wait_reachable host-b2 "$LAB6_HOST_A2" &&
        _lab_wait_reachable ks1 "$LAB6_GMA_WAN" && _lab_wait_reachable ks1 "$LAB6_GMB_WAN"
}

_lab_wait_reachable() {
    local i
    for ((i = 0; i < 50; i++)); do
        lab_exec "$1" ping -c 1 -W 1 -q "$2" >/dev/null 2>&1 && return 0
        sleep 0.2
    done
    echo "topology: $1 cannot reach $2 after 10 s" >&2
    return 1
}

lab_bg() {
    local node=$1
    shift
    ip netns exec "$LAB_PREFIX$node" "$@" &
    LAB_LAST_PID=$!
    _lab_pids+=("$LAB_LAST_PID")
}

lab_capture() {
    local node=$1 iface=$2 file=$3
    shift 3
    rm -f "$file"
    # immediate mode + -U: every packet reaches the file at once; with the default ring buffer
    # the last packets can still sit in the kernel when the capture is stopped
    ip netns exec "$LAB_PREFIX$node" tcpdump -i "$iface" -n --immediate-mode -U -s "${LAB_SNAPLEN:-256}" -w "$file" "$@" \
        2>"$file.log" &
    _lab_capture_pids+=("$!")
    # deadline, not a count of tries: under emulation with a loaded guest tcpdump has taken
    # several seconds to open its socket
    local deadline=$((SECONDS + 30))
    until grep -q "listening on" "$file.log" 2>/dev/null; do
        kill -0 "$!" 2>/dev/null && ((SECONDS < deadline)) || break
        sleep 0.1
    done
    grep -q "listening on" "$file.log" 2>/dev/null && return 0
    echo "topology: tcpdump on $node/$iface did not start within 30 s:" >&2
    cat "$file.log" >&2
    return 1
}

lab_capture_stop() {
    local pid
    ((${#_lab_capture_pids[@]})) || return 0
    sleep 0.3 # let packets in flight (slow under emulation) reach the capture
    for pid in "${_lab_capture_pids[@]}"; do kill -INT "$pid" 2>/dev/null || true; done
    for pid in "${_lab_capture_pids[@]}"; do wait "$pid" 2>/dev/null || true; done
    _lab_capture_pids=()
}

lab_capture_complete() {
    local dropped
    dropped=$(awk '/packets dropped by kernel/ { print $1 }' "$1.log" 2>/dev/null)
    if [ "$dropped" = 0 ]; then
        echo "capture $(basename "$1"): no packet dropped by the kernel"
    else
        echo "capture $(basename "$1"): '${dropped:-?}' packets dropped by the kernel (see $1.log)"
        return 1
    fi
}

lab_set_mtu() {
    local node=$1 iface=$2 mtu=$3 pair a ia b ib
    for pair in "${_lab_pairs[@]}"; do
        read -r a ia b ib <<<"$pair"
        if [ "$a $ia" = "$node $iface" ] || [ "$b $ib" = "$node $iface" ]; then
            lab_exec "$a" ip link set "$ia" mtu "$mtu"
            lab_exec "$b" ip link set "$ib" mtu "$mtu"
            return 0
        fi
    done
    echo "topology: no veth pair has $iface in $node" >&2
    return 1
}

lab_vrf() {
    local node=$1 vrf=$2 table=$3 iface batch
    shift 3
    batch="link add $vrf type vrf table $table"$'\n'"link set $vrf up"$'\n'
    for iface in "$@"; do batch+="link set $iface master $vrf"$'\n'; done
    ip -n "$LAB_PREFIX$node" -batch - <<<"$batch" ||
        { echo "topology: putting $* of $node into VRF $vrf (table $table) failed" >&2; return 1; }
}

lab_add_host() {
    local node=$1 gm=$2 iface=$3 address=$4 gateway=$5
    [ -e "/run/netns/$LAB_PREFIX$node" ] && { echo "topology: namespace $LAB_PREFIX$node already exists" >&2; return 1; }
    ip netns add "$LAB_PREFIX$node" || return 1
    _lab_created+=("$node")
    ip link add "$iface" netns "$LAB_PREFIX$gm" mtu "$LAB_MTU" type veth peer name eth0 \
        netns "$LAB_PREFIX$node" mtu "$LAB_MTU" || return 1
    _lab_pairs+=("$gm $iface $node eth0")
    ip -n "$LAB_PREFIX$node" -batch - <<<"link set lo up
link set eth0 up
addr add $address dev eth0
route add default via $gateway" && ip -n "$LAB_PREFIX$gm" link set "$iface" up ||
        { echo "topology: wiring $node to $gm/$iface failed" >&2; return 1; }
}

lab_ping() {
    lab_exec "$1" ping -n -c "${3:-3}" -i 0.2 -W 2 "$2"
}

# smcroute (Debian's package) as the multicast router: one daemon per node, its files under
# /run named after the node (the namespaces share /run). -N: only the two interfaces become
# VIFs. A route without a source is a (*,G): smcrouted installs the kernel's (S,G) entry when
# the first packet of a source arrives (the kernel's upcall).
lab_multicast_routing() {
    local node=$1 iif=$2 oifs=$3 group=$4 source=${5:-} i oif
    local base=/run/lab-smcroute-$LAB_PREFIX$node
    {
        printf 'phyint %s enable\n' "$iif"
        for oif in $oifs; do printf 'phyint %s enable\n' "$oif"; done
        printf 'mroute from %s%s group %s to %s\n' "$iif" "${source:+ source $source}" "$group" "$oifs"
    } >"$base.conf"
    local log=${GDOID_VM_SCRATCH:-/run}/lab-smcroute-$LAB_PREFIX$node.log
    lab_on_exit "rm -f '$base.conf' '$base.pid' '$base.sock'"
    lab_bg "$node" smcrouted -n -N -f "$base.conf" -i "lab-smcroute-$node" -P "$base.pid" \
        -u "$base.sock" -l info >"$log" 2>&1
    for ((i = 0; i < 100; i++)); do
        lab_exec "$node" smcroutectl -u "$base.sock" show routes 2>/dev/null | grep -q "$group" && return 0
        kill -0 "$LAB_LAST_PID" 2>/dev/null || break
        sleep 0.2
    done
    echo "topology: smcrouted in $node did not take the route $group $iif -> $oifs:" >&2
    cat "$log" >&2
    return 1
}
