/*
 * tables.c - what the member knows, and what it makes of it.
 *
 *   notes (clu_poll)        on_broker / on_topic / on_partition  -> the tables (this
 *                                                                   thread's alone)
 *   after each batch        brep__sync_logs   the local logs follow the topics
 *                           brep__publish     an immutable view for the network loops
 *
 * The local logs. partitioning's registry holds a topic as a whole (every partition's log
 * under one topic), so a broker keeps EVERY partition of a topic it knows, not only those
 * it holds a replica of: a partition it does not replicate is an empty log that is never
 * written (appends go only to the leader, and the doors refuse the rest with
 * NOT_LEADER_OR_FOLLOWER), and appendLog opens logs lazily, so it costs a directory and no
 * descriptor. The replica fetchers of the next step write the followers' logs; the
 * reassignment of a partition to this broker later finds its log already there.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "brep_int.h"

/* ---- the tables ---------------------------------------------------------------------------- */

struct brep_topic *brep__topic(struct brep *m, const char *name)
{
    for (int i = 0; i < m->ntopics; i++)
        if (strcmp(m->topics[i].name, name) == 0)
            return &m->topics[i];
    return NULL;
}

static struct brep_topic *topic_add(struct brep *m, const char *name)
{
    if (m->ntopics == m->captopics) {
        int cap = m->captopics ? m->captopics * 2 : 16;
        struct brep_topic *t = realloc(m->topics, (size_t)cap * sizeof(*t));
        if (!t)
            return NULL;
        m->topics = t;
        m->captopics = cap;
    }
    struct brep_topic *t = &m->topics[m->ntopics++];
    memset(t, 0, sizeof(*t));
    strlcpy(t->name, name, sizeof(t->name));
    return t;
}

/* t has at least n partitions' slots (a state may arrive before its topic). */
static int topic_size(struct brep_topic *t, int32_t n)
{
    if (n <= t->npartitions)
        return 0;
    struct brep_part *p = realloc(t->parts, (size_t)n * sizeof(*p));
    if (!p)
        return -ENOMEM;
    memset(p + t->npartitions, 0, (size_t)(n - t->npartitions) * sizeof(*p));
    t->parts = p;
    t->npartitions = n;
    return 0;
}

void brep__on_broker(void *arg, const struct clu_broker_note *b)
{
    struct brep *m = arg;
    int i = 0;
    while (i < m->nbrokers && m->brokers[i].id != b->id)
        i++;
    m->dirty = true;
    if (!b->live) {
        if (i < m->nbrokers)
            m->brokers[i] = m->brokers[--m->nbrokers];
        return;
    }
    if (i == m->nbrokers) {
        if (m->nbrokers == m->capbrokers) {
            int cap = m->capbrokers ? m->capbrokers * 2 : 8;
            struct brep_broker *nb = realloc(m->brokers, (size_t)cap * sizeof(*nb));
            if (!nb) {
                kc_log_error("cluster: out of memory recording broker %d", (int)b->id);
                return;
            }
            m->brokers = nb;
            m->capbrokers = cap;
        }
        m->nbrokers++;
    }
    struct brep_broker *e = &m->brokers[i];
    e->id = b->id;
    strlcpy(e->host, b->reg->host, sizeof(e->host));
    e->port = b->reg->port;
    strlcpy(e->rack, b->reg->rack, sizeof(e->rack));
}

/* The overrides of /config/topics/<t>, checked as CreateTopics checks them (a key this
 * broker does not know is skipped, and said: another broker's version may know it). */
static void note_configs(struct brep_topic *t, const struct clu_topic_note *tn)
{
    struct brk_tcfg *c = NULL;
    if (tn->nconfig > 0 && !(c = calloc(1, sizeof(*c)))) {
        kc_log_error("cluster: out of memory recording the configs of %s", tn->name);
        return;
    }
    for (int i = 0; i < tn->nconfig; i++) {
        char why[256];
        const struct clu_kv *kv = &tn->config[i];
        if (brk_tcfg_set(c, kv->key, (int32_t)strlen(kv->key), kv->value,
                         (int32_t)strlen(kv->value), why, sizeof(why)) != 0)
            kc_log_warn("cluster: topic %s: config %s=%s skipped: %s", tn->name, kv->key,
                        kv->value, why);
    }
    free(t->cfg);
    t->cfg = c;
    t->cfg_changed = true;
}

void brep__on_topic(void *arg, const struct clu_topic_note *tn)
{
    struct brep *m = arg;
    struct brep_topic *t = brep__topic(m, tn->name);
    m->dirty = true;
    if (!t && !tn->exists)
        return;
    if (!t && !(t = topic_add(m, tn->name))) {
        kc_log_error("cluster: out of memory recording topic %s", tn->name);
        return;
    }
    t->exists = tn->exists;
    if (!tn->exists)
        return;
    if (topic_size(t, tn->partitions) != 0)
        kc_log_error("cluster: out of memory recording topic %s", tn->name);
    struct part_topic_id id;
    if (tn->topic_id && tn->topic_id[0] &&
        part_topic_id_parse(tn->topic_id, strlen(tn->topic_id), &id) == 0) {
        t->has_id = true;
        t->id = id;
    }
    note_configs(t, tn);
}

void brep__on_partition(void *arg, const struct clu_partition_note *pn)
{
    struct brep *m = arg;
    struct brep_topic *t = brep__topic(m, pn->topic);
    if (pn->role == CLU_ROLE_DELETED) {
        if (t)
            t->exists = false;
        m->dirty = true;
        return;
    }
    if (!t && !(t = topic_add(m, pn->topic)))
        return;
    if (topic_size(t, pn->partition + 1) != 0)
        return;
    struct brep_part *p = &t->parts[pn->partition];
    if (p->known && pn->ps->leader_epoch < p->ps.leader_epoch)
        return; /* never an epoch backwards (clu refuses stale states already) */
    /* (a leader that stays leader across epochs wrote every record itself: nothing to load;
     * the first state after the start loads too, for the door's coordinator) */
    bool newly = pn->role == CLU_ROLE_LEADER && (!p->known || p->role != CLU_ROLE_LEADER);
    if (brk_topic_internal(pn->topic, strlen(pn->topic))) { /* the group coordinator's */
        p->load = pn->role == CLU_ROLE_LEADER && (p->load || newly);
        m->loads |= p->load;
    }
    p->known = true;
    p->role = pn->role;
    p->ps = *pn->ps;
    m->dirty = true;
    if (pn->role == CLU_ROLE_LEADER)
        kc_log_info("cluster: I lead %s-%d at leader epoch %d", pn->topic, (int)pn->partition,
                    (int)pn->ps->leader_epoch);
}

void brep__tables_free(struct brep *m)
{
    for (int i = 0; i < m->ntopics; i++) {
        free(m->topics[i].parts);
        free(m->topics[i].cfg);
    }
    free(m->topics);
    free(m->brokers);
    m->topics = NULL;
    m->brokers = NULL;
    m->ntopics = m->nbrokers = 0;
}

/* ---- the local logs ------------------------------------------------------------------------ */

/* Local logs whose id is not the cluster's belong to an older topic of the same name,
 * deleted and created again while this broker was away: they must never be served as the
 * new one. Kafka deletes such a log; so does this broker, and makes the new topic's
 * (empty) logs once the deletion is through (brk_topic_delete's grace period). true while
 * the old logs are in the way. */
static bool stale_logs(struct brep *m, struct brep_topic *t, struct part_topic *pt)
{
    if (!pt || !t->has_id || memcmp(part_topic_id(pt), &t->id, sizeof(t->id)) == 0)
        return false;
    char had[PART_TOPIC_ID_STR], want[PART_TOPIC_ID_STR];
    part_topic_id_str(part_topic_id(pt), had);
    part_topic_id_str(&t->id, want);
    int rc = brk_topic_delete(m->srv, pt, NULL);
    if (rc == 0)
        kc_log_warn("cluster: the local logs of %s have topic id %s, the cluster's topic %s: "
                    "an older topic of that name; its logs are deleted", t->name, had, want);
    else
        kc_log_error("cluster: cannot delete the stale local logs of %s: %s", t->name,
                     kc_strerror(rc));
    return true;
}

/* The cluster's config overrides onto the local logs, if they differ. */
static void sync_configs(struct brep *m, struct brep_topic *t, struct part_topic *pt)
{
    static const struct brk_tcfg none;
    struct brk_tcfg *cur = malloc(sizeof(*cur));
    const struct brk_tcfg *want = t->cfg ? t->cfg : &none;
    char *a = NULL, *b = brk_tcfg_format(want);
    if (cur && brk_topic_configs(m->srv, pt, cur) == 0)
        a = brk_tcfg_format(cur);
    int rc = !a || !b ? -ENOMEM : strcmp(a, b) == 0 ? 0 : brk_topic_set_configs(m->srv, pt, want);
    if (rc == 0 && a && b && strcmp(a, b) != 0)
        kc_log_info("cluster: topic %s: %d config override%s applied from ZooKeeper", t->name,
                    want->n, want->n == 1 ? "" : "s");
    if (rc)
        kc_log_error("cluster: cannot apply the configs of %s: %s", t->name, kc_strerror(rc));
    else
        t->cfg_changed = false;
    free(a);
    free(b);
    free(cur);
}

/* __consumer_offsets is the exception to stale_logs: the core opened (or made) it at start,
 * before this broker joined, with an id of its own, and its logs are this cluster's
 * offsets, not an older topic's. So it keeps its logs and takes the controller's id
 * (partition.metadata rewritten durably, so a restart keeps it): every broker then shows
 * one id for it in Metadata, and Fetch by that id works on each of them. */
static void adopt_cluster_id(struct brep_topic *t, struct part_registry *reg,
                             struct part_topic *pt)
{
    if (!pt || !t->has_id || memcmp(part_topic_id(pt), &t->id, sizeof(t->id)) == 0)
        return;
    char had[PART_TOPIC_ID_STR], want[PART_TOPIC_ID_STR];
    part_topic_id_str(part_topic_id(pt), had);
    part_topic_id_str(&t->id, want);
    int rc = part_topic_id_adopt(reg, pt, &t->id);
    if (rc == 0)
        kc_log_info("cluster: %s takes the cluster's topic id %s (was %s)", t->name, want, had);
    else /* tried again after the next batch of notes */
        kc_log_error("cluster: %s cannot take the cluster's topic id %s: %s", t->name, want,
                     kc_strerror(rc));
}

/* true: to be tried again (the logs of an older topic are still going). */
static bool sync_topic(struct brep *m, struct brep_topic *t)
{
    struct part_registry *reg = brk_server_registry(m->srv);
    size_t len = strlen(t->name);
    struct part_topic *pt = part_topic_find(reg, t->name, len);
    if (brk_topic_internal(t->name, len)) {
        if (t->exists) /* the core opened it at start, with its partitions: only the id */
            adopt_cluster_id(t, reg, pt);
        return false;
    }
    if (!t->exists) {
        if (pt && brk_topic_delete(m->srv, pt, NULL) == 0)
            kc_log_info("cluster: topic %s deleted: its local logs go", t->name);
        return false;
    }
    if (stale_logs(m, t, pt))
        return true;
    int rc = 0;
    if (!pt) {
        rc = brk_topic_create_as(m->srv, t->name, len, t->npartitions, t->cfg,
                                 t->has_id ? &t->id : NULL, &pt);
        t->cfg_changed = rc != 0;
    } else if (part_topic_partitions(pt) < t->npartitions) {
        rc = brk_topic_grow(m->srv, pt, t->npartitions);
    }
    if (rc == -EEXIST)
        return true; /* a deletion of that name is finishing: the next round makes it */
    if (rc)
        kc_log_error("cluster: cannot create the local logs of %s (%d partitions): %s",
                     t->name, (int)t->npartitions, kc_strerror(rc));
    if (rc == 0 && t->cfg_changed)
        sync_configs(m, t, pt);
    return false;
}

void brep__sync_logs(struct brep *m)
{
    m->resync = false;
    for (int i = 0; i < m->ntopics; i++)
        if (m->topics[i].npartitions > 0 || !m->topics[i].exists)
            m->resync |= sync_topic(m, &m->topics[i]);
    for (int i = 0; i < m->ntopics;) { /* deleted topics leave the tables once handled */
        if (!m->topics[i].exists) {
            free(m->topics[i].parts);
            free(m->topics[i].cfg);
            m->topics[i] = m->topics[--m->ntopics];
        } else {
            i++;
        }
    }
}

/* ---- a new coordinator's load ---------------------------------------------------------------
 *
 * Leading a partition of __consumer_offsets makes this broker the coordinator of its
 * groups (Kafka's hash of the group id). It serves them from memory, so it first reads the
 * partition's log as it is at that moment - what it wrote when it led before, and what
 * replication copied since - into the core's table (brk_offsets_load); the network loops
 * meanwhile see the partition led here but "loading" in the view and answer
 * COORDINATOR_LOAD_IN_PROGRESS (14). The view published after the load drops the mark,
 * and the Kafka door takes the group records the load found into its coordinator.
 * (It runs here, on the member thread, because it reads a log: never on a network loop.)
 */

void brep__load_offsets(struct brep *m)
{
    struct brep_topic *t = brep__topic(m, BRK_OFFSETS_TOPIC);
    m->loads = false;
    for (int32_t i = 0; t && i < t->npartitions; i++) {
        if (!t->parts[i].load)
            continue;
        int64_t n = 0, t0 = kc_mono_ms();
        int rc = brk_offsets_load(m->srv, i, &n);
        if (rc == 0)
            kc_log_info("group coordinator: %s-%d loaded (%lld offsets) in %lld ms",
                        BRK_OFFSETS_TOPIC, (int)i, (long long)n, (long long)(kc_mono_ms() - t0));
        else
            kc_log_error("group coordinator: cannot load %s-%d: %s (serving what was read)",
                         BRK_OFFSETS_TOPIC, (int)i, kc_strerror(rc));
        t->parts[i].load = false;
        m->dirty = true;
    }
}

/* ---- the view ------------------------------------------------------------------------------ */

/* One allocation: the header, then arrays and strings, bumped in order. */
struct bump {
    char *p, *end;
};

static void *bump(struct bump *b, size_t n)
{
    n = (n + 7) & ~(size_t)7;
    if ((size_t)(b->end - b->p) < n)
        return NULL; /* sized exactly below: cannot happen */
    void *r = b->p;
    b->p += n;
    return r;
}

static const char *bump_str(struct bump *b, const char *s)
{
    size_t n = strlen(s) + 1;
    char *r = bump(b, n);
    if (r)
        memcpy(r, s, n);
    return r;
}

static void view_free(struct brk_cview *v)
{
    free(v);
}

static int topic_cmp(const void *a, const void *b)
{
    return strcmp(((const struct brk_ctopic *)a)->name, ((const struct brk_ctopic *)b)->name);
}

static bool live(const struct brep *m, int32_t id)
{
    for (int i = 0; i < m->nbrokers; i++)
        if (m->brokers[i].id == id)
            return true;
    return false;
}

static size_t view_size(const struct brep *m, const char *cluster_id)
{
    size_t n = sizeof(struct brk_cview) + 8 + strlen(cluster_id) + 8;
    n += (size_t)m->nbrokers * (sizeof(struct brk_cnode) + 8 + 256 + 8 + 64 + 8);
    n += (size_t)m->ntopics * (sizeof(struct brk_ctopic) + 8 + PART_NAME_MAX + 8);
    for (int i = 0; i < m->ntopics; i++)
        n += (size_t)m->topics[i].npartitions *
             (sizeof(struct brk_cpart) + 3 * (REPL_MAX_REPLICAS * sizeof(int32_t) + 8));
    return n;
}

static void view_part(const struct brep *m, struct bump *b, const struct brep_part *p,
                      struct brk_cpart *out)
{
    int32_t *rep = bump(b, REPL_MAX_REPLICAS * sizeof(int32_t));
    int32_t *isr = bump(b, REPL_MAX_REPLICAS * sizeof(int32_t));
    int32_t *off = bump(b, REPL_MAX_REPLICAS * sizeof(int32_t));
    *out = (struct brk_cpart){.leader = -1, .replicas = rep, .isr = isr, .offline = off};
    if (!p->known)
        return; /* a partition whose state has not arrived yet: no leader */
    out->leader = p->ps.leader;
    if (out->leader == m->self && !m->session_up)
        out->leader = -1; /* cut off from ZooKeeper: stop acting as leader */
    out->leader_epoch = p->ps.leader_epoch;
    out->loading = p->load && out->leader == m->self;
    for (int r = 0; r < p->ps.nreplicas; r++) {
        rep[out->nreplicas++] = p->ps.replicas[r];
        if (!live(m, p->ps.replicas[r]))
            off[out->noffline++] = p->ps.replicas[r];
    }
    for (int r = 0; r < p->ps.nisr; r++)
        isr[out->nisr++] = p->ps.isr[r];
}

int brep__publish(struct brep *m)
{
    struct clu_status st;
    clu_status(m->cl, &st);
    size_t size = view_size(m, st.cluster_id);
    struct brk_cview *v = malloc(size);
    if (!v)
        return -ENOMEM;
    struct bump b = {(char *)v + sizeof(*v), (char *)v + size};
    struct brk_cnode *nodes = bump(&b, (size_t)m->nbrokers * sizeof(*nodes));
    struct brk_ctopic *topics = bump(&b, (size_t)m->ntopics * sizeof(*topics));
    *v = (struct brk_cview){.cluster_id = bump_str(&b, st.cluster_id), .self = m->self,
                            .controller = m->controller, .nbrokers = m->nbrokers,
                            .brokers = nodes, .topics = topics, .free = view_free};
    atomic_init(&v->refs, 1);
    for (int i = 0; i < m->nbrokers; i++)
        nodes[i] = (struct brk_cnode){m->brokers[i].id, bump_str(&b, m->brokers[i].host),
                                      m->brokers[i].port,
                                      m->brokers[i].rack[0] ? bump_str(&b, m->brokers[i].rack)
                                                            : NULL};
    for (int i = 0; i < m->ntopics; i++) {
        const struct brep_topic *t = &m->topics[i];
        if (!t->exists || t->npartitions == 0)
            continue; /* deleted, or its states came before it */
        struct brk_cpart *parts = bump(&b, (size_t)t->npartitions * sizeof(*parts));
        for (int32_t p = 0; p < t->npartitions; p++)
            view_part(m, &b, &t->parts[p], &parts[p]);
        topics[v->ntopics++] = (struct brk_ctopic){bump_str(&b, t->name), t->npartitions, parts};
    }
    qsort(topics, (size_t)v->ntopics, sizeof(*topics), topic_cmp);
    brk_cluster_publish(m->srv, v);
    m->dirty = false;
    return 0;
}
