#!/usr/bin/env python3
"""Spoofed TCP SYNs from the Linux side, for test_synflood_tap.sh and
bench/synflood.sh.

    synflood.py --dst A.B.C.D --port P --net A.B.C.D/N --avoid A.B.C.D,...
                [--min N] [--rate R] [--stop FILE] [--ready N] [--seed S]

Sends SYNs (with an MSS option) to dst:port through a raw IP socket
(IPPROTO_RAW: the kernel routes them and resolves dst's MAC; we write the
whole IP header). Each SYN has a random source address inside --net (never
the network or broadcast address, never one of --avoid), a random source
port and a random sequence number. The packets are built before the first
one is sent (a pool of --pool distinct SYNs, default twice --min, reused in
turn when more are sent than it holds: those repeats are duplicate SYNs), so
that sending is one sendto() per SYN.

--rate R paces to R SYNs/s (0: as fast as this process can). The flood runs
until it has sent --min SYNs and the file --stop exists (no --stop: until
--min). It prints "flooding" once --ready SYNs are out, and at the end
"sent N SYNs in T s: R/s (E send errors)". Needs root (CAP_NET_RAW).
"""
import argparse
import ipaddress
import os
import random
import socket
import struct
import sys
import time


def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    s = (s >> 16) + (s & 0xFFFF)
    s += s >> 16
    return ~s & 0xFFFF


def build_pool(rng, dst, port, net, avoid, n):
    hosts = net.num_addresses
    base = int(net.network_address)
    bad = {int(a) for a in avoid} | {base, base + hosts - 1}
    dst_b = socket.inet_aton(dst)
    pool = []
    while len(pool) < n:
        src_i = base + rng.randrange(1, hosts - 1)
        if src_i in bad:
            continue
        src_b = struct.pack("!I", src_i)
        sport = rng.randrange(1024, 65536)
        seq = rng.getrandbits(32)
        # TCP: data offset 6 words (an MSS option), SYN, window 64240, MSS 1460.
        tcp = struct.pack("!HHIIBBHHH", sport, port, seq, 0, 6 << 4, 0x02, 64240, 0, 0)
        tcp += struct.pack("!BBH", 2, 4, 1460)
        pseudo = src_b + dst_b + struct.pack("!BBH", 0, 6, len(tcp))
        c = csum(pseudo + tcp)
        tcp = tcp[:16] + struct.pack("!H", c) + tcp[18:]
        ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp), rng.getrandbits(16), 0, 64, 6,
                         0, src_b, dst_b)
        ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
        pool.append(ip + tcp)
    return pool


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dst", required=True)
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--net", required=True)
    ap.add_argument("--avoid", default="")
    ap.add_argument("--min", type=int, default=20000)
    ap.add_argument("--rate", type=float, default=0)
    ap.add_argument("--stop", default=None)
    ap.add_argument("--ready", type=int, default=0)
    ap.add_argument("--pool", type=int, default=0, help="distinct SYNs (default: 2 * --min)")
    ap.add_argument("--seed", type=int, default=None)
    a = ap.parse_args()

    rng = random.Random(a.seed)
    net = ipaddress.ip_network(a.net, strict=False)
    avoid = [ipaddress.ip_address(x) for x in a.avoid.split(",") if x]
    if ipaddress.ip_address(a.dst) not in avoid:
        avoid.append(ipaddress.ip_address(a.dst))
    pool = build_pool(rng, a.dst, a.port, net, avoid, a.pool or 2 * a.min)
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
    dst = (a.dst, 0)
    sent = errors = 0
    ready_said = a.ready <= 0
    if ready_said:
        print("flooding", flush=True)
    t0 = time.monotonic()
    batch = 64
    i = 0
    while True:
        if sent >= a.min and (a.stop is None or os.path.exists(a.stop)):
            break
        if a.rate > 0:
            # Pacing, not a wait for an event: the batch is due at sent / rate.
            due = t0 + sent / a.rate
            now = time.monotonic()
            if due > now:
                time.sleep(due - now)
        for _ in range(batch):
            try:
                s.sendto(pool[i], dst)
                sent += 1
            except OSError:
                errors += 1  # ENOBUFS when the device queue is full: counted
            i += 1
            if i == len(pool):
                i = 0
        if not ready_said and sent >= a.ready:
            print("flooding", flush=True)
            ready_said = True
    dt = time.monotonic() - t0
    print("sent %d SYNs in %.2f s: %.0f/s (%d send errors)" % (sent, dt, sent / dt, errors),
          flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
