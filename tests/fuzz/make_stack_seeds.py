#!/usr/bin/env python3
"""tests/fuzz/make_stack_seeds.py: writes the fuzz_stack seeds that reach the
compact records of src/tcp/mini.c (see fuzz_parse.c, fuzz_stack):

  corpus/parse/stack_syn_flood   ARP from the peer, 8 SYNs from 8 ports (the
                                 2-entry SYN cache fills, the rest get SYN
                                 cookies), the harness's peer ACKs the last
                                 SYN,ACK (a cookie: accepted), then 70 s pass
                                 (SYN,ACK retransmissions, records expire)
  corpus/parse/stack_time_wait   three connections in turn: SYN, the peer's
                                 ACK, accept/send/close, the peer's FIN: each
                                 closes first into TIME-WAIT (2 records: the
                                 third recycles the oldest); the second is
                                 held by the user (a husk)
  corpus/parse/stack_udp         UDP: datagrams to port 53 (queued; the
                                 harness echoes them back, and its connected
                                 socket sends), one to a closed port (port
                                 unreachable), a short and a zero-checksum one

  corpus/parse/stack_ipv6        IPv6: the peer's neighbour solicitation for
                                 our address, a router advertisement with a
                                 prefix (SLAAC), an echo request, a TCP SYN to
                                 port 80, an unknown next header, two
                                 fragments of an echo request, an NA

Checksums are left zero: record flag 2 makes the harness repair them.
Usage: python3 tests/fuzz/make_stack_seeds.py (from the source directory).
"""
import os
import struct

OUR_MAC = bytes([2, 0, 0, 0, 0, 0x0b])
PEER_MAC = bytes([2, 0, 0, 0, 0, 0x0a])
OUR_IP = bytes([10, 77, 0, 2])
PEER_IP = bytes([10, 77, 0, 1])


def record(flags, step_ms, frame):
    return bytes([flags, step_ms]) + struct.pack(">H", len(frame)) + frame


def arp_request():
    arp = struct.pack(">HHBBH", 1, 0x0800, 6, 4, 1) + PEER_MAC + PEER_IP + bytes(6) + OUR_IP
    return b"\xff" * 6 + PEER_MAC + b"\x08\x06" + arp


def tcp_frame(sport, seq, ack, flags, opts=b""):
    while len(opts) % 4:
        opts += b"\x01"
    tcp = struct.pack(">HHIIBBHHH", sport, 80, seq, ack, (5 + len(opts) // 4) << 4, flags,
                      8192, 0, 0) + opts
    ip = struct.pack(">BBHHHBBH", 0x45, 0, 20 + len(tcp), 1, 0, 64, 6, 0) + PEER_IP + OUR_IP
    return OUR_MAC + PEER_MAC + b"\x08\x00" + ip + tcp


def ip_checksum(hdr):
    s = sum(struct.unpack(">10H", hdr))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return struct.pack(">H", ~s & 0xFFFF)


def udp_frame(sport, dport, payload, ulen=None):
    """A datagram from the peer; its UDP checksum field is 0 ("none"), the
    IPv4 header's is right (record flag 2 recomputes both)."""
    n = 8 + len(payload)
    udp = struct.pack(">HHHH", sport, dport, n if ulen is None else ulen, 0) + payload
    ip = struct.pack(">BBHHHBBH", 0x45, 0, 20 + len(udp), 2, 0, 64, 17, 0) + PEER_IP + OUR_IP
    ip = ip[:10] + ip_checksum(ip) + ip[12:]
    return OUR_MAC + PEER_MAC + b"\x08\x00" + ip + udp


FD4D = bytes([0xfd, 0x4d])
FD4E = bytes([0xfd, 0x4e])


def ipv6_frame(dst_mac, src, dst, nh, hop, payload):
    """An IPv6 packet from the peer (checksums left to record flag 2)."""
    ip = struct.pack(">IHBB", 0x60000000, len(payload), nh, hop) + src + dst
    return dst_mac + PEER_MAC + b"\x86\xdd" + ip + payload


SYN, ACK, FIN = 0x02, 0x10, 0x01
MSS = b"\x02\x04\x05\xb4"
WS_SACK_TS = b"\x03\x03\x07" + b"\x04\x02" + b"\x08\x0a" + struct.pack(">II", 1000, 0)


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    out = os.path.join(here, "corpus", "parse")
    flood = b"\xff" + record(0, 1, arp_request())
    for i in range(8):
        opts = MSS + (WS_SACK_TS if i % 2 else b"")
        last = i == 7
        flood += record(1 | 2 | (8 if last else 0), 1, tcp_frame(1000 + i, 5000 * i, 0, SYN, opts))
    flood += record(0, 250, arp_request())
    for _ in range(4):
        flood += record(0, 250, arp_request())
    with open(os.path.join(out, "stack_syn_flood"), "wb") as f:
        f.write(flood)

    tw = b"\xff" + record(0, 1, arp_request())
    for i in range(3):
        port = 2000 + i
        # SYN; the peer ACKs our SYN,ACK.
        tw += record(1 | 2 | 8, 1, tcp_frame(port, 7000, 0, SYN, MSS + WS_SACK_TS))
        # Accept, send, close (held for the second: bit 4); the peer ACKs
        # our FIN with its own FIN: we closed first, TIME-WAIT.
        hold = 16 if i == 1 else 0
        tw += record(4 | 8 | hold, 1, arp_request())
    with open(os.path.join(out, "stack_time_wait"), "wb") as f:
        f.write(tw)

    udp = b"\xff" + record(0, 1, arp_request())
    udp += record(1 | 2 | 32, 1, udp_frame(5353, 53, b"query one"))
    udp += record(1 | 2, 1, udp_frame(5353, 53, b"query two, left queued"))
    udp += record(1 | 2, 1, udp_frame(5353, 9, b"nobody"))
    udp += record(1 | 2 | 32, 1, udp_frame(5353, 53, b"short", ulen=40))
    udp += record(1 | 32, 1, udp_frame(5353, 53, b"no checksum"))
    with open(os.path.join(out, "stack_udp"), "wb") as f:
        f.write(udp)

    v6 = b"\xff"
    for _ in range(5):  # DAD of our addresses: a second passes
        v6 += record(0, 250, arp_request())
    peer6, our6 = FD4D + bytes(13) + b"\x01", FD4D + bytes(13) + b"\x02"
    solicited = bytes([0xff, 2] + [0] * 9 + [1, 0xff, 0, 0, 2])
    all_nodes = bytes([0xff, 2] + [0] * 13 + [1])
    peer_ll = bytes([0xfe, 0x80] + [0] * 13 + [1])
    ns = struct.pack(">BBHI", 135, 0, 0, 0) + our6 + bytes([1, 1]) + PEER_MAC
    v6 += record(2, 1, ipv6_frame(bytes([0x33, 0x33, 0xff, 0, 0, 2]), peer6, solicited, 58, 255, ns))
    prefix = struct.pack(">BBBBIII", 3, 4, 64, 0xC0, 7200, 3600, 0) + FD4E + bytes(14)
    ra = struct.pack(">BBHBBHII", 134, 0, 0, 64, 0, 1800, 0, 0) + prefix + bytes([1, 1]) + PEER_MAC
    v6 += record(2, 1, ipv6_frame(bytes([0x33, 0x33, 0, 0, 0, 1]), peer_ll, all_nodes, 58, 255, ra))
    echo = struct.pack(">BBHHH", 128, 0, 0, 0x7465, 1) + b"ping over IPv6"
    v6 += record(1 | 2, 1, ipv6_frame(OUR_MAC, peer6, our6, 58, 64, echo))
    syn = struct.pack(">HHIIBBHHH", 1234, 80, 9000, 0, 0x60, SYN, 8192, 0, 0) + MSS
    v6 += record(1 | 2 | 8, 1, ipv6_frame(OUR_MAC, peer6, our6, 6, 64, syn))
    v6 += record(1, 1, ipv6_frame(OUR_MAC, peer6, our6, 143, 64, bytes(8)))
    body = struct.pack(">BBHHH", 128, 0, 0, 0x7465, 2) + bytes(range(24))
    frag0 = struct.pack(">BBHI", 58, 0, 0x0001, 77) + body[:16]
    frag1 = struct.pack(">BBHI", 58, 0, 16, 77) + body[16:]
    v6 += record(1, 1, ipv6_frame(OUR_MAC, peer6, our6, 44, 64, frag1))
    v6 += record(1, 1, ipv6_frame(OUR_MAC, peer6, our6, 44, 64, frag0))
    na = struct.pack(">BBHI", 136, 0, 0, 0x60000000) + peer6 + bytes([2, 1]) + PEER_MAC
    v6 += record(1 | 2, 1, ipv6_frame(OUR_MAC, peer6, our6, 58, 255, na))
    with open(os.path.join(out, "stack_ipv6"), "wb") as f:
        f.write(v6)


if __name__ == "__main__":
    main()
