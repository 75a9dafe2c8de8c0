/*
 * tests/unit/test_tun_config.c: the TUN/TAP driver refuses a bad
 * configuration before any system call (so without root, and without
 * touching any device), with TERN_ERR_INVAL, errno 0 (the tool's cue for a
 * usage error, exit 2) and one line of text. Opening real devices is covered
 * by tests/shell/test_interop_tun.sh, inside network namespaces.
 */
#include "tern/tun.h"

#include <errno.h>
#include <string.h>

#include "check.h"

static struct tern_tun_config
good(void)
{
    return (struct tern_tun_config){.dev = "tern0", .mtu = 1500};
}

/* Opens cfg expecting a config error whose text contains `want`. */
static void
expect_inval(const struct tern_tun_config *cfg, const char *want)
{
    struct tern_tun *t = (struct tern_tun *)&t; /* must be reset to NULL */
    char err[128] = "unchanged";
    errno = EBADF;
    CHECK_EQ(tern_tun_open(cfg, &t, err, sizeof(err)), TERN_ERR_INVAL);
    CHECK(t == NULL);
    CHECK_EQ(errno, 0);
    CHECK(strstr(err, want) != NULL);
    CHECK(strchr(err, '\n') == NULL);
}

static void
test_bad_names(void)
{
    struct tern_tun_config c = good();
    c.dev = "";
    expect_inval(&c, "device name");
    c.dev = "a-name-of-16-byt";
    expect_inval(&c, "device name");
    c.dev = "../tun";
    expect_inval(&c, "'/'");
    c.dev = NULL;
    expect_inval(&c, "device name");
}

static void
test_bad_numbers(void)
{
    struct tern_tun_config c = good();
    c.mtu = 67; /* RFC 791: every host must take 68-byte datagrams */
    expect_inval(&c, "MTU");
    c = good();
    c.linux_prefix_len = 33;
    expect_inval(&c, "prefix");
    c = good();
    c.impair.drop_pct = 100.5;
    expect_inval(&c, "percentages");
    c = good();
    c.impair.reorder_pct = -1;
    expect_inval(&c, "percentages");
    c = good();
    c.impair.delay_ns = -1;
    expect_inval(&c, "delays");
}

static void
test_null_args(void)
{
    struct tern_tun_config c = good();
    CHECK_EQ(tern_tun_open(&c, NULL, NULL, 0), TERN_ERR_INVAL);
    struct tern_tun *t = NULL;
    CHECK_EQ(tern_tun_open(NULL, &t, NULL, 0), TERN_ERR_INVAL);
    c.mtu = 10;
    CHECK_EQ(tern_tun_open(&c, &t, NULL, 0), TERN_ERR_INVAL); /* NULL err is fine */
    CHECK_EQ(tern_tun_close(NULL), TERN_OK);
}

static void
test_clock(void)
{
    int64_t a = tern_tun_now_ns();
    int64_t b = tern_tun_now_ns();
    CHECK(a > 0);
    CHECK(b >= a);
}

int
main(void)
{
    RUN(test_bad_names);
    RUN(test_bad_numbers);
    RUN(test_null_args);
    RUN(test_clock);
    return CHECK_DONE();
}
