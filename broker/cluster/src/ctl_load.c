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
 * A topic whose znodes this controller cannot read (a body that does not parse, a
 * partition without a state: written by someone else) is left out and logged: the
 * controller manages every other topic rather than none. A creation of the same name is
 * then refused (ctl_work.c checks /brokers/topics/<t> first).
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

/* One partition's state. 0 (ps filled), 1 (unusable: the topic is left out), or a
 * ZooKeeper error. */
static int load_state(struct clu *cl, const char *topic, int32_t p, const struct clu_replicas *r,
                      struct repl_pstate *ps)
{
    char path[CLU_PATH_MAX];
    struct Stat st;
    int len;
    clu_path_state(path, sizeof(path), topic, p);
    int rc = clu__zk_get(cl, path, false, &len, &st);
    if (rc == ZNONODE) {
        kc_log_error("cluster: controller: %s is missing: topic %s is not managed", path, topic);
        return 1;
    }
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

static int load_topic(struct clu *cl, struct repl_ctl *ctl, const char *name)
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
    rc = parts ? ZOK : ZSYSTEMERROR;
    for (int32_t p = 0; rc == ZOK && p < a.npart; p++)
        rc = load_state(cl, name, p, &a.parts[p], &parts[p]);
    if (rc == ZOK)
        rc = add_topic(ctl, name, parts, a.npart);
    else
        free(parts);
    clu_assignment_fini(&a);
    return rc == 1 ? ZOK : rc;
}

static int load_topics(struct clu *cl, struct repl_ctl *ctl)
{
    struct String_vector kids;
    int rc = clu__zk_children(cl, CLU_ZK_TOPICS, false, &kids);
    for (int32_t i = 0; rc == ZOK && i < kids.count; i++)
        if (repl_topic_name_valid(kids.data[i]))
            rc = load_topic(cl, ctl, kids.data[i]);
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

int clu__ctl_load(struct clu *cl, struct repl_ctl *ctl)
{
    int rc = load_brokers(cl, ctl);
    if (rc == ZOK)
        rc = load_topics(cl, ctl);
    if (rc == ZOK)
        rc = add_vanished(ctl);
    if (rc == ZOK)
        qsort(ctl->brokers, ctl->nbrokers, sizeof(ctl->brokers[0]), cmp_broker);
    else
        kc_log_warn("cluster: controller: loading the state: %s", zerror(rc));
    return rc;
}
