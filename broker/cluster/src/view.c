/*
 * view.c - every broker's view of the cluster: a read-only copy of the metadata, kept by
 * watches, and the notes that tell the broker what changed for it.
 *
 *   watch fired on          re-read                                 notes
 *   /brokers/ids            the children, each one's stat (czxid,   on_broker (live or not)
 *                           mzxid), its body if they moved
 *   /brokers/topics         the children                            on_topic (gone), and
 *                                                                   DELETED partitions
 *   /brokers/topics/<t>     the assignment, /config/topics/<t>      on_topic
 *   .../partitions/<p>/state  that state (its version = the          on_partition, with this
 *                           partition epoch)                        broker's role
 *
 * Every read sets its watch again (ZooKeeper's watches fire once). A node that does not
 * exist yet gets an exists-watch, so its creation is seen too. A body that does not parse
 * is logged as an error and skipped - never trusted, never a crash - and looked at again
 * when it changes.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "clu_int.h"
#include "kc_common.h"

enum clu_role clu__role(const struct repl_pstate *ps, int32_t self)
{
    if (!repl_pstate_in_replicas(ps, self))
        return CLU_ROLE_NOT_REPLICA;
    if (ps->leader == self)
        return CLU_ROLE_LEADER;
    return ps->leader == REPL_NO_LEADER ? CLU_ROLE_OFFLINE : CLU_ROLE_FOLLOWER;
}

static void vtopic_fini(struct clu_vtopic *t)
{
    free(t->replicas);
    free(t->ps);
    free(t->pdirty);
    free(t->config);
    memset(t, 0, sizeof(*t));
}

void clu__view_fini(struct clu_view *v)
{
    for (size_t i = 0; i < v->ntopics; i++)
        vtopic_fini(&v->topics[i]);
    free(v->topics);
    free(v->brokers);
    v->topics = NULL;
    v->brokers = NULL;
    v->ntopics = v->nbrokers = 0;
}

static struct clu_vtopic *find_topic(struct clu_view *v, const char *name)
{
    for (size_t i = 0; i < v->ntopics; i++)
        if (strcmp(v->topics[i].name, name) == 0)
            return &v->topics[i];
    return NULL;
}

const struct clu_vtopic *clu__view_topic(const struct clu *cl, const char *name)
{
    return find_topic((struct clu_view *)&cl->view, name);
}

/* ---- notes ---- */

static void note_broker(struct clu *cl, const struct clu_vbroker *b, bool live)
{
    struct clu_note *n = clu__note_new(CLU_NOTE_BROKER);
    if (n) {
        n->u.broker.n = (struct clu_broker_note){.id = b->id, .epoch = b->epoch, .live = live};
        n->u.broker.reg = b->reg;
    }
    clu__note_push(cl, n);
}

static void note_topic(struct clu *cl, const struct clu_vtopic *t, bool exists)
{
    struct clu_note *n = clu__note_new(CLU_NOTE_TOPIC);
    if (!n)
        return;
    strlcpy(n->u.topic.name, t->name, sizeof(n->u.topic.name));
    memcpy(n->u.topic.topic_id, t->topic_id, sizeof(n->u.topic.topic_id));
    n->u.topic.n = (struct clu_topic_note){.exists = exists, .partitions = t->npart};
    if (exists && t->nconfig > 0) {
        /* the config block is self-contained: copy it whole, then fix its pointers */
        size_t bytes = 0;
        for (int i = 0; i < t->nconfig; i++)
            bytes = KC_MAX(bytes, (size_t)(t->config[i].value + strlen(t->config[i].value) + 1 -
                                           (const char *)t->config));
        n->u.topic.config = malloc(bytes);
        if (n->u.topic.config) {
            memcpy(n->u.topic.config, t->config, bytes);
            ptrdiff_t d = (char *)n->u.topic.config - (char *)t->config;
            for (int i = 0; i < t->nconfig; i++) {
                n->u.topic.config[i].key += d;
                n->u.topic.config[i].value += d;
            }
            n->u.topic.n.nconfig = t->nconfig;
        }
    }
    clu__note_push(cl, n);
}

static void note_partition(struct clu *cl, const struct clu_vtopic *t, int32_t p, bool deleted)
{
    struct clu_note *n = clu__note_new(CLU_NOTE_PARTITION);
    if (!n)
        return;
    strlcpy(n->u.part.topic, t->name, sizeof(n->u.part.topic));
    n->u.part.ps = t->ps[p];
    n->u.part.n.partition = p;
    n->u.part.n.role = deleted ? CLU_ROLE_DELETED : clu__role(&t->ps[p], cl->cfg.broker_id);
    clu__note_push(cl, n);
}

/* A topic leaves the view: tell the broker, partitions first. */
static void topic_gone(struct clu *cl, struct clu_vtopic *t)
{
    for (int32_t p = 0; p < t->npart; p++)
        if (t->ps[p].partition_epoch >= 0)
            note_partition(cl, t, p, true);
    note_topic(cl, t, false);
    kc_log_info("cluster: broker %d: topic %s is gone", (int)cl->cfg.broker_id, t->name);
}

/* ---- brokers ---- */

static const struct clu_vbroker *find_broker(const struct clu_view *v, int32_t id)
{
    for (size_t i = 0; i < v->nbrokers; i++)
        if (v->brokers[i].id == id)
            return &v->brokers[i];
    return NULL;
}

/* One registration: from the old view when its stat did not move, else read again. 0 and
 * *b; 1 to skip it (gone meanwhile, or a body that does not parse); or a ZooKeeper error. */
static int read_broker(struct clu *cl, int32_t id, struct clu_vbroker *b)
{
    char path[CLU_PATH_MAX];
    struct Stat st;
    int len;
    clu_path_broker(path, sizeof(path), id);
    int rc = zoo_exists(cl->zh, path, 1, &st);
    if (rc != ZOK)
        return rc == ZNONODE ? 1 : rc;
    const struct clu_vbroker *old = find_broker(&cl->view, id);
    if (old && old->epoch == st.czxid && old->mzxid == st.mzxid) {
        *b = *old;
        return 0;
    }
    rc = clu__zk_get(cl, path, false, &len, &st);
    if (rc != ZOK)
        return rc == ZNONODE ? 1 : rc;
    *b = (struct clu_vbroker){.id = id, .epoch = st.czxid, .mzxid = st.mzxid};
    if (clu_broker_reg_decode(cl->buf, (size_t)len, &b->reg) != 0) {
        kc_log_error("cluster: %s does not hold a broker registration Kafka would write: %.200s",
                     path, cl->buf);
        return 1;
    }
    return 0;
}

/* Replace the view's brokers with nb[0..n), telling what changed. */
static void brokers_replace(struct clu *cl, struct clu_vbroker *nb, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const struct clu_vbroker *old = find_broker(&cl->view, nb[i].id);
        if (cl->resend || !old || old->epoch != nb[i].epoch || old->mzxid != nb[i].mzxid)
            note_broker(cl, &nb[i], true);
    }
    for (size_t i = 0; i < cl->view.nbrokers; i++) {
        bool still = false;
        for (size_t k = 0; k < n; k++)
            still |= nb[k].id == cl->view.brokers[i].id;
        if (!still)
            note_broker(cl, &cl->view.brokers[i], false);
    }
    free(cl->view.brokers);
    cl->view.brokers = nb;
    cl->view.nbrokers = n;
}

/* The controller's copy: id, epoch, endpoints. */
static int live_replace(struct clu *cl)
{
    struct clu_live_broker *live = calloc(cl->view.nbrokers + 1, sizeof(*live));
    if (!live)
        return ZSYSTEMERROR;
    for (size_t i = 0; i < cl->view.nbrokers; i++) {
        live[i].id = cl->view.brokers[i].id;
        live[i].epoch = cl->view.brokers[i].epoch;
        strlcpy(live[i].endpoint, cl->view.brokers[i].reg.endpoints, sizeof(live[i].endpoint));
    }
    free(cl->live);
    cl->live = live;
    cl->nlive = cl->view.nbrokers;
    return ZOK;
}

static int sync_brokers(struct clu *cl)
{
    struct String_vector kids;
    int rc = clu__zk_children(cl, CLU_ZK_BROKER_IDS, true, &kids);
    if (rc != ZOK)
        return rc;
    struct clu_vbroker *nb = calloc((size_t)kids.count + 1, sizeof(*nb));
    size_t n = 0;
    for (int32_t i = 0; nb && i < kids.count && rc == ZOK; i++) {
        struct clu_path p;
        char path[CLU_PATH_MAX];
        snprintf(path, sizeof(path), CLU_ZK_BROKER_IDS "/%s", kids.data[i]);
        if (clu_path_parse(path, &p) != 0 || p.kind != CLU_P_BROKER) {
            kc_log_warn("cluster: %s is not a broker id", path);
            continue;
        }
        rc = read_broker(cl, p.id, &nb[n]);
        if (rc == 0)
            n++;
        else if (rc == 1)
            rc = ZOK;
    }
    clu__zk_children_free(cl, &kids);
    if (!nb || rc != ZOK) {
        free(nb);
        return nb ? rc : ZSYSTEMERROR;
    }
    brokers_replace(cl, nb, n);
    return live_replace(cl);
}

/* ---- topics ---- */

static int add_topic(struct clu_view *v, const char *name)
{
    struct clu_vtopic *t = realloc(v->topics, (v->ntopics + 1) * sizeof(*t));
    if (!t)
        return ZSYSTEMERROR;
    v->topics = t;
    t = &v->topics[v->ntopics++];
    memset(t, 0, sizeof(*t));
    strlcpy(t->name, name, sizeof(t->name));
    t->dirty = true;
    return ZOK;
}

static void remove_topic(struct clu *cl, size_t i)
{
    struct clu_view *v = &cl->view;
    char name[REPL_TOPIC_MAX + 1];
    strlcpy(name, v->topics[i].name, sizeof(name));
    topic_gone(cl, &v->topics[i]);
    vtopic_fini(&v->topics[i]);
    memmove(&v->topics[i], &v->topics[i + 1], (v->ntopics - i - 1) * sizeof(v->topics[0]));
    v->ntopics--;
    clu__req_topic_gone(cl, name);
}

static bool listed(const struct String_vector *kids, const char *name)
{
    for (int32_t i = 0; i < kids->count; i++)
        if (strcmp(kids->data[i], name) == 0)
            return true;
    return false;
}

static int sync_topic_list(struct clu *cl)
{
    struct String_vector kids;
    int rc = clu__zk_children(cl, CLU_ZK_TOPICS, true, &kids);
    if (rc != ZOK)
        return rc;
    for (size_t i = cl->view.ntopics; i-- > 0;)
        if (!listed(&kids, cl->view.topics[i].name))
            remove_topic(cl, i);
    for (int32_t i = 0; i < kids.count && rc == ZOK; i++) {
        if (!repl_topic_name_valid(kids.data[i]))
            kc_log_warn("cluster: %s/%s is not a valid topic name", CLU_ZK_TOPICS, kids.data[i]);
        else if (!find_topic(&cl->view, kids.data[i]))
            rc = add_topic(&cl->view, kids.data[i]);
    }
    clu__zk_children_free(cl, &kids);
    return rc;
}

/* Resize a topic's arrays to a's partition count; new partitions are unknown and dirty. */
static int topic_resize(struct clu_vtopic *t, const struct clu_assignment *a)
{
    int32_t n = a->npart;
    struct clu_replicas *r = realloc(t->replicas, (size_t)n * sizeof(*r));
    if (r)
        t->replicas = r;
    struct repl_pstate *ps = realloc(t->ps, (size_t)n * sizeof(*ps));
    if (ps)
        t->ps = ps;
    uint8_t *d = realloc(t->pdirty, (size_t)n);
    if (d)
        t->pdirty = d;
    if (!r || !ps || !d)
        return ZSYSTEMERROR;
    for (int32_t p = 0; p < n; p++) {
        bool fresh = p >= t->npart || t->replicas[p].n != a->parts[p].n ||
                     memcmp(t->replicas[p].r, a->parts[p].r, sizeof(a->parts[p].r)) != 0;
        t->replicas[p] = a->parts[p];
        if (fresh) {
            memset(&t->ps[p], 0, sizeof(t->ps[p]));
            t->ps[p].partition_epoch = -1;
        }
        t->pdirty[p] = 1; /* read every state: a watch may have been consumed meanwhile */
    }
    t->npart = n;
    return ZOK;
}

/* /config/topics/<t>: the overrides, or none. Returns a ZooKeeper code; *again when the
 * node appeared between the read and the watch (read it at the next step). */
static int read_config(struct clu *cl, struct clu_vtopic *t, bool *changed, bool *again)
{
    char path[CLU_PATH_MAX];
    struct Stat st;
    int len, n = 0;
    struct clu_kv *kv = NULL;
    clu_path_topic_config(path, sizeof(path), t->name);
    int rc = clu__zk_get(cl, path, true, &len, &st);
    if (rc == ZNONODE) {
        rc = zoo_exists(cl->zh, path, 1, &st); /* watch for overrides to appear */
        if (rc == ZOK)
            *again = true;
        if (rc != ZNONODE)
            return rc;
    } else if (rc != ZOK) {
        return rc;
    } else if (clu_topic_config_decode(cl->buf, (size_t)len, &kv, &n) != 0) {
        kc_log_error("cluster: %s does not hold Kafka's topic config: %.200s", path, cl->buf);
    }
    bool same = n == t->nconfig;
    for (int i = 0; same && i < n; i++)
        same = strcmp(kv[i].key, t->config[i].key) == 0 &&
               strcmp(kv[i].value, t->config[i].value) == 0;
    *changed |= !same;
    free(t->config);
    t->config = kv;
    t->nconfig = n;
    return ZOK;
}

/* The assignment (and config) of t. */
static int sync_assignment(struct clu *cl, struct clu_vtopic *t)
{
    char path[CLU_PATH_MAX];
    struct Stat st;
    struct clu_assignment a;
    int len;
    clu_path_topic(path, sizeof(path), t->name);
    int rc = clu__zk_get(cl, path, true, &len, &st);
    if (rc != ZOK)
        return rc == ZNONODE ? ZOK : rc; /* deleted: the children watch removes it */
    if ((rc = clu_assignment_decode(cl->buf, (size_t)len, &a)) != 0) {
        if (!t->bad)
            kc_log_error("cluster: %s does not hold an assignment this broker can use (%s): %.200s",
                         path, kc_strerror(rc), cl->buf);
        t->bad = true;
        t->dirty = false;
        return ZOK;
    }
    bool changed = t->bad || t->npart != a.npart || strcmp(t->topic_id, a.topic_id) != 0;
    if (t->topic_id[0] && strcmp(t->topic_id, a.topic_id) != 0) {
        topic_gone(cl, t); /* deleted and created again while we looked away */
        t->npart = 0;
    }
    t->bad = false;
    memcpy(t->topic_id, a.topic_id, sizeof(t->topic_id));
    rc = topic_resize(t, &a);
    clu_assignment_fini(&a);
    bool again = false;
    if (rc == ZOK)
        rc = read_config(cl, t, &changed, &again);
    if (rc != ZOK)
        return rc;
    if (changed || cl->resend)
        note_topic(cl, t, true);
    t->dirty = again;
    return ZOK;
}

static int sync_state(struct clu *cl, struct clu_vtopic *t, int32_t p)
{
    char path[CLU_PATH_MAX];
    struct Stat st;
    int len;
    clu_path_state(path, sizeof(path), t->name, p);
    int rc = clu__zk_get(cl, path, true, &len, &st);
    if (rc == ZNONODE) {
        /* Not there yet: watch for its creation. Created meanwhile: read it next step. */
        rc = zoo_exists(cl->zh, path, 1, &st);
        if (rc == ZNONODE)
            t->pdirty[p] = 0;
        return rc == ZNONODE ? ZOK : rc;
    }
    if (rc == ZOK) {
        struct repl_pstate ps = {.nreplicas = t->replicas[p].n, .partition_epoch = st.version};
        memcpy(ps.replicas, t->replicas[p].r, sizeof(ps.replicas));
        if (clu_pstate_decode(cl->buf, (size_t)len, &ps) != 0 || !clu_pstate_valid(&ps)) {
            kc_log_error("cluster: %s does not hold a partition state this broker can use: %.200s",
                         path, cl->buf);
        } else if (cl->resend || ps.partition_epoch != t->ps[p].partition_epoch ||
                   ps.controller_epoch != t->ps[p].controller_epoch) {
            t->ps[p] = ps;
            note_partition(cl, t, p, false);
        }
    }
    if (rc == ZOK)
        t->pdirty[p] = 0;
    return rc;
}

static int sync_topic(struct clu *cl, struct clu_vtopic *t)
{
    int rc = t->dirty ? sync_assignment(cl, t) : ZOK;
    for (int32_t p = 0; rc == ZOK && !t->bad && p < t->npart; p++)
        if (t->pdirty[p])
            rc = sync_state(cl, t, p);
    return rc;
}

int clu__view_watch(struct clu *cl, const struct clu_path *p)
{
    struct clu_vtopic *t = find_topic(&cl->view, p->name);
    if (!t)
        return -ENOENT;
    if (p->kind == CLU_P_STATE && p->id < t->npart)
        t->pdirty[p->id] = 1;
    else
        t->dirty = true;
    return 0;
}

void clu__view_resend(struct clu *cl)
{
    for (size_t i = 0; i < cl->view.ntopics; i++) {
        struct clu_vtopic *t = &cl->view.topics[i];
        t->dirty = true;
        memset(t->pdirty, 1, (size_t)t->npart);
    }
}

int clu__view_sync(struct clu *cl, unsigned *dirty)
{
    int rc = ZOK;
    if (*dirty & CLU_DIRTY_BROKERS) {
        if ((rc = sync_brokers(cl)) != ZOK)
            goto out;
        *dirty = (*dirty & ~(unsigned)CLU_DIRTY_BROKERS) | CLU_DIRTY_CTL_BROKERS;
    }
    if (*dirty & CLU_DIRTY_TOPICS) {
        if ((rc = sync_topic_list(cl)) != ZOK)
            goto out;
        *dirty &= ~(unsigned)CLU_DIRTY_TOPICS;
    }
    for (size_t i = 0; rc == ZOK && i < cl->view.ntopics; i++)
        rc = sync_topic(cl, &cl->view.topics[i]);
out:
    if (rc == ZOK)
        cl->resend = false;
    else
        kc_log_debug("cluster: broker %d: reading the metadata: %s", (int)cl->cfg.broker_id,
                     zerror(rc));
    return rc == ZOK ? 0 : -1;
}
