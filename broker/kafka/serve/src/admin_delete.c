/*
 * admin_delete.c - DeleteTopics, which waits for the deletion it starts.
 *
 *   DeleteTopics [a, b]                        core/src/topic_admin.c
 *     per topic: checks, brk_topic_delete ---> durable + unpublished now; reaped later
 *     park the answer (timeout_ms)             on the main thread ...
 *                          <--- waiter(a) ---- a's logs closed, directories gone
 *                          <--- waiter(b) ---- b's too
 *     all back: answer [a: 0, b: 0]
 *     timeout first: the waiters withdrawn; those not back get REQUEST_TIMED_OUT (7), as
 *     Kafka answers when a deletion outlives the request's timeout (it still completes)
 *
 * Why wait: a client that deletes a topic and then creates it again (tests do, tutorials
 * do) must find the name free, and with the answer sent only after the reap it is. A
 * timeout_ms of 0 or less answers at once, as Kafka ("Values <= 0 will trigger topic
 * deletion and return immediately").
 *
 * In a cluster the controller deletes (brk_cluster_topic_delete): the waiter is told once
 * the topic is gone from this broker's view and its local logs are being removed; every
 * broker removes its own when its view says the topic is gone.
 *
 * The answer lives in an arena of its own (the request's frame and arena are gone once
 * serve returns); names are copied into it. Each waiter runs on the main thread under the
 * core's reaper lock: it marks its topic done and, the last one, resumes the park.
 * The park's withdraw cancels those still queued under the same lock, so after it no
 * waiter runs and every "done" it will ever see is visible.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "brk_cluster.h"
#include "kafka_int.h"
#include "sec_acl.h"

typedef struct kp_delete_topics_resp_deletable_topic_result dt_result;

struct kdel;

struct kdel_topic {
    struct brk_topic_waiter w;
    struct brk_cluster_waiter cw; /* a cluster: the controller deletes */
    bool cluster;
    struct kdel *kd;
    int32_t idx;  /* in the answer */
    bool waiting; /* a waiter was queued */
    bool done;    /* its fn ran (under the reaper lock) */
};

struct kdel {
    struct brk_park park;
    struct brk_server *srv;
    struct kp_arena arena; /* the answer and the copied names */
    struct kp_request_header hdr;
    struct kp_delete_topics_resp *resp;
    struct kdel_topic *t;  /* one per answer entry */
    int32_t n;
    _Atomic int pending;   /* waiters not back, + 1 while serve runs */
};

static void kdel_free(struct kdel *kd)
{
    kp_arena_fini(&kd->arena);
    free(kd);
}

static void waiter_fn(struct brk_topic_waiter *w, int err)
{
    struct kdel_topic *kt = w->arg;
    (void)err; /* the topic is gone either way: a failed reap is finished at the next start */
    kt->done = true;
    if (atomic_fetch_sub(&kt->kd->pending, 1) == 1)
        brk_park_resume(&kt->kd->park, BRK_PARK_RESUMED);
}

static void cluster_waiter_fn(struct brk_cluster_waiter *w, int err)
{
    struct kdel_topic *kt = w->arg;
    if (err) /* the topic was there a moment ago: a refusal is a race with another delete */
        kc_log_info("the controller did not delete a topic: %d", err);
    kt->done = true;
    if (atomic_fetch_sub(&kt->kd->pending, 1) == 1)
        brk_park_resume(&kt->kd->park, BRK_PARK_RESUMED);
}

static void kdel_withdraw(struct brk_park *p)
{
    struct kdel *kd = (struct kdel *)((char *)p - offsetof(struct kdel, park));
    for (int32_t i = 0; i < kd->n; i++)
        if (kd->t[i].waiting && !(kd->t[i].cluster ? brk_cluster_cancel(kd->srv, &kd->t[i].cw)
                                                   : brk_topic_waiter_cancel(kd->srv,
                                                                             &kd->t[i].w)))
            kd->t[i].done = true; /* it ran (cancel took the lock it ran under) */
}

/* Entries whose deletion has not come back in time. */
static void timed_out(struct kdel *kd)
{
    for (int32_t i = 0; i < kd->n; i++) {
        dt_result *r = &kd->resp->responses.v[kd->t[i].idx];
        if (!kd->t[i].waiting || kd->t[i].done)
            continue;
        r->error_code = KP_ERR_REQUEST_TIMED_OUT;
        if (kd->hdr.request_api_version >= 5)
            r->error_message = brk__kafka_strf(&kd->arena, "The deletion is still being "
                                                           "completed; the topic is gone.");
    }
}

static int kdel_done(struct brk_park *p, enum brk_park_why why)
{
    struct kdel *kd = (struct kdel *)((char *)p - offsetof(struct kdel, park));
    if (why != BRK_PARK_CLOSED) {
        struct brk_kafka_out o = {brk_park_conn(p), p};
        timed_out(kd);
        brk__kafka_answer(&o, &kd->hdr, kd->resp);
    }
    kdel_free(kd);
    return 0;
}

static const struct brk_park_ops kdel_ops = {
    .kind = "delete-topics", .withdraw = kdel_withdraw, .done = kdel_done};

/* ---- one entry ------------------------------------------------------------------------------ */

/* The topic entry i names: by name (v0-5, and v6 with a name), or by id (v6). */
static int16_t find(struct kdel *kd, const struct kp_delete_topics_req *dr, int32_t i,
                    dt_result *r, struct part_topic **pt)
{
    struct part_registry *reg = brk_server_registry(kd->srv);
    int16_t v = kd->hdr.request_api_version;
    struct kc_slice name = v < 6 ? dr->topic_names.v[i] : dr->topics.v[i].name;
    r->name = brk__kafka_keep(&kd->arena, name);
    if (v >= 6 && name.len >= 0) {
        struct kp_uuid zero = {{0}};
        if (memcmp(&dr->topics.v[i].topic_id, &zero, sizeof(zero)) != 0) {
            r->error_message = brk__kafka_strf(&kd->arena, "You may not specify both topic "
                                                           "name and topic id.");
            return KP_ERR_INVALID_REQUEST;
        }
    }
    if (v >= 6 && name.len < 0) { /* by id */
        struct part_topic_id id;
        r->topic_id = dr->topics.v[i].topic_id;
        memcpy(id.b, r->topic_id.b, sizeof(id.b));
        *pt = part_topic_find_id(reg, &id);
        if (!*pt)
            return KP_ERR_UNKNOWN_TOPIC_ID;
        r->name = brk__kafka_keep(&kd->arena, kp_slice_str(part_topic_name(*pt)));
        return KP_ERR_NONE;
    }
    *pt = name.len > 0 ? part_topic_find(reg, (const char *)name.p, (size_t)name.len) : NULL;
    if (*pt && v >= 6)
        r->topic_id = brk__kafka_uuid(*pt);
    if (!*pt && name.len > 0 && brk_cluster_mode(kd->srv)) { /* logs not made here yet */
        struct brk_cview *cv = brk_cluster_view(kd->srv);
        bool known = cv && brk_cview_topic(cv, (const char *)name.p, (size_t)name.len);
        brk_cview_put(cv);
        return known ? KP_ERR_NONE : KP_ERR_UNKNOWN_TOPIC_OR_PARTITION;
    }
    return *pt ? KP_ERR_NONE : KP_ERR_UNKNOWN_TOPIC_OR_PARTITION;
}

static bool same(struct kc_slice a, struct kc_slice b)
{
    return a.len == b.len && a.len >= 0 && (a.len == 0 || memcmp(a.p, b.p, (size_t)a.len) == 0);
}

/* Is entry i's topic (by name or by id) named by another entry too? */
static bool dup(const struct kp_delete_topics_req *dr, int16_t v, int32_t i)
{
    int32_t n = v < 6 ? dr->topic_names.n : dr->topics.n;
    for (int32_t j = 0; j < n; j++) {
        if (j == i)
            continue;
        if (v < 6 && same(dr->topic_names.v[j], dr->topic_names.v[i]))
            return true;
        if (v >= 6 && dr->topics.v[i].name.len >= 0 &&
            same(dr->topics.v[j].name, dr->topics.v[i].name))
            return true;
        if (v >= 6 && dr->topics.v[i].name.len < 0 && dr->topics.v[j].name.len < 0 &&
            !memcmp(&dr->topics.v[j].topic_id, &dr->topics.v[i].topic_id, 16))
            return true;
    }
    return false;
}

static void delete_one(struct brk_conn *c, struct kdel *kd, const struct kp_delete_topics_req *dr,
                       int32_t i, bool wait)
{
    dt_result *r = &kd->resp->responses.v[i];
    struct kdel_topic *kt = &kd->t[i];
    struct part_topic *pt = NULL;
    int16_t v = kd->hdr.request_api_version;
    kt->kd = kd;
    kt->idx = i;
    if ((r->error_code = find(kd, dr, i, r, &pt)) != KP_ERR_NONE)
        return;
    if (dup(dr, v, i)) {
        r->error_code = KP_ERR_INVALID_REQUEST;
        if (v >= 5)
            r->error_message = brk__kafka_strf(&kd->arena, "Duplicate topic name or id.");
        return;
    }
    char named[PART_NAME_MAX + 1]; /* a cluster's topic without local logs yet: r->name */
    snprintf(named, sizeof(named), "%.*s", (int)KC_MAX(r->name.len, 0), (const char *)r->name.p);
    const char *name = pt ? part_topic_name(pt) : named;
    if (!brk_authorize(c, SEC_OP_DELETE, SEC_RES_TOPIC, name, strlen(name)) ||
        brk_topic_internal(name, strlen(name))) {
        r->error_code = KP_ERR_TOPIC_AUTHORIZATION_FAILED;
        if (v >= 5 && brk_topic_internal(name, strlen(name)))
            r->error_message = brk__kafka_strf(&kd->arena, "%s is the broker's own topic and "
                                                           "cannot be deleted.", name);
        return;
    }
    kt->w = (struct brk_topic_waiter){.fn = waiter_fn, .arg = kt};
    kt->cw = (struct brk_cluster_waiter){.fn = cluster_waiter_fn, .arg = kt};
    kt->cluster = brk_cluster_mode(kd->srv);
    if (wait)
        atomic_fetch_add(&kd->pending, 1);
    int rc = kt->cluster ? brk_cluster_topic_delete(kd->srv, name, wait ? &kt->cw : NULL)
                         : brk_topic_delete(kd->srv, pt, wait ? &kt->w : NULL);
    if (rc == 0) {
        kt->waiting = wait;
        return;
    }
    if (wait)
        atomic_fetch_sub(&kd->pending, 1); /* never queued: never called */
    r->error_code = rc == KC_ENOTOPIC ? (v >= 6 && dr->topics.v[i].name.len < 0
                                             ? KP_ERR_UNKNOWN_TOPIC_ID
                                             : KP_ERR_UNKNOWN_TOPIC_OR_PARTITION)
                                      : KP_ERR_KAFKA_STORAGE_ERROR;
    if (v >= 5 && rc != KC_ENOTOPIC)
        r->error_message = brk__kafka_strf(&kd->arena, "%s", kc_strerror(rc));
}

int brk__kafka_delete_topics(struct brk_conn *c, struct kp_request *req)
{
    const struct kp_delete_topics_req *dr = req->msg;
    int16_t v = req->hdr.request_api_version;
    int32_t n = v < 6 ? dr->topic_names.n : dr->topics.n;
    struct kdel *kd = calloc(1, sizeof(*kd));
    if (!kd)
        return -ENOMEM;
    kd->srv = brk_conn_server(c);
    kd->hdr = req->hdr;
    kd->hdr.client_id = (struct kc_slice){NULL, -1}; /* points into the frame: not kept */
    kd->n = KC_MAX(n, 0);
    atomic_init(&kd->pending, 1);
    kd->resp = kp_new(&kd->arena, &kp_delete_topics_resp_schema, 1);
    dt_result *r = kp_new(&kd->arena, &kp_delete_topics_resp_deletable_topic_result_schema, n);
    kd->t = kp_arena_alloc(&kd->arena, ((size_t)kd->n + 1) * sizeof(*kd->t));
    if (!kd->resp || !kd->t || (!r && n > 0)) {
        kdel_free(kd);
        return -ENOMEM;
    }
    KP_SET(kd->resp->responses, n, r);
    bool wait = dr->timeout_ms > 0 &&
                brk_park_start(c, &kd->park, &kdel_ops, dr->timeout_ms) == 0;
    for (int32_t i = 0; i < kd->n; i++)
        delete_one(c, kd, dr, i, wait);
    if (!wait) { /* answer now: the deletions go on in the background */
        int rc = brk__kafka_reply(c, &req->hdr, kd->resp);
        kdel_free(kd);
        return rc;
    }
    if (atomic_fetch_sub(&kd->pending, 1) == 1) /* nothing to wait for, or all back */
        brk_park_resume(&kd->park, BRK_PARK_RESUMED);
    return 0;
}
