/*
 * client_tls.c - the client's TLS transport: a zeroCopy TLS session (zc_tls.h) over the
 * connected socket, and the handshake that starts it (contract in np_client.h).
 *
 *   np_client_connect     TCP, non-blocking
 *   np_client_start_tls   zc_tls_new(ctx, fd, host) -> handshake, each wait a poll() for
 *                         what the session asks (POLLIN or POLLOUT), within the timeout
 *                         -> c->tr = the TLS transport: every later byte is encrypted
 *
 * What the session checks is the context's business (zc_tls_ctx_new): the broker's chain
 * against the CA file, its validity dates, and - unless endpoint identification is off -
 * that it names the host we dialled (a DNS name, or an IP address in its SAN).
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>

#include "kc_common.h"
#include "np_client.h"
#include "zc_tls.h"

static ssize_t tls_recv(struct np_client *c, void *buf, size_t len)
{
    ssize_t n = zc_tls_read(c->tls, buf, len); /* > 0, 0 the end, -EAGAIN, < 0 */
    if (n < 0 && n != -EAGAIN) /* e.g. the broker's alert: "tlsv13 alert unknown ca" */
        snprintf(c->errmsg, sizeof(c->errmsg), "TLS: %s", zc_tls_error(c->tls));
    return n;
}

static ssize_t tls_send(struct np_client *c, const void *buf, size_t len)
{
    struct iovec iov = {(void *)buf, len};
    return zc_tls_writev(c->tls, &iov, 1);
}

static int tls_flush(struct np_client *c)
{
    return zc_tls_flush(c->tls);
}

static short tls_events(const struct np_client *c, short wanted)
{
    short ev = zc_tls_events(c->tls);
    return ev ? ev : wanted;
}

static void tls_close(struct np_client *c)
{
    (void)zc_tls_shutdown(c->tls); /* one try at a close_notify; never waits */
    zc_tls_free(c->tls);
    c->tls = NULL;
}

static const struct np_transport np_tls = {"tls",     tls_recv,   tls_send,
                                           tls_flush, tls_events, tls_close};

/* Wait for what the handshake waits for; -ETIMEDOUT once the deadline has passed. */
static int handshake_wait(struct np_client *c, int64_t deadline)
{
    for (;;) {
        int timeout = -1;
        if (deadline >= 0) {
            int64_t left = deadline - kc_mono_ms();
            if (left <= 0)
                return -ETIMEDOUT;
            timeout = (int)KC_MIN(left, INT32_MAX);
        }
        struct pollfd pfd = {.fd = c->fd, .events = zc_tls_events(c->tls)};
        int n = poll(&pfd, 1, timeout);
        if (n > 0)
            return 0;
        if (n == 0)
            return -ETIMEDOUT;
        if (errno != EINTR)
            return -errno;
    }
}

int np_client_start_tls(struct np_client *c, struct zc_tls_ctx *ctx, const char *server_name)
{
    int64_t deadline = c->timeout_ms < 0 ? -1 : kc_mono_ms() + c->timeout_ms;
    if (c->tls || c->fd < 0)
        return -EINVAL;
    int rc = zc_tls_new(ctx, c->fd, server_name ? server_name : c->host, &c->tls);
    if (rc) {
        snprintf(c->errmsg, sizeof(c->errmsg), "cannot start TLS for '%s': %s",
                 server_name ? server_name : c->host,
                 rc == -EINVAL ? "not a host name or address a certificate can name"
                               : kc_strerror(rc));
        c->tls = NULL;
        return rc;
    }
    c->tr = &np_tls;
    while ((rc = zc_tls_handshake(c->tls)) == 0)
        if ((rc = handshake_wait(c, deadline)) != 0)
            break;
    if (rc == 1) {
        c->errmsg[0] = '\0';
        return 0;
    }
    if (rc == -ETIMEDOUT)
        snprintf(c->errmsg, sizeof(c->errmsg),
                 "TLS handshake: no answer within %d ms (is this a TLS listener?)", c->timeout_ms);
    else
        snprintf(c->errmsg, sizeof(c->errmsg), "%s", zc_tls_error(c->tls));
    return rc;
}
