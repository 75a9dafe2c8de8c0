/*
 * src/api/registry.c: the map from file descriptor to runtime.
 *
 * Linux's calls name a socket by its fd alone (tern_read(fd, ...) has
 * nothing else to go on) and fd numbers are process-wide, so the library
 * keeps one process-wide map, the only mutable state it has: fd -> the
 * runtime whose socket holds that number, or the tern_epoll instance. It
 * says no more than that. Which socket a number is within its runtime is
 * the runtime's own table (rt->by_fd, sock.c), kept under the runtime's
 * lock, so runtimes share nothing but this map: freeing one clears only the
 * entries that still name it, and a runtime whose number another one took
 * (after a libc close()) is only flagged, to look at its sockets itself. The map is an array
 * indexed by fd, grown on demand (on socket creation, never on the data path), behind a mutex of
 * its own that is never held while taking a runtime's. The default runtime
 * of tern_socket() lives here too, for the same reason: tern_socket() has
 * no argument to find it by.
 */
#define _GNU_SOURCE
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"

static pthread_mutex_t reg_mu = PTHREAD_MUTEX_INITIALIZER;
static struct reg_entry *reg_tab;
static int reg_cap;
static struct tern_rt *reg_default_rt;
static int reg_default_host;

int
reg_set(int fd, const struct reg_entry *e, struct reg_entry *old)
{
    if (fd < 0) {
        return -1;
    }
    pthread_mutex_lock(&reg_mu);
    if (fd >= reg_cap) {
        int cap = reg_cap ? reg_cap : 256;
        while (cap <= fd && cap <= INT_MAX / 2) {
            cap *= 2;
        }
        if (cap <= fd) {
            cap = fd + 1; /* no doubling past INT_MAX */
        }
        struct reg_entry *t = realloc(reg_tab, (size_t)cap * sizeof(*t));
        if (t == NULL) {
            pthread_mutex_unlock(&reg_mu);
            return -1;
        }
        memset(t + reg_cap, 0, (size_t)(cap - reg_cap) * sizeof(*t));
        reg_tab = t;
        reg_cap = cap;
    }
    /* An epoll instance still registered here had its fd closed with
     * libc's close() (the kernel handed the number out again): free it. */
    struct tern_epoll *stale =
        reg_tab[fd].kind == REG_EPOLL && reg_tab[fd].ep != e->ep ? reg_tab[fd].ep : NULL;
    if (old != NULL) {
        *old = reg_tab[fd];
    }
    if (reg_tab[fd].kind == REG_SOCK && reg_tab[fd].rt != e->rt) {
        /* The entry names that runtime, so it is not freed yet (freeing
         * clears its entries under this mutex first): it may be told. */
        atomic_store(&reg_tab[fd].rt->stale, true);
    }
    reg_tab[fd] = *e;
    pthread_mutex_unlock(&reg_mu);
    epoll_free(stale);
    return 0;
}

bool
reg_clear_epoll(int fd, const struct tern_epoll *ep)
{
    bool cleared = false;
    pthread_mutex_lock(&reg_mu);
    if (fd >= 0 && fd < reg_cap && reg_tab[fd].kind == REG_EPOLL && reg_tab[fd].ep == ep) {
        memset(&reg_tab[fd], 0, sizeof(reg_tab[fd]));
        cleared = true;
    }
    pthread_mutex_unlock(&reg_mu);
    return cleared;
}

void
reg_clear(int fd)
{
    pthread_mutex_lock(&reg_mu);
    if (fd >= 0 && fd < reg_cap) {
        memset(&reg_tab[fd], 0, sizeof(reg_tab[fd]));
    }
    pthread_mutex_unlock(&reg_mu);
}

void
reg_clear_rt(int fd, const struct tern_rt *rt)
{
    pthread_mutex_lock(&reg_mu);
    if (fd >= 0 && fd < reg_cap && reg_tab[fd].kind == REG_SOCK && reg_tab[fd].rt == rt) {
        memset(&reg_tab[fd], 0, sizeof(reg_tab[fd]));
    }
    pthread_mutex_unlock(&reg_mu);
}

struct reg_entry
reg_get(int fd)
{
    struct reg_entry e = {.kind = REG_NONE};
    pthread_mutex_lock(&reg_mu);
    if (fd >= 0 && fd < reg_cap) {
        e = reg_tab[fd];
    }
    pthread_mutex_unlock(&reg_mu);
    return e;
}

void
rt_registry_default(struct tern_rt **rt, int *host)
{
    pthread_mutex_lock(&reg_mu);
    *rt = reg_default_rt;
    *host = reg_default_host;
    pthread_mutex_unlock(&reg_mu);
}

void
rt_registry_set_default(struct tern_rt *rt, int host)
{
    pthread_mutex_lock(&reg_mu);
    reg_default_rt = rt;
    reg_default_host = host;
    pthread_mutex_unlock(&reg_mu);
}

bool
tern_is_socket(int fd)
{
    if (reg_get(fd).kind != REG_SOCK) {
        return false;
    }
    /* sock_lock also checks the fd is still the socket's (and forgets a
     * socket closed with libc's close()). */
    struct tern_sock *s = sock_lock(fd);
    if (s == NULL) {
        return false;
    }
    pthread_mutex_unlock(&s->rt->mu);
    return true;
}

void
rt_registry_adopt(struct tern_rt *rt)
{
    pthread_mutex_lock(&reg_mu);
    if (reg_default_rt == NULL) {
        reg_default_rt = rt;
        reg_default_host = 0;
    }
    pthread_mutex_unlock(&reg_mu);
}

void
rt_registry_forget(struct tern_rt *rt)
{
    pthread_mutex_lock(&reg_mu);
    if (reg_default_rt == rt) {
        reg_default_rt = NULL;
        reg_default_host = 0;
    }
    for (int fd = 0; fd < reg_cap; fd++) {
        if (reg_tab[fd].kind == REG_SOCK && reg_tab[fd].rt == rt) {
            memset(&reg_tab[fd], 0, sizeof(reg_tab[fd]));
        }
    }
    pthread_mutex_unlock(&reg_mu);
}
