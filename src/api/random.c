/*
 * src/api/random.c: tern_random_seed, a secret seed from the operating
 * system (include/tern/stack.h).
 *
 * The stack itself never calls the OS, so it cannot pick its own secret:
 * whoever creates a stack draws one here (the runtimes of tern/socket.h do
 * it for a config that has none). RFC 6528 3 asks that the ISN function's
 * key be unguessable from outside; the clock or the process id is not.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "tern/stack.h"

/* Fills buf from /dev/urandom, for kernels without getrandom(2). */
static int
read_urandom(uint8_t *buf, size_t len)
{
    int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return -1;
    }
    size_t got = 0;
    while (got < len) {
        ssize_t n = read(fd, buf + got, len - got);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            int e = n == 0 ? EIO : errno;
            close(fd);
            errno = e;
            return -1;
        }
        got += (size_t)n;
    }
    close(fd);
    return 0;
}

/* Fills buf with len bytes from the kernel's random source. getrandom may
 * return fewer bytes than asked or fail with EINTR before the pool is
 * initialised: both just loop. */
static int
os_random(uint8_t *buf, size_t len)
{
    size_t got = 0;
    while (got < len) {
        ssize_t n = getrandom(buf + got, len - got, 0);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0 && errno == ENOSYS) {
            return read_urandom(buf + got, len - got);
        }
        if (n <= 0) {
            if (n == 0) {
                errno = EIO;
            }
            return -1;
        }
        got += (size_t)n;
    }
    return 0;
}

int
tern_random_seed(uint64_t *out)
{
    if (out == NULL) {
        return TERN_ERR_INVAL;
    }
    /* 0 is the "no secret" value tern_stack_new refuses: draw again (a 2^-64
     * event, so this loop runs once). */
    uint64_t v = 0;
    while (v == 0) {
        uint8_t b[sizeof(v)];
        if (os_random(b, sizeof(b)) != 0) {
            return TERN_ERR_NOSECRET;
        }
        memcpy(&v, b, sizeof(v));
    }
    *out = v;
    return TERN_OK;
}
