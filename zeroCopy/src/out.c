/*
 * out.c - a connection's output queue: memory pieces by sendmsg, file ranges by sendfile.
 *
 * A Kafka fetch response is a few dozen bytes of header the broker writes, then the
 * record batches exactly as they lie in the segment file. The classic way reads the file
 * into a buffer and writes the buffer to the socket: two copies through user space and
 * two system calls per chunk. sendfile(2) asks the kernel to move file pages to the
 * socket directly:
 *
 *     read + write:  disk -> page cache -> [copy] user buffer -> [copy] socket buffer -> NIC
 *     sendfile:      disk -> page cache ------------------------> socket (page refs) -> NIC
 *
 * Kafka does exactly this: FileRecords.writeTo -> FileChannel.transferTo -> sendfile.
 *
 * The queue, front to back:
 *
 *   [ mem: frame header ][ mem: fields ][ file: fd 7, pos 4096, len 65536 ][ mem ][ file ]
 *    \______ one sendmsg, MSG_MORE ______/ \_______ sendfile, resumable _____/
 *
 * Rules of the send loop (zc_out_send):
 *  - Consecutive memory pieces go out in one sendmsg (up to ZC_IOV_BATCH iovecs). When
 *    anything follows them, MSG_MORE tells TCP to hold a partial segment, so the header
 *    and the first file bytes travel in the same segments instead of the header going
 *    alone (a tiny segment, and with Nagle a wait for its ACK).
 *  - A file piece goes out with sendfile(sock, fd, &pos, len). On a non-blocking socket it
 *    sends what fits and returns the count; the piece remembers its position, so the next
 *    call resumes at the exact byte. EAGAIN means "socket full": return 0, the caller waits
 *    for EPOLLOUT. sendfile returning 0 means the file ended before the range: -EIO.
 *  - EINVAL/ENOSYS from sendfile mean this file/socket pair cannot do it (a file system
 *    without splice support, for one): the piece switches to pread into a bounce buffer
 *    and send, from the byte where sendfile stopped. Bytes read but not yet accepted by the
 *    socket stay in the bounce buffer, so nothing is read twice or skipped.
 *  - Every piece is finished exactly once: memory freed, or release(arg) called, when its
 *    last byte is accepted, or by zc_out_fini.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "kc_log.h"
#include "zc_int.h"
#include "zc_params.h"

#define ZC_SEND_FLAGS (MSG_NOSIGNAL | MSG_DONTWAIT)

void zc_out_init(struct zc_out *q)
{
    STAILQ_INIT(&q->pieces);
    q->pending = 0;
    q->sent_sendfile = 0;
    q->sent_copied = 0;
}

/* Free a piece's resources: the one place where release is called. */
static void piece_finish(struct zc_piece *pc)
{
    if (pc->kind == ZC_MEM) {
        free(pc->u.mem.buf);
    } else {
        free(pc->u.file.bounce);
        if (pc->u.file.release)
            pc->u.file.release(pc->u.file.arg);
    }
    free(pc);
}

void zc_out_fini(struct zc_out *q)
{
    struct zc_piece *pc;
    while ((pc = STAILQ_FIRST(&q->pieces)) != NULL) {
        STAILQ_REMOVE_HEAD(&q->pieces, link);
        piece_finish(pc);
    }
    q->pending = 0;
}

static void piece_append(struct zc_out *q, struct zc_piece *pc)
{
    STAILQ_INSERT_TAIL(&q->pieces, pc, link);
    q->pending += pc->len;
}

int zc_out_mem(struct zc_out *q, const void *p, size_t len)
{
    if (len == 0)
        return 0;
    if (len > SIZE_MAX - sizeof(struct zc_piece))
        return -ENOMEM;
    struct zc_piece *pc = malloc(sizeof(*pc) + len);
    if (!pc)
        return -ENOMEM;
    memcpy(pc->data, p, len);
    pc->kind = ZC_MEM;
    pc->len = len;
    pc->u.mem.p = pc->data;
    pc->u.mem.buf = NULL;
    piece_append(q, pc);
    return 0;
}

int zc_out_mem_take(struct zc_out *q, void *p, size_t len)
{
    if (len == 0) {
        free(p);
        return 0;
    }
    struct zc_piece *pc = malloc(sizeof(*pc));
    if (!pc)
        return -ENOMEM; /* p stays the caller's */
    pc->kind = ZC_MEM;
    pc->len = len;
    pc->u.mem.p = p;
    pc->u.mem.buf = p;
    piece_append(q, pc);
    return 0;
}

static int out_file(struct zc_out *q, int fd, off_t pos, size_t len,
                    void (*release)(void *arg), void *arg, bool copy)
{
    if (pos < 0 || fd < 0)
        return -EINVAL;
    if (len == 0) { /* nothing to send: the range is done already */
        if (release)
            release(arg);
        return 0;
    }
    struct zc_piece *pc = calloc(1, sizeof(*pc));
    if (!pc)
        return -ENOMEM;
    pc->kind = ZC_FILE;
    pc->len = len;
    pc->u.file.fd = fd;
    pc->u.file.pos = pos;
    pc->u.file.release = release;
    pc->u.file.arg = arg;
    pc->u.file.copy = copy;
    piece_append(q, pc);
    return 0;
}

int zc_out_file(struct zc_out *q, int fd, off_t pos, size_t len, void (*release)(void *arg),
                void *arg)
{
    return out_file(q, fd, pos, len, release, arg, false);
}

int zc__out_file_copy(struct zc_out *q, int fd, off_t pos, size_t len,
                      void (*release)(void *arg), void *arg)
{
    return out_file(q, fd, pos, len, release, arg, true);
}

/* n bytes of the head piece were accepted by the socket (or by a TLS session). */
void zc__out_advance(struct zc_out *q, struct zc_piece *pc, size_t n)
{
    pc->len -= n;
    q->pending -= n;
    if (pc->len == 0) {
        STAILQ_REMOVE_HEAD(&q->pieces, link);
        piece_finish(pc);
    }
}

/* ---- memory pieces ------------------------------------------------------------------ */

/* Send the run of memory pieces at the head in one sendmsg. 0 or -errno (-EAGAIN). */
static int send_mem(struct zc_out *q, int sock)
{
    struct iovec iov[ZC_IOV_BATCH];
    int n = 0;
    struct zc_piece *pc = STAILQ_FIRST(&q->pieces);
    for (; pc && pc->kind == ZC_MEM && n < ZC_IOV_BATCH; pc = STAILQ_NEXT(pc, link))
        iov[n++] = (struct iovec){.iov_base = (void *)pc->u.mem.p, .iov_len = pc->len};
    struct msghdr msg = {.msg_iov = iov, .msg_iovlen = (size_t)n};
    int flags = ZC_SEND_FLAGS | (pc ? MSG_MORE : 0); /* pc: something follows this run */
    ssize_t sent;
    do {
        sent = sendmsg(sock, &msg, flags);
    } while (sent < 0 && errno == EINTR);
    if (sent < 0)
        return errno == EWOULDBLOCK ? -EAGAIN : -errno;
    if (sent == 0)
        return -EAGAIN; /* a stream socket does not do this; never spin if one does */
    q->sent_copied += (uint64_t)sent;
    size_t left = (size_t)sent;
    while (left > 0) {
        pc = STAILQ_FIRST(&q->pieces);
        size_t take = left < pc->len ? left : pc->len;
        pc->u.mem.p += take;
        left -= take;
        zc__out_advance(q, pc, take);
    }
    return 0;
}

/* ---- file pieces -------------------------------------------------------------------- */

/* The fallback: pread into the bounce buffer when it is empty, then send from it. */
static int send_file_copy(struct zc_out *q, struct zc_piece *pc, int sock)
{
    if (!pc->u.file.bounce && !(pc->u.file.bounce = malloc(ZC_BOUNCE_BYTES)))
        return -ENOMEM;
    if (pc->u.file.off == pc->u.file.fill) {
        size_t want = pc->len < ZC_BOUNCE_BYTES ? pc->len : ZC_BOUNCE_BYTES;
        ssize_t got;
        do {
            got = pread(pc->u.file.fd, pc->u.file.bounce, want, pc->u.file.pos);
        } while (got < 0 && errno == EINTR);
        if (got <= 0)
            return got == 0 ? -EIO : -errno; /* 0: the file ends inside the range */
        pc->u.file.pos += got;
        pc->u.file.off = 0;
        pc->u.file.fill = (size_t)got;
    }
    size_t avail = pc->u.file.fill - pc->u.file.off;
    bool more = pc->len > avail || STAILQ_NEXT(pc, link) != NULL;
    ssize_t sent;
    do {
        sent = send(sock, pc->u.file.bounce + pc->u.file.off, avail,
                    ZC_SEND_FLAGS | (more ? MSG_MORE : 0));
    } while (sent < 0 && errno == EINTR);
    if (sent < 0)
        return errno == EWOULDBLOCK ? -EAGAIN : -errno;
    if (sent == 0)
        return -EAGAIN; /* as in send_mem */
    pc->u.file.off += (size_t)sent;
    q->sent_copied += (uint64_t)sent;
    zc__out_advance(q, pc, (size_t)sent);
    return 0;
}

static int send_file(struct zc_out *q, struct zc_piece *pc, int sock)
{
    if (pc->u.file.copy)
        return send_file_copy(q, pc, sock);
    size_t want = pc->len < ZC_SENDFILE_MAX ? pc->len : ZC_SENDFILE_MAX;
    off_t pos = pc->u.file.pos;
    ssize_t sent;
    do {
        sent = sendfile(sock, pc->u.file.fd, &pos, want);
    } while (sent < 0 && errno == EINTR);
    if (sent < 0 && (errno == EINVAL || errno == ENOSYS)) {
        kc_log_debug("zc: sendfile from fd %d: %s; falling back to pread + send",
                     pc->u.file.fd, strerror(errno));
        pc->u.file.copy = true;
        return 0; /* the caller's loop comes straight back, to send_file_copy */
    }
    if (sent < 0)
        return errno == EWOULDBLOCK ? -EAGAIN : -errno;
    if (sent == 0)
        return -EIO; /* the file ends inside the range: it was truncated under us */
    pc->u.file.pos = pos;
    q->sent_sendfile += (uint64_t)sent;
    zc__out_advance(q, pc, (size_t)sent);
    return 0;
}

int zc_out_send(struct zc_out *q, int sock)
{
    struct zc_piece *pc;
    while ((pc = STAILQ_FIRST(&q->pieces)) != NULL) {
        int rc = pc->kind == ZC_MEM ? send_mem(q, sock) : send_file(q, pc, sock);
        if (rc == -EAGAIN)
            return 0;
        if (rc < 0)
            return rc;
    }
    return 1;
}
