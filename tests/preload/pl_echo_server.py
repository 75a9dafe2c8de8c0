#!/usr/bin/env python3
"""tests/preload/pl_echo_server.py: the Linux peer of pl_semantics.

    pl_echo_server.py PORT [LOG]

A TCP server on 0.0.0.0:PORT, one thread per connection. What a
connection sends first decides what it is:
  "sink\\n"   never read from (fills the client's send buffer);
  "?TAG\\n"   a question: the answer is "open\\n" while the connection
              that began with "TAG\\n" is open, "closed\\n" once it sent its
              FIN (its end of stream arrived), "none\\n" if there was none;
  else       echo: every byte comes back; the first line is its TAG.
"""
import socket
import sys
import threading

state = {}
lock = threading.Lock()


def serve(c):
    try:
        first = b""
        while b"\n" not in first:
            b = c.recv(4096)
            if not b:
                return
            first += b
        line, rest = first.split(b"\n", 1)
        if line == b"sink":
            threading.Event().wait()
        if line.startswith(b"?"):
            with lock:
                c.sendall((state.get(line[1:], "none") + "\n").encode())
            return
        with lock:
            state[line] = "open"
        c.sendall(first)
        while True:
            b = c.recv(65536)
            if not b:
                break
            c.sendall(b)
        with lock:
            state[line] = "closed"
    except OSError:
        pass
    finally:
        c.close()


def main():
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("0.0.0.0", int(sys.argv[1])))
    s.listen(64)
    if len(sys.argv) > 2:
        with open(sys.argv[2], "a") as f:
            f.write("listening\n")
    while True:
        c, _ = s.accept()
        threading.Thread(target=serve, args=(c,), daemon=True).start()


main()
