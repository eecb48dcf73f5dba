/*
 * scan.c - walking the batches of a .log without a system call per batch.
 *
 * A .log is batches back to back; each says how long it is (batchLength at byte 8), so
 * the next batch starts at pos + 12 + batchLength. Reads, recovery and index rebuilds all
 * walk that chain. Reading each 61-byte header with its own pread would cost a syscall per
 * batch; instead a window of the file is read once and headers are walked in memory, a new
 * pread happening only when the walk leaves the window:
 *
 *   file    |hdr ....batch....|hdr ..batch..|hdr ....... batch ........|hdr ...
 *   window  [<---------- first pread: what the walk expects ------>]
 *                                                  a small pread here ^ (then 2x, 4x...)
 *
 * How much to read is the scanner's one policy, set by whoever starts the walk:
 *
 *   streaming  (alog__scan_init)    every pread fills the buffer: recovery and rebuilds
 *                                   read whole segments, 1 MiB at a time
 *   windowed   (alog__scan_window)  the first pread reads what the caller expects to need
 *                                   (a lookup: one index interval plus a header); each
 *                                   later one starts at 128 bytes and doubles. Batches
 *                                   larger than expected cost a few small reads, never a
 *                                   copy of bytes nobody looks at.
 *
 * Measured on this machine (appendLog/README.md): one pread of ~4 KiB costs less than two
 * small ones (a system call here is ~300 ns, copying 4 KiB from the page cache less), so a
 * lookup reads its expected span at once rather than header by header.
 *
 * CRC checks stream the batch through the same buffer with a chained CRC-32C, so a batch
 * larger than the buffer (up to message.max.bytes, or a damaged length) never needs a
 * buffer of its own size.
 *
 * Which headers are possible depends on the log: a store's log may have been compacted,
 * so its batches may keep fewer records than their offsets span, or none
 * (kc_batch_header_decode_stored); a standalone log holds only what producers sent.
 */
#include <errno.h>

#include "alog_int.h"
#include "alog_params.h"
#include "kc_crc32c.h"
#include "kc_err.h"
#include "kc_fs.h"

void alog__scan_init(struct alog_scan *s, const struct alog_segment *seg, uint64_t end,
                     uint8_t *buf, size_t cap)
{
    alog__scan_init_fd(s, seg->fd, seg->compacted, end, buf, cap);
}

void alog__scan_init_fd(struct alog_scan *s, int fd, bool stored, uint64_t end, uint8_t *buf,
                        size_t cap)
{
    s->fd = fd;
    s->stored = stored;
    s->end = end;
    s->buf = buf;
    s->cap = cap;
    s->want = cap;
    s->want_next = cap;
    s->at = 0;
    s->len = 0;
    s->preads = 0;
}

void alog__scan_window(struct alog_scan *s, size_t first)
{
    s->want = first < s->cap ? first : s->cap;
    s->want_next = ALOG_SCAN_FOLLOW < s->cap ? ALOG_SCAN_FOLLOW : s->cap;
}

/* The size of the next pread at pos for n bytes: the policy's, at least n, within end. */
static size_t read_size(struct alog_scan *s, uint64_t pos, size_t n)
{
    size_t want = s->want > n ? s->want : n;
    uint64_t left = s->end - pos;
    s->want = s->want_next;
    s->want_next = s->want_next < s->cap / 2 ? s->want_next * 2 : s->cap;
    return left < want ? (size_t)left : want;
}

/* Make [pos, pos+n) readable in the buffer: 0 and *p, KC_ENEEDMORE past s->end, -errno. */
static int peek(struct alog_scan *s, uint64_t pos, size_t n, const uint8_t **p)
{
    if (n > s->cap)
        return -EINVAL;
    if (pos > s->end || n > s->end - pos)
        return KC_ENEEDMORE;
    if (pos < s->at || pos + n > s->at + s->len) {
        ssize_t r = kc_pread_full(s->fd, s->buf, read_size(s, pos, n), (off_t)pos);
        s->preads++;
        if (r < 0)
            return (int)r;
        s->at = pos;
        s->len = (size_t)r;
        if ((size_t)r < n)
            return KC_ENEEDMORE; /* the file is shorter than its recorded size */
    }
    *p = s->buf + (pos - s->at);
    return 0;
}

int alog__scan_header(struct alog_scan *s, uint64_t pos, struct kc_batch_header *h, size_t *size)
{
    const uint8_t *p = NULL;
    size_t n = KC_BATCH_HEADER_SIZE;
    if (s->end - pos < n && s->end > pos)
        n = (size_t)(s->end - pos); /* let the decoder say why it is short */
    int rc = peek(s, pos, n, &p);
    if (rc)
        return rc;
    struct kc_batch_header tmp;
    rc = s->stored ? kc_batch_header_decode_stored(p, n, &tmp) : kc_batch_header_decode(p, n, &tmp);
    if (rc)
        return rc;
    size_t total = (size_t)tmp.batch_length + KC_BATCH_LOG_OVERHEAD;
    if (total > s->end - pos)
        return KC_ENEEDMORE;
    *h = tmp;
    *size = total;
    return 0;
}

int alog__scan_crc(struct alog_scan *s, uint64_t pos, size_t size, uint32_t want)
{
    uint32_t crc = 0;
    uint64_t at = pos + KC_BATCH_OFF_ATTRIBUTES; /* the CRC covers attributes..end */
    uint64_t stop = pos + size;
    while (at < stop) {
        size_t n = stop - at < s->cap ? (size_t)(stop - at) : s->cap;
        const uint8_t *p = NULL;
        int rc = peek(s, at, n, &p);
        if (rc)
            return rc;
        crc = kc_crc32c(crc, p, n);
        at += n;
    }
    return crc == want ? 0 : KC_ECRC;
}
