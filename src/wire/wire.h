/*
 * src/wire/wire.h: what the wire layer shares across protocols, above all the
 * error codes its parsers return.
 *
 * Contract for every parser in src/wire/: it reads only the bytes between
 * buf and buf + len, allocates nothing, keeps no state, and returns WIRE_OK
 * or exactly one enum wire_err naming the first malformation it found (the
 * checks run in the order each header documents). Output structures may
 * point into the parsed buffer; they are valid as long as the buffer is.
 */
#ifndef TERN_WIRE_WIRE_H
#define TERN_WIRE_WIRE_H

enum wire_err {
    WIRE_OK = 0,

    /* IPv4, RFC 791 3.1 */
    WIRE_ERR_IP_TRUNCATED, /* buffer shorter than the 20-byte fixed header */
    WIRE_ERR_IP_VERSION,   /* version field is not 4 */
    WIRE_ERR_IP_HLEN,      /* IHL < 5, or IHL * 4 longer than the buffer */
    WIRE_ERR_IP_TOTLEN,    /* total length < header length, or > buffer */
    WIRE_ERR_IP_CHECKSUM,  /* header checksum does not verify */
    WIRE_ERR_IP_OPTION,    /* option list malformed (bad or overlong length) */

    /* ICMP, RFC 792 */
    WIRE_ERR_ICMP_TRUNCATED,   /* fewer than 8 bytes */
    WIRE_ERR_ICMP_CHECKSUM,    /* checksum over the message does not verify */
    WIRE_ERR_ICMP_ERR_PAYLOAD, /* error message quotes less than an IPv4 header */

    /* TCP, RFC 9293 3.1 */
    WIRE_ERR_TCP_TRUNCATED,     /* fewer than 20 bytes */
    WIRE_ERR_TCP_DOFF,          /* data offset < 5, or header longer than buffer */
    WIRE_ERR_TCP_CHECKSUM,      /* checksum with the pseudo-header does not verify */
    WIRE_ERR_TCP_OPT_LEN,       /* option length byte < 2, or option runs past the header */
    WIRE_ERR_TCP_OPT_TRUNCATED, /* option kind byte present but no length byte */
    WIRE_ERR_TCP_OPT_BADLEN,    /* known option (MSS, WS, SACK-permitted, SACK, TS) with a
                                   length its RFC does not allow */
    WIRE_ERR_TCP_LENGTH,        /* segment longer than 65535 bytes: cannot be described by
                                   the IPv4 pseudo-header's 16-bit length */

    /* Ethernet II, RFC 894 */
    WIRE_ERR_ETH_TRUNCATED, /* fewer than 14 bytes */
    WIRE_ERR_ETH_NOT_DIX,   /* type field below 0x0600: an IEEE 802.3 length, not an EtherType */

    /* ARP, RFC 826 (Ethernet/IPv4 only) */
    WIRE_ERR_ARP_TRUNCATED, /* fewer than 8 bytes, or fewer than the 28 the addresses need */
    WIRE_ERR_ARP_HTYPE,     /* hardware type is not 1 (Ethernet) */
    WIRE_ERR_ARP_PTYPE,     /* protocol type is not 0x0800 (IPv4) */
    WIRE_ERR_ARP_ADDR_LEN,  /* hardware/protocol address lengths are not 6 and 4 */
    WIRE_ERR_ARP_OP,        /* opcode is neither 1 (request) nor 2 (reply) */

    /* UDP, RFC 768 */
    WIRE_ERR_UDP_TRUNCATED, /* fewer than 8 bytes */
    WIRE_ERR_UDP_LENGTH,    /* length field below 8 or beyond the IP payload */
    WIRE_ERR_UDP_CHECKSUM,  /* nonzero checksum with the pseudo-header does not verify */

    /* IPv6, RFC 8200 3 (fixed header) */
    WIRE_ERR_IP6_TRUNCATED,   /* buffer shorter than the 40-byte fixed header */
    WIRE_ERR_IP6_VERSION,     /* version field is not 6 */
    WIRE_ERR_IP6_PAYLOAD_LEN, /* payload length runs past the buffer */

    /* IPv6 extension headers, RFC 8200 4 (wire_ipv6_walk) */
    WIRE_ERR_IP6_EXT_TRUNCATED, /* an extension header runs past the payload (4) */
    WIRE_ERR_IP6_EXT_CHAIN,     /* more than WIRE_IPV6_MAX_EXT_HDRS extension headers */
    WIRE_ERR_IP6_HBH_NOT_FIRST, /* hop-by-hop not right after the IPv6 header (4.1) */
    WIRE_ERR_IP6_OPT_TRUNCATED, /* an option runs past its header (4.2) */
    WIRE_ERR_IP6_OPT_PAD,       /* PadN data not zero, or over 7 padding bytes in a row (4.2) */
    WIRE_ERR_IP6_OPT_UNKNOWN,   /* unrecognised option whose action bits say discard (4.2) */
    WIRE_ERR_IP6_RH0,           /* routing type 0 with segments left (RFC 5095 3) */
    WIRE_ERR_IP6_RH_UNKNOWN,    /* other routing type with segments left (4.4) */
    WIRE_ERR_IP6_FRAG_LEN,      /* non-last fragment not a multiple of 8 bytes (4.5) */
    WIRE_ERR_IP6_FRAG_END,      /* fragment offset + length beyond 65535 (4.5) */
    WIRE_ERR_IP6_FRAG_CHAIN,    /* first fragment without the whole header chain (4.5) */

    /* ICMPv6, RFC 4443 */
    WIRE_ERR_ICMP6_TRUNCATED,   /* fewer than 8 bytes (2.1) */
    WIRE_ERR_ICMP6_CHECKSUM,    /* checksum with the IPv6 pseudo-header does not verify (2.3) */
    WIRE_ERR_ICMP6_ERR_PAYLOAD, /* error message quotes less than an IPv6 header (2.4 (c)) */

    /* Neighbor Discovery, RFC 4861 (wire_nd_parse) */
    WIRE_ERR_ND_TYPE,          /* not an ND message type (133-137) */
    WIRE_ERR_ND_HOP_LIMIT,     /* IP hop limit is not 255 (6.1, 7.1, 8.1) */
    WIRE_ERR_ND_CODE,          /* ICMP code is not 0 (6.1, 7.1, 8.1) */
    WIRE_ERR_ND_TRUNCATED,     /* shorter than the message's fixed part (4.1-4.5) */
    WIRE_ERR_ND_OPT_ZERO_LEN,  /* an option with length 0 (4.6) */
    WIRE_ERR_ND_OPT_TRUNCATED, /* an option runs past the message (4.6) */
    WIRE_ERR_ND_SRC,           /* RA or redirect from a non-link-local source (6.1.2, 8.1) */
    WIRE_ERR_ND_TARGET,        /* NS/NA target is multicast (7.1.1, 7.1.2) */
    WIRE_ERR_ND_DAD,           /* unspecified source: destination not solicited-node, or a
                                  source link-layer option present (6.1.1, 7.1.1) */
    WIRE_ERR_ND_NA_SOLICITED,  /* NA to a multicast address with the S flag (7.1.2) */
    WIRE_ERR_ND_REDIRECT,      /* redirect destination multicast, or target neither
                                  link-local nor the destination (8.1) */

    /* DNS messages, RFC 1035 4.1 (src/wire/dns.h) */
    WIRE_ERR_DNS_TRUNCATED,    /* header, name, question or record runs past the message (4.1) */
    WIRE_ERR_DNS_LABEL_TYPE,   /* label type 01 or 10: reserved (4.1.4) */
    WIRE_ERR_DNS_POINTER,      /* compression pointer not strictly backwards, into the
                                  header, or too many of them (4.1.4) */
    WIRE_ERR_DNS_NAME_LEN,     /* name longer than 255 octets (3.1) */
    WIRE_ERR_DNS_LABEL_LEN,    /* text name with an empty label or one over 63 octets (3.1) */
    WIRE_ERR_DNS_TEXT,         /* text name with a bad escape (5.1) */
    WIRE_ERR_DNS_NO_ROOM,      /* output buffer too small for the message */
    WIRE_ERR_DNS_NOT_RESPONSE, /* QR clear or opcode not QUERY in an answer (4.1.1) */
    WIRE_ERR_DNS_ID,           /* answer id differs from the query's (4.1.1, 7.3) */
    WIRE_ERR_DNS_QUESTION,     /* answer's question is not the query's (7.3) */
    WIRE_ERR_DNS_RDATA,        /* record is not of the asked type/class, or its rdata has
                                  the wrong length for it (3.4.1, 3.3.1; RFC 3596 2.2) */
    /* DHCP, RFC 2131 and RFC 2132 (wire_dhcp_parse, wire_dhcp_check_reply) */
    WIRE_ERR_DHCP_TRUNCATED,     /* fewer than 240 bytes: fixed part and cookie (2131 2, 3) */
    WIRE_ERR_DHCP_OP,            /* op is neither BOOTREQUEST nor BOOTREPLY (2131 2) */
    WIRE_ERR_DHCP_HLEN,          /* hlen above 16, the size of chaddr (2131 2) */
    WIRE_ERR_DHCP_COOKIE,        /* options field does not start with 99.130.83.99 (2131 3) */
    WIRE_ERR_DHCP_OPT_TRUNCATED, /* an option runs past its field (2131 4.1) */
    WIRE_ERR_DHCP_NO_END,        /* a field holding options has no End option (2131 4.1) */
    WIRE_ERR_DHCP_OVERLOAD,      /* option overload value not 1, 2 or 3 (2132 9.3) */
    WIRE_ERR_DHCP_OPT_BADLEN,    /* a decoded option with a length RFC 2132 does not allow */
    WIRE_ERR_DHCP_NOT_REPLY,     /* answer's op is not BOOTREPLY (2131 3) */
    WIRE_ERR_DHCP_XID,           /* answer's xid is not the request's (2131 4.3.1 table 3) */
    WIRE_ERR_DHCP_CHADDR,        /* answer's htype, hlen or chaddr not ours (table 3) */
    WIRE_ERR_DHCP_MSG_TYPE,      /* message type absent or not an answer to ours (2131 3, 4.4.1) */
    WIRE_ERR_DHCP_NO_SERVER_ID,  /* OFFER, ACK or NAK without a server identifier (table 3) */
    WIRE_ERR_DHCP_NO_LEASE,      /* OFFER, or ACK to a REQUEST, without a lease time (table 3) */

    WIRE_ERR_COUNT /* number of values above, for tables and loops; not an error */
};

/*
 * A short human description of err ("IPv4 header checksum mismatch"), a
 * static string; never NULL (out-of-range values give "unknown wire error").
 */
const char *wire_err_name(enum wire_err err);

#endif
