/*
 * drivers/pcap/pcap_writer.c: classic pcap files, nanosecond variant.
 *
 * Layout (all fields little-endian here): a 24-byte file header (magic,
 * version 2.4, zone 0, sigfigs 0, snaplen, link type), then per frame a
 * 16-byte record header (seconds, nanoseconds, captured length, original
 * length) followed by the captured bytes.
 */
#include "tern/pcap.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include "tern/stack.h"

struct tern_pcap {
    FILE *f;
    uint32_t snaplen;
    uint64_t records;
    bool failed; /* a write failed: refuse the rest, report at close */
};

static void
put_le32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

static void
put_le16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

int
tern_pcap_open(const char *path, uint32_t linktype, uint32_t snaplen, struct tern_pcap **out)
{
    if (out == NULL) {
        return TERN_ERR_INVAL;
    }
    *out = NULL;
    if (path == NULL || snaplen > TERN_PCAP_SNAPLEN_MAX) {
        return TERN_ERR_INVAL;
    }
    if (snaplen == 0) {
        snaplen = TERN_PCAP_SNAPLEN_MAX;
    }
    struct tern_pcap *p = calloc(1, sizeof(*p));
    if (p == NULL) {
        return TERN_ERR_NOMEM;
    }
    p->f = fopen(path, "wb");
    if (p->f == NULL) {
        free(p);
        return TERN_ERR_INVAL;
    }
    p->snaplen = snaplen;
    uint8_t hdr[TERN_PCAP_HEADER_LEN];
    put_le32(hdr, TERN_PCAP_MAGIC_NS);
    put_le16(hdr + 4, 2); /* version 2.4 */
    put_le16(hdr + 6, 4);
    put_le32(hdr + 8, 0);  /* this zone: UTC */
    put_le32(hdr + 12, 0); /* sigfigs */
    put_le32(hdr + 16, snaplen);
    put_le32(hdr + 20, linktype);
    if (fwrite(hdr, sizeof(hdr), 1, p->f) != 1) {
        fclose(p->f);
        free(p);
        return TERN_ERR_INVAL;
    }
    *out = p;
    return TERN_OK;
}

int
tern_pcap_write(struct tern_pcap *p, int64_t ts_ns, const uint8_t *data, size_t len)
{
    if (p == NULL || p->failed || ts_ns < 0 || (data == NULL && len != 0) || len > UINT32_MAX) {
        return TERN_ERR_INVAL;
    }
    /* The seconds field is 32 bits: past 2106 the capture cannot say. */
    if (ts_ns / 1000000000 > (int64_t)UINT32_MAX) {
        return TERN_ERR_INVAL;
    }
    uint32_t caplen = len > p->snaplen ? p->snaplen : (uint32_t)len;
    uint8_t rec[TERN_PCAP_RECORD_LEN];
    put_le32(rec, (uint32_t)(ts_ns / 1000000000));
    put_le32(rec + 4, (uint32_t)(ts_ns % 1000000000));
    put_le32(rec + 8, caplen);
    put_le32(rec + 12, (uint32_t)len);
    if (fwrite(rec, sizeof(rec), 1, p->f) != 1 ||
        (caplen > 0 && fwrite(data, caplen, 1, p->f) != 1)) {
        p->failed = true;
        return TERN_ERR_INVAL;
    }
    p->records++;
    return TERN_OK;
}

uint64_t
tern_pcap_records(const struct tern_pcap *p)
{
    return p == NULL ? 0 : p->records;
}

int
tern_pcap_close(struct tern_pcap *p)
{
    if (p == NULL) {
        return TERN_OK;
    }
    bool failed = p->failed;
    if (fclose(p->f) != 0) {
        failed = true;
    }
    free(p);
    return failed ? TERN_ERR_INVAL : TERN_OK;
}
