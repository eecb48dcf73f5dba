/*
 * zc_int.h - the pieces of an output queue, and the test hook that forces the fallback.
 * Nothing outside zeroCopy/src and zeroCopy/tests includes this.
 */
#ifndef ZC_INT_H
#define ZC_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/queue.h>
#include <sys/types.h>

#include "zc.h"

enum zc_kind { ZC_MEM, ZC_FILE };

/*
 * One piece of a response. `len` is always the bytes of this piece not yet accepted by
 * the socket; pending in struct zc_out is the sum of them.
 *
 *   memory:  p ............ p+len        next unsent byte .. end
 *            buf: what to free (NULL when the bytes live inline after the struct)
 *
 *   file:    pos ........... pos+len     next unsent file byte .. end of range
 *            fallback: bounce[off..fill) are read from the file but not yet sent; pos
 *            then points past them, so unsent = (fill - off) + (range end - pos)
 */
struct zc_piece {
    STAILQ_ENTRY(zc_piece) link;
    enum zc_kind kind;
    size_t len;
    union {
        struct {
            const uint8_t *p;
            void *buf;
        } mem;
        struct {
            int fd;
            off_t pos;
            void (*release)(void *arg);
            void *arg;
            bool copy;       /* sendfile refused this piece: pread + send instead */
            uint8_t *bounce; /* ZC_BOUNCE_BYTES, allocated on the first copy */
            size_t off, fill;
        } file;
    } u;
    uint8_t data[]; /* zc_out_mem's copy */
};

/* Test hook: queue a file range that skips sendfile and uses the pread fallback, exactly
 * as if sendfile had returned EINVAL. Same contract as zc_out_file. */
int zc__out_file_copy(struct zc_out *q, int fd, off_t pos, size_t len,
                      void (*release)(void *arg), void *arg);

/* n bytes of the head piece pc have left the queue (sent, or taken by a TLS session):
 * advance it, finish it when it is done. For out.c and tls_out.c. */
void zc__out_advance(struct zc_out *q, struct zc_piece *pc, size_t n);

#endif
