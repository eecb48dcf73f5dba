/*
 * zc.h - sending log bytes to sockets without copying them through user space.
 *
 * (Contract header: the module README and source headers teach; this states the rules.)
 *
 * A response is a sequence of pieces: small headers the broker encodes in memory, and
 * ranges of segment files it never reads itself:
 *
 *   [ frame header | fields ]  [ file range: whole batches ]  [ more header ] [ file ] ...
 *        memory (writev)             sendfile(2)                  memory        sendfile
 *
 * struct zc_out is one connection's queue of such pieces. zc_out_send pushes as much as
 * the socket takes: memory pieces go out together with writev/sendmsg, flagged MSG_MORE
 * when a file range follows so that the header and the file bytes share TCP segments;
 * file ranges go out with sendfile, resuming at the exact byte after a partial send or
 * EAGAIN. Where sendfile cannot serve (EINVAL/ENOSYS: a file system or socket type that
 * does not support it) the queue falls back to pread into a buffer and send.
 *
 * Rules:
 *  - A queue belongs to one thread at a time; no locking inside.
 *  - zc_out_mem copies; zc_out_mem_take takes ownership of a malloc'ed buffer (freed when
 *    sent or at fini). zc_out_file does not own fd: it calls release(arg) exactly once,
 *    when the range has been sent or the queue is finalised, and the caller keeps fd open
 *    until then. Ownership moves only on success: after -ENOMEM the caller still owns the
 *    buffer, and release is not called.
 *  - zc_out_send never blocks (memory goes out with MSG_DONTWAIT; give it a non-blocking
 *    socket so sendfile does not block either).
 *  - SIGPIPE: memory pieces are sent with MSG_NOSIGNAL, but sendfile(2) has no such flag and
 *    raises SIGPIPE when the peer has gone. A process that queues file ranges must ignore
 *    SIGPIPE (signal(SIGPIPE, SIG_IGN) at start, as the broker does); then the error comes
 *    back as -EPIPE like any other.
 *  - After zc_out_send returns < 0 the stream is broken (some bytes of a piece may have
 *    gone): close the connection and zc_out_fini the queue.
 */
#ifndef ZC_H
#define ZC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/queue.h>
#include <sys/types.h>

struct zc_piece;

struct zc_out {
    STAILQ_HEAD(, zc_piece) pieces;
    size_t pending;           /* bytes queued and not yet sent */
    uint64_t sent_sendfile;   /* bytes sent by sendfile, for demos and stats */
    uint64_t sent_copied;     /* bytes sent from memory or by the pread fallback */
};

void zc_out_init(struct zc_out *q);
/* Drop everything unsent: frees memory pieces, calls every pending release. */
void zc_out_fini(struct zc_out *q);

int zc_out_mem(struct zc_out *q, const void *p, size_t len);      /* copies; -ENOMEM */
int zc_out_mem_take(struct zc_out *q, void *p, size_t len);       /* owns p; -ENOMEM */
int zc_out_file(struct zc_out *q, int fd, off_t pos, size_t len, void (*release)(void *arg),
                void *arg);                                       /* -ENOMEM */

static inline size_t zc_out_pending(const struct zc_out *q)
{
    return q->pending;
}

/*
 * Send as much as the socket accepts. 1: the queue is empty; 0: the socket is full (wait
 * for writability, then call again); < 0: -errno from the socket (-EPIPE, -ECONNRESET),
 * or -EIO if a file turned out shorter than its range.
 */
int zc_out_send(struct zc_out *q, int sock);

/*
 * Blocking helpers for demos and benchmarks: send len bytes of fd from pos to sock (waiting
 * in poll() if sock is non-blocking). Return len, or -errno, or -EIO if the file ends
 * before pos + len. zc_sendfile_all falls back to zc_copy_all where sendfile cannot serve.
 */
ssize_t zc_sendfile_all(int sock, int fd, off_t pos, size_t len);
/* The classic way, for comparison: pread into buf, send to the socket, repeat. */
ssize_t zc_copy_all(int sock, int fd, off_t pos, size_t len, void *buf, size_t bufsize);

#endif
