/*
 * include/tern/stats.h: counters, per layer, and the reasons a packet is
 * dropped.
 *
 * A drop is not an error: a malformed or unwanted packet is counted under its
 * reason and reported as a trace event naming the rule, and the stack goes
 * on. Every reason has a short name (for tools), a layer and the rule that
 * makes the stack drop, in our own words.
 */
#ifndef TERN_STATS_H
#define TERN_STATS_H

#include <stdint.h>

/* X(NAME, layer, rule) */
#define TERN_DROP_REASONS(X)                                                                       \
    X(ETH_TRUNCATED, "eth", "RFC 894: shorter than an Ethernet header")                            \
    X(ETH_NOT_DIX, "eth", "RFC 1122 2.3.3 (deviation): IEEE 802.3 frame, we take RFC 894 only")    \
    X(ETH_NOT_OURS, "eth", "RFC 894: destination is neither our address nor broadcast")            \
    X(ETH_TYPE, "eth", "RFC 894: EtherType is neither IPv4 nor ARP")                               \
    X(ETH_BCAST_UNICAST, "eth", "RFC 1122 3.3.6: link broadcast with a unicast IP destination")    \
    X(ETH_TX_FAILED, "eth", "the driver refused the frame")                                        \
    X(ARP_TRUNCATED, "arp", "RFC 826: shorter than an Ethernet/IPv4 ARP packet")                   \
    X(ARP_HTYPE, "arp", "RFC 826: hardware type is not Ethernet")                                  \
    X(ARP_PTYPE, "arp", "RFC 826: protocol type is not IPv4")                                      \
    X(ARP_ADDR_LEN, "arp", "RFC 826: address lengths are not 6 and 4")                             \
    X(ARP_OP, "arp", "RFC 826: opcode is neither request nor reply")                               \
    X(ARP_BAD_SENDER, "arp", "RFC 826: sender hardware address is a group address")                \
    X(ARP_CONFLICT, "arp", "RFC 5227 2.4: sender claims our address, not merged")                  \
    X(ARP_NOT_FOR_US, "arp", "RFC 826: not the target and sender not in the table")                \
    X(ARP_CACHE_FULL, "arp", "cache full of addresses being resolved, datagram dropped")           \
    X(ARP_QUEUE_FULL, "arp", "RFC 1122 2.3.2.2: queue for an unresolved address full")             \
    X(ARP_RESOLVE_FAILED, "arp", "RFC 1122 2.3.2.1: no reply to the requests, queue dropped")      \
    X(ARP_UNREACH, "arp", "RFC 1122 2.3.2.1: address failed to resolve, host unreachable")         \
    X(IP_TRUNCATED, "ip", "RFC 791 3.1: shorter than a minimal IPv4 header")                       \
    X(IP_VERSION, "ip", "RFC 791 3.1: version is not 4")                                           \
    X(IP_HLEN, "ip", "RFC 791 3.1: header length below 20 or beyond the frame")                    \
    X(IP_TOTLEN, "ip", "RFC 1122 3.2.1.1: total length below header length or beyond the frame")   \
    X(IP_CHECKSUM, "ip", "RFC 1122 3.2.1.2: header checksum mismatch")                             \
    X(IP_OPTION, "ip", "RFC 791 3.1: malformed option list")                                       \
    X(IP_SOURCE_ROUTE, "ip", "RFC 7126 4.3.5 4.4.5: source-routed (LSRR/SSRR), dropped by choice") \
    X(IP_BAD_SRC, "ip", "RFC 1122 3.2.1.3: source is broadcast, multicast or loopback")            \
    X(IP_NOT_OURS, "ip", "RFC 1122 3.2.1.3: destination is not ours and we do not forward")        \
    X(IP_NO_NETIF, "ip", "input on an interface the stack does not have")                          \
    X(IP_NO_ROUTE, "ip", "RFC 1122 3.3.1: no route to the destination")                            \
    X(IP_DF_TOO_BIG, "ip", "RFC 791 2.3: larger than the MTU with Don't Fragment set")             \
    X(IP_TX_FAILED, "ip", "the driver refused the frame")                                          \
    X(IP_LOOP_FULL, "ip", "datagram to our own address: loopback queue full")                      \
    X(IP_PROTO_UNREACH, "ip", "RFC 1122 3.2.2.1: no handler for the protocol")                     \
    X(IP_TOO_LONG, "ip", "RFC 791 3.1: datagram to send would exceed 65535 bytes")                 \
    X(REASS_BAD_FRAGMENT, "ip", "RFC 791 3.2: fragment not a multiple of 8 bytes or past 65535")   \
    X(REASS_OVERLAP, "ip", "RFC 5722 (applied to IPv4): overlapping fragments, datagram dropped")  \
    X(REASS_DUPLICATE, "ip",                                                                       \
      "RFC 8200 4.5 (applied to IPv4): exact duplicate fragment dropped alone")                    \
    X(REASS_NO_SLOT, "ip", "reassembly: no reassembly slots configured")                           \
    X(REASS_MEMORY, "ip", "reassembly: memory cap reached, no older datagram to evict")            \
    X(REASS_NO_BUFFER, "ip", "reassembly: buffer pool short, no older datagram to evict")          \
    X(REASS_TOO_BIG, "ip", "RFC 1122 3.3.2: datagram longer than we reassemble (EMTU_R)")          \
    X(REASS_EVICTED, "ip",                                                                         \
      "reassembly full: oldest incomplete datagram evicted (our choice; RFC 815/1122 set none)")   \
    X(REASS_TIMEOUT, "ip", "RFC 1122 3.3.2: reassembly timed out")                                 \
    X(ICMP_TRUNCATED, "icmp", "RFC 792: shorter than an ICMP header")                              \
    X(ICMP_CHECKSUM, "icmp", "RFC 792: checksum mismatch")                                         \
    X(ICMP_ERR_PAYLOAD, "icmp", "RFC 1122 3.2.2: error quotes too little of the datagram")         \
    X(ICMP_UNKNOWN_TYPE, "icmp", "RFC 1122 3.2.2: unknown type silently discarded")                \
    X(ICMP_BCAST_ECHO, "icmp", "RFC 1122 3.2.2.6: echo request to broadcast ignored")              \
    X(ICMP_NO_HANDLER, "icmp", "ICMP error about a protocol nobody handles")                       \
    X(ICMP_ECHO_NO_HANDLER, "icmp", "RFC 1122 3.2.2.6: echo reply but no echo handler installed")  \
    X(ICMP_REDIRECT, "icmp", "RFC 1122 3.2.2.2 (deviation): redirect ignored, no route cache")     \
    X(ICMP_RATE_LIMIT, "icmp", "RFC 1812 4.3.2.8: ICMP error budget spent, error not sent")        \
    X(TCP_TRUNCATED, "tcp", "RFC 9293 3.1: shorter than a TCP header")                             \
    X(TCP_DOFF, "tcp", "RFC 9293 3.1: data offset below 5 or beyond the segment")                  \
    X(TCP_CHECKSUM, "tcp", "RFC 9293 3.1 (MUST-2): checksum mismatch")                             \
    X(TCP_OPTION, "tcp", "RFC 9293 3.1 (MUST-7): malformed option list")                           \
    X(TCP_NO_CONN, "tcp", "RFC 9293 3.10.7.1: no connection for the segment (RST unless RST)")     \
    X(TCP_BAD_ADDR, "tcp", "RFC 9293 3.9.2.3 (MUST-57, MUST-63): broadcast/multicast endpoint")    \
    X(TCP_BAD_PORT, "tcp", "RFC 6335 6: port 0 is reserved, no connection uses it (no RST)")       \
    X(TCP_LISTEN_RST, "tcp", "RFC 9293 3.10.7.2 first: RST in LISTEN ignored")                     \
    X(TCP_LISTEN_ACK, "tcp", "RFC 9293 3.10.7.2 second: ACK in LISTEN (RST sent)")                 \
    X(TCP_LISTEN_NO_SYN, "tcp", "RFC 9293 3.10.7.2 fourth: no SYN, ACK or RST in LISTEN")          \
    X(TCP_BACKLOG_FULL, "tcp",                                                                     \
      "RFC 9293 3.10.1: accept queue full (backlog), SYN or handshake ACK dropped")                \
    X(TCP_TABLE_FULL, "tcp", "RFC 9293 3.10.1: no room for a new connection, segment dropped")     \
    X(TCP_SYN_CACHE_FULL, "tcp", "RFC 6191 2: SYN reopening TIME-WAIT but the SYN cache is full")  \
    X(TCP_SYN_SENT_BAD_ACK, "tcp", "RFC 9293 3.10.7.3 first: SYN-SENT, unacceptable ACK")          \
    X(TCP_SYN_SENT_RST, "tcp", "RFC 9293 3.10.7.3 second: SYN-SENT, RST without acceptable ACK")   \
    X(TCP_SYN_SENT_NO_SYN, "tcp", "RFC 9293 3.10.7.3 fifth: SYN-SENT, neither SYN nor RST")        \
    X(TCP_SEQ_UNACCEPTABLE, "tcp", "RFC 9293 3.10.7.4 first: sequence number not acceptable")      \
    X(TCP_OUT_OF_ORDER, "tcp", "RFC 9293 3.10.7.4 first: beyond RCV.NXT, not queued (SHLD-31)")    \
    X(TCP_RST_OUT_OF_WINDOW, "tcp", "RFC 5961 3.2: RST outside the receive window")                \
    X(TCP_RST_NOT_EXACT, "tcp", "RFC 5961 3.2: RST in window but not at RCV.NXT")                  \
    X(TCP_SYN_SYNCHRONIZED, "tcp", "RFC 5961 4.2: SYN in a synchronized state")                    \
    X(TCP_NO_ACK, "tcp", "RFC 9293 3.10.7.4 fifth: ACK bit off")                                   \
    X(TCP_ACK_UNACCEPTABLE, "tcp", "RFC 5961 5.2: SEG.ACK outside SND.UNA-MAX.SND.WND..SND.NXT")   \
    X(TCP_SYN_RCVD_BAD_ACK, "tcp", "RFC 9293 3.10.7.4 fifth: SYN-RECEIVED, unacceptable ACK")      \
    X(TCP_CHALLENGE_LIMIT, "tcp", "RFC 5961 7: stack-wide challenge ACK budget spent, not sent")   \
    X(TCP_CHALLENGE_CONN_LIMIT, "tcp",                                                             \
      "RFC 5961 7 (erratum 4772): connection's reply budget spent, challenge ACK not sent")        \
    X(TCP_ACK_LIMIT, "tcp",                                                                        \
      "RFC 9293 3.10.7.4 first, RFC 5961 5.2: stack-wide corrective ACK budget spent, not sent")   \
    X(TCP_ACK_CONN_LIMIT, "tcp",                                                                   \
      "RFC 9293 3.10.7.4 first, RFC 5961 5.2: connection's reply budget spent, ACK not sent")      \
    X(TCP_RST_LIMIT, "tcp", "RFC 9293 3.10.7.1/3.10.7.2: stack-wide RST budget spent, not sent")   \
    X(TCP_TIME_WAIT_SYN, "tcp",                                                                    \
      "RFC 6191 2: SYN in TIME-WAIT that opens no new incarnation (ACK sent)")                     \
    X(TCP_TEXT_AFTER_CLOSE, "tcp",                                                                 \
      "RFC 9293 3.6 (SHLD-3): text after CLOSE and release (RST sent)")                            \
    X(TCP_RCV_BUF_FULL, "tcp", "RFC 9293 3.10.7.4 seventh: text beyond the receive buffer")        \
    X(TCP_ICMP_NO_CONN, "tcp", "RFC 9293 3.9.2.2: ICMP error for no connection")                   \
    X(TCP_ICMP_BAD_SEQ, "tcp", "RFC 5927 4.1: ICMP error quotes SEQ outside SND.UNA..SND.NXT")     \
    X(TCP_ICMP_IGNORED, "tcp", "RFC 9293 3.9.2.2 (MUST-55): ICMP message TCP does not act on")     \
    X(TCP_PAWS, "tcp", "RFC 7323 5.3: PAWS, timestamp older than TS.Recent")                       \
    X(UDP_TRUNCATED, "udp", "RFC 768: shorter than a UDP header")                                  \
    X(UDP_LENGTH, "udp", "RFC 768: length field below 8 or beyond the IP payload")                 \
    X(UDP_CHECKSUM, "udp", "RFC 1122 4.1.3.4: checksum present and wrong")                         \
    X(UDP_NO_PORT, "udp", "RFC 1122 4.1.3.1: no socket for the port (port unreachable sent)")      \
    X(UDP_RCVBUF_FULL, "udp", "RFC 8085 3.1: receive queue at its cap, datagram dropped")          \
    X(UDP_POOL_DRY, "udp", "buffer pool short, datagram dropped")                                  \
    X(UDP_ICMP_NO_SOCKET, "udp", "RFC 1122 4.1.3.3: ICMP error for no connected socket")           \
    X(IPV6_TRUNCATED, "ipv6", "RFC 8200 3: shorter than the 40-byte IPv6 header")                  \
    X(IPV6_VERSION, "ipv6", "RFC 8200 3: version is not 6")                                        \
    X(IPV6_PAYLOAD_LEN, "ipv6", "RFC 8200 3: payload length runs past the frame")                  \
    X(IPV6_NOT_OURS, "ipv6", "RFC 8200 3: destination is not ours and a host does not forward")    \
    X(IPV6_BAD_SRC, "ipv6", "RFC 4291 2.7: source is a multicast address")                         \
    X(IPV6_EXT_HDR, "ipv6", "RFC 8200 4: malformed extension header (parameter problem)")          \
    X(IPV6_OPTION, "ipv6", "RFC 8200 4.2: unrecognised option whose action bits say discard")      \
    X(IPV6_ROUTING, "ipv6", "RFC 5095 3, RFC 8200 4.4: routing header with segments left refused") \
    X(IPV6_NEXT_HEADER, "ipv6", "RFC 8200 4: unrecognised next header (parameter problem code 1)") \
    X(IPV6_NO_NEXT_HEADER, "ipv6", "RFC 8200 4.7: next header 59, nothing follows")                \
    X(IPV6_NO_ROUTE, "ipv6", "RFC 4861 5.2: no route and no default router for the destination")   \
    X(IPV6_TX_FAILED, "ipv6", "the driver refused the packet")                                     \
    X(IPV6_TOO_LONG, "ipv6", "RFC 8200 3: packet to send would exceed 65535 bytes of payload")     \
    X(IPV6_TENTATIVE, "ipv6", "RFC 4862 5.4: addressed to a tentative address")                    \
    X(REASS6_BAD_FRAGMENT, "ipv6", "RFC 8200 4.5: fragment length or offset invalid")              \
    X(REASS6_OVERLAP, "ipv6", "RFC 5722 3: overlapping fragments, datagram dropped")               \
    X(REASS6_TIMEOUT, "ipv6", "RFC 8200 4.5: reassembly not complete within 60 seconds")           \
    X(REASS6_FULL, "ipv6", "reassembly: no slot or memory for another IPv6 fragment")              \
    X(ICMPV6_TRUNCATED, "icmpv6", "RFC 4443 2.1: shorter than an ICMPv6 header")                   \
    X(ICMPV6_CHECKSUM, "icmpv6", "RFC 4443 2.3: checksum mismatch")                                \
    X(ICMPV6_ERR_PAYLOAD, "icmpv6", "RFC 4443 2.4 (c): error quotes too little of the packet")     \
    X(ICMPV6_UNKNOWN_TYPE, "icmpv6", "RFC 4443 2.4 (b): unknown informational message discarded")  \
    X(ICMPV6_NO_HANDLER, "icmpv6", "ICMPv6 error about a protocol nobody handles")                 \
    X(ICMPV6_ECHO_NO_HANDLER, "icmpv6", "RFC 4443 4.2: echo reply but no echo handler installed")  \
    X(ICMPV6_RATE_LIMIT, "icmpv6", "RFC 4443 2.4 (f): ICMPv6 error budget spent, error not sent")  \
    X(ND_INVALID, "nd",                                                                            \
      "RFC 4861 6.1, 7.1, 8.1: neighbour discovery message fails validity checks")                 \
    X(ND_NOT_FOR_US, "nd", "RFC 4861 7.2.3: solicitation for an address that is not ours")         \
    X(ND_CACHE_FULL, "nd", "neighbour cache full of unresolved entries, packet dropped")           \
    X(ND_QUEUE_FULL, "nd", "RFC 4861 7.2.2: queue for an unresolved neighbour full")               \
    X(ND_RESOLVE_FAILED, "nd", "RFC 4861 7.3.3: no advertisement after the solicitations")         \
    X(ND_RS_HOST, "nd", "RFC 4861 6.2.6: a host discards router solicitations")                    \
    X(ND_REDIRECT_REFUSED, "nd", "RFC 4861 8.1: redirect not from the first-hop router")           \
    X(ND_RA_IGNORED, "nd", "RFC 4862 5.5.3: prefix information not usable for autoconfiguration")  \
    X(ND_DAD_CONFLICT, "nd", "RFC 4862 5.4.5: duplicate address detected, address not used")       \
    X(ND_TABLE_FULL, "nd", "router, prefix or address table full, entry not kept")

enum tern_drop_reason {
#define TERN_DROP_ENUM_(name, layer, rule) TERN_DROP_##name,
    TERN_DROP_REASONS(TERN_DROP_ENUM_)
#undef TERN_DROP_ENUM_
        TERN_DROP_COUNT
};

/* Counters of one stack. Plain integers; read them with tern_stack_stats(). */
struct tern_stats {
    struct {
        uint64_t rx;            /* datagrams handed to ip input */
        uint64_t rx_delivered;  /* datagrams (or reassembled datagrams) given to a protocol */
        uint64_t tx;            /* datagrams handed to a driver (each fragment counts) */
        uint64_t tx_fragmented; /* datagrams sent as several fragments */
        uint64_t rx_fragments;  /* fragments received */
        uint64_t reassembled;   /* datagrams completed from fragments */
    } ip;
    struct {
        uint64_t rx;
        uint64_t tx;
        uint64_t rx_echo_request;
        uint64_t rx_echo_reply;
        uint64_t rx_error; /* errors received and handed to a transport */
        uint64_t tx_error; /* errors we sent (unreachable, time exceeded) */
    } icmp;
    struct {
        uint64_t rx;               /* segments handed to the state machine */
        uint64_t tx;               /* segments sent (retransmissions included) */
        uint64_t active_opens;     /* OPEN calls that sent a SYN */
        uint64_t passive_opens;    /* children created by a listener from a SYN */
        uint64_t established;      /* connections that reached ESTABLISHED */
        uint64_t active_closes;    /* connections whose FIN went first: entered FIN-WAIT-1 */
        uint64_t passive_closes;   /* connections whose peer's FIN came first: CLOSE-WAIT */
        uint64_t attempt_fails;    /* SYN-SENT/SYN-RECEIVED to CLOSED or back to LISTEN */
        uint64_t resets_rx;        /* connections closed by a valid RST */
        uint64_t rst_tx;           /* RST segments sent */
        uint64_t challenge_acks;   /* RFC 5961 challenge ACKs sent */
        uint64_t corrective_acks;  /* ACKs answering an unacceptable segment (RFC 9293 3.10.7.4
                                      first, RFC 5961 5.2, RFC 7323 5.3) */
        uint64_t retransmits;      /* segments sent again (on a timeout, a fast retransmit,
                                      a recovery or a loss probe) */
        uint64_t timeouts;         /* connections aborted by a timeout */
        uint64_t icmp_soft;        /* soft ICMP errors recorded */
        uint64_t icmp_hard;        /* hard ICMP errors that aborted a connection */
        uint64_t time_wait_reuse;  /* SYNs accepted on a TIME-WAIT connection */
        uint64_t fast_retransmits; /* RFC 5681 3.2 / RFC 6675 loss recoveries entered */
        uint64_t dsacks_tx;        /* ACKs whose first SACK block reported a duplicate (RFC 2883) */
        uint64_t dsacks_rx;        /* D-SACK blocks received (RFC 2883 4) */
        uint64_t spurious_rtx;     /* retransmissions a D-SACK showed needless (RFC 3708) */
        uint64_t undos;            /* loss episodes undone: cwnd, ssthresh restored (RFC 4015) */
        uint64_t orphan_timeouts;  /* released FIN-WAIT-2 connections reset by fin_wait_2_timeout */
        uint64_t time_wait_recycled; /* TIME-WAIT records ended early: table full (RFC 6191) */
        uint64_t time_wait_records;  /* TIME-WAIT records held now (a level, as pool.avail) */
        uint64_t syn_cache_expired;  /* embryonic records deleted after synack_retries */
        uint64_t cookies_sent;       /* SYN,ACKs carrying a SYN cookie (RFC 4987 3.6) */
        uint64_t cookies_accepted;   /* ACKs whose cookie was valid: connection created */
        uint64_t cookies_rejected;   /* ACKs in LISTEN whose cookie was forged or expired */
        uint64_t snd_mem_blocked; /* SENDs that queued less than asked: the buffer pool was dry */
        uint64_t rcv_wnd_mem_limited; /* windows announced smaller than the buffer: pool pressure */
        uint64_t
            rcv_reserve_fail;    /* windows announced without pool memory behind (never expected) */
        uint64_t ecn_ce_rcvd;    /* segments received with CE on an ECN connection (RFC 3168) */
        uint64_t ecn_reductions; /* cwnd reductions in answer to ECE (RFC 3168 6.1.2) */
        uint64_t rto_expiries;   /* retransmission timer expiries (RFC 6298 5.4), SYNs too */
        uint64_t tlp_timeouts;   /* loss probe timer expiries (RFC 8985 7.3) */
    } tcp;
    struct {
        uint64_t rx;        /* datagrams queued on a socket (a broadcast counts once per socket) */
        uint64_t tx;        /* datagrams sent */
        uint64_t icmp_errs; /* ICMP errors recorded on a connected socket */
    } udp;
    struct {
        uint64_t rx;            /* packets handed to ipv6 input */
        uint64_t rx_delivered;  /* packets given to ICMPv6 or a transport */
        uint64_t tx;            /* packets handed to the link (each fragment counts) */
        uint64_t tx_fragmented; /* packets we sent as fragments (RFC 8200 4.5) */
        uint64_t rx_fragments;  /* fragments received */
        uint64_t reassembled;   /* packets completed from fragments */
    } ip6;
    struct {
        uint64_t rx;
        uint64_t tx;
        uint64_t rx_echo_request;
        uint64_t rx_echo_reply;
        uint64_t rx_error; /* errors received and handed to a transport */
        uint64_t tx_error; /* errors we sent */
        uint64_t rx_ptb;   /* packet too big messages that lowered a path MTU */
    } icmp6;
    struct {
        uint64_t ns_tx, ns_rx, na_tx, na_rx; /* neighbour solicitations, advertisements */
        uint64_t rs_tx, ra_rx, redirect_rx;  /* router messages (redirects accepted) */
        uint64_t resolved;                   /* neighbours learned or confirmed */
        uint64_t failed;                     /* resolutions given up */
        uint64_t queued;                     /* packets held while resolving */
        uint64_t dad_ok, dad_conflict;       /* duplicate address detection outcomes */
        uint64_t slaac_addrs;                /* addresses formed from prefixes (RFC 4862) */
    } nd;
    struct {
        uint64_t rx; /* frames accepted (to our address or broadcast) */
        uint64_t tx; /* frames handed to a driver */
    } eth;
    struct {
        uint64_t rx;            /* ARP packets accepted */
        uint64_t requests_rx;   /* requests among them */
        uint64_t replies_rx;    /* replies among them */
        uint64_t requests_tx;   /* requests sent (announcements excluded) */
        uint64_t replies_tx;    /* replies sent */
        uint64_t announces_tx;  /* gratuitous announcements sent (RFC 5227 2.3) */
        uint64_t probes_tx;     /* probes sent for tern_arp_probe (RFC 5227 2.1.1) */
        uint64_t probes_in_use; /* probed addresses found in use by another host */
        uint64_t resolved;      /* addresses resolved (or confirmed again) by a packet */
        uint64_t failed;        /* resolutions given up after the retries */
        uint64_t expired;       /* entries removed when their time ran out */
        uint64_t evicted;       /* entries removed to make room in a full cache */
        uint64_t queued;        /* datagrams queued waiting for resolution */
        uint64_t queue_flushed; /* queued datagrams sent once resolved */
    } arp;
    struct {
        /* The buffer pool (cfg.pool_bytes). Read them to see memory
         * pressure: min_avail near 0 means the pool ran short at some time,
         * take_fail says how often a request found nothing. */
        uint64_t chunks;    /* 2 KiB chunks carved at creation */
        uint64_t avail;     /* chunks anyone may take now (free, not reserved) */
        uint64_t min_avail; /* the lowest avail seen since creation */
        uint64_t take_fail; /* requests refused for want of chunks */
    } pool;
    uint64_t drops[TERN_DROP_COUNT]; /* indexed by enum tern_drop_reason */
};

/* Short name ("IP_CHECKSUM"), layer ("ip") and rule text of a drop reason.
 * Out-of-range values give "?". A library built without rule texts
 * (CMake -DTERN_RULE_TEXT=OFF) returns NULL from tern_drop_rule(). */
const char *tern_drop_name(enum tern_drop_reason r);
const char *tern_drop_layer(enum tern_drop_reason r);
const char *tern_drop_rule(enum tern_drop_reason r);
/* The id of a drop reason's rule (tern_rule_id() of its text) in both
 * builds; 0 for out-of-range values. */
uint32_t tern_drop_rule_id(enum tern_drop_reason r);

/* Sum of all drop counters. */
uint64_t tern_stats_drops_total(const struct tern_stats *s);

#endif
