/*
 * fetcher.c - a replica fetcher: the object, its partition set, and the thread's loop.
 *
 *   loop:
 *     not connected?  connect, ApiVersions (the leader must serve Fetch v12), or back
 *                     off retry_backoff_ms and try again
 *     round           kfr__round: ask the owner, Fetch, hand the answer over
 *       1  answered   next round at once (a long poll waited at the leader already)
 *       0  nothing    no partition to fetch: sleep until kfr_wake or the backoff
 *                     (idle_ms when the owner paused the partitions it has)
 *     cut    KFR_CUT    a kfr_add during the long poll: disconnect (the leader drops the
 *                        parked Fetch with it), connect again at once, a full round
 *      <0  failed     disconnect; the round's partitions were not handed over; back off,
 *                     except after a round that worked: a connection idle while its leader
 *                     restarted fails its first round, and a second of backoff there is a
 *                     second in which the new leader's HW cannot move
 *
 * The partition set is shared with the owner's threads under a mutex held for a copy; the
 * thread works on its own snapshot, copied only when the set changed (a generation count),
 * so the ops can call kfr_add/kfr_remove without deadlock.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "kc_common.h"
#include "kc_err.h"
#include "kc_log.h"
#include "kc_time.h"
#include "kfr_int.h"

bool kfr_tp_valid(const struct kfr_tp *tp)
{
    size_t n = strnlen(tp->topic, sizeof(tp->topic));
    return n > 0 && n <= KFR_TOPIC_MAX && tp->partition >= 0;
}

static bool same_tp(const struct kfr_tp *a, const struct kfr_tp *b)
{
    return a->partition == b->partition && strcmp(a->topic, b->topic) == 0;
}

int kfr_add(struct kfr_fetcher *f, const struct kfr_tp *tp)
{
    if (!kfr_tp_valid(tp))
        return -EINVAL;
    int rc = 0;
    pthread_mutex_lock(&f->mu);
    int i = 0;
    while (i < f->ntps && !same_tp(&f->tps[i], tp))
        i++;
    if (i == f->ntps && f->ntps == f->cap) {
        int cap = f->cap ? f->cap * 2 : 16;
        struct kfr_tp *tps = realloc(f->tps, (size_t)cap * sizeof(*tps));
        if (tps) {
            f->tps = tps;
            f->cap = cap;
        } else {
            rc = -ENOMEM;
        }
    }
    if (rc == 0 && i == f->ntps) {
        f->tps[f->ntps++] = *tp;
        f->gen++;
        f->added = true; /* a long poll in flight is cut (conn.c): tp is asked now */
        f->stats.partitions = f->ntps;
    }
    pthread_mutex_unlock(&f->mu);
    if (rc == 0)
        kfr_wake(f);
    return rc;
}

void kfr_remove(struct kfr_fetcher *f, const struct kfr_tp *tp)
{
    pthread_mutex_lock(&f->mu);
    for (int i = 0; i < f->ntps; i++) {
        if (same_tp(&f->tps[i], tp)) {
            f->tps[i] = f->tps[--f->ntps];
            f->gen++;
            break;
        }
    }
    f->stats.partitions = f->ntps;
    pthread_mutex_unlock(&f->mu);
    /* Called from an op, the thread's snapshot must forget tp now: round.c checks the
     * generation before each handover. */
}

void kfr_wake(struct kfr_fetcher *f)
{
    uint64_t one = 1;
    if (write(f->wake_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
        kc_log_warn("replica fetcher: cannot wake its thread: %s", kc_strerror(-errno));
}

void kfr_stats(struct kfr_fetcher *f, struct kfr_stats *out)
{
    pthread_mutex_lock(&f->mu);
    *out = f->stats;
    pthread_mutex_unlock(&f->mu);
}

/* Connect and check that the leader serves what a follower needs. */
static int handshake(struct kfr_fetcher *f)
{
    struct kp_api_versions_req req;
    struct kp_response r;
    int64_t deadline = kc_mono_ms() + f->cfg.socket_timeout_ms;
    int rc = kfr__connect(f, deadline);
    if (rc)
        return rc;
    kp_init(&kp_api_versions_req_schema, &req);
    if ((rc = kfr__call(f, KP_API_API_VERSIONS, 0, &req, &r, deadline)) != 0)
        return rc;
    const struct kp_api_versions_resp *resp = r.msg;
    rc = resp->error_code ? KC_EMALFORMED : -EPROTONOSUPPORT;
    for (int32_t i = 0; resp->error_code == 0 && i < resp->api_keys.n; i++)
        if (resp->api_keys.v[i].api_key == KP_API_FETCH &&
            resp->api_keys.v[i].min_version <= KFR_FETCH_VERSION &&
            resp->api_keys.v[i].max_version >= KFR_FETCH_VERSION)
            rc = 0;
    kp_response_fini(&r);
    if (rc == -EPROTONOSUPPORT)
        kc_log_error("replica fetcher: %s:%d does not serve Fetch v%d", f->cfg.host,
                     f->cfg.port, KFR_FETCH_VERSION);
    return rc;
}

static void set_connected(struct kfr_fetcher *f, bool up)
{
    pthread_mutex_lock(&f->mu);
    f->stats.connected = up;
    f->stats.connects += up;
    f->stats.failures += !up;
    pthread_mutex_unlock(&f->mu);
}

/* A connection that could not be made: counted, and said once per streak of failures
 * (a leader cut off by the network is retried every backoff, for as long as it lasts). */
static void connect_failed(struct kfr_fetcher *f, int rc)
{
    kfr__disconnect(f);
    pthread_mutex_lock(&f->mu);
    f->stats.connect_failures++;
    pthread_mutex_unlock(&f->mu);
    bool first = !f->connect_failing;
    f->connect_failing = true;
    if (first && rc != -ECANCELED)
        kc_log_warn("replica fetcher: cannot connect to %s:%d (%s); retrying every %d ms",
                    f->cfg.host, f->cfg.port, kc_strerror(rc), f->cfg.retry_backoff_ms);
}

/* A long poll cut by kfr_add: the connection is gone, but nothing failed. */
static void set_cut(struct kfr_fetcher *f)
{
    pthread_mutex_lock(&f->mu);
    f->stats.connected = false;
    f->stats.cuts++;
    pthread_mutex_unlock(&f->mu);
}

static void *fetcher_main(void *arg)
{
    struct kfr_fetcher *f = arg;
    (void)pthread_setname_np(pthread_self(), "kfr-fetcher"); /* else its creator's name */
    bool failed = false; /* the last round failed: back off before the next connection */
    while (!atomic_load(&f->stop)) {
        int rc = 0;
        if (f->conn.fd < 0) {
            if ((rc = handshake(f)) == 0) {
                set_connected(f, true);
                f->connect_failing = false;
            } else {
                connect_failed(f, rc);
                (void)kfr__wait_wake(f, f->cfg.retry_backoff_ms);
                continue;
            }
        }
        rc = kfr__round(f);
        if (rc > 0)
            failed = false;
        if (rc == 0) {
            (void)kfr__wait_wake(f, f->nsnap > 0 ? f->cfg.idle_ms : f->cfg.retry_backoff_ms);
        } else if (rc == KFR_CUT) {
            kfr__disconnect(f);
            set_cut(f);
        } else if (rc < 0 && rc != -ECANCELED) {
            kc_log_warn("replica fetcher: fetching from %s:%d failed (%s); reconnecting",
                        f->cfg.host, f->cfg.port, kc_strerror(rc));
            kfr__disconnect(f);
            set_connected(f, false);
            if (failed) /* the first failure reconnects at once: an idle connection whose */
                (void)kfr__wait_wake(f, f->cfg.retry_backoff_ms); /* peer restarted */
            failed = true;
        }
    }
    kfr__disconnect(f);
    return NULL;
}

static void config_defaults(struct kfr_config *c)
{
    c->max_wait_ms = c->max_wait_ms > 0 ? c->max_wait_ms : 500;
    c->min_bytes = c->min_bytes > 0 ? c->min_bytes : 1;
    c->max_bytes = c->max_bytes > 0 ? c->max_bytes : 10 << 20;
    c->partition_max_bytes = c->partition_max_bytes > 0 ? c->partition_max_bytes : 1 << 20;
    c->retry_backoff_ms = c->retry_backoff_ms > 0 ? c->retry_backoff_ms : 1000;
    c->idle_ms = c->idle_ms > 0 ? KC_MIN(c->idle_ms, c->retry_backoff_ms) : c->retry_backoff_ms;
    c->socket_timeout_ms = c->socket_timeout_ms > 0 ? c->socket_timeout_ms : 30000;
}

static void destroy(struct kfr_fetcher *f)
{
    kc_writer_fini(&f->conn.out);
    free(f->conn.in);
    free(f->tps);
    free(f->snap);
    free(f->sess.in);
    free(f->sess.sent);
    free(f->host);
    free(f->source_host);
    free(f->client_id);
    if (f->wake_fd >= 0)
        (void)close(f->wake_fd); /* an eventfd: nothing to report */
    pthread_mutex_destroy(&f->mu);
    free(f);
}

int kfr_open(const struct kfr_config *cfg, const struct kfr_ops *ops, void *arg,
             struct kfr_fetcher **out)
{
    char id[32];
    if (!cfg->host || cfg->port <= 0 || cfg->port > 65535 || cfg->replica_id < 0 ||
        !ops->position || !ops->received || !ops->round_done)
        return -EINVAL;
    struct kfr_fetcher *f = calloc(1, sizeof(*f));
    if (!f)
        return -ENOMEM;
    f->cfg = *cfg;
    config_defaults(&f->cfg);
    f->ops = *ops;
    f->arg = arg;
    f->conn.fd = -1;
    f->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    pthread_mutex_init(&f->mu, NULL);
    kc_writer_init(&f->conn.out, 0);
    snprintf(id, sizeof(id), "replica-%d", cfg->replica_id);
    f->host = strdup(cfg->host);
    f->source_host = strdup(cfg->source_host ? cfg->source_host : "");
    f->client_id = strdup(cfg->client_id ? cfg->client_id : id);
    int rc = f->wake_fd < 0                                   ? -errno
             : !f->host || !f->source_host || !f->client_id ? -ENOMEM
                                                              : 0;
    f->cfg.host = f->host;
    f->cfg.source_host = f->source_host;
    f->cfg.client_id = f->client_id;
    if (rc == 0 && (rc = -pthread_create(&f->thread, NULL, fetcher_main, f)) == 0) {
        *out = f;
        return 0;
    }
    destroy(f);
    return rc;
}

void kfr_close(struct kfr_fetcher *f)
{
    if (!f)
        return;
    atomic_store(&f->stop, true);
    kfr_wake(f);
    pthread_join(f->thread, NULL);
    destroy(f);
}
