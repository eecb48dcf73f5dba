/*
 * admin_configs.c - DescribeConfigs, AlterConfigs, IncrementalAlterConfigs.
 *
 * Resources: a topic (type 2) or this broker (type 4, named "0", or "" for the broker
 * defaults). The model - keys, validators, defaults, synonyms, sources - is the core's
 * (core/include/brk_tconfig.h); this file is the wire and Kafka's rules around it:
 *
 *   DescribeConfigs  DESCRIBE_CONFIGS on the topic (29) or the cluster (31); a broker
 *                    other than 0 (42); unknown topic (3); configuration_keys null = all.
 *                    v0 is_default; v1+ source and, when asked, synonyms; v3+ type and,
 *                    when asked, documentation. Topic configs are writable (read_only
 *                    false); the broker's are static here, so read_only true, and a key
 *                    holding a password is sensitive with a null value
 *   AlterConfigs     the whole set of overrides replaced (Kafka's legacy semantics);
 *                    ALTER_CONFIGS (29 / 31); a key twice (42); each value checked (40,
 *                    the key named); validate_only; a broker key cannot change while
 *                    the broker runs: 42 "Cannot update these configs dynamically"
 *   Incremental...   SET / DELETE / APPEND / SUBTRACT (0-3) on the current overrides;
 *                    APPEND and SUBTRACT on lists only (40), starting from the default
 *                    when there is no override (Kafka's ConfigAdminManager); the result
 *                    checked as a whole before anything is written
 *
 * Written topic configs are durable before the answer (partitioning's topic.config:
 * tmp, fsync, rename, fsync dir) and act at once (brk_topic_set_configs).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "brk_cluster.h"
#include "brk_tconfig.h"
#include "kafka_int.h"
#include "sec_acl.h"

#define RES_TOPIC  2
#define RES_BROKER 4

enum { OP_SET = 0, OP_DELETE = 1, OP_APPEND = 2, OP_SUBTRACT = 3 };

typedef struct kp_describe_configs_resp_resource_result dc_entry;

/* A broker resource's name is this broker's id, or "" (the defaults): else 42. */
static bool broker_name_ok(struct kc_slice name)
{
    return name.len == 0 || (name.len == 1 && name.p[0] == '0');
}

/* ---- DescribeConfigs --------------------------------------------------------------------- */

struct describe {
    struct kp_request *req;
    const struct kp_describe_configs_req_resource *in;
    dc_entry *v;
    int32_t n, cap;
};

static bool wanted(const struct describe *d, const char *name)
{
    if (d->in->configuration_keys.n < 0)
        return true;
    for (int32_t i = 0; i < d->in->configuration_keys.n; i++)
        if (kp_slice_eq(d->in->configuration_keys.v[i], name))
            return true;
    return false;
}

static struct kc_slice text(struct kp_arena *a, const char *s)
{
    return s ? brk__kafka_strf(a, "%s", s) : (struct kc_slice){NULL, -1};
}

/* One entry, at the request's version. */
static void put(struct describe *d, const char *name, const char *value, int8_t source,
                bool read_only, bool sensitive, int8_t type, const char *doc,
                const struct brk_tcfg_synonym *syn, int nsyn)
{
    const struct kp_describe_configs_req *dr = d->req->msg;
    struct kp_arena *a = &d->req->arena;
    int16_t v = d->req->hdr.request_api_version;
    if (!wanted(d, name) || d->n >= d->cap)
        return;
    dc_entry *e = &d->v[d->n++];
    e->name = kp_slice_str(name);
    e->value = sensitive ? (struct kc_slice){NULL, -1} : text(a, value);
    e->read_only = read_only;
    e->is_sensitive = sensitive;
    if (v == 0)
        e->is_default = source == BRK_CFGSRC_DEFAULT;
    if (v >= 1)
        e->config_source = source;
    if (v >= 3) {
        e->config_type = type;
        e->documentation = dr->include_documentation ? text(a, doc) : (struct kc_slice){NULL, -1};
    }
    if (v < 1 || !dr->include_synonyms)
        return;
    struct kp_describe_configs_resp_synonym *s =
        kp_new(a, &kp_describe_configs_resp_synonym_schema, nsyn);
    if (!s && nsyn > 0)
        return;
    for (int i = 0; i < nsyn; i++) {
        s[i].name = kp_slice_str(syn[i].name);
        s[i].value = sensitive ? (struct kc_slice){NULL, -1} : text(a, syn[i].value);
        s[i].source = syn[i].source;
    }
    KP_SET(e->synonyms, nsyn, s);
}

static void describe_topic(struct describe *d, struct brk_server *srv, struct part_topic *t)
{
    struct brk_tcfg *c = malloc(sizeof(*c));
    if (!c || brk_topic_configs(srv, t, c) != 0) {
        free(c);
        return;
    }
    for (int i = 0; i < brk_tcfg_keys(); i++) {
        struct brk_tcfg_entry e;
        brk_tcfg_describe(brk_server_config(srv), c, i, &e);
        put(d, e.name, e.value, e.source, false, false, e.type, e.doc, e.syn, e.nsyn);
    }
    free(c);
}

static void broker_key(void *arg, const char *key, const char *value, bool set, int type)
{
    struct describe *d = arg;
    int8_t src = set ? BRK_CFGSRC_STATIC_BROKER : BRK_CFGSRC_DEFAULT;
    struct brk_tcfg_synonym syn = {.name = key, .value = value, .source = src};
    put(d, key, value, src, true, strstr(key, "password") != NULL, (int8_t)type,
        "a static setting of this broker (server.properties or --override)", &syn,
        value ? 1 : 0);
}

static void describe_one(struct brk_conn *c, struct kp_request *req, int32_t i,
                         struct kp_describe_configs_resp_result *r)
{
    const struct kp_describe_configs_req *dr = req->msg;
    const struct kp_describe_configs_req_resource *in = &dr->resources.v[i];
    struct brk_server *srv = brk_conn_server(c);
    struct part_topic *t = NULL;
    struct describe d = {req, in, NULL, 0, 96};
    r->resource_type = in->resource_type;
    r->resource_name = in->resource_name;
    if (in->resource_type == RES_TOPIC) {
        if (!brk__kafka_allowed(c, SEC_OP_DESCRIBE_CONFIGS, SEC_RES_TOPIC, in->resource_name))
            r->error_code = KP_ERR_TOPIC_AUTHORIZATION_FAILED;
        else if (in->resource_name.len <= 0 || part_name_check((const char *)in->resource_name.p,
                                                              (size_t)in->resource_name.len))
            r->error_code = KP_ERR_INVALID_TOPIC_EXCEPTION;
        else
            r->error_code = brk__kafka_topic(srv, in->resource_name, &t);
    } else if (in->resource_type == RES_BROKER) {
        if (!brk__kafka_allowed(c, SEC_OP_DESCRIBE_CONFIGS, SEC_RES_CLUSTER,
                                kp_slice_str(SEC_CLUSTER_NAME)))
            r->error_code = KP_ERR_CLUSTER_AUTHORIZATION_FAILED;
        else if (!broker_name_ok(in->resource_name))
            r->error_code = KP_ERR_INVALID_REQUEST;
    } else {
        r->error_code = KP_ERR_INVALID_REQUEST;
    }
    if (r->error_code) {
        r->error_message = brk__kafka_strf(&req->arena, "%s%s", kp_error_name(r->error_code),
                                           r->error_code == KP_ERR_INVALID_REQUEST
                                               ? ": unexpected resource type or broker id "
                                                 "(this broker is 0)"
                                               : "");
        return;
    }
    if (!(d.v = kp_new(&req->arena, &kp_describe_configs_resp_resource_result_schema, d.cap)))
        return;
    if (t)
        describe_topic(&d, srv, t);
    else
        brk_config_describe(brk_server_config(srv), broker_key, &d);
    KP_SET(r->configs, d.n, d.v);
}

int brk__kafka_describe_configs(struct brk_conn *c, struct kp_request *req)
{
    const struct kp_describe_configs_req *dr = req->msg;
    struct kp_describe_configs_resp *resp = kp_new(&req->arena, &kp_describe_configs_resp_schema, 1);
    struct kp_describe_configs_resp_result *r =
        kp_new(&req->arena, &kp_describe_configs_resp_result_schema, dr->resources.n);
    if (!resp || (!r && dr->resources.n > 0))
        return -ENOMEM;
    for (int32_t i = 0; i < dr->resources.n; i++)
        describe_one(c, req, i, &r[i]);
    KP_SET(resp->results, dr->resources.n, r);
    return brk__kafka_reply(c, &req->hdr, resp);
}

/* ---- the alters ---------------------------------------------------------------------------- */

/* One resource's alteration, the parts both APIs share. */
struct alter {
    struct brk_conn *c;
    struct kp_arena *a;
    int8_t type;
    struct kc_slice name;
    bool validate_only;
    int16_t error;
    struct kc_slice message;
};

static void fail(struct alter *al, int16_t code, struct kc_slice msg)
{
    al->error = code;
    al->message = msg;
}

/* Authorization, the resource, and the broker's answer. NULL: answered (al->error set, or
 * a broker resource with nothing to change); else the topic. */
static struct part_topic *alter_target(struct alter *al, int32_t nconfigs)
{
    if (al->type == RES_BROKER) {
        if (!brk__kafka_allowed(al->c, SEC_OP_ALTER_CONFIGS, SEC_RES_CLUSTER,
                                kp_slice_str(SEC_CLUSTER_NAME)))
            fail(al, KP_ERR_CLUSTER_AUTHORIZATION_FAILED, (struct kc_slice){NULL, -1});
        else if (!broker_name_ok(al->name))
            fail(al, KP_ERR_INVALID_REQUEST,
                 brk__kafka_strf(al->a, "Unexpected broker id, expected 0 or empty string, "
                                        "but received %.*s", (int)al->name.len, al->name.p));
        else if (nconfigs > 0)
            fail(al, KP_ERR_INVALID_REQUEST,
                 brk__kafka_strf(al->a, "Cannot update these configs dynamically: this "
                                        "broker's settings are static (server.properties)"));
        return NULL;
    }
    if (al->type != RES_TOPIC) {
        fail(al, KP_ERR_INVALID_REQUEST, brk__kafka_strf(al->a, "Unsupported resource type"));
        return NULL;
    }
    if (!brk__kafka_allowed(al->c, SEC_OP_ALTER_CONFIGS, SEC_RES_TOPIC, al->name)) {
        fail(al, KP_ERR_TOPIC_AUTHORIZATION_FAILED, (struct kc_slice){NULL, -1});
        return NULL;
    }
    struct part_topic *t = NULL;
    int16_t err = brk__kafka_topic(brk_conn_server(al->c), al->name, &t);
    if (err)
        fail(al, err, brk__kafka_strf(al->a, "Topic %.*s does not exist", (int)al->name.len,
                                      al->name.p));
    return t;
}

/* Write c as t's overrides (unless validating). */
static void alter_commit(struct alter *al, struct part_topic *t, const struct brk_tcfg *c)
{
    if (al->validate_only || al->error)
        return;
    struct brk_server *srv = brk_conn_server(al->c);
    int rc = brk_topic_set_configs(srv, t, c);
    if (rc == 0 && brk_cluster_mode(srv)) { /* and every other broker, through ZooKeeper */
        int zrc = brk_cluster_topic_configs(srv, part_topic_name(t), c);
        if (zrc)
            kc_log_warn("topic %s: configs changed here only: %s", part_topic_name(t),
                        kc_strerror(zrc));
    }
    if (rc)
        fail(al, rc == KC_ENOTOPIC ? KP_ERR_UNKNOWN_TOPIC_OR_PARTITION : KP_ERR_KAFKA_STORAGE_ERROR,
             brk__kafka_strf(al->a, "%s", kc_strerror(rc)));
}

static bool key_twice(const struct kc_slice *keys, int32_t n)
{
    for (int32_t i = 0; i < n; i++)
        for (int32_t j = i + 1; j < n; j++)
            if (keys[i].len == keys[j].len && keys[i].len >= 0 &&
                memcmp(keys[i].p, keys[j].p, (size_t)keys[i].len) == 0)
                return true;
    return false;
}

/* AlterConfigs: the overrides become exactly the given set. */
static void alter_legacy(struct alter *al, const struct kp_alter_configs_req_resource *in)
{
    char why[384];
    struct kc_slice *keys = kp_arena_alloc(al->a, ((size_t)in->configs.n + 1) * sizeof(*keys));
    struct part_topic *t = alter_target(al, in->configs.n);
    struct brk_tcfg *c = malloc(sizeof(*c));
    if (!t || !keys || !c) {
        free(c);
        return;
    }
    c->n = 0;
    for (int32_t i = 0; i < in->configs.n; i++)
        keys[i] = in->configs.v[i].name;
    if (key_twice(keys, in->configs.n))
        fail(al, KP_ERR_INVALID_REQUEST, brk__kafka_strf(al->a, "Error due to duplicate "
                                                                "config keys"));
    for (int32_t i = 0; !al->error && i < in->configs.n; i++) {
        const struct kp_alter_configs_req_alterable_config *kv = &in->configs.v[i];
        if (brk_tcfg_set(c, (const char *)kv->name.p, kv->name.len, (const char *)kv->value.p,
                         kv->value.len, why, sizeof(why)) != 0)
            fail(al, KP_ERR_INVALID_CONFIG, brk__kafka_strf(al->a, "%s", why));
    }
    alter_commit(al, t, c);
    free(c);
}

int brk__kafka_alter_configs(struct brk_conn *c, struct kp_request *req)
{
    const struct kp_alter_configs_req *ar = req->msg;
    struct kp_alter_configs_resp *resp = kp_new(&req->arena, &kp_alter_configs_resp_schema, 1);
    struct kp_alter_configs_resp_resource_response *r =
        kp_new(&req->arena, &kp_alter_configs_resp_resource_response_schema, ar->resources.n);
    if (!resp || (!r && ar->resources.n > 0))
        return -ENOMEM;
    for (int32_t i = 0; i < ar->resources.n; i++) {
        const struct kp_alter_configs_req_resource *in = &ar->resources.v[i];
        struct alter al = {c, &req->arena, in->resource_type, in->resource_name,
                           ar->validate_only, 0, {NULL, -1}};
        alter_legacy(&al, in);
        r[i] = (struct kp_alter_configs_resp_resource_response){
            al.error, al.message, in->resource_type, in->resource_name};
    }
    KP_SET(resp->responses, ar->resources.n, r);
    return brk__kafka_reply(c, &req->hdr, resp);
}

/* ---- IncrementalAlterConfigs --------------------------------------------------------------- */

/* The list value of key before the operation: the override, else the effective default. */
static void current_list(struct brk_server *srv, const struct brk_tcfg *c, int row, char *out,
                         size_t cap)
{
    struct brk_tcfg_entry e;
    brk_tcfg_describe(brk_server_config(srv), c, row, &e);
    snprintf(out, cap, "%s", e.value ? e.value : "");
}

static bool list_has(const char *list, const char *item, size_t n)
{
    for (const char *p = list; *p;) {
        size_t len = strcspn(p, ",");
        if (len == n && memcmp(p, item, n) == 0)
            return true;
        p += len + (p[len] == ',');
    }
    return false;
}

/* APPEND (items not there yet, in order) or SUBTRACT (every copy of each item). */
static void list_op(char *cur, size_t cap, struct kc_slice arg, bool append)
{
    char out[BRK_TCFG_VALUE_MAX * 2] = "", items[BRK_TCFG_VALUE_MAX];
    snprintf(items, sizeof(items), "%.*s", (int)KC_MAX(arg.len, 0), arg.p ? (const char *)arg.p : "");
    size_t o = 0;
    for (const char *p = cur; *p;) { /* what stays */
        size_t len = strcspn(p, ",");
        if (len && (append || !list_has(items, p, len)))
            o += (size_t)snprintf(out + o, sizeof(out) - o, "%s%.*s", o ? "," : "", (int)len, p);
        p += len + (p[len] == ',');
    }
    for (const char *p = items; append && *p;) { /* what is added */
        size_t len = strcspn(p, ",");
        if (len && !list_has(out, p, len))
            o += (size_t)snprintf(out + o, sizeof(out) - o, "%s%.*s", o ? "," : "", (int)len, p);
        p += len + (p[len] == ',');
    }
    snprintf(cur, cap, "%s", out);
}

/* One operation on c: 0, or fails al. */
static void incremental_op(struct alter *al, struct brk_tcfg *c,
                           const struct kp_incremental_alter_configs_req_alterable_config *op)
{
    char why[384], cur[BRK_TCFG_VALUE_MAX * 2];
    const char *key = (const char *)op->name.p;
    int row = brk_tcfg_find(key, op->name.len);
    if (row < 0 || op->config_operation < OP_SET || op->config_operation > OP_SUBTRACT) {
        (void)brk_tcfg_check(key, op->name.len, "", 0, why, sizeof(why));
        fail(al, row < 0 ? KP_ERR_INVALID_CONFIG : KP_ERR_INVALID_REQUEST,
             brk__kafka_strf(al->a, "%s", row < 0 ? why : "Unknown config operation"));
        return;
    }
    if (op->config_operation == OP_DELETE) {
        brk_tcfg_delete(c, key, op->name.len);
        return;
    }
    if (op->value.len < 0) { /* Kafka's ConfigAdminManager: a request error, not a value's */
        fail(al, KP_ERR_INVALID_REQUEST, brk__kafka_strf(al->a, "Null value not supported "
                                                                "for : %.*s",
                                                         (int)op->name.len, key));
        return;
    }
    if (op->config_operation != OP_SET && brk_tcfg_is_list(key, op->name.len) != 1) {
        fail(al, KP_ERR_INVALID_CONFIG,
             brk__kafka_strf(al->a, "Config value %s is not allowed for config key: %.*s",
                             op->config_operation == OP_APPEND ? "append" : "subtract",
                             (int)op->name.len, key));
        return;
    }
    const char *v = (const char *)op->value.p;
    int32_t vlen = op->value.len;
    if (op->config_operation != OP_SET) {
        current_list(brk_conn_server(al->c), c, row, cur, sizeof(cur));
        list_op(cur, sizeof(cur), op->value, op->config_operation == OP_APPEND);
        v = cur;
        vlen = (int32_t)strlen(cur);
    }
    if (brk_tcfg_set(c, key, op->name.len, v, vlen, why, sizeof(why)) != 0)
        fail(al, KP_ERR_INVALID_CONFIG, brk__kafka_strf(al->a, "%s", why));
}

static void alter_incremental(struct alter *al,
                              const struct kp_incremental_alter_configs_req_alter_configs_resource *in)
{
    struct kc_slice *keys = kp_arena_alloc(al->a, ((size_t)in->configs.n + 1) * sizeof(*keys));
    struct part_topic *t = alter_target(al, in->configs.n);
    struct brk_tcfg *c = malloc(sizeof(*c));
    if (!t || !keys || !c || brk_topic_configs(brk_conn_server(al->c), t, c) != 0) {
        free(c);
        return;
    }
    for (int32_t i = 0; i < in->configs.n; i++)
        keys[i] = in->configs.v[i].name;
    if (key_twice(keys, in->configs.n))
        fail(al, KP_ERR_INVALID_REQUEST, brk__kafka_strf(al->a, "Error due to duplicate "
                                                                "config keys"));
    for (int32_t i = 0; !al->error && i < in->configs.n; i++)
        incremental_op(al, c, &in->configs.v[i]);
    alter_commit(al, t, c);
    free(c);
}

int brk__kafka_incremental_alter_configs(struct brk_conn *c, struct kp_request *req)
{
    const struct kp_incremental_alter_configs_req *ar = req->msg;
    struct kp_incremental_alter_configs_resp *resp =
        kp_new(&req->arena, &kp_incremental_alter_configs_resp_schema, 1);
    struct kp_incremental_alter_configs_resp_alter_configs_resource_response *r = kp_new(
        &req->arena, &kp_incremental_alter_configs_resp_alter_configs_resource_response_schema,
        ar->resources.n);
    if (!resp || (!r && ar->resources.n > 0))
        return -ENOMEM;
    for (int32_t i = 0; i < ar->resources.n; i++) {
        const struct kp_incremental_alter_configs_req_alter_configs_resource *in =
            &ar->resources.v[i];
        struct alter al = {c, &req->arena, in->resource_type, in->resource_name,
                           ar->validate_only, 0, {NULL, -1}};
        alter_incremental(&al, in);
        r[i] = (struct kp_incremental_alter_configs_resp_alter_configs_resource_response){
            al.error, al.message, in->resource_type, in->resource_name};
    }
    KP_SET(resp->responses, ar->resources.n, r);
    return brk__kafka_reply(c, &req->hdr, resp);
}
