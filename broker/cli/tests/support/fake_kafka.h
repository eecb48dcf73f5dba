/*
 * fake_kafka.h - Kafka brokers that live in the test process, for testing kafka_cli's
 * Kafka client without a real broker: what it sends (which API, which version, to which
 * broker) and what it does with each answer (retries, routing, errors).
 *
 *   test thread                          fake broker threads (one per broker)
 *   cli_run_line("topics create x") ->   accept, read a frame, kp_request_decode,
 *                                        fk_world.handle(...) fills the answer (or a
 *                                        default handler does), kp_response_encode, send
 *   inspect w->log: (broker, api, version) of every request, in order
 *
 * A fake serves the versions its table says (ApiVersions is answered from it, with
 * Kafka's v0 fallback above api_versions_max), and can be told to stall (read and never
 * answer) or to close a connection on a request.
 *
 * Rules: the world's mutex guards the log and the scenario's counters; handlers run on the
 * fake's thread with it held. Every fake is stopped and its sockets closed by fk_stop.
 */
#ifndef FAKE_KAFKA_H
#define FAKE_KAFKA_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "kp_api.h"
#include "kp_errors.h"
#include "kp_msgs.h"

#define FK_BROKERS 3
#define FK_LOG     512
#define FK_TOPICS  4

struct fk_world;

enum fk_mode {
    FK_ANSWER = 0, /* answer every request */
    FK_STALL,      /* read requests, never answer */
    FK_CLOSE,      /* close the connection on the first request after ApiVersions */
};

struct fk_broker {
    struct fk_world *w;
    int id; /* the broker id it claims in Metadata */
    int lfd, port;
    char addr[32]; /* "127.0.0.1:<port>" */
    int stop[2];   /* a pipe: written to stop the thread */
    pthread_t thread;
    bool has[128]; /* the versions it serves */
    int16_t min[128], max[128];
    int16_t api_versions_max; /* above it: Kafka's v0 fallback answer */
    enum fk_mode mode;
};

struct fk_topic {
    const char *name;
    int npartitions;
    int32_t leader[8]; /* broker id per partition */
};

/* A scenario's handler: fill resp (a kp_new'ed struct kp_<api>_resp for req's API and
 * version; arrays from arena). Return 0 when handled, 1 to use the default handler,
 * -1 to close the connection instead of answering. Runs with w->mu held. */
typedef int (*fk_handler)(struct fk_world *w, struct fk_broker *b, const struct kp_request *req,
                          void *resp, struct kp_arena *arena);

struct fk_world {
    pthread_mutex_t mu;
    struct fk_broker b[FK_BROKERS];
    int nb;
    int32_t controller;  /* what Metadata says */
    int32_t coordinator; /* what FindCoordinator says */
    struct fk_topic topics[FK_TOPICS];
    int ntopics;
    fk_handler handle; /* NULL: defaults only */
    void *arg;         /* the scenario's own state */
    struct fk_log {
        int broker; /* id of the broker that got it */
        int16_t key, version;
    } log[FK_LOG];
    int nlog;
};

/* Start n brokers (ids 1..n) serving every version the codec has, controller and
 * coordinator broker 1, no topics. */
void fk_start(struct fk_world *w, int n);
void fk_stop(struct fk_world *w);
/* Change the scenario while the fakes run: lock, set fields, unlock. */
#define FK_SET(w, ...)                                                                             \
    do {                                                                                           \
        pthread_mutex_lock(&(w)->mu);                                                              \
        __VA_ARGS__;                                                                               \
        pthread_mutex_unlock(&(w)->mu);                                                            \
    } while (0)

/* Serve key at versions [min, max] only (min > max: not at all) on every broker. */
void fk_versions(struct fk_world *w, int16_t key, int16_t min, int16_t max);
/* How many requests of key broker id got (id 0: any broker), and the version of the last. */
int fk_count(struct fk_world *w, int id, int16_t key, int16_t *last_version);

/* The default answers (Metadata from the world's brokers and topics, FindCoordinator,
 * CreateTopics creating every topic as asked,
 * SaslHandshake and SaslAuthenticate accepting PLAIN alice/secret, and an empty success
 * for anything else), for handlers that change only part of an answer. */
int fk_default(struct fk_world *w, struct fk_broker *b, const struct kp_request *req, void *resp,
               struct kp_arena *arena);

/* ---- running kafka_cli against the world --------------------------------------------------- */

/* One kafka_cli line's outcome: its status, what it printed (malloc'ed), how long it took. */
struct fk_run {
    int status;
    char *out;
    char *err;
    int64_t ms;
};

/* Run line in-process with --bootstrap-server the world's first broker (-b points where
 * nothing listens) and timeout_ms for every wait; sasl_password non-NULL: SASL PLAIN as
 * alice with it. Free with fk_run_free. */
struct fk_run fk_cli(struct fk_world *w, const char *line, int timeout_ms,
                     const char *sasl_password);
void fk_run_free(struct fk_run *r);
/* Fail the test, showing both outputs, unless the status is status. */
void fk_expect_status(const struct fk_run *r, const char *line, int status);

#endif
