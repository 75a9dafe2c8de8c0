/*
 * src/wire/dhcp.h: DHCPv4 messages (RFC 2131 sections 2-4) and the options
 * a client needs (RFC 2132), parse and emit, no state.
 *
 * Read before editing: RFC 2131 2 (figure 1, table 1, the flags field), 3
 * (magic cookie), 4.1 (options, overload, concatenation), 4.3.1 table 3,
 * 4.3.2, 4.4.1 table 5; RFC 2132 2, 3.1-3.8, 3.17, 5.1, 9.1-9.14.
 * RFC 1542 (BOOTP relays, the 300-byte minimum) and RFC 3396 (long options)
 * are not in ../shared/rfc; what we take from them is said where it is used.
 *
 * Decisions the RFCs leave to the receiver (the parser):
 *  - Every field that holds options (the options field, and 'file' and/or
 *    'sname' when overloaded) must end with an End option (RFC 2131 4.1);
 *    a field without one is an error, so a message cut short never parses.
 *  - An option whose length byte or data runs past its field is an error
 *    (RFC 2131 4.1: each option lies wholly inside one field).
 *  - Repeated instances of an option are concatenated in the order met
 *    (options, then 'file', then 'sname'; RFC 2131 4.1, the way RFC 3396
 *    describes) and the result is checked and decoded as one option. So a
 *    repeated fixed-length option (two subnet masks) has the wrong length.
 *  - A decoded option whose (concatenated) length is not what RFC 2132 gives
 *    is an error (WIRE_ERR_DHCP_OPT_BADLEN), not skipped: a reply that cannot
 *    state its own lease cleanly is not one to configure from, and the
 *    client may wait for another. Fixed: 1, 50, 51, 54, 58, 59 (4 bytes),
 *    26, 57 (2), 52, 53 (1). Lists of addresses 3, 6: a nonzero multiple of
 *    4. Text and lists of bytes 15, 55, 56: at least 1; 61: at least 2.
 *  - Values out of range: overload other than 1-3 is an error (the parser
 *    cannot know where options are); an MTU below 68 (RFC 2132 5.1) or a
 *    maximum message size below 576 (9.10) is ignored (has_* stays false).
 *    The message type is stored as sent; wire_dhcp_check_reply judges it.
 *  - Text options (15, 56) lose trailing NULs (RFC 2132 2). A domain name
 *    longer than WIRE_DHCP_MAX_TEXT bytes is ignored (a cut name is a wrong
 *    name); a longer message is cut (it is only shown to a person), and
 *    so are a parameter list and a client identifier (kept: 255 bytes).
 *  - Options not listed here are skipped (framing is still checked);
 *    option 52 outside the options field is skipped (RFC 2131 4.1: only
 *    the options field is read for it).
 */
#ifndef TERN_WIRE_DHCP_H
#define TERN_WIRE_DHCP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wire/wire.h"

#define WIRE_DHCP_SERVER_PORT 67
#define WIRE_DHCP_CLIENT_PORT 68

/* RFC 2131 2, figure 1: op to file is 236 bytes; the options field starts
 * with the 4-byte magic cookie (3), so a DHCP message has at least 240. */
#define WIRE_DHCP_FIXED_LEN 236
#define WIRE_DHCP_MIN_LEN   240
/* RFC 1542 (not in ../shared/rfc) has BOOTP relays expect at least a
 * 300-byte BOOTP message (the old 64-byte vendor area); our client pads its
 * messages to this length with Pad options. */
#define WIRE_DHCP_CLIENT_MIN_LEN 300
#define WIRE_DHCP_COOKIE         0x63825363u /* 99.130.83.99 (RFC 2131 3) */
#define WIRE_DHCP_CHADDR_LEN     16
#define WIRE_DHCP_SNAME_LEN      64
#define WIRE_DHCP_FILE_LEN       128

#define WIRE_DHCP_BOOTREQUEST 1
#define WIRE_DHCP_BOOTREPLY   2
/* RFC 2131 2, figure 2: the leftmost bit of flags; the rest must be 0. */
#define WIRE_DHCP_FLAG_BROADCAST 0x8000u
#define WIRE_DHCP_HTYPE_ETHER    1

/* RFC 2132 9.6 */
enum wire_dhcp_msg {
    WIRE_DHCP_DISCOVER = 1,
    WIRE_DHCP_OFFER = 2,
    WIRE_DHCP_REQUEST = 3,
    WIRE_DHCP_DECLINE = 4,
    WIRE_DHCP_ACK = 5,
    WIRE_DHCP_NAK = 6,
    WIRE_DHCP_RELEASE = 7,
    WIRE_DHCP_INFORM = 8,
};

/* Option codes this module reads or writes (RFC 2132). */
enum {
    WIRE_DHCP_OPT_PAD = 0,          /* 3.1 */
    WIRE_DHCP_OPT_SUBNET_MASK = 1,  /* 3.3 */
    WIRE_DHCP_OPT_ROUTER = 3,       /* 3.5 */
    WIRE_DHCP_OPT_DNS = 6,          /* 3.8 */
    WIRE_DHCP_OPT_DOMAIN_NAME = 15, /* 3.17 */
    WIRE_DHCP_OPT_MTU = 26,         /* 5.1 */
    WIRE_DHCP_OPT_REQUESTED = 50,   /* 9.1 */
    WIRE_DHCP_OPT_LEASE_TIME = 51,  /* 9.2 */
    WIRE_DHCP_OPT_OVERLOAD = 52,    /* 9.3 */
    WIRE_DHCP_OPT_MSG_TYPE = 53,    /* 9.6 */
    WIRE_DHCP_OPT_SERVER_ID = 54,   /* 9.7 */
    WIRE_DHCP_OPT_PARAM_LIST = 55,  /* 9.8 */
    WIRE_DHCP_OPT_MESSAGE = 56,     /* 9.9 */
    WIRE_DHCP_OPT_MAX_SIZE = 57,    /* 9.10 */
    WIRE_DHCP_OPT_T1 = 58,          /* 9.11 */
    WIRE_DHCP_OPT_T2 = 59,          /* 9.12 */
    WIRE_DHCP_OPT_CLIENT_ID = 61,   /* 9.14 */
    WIRE_DHCP_OPT_END = 255,        /* 3.2 */
};

/* RFC 2132 5.1 and 9.10: the smallest legal MTU and maximum message size. */
#define WIRE_DHCP_MIN_MTU      68
#define WIRE_DHCP_MIN_MAX_SIZE 576
/* Addresses kept from the router and DNS server lists (the rest are
 * counted in *_total but dropped: a client uses the first few). */
#define WIRE_DHCP_MAX_ADDRS 4
/* Longest text, parameter list or client identifier kept. */
#define WIRE_DHCP_MAX_TEXT 255

/* Overload values (RFC 2132 9.3). */
#define WIRE_DHCP_OVERLOAD_FILE  1
#define WIRE_DHCP_OVERLOAD_SNAME 2

struct wire_dhcp_opts {
    uint8_t msg_type; /* 53; 0 when absent (a BOOTP message) */
    uint8_t overload; /* 52; 0 when absent, else 1-3 */
    bool has_subnet_mask, has_mtu, has_requested, has_lease_time, has_server_id;
    bool has_max_size, has_t1, has_t2;
    uint32_t subnet_mask;                  /* 1 */
    uint16_t mtu;                          /* 26, >= 68 */
    uint32_t requested;                    /* 50 */
    uint32_t lease_time;                   /* 51, seconds; 0xffffffff is infinite */
    uint32_t server_id;                    /* 54 */
    uint16_t max_size;                     /* 57, >= 576 */
    uint32_t t1, t2;                       /* 58, 59, seconds */
    uint32_t routers[WIRE_DHCP_MAX_ADDRS]; /* 3, in the server's order */
    size_t n_routers, routers_total;       /* kept; in the option */
    uint32_t dns[WIRE_DHCP_MAX_ADDRS];     /* 6 */
    size_t n_dns, dns_total;
    char domain[WIRE_DHCP_MAX_TEXT + 1]; /* 15, NUL-terminated; "" when absent */
    size_t domain_len;
    char message[WIRE_DHCP_MAX_TEXT + 1]; /* 56, NUL-terminated, maybe cut */
    size_t message_len;
    uint8_t param_list[WIRE_DHCP_MAX_TEXT]; /* 55 */
    size_t param_list_len;
    uint8_t client_id[WIRE_DHCP_MAX_TEXT]; /* 61 */
    size_t client_id_len;
};

struct wire_dhcp {
    uint8_t op, htype, hlen, hops; /* hlen <= 16 */
    uint32_t xid;
    uint16_t secs, flags;
    uint32_t ciaddr, yiaddr, siaddr, giaddr; /* host order */
    uint8_t chaddr[WIRE_DHCP_CHADDR_LEN];    /* all 16 bytes as sent */
    /* Point into the buffer; hold a server name and boot file name only
     * when the overload option does not claim them. */
    const uint8_t *sname, *file;
    struct wire_dhcp_opts opts;
};

/*
 * Parses the DHCP message at buf (a UDP payload, len bytes). Checks, in
 * order: len >= 240 (WIRE_ERR_DHCP_TRUNCATED); op is 1 or 2
 * (WIRE_ERR_DHCP_OP); hlen <= 16 (WIRE_ERR_DHCP_HLEN); the magic cookie
 * (WIRE_ERR_DHCP_COOKIE); then the options field, 'file' and 'sname' in
 * that order (RFC 2131 4.1), each option framed inside its field
 * (WIRE_ERR_DHCP_OPT_TRUNCATED) and each field ending with End
 * (WIRE_ERR_DHCP_NO_END); the overload value (WIRE_ERR_DHCP_OVERLOAD);
 * then the lengths of the decoded options (WIRE_ERR_DHCP_OPT_BADLEN). See
 * the top of this file for what is decoded and how. On error *out is
 * partly written and means nothing.
 */
enum wire_err wire_dhcp_parse(const uint8_t *buf, size_t len, struct wire_dhcp *out);

/*
 * What a client sends. Zero means absent for addresses, max_size and the
 * byte strings (NULL or length 0).
 */
struct wire_dhcp_client_msg {
    enum wire_dhcp_msg type; /* DISCOVER, REQUEST, DECLINE, RELEASE or INFORM */
    uint32_t xid;
    uint16_t secs;  /* sent as 0 in DECLINE and RELEASE (table 5) */
    bool broadcast; /* the B flag; never set in DECLINE and RELEASE (table 5) */
    uint8_t htype, hlen;
    const uint8_t *chaddr; /* hlen bytes */
    uint32_t ciaddr;       /* RENEWING/REBINDING REQUEST, RELEASE, INFORM */
    uint32_t requested;    /* option 50 */
    uint32_t server_id;    /* option 54 */
    const uint8_t *param_list;
    size_t param_list_len; /* option 55, 1-255 bytes */
    const uint8_t *client_id;
    size_t client_id_len; /* option 61, 2-255 bytes */
    uint16_t max_size;    /* option 57, >= 576 */
    const char *message;
    size_t message_len; /* option 56, 1-255 bytes, DECLINE and RELEASE only */
};

/*
 * Bytes wire_dhcp_emit_client writes for m: the fixed part, cookie,
 * options and End, padded to WIRE_DHCP_CLIENT_MIN_LEN.
 */
size_t wire_dhcp_client_len(const struct wire_dhcp_client_msg *m);

/*
 * Writes m into buf (cap bytes) as a BOOTREQUEST with hops, yiaddr, siaddr,
 * giaddr, sname and file zero. Returns the length written, or 0 without a
 * promise about buf's contents when cap is too small or m breaks RFC 2131
 * table 5 / 4.3.2 (checked before writing):
 *   DISCOVER: ciaddr 0, no server id (requested address optional).
 *   REQUEST:  with a server id (SELECTING): requested set, ciaddr 0;
 *             without: exactly one of requested (INIT-REBOOT) and ciaddr
 *             (RENEWING, REBINDING).
 *   DECLINE:  requested and server id set, ciaddr 0, no 55 or 57.
 *   RELEASE:  ciaddr and server id set, no requested, no 55 or 57.
 *   INFORM:   ciaddr set, no requested, no server id.
 *   message only in DECLINE and RELEASE; hlen <= 16 with chaddr given;
 *   option lengths as above; max_size 0 or >= 576.
 */
size_t wire_dhcp_emit_client(const struct wire_dhcp_client_msg *m, uint8_t *buf, size_t cap);

/*
 * Whether reply (parsed) answers a request of type sent with this xid and
 * client hardware address (RFC 2131 4.3.1 table 3, 4.4.1). Checks, in
 * order: op is BOOTREPLY (WIRE_ERR_DHCP_NOT_REPLY); xid
 * (WIRE_ERR_DHCP_XID); htype, hlen and the first hlen bytes of chaddr
 * (WIRE_ERR_DHCP_CHADDR); the message type is one that answers sent: OFFER
 * for DISCOVER, ACK or NAK for REQUEST, ACK for INFORM, none for DECLINE
 * and RELEASE (WIRE_ERR_DHCP_MSG_TYPE); a server identifier
 * (WIRE_ERR_DHCP_NO_SERVER_ID); a lease time in an OFFER and in an ACK to
 * a REQUEST (WIRE_ERR_DHCP_NO_LEASE).
 */
enum wire_err wire_dhcp_check_reply(const struct wire_dhcp *reply, enum wire_dhcp_msg sent,
                                    uint32_t xid, uint8_t htype, uint8_t hlen,
                                    const uint8_t *chaddr);

#endif
