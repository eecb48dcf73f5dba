/*
 * transfer.c - whole-range transfers that wait until done: sendfile, and the classic
 * pread + send loop it replaces. The demo and the benchmark put one against the other.
 *
 *   zc_copy_all:      loop { pread(fd, buf, 64 KiB) ; send(sock, buf) }   2 copies, 2 calls
 *   zc_sendfile_all:  loop { sendfile(sock, fd, &pos, left) }              0 copies, 1 call
 *
 * Both wait in poll(POLLOUT) if the socket is non-blocking and full, so they work on any
 * stream socket. The broker itself uses struct zc_out (out.c), which never waits.
 */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <unistd.h>

#include "zc.h"
#include "zc_params.h"

/* Wait until sock is writable (after EAGAIN on a non-blocking socket). */
static int wait_writable(int sock)
{
    struct pollfd pfd = {.fd = sock, .events = POLLOUT};
    int n;
    do {
        n = poll(&pfd, 1, -1);
    } while (n < 0 && errno == EINTR);
    return n < 0 ? -errno : 0;
}

/* Send all of buf; 0 or -errno. */
static int send_all(int sock, const uint8_t *buf, size_t len)
{
    while (len > 0) {
        ssize_t n = send(sock, buf, len, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN) {
            int rc = wait_writable(sock);
            if (rc < 0)
                return rc;
            continue;
        }
        if (n < 0)
            return -errno;
        buf += n;
        len -= (size_t)n;
    }
    return 0;
}

ssize_t zc_copy_all(int sock, int fd, off_t pos, size_t len, void *buf, size_t bufsize)
{
    if (pos < 0 || bufsize == 0 || len > SSIZE_MAX)
        return -EINVAL;
    size_t done = 0;
    while (done < len) {
        size_t want = len - done < bufsize ? len - done : bufsize;
        ssize_t got = pread(fd, buf, want, pos + (off_t)done);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            return got == 0 ? -EIO : -errno;
        int rc = send_all(sock, buf, (size_t)got);
        if (rc < 0)
            return rc;
        done += (size_t)got;
    }
    return (ssize_t)len;
}

/* Where sendfile cannot serve, finish the range [pos, pos+left) the classic way. */
static ssize_t fallback(int sock, int fd, off_t pos, size_t left)
{
    void *buf = malloc(ZC_BOUNCE_BYTES);
    if (!buf)
        return -ENOMEM;
    ssize_t rc = zc_copy_all(sock, fd, pos, left, buf, ZC_BOUNCE_BYTES);
    free(buf);
    return rc;
}

ssize_t zc_sendfile_all(int sock, int fd, off_t pos, size_t len)
{
    if (pos < 0 || len > SSIZE_MAX)
        return -EINVAL;
    size_t left = len;
    while (left > 0) {
        ssize_t n = sendfile(sock, fd, &pos, left < ZC_SENDFILE_MAX ? left : ZC_SENDFILE_MAX);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN) {
            int rc = wait_writable(sock);
            if (rc < 0)
                return rc;
            continue;
        }
        if (n < 0 && (errno == EINVAL || errno == ENOSYS)) {
            ssize_t rc = fallback(sock, fd, pos, left);
            return rc < 0 ? rc : (ssize_t)len;
        }
        if (n <= 0)
            return n == 0 ? -EIO : -errno;
        left -= (size_t)n;
    }
    return (ssize_t)len;
}
