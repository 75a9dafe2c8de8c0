/*
 * include/tern/addr.h: an IP address of either family.
 *
 * struct tern_ip holds sixteen bytes in network byte order. An IPv6 address
 * is itself; an IPv4 address is held IPv4-mapped, ::ffff:a.b.c.d (RFC 4291
 * 2.5.5.2), so one type, one comparison and one hash serve connection keys,
 * pseudo-headers and demultiplexing of both families. It is passed by value.
 *
 * The unspecified address :: (all zero) and its IPv4 form 0.0.0.0
 * (::ffff:0.0.0.0) both mean "any" where an API takes a local address; ::
 * also accepts IPv4 (a dual-stack wildcard) unless IPV6_V6ONLY says not to.
 */
#ifndef TERN_ADDR_H
#define TERN_ADDR_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

struct tern_ip {
    uint8_t b[16];
};

/* An IPv4 address given in host byte order, as TERN_IPV4() builds it. */
static inline struct tern_ip
tern_ip4(uint32_t a)
{
    struct tern_ip ip = {{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, (uint8_t)(a >> 24),
                          (uint8_t)(a >> 16), (uint8_t)(a >> 8), (uint8_t)a}};
    return ip;
}

/* An IPv6 address from its sixteen bytes (network order). */
static inline struct tern_ip
tern_ip6(const uint8_t b[16])
{
    struct tern_ip ip;
    memcpy(ip.b, b, 16);
    return ip;
}

/* True when `a` is an IPv4 address (IPv4-mapped). */
static inline bool
tern_ip_is4(struct tern_ip a)
{
    static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    return memcmp(a.b, mapped, 12) == 0;
}

/* The IPv4 address in host byte order; 0 when `a` is not IPv4. */
static inline uint32_t
tern_ip_v4(struct tern_ip a)
{
    if (!tern_ip_is4(a)) {
        return 0;
    }
    return (uint32_t)a.b[12] << 24 | (uint32_t)a.b[13] << 16 | (uint32_t)a.b[14] << 8 | a.b[15];
}

static inline bool
tern_ip_eq(struct tern_ip a, struct tern_ip b)
{
    return memcmp(a.b, b.b, 16) == 0;
}

/* True for :: and for 0.0.0.0: "any" as a local address. */
static inline bool
tern_ip_is_any(struct tern_ip a)
{
    static const uint8_t zero[16];
    return memcmp(a.b, zero, 16) == 0 || (tern_ip_is4(a) && tern_ip_v4(a) == 0);
}

/* True for :: only (the IPv6 unspecified address, RFC 4291 2.5.2). */
static inline bool
tern_ip_is_unspec6(struct tern_ip a)
{
    static const uint8_t zero[16];
    return memcmp(a.b, zero, 16) == 0;
}

/* The unspecified address of a's family: 0.0.0.0 for IPv4, else ::. */
static inline struct tern_ip
tern_ip_any_of(struct tern_ip a)
{
    struct tern_ip any6 = {{0}};
    return tern_ip_is4(a) ? tern_ip4(0) : any6;
}

/* Could local addresses a and b take the same packet? Equal, or one a
 * wildcard covering the other: :: covers both families, 0.0.0.0 IPv4. */
static inline bool
tern_ip_overlap(struct tern_ip a, struct tern_ip b)
{
    return tern_ip_eq(a, b) || tern_ip_is_unspec6(a) || tern_ip_is_unspec6(b) ||
           (tern_ip_is_any(a) && tern_ip_is4(b)) || (tern_ip_is_any(b) && tern_ip_is4(a));
}

#endif
