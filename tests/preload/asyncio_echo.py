#!/usr/bin/env python3
"""tests/preload/asyncio_echo.py: an asyncio echo server and client.

    asyncio_echo.py server PORT READY_FILE
    asyncio_echo.py clients HOST PORT N BYTES

server: an asyncio TCP echo server on 0.0.0.0:PORT; writes "listening"
to READY_FILE once it listens, then serves until killed. Its loop is
epoll over a mixed set: the loop's own self-pipe (an AF_UNIX socket
pair, the kernel's) beside the TCP sockets (tern's, under the preload).

clients: N connections at once, each sends BYTES pseudo-random bytes
(its own pattern) while reading the echo, shuts down its sending side
(half-close) and reads to the end; prints "ok N BYTES" and exits 0 when
every connection got its bytes back byte-exact, else prints what went
wrong and exits 1.
"""
import asyncio
import hashlib
import random
import sys


async def echo(reader, writer):
    try:
        while True:
            b = await reader.read(65536)
            if not b:
                break
            writer.write(b)
            await writer.drain()
        if writer.can_write_eof():
            writer.write_eof()
    finally:
        writer.close()


async def serve(port, ready):
    srv = await asyncio.start_server(echo, "0.0.0.0", port)
    with open(ready, "w") as f:
        f.write("listening\n")
    async with srv:
        await srv.serve_forever()


async def one(host, port, i, size):
    data = random.Random(i).randbytes(size)
    reader, writer = await asyncio.open_connection(host, port)

    async def send():
        for off in range(0, size, 32768):
            writer.write(data[off:off + 32768])
            await writer.drain()
        writer.write_eof()

    sender = asyncio.ensure_future(send())
    got = bytearray()
    while True:
        b = await reader.read(65536)
        if not b:
            break
        got += b
    await sender
    writer.close()
    if bytes(got) != data:
        return "connection %d: %d bytes back of %d, sha256 %s vs %s" % (
            i, len(got), size, hashlib.sha256(got).hexdigest()[:16],
            hashlib.sha256(data).hexdigest()[:16])
    return None


async def clients(host, port, n, size):
    res = await asyncio.wait_for(
        asyncio.gather(*(one(host, port, i, size) for i in range(n))), 120)
    bad = [r for r in res if r is not None]
    for r in bad:
        print(r)
    if not bad:
        print("ok %d %d" % (n, size))
    return 0 if not bad else 1


def main():
    if sys.argv[1] == "server":
        asyncio.run(serve(int(sys.argv[2]), sys.argv[3]))
        return 0
    if sys.argv[1] == "clients":
        return asyncio.run(
            clients(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])))
    print("usage: asyncio_echo.py server PORT READY | clients HOST PORT N BYTES")
    return 2


sys.exit(main())
