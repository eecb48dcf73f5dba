/*
 * kafka_int.h - what the Kafka handler's files (kafka_*.c) share, and nobody else sees.
 *
 * The handler is a thin layer: libbrk_kafka (kp_*) decodes a frame into a struct
 * kp_request, one function per API serves it with brk_service.h's services, and a kp_
 * encoder writes the answer into the connection's in-order response queue:
 *
 *   kafka_conn.c     frames, dispatch, per-connection state, ApiVersions, open/close
 *   kafka_meta.c     Metadata (auto-creation), FindCoordinator, ListOffsets
 *   kafka_produce.c  Produce: kp_produce_check, brk_produce, acks 0/1/all
 *   kafka_fetch.c    Fetch: long-poll (max_wait_ms, min_bytes), records by sendfile
 *   kafka_group.c    JoinGroup, SyncGroup, Heartbeat, LeaveGroup: the coordinator
 *   kafka_offsets.c  OffsetCommit, OffsetFetch: the shared __consumer_offsets store
 *
 * Threads. A request is served on its connection's network loop. The one piece of state
 * shared between loops is the group coordinator (struct kp_groups, single-threaded by
 * contract): it sits behind brk_kafka.mu. A parked JoinGroup/SyncGroup may be answered by
 * another member's request on another loop: the coordinator's callback then encodes the
 * answer into the waiter's own buffer (under mu) and posts it to the waiter's loop
 * (brk_async), where it is copied into the parked response slot. Session expiry and
 * rebalance timeouts run from a timer per loop (brk_kafka_tick), armed by whichever loop
 * last changed the coordinator's next deadline.
 *
 * Lifetimes. The frame a request was decoded from is valid only while serve runs. What
 * must outlive it keeps its own copy: a parked Fetch or OffsetCommit copies the (small)
 * frame and decodes it again; a parked Produce copies its response skeleton (names and
 * partitions, not the records); a parked Join/Sync copies the header.
 */
#ifndef KAFKA_INT_H
#define KAFKA_INT_H

#include <pthread.h>
#include <stdint.h>
#include <sys/queue.h>

#include "brk_service.h"
#include "kc_common.h"
#include "kp.h"

/* This broker is node 0 of a one-node cluster: leader, replica, ISR and controller. */
#define BRK_KAFKA_NODE_ID 0
#define BRK_KAFKA_CLUSTER_ID "kafka-c-single-node"
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

/* Server-wide state (brk_server_kafka). */
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
    struct brk_async async;        /* back to the connection's loop with the answer */
    struct brk_slot *slot;         /* its place in the response order */
    struct kp_header hdr;          /* correlation id and version (client_id cleared) */
    struct kc_writer answer;       /* encoded by the coordinator's callback, under mu */
    bool answered;                 /* under mu: answered (the async is posted or run) */
    bool listed;                   /* in its connection's waits (loop thread only) */
    LIST_ENTRY(brk_kafka_gwait) link;
};

/* Per connection (brk_conn_state). Loop thread only. */
struct brk_kafka_conn {
    struct kc_writer scratch;      /* Fetch: the answer around its file ranges */
    LIST_HEAD(, brk_kafka_gwait) waits; /* parked Join/Sync, forgotten when it closes */
};

/* Where an answer goes: straight into the queue, or into a parked slot. */
struct brk_kafka_out {
    struct brk_conn *c;
    struct brk_slot *slot;
};

static inline struct kc_writer *brk__kafka_w(const struct brk_kafka_out *o)
{
    return o->slot ? brk_slot_writer(o->slot) : brk_resp_writer(o->c);
}

static inline int brk__kafka_file(const struct brk_kafka_out *o, struct alog_slice *slice)
{
    return o->slot ? brk_slot_file(o->slot, slice) : brk_resp_file(o->c, slice);
}

/* The server-wide state of c's broker. */
static inline struct brk_kafka *brk__kafka_of(const struct brk_conn *c)
{
    return brk_server_kafka(brk_conn_server(c));
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

/* Create/destroy the coordinator inside k (open/close). */
int brk__kafka_groups_init(struct brk_kafka *k);
void brk__kafka_groups_fini(struct brk_kafka *k);
/* c is closing: withdraw its parked Join/Sync (their asyncs run with alive = false). */
void brk__kafka_groups_forget(struct brk_conn *c, struct brk_kafka_conn *kc);
/* The broker drains: answer c's parked Join/Sync now (COORDINATOR_NOT_AVAILABLE). */
void brk__kafka_groups_drain(struct brk_conn *c, struct brk_kafka_conn *kc);
/* Lock the coordinator / unlock it and make sure a timer on c's loop fires at its next
 * deadline. Every kp_group_* call sits between the two. */
void brk__kafka_groups_lock(struct brk_kafka *k);
void brk__kafka_groups_unlock(struct brk_kafka *k, struct brk_conn *c);

#endif
