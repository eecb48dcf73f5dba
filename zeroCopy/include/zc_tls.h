/*
 * zc_tls.h - TLS on a non-blocking socket (OpenSSL 3), with kernel TLS where the kernel
 * has it, and the output queue (struct zc_out) sent through it.
 *
 * (Contract header: zeroCopy/README.md section 6 and src/tls_*.c teach; this states the rules.)
 *
 * Why this lives in zeroCopy: TLS breaks sendfile. The bytes on the wire must be
 * encrypted, so a file range can no longer go page cache -> socket untouched:
 *
 *   plaintext:   page cache ---------------------------------------> socket   (sendfile)
 *   TLS:         page cache --pread--> buffer --encrypt (SSL_write)--> socket   (a copy)
 *   kernel TLS:  page cache --------- kernel encrypts ---------------> socket   (SSL_sendfile)
 *
 * With kernel TLS (Linux "tls" ULP, CONFIG_TLS) OpenSSL hands the session keys to the
 * kernel after the handshake, and SSL_sendfile keeps zero copy. Without it, a file range
 * is read into a bounded buffer and SSL_write'n: the fallback. zc_out_send_tls chooses per
 * connection, after the handshake, and says which it used (zc_tls_ktls_send).
 *
 * Settings are Kafka's names (zc_tls_config_set): ssl.keystore.type=PEM,
 * ssl.keystore.location (private key and certificate chain in one PEM file),
 * ssl.key.password, ssl.truststore.type=PEM, ssl.truststore.location,
 * ssl.client.auth=none|requested|required, ssl.enabled.protocols (TLSv1.2, TLSv1.3 only),
 * ssl.cipher.suites (IANA names), ssl.endpoint.identification.algorithm (clients), and
 * librdkafka's ssl.certificate.location / ssl.key.location (a client's certificate and key
 * in two files).
 *
 * Rules:
 *  - Every call is non-blocking. A call that returns 0 (or -EAGAIN where it returns a
 *    count) must be repeated once the socket is ready for zc_tls_events(t): POLLIN,
 *    POLLOUT or both. TLS can need to *read* in order to write (a renegotiation, a
 *    post-handshake message) and to write in order to read: always wait for what
 *    zc_tls_events says, not for what the call was about.
 *  - Decrypted bytes can wait inside OpenSSL with nothing left on the socket: after
 *    readability, call zc_tls_read until it returns -EAGAIN, or epoll will not wake you
 *    for them.
 *  - zc_tls_writev takes bytes into the session's buffer (at most 64 KiB at a time) and
 *    returns how many; they are on their way, in order, but the connection owes them to
 *    the socket until zc_tls_flush returns 1 (zc_tls_pending counts them). Never write to
 *    the socket around the session.
 *  - A session belongs to one thread at a time. A context (struct zc_tls_ctx) is shared by
 *    all the sessions made from it, from any thread; free it after them.
 *  - zc_tls_free does not close the socket. After an error the session is unusable: free
 *    it and close the socket.
 */
#ifndef ZC_TLS_H
#define ZC_TLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "zc.h"

/* Kafka-style settings. NULL means Kafka's default; strings are not copied (keep them
 * alive until zc_tls_ctx_new returns). */
struct zc_tls_config {
    const char *keystore_type;           /* ssl.keystore.type: "PEM" (the only one here) */
    const char *keystore_location;       /* ssl.keystore.location: PEM key + certificate chain */
    const char *keystore_password;       /* ssl.keystore.password: refused with PEM, as Kafka */
    const char *key_password;            /* ssl.key.password: for an encrypted private key */
    const char *truststore_type;         /* ssl.truststore.type: "PEM" */
    const char *truststore_location;     /* ssl.truststore.location: CA certificates, PEM */
    const char *truststore_password;     /* ssl.truststore.password: refused with PEM */
    const char *client_auth;             /* ssl.client.auth: none (default), requested, required */
    const char *enabled_protocols;       /* ssl.enabled.protocols: default "TLSv1.2,TLSv1.3" */
    const char *cipher_suites;           /* ssl.cipher.suites: IANA names; NULL: OpenSSL's list */
    const char *endpoint_identification; /* ssl.endpoint.identification.algorithm: "https"
                                          * (default: check the server's name) or "" */
    /* librdkafka's client names, for a certificate and its key in two PEM files (what
     * openssl and most CAs hand out) instead of one keystore: */
    const char *certificate_location; /* ssl.certificate.location: certificate + chain */
    const char *key_location;         /* ssl.key.location: its private key (NULL: in the
                                       * certificate's file) */
    bool no_ktls; /* not a Kafka setting: never try kernel TLS (benchmarks, tests) */
};

/* Set one setting by its Kafka name. 0, or -ENOENT if key is not one of the above. */
int zc_tls_config_set(struct zc_tls_config *cfg, const char *key, const char *value);

struct zc_tls_ctx;

/*
 * A server (server = true) or client context from cfg. A server needs a keystore; a
 * client needs a truststore to check the server against (else the system's CAs), and a
 * keystore only for mutual TLS. 0, or -EINVAL with the reason in err[errcap] ("ssl.enabled.
 * protocols: TLSv1.1 is not supported", "cannot read the private key in ...: bad
 * decrypt", ...), -ENOMEM.
 */
int zc_tls_ctx_new(const struct zc_tls_config *cfg, bool server, struct zc_tls_ctx **out, char *err,
                   size_t errcap);
void zc_tls_ctx_free(struct zc_tls_ctx *ctx);

/* Does this kernel offer kernel TLS (the "tls" upper-layer protocol)? Reads
 * /proc/sys/net/ipv4/tcp_available_ulp. */
bool zc_tls_ktls_available(void);

struct zc_tls;

/* A session over the connected non-blocking socket fd. server_name (clients) is what the
 * server's certificate must name (DNS name or IP address; checked unless the context's
 * endpoint identification is ""), also sent as SNI. 0, -ENOMEM. */
int zc_tls_new(struct zc_tls_ctx *ctx, int fd, const char *server_name, struct zc_tls **out);
/* Free the session (not the socket; no close_notify: call zc_tls_shutdown first for a
 * clean close). NULL is fine. */
void zc_tls_free(struct zc_tls *t);

/* Advance the handshake: 1 done, 0 wait for zc_tls_events(t), < 0 failed (-EPROTO: a TLS
 * error, -ECONNRESET: the peer went away, -errno) with the reason in zc_tls_error(t). A
 * peer that never finishes costs one session's buffers (README: measured) until the
 * caller's own timeout frees it. */
int zc_tls_handshake(struct zc_tls *t);

/* POLLIN and/or POLLOUT: what the last call that returned 0/-EAGAIN waits for. */
short zc_tls_events(const struct zc_tls *t);

/* Why the session failed (static or session-owned text; valid until zc_tls_free). */
const char *zc_tls_error(const struct zc_tls *t);

/* Read decrypted bytes: > 0, 0 when the peer closed (close_notify, or EOF: see
 * zc_tls_error for which), -EAGAIN (wait), < 0 error. */
ssize_t zc_tls_read(struct zc_tls *t, void *buf, size_t len);

/* Take up to 64 KiB (ZC_TLS_STAGING_BYTES, src/zc_params.h) of iov into the session and
 * start sending them: the count taken, -EAGAIN if earlier bytes still fill the buffer
 * (wait, flush), < 0 error. */
ssize_t zc_tls_writev(struct zc_tls *t, const struct iovec *iov, int iovcnt);
/* Send the file range [pos, pos+len): by SSL_sendfile under kernel TLS (zero copy), else
 * by pread of up to 64 KiB into the session and SSL_write (the fallback). Returns the count
 * sent or taken (call again from pos + count for the rest), -EAGAIN (wait, as for
 * zc_tls_writev), -EIO if the file ends before pos + len, < 0 error. zc_out_send_tls does
 * this for the queue's file pieces. */
ssize_t zc_tls_sendfile(struct zc_tls *t, int fd, off_t pos, size_t len);

/* Push what the session holds: 1 all sent, 0 wait, < 0 error. */
int zc_tls_flush(struct zc_tls *t);
/* Bytes taken by zc_tls_writev (or by zc_out_send_tls) not yet handed to the socket. */
size_t zc_tls_pending(const struct zc_tls *t);

/* Send a clean close_notify: 1 sent, 0 wait, < 0 error. */
int zc_tls_shutdown(struct zc_tls *t);

/* After the handshake: is kernel TLS carrying this session's sends (SSL_sendfile)? */
bool zc_tls_ktls_send(const struct zc_tls *t);
/* "TLSv1.3", "TLS_AES_256_GCM_SHA384" (static). */
const char *zc_tls_version(const struct zc_tls *t);
const char *zc_tls_cipher(const struct zc_tls *t);

/* The DER of the peer certificate's subject name (for broker/security's principal), in a
 * malloc'ed buffer: 0, -ENOENT (no certificate: Kafka's User:ANONYMOUS), -ENOMEM. */
int zc_tls_peer_subject(const struct zc_tls *t, uint8_t **der, size_t *len);

/* What one session has sent, for demos and tests. */
struct zc_tls_stats {
    uint64_t ktls_sendfile;      /* bytes sent by SSL_sendfile (kernel TLS, zero copy) */
    uint64_t copied;             /* bytes through the staging buffer and SSL_write */
    uint64_t file_copied;        /* of those, read from files (the fallback: pread) */
    uint64_t want_read_in_write; /* times a write had to wait for the socket to be readable */
};
void zc_tls_get_stats(const struct zc_tls *t, struct zc_tls_stats *out);

/*
 * zc_out_send, through TLS: send as much of q as the session and socket take, in order.
 * File ranges go out with SSL_sendfile when kernel TLS carries the session (zero copy),
 * else by pread into the session's buffer and SSL_write. Same return values as
 * zc_out_send: 1 everything is sent (queue empty and the session's buffer flushed), 0 wait
 * for zc_tls_events(t), < 0 the connection is broken (-EIO: a file shorter than its
 * range). Pieces are finished (freed, released) once their bytes are in the session's
 * buffer or with the kernel. A queue must be sent through one transport for its life: all
 * zc_out_send, or all zc_out_send_tls.
 */
int zc_out_send_tls(struct zc_out *q, struct zc_tls *t);

#endif
