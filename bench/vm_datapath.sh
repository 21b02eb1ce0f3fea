# shellcheck shell=bash
# Figure 5, datapath (sourced by bench/vm_run.sh, in the VM, after lab_up): TCP and UDP
# throughput host-a2 -> host-b2 (iperf3) through three paths of the same lab in the same boot:
#   clear   no encryption (the core routes the LANs);
#   tunnel  plain XFRM tunnel mode between the members' WAN addresses, hand-made states
#           (test/vm/lib/static-esp.sh: host-a2 <-> host-b2 use AES-256-CBC + HMAC-SHA-256-128,
#           the lab's TEK algorithms);
#   gdoid   the header-preserving path as gdoid builds it: gdoi-test-ks in ks1, gdoid in gm-a
#           and gm-b (test/vm/lib/gdoi-lab.sh), its states to the anchors, policies and tc-BPF
#           programs; the same algorithms.
# Every path carries the same packets: TCP with MSS 1300 (-M), UDP datagrams of 1300 octets
# (-l), so none of them fragments or learns a path MTU. UDP is sent unpaced (-b 0): the figure
# is what arrives. Prints one ROW per protocol for gdoid/tunnel and one for tunnel/clear.
#   bench_datapath SECONDS      leaves the lab with gdoid running and registered (glab_up)

_bench_iperf_server_up() {
    lab_bg host-b2 iperf3 --server --bind "$LAB_HOST_B2" >"$GLAB_LOGS/iperf3-server.log" 2>&1
    glab_wait_listening host-b2 tcp 5201
}

# _bench_iperf PATH tcp|udp SECONDS: prints the received bits/s; the JSON in $GLAB_LOGS.
_bench_iperf() {
    local path=$1 proto=$2 seconds=$3 json=$GLAB_LOGS/iperf3-$1-$2.json
    local -a args=(--client "$LAB_HOST_B2" --bind "$LAB_HOST_A2" --time "$seconds" --json)
    if [ "$proto" = udp ]; then args+=(--udp --bitrate 0 --length 1300); else args+=(--set-mss 1300); fi
    lab_exec host-a2 iperf3 "${args[@]}" >"$json" 2>&1 ||
        { echo "bench: iperf3 $proto over the $path path failed: $(head -c 400 "$json")" >&2; return 1; }
    python3 - "$json" "$proto" <<'PY'
import json, sys
end = json.load(open(sys.argv[1]))["end"]
if sys.argv[2] == "tcp":
    print(int(end["sum_received"]["bits_per_second"]))
else:
    # iperf3 3.12 reports the receiver's view in "sum" once the server's results came back:
    # bytes sent and datagrams lost; what arrived is the figure.
    s = end["sum"]
    print(int(s["bits_per_second"] * (1 - s["lost_percent"] / 100)))
PY
}

_bench_mbit() { awk -v b="$1" 'BEGIN { printf "%.1f Mbit/s", b / 1e6 }'; }
_bench_ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b > 0 ? a / b : 0 }'; }

bench_datapath() {
    local seconds=$1 proto path
    declare -gA bench_bps=()
    glab_init || return 1 # GLAB_LOGS, binaries
    _bench_iperf_server_up || return 1
    for proto in tcp udp; do
        bench_bps[clear-$proto]=$(_bench_iperf clear "$proto" "$seconds") || return 1
    done
    esp_static_up
    for proto in tcp udp; do
        bench_bps[tunnel-$proto]=$(_bench_iperf tunnel "$proto" "$seconds") || return 1
    done
    # the tunnel's packet counter: the hand-made states carried the figure, nothing else
    local carried
    carried=$(esp_state_packets gm-a "$LAB_GMA_WAN" "$LAB_GMB_WAN" "$ESP_SPI_CBC") || carried=0
    ((carried > 0)) || { echo "bench: the hand-made tunnel state carried no packet" >&2; return 1; }
    lab_exec gm-a ip -batch - <<<$'xfrm policy flush\nxfrm state flush'
    lab_exec gm-b ip -batch - <<<$'xfrm policy flush\nxfrm state flush'
    GLAB_DATAPATH_KEYS=yes
    glab_up || { echo "bench: the members did not register (logs in $GLAB_LOGS)" >&2; return 1; }
    local before after
    before=$(glab_status gm-a | glab_json "j['result']['groups'][0]['counters']")
    for proto in tcp udp; do
        bench_bps[gdoid-$proto]=$(_bench_iperf gdoid "$proto" "$seconds") || return 1
    done
    # ESP with the hosts' addresses went out: gdoid's outbound TEK state carried the figure
    carried=$(lab_exec gm-a ip -s xfrm state list spi "$GLAB_TEK_SPI_AB" | awk '
        /lifetime current:/ { getline; sub(/^.*, */, ""); sub(/\(packets\).*/, ""); n += $0 }
        END { print n + 0 }')
    ((carried > 0)) || { echo "bench: gdoid's TEK $GLAB_TEK_SPI_AB carried no packet" >&2; return 1; }
    after=$(glab_status gm-a | glab_json "j['result']['groups'][0]['counters']")
    echo "bench: gm-a counters before/after the gdoid path: $before / $after" >&2
    for proto in tcp udp; do
        local ours=${bench_bps[gdoid-$proto]} tunnel=${bench_bps[tunnel-$proto]} clear=${bench_bps[clear-$proto]}
        local upper=${proto^^}
        printf 'ROW\t5 datapath %s, header-preserving / tunnel (VM)\t%s\t%s\t%s\t>= 0.90\tiperf3 %s s host-a2 -> host-b2, %s; no encryption %s\n' \
            "$upper" "$(_bench_mbit "$ours")" "$(_bench_mbit "$tunnel")" "$(_bench_ratio "$ours" "$tunnel")" \
            "$seconds" "$([ "$proto" = tcp ] && echo "MSS 1300" || echo "1300-octet datagrams unpaced, received rate")" \
            "$(_bench_mbit "$clear")"
        printf 'ROW\t5 datapath %s, tunnel / no encryption (VM)\t%s\t%s\t%s\treport\tthe cost of ESP itself under TCG\n' \
            "$upper" "$(_bench_mbit "$tunnel")" "$(_bench_mbit "$clear")" "$(_bench_ratio "$tunnel" "$clear")"
    done
}
