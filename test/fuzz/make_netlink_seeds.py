#!/usr/bin/env python3
# Seeds for fuzz-netlink from the kernel itself (needs root): in a throw-away network namespace,
# `ip xfrm` adds states and policies like gdoid's, and this script records what the kernel sends
# back, one receive buffer per file: dump replies (NEWSA, NEWPOLICY, DONE), an error answer, and
# the notifications gdoid reads (EXPIRE, DELSA, DELPOLICY, FLUSHSA, ACQUIRE, POLEXPIRE).
# Usage: make_netlink_seeds.py OUTDIR   (run inside: ip netns exec NS ...; scripts/fuzz does not
# run it: the seeds are committed.)
import os, socket, struct, subprocess, sys, time

NETLINK_XFRM = 6
out = sys.argv[1]
# It adds addresses and flushes XFRM tables: never in the host's namespace.
if not subprocess.run(["ip", "netns", "identify", str(os.getpid())], capture_output=True,
                      text=True).stdout.strip():
    sys.exit("run me in a throw-away namespace: ip netns add seeds; ip netns exec seeds %s DIR" % sys.argv[0])
os.makedirs(out, exist_ok=True)
groups = sum(  # XFRMNLGRP_ACQUIRE, EXPIRE, SA, POLICY
    1 << (g - 1) for g in (1, 2, 3, 4))

def ip(*args):
    # Best effort: a kernel without ESP (esp4 not loaded) refuses the states; the policies and
    # their notifications still come.
    if subprocess.run(["ip", *args]).returncode != 0:
        print("skipped: ip " + " ".join(args), file=sys.stderr)

def dump(kind, msg_type):
    s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_XFRM)
    s.bind((0, 0))
    s.send(struct.pack("=IHHII", 16, msg_type, 0x301, 1, 0))  # NLM_F_REQUEST|NLM_F_DUMP
    n = 0
    while True:
        data = s.recv(65536)
        n += 1
        open(os.path.join(out, "kernel-dump-%s-%d" % (kind, n)), "wb").write(data)
        if struct.unpack_from("=H", data, 4)[0] == 3 or n > 4:
            break

ip("link", "set", "lo", "up")
ip("addr", "add", "10.9.0.1/24", "dev", "lo")
events = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_XFRM)
events.bind((0, groups))
events.settimeout(0.5)
key = "0x" + "11" * 32
ip("xfrm", "state", "add", "src", "10.9.0.1", "dst", "10.9.0.2", "proto", "esp", "spi", "0x10000001",
   "reqid", "0x67640001", "mode", "tunnel", "enc", "cbc(aes)", key, "auth-trunc", "hmac(sha256)", key, "128",
   "sel", "src", "10.1.0.0/16", "dst", "10.2.0.0/16", "flag", "af-unspec")
ip("xfrm", "state", "add", "src", "10.9.0.1", "dst", "10.9.0.3", "proto", "esp", "spi", "0x10000002",
   "reqid", "0x67640002", "mode", "tunnel", "aead", "rfc4106(gcm(aes))", "0x" + "22" * 20, "128",
   "limit", "time-soft", "1", "limit", "time-hard", "2")
ip("xfrm", "policy", "add", "src", "10.1.0.0/16", "dst", "10.2.0.0/16", "dir", "out", "priority", "1000",
   "tmpl", "src", "10.9.0.1", "dst", "10.9.0.2", "proto", "esp", "reqid", "0x67640001", "mode", "tunnel")
ip("xfrm", "policy", "add", "src", "10.9.0.1/32", "dst", "10.9.0.9/32", "dir", "out", "priority", "2000",
   "tmpl", "src", "10.9.0.1", "dst", "10.9.0.9", "proto", "esp", "reqid", "0x67640003", "mode", "tunnel")
ip("xfrm", "policy", "add", "src", "10.3.0.0/16", "dst", "10.4.0.0/16", "dir", "in", "priority", "3000",
   "limit", "time-soft", "1", "limit", "time-hard", "2")
dump("sa", 18)      # XFRM_MSG_GETSA
dump("policy", 21)  # XFRM_MSG_GETPOLICY
# An error answer: delete a state that does not exist (with NLM_F_ACK).
s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_XFRM)
s.bind((0, 0))
usersa_id = socket.inet_aton("10.9.0.7") + b"\0" * 12 + struct.pack(">I", 0x99) + struct.pack("=HBB", 2, 50, 0)
body = usersa_id
s.send(struct.pack("=IHHII", 16 + len(body), 17, 0x5, 2, 0) + body)
open(os.path.join(out, "kernel-error-delsa-missing"), "wb").write(s.recv(65536))
# Notifications: an ACQUIRE (traffic into the trap), expiries, deletions, a flush.
subprocess.run(["ping", "-c", "1", "-W", "1", "10.9.0.9"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
time.sleep(2.5)
ip("xfrm", "state", "delete", "src", "10.9.0.1", "dst", "10.9.0.2", "proto", "esp", "spi", "0x10000001")
ip("xfrm", "policy", "delete", "src", "10.1.0.0/16", "dst", "10.2.0.0/16", "dir", "out")
ip("xfrm", "state", "flush")
ip("xfrm", "policy", "flush")
n = 0
names = {16: "newsa", 17: "delsa", 19: "newpolicy", 20: "delpolicy", 23: "acquire", 24: "expire",
         26: "updsa", 25: "updpolicy", 27: "polexpire", 28: "flushsa", 29: "flushpolicy"}
while True:
    try:
        data = events.recv(65536)
    except socket.timeout:
        break
    n += 1
    kind = names.get(struct.unpack_from("=H", data, 4)[0], "other")
    open(os.path.join(out, "kernel-event-%02d-%s" % (n, kind)), "wb").write(data)
print("%d notifications" % n)

# States, when the kernel made none (no ESP in this kernel): packed by hand after linux/xfrm.h
# (xfrm_usersa_info 224 octets: selector 56, id 24, saddr 16, lifetime cfg 64, cur 32, stats 12,
# seq, reqid, family, mode, replay_window, flags, 7 pad), as the kernel sends them.
if not any(f.startswith("kernel-event") and "sa" in f.split("-")[-1] for f in os.listdir(out)):
    def attr(t, body):
        pad = (4 - len(body) % 4) % 4
        return struct.pack("=HH", 4 + len(body), t) + body + b"\0" * pad
    def msg(t, body):
        return struct.pack("=IHHII", 16 + len(body), t, 0, 0, 0) + body
    a = lambda s: socket.inet_aton(s) + b"\0" * 12
    sel = a("10.1.0.0") + a("10.2.0.0") + struct.pack("=HHHHHBBBiI", 0, 0, 0, 0, 2, 16, 16, 0, 0, 0)
    sel = sel.ljust(56, b"\0")
    sid = a("10.9.0.2") + struct.pack(">I", 0x10000001) + bytes([50, 0, 0, 0])
    lft = struct.pack("=8Q", *([0xffffffffffffffff] * 4), 0, 0, 3600, 3000)
    info = sel + sid + a("10.9.0.1") + lft + b"\0" * 32 + b"\0" * 12 + struct.pack(
        "=IIHBBB7x", 1, 0x67640001, 2, 1, 0, 0)
    assert len(info) == 224
    crypt = attr(2, b"cbc(aes)".ljust(64, b"\0") + struct.pack("=I", 256) + b"\x11" * 32)
    auth = attr(20, b"hmac(sha256)".ljust(64, b"\0") + struct.pack("=II", 256, 128) + b"\x11" * 32)
    newsa = msg(16, info + crypt + auth)
    open(os.path.join(out, "packed-newsa"), "wb").write(newsa)
    open(os.path.join(out, "packed-expire-hard"), "wb").write(msg(24, info + b"\x01" + b"\0" * 7))
    sa_id = sid[:16] + sid[16:20] + struct.pack("=HBB", 2, 50, 0)
    open(os.path.join(out, "packed-delsa"), "wb").write(msg(17, sa_id + attr(1 + 5, info)))
    open(os.path.join(out, "packed-dump-two-sa-done"), "wb").write(
        newsa + newsa + struct.pack("=IHHIIi", 20, 3, 2, 0, 0, 0))

# An ACQUIRE (needs ESP in the kernel too): xfrm_user_acquire (280 octets: id 24, saddr 16,
# selector 56, the policy 168, aalgos, ealgos, calgos, seq) around the first recorded policy.
policies = sorted(f for f in os.listdir(out) if f.endswith("-newpolicy"))
if policies and not any(f.endswith("-acquire") for f in os.listdir(out)):
    policy_msg = open(os.path.join(out, policies[0]), "rb").read()
    policy_info = policy_msg[16:16 + 168]
    tmpl_attrs = policy_msg[16 + 168:struct.unpack_from("=I", policy_msg)[0]]
    flow_sel = (socket.inet_aton("10.1.2.3") + b"\0" * 12 + socket.inet_aton("10.2.3.4") + b"\0" * 12 +
                struct.pack("=HHHHHBBBiI", 0, 0, 0, 0, 2, 32, 32, 1, 0, 0)).ljust(56, b"\0")
    acquire = (socket.inet_aton("10.9.0.2") + b"\0" * 12 + struct.pack(">I", 0) + bytes([50, 0, 0, 0]) +
               socket.inet_aton("10.9.0.1") + b"\0" * 12 + flow_sel + policy_info +
               struct.pack("=IIII", 0xffffffff, 0xffffffff, 0xffffffff, 7))
    assert len(acquire) == 280
    body = acquire + tmpl_attrs
    open(os.path.join(out, "packed-acquire"), "wb").write(
        struct.pack("=IHHII", 16 + len(body), 23, 0, 0, 0) + body)
