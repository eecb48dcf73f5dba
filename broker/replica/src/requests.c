/*
 * requests.c - what the member asks the controller for, and who waits for the answers.
 *
 *   a network loop (CreateTopics)         the member thread
 *   -----------------------------         -----------------
 *   brk_cluster_topic_create(w) ──lock──> clu_topic_create: id; w queued with it
 *     (or _delete, _partitions_create,      ...
 *     _elect_leaders)
 *                                         on_answer(id): refused -> w->fn(w, code)
 *                                                        done    -> w waits for the view
 *                                         after the notes: the local logs made and the
 *                                         view has the topic (gone; grown to its new
 *                                         count; the leaders elected) -> w->fn(w, 0)
 *   park withdrawn (connection closed) ──> brk_cluster_cancel: w unlinked under mu
 *
 * fn runs under mu, so a cancel that finds w gone knows fn has run, and a cancel that
 * unlinks it knows fn never will (brk_topic_waiter_cancel's contract).
 *
 * The controlled shutdown (on_stop, on the main thread, at SIGTERM) hands the work to the
 * member thread - the one that polls notes and so receives the answer - and waits for it:
 * clu_shutdown_begin, and again after controlled.shutdown.retry.backoff.ms while the
 * answer says partitions are still led here, at most controlled.shutdown.max.retries
 * times; then the broker stops whatever the answer was. Bounded: never a hang.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "brep_int.h"

enum brep_ask { BREP_ASK_CREATE, BREP_ASK_DELETE, BREP_ASK_GROW, BREP_ASK_ELECT };

/* A waiter, with what the member needs to know when it is done. */
struct brep_wname {
    struct brk_cluster_waiter *w;
    char name[PART_NAME_MAX + 1];
    enum brep_ask what;
    int32_t total;  /* GROW: the partitions the topic must have */
    bool answered;  /* the controller said yes: now the view must have it */
    int election;   /* ELECT: its type, its partitions (owned), and how many of them the */
    int32_t *elect; /* controller answered it could not give the leader asked for */
    int32_t nelect, remaining;
    struct brep_wname *next;
};

static const char *const ask_verbs[] = {
    [BREP_ASK_CREATE] = "create", [BREP_ASK_DELETE] = "delete",
    [BREP_ASK_GROW] = "add partitions to", [BREP_ASK_ELECT] = "elect leaders of"};

static void wname_free(struct brep_wname *e)
{
    if (e)
        free(e->elect);
    free(e);
}

static void wake(struct brep *m)
{
    uint64_t one = 1;
    (void)!write(m->wakefd, &one, sizeof(one));
}

/* One request to the controller (clu copies everything it is given before returning). */
static int64_t ask_clu(struct brep *m, const char *name, enum brep_ask what, int32_t partitions,
                       int32_t rf, const struct clu_kv *kv, int n,
                       const struct brk_cluster_assignment *as)
{
    const int32_t *ids = as ? as->ids : NULL;
    switch (what) {
    case BREP_ASK_CREATE:
        return clu_topic_create_assigned(m->cl, name, partitions, rf, ids, kv, n);
    case BREP_ASK_GROW:
        return clu_partitions_create_assigned(m->cl, name, partitions, ids, as ? as->n : 0,
                                              as ? as->rf : 0);
    case BREP_ASK_ELECT:
    case BREP_ASK_DELETE:
        break;
    }
    return clu_topic_delete(m->cl, name);
}

static int ask(struct brep *m, const char *name, enum brep_ask what, int32_t partitions,
               int32_t rf, const struct brk_tcfg *c, const struct brk_cluster_assignment *as,
               struct brk_cluster_waiter *w)
{
    struct brep_wname *e = NULL;
    struct clu_kv kv[sizeof(c->e) / sizeof(c->e[0])];
    int n = c ? c->n : 0;
    for (int i = 0; i < n; i++) /* clu_topic_create copies them before it returns */
        kv[i] = (struct clu_kv){brk_tcfg_key_name(c->e[i].key), c->e[i].value};
    if (w && !(e = calloc(1, sizeof(*e))))
        return -ENOMEM;
    pthread_mutex_lock(&m->mu); /* before asking: the answer cannot beat the waiter */
    int64_t id = ask_clu(m, name, what, partitions, rf, kv, n, as);
    if (id > 0 && e) {
        e->w = w;
        w->id = id;
        strlcpy(e->name, name, sizeof(e->name));
        e->what = what;
        e->total = partitions;
        e->next = m->waiters;
        m->waiters = e;
    }
    pthread_mutex_unlock(&m->mu);
    if (id < 0)
        free(e);
    else
        kc_log_info("cluster: asked the controller to %s topic %s", ask_verbs[what], name);
    return id < 0 ? (int)id : 0;
}

/* ElectLeaders: like ask, with the partitions the view must then show elected. */
static int op_elect(void *arg, const char *name, int election, const int32_t *parts, int32_t n,
                    struct brk_cluster_waiter *w)
{
    struct brep *m = arg;
    struct brep_wname *e = calloc(1, sizeof(*e));
    int32_t *copy = malloc((size_t)KC_MAX(n, 1) * sizeof(*copy));
    if (!e || !copy) {
        free(e);
        free(copy);
        return -ENOMEM;
    }
    memcpy(copy, parts, (size_t)n * sizeof(*copy));
    pthread_mutex_lock(&m->mu); /* before asking: the answer cannot beat the waiter */
    int64_t id = clu_elect_leaders(m->cl, name, election, parts, n);
    if (id > 0) {
        *e = (struct brep_wname){.w = w, .what = BREP_ASK_ELECT, .election = election,
                                 .elect = copy, .nelect = n, .next = m->waiters};
        strlcpy(e->name, name, sizeof(e->name));
        w->id = id;
        m->waiters = e;
    }
    pthread_mutex_unlock(&m->mu);
    if (id < 0) {
        free(copy);
        free(e);
        return (int)id;
    }
    kc_log_info("cluster: asked the controller for a%s election of %d partition(s) of %s",
                election ? "n unclean" : " preferred", (int)n, name);
    return 0;
}

static int op_create(void *arg, const char *name, int32_t partitions, int32_t rf,
                     const struct brk_tcfg *c, const struct brk_cluster_assignment *as,
                     struct brk_cluster_waiter *w)
{
    return ask(arg, name, BREP_ASK_CREATE, partitions, rf, c, as, w);
}

static int op_delete(void *arg, const char *name, struct brk_cluster_waiter *w)
{
    return ask(arg, name, BREP_ASK_DELETE, 0, 0, NULL, NULL, w);
}

static int op_grow(void *arg, const char *name, int32_t total,
                   const struct brk_cluster_assignment *as, struct brk_cluster_waiter *w)
{
    return ask(arg, name, BREP_ASK_GROW, total, 0, NULL, as, w);
}

/* Unlink the entry of w (under mu); NULL if it is not there. */
static struct brep_wname *unlink_w(struct brep *m, struct brk_cluster_waiter *w)
{
    for (struct brep_wname **pp = &m->waiters; *pp; pp = &(*pp)->next) {
        if ((*pp)->w == w) {
            struct brep_wname *e = *pp;
            *pp = e->next;
            return e;
        }
    }
    return NULL;
}

static bool op_cancel(void *arg, struct brk_cluster_waiter *w)
{
    struct brep *m = arg;
    pthread_mutex_lock(&m->mu);
    struct brep_wname *e = unlink_w(m, w);
    pthread_mutex_unlock(&m->mu);
    bool was = e != NULL;
    wname_free(e);
    return was;
}

/* AlterConfigs: straight to /config/topics/<t>; every member applies the note it makes. */
static int op_configs(void *arg, const char *name, const struct brk_tcfg *c)
{
    struct brep *m = arg;
    struct clu_kv kv[sizeof(c->e) / sizeof(c->e[0])];
    for (int i = 0; i < c->n; i++)
        kv[i] = (struct clu_kv){brk_tcfg_key_name(c->e[i].key), c->e[i].value};
    int64_t id = clu_topic_config_set(m->cl, name, kv, c->n);
    if (id > 0)
        kc_log_info("cluster: topic %s: %d config override%s written to ZooKeeper", name, c->n,
                    c->n == 1 ? "" : "s");
    return id < 0 ? (int)id : 0;
}

/* InitProducerId, on a network loop: the pids thread keeps the slot filled (clu_pids.h). */
static int op_pids_next(void *arg, int64_t *id)
{
    struct brep *m = arg;
    return clu_pids_next(m->pids, id);
}

const struct brk_cluster_ops brep__ops = {
    .topic_create = op_create,
    .topic_delete = op_delete,
    .partitions_create = op_grow,
    .elect_leaders = op_elect,
    .cancel = op_cancel,
    .produce = brep__repl_produce,
    .internal_append = brep__repl_internal,
    .replica_fetch = brep__repl_fetch,
    .high_watermark = brep__repl_hw,
    .epoch_end = brep__repl_epoch_end,
    .metrics = brep__repl_metrics,
    .topic_configs = op_configs,
    .pids_next = op_pids_next,
};

/* Tell e's waiter (under mu) and free e. */
static void tell(struct brep *m, struct brep_wname *e, int err)
{
    struct brk_cluster_waiter *w = e->w;
    wname_free(unlink_w(m, w));
    w->fn(w, err);
}

static void shutdown_answer(struct brep *m, const struct clu_answer *a)
{
    if (a->id != m->cs_id)
        return;
    m->cs_id = 0;
    if (a->error == 0 && a->remaining == 0) {
        kc_log_info("controlled shutdown: this broker leads no partition any more");
    } else if (m->cs_tries <= BREP_SHUTDOWN_RETRIES) {
        kc_log_warn("controlled shutdown: %s; retrying in %d ms (try %d of %d)",
                    a->error ? "no answer" : "partitions are still led here",
                    BREP_SHUTDOWN_BACKOFF_MS, m->cs_tries, BREP_SHUTDOWN_RETRIES);
        pthread_mutex_lock(&m->mu);
        m->cs = BREP_CS_BACKOFF;
        pthread_mutex_unlock(&m->mu);
        m->cs_retry_at = kc_mono_ms() + BREP_SHUTDOWN_BACKOFF_MS;
        return;
    } else {
        kc_log_warn("controlled shutdown: %d partition%s still led here after %d tries; "
                    "stopping anyway", (int)a->remaining, a->remaining == 1 ? "" : "s",
                    m->cs_tries);
    }
    pthread_mutex_lock(&m->mu);
    m->cs = BREP_CS_DONE;
    pthread_cond_broadcast(&m->cond);
    pthread_mutex_unlock(&m->mu);
}

void brep__on_answer(void *arg, const struct clu_answer *a)
{
    struct brep *m = arg;
    if (a->kind == CLU_ANS_SHUTDOWN) {
        shutdown_answer(m, a);
        return;
    }
    if (a->kind == CLU_ANS_ALTER_ISR) {
        brep__replicas_isr_answer(m, a); /* replica.c */
        return;
    }
    if (a->kind == CLU_ANS_TOPIC_CONFIG) {
        if (a->error)
            kc_log_warn("cluster: the configs of topic %s were not written to ZooKeeper "
                        "(error %d): the other brokers keep the previous ones", a->topic,
                        a->error);
        return;
    }
    if (a->kind != CLU_ANS_CREATE_TOPIC && a->kind != CLU_ANS_DELETE_TOPIC &&
        a->kind != CLU_ANS_CREATE_PARTITIONS && a->kind != CLU_ANS_ELECT_LEADERS)
        return;
    enum brep_ask what = a->kind == CLU_ANS_CREATE_TOPIC        ? BREP_ASK_CREATE
                         : a->kind == CLU_ANS_DELETE_TOPIC      ? BREP_ASK_DELETE
                         : a->kind == CLU_ANS_CREATE_PARTITIONS ? BREP_ASK_GROW
                                                                : BREP_ASK_ELECT;
    pthread_mutex_lock(&m->mu);
    for (struct brep_wname *e = m->waiters; e; e = e->next) {
        if (e->w->id != a->id)
            continue;
        if (a->error != 0) {
            tell(m, e, a->error);
        } else {
            e->answered = true; /* told once the view has it: brep__waiters_settle */
            e->remaining = a->remaining;
        }
        break;
    }
    pthread_mutex_unlock(&m->mu);
    if (a->error)
        kc_log_info("cluster: the controller refused to %s topic %s: error %d", ask_verbs[what],
                    a->topic, a->error);
}

/* Does this broker's view (and its local logs) show what e asked for? */
/* Has the view every state of t's first n partitions? (A topic's node arrives before its
 * partitions' states, which may come in later transactions: a creation is answered once
 * all of them are in, so a Metadata or a CreatePartitions right after sees its leaders
 * and its replication factor.) */
static bool states_known(const struct brep_topic *t, int32_t n)
{
    for (int32_t p = 0; p < n; p++)
        if (!t->parts[p].known)
            return false;
    return true;
}

/* Does partition state ps have the leader an election of this type asks for? */
static bool elected(const struct repl_pstate *ps, int election)
{
    return election == REPL_ELECTION_PREFERRED ? ps->nreplicas > 0 && ps->leader == ps->replicas[0]
                                               : ps->leader >= 0;
}

/* An election is settled once the view shows as many of its partitions with the leader
 * asked for as the controller gave them (the listed ones minus `remaining`): the answer
 * comes when the states are written, their notes may come after it. */
static bool elections_seen(const struct brep_topic *t, const struct brep_wname *e)
{
    int32_t seen = 0;
    for (int32_t i = 0; t && i < e->nelect; i++) {
        int32_t p = e->elect[i];
        seen += p >= 0 && p < t->npartitions && t->parts[p].known &&
                elected(&t->parts[p].ps, e->election);
    }
    return seen >= e->nelect - e->remaining;
}

static bool settled(struct brep *m, const struct brep_wname *e)
{
    struct brep_topic *t = brep__topic(m, e->name);
    struct part_topic *pt = part_topic_find(brk_server_registry(m->srv), e->name,
                                            strlen(e->name));
    switch (e->what) {
    case BREP_ASK_CREATE:
        return t && t->exists && t->npartitions > 0 && pt && states_known(t, t->npartitions);
    case BREP_ASK_GROW:
        return t && t->exists && t->npartitions >= e->total && pt &&
               part_topic_partitions(pt) >= e->total && states_known(t, e->total);
    case BREP_ASK_DELETE:
        return !t && !pt;
    case BREP_ASK_ELECT:
        return elections_seen(t, e);
    }
    return false;
}

void brep__waiters_settle(struct brep *m)
{
    pthread_mutex_lock(&m->mu);
    for (struct brep_wname *e = m->waiters, *next; e; e = next) {
        next = e->next;
        if (e->answered && settled(m, e))
            tell(m, e, 0);
    }
    pthread_mutex_unlock(&m->mu);
}

void brep__waiters_drop(struct brep *m)
{
    pthread_mutex_lock(&m->mu);
    while (m->waiters)
        tell(m, m->waiters, -ESHUTDOWN);
    pthread_mutex_unlock(&m->mu);
}

/* ---- controlled shutdown --------------------------------------------------------------------- */

/* The member thread: start or retry the request when due. 0, or how long to wait (ms). */
int brep__shutdown_step(struct brep *m)
{
    pthread_mutex_lock(&m->mu);
    enum brep_cs cs = m->cs;
    pthread_mutex_unlock(&m->mu);
    if (cs == BREP_CS_BACKOFF && kc_mono_ms() < m->cs_retry_at)
        return (int)(m->cs_retry_at - kc_mono_ms());
    if (cs != BREP_CS_ASKED && cs != BREP_CS_BACKOFF)
        return 0;
    m->cs_tries++;
    m->cs_id = clu_shutdown_begin(m->cl);
    pthread_mutex_lock(&m->mu);
    m->cs = m->cs_id > 0 ? BREP_CS_WAITING : BREP_CS_DONE;
    if (m->cs == BREP_CS_DONE)
        pthread_cond_broadcast(&m->cond);
    pthread_mutex_unlock(&m->mu);
    if (m->cs_id <= 0)
        kc_log_warn("controlled shutdown: cannot ask the controller: %s",
                    kc_strerror((int)m->cs_id));
    return 0;
}

void brep__on_stop(void *arg)
{
    struct brep *m = arg;
    const struct brk_config *cfg = brk_server_config(m->srv);
    if (!cfg->cluster.controlled_shutdown || !m->started)
        return;
    /* Each try may wait for a controller's answer (a request gives up after 30 s), then
     * backs off: the bound is Kafka's retries times both. */
    int64_t deadline = kc_mono_ms() + (BREP_SHUTDOWN_RETRIES + 1) *
                                          (int64_t)(BREP_SHUTDOWN_BACKOFF_MS + 30000);
    kc_log_info("controlled shutdown: asking the controller to move this broker's "
                "leaderships");
    pthread_mutex_lock(&m->mu);
    m->cs = BREP_CS_ASKED;
    pthread_mutex_unlock(&m->mu);
    wake(m);
    pthread_mutex_lock(&m->mu);
    while (m->cs != BREP_CS_DONE && kc_mono_ms() < deadline) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += 1;
        pthread_cond_timedwait(&m->cond, &m->mu, &ts);
    }
    pthread_mutex_unlock(&m->mu);
}
