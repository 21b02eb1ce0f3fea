#!/usr/bin/env bash
# XFRM states through gdoid's netlink facade on a kernel with ESP: runs the [esp] cases of the
# state test binary (every supported algorithm combination: 3DES / AES-CBC x HMAC-MD5 / SHA1 /
# SHA-256 / 384 / 512, RFC 4106 AES-GCM; set-mark, nopmtudisc, oseq-may-wrap, replay 0;
# update, delete, foreign states left alone by flush_owned, offload fallback), each case in a
# fresh network namespace, dumped back and compared field by field.
# Contract: run as root inside the VM; GDOID_BUILD_DIR is the meson build dir; exit 0 = pass.
set -euo pipefail
build=${GDOID_BUILD_DIR:?GDOID_BUILD_DIR must name the meson build directory}
binary=$build/test/unit/netlink/unit-netlink-states
if [ ! -x "$binary" ]; then
    echo "FAIL: $binary is missing: build it first (ninja -C $build test/unit/netlink/unit-netlink-states)"
    exit 1
fi
# The kernel must really have ESP here, or the [esp] cases would test nothing.
if ! grep -qw esp4 /proc/modules && [ ! -d /sys/module/esp4 ]; then
    echo "FAIL: this kernel has no esp4: not the VM this scenario is meant for"
    exit 1
fi
echo "kernel $(uname -r); running $binary '[esp]'"
"$binary" '[esp]' --durations yes
