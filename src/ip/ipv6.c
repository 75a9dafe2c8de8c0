/*
 * src/ip/ipv6.c: the IPv6 layer (RFC 8200). Until it lands the stack has
 * no IPv6 address and no IPv6 route: sending refuses, nothing is ours.
 */
#include "ip/ip.h"

int
ipv6_output(struct tern_stack *st, const struct ip_tx *s, const struct ip_part *parts,
            size_t n_parts)
{
    (void)st, (void)s, (void)parts, (void)n_parts;
    return TERN_ERR_NOROUTE;
}

int
ipv6_route_src(const struct tern_stack *st, struct tern_ip dst, struct tern_ip *src, uint32_t *mtu)
{
    (void)st, (void)dst, (void)src, (void)mtu;
    return -1;
}

bool
ipv6_is_ours(const struct tern_stack *st, struct tern_ip a)
{
    (void)st, (void)a;
    return false;
}

void
icmpv6_send_port_unreach(struct tern_stack *st, const struct ip_rx *rx)
{
    (void)st, (void)rx;
}
