# shellcheck shell=bash disable=SC2034
# (SC2034: the GLAB_* variables set here are gdoi-lab.sh's interface)
# Figure 6, rekey loss (sourced by bench/vm_run.sh, in the VM, after lab_up): datagrams lost
# while host-a1 sends a paced UDP echo stream with sequence numbers to host-b1 and back
# (bench/udp_echo_stream.py, 1,000 a second each way: ping -i 0.001 reaches only ~260 echoes a
# second under TCG) across REKEYS rekeys of a group run by gdoid and gdoi-test-ks, pull and push
# alternating, one push also renewing the KEK. The pulls are real pull rekeys as in
# test/vm/060: the key server makes new TEKs before expiry without pushing them
# ([group.rekey] send = "none", TEK lifetime 32 s) and each member pulls them in its pull window
# under its live Phase 1 SA; each push (push-now) comes once both members have pulled. The rate
# reached is measured and reported, not assumed.
#   bench_rekey_loss REKEYS BASELINE_SECONDS SETTLE_SECONDS "RATE..."   (re)starts the key server
#       and both members with that setting, after the baseline on the group running before;
#       SETTLE_SECONDS of stream after the last rekey; RATEs tried in order for the baseline

_bench_rekey_loss_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

# _bench_counter GM KEY: one of GM's group counters
_bench_counter() { glab_status "$1" | glab_json "j['result']['groups'][0]['counters'].get('$2', 0)"; }

# _bench_wait_counters KEY MINIMUM SECONDS: until both members' KEY reaches MINIMUM
_bench_wait_counters() {
    local key=$1 minimum=$2 deadline=$((SECONDS + $3))
    while ((SECONDS < deadline)); do
        (($(_bench_counter gm-a "$key") >= minimum && $(_bench_counter gm-b "$key") >= minimum)) && return 0
        sleep 0.5
    done
    echo "bench: $key did not reach $minimum on both members in $3 s (gm-a $(_bench_counter gm-a "$key"), gm-b $(_bench_counter gm-b "$key"))" >&2
    return 1
}

bench_rekey_loss() {
    local rekeys=$1 baseline_seconds=$2 settle=$3 rates=$4 pulls=0 pushes=0 kek_rolled=no reply kek_after
    [ -n "${GLAB_GDOID_PID[gm-a]:-}" ] || GLAB_DATAPATH_KEYS=yes glab_up ||
        { echo "bench: the members did not register (logs in $GLAB_LOGS)" >&2; return 1; }
    local port=7777
    lab_bg host-b1 python3 "$_bench_rekey_loss_dir/udp_echo_stream.py" echo "$port" >"$GLAB_LOGS/rekey-loss-echo.txt" 2>&1
    glab_wait_listening host-b1 udp "$port" || return 1
    # The rate: the first of RATES (each way) that the emulated machine carries without a rekey
    # (BASELINE_SECONDS, no loss), else the last; each try is reported.
    # Measured on figure 5's group (TEK lifetime 1 h: no rekey meanwhile), before the restart.
    local rate baseline="" tried=""
    for rate in $rates; do
        _bench_stream_start "$rate" "baseline-$rate" "$port" || return 1
        sleep "$baseline_seconds"
        _bench_stream_stop || return 1
        tried+="${tried:+, }$rate/s: $bench_stream_lost lost of $bench_stream_sent (reached $bench_stream_rate/s)"
        baseline="$bench_stream_lost lost of $bench_stream_sent"
        ((bench_stream_lost == 0)) && break
    done
    echo "bench: without rekeys, $baseline_seconds s each: $tried" >&2
    # figure 5's group and hand-made states; glab_init routes the silent key server again
    glab_down
    local node
    for node in gm-a gm-b; do lab_exec "$node" ip -batch - <<<$'xfrm policy flush\nxfrm state flush'; done
    lab_exec core ip route del blackhole "$GLAB_SILENT_KS/32" 2>/dev/null || true
    GLAB_DATAPATH_KEYS=yes GLAB_TEK_LIFETIME=32 GLAB_KS_ATD=20 GLAB_KS_DTD=30
    GLAB_KS_EXTRA=$'[group.rekey]\nbefore-expiry = 16\nsend = "none"'
    GLAB_MEMBER_EXTRA='rekey = { pull-window = "12s-9s", activate-before-expiry = "4s" }'
    glab_up || { echo "bench: the members did not register (logs in $GLAB_LOGS)" >&2; return 1; }
    local kek_before
    kek_before=$(glab_status gm-a | glab_json "j['result']['groups'][0]['kek']['spi']")
    _bench_stream_start "$rate" rekeys "$port" || return 1
    local registrations
    registrations=$(_bench_counter gm-a registrations)
    while ((pulls + pushes < rekeys)); do
        if ((pulls <= pushes)); then
            # the next timed rekey of the key server, pulled by both members (~16 s apart)
            registrations=$((registrations + 1))
            _bench_wait_counters registrations "$registrations" 90 || return 1
            pulls=$((pulls + 1))
        else
            local more=""
            [ "$kek_rolled" = no ] && ((pushes + 1 >= rekeys / 4)) && more='"kek":true' kek_rolled=yes
            reply=$(glab_ks_push ks1 "$more") || { echo "bench: push-now refused: $reply" >&2; return 1; }
            pushes=$((pushes + 1))
            _bench_wait_counters pushes_accepted "$pushes" 30 || return 1
        fi
        echo "bench: $(date +%T.%N | cut -c1-10) rekey $((pulls + pushes)) of $rekeys done ($pulls pulls, $pushes pushes)" >&2
    done
    # the last new TEK must carry traffic before the stream ends: it is activated at most
    # 20 s (ATD) after it arrived (SETTLE: 22 s; 0 in the smoke test)
    local last_switch=$((SECONDS + settle))
    while ((SECONDS < last_switch)); do sleep 1; done
    _bench_stream_stop || return 1
    kek_after=$(glab_status gm-a | glab_json "j['result']['groups'][0]['kek']['spi']")
    [ "$kek_after" != "$kek_before" ] || { echo "bench: the KEK was not renewed ($kek_before)" >&2; return 1; }
    printf 'ROW\t6 datagrams lost across %s rekeys (VM)\t%s lost of %s\t%s\t-\t0 at >= 1000 packets/s\t%s pulls + %s pushes alternating, one with a new KEK; UDP echo stream host-a1 -> host-b1 -> host-a1 (2 packets per datagram) for %s s at %s datagrams/s each way; baseline: the same stream for %s s without a rekey (tried %s)\n' \
        "$rekeys" "$bench_stream_lost" "$bench_stream_sent" "$baseline" "$pulls" "$pushes" \
        "$bench_stream_seconds" "$bench_stream_rate" "$baseline_seconds" "$tried"
}

_bench_rcvbuf_errors() {
    lab_exec "$1" awk '/^Udp:/ { if (!n++) { for (i = 1; i <= NF; i++) col[$i] = i } else print $col["RcvbufErrors"] }' /proc/net/snmp
}

# _bench_stream_start RATE NAME PORT / _bench_stream_stop: the UDP echo stream host-a1 ->
# host-b1 at RATE datagrams a second; stop sets bench_stream_sent, _lost, _seconds, _rate.
_bench_stream_start() {
    _bench_stream_log=$GLAB_LOGS/rekey-loss-stream-$2.txt
    _bench_rcvbuf_a1=$(_bench_rcvbuf_errors host-a1) _bench_rcvbuf_b1=$(_bench_rcvbuf_errors host-b1)
    lab_bg host-a1 python3 "$_bench_rekey_loss_dir/udp_echo_stream.py" send "$LAB_HOST_B1" "$3" "$1" \
        >"$_bench_stream_log" 2>&1
    _bench_stream_pid=$LAB_LAST_PID
    local deadline=$((SECONDS + 60))
    until grep -q '^started' "$_bench_stream_log" 2>/dev/null; do
        ((SECONDS < deadline)) || { echo "bench: the UDP stream did not start: $(cat "$_bench_stream_log")" >&2; return 1; }
        sleep 0.2
    done
}
_bench_stream_stop() {
    kill -TERM "$_bench_stream_pid" 2>/dev/null || true
    wait "$_bench_stream_pid" || true
    local result
    result=$(grep '^sent ' "$_bench_stream_log") ||
        { echo "bench: the UDP stream printed no totals: $(cat "$_bench_stream_log")" >&2; return 1; }
    read -r _ bench_stream_sent _ _ _ bench_stream_lost _ bench_stream_seconds _ bench_stream_rate <<<"$result"
    echo "bench: UDP receive buffer errors during the stream (a socket, not the network, dropped): host-a1 $(($(_bench_rcvbuf_errors host-a1) - _bench_rcvbuf_a1)), host-b1 $(($(_bench_rcvbuf_errors host-b1) - _bench_rcvbuf_b1))" >&2
    grep '^gap ' "$_bench_stream_log" | head -n 20 | sed 's/^/bench: /' >&2 || true
}
