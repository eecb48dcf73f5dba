/*
 * admin_topics.c - CreateTopics and DeleteTopics: Kafka's topic admin, on one node
 * (CreatePartitions: admin_partitions.c).
 *
 * Each API checks what Kafka's controller checks, in Kafka's order, and answers with its
 * codes; where there is a choice the comments name Kafka's (ControllerApis, the
 * ReplicationControlManager, ZkAdminManager for the older messages):
 *
 *   CreateTopics     CREATE on the cluster, else on each topic (29); a name twice (42);
 *                    the name (17); exists, or is being deleted (36); partitions 0 or
 *                    < -1 (37); replication factor 0, < -1 (38) or above the one broker
 *                    (38, "larger than available brokers: 1"); assignments with a count
 *                    or factor (42), not 0..n-1, of unequal lengths, naming a broker twice
 *                    or one that cannot hold a replica (alone: not this one) (39);
 *                    each config (40, the key named); validate_only stops before disk.
 *                    v5+ answer the partitions, the factor and the configs (DESCRIBE_CONFIGS
 *                    on the topic, else topic_config_error_code 29); v7 the topic id
 *   DeleteTopics     by name (v0-5) or by name or id (v6); DELETE on the topic (29); a
 *                    name or id twice (42); unknown (3 / 100); __consumer_offsets (29).
 *                    The answer waits (up to timeout_ms) until the topic's logs are closed
 *                    and its directories renamed away, so the name is free again
 *
 * Every answer is built in the request's arena and encoded at the request's version
 * (brk__kafka_reply); DeleteTopics, which parks, builds it in an arena of its own.
 *
 * In a cluster (brk_cluster.h) CreateTopics asks the controller and waits for it
 * (admin_create_cluster.c): the same checks, with the factor checked against the brokers
 * registered now (38) and replication_factor -1 meaning default.replication.factor; an
 * explicit replica assignment must name live brokers, each list as long as the first
 * (39), and the controller checks it again when it writes (a broker may have gone).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "brk_cluster.h"
#include "brk_tconfig.h"
#include "kafka_int.h"
#include "sec_acl.h"

/* ---- shared by the admin files ------------------------------------------------------------ */

struct kc_slice brk__kafka_strf(struct kp_arena *a, const char *fmt, ...)
{
    va_list ap;
    char tmp[512];
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
    va_end(ap);
    if (n < 0)
        n = 0;
    n = KC_MIN(n, (int)sizeof(tmp) - 1);
    char *p = kp_arena_alloc(a, (size_t)n + 1);
    if (!p)
        return (struct kc_slice){(const uint8_t *)"", 0};
    memcpy(p, tmp, (size_t)n + 1);
    return (struct kc_slice){(const uint8_t *)p, n};
}

bool brk__kafka_named_twice(const struct kc_slice *names, int32_t n, int32_t i)
{
    for (int32_t j = 0; j < n; j++)
        if (j != i && names[j].len == names[i].len && names[i].len >= 0 &&
            memcmp(names[j].p, names[i].p, (size_t)names[i].len) == 0)
            return true;
    return false;
}

/* ---- CreateTopics ---------------------------------------------------------------------------- */

typedef struct kp_create_topics_resp_creatable_topic_result ct_result;

/* Is broker id one a replica may be placed on: alone, this broker; in a cluster (v), a
 * live one (Kafka's ZooKeeper mode refuses an assignment naming a broker not registered). */
static bool assignable(const struct brk_cview *v, int32_t id)
{
    return v ? brk_cview_broker(v, id) != NULL : id == BRK_KAFKA_NODE_ID;
}

int16_t brk__kafka_check_lists(struct kp_arena *a, const struct brk_cview *v, int32_t first,
                               const struct brk__kafka_list *lists, int32_t n, int rf,
                               int32_t *ids, struct kc_slice *msg)
{
    for (int32_t i = 0; i < n; i++) {
        const struct brk__kafka_list *l = &lists[i];
        if (l->n != rf) {
            *msg = brk__kafka_strf(a, "Inconsistent replication factor between partitions: "
                                      "partition %d has %d replica(s), the others %d.",
                                   (int)(first + i), (int)l->n, rf);
            return KP_ERR_INVALID_REPLICA_ASSIGNMENT;
        }
        for (int32_t b = 0; b < rf; b++) {
            int32_t id = l->v[b];
            for (int32_t c = 0; c < b; c++)
                if (l->v[c] == id) {
                    *msg = brk__kafka_strf(a, "Duplicate brokers not allowed in replica "
                                              "assignment: broker %d in partition %d.",
                                           (int)id, (int)(first + i));
                    return KP_ERR_INVALID_REPLICA_ASSIGNMENT;
                }
            if (!assignable(v, id)) {
                *msg = v ? brk__kafka_strf(a, "Unknown broker(s) in replica assignment: %d is "
                                              "not a live broker of this cluster.", (int)id)
                         : brk__kafka_strf(a, "Unknown broker(s) in replica assignment: %d. "
                                              "This cluster has one broker, %d.",
                                           (int)id, BRK_KAFKA_NODE_ID);
                return KP_ERR_INVALID_REPLICA_ASSIGNMENT;
            }
            ids[(size_t)i * (size_t)rf + (size_t)b] = id;
        }
    }
    return KP_ERR_NONE;
}

/* The replica assignments of t (Kafka's checks), against the brokers of v (NULL: alone):
 * 0 and *as (its lists in partition order, in the arena), else a code and *msg. */
static int16_t check_assignments(struct brk_server *srv, struct kp_arena *a,
                                 const struct kp_create_topics_req_creatable_topic *t,
                                 const struct brk_cview *v, struct brk_cluster_assignment *as,
                                 struct kc_slice *msg)
{
    const struct kp_create_topics_req_creatable_replica_assignment *in = t->assignments.v;
    int32_t n = t->assignments.n;
    if (t->num_partitions != -1 || t->replication_factor != -1) {
        *msg = brk__kafka_strf(a, "Both numPartitions or replicationFactor and "
                                  "replicasAssignments were set. Both cannot be used at the "
                                  "same time.");
        return KP_ERR_INVALID_REQUEST;
    }
    if (n > brk_server_config(srv)->max_partitions_per_topic) {
        *msg = brk__kafka_strf(a, "Number of partitions %d is above this broker's "
                                  "num.partitions.max (%d).", (int)n,
                               (int)brk_server_config(srv)->max_partitions_per_topic);
        return KP_ERR_INVALID_PARTITIONS;
    }
    struct brk__kafka_list *lists = kp_arena_alloc(a, (size_t)n * sizeof(*lists));
    if (!lists)
        return KP_ERR_UNKNOWN_SERVER_ERROR;
    memset(lists, 0, (size_t)n * sizeof(*lists));
    for (int32_t j = 0; j < n; j++) { /* by index: each of 0..n-1 exactly once */
        int32_t p = in[j].partition_index;
        if (p < 0 || p >= n || lists[p].v) {
            *msg = brk__kafka_strf(a, "Partitions should be a consecutive 0-based integer "
                                      "sequence");
            return KP_ERR_INVALID_REPLICA_ASSIGNMENT;
        }
        lists[p] = (struct brk__kafka_list){in[j].broker_ids.n, in[j].broker_ids.v};
        if (!lists[p].v)
            lists[p].v = (const int32_t *)""; /* an empty list: marked seen all the same */
    }
    int rf = lists[0].n;
    if (rf <= 0) {
        *msg = brk__kafka_strf(a, "Replication factor must be larger than 0.");
        return KP_ERR_INVALID_REPLICATION_FACTOR;
    }
    if (rf > (v ? v->nbrokers : 1)) { /* some broker twice, or one that is not live */
        *msg = brk__kafka_strf(a, "The replica assignment lists %d replicas per partition, "
                                  "more than the %d live broker(s).", rf, v ? v->nbrokers : 1);
        return KP_ERR_INVALID_REPLICA_ASSIGNMENT;
    }
    int32_t *ids = kp_arena_alloc(a, (size_t)n * (size_t)rf * sizeof(*ids));
    if (!ids)
        return KP_ERR_UNKNOWN_SERVER_ERROR;
    int16_t err = brk__kafka_check_lists(a, v, 0, lists, n, rf, ids, msg);
    *as = (struct brk_cluster_assignment){n, rf, ids};
    return err;
}

/* Partitions and replication factor, Kafka's checks: 0 (*n and *as set: as->ids NULL
 * unless t names its replicas), or a code and *msg. v: the cluster's view (NULL alone):
 * the brokers a replica may be placed on. */
static int16_t check_shape(struct brk_server *srv, struct kp_arena *a,
                           const struct kp_create_topics_req_creatable_topic *t,
                           const struct brk_cview *v, int32_t *n,
                           struct brk_cluster_assignment *as, struct kc_slice *msg)
{
    int32_t rf = t->replication_factor, live = v ? v->nbrokers : 1;
    *as = (struct brk_cluster_assignment){0, 0, NULL};
    if (t->assignments.n > 0) {
        int16_t err = check_assignments(srv, a, t, v, as, msg);
        *n = as->n;
        return err;
    }
    *n = t->num_partitions == -1 ? brk_server_config(srv)->num_partitions : t->num_partitions;
    if (*n < 1) {
        *msg = brk__kafka_strf(a, "Number of partitions was set to an invalid non-positive "
                                  "value.");
        return KP_ERR_INVALID_PARTITIONS;
    }
    if (*n > brk_server_config(srv)->max_partitions_per_topic) {
        *msg = brk__kafka_strf(a, "Number of partitions %d is above this broker's "
                                  "num.partitions.max (%d).", (int)*n,
                               (int)brk_server_config(srv)->max_partitions_per_topic);
        return KP_ERR_INVALID_PARTITIONS;
    }
    if (t->replication_factor == 0 || t->replication_factor < -1) {
        *msg = brk__kafka_strf(a, "Replication factor must be larger than 0, or -1 to use "
                                  "the default value.");
        return KP_ERR_INVALID_REPLICATION_FACTOR;
    }
    if (rf == -1 && brk_cluster_mode(srv))
        rf = brk_server_config(srv)->cluster.default_replication_factor;
    if (rf > live) {
        *msg = brk__kafka_strf(a, "Unable to replicate the partition %d time(s): The target "
                                  "replication factor of %d cannot be reached because only %d "
                                  "broker(s) are registered.", (int)rf, (int)rf, (int)live);
        return KP_ERR_INVALID_REPLICATION_FACTOR;
    }
    return KP_ERR_NONE;
}

/* The configs, checked one by one into c: 0, or INVALID_CONFIG and *msg (the key named). */
static int16_t check_configs(struct kp_arena *a, const struct kp_create_topics_req_creatable_topic *t,
                             struct brk_tcfg *c, struct kc_slice *msg)
{
    char why[384];
    c->n = 0;
    for (int32_t i = 0; i < t->configs.n; i++) {
        const struct kp_create_topics_req_creatable_topic_config *kv = &t->configs.v[i];
        if (brk_tcfg_set(c, (const char *)kv->name.p, kv->name.len, (const char *)kv->value.p,
                         kv->value.len, why, sizeof(why)) != 0) {
            *msg = brk__kafka_strf(a, "%s", why);
            return KP_ERR_INVALID_CONFIG;
        }
    }
    return KP_ERR_NONE;
}

/* v5+: what the topic was created with: every config with its value and source. */
static void created_configs(struct brk_conn *c, struct kp_arena *a, ct_result *r,
                            const struct brk_tcfg *cfg)
{
    int n = brk_tcfg_keys();
    struct kp_create_topics_resp_creatable_topic_configs *v =
        kp_new(a, &kp_create_topics_resp_creatable_topic_configs_schema, n);
    if (!brk__kafka_allowed(c, SEC_OP_DESCRIBE_CONFIGS, SEC_RES_TOPIC, r->name)) {
        r->topic_config_error_code = KP_ERR_TOPIC_AUTHORIZATION_FAILED;
        return; /* configs stay null */
    }
    if (!v)
        return;
    for (int i = 0; i < n; i++) {
        struct brk_tcfg_entry e;
        brk_tcfg_describe(brk_server_config(brk_conn_server(c)), cfg, i, &e);
        v[i].name = kp_slice_str(e.name);
        v[i].value = e.value ? brk__kafka_strf(a, "%s", e.value) : (struct kc_slice){NULL, -1};
        v[i].config_source = e.source;
    }
    KP_SET(r->configs, n, v);
}

/* A cluster: ask the controller (the answer waits for it: admin_create_cluster.c). */
static void create_through_controller(struct brk_conn *c, struct brk__kafka_cwait *ctc,
                                      const struct kp_create_topics_req_creatable_topic *t,
                                      int32_t i, int32_t n, const struct brk_tcfg *cfg,
                                      const struct brk_cluster_assignment *as, ct_result *r)
{
    struct brk_server *srv = brk_conn_server(c);
    int32_t rf = as->ids ? as->rf
                 : t->replication_factor != -1
                     ? t->replication_factor
                     : brk_server_config(srv)->cluster.default_replication_factor;
    struct brk_cview *v = brk_cluster_view(srv);
    bool exists = v && brk_cview_topic(v, (const char *)t->name.p, (size_t)t->name.len);
    brk_cview_put(v);
    if (exists || brk_topic_internal((const char *)t->name.p, (size_t)t->name.len)) {
        r->error_code = KP_ERR_TOPIC_ALREADY_EXISTS;
        return;
    }
    r->num_partitions = n;
    r->replication_factor = (int16_t)rf;
    if (!ctc) /* validate_only */
        return;
    r->error_code = brk__kafka_ctc_ask(ctc, i, n, rf, cfg, as->ids ? as : NULL);
}

static void create_one(struct brk_conn *c, struct kp_request *req, int32_t i, ct_result *r,
                       struct brk_tcfg *cfg, struct brk__kafka_cwait *ctc)
{
    const struct kp_create_topics_req *ct = req->msg;
    const struct kp_create_topics_req_creatable_topic *t = &ct->topics.v[i];
    struct brk_server *srv = brk_conn_server(c);
    struct kp_arena *a = &req->arena;
    int16_t v = req->hdr.request_api_version;
    int32_t n = 0;
    r->name = t->name;
    if (!brk__kafka_may_create(c, t->name)) { /* auth.c: CREATE on the cluster or the topic */
        r->error_code = KP_ERR_TOPIC_AUTHORIZATION_FAILED;
        r->error_message = brk__kafka_strf(a, "Authorization failed.");
        return;
    }
    if (t->name.len <= 0 || part_name_check((const char *)t->name.p, (size_t)t->name.len)) {
        r->error_code = KP_ERR_INVALID_TOPIC_EXCEPTION;
        r->error_message = brk__kafka_strf(a, "Topic name is illegal: it must be 1 to 249 of "
                                              "ASCII alphanumerics, '.', '_' and '-', and not "
                                              "'.' or '..'");
        return;
    }
    struct brk_cluster_assignment as;
    struct brk_cview *view = brk_cluster_view(srv);
    r->error_code = check_shape(srv, a, t, view, &n, &as, &r->error_message);
    brk_cview_put(view);
    if (r->error_code || (r->error_code = check_configs(a, t, cfg, &r->error_message)))
        return;
    struct part_topic *pt = NULL;
    if (brk_cluster_mode(srv)) {
        create_through_controller(c, ct->validate_only ? NULL : ctc, t, i, n, cfg, &as, r);
        if (r->error_code == KP_ERR_NONE && v >= 5)
            created_configs(c, a, r, cfg);
        if (r->error_code == KP_ERR_TOPIC_ALREADY_EXISTS)
            r->error_message = brk__kafka_strf(a, "Topic '%.*s' already exists.",
                                               (int)t->name.len, t->name.p);
        return;
    }
    if (ct->validate_only) { /* every check, nothing made: exists? */
        if (brk_topic_internal((const char *)t->name.p, (size_t)t->name.len) ||
            part_topic_find(brk_server_registry(srv), (const char *)t->name.p, (size_t)t->name.len))
            r->error_code = KP_ERR_TOPIC_ALREADY_EXISTS;
    } else {
        int rc = brk_topic_create_with(srv, (const char *)t->name.p, (size_t)t->name.len, n, cfg,
                                       &pt);
        r->error_code = rc == 0 ? KP_ERR_NONE
                        : rc == -EEXIST ? KP_ERR_TOPIC_ALREADY_EXISTS
                        : rc == KC_ETOOLARGE ? KP_ERR_INVALID_PARTITIONS
                                             : KP_ERR_KAFKA_STORAGE_ERROR;
        if (rc && rc != -EEXIST)
            r->error_message = brk__kafka_strf(a, "%s", kc_strerror(rc));
    }
    if (r->error_code == KP_ERR_TOPIC_ALREADY_EXISTS) {
        r->error_message = brk__kafka_strf(a, "Topic '%.*s' already exists.", (int)t->name.len,
                                           t->name.p);
        return;
    }
    if (r->error_code)
        return;
    if (v < 5)
        return; /* the fields below are v5+ (v7+ for the id): not ignorable before */
    r->num_partitions = n;
    r->replication_factor = 1;
    if (pt && v >= 7)
        r->topic_id = brk__kafka_uuid(pt);
    created_configs(c, a, r, cfg);
}

int brk__kafka_create_topics_fill(struct brk_conn *c, struct kp_request *req,
                                  struct brk__kafka_cwait *ctc,
                                  struct kp_create_topics_resp **out)
{
    const struct kp_create_topics_req *ct = req->msg;
    struct kp_arena *a = &req->arena;
    struct kp_create_topics_resp *resp = kp_new(a, &kp_create_topics_resp_schema, 1);
    ct_result *r = kp_new(a, &kp_create_topics_resp_creatable_topic_result_schema, ct->topics.n);
    struct kc_slice *names = kp_arena_alloc(a, ((size_t)ct->topics.n + 1) * sizeof(*names));
    struct brk_tcfg *cfg = malloc(sizeof(*cfg));
    if (!resp || !names || !cfg || (!r && ct->topics.n > 0)) {
        free(cfg);
        return -ENOMEM;
    }
    for (int32_t i = 0; i < ct->topics.n; i++)
        names[i] = ct->topics.v[i].name;
    for (int32_t i = 0; i < ct->topics.n; i++) {
        if (brk__kafka_named_twice(names, ct->topics.n, i)) { /* Kafka: every copy refused */
            r[i].name = names[i];
            r[i].error_code = KP_ERR_INVALID_REQUEST;
            r[i].error_message = brk__kafka_strf(a, "Create topics request from client `%.*s` "
                                                    "contains multiple entries for the "
                                                    "following topics: %.*s",
                                                 (int)KC_MAX(req->hdr.client_id.len, 0),
                                                 req->hdr.client_id.p, (int)names[i].len,
                                                 names[i].p);
            continue;
        }
        create_one(c, req, i, &r[i], cfg, ctc);
    }
    free(cfg);
    KP_SET(resp->topics, ct->topics.n, r);
    *out = resp;
    return 0;
}

int brk__kafka_create_topics(struct brk_conn *c, struct kp_request *req, const uint8_t *body,
                             size_t len)
{
    const struct kp_create_topics_req *ct = req->msg;
    struct kp_create_topics_resp *resp;
    if (brk_cluster_mode(brk_conn_server(c)) && !ct->validate_only)
        return brk__kafka_create_topics_cluster(c, req, body, len);
    int rc = brk__kafka_create_topics_fill(c, req, NULL, &resp);
    return rc ? rc : brk__kafka_reply(c, &req->hdr, resp);
}
