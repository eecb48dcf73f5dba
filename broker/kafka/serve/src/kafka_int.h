/*
 * kafka_int.h - what the Kafka door's files share, and nobody else sees.
 *
 * The door stands between two libraries that know nothing of each other: the codec
 * (broker/kafka/codec, kp_*) turns a frame into a struct kp_request and a response struct
 * into bytes, at any version; the core (brk_service.h) stores and reads. One function per
 * API reads the decoded request, asks the core, and fills a response struct that it
 * allocates from the request's own arena with kp_new, so every field starts at Kafka's
 * default and only what this broker knows is set:
 *
 *   frame --kp_request_decode--> struct kp_<api>_req      (slices into the frame,
 *                                    |                     arrays in req->arena)
 *                      brk__kafka_<api>: brk_produce, brk_fetch_read, kg_group_*, ...
 *                                    v
 *   bytes <--kp_response_encode-- struct kp_<api>_resp     (kp_new(&req->arena, ...))
 *
 *   serve.c          claim, frames, the served-version check, dispatch, connection state
 *   versions.c       the table of what is served and why; ApiVersions
 *   metadata.c       Metadata (auto-creation, topic ids), FindCoordinator
 *   list_offsets.c   ListOffsets (v0's list of offsets too)
 *   leader_epoch.c   OffsetForLeaderEpoch: where a leader epoch ended (KIP-101, KIP-320)
 *   produce.c        Produce: brk_produce, acks 0/1/all
 *   produce_check.c  what one partition's records field must hold (pure; unit-tested)
 *   fetch.c          Fetch: topics by name or by id, long-poll, records by sendfile
 *   fetch_session.c  Fetch sessions (KIP-227) for fetch.c: begin, expand, settle, end
 *   fsess.c          the fetch session cache (fsess.h), shared by every loop; a
 *   fsess_table.c    session's partitions and their indexes
 *   coordinator.c    which broker coordinates a group (its __consumer_offsets leader)
 *   group.c          JoinGroup, SyncGroup, Heartbeat, LeaveGroup on the coordinator (kg)
 *   group_store.c    the coordinator's records into __consumer_offsets, and loaded at start
 *   groups_admin.c   ListGroups, DescribeGroups
 *   groups_delete.c  DeleteGroups, OffsetDelete (tombstones)
 *   offsets.c        OffsetCommit, into the core's __consumer_offsets store
 *   offset_fetch.c   OffsetFetch, out of it
 *   admin_topics.c   CreateTopics, CreatePartitions (and the admin files' helpers)
 *   admin_delete.c   DeleteTopics, parked until the topic's files are gone
 *   admin_configs.c  DescribeConfigs, AlterConfigs, IncrementalAlterConfigs
 *   admin_cluster.c  DeleteRecords, DescribeCluster, DescribeLogDirs
 *   sasl.c           SaslHandshake, SaslAuthenticate, and nothing else before them
 *   auth.c           who may do what: the ACL checks the handlers make, Kafka's errors
 *   acls.c           CreateAcls, DescribeAcls, DeleteAcls on the broker's authorizer
 *   scram.c          DescribeUserScramCredentials, AlterUserScramCredentials
 *   util.c           answers, topics and partitions by name, duplicates in a request
 *
 * A field a version cannot carry must keep its default unless Kafka marks it ignorable
 * (the encoder refuses it: KC_ENONDEFAULT); the handlers set such fields only for the
 * versions that carry them. An answer that cannot be encoded fails the connection's
 * writer: half an answer never reaches a client (brk__kafka_answer).
 *
 * Threads. A request is served on its connection's network loop. The one piece of state
 * shared between loops is the group coordinator (struct kg_groups, single-threaded by
 * contract): it sits behind brk_kafka.mu. A parked JoinGroup/SyncGroup may be answered by
 * another member's request on another loop: the coordinator's callback encodes the answer
 * into the waiter's own buffer (under mu) and resumes its park, whose finish copies the
 * bytes into the answer queue on the waiter's own loop. Session expiry and rebalance
 * timeouts run from a timer per loop (group.c).
 *
 * Lifetimes. The frame a request was decoded from is valid only while serve runs, and the
 * decoded request (its slices, its arena) with it. What must outlive it keeps its own
 * copy: a parked Fetch copies the (small) frame and decodes it again; a parked Produce or
 * OffsetCommit builds its answer in an arena of its own with the names copied; a parked
 * Join/Sync keeps the request header.
 */
#ifndef KAFKA_INT_H
#define KAFKA_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <sys/queue.h>

#include "brk_adapter.h"
#include "brk_cluster.h"
#include "brk_service.h"
#include "fsess.h"
#include "kc_common.h"
#include "kg.h"
#include "kp_api.h"
#include "kp_errors.h"

/* This broker is node 0 of a one-node cluster: leader, replica, ISR and controller. */
#define BRK_KAFKA_NODE_ID 0
#define BRK_KAFKA_CLUSTER_ID "kafka-c-single-node"
/* api_keys counted by the metrics (Kafka's go up to ~90 today). */
#define BRK_KAFKA_API_KEYS 100
/* A Fetch waits at most this long, whatever the client asks (Kafka has no cap; a parked
 * fetch holds a slot, so one that never ends would pin the connection's answers). */
#define BRK_KAFKA_MAX_WAIT_MS 300000
/* A follower's idle partition is read again at least this often (fetch.c, idle_skip). */
#define BRK_KAFKA_IDLE_REREAD_MS 1000
/* The most a batch's records may inflate to when the door reads inside one (ListOffsets'
 * search of a compressed batch): a bound on what one request makes the broker allocate. */
#define BRK_KAFKA_INFLATE_MAX (64u << 20)
/* A decoded request's arrays may take this many times the frame's size, plus a floor:
 * real requests need 2-4x (a 24-byte C element per 6-8 wire bytes); the codec's worst
 * case is 16x (a 16-byte slice per 1-byte compact string), which only a hostile frame
 * reaches. Beyond it the request is refused (KC_ETOOLARGE) and the connection closed. */
/* In a cluster, the group timers look at the partition leaderships at least this often
 * while a group has anything pending (group.c: a coordinator lets go of moved groups). */
#define BRK_KAFKA_FOLLOW_MS 1000
#define BRK_KAFKA_ARENA_RATIO 8
#define BRK_KAFKA_ARENA_FLOOR (64 * 1024)

struct brk_kafka;

/* The coordinator's timer on one network loop. */
struct brk_kafka_tick {
    struct tcore_timer timer;
    struct tcore_loop *loop;
    struct brk_kafka *k;
    int64_t due_ms; /* monotonic; INT64_MAX while disarmed. Touched on its loop only. */
};

/* Producer ids for InitProducerId, from a durable counter (producer_ids.c). */
struct brk_kafka_pids {
    pthread_mutex_t mu;
    bool loaded;            /* a block was taken since the start */
    int64_t next, end;      /* the block: next id to hand out, its end (exclusive) */
    char path[PATH_MAX];    /* <data-dir>/producer-id-block */
    int64_t refused_log_ms; /* in a cluster: when "no block ready" was last logged */
};

/* Server-wide state (the adapter's, brk_conn_adapter_state). */
struct brk_kafka {
    struct brk_server *srv;
    pthread_mutex_t mu;            /* groups, ticks (the pointer), every waiter's answered */
    struct kg_groups *groups;
    struct brk_cview *seen;        /* a cluster's view the groups were last checked against */
    struct brk_kafka_tick *ticks;  /* one per network loop, made on first use */
    int nticks;
    struct tcore_task loaded_task; /* loop 0 arms the timer for the groups loaded at start */
    int32_t node[1];               /* replicas = isr = [this node] in Metadata */
    struct brk_fsess_cache *fsess; /* fetch sessions: its own lock (fsess.h) */
    _Atomic uint64_t idle_skipped; /* followers' idle partitions not read (fetch.c) */
    struct brk_kafka_pids pids;    /* InitProducerId: its own lock */
};

/* Where a connection on a SASL listener is in Kafka's authentication (sasl.c); unused once
 * brk_conn_must_authenticate says false. */
enum brk_kafka_sasl {
    BRK_KAFKA_SASL_START,     /* ApiVersions (once) or SaslHandshake may come */
    BRK_KAFKA_SASL_VERSIONED, /* ApiVersions answered: SaslHandshake may come */
    BRK_KAFKA_SASL_TOKENS,    /* SaslHandshake v1 done: SaslAuthenticate requests carry them */
    BRK_KAFKA_SASL_RAW,       /* SaslHandshake v0 done: raw [size|token] frames, no header */
};

/* Per connection (brk_conn_state). Loop thread only. */
struct brk_kafka_conn {
    struct kc_writer scratch;      /* Fetch: the answer around its file ranges */
    enum brk_kafka_sasl sasl;      /* SASL listeners, until authenticated */
    bool follower_sessions;        /* a follower's Fetch made a session here: close them */
};

/* Where an answer goes: straight into the queue, or into a park that ended. */
struct brk_kafka_out {
    struct brk_conn *c;
    struct brk_park *park;
};

static inline struct kc_writer *brk__kafka_w(const struct brk_kafka_out *o)
{
    return o->park ? brk_park_writer(o->park) : brk_resp_writer(o->c);
}

static inline int brk__kafka_file(const struct brk_kafka_out *o, struct alog_slice *slice)
{
    return o->park ? brk_park_file(o->park, slice) : brk_resp_file(o->c, slice);
}

/* The server-wide state of c's adapter. */
static inline struct brk_kafka *brk__kafka_of(const struct brk_conn *c)
{
    return brk_conn_adapter_state(c);
}

/* ---- util.c --------------------------------------------------------------------------- */

/*
 * Encode resp (struct kp_<api>_resp of h's API) as the answer to the request with header
 * h, into o's writer. 0, or the codec's error: then it is logged and the writer is failed,
 * so the core closes the connection instead of sending half an answer. Loop thread.
 */
int brk__kafka_answer(const struct brk_kafka_out *o, const struct kp_request_header *h,
                      const void *resp);
/* The same, straight into c's answer queue. */
int brk__kafka_reply(struct brk_conn *c, const struct kp_request_header *h, const void *resp);

/* A topic by name: KP_ERR_NONE and *t, or UNKNOWN_TOPIC_OR_PARTITION (also for names that
 * cannot exist). Any thread; *t lives as long as the server. */
int16_t brk__kafka_topic(struct brk_server *srv, struct kc_slice name, struct part_topic **t);
/* In a cluster, may this broker serve topic-partition as its leader (brk_cluster.h)? NONE;
 * NOT_LEADER_OR_FOLLOWER (6); KIP-320, with current_leader_epoch >= 0 (-1: not given):
 * older than the leader's FENCED_LEADER_EPOCH (74), newer UNKNOWN_LEADER_EPOCH (75);
 * UNKNOWN_TOPIC_OR_PARTITION (3) if the cluster does not know it. Alone: always NONE. */
int16_t brk__kafka_leader_check(struct brk_server *srv, struct kc_slice topic, int32_t partition,
                                int32_t current_leader_epoch);
/* A partition by name and index: KP_ERR_NONE and *log, or UNKNOWN_TOPIC_OR_PARTITION. */
int16_t brk__kafka_partition(struct brk_server *srv, struct kc_slice topic, int32_t partition,
                             struct alog **log);

/*
 * Cold logs (brk_logs_ready): a request's logs, collected in its order (a NULL for a pair
 * that names nothing), then asked for at once. In the request's arena.
 *   l.err[k] after brk__kafka_logs_ready returned 1: 0, or why pair k's log is not open
 *   (answer it with brk__kafka_open_error, never touch the log).
 */
struct brk_kafka_logs {
    struct alog **v;
    int *err;
    int32_t n, cap;
};
/* Room for cap pairs: 0 or -ENOMEM. */
int brk__kafka_logs_init(struct brk_kafka_logs *l, struct kp_arena *a, int32_t cap);
/* The next pair: its log, or NULL (no such topic or partition, or the caller will refuse it:
 * a log that will not be touched is not opened). */
void brk__kafka_logs_add(struct brk_kafka_logs *l, struct brk_server *srv, struct kc_slice topic,
                         int32_t partition);
/* brk_logs_ready for them: 1 go on, 0 deferred (return 0 from serve, answer nothing), < 0. */
int brk__kafka_logs_ready(struct brk_conn *c, struct brk_kafka_logs *l, int64_t timeout_ms);
/* A log that could not be opened, as Kafka says it: REQUEST_TIMED_OUT (7) for -ETIMEDOUT,
 * else KAFKA_STORAGE_ERROR (56): both retriable, never UNKNOWN. */
int16_t brk__kafka_open_error(int err);

/* Kafka's Uuid and this broker's topic id are the same 16 bytes, in the same order. */
static inline struct kp_uuid brk__kafka_uuid(const struct part_topic *t)
{
    struct kp_uuid u;
    memcpy(u.b, part_topic_id(t)->b, sizeof(u.b));
    return u;
}

/*
 * Which (topic, partition) pairs of a request appear more than once. Fill tp[i] for the
 * request's partitions in order (the topic as the bytes that name it: a name, or a
 * 16-byte id); dup[i] is set for every occurrence of a repeated pair. tp may be reordered.
 * Returns how many entries are duplicates.
 */
struct brk_kafka_tp {
    const uint8_t *topic;
    int32_t len;
    int32_t partition;
    int32_t at; /* the pair's place in the request (set by the caller) */
};
int32_t brk__kafka_dups(struct brk_kafka_tp *tp, int32_t n, bool *dup);

/* A copy of body[0..len) and the request decoded from it, for a request that outlives its
 * frame. 0, -ENOMEM, or the decoder's error (impossible: the frame decoded once). */
int brk__kafka_redecode(const uint8_t *body, size_t len, uint8_t **copy, struct kp_request *req);

/* s copied into a (null stays null, empty stays empty); {NULL, -1} on -ENOMEM too: check
 * kp_arena's total or the copy's .len against s.len. */
struct kc_slice brk__kafka_keep(struct kp_arena *a, struct kc_slice s);

/* ---- coordinator.c: is this broker the group's coordinator? -------------------------------- */

struct brk_cview;
/* Kafka's partitionFor: group's partition of a __consumer_offsets of npartitions (-1 if
 * npartitions < 1). */
int32_t brk__kafka_group_partition(struct kc_slice group, int32_t npartitions);
/* NONE if this broker coordinates group (alone: always; in a cluster: it leads the group's
 * __consumer_offsets partition), else NOT_COORDINATOR (16). Any thread. */
int16_t brk__kafka_coordinator_check(struct brk_server *srv, struct kc_slice group);
/* The same over a view the caller holds (NULL: alone, true), for lists of groups. */
bool brk__kafka_coordinates(const struct brk_cview *v, struct kc_slice group);

/* ---- versions.c ------------------------------------------------------------------------- */

/* Is api key served, and which versions? true with *min, *max. */
bool brk__kafka_served(int16_t key, int16_t *min, int16_t *max);

/* ---- one function per API. Loop thread. 0, or < 0 to close the connection once what is
 * queued has been sent (Kafka's answer to what it cannot serve). body/len: the frame
 * without its size, for a request that parks a copy. ------------------------------------- */

int brk__kafka_api_versions(struct brk_conn *c, struct kp_request *req);
int brk__kafka_metadata(struct brk_conn *c, struct kp_request *req);
int brk__kafka_find_coordinator(struct brk_conn *c, struct kp_request *req);
int brk__kafka_list_offsets(struct brk_conn *c, struct kp_request *req);
int brk__kafka_produce(struct brk_conn *c, struct kp_request *req);
int brk__kafka_fetch(struct brk_conn *c, struct kp_request *req, const uint8_t *body,
                     size_t len);
int brk__kafka_join_group(struct brk_conn *c, struct kp_request *req);
int brk__kafka_sync_group(struct brk_conn *c, struct kp_request *req);
int brk__kafka_heartbeat(struct brk_conn *c, struct kp_request *req);
int brk__kafka_leave_group(struct brk_conn *c, struct kp_request *req);
int brk__kafka_offset_commit(struct brk_conn *c, struct kp_request *req);
int brk__kafka_offset_fetch(struct brk_conn *c, struct kp_request *req);
int brk__kafka_create_topics(struct brk_conn *c, struct kp_request *req, const uint8_t *body,
                             size_t len);
/* An admin request parked until the controller answers each topic (admin_wait.c). */
struct brk__kafka_cwait;
struct brk__kafka_cwait_ops {
    const char *kind;                          /* the park's name, for logs */
    void (*settle)(struct brk__kafka_cwait *cw); /* each topic's outcome into cw->resp */
};
struct brk__kafka_citem { /* one topic asked */
    struct brk_cluster_waiter w;
    struct brk__kafka_cwait *cw;
    bool waiting; /* asked, and its waiter queued */
    bool done;    /* its fn ran (under the member's lock) */
    int err;      /* what fn was told (brk_cluster.h) */
};
struct brk__kafka_cwait {
    struct brk_park park;
    struct brk_park_ops park_ops;
    const struct brk__kafka_cwait_ops *ops;
    struct brk_server *srv;
    struct kp_request req; /* decoded again from frame, which this owns */
    uint8_t *frame;
    void *resp;            /* the answer, in req's arena (the caller builds it) */
    struct brk__kafka_citem *t; /* one per request topic */
    int32_t n;
    void *user;            /* the caller's, with resp (in req's arena) */
    _Atomic int pending;   /* waiters not back, + 1 until go */
};
/* Park the request (body, len) of n topics for timeout_ms: 0 and *out, which the park
 * owns from here (a later failure closes the connection, which frees it), or -errno. */
int brk__kafka_cwait_start(struct brk_conn *c, const uint8_t *body, size_t len, int32_t n,
                           int32_t timeout_ms, const struct brk__kafka_cwait_ops *ops,
                           struct brk__kafka_cwait **out);
/* Ask for topic i: ask(cw, i, w, arg) hands w to the member (0, or -errno). Returns
 * NONE (queued) or UNKNOWN_SERVER_ERROR. */
int16_t brk__kafka_cwait_ask(struct brk__kafka_cwait *cw, int32_t i,
                             int (*ask)(struct brk__kafka_cwait *cw, int32_t i,
                                        struct brk_cluster_waiter *w, void *arg),
                             void *arg);
/* Before any ask: n items instead of start's (a request whose asks are counted only once
 * it is checked). 0 or -ENOMEM. */
int brk__kafka_cwait_items(struct brk__kafka_cwait *cw, int32_t n);
/* Every topic asked: the answer goes once all are back (maybe at once). */
void brk__kafka_cwait_go(struct brk__kafka_cwait *cw);
/* In settle: did topic i fail? Then its code and message ("The controller has not <what>
 * yet", "Refused by the controller: ..."). */
bool brk__kafka_cwait_refusal(struct brk__kafka_cwait *cw, int32_t i, const char *what,
                              int16_t *code, struct kc_slice *msg);

/* ElectLeaders (admin_elect.c). */
int brk__kafka_elect_leaders(struct brk_conn *c, struct kp_request *req, const uint8_t *body,
                             size_t len);

/* CreateTopics in a cluster (admin_create_cluster.c): the answer waits for the controller.
 * The checks are admin_topics.c's (brk__kafka_create_topics_fill, which asks through cw:
 * NULL to check only); brk__kafka_ctc_ask queues topic i with its config overrides cfg
 * (0, or a Kafka error code). */
struct kp_create_topics_resp;
int brk__kafka_create_topics_fill(struct brk_conn *c, struct kp_request *req,
                                  struct brk__kafka_cwait *cw, struct kp_create_topics_resp **out);
int brk__kafka_create_topics_cluster(struct brk_conn *c, struct kp_request *req,
                                     const uint8_t *body, size_t len);
struct brk_tcfg;
struct brk_cluster_assignment;
int16_t brk__kafka_ctc_ask(struct brk__kafka_cwait *cw, int32_t i, int32_t partitions, int32_t rf,
                           const struct brk_tcfg *cfg, const struct brk_cluster_assignment *as);

/* Replica assignments (CreateTopics, CreatePartitions; admin_topics.c): n lists, for
 * partitions first, first + 1, ..., each of rf distinct brokers a replica may be placed
 * on (alone: this broker; in a cluster, view v: a live one). 0 and the ids copied into
 * ids[i * rf + k], or INVALID_REPLICA_ASSIGNMENT and *msg naming the partition/broker. */
struct brk__kafka_list {
    int32_t n;
    const int32_t *v;
};
struct brk_cview;
int16_t brk__kafka_check_lists(struct kp_arena *a, const struct brk_cview *v, int32_t first,
                               const struct brk__kafka_list *lists, int32_t n, int rf,
                               int32_t *ids, struct kc_slice *msg);
int brk__kafka_delete_topics(struct brk_conn *c, struct kp_request *req);
int brk__kafka_create_partitions(struct brk_conn *c, struct kp_request *req, const uint8_t *body,
                                 size_t len);
int brk__kafka_describe_configs(struct brk_conn *c, struct kp_request *req);
int brk__kafka_alter_configs(struct brk_conn *c, struct kp_request *req);
int brk__kafka_incremental_alter_configs(struct brk_conn *c, struct kp_request *req);
int brk__kafka_delete_records(struct brk_conn *c, struct kp_request *req);
int brk__kafka_describe_cluster(struct brk_conn *c, struct kp_request *req);

/* ---- producer_ids.c: InitProducerId and the durable producer-id counter ---------------- */

int brk__kafka_init_producer_id(struct brk_conn *c, struct kp_request *req);
/* leader_epoch.c */
int brk__kafka_offset_for_leader_epoch(struct brk_conn *c, struct kp_request *req);
/* describe_producers.c */
int brk__kafka_describe_producers(struct brk_conn *c, struct kp_request *req);
/* The counter's file in data_dir; nothing is read until the first id is asked for. */
int brk__kafka_pids_init(struct brk_kafka *k, const char *data_dir);
void brk__kafka_pids_fini(struct brk_kafka *k);
/* A producer id never handed out before, in this run or any earlier one: 0 or -errno /
 * KC_EMALFORMED (a damaged counter file: refused, never guessed). Any thread. */
int brk__kafka_pids_next(struct brk_kafka *k, int64_t *id);
int brk__kafka_describe_log_dirs(struct brk_conn *c, struct kp_request *req);

/* ---- admin_topics.c: shared by the admin APIs --------------------------------------------- */

/* Is names[i] the same as an earlier or later one of names[0..n)? (Kafka refuses every
 * copy; requests are small: quadratic.) */
bool brk__kafka_named_twice(const struct kc_slice *names, int32_t n, int32_t i);
/* printf into a (a slice of the formatted text, valid as long as a; "" if out of memory). */
struct kc_slice brk__kafka_strf(struct kp_arena *a, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
int brk__kafka_list_groups(struct brk_conn *c, struct kp_request *req);
int brk__kafka_describe_groups(struct brk_conn *c, struct kp_request *req);
int brk__kafka_delete_groups(struct brk_conn *c, struct kp_request *req);
int brk__kafka_offset_delete(struct brk_conn *c, struct kp_request *req);

/* ---- sasl.c: before authentication --------------------------------------------------------- */

/* Largest frame read before a connection has authenticated (Kafka's
 * sasl.server.max.receive.size default): a client that has not said who it is gets no
 * 100 MiB buffers. */
#define BRK_KAFKA_SASL_MAX_RECEIVE (512 * 1024)

/* The frame of a connection that still must authenticate: raw tokens after SaslHandshake
 * v0, else Kafka frames of at most BRK_KAFKA_SASL_MAX_RECEIVE. As the adapter's frame. */
int brk__kafka_sasl_frame(struct brk_conn *c, const uint8_t *p, size_t len, size_t *frame_len);
/* Kafka's gate before authentication, for request body[0..n): 1 serve it as usual
 * (ApiVersions once, SaslHandshake, SaslAuthenticate in turn); 0 it was a raw token and is
 * answered; < 0 close (anything else: "Unexpected Kafka request of type X during SASL
 * handshake"). Loop thread. */
int brk__kafka_sasl_gate(struct brk_conn *c, const uint8_t *body, size_t n);

int brk__kafka_sasl_handshake(struct brk_conn *c, struct kp_request *req);
int brk__kafka_sasl_authenticate(struct brk_conn *c, struct kp_request *req);

/* ---- auth.c: ACLs --------------------------------------------------------------------------- */

/* brk_authorize with a slice for the resource name (enum sec_acl_op, sec_resource_type). */
bool brk__kafka_allowed(struct brk_conn *c, int op, int type, struct kc_slice name);
/* The same without the log line, for lists a principal is shown only part of. */
bool brk__kafka_allowed_quietly(struct brk_conn *c, int op, int type, struct kc_slice name);
/* Kafka's rule for creating a topic: CREATE on the cluster, else CREATE on the topic. */
bool brk__kafka_may_create(struct brk_conn *c, struct kc_slice topic);
/* May c do op on the cluster? */
bool brk__kafka_cluster_allowed(struct brk_conn *c, int op);
/* Kafka's "authorized operations" bit field for a resource (Metadata v8+, ...): one bit
 * per operation of the type (topic or cluster) c may do. */
int32_t brk__kafka_authorized_ops(struct brk_conn *c, int type, struct kc_slice name);
/* The checks a request makes as a whole before its handler runs (JoinGroup, SyncGroup,
 * Heartbeat, LeaveGroup: READ on the group). 1 allowed; 0 refused and answered with
 * Kafka's error; < 0 out of memory. Loop thread. */
int brk__kafka_request_allowed(struct brk_conn *c, struct kp_request *req);

int brk__kafka_create_acls(struct brk_conn *c, struct kp_request *req);
int brk__kafka_describe_acls(struct brk_conn *c, struct kp_request *req);
int brk__kafka_delete_acls(struct brk_conn *c, struct kp_request *req);
int brk__kafka_describe_user_scram_credentials(struct brk_conn *c, struct kp_request *req);
int brk__kafka_alter_user_scram_credentials(struct brk_conn *c, struct kp_request *req);

/* ---- fetch_session.c: Fetch sessions for fetch.c (fsess.h has the lesson) ---------------- */

/* A Fetch's session, decided once per request (a parked Fetch keeps it). */
struct brk_kafka_fs {
    struct brk_fsess_cache *cache;
    int kind;               /* enum brk_fsess_kind */
    int16_t error;          /* BRK_FSESS_ERROR: the top-level error code */
    struct brk_fsess *s;    /* BRK_FSESS_INCREMENTAL: leased until brk__kafka_fs_end */
    struct brk_conn *conn;  /* the Fetch's: a follower's session closes with it */
};

/* req's session fields and, for an incremental Fetch, its partitions and forgotten ones
 * (in req's arena) as the cache takes them. 0; -EINVAL: a partition named twice; -ENOMEM. */
int brk__kafka_fs_request(struct kp_request *req, struct brk_fsess_request *rq);
/* How to serve req (a decoded Fetch): into *fs. 0, or -ENOMEM (close the connection;
 * *fs holds no lease). Loop thread; takes the cache's lock briefly. */
int brk__kafka_fs_begin(struct brk_conn *c, struct kp_request *req, struct brk_kafka_fs *fs);
/* Answer req with nothing but a top-level error (70, 71, 106, 42) and session 0. */
int brk__kafka_fs_refuse(struct brk_conn *c, struct kp_request *req, int16_t error);
/* Incremental: replace req->msg by the full request the session stands for (in req's
 * arena, whose limit is lifted: the cache bounds a session's size). Else nothing. 0 or
 * -ENOMEM. */
int brk__kafka_fs_expand(const struct brk_kafka_fs *fs, struct kp_request *req);
/* Right before resp (n partitions, in req's order) is encoded: a full Fetch's session is
 * made and named; an incremental one's unchanged partitions are cut from resp. Returns,
 * for an incremental Fetch, which of the n partitions stayed (arena; NULL: all of them),
 * in order; else NULL. Never fails: out of memory, the answer stays whole. */
const bool *brk__kafka_fs_settle(struct brk_kafka_fs *fs, struct kp_request *req,
                                 struct kp_fetch_resp *resp, int32_t n);
/* Give the lease back (if any). Idempotent; any thread. */
void brk__kafka_fs_end(struct brk_kafka_fs *fs);
/* k->fsess, with the broker's settings (attach). 0 or -ENOMEM. */
int brk__kafka_fs_init(struct brk_kafka *k);
/* The adapter's metrics (brk_adapter.metrics): the session cache's counters. */
struct brk_metrics_visitor;
void brk__kafka_fs_metrics(void *state, const struct brk_metrics_visitor *v);

/* ---- produce_check.c -------------------------------------------------------------------- */

/*
 * What one Produce partition's records field must be before it is appended, in Kafka's
 * order (ProduceRequest.validateRecords, then LogValidator), without the two passes over
 * the whole batch (the CRC-32C and every record): brk_produce makes those, once. Returns
 * a Kafka error code:
 *   NONE (0)                            one whole RecordBatch v2, header fields sane
 *   INVALID_REQUIRED_ACKS (21)          acks not in {-1, 0, 1}
 *   INVALID_RECORD (87)                 null/empty, not exactly one batch, magic != 2 (the
 *                                       v0/v1 message formats Kafka 4.0 no longer takes),
 *                                       counts that disagree, a control batch
 *   CORRUPT_MESSAGE (2)                 a batch length below the v2 header size
 *   UNSUPPORTED_COMPRESSION_TYPE (76)   codec id 5-7, or zstd in Produce < v7
 *   UNSUPPORTED_FOR_MESSAGE_FORMAT (43) a transactional_id, a transactional batch or a
 *                                       producer id (idempotence): this broker keeps no
 *                                       producer state; clients treat 43 as fatal
 * Pure; any thread.
 */
int16_t brk__kafka_produce_check(int16_t acks, struct kc_slice transactional_id,
                                 int16_t version, struct kc_slice records);
/* brk_produce's refusal as Kafka's code: 2 (CRC), 87 (records), 10 (size), 3, 56. */
int16_t brk__kafka_produce_error(int rc);

/* ---- group.c: the coordinator ------------------------------------------------------------ */

/* Create/destroy the coordinator inside k (attach/stop). */
int brk__kafka_groups_init(struct brk_kafka *k);
void brk__kafka_groups_fini(struct brk_kafka *k);
/* Lock the coordinator / unlock it and make sure a timer on c's loop fires at its next
 * deadline. Every kg_group_* call sits between the two. */
void brk__kafka_groups_lock(struct brk_kafka *k);
void brk__kafka_groups_unlock(struct brk_kafka *k, struct brk_conn *c);
/* The same, for a caller on loop's thread that has no connection (a task, a timer). */
void brk__kafka_groups_unlock_loop(struct brk_kafka *k, struct tcore_loop *loop);

/* ---- group_store.c: the coordinator's records ---------------------------------------------- */

/* kg's store callback: append the record (rec NULL: a tombstone) and answer
 * kg_group_stored(seq) from a task on loop 0 once it is durable or failed. Under mu. */
void brk__kafka_group_store(void *ctx, struct kc_slice group, const struct kg_record *rec,
                            uint64_t seq);
/* kg's keep_empty: has the group committed offsets? Under mu (takes the store's lock). */
bool brk__kafka_group_keep_empty(void *ctx, struct kc_slice group);
/* The adapter's start: load every group record the core replayed. Main thread. */
int brk__kafka_groups_load(struct brk_kafka *k);
/* A cluster's coordinator took over partitions (view v): load the group records their
 * load found (brk_offsets_load), those of groups v says are led here. Under mu. */
void brk__kafka_groups_take(struct brk_kafka *k, const struct brk_cview *v);

/* ---- groups_admin.c -------------------------------------------------------------------------- */

/* May c's principal do op on the resource, without logging a denial (Kafka's
 * logIfDenied = false: filtering a list, reporting authorized operations)? Any thread. */
bool brk__kafka_may(const struct brk_conn *c, int op, int type, struct kc_slice name);
/* "/" + the client's address, as Kafka records a member's clientHost, in arena a. */
struct kc_slice brk__kafka_client_host(const struct brk_conn *c, struct kp_arena *a);

#endif
