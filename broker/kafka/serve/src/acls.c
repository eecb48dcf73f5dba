/*
 * acls.c - CreateAcls, DescribeAcls, DeleteAcls (v1-3): Kafka's ACL admin on the broker's
 * authorizer (broker/security's sec_acl: the rules, and <data-dir>/acls, where every
 * change is durable before it is answered).
 *
 *   CreateAcls    ALTER on the cluster (else CLUSTER_AUTHORIZATION_FAILED, 31, for every
 *                 creation); each binding validated as Kafka's controller does (resource
 *                 type, pattern LITERAL or PREFIXED, operation, permission ALLOW or DENY,
 *                 a name, a "Type:name" principal, a host: else INVALID_REQUEST, 42, with
 *                 Kafka's message), the valid ones stored with one durable write
 *   DescribeAcls  DESCRIBE on the cluster (else 31); one filter (ANY and MATCH allowed,
 *                 UNKNOWN parts: 42); the matches grouped by resource pattern, as Kafka
 *                 answers them
 *   DeleteAcls    ALTER on the cluster (else 31 per filter); every binding matching any
 *                 filter removed with one durable write, each filter answered with what it
 *                 matched (a binding two filters match is reported under both)
 *
 * Without authorizer.class.name there is no authorizer to change: every answer is
 * SECURITY_DISABLED (54), "No Authorizer is configured.", as Kafka's.
 *
 * The write (tmp file, fsync, rename, fsync of the directory) happens on the network loop:
 * a few milliseconds during which the loop serves nobody else. ACL changes are rare admin
 * operations; a broker that takes them in bulk would move them to a thread and park.
 *
 * Answers are built in an arena of their own: a describe of a thousand bindings from a
 * 50-byte request would not fit the request's (which is bounded by the frame's size).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "kafka_int.h"
#include "sec_acl.h"

#define NO_AUTHORIZER "No Authorizer is configured."
#define CLUSTER_DENIED "Cluster authorization failed."
#define STORE_FAILED "the broker could not write its ACL file"

/* s as a C string in a: NULL for null; *bad set when it holds a NUL (it could not be
 * what the client meant). */
static const char *cstr(struct kp_arena *a, struct kc_slice s, bool *bad)
{
    if (s.len < 0)
        return NULL;
    char *p = kp_arena_alloc(a, (size_t)s.len + 1);
    if (!p)
        return NULL;
    if (s.len > 0)
        memcpy(p, s.p, (size_t)s.len);
    p[s.len] = '\0';
    if (s.len > 0 && memchr(s.p, '\0', (size_t)s.len))
        *bad = true;
    return p;
}

static struct kc_slice keep_str(struct kp_arena *a, const char *s)
{
    return brk__kafka_keep(a, kp_slice_str(s));
}

/* The refusal every entry of a request gets before anything is looked at: no authorizer,
 * or not allowed op on the cluster. NONE when the request may go on. */
static int16_t refusal(struct brk_conn *c, int op, const char **msg)
{
    if (!brk_server_authorizer(brk_conn_server(c))) {
        *msg = NO_AUTHORIZER;
        return KP_ERR_SECURITY_DISABLED;
    }
    if (!brk__kafka_cluster_allowed(c, op)) {
        *msg = CLUSTER_DENIED;
        return KP_ERR_CLUSTER_AUTHORIZATION_FAILED;
    }
    *msg = NULL;
    return KP_ERR_NONE;
}

/* ---- CreateAcls ------------------------------------------------------------------------------ */

/* The request's bindings as sec_acl's, strings copied; a string holding a NUL: its
 * result is INVALID_REQUEST at once and it is not passed on (skip[i]). */
static int creations(struct kp_request *req, struct sec_acl *acls, bool *skip)
{
    const struct kp_create_acls_req *cq = req->msg;
    for (int32_t i = 0; i < cq->creations.n; i++) {
        const struct kp_create_acls_req_acl_creation *in = &cq->creations.v[i];
        bool bad = false;
        acls[i] = (struct sec_acl){in->resource_type, in->resource_pattern_type,
                                   cstr(&req->arena, in->resource_name, &bad),
                                   cstr(&req->arena, in->principal, &bad),
                                   cstr(&req->arena, in->host, &bad), in->operation,
                                   in->permission_type};
        if (!acls[i].resource_name || !acls[i].principal || !acls[i].host)
            return -ENOMEM;
        skip[i] = bad;
    }
    return 0;
}

int brk__kafka_create_acls(struct brk_conn *c, struct kp_request *req)
{
    const struct kp_create_acls_req *cq = req->msg;
    int32_t n = cq->creations.n;
    struct kp_create_acls_resp *resp = kp_new(&req->arena, &kp_create_acls_resp_schema, 1);
    struct kp_create_acls_resp_acl_creation_result *r =
        kp_new(&req->arena, &kp_create_acls_resp_acl_creation_result_schema, n);
    struct sec_acl *acls = kp_arena_alloc(&req->arena, ((size_t)n + 1) * sizeof(*acls));
    struct sec_acl *pass = kp_arena_alloc(&req->arena, ((size_t)n + 1) * sizeof(*pass));
    struct sec_acl_result *res = kp_arena_alloc(&req->arena, ((size_t)n + 1) * sizeof(*res));
    bool *skip = kp_arena_alloc(&req->arena, (size_t)n + 1);
    const char *msg;
    if (!resp || (!r && n > 0) || !acls || !pass || !res || !skip)
        return -ENOMEM;
    KP_SET(resp->results, n, r);
    int16_t err = refusal(c, SEC_OP_ALTER, &msg);
    if (err) {
        for (int32_t i = 0; i < n; i++)
            r[i] = (struct kp_create_acls_resp_acl_creation_result){err, kp_slice_str(msg)};
        return brk__kafka_reply(c, &req->hdr, resp);
    }
    if (creations(req, acls, skip) != 0)
        return -ENOMEM;
    int32_t m = 0;
    for (int32_t i = 0; i < n; i++)
        if (!skip[i])
            pass[m++] = acls[i];
    int rc = sec_acl_create(brk_server_authorizer(brk_conn_server(c)), pass, (size_t)m, res);
    if (rc < 0)
        kc_log_warn("%s: CreateAcls: %s", brk_conn_peer(c), kc_strerror(rc));
    for (int32_t i = 0, j = 0; i < n; i++) {
        const struct sec_acl_result *one = skip[i] ? NULL : &res[j++];
        r[i].error_code = rc < 0 ? KP_ERR_UNKNOWN_SERVER_ERROR
                        : one ? one->error_code : KP_ERR_INVALID_REQUEST;
        r[i].error_message = kp_slice_str(rc < 0 ? STORE_FAILED
                                        : one ? one->error_message
                                              : "a name, principal or host holds a NUL byte");
        if (r[i].error_code == KP_ERR_NONE)
            kc_log_info("%s: %s added ACL %s %s %s on %s %s:%s from %s", brk_conn_peer(c),
                        brk_conn_principal(c), sec_acl_perm_name(acls[i].permission),
                        acls[i].principal, sec_acl_op_name(acls[i].operation),
                        sec_resource_type_name(acls[i].resource_type),
                        sec_pattern_type_name(acls[i].pattern_type), acls[i].resource_name,
                        acls[i].host);
    }
    return brk__kafka_reply(c, &req->hdr, resp);
}

/* ---- DescribeAcls ---------------------------------------------------------------------------- */

/* One binding found, its strings copied into the answer's arena. */
struct found {
    struct kp_arena *a;
    struct sec_acl *v;
    size_t n, cap;
    int err;
};

static void found_one(void *arg, const struct sec_acl *acl)
{
    struct found *f = arg;
    if (f->err)
        return;
    if (f->n == f->cap) {
        size_t cap = f->cap ? f->cap * 2 : 16;
        struct sec_acl *v = reallocarray(f->v, cap, sizeof(*v));
        if (!v) {
            f->err = -ENOMEM;
            return;
        }
        f->v = v;
        f->cap = cap;
    }
    struct sec_acl *o = &f->v[f->n++];
    *o = *acl;
    o->resource_name = (const char *)keep_str(f->a, acl->resource_name).p;
    o->principal = (const char *)keep_str(f->a, acl->principal).p;
    o->host = (const char *)keep_str(f->a, acl->host).p;
    if (!o->resource_name || !o->principal || !o->host)
        f->err = -ENOMEM;
}

/* Order bindings by resource pattern (type, pattern type, name), so that each resource's
 * bindings sit together. */
static int by_resource(const void *x, const void *y)
{
    const struct sec_acl *a = x, *b = y;
    if (a->resource_type != b->resource_type)
        return a->resource_type < b->resource_type ? -1 : 1;
    if (a->pattern_type != b->pattern_type)
        return a->pattern_type < b->pattern_type ? -1 : 1;
    return strcmp(a->resource_name, b->resource_name);
}

/* The found bindings into resp's resources, grouped. */
static int describe_emit(struct found *f, struct kp_describe_acls_resp *resp)
{
    size_t nres = 0;
    qsort(f->v, f->n, sizeof(*f->v), by_resource);
    for (size_t i = 0; i < f->n; i++)
        nres += i == 0 || by_resource(&f->v[i - 1], &f->v[i]) != 0;
    struct kp_describe_acls_resp_resource *res =
        kp_new(f->a, &kp_describe_acls_resp_resource_schema, (int32_t)nres);
    struct kp_describe_acls_resp_acl_description *d =
        kp_new(f->a, &kp_describe_acls_resp_acl_description_schema, (int32_t)f->n);
    if ((!res && nres > 0) || (!d && f->n > 0))
        return -ENOMEM;
    int32_t r = -1;
    for (size_t i = 0; i < f->n; i++) {
        const struct sec_acl *b = &f->v[i];
        if (i == 0 || by_resource(&f->v[i - 1], b) != 0) {
            r++;
            res[r].resource_type = (int8_t)b->resource_type;
            res[r].resource_name = kp_slice_str(b->resource_name);
            res[r].pattern_type = (int8_t)b->pattern_type;
            KP_SET(res[r].acls, 0, &d[i]);
        }
        d[i] = (struct kp_describe_acls_resp_acl_description){
            kp_slice_str(b->principal), kp_slice_str(b->host), (int8_t)b->operation,
            (int8_t)b->permission};
        res[r].acls.n++;
    }
    KP_SET(resp->resources, (int32_t)nres, res);
    return 0;
}

int brk__kafka_describe_acls(struct brk_conn *c, struct kp_request *req)
{
    const struct kp_describe_acls_req *dq = req->msg;
    struct kp_arena a;
    kp_arena_init(&a, 0);
    struct found f = {&a, NULL, 0, 0, 0};
    struct kp_describe_acls_resp *resp = kp_new(&a, &kp_describe_acls_resp_schema, 1);
    bool bad = false;
    const char *msg;
    struct sec_acl_filter filter = {dq->resource_type_filter, dq->pattern_type_filter,
                                    cstr(&a, dq->resource_name_filter, &bad),
                                    cstr(&a, dq->principal_filter, &bad),
                                    cstr(&a, dq->host_filter, &bad), dq->operation,
                                    dq->permission_type};
    int rc = resp && (dq->resource_name_filter.len < 0 || filter.resource_name) &&
                     (dq->principal_filter.len < 0 || filter.principal) &&
                     (dq->host_filter.len < 0 || filter.host)
                 ? 0
                 : -ENOMEM;
    int16_t err = rc ? KP_ERR_NONE : refusal(c, SEC_OP_DESCRIBE, &msg);
    if (rc == 0 && err) {
        resp->error_code = err;
        resp->error_message = kp_slice_str(msg);
    } else if (rc == 0 && !bad) { /* a NUL in a filter string: it matches nothing */
        struct sec_acl_result result = {0, NULL};
        int n = sec_acl_describe(brk_server_authorizer(brk_conn_server(c)), &filter, &result,
                                 found_one, &f);
        resp->error_code = n < 0 ? result.error_code : KP_ERR_NONE;
        resp->error_message = kp_slice_str(n < 0 ? result.error_message : NULL);
        rc = f.err ? f.err : n >= 0 ? describe_emit(&f, resp) : 0;
    }
    if (rc == 0)
        rc = brk__kafka_reply(c, &req->hdr, resp);
    free(f.v);
    kp_arena_fini(&a);
    return rc;
}

/* ---- DeleteAcls ------------------------------------------------------------------------------ */

struct deleted {
    struct found f;
    size_t *filter; /* f.v[i] was removed by filter filter[i] */
    size_t cap;
};

static void deleted_one(void *arg, size_t filter_index, const struct sec_acl *acl)
{
    struct deleted *d = arg;
    size_t at = d->f.n;
    found_one(&d->f, acl);
    if (d->f.err || at == d->f.n)
        return;
    if (d->cap < d->f.cap) {
        size_t *v = reallocarray(d->filter, d->f.cap, sizeof(*v));
        if (!v) {
            d->f.err = -ENOMEM;
            return;
        }
        d->filter = v;
        d->cap = d->f.cap;
    }
    d->filter[at] = filter_index;
}

/* Filter i's answer: its result and the bindings it removed. */
static int delete_emit(struct deleted *d, size_t i, const struct sec_acl_result *res,
                       struct kp_delete_acls_resp_filter_result *out)
{
    int32_t n = 0;
    for (size_t k = 0; k < d->f.n; k++)
        n += d->filter[k] == i;
    struct kp_delete_acls_resp_matching_acl *m =
        kp_new(d->f.a, &kp_delete_acls_resp_matching_acl_schema, n);
    if (!m && n > 0)
        return -ENOMEM;
    out->error_code = res->error_code;
    out->error_message = kp_slice_str(res->error_message);
    KP_SET(out->matching_acls, n, m);
    for (size_t k = 0, j = 0; k < d->f.n; k++) {
        const struct sec_acl *b = &d->f.v[k];
        if (d->filter[k] != i)
            continue;
        m[j].resource_type = (int8_t)b->resource_type;
        m[j].resource_name = kp_slice_str(b->resource_name);
        m[j].pattern_type = (int8_t)b->pattern_type;
        m[j].principal = kp_slice_str(b->principal);
        m[j].host = kp_slice_str(b->host);
        m[j].operation = (int8_t)b->operation;
        m[j++].permission_type = (int8_t)b->permission;
    }
    return 0;
}

/* The request's filters as sec_acl's, strings copied into a. */
static int delete_filters(struct kp_arena *a, const struct kp_delete_acls_req *dq,
                          struct sec_acl_filter *fl, struct sec_acl_result *res)
{
    for (int32_t i = 0; i < dq->filters.n; i++) {
        const struct kp_delete_acls_req_filter *in = &dq->filters.v[i];
        bool bad = false;
        fl[i] = (struct sec_acl_filter){in->resource_type_filter, in->pattern_type_filter,
                                        cstr(a, in->resource_name_filter, &bad),
                                        cstr(a, in->principal_filter, &bad),
                                        cstr(a, in->host_filter, &bad), in->operation,
                                        in->permission_type};
        if ((in->resource_name_filter.len >= 0 && !fl[i].resource_name) ||
            (in->principal_filter.len >= 0 && !fl[i].principal) ||
            (in->host_filter.len >= 0 && !fl[i].host))
            return -ENOMEM;
        if (bad) /* a NUL: matches nothing, removes nothing */
            fl[i].resource_type = SEC_RES_UNKNOWN;
        res[i] = (struct sec_acl_result){0, NULL};
    }
    return 0;
}

static int delete_run(struct brk_conn *c, struct kp_request *req, struct deleted *d,
                      struct kp_delete_acls_resp *resp)
{
    const struct kp_delete_acls_req *dq = req->msg;
    size_t n = (size_t)dq->filters.n;
    struct sec_acl_filter *fl = kp_arena_alloc(d->f.a, (n + 1) * sizeof(*fl));
    struct sec_acl_result *res = kp_arena_alloc(d->f.a, (n + 1) * sizeof(*res));
    struct kp_delete_acls_resp_filter_result *out =
        kp_new(d->f.a, &kp_delete_acls_resp_filter_result_schema, (int32_t)n);
    const char *msg;
    if (!fl || !res || (!out && n > 0) || delete_filters(d->f.a, dq, fl, res) != 0)
        return -ENOMEM;
    KP_SET(resp->filter_results, (int32_t)n, out);
    int16_t err = refusal(c, SEC_OP_ALTER, &msg);
    int rc = err ? 0 : sec_acl_delete(brk_server_authorizer(brk_conn_server(c)), fl, n, res,
                                      deleted_one, d);
    if (rc < 0)
        kc_log_warn("%s: DeleteAcls: %s", brk_conn_peer(c), kc_strerror(rc));
    else if (rc > 0)
        kc_log_info("%s: %s removed %d ACL binding%s", brk_conn_peer(c), brk_conn_principal(c),
                    rc, rc == 1 ? "" : "s");
    for (size_t i = 0; i < n; i++) {
        if (err || rc < 0)
            res[i] = (struct sec_acl_result){err ? err : KP_ERR_UNKNOWN_SERVER_ERROR,
                                             err ? msg : STORE_FAILED};
        if (d->f.err || delete_emit(d, i, &res[i], &out[i]) != 0)
            return -ENOMEM;
    }
    return 0;
}

int brk__kafka_delete_acls(struct brk_conn *c, struct kp_request *req)
{
    struct kp_arena a;
    kp_arena_init(&a, 0);
    struct deleted d = {{&a, NULL, 0, 0, 0}, NULL, 0};
    struct kp_delete_acls_resp *resp = kp_new(&a, &kp_delete_acls_resp_schema, 1);
    int rc = resp ? delete_run(c, req, &d, resp) : -ENOMEM;
    if (rc == 0)
        rc = brk__kafka_reply(c, &req->hdr, resp);
    free(d.f.v);
    free(d.filter);
    kp_arena_fini(&a);
    return rc;
}
