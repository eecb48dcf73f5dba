/*
 * native.h - what the three parts of bench_native share (not a library: one program).
 *
 *   bench_native.c     options, set-up, produce (batched and durable), main
 *   native_rtt.c       the single-record round trip, paired with the raw ping-pong, with
 *                      the client on the serving loop's CPU and on another one
 *   native_consume.c   consume-batch from the page cache, on bench_consume (bench.h)
 *   native_handshake.c new connections per second: connect, TLS, SASL, one ping, close
 *
 * Everything here runs on the calling thread, except produce's pipes (one thread each,
 * each with its own native_ctx).
 */
#ifndef BENCH_NATIVE_H
#define BENCH_NATIVE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "bench.h"
#include "np.h"

#define NATIVE_MAX_FRAME (64u << 20)
#define NATIVE_CONSUME_WINDOW_MAX BENCH_CONSUME_WINDOW_MAX /* most requests in flight */
#define NATIVE_LOOP_THREAD "brk-net-" /* the broker's network threads: brk-net-<loop> */

struct native_opts {
    const char *mode;
    int port;
    const char *topic;
    const char *name;
    int64_t count;
    int64_t warmup;
    int64_t size;
    int64_t batch;
    int64_t acks;
    int64_t window;
    int64_t producers;
    int64_t ms;
    int64_t max_bytes;
    int64_t partitions;
    int64_t broker_pid; /* the broker's pid, to find its serving thread (0: unknown) */
    int64_t client_cpu; /* consume: pin this client there (-1: the scheduler decides) */
    bool verify;
    /* security: --tls-ca makes every connection TLS (checked against that CA, the broker
     * named localhost); --sasl-mechanism/--sasl-user log in, the password from
     * BENCH_SASL_PASSWORD (never argv) */
    const char *tls_ca;
    struct zc_tls_ctx *tls;
    const char *sasl_mech;
    const char *sasl_user;
    const char *sasl_password;
    bool np_client; /* produce through np_client (implied by TLS or SASL), see bench_native.c */
};

struct np_client;
struct zc_tls_ctx;

/* A connection to the broker as o says: TCP, then TLS and SASL when asked. 0, or the
 * error (the client's errmsg printed on stderr); nothing to close on failure. */
int native__connect(const struct native_opts *o, struct np_client *c);

/* One connection's requests: the same pre-built request, and what each answer must say. */
struct native_ctx {
    int cmd;              /* NP_PRODUCE or NP_PRODUCE_BATCH */
    uint32_t corr_sent;   /* next correlation id to send */
    uint32_t corr_recv;   /* the one the next response must carry */
    int32_t expect_count; /* produce-batch: records per batch */
    struct np_produce_req one;
    struct np_produce_batch_req many;
};

/* bench_pipe callbacks for produce and produce-batch: ctx is a struct native_ctx. */
extern const struct bench_pipe_ops native__ops;

/* Set c up for produce-batch of batch[0..batch_len) (batch NULL: produce of one record of
 * o->size bytes at value). The bytes must outlive c. */
void native__ctx_init(struct native_ctx *c, const struct native_opts *o, const uint8_t *batch,
                      size_t batch_len, const uint8_t *value);

/* A refused request: print the broker's message on stderr; returns NP_ERR(h->error). */
ssize_t native__refused(const struct np_header *h, const uint8_t *body, size_t len);

/* Why bench_serving_cpu could not tell which broker loop serves us, in words. */
const char *native__placement_why(int err);

/* The modes: 0 after printing their RESULT lines, or an error (np_strerror names it). */
int native__run_rtt(const struct native_opts *o, const uint8_t *value);
int native__run_consume(const struct native_opts *o);
int native__run_handshake(const struct native_opts *o);

#endif
