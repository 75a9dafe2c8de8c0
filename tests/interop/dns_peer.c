/*
 * tests/interop/dns_peer.c: the tern side of test_interop_dns.sh.
 * tern_getaddrinfo over a TUN runtime against a DNS server (dnsmasq) in
 * the test's namespace.
 *
 *   dns_peer --dev D --addr A/N --dns S [--pcap F] [-4|-6] NAME...
 *
 * The device D must exist with the kernel's address on it (the test makes
 * it with ip(8)). For each NAME, one line on stdout:
 *   NAME ok CANON inet A.B.C.D ... inet6 X:Y::Z ...   (one entry per address)
 *   NAME error EAI_NAME text
 * -4 / -6 ask for AF_INET / AF_INET6 alone (default AF_UNSPEC: both).
 * Exit status 0 when every line was printed, 2 for a usage error.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tern/socket.h"
#include "tern/tun.h"

static const char *
eai_name(int e)
{
    switch (e) {
    case EAI_NONAME:
        return "EAI_NONAME";
    case EAI_NODATA:
        return "EAI_NODATA";
    case EAI_AGAIN:
        return "EAI_AGAIN";
    case EAI_FAIL:
        return "EAI_FAIL";
    case EAI_SYSTEM:
        return "EAI_SYSTEM";
    default:
        return "EAI_OTHER";
    }
}

static int
parse_cidr(const char *s, uint32_t *addr, uint8_t *plen)
{
    unsigned a, b, c, d, p;
    char tail;
    if (sscanf(s, "%u.%u.%u.%u/%u%c", &a, &b, &c, &d, &p, &tail) != 5 || a > 255 || b > 255 ||
        c > 255 || d > 255 || p < 1 || p > 32) {
        return -1;
    }
    *addr = TERN_IPV4(a, b, c, d);
    *plen = (uint8_t)p;
    return 0;
}

int
main(int argc, char **argv)
{
    const char *dev = NULL, *addr = NULL, *dns = NULL, *pcap = NULL;
    int family = AF_UNSPEC;
    int i = 1;
    while (i < argc && argv[i][0] == '-') {
        if (strcmp(argv[i], "-4") == 0 || strcmp(argv[i], "-6") == 0) {
            family = argv[i][1] == '4' ? AF_INET : AF_INET6;
            i++;
            continue;
        }
        if (i + 1 >= argc) {
            break;
        }
        if (strcmp(argv[i], "--dev") == 0) {
            dev = argv[i + 1];
        } else if (strcmp(argv[i], "--addr") == 0) {
            addr = argv[i + 1];
        } else if (strcmp(argv[i], "--dns") == 0) {
            dns = argv[i + 1];
        } else if (strcmp(argv[i], "--pcap") == 0) {
            pcap = argv[i + 1];
        } else {
            break;
        }
        i += 2;
    }
    struct tern_config cfg;
    tern_config_init(&cfg);
    struct in_addr server;
    if (dev == NULL || addr == NULL || dns == NULL || i >= argc ||
        parse_cidr(addr, &cfg.netifs[0].addr, &cfg.netifs[0].prefix_len) != 0 ||
        inet_pton(AF_INET, dns, &server) != 1) {
        fprintf(stderr, "usage: dns_peer --dev D --addr A/N --dns S [--pcap F] [-4|-6] NAME...\n");
        return 2;
    }
    struct tern_tun_config tc;
    memset(&tc, 0, sizeof tc);
    tc.dev = dev;
    tc.pcap_path = pcap;
    cfg.n_netifs = 1;
    struct tern_rt *rt = NULL;
    char err[256] = "";
    int r = tern_rt_start_tun(&tc, &cfg, &rt, err, sizeof err);
    if (r != TERN_OK) {
        fprintf(stderr, "tern_rt_start_tun: %s (%s)\n", tern_strerror(r), err);
        return 1;
    }
    tern_rt_set_default(rt, 0);
    uint32_t s = ntohl(server.s_addr);
    if (tern_rt_set_dns(rt, 0, &s, 1) != 0) {
        perror("tern_rt_set_dns");
        tern_rt_free(rt);
        return 1;
    }
    for (; i < argc; i++) {
        struct addrinfo hints = {
            .ai_family = family, .ai_socktype = SOCK_STREAM, .ai_flags = AI_CANONNAME};
        struct addrinfo *res = NULL;
        int e = tern_getaddrinfo(argv[i], "80", &hints, &res);
        if (e != 0) {
            printf("%s error %s %s\n", argv[i], eai_name(e), gai_strerror(e));
            continue;
        }
        printf("%s ok %s", argv[i], res->ai_canonname);
        for (struct addrinfo *p = res; p != NULL; p = p->ai_next) {
            char text[INET6_ADDRSTRLEN];
            const void *a = p->ai_family == AF_INET
                                ? (const void *)&((struct sockaddr_in *)p->ai_addr)->sin_addr
                                : (const void *)&((struct sockaddr_in6 *)p->ai_addr)->sin6_addr;
            inet_ntop(p->ai_family, a, text, sizeof(text));
            printf(" %s %s", p->ai_family == AF_INET ? "inet" : "inet6", text);
        }
        printf("\n");
        fflush(stdout);
        tern_freeaddrinfo(res);
    }
    tern_rt_free(rt);
    return 0;
}
