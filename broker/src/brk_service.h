/*
 * brk_service.h - the seam: what a protocol handler gets from the broker's core.
 *
 * The broker is one listener shared by two protocols. The connection layer (conn.c) is
 * protocol-neutral: it reads bytes, asks the connection's handler to cut them into frames,
 * hands each frame over, and sends what the handler answers, in order. The first bytes
 * of a connection choose its handler once and for all:
 *
 *   bytes 0-3 length, byte 4:  >= 0x80  native protocol (native.c, brk_native_proto)
 *                              <  0x80  Kafka protocol  (kafka_*.c, srv->kafka_proto;
 *                                        until it is set, the connection is closed with
 *                                        a log line)
 *
 * A handler serves requests with the shared services below; none of them knows which
 * protocol asked:
 *
 *   topics     brk_topic_get / brk_topic_create      (auto-create for Kafka's Metadata)
 *   produce    brk_produce                           (validate, append, ack now or after
 *                                                     fsync: group commit)
 *   fetch      brk_fetch_read + brk_wait_start       (file slices for sendfile, long-poll
 *                                                     woken by appends on any loop)
 *   offsets    brk_offsets_commit / _fetch / _foreach (__consumer_offsets, durable commits)
 *   responses  brk_resp_* and brk_slot_*             (in order; a response may be parked
 *                                                     and completed later)
 *
 * Threads. Each connection belongs to one network loop (a threadCore event loop on its own
 * thread); every brk_conn_*, brk_resp_* and brk_slot_* call, and every handler callback,
 * runs on that loop's thread. Work that finishes elsewhere (an fsync on the flusher thread,
 * an append on another loop that wakes a long-poll) comes back to the connection's loop as
 * a posted task (brk_async): a completion callback always runs on the connection's own
 * loop, so a handler never locks its own state.
 *
 * Lifetimes. A parked request (a produce waiting for fsync, a long-poll) owns its memory;
 * its completion callback is called exactly once, with alive = false if the connection
 * died meanwhile: then it must only free its memory (the slot and the connection are gone).
 * The connection's memory is kept until every such callback has run.
 *
 * Order. Requests on a connection are served one after another, in arrival order. A
 * response is written either at once (brk_resp_writer) or into a parked slot reserved in
 * its place (brk_resp_park); later responses queue behind a parked one, so the client sees
 * answers in request order, while the requests themselves keep being served: pipelined
 * acks=all produces share one fsync instead of waiting for one each.
 *
 * Read next: conn.c (the connection layer), native.c (a complete handler), produce.c,
 * fetch.c, offsets.c.
 */
#ifndef BRK_SERVICE_H
#define BRK_SERVICE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/queue.h>

#include "alog.h"
#include "brk.h"
#include "kc_buf.h"
#include "part.h"
#include "tcore.h"

struct brk_server;
struct brk_config;
struct brk_conn;
struct brk_slot;
struct brk_pstate;

/* ---- protocol handlers ----------------------------------------------------------------- */

struct brk_proto {
    const char *name;
    /*
     * Is a whole frame at the start of p[0..len)? 0 with *frame_len set; KC_ENEEDMORE; any
     * other negative: the stream is unusable. The handler may first queue an answer (a
     * "request too large" error, say); the connection then sends what is queued and closes.
     */
    int (*frame)(struct brk_conn *c, const uint8_t *p, size_t len, size_t *frame_len);
    /*
     * Serve one whole frame (p may be modified in place: produce rewrites base offsets; it
     * is valid only during the call). 0, or negative to close the connection once what is
     * queued has been sent.
     */
    int (*serve)(struct brk_conn *c, uint8_t *p, size_t len);
    /* The connection is being freed: free the handler's per-connection state. May be NULL. */
    void (*conn_fini)(struct brk_conn *c);
    /*
     * The broker is shutting down: answer now whatever the handler keeps parked in its own
     * state (brk_wait long-polls are finished by the core itself). Called once per
     * connection on its loop, before the buffered requests are served. May be NULL.
     */
    void (*drain)(struct brk_conn *c);
};

extern const struct brk_proto brk_native_proto;

/*
 * Plugging in the Kafka handler: add broker/src/kafka_seam.h declaring
 *
 *   int  brk_kafka_open(struct brk_server *srv, const struct brk_proto **proto,
 *                       void **state);
 *   void brk_kafka_close(struct brk_server *srv, void *state);
 *
 * and define them in kafka_*.c. server.c includes the header when it exists
 * (__has_include) and calls open once storage is up (set *proto to the handler; *state is
 * then brk_server_kafka(srv)), and close after the last connection is gone, before the
 * logs close. No other file of the core changes.
 */

/* ---- the connection -------------------------------------------------------------------- */

struct brk_server *brk_conn_server(const struct brk_conn *c);
struct tcore_loop *brk_conn_loop(const struct brk_conn *c);
/* "127.0.0.1:53124", for log lines. Valid as long as the connection. */
const char *brk_conn_peer(const struct brk_conn *c);
/* The handler's per-connection state (NULL at first); freed by the handler's conn_fini. */
void *brk_conn_state(const struct brk_conn *c);
void brk_conn_set_state(struct brk_conn *c, void *state);
/* The broker is shutting down: new work should be refused (native: SHUTTING_DOWN). */
bool brk_conn_draining(const struct brk_conn *c);

/* ---- responses, in order --------------------------------------------------------------- */

/*
 * Where the next response's bytes go. Write a whole response (or the part before a file
 * range) into it; the writer's error is checked by the connection layer after serve
 * returns. The pointer is valid until the next brk_resp_* call.
 */
struct kc_writer *brk_resp_writer(struct brk_conn *c);
/*
 * Append a file range after the bytes written so far (sent with sendfile). Takes over the
 * slice's segment reference: it is released once the range is sent or the connection dies,
 * whatever this returns. 0 or -ENOMEM.
 */
int brk_resp_file(struct brk_conn *c, struct alog_slice *slice);
/*
 * Reserve the next place in the response order for an answer that comes later. Responses
 * written after this (brk_resp_writer) queue behind the slot. NULL on -ENOMEM.
 */
struct brk_slot *brk_resp_park(struct brk_conn *c);
/* Fill a parked slot (same rules as brk_resp_writer / brk_resp_file)... */
struct kc_writer *brk_slot_writer(struct brk_slot *s);
int brk_slot_file(struct brk_slot *s, struct alog_slice *slice);
/* ...then release it: it and every ready response behind it go out. An empty slot (an
 * acks=0 produce, say) is simply dropped. Do not use s afterwards. */
void brk_slot_ready(struct brk_conn *c, struct brk_slot *s);

/* ---- coming back to the connection's loop ---------------------------------------------- */

struct brk_async;
typedef void (*brk_async_fn)(struct brk_async *a, bool alive);

struct brk_async {
    struct tcore_task task;
    struct brk_conn *conn;
    brk_async_fn fn;
};

/* On the connection's loop: promise that fn(a, alive) will run there once, after
 * brk_async_post(a) (or brk_async_run(a) on the loop itself). Keeps the connection's memory
 * until then. */
void brk_async_begin(struct brk_conn *c, struct brk_async *a, brk_async_fn fn);
/* Any thread, exactly once per begin: run a->fn on the connection's loop. */
void brk_async_post(struct brk_async *a);
/* On the connection's loop: run a->fn now (instead of posting). */
void brk_async_run(struct brk_async *a);

/* ---- topics ---------------------------------------------------------------------------- */

#define BRK_OFFSETS_TOPIC "__consumer_offsets"

/* Is name[0..len) the broker's own topic (read-only to clients)? */
bool brk_topic_internal(const char *name, size_t len);
/*
 * The topic called name[0..len); if missing, create is true and auto.create.topics.enable
 * is on, create it with num.partitions partitions (Kafka's auto-create: native produce,
 * Kafka Metadata allowing it). KC_ENOTOPIC, KC_EBADNAME, -errno.
 * Topic pointers stay valid until the server is destroyed.
 */
int brk_topic_get(struct brk_server *srv, const char *name, size_t len, bool create,
                  struct part_topic **out);
/* Create; partitions -1 means num.partitions. -EEXIST (also for the internal topic, which
 * always exists), KC_EBADNAME, -EINVAL (partitions), KC_ETOOLARGE (above the maximum). */
int brk_topic_create(struct brk_server *srv, const char *name, size_t len, int32_t partitions,
                     struct part_topic **out);
/* Keyed: Kafka's murmur2 partition; keyless (key NULL): round-robin. */
int32_t brk_partition_pick(struct part_topic *t, const void *key, int32_t key_len);

/* ---- produce --------------------------------------------------------------------------- */

struct brk_produce;
typedef void (*brk_produce_fn)(struct brk_produce *p, bool alive);

struct brk_produce {
    /* in */
    struct part_topic *topic;
    int32_t partition;   /* an existing partition (KC_ENOPARTITION otherwise) */
    int16_t acks;        /* 0, 1 or -1 */
    uint8_t *batch;      /* exactly one RecordBatch v2; its base offset is rewritten */
    size_t len;
    /* out */
    int64_t base_offset;
    int32_t count;
    int err;             /* for a parked produce: 0 or why durability failed */
    /* private */
    struct brk_async async;
    brk_produce_fn done;
};

/*
 * Validate the batch (CRC, lengths, counts; no control batches), append it, wake the
 * partition's long-polls, and acknowledge per acks:
 *   1   base_offset/count set, the batch is in the log (page cache); done is not called
 *   0   parked: acks=all and not yet on disk; done(p, alive) runs later on c's loop with
 *       p->err 0 or the error (-EIO, KC_ECLOSED) - the append itself has happened
 *  < 0  nothing appended: KC_EMALFORMED / KC_ECRC (bad batch), KC_EUNSUPPORTED (control
 *       batch), KC_ETOOLARGE (message.max.bytes), KC_ENOPARTITION, -EIO / -ENOSPC
 * acks 0 and 1 return 1 once appended.
 */
int brk_produce(struct brk_conn *c, struct brk_produce *p, brk_produce_fn done);

/* ---- fetch and long-poll --------------------------------------------------------------- */

/* alog_read with max_bytes capped at fetch.max.bytes: 0 and a slice (release it, or pass
 * it to brk_resp_file), KC_EEMPTY at the log end, KC_EOFFSET outside [start, end]. */
int brk_fetch_read(struct brk_server *srv, struct alog *log, int64_t offset, size_t max_bytes,
                   struct alog_slice *slice);

enum brk_wait_reason { BRK_WAIT_DATA, BRK_WAIT_TIMEOUT, BRK_WAIT_SHUTDOWN };

struct brk_wait;
typedef void (*brk_wait_fn)(struct brk_wait *w, bool alive);

/* One partition a long-poll watches: in, log and offset; the rest is private. */
struct brk_wait_link {
    struct alog *log;
    int64_t offset; /* wake when the log end passes this offset */
    LIST_ENTRY(brk_wait_link) entry;
    struct brk_pstate *ps;
    struct brk_wait *w;
    bool linked;
};

struct brk_wait {
    enum brk_wait_reason reason; /* out: why done was called */
    /* private */
    struct brk_async async;
    struct tcore_timer timer;
    atomic_int fired;
    struct brk_wait_link *links;
    int nlinks;
    brk_wait_fn done;
    LIST_ENTRY(brk_wait) conn_entry;
};

/*
 * Park until one of links[0..n) (log, offset filled in by the caller) has data past its
 * offset, max_wait_ms passes, or the broker starts shutting down; then done(w, alive) runs
 * once on c's loop with w->reason set. Appends on any loop wake it (cross-loop through a
 * posted task); it never blocks a loop. links must live as long as w. Returns 0, or
 * -ENOMEM (nothing parked).
 */
int brk_wait_start(struct brk_conn *c, struct brk_wait *w, struct brk_wait_link *links, int n,
                   int64_t max_wait_ms, brk_wait_fn done);

/* ---- consumer-group offsets ------------------------------------------------------------ */

/* 0 if group[0..len) may name a group (1-249 bytes, no control characters; UTF-8 is
 * fine, as Kafka allows any string), else KC_EBADNAME. */
int brk_group_check(const char *group, size_t len);

struct brk_commit_entry {
    struct kc_slice topic;
    int32_t partition;
    int64_t offset;
    struct kc_slice metadata; /* len -1 = null; at most 4096 bytes */
};

struct brk_commit;
typedef void (*brk_commit_fn)(struct brk_commit *cm, bool alive);

struct brk__offsets_pending;

struct brk_commit {
    int err; /* out, for a parked commit */
    /* private */
    struct brk_async async;
    brk_commit_fn done;
    struct brk__offsets_pending *pending; /* the entries, until the fsync settles them */
};

/*
 * Commit n offsets of one group as one batch of Kafka offset-commit records appended to
 * __consumer_offsets; once the batch is fsynced the offsets enter the in-memory table (what
 * brk_offsets_fetch answers) and the commit is acknowledged; a commit whose fsync fails is
 * never seen by a fetch.
 * Returns 1 (already durable), 0 (parked: done runs on c's loop with cm->err), or < 0 with
 * nothing written (KC_EBADNAME, -EINVAL for a negative offset, KC_ETOOLARGE for metadata,
 * -EIO ...). The caller checks that topics and partitions exist, if it cares.
 */
int brk_offsets_commit(struct brk_conn *c, struct kc_slice group,
                       const struct brk_commit_entry *e, int n, struct brk_commit *cm,
                       brk_commit_fn done);
/*
 * The committed offset of (group, topic, partition), -1 if none; metadata copied into
 * meta[0..cap) with its length in *meta_len (-1 null), if meta is not NULL. Any thread.
 */
int brk_offsets_fetch(struct brk_server *srv, struct kc_slice group, struct kc_slice topic,
                      int32_t partition, int64_t *offset, char *meta, size_t cap,
                      int32_t *meta_len);
/* Call fn for every committed offset of group, sorted by topic and partition, under the
 * store's lock: fn must not block or call the store. */
typedef void (*brk_offsets_fn)(void *arg, struct kc_slice topic, int32_t partition,
                               int64_t offset, struct kc_slice metadata);
void brk_offsets_foreach(struct brk_server *srv, struct kc_slice group, brk_offsets_fn fn,
                         void *arg);

/* ---- the server, for handlers ---------------------------------------------------------- */

const struct brk_config *brk_server_config(const struct brk_server *srv);
struct part_registry *brk_server_registry(const struct brk_server *srv);
/* The network loops (for a handler that keeps shared state on one loop and posts to it,
 * a group coordinator say). Valid until the server is destroyed. */
int brk_server_nloops(const struct brk_server *srv);
struct tcore_loop *brk_server_loop(const struct brk_server *srv, int i);
/* The Kafka handler's server-wide state, as brk_kafka_open returned it (see below). */
void *brk_server_kafka(const struct brk_server *srv);
/* brk_server_host / brk_server_port (brk.h): the address clients reach this broker at,
 * for Kafka's Metadata and FindCoordinator answers. */

#endif
