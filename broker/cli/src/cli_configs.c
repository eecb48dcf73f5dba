/*
 * cli_configs.c - `kafka_cli configs ...`: Kafka's kafka-configs.sh (ConfigCommand) for
 * topics and brokers, over the Kafka protocol.
 *
 *   configs describe --topic T [--all]    DescribeConfigs, to any broker
 *   configs describe --broker B [--all]   DescribeConfigs, to broker B itself (a broker
 *                                         answers for its own configs)
 *   configs alter --topic T|--broker B --add-config k=v,... --delete-config k,...
 *
 * What a config's value is depends on where it comes from, and Kafka says so per entry
 * with a source and the synonyms it was resolved through, most specific first:
 *
 *   retention.ms=3600000 sensitive=false synonyms={DYNAMIC_TOPIC_CONFIG:retention.ms=3600000,
 *       STATIC_BROKER_CONFIG:log.retention.hours=168, DEFAULT_CONFIG:log.retention.hours=168}
 *
 * describe shows the dynamic ones (set on the topic or the broker at run time), --all
 * every one, as kafka-configs.sh does.
 *
 * alter is incremental (IncrementalAlterConfigs, Kafka 2.3, KIP-339): SET and DELETE per
 * key, the others untouched. A broker without it gets AlterConfigs, which replaces the
 * whole set: so the current dynamic configs are read first and merged with the change,
 * which is what kafka-configs.sh did before KIP-339 (and why it was replaced: two such
 * changes at once can lose one).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cli_admin.h"
#include "kc_common.h"

enum {
    SRC_DYNAMIC_TOPIC = 1,
    SRC_DYNAMIC_BROKER = 2,
    SRC_DYNAMIC_DEFAULT_BROKER = 3,
    OP_SET = 0, /* IncrementalAlterConfigs' operations */
    OP_DELETE = 1,
    CFG_KEYS_MAX = 2 * CLI_OPTLIST_MAX,
    CFG_TEXT_MAX = 16384,
};

static const char *source_name(int8_t s)
{
    static const char *const names[] = {"UNKNOWN",
                                        "DYNAMIC_TOPIC_CONFIG",
                                        "DYNAMIC_BROKER_CONFIG",
                                        "DYNAMIC_DEFAULT_BROKER_CONFIG",
                                        "STATIC_BROKER_CONFIG",
                                        "DEFAULT_CONFIG",
                                        "DYNAMIC_BROKER_LOGGER_CONFIG",
                                        "DYNAMIC_CLIENT_METRICS_CONFIG",
                                        "DYNAMIC_GROUP_CONFIG"};
    return s >= 0 && (size_t)s < KC_ARRAY_SIZE(names) ? names[s] : "UNKNOWN";
}

static const char *type_name(int8_t t)
{
    static const char *const names[] = {"UNKNOWN", "BOOLEAN", "STRING", "INT",   "SHORT",
                                        "LONG",    "DOUBLE",  "LIST",   "CLASS", "PASSWORD"};
    return t >= 0 && (size_t)t < KC_ARRAY_SIZE(names) ? names[t] : "UNKNOWN";
}

static bool dynamic_source(int type, int8_t s)
{
    return type == CLI_RESOURCE_TOPIC ? s == SRC_DYNAMIC_TOPIC
                                      : s == SRC_DYNAMIC_BROKER || s == SRC_DYNAMIC_DEFAULT_BROKER;
}

/* The connection a request about the resource goes to: a broker's own, or any. */
static int resource_conn(struct cli_admin *a, int type, const char *name, struct cli_kconn **c)
{
    int64_t id;
    if (type == CLI_RESOURCE_TOPIC)
        return cli__kafka_any(&a->k, c);
    if (kc_parse_i64(name, 0, INT32_MAX, &id) != 0)
        return cli__admin_usage(a, "--broker takes a broker id, not '%s'", name);
    return cli__kafka_node(&a->k, (int32_t)id, c);
}

/* ---- the resource option ----------------------------------------------------------------- */

struct resource {
    const char *topic, *broker, *entity_type, *entity_name;
    int type;
    const char *name;
};

/* --topic T | --broker B | --entity-type topics|brokers --entity-name N: exactly one. */
static int resource_pick(struct cli_admin *a, struct resource *r)
{
    int given = !!r->topic + !!r->broker + !!r->entity_type;
    if (given != 1 || (!!r->entity_type != !!r->entity_name))
        return cli__admin_usage(a, "name one resource: --topic T or --broker B");
    if (r->entity_type && strcmp(r->entity_type, "topics") && strcmp(r->entity_type, "brokers"))
        return cli__admin_usage(a, "--entity-type must be topics or brokers here (users: see "
                                   "kafka_cli scram)");
    r->type = r->topic || (r->entity_type && r->entity_type[0] == 't') ? CLI_RESOURCE_TOPIC
                                                                       : CLI_RESOURCE_BROKER;
    r->name = r->topic ? r->topic : r->broker ? r->broker : r->entity_name;
    return CLI_OK;
}

#define RESOURCE_OPTS(r)                                                                           \
    {"topic", &(r).topic, NULL, NULL}, {"broker", &(r).broker, NULL, NULL},                        \
        {"entity-type", &(r).entity_type, NULL, NULL},                                             \
    {                                                                                              \
        "entity-name", &(r).entity_name, NULL, NULL                                                \
    }

/* ---- describe ------------------------------------------------------------------------------ */

static int describe_call(struct cli_admin *a, int type, const char *name, struct cli_kresp *out)
{
    struct kp_describe_configs_req req;
    struct kp_describe_configs_req_resource res;
    struct cli_kconn *conn;
    int16_t v;
    int rc = resource_conn(a, type, name, &conn);
    if (rc || (rc = cli__kafka_version(&a->k, conn, KP_API_DESCRIBE_CONFIGS, 1, 4, &v)))
        return rc;
    kp_init(&kp_describe_configs_req_schema, &req);
    kp_init(&kp_describe_configs_req_resource_schema, &res);
    res.resource_type = (int8_t)type;
    res.resource_name = kp_slice_str(name);
    res.configuration_keys.n = -1; /* every key */
    KP_SET(req.resources, 1, &res);
    req.include_synonyms = true;
    return cli__kafka_call(&a->k, conn, KP_API_DESCRIBE_CONFIGS, v, &req, out);
}

/* The one result of a describe_call, or an error printed (*rc set). */
static const struct kp_describe_configs_resp_result *
describe_result(struct cli_admin *a, const struct cli_kresp *r, const char *name, int *rc)
{
    const struct kp_describe_configs_resp *d = r->r.msg;
    char what[300];
    *rc = CLI_OK;
    if (d->results.n == 1 && d->results.v[0].error_code == 0)
        return &d->results.v[0];
    snprintf(what, sizeof(what), "cannot describe the configs of '%s'", name);
    *rc = cli__kerr(
        &a->k, what, d->results.n == 1 ? d->results.v[0].error_code : KP_ERR_UNKNOWN_SERVER_ERROR,
        d->results.n == 1 ? d->results.v[0].error_message : (struct kc_slice){NULL, -1});
    return NULL;
}

static void human_entry(FILE *f, const struct kp_describe_configs_resp_resource_result *c)
{
    fprintf(f, "  %.*s=", (int)c->name.len, c->name.p);
    if (c->is_sensitive || c->value.len < 0)
        fputs("null", f);
    else
        cli_escape(f, c->value.p, c->value.len);
    fprintf(f, " sensitive=%s synonyms={", c->is_sensitive ? "true" : "false");
    for (int32_t s = 0; s < c->synonyms.n; s++) {
        const struct kp_describe_configs_resp_synonym *y = &c->synonyms.v[s];
        fprintf(f, "%s%s:%.*s=", s ? ", " : "", source_name(y->source), (int)y->name.len,
                y->name.p);
        if (c->is_sensitive || y->value.len < 0)
            fputs("null", f);
        else
            cli_escape(f, y->value.p, y->value.len);
    }
    fputs("}\n", f);
}

static void json_entry(struct cli_json *j, const struct kp_describe_configs_resp_resource_result *c)
{
    cli__json_open(j, '{');
    cli__json_kslice(j, "name", c->name);
    cli__json_kslice(j, "value", c->is_sensitive ? (struct kc_slice){NULL, -1} : c->value);
    cli__json_kstr(j, "source", source_name(c->config_source));
    cli__json_kstr(j, "type", type_name(c->config_type));
    cli__json_kbool(j, "sensitive", c->is_sensitive);
    cli__json_kbool(j, "read_only", c->read_only);
    cli__json_key(j, "synonyms");
    cli__json_open(j, '[');
    for (int32_t s = 0; s < c->synonyms.n; s++) {
        cli__json_open(j, '{');
        cli__json_kslice(j, "name", c->synonyms.v[s].name);
        cli__json_kslice(j, "value",
                         c->is_sensitive ? (struct kc_slice){NULL, -1} : c->synonyms.v[s].value);
        cli__json_kstr(j, "source", source_name(c->synonyms.v[s].source));
        cli__json_close(j, '}');
    }
    cli__json_close(j, ']');
    cli__json_close(j, '}');
}

static void describe_print(struct cli_admin *a, const struct resource *r, bool all,
                           const struct kp_describe_configs_resp_result *res)
{
    const char *kind = r->type == CLI_RESOURCE_TOPIC ? "topic" : "broker";
    if (a->json) {
        cli__json_open(&a->j, '{');
        cli__json_kstr(&a->j, "resource_type", kind);
        cli__json_kstr(&a->j, "resource_name", r->name);
        cli__json_key(&a->j, "configs");
        cli__json_open(&a->j, '[');
    } else {
        fprintf(a->cli->out, "%s configs for %s %s are:\n", all ? "All" : "Dynamic", kind, r->name);
    }
    for (int32_t i = 0; i < res->configs.n; i++) {
        const struct kp_describe_configs_resp_resource_result *c = &res->configs.v[i];
        if (!all && !dynamic_source(r->type, c->config_source))
            continue;
        if (a->json)
            json_entry(&a->j, c);
        else
            human_entry(a->cli->out, c);
    }
    if (a->json) {
        cli__json_list_end(&a->j);
    }
}

static int configs_describe(struct cli_admin *a, int argc, char **argv)
{
    struct resource r = {0};
    bool all = false;
    char *pos[1];
    int n, rc;
    struct cli_kresp resp;
    const struct cli_opt opts[] = {
        RESOURCE_OPTS(r), {"all", NULL, &all, NULL}, {NULL, NULL, NULL, NULL}};
    if ((rc = cli__admin_args(a, argc, argv, opts, pos, 0, 0, &n)) || a->help ||
        (rc = resource_pick(a, &r)) || (rc = cli__admin_open(a)) ||
        (rc = describe_call(a, r.type, r.name, &resp)))
        return rc;
    const struct kp_describe_configs_resp_result *res = describe_result(a, &resp, r.name, &rc);
    if (res)
        describe_print(a, &r, all, res);
    cli__kresp_fini(&resp);
    return rc;
}

/* ---- alter ----------------------------------------------------------------------------------- */

/* One change: a key, and the value to set (NULL: delete). */
struct change {
    char key[256];
    const char *value;
};

static int changes_from(struct cli_admin *a, const char *const *set, int nset,
                        const char *const *del, int ndel, struct change *ch)
{
    int rc;
    for (int i = 0; i < nset; i++)
        if ((rc = cli__admin_kv(a, "a config", set[i], ch[i].key, sizeof(ch[i].key), &ch[i].value)))
            return rc;
    for (int i = 0; i < ndel; i++) {
        if (!del[i][0] || strlen(del[i]) >= sizeof(ch[0].key))
            return cli__admin_usage(a, "--delete-config takes a config name, not '%s'", del[i]);
        snprintf(ch[nset + i].key, sizeof(ch[0].key), "%s", del[i]);
        ch[nset + i].value = NULL;
    }
    return CLI_OK;
}

static int incremental_call(struct cli_admin *a, struct cli_kconn *conn, int16_t v, int type,
                            const char *name, const struct change *ch, int n, int16_t *code,
                            struct kc_slice *msg, struct cli_kresp *resp)
{
    struct kp_incremental_alter_configs_req req;
    struct kp_incremental_alter_configs_req_alter_configs_resource res;
    struct kp_incremental_alter_configs_req_alterable_config cfg[CFG_KEYS_MAX];
    kp_init(&kp_incremental_alter_configs_req_schema, &req);
    kp_init(&kp_incremental_alter_configs_req_alter_configs_resource_schema, &res);
    for (int i = 0; i < n; i++)
        cfg[i] = (struct kp_incremental_alter_configs_req_alterable_config){
            kp_slice_str(ch[i].key), ch[i].value ? OP_SET : OP_DELETE, kp_slice_str(ch[i].value)};
    res.resource_type = (int8_t)type;
    res.resource_name = kp_slice_str(name);
    KP_SET(res.configs, n, cfg);
    KP_SET(req.resources, 1, &res);
    int rc = cli__kafka_call(&a->k, conn, KP_API_INCREMENTAL_ALTER_CONFIGS, v, &req, resp);
    if (rc)
        return rc;
    const struct kp_incremental_alter_configs_resp *r = resp->r.msg;
    *code = r->responses.n == 1 ? r->responses.v[0].error_code : KP_ERR_UNKNOWN_SERVER_ERROR;
    *msg = r->responses.n == 1 ? r->responses.v[0].error_message : (struct kc_slice){NULL, -1};
    return CLI_OK;
}

/* AlterConfigs' whole set: the current dynamic configs, changed by ch. */
static int merged_set(struct cli_admin *a, int type, const char *name, const struct change *ch,
                      int n, struct kp_alter_configs_req_alterable_config *out, int *nout,
                      struct cli_kresp *cur)
{
    int rc = describe_call(a, type, name, cur), m = 0;
    const struct kp_describe_configs_resp_result *res =
        rc ? NULL : describe_result(a, cur, name, &rc);
    for (int32_t i = 0; res && i < res->configs.n && rc == CLI_OK; i++) {
        const struct kp_describe_configs_resp_resource_result *c = &res->configs.v[i];
        bool changed = false;
        for (int j = 0; j < n && !changed; j++)
            changed = kp_slice_eq(c->name, ch[j].key);
        if (!dynamic_source(type, c->config_source) || changed)
            continue;
        if (c->is_sensitive || m == CFG_KEYS_MAX) /* its value is hidden, or no room */
            rc = cli__admin_usage(a,
                                  "this broker has no IncrementalAlterConfigs, and AlterConfigs "
                                  "would drop the sensitive or extra config '%.*s'",
                                  (int)c->name.len, c->name.p);
        else
            out[m++] = (struct kp_alter_configs_req_alterable_config){c->name, c->value};
    }
    for (int j = 0; j < n && rc == CLI_OK; j++) {
        if (!ch[j].value)
            continue; /* a deletion: left out of the whole set */
        if (m == CFG_KEYS_MAX)
            rc = cli__admin_usage(a,
                                  "this broker has no IncrementalAlterConfigs, and "
                                  "AlterConfigs would need more than %d configs at once",
                                  CFG_KEYS_MAX);
        else
            out[m++] = (struct kp_alter_configs_req_alterable_config){kp_slice_str(ch[j].key),
                                                                      kp_slice_str(ch[j].value)};
    }
    *nout = m;
    return rc;
}

static int legacy_call(struct cli_admin *a, struct cli_kconn *conn, int type, const char *name,
                       const struct change *ch, int n, int16_t *code, struct kc_slice *msg,
                       struct cli_kresp *resp)
{
    struct kp_alter_configs_req req;
    struct kp_alter_configs_req_resource res;
    struct kp_alter_configs_req_alterable_config cfg[CFG_KEYS_MAX];
    struct cli_kresp cur;
    int16_t v;
    int m, rc = cli__kafka_version(&a->k, conn, KP_API_ALTER_CONFIGS, 0, 2, &v);
    if (rc)
        return rc;
    cur.frame = NULL;
    if ((rc = merged_set(a, type, name, ch, n, cfg, &m, &cur)) == CLI_OK) {
        kp_init(&kp_alter_configs_req_schema, &req);
        kp_init(&kp_alter_configs_req_resource_schema, &res);
        res.resource_type = (int8_t)type;
        res.resource_name = kp_slice_str(name);
        KP_SET(res.configs, m, cfg);
        KP_SET(req.resources, 1, &res);
        rc = cli__kafka_call(&a->k, conn, KP_API_ALTER_CONFIGS, v, &req, resp);
    }
    if (cur.frame)
        cli__kresp_fini(&cur);
    if (rc)
        return rc;
    const struct kp_alter_configs_resp *r = resp->r.msg;
    *code = r->responses.n == 1 ? r->responses.v[0].error_code : KP_ERR_UNKNOWN_SERVER_ERROR;
    *msg = r->responses.n == 1 ? r->responses.v[0].error_message : (struct kc_slice){NULL, -1};
    return CLI_OK;
}

static void alter_print(struct cli_admin *a, int type, const char *name, bool incremental,
                        const struct change *ch, int n)
{
    const char *kind = type == CLI_RESOURCE_TOPIC ? "topic" : "broker";
    if (!a->json) {
        fprintf(a->cli->out, "Completed updating config for %s %s.\n", kind, name);
        return;
    }
    cli__json_open(&a->j, '{');
    cli__json_kstr(&a->j, "resource_type", kind);
    cli__json_kstr(&a->j, "resource_name", name);
    cli__json_kstr(&a->j, "api", incremental ? "IncrementalAlterConfigs" : "AlterConfigs");
    cli__json_key(&a->j, "set");
    cli__json_open(&a->j, '{');
    for (int i = 0; i < n; i++)
        if (ch[i].value)
            cli__json_kstr(&a->j, ch[i].key, ch[i].value);
    cli__json_close(&a->j, '}');
    cli__json_key(&a->j, "deleted");
    cli__json_open(&a->j, '[');
    for (int i = 0; i < n; i++)
        if (!ch[i].value)
            cli__json_str(&a->j, ch[i].key);
    cli__json_list_end(&a->j);
}

int cli__configs_alter(struct cli_admin *a, int type, const char *name, const char *const *set,
                       int nset, const char *const *del, int ndel)
{
    struct change ch[CFG_KEYS_MAX];
    char what[300];
    int rc = nset + ndel > CFG_KEYS_MAX ? cli__admin_usage(a, "too many configs at once")
                                        : changes_from(a, set, nset, del, ndel, ch);
    struct cli_kconn *conn;
    struct cli_kresp resp;
    struct kc_slice msg = {NULL, -1};
    int16_t v, code = 0;
    if (rc || (rc = resource_conn(a, type, name, &conn)))
        return rc;
    int got = cli__kversion_pick(&conn->v, KP_API_INCREMENTAL_ALTER_CONFIGS, 0, 1);
    rc = got >= 0 ? (v = (int16_t)got,
                     incremental_call(a, conn, v, type, name, ch, nset + ndel, &code, &msg, &resp))
                  : legacy_call(a, conn, type, name, ch, nset + ndel, &code, &msg, &resp);
    if (rc)
        return rc;
    snprintf(what, sizeof(what), "cannot alter the configs of %s '%s'",
             type == CLI_RESOURCE_TOPIC ? "topic" : "broker", name);
    rc = code ? cli__kerr(&a->k, what, code, msg) : CLI_OK;
    if (!code)
        alter_print(a, type, name, got >= 0, ch, nset + ndel);
    cli__kresp_fini(&resp);
    return rc;
}

/* Where the item starting at p ends: the next comma outside [brackets], or the end. */
static const char *item_end(const char *p)
{
    int depth = 0;
    for (; *p && (*p != ',' || depth > 0); p++)
        depth += *p == '[' ? 1 : *p == ']' && depth > 0 ? -1 : 0;
    return p;
}

/* p[0..n) without the spaces around it, appended to buf at *at. */
static int copy_trimmed(const char *p, size_t n, char *buf, size_t cap, size_t *at)
{
    while (n > 0 && (*p == ' ' || *p == '\t'))
        p++, n--;
    while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t'))
        n--;
    if (*at + n + 1 > cap)
        return -E2BIG;
    memcpy(buf + *at, p, n);
    *at += n;
    return n ? 0 : -EINVAL;
}

/* One item "k = v" or "k = [a,b]" (pairs), or "k", appended as "k=v" / "k" plus a NUL. */
static int copy_item(const char *p, const char *end, bool pairs, char *buf, size_t cap, size_t *at)
{
    const char *eq = memchr(p, '=', (size_t)(end - p));
    int rc;
    if (!pairs)
        rc = eq ? -EINVAL : copy_trimmed(p, (size_t)(end - p), buf, cap, at);
    else if (!eq || (rc = copy_trimmed(p, (size_t)(eq - p), buf, cap, at)) != 0)
        rc = -EINVAL;
    else {
        const char *v = eq + 1;
        size_t n = (size_t)(end - v);
        while (n > 0 && (*v == ' ' || *v == '\t'))
            v++, n--;
        while (n > 0 && (v[n - 1] == ' ' || v[n - 1] == '\t'))
            n--;
        if (n >= 2 && v[0] == '[' && v[n - 1] == ']')
            v++, n -= 2; /* a list value: its brackets go, its commas stay */
        if (*at + n + 2 > cap)
            return -E2BIG;
        buf[(*at)++] = '=';
        memcpy(buf + *at, v, n);
        *at += n;
    }
    if (rc)
        return rc;
    buf[(*at)++] = '\0'; /* copy_trimmed and the value's check left room for it */
    return 0;
}

int cli__parse_config_list(const char *text, bool pairs, char *buf, size_t bufcap, const char **out,
                           int cap, int *n)
{
    size_t at = 0;
    int count = 0;
    for (const char *p = text;;) {
        const char *end = item_end(p);
        if (count == cap)
            return -E2BIG;
        out[count++] = buf + at;
        int rc = copy_item(p, end, pairs, buf, bufcap, &at);
        if (rc)
            return rc;
        if (!*end)
            break;
        p = end + 1;
    }
    *n = count;
    return 0;
}

static int configs_alter(struct cli_admin *a, int argc, char **argv)
{
    struct resource r = {0};
    struct cli_optlist add = {.n = 0}, del = {.n = 0};
    const char *set[CFG_KEYS_MAX], *dels[CFG_KEYS_MAX];
    char *text = malloc(CFG_TEXT_MAX), *pos[1];
    int n, nset = 0, ndel = 0, rc = text ? CLI_OK : CLI_EUSAGE;
    size_t used = 0;
    const struct cli_opt opts[] = {RESOURCE_OPTS(r),
                                   {"add-config", NULL, NULL, &add},
                                   {"delete-config", NULL, NULL, &del},
                                   {NULL, NULL, NULL, NULL}};
    if (rc || (rc = cli__admin_args(a, argc, argv, opts, pos, 0, 0, &n)) || a->help ||
        (rc = resource_pick(a, &r)))
        goto out;
    for (int i = 0; i < add.n + del.n && rc == CLI_OK; i++) {
        bool adding = i < add.n;
        const char *src = adding ? add.v[i] : del.v[i - add.n];
        const char **dst = adding ? set + nset : dels + ndel;
        int got = 0, e = cli__parse_config_list(src, adding, text + used, CFG_TEXT_MAX - used, dst,
                                                CFG_KEYS_MAX - (adding ? nset : ndel), &got);
        if (e)
            rc = cli__admin_usage(a, "--%s: cannot read '%s'",
                                  adding ? "add-config" : "delete-config", src);
        for (int g = 0; g < got; g++)
            used += strlen(dst[g]) + 1;
        *(adding ? &nset : &ndel) += got;
    }
    if (rc == CLI_OK && nset + ndel == 0)
        rc = cli__admin_usage(a, "nothing to alter: give --add-config or --delete-config");
    if (rc == CLI_OK && (rc = cli__admin_open(a)) == CLI_OK)
        rc = cli__configs_alter(a, r.type, r.name, set, nset, dels, ndel);
out:
    free(text);
    return rc;
}

static const struct cli_verb configs_verbs[] = {
    {"describe", "--topic T | --broker B [--all]",
     "a topic's or a broker's configs, with their sources and synonyms",
     "--topic T / --broker B   the resource (or Kafka's --entity-type topics|brokers\n"
     "                         --entity-name N)\n"
     "--all                    every config, not only the dynamic ones",
     configs_describe},
    {"alter", "--topic T | --broker B [--add-config k=v,k2=[a,b]] [--delete-config k,k2]",
     "set or remove configs (IncrementalAlterConfigs; AlterConfigs on brokers without it)",
     "--add-config LIST        k=v pairs, comma-separated; [a,b] keeps a list value whole\n"
     "--delete-config LIST     names to return to their defaults",
     configs_alter},
};

const struct cli_family cli__configs_family = {"configs", "kafka-configs.sh (ConfigCommand)",
                                               configs_verbs, KC_ARRAY_SIZE(configs_verbs)};
