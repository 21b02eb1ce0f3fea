#!/usr/bin/env bash
# XFRM states through gdoid's netlink facade on a kernel with ESP: runs the [esp] cases of the
# state test binary (every supported algorithm combination: 3DES / AES-CBC x HMAC-MD5 / SHA1 /
# SHA-256 / 384 / 512, RFC 4106 AES-GCM; set-mark, nopmtudisc, oseq-may-wrap, replay 0;
# update, delete, foreign states left alone by flush_owned), each case in a fresh network
# namespace, dumped back and compared field by field. Then NIC crypto offload against netdevsim
# (a simulated NIC whose driver takes or refuses offloaded states like a real one; built by
# scripts/vm-build-netdevsim): a state is programmed into the driver with its key and salt,
# packets reach the driver carrying it, deletion frees it, a refused state is refused whole;
# and the daemon's plan/apply path (unit-policy-kernel): outbound states ask the WAN NIC, run
# in software when it refuses, run on it when it accepts, and are not re-tried.
# Contract: run as root inside the VM; GDOID_BUILD_DIR is the meson build dir; exit 0 = pass.
set -euo pipefail
build=${GDOID_BUILD_DIR:?GDOID_BUILD_DIR must name the meson build directory}
binaries=("$build/test/unit/netlink/unit-netlink-states" "$build/test/unit/policy/unit-policy-kernel")
for binary in "${binaries[@]}"; do
    if [ ! -x "$binary" ]; then
        echo "FAIL: $binary is missing: build it first (ninja -C $build)"
        exit 1
    fi
done
# The kernel must really have ESP here, or the [esp] cases would test nothing.
if ! grep -qw esp4 /proc/modules && [ ! -d /sys/module/esp4 ]; then
    echo "FAIL: this kernel has no esp4: not the VM this scenario is meant for"
    exit 1
fi
# The offload cases need netdevsim; without it they fail and say why (never skipped).
if [ ! -d /sys/bus/netdevsim ]; then
    echo "FAIL: netdevsim is not loaded: the offload cases will fail (scripts/vm-build-netdevsim builds it)"
fi
status=0
for binary in "${binaries[@]}"; do
    echo "kernel $(uname -r); running $binary '[esp]'"
    "$binary" '[esp]' --durations yes || status=1
done
exit $status
