#!/usr/bin/env bash
# The benchmarks that need the VM's kernel (ESP), all in one boot: run by bench/run_all.sh as
#   scripts/vm run --build-dir BUILD -- bash bench/vm_run.sh [--quick] [FIGURE...]   (1 3 5 6)
# Prints ROW lines (bench/bench_row.hpp's form) on stdout, progress on stderr:
#   figure 1, states: bench-kernel-states (1,000 states; --quick 50)
#   figure 3, the kernel part: bench-push-to-kernel --kernel netlink (500 pushes; --quick 5)
#   figure 5, datapath: bench/vm_datapath.sh (iperf3 3 rounds of 5 s per path and protocol;
#     --quick 1 round of 1 s)
#   figure 6, rekey loss: bench/vm_rekey_loss.sh (20 rekeys, its no-rekey baseline 10 s per
#     rate tried, 1,000 then 500 then 250 a second; --quick 2 rekeys, 3 s at 250/s, no wait for
#     the last switch)
# Exits non-zero when one of them failed (the others still run and report).
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
quick=no
if [ "${1:-}" = --quick ]; then quick=yes; shift; fi
figures=" ${*:-1 3 5 6} " # e.g. `bash bench/vm_run.sh 6`: figure 6 alone
build=${GDOID_BUILD_DIR:?run it through scripts/vm run --build-dir BUILD}
if [ "$quick" = yes ]; then
    states=50 pushes=5 seconds=1 rounds=1 rekeys=2 stream_baseline=3 settle=0 rates=250
else
    states=1000 pushes=500 seconds=5 rounds=3 rekeys=20 stream_baseline=10 settle=22 rates="1000 500 250"
fi
status=0

if [[ $figures == *" 1 "* ]]; then
    echo "bench: figure 1, $states ESP states" >&2
    "$build/bench/bench-kernel-states" "$states" || status=1
fi

if [[ $figures == *" 3 "* ]]; then
    # Figure 3's kernel part: the daemon's way from push arrival to the policies switched, on
    # the fake kernel and then on real XFRM in a fresh namespace (3 ROW lines).
    echo "bench: figure 3, $pushes pushes to the kernel" >&2
    # Its rows say "(VM)", like the others from here: the same fake-kernel row also runs on the host.
    "$build/bench/bench-push-to-kernel" --kernel netlink "$pushes" |
        sed 's/^\(ROW\t[^\t]*\)/\1 (VM)/' || status=1
fi

[[ $figures == *" 5 "* || $figures == *" 6 "* ]] || exit "$status"
# Figures 5 and 6 share one lab (lab_up costs seconds under TCG); in a subshell so that its
# EXIT trap (lab_down, glab_down) runs before the summary.
(
    . "$GDOID_SOURCE_ROOT/test/vm/lib/topology.sh"
    . "$GDOID_SOURCE_ROOT/test/vm/lib/static-esp.sh"
    . "$GDOID_SOURCE_ROOT/test/vm/lib/gdoi-lab.sh"
    # shellcheck source=vm_datapath.sh
    . "$here/vm_datapath.sh"
    # shellcheck source=vm_rekey_loss.sh
    . "$here/vm_rekey_loss.sh"
    lab_up
    failed=0
    if [[ $figures == *" 5 "* ]]; then
        echo "bench: figure 5, datapath, $rounds x $seconds s per path and protocol" >&2
        bench_datapath "$seconds" "$rounds" || failed=1
    fi
    if [[ $figures == *" 6 "* ]]; then
        echo "bench: figure 6, loss across $rekeys rekeys" >&2
        bench_rekey_loss "$rekeys" "$stream_baseline" "$settle" "$rates" || failed=1
    fi
    exit "$failed"
) || status=1
exit "$status"
