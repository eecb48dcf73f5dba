/*
 * cluster.c - the partition authority's core half (brk_cluster.h): the published view,
 * its readers, and the calls a door makes to the cluster member, if one is attached.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "brk_cluster.h"
#include "brk_int.h"

static int topic_cmp(const char *name, size_t len, const char *other)
{
    int c = strncmp(name, other, len);
    return c ? c : other[len] == '\0' ? 0 : -1; /* a prefix sorts first */
}

const struct brk_ctopic *brk_cview_topic(const struct brk_cview *v, const char *name,
                                         size_t len)
{
    int lo = 0, hi = v->ntopics - 1;
    while (lo <= hi) {
        int mid = lo + (hi - lo) / 2, c = topic_cmp(name, len, v->topics[mid].name);
        if (c == 0)
            return &v->topics[mid];
        if (c < 0)
            hi = mid - 1;
        else
            lo = mid + 1;
    }
    return NULL;
}

const struct brk_cnode *brk_cview_broker(const struct brk_cview *v, int32_t id)
{
    for (int i = 0; i < v->nbrokers; i++)
        if (v->brokers[i].id == id)
            return &v->brokers[i];
    return NULL;
}

void brk_cview_put(struct brk_cview *v)
{
    if (v && atomic_fetch_sub_explicit(&v->refs, 1, memory_order_acq_rel) == 1)
        v->free(v);
}

void brk_cluster_publish(struct brk_server *srv, struct brk_cview *v)
{
    pthread_mutex_lock(&srv->cview_mu);
    struct brk_cview *old = srv->cview;
    srv->cview = v;
    pthread_mutex_unlock(&srv->cview_mu);
    brk_cview_put(old); /* outside the lock: it may free */
}

struct brk_cview *brk_cluster_view(struct brk_server *srv)
{
    pthread_mutex_lock(&srv->cview_mu);
    struct brk_cview *v = srv->cview;
    if (v)
        atomic_fetch_add_explicit(&v->refs, 1, memory_order_relaxed);
    pthread_mutex_unlock(&srv->cview_mu);
    return v;
}

bool brk_cluster_mode(const struct brk_server *srv)
{
    return srv->cops != NULL;
}

int32_t brk_server_node_id(const struct brk_server *srv)
{
    return srv->cfg.cluster.zk_connect[0] ? srv->cfg.cluster.broker_id : 0;
}

int brk_partition_leadership(struct brk_server *srv, const char *name, size_t len, int32_t p,
                             int32_t *leader, int32_t *leader_epoch)
{
    if (!srv->cops) { /* alone: this broker leads everything, at epoch 0 */
        *leader = 0;
        *leader_epoch = 0;
        return 0;
    }
    int rc;
    pthread_mutex_lock(&srv->cview_mu); /* a few instructions: find, copy two integers */
    const struct brk_cview *v = srv->cview;
    const struct brk_ctopic *t = v ? brk_cview_topic(v, name, len) : NULL;
    if (!t) {
        rc = KC_ENOTOPIC;
    } else if (p < 0 || p >= t->npartitions) {
        rc = KC_ENOPARTITION;
    } else {
        *leader = t->parts[p].leader;
        *leader_epoch = t->parts[p].leader_epoch;
        rc = *leader == v->self ? 0 : 1;
    }
    pthread_mutex_unlock(&srv->cview_mu);
    return rc;
}

void brk_cluster_attach(struct brk_server *srv, const struct brk_cluster_ops *ops, void *arg)
{
    srv->cops = ops;
    srv->cops_arg = arg;
}

int brk_cluster_topic_create(struct brk_server *srv, const char *name, int32_t partitions,
                             int32_t rf, struct brk_cluster_waiter *w)
{
    return brk_cluster_topic_create_with(srv, name, partitions, rf, NULL, NULL, w);
}

int brk_cluster_topic_create_with(struct brk_server *srv, const char *name,
                                  int32_t partitions, int32_t rf, const struct brk_tcfg *c,
                                  const struct brk_cluster_assignment *as,
                                  struct brk_cluster_waiter *w)
{
    if (!srv->cops)
        return -ENOTSUP;
    if (partitions == -1)
        partitions = srv->cfg.num_partitions;
    if (rf == -1)
        rf = srv->cfg.cluster.default_replication_factor;
    if (as && (as->n != partitions || as->rf != rf))
        return -EINVAL;
    return srv->cops->topic_create(srv->cops_arg, name, partitions, rf, c, as, w);
}

int brk_cluster_topic_configs(struct brk_server *srv, const char *name,
                              const struct brk_tcfg *c)
{
    return srv->cops && srv->cops->topic_configs
               ? srv->cops->topic_configs(srv->cops_arg, name, c)
               : -ENOTSUP;
}

int brk_cluster_topic_delete(struct brk_server *srv, const char *name,
                             struct brk_cluster_waiter *w)
{
    return srv->cops ? srv->cops->topic_delete(srv->cops_arg, name, w) : -ENOTSUP;
}

int brk_cluster_elect_leaders(struct brk_server *srv, const char *name, int election,
                              const int32_t *parts, int32_t n, struct brk_cluster_waiter *w)
{
    if (!name || !parts || n < 1 || !w || !w->fn)
        return -EINVAL;
    return srv->cops && srv->cops->elect_leaders
               ? srv->cops->elect_leaders(srv->cops_arg, name, election, parts, n, w)
               : -ENOTSUP;
}

int brk_cluster_partitions_create(struct brk_server *srv, const char *name, int32_t total,
                                  const struct brk_cluster_assignment *as,
                                  struct brk_cluster_waiter *w)
{
    return srv->cops && srv->cops->partitions_create
               ? srv->cops->partitions_create(srv->cops_arg, name, total, as, w)
               : -ENOTSUP;
}

bool brk_cluster_cancel(struct brk_server *srv, struct brk_cluster_waiter *w)
{
    return srv->cops ? srv->cops->cancel(srv->cops_arg, w) : true;
}

int brk_cluster_pids_next(struct brk_server *srv, int64_t *id)
{
    return srv->cops && srv->cops->pids_next ? srv->cops->pids_next(srv->cops_arg, id) : -ENOTSUP;
}

void brk_server_on_stop(struct brk_server *srv, void (*fn)(void *arg), void *arg)
{
    srv->on_stop = fn;
    srv->on_stop_arg = arg;
}

bool brk_cluster_replica_fetch(struct brk_server *srv, const char *name, size_t len,
                               int32_t partition, struct brk_replica_fetch *rf)
{
    if (!srv->cops || !srv->cops->replica_fetch)
        return false;
    srv->cops->replica_fetch(srv->cops_arg, name, len, partition, rf);
    return true;
}

int brk_cluster_internal_append(struct brk_server *srv, const struct brk_internal_append *ia)
{
    if (!srv->cops || !srv->cops->internal_append)
        return -ENOTSUP;
    return srv->cops->internal_append(srv->cops_arg, ia);
}

int brk_cluster_epoch_end(struct brk_server *srv, const char *name, size_t len,
                          int32_t partition, struct brk_epoch_query *q)
{
    if (!srv->cops || !srv->cops->epoch_end)
        return -ENOENT;
    return srv->cops->epoch_end(srv->cops_arg, name, len, partition, q);
}

int brk_cluster_high_watermark(struct brk_server *srv, const char *name, size_t len,
                               int32_t partition, int64_t *hw)
{
    if (!srv->cops || !srv->cops->high_watermark)
        return -ENOENT;
    return srv->cops->high_watermark(srv->cops_arg, name, len, partition, hw);
}
