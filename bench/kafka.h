/*
 * kafka.h - what the three parts of bench_kafka share (not a library: one program).
 *
 *   bench_kafka.c     options, produce (plain and idempotent), the probe, main
 *   kafka_conn.c      one blocking Kafka connection: a request out, its answer in, through
 *                     libbrk_kp; ApiVersions, Metadata, InitProducerId; choosing versions
 *   kafka_consume.c   Fetch from the page cache, on bench_consume (bench.h)
 *   kafka_session.c   one consumer of N partitions, with and without fetch sessions
 *   kafka_spread.c    Produce spread over N partitions, K batches a request, or one
 *   kafka_cluster.c   a cluster: partition 0's leader, one record's end-to-end latency
 *   kafka_failover.c  a cluster: the leader killed under a stream of acks=all produces
 *
 * bench_kafka speaks Kafka with the project's generated codec (libbrk_kp,
 * broker/kafka/codec) and nothing else: no client library sits between the load and the
 * broker. It learns what the broker offers from ApiVersions and uses only that.
 */
#ifndef BENCH_KAFKA_H
#define BENCH_KAFKA_H

#include <stdbool.h>
#include <stdint.h>

#include "bench.h"
#include "kp_api.h"

#define KAFKA_MAX_FRAME   (64u << 20) /* the largest answer we read */
#define KAFKA_CLIENT_ID   "bench_kafka"
#define KAFKA_KEYS        64          /* API keys 0..63: every key the codec speaks */
#define KAFKA_PRODUCE_MAX 11          /* Kafka 3.9's highest Produce, the default's ceiling */
#define KAFKA_FETCH_MAX   17          /* Kafka 3.9's highest Fetch */
#define KAFKA_FETCH_ID_MIN 13         /* Fetch names topics by id from v13 (Metadata v10+) */
#define KAFKA_METADATA_ID_MIN 10      /* the first Metadata version that gives topic ids */

/* --version: a number, or one of these. */
#define KAFKA_V_DEFAULT  (-1) /* the highest the broker offers that we can use */
#define KAFKA_V_CLASSIC  (-2) /* the highest non-flexible one */
#define KAFKA_V_FLEXIBLE (-3) /* the highest flexible one (KIP-482) */

/* Errors of our own, beside -errno, KC_* and KP_*: each is explained on stderr first. */
#define KAFKA_EREFUSED    (-1900) /* the broker answered with a Kafka error code */
#define KAFKA_ENOTOFFERED (-1901) /* the broker does not offer the API or version needed */

struct kafka_opts {
    const char *mode;
    int port;
    const char *topic;
    const char *name;
    int64_t count;
    int64_t size;
    int64_t batch;
    int64_t acks;
    int64_t window;
    int64_t producers;
    int64_t ms;
    int64_t max_bytes;
    int version;      /* a number, or KAFKA_V_* */
    bool idempotent;
    bool verify;
    int64_t partitions; /* sessions: the topic's partitions, all consumed; spread: the
                           partitions written to */
    int64_t per_request; /* spread: batches (partitions) per Produce request */
    bool sessions;      /* sessions: incremental fetch sessions on (KIP-227) */
    int64_t trickle;    /* sessions: records a second produced meanwhile (0: idle) */
    int64_t max_wait;   /* sessions: the Fetch's max_wait_ms */
    int64_t replication; /* leader: create the topic with this replication factor (0: no) */
    int64_t min_insync;  /* leader: its min.insync.replicas (0: the broker's default) */
    int64_t brokers;     /* leader: wait for this many live brokers and a full ISR */
    const char *bootstrap; /* failover: every broker's port, "9092,9093,9094" */
    int64_t kill_pid;    /* failover: the leader's process */
    int kill_signal;     /* failover: SIGKILL or SIGTERM */
    int64_t warm_ms;     /* failover: the steady stream before the signal */
    int64_t after_ms;    /* failover: the stream after the first ack at the new leader */
    int64_t deadline_ms; /* failover: no ack at a new leader within this: a failure */
};

/* What ApiVersions said: per key, offered or not, and the range. */
struct kafka_versions {
    bool has[KAFKA_KEYS];
    int16_t min[KAFKA_KEYS], max[KAFKA_KEYS];
};

/* One blocking connection for requests answered one at a time. */
struct kafka_conn {
    int fd;
    int32_t corr;      /* the next correlation id */
    struct kc_writer out;
    uint8_t *in;       /* the last answer's frame body (owned; slices point into it) */
    size_t cap;
};

/* What Metadata said of our topic. */
struct kafka_topic {
    struct kp_uuid id; /* all zero when the broker gave none (Metadata < v10) */
    bool has_id;
};

/* ---- kafka_conn.c ---------------------------------------------------------------------- */

/* Connect to 127.0.0.1:port (blocking, a receive timeout of BENCH_TIMEOUT_MS). 0 or -errno.
 * kafka__close frees whatever kafka__connect and the calls made. */
int kafka__connect(int port, struct kafka_conn *c);
void kafka__close(struct kafka_conn *c);

/* Send one request (its correlation id: c->corr, then incremented). 0 or an error. */
int kafka__send(struct kafka_conn *c, int16_t key, int16_t version, const void *msg);
/*
 * Read one answer frame into c->in and decode it as (key, version); its correlation id
 * must be corr. 0 and *r (kp_response_fini it; its slices point into c->in, valid until
 * the next read), or: KAFKA_EREFUSED when the broker closed the connection (said on
 * stderr), KC_EMALFORMED, -errno, -ETIMEDOUT.
 */
int kafka__recv(struct kafka_conn *c, int16_t key, int16_t version, int32_t corr,
                struct kp_response *r);
/* kafka__send then kafka__recv. */
int kafka__call(struct kafka_conn *c, int16_t key, int16_t version, const void *msg,
                struct kp_response *r);

/* ApiVersions v0 (every broker answers it): what the broker offers. */
int kafka__api_versions(struct kafka_conn *c, struct kafka_versions *v);

/*
 * The version to use for key: want (a number, or KAFKA_V_*) among what the broker offers,
 * in [lo, hi] (what this generator can send). 0 and *out, or KAFKA_ENOTOFFERED with the
 * reason on stderr ("the broker does not offer a flexible Produce: it serves v0-7").
 */
int kafka__pick(const struct kafka_versions *v, int16_t key, int want, int16_t lo, int16_t hi,
                int16_t *out);
/* The same choice, silently: the version, or -1. */
int16_t kafka__choose(const struct kafka_versions *v, int16_t key, int want, int16_t lo,
                      int16_t hi);
/* The highest Fetch version usable with what the broker offers (ids need Metadata v10). */
int16_t kafka__fetch_hi(const struct kafka_versions *v);

/* Metadata for topic (created by the broker if missing): it must have a partition 0. */
int kafka__metadata(struct kafka_conn *c, const struct kafka_versions *v, const char *topic,
                    struct kafka_topic *t);
/* InitProducerId (no transactional id): a producer id and epoch for idempotence. */
int kafka__init_producer_id(struct kafka_conn *c, const struct kafka_versions *v,
                            int64_t *producer_id, int16_t *epoch);

/* A Kafka error code in an answer: say it on stderr (api, code, name, message); returns
 * KAFKA_EREFUSED. */
int kafka__refused(const char *what, int16_t code, struct kc_slice message);
/* Kafka's name for an error code ("OUT_OF_ORDER_SEQUENCE_NUMBER"), or "?". */
const char *kafka__error_name(int16_t code);
/* A message for any of our return codes. */
const char *kafka__strerror(int err);

/* ---- kafka_consume.c ------------------------------------------------------------------- */

/* Fetch from offset 0 to the end and round again for o->ms; RESULT and CONSUME lines. */
int kafka__run_consume(const struct kafka_opts *o, const struct kafka_versions *v,
                       const struct kafka_topic *t);

/* ---- kafka_session.c ------------------------------------------------------------------- */

/* One consumer of o->partitions partitions for o->ms, sessions on or off, idle or with a
 * trickle; RESULT and SESSION lines. */
int kafka__run_sessions(const struct kafka_opts *o, const struct kafka_versions *v,
                        const struct kafka_topic *t);

/* ---- kafka_spread.c -------------------------------------------------------------------- */

/* Produce o->count records spread over o->partitions partitions, o->per_request batches of
 * o->batch records a request (one batch of all of them when o->partitions is 1); every
 * answer checked. RESULT and SPREAD lines. */
int kafka__run_spread(const struct kafka_opts *o, const struct kafka_versions *v,
                      const uint8_t *value);

/* ---- kafka_cluster.c ------------------------------------------------------------------- */

/* Where partition 0 of a topic is led, as Metadata says. */
struct kafka_leader {
    int32_t id, epoch;  /* -1: no leader */
    int port;           /* the leader's, from Metadata's broker list */
    int32_t replicas, isr, brokers;
};

/* Metadata (no auto-create) from the broker on port: 0 and *l; KC_EEMPTY when the partition
 * has no leader (yet); -errno when that broker does not answer; a refusal. */
int kafka__leader_lookup(int port, const struct kafka_versions *v, const char *topic,
                         struct kafka_leader *l);
/* CreateTopics when o->replication > 0, then Metadata until settled; a LEADER line. */
int kafka__run_leader(const struct kafka_opts *o, const struct kafka_versions *v);
/* One record at a time, acks=all, timed until a long-polling consumer sees it; RESULT. */
int kafka__run_e2e(const struct kafka_opts *o, const struct kafka_versions *v,
                   const uint8_t *value);
/* The Produce version to send (3..11, the highest offered), or -1. */
int16_t kafka__produce_version(const struct kafka_versions *v);
/* A RecordBatch of one record of o->size bytes of value (free *out). */
int kafka__one_record(const struct kafka_opts *o, const uint8_t *value, uint8_t **out,
                      size_t *len);
/* Send one acks=all Produce of batch to partition 0 of topic; its correlation id is the
 * connection's c->corr before the call. */
int kafka__produce_one(struct kafka_conn *c, int16_t version, const char *topic,
                       const uint8_t *batch, size_t len);
/* Read that Produce's answer: 0 and the partition's *code and *base, or an error. */
int kafka__produce_answer(struct kafka_conn *c, int16_t version, int32_t corr, int16_t *code,
                          int64_t *base);

/* ---- kafka_failover.c ------------------------------------------------------------------ */

/* The leader signalled under a stream of single-record acks=all produces; RESULT and
 * FAILOVER lines. */
int kafka__run_failover(const struct kafka_opts *o, const struct kafka_versions *v,
                        const uint8_t *value);

#endif
