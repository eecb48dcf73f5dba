/*
 * tls_out.c - a connection's output queue (struct zc_out) sent through TLS.
 *
 * The plaintext path (out.c) hands memory to sendmsg and file ranges to sendfile. Through
 * TLS every byte must be encrypted, so the queue is drained into the session's staging
 * buffer and SSL_write'n, in order:
 *
 *   queue:   [ mem hdr ][ mem fields ][ file fd 7 @4096 +1 MiB ][ mem ][ file ... ]
 *               memcpy      memcpy      pread, 64 KiB at a time
 *                  \          |          /
 *   staging:     [ hdr | fields | file bytes ...          ]  (ZC_TLS_STAGING_BYTES)
 *                                  | SSL_write: 16 KiB records, encrypted in user space
 *                                  v
 *   socket
 *
 * With kernel TLS the file ranges skip the staging buffer: SSL_sendfile gives them to the
 * kernel, which reads the page cache, encrypts and sends; zero copy is kept. Memory pieces
 * still go through SSL_write (into the same kernel record stream), so order holds:
 *
 *   [ hdr | fields ] --SSL_write--> kernel TLS      [ file range ] --SSL_sendfile--> kernel TLS
 *    staging must be empty before SSL_sendfile: bytes already taken go first
 *
 * The ordering rules, which make records of one response never interleave with another's:
 *  - nothing is staged while older staged bytes remain (flush first, always);
 *  - SSL_sendfile runs only with an empty staging buffer;
 *  - after WANT_* the same staged bytes are retried (tls_conn.c), never replaced.
 *
 * A piece is finished (freed, released) once all its bytes are staged or with the kernel:
 * the staging buffer holds a copy, so the segment file may go.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "kc_log.h"
#include "zc_int.h"
#include "zc_params.h"
#include "zc_tls.h"
#include "zc_tls_int.h"

/* Copy up to `room` bytes of the memory piece at the head. */
static size_t stage_mem(struct zc_out *q, struct zc_piece *pc, struct zc_tls *t, size_t room)
{
    size_t take = pc->len < room ? pc->len : room;
    memcpy(t->stage + t->fill, pc->u.mem.p, take);
    pc->u.mem.p += take;
    t->fill += take;
    q->sent_copied += take;
    zc__out_advance(q, pc, take);
    return take;
}

/* Read up to `room` bytes of the file piece at the head into the staging buffer (bytes a
 * plaintext fallback had already read into its bounce buffer first). 0 or -errno, -EIO. */
static int stage_file(struct zc_out *q, struct zc_piece *pc, struct zc_tls *t, size_t room)
{
    size_t take;
    if (pc->u.file.bounce && pc->u.file.off < pc->u.file.fill) {
        size_t avail = pc->u.file.fill - pc->u.file.off;
        take = avail < room ? avail : room;
        memcpy(t->stage + t->fill, pc->u.file.bounce + pc->u.file.off, take);
        pc->u.file.off += take;
    } else {
        size_t want = pc->len < room ? pc->len : room;
        ssize_t got;
        do {
            got = pread(pc->u.file.fd, t->stage + t->fill, want, pc->u.file.pos);
        } while (got < 0 && errno == EINTR);
        if (got <= 0)
            return got == 0 ? -EIO : -errno; /* 0: the file ends inside the range */
        pc->u.file.pos += got;
        take = (size_t)got;
    }
    t->fill += take;
    t->stats.file_copied += take;
    q->sent_copied += take;
    zc__out_advance(q, pc, take);
    return 0;
}

/* Fill the (empty) staging buffer from the head of the queue. Stops at a file piece that
 * kernel TLS will send. 0, -ENOMEM, -errno, -EIO. */
static int fill_stage(struct zc_out *q, struct zc_tls *t)
{
    struct zc_piece *pc;
    int rc = zc__tls_stage_alloc(t);
    if (rc < 0)
        return rc;
    t->off = t->fill = 0;
    while (t->fill < ZC_TLS_STAGING_BYTES && (pc = STAILQ_FIRST(&q->pieces)) != NULL) {
        size_t room = ZC_TLS_STAGING_BYTES - t->fill;
        if (pc->kind == ZC_MEM) {
            stage_mem(q, pc, t, room);
            continue;
        }
        if (t->ktls_send && !pc->u.file.copy)
            break; /* SSL_sendfile takes it once these bytes are out */
        if ((rc = stage_file(q, pc, t, room)) < 0)
            return rc;
    }
    return 0;
}

/* SSL_sendfile of [pos, pos+len) (kernel TLS): the count sent; 0 if this file cannot be
 * spliced (EINVAL/ENOSYS/EOPNOTSUPP: copy it instead, as out.c falls back); -EAGAIN;
 * -EIO at end of file; < 0 a dead session. */
static ssize_t ktls_sendfile(struct zc_tls *t, int fd, off_t pos, size_t len)
{
    size_t want = len < ZC_TLS_SENDFILE_MAX ? len : ZC_TLS_SENDFILE_MAX;
    ERR_clear_error();
    errno = 0;
    ossl_ssize_t n = SSL_sendfile(t->ssl, fd, pos, want, 0);
    if (n > 0) {
        t->stats.ktls_sendfile += (uint64_t)n;
        return (ssize_t)n;
    }
    if (n == 0)
        return -EIO; /* sendfile at end of file: the range is longer than the file */
    if (errno == EINVAL || errno == ENOSYS || errno == EOPNOTSUPP) {
        kc_log_debug("zc: SSL_sendfile from fd %d: %s; copying through SSL_write", fd,
                     strerror(errno));
        ERR_clear_error();
        return 0;
    }
    int rc = zc__tls_result(t, (int)n, "sendfile");
    return rc == 0 ? -EAGAIN : rc < 0 ? rc : -EPIPE;
}

/* Kernel TLS: the file piece at the head by SSL_sendfile. 0 progress, -EAGAIN wait, < 0. */
static int send_file_ktls(struct zc_out *q, struct zc_piece *pc, struct zc_tls *t)
{
    ssize_t n = ktls_sendfile(t, pc->u.file.fd, pc->u.file.pos, pc->len);
    if (n == 0)
        pc->u.file.copy = true; /* the caller's loop comes back and copies it */
    if (n <= 0)
        return (int)n;
    pc->u.file.pos += n;
    q->sent_sendfile += (uint64_t)n;
    zc__out_advance(q, pc, (size_t)n);
    return 0;
}

ssize_t zc_tls_sendfile(struct zc_tls *t, int fd, off_t pos, size_t len)
{
    int rc = zc_tls_flush(t); /* what was taken before goes first */
    if (rc <= 0)
        return rc < 0 ? rc : -EAGAIN;
    if (pos < 0 || fd < 0)
        return -EINVAL;
    if (len == 0)
        return 0;
    if (t->ktls_send) {
        ssize_t n = ktls_sendfile(t, fd, pos, len);
        if (n != 0)
            return n;
    }
    if ((rc = zc__tls_stage_alloc(t)) < 0)
        return rc;
    size_t want = len < ZC_TLS_STAGING_BYTES ? len : ZC_TLS_STAGING_BYTES;
    ssize_t got;
    do {
        got = pread(fd, t->stage, want, pos);
    } while (got < 0 && errno == EINTR);
    if (got <= 0) {
        zc__tls_stage_release(t);
        return got == 0 ? -EIO : -errno;
    }
    t->off = 0;
    t->fill = (size_t)got;
    t->stats.file_copied += (uint64_t)got;
    rc = zc_tls_flush(t); /* 0 is fine: the bytes are taken, flushed later */
    return rc < 0 ? rc : got;
}

int zc_out_send_tls(struct zc_out *q, struct zc_tls *t)
{
    for (;;) {
        int rc = zc_tls_flush(t); /* older staged bytes first, always */
        if (rc <= 0)
            return rc;
        struct zc_piece *pc = STAILQ_FIRST(&q->pieces);
        if (!pc)
            return 1;
        if (pc->kind == ZC_FILE && t->ktls_send && !pc->u.file.copy) {
            rc = send_file_ktls(q, pc, t);
            if (rc == -EAGAIN)
                return 0;
        } else {
            rc = fill_stage(q, t);
        }
        if (rc < 0)
            return rc;
    }
}
