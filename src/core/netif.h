/*
 * src/core/netif.h: questions about the configured interfaces' IPv4
 * addresses that more than one layer asks (link maps IP broadcasts to the
 * link broadcast and refuses them as ARP senders; ip accepts and refuses
 * them). The answers depend only on the configuration (tern_config.netifs),
 * which the core context holds. Never installed.
 *
 * Read first: RFC 1122 3.2.1.3 and 3.3.6 (broadcast forms), RFC 3021 (/31).
 */
#ifndef TERN_CORE_NETIF_H
#define TERN_CORE_NETIF_H

#include <stdbool.h>
#include <stdint.h>

#include "tern/stack.h"

/* True when addr is a broadcast address for interface `netif` of `cfg`
 * (RFC 1122 3.3.6): limited broadcast, {0,0}, or the subnet's host part all
 * ones or all zeros; netif -1 asks about every interface. */
bool netif_addr_is_broadcast(const struct tern_config *cfg, int netif, uint32_t addr);

#endif
