/*
 * clu_plan.h - the controller's translation layer, pure (private; tested without ZooKeeper).
 *
 * Two directions:
 *
 *   ZooKeeper's news -> events      /brokers/ids children + each one's czxid, compared with
 *                                   what the controller knows   -> BROKER_LOST / _REGISTERED
 *   records -> ZooKeeper writes     what repl_ctl_handle decided -> create / setData / delete
 *                                   operations, grouped in units that must land together
 *
 *   record                 operations (paths relative to the chroot)
 *   ------                 ----------
 *   CONTROLLER             none: the election's own transaction wrote /controller and
 *                          /controller_epoch before the controller could decide anything
 *   BROKER, BROKER_STATE   none: a registration IS the broker's ephemeral znode, a fenced
 *                          broker is one whose znode is gone; "shutting down" lives in the
 *                          broker's controlled_shutdown request node
 *   TOPIC + its new        create /brokers/topics/<t> (the assignment, naming every
 *     PARTITIONs           partition), .../partitions, /config/topics/<t> -- one unit;
 *                          then create .../partitions/<p> and .../<p>/state -- a unit each
 *   PARTITIONs new to an   setData /brokers/topics/<t> (the whole assignment, at the
 *     existing topic       version the controller read)                  -- one unit;
 *                          then each partition's two nodes               -- a unit each
 *                          (ctx->assigned: the assignment names them already: only those)
 *   PARTITION (a change)   setData .../partitions/<p>/state at version (partition epoch - 1):
 *                          the write succeeds only on the state it was decided from, and
 *                          the znode's new version IS the new partition epoch
 *   TOPIC_DELETED          delete every state and partition node, .../partitions, the
 *                          topic, its config, /admin/delete_topics/<t>  -- ONE unit
 *
 * A unit is the operations of one record (or of a topic's deletion, or the first step of
 * its creation or growth) and the records they carry; units are packed into ZooKeeper
 * multi-transactions of at most `max_ops` operations and CLU_MULTI_MAX_BYTES (a unit is
 * never split). The units of one event land in order, so a controller that dies between
 * two leaves a prefix: partitions whose replicas the assignment names and whose states
 * were not written yet are at the end, and the next controller finishes them. The runtime puts a version check of
 * /controller_epoch at the front of each multi: the fence against a deposed controller.
 */
#ifndef CLU_PLAN_H
#define CLU_PLAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "clu_znode.h"
#include "repl_ctl.h"

/* A live registration, as the controller reads it from /brokers/ids. */
struct clu_live_broker {
    int32_t id;
    int64_t epoch;                    /* the znode's czxid */
    char endpoint[REPL_ENDPOINT_MAX]; /* its endpoints, joined */
};

/*
 * The events that make ctl agree with the live registrations live[0..n) (sorted or not):
 * BROKER_LOST for each broker ctl holds live or shutting down that has no registration;
 * then BROKER_REGISTERED for each registration ctl does not know, knows as fenced, or
 * knows at an older epoch (a bounce: handle() fences the old incarnation in the same
 * records). Endpoint pointers point into live[]. Returns the count (<= cap), -ENOSPC, or
 * -ENOMEM.
 */
int clu__broker_events(const struct repl_ctl *ctl, const struct clu_live_broker *live, size_t n,
                       struct repl_event *ev, size_t cap);

enum clu_op_kind { CLU_OP_CREATE, CLU_OP_SET, CLU_OP_DELETE };

struct clu_op {
    enum clu_op_kind kind;
    char *path; /* owned */
    char *data; /* owned; NULL for DELETE and for empty nodes */
    int len;
    int version; /* SET, DELETE: the version it must find (-1: any) */
};

struct clu_unit {
    size_t op0, op1;   /* ops[op0, op1) */
    size_t rec0, rec1; /* the records they carry: recs->v[rec0, rec1) */
};

struct clu_plan {
    struct clu_op *ops;
    size_t nops, cap;
    struct clu_unit *units;
    size_t nunits, ucap;
};

/* What the records do not carry. */
struct clu_plan_ctx {
    const char *topic_id; /* TOPIC: the new topic's id (clu_uuid_new); new PARTITIONs of */
    int topic_version;    /* a topic: its id, and its assignment znode's version */
    bool assigned;        /* new PARTITIONs the assignment names already (written by a
                           * controller that died before their states) */
    const char *config;   /* TOPIC: its config object's JSON text, NULL for {} */
    size_t config_len;
    bool has_config_node;    /* TOPIC_DELETED: /config/topics/<t> exists */
    bool has_delete_request; /* TOPIC_DELETED: /admin/delete_topics/<t> exists */
};

void clu__plan_init(struct clu_plan *plan);
void clu__plan_fini(struct clu_plan *plan);
/*
 * Plan recs->v[from, recs->n) against ctl, the state BEFORE those records. 0; -EINVAL
 * for records this layer cannot write (a TOPIC without its partitions, new partitions
 * without ctx's topic id (or ctx->assigned) or not following the topic's last one; a
 * replica reassignment is not part of it); -ENOMEM. On failure the plan is emptied.
 */
int clu__plan(const struct repl_ctl *ctl, const struct repl_recs *recs, size_t from,
              const struct clu_plan_ctx *ctx, struct clu_plan *plan);
/*
 * ZooKeeper refuses a request larger than its jute.maxbuffer (1 MiB unless its operator
 * raised it) by dropping the connection: a transaction the controller writes stays under
 * this many bytes, counted as clu__plan_unit_bytes does (an upper bound of jute's size).
 * A unit larger than that alone cannot be written at all: the controller refuses its
 * event instead of retrying it. The largest units are a topic's first (its assignment
 * names every partition: about 16 bytes each at replication factor 3, so some 60,000
 * partitions per topic - Kafka's ZooKeeper mode had the same bound), refused with
 * INVALID_PARTITIONS.
 */
#define CLU_MULTI_MAX_BYTES (960u << 10) /* the rest of 1 MiB: the epoch check, an answer */

/* At most how many bytes the assignment znode of a topic of `partitions` partitions, rf
 * replicas each from brokers numbered up to max_broker_id, takes: O(partitions) integer
 * work, so a creation that cannot fit is refused before its records and plan are built
 * (a plan of 65,000 partitions took seconds under Valgrind, long enough to lose the
 * controller's ZooKeeper session). */
size_t clu__plan_assignment_bound(int32_t partitions, int rf, int32_t max_broker_id);

/* What unit u weighs in a multi: its paths and data, plus a per-operation allowance for
 * the header, ACL and version fields. */
size_t clu__plan_unit_bytes(const struct clu_plan *plan, size_t u);

/* The first unit after the chunk starting at unit u0: units [u0, end) hold at most
 * max_ops operations and CLU_MULTI_MAX_BYTES, or are one unit alone if it is larger. */
size_t clu__plan_chunk_end(const struct clu_plan *plan, size_t u0, size_t max_ops);

#endif
