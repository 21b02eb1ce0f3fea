#!/usr/bin/env bash
# Figure 7, start-up: gdoid started -> READY=1 (sd_notify) and -> every group registered, with
# 1 and 4 groups of 2 TEKs against gdoi-test-ks (median of 5 starts; --quick: 1). Baseline: the
# start of bench-memory-baseline --exit (linked against the same libraries; returns at once),
# i.e. what exec and the dynamic loader cost before gdoid's first line.
# Environment: as bench/run_all.sh sets it. Prints ROW lines.
. "$GDOID_SOURCE_ROOT/test/system/lib.sh"
st_init
. "$GDOID_SOURCE_ROOT/bench/lab.sh"
runs=5
[ "$BENCH_QUICK" = yes ] && runs=1
now_ns() { date +%s%N; }
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
ms() { awk -v n="$1" 'BEGIN { printf "%.1f ms", n / 1e6 }'; }

# Baseline: exec, load and exit of a process linked like gdoid.
baseline=()
for ((r = 0; r < runs; r++)); do
    start=$(now_ns)
    "$BENCH_BUILD/bench/bench-memory-baseline" --exit
    baseline+=($(($(now_ns) - start)))
done
baseline_ns=$(printf '%s\n' "${baseline[@]}" | median)

st_ks_lab 10.80.0
ST_SOCKET=$ST_DIR/run/control
st_notify_listen

for groups in 1 4; do
    ks_config "$groups" 2 >"$ST_DIR/ks.toml"
    gdoid_config "$groups" >"$ST_DIR/gdoid.conf"
    st_ks_start "$ST_DIR/ks.toml"
    ready=() registered=()
    for ((r = 0; r < runs; r++)); do
        : >"$ST_DIR/notify.log"
        start=$(now_ns)
        ip netns exec "$GM_NS" "$GDOID" --foreground --config "$ST_DIR/gdoid.conf" \
            >>"$ST_DIR/gdoid.log" 2>&1 &
        ST_GDOID_PID=$!
        st_cleanup_push "kill -KILL $ST_GDOID_PID"
        ready_at="" registered_at=""
        for ((i = 0; i < 20000; i++)); do
            [ -z "$ready_at" ] && grep -q 'READY=1' "$ST_DIR/notify.log" && ready_at=$(now_ns)
            if [ -n "$ready_at" ] && all_registered; then registered_at=$(now_ns); break; fi
            kill -0 "$ST_GDOID_PID" 2>/dev/null || st_fail "gdoid exited during start-up"
            sleep 0.002
        done
        [ -n "$registered_at" ] || st_fail "gdoid did not register $groups group(s)"
        ready+=($((ready_at - start)))
        registered+=($((registered_at - start)))
        st_stop_gdoid
    done
    kill "$KS_PID"
    wait "$KS_PID" 2>/dev/null || true
    rm -f "$ST_DIR/ks.sock"
    r_ns=$(printf '%s\n' "${ready[@]}" | median)
    g_ns=$(printf '%s\n' "${registered[@]}" | median)
    ratio() { awk -v a="$1" -v b="$baseline_ns" 'BEGIN { printf "%.1f", a / b }'; }
    printf 'ROW\t7 start-up %s group(s): start -> READY=1\t%s\t%s\t%s\t-\tmedian of %s; baseline: exec of a do-nothing program linked like gdoid\n' \
        "$groups" "$(ms "$r_ns")" "$(ms "$baseline_ns")" "$(ratio "$r_ns")" "$runs"
    printf 'ROW\t7 start-up %s group(s): start -> all registered\t%s\t%s\t%s\t-\tmedian of %s; includes Main Mode + PULL per group over veth, polled via gdoictl status (~tens of ms resolution)\n' \
        "$groups" "$(ms "$g_ns")" "$(ms "$baseline_ns")" "$(ratio "$g_ns")" "$runs"
done
