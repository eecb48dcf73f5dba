/*
 * pids.c - the block slot and the pids thread (clu_pids.h): InitProducerId takes ids
 * from memory, a thread of its own refills it from ZooKeeper ahead of need.
 *
 *   ids handed out     0 ........ 899 900 ........ 999 | 3000 ........ 3999
 *   the slot           current block [0, 1000)         | spare [3000, 4000)
 *                                 ^ 90% used: the thread is woken and claims the spare
 *                                   (another broker took 1000..2999 meanwhile)
 *
 * With 1000 ids per block and a ZooKeeper round trip of about a millisecond, the spare
 * arrives long before the last 100 ids are gone, unless ZooKeeper is unreachable; then
 * clu_pids_next says -EAGAIN at once, and the client retries.
 *
 * The thread's session: opened at start, and opened again when ZooKeeper expires it
 * (after a pause longer than the session timeout). A call that times out may still have
 * written its block; the next claim reads the znode again and takes the block after it,
 * so at worst 1000 ids are skipped, never one reused.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#ifndef THREADED
#define THREADED /* zookeeper.h declares the synchronous API only for the _mt library */
#endif
#include <zookeeper/zookeeper.h>

#include "clu_pids.h"
#include "kc_common.h"

#define RETRY_MIN_MS    50
#define RETRY_MAX_MS    1000
#define CONNECT_WAIT_MS 500 /* for a new session, before counting a failed attempt */

/* ---- the slot ------------------------------------------------------------------------ */

void clu_pids_slot_init(struct clu_pids_slot *s)
{
    memset(s, 0, sizeof(*s));
}

int clu_pids_slot_take(struct clu_pids_slot *s, int64_t *id)
{
    if (s->next >= s->end) {
        if (!s->spare)
            return -EAGAIN;
        s->start = s->next = s->spare_start;
        s->end = s->spare_end;
        s->spare = false;
    }
    *id = s->next++;
    return 0;
}

bool clu_pids_slot_wants(const struct clu_pids_slot *s)
{
    if (s->spare)
        return false;
    int64_t size = s->end - s->start, used = s->next - s->start;
    return used >= size || used * 10 >= size * 9; /* empty, or 90% used */
}

int clu_pids_slot_offer(struct clu_pids_slot *s, const struct clu_pids_block *b)
{
    if (b->start < s->high || b->end < b->start || b->end == INT64_MAX)
        return -EINVAL;
    if (s->spare)
        return -EBUSY;
    s->high = b->end + 1;
    if (s->next >= s->end) { /* the current block is spent: this one is current */
        s->start = s->next = b->start;
        s->end = b->end + 1;
    } else {
        s->spare = true;
        s->spare_start = b->start;
        s->spare_end = b->end + 1;
    }
    return 0;
}

/* ---- the thread ---------------------------------------------------------------------- */

struct clu_pids {
    pthread_t thread;
    char hosts[512]; /* zookeeper.connect, with its chroot */
    int session_ms;
    int32_t broker;
    zhandle_t *zh;       /* the thread's */
    pthread_mutex_t mu;  /* guards everything below */
    pthread_cond_t cond; /* the slot wants a block, or stop */
    struct clu_pids_slot slot;
    bool stop;
};

static void quiet(zhandle_t *zh, int type, int state, const char *path, void *ctx)
{
    (void)zh, (void)type, (void)state, (void)path, (void)ctx;
}

static void zk_log(const char *message)
{
    kc_log_debug("zookeeper (producer ids): %s", message);
}

/* A handle in the connected state, opened (again) if needed: 0 or -EAGAIN. */
static int connected(struct clu_pids *p)
{
    if (p->zh && zoo_state(p->zh) == ZOO_EXPIRED_SESSION_STATE) {
        kc_log_warn("producer ids: the ZooKeeper session expired; opening a new one");
        (void)zookeeper_close(p->zh);
        p->zh = NULL;
    }
    if (!p->zh) { /* a new handle connects in a millisecond or two: wait for that much */
        p->zh = zookeeper_init2(p->hosts, quiet, p->session_ms, NULL, NULL, 0, zk_log);
        for (int i = 0; p->zh && i < CONNECT_WAIT_MS / 5; i++) {
            if (zoo_state(p->zh) == ZOO_CONNECTED_STATE)
                break;
            usleep(5000);
        }
    }
    return p->zh && zoo_state(p->zh) == ZOO_CONNECTED_STATE ? 0 : -EAGAIN;
}

/* Back off for `ms`, or until a stop (mu held). Requests that find the slot empty signal
 * cond meanwhile; they do not cut the backoff short. */
static void nap(struct clu_pids *p, int ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_sec += ms / 1000;
    ts.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    while (!p->stop && pthread_cond_timedwait(&p->cond, &p->mu, &ts) != ETIMEDOUT)
        ;
}

/* One block from ZooKeeper into the slot (mu held; released during the calls). */
static int refill(struct clu_pids *p)
{
    struct clu_pids_block b;
    pthread_mutex_unlock(&p->mu);
    int rc = connected(p);
    if (rc == 0)
        rc = clu_pids_claim(p->zh, p->broker, &b);
    pthread_mutex_lock(&p->mu);
    if (rc != 0)
        return rc;
    rc = clu_pids_slot_offer(&p->slot, &b);
    if (rc == 0)
        kc_log_info("producer ids: block [%" PRId64 ", %" PRId64 "] taken from ZooKeeper %s",
                    b.start, b.end, CLU_PIDS_PATH);
    else /* a bug; the slot refused it, so nothing is reused */
        kc_log_error("producer ids: block [%" PRId64 ", %" PRId64 "] refused by the slot: %s",
                     b.start, b.end, kc_strerror(rc));
    return rc;
}

static void *pids_main(void *arg)
{
    struct clu_pids *p = arg;
    int backoff = 0, failed = 0; /* failed: attempts in a row (one log line per streak) */
    pthread_mutex_lock(&p->mu);
    while (!p->stop) {
        if (!clu_pids_slot_wants(&p->slot)) {
            pthread_cond_wait(&p->cond, &p->mu);
            continue;
        }
        int rc = refill(p);
        if (rc == 0) {
            if (failed > 0)
                kc_log_info("producer ids: a block again, after %d failed attempts", failed);
            backoff = failed = 0;
            continue;
        }
        if (failed++ == 0 || rc != -EAGAIN)
            kc_log_warn("producer ids: cannot take a block from ZooKeeper: %s (retrying "
                        "every %d ms at most)",
                        kc_strerror(rc), RETRY_MAX_MS);
        backoff = backoff ? KC_MIN(backoff * 2, RETRY_MAX_MS) : RETRY_MIN_MS;
        nap(p, backoff);
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

int clu_pids_open(const char *zk_connect, int session_timeout_ms, int32_t broker,
                  struct clu_pids **out)
{
    struct clu_pids *p = calloc(1, sizeof(*p));
    if (!p)
        return -ENOMEM;
    int n = snprintf(p->hosts, sizeof(p->hosts), "%s", zk_connect);
    if (broker < 0 || n <= 0 || (size_t)n >= sizeof(p->hosts)) {
        free(p);
        return -EINVAL;
    }
    p->session_ms = session_timeout_ms > 0 ? session_timeout_ms : 18000;
    p->broker = broker;
    clu_pids_slot_init(&p->slot);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cond, &ca);
    pthread_condattr_destroy(&ca);
    int rc = pthread_create(&p->thread, NULL, pids_main, p);
    if (rc != 0) {
        pthread_mutex_destroy(&p->mu);
        pthread_cond_destroy(&p->cond);
        free(p);
        return -rc;
    }
    *out = p;
    return 0;
}

void clu_pids_close(struct clu_pids *p)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->mu);
    p->stop = true;
    pthread_cond_signal(&p->cond);
    pthread_mutex_unlock(&p->mu);
    pthread_join(p->thread, NULL);
    if (p->zh)
        (void)zookeeper_close(p->zh); /* it owns nothing: how it ends does not matter */
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->cond);
    free(p);
}

int clu_pids_next(struct clu_pids *p, int64_t *id)
{
    pthread_mutex_lock(&p->mu);
    int rc = clu_pids_slot_take(&p->slot, id);
    if (clu_pids_slot_wants(&p->slot))
        pthread_cond_signal(&p->cond);
    pthread_mutex_unlock(&p->mu);
    return rc;
}
