/*
 * cli_topics.c - `kafka_cli topics ...`: Kafka's kafka-topics.sh (TopicCommand), over the
 * Kafka protocol.
 *
 *   verb             request                     sent to
 *   list             Metadata (every topic)      any broker
 *   describe [T..]   Metadata, DescribeConfigs   any broker
 *   create T         CreateTopics                the controller
 *   delete T..       DeleteTopics                the controller
 *   alter T          IncrementalAlterConfigs     any broker (cli_configs.c: falls back to
 *                                                AlterConfigs as kafka-configs.sh does)
 *   add-partitions T CreatePartitions            the controller
 *
 * create and add-partitions take Kafka's --replica-assignment (3:1,2:3,1:2: each
 * partition's brokers, the first its preferred leader) instead of letting the controller
 * place the replicas.
 *
 * What describe prints is TopicCommand's layout, a header line per topic and a line per
 * partition, so that someone who knows Kafka's tool reads it at once:
 *
 *   Topic: payments  TopicId: 3q2+...  PartitionCount: 3  ReplicationFactor: 1  Configs: ...
 *       Topic: payments  Partition: 0  Leader: 0  Replicas: 0  Isr: 0
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cli_admin.h"
#include "kc_common.h"

#define CONFIG_SOURCE_DEFAULT 5 /* DescribeConfigs' DEFAULT_CONFIG: not worth showing */

static int topic_ptr_cmp(const void *a, const void *b)
{
    const struct kp_metadata_resp_topic *x = *(const struct kp_metadata_resp_topic *const *)a;
    const struct kp_metadata_resp_topic *y = *(const struct kp_metadata_resp_topic *const *)b;
    int32_t n = KC_MIN(KC_MAX(x->name.len, 0), KC_MAX(y->name.len, 0));
    int c = n ? memcmp(x->name.p, y->name.p, (size_t)n) : 0;
    return c ? c : (x->name.len > y->name.len) - (x->name.len < y->name.len);
}

/* The topics of a Metadata answer, sorted by name (malloc'ed pointers into it). */
static const struct kp_metadata_resp_topic **sorted_topics(const struct kp_metadata_resp *md)
{
    const struct kp_metadata_resp_topic **v = malloc(((size_t)md->topics.n + 1) * sizeof(*v));
    for (int32_t i = 0; v && i < md->topics.n; i++)
        v[i] = &md->topics.v[i];
    if (v)
        qsort(v, (size_t)md->topics.n, sizeof(*v), topic_ptr_cmp);
    return v;
}

static bool uuid_zero(const struct kp_uuid *id)
{
    static const struct kp_uuid zero;
    return memcmp(id, &zero, sizeof(zero)) == 0;
}

/* ---- list --------------------------------------------------------------------------------- */

static int topics_list(struct cli_admin *a, int argc, char **argv)
{
    bool exclude_internal = false;
    char *pos[1];
    int n, rc;
    struct cli_kresp resp;
    const struct cli_opt opts[] = {{"exclude-internal", NULL, &exclude_internal, NULL},
                                   {NULL, NULL, NULL, NULL}};
    if ((rc = cli__admin_args(a, argc, argv, opts, pos, 0, 0, &n)) || a->help)
        return rc;
    if ((rc = cli__admin_open(a)) || (rc = cli__kafka_metadata(&a->k, NULL, 0, &resp)))
        return rc;
    const struct kp_metadata_resp *md = resp.r.msg;
    const struct kp_metadata_resp_topic **t = sorted_topics(md);
    if (a->json) {
        cli__json_list_begin(&a->j, "topics");
    }
    for (int32_t i = 0; t && i < md->topics.n; i++) {
        if (exclude_internal && t[i]->is_internal)
            continue;
        if (a->json) {
            cli__json_slice(&a->j, t[i]->name);
            continue;
        }
        cli_escape(a->cli->out, t[i]->name.p, t[i]->name.len);
        fputc('\n', a->cli->out);
    }
    if (a->json) {
        cli__json_list_end(&a->j);
    }
    free(t);
    cli__kresp_fini(&resp);
    return t ? CLI_OK : CLI_EBROKER;
}

/* ---- describe ----------------------------------------------------------------------------------
 */

/*
 * The non-default configs of the topics in md, from DescribeConfigs (one request for all).
 * *out holds the answer, or is left with frame NULL when the broker does not offer the
 * API (describe goes on without configs: the partitions are the main thing).
 */
static int describe_configs(struct cli_admin *a, const struct kp_metadata_resp *md,
                            struct cli_kresp *out)
{
    struct kp_describe_configs_req req;
    struct kp_describe_configs_req_resource *res = NULL;
    struct cli_kconn *conn;
    int16_t v;
    int rc = cli__kafka_any(&a->k, &conn), n = 0;
    out->frame = NULL;
    if (rc || cli__kversion_pick(&conn->v, KP_API_DESCRIBE_CONFIGS, 1, 4) < 0 || md->topics.n == 0)
        return rc;
    if ((rc = cli__kafka_version(&a->k, conn, KP_API_DESCRIBE_CONFIGS, 1, 4, &v)))
        return rc;
    if (!(res = calloc((size_t)md->topics.n, sizeof(*res))))
        return CLI_EBROKER;
    for (int32_t i = 0; i < md->topics.n; i++) {
        if (md->topics.v[i].error_code)
            continue;
        kp_init(&kp_describe_configs_req_resource_schema, &res[n]);
        res[n].resource_type = 2; /* TOPIC */
        res[n].resource_name = md->topics.v[i].name;
        res[n++].configuration_keys.n = -1; /* every key */
    }
    kp_init(&kp_describe_configs_req_schema, &req);
    KP_SET(req.resources, n, res);
    rc = n ? cli__kafka_call(&a->k, conn, KP_API_DESCRIBE_CONFIGS, v, &req, out) : CLI_OK;
    free(res);
    return rc;
}

static const struct kp_describe_configs_resp_result *configs_of(const struct cli_kresp *cfg,
                                                                struct kc_slice topic)
{
    const struct kp_describe_configs_resp *r = cfg->frame ? cfg->r.msg : NULL;
    for (int32_t i = 0; r && i < r->results.n; i++)
        if (r->results.v[i].resource_name.len == topic.len &&
            memcmp(r->results.v[i].resource_name.p, topic.p, (size_t)topic.len) == 0)
            return &r->results.v[i];
    return NULL;
}

static void print_ids(FILE *f, const int32_t *ids, int32_t n)
{
    for (int32_t i = 0; i < n; i++)
        fprintf(f, "%s%d", i ? "," : "", ids[i]);
}

static void human_topic(struct cli_admin *a, const struct kp_metadata_resp_topic *t,
                        const struct kp_describe_configs_resp_result *cfg)
{
    FILE *f = a->cli->out;
    char id[23];
    int32_t rf = t->partitions.n ? t->partitions.v[0].replica_nodes.n : 0;
    fprintf(f, "Topic: %.*s", (int)t->name.len, t->name.p);
    if (!uuid_zero(&t->topic_id) && (cli__kuuid_str(&t->topic_id, id), true))
        fprintf(f, "\tTopicId: %s", id);
    fprintf(f, "\tPartitionCount: %d\tReplicationFactor: %d\tConfigs: ", t->partitions.n, rf);
    for (int32_t i = 0, shown = 0; cfg && i < cfg->configs.n; i++) {
        const struct kp_describe_configs_resp_resource_result *c = &cfg->configs.v[i];
        if (c->config_source == CONFIG_SOURCE_DEFAULT)
            continue;
        fprintf(f, "%s%.*s=", shown++ ? "," : "", (int)c->name.len, c->name.p);
        if (c->is_sensitive || c->value.len < 0)
            fputs(c->is_sensitive ? "(sensitive)" : "null", f);
        else
            cli_escape(f, c->value.p, c->value.len);
    }
    fputc('\n', f);
    for (int32_t i = 0; i < t->partitions.n; i++) {
        const struct kp_metadata_resp_partition *p = &t->partitions.v[i];
        fprintf(f, "\tTopic: %.*s\tPartition: %d\tLeader: ", (int)t->name.len, t->name.p,
                p->partition_index);
        fprintf(f, p->leader_id >= 0 ? "%d" : "none", p->leader_id);
        fputs("\tReplicas: ", f);
        print_ids(f, p->replica_nodes.v, p->replica_nodes.n);
        fputs("\tIsr: ", f);
        print_ids(f, p->isr_nodes.v, p->isr_nodes.n);
        if (p->offline_replicas.n > 0 && (fputs("\tOffline: ", f), true))
            print_ids(f, p->offline_replicas.v, p->offline_replicas.n);
        fputc('\n', f);
    }
}

static void json_ids(struct cli_json *j, const char *key, const int32_t *ids, int32_t n)
{
    cli__json_key(j, key);
    cli__json_open(j, '[');
    for (int32_t i = 0; i < n; i++)
        cli__json_int(j, ids[i]);
    cli__json_close(j, ']');
}

static void json_configs(struct cli_json *j, const struct kp_describe_configs_resp_result *cfg)
{
    cli__json_key(j, "configs");
    if (!cfg) {
        cli__json_null(j);
        return;
    }
    cli__json_open(j, '{');
    for (int32_t i = 0; i < cfg->configs.n; i++) {
        const struct kp_describe_configs_resp_resource_result *c = &cfg->configs.v[i];
        if (c->config_source == CONFIG_SOURCE_DEFAULT)
            continue;
        char name[256];
        cli__json_key(j, cli__kstr(c->name, name, sizeof(name)));
        cli__json_slice(j, c->is_sensitive ? (struct kc_slice){NULL, -1} : c->value);
    }
    cli__json_close(j, '}');
}

static void json_topic(struct cli_json *j, const struct kp_metadata_resp_topic *t,
                       const struct kp_describe_configs_resp_result *cfg)
{
    char id[23];
    cli__json_open(j, '{');
    cli__json_kslice(j, "name", t->name);
    cli__json_kstr(j, "topic_id",
                   uuid_zero(&t->topic_id) ? NULL : (cli__kuuid_str(&t->topic_id, id), id));
    cli__json_kbool(j, "internal", t->is_internal);
    cli__json_kint(j, "partition_count", t->partitions.n);
    cli__json_kint(j, "replication_factor",
                   t->partitions.n ? t->partitions.v[0].replica_nodes.n : 0);
    json_configs(j, cfg);
    cli__json_key(j, "partitions");
    cli__json_open(j, '[');
    for (int32_t i = 0; i < t->partitions.n; i++) {
        const struct kp_metadata_resp_partition *p = &t->partitions.v[i];
        cli__json_open(j, '{');
        cli__json_kint(j, "partition", p->partition_index);
        cli__json_kint(j, "leader", p->leader_id);
        cli__json_kint(j, "leader_epoch", p->leader_epoch);
        json_ids(j, "replicas", p->replica_nodes.v, p->replica_nodes.n);
        json_ids(j, "isr", p->isr_nodes.v, p->isr_nodes.n);
        json_ids(j, "offline", p->offline_replicas.v, p->offline_replicas.n);
        cli__json_close(j, '}');
    }
    cli__json_close(j, ']');
    cli__json_close(j, '}');
}

/* Print what was found; a topic that could not be described is an error line. */
static int describe_print(struct cli_admin *a, const struct kp_metadata_resp *md,
                          const struct cli_kresp *cfg)
{
    const struct kp_metadata_resp_topic **t = sorted_topics(md);
    int rc = t ? CLI_OK : CLI_EBROKER;
    if (a->json) {
        cli__json_list_begin(&a->j, "topics");
    }
    for (int32_t i = 0; t && i < md->topics.n; i++) {
        const struct kp_describe_configs_resp_result *c = configs_of(cfg, t[i]->name);
        char what[300];
        if (t[i]->error_code) {
            snprintf(what, sizeof(what), "topic '%.*s'", (int)KC_MIN(t[i]->name.len, 256),
                     t[i]->name.p);
            rc = cli__kerr(&a->k, what, t[i]->error_code, (struct kc_slice){NULL, -1});
        } else if (a->json) {
            json_topic(&a->j, t[i], c);
        } else {
            human_topic(a, t[i], c);
        }
    }
    if (a->json) {
        cli__json_list_end(&a->j);
    }
    free(t);
    return rc;
}

static int topics_describe(struct cli_admin *a, int argc, char **argv)
{
    char *pos[CLI_OPTLIST_MAX];
    int n, rc;
    struct cli_kresp md, cfg = {.frame = NULL};
    if ((rc = cli__admin_args(a, argc, argv, NULL, pos, 0, CLI_OPTLIST_MAX, &n)) || a->help)
        return rc;
    if ((rc = cli__admin_open(a)) ||
        (rc = cli__kafka_metadata(&a->k, n ? (const char *const *)pos : NULL, n, &md)))
        return rc;
    if ((rc = describe_configs(a, md.r.msg, &cfg)) == CLI_OK)
        rc = describe_print(a, md.r.msg, &cfg);
    if (cfg.frame)
        cli__kresp_fini(&cfg);
    cli__kresp_fini(&md);
    return rc;
}

/* ---- create -------------------------------------------------------------------------------------
 */

struct create_opts {
    const char *name;
    int32_t partitions;  /* -1: the broker's num.partitions */
    int16_t replication; /* -1: the broker's default.replication.factor */
    const struct cli_assignment *assign; /* --replica-assignment (then both above are -1) */
    const struct cli_optlist *configs;
    bool validate_only, if_not_exists;
};

/* The request's lists of an assignment: partition i gets as's list i. One malloc'ed
 * array (free it), or NULL. */
static struct kp_create_topics_req_creatable_replica_assignment *
create_lists(const struct cli_assignment *as)
{
    struct kp_create_topics_req_creatable_replica_assignment *v = calloc((size_t)as->n, sizeof(*v));
    for (int32_t i = 0; v && i < as->n; i++) {
        v[i].partition_index = i;
        KP_SET(v[i].broker_ids, as->len[i], as->ids + as->off[i]);
    }
    return v;
}

static int create_request(struct cli_admin *a, const struct create_opts *o, int16_t v,
                          struct kp_create_topics_req *req,
                          struct kp_create_topics_req_creatable_topic *t,
                          struct kp_create_topics_req_creatable_topic_config *c, char (*keys)[256])
{
    if (v < 4 && !o->assign && (o->partitions < 0 || o->replication < 0))
        return cli__admin_usage(a,
                                "this broker (CreateTopics v%d) has no defaults to offer: "
                                "give --partitions and --replication-factor",
                                v);
    if (v < 1 && o->validate_only)
        return cli__admin_usage(a, "this broker (CreateTopics v0) cannot --validate-only");
    kp_init(&kp_create_topics_req_schema, req);
    kp_init(&kp_create_topics_req_creatable_topic_schema, t);
    for (int i = 0; i < o->configs->n; i++) {
        const char *value;
        int rc = cli__admin_kv(a, "--config", o->configs->v[i], keys[i], 256, &value);
        if (rc)
            return rc;
        c[i] = (struct kp_create_topics_req_creatable_topic_config){kp_slice_str(keys[i]),
                                                                    kp_slice_str(value)};
    }
    t->name = kp_slice_str(o->name);
    t->num_partitions = o->partitions;
    t->replication_factor = o->replication;
    if (o->assign && !(t->assignments.v = create_lists(o->assign)))
        return cli__admin_usage(a, "out of memory");
    t->assignments.n = o->assign ? o->assign->n : 0;
    KP_SET(t->configs, o->configs->n, c);
    KP_SET(req->topics, 1, t);
    req->timeout_ms = a->cli->timeout_ms;
    req->validate_only = o->validate_only;
    return CLI_OK;
}

static void create_print(struct cli_admin *a, const struct create_opts *o, int16_t v,
                         const struct kp_create_topics_resp_creatable_topic_result *r)
{
    char id[23];
    bool exists = r->error_code == KP_ERR_TOPIC_ALREADY_EXISTS;
    if (a->json) {
        cli__json_open(&a->j, '{');
        cli__json_kstr(&a->j, "topic", o->name);
        cli__json_kbool(&a->j, "created", !exists && !o->validate_only);
        cli__json_kbool(&a->j, "validate_only", o->validate_only);
        cli__json_kstr(&a->j, "topic_id",
                       uuid_zero(&r->topic_id) ? NULL : (cli__kuuid_str(&r->topic_id, id), id));
        cli__json_kint(&a->j, "partitions", v >= 5 ? r->num_partitions : o->partitions);
        cli__json_kint(&a->j, "replication_factor",
                       v >= 5 ? r->replication_factor : o->replication);
        cli__json_kstr(&a->j, "error", exists ? cli__kerr_name(r->error_code) : NULL);
        cli__json_close(&a->j, '}');
    } else if (exists) {
        fprintf(a->cli->out, "Topic %s already exists (--if-not-exists).\n", o->name);
    } else if (o->validate_only) {
        fprintf(a->cli->out, "Topic %s would be created", o->name);
        if (v >= 5)
            fprintf(a->cli->out, ": %d partitions, replication factor %d", r->num_partitions,
                    r->replication_factor);
        fprintf(a->cli->out, " (--validate-only: nothing was changed).\n");
    } else {
        fprintf(a->cli->out, "Created topic %s.\n", o->name);
    }
}

static int create_call(struct cli_admin *a, const struct create_opts *o)
{
    struct kp_create_topics_req req;
    /* its assignment list is made by each try's create_request, freed after it */
    struct kp_create_topics_req_creatable_topic t = {.assignments = {0, NULL}};
    struct kp_create_topics_req_creatable_topic_config c[CLI_OPTLIST_MAX];
    char keys[CLI_OPTLIST_MAX][256], what[300];
    for (;;) {
        struct cli_kconn *conn;
        struct cli_kresp resp;
        int16_t v;
        int rc = cli__kafka_controller(&a->k, &conn);
        if (!rc && !(rc = cli__kafka_version(&a->k, conn, KP_API_CREATE_TOPICS, 0, 7, &v)) &&
            !(rc = create_request(a, o, v, &req, &t, c, keys)))
            rc = cli__kafka_call(&a->k, conn, KP_API_CREATE_TOPICS, v, &req, &resp);
        free(t.assignments.v);
        t.assignments.v = NULL;
        if (rc)
            return rc;
        const struct kp_create_topics_resp *r = resp.r.msg;
        const struct kp_create_topics_resp_creatable_topic_result *tr =
            r->topics.n == 1 ? &r->topics.v[0] : NULL;
        int16_t code = tr ? tr->error_code : KP_ERR_UNKNOWN_SERVER_ERROR;
        if (code && !(code == KP_ERR_TOPIC_ALREADY_EXISTS && o->if_not_exists)) {
            if (cli__kafka_retry(&a->k, code)) {
                cli__kresp_fini(&resp);
                continue;
            }
            snprintf(what, sizeof(what), "cannot create topic '%s'", o->name);
            rc = cli__kerr(&a->k, what, code, tr ? tr->error_message : (struct kc_slice){NULL, -1});
            cli__kresp_fini(&resp);
            return rc;
        }
        create_print(a, o, v, tr);
        cli__kresp_fini(&resp);
        return CLI_OK;
    }
}

/* --replica-assignment's text into *as, or a usage error. */
static int assignment_arg(struct cli_admin *a, const char *text, struct cli_assignment *as)
{
    int rc = cli__parse_assignment(text, as);
    if (rc == -ENOMEM)
        return cli__admin_usage(a, "out of memory");
    if (rc != 0)
        return cli__admin_usage(a, "--replica-assignment '%s': give each partition's broker "
                                   "ids in order, partitions separated by ',' and a "
                                   "partition's brokers by ':' (e.g. 3:1,2:3,1:2), no broker "
                                   "twice in a partition", text);
    return CLI_OK;
}

static int topics_create(struct cli_admin *a, int argc, char **argv)
{
    const char *partitions = NULL, *replication = NULL, *assign = NULL;
    struct cli_optlist configs = {.n = 0};
    struct create_opts o = {.partitions = -1, .replication = -1, .configs = &configs};
    struct cli_assignment as = {0};
    char *pos[1];
    int n, rc;
    int64_t x;
    const struct cli_opt opts[] = {{"partitions", &partitions, NULL, NULL},
                                   {"replication-factor", &replication, NULL, NULL},
                                   {"replica-assignment", &assign, NULL, NULL},
                                   {"config", NULL, NULL, &configs},
                                   {"validate-only", NULL, &o.validate_only, NULL},
                                   {"if-not-exists", NULL, &o.if_not_exists, NULL},
                                   {NULL, NULL, NULL, NULL}};
    if ((rc = cli__admin_args(a, argc, argv, opts, pos, 1, 1, &n)) || a->help)
        return rc;
    o.name = pos[0];
    if (partitions && (rc = cli__admin_num(a, "--partitions", partitions, 1, INT32_MAX, &x)))
        return rc;
    o.partitions = partitions ? (int32_t)x : -1;
    if (replication &&
        (rc = cli__admin_num(a, "--replication-factor", replication, 1, INT16_MAX, &x)))
        return rc;
    o.replication = replication ? (int16_t)x : -1;
    if (assign && (partitions || replication))
        return cli__admin_usage(a, "--replica-assignment names the partitions and their "
                                   "replicas: give it without --partitions and "
                                   "--replication-factor");
    if (assign && (rc = assignment_arg(a, assign, &as)))
        return rc;
    o.assign = assign ? &as : NULL;
    if ((rc = cli__admin_open(a)) == CLI_OK)
        rc = create_call(a, &o);
    cli__assignment_fini(&as);
    return rc;
}

/* ---- delete
 * -------------------------------------------------------------------------------------- */

struct del_item {
    const char *name;
    int16_t error;
    bool done;
    char message[256];
};

static void *delete_request(struct kp_arena *arena, int16_t v, struct del_item *items, int n,
                            int32_t timeout_ms)
{
    struct kp_delete_topics_req *req = kp_new(arena, &kp_delete_topics_req_schema, 1);
    struct kp_delete_topics_req_delete_topic_state *st =
        kp_new(arena, &kp_delete_topics_req_delete_topic_state_schema, n);
    struct kc_slice *names = kp_arena_alloc(arena, (size_t)n * sizeof(*names) + 1);
    int m = 0;
    if (!req || !st || !names)
        return NULL;
    for (int i = 0; i < n; i++)
        if (!items[i].done) {
            st[m].name = names[m] = kp_slice_str(items[i].name);
            m++;
        }
    if (v >= 6)
        KP_SET(req->topics, m, st); /* by name; by id is for topics whose name is gone */
    else
        KP_SET(req->topic_names, m, names);
    req->timeout_ms = timeout_ms;
    return req;
}

/* Record the answer per topic; the code of one that asks to be retried, or 0. */
static int16_t delete_take(const struct kp_delete_topics_resp *r, struct del_item *items, int n)
{
    int16_t again = 0;
    for (int32_t i = 0; i < r->responses.n; i++) {
        const struct kp_delete_topics_resp_deletable_topic_result *t = &r->responses.v[i];
        for (int j = 0; j < n; j++) {
            if (items[j].done || !kp_slice_eq(t->name, items[j].name))
                continue;
            items[j].error = t->error_code;
            cli__kstr(t->error_message, items[j].message, sizeof(items[j].message));
            items[j].done = !cli__kerr_retriable(t->error_code);
            again = items[j].done ? again : t->error_code;
        }
    }
    return again;
}

static int delete_calls(struct cli_admin *a, struct del_item *items, int n)
{
    for (;;) {
        struct cli_kconn *conn;
        struct cli_kresp resp;
        struct kp_arena arena;
        int16_t v;
        void *req;
        int rc = cli__kafka_controller(&a->k, &conn);
        if (rc || (rc = cli__kafka_version(&a->k, conn, KP_API_DELETE_TOPICS, 0, 6, &v)))
            return rc;
        kp_arena_init(&arena, 0);
        req = delete_request(&arena, v, items, n, a->cli->timeout_ms);
        rc = req ? cli__kafka_call(&a->k, conn, KP_API_DELETE_TOPICS, v, req, &resp) : CLI_EBROKER;
        kp_arena_fini(&arena);
        if (rc)
            return rc;
        int16_t again = delete_take(resp.r.msg, items, n);
        cli__kresp_fini(&resp);
        if (!again || !cli__kafka_retry(&a->k, again))
            return CLI_OK;
    }
}

static int delete_print(struct cli_admin *a, struct del_item *items, int n, bool if_exists)
{
    int rc = CLI_OK;
    if (a->json) {
        cli__json_list_begin(&a->j, "topics");
    }
    for (int i = 0; i < n; i++) {
        bool absent = items[i].error == KP_ERR_UNKNOWN_TOPIC_OR_PARTITION && if_exists;
        char what[300];
        if (!items[i].done && !items[i].error)
            items[i].error = KP_ERR_UNKNOWN_SERVER_ERROR; /* the answer did not name it */
        bool failed = items[i].error && !absent;
        if (a->json) {
            cli__json_open(&a->j, '{');
            cli__json_kstr(&a->j, "topic", items[i].name);
            cli__json_kbool(&a->j, "deleted", !items[i].error);
            cli__json_kstr(&a->j, "error", items[i].error ? cli__kerr_name(items[i].error) : NULL);
            cli__json_close(&a->j, '}');
        } else if (!items[i].error) {
            fprintf(a->cli->out, "Deleted topic %s.\n", items[i].name);
        }
        if (failed) {
            snprintf(what, sizeof(what), "cannot delete topic '%s'", items[i].name);
            rc = cli__kerr(&a->k, what, items[i].error,
                           kp_slice_str(items[i].message[0] ? items[i].message : NULL));
        }
    }
    if (a->json) {
        cli__json_list_end(&a->j);
    }
    return rc;
}

static int topics_delete(struct cli_admin *a, int argc, char **argv)
{
    char *pos[CLI_OPTLIST_MAX];
    struct del_item items[CLI_OPTLIST_MAX];
    bool if_exists = false;
    int n, rc;
    const struct cli_opt opts[] = {{"if-exists", NULL, &if_exists, NULL}, {NULL, NULL, NULL, NULL}};
    if ((rc = cli__admin_args(a, argc, argv, opts, pos, 1, CLI_OPTLIST_MAX, &n)) || a->help)
        return rc;
    for (int i = 0; i < n; i++)
        items[i] = (struct del_item){.name = pos[i]};
    if ((rc = cli__admin_open(a)) || (rc = delete_calls(a, items, n)))
        return rc;
    return delete_print(a, items, n, if_exists);
}

/* ---- alter, add-partitions
 * ------------------------------------------------------------------------- */

static int topics_alter(struct cli_admin *a, int argc, char **argv)
{
    struct cli_optlist set = {.n = 0}, del = {.n = 0};
    char *pos[1];
    int n, rc;
    const struct cli_opt opts[] = {{"config", NULL, NULL, &set},
                                   {"delete-config", NULL, NULL, &del},
                                   {NULL, NULL, NULL, NULL}};
    if ((rc = cli__admin_args(a, argc, argv, opts, pos, 1, 1, &n)) || a->help)
        return rc;
    if (set.n == 0 && del.n == 0)
        return cli__admin_usage(a, "nothing to alter: give --config k=v or --delete-config k");
    if ((rc = cli__admin_open(a)))
        return rc;
    return cli__configs_alter(a, CLI_RESOURCE_TOPIC, pos[0], set.v, set.n, del.v, del.n);
}

/* The new partitions' lists of as for topic, grown to count: as Kafka's TopicCommand,
 * as may list every partition (those the topic has are skipped: their replicas do not
 * move) or only the new ones. *out malloc'ed; CLI_OK or an error printed. */
static int grow_lists(struct cli_admin *a, const char *topic, int32_t count,
                      const struct cli_assignment *as,
                      struct kp_create_partitions_req_assignment **out, int32_t *nout)
{
    struct cli_ktp *tps;
    size_t now;
    int rc = cli__kafka_partitions(&a->k, &topic, 1, &tps, &now);
    if (rc)
        return rc;
    free(tps);
    int32_t skip = as->n == count ? (int32_t)now : 0;
    if (as->n != count && as->n != count - (int32_t)now)
        return cli__admin_usage(a, "--replica-assignment lists %d partitions: topic %s has %zu "
                                   "and grows to %d, so give all %d or the %d new ones",
                                as->n, topic, now, count, count, count - (int32_t)now);
    struct kp_create_partitions_req_assignment *v = calloc((size_t)(as->n - skip) + 1, sizeof(*v));
    if (!v)
        return cli__admin_usage(a, "out of memory");
    for (int32_t i = skip; i < as->n; i++)
        KP_SET(v[i - skip].broker_ids, as->len[i], as->ids + as->off[i]);
    *out = v;
    *nout = as->n - skip;
    return CLI_OK;
}

/* CreatePartitions of req (its one topic t) at the controller, retried while retriable. */
static int partitions_send(struct cli_admin *a, struct kp_create_partitions_req *req,
                           struct kp_create_partitions_req_topic *t, const char *topic,
                           int32_t count, bool validate_only)
{
    char what[300];
    KP_SET(req->topics, 1, t);
    req->timeout_ms = a->cli->timeout_ms;
    req->validate_only = validate_only;
    for (;;) {
        struct cli_kconn *conn;
        struct cli_kresp resp;
        int16_t v;
        int rc = cli__kafka_controller(&a->k, &conn);
        if (rc || (rc = cli__kafka_version(&a->k, conn, KP_API_CREATE_PARTITIONS, 0, 3, &v)) ||
            (rc = cli__kafka_call(&a->k, conn, KP_API_CREATE_PARTITIONS, v, req, &resp)))
            return rc;
        const struct kp_create_partitions_resp *r = resp.r.msg;
        int16_t code = r->results.n == 1 ? r->results.v[0].error_code : KP_ERR_UNKNOWN_SERVER_ERROR;
        if (code && cli__kafka_retry(&a->k, code)) {
            cli__kresp_fini(&resp);
            continue;
        }
        snprintf(what, sizeof(what), "cannot add partitions to topic '%s'", topic);
        rc = code ? cli__kerr(&a->k, what, code,
                              r->results.n == 1 ? r->results.v[0].error_message
                                                : (struct kc_slice){NULL, -1})
                  : CLI_OK;
        if (!code && a->json) {
            cli__json_open(&a->j, '{');
            cli__json_kstr(&a->j, "topic", topic);
            cli__json_kint(&a->j, "partitions", count);
            cli__json_kbool(&a->j, "validate_only", validate_only);
            cli__json_close(&a->j, '}');
        } else if (!code) {
            fprintf(a->cli->out,
                    validate_only ? "Topic %s could have %d partitions "
                                    "(--validate-only: nothing was changed).\n"
                                  : "Topic %s now has %d partitions.\n",
                    topic, count);
        }
        cli__kresp_fini(&resp);
        return rc;
    }
}

static int partitions_call(struct cli_admin *a, const char *topic, int32_t count,
                           const struct cli_assignment *as, bool validate_only)
{
    struct kp_create_partitions_req req;
    struct kp_create_partitions_req_topic t;
    struct kp_create_partitions_req_assignment *lists = NULL;
    int32_t nlists = -1; /* null: the broker places them */
    if (as) {
        int rc = grow_lists(a, topic, count, as, &lists, &nlists);
        if (rc)
            return rc;
    }
    kp_init(&kp_create_partitions_req_schema, &req);
    kp_init(&kp_create_partitions_req_topic_schema, &t);
    t.name = kp_slice_str(topic);
    t.count = count;
    KP_SET(t.assignments, nlists, lists);
    int rc = partitions_send(a, &req, &t, topic, count, validate_only);
    free(lists);
    return rc;
}


static int topics_add_partitions(struct cli_admin *a, int argc, char **argv)
{
    const char *count = NULL, *assign = NULL;
    bool validate_only = false;
    struct cli_assignment as = {0};
    char *pos[1];
    int n, rc;
    int64_t x;
    const struct cli_opt opts[] = {{"partitions", &count, NULL, NULL},
                                   {"replica-assignment", &assign, NULL, NULL},
                                   {"validate-only", NULL, &validate_only, NULL},
                                   {NULL, NULL, NULL, NULL}};
    if ((rc = cli__admin_args(a, argc, argv, opts, pos, 1, 1, &n)) || a->help)
        return rc;
    if (!count)
        return cli__admin_usage(a, "--partitions N (the new total) is needed");
    if ((rc = cli__admin_num(a, "--partitions", count, 1, INT32_MAX, &x)) ||
        (assign && (rc = assignment_arg(a, assign, &as))))
        return rc;
    if ((rc = cli__admin_open(a)) == CLI_OK)
        rc = partitions_call(a, pos[0], (int32_t)x, assign ? &as : NULL, validate_only);
    cli__assignment_fini(&as);
    return rc;
}

/* ---- the family
 * ------------------------------------------------------------------------------------- */

static const struct cli_verb topics_verbs[] = {
    {"list", "[--exclude-internal]", "every topic's name, sorted",
     "--exclude-internal  leave out internal topics (__consumer_offsets)", topics_list},
    {"describe", "[<topic>...]", "partitions, leaders, replicas, ISR and non-default configs",
     "with no topic: every topic", topics_describe},
    {"create",
     "<topic> [--partitions N] [--replication-factor R] [--replica-assignment A] "
     "[--config k=v]... [--validate-only] [--if-not-exists]",
     "create a topic (sent to the controller)",
     "--partitions N          default: the broker's num.partitions\n"
     "--replication-factor R  default: the broker's default.replication.factor\n"
     "--replica-assignment A  each partition's brokers instead: 3:1,2:3,1:2 is three\n"
     "                        partitions, the first on brokers 3 and 1 (3 leads)\n"
     "--config k=v            a topic config (repeat it for more)\n"
     "--validate-only         ask whether it would work; change nothing\n"
     "--if-not-exists         an existing topic is not an error",
     topics_create},
    {"delete", "<topic>... [--if-exists]", "delete topics (sent to the controller)",
     "--if-exists             a missing topic is not an error", topics_delete},
    {"alter", "<topic> [--config k=v]... [--delete-config k]...",
     "change a topic's configs (IncrementalAlterConfigs; AlterConfigs on brokers without it)",
     "--config k=v            set a config (repeat it for more)\n"
     "--delete-config k       back to the default (repeat it for more)",
     topics_alter},
    {"add-partitions", "<topic> --partitions N [--replica-assignment A] [--validate-only]",
     "grow a topic to N partitions (CreatePartitions; records are not moved)",
     "--partitions N          the new total, more than it has\n"
     "--replica-assignment A  the new partitions' brokers (3:1,2:3); listing every\n"
     "                        partition works too (the existing ones are skipped)\n"
     "--validate-only         ask whether it would work; change nothing",
     topics_add_partitions},
};

const struct cli_family cli__topics_family = {"topics", "kafka-topics.sh (TopicCommand)",
                                              topics_verbs, KC_ARRAY_SIZE(topics_verbs)};
