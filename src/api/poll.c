/*
 * src/api/poll.c: tern_poll and the tern_epoll trio.
 *
 * Both sleep in the kernel, on the sockets' mirror fds (see sock.c) beside
 * any kernel fds the caller mixes in, and then report for each tern socket
 * the mask Linux's tcp_poll() would give, computed from the socket itself;
 * the mirror only has to wake them. A wake-up that turns out to carry no
 * event the caller asked for (another thread took the data) sends them back
 * to sleep for what is left of the timeout.
 *
 * An epoll instance is a real kernel epoll fd, so it can itself be nested
 * in another loop. Its registrations are kept here too (by fd), so that
 * tern_epoll_wait can hand back the caller's epoll_data and the exact mask.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "api/api.h"

struct ep_reg {
    bool used;
    bool tern;
    uint32_t events;
    epoll_data_t data;
};

struct tern_epoll {
    pthread_mutex_t mu;
    struct ep_reg *regs; /* indexed by fd */
    int cap;
    dev_t dev; /* identity of its fd (fstat), checked on each call */
    ino_t ino;
};

static int64_t
mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* What to wait for on a tern socket's mirror fd for these requested bits. */
static short
mirror_events(short ev)
{
    short k = 0;
    if (ev & (POLLIN | POLLRDNORM | POLLRDHUP | POLLPRI)) {
        k |= POLLIN;
    }
    if (ev & (POLLOUT | POLLWRNORM)) {
        k |= POLLOUT;
    }
    return k;
}

/* The exact mask of tern socket `fd` restricted to `want` (+ERR, HUP), or
 * -1 if it is no longer a tern socket. */
static int
tern_revents(int fd, unsigned want)
{
    struct tern_sock *s = sock_lock(fd);
    if (s == NULL) {
        return -1;
    }
    unsigned m = (unsigned)(unsigned short)sock_mask(s);
    pthread_mutex_unlock(&s->rt->mu);
    return (int)(m & (want | POLLERR | POLLHUP));
}

static int
remaining_ms(int timeout_ms, int64_t start)
{
    if (timeout_ms < 0) {
        return -1;
    }
    int64_t left = (int64_t)timeout_ms - (mono_ms() - start);
    return left < 0 ? 0 : (int)left;
}

int
tern_poll(struct pollfd *fds, nfds_t nfds, int timeout_ms)
{
    /* Linux's order (do_sys_poll): more entries than the process may have
     * files is EINVAL before the array is read (so a count that overstates
     * the array is never followed), then a NULL array EFAULT. */
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY && nfds > rl.rlim_cur) {
        errno = EINVAL;
        return -1;
    }
    if (nfds > 0 && fds == NULL) {
        errno = EFAULT;
        return -1;
    }
    /* The caller's events are kept in a small stack buffer while the array
     * carries the mirror's; larger sets borrow the heap for the call. */
    short keep_small[64];
    short *keep = nfds <= 64 ? keep_small : malloc(nfds * sizeof(*keep));
    if (keep == NULL) {
        errno = ENOMEM;
        return -1;
    }
    bool any_tern = false;
    for (nfds_t i = 0; i < nfds; i++) {
        keep[i] = fds[i].events;
        if (fds[i].fd >= 0 && tern_is_socket(fds[i].fd)) {
            any_tern = true;
        }
    }
    if (!any_tern) {
        if (keep != keep_small) {
            free(keep);
        }
        return poll(fds, nfds, timeout_ms);
    }
    int64_t start = mono_ms();
    int wait = 0; /* the first round only looks */
    int count;
    /* A tern socket polled for neither input nor output (only POLLERR and
     * POLLHUP, which are always reported) has no mirror bit to wait on
     * without waking for data it was not asked about: such a set is looked
     * at again every 10 ms instead. */
    bool slices = false;
    for (nfds_t i = 0; i < nfds; i++) {
        if (fds[i].fd >= 0 && tern_is_socket(fds[i].fd) && mirror_events(keep[i]) == 0) {
            slices = true;
        }
    }
    for (;;) {
        for (nfds_t i = 0; i < nfds; i++) {
            fds[i].events =
                (fds[i].fd >= 0 && tern_is_socket(fds[i].fd)) ? mirror_events(keep[i]) : keep[i];
        }
        count = poll(fds, nfds, slices && (wait < 0 || wait > 10) ? 10 : wait);
        if (count < 0) {
            break;
        }
        int woke = count;
        count = 0;
        for (nfds_t i = 0; i < nfds; i++) {
            if (fds[i].fd >= 0 && tern_is_socket(fds[i].fd)) {
                int m = tern_revents(fds[i].fd, (unsigned short)keep[i]);
                fds[i].revents = (short)(m < 0 ? POLLNVAL : m);
            }
            if (fds[i].revents != 0) {
                count++;
            }
        }
        if (count > 0 || timeout_ms == 0) {
            break;
        }
        wait = remaining_ms(timeout_ms, start);
        if (wait == 0) {
            break;
        }
        if (woke > 0) {
            /* A mirror is readable for a state not asked about (POLLPRI
             * alone, urgent data, when only POLLIN was asked): it stays
             * readable, so look again in 10 ms slices instead of spinning. */
            (void)poll(NULL, 0, wait < 0 || wait > 10 ? 10 : wait);
            wait = remaining_ms(timeout_ms, start);
            if (wait == 0) {
                break;
            }
        }
    }
    int e = errno;
    for (nfds_t i = 0; i < nfds; i++) {
        fds[i].events = keep[i];
    }
    if (keep != keep_small) {
        free(keep);
    }
    errno = e;
    return count;
}

/* ---- epoll ---- */

int
tern_epoll_create1(int flags)
{
    int fd = epoll_create1(flags);
    if (fd < 0) {
        return -1;
    }
    struct tern_epoll *ep = calloc(1, sizeof(*ep));
    if (ep == NULL || pthread_mutex_init(&ep->mu, NULL) != 0) {
        free(ep);
        close(fd);
        errno = ENOMEM;
        return -1;
    }
    (void)fd_identity(fd, &ep->dev, &ep->ino);
    struct reg_entry e = {.kind = REG_EPOLL, .ep = ep};
    if (reg_set(fd, &e, NULL) != 0) {
        epoll_free(ep);
        close(fd);
        errno = ENOMEM;
        return -1;
    }
    return fd;
}

int
tern_epoll_create(int size)
{
    if (size <= 0) {
        errno = EINVAL;
        return -1;
    }
    return tern_epoll_create1(0);
}

void
epoll_free(struct tern_epoll *ep)
{
    if (ep == NULL) {
        return;
    }
    pthread_mutex_destroy(&ep->mu);
    free(ep->regs);
    free(ep);
}

static struct tern_epoll *
ep_get(int epfd)
{
    struct reg_entry e = reg_get(epfd);
    if (e.kind != REG_EPOLL) {
        return NULL;
    }
    dev_t dev;
    ino_t ino;
    if (!fd_identity(epfd, &dev, &ino) || dev != e.ep->dev || ino != e.ep->ino) {
        /* Closed with libc's close() (and perhaps the number reused): the
         * instance is gone; the number is the kernel's again. */
        if (reg_clear_epoll(epfd, e.ep)) {
            epoll_free(e.ep);
        }
        return NULL;
    }
    return e.ep;
}

int
tern_epoll_ctl(int epfd, int op, int fd, struct epoll_event *ev)
{
    struct tern_epoll *ep = ep_get(epfd);
    if (ep == NULL) {
        return epoll_ctl(epfd, op, fd, ev); /* a kernel epoll, or a bad fd */
    }
    if (op != EPOLL_CTL_DEL && ev == NULL) {
        errno = EFAULT;
        return -1;
    }
    if (fd < 0 || fcntl(fd, F_GETFD) < 0) {
        /* Linux: a fd that names no open file is EBADF, judged before any
         * bookkeeping (a number beyond every open file must not size the
         * registration table). */
        errno = EBADF;
        return -1;
    }
    bool tern = tern_is_socket(fd);
    struct epoll_event kev = {0};
    if (op != EPOLL_CTL_DEL) {
        kev.events = ev->events;
        if (tern) {
            uint32_t flags = ev->events & (EPOLLET | EPOLLONESHOT | EPOLLEXCLUSIVE | EPOLLWAKEUP);
            uint32_t want = (uint32_t)(unsigned short)mirror_events((short)ev->events);
            if (want == 0) {
                /* Only EPOLLERR / EPOLLHUP wanted: they show as input on the
                 * mirror; edge-triggered, so data alone does not spin the
                 * wait (every close of the connection writes a new edge). */
                want = EPOLLIN | EPOLLET;
            }
            kev.events = flags | want;
        }
        kev.data.u64 = (uint64_t)fd;
    }
    pthread_mutex_lock(&ep->mu);
    if (fd >= ep->cap && op != EPOLL_CTL_DEL) {
        int cap = ep->cap ? ep->cap : 64;
        while (cap <= fd && cap <= INT_MAX / 2) {
            cap *= 2;
        }
        if (cap <= fd) {
            cap = fd + 1; /* no doubling past INT_MAX */
        }
        struct ep_reg *r = realloc(ep->regs, (size_t)cap * sizeof(*r));
        if (r == NULL) {
            pthread_mutex_unlock(&ep->mu);
            errno = ENOMEM;
            return -1;
        }
        memset(r + ep->cap, 0, (size_t)(cap - ep->cap) * sizeof(*r));
        ep->regs = r;
        ep->cap = cap;
    }
    /* The kernel decides EEXIST / ENOENT / EBADF / EPERM; a registration of
     * a fd closed since (the kernel forgot it) is simply replaced. */
    int r = epoll_ctl(epfd, op, fd, op == EPOLL_CTL_DEL ? NULL : &kev);
    if (r == 0) {
        if (op == EPOLL_CTL_DEL) {
            if (fd < ep->cap) {
                ep->regs[fd].used = false;
            }
        } else {
            ep->regs[fd] =
                (struct ep_reg){.used = true, .tern = tern, .events = ev->events, .data = ev->data};
        }
    }
    int e = errno;
    pthread_mutex_unlock(&ep->mu);
    errno = e;
    if (r == 0 && tern) {
        struct tern_sock *s = sock_lock(fd); /* make the mirror current */
        if (s != NULL) {
            sock_unlock(s);
        }
    }
    return r;
}

int
tern_epoll_wait(int epfd, struct epoll_event *events, int maxevents, int timeout_ms)
{
    struct tern_epoll *ep = ep_get(epfd);
    if (ep == NULL) {
        return epoll_wait(epfd, events, maxevents, timeout_ms);
    }
    int64_t start = mono_ms();
    int wait = timeout_ms;
    for (;;) {
        int n = epoll_wait(epfd, events, maxevents, wait);
        if (n <= 0) {
            return n;
        }
        int out = 0;
        for (int i = 0; i < n; i++) {
            int fd = (int)events[i].data.u64;
            pthread_mutex_lock(&ep->mu);
            struct ep_reg reg = fd >= 0 && fd < ep->cap ? ep->regs[fd] : (struct ep_reg){0};
            pthread_mutex_unlock(&ep->mu);
            if (!reg.used) {
                continue;
            }
            uint32_t got = events[i].events;
            if (reg.tern) {
                int m = tern_revents(fd, reg.events & ~(uint32_t)(EPOLLET | EPOLLONESHOT));
                if (m <= 0) {
                    continue;
                }
                got = (uint32_t)m;
            }
            events[out].events = got;
            events[out].data = reg.data;
            out++;
        }
        if (out > 0 || timeout_ms == 0) {
            return out;
        }
        wait = remaining_ms(timeout_ms, start);
        if (wait == 0) {
            return 0;
        }
        /* Only mirrors readable for states not asked about (see tern_poll):
         * look again in 10 ms slices rather than spin. */
        (void)poll(NULL, 0, wait < 0 || wait > 10 ? 10 : wait);
        wait = remaining_ms(timeout_ms, start);
        if (wait == 0) {
            return 0;
        }
    }
}
