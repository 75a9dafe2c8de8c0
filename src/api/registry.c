/*
 * src/api/registry.c: the map from file descriptor to tern socket.
 *
 * This is the library's one piece of process-wide mutable state, and it is
 * there because Linux's calls name a socket by its fd alone and fd numbers
 * are process-wide: tern_read(fd, ...) has nothing else to go on. It is an
 * array indexed by fd, grown on demand (on socket creation, never on the
 * data path), behind a mutex of its own. The default runtime of
 * tern_socket() lives here for the same reason.
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
reg_set(int fd, const struct reg_entry *e)
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
    pthread_mutex_unlock(&reg_mu);
}
