/*
 * src/core/netif.c: the interfaces' broadcast addresses (core/netif.h).
 *
 * Read first: RFC 1122 3.3.6.
 */
#include "core/netif.h"

/* RFC 1122 3.3.6: the subnet-directed forms, host part all ones or (the
 * old 4.2BSD form a host SHOULD accept) all zeros. /31 and /32 have no host
 * part to spare (RFC 3021), so no directed broadcast. Choice: the classful
 * "network" and "all-subnets" forms are not recognised: with CIDR the
 * classful network number no longer means anything. */
static bool
is_subnet_broadcast(const struct tern_netif_config *n, uint32_t addr)
{
    if (n->prefix_len > 30) {
        return false;
    }
    uint32_t mask = n->prefix_len == 0 ? 0 : ~0u << (32 - n->prefix_len);
    if ((addr & mask) != (n->addr & mask)) {
        return false;
    }
    uint32_t host = addr & ~mask;
    return host == ~mask || host == 0;
}

bool
netif_addr_is_broadcast(const struct tern_config *cfg, int netif, uint32_t addr)
{
    /* RFC 1122 3.2.1.3 (c) limited broadcast, and its 0 form {0,0}. */
    if (addr == 0xffffffffu || addr == 0) {
        return true;
    }
    for (unsigned i = 0; i < cfg->n_netifs; i++) {
        if ((netif < 0 || (unsigned)netif == i) && is_subnet_broadcast(&cfg->netifs[i], addr)) {
            return true;
        }
    }
    return false;
}
