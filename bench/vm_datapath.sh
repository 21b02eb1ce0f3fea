# shellcheck shell=bash disable=SC2034
# (SC2034: the GLAB_* variables set here are gdoi-lab.sh's interface)
# Figure 5, datapath (sourced by bench/vm_run.sh, in the VM, after lab_up): TCP and UDP
# throughput between LAN hosts (iperf3) through three paths of the same lab in the same boot:
#   clear   no encryption (the core routes the LANs), host-a2 -> host-b2, measured first;
#   gdoid   the header-preserving path as gdoid builds it: gdoi-test-ks in ks1, gdoid in gm-a
#           and gm-b (test/vm/lib/gdoi-lab.sh), its states to the anchors, policies and tc-BPF
#           programs; AES-256-CBC + HMAC-SHA-256-128 (the lab's TEKs); host-a1 -> host-b1;
#   tunnel  plain XFRM tunnel mode between the members' WAN addresses, hand-made states with the
#           same algorithms (test/vm/lib/static-esp.sh's host-a2 <-> host-b2 pair), installed
#           beside gdoid's (their policies' priority 0 matches before gdoid's band);
#           host-a2 -> host-b2. static-esp.sh's AES-GCM pair for host-a1 <-> host-b1 is taken
#           out again (its policies only), so that pair stays on gdoid's path.
# gdoid and tunnel runs alternate, ROUNDS times, so that the load of a shared machine falls on
# both alike; the figure is the mean over the rounds. Every path carries the same packets: TCP
# with MSS 1300 (-M), UDP datagrams of 1300 octets (-l), so none fragments or learns a path MTU.
# UDP is sent unpaced (-b 0): the figure is the rate received. Each path's own state counter
# must have carried its runs (the check that the path measured is the one named).
#   bench_datapath SECONDS ROUNDS      leaves the lab with gdoid running (glab_up)

_bench_iperf_servers_up() {
    local host
    for host in host-b1 host-b2; do
        lab_bg "$host" iperf3 --server >"$GLAB_LOGS/iperf3-server-$host.log" 2>&1
    done
    glab_wait_listening host-b1 tcp 5201 && glab_wait_listening host-b2 tcp 5201
}

# _bench_iperf NAME tcp|udp SECONDS FROM TO_ADDRESS: prints the received bits/s; the JSON in
# $GLAB_LOGS/iperf3-NAME-PROTO.json.
_bench_iperf() {
    local name=$1 proto=$2 seconds=$3 from=$4 to=$5 json=$GLAB_LOGS/iperf3-$1-$2.json
    local -a args=(--client "$to" --time "$seconds" --json)
    if [ "$proto" = udp ]; then args+=(--udp --bitrate 0 --length 1300); else args+=(--set-mss 1300); fi
    lab_exec "$from" iperf3 "${args[@]}" >"$json" 2>&1 ||
        { echo "bench: iperf3 $proto ($name) failed: $(head -c 400 "$json")" >&2; return 1; }
    python3 - "$json" <<'PY'
import json, sys
end = json.load(open(sys.argv[1]))["end"]
# the receiver's view (iperf3 >= 3.10 reports it for UDP too): what arrived is the figure
print(int(end["sum_received"]["bits_per_second"]))
PY
}

# _bench_state_packets NODE SPI: packets carried by NODE's ESP states with SPI (any addresses)
_bench_state_packets() {
    lab_exec "$1" ip -s xfrm state list spi "$2" | awk '
        /lifetime current:/ { getline; sub(/^.*, */, ""); sub(/\(packets\).*/, ""); n += $0 }
        END { print n + 0 }'
}

# _bench_daemon_cpu: CPU time (clock ticks) of both gdoids and the key server so far
_bench_daemon_cpu() {
    local pid total=0
    for pid in "${GLAB_GDOID_PID[@]}" "${GLAB_KS_PID[@]}"; do
        total=$((total + $(awk '{ print $14 + $15 }' "/proc/$pid/stat" 2>/dev/null || echo 0)))
    done
    echo "$total"
}

_bench_mbit() { awk -v b="$1" 'BEGIN { printf "%.1f Mbit/s", b / 1e6 }'; }
_bench_ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }'; }

bench_datapath() {
    local seconds=$1 rounds=$2 proto round bps
    declare -gA bench_bps=() bench_rounds=()
    glab_init || return 1 # GLAB_LOGS, binaries
    _bench_iperf_servers_up || return 1
    for proto in tcp udp; do
        bench_bps[clear-$proto]=$(_bench_iperf clear "$proto" "$seconds" host-a2 "$LAB_HOST_B2") || return 1
    done
    GLAB_DATAPATH_KEYS=yes
    glab_up || { echo "bench: the members did not register (logs in $GLAB_LOGS)" >&2; return 1; }
    esp_static_up
    lab_exec gm-a ip -batch - <<<"xfrm policy delete dir out src $LAB_HOST_A1/32 dst $LAB_HOST_B1/32
xfrm policy delete dir fwd src $LAB_HOST_B1/32 dst $LAB_HOST_A1/32"
    lab_exec gm-b ip -batch - <<<"xfrm policy delete dir out src $LAB_HOST_B1/32 dst $LAB_HOST_A1/32
xfrm policy delete dir fwd src $LAB_HOST_A1/32 dst $LAB_HOST_B1/32"
    local tek_before static_before cpu_before
    tek_before=$(_bench_state_packets gm-a "$GLAB_TEK_SPI_AB")
    static_before=$(_bench_state_packets gm-a "$ESP_SPI_CBC")
    cpu_before=$(_bench_daemon_cpu)
    for ((round = 1; round <= rounds; round++)); do
        for proto in tcp udp; do
            bps=$(_bench_iperf "tunnel-$round" "$proto" "$seconds" host-a2 "$LAB_HOST_B2") || return 1
            bench_bps[tunnel-$proto]=$((${bench_bps[tunnel-$proto]:-0} + bps / rounds))
            bench_rounds[tunnel-$proto]+="${bench_rounds[tunnel-$proto]:+/}$(_bench_mbit "$bps" | cut -d' ' -f1)"
            bps=$(_bench_iperf "gdoid-$round" "$proto" "$seconds" host-a1 "$LAB_HOST_B1") || return 1
            bench_bps[gdoid-$proto]=$((${bench_bps[gdoid-$proto]:-0} + bps / rounds))
            bench_rounds[gdoid-$proto]+="${bench_rounds[gdoid-$proto]:+/}$(_bench_mbit "$bps" | cut -d' ' -f1)"
        done
    done
    local cpu_after tek_after static_after gcm
    cpu_after=$(_bench_daemon_cpu)
    tek_after=$(_bench_state_packets gm-a "$GLAB_TEK_SPI_AB")
    static_after=$(_bench_state_packets gm-a "$ESP_SPI_CBC")
    gcm=$(_bench_state_packets gm-a "$ESP_SPI_GCM")
    echo "bench: packets of gm-a's outbound states during the runs: gdoid's TEK $((tek_after - tek_before)), hand-made tunnel $((static_after - static_before)), unused AES-GCM pair $gcm" >&2
    ((tek_after > tek_before && static_after > static_before && gcm == 0)) ||
        { echo "bench: a path did not carry its runs (see the line above)" >&2; return 1; }
    lab_exec gm-a ip -batch - <<<$'xfrm policy deleteall priority 0
'"xfrm state delete src $LAB_GMA_WAN dst $LAB_GMB_WAN proto esp spi $ESP_SPI_CBC" >/dev/null 2>&1 || true
    local daemon_cpu
    daemon_cpu=$(awk -v a="$cpu_before" -v b="$cpu_after" -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.2f", (b - a) / hz }')
    for proto in tcp udp; do
        local ours=${bench_bps[gdoid-$proto]} tunnel=${bench_bps[tunnel-$proto]} clear=${bench_bps[clear-$proto]}
        local upper=${proto^^}
        printf 'ROW\t5 datapath %s, header-preserving / tunnel (VM)\t%s\t%s\t%s\t>= 0.90\tiperf3 %s x %s s each, alternating, %s; rounds (Mbit/s) gdoid %s, tunnel %s; no encryption %s; gdoid + key server CPU during all runs %s s\n' \
            "$upper" "$(_bench_mbit "$ours")" "$(_bench_mbit "$tunnel")" "$(_bench_ratio "$ours" "$tunnel")" \
            "$rounds" "$seconds" "$([ "$proto" = tcp ] && echo "MSS 1300" || echo "1300-octet datagrams unpaced, rate received")" \
            "${bench_rounds[gdoid-$proto]}" "${bench_rounds[tunnel-$proto]}" "$(_bench_mbit "$clear")" "$daemon_cpu"
        printf 'ROW\t5 datapath %s, tunnel / no encryption (VM)\t%s\t%s\t%s\treport\tthe cost of ESP itself under TCG (no encryption measured once, before the others)\n' \
            "$upper" "$(_bench_mbit "$tunnel")" "$(_bench_mbit "$clear")" "$(_bench_ratio "$tunnel" "$clear")"
    done
}
