/*
 * drivers/tun/tun_rt.c: tern_rt_start_tun (include/tern/tun.h), a TUN or
 * TAP device and a stack composed under a socket runtime: the device, the
 * stack configured for it, and tern_rt_start() on tern_tun_driver(). The
 * runtime itself (src/api/rt.c) knows only struct tern_driver.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "tern/driver.h"
#include "tern/tun.h"

static void
say(char *err, size_t err_len, const char *what, const char *why)
{
    if (err != NULL && err_len > 0) {
        snprintf(err, err_len, "tern_rt_start_tun: %s%s", what, why);
    }
}

/* No MAC given on TAP: a locally administered unicast one (IEEE 802: bit 1
 * of the first octet set, bit 0 clear). A deterministic stack takes it
 * from the seed and address; a secret seed must not show on the wire (the
 * MAC would give away 40 of its bits), so the MAC is a draw of its own. */
static int
pick_mac(struct tern_config *c)
{
    uint64_t h = (c->seed + c->netifs[0].addr + 1) * 0x9e3779b97f4a7c15ULL;
    if (!c->deterministic && tern_random_seed(&h) != TERN_OK) {
        return TERN_ERR_NOSECRET;
    }
    c->netifs[0].mac[0] = 0x02;
    for (int i = 1; i < TERN_MAC_LEN; i++) {
        c->netifs[0].mac[i] = (uint8_t)(h >> (8 * i));
    }
    return TERN_OK;
}

int
tern_tun_driver_new(const struct tern_tun_config *tun, const struct tern_config *cfg,
                    struct tern_driver *out, char *err, size_t err_len)
{
    if (err != NULL && err_len > 0) {
        err[0] = '\0';
    }
    if (tun == NULL || cfg == NULL || out == NULL || cfg->n_netifs < 1) {
        say(err, err_len, "a TUN config and a stack config with one interface are required", "");
        return TERN_ERR_INVAL;
    }
    struct tern_config c = *cfg;
    /* No seed and no request for a fixed one: the stack's secret (ISNs,
     * ports, hash key) comes from the OS, as RFC 6528 3 wants. */
    if (c.seed == 0 && !c.deterministic && tern_random_seed(&c.seed) != TERN_OK) {
        say(err, err_len, "no secret seed: getrandom: ", strerror(errno));
        return TERN_ERR_NOSECRET;
    }
    static const uint8_t zero_mac[TERN_MAC_LEN];
    if (tun->tap && memcmp(c.netifs[0].mac, zero_mac, TERN_MAC_LEN) == 0 &&
        pick_mac(&c) != TERN_OK) {
        say(err, err_len, "no random MAC: getrandom: ", strerror(errno));
        return TERN_ERR_NOSECRET;
    }
    struct tern_tun *t;
    int r = tern_tun_open(tun, &t, err, err_len);
    if (r != TERN_OK) {
        return r;
    }
    c.netifs[0].transmit = tern_tun_transmit;
    c.netifs[0].transmit_ctx = t;
    c.netifs[0].link = tun->tap ? TERN_LINK_ETHERNET : TERN_LINK_RAW_IP;
    if (c.netifs[0].mtu == 0) {
        c.netifs[0].mtu = tern_tun_mtu(t);
    }
    struct tern_stack *st;
    r = tern_stack_new(&c, tern_tun_now_ns(), &st);
    if (r != TERN_OK) {
        say(err, err_len, "bad stack configuration: ", tern_strerror(r));
        (void)tern_tun_close(t);
        return r;
    }
    (void)tern_tun_driver(t, st, out); /* t and st are not NULL */
    return TERN_OK;
}

int
tern_rt_start_tun(const struct tern_tun_config *tun, const struct tern_config *cfg,
                  struct tern_rt **out, char *err, size_t err_len)
{
    if (out == NULL) {
        say(err, err_len, "no place for the runtime", "");
        return TERN_ERR_INVAL;
    }
    *out = NULL;
    struct tern_driver drv;
    int r = tern_tun_driver_new(tun, cfg, &drv, err, err_len);
    if (r != TERN_OK) {
        return r;
    }
    r = tern_rt_start(&drv, out); /* owns the device and the stack from here, even on failure */
    if (r != TERN_OK) {
        say(err, err_len, "cannot start the runtime: ", tern_strerror(r));
    }
    return r;
}
