/*
 * tls_conn.c - one TLS session on a non-blocking socket: handshake, read, write, close.
 *
 * OpenSSL does the protocol; what is taught here is driving it from an event loop:
 *
 *   call (SSL_do_handshake, SSL_read_ex, SSL_write_ex, SSL_sendfile)
 *     success                    -> done
 *     SSL_ERROR_WANT_READ        -> wait for POLLIN, then call again
 *     SSL_ERROR_WANT_WRITE       -> wait for POLLOUT, then call again
 *     SSL_ERROR_ZERO_RETURN      -> the peer sent close_notify: end of stream
 *     SSL_ERROR_SYSCALL / _SSL   -> the session is dead: say why, close
 *
 * Either direction can need the other: a write during a renegotiation or after the peer
 * asked for a key update may have to read first (WANT_READ), a read may have to write.
 * So a call that cannot finish records *what it waits for* (events), and the caller's loop
 * waits for exactly that.
 *
 * Writes have one more rule: after WANT_WRITE/WANT_READ, SSL_write must be called again
 * with the same bytes (it may already have encrypted and sent part of them). So bytes are
 * first taken into the session's staging buffer and stay there, unmoved in order, until
 * SSL_write has taken them all; nothing may be written around them. With
 * SSL_MODE_ENABLE_PARTIAL_WRITE each SSL_write returns after one record (16 KiB), so the
 * buffer drains record by record and `off` always says exactly what is still owed.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <sys/socket.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "zc_tls.h"
#include "zc_tls_int.h"

#define TLS_EOF 1 /* zc__tls_result: the peer closed (close_notify, or EOF where allowed) */

int zc_tls_new(struct zc_tls_ctx *ctx, int fd, const char *server_name, struct zc_tls **out)
{
    struct zc_tls *t = calloc(1, sizeof(*t));
    if (!t)
        return -ENOMEM;
    t->fd = fd;
    t->events = POLLIN | POLLOUT;
    t->ssl = SSL_new(ctx->ssl_ctx);
    int rc = t->ssl && SSL_set_fd(t->ssl, fd) == 1 ? 0 : -ENOMEM;
    if (rc == 0 && !ctx->server) {
        unsigned char ip[16];
        bool is_ip = server_name && (inet_pton(AF_INET, server_name, ip) == 1 ||
                                     inet_pton(AF_INET6, server_name, ip) == 1);
        if (server_name && !is_ip && !SSL_set_tlsext_host_name(t->ssl, server_name))
            rc = -EINVAL;
        if (rc == 0 && ctx->check_name) {
            X509_VERIFY_PARAM *vp = SSL_get0_param(t->ssl);
            if (!server_name || (is_ip ? X509_VERIFY_PARAM_set1_ip_asc(vp, server_name)
                                       : X509_VERIFY_PARAM_set1_host(vp, server_name, 0)) != 1)
                rc = -EINVAL; /* a name to check is required, and must be valid */
        }
    }
    if (rc < 0) {
        ERR_clear_error();
        zc_tls_free(t);
        return rc;
    }
    if (ctx->server)
        SSL_set_accept_state(t->ssl);
    else
        SSL_set_connect_state(t->ssl);
    *out = t;
    return 0;
}

void zc_tls_free(struct zc_tls *t)
{
    if (!t)
        return;
    SSL_free(t->ssl); /* with its BIOs, the write filter included */
    free(t->stage);
    free(t);
}

/* "what: reason" from OpenSSL's error queue and the certificate check. */
static void set_reason(struct zc_tls *t, const char *what, int ssl_err)
{
    unsigned long e = ERR_peek_last_error();
    const char *reason = e ? ERR_reason_error_string(e) : NULL;
    long vr = SSL_get_verify_result(t->ssl);
    int n = snprintf(t->err, sizeof(t->err), "%s: %s", what,
                     reason                         ? reason
                     : ssl_err == SSL_ERROR_SYSCALL ? "the peer closed the connection"
                                                    : "TLS error");
    if (vr != X509_V_OK && n > 0 && (size_t)n < sizeof(t->err))
        snprintf(t->err + n, sizeof(t->err) - (size_t)n, " (%s)",
                 X509_verify_cert_error_string(vr));
}

int zc__tls_result(struct zc_tls *t, int ret, const char *what)
{
    int saved = errno;
    int e = SSL_get_error(t->ssl, ret);
    switch (e) {
    case SSL_ERROR_WANT_READ:
        t->events = POLLIN;
        return 0;
    case SSL_ERROR_WANT_WRITE:
        t->events = POLLOUT;
        return 0;
    case SSL_ERROR_ZERO_RETURN:
        snprintf(t->err, sizeof(t->err), "%s: the peer closed the session (close_notify)", what);
        return TLS_EOF;
    case SSL_ERROR_SYSCALL:
        if (ERR_peek_error() == 0) { /* no TLS reason: the socket's own error, or EOF */
            if (saved && saved != EAGAIN) {
                snprintf(t->err, sizeof(t->err), "%s: %s", what, strerror(saved));
                return t->failed = -saved;
            }
            snprintf(t->err, sizeof(t->err), "%s: the peer closed the connection", what);
            return t->failed = -ECONNRESET;
        }
        __attribute__((fallthrough)); /* OpenSSL said why */
    default:
        if (ERR_GET_REASON(ERR_peek_last_error()) == SSL_R_UNEXPECTED_EOF_WHILE_READING) {
            /* TCP closed without close_notify: what most clients do when they just go */
            snprintf(t->err, sizeof(t->err),
                     "%s: the peer closed the connection (no "
                     "close_notify)",
                     what);
            ERR_clear_error();
            return t->failed = -ECONNRESET;
        }
        set_reason(t, what, e);
        ERR_clear_error();
        return t->failed = -EPROTO;
    }
}

/* A server whose client has not sent a byte yet waits without asking OpenSSL: the first
 * SSL_do_handshake sets up ~50 KB of buffers, which a silent (or hostile) client should
 * not cost. true: go on; false: wait for POLLIN. */
static bool client_has_spoken(struct zc_tls *t)
{
    char c;
    if (t->started || !SSL_is_server(t->ssl))
        return true;
    ssize_t n = recv(t->fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
        t->events = POLLIN;
        return false;
    }
    t->started = true; /* a byte, EOF or an error: OpenSSL will say which */
    return true;
}

/* The handshake is over (by zc_tls_handshake, or inside a first SSL_read/SSL_write):
 * note whether the kernel took the keys, and start reading ahead. */
static void handshake_finished(struct zc_tls *t)
{
    t->handshake_done = true;
    /* Did the kernel take the keys? (OpenSSL tried, if SSL_OP_ENABLE_KTLS was set.) */
    t->ktls_send = BIO_get_ktls_send(SSL_get_wbio(t->ssl));
    /* Read ahead from now on: one read() fills a ZC_TLS_READ_BYTES buffer with several
     * records instead of one read per record. Not before: a stalled handshake must not
     * hold a big buffer (test_tls measures it). RELEASE_BUFFERS frees it when drained. */
    SSL_set_read_ahead(t->ssl, 1);
    SSL_set_default_read_buffer_len(t->ssl, ZC_TLS_READ_BYTES);
}

/* After a successful read or write: did that call finish the handshake? */
static void check_handshake(struct zc_tls *t)
{
    if (!t->handshake_done && SSL_is_init_finished(t->ssl))
        handshake_finished(t);
}

int zc_tls_handshake(struct zc_tls *t)
{
    if (t->failed)
        return t->failed;
    if (t->handshake_done)
        return 1;
    if (!client_has_spoken(t))
        return 0;
    ERR_clear_error();
    int ret = SSL_do_handshake(t->ssl);
    if (ret == 1) {
        handshake_finished(t);
        t->events = 0;
        return 1;
    }
    int rc = zc__tls_result(t, ret, "handshake");
    if (rc == TLS_EOF) /* a close_notify instead of a handshake */
        return t->failed = -ECONNRESET;
    return rc;
}

short zc_tls_events(const struct zc_tls *t)
{
    return t->events;
}

const char *zc_tls_error(const struct zc_tls *t)
{
    return t->err[0] ? t->err : "no error";
}

ssize_t zc_tls_read(struct zc_tls *t, void *buf, size_t len)
{
    size_t n = 0;
    if (t->failed)
        return t->failed == -ECONNRESET ? 0 : t->failed; /* the end, said again */
    ERR_clear_error();
    if (SSL_read_ex(t->ssl, buf, len, &n) == 1) {
        check_handshake(t);
        return (ssize_t)n;
    }
    int rc = zc__tls_result(t, 0, "read");
    if (rc == 0)
        return -EAGAIN;
    return rc == TLS_EOF || rc == -ECONNRESET ? 0 : rc; /* EOF: the stream ended */
}

int zc__tls_stage_alloc(struct zc_tls *t)
{
    if (!t->stage && !(t->stage = malloc(ZC_TLS_STAGING_BYTES)))
        return -ENOMEM;
    return 0;
}

void zc__tls_stage_release(struct zc_tls *t)
{
    if (t->off == t->fill) {
        free(t->stage);
        t->stage = NULL;
        t->off = t->fill = 0;
    }
}

/* Put a buffering filter between OpenSSL and the socket for the length of a flush, so
 * that records leave in big write()s instead of one write() (and one TCP segment, and one
 * wake-up of the reader) per 16 KiB record. Only after the handshake (OpenSSL buffers its
 * own flights) and never under kernel TLS (the kernel wants each record as it comes).
 * Without memory for it, records simply go one by one. */
static void wbuf_push(struct zc_tls *t)
{
    if (t->wbuf || !t->handshake_done || t->ktls_send)
        return;
    BIO *sock = SSL_get_wbio(t->ssl), *buf = BIO_new(BIO_f_buffer());
    if (!buf || BIO_set_write_buffer_size(buf, ZC_TLS_WRITE_BYTES) != 1 || !BIO_up_ref(sock)) {
        BIO_free(buf);
        ERR_clear_error();
        return;
    }
    SSL_set0_wbio(t->ssl, BIO_push(buf, sock)); /* the chain holds its own ref to sock */
    t->wbuf = buf;
}

/* Back to the bare socket once everything is out: an idle session holds no buffer. */
static void wbuf_pop(struct zc_tls *t)
{
    BIO *sock = BIO_next(t->wbuf);
    if (!BIO_up_ref(sock))
        return;                  /* keep the filter: correct, only not freed */
    SSL_set0_wbio(t->ssl, sock); /* frees the filter and its ref to sock */
    t->wbuf = NULL;
}

/* Push what the filter holds to the socket: 1 empty, 0 wait, < 0 error. */
static int wbuf_flush(struct zc_tls *t)
{
    BIO *w = SSL_get_wbio(t->ssl);
    if (BIO_flush(w) > 0)
        return 1;
    if (BIO_should_retry(w)) {
        t->events = POLLOUT;
        return 0;
    }
    int e = errno ? errno : EPIPE; /* the socket's error, set by the socket BIO */
    snprintf(t->err, sizeof(t->err), "write: %s", strerror(e));
    return t->failed = -e;
}

int zc_tls_flush(struct zc_tls *t)
{
    if (t->failed)
        return t->failed;
    if (t->off < t->fill)
        wbuf_push(t);
    while (t->off < t->fill) {
        size_t w = 0;
        ERR_clear_error();
        if (SSL_write_ex(t->ssl, t->stage + t->off, t->fill - t->off, &w) == 1) {
            t->off += w;
            t->stats.copied += w;
            check_handshake(t);
            continue;
        }
        int rc = zc__tls_result(t, 0, "write");
        if (rc == 0 && t->events == POLLIN)
            t->stats.want_read_in_write++;
        if (rc == TLS_EOF)
            return t->failed = -EPIPE; /* the peer closed: nothing more can be sent */
        return rc;
    }
    if (t->wbuf) {
        int rc = wbuf_flush(t);
        if (rc <= 0)
            return rc;
        wbuf_pop(t);
    }
    zc__tls_stage_release(t);
    return 1;
}

size_t zc_tls_pending(const struct zc_tls *t)
{
    return t->fill - t->off + (t->wbuf ? (size_t)BIO_wpending(t->wbuf) : 0);
}

ssize_t zc_tls_writev(struct zc_tls *t, const struct iovec *iov, int iovcnt)
{
    int rc = zc_tls_flush(t);
    if (rc <= 0)
        return rc < 0 ? rc : -EAGAIN;
    if ((rc = zc__tls_stage_alloc(t)) < 0)
        return rc;
    size_t n = 0;
    for (int i = 0; i < iovcnt && n < ZC_TLS_STAGING_BYTES; i++) {
        size_t take =
            iov[i].iov_len < ZC_TLS_STAGING_BYTES - n ? iov[i].iov_len : ZC_TLS_STAGING_BYTES - n;
        memcpy(t->stage + n, iov[i].iov_base, take);
        n += take;
    }
    t->off = 0;
    t->fill = n;
    rc = zc_tls_flush(t); /* 0 is fine: the bytes are ours now, flushed later */
    return rc < 0 ? rc : (ssize_t)n;
}

int zc_tls_shutdown(struct zc_tls *t)
{
    int rc = zc_tls_flush(t); /* also takes the write buffer away: close_notify goes direct */
    if (rc <= 0)
        return rc;
    ERR_clear_error();
    int ret = SSL_shutdown(t->ssl);
    if (ret >= 0)
        return 1; /* 0: ours is sent, theirs not awaited (we are closing anyway) */
    rc = zc__tls_result(t, ret, "shutdown");
    return rc == TLS_EOF ? 1 : rc;
}

bool zc_tls_ktls_send(const struct zc_tls *t)
{
    return t->ktls_send;
}

const char *zc_tls_version(const struct zc_tls *t)
{
    return SSL_get_version(t->ssl);
}

const char *zc_tls_cipher(const struct zc_tls *t)
{
    const SSL_CIPHER *c = SSL_get_current_cipher(t->ssl);
    return c ? SSL_CIPHER_standard_name(c) : "(none)";
}

int zc_tls_peer_subject(const struct zc_tls *t, uint8_t **der, size_t *len)
{
    X509 *cert = SSL_get0_peer_certificate(t->ssl);
    if (!cert)
        return -ENOENT;
    const X509_NAME *name = X509_get_subject_name(cert);
    int n = i2d_X509_NAME(name, NULL);
    if (n <= 0)
        return -ENOMEM;
    uint8_t *buf = malloc((size_t)n), *p = buf;
    if (!buf || i2d_X509_NAME(name, &p) != n) {
        free(buf);
        return -ENOMEM;
    }
    *der = buf;
    *len = (size_t)n;
    return 0;
}

void zc_tls_get_stats(const struct zc_tls *t, struct zc_tls_stats *out)
{
    *out = t->stats;
}
