/*
 * scram.c - DescribeUserScramCredentials and AlterUserScramCredentials (v0, KIP-554): the
 * SCRAM users of the broker's credential store (broker/security's sec_cred), online.
 *
 *   Describe   DESCRIBE on the cluster (else CLUSTER_AUTHORIZATION_FAILED, 31, for the
 *              whole answer). No users named (null or empty): every user with a
 *              credential. Per user: its mechanisms and iteration counts - never a salt
 *              or a key; RESOURCE_NOT_FOUND (91) if it has none; DUPLICATE_RESOURCE (92)
 *              if the request names it twice. Results in the order the request names the
 *              users (Kafka's come out of a hash map: no order to keep).
 *   Alter      ALTER on the cluster (else 31 for every user). Deletions and upsertions,
 *              one result per user: Kafka's controller rules, in the store
 *              (sec_cred_store_apply): a user named twice in one request
 *              DUPLICATE_RESOURCE, a mechanism that is not SCRAM-SHA-256/512
 *              UNSUPPORTED_SASL_MECHANISM (33), iterations outside [4096, 16384]
 *              UNACCEPTABLE_CREDENTIAL (93), deleting what does not exist
 *              RESOURCE_NOT_FOUND; the valid changes are committed with one durable write.
 *
 * The password never travels: the admin client sends the salt and the salted password
 * (Hi(password, salt, iterations)), from which the store keeps only the stored key and
 * the server key. Nothing of an upsertion reaches a log line. As with ACLs, the write's
 * fsyncs run on the network loop (a rare admin operation: see acls.c).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "kafka_int.h"
#include "sec_acl.h"
#include "sec_cred.h"

#define CLUSTER_DENIED "Cluster authorization failed."
#define NOT_FOUND "Attempt to describe a user credential that does not exist: "
#define DUPLICATE "Cannot describe SCRAM credentials for the same user twice in a single request: "

typedef struct kp_describe_user_scram_credentials_resp_result dresult;
typedef struct kp_describe_user_scram_credentials_resp_credential_info dinfo;
typedef struct kp_alter_user_scram_credentials_resp_result aresult;

/* A user name from the wire as a C string in a; NULL when it holds a NUL (no such user
 * can exist) or on -ENOMEM (*oom). */
static char *user_str(struct kp_arena *a, struct kc_slice s, bool *oom)
{
    size_t n = (size_t)KC_MAX(s.len, 0);
    if (n > 0 && memchr(s.p, '\0', n))
        return NULL;
    char *p = kp_arena_alloc(a, n + 1);
    if (!p) {
        *oom = true;
        return NULL;
    }
    if (n > 0)
        memcpy(p, s.p, n);
    p[n] = '\0';
    return p;
}

/* ---- Describe ---------------------------------------------------------------------------------- */

/* One user's result: its credentials, or why not. */
static int describe_user(struct kp_arena *a, struct sec_cred_store *st, struct kc_slice name,
                         bool twice, dresult *r)
{
    struct sec_cred_info info[4];
    bool oom = false;
    char *user = user_str(a, name, &oom);
    int n = user ? sec_cred_store_describe(st, user, info, KC_ARRAY_SIZE(info)) : 0;
    r->user = name;
    if (oom)
        return -ENOMEM;
    if (twice || n <= 0) {
        r->error_code = twice ? KP_ERR_DUPLICATE_RESOURCE : KP_ERR_RESOURCE_NOT_FOUND;
        char *msg = kp_arena_alloc(a, sizeof(DUPLICATE) + (size_t)KC_MAX(name.len, 0));
        if (!msg)
            return -ENOMEM;
        size_t at = strlen(strcpy(msg, twice ? DUPLICATE : NOT_FOUND));
        memcpy(msg + at, name.p, (size_t)KC_MAX(name.len, 0));
        r->error_message = (struct kc_slice){(const uint8_t *)msg, (int32_t)at + name.len};
        return 0;
    }
    dinfo *ci = kp_new(a, &kp_describe_user_scram_credentials_resp_credential_info_schema, n);
    if (!ci)
        return -ENOMEM;
    for (int i = 0; i < n; i++)
        ci[i] = (dinfo){(int8_t)info[i].mech, (int32_t)info[i].iterations};
    KP_SET(r->credential_infos, n, ci);
    return 0;
}

/* Every user with a credential, one result each (the store calls once per mechanism,
 * users in byte order: consecutive calls for one user make one result). */
struct every {
    struct kp_arena *a;
    dresult *v;
    int32_t n, cap;
    int err;
};

static void every_one(void *arg, const char *user, const struct sec_cred_info *info)
{
    struct every *e = arg;
    if (e->err)
        return;
    if (e->n == 0 || !kp_slice_eq(e->v[e->n - 1].user, user)) {
        if (e->n == e->cap) { /* grow by copying into the arena: results are small */
            int32_t cap = e->cap ? e->cap * 2 : 16;
            dresult *v = kp_new(e->a, &kp_describe_user_scram_credentials_resp_result_schema, cap);
            if (!v) {
                e->err = -ENOMEM;
                return;
            }
            if (e->n)
                memcpy(v, e->v, (size_t)e->n * sizeof(*v));
            e->v = v;
            e->cap = cap;
        }
        e->v[e->n].user = brk__kafka_keep(e->a, kp_slice_str(user));
        e->v[e->n].credential_infos.n = 0;
        e->v[e->n].credential_infos.v =
            kp_new(e->a, &kp_describe_user_scram_credentials_resp_credential_info_schema, 2);
        if (e->v[e->n].user.len < 0 || !e->v[e->n].credential_infos.v) {
            e->err = -ENOMEM;
            return;
        }
        e->n++;
    }
    dresult *r = &e->v[e->n - 1];
    if (r->credential_infos.n < 2) /* SCRAM-SHA-256 and -512: two at most */
        r->credential_infos.v[r->credential_infos.n++] =
            (dinfo){(int8_t)info->mech, (int32_t)info->iterations};
}

static int describe_named(struct kp_arena *a, struct sec_cred_store *st,
                          const struct kp_describe_user_scram_credentials_req *dq,
                          struct kp_describe_user_scram_credentials_resp *resp)
{
    int32_t n = dq->users.n, m = 0;
    dresult *r = kp_new(a, &kp_describe_user_scram_credentials_resp_result_schema, n);
    if (!r)
        return -ENOMEM;
    for (int32_t i = 0; i < n; i++) {
        struct kc_slice name = dq->users.v[i].name;
        bool seen = false, twice = false;
        for (int32_t j = 0; j < n; j++) { /* requests name a few users: n^2 is fine */
            bool same = j != i && dq->users.v[j].name.len == name.len &&
                        (name.len <= 0 ||
                         memcmp(dq->users.v[j].name.p, name.p, (size_t)name.len) == 0);
            seen |= same && j < i;
            twice |= same;
        }
        if (seen)
            continue; /* one result per user */
        int rc = describe_user(a, st, name, twice, &r[m++]);
        if (rc)
            return rc;
    }
    KP_SET(resp->results, m, r);
    return 0;
}

int brk__kafka_describe_user_scram_credentials(struct brk_conn *c, struct kp_request *req)
{
    const struct kp_describe_user_scram_credentials_req *dq = req->msg;
    struct sec_cred_store *st = brk_server_credentials(brk_conn_server(c));
    struct kp_arena a;
    kp_arena_init(&a, 0);
    struct kp_describe_user_scram_credentials_resp *resp =
        kp_new(&a, &kp_describe_user_scram_credentials_resp_schema, 1);
    int rc = resp ? 0 : -ENOMEM;
    if (rc == 0 && !brk__kafka_cluster_allowed(c, SEC_OP_DESCRIBE)) {
        resp->error_code = KP_ERR_CLUSTER_AUTHORIZATION_FAILED;
        resp->error_message = kp_slice_str(CLUSTER_DENIED);
    } else if (rc == 0 && dq->users.n > 0) {
        rc = describe_named(&a, st, dq, resp);
    } else if (rc == 0) {
        struct every e = {&a, NULL, 0, 0, 0};
        (void)sec_cred_store_each(st, every_one, &e);
        rc = e.err;
        KP_SET(resp->results, e.n, e.v);
    }
    if (rc == 0)
        rc = brk__kafka_reply(c, &req->hdr, resp);
    kp_arena_fini(&a);
    return rc;
}

/* ---- Alter ------------------------------------------------------------------------------------- */

/* The request's changes for the store, deletions first; a name holding a NUL fails alone
 * (bad[k]) and is not passed on. */
static int changes(struct kp_request *req, struct sec_cred_change *ch, bool *bad)
{
    const struct kp_alter_user_scram_credentials_req *aq = req->msg;
    int32_t k = 0;
    bool oom = false;
    for (int32_t i = 0; i < aq->deletions.n; i++, k++) {
        const struct kp_alter_user_scram_credentials_req_scram_credential_deletion *d =
            &aq->deletions.v[i];
        ch[k] = (struct sec_cred_change){.delete = true,
                                         .user = user_str(&req->arena, d->name, &oom),
                                         .mech = d->mechanism};
        bad[k] = !ch[k].user;
    }
    for (int32_t i = 0; i < aq->upsertions.n; i++, k++) {
        const struct kp_alter_user_scram_credentials_req_scram_credential_upsertion *u =
            &aq->upsertions.v[i];
        ch[k] = (struct sec_cred_change){
            .user = user_str(&req->arena, u->name, &oom), .mech = u->mechanism,
            .iterations = (uint32_t)KC_MAX(u->iterations, 0), .salt = u->salt.p,
            .salt_len = (size_t)KC_MAX(u->salt.len, 0), .salted_password = u->salted_password.p,
            .salted_password_len = (size_t)KC_MAX(u->salted_password.len, 0)};
        bad[k] = !ch[k].user;
    }
    return oom ? -ENOMEM : 0;
}

/* The name change k carries (deletions first, then upsertions). */
static struct kc_slice change_name(const struct kp_alter_user_scram_credentials_req *aq, int32_t k)
{
    return k < aq->deletions.n ? aq->deletions.v[k].name
                               : aq->upsertions.v[k - aq->deletions.n].name;
}

/* One result per user, in the order the request first names them, each with the first
 * failure among that user's changes (deny: every user gets it). */
static int alter_results(struct kp_request *req, const struct sec_cred_change *ch,
                         const bool *bad, int32_t n, int16_t deny, int apply_rc,
                         struct kp_alter_user_scram_credentials_resp *resp)
{
    const struct kp_alter_user_scram_credentials_req *aq = req->msg;
    aresult *r = kp_new(&req->arena, &kp_alter_user_scram_credentials_resp_result_schema, n);
    int32_t m = 0;
    if (!r && n > 0)
        return -ENOMEM;
    for (int32_t k = 0; k < n; k++) {
        struct kc_slice name = change_name(aq, k);
        int32_t at = 0;
        while (at < m && !(r[at].user.len == name.len &&
                           (name.len <= 0 || memcmp(r[at].user.p, name.p, (size_t)name.len) == 0)))
            at++;
        if (at == m)
            r[m++] = (aresult){name, KP_ERR_NONE, {NULL, -1}};
        if (r[at].error_code != KP_ERR_NONE)
            continue;
        if (deny || apply_rc < 0 || bad[k]) {
            r[at].error_code = deny ? deny : bad[k] ? KP_ERR_UNACCEPTABLE_CREDENTIAL
                                                    : KP_ERR_UNKNOWN_SERVER_ERROR;
            r[at].error_message = kp_slice_str(deny ? CLUSTER_DENIED
                                               : bad[k] ? "user names may not hold a NUL byte"
                                                        : "the broker could not write its "
                                                          "credential file");
        } else if (ch[k].error != SEC_CRED_OK) {
            r[at].error_code = (int16_t)ch[k].error;
            r[at].error_message = kp_slice_str(ch[k].error_message);
        }
    }
    KP_SET(resp->results, m, r);
    return 0;
}

int brk__kafka_alter_user_scram_credentials(struct brk_conn *c, struct kp_request *req)
{
    const struct kp_alter_user_scram_credentials_req *aq = req->msg;
    int32_t n = aq->deletions.n + aq->upsertions.n, m = 0;
    struct kp_alter_user_scram_credentials_resp *resp =
        kp_new(&req->arena, &kp_alter_user_scram_credentials_resp_schema, 1);
    struct sec_cred_change *ch = kp_arena_alloc(&req->arena, ((size_t)n + 1) * sizeof(*ch));
    struct sec_cred_change *pass = kp_arena_alloc(&req->arena, ((size_t)n + 1) * sizeof(*pass));
    bool *bad = kp_arena_alloc(&req->arena, (size_t)n + 1);
    if (!resp || !ch || !pass || !bad || changes(req, ch, bad) != 0)
        return -ENOMEM;
    int16_t deny = brk__kafka_cluster_allowed(c, SEC_OP_ALTER) ? KP_ERR_NONE
                                                               : KP_ERR_CLUSTER_AUTHORIZATION_FAILED;
    int rc = 0;
    if (!deny) {
        for (int32_t k = 0; k < n; k++)
            if (!bad[k])
                pass[m++] = ch[k];
        rc = sec_cred_store_apply(brk_server_credentials(brk_conn_server(c)), pass, (size_t)m);
        for (int32_t k = 0, j = 0; k < n; k++) /* the results back in request order */
            if (!bad[k])
                ch[k] = pass[j++];
        if (rc < 0)
            kc_log_warn("%s: AlterUserScramCredentials: %s", brk_conn_peer(c), kc_strerror(rc));
        else if (m > rc)
            kc_log_info("%s: %s changed %d SCRAM credential%s", brk_conn_peer(c),
                        brk_conn_principal(c), m - rc, m - rc == 1 ? "" : "s");
    }
    if (alter_results(req, ch, bad, n, deny, rc, resp) != 0)
        return -ENOMEM;
    return brk__kafka_reply(c, &req->hdr, resp);
}
