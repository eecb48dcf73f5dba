/*
 * tls.c - a connection's transport: the socket itself, or a TLS session over it.
 *
 * On a TLS listener (SSL, SASL_SSL) every connection starts with a handshake, driven by
 * the loop like any other I/O: each readiness event advances it, and the session says what
 * it waits for next (zeroCopy/include/zc_tls.h). A client that never finishes is closed by
 * the idle sweep after ssl.handshake.timeout.ms, having cost one session's buffers.
 *
 *   accept -> adopt: zc_tls_new -> [handshake ... ] -> principal from the client's
 *             certificate (mutual TLS) -> the adapters see only decrypted bytes
 *
 * Then the rest of conn.c does not care: brk__conn_recv reads decrypted bytes, and
 * brk__conn_transmit sends the ordered output queue through zc_out_send_tls, which keeps
 * sendfile where the kernel offers kernel TLS and otherwise encrypts file ranges in user
 * space. Two rules TLS adds, both handled here or in conn.c:
 *   - a write may have to wait for the socket to be *readable* (and a read for writable):
 *     the events to watch are what the session says (tls_wait), not what the call was;
 *   - decrypted bytes may wait inside OpenSSL with nothing left on the socket, so a reader
 *     reads until EAGAIN (conn.c), or epoll would never wake it for them.
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "brk_int.h"
#include "sec_principal.h"

int brk__tls_start(struct brk_conn *c)
{
    int rc = zc_tls_new(c->srv->tls, c->fd, NULL, &c->tls);
    if (rc == 0)
        c->handshaking = true;
    return rc;
}

/* The client showed a certificate (mutual TLS): it names the principal. */
static void principal_from_cert(struct brk_conn *c)
{
    uint8_t *der;
    size_t len;
    char buf[SEC_PRINCIPAL_MAX];
    if (zc_tls_peer_subject(c->tls, &der, &len) != 0)
        return; /* no certificate: User:ANONYMOUS until SASL says otherwise */
    if (sec_principal_from_subject_der(der, len, buf, sizeof(buf)) == 0) {
        free(c->principal);
        c->principal = strdup(buf);
    }
    free(der);
}

int brk__tls_handshake(struct brk_conn *c)
{
    int rc = zc_tls_handshake(c->tls);
    if (rc == 0) {
        c->tls_wait = zc_tls_events(c->tls);
        return 0;
    }
    if (rc < 0) {
        /* Kafka's words; the reason says why (a plaintext client, a bad certificate...). */
        kc_log_info("%s: SSL handshake failed: %s", c->peer, zc_tls_error(c->tls));
        /* OpenSSL has written its alert ("unknown ca", "certificate required") to the
         * socket. Closing now, with the client's unread bytes in our receive queue, would
         * send a reset that can destroy that alert on its way: the client would see
         * "connection reset" instead of why. So close as a refusal does: shut our side,
         * read and discard until the client closes (or the linger time ends). */
        zc_tls_free(c->tls);
        c->tls = NULL;
        c->handshaking = false;
        c->tls_wait = 0;
        c->closing = c->linger = true;
        return -1;
    }
    c->handshaking = false;
    c->tls_wait = 0;
    principal_from_cert(c);
    kc_log_debug("%s: TLS %s %s, principal %s", c->peer, zc_tls_version(c->tls),
                 zc_tls_cipher(c->tls), c->principal ? c->principal : SEC_PRINCIPAL_ANONYMOUS);
    return 1;
}

ssize_t brk__conn_recv(struct brk_conn *c, void *buf, size_t len)
{
    if (c->tls) {
        ssize_t n = zc_tls_read(c->tls, buf, len);
        c->tls_wait = n == -EAGAIN ? zc_tls_events(c->tls) : 0;
        return n;
    }
    ssize_t n = recv(c->fd, buf, len, 0);
    if (n >= 0)
        return n;
    return errno == EWOULDBLOCK || errno == EINTR ? -EAGAIN : -errno;
}

int brk__conn_transmit(struct brk_conn *c)
{
    if (!c->tls)
        return zc_out_send(&c->out, c->fd);
    int rc = zc_out_send_tls(&c->out, c->tls);
    c->tls_wait = rc == 0 ? zc_tls_events(c->tls) : 0;
    return rc;
}

size_t brk__conn_unsent(const struct brk_conn *c)
{
    return zc_out_pending(&c->out) + (c->tls ? zc_tls_pending(c->tls) : 0);
}

void brk__conn_security_free(struct brk_conn *c)
{
    if (c->tls) {
        if (!c->handshaking)
            (void)zc_tls_shutdown(c->tls); /* one try at a close_notify; never waits */
        zc_tls_free(c->tls);
        c->tls = NULL;
    }
    brk__sasl_free(c); /* the principal stays until the memory goes (conn.c) */
}
