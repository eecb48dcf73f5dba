/*
 * zc_tls_int.h - a TLS session's insides, shared by tls_conn.c (handshake, read, write)
 * and tls_out.c (the output queue through TLS).
 *
 *   struct zc_tls
 *   +-- ssl, fd                     OpenSSL's session over the socket
 *   +-- stage[off .. fill)          bytes taken, not yet accepted by SSL_write
 *   |                               (after WANT_WRITE/WANT_READ OpenSSL must be called again
 *   |                                with the same bytes: they stay here until it takes them)
 *   +-- wbuf                        while sending: a BIO_f_buffer between OpenSSL and the
 *   |                               socket, so 16 KiB records leave in 64 KiB write()s
 *   +-- events                      what the last call that could not finish waits for
 *   +-- ktls_send                   kernel TLS carries sends: file ranges by SSL_sendfile
 */
#ifndef ZC_TLS_INT_H
#define ZC_TLS_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/ssl.h>

#include "zc_params.h"
#include "zc_tls.h"

struct zc_tls_ctx {
    SSL_CTX *ssl_ctx;
    bool server;
    bool check_name; /* clients: ssl.endpoint.identification.algorithm = https */
};

struct zc_tls {
    SSL *ssl;
    int fd;
    short events;
    bool started; /* servers: the client has sent something (see zc_tls_handshake) */
    bool handshake_done;
    bool ktls_send;
    int failed;     /* 0, or the error every later call returns (-EPROTO, -ECONNRESET, ...) */
    uint8_t *stage; /* ZC_TLS_STAGING_BYTES while bytes are pending, else NULL */
    BIO *wbuf;      /* the write-buffering filter while a flush is in progress, else NULL */
    size_t off, fill;
    struct zc_tls_stats stats;
    char err[ZC_TLS_ERR_BYTES];
};

/* Turn an OpenSSL result (ret of SSL_read/SSL_write/SSL_do_handshake/SSL_sendfile, <= 0)
 * into ours: 0 and t->events set for WANT_READ/WANT_WRITE, else < 0 with t->err set and
 * the session marked failed. `what` names the operation for the message. */
int zc__tls_result(struct zc_tls *t, int ret, const char *what);

/* Allocate the staging buffer if needed: 0 or -ENOMEM. */
int zc__tls_stage_alloc(struct zc_tls *t);
/* Free it once empty (idle connections hold no staging memory). */
void zc__tls_stage_release(struct zc_tls *t);

#endif
