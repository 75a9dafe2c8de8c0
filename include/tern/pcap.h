/*
 * include/tern/pcap.h: a writer of classic pcap capture files.
 *
 * Any driver (the simulator, later TUN/TAP) can record the frames it moves
 * with it. Files use the nanosecond-resolution variant of the format (magic
 * 0xa1b23c4d, version 2.4), written little-endian whatever the host, so that
 * the same capture gives the same bytes on every machine. Timestamps are
 * whatever clock the caller uses: the simulator passes its virtual time, so
 * its captures start at the epoch (1970-01-01 00:00:00).
 *
 * A writer owns its FILE and is not shared between threads.
 */
#ifndef TERN_PCAP_H
#define TERN_PCAP_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Link types (the "LINKTYPE_" registry of pcap/pcapng). */
enum {
    TERN_PCAP_LINKTYPE_ETHERNET = 1,
    TERN_PCAP_LINKTYPE_RAW = 101,  /* raw IPv4 or IPv6, told apart by the version nibble */
    TERN_PCAP_LINKTYPE_IPV4 = 228, /* raw IPv4 only */
};

#define TERN_PCAP_MAGIC_NS    0xa1b23c4du
#define TERN_PCAP_HEADER_LEN  24u /* file header */
#define TERN_PCAP_RECORD_LEN  16u /* per-record header, before the captured bytes */
#define TERN_PCAP_SNAPLEN_MAX 262144u

struct tern_pcap;

/*
 * Creates (or truncates) the file at `path` and writes the file header.
 * `snaplen` is the most bytes kept of each frame (0 means
 * TERN_PCAP_SNAPLEN_MAX); longer frames are cut, their record keeping the
 * original length. Returns TERN_OK and stores the writer in *out, or
 * TERN_ERR_INVAL for a bad argument or a file that cannot be created or
 * written (errno then says why), TERN_ERR_NOMEM if allocation failed.
 */
int tern_pcap_open(const char *path, uint32_t linktype, uint32_t snaplen, struct tern_pcap **out);

/*
 * Appends one record: the frame `data` (`len` bytes, borrowed) seen at
 * `ts_ns` nanoseconds since the epoch (>= 0). Returns TERN_OK, or
 * TERN_ERR_INVAL for a bad argument or a failed write (the writer then
 * refuses every later record, and tern_pcap_close() reports the failure).
 */
int tern_pcap_write(struct tern_pcap *p, int64_t ts_ns, const uint8_t *data, size_t len);

/* Number of records written so far. */
uint64_t tern_pcap_records(const struct tern_pcap *p);

/*
 * Flushes and closes the file and frees the writer. NULL is a no-op that
 * returns TERN_OK. Returns TERN_ERR_INVAL if any write or the close failed.
 */
int tern_pcap_close(struct tern_pcap *p);

#ifdef __cplusplus
}
#endif

#endif
