/*
 * ctl_load.c - a new controller reads the whole state from ZooKeeper into a repl_ctl.
 *
 *   /brokers/ids/<id>                   -> brokers LIVE, epoch = czxid, endpoints
 *   /brokers/topics/<t>                 -> topics, replicas per partition
 *   .../partitions/<p>/state + version  -> leader, leader epoch, ISR, controller epoch,
 *                                          partition epoch = the znode's version
 *   a broker named by a partition but   -> known, SHUTTING_DOWN at epoch 0: it may neither
 *   not registered (it died while no       lead nor join an ISR, and the first broker
 *   controller was watching)               reconciliation turns it into BROKER_LOST, which
 *                                          moves its leaderships and shrinks its ISRs
 *
 * The state is built directly, not replayed: a replayed partition must start at epoch 0,
 * and these are wherever their history left them. (struct repl_ctl's arrays are plain
 * malloc'ed memory that repl_ctl_fini frees; the brokers stay sorted by id.)
 *
 * A creation or growth is written in several transactions (clu_plan.h), in order: a
 * controller that died in between leaves an assignment whose LAST partitions have no
 * state. Those are loaded as the topic's partitions so far plus an unfinished entry with
 * the rest's replicas, which the controller writes when it takes office (elect.c).
 *
 * A topic whose znodes this controller cannot read (a body that does not parse, a
 * partition without a state before one with a state: written by someone else) is left
 * out and logged: the controller manages every other topic rather than none. A creation
 * of the same name is then refused (ctl_work.c checks /brokers/topics/<t> first).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "clu_int.h"
#include "kc_common.h"

static int add_broker(struct repl_ctl *ctl, const struct repl_broker *b)
{
    if (ctl->nbrokers == ctl->cap_brokers) {
        size_t cap = ctl->cap_brokers ? ctl->cap_brokers * 2 : 8;
        struct repl_broker *v = realloc(ctl->brokers, cap * sizeof(*v));
        if (!v)
            return ZSYSTEMERROR;
        ctl->brokers = v;
        ctl->cap_brokers = cap;
    }
    ctl->brokers[ctl->nbrokers++] = *b;
    return ZOK;
}

static int cmp_broker(const void *a, const void *b)
{
    const struct repl_broker *x = a, *y = b;
    return (x->id > y->id) - (x->id < y->id);
}

static int load_brokers(struct clu *cl, struct repl_ctl *ctl)
{
    struct String_vector kids;
    int rc = clu__zk_children(cl, CLU_ZK_BROKER_IDS, false, &kids);
    for (int32_t i = 0; rc == ZOK && i < kids.count; i++) {
        char path[CLU_PATH_MAX];
        struct clu_path p;
        struct clu_broker_reg reg;
        struct Stat st;
        int len;
        snprintf(path, sizeof(path), CLU_ZK_BROKER_IDS "/%s", kids.data[i]);
        if (clu_path_parse(path, &p) != 0 || p.kind != CLU_P_BROKER)
            continue;
        rc = clu__zk_get(cl, path, false, &len, &st);
        if (rc == ZNONODE) {
            rc = ZOK; /* gone meanwhile: the reconciliation sees it */
            continue;
        }
        if (rc != ZOK || clu_broker_reg_decode(cl->buf, (size_t)len, &reg) != 0)
            continue; /* unreadable: not a broker this controller can use (view.c logs) */
        struct repl_broker b = {.id = p.id, .epoch = st.czxid, .state = REPL_BROKER_LIVE};
        strlcpy(b.endpoint, reg.endpoints, sizeof(b.endpoint));
        rc = add_broker(ctl, &b);
    }
    clu__zk_children_free(cl, &kids);
    return rc;
}

#define MISSING 2 /* load_state: no state znode */

/* One partition's state. 0 (ps filled), 1 (unusable: the topic is left out), MISSING, or
 * a ZooKeeper error. */
static int load_state(struct clu *cl, const char *topic, int32_t p, const struct clu_replicas *r,
                      struct repl_pstate *ps)
{
    char path[CLU_PATH_MAX];
    struct Stat st;
    int len;
    clu_path_state(path, sizeof(path), topic, p);
    int rc = clu__zk_get(cl, path, false, &len, &st);
    if (rc == ZNONODE)
        return MISSING;
    if (rc != ZOK)
        return rc;
    *ps = (struct repl_pstate){.nreplicas = r->n, .partition_epoch = st.version};
    memcpy(ps->replicas, r->r, sizeof(ps->replicas));
    if (clu_pstate_decode(cl->buf, (size_t)len, ps) != 0 || !clu_pstate_valid(ps)) {
        kc_log_error("cluster: controller: %s holds '%.200s': topic %s is not managed", path,
                     cl->buf, topic);
        return 1;
    }
    return 0;
}

static int add_topic(struct repl_ctl *ctl, const char *name, struct repl_pstate *parts,
                     int32_t npart)
{
    if (ctl->ntopics == ctl->cap_topics) {
        size_t cap = ctl->cap_topics ? ctl->cap_topics * 2 : 8;
        struct repl_topic *v = realloc(ctl->topics, cap * sizeof(*v));
        if (!v)
            return ZSYSTEMERROR;
        ctl->topics = v;
        ctl->cap_topics = cap;
    }
    struct repl_topic *t = &ctl->topics[ctl->ntopics++];
    memset(t, 0, sizeof(*t));
    strlcpy(t->name, name, sizeof(t->name));
    t->npart = t->cap_parts = npart;
    t->parts = parts;
    return ZOK;
}

/* Partitions [k, a->npart) have no state: are they all missing (an unfinished creation or
 * growth)? 0 (yes: *u filled), 1 (a later one has a state: not ours), or a ZooKeeper
 * error. */
static int unfinished(struct clu *cl, const char *name, const struct clu_assignment *a,
                      int32_t k, struct clu_unfinished *u)
{
    char path[CLU_PATH_MAX];
    struct Stat st;
    for (int32_t p = k + 1; p < a->npart; p++) {
        clu_path_state(path, sizeof(path), name, p);
        int rc = zoo_exists(cl->zh, path, 0, &st);
        if (rc == ZOK) {
            kc_log_error("cluster: controller: topic %s: partition %d has no state but %d has: "
                         "not managed", name, (int)k, (int)p);
            return 1;
        }
        if (rc != ZNONODE)
            return rc;
    }
    memset(u, 0, sizeof(*u));
    strlcpy(u->topic, name, sizeof(u->topic));
    u->total = a->npart;
    u->nassigned = a->npart - k;
    if (!(u->assigned = calloc((size_t)u->nassigned, sizeof(*u->assigned))))
        return ZSYSTEMERROR;
    for (int32_t p = k; p < a->npart; p++) {
        struct repl_pstate *ps = &u->assigned[p - k];
        ps->nreplicas = a->parts[p].n;
        memcpy(ps->replicas, a->parts[p].r, sizeof(ps->replicas));
    }
    return 0;
}

static int add_unfinished(struct clu_controller *c, const struct clu_unfinished *u)
{
    struct clu_unfinished *v = realloc(c->unfinished, (c->nunfinished + 1) * sizeof(*v));
    if (!v)
        return ZSYSTEMERROR;
    c->unfinished = v;
    c->unfinished[c->nunfinished++] = *u;
    return ZOK;
}

static int load_topic(struct clu *cl, struct clu_controller *c, const char *name)
{
    char path[CLU_PATH_MAX];
    struct clu_assignment a;
    struct Stat st;
    int len;
    clu_path_topic(path, sizeof(path), name);
    int rc = clu__zk_get(cl, path, false, &len, &st);
    if (rc != ZOK)
        return rc == ZNONODE ? ZOK : rc;
    if (clu_assignment_decode(cl->buf, (size_t)len, &a) != 0) {
        kc_log_error("cluster: controller: %s holds '%.200s': topic not managed", path, cl->buf);
        return ZOK;
    }
    struct repl_pstate *parts = calloc((size_t)a.npart, sizeof(*parts));
    struct clu_unfinished u = {0};
    int32_t k = 0;
    rc = parts ? ZOK : ZSYSTEMERROR;
    for (; rc == ZOK && k < a.npart; k++)
        rc = load_state(cl, name, k, &a.parts[k], &parts[k]);
    if (rc == MISSING) /* k went one past the first missing state */
        rc = unfinished(cl, name, &a, --k, &u);
    if (rc == ZOK && (rc = add_topic(&c->ctl, name, parts, k)) == ZOK)
        parts = NULL; /* the controller's now */
    if (rc == ZOK && u.assigned && (rc = add_unfinished(c, &u)) == ZOK)
        u.assigned = NULL;
    free(parts);
    free(u.assigned);
    clu_assignment_fini(&a);
    return rc == 1 ? ZOK : rc;
}

static int load_topics(struct clu *cl, struct clu_controller *c)
{
    struct String_vector kids;
    int rc = clu__zk_children(cl, CLU_ZK_TOPICS, false, &kids);
    for (int32_t i = 0; rc == ZOK && i < kids.count; i++)
        if (repl_topic_name_valid(kids.data[i]))
            rc = load_topic(cl, c, kids.data[i]);
    clu__zk_children_free(cl, &kids);
    return rc;
}

/* Brokers the partitions name that have no registration: known, but not live. */
static int add_vanished(struct repl_ctl *ctl)
{
    int rc = ZOK;
    for (size_t t = 0; rc == ZOK && t < ctl->ntopics; t++) {
        for (int32_t p = 0; rc == ZOK && p < ctl->topics[t].npart; p++) {
            const struct repl_pstate *ps = &ctl->topics[t].parts[p];
            for (int i = 0; rc == ZOK && i < ps->nisr; i++) {
                bool known = false;
                for (size_t b = 0; b < ctl->nbrokers; b++)
                    known |= ctl->brokers[b].id == ps->isr[i];
                struct repl_broker gone = {
                    .id = ps->isr[i], .epoch = 0, .state = REPL_BROKER_SHUTTING_DOWN};
                if (!known)
                    rc = add_broker(ctl, &gone);
            }
        }
    }
    return rc;
}

void clu__unfinished_free(struct clu_controller *c)
{
    for (size_t i = 0; i < c->nunfinished; i++)
        free(c->unfinished[i].assigned);
    free(c->unfinished);
    c->unfinished = NULL;
    c->nunfinished = 0;
}

bool clu__ctl_finished(const struct clu_controller *c, const char *topic, int32_t partitions,
                       int32_t rf)
{
    for (size_t i = 0; i < c->nunfinished; i++) {
        const struct clu_unfinished *u = &c->unfinished[i];
        if (strcmp(u->topic, topic) == 0 && u->total == partitions &&
            (rf == 0 || u->assigned[0].nreplicas == rf))
            return true;
    }
    return false;
}

int clu__ctl_load(struct clu *cl, struct clu_controller *c)
{
    struct repl_ctl *ctl = &c->ctl;
    clu__unfinished_free(c);
    int rc = load_brokers(cl, ctl);
    if (rc == ZOK)
        rc = load_topics(cl, c);
    if (rc == ZOK)
        rc = add_vanished(ctl);
    if (rc == ZOK)
        qsort(ctl->brokers, ctl->nbrokers, sizeof(ctl->brokers[0]), cmp_broker);
    else
        kc_log_warn("cluster: controller: loading the state: %s", zerror(rc));
    return rc;
}
