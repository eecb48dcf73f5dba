/*
 * kafka_int.h - what the Kafka adapter's serving files share, and nobody else sees.
 *
 * The adapter is a thin layer: the codec (broker/kafka, kp_*) decodes a frame into a struct
 * kp_request, one function per API serves it with the core's services (brk_service.h),
 * and a kp_ encoder writes the answer into the connection's in-order answer queue:
 *
 *   serve.c      claim, frames, dispatch, per-connection state, ApiVersions, attach/stop
 *   metadata.c   Metadata (auto-creation), FindCoordinator, ListOffsets
 *   produce.c    Produce: kp_produce_precheck, brk_produce, acks 0/1/all
 *   fetch.c      Fetch: long-poll (max_wait_ms, min_bytes), records by sendfile
 *   group.c      JoinGroup, SyncGroup, Heartbeat, LeaveGroup: the coordinator
 *   offsets.c    OffsetCommit, OffsetFetch: the core's __consumer_offsets store
 *
 * Threads. A request is served on its connection's network loop. The one piece of state
 * shared between loops is the group coordinator (struct kp_groups, single-threaded by
 * contract): it sits behind brk_kafka.mu. A parked JoinGroup/SyncGroup may be answered by
 * another member's request on another loop: the coordinator's callback encodes the answer
 * into the waiter's own buffer (under mu) and resumes its park, whose finish copies the
 * bytes into the answer queue on the waiter's own loop. Session expiry and rebalance
 * timeouts run from a timer per loop (group.c), armed by whichever loop last changed the
 * coordinator's next deadline.
 *
 * Lifetimes. The frame a request was decoded from is valid only while serve runs. What
 * must outlive it keeps its own copy: a parked Fetch or OffsetCommit copies the (small)
 * frame and decodes it again; a parked Produce copies its answer's skeleton (names and
 * partitions, not the records); a parked Join/Sync copies the header.
 */
#ifndef KAFKA_INT_H
#define KAFKA_INT_H

#include <pthread.h>
#include <stdint.h>
#include <sys/queue.h>

#include "brk_adapter.h"
#include "brk_service.h"
#include "kc_common.h"
#include "kp.h"

/* This broker is node 0 of a one-node cluster: leader, replica, ISR and controller. */
#define BRK_KAFKA_NODE_ID 0
#define BRK_KAFKA_CLUSTER_ID "kafka-c-single-node"
/* api_keys counted by the metrics (Kafka's go up to ~70 today). */
#define BRK_KAFKA_API_KEYS 100
/* A Fetch waits at most this long, whatever the client asks (Kafka has no cap; a parked
 * fetch holds a slot, so one that never ends would pin the connection's answers). */
#define BRK_KAFKA_MAX_WAIT_MS 300000

struct brk_kafka;

/* The coordinator's timer on one network loop. */
struct brk_kafka_tick {
    struct tcore_timer timer;
    struct tcore_loop *loop;
    struct brk_kafka *k;
    int64_t due_ms; /* monotonic; INT64_MAX while disarmed. Touched on its loop only. */
};

/* Server-wide state (the adapter's, brk_conn_adapter_state). */
struct brk_kafka {
    struct brk_server *srv;
    pthread_mutex_t mu;            /* groups, ticks (the pointer), every waiter's answered */
    struct kp_groups *groups;
    struct brk_kafka_tick *ticks;  /* one per network loop, made on first use */
    int nticks;
    int32_t node[1];               /* replicas = isr = [this node] in Metadata */
};

/* A JoinGroup or SyncGroup waiting for the rest of its group. */
struct brk_kafka_gwait {
    struct brk_park park;          /* its place in the answer order, and its one close path */
    struct brk_kafka *k;
    struct kp_header hdr;          /* correlation id and version (client_id cleared) */
    struct kc_writer answer;       /* encoded by the coordinator's callback, under mu */
    bool answered;                 /* under mu: the coordinator answered (and let go of it) */
};

/* Per connection (brk_conn_state). Loop thread only. */
struct brk_kafka_conn {
    struct kc_writer scratch;      /* Fetch: the answer around its file ranges */
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

/* A partition by name and index: KP_ERR_NONE and *log, or UNKNOWN_TOPIC_OR_PARTITION
 * (also for names that cannot exist). Any thread; *log lives as long as the server. */
int16_t brk__kafka_partition(struct brk_server *srv, struct kc_slice topic, int32_t partition,
                             struct alog **log);

/* A copy of body[0..len) and the request decoded from it, for an answer that outlives
 * the frame. 0, -ENOMEM, or the decoder's error (impossible: the frame decoded once). */
int brk__kafka_redecode(const uint8_t *body, size_t len, uint8_t **copy, struct kp_request *req);

/* ---- one function per API (kafka_*.c). Loop thread. 0, or < 0 to close the connection
 * once what is queued has been sent (Kafka's answer to what it cannot serve). ---------- */

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
int brk__kafka_offset_commit(struct brk_conn *c, struct kp_request *req, const uint8_t *body,
                             size_t len);
int brk__kafka_offset_fetch(struct brk_conn *c, struct kp_request *req);

/* ---- the coordinator (kafka_group.c) ------------------------------------------------- */

/* Create/destroy the coordinator inside k (attach/stop). */
int brk__kafka_groups_init(struct brk_kafka *k);
void brk__kafka_groups_fini(struct brk_kafka *k);
/* Lock the coordinator / unlock it and make sure a timer on c's loop fires at its next
 * deadline. Every kp_group_* call sits between the two. */
void brk__kafka_groups_lock(struct brk_kafka *k);
void brk__kafka_groups_unlock(struct brk_kafka *k, struct brk_conn *c);

#endif
