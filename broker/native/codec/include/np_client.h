/*
 * np_client.h - a blocking client for the native protocol, with pipelining.
 *
 * Two ways to use it:
 *
 *  1. One call at a time: np_client_produce(), np_client_consume(), ... send one request,
 *     wait for the response with the same correlation id, and decode it.
 *
 *  2. Pipelined (the load test): encode many requests into np_client_out() with the np_encode_*
 *     functions and correlation ids from np_client_next_corr(), np_client_flush() them, then
 *     np_client_recv() responses one by one. The broker answers every connection in order,
 *     so responses come back in the order the requests went out (acks=0 produces, which get
 *     no answer on success, are simply absent).
 *
 * Security (a broker's SSL, SASL_PLAINTEXT and SASL_SSL listeners), in this order after
 * np_client_connect:
 *
 *     np_client_connect -> np_client_start_tls (TLS listeners) -> np_client_sasl_login
 *                          (src/client_tls.c)                   (SASL listeners;
 *                                                                 src/client_sasl.c)
 *
 * Bytes move through a transport (struct np_transport): the socket itself, or a TLS session
 * over it once np_client_start_tls succeeded. Everything above the transport - framing,
 * pipelining, timeouts - is the same for both. The TLS and SASL parts live in their own
 * object files, so a program that never calls them links neither OpenSSL nor
 * broker/security.
 *
 * Rules:
 *  - A client belongs to one thread; nothing inside locks.
 *  - Every wait is bounded by timeout_ms (-1 = forever), so a silent broker gives -ETIMEDOUT,
 *    never a hang. The socket is non-blocking inside; flush also reads what arrives meanwhile,
 *    so a pipelining client and a broker applying backpressure can never deadlock each other.
 *  - Returns: 0 on success; NP_ERR(code) when the broker answered with an error (its message,
 *    if any, is in errmsg); -errno for the network (-ECONNREFUSED, -ECONNRESET when the broker
 *    closed the connection, -ETIMEDOUT); KC_EMALFORMED when a response cannot be decoded.
 *    After a negative return other than NP_ERR the connection is no longer usable: close it.
 *  - Slices in decoded responses point into the client's input buffer: they are valid until
 *    the next call on the same client.
 */
#ifndef NP_CLIENT_H
#define NP_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/types.h>

#include "kc_buf.h"
#include "np.h"

#define NP_CLIENT_DEFAULT_ADDR      "127.0.0.1:9092"
#define NP_CLIENT_DEFAULT_TIMEOUT   30000       /* ms */
#define NP_CLIENT_MAX_FRAME_DEFAULT (256u << 20) /* largest response accepted */

struct np_client;
struct zc_tls;
struct zc_tls_ctx;

/* How bytes move between the client and the socket. Each call is non-blocking. */
struct np_transport {
    const char *name; /* "tcp", "tls" */
    /* > 0 bytes received, 0 the peer closed, -EAGAIN nothing yet, < 0 an error */
    ssize_t (*recv)(struct np_client *c, void *buf, size_t len);
    /* > 0 bytes taken (on their way, in order), -EAGAIN wait, < 0 an error */
    ssize_t (*send)(struct np_client *c, const void *buf, size_t len);
    /* every byte taken is on the socket: 1; 0 wait; < 0 an error */
    int (*flush)(struct np_client *c);
    /* what the last call that had to wait waits for (POLLIN/POLLOUT); `wanted` is what
     * that call was about (TLS may need the other direction) */
    short (*events)(const struct np_client *c, short wanted);
    /* free the transport's state (not the socket) */
    void (*close)(struct np_client *c);
};

struct np_client {
    int fd;
    const struct np_transport *tr; /* the socket's, or TLS's after np_client_start_tls */
    struct zc_tls *tls;   /* the TLS session (NULL: plaintext) */
    char host[256];       /* as given to np_client_connect: the name a TLS server must have */
    bool got_frame;       /* a whole response has arrived (tells a TLS alert from a frame) */
    int timeout_ms;
    uint32_t next_corr;
    size_t max_frame;
    struct kc_writer out; /* encoded requests not yet sent */
    uint8_t *in;          /* received bytes */
    size_t in_len;        /* bytes in `in` */
    size_t in_pos;        /* where the next unparsed frame starts */
    size_t in_cap;
    char errmsg[512];     /* the broker's message for the last NP_ERR return ("" if none);
                             TLS: why the handshake failed */
    int64_t err_log_start; /* with consume errors: the partition's log start and end */
    int64_t err_log_end;
    int async_err;        /* first error answered to an acks=0 produce (0: none) */
    char async_errmsg[512];
};

/* One response, pointing into the client's buffer (valid until the next call). */
struct np_frame {
    struct np_header h;
    const uint8_t *body; /* after the 14-byte header */
    size_t body_len;
};

/* "host:port", "[v6]:port" or "host" (port 9092) -> host[hcap], port[pcap]. -EINVAL. */
int np_client_parse_addr(const char *addr, char *host, size_t hcap, char *port, size_t pcap);

/* Connect to addr ("host:port") within timeout_ms. c is initialised either way; on failure
 * there is nothing to close. */
int np_client_connect(struct np_client *c, const char *addr, int timeout_ms);
void np_client_close(struct np_client *c);

/* ---- pipelining ------------------------------------------------------------------------ */

static inline uint32_t np_client_next_corr(struct np_client *c)
{
    return c->next_corr++;
}

static inline struct kc_writer *np_client_out(struct np_client *c)
{
    return &c->out;
}

/* Send everything encoded into np_client_out(); the writer is empty after success. */
int np_client_flush(struct np_client *c);
/* Receive the next response frame, whatever its correlation id. */
int np_client_recv(struct np_client *c, struct np_frame *f);
/* Is a whole response frame already buffered (np_client_recv would not wait)? */
int np_client_buffered(struct np_client *c);
/*
 * A frame's error as a return value: 0, or NP_ERR(code) with errmsg (and, for consume and
 * consume-batch, err_log_start/end) set from the error body; KC_EMALFORMED if that body
 * does not decode.
 */
int np_client_check(struct np_client *c, const struct np_frame *f);

/*
 * Raw bytes, for another framing over this client's connection, TLS and timeouts:
 * kafka_cli's Kafka-protocol admin client writes whole Kafka frames into np_client_out(),
 * np_client_flush()es them, and reads its answers with these two.
 *
 * np_client_peek_raw waits (within the timeout) until at least n received bytes are
 * buffered and points *p at them: 0; -ETIMEDOUT, -ECONNRESET (the peer closed), -errno;
 * KC_ETOOLARGE when n is over max_frame. *p is valid until the next call on c.
 * np_client_skip_raw drops the first n of them (at most what is buffered).
 */
int np_client_peek_raw(struct np_client *c, size_t n, const uint8_t **p);
void np_client_skip_raw(struct np_client *c, size_t n);

/* ---- one call at a time ---------------------------------------------------------------- */

int np_client_create_topic(struct np_client *c, const char *topic, int32_t partitions,
                           struct np_create_topic_resp *resp);
/* acks 0: returns once the request is sent. The broker answers such a produce only when it
 * fails; a later call that meets that answer keeps it in async_err / async_errmsg (the
 * first one) and carries on. To know that every acks=0 produce was processed, make any
 * answered call afterwards (np_client_ping): answers come in order. */
int np_client_produce(struct np_client *c, const struct np_produce_req *req,
                      struct np_produce_resp *resp);
int np_client_consume(struct np_client *c, const struct np_consume_req *req,
                      struct np_consume_resp *resp);
int np_client_commit(struct np_client *c, const struct np_commit_req *req);
int np_client_fetch_offset(struct np_client *c, const struct np_fetch_offset_req *req,
                           struct np_fetch_offset_resp *resp);
int np_client_produce_batch(struct np_client *c, const struct np_produce_batch_req *req,
                            struct np_produce_batch_resp *resp);
int np_client_consume_batch(struct np_client *c, const struct np_consume_batch_req *req,
                            struct np_consume_batch_resp *resp);
/* topic NULL: every topic. */
int np_client_metadata(struct np_client *c, const char *topic, struct np_metadata_resp *resp);
int np_client_ping(struct np_client *c, const void *payload, int32_t len);
int np_client_info(struct np_client *c, struct np_info_resp *resp);
/* Commands 10 and 11, one frame each (np_client_sasl_login does the whole exchange). The
 * handshake fills resp also when the broker refuses the mechanism (NP_ERR(
 * UNSUPPORTED_SASL_MECHANISM)): it still says what it offers. */
int np_client_sasl_handshake(struct np_client *c, const char *mechanism,
                             struct np_sasl_handshake_resp *resp);
int np_client_sasl_authenticate(struct np_client *c, const void *bytes, size_t len,
                                struct np_sasl_authenticate_resp *resp);

/* ---- security (src/client_tls.c, src/client_sasl.c) ------------------------------------ */

/*
 * Shake hands with TLS over the connected socket, within the client's timeout, using ctx
 * (zc_tls_ctx_new(cfg, false, ...): the CA to check the broker against, a client
 * certificate for mutual TLS). server_name (NULL: the host given to np_client_connect) is
 * what the broker's certificate must name, a DNS name or an IP address, unless ctx was made
 * with ssl.endpoint.identification.algorithm="". From then on every byte goes through the
 * session. 0; -EPROTO (a TLS failure: an untrusted or expired certificate, a wrong name, a
 * plaintext server's answer) or -ECONNRESET (the broker closed: a plaintext listener does
 * that to a TLS client), with the reason in errmsg; -ETIMEDOUT; -ENOMEM. ctx must outlive
 * the client.
 */
int np_client_start_tls(struct np_client *c, struct zc_tls_ctx *ctx, const char *server_name);

/*
 * Authenticate with SASL: sasl-handshake for mechanism ("PLAIN", "SCRAM-SHA-256",
 * "SCRAM-SHA-512"), then sasl-authenticate until the mechanism is done. 0 once the broker
 * accepted user/password. NP_ERR(UNSUPPORTED_SASL_MECHANISM) with what the broker offers
 * in errmsg; NP_ERR(SASL_AUTHENTICATION_FAILED) with the broker's message (the same for a
 * wrong password and an unknown user); -EACCES when the broker's last SCRAM message does
 * not prove that it knows the credential (not the broker it claims to be); -EINVAL for a
 * mechanism this client does not know; network errors as usual. After a failure the broker
 * closes the connection: close c. The password is copied only into the mechanism's state,
 * wiped before this returns; it is never sent in clear except inside PLAIN's message
 * (which is why PLAIN belongs on TLS).
 */
int np_client_sasl_login(struct np_client *c, const char *mechanism, const char *user,
                         const char *password);

/*
 * The client's half of a SASL exchange, whatever carries it (the native commands 10-11
 * here; Kafka's SaslAuthenticate in kafka_cli): step sends one message and gives back the
 * broker's answer in *reply (valid until the next step), or returns the carrier's error,
 * which np_sasl_exchange returns as is. mechanism is PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512
 * (-EINVAL otherwise). SCRAM's last answer must prove that the broker knows the credential:
 * -EACCES otherwise, with the reason in errmsg[cap]. The password is copied only into the
 * mechanism's state and wiped before this returns.
 */
typedef int (*np_sasl_step_fn)(void *arg, const uint8_t *msg, size_t len,
                               struct kc_slice *reply);
int np_sasl_exchange(const char *mechanism, const char *user, const char *password,
                     np_sasl_step_fn step, void *arg, char *errmsg, size_t cap);

/* A kc_slice over a C string (NULL -> null slice). */
static inline struct kc_slice np_str(const char *s)
{
    struct kc_slice sl = {(const uint8_t *)s, s ? (int32_t)strlen(s) : -1};
    return sl;
}

#endif
