/*
 * bench/bench_checksum.c: throughput of wire_csum() against the plain
 * 16-bits-at-a-time loop of RFC 1071 4.1, measured in the same run over the
 * same buffers.
 *
 * Built by `make bench` (build/bench/bench_checksum [runs]), or by hand:
 *   cc -std=c11 -O2 -I src bench/bench_checksum.c src/wire/checksum.c -o bench_checksum
 *   ./bench_checksum [runs]
 *
 * For each buffer size it checksums about BYTES_PER_RUN bytes per run, takes
 * the median of the runs (default 9) for each implementation, and prints
 * MB/s (10^6 bytes per second) and the ratio wire / naive. Both checksums
 * are checked to agree before timing.
 */
#ifndef _POSIX_C_SOURCE /* the CMake build defines it for every file */
#define _POSIX_C_SOURCE 199309L
#endif

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "wire/checksum.h"

#define BYTES_PER_RUN ((size_t)256 << 20)
#define MAX_RUNS      31

/* RFC 1071 4.1 in its plainest form: one big-endian 16-bit word per step. */
static uint16_t
naive_csum(const void *data, size_t len)
{
    const uint8_t *p = data;
    uint64_t sum = 0; /* wide enough that no carry is lost before the fold */
    while (len > 1) {
        sum += (uint32_t)p[0] << 8 | p[1];
        p += 2;
        len -= 2;
    }
    if (len > 0) {
        sum += (uint32_t)p[0] << 8;
    }
    while (sum >> 16) {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    return (uint16_t)~sum;
}

static double
now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int
cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Keeps the compiler from dropping the checksum calls. */
static volatile uint16_t sink;

typedef uint16_t (*csum_fn)(const void *, size_t);

/* Median MB/s of `runs` runs of fn over buffers of `size` bytes. Each call
 * starts at a different offset of `buf` so the data is not always aligned
 * and not always the same cache lines. */
static double
measure(csum_fn fn, const uint8_t *buf, size_t buf_len, size_t size, int runs)
{
    double mbps[MAX_RUNS];
    size_t calls = BYTES_PER_RUN / size;
    if (calls == 0) {
        calls = 1;
    }
    size_t span = buf_len - size;
    for (int r = 0; r < runs; r++) {
        uint16_t acc = 0;
        double t0 = now_s();
        size_t off = 0;
        for (size_t i = 0; i < calls; i++) {
            acc ^= fn(buf + off, size);
            off += 4099;
            if (off > span) {
                off -= span;
            }
        }
        double t = now_s() - t0;
        sink = acc;
        mbps[r] = (double)(calls * size) / t / 1e6;
    }
    qsort(mbps, (size_t)runs, sizeof mbps[0], cmp_double);
    return mbps[runs / 2];
}

int
main(int argc, char **argv)
{
    int runs = argc > 1 ? atoi(argv[1]) : 9;
    if (runs < 1 || runs > MAX_RUNS) {
        fprintf(stderr, "usage: %s [runs 1..%d]\n", argv[0], MAX_RUNS);
        return 2;
    }
    static const size_t sizes[] = {20, 40, 64, 576, 1500, 9000, 65535, 1 << 20};
    size_t buf_len = ((size_t)1 << 20) + 65536;
    uint8_t *buf = malloc(buf_len);
    if (!buf) {
        return 1;
    }
    uint32_t x = 2463534242u;
    for (size_t i = 0; i < buf_len; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        buf[i] = (uint8_t)x;
    }
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        for (size_t off = 0; off < 8; off++) {
            if (wire_csum(buf + off, sizes[i]) != naive_csum(buf + off, sizes[i])) {
                fprintf(stderr, "checksums disagree at size %zu offset %zu\n", sizes[i], off);
                return 1;
            }
        }
    }

    printf("checksum throughput, median of %d runs of %zu MB each\n", runs, BYTES_PER_RUN >> 20);
    printf("%10s %14s %14s %8s\n", "bytes", "naive MB/s", "wire MB/s", "ratio");
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        double naive = measure(naive_csum, buf, buf_len, sizes[i], runs);
        double fast = measure(wire_csum, buf, buf_len, sizes[i], runs);
        printf("%10zu %14.0f %14.0f %7.2fx\n", sizes[i], naive, fast, fast / naive);
    }
    free(buf);
    return 0;
}
