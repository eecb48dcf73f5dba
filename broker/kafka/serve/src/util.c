/*
 * util.c - what several of the door's APIs need: writing an answer, finding a topic or a
 * partition by name, spotting a partition named twice, keeping a request past its frame.
 *
 * Partitions named twice. Kafka's request structs are lists, so a client can name the same
 * partition twice in one Produce, Fetch, ListOffsets or OffsetCommit. Serving it twice
 * would append a batch twice, send its records twice, or commit in an order nobody chose.
 * Kafka's ListOffsets answers every occurrence INVALID_REQUEST (42)
 * (ListOffsetsRequest.duplicatePartitions); the others collapse the list into a map and
 * answer the partition once, which no client can match to what it sent. Here every API
 * that acts on partitions answers each occurrence of a repeated partition
 * INVALID_REQUEST, and serves the rest. Finding them costs one pass for the usual request
 * (a few topics, each once, partitions ascending) and a sort of (topic, partition) pairs
 * for any other.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "brk_cluster.h"
#include "kafka_int.h"

int brk__kafka_answer(const struct brk_kafka_out *o, const struct kp_request_header *h,
                      const void *resp)
{
    struct kc_writer *w = brk__kafka_w(o);
    int rc = kp_response_encode(w, h->request_api_key, h->request_api_version,
                                h->correlation_id, resp, NULL, NULL);
    if (rc) {
        const struct kp_api *api = kp_api_find(h->request_api_key);
        kc_log_warn("%s: cannot encode the answer to %s v%d: %s; closing",
                    brk_conn_peer(o->c), api ? api->name : "?", h->request_api_version,
                    kc_strerror(rc));
        w->err = rc; /* half an answer must never reach the client: the core closes */
    }
    return rc;
}

int brk__kafka_reply(struct brk_conn *c, const struct kp_request_header *h, const void *resp)
{
    struct brk_kafka_out o = {c, NULL};
    return brk__kafka_answer(&o, h, resp);
}

int16_t brk__kafka_topic(struct brk_server *srv, struct kc_slice name, struct part_topic **t)
{
    if (name.len <= 0 ||
        brk_topic_get(srv, (const char *)name.p, (size_t)name.len, false, t) != 0)
        return KP_ERR_UNKNOWN_TOPIC_OR_PARTITION;
    return KP_ERR_NONE;
}

int16_t brk__kafka_leader_check(struct brk_server *srv, struct kc_slice topic, int32_t partition,
                                int32_t current_leader_epoch)
{
    int32_t leader, epoch;
    if (!brk_cluster_mode(srv))
        return KP_ERR_NONE; /* alone: this broker leads everything */
    int rc = brk_partition_leadership(srv, (const char *)topic.p, (size_t)KC_MAX(topic.len, 0),
                                      partition, &leader, &epoch);
    if (rc < 0)
        return KP_ERR_UNKNOWN_TOPIC_OR_PARTITION; /* not in the cluster's view */
    if (current_leader_epoch >= 0 && current_leader_epoch < epoch)
        return KP_ERR_FENCED_LEADER_EPOCH; /* the client's epoch is old: refresh metadata */
    if (current_leader_epoch > epoch)
        return KP_ERR_UNKNOWN_LEADER_EPOCH; /* newer than ours: we have not heard yet */
    return rc == 0 ? KP_ERR_NONE : KP_ERR_NOT_LEADER_OR_FOLLOWER;
}

int16_t brk__kafka_partition(struct brk_server *srv, struct kc_slice topic, int32_t partition,
                             struct alog **log)
{
    struct part_topic *t;
    int16_t err = brk__kafka_topic(srv, topic, &t);
    struct alog *l = err ? NULL : part_topic_log(t, partition);
    if (!l)
        return KP_ERR_UNKNOWN_TOPIC_OR_PARTITION;
    *log = l;
    return KP_ERR_NONE;
}

int brk__kafka_logs_init(struct brk_kafka_logs *l, struct kp_arena *a, int32_t cap)
{
    l->n = 0;
    l->cap = cap;
    l->v = kp_arena_alloc(a, ((size_t)cap + 1) * sizeof(*l->v));
    l->err = kp_arena_alloc(a, ((size_t)cap + 1) * sizeof(*l->err));
    return l->v && l->err ? 0 : -ENOMEM;
}

void brk__kafka_logs_add(struct brk_kafka_logs *l, struct brk_server *srv, struct kc_slice topic,
                         int32_t partition)
{
    struct alog *log = NULL;
    if (srv && brk__kafka_partition(srv, topic, partition, &log) != KP_ERR_NONE)
        log = NULL;
    if (l->n < l->cap)
        l->v[l->n++] = log;
}

int brk__kafka_logs_ready(struct brk_conn *c, struct brk_kafka_logs *l, int64_t timeout_ms)
{
    return brk_logs_ready(c, l->v, (int)l->n, timeout_ms, l->err);
}

int16_t brk__kafka_open_error(int err)
{
    return err == -ETIMEDOUT ? KP_ERR_REQUEST_TIMED_OUT : KP_ERR_KAFKA_STORAGE_ERROR;
}

static int tp_cmp(const void *a, const void *b)
{
    const struct brk_kafka_tp *x = a, *y = b;
    if (x->len != y->len)
        return x->len < y->len ? -1 : 1;
    int c = x->len > 0 ? memcmp(x->topic, y->topic, (size_t)x->len) : 0;
    if (c)
        return c;
    return (x->partition > y->partition) - (x->partition < y->partition);
}

static bool same_topic(const struct brk_kafka_tp *a, const struct brk_kafka_tp *b)
{
    return a->len == b->len && (a->topic == b->topic || a->len <= 0 ||
                                memcmp(a->topic, b->topic, (size_t)a->len) == 0);
}

/* The usual request names each of a few topics once, its partitions in ascending order:
 * then nothing repeats, and one pass says so without sorting. false: look closer. */
static bool plainly_distinct(const struct brk_kafka_tp *tp, int32_t n)
{
    int32_t starts[8], nstarts = 1;
    starts[0] = 0;
    for (int32_t i = 1; i < n; i++) {
        if (same_topic(&tp[i - 1], &tp[i])) {
            if (tp[i].partition <= tp[i - 1].partition)
                return false;
            continue;
        }
        if (nstarts == 8)
            return false; /* many topics: the sort is cheaper than comparing them all */
        for (int32_t j = 0; j < nstarts; j++)
            if (same_topic(&tp[starts[j]], &tp[i]))
                return false;
        starts[nstarts++] = i;
    }
    return true;
}

int32_t brk__kafka_dups(struct brk_kafka_tp *tp, int32_t n, bool *dup)
{
    int32_t found = 0;
    if (n < 2 || plainly_distinct(tp, n))
        return 0;
    qsort(tp, (size_t)n, sizeof(*tp), tp_cmp);
    for (int32_t i = 1; i < n; i++) {
        if (tp_cmp(&tp[i - 1], &tp[i]) != 0)
            continue;
        found += !dup[tp[i - 1].at] + !dup[tp[i].at];
        dup[tp[i - 1].at] = dup[tp[i].at] = true;
    }
    return found;
}

int brk__kafka_redecode(const uint8_t *body, size_t len, uint8_t **copy, struct kp_request *req)
{
    uint8_t *p = malloc(len ? len : 1);
    if (!p)
        return -ENOMEM;
    memcpy(p, body, len);
    int rc = kp_request_decode(p, len, 0, req); /* decoded once already: no limit needed */
    if (rc) {
        free(p);
        return rc;
    }
    *copy = p;
    return 0;
}

struct kc_slice brk__kafka_keep(struct kp_arena *a, struct kc_slice s)
{
    if (s.len <= 0)
        return s.len == 0 ? (struct kc_slice){(const uint8_t *)"", 0} : s;
    uint8_t *p = kp_arena_alloc(a, (size_t)s.len);
    if (!p)
        return (struct kc_slice){NULL, -1};
    memcpy(p, s.p, (size_t)s.len);
    return (struct kc_slice){p, s.len};
}
