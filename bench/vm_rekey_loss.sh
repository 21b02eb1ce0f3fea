# shellcheck shell=bash
# Figure 6, rekey loss (sourced by bench/vm_run.sh, in the VM, after lab_up): echoes lost while
# host-a1 pings host-b1 at ping -i 0.001 (aiming at 1,000 requests a second, 2,000 packets with
# the replies) across REKEYS rekeys of a group run by gdoid and gdoi-test-ks, pull and push
# alternating, one push also renewing the KEK. The pulls are real pull rekeys as in
# test/vm/060: the key server makes new TEKs before expiry without pushing them
# ([group.rekey] send = "none", TEK lifetime 32 s) and each member pulls them in its pull window
# under its live Phase 1 SA; each push (push-now) comes once both members have pulled. The rate
# reached under TCG is measured and reported, not assumed.
#   bench_rekey_loss REKEYS     (re)starts the key server and both members with that setting

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
    local rekeys=$1 pulls=0 pushes=0 kek_rolled=no reply
    glab_down # figure 5's group, if any; glab_init routes the silent key server again
    lab_exec core ip route del blackhole "$GLAB_SILENT_KS/32" 2>/dev/null || true
    GLAB_DATAPATH_KEYS=yes GLAB_TEK_LIFETIME=32 GLAB_KS_ATD=20 GLAB_KS_DTD=30
    GLAB_KS_EXTRA=$'[group.rekey]\nbefore-expiry = 16\nsend = "none"'
    GLAB_MEMBER_EXTRA='rekey = { pull-window = "12s-9s", activate-before-expiry = "4s" }'
    glab_up || { echo "bench: the members did not register (logs in $GLAB_LOGS)" >&2; return 1; }
    local log=$GLAB_LOGS/rekey-loss-ping.txt
    lab_bg host-a1 ping -n -q -i 0.001 -w 1800 "$LAB_HOST_B1" >"$log" 2>&1
    local ping_pid=$LAB_LAST_PID started=$SECONDS
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
        echo "bench: rekey $((pulls + pushes)) of $rekeys done ($pulls pulls, $pushes pushes)" >&2
    done
    # the last new TEK must carry traffic before the count ends: it is activated at most
    # 20 s (ATD) after it arrived
    local last_switch=$((SECONDS + 22))
    while ((SECONDS < last_switch)); do sleep 1; done
    kill -ALRM "$ping_pid" 2>/dev/null || true
    wait "$ping_pid" || true
    local duration=$((SECONDS - started)) stats sent received
    stats=$(grep 'packets transmitted' "$log") || { echo "bench: ping printed no totals: $(cat "$log")" >&2; return 1; }
    sent=$(awk '{ print $1 }' <<<"$stats") received=$(awk '{ print $4 }' <<<"$stats")
    local lost=$((sent - received)) rate=$(((sent + received) / duration))
    local kek_count
    kek_count=$(glab_status gm-a | glab_json "j['result']['groups'][0]['counters'].get('kek_rekeys', '?')")
    printf 'ROW\t6 echoes lost across %s rekeys (VM)\t%s lost of %s\t-\t-\t0 at >= 1000 packets/s\t%s pulls + %s pushes alternating, one with a new KEK (gm-a kek_rekeys %s); ping -i 0.001 host-a1 -> host-b1 for %s s reached %s packets/s (requests + replies)%s\n' \
        "$rekeys" "$lost" "$sent" "$pulls" "$pushes" "$kek_count" "$duration" "$rate" \
        "$( ((rate < 1000)) && echo "; below the 1,000/s the target asks for")"
}
