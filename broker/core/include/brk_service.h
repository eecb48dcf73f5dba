/*
 * brk_service.h - the core's storage-facing services: what every adapter serves requests
 * with. None of them knows which protocol asked.
 *
 *   topics     brk_topic_get / brk_topic_create     find, auto-create (Kafka's Metadata,
 *                                                   a native produce), create
 *   produce    brk_produce                          validate, append, acknowledge now or
 *                                                   after the fsync (group commit)
 *   fetch      brk_fetch_read                       a file slice for sendfile; waiting for
 *                                                   data is brk_park_watch (brk_adapter.h)
 *   offsets    brk_offsets_commit / _fetch / _foreach   __consumer_offsets, durable commits
 *   admin      brk_topic_create_with / _delete / _grow / _set_configs, brk_delete_records
 *                                                   Kafka's admin APIs (topic_admin.c)
 *   groups     brk_group_write / brk_group_records_take  a coordinator's group records and
 *                                                   deletions, in the same topic
 *
 * The life of a produce, across the folders of broker/:
 *
 *   socket -> core/src/conn.c (bytes, frames) -> an adapter's serve (decode, judge the
 *   request: names, acks, partitions) -> brk_produce (core/src/produce.c: validate the
 *   batch, alog_append) -> appendLog (offsets, segment, index; wakes the long-polls
 *   watching the log) -> acks=all: the park holds until the flusher's fsync settles it ->
 *   the adapter's done writes the answer -> core/src/respq.c (in order) -> socket.
 *
 * Threads: every function here may be called from any network loop; each says which locks
 * it takes. Pointers to topics and logs stay valid until the server is destroyed, or, for a
 * deleted topic, until every network loop has finished the request that found it (the
 * deletion's grace period: topic_admin.c) - so never keep one across requests, except
 * through a park that watches the log (brk_park_watch: the deletion wakes it first).
 */
#ifndef BRK_SERVICE_H
#define BRK_SERVICE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "alog.h"
#include "brk_adapter.h"
#include "brk_config.h"
#include "kc_buf.h"
#include "part.h"

/* ---- the server, for adapters ------------------------------------------------------------ */

const struct brk_config *brk_server_config(const struct brk_server *srv);
struct part_registry *brk_server_registry(const struct brk_server *srv);
/* The network loops (for an adapter that keeps shared state on the loops, a group
 * coordinator's timers say). Valid until the server is destroyed. */
int brk_server_nloops(const struct brk_server *srv);
struct tcore_loop *brk_server_loop(const struct brk_server *srv, int i);
/* The address clients reach this broker at (Kafka's Metadata and FindCoordinator):
 * advertised.listeners if set, else the bound host (this host's name when bound to every
 * interface) and the real port. Any thread. */
const char *brk_server_host(const struct brk_server *srv);
int brk_server_port(const struct brk_server *srv);
/* The security stores, for the doors' admin APIs (ACLs, SCRAM credentials): the
 * authorizer (NULL without authorizer.class.name) and the credential store. Open once the
 * broker serves; thread-safe (broker/security). */
struct sec_authorizer;
struct sec_cred_store;
struct sec_authorizer *brk_server_authorizer(const struct brk_server *srv);
struct sec_cred_store *brk_server_credentials(const struct brk_server *srv);

/* ---- topics ------------------------------------------------------------------------------ */

#define BRK_OFFSETS_TOPIC "__consumer_offsets"

/* Is name[0..len) the broker's own topic (read-only to clients)? */
bool brk_topic_internal(const char *name, size_t len);
/*
 * The topic called name[0..len); if missing, create is true and auto.create.topics.enable
 * is on, create it with num.partitions partitions (Kafka's auto-create: native produce,
 * Kafka Metadata allowing it). KC_ENOTOPIC, KC_EBADNAME, -errno. In a cluster
 * (brk_cluster.h) the controller creates it: -EINPROGRESS, asked; the caller answers
 * "retry" (Kafka: LEADER_NOT_AVAILABLE) and the topic appears in the view soon after.
 */
int brk_topic_get(struct brk_server *srv, const char *name, size_t len, bool create,
                  struct part_topic **out);
/* Create; partitions -1 means num.partitions. -EEXIST (also for the internal topic, which
 * always exists), KC_EBADNAME, -EINVAL (partitions), KC_ETOOLARGE (above the maximum). */
int brk_topic_create(struct brk_server *srv, const char *name, size_t len, int32_t partitions,
                     struct part_topic **out);
/* ---- topic administration (core/src/topic_admin.c) ----------------------------------------
 *
 * What Kafka's admin APIs (CreateTopics, DeleteTopics, CreatePartitions, the config APIs,
 * DeleteRecords) do to topics, for any door. Configs are Kafka's topic configs
 * (brk_tconfig.h): checked by the caller with brk_tcfg_set, stored by these. */

struct brk_tcfg;

/* Create with overrides c (NULL: none): stored with the topic, applied to its logs from
 * their first append. Errors as brk_topic_create. */
int brk_topic_create_with(struct brk_server *srv, const char *name, size_t len,
                          int32_t partitions, const struct brk_tcfg *c,
                          struct part_topic **out);

/* The same with the topic's id given (NULL: a new one) and c possibly NULL: a cluster
 * member creates its local logs of a topic with the id and configs its controller chose. */
int brk_topic_create_as(struct brk_server *srv, const char *name, size_t len,
                        int32_t partitions, const struct brk_tcfg *c,
                        const struct part_topic_id *id, struct part_topic **out);

/* Told when a deletion is complete (the name may be created again, empty). fn runs once,
 * on the broker's main thread, with 0 or the error that left the deletion to be finished
 * at the next start (the topic is gone either way); it must be short and not block. */
struct brk_topic_waiter {
    void (*fn)(struct brk_topic_waiter *w, int err); /* in */
    void *arg;                                        /* in */
    struct brk_topic_waiter *next;                    /* private */
};
/*
 * Delete t: durable at once (partitioning's marker) and gone from every lookup; its logs
 * are closed and its directories removed by the main thread once no request can still
 * hold them (parked long-polls are woken first and answer UNKNOWN_TOPIC_OR_PARTITION;
 * then every network loop passes a barrier). The group offsets committed for it are
 * dropped (tombstones in __consumer_offsets), as Kafka drops them. w (may be NULL) is
 * told when that is done. 0; KC_ENOTOPIC (already deleted); -EPERM (__consumer_offsets);
 * -errno (nothing changed).
 */
int brk_topic_delete(struct brk_server *srv, struct part_topic *t, struct brk_topic_waiter *w);
/* Withdraw w (its request is going away): true if fn will not run; false if it has run.
 * Any thread. */
bool brk_topic_waiter_cancel(struct brk_server *srv, struct brk_topic_waiter *w);
/* Grow t to n partitions (part_topic_grow's errors; -EPERM for __consumer_offsets). */
int brk_topic_grow(struct brk_server *srv, struct part_topic *t, int32_t n);
/* t's overrides, parsed. 0 or -ENOMEM. */
int brk_topic_configs(struct brk_server *srv, struct part_topic *t, struct brk_tcfg *c);
/* Replace t's overrides with c: durably, then live (its logs' settings, retention,
 * LogAppendTime). 0, KC_ENOTOPIC, -errno (nothing changed). */
int brk_topic_set_configs(struct brk_server *srv, struct part_topic *t, const struct brk_tcfg *c);
/* Topic flags the hot paths read (part_topic_flags): what t's configs mean. */
enum {
    BRK_TOPIC_LOG_APPEND_TIME = 1u << 0, /* message.timestamp.type=LogAppendTime */
    BRK_TOPIC_NO_RETENTION = 1u << 1,    /* cleanup.policy without "delete" */
    BRK_TOPIC_COMPACT = 1u << 2,         /* cleanup.policy with "compact": keys required */
};
/* Kafka's DeleteRecords on one partition: the log start moves to offset (-1: the high
 * watermark), durably. 0 and *low (the new log start); KC_EOFFSET (past the end). */
int brk_delete_records(struct brk_server *srv, struct alog *log, int64_t offset, int64_t *low);

/* Keyed: Kafka's murmur2 partition; keyless (key NULL): round-robin. */
int32_t brk_partition_pick(struct part_topic *t, const void *key, int32_t key_len);

/* ---- produce ----------------------------------------------------------------------------- */

struct brk_produce {
    /* in */
    struct part_topic *topic;
    int32_t partition;   /* an existing partition (KC_ENOPARTITION otherwise) */
    int16_t acks;        /* 0, 1 or -1 */
    uint8_t *batch;      /* exactly one RecordBatch v2; its base offset is rewritten */
    size_t len;
    int32_t timeout_ms;  /* a cluster's acks=all: how long to wait for the ISR (<= 0: 30 s) */
    /* out */
    int64_t base_offset;
    int32_t count;
    int err;             /* acks=all, parked: 0 or why durability failed (set when settled) */
    int16_t kerr;        /* a cluster: replication's verdict, a Kafka code (0: none; set
                          * before brk_produce returns 1, or before a park settles) */
    /* private */
    struct brk_park *park;
};

/*
 * Validate the batch (CRC, lengths, counts; no control batches), append it (the log wakes
 * the long-polls watching it), and acknowledge per acks:
 *   1   done: base_offset and count set; the batch is in the log (acks 0/1: page cache;
 *       acks=all: it was already on disk)
 *   0   acks=all and park given: the park holds until the batch is on disk, then p->err
 *       is 0 or the error that prevented it (-EIO, KC_ECLOSED) and the park is settled;
 *       base_offset and count are set already. p must live until the park's done.
 *  < 0  nothing appended: KC_EMALFORMED / KC_ECRC (bad batch), KC_EUNSUPPORTED (control
 *       batch), KC_ETOOLARGE (message.max.bytes), KC_ENOPARTITION, -EIO / -ENOSPC
 * park may be NULL for acks 0 and 1. Locks: the log's append lock.
 */
int brk_produce(struct brk_server *srv, struct brk_produce *p, struct brk_park *park);

/* ---- fetch ------------------------------------------------------------------------------- */

/* alog_read with max_bytes capped at fetch.max.bytes: 0 and a slice (release it, or pass it
 * to brk_resp_file / brk_park_file), KC_EEMPTY at the log end, KC_EOFFSET outside
 * [start, end]. Waiting for data: brk_park_watch. */
int brk_fetch_read(struct brk_server *srv, struct alog *log, int64_t offset, size_t max_bytes,
                   struct alog_slice *slice);

/* ---- consumer-group offsets -------------------------------------------------------------- */

/* The longest commit metadata kept (Kafka's offset.metadata.max.bytes default). */
#define BRK_OFFSET_METADATA_MAX 4096

/* 0 if group[0..len) may name a group (1-249 bytes, no control characters; UTF-8 is
 * fine, as Kafka allows any string), else KC_EBADNAME. */
int brk_group_check(const char *group, size_t len);

struct brk_commit_entry {
    struct kc_slice topic;
    int32_t partition;
    int64_t offset;
    struct kc_slice metadata; /* len -1 = null; at most BRK_OFFSET_METADATA_MAX bytes */
};

struct brk__offsets_pending;

struct brk_commit {
    int err; /* out, for a parked commit: set before the park is settled */
    /* private */
    struct brk_server *srv;
    struct brk_park *park;
    struct brk__offsets_pending *pending; /* the entries, until the fsync settles them */
};

/*
 * Commit n offsets of one group as one batch of offset-commit records appended to
 * __consumer_offsets; once the batch is fsynced the offsets enter the in-memory table (what
 * brk_offsets_fetch answers) and the commit is acknowledged; a commit whose fsync fails is
 * never seen by a fetch. Returns 1 (already durable), 0 (the park holds until it is:
 * cm->err is set, then the park settled; cm must live until the park's done), or < 0 with
 * nothing written (KC_EBADNAME, -EINVAL for a negative offset, KC_ETOOLARGE for metadata,
 * -EIO ...). The caller checks that topics and partitions exist, if it cares.
 * Locks: the store's mutex for the append; the table's on settling.
 */
int brk_offsets_commit(struct brk_server *srv, struct kc_slice group,
                       const struct brk_commit_entry *e, int n, struct brk_commit *cm,
                       struct brk_park *park);
/*
 * The committed offset of (group, topic, partition), -1 if none. With meta given, the
 * metadata is copied into meta[0..cap) and *meta_len set to the bytes copied, or -1 for a
 * null metadata (or none committed). Only copied bytes are ever reported. Any thread.
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

/*
 * A new coordinator's load (Kafka's loadGroupsAndOffsets): what the table knows of the
 * groups of __consumer_offsets partition p is replaced by a replay of p's log as it is
 * now - in a cluster, what this broker wrote when it led p before and what replication
 * copied since. The group metadata records found are kept for brk_group_records_take.
 * Blocks (reads the log) with the store's lock held: call it from a thread of its own, not
 * a network loop. 0 and *loaded (offsets found; may be NULL), -EINVAL (no such partition),
 * or the read's error (the table then holds what was replayed before it).
 */
int brk_offsets_load(struct brk_server *srv, int32_t p, int64_t *loaded);

/* The groups that have committed offsets, each once, in order, with how many: fn is
 * called under the store's lock (it must not block or call the store). */
typedef void (*brk_offsets_group_fn)(void *arg, struct kc_slice group, int32_t count);
void brk_offsets_groups(struct brk_server *srv, brk_offsets_group_fn fn, void *arg);
/* How many offsets group has committed (durably). Any thread. */
int32_t brk_offsets_count(struct brk_server *srv, struct kc_slice group);

/* ---- consumer-group metadata and deletions ------------------------------------------------ */

/*
 * Kafka keeps a group's metadata (members, generation, assignments) in __consumer_offsets
 * too, as records keyed by the group alone (key version 2). The core does not read their
 * values - the group coordinator of a door owns their format (broker/kafka/group's
 * kg_record.h) - it stores them, replays them at start and hands them over once.
 */
enum brk_group_meta {
    BRK_GROUP_META_NONE = 0,  /* no metadata record in this write */
    BRK_GROUP_META_RECORD,    /* value: the group's record */
    BRK_GROUP_META_TOMBSTONE, /* a null value: the group is gone */
};

struct brk_offset_tp {
    struct kc_slice topic;
    int32_t partition;
};

struct brk_group_write {
    struct kc_slice group;
    enum brk_group_meta meta;
    struct kc_slice value;              /* BRK_GROUP_META_RECORD */
    bool all_offsets;                   /* tombstone every offset the group committed ... */
    int32_t noffsets;                   /* ... or these, those of them that exist */
    const struct brk_offset_tp *offsets;
};

/* Called once a write is durable (err 0) or will not be (-EIO, KC_ECLOSED), from the
 * flusher thread. It must not block or call the store. */
typedef void (*brk_group_write_fn)(void *arg, int err);

/*
 * One batch in the group's partition of __consumer_offsets: the group's metadata record
 * (or its tombstone) and/or tombstones for its committed offsets (Kafka's DeleteGroups and
 * OffsetDelete). Durable like a commit: the deleted offsets leave the table (what
 * brk_offsets_fetch answers) only once the batch is fsynced, so a deletion a crash undoes
 * was never seen. Returns 0 (fn will be called), 1 (nothing to write, or durable at once:
 * done, fn is not called), or < 0 with fn not called: KC_EBADNAME, -EINVAL, -ENOMEM, or
 * the append's or the wait's error (-EIO: then the records may be in the log, and the
 * table is unchanged). Locks: the store's mutex for the append and the table.
 */
int brk_group_write(struct brk_server *srv, const struct brk_group_write *w,
                    brk_group_write_fn fn, void *arg);

/*
 * The group metadata records the start-up replay (or a brk_offsets_load) found (the latest of each group; groups
 * whose latest is a tombstone left out): fn is called for each, in group order, and the
 * store keeps none of them afterwards (a second call finds nothing). value points into
 * memory freed after fn returns. fn runs without the store's lock: it may call the store.
 * Call before serving (an adapter's start), and again after a brk_offsets_load.
 */
typedef void (*brk_group_record_fn)(void *arg, struct kc_slice group, struct kc_slice value);
void brk_group_records_take(struct brk_server *srv, brk_group_record_fn fn, void *arg);

#endif
