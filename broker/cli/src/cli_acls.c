/*
 * cli_acls.c - `kafka_cli acls ...`: Kafka's kafka-acls.sh (AclCommand), over the Kafka
 * protocol (DescribeAcls, CreateAcls, DeleteAcls, to any broker).
 *
 * A binding is a resource pattern and an entry (sec_acl.h draws one):
 *
 *   kafka_cli acls add --allow-principal User:alice --operation Read --operation Describe \
 *                      --topic payments --group app
 *
 * is every combination of what was named: 1 principal x 1 host ("*") x 2 operations x 2
 * resources = 4 bindings, as Kafka's tool makes them. An operation a resource type cannot
 * have (Write on a group) is refused before anything is sent, with the list it can have.
 *
 * list and remove take filters: no resource lists everything; a resource matches by the
 * --resource-pattern-type (literal by default; `any` matches the name exactly whatever the
 * pattern, `match` every pattern that would apply to the name). remove first lists what it
 * is about to delete and asks (a terminal), or needs --force (a script): deleting ACLs can
 * lock everyone out, so it is never a surprise.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "cli_admin.h"
#include "kc_common.h"
#include "sec_acl.h"

#define BINDINGS_MAX 1024

struct acl_opts {
    struct cli_optlist topics, groups, txids, allow, deny, ops;
    bool cluster, force;
    const char *pattern, *host, *allow_host, *deny_host, *principal;
};

struct resource {
    int type;
    const char *name;
};

/* Every resource named, in order: topics, groups, transactional ids, the cluster. */
static int resources_of(const struct acl_opts *o, struct resource *r, int cap)
{
    int n = 0;
    for (int i = 0; i < o->topics.n && n < cap; i++)
        r[n++] = (struct resource){SEC_RES_TOPIC, o->topics.v[i]};
    for (int i = 0; i < o->groups.n && n < cap; i++)
        r[n++] = (struct resource){SEC_RES_GROUP, o->groups.v[i]};
    for (int i = 0; i < o->txids.n && n < cap; i++)
        r[n++] = (struct resource){SEC_RES_TRANSACTIONAL_ID, o->txids.v[i]};
    if (o->cluster && n < cap)
        r[n++] = (struct resource){SEC_RES_CLUSTER, SEC_CLUSTER_NAME};
    return n;
}

int cli__acl_op_parse(const char *s)
{
    char buf[64];
    size_t n = 0;
    for (size_t i = 0; s[i] && n + 2 < sizeof(buf); i++) {
        bool word = i > 0 && isupper((unsigned char)s[i]) && islower((unsigned char)s[i - 1]);
        if (word)
            buf[n++] = '_'; /* Kafka's tool takes the enum's PascalCase too */
        buf[n++] = s[i] == '-' ? '_' : s[i];
    }
    buf[n] = '\0';
    int op = sec_acl_op_parse(buf);
    return op == SEC_OP_ANY || op == SEC_OP_UNKNOWN || strlen(s) >= sizeof(buf) / 2 ? 0 : op;
}

/* The operations each resource type has (Kafka's AclCommand), as a bit set. */
static unsigned valid_ops(int type)
{
#define B(op) (1u << (op))
    switch (type) {
    case SEC_RES_TOPIC:
        return B(SEC_OP_READ) | B(SEC_OP_WRITE) | B(SEC_OP_CREATE) | B(SEC_OP_DESCRIBE) |
               B(SEC_OP_DELETE) | B(SEC_OP_ALTER) | B(SEC_OP_DESCRIBE_CONFIGS) |
               B(SEC_OP_ALTER_CONFIGS) | B(SEC_OP_ALL);
    case SEC_RES_GROUP:
        return B(SEC_OP_READ) | B(SEC_OP_DESCRIBE) | B(SEC_OP_DELETE) | B(SEC_OP_ALL);
    case SEC_RES_CLUSTER:
        return B(SEC_OP_CREATE) | B(SEC_OP_CLUSTER_ACTION) | B(SEC_OP_DESCRIBE_CONFIGS) |
               B(SEC_OP_ALTER_CONFIGS) | B(SEC_OP_IDEMPOTENT_WRITE) | B(SEC_OP_ALTER) |
               B(SEC_OP_DESCRIBE) | B(SEC_OP_ALL);
    case SEC_RES_TRANSACTIONAL_ID:
        return B(SEC_OP_DESCRIBE) | B(SEC_OP_WRITE) | B(SEC_OP_ALL);
    default:
        return B(SEC_OP_ALL);
    }
#undef B
}

static int op_refused(struct cli_admin *a, int type, int op)
{
    char list[256] = "";
    size_t at = 0;
    for (int o = SEC_OP_ALL; o <= SEC_OP_TWO_PHASE_COMMIT && at < sizeof(list); o++)
        if (valid_ops(type) & (1u << o))
            at += (size_t)snprintf(list + at, sizeof(list) - at, "%s%s", at ? ", " : "",
                                   sec_acl_op_name(o));
    return cli__admin_usage(a, "a %s cannot have the operation %s; it has: %s",
                            sec_resource_type_name(type), sec_acl_op_name(op), list);
}

/* "Type:name", as Kafka's SecurityUtils.parseKafkaPrincipal wants it. */
static int principal_check(struct cli_admin *a, const char *p)
{
    const char *colon = strchr(p, ':');
    if (colon && colon > p && colon[1])
        return CLI_OK;
    return cli__admin_usage(a, "a principal is Type:name (User:alice), not '%s'", p);
}

/* ---- printing a binding ------------------------------------------------------------------- */

static void human_pattern(FILE *f, int type, struct kc_slice name, int pattern)
{
    const char *t = sec_resource_type_name(type), *p = sec_pattern_type_name(pattern);
    fprintf(f, "`ResourcePattern(resourceType=%s, name=", t ? t : "UNKNOWN");
    cli_escape(f, name.p, name.len);
    fprintf(f, ", patternType=%s)`", p ? p : "UNKNOWN");
}

static void human_entry(FILE *f, struct kc_slice principal, struct kc_slice host, int op, int perm)
{
    const char *o = sec_acl_op_name(op), *p = sec_acl_perm_name(perm);
    fputs(" \t(principal=", f);
    cli_escape(f, principal.p, principal.len);
    fputs(", host=", f);
    cli_escape(f, host.p, host.len);
    fprintf(f, ", operation=%s, permissionType=%s)\n", o ? o : "UNKNOWN", p ? p : "UNKNOWN");
}

static void json_binding(struct cli_json *j, int type, struct kc_slice name, int pattern,
                         struct kc_slice principal, struct kc_slice host, int op, int perm)
{
    cli__json_kstr(j, "resource_type", sec_resource_type_name(type));
    cli__json_kslice(j, "resource_name", name);
    cli__json_kstr(j, "pattern_type", sec_pattern_type_name(pattern));
    cli__json_kslice(j, "principal", principal);
    cli__json_kslice(j, "host", host);
    cli__json_kstr(j, "operation", sec_acl_op_name(op));
    cli__json_kstr(j, "permission", sec_acl_perm_name(perm));
}

/* ---- DescribeAcls ------------------------------------------------------------------------- */

/* A filter: resource (type ANY and name NULL for every one), principal and host (NULL: any). */
struct filter {
    int type;
    const char *name;
    int pattern;
    const char *principal, *host;
    int op, perm;
};

static int describe(struct cli_admin *a, const struct filter *f, struct cli_kresp *out)
{
    struct kp_describe_acls_req req;
    struct cli_kconn *conn;
    int16_t v;
    int rc = cli__kafka_any(&a->k, &conn);
    if (rc || (rc = cli__kafka_version(&a->k, conn, KP_API_DESCRIBE_ACLS, 1, 3, &v)))
        return rc;
    kp_init(&kp_describe_acls_req_schema, &req);
    req.resource_type_filter = (int8_t)f->type;
    req.resource_name_filter = kp_slice_str(f->name);
    req.pattern_type_filter = (int8_t)f->pattern;
    req.principal_filter = kp_slice_str(f->principal);
    req.host_filter = kp_slice_str(f->host);
    req.operation = (int8_t)f->op;
    req.permission_type = (int8_t)f->perm;
    if ((rc = cli__kafka_call(&a->k, conn, KP_API_DESCRIBE_ACLS, v, &req, out)))
        return rc;
    const struct kp_describe_acls_resp *r = out->r.msg;
    if (r->error_code == 0)
        return CLI_OK;
    rc = cli__kerr(&a->k, "cannot list ACLs", r->error_code, r->error_message);
    cli__kresp_fini(out);
    return rc;
}

/* Print the bindings of one DescribeAcls answer (grouped by resource, as Kafka prints). */
static int print_described(struct cli_admin *a, const struct kp_describe_acls_resp *r)
{
    int count = 0;
    for (int32_t i = 0; i < r->resources.n; i++) {
        const struct kp_describe_acls_resp_resource *res = &r->resources.v[i];
        if (!a->json) {
            fputs("Current ACLs for resource ", a->cli->out);
            human_pattern(a->cli->out, res->resource_type, res->resource_name, res->pattern_type);
            fputs(": \n", a->cli->out);
        }
        for (int32_t j = 0; j < res->acls.n; j++, count++) {
            const struct kp_describe_acls_resp_acl_description *d = &res->acls.v[j];
            if (!a->json) {
                human_entry(a->cli->out, d->principal, d->host, d->operation, d->permission_type);
                continue;
            }
            cli__json_open(&a->j, '{');
            json_binding(&a->j, res->resource_type, res->resource_name, res->pattern_type,
                         d->principal, d->host, d->operation, d->permission_type);
            cli__json_close(&a->j, '}');
        }
        if (!a->json)
            fputc('\n', a->cli->out);
    }
    return count;
}

/* ---- options to filters -------------------------------------------------------------------- */

static int pattern_of(struct cli_admin *a, const struct acl_opts *o, bool filter, int *out)
{
    int p = o->pattern ? sec_pattern_type_parse(o->pattern) : SEC_PAT_LITERAL;
    bool ok = p == SEC_PAT_LITERAL || p == SEC_PAT_PREFIXED ||
              (filter && (p == SEC_PAT_ANY || p == SEC_PAT_MATCH));
    if (!ok)
        return cli__admin_usage(a,
                                "--resource-pattern-type must be literal or prefixed%s, not "
                                "'%s'",
                                filter ? " (or any, match)" : "", o->pattern);
    *out = p;
    return CLI_OK;
}

/* The filters list or remove uses: per resource, per principal x host x operation named
 * (none named: any). *n gets how many. CLI_OK or a usage error. */
static int filters_of(struct cli_admin *a, const struct acl_opts *o, bool remove, struct filter *f,
                      int cap, int *n)
{
    struct resource res[BINDINGS_MAX];
    int nres = resources_of(o, res, BINDINGS_MAX), pattern, rc = pattern_of(a, o, true, &pattern);
    if (rc)
        return rc;
    if (nres == 0 && remove)
        return cli__admin_usage(a, "name what to remove from: --topic, --group, --cluster or "
                                   "--transactional-id");
    if (nres == 0) { /* list: every resource, whatever its pattern unless one was named */
        res[nres++] = (struct resource){SEC_RES_ANY, NULL};
        pattern = o->pattern ? pattern : SEC_PAT_ANY;
    }
    *n = 0;
    for (int r = 0; r < nres; r++) {
        struct filter base = {res[r].type, res[r].name, pattern,     o->principal,
                              NULL,        SEC_OP_ANY,  SEC_PERM_ANY};
        if (o->allow.n + o->deny.n == 0 && *n < cap)
            f[(*n)++] = base;
        for (int p = 0; p < o->allow.n + o->deny.n; p++)
            for (int op = 0; op < KC_MAX(o->ops.n, 1) && *n < cap; op++) {
                bool allow = p < o->allow.n;
                struct filter *x = &f[(*n)++];
                *x = base;
                x->principal = allow ? o->allow.v[p] : o->deny.v[p - o->allow.n];
                x->host = allow ? (o->allow_host ? o->allow_host
                                   : o->host     ? o->host
                                                 : "*")
                                : (o->deny_host ? o->deny_host
                                   : o->host    ? o->host
                                                : "*");
                x->perm = allow ? SEC_PERM_ALLOW : SEC_PERM_DENY;
                x->op = o->ops.n ? cli__acl_op_parse(o->ops.v[op]) : SEC_OP_ANY;
            }
    }
    return CLI_OK;
}

static int ops_check(struct cli_admin *a, const struct acl_opts *o)
{
    for (int i = 0; i < o->ops.n; i++)
        if (!cli__acl_op_parse(o->ops.v[i]))
            return cli__admin_usage(a,
                                    "unknown --operation '%s' (Read, Write, Create, Delete, "
                                    "Alter, Describe, ClusterAction, DescribeConfigs, "
                                    "AlterConfigs, IdempotentWrite, All)",
                                    o->ops.v[i]);
    for (int i = 0; i < o->allow.n + o->deny.n; i++) {
        int rc = principal_check(a, i < o->allow.n ? o->allow.v[i] : o->deny.v[i - o->allow.n]);
        if (rc)
            return rc;
    }
    return CLI_OK;
}

#define ACL_OPTS(o)                                                                                \
    {"topic", NULL, NULL, &(o).topics}, {"group", NULL, NULL, &(o).groups},                        \
        {"transactional-id", NULL, NULL, &(o).txids}, {"cluster", NULL, &(o).cluster, NULL},       \
        {"resource-pattern-type", &(o).pattern, NULL, NULL},                                       \
        {"allow-principal", NULL, NULL, &(o).allow}, {"deny-principal", NULL, NULL, &(o).deny},    \
        {"operation", NULL, NULL, &(o).ops}, {"host", &(o).host, NULL, NULL},                      \
        {"allow-host", &(o).allow_host, NULL, NULL},                                               \
    {                                                                                              \
        "deny-host", &(o).deny_host, NULL, NULL                                                    \
    }

/* ---- list ---------------------------------------------------------------------------------- */

static int list_filters(struct cli_admin *a, const struct filter *f, int n)
{
    int rc = CLI_OK;
    if (a->json) {
        cli__json_list_begin(&a->j, "acls");
    }
    for (int i = 0; i < n && rc == CLI_OK; i++) {
        struct cli_kresp resp;
        if ((rc = describe(a, &f[i], &resp)) == CLI_OK) {
            print_described(a, resp.r.msg);
            cli__kresp_fini(&resp);
        }
    }
    if (a->json) {
        cli__json_list_end(&a->j);
    }
    return rc;
}

static int acls_list(struct cli_admin *a, int argc, char **argv)
{
    struct acl_opts o = {.topics = {.n = 0}};
    struct filter f[BINDINGS_MAX];
    char *pos[1];
    int n, rc;
    const struct cli_opt opts[] = {
        ACL_OPTS(o), {"principal", &o.principal, NULL, NULL}, {NULL, NULL, NULL, NULL}};
    if ((rc = cli__admin_args(a, argc, argv, opts, pos, 0, 0, &n)) || a->help ||
        (rc = ops_check(a, &o)))
        return rc;
    if (o.principal && (rc = principal_check(a, o.principal)))
        return rc;
    if ((rc = filters_of(a, &o, false, f, BINDINGS_MAX, &n)) || (rc = cli__admin_open(a)))
        return rc;
    return list_filters(a, f, n);
}

/* ---- add ----------------------------------------------------------------------------------- */

/* Every binding the options name, each checked against its resource type. */
static int bindings_of(struct cli_admin *a, const struct acl_opts *o, struct filter *b, int cap,
                       int *n)
{
    struct resource res[BINDINGS_MAX];
    int nres = resources_of(o, res, BINDINGS_MAX), pattern, rc = pattern_of(a, o, false, &pattern);
    if (rc)
        return rc;
    if (nres == 0 || o->allow.n + o->deny.n == 0 || o->ops.n == 0)
        return cli__admin_usage(a, "add needs a resource (--topic, --group, --cluster, "
                                   "--transactional-id), --allow-principal or --deny-principal, "
                                   "and --operation");
    if ((rc = filters_of(a, o, false, b, cap, n)))
        return rc;
    if (*n >= cap)
        return cli__admin_usage(a, "more than %d bindings at once", cap - 1);
    for (int i = 0; i < *n; i++)
        if (!(valid_ops(b[i].type) & (1u << b[i].op)))
            return op_refused(a, b[i].type, b[i].op);
    return CLI_OK;
}

static void *create_request(struct kp_arena *arena, const struct filter *b, int n)
{
    struct kp_create_acls_req *req = kp_new(arena, &kp_create_acls_req_schema, 1);
    struct kp_create_acls_req_acl_creation *c =
        kp_new(arena, &kp_create_acls_req_acl_creation_schema, n);
    if (!req || !c)
        return NULL;
    for (int i = 0; i < n; i++)
        c[i] = (struct kp_create_acls_req_acl_creation){
            (int8_t)b[i].type,       kp_slice_str(b[i].name),
            (int8_t)b[i].pattern,    kp_slice_str(b[i].principal),
            kp_slice_str(b[i].host), (int8_t)b[i].op,
            (int8_t)b[i].perm};
    KP_SET(req->creations, n, c);
    return req;
}

static int create_print(struct cli_admin *a, const struct filter *b, int n,
                        const struct kp_create_acls_resp *r)
{
    int rc = CLI_OK;
    if (a->json) {
        cli__json_list_begin(&a->j, "created");
    }
    for (int i = 0; i < n; i++) {
        int16_t code = i < r->results.n ? r->results.v[i].error_code : KP_ERR_UNKNOWN_SERVER_ERROR;
        if (a->json) {
            cli__json_open(&a->j, '{');
            json_binding(&a->j, b[i].type, kp_slice_str(b[i].name), b[i].pattern,
                         kp_slice_str(b[i].principal), kp_slice_str(b[i].host), b[i].op, b[i].perm);
            cli__json_kstr(&a->j, "error", code ? cli__kerr_name(code) : NULL);
            cli__json_close(&a->j, '}');
        } else if (!code) {
            fputs("Added ACL for resource ", a->cli->out);
            human_pattern(a->cli->out, b[i].type, kp_slice_str(b[i].name), b[i].pattern);
            fputs(":\n", a->cli->out);
            human_entry(a->cli->out, kp_slice_str(b[i].principal), kp_slice_str(b[i].host), b[i].op,
                        b[i].perm);
        }
        if (code)
            rc = cli__kerr(&a->k, "cannot add an ACL", code,
                           i < r->results.n ? r->results.v[i].error_message
                                            : (struct kc_slice){NULL, -1});
    }
    if (a->json) {
        cli__json_list_end(&a->j);
    }
    return rc;
}

static int acls_add(struct cli_admin *a, int argc, char **argv)
{
    struct acl_opts o = {.topics = {.n = 0}};
    struct filter b[BINDINGS_MAX];
    struct cli_kconn *conn;
    struct cli_kresp resp;
    struct kp_arena arena;
    char *pos[1];
    int n, rc;
    int16_t v;
    const struct cli_opt opts[] = {ACL_OPTS(o), {NULL, NULL, NULL, NULL}};
    if ((rc = cli__admin_args(a, argc, argv, opts, pos, 0, 0, &n)) || a->help ||
        (rc = ops_check(a, &o)) || (rc = bindings_of(a, &o, b, BINDINGS_MAX, &n)) ||
        (rc = cli__admin_open(a)) || (rc = cli__kafka_any(&a->k, &conn)) ||
        (rc = cli__kafka_version(&a->k, conn, KP_API_CREATE_ACLS, 1, 3, &v)))
        return rc;
    kp_arena_init(&arena, 0);
    void *req = create_request(&arena, b, n);
    rc = req ? cli__kafka_call(&a->k, conn, KP_API_CREATE_ACLS, v, req, &resp) : CLI_EBROKER;
    kp_arena_fini(&arena);
    if (rc)
        return rc;
    rc = create_print(a, b, n, resp.r.msg);
    cli__kresp_fini(&resp);
    return rc;
}

/* ---- remove -------------------------------------------------------------------------------- */

/* Ask on the terminal; true for y/yes. */
static bool confirm(struct cli_admin *a, int count)
{
    char line[16];
    fprintf(a->cli->err, "Are you sure you want to remove these %d ACL%s? (y/n) ", count,
            count == 1 ? "" : "s");
    fflush(a->cli->err);
    if (!fgets(line, sizeof(line), stdin))
        return false;
    return strcasecmp(line, "y\n") == 0 || strcasecmp(line, "yes\n") == 0;
}

/* List what the filters match (on stderr for people: stdout is for what was removed). */
static int preview(struct cli_admin *a, const struct filter *f, int n, int *count)
{
    *count = 0;
    for (int i = 0; i < n; i++) {
        struct cli_kresp resp;
        int rc = describe(a, &f[i], &resp);
        if (rc)
            return rc;
        const struct kp_describe_acls_resp *r = resp.r.msg;
        for (int32_t j = 0; j < r->resources.n; j++) {
            const struct kp_describe_acls_resp_resource *res = &r->resources.v[j];
            for (int32_t k = 0; k < res->acls.n; k++, (*count)++) {
                fputs(*count ? "" : "ACLs to remove:\n", a->cli->err);
                human_pattern(a->cli->err, res->resource_type, res->resource_name,
                              res->pattern_type);
                human_entry(a->cli->err, res->acls.v[k].principal, res->acls.v[k].host,
                            res->acls.v[k].operation, res->acls.v[k].permission_type);
            }
        }
        cli__kresp_fini(&resp);
    }
    return CLI_OK;
}

static void *delete_request(struct kp_arena *arena, const struct filter *f, int n)
{
    struct kp_delete_acls_req *req = kp_new(arena, &kp_delete_acls_req_schema, 1);
    struct kp_delete_acls_req_filter *x = kp_new(arena, &kp_delete_acls_req_filter_schema, n);
    if (!req || !x)
        return NULL;
    for (int i = 0; i < n; i++)
        x[i] = (struct kp_delete_acls_req_filter){
            (int8_t)f[i].type,       kp_slice_str(f[i].name),
            (int8_t)f[i].pattern,    kp_slice_str(f[i].principal),
            kp_slice_str(f[i].host), (int8_t)f[i].op,
            (int8_t)f[i].perm};
    KP_SET(req->filters, n, x);
    return req;
}

static int delete_print(struct cli_admin *a, const struct kp_delete_acls_resp *r)
{
    int rc = CLI_OK;
    if (a->json) {
        cli__json_list_begin(&a->j, "removed");
    }
    for (int32_t i = 0; i < r->filter_results.n; i++) {
        const struct kp_delete_acls_resp_filter_result *fr = &r->filter_results.v[i];
        if (fr->error_code)
            rc = cli__kerr(&a->k, "cannot remove ACLs", fr->error_code, fr->error_message);
        for (int32_t j = 0; j < fr->matching_acls.n; j++) {
            const struct kp_delete_acls_resp_matching_acl *m = &fr->matching_acls.v[j];
            if (m->error_code)
                rc = cli__kerr(&a->k, "cannot remove an ACL", m->error_code, m->error_message);
            if (a->json) {
                cli__json_open(&a->j, '{');
                json_binding(&a->j, m->resource_type, m->resource_name, m->pattern_type,
                             m->principal, m->host, m->operation, m->permission_type);
                cli__json_kstr(&a->j, "error",
                               m->error_code ? cli__kerr_name(m->error_code) : NULL);
                cli__json_close(&a->j, '}');
            } else if (!m->error_code) {
                fputs("Removed ACL for resource ", a->cli->out);
                human_pattern(a->cli->out, m->resource_type, m->resource_name, m->pattern_type);
                fputs(":\n", a->cli->out);
                human_entry(a->cli->out, m->principal, m->host, m->operation, m->permission_type);
            }
        }
    }
    if (a->json) {
        cli__json_list_end(&a->j);
    }
    return rc;
}

static int remove_call(struct cli_admin *a, const struct filter *f, int n)
{
    struct cli_kconn *conn;
    struct cli_kresp resp;
    struct kp_arena arena;
    int16_t v;
    int rc = cli__kafka_any(&a->k, &conn);
    if (rc || (rc = cli__kafka_version(&a->k, conn, KP_API_DELETE_ACLS, 1, 3, &v)))
        return rc;
    kp_arena_init(&arena, 0);
    void *req = delete_request(&arena, f, n);
    rc = req ? cli__kafka_call(&a->k, conn, KP_API_DELETE_ACLS, v, req, &resp) : CLI_EBROKER;
    kp_arena_fini(&arena);
    if (rc)
        return rc;
    rc = delete_print(a, resp.r.msg);
    cli__kresp_fini(&resp);
    return rc;
}

static int acls_remove(struct cli_admin *a, int argc, char **argv)
{
    struct acl_opts o = {.topics = {.n = 0}};
    struct filter f[BINDINGS_MAX];
    char *pos[1];
    int n, rc, count;
    const struct cli_opt opts[] = {
        ACL_OPTS(o), {"force", NULL, &o.force, NULL}, {NULL, NULL, NULL, NULL}};
    if ((rc = cli__admin_args(a, argc, argv, opts, pos, 0, 0, &n)) || a->help ||
        (rc = ops_check(a, &o)) || (rc = filters_of(a, &o, true, f, BINDINGS_MAX, &n)))
        return rc;
    if (!o.force && !isatty(STDIN_FILENO))
        return cli__admin_usage(a, "remove asks before it deletes, and stdin is not a terminal: "
                                   "add --force");
    if ((rc = cli__admin_open(a)) || (rc = preview(a, f, n, &count)))
        return rc;
    if (count == 0)
        fprintf(a->cli->err, "No ACL matches: nothing to remove.\n");
    if (count > 0 && !o.force && !confirm(a, count)) {
        fprintf(a->cli->err, "Nothing was removed.\n");
        return CLI_OK;
    }
    return remove_call(a, f, n);
}

static const struct cli_verb acls_verbs[] = {
    {"list",
     "[--topic T|--group G|--cluster|--transactional-id X]... [--principal P] "
     "[--resource-pattern-type any|match|literal|prefixed]",
     "the ACLs (all, or of the resources named)",
     "--principal P             only this principal's (User:alice)\n"
     "--resource-pattern-type   literal (default with a resource), prefixed, any, match",
     acls_list},
    {"add",
     "--allow-principal P|--deny-principal P... --operation OP... "
     "--topic T|--group G|--cluster|--transactional-id X... "
     "[--resource-pattern-type literal|prefixed] [--host H]",
     "add bindings: every principal x operation x resource named",
     "--allow-principal P       Type:name, e.g. User:alice (repeat for more)\n"
     "--deny-principal P        a DENY binding; DENY wins over ALLOW\n"
     "--operation OP            Read, Write, Create, Delete, Alter, Describe, ClusterAction,\n"
     "                          DescribeConfigs, AlterConfigs, IdempotentWrite, All\n"
     "--host H                  the client address it applies to (default *; also\n"
     "                          --allow-host, --deny-host)\n"
     "--resource-pattern-type   literal (the name exactly, or * for all) or prefixed",
     acls_add},
    {"remove", "<the resources, principals and operations, as for add> [--force]",
     "remove the bindings that match (lists them, then asks)",
     "without a principal: every binding of the resources named\n"
     "--force                   do not ask (needed when stdin is not a terminal)",
     acls_remove},
};

const struct cli_family cli__acls_family = {"acls", "kafka-acls.sh (AclCommand)", acls_verbs,
                                            KC_ARRAY_SIZE(acls_verbs)};
