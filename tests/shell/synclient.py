#!/usr/bin/env python3
"""Legitimate clients during a SYN flood, for test_synflood_tap.sh and
bench/synflood.sh.

    synclient.py --dst A.B.C.D --port P [--n 50] [--gap-ms 20] [--limit 1.0]
                 [--max-fail 5]

Connects --n times, one after the other, --gap-ms apart, to an echo server
at dst:port. For each connection: the connect time (SYN to the end of
connect(), at most --limit seconds, else it counts as a failure), then a
message echoed back in full (at most 5 s). Prints one line per connection
and a summary: "connects ok K of N, median M ms, max X ms". Stops after
--max-fail failures (each failed one costs up to --limit seconds). Exit 0
when every connection succeeded within the limit.
"""
import argparse
import socket
import statistics
import sys
import time


def one(dst, port, i, limit):
    t0 = time.monotonic()
    s = socket.socket()
    s.settimeout(limit)
    try:
        s.connect((dst, port))
    except OSError as e:
        return None, "connect: %s after %.3f s" % (e, time.monotonic() - t0)
    dt = time.monotonic() - t0
    msg = b"client %d says hello through the flood\n" % i
    try:
        s.settimeout(5)
        s.sendall(msg)
        s.shutdown(socket.SHUT_WR)
        got = b""
        while True:
            b = s.recv(4096)
            if not b:
                break
            got += b
    except OSError as e:
        return None, "echo: %s" % e
    finally:
        s.close()
    if got != msg:
        return None, "echo differs: %r" % got[:60]
    return dt, "ok"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dst", required=True)
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--n", type=int, default=50)
    ap.add_argument("--gap-ms", type=float, default=20)
    ap.add_argument("--limit", type=float, default=1.0)
    ap.add_argument("--max-fail", type=int, default=5)
    a = ap.parse_args()
    times, fails = [], 0
    next_t = time.monotonic()
    for i in range(a.n):
        # Pacing, so that the connections spread over the flood.
        now = time.monotonic()
        if next_t > now:
            time.sleep(next_t - now)
        next_t = time.monotonic() + a.gap_ms / 1000
        dt, how = one(a.dst, a.port, i, a.limit)
        if dt is None:
            fails += 1
            print("connection %d: FAILED: %s" % (i, how), flush=True)
            if fails >= a.max_fail:
                print("giving up after %d failures" % fails, flush=True)
                break
        else:
            times.append(dt)
            print("connection %d: connected in %.1f ms, echo ok" % (i, dt * 1000), flush=True)
    med = statistics.median(times) * 1000 if times else float("nan")
    mx = max(times) * 1000 if times else float("nan")
    print("connects ok %d of %d, median %.1f ms, max %.1f ms" % (len(times), a.n, med, mx),
          flush=True)
    return 0 if len(times) == a.n else 1


if __name__ == "__main__":
    sys.exit(main())
