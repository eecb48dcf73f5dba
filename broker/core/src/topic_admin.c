/*
 * topic_admin.c - creating with configs, deleting, growing, reconfiguring topics, and
 * DeleteRecords, for any door (brk_service.h).
 *
 * Deleting a topic that requests are using. Network loops find topics by name and then
 * use the pointers without a lock (partitioning's rule), so a topic's logs may be closed
 * only once no request can hold them. The deletion is made durable and invisible at once
 * (part_topic_delete, on the loop that serves DeleteTopics); the rest runs on the main
 * thread, which owns no connection and may wait:
 *
 *   loop (DeleteTopics)             main thread (reap)                 every loop
 *   part_topic_delete: marker,      barrier 1: a task to each loop ---> runs it: every
 *   unpublished                     and wait for all                    request that found
 *   queue it, wake main  --------->                                     the topic earlier
 *                                                                       has been served
 *                                   wake the parked readers (their  --> Kafka Fetch sees
 *                                   watches, alog_watch_fire_all)       it deleted: error
 *                                   barrier 2                      ---> every finish ran
 *                                   drop the group offsets
 *                                   part_topic_reap: close, rename, unmark, remove
 *   answer (waiter) <-------------- waiters told
 *
 * The barrier is the grace period of RCU ("a quiescent state on every CPU"), with a loop
 * turn for a CPU: tasks posted to a loop run in the order they were posted (the loop takes
 * its task stack whole), so a barrier task that has run on every loop proves that every
 * request served - and every park finish posted - before it is over.
 *
 * A crash anywhere leaves the marker: the next start finishes the deletion (partitioning
 * README §1). The DeleteTopics answer waits for the reap, so that a client that deletes
 * and then creates the same name finds the name free, as with Kafka.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "brk_int.h"
#include "brk_tconfig.h"

/* ---- configs -------------------------------------------------------------------------------- */

static unsigned flags_of(const struct brk_config *bc, const struct brk_tcfg *c)
{
    return (brk_tcfg_log_append_time(bc, c) ? BRK_TOPIC_LOG_APPEND_TIME : 0) |
           (brk_tcfg_retention_deletes(bc, c) ? 0 : BRK_TOPIC_NO_RETENTION) |
           (brk_tcfg_compacts(bc, c) ? BRK_TOPIC_COMPACT : 0);
}

/* Apply c to t's logs and flags (live). */
static int apply(struct brk_server *srv, struct part_topic *t, const struct brk_tcfg *c)
{
    struct alog_config lc;
    brk_tcfg_log_config(&srv->cfg, c, &lc);
    int rc = 0;
    for (int32_t p = 0; p < part_topic_partitions(t); p++) {
        int r = alog_set_config(part_topic_log(t, p), &lc);
        if (r && rc == 0)
            rc = r;
    }
    part_topic_set_flags(t, flags_of(&srv->cfg, c));
    return rc;
}

int brk_topic_configs(struct brk_server *srv, struct part_topic *t, struct brk_tcfg *c)
{
    char *text;
    int rc = part_topic_configs(srv->reg, t, &text);
    if (rc)
        return rc;
    brk_tcfg_parse(text, c);
    free(text);
    return 0;
}

int brk_topic_set_configs(struct brk_server *srv, struct part_topic *t, const struct brk_tcfg *c)
{
    char *text = brk_tcfg_format(c);
    if (!text)
        return -ENOMEM;
    int rc = part_topic_set_configs(srv->reg, t, text); /* durable first */
    free(text);
    if (rc == 0)
        rc = apply(srv, t, c); /* then live: the next append, the next retention pass */
    if (rc == 0)
        kc_log_info("topic %s: configs changed", part_topic_name(t));
    return rc;
}

int brk__topics_apply_configs(struct brk_server *srv)
{
    size_t n = part_topic_list(srv->reg, NULL, 0);
    struct part_topic **ts = calloc(n ? n : 1, sizeof(*ts));
    struct brk_tcfg *c = malloc(sizeof(*c));
    int rc = ts && c ? 0 : -ENOMEM;
    if (rc == 0)
        n = KC_MIN(n, part_topic_list(srv->reg, ts, n));
    for (size_t i = 0; rc == 0 && i < n; i++) {
        rc = brk_topic_configs(srv, ts[i], c);
        if (rc == 0 && c->n > 0)
            rc = apply(srv, ts[i], c);
        else if (rc == 0)
            part_topic_set_flags(ts[i], flags_of(&srv->cfg, c));
    }
    free(c);
    free(ts);
    return rc;
}

int brk_topic_create_with(struct brk_server *srv, const char *name, size_t len,
                          int32_t partitions, const struct brk_tcfg *c,
                          struct part_topic **out)
{
    if (!c || c->n == 0)
        return brk_topic_create(srv, name, len, partitions, out);
    return brk_topic_create_as(srv, name, len, partitions, c, NULL, out);
}

int brk_topic_create_as(struct brk_server *srv, const char *name, size_t len,
                        int32_t partitions, const struct brk_tcfg *c,
                        const struct part_topic_id *id, struct part_topic **out)
{
    static const struct brk_tcfg none;
    char buf[PART_NAME_MAX + 1];
    struct alog_config lc;
    if (!c)
        c = &none;
    if (part_name_check(name, len) != 0)
        return KC_EBADNAME;
    if (brk_topic_internal(name, len))
        return -EEXIST;
    if (partitions == -1)
        partitions = srv->cfg.num_partitions;
    if (partitions < 1)
        return -EINVAL;
    char *text = brk_tcfg_format(c);
    if (!text)
        return -ENOMEM;
    memcpy(buf, name, len);
    buf[len] = '\0';
    brk_tcfg_log_config(&srv->cfg, c, &lc);
    struct part_topic *t;
    int rc = part_topic_create_as(srv->reg, buf, partitions, text, &lc, id, &t);
    free(text);
    if (rc)
        return rc;
    part_topic_set_flags(t, flags_of(&srv->cfg, c));
    kc_log_info("created topic %s with %d partition%s and %d config override%s", buf,
                partitions, partitions == 1 ? "" : "s", c->n, c->n == 1 ? "" : "s");
    if (out)
        *out = t;
    return 0;
}

int brk_topic_grow(struct brk_server *srv, struct part_topic *t, int32_t n)
{
    const char *name = part_topic_name(t);
    if (brk_topic_internal(name, strlen(name)))
        return -EPERM;
    return part_topic_grow(srv->reg, t, n);
}

int brk_delete_records(struct brk_server *srv, struct alog *log, int64_t offset, int64_t *low)
{
    (void)srv;
    if (offset == -1)
        offset = alog_end_offset(log); /* Kafka: -1 is the high watermark */
    if (offset < 0)
        return KC_EOFFSET;
    int rc = alog_advance_start(log, offset);
    if (rc == 0)
        *low = alog_start_offset(log);
    return rc;
}

/* ---- deletion: the queue the main thread reaps ------------------------------------------------ */

struct brk_reap {
    struct part_topic *t;
    struct brk_topic_waiter *waiters;
    struct brk_reap *next;
};

int brk__reaper_init(struct brk_server *srv)
{
    srv->reap_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (srv->reap_fd < 0)
        return -errno;
    int rc = pthread_mutex_init(&srv->reap_mu, NULL);
    if (rc) {
        (void)close(srv->reap_fd); /* just made, nothing written */
        srv->reap_fd = -1;
    }
    return -rc;
}

void brk__reaper_fini(struct brk_server *srv)
{
    struct brk_reap *r = srv->reaps, *next;
    for (; r; r = next) { /* never reaped: the markers finish them at the next start */
        next = r->next;
        free(r);
    }
    srv->reaps = NULL;
    if (srv->reap_fd >= 0) {
        (void)close(srv->reap_fd); /* an eventfd: nothing to flush */
        (void)pthread_mutex_destroy(&srv->reap_mu);
    }
    srv->reap_fd = -1;
}

int brk_topic_delete(struct brk_server *srv, struct part_topic *t, struct brk_topic_waiter *w)
{
    const char *name = part_topic_name(t);
    if (brk_topic_internal(name, strlen(name)))
        return -EPERM; /* Kafka: InvalidTopicException / TOPIC_AUTHORIZATION_FAILED */
    struct brk_reap *r = calloc(1, sizeof(*r));
    if (!r)
        return -ENOMEM;
    int rc = part_topic_delete(srv->reg, t); /* durable and invisible from here */
    if (rc) {
        free(r);
        return rc;
    }
    r->t = t;
    r->waiters = w;
    if (w)
        w->next = NULL;
    pthread_mutex_lock(&srv->reap_mu);
    r->next = srv->reaps;
    srv->reaps = r;
    pthread_mutex_unlock(&srv->reap_mu);
    uint64_t one = 1;
    if (write(srv->reap_fd, &one, sizeof(one)) < 0) /* EAGAIN: the counter is full, i.e. set */
        kc_log_debug("reaper wake-up: %s", strerror(errno));
    return 0;
}

bool brk_topic_waiter_cancel(struct brk_server *srv, struct brk_topic_waiter *w)
{
    bool found = false;
    pthread_mutex_lock(&srv->reap_mu);
    for (struct brk_reap *r = srv->reaps; r && !found; r = r->next) {
        for (struct brk_topic_waiter **at = &r->waiters; *at; at = &(*at)->next) {
            if (*at == w) {
                *at = w->next;
                found = true;
                break;
            }
        }
    }
    pthread_mutex_unlock(&srv->reap_mu);
    return found;
}

/* ---- the grace period ------------------------------------------------------------------------- */

struct barrier {
    _Atomic int left;
    struct tcore_task *tasks;
};

static void barrier_task(struct tcore_loop *loop, struct tcore_task *task)
{
    struct barrier *b = task->arg;
    (void)loop;
    atomic_fetch_sub(&b->left, 1);
}

/* Post a task to every loop and wait until each has run it. */
static int barrier(struct brk_server *srv)
{
    struct barrier b = {.tasks = calloc((size_t)srv->nloops, sizeof(*b.tasks))};
    if (!b.tasks)
        return -ENOMEM;
    atomic_init(&b.left, srv->nloops);
    for (int i = 0; i < srv->nloops; i++) {
        tcore_task_init(&b.tasks[i], barrier_task, &b);
        tcore_loop_post(srv->loops[i].loop, &b.tasks[i]);
    }
    while (atomic_load(&b.left) > 0) /* a loop turn: microseconds, a busy one milliseconds */
        kc_sleep_ms(1);
    free(b.tasks);
    return 0;
}

/* ---- reaping ------------------------------------------------------------------------------------ */

static void reap_one(struct brk_server *srv, struct brk_reap *r)
{
    struct part_topic *t = r->t;
    char name[PART_NAME_MAX + 1];
    strlcpy(name, part_topic_name(t), sizeof(name));
    int rc = barrier(srv); /* 1: nobody is still serving with t */
    for (int32_t p = 0; rc == 0 && p < part_topic_partitions(t); p++)
        alog_watch_fire_all(part_topic_log(t, p)); /* parked readers: look again */
    if (rc == 0)
        rc = barrier(srv); /* 2: every finish those wake-ups posted has run */
    if (rc) {
        kc_log_error("deleting topic %s: %s; its files go at the next start", name,
                     kc_strerror(rc));
    } else {
        int r1 = brk__offsets_drop_topic(srv->offsets, name, strlen(name));
        if (r1)
            kc_log_warn("deleting topic %s: dropping its group offsets failed: %s", name,
                        kc_strerror(r1));
        rc = part_topic_reap(srv->reg, t);
    }
    pthread_mutex_lock(&srv->reap_mu);
    struct brk_topic_waiter *w = r->waiters, *next;
    r->waiters = NULL;
    for (; w; w = next) { /* under the lock: a cancel either found it or it has run */
        next = w->next;
        w->fn(w, rc);
    }
    pthread_mutex_unlock(&srv->reap_mu);
}

void brk__reap_topics(struct brk_server *srv)
{
    uint64_t n;
    if (read(srv->reap_fd, &n, sizeof(n)) < 0 && errno != EAGAIN)
        kc_log_debug("reaper: %s", strerror(errno));
    for (;;) {
        pthread_mutex_lock(&srv->reap_mu);
        struct brk_reap *r = srv->reaps;
        pthread_mutex_unlock(&srv->reap_mu);
        if (!r)
            return;
        reap_one(srv, r); /* r stays listed meanwhile: brk_topic_waiter_cancel finds it */
        pthread_mutex_lock(&srv->reap_mu);
        for (struct brk_reap **at = &srv->reaps; *at; at = &(*at)->next) {
            if (*at == r) {
                *at = r->next;
                break;
            }
        }
        pthread_mutex_unlock(&srv->reap_mu);
        free(r);
    }
}
