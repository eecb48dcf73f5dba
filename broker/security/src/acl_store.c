/*
 * acl_store.c - the authorizer: super users, the snapshot behind a read-write lock, and
 * the durable file <data-dir>/acls.
 *
 *   kafka-c acls 1
 *   TOPIC LITERAL orders User:alice * WRITE ALLOW
 *   TOPIC PREFIXED orders- User:* 10.0.0.7 READ DENY
 *   GROUP LITERAL my%20group User:bob * READ ALLOW          fields escaped as in the
 *   end 3 crc32c=1c2d3e4f                                    credential file
 *
 * Changes (CreateAcls, DeleteAcls) are serialised by a writer mutex: copy the bindings,
 * change the copy, commit the file, build the index, swap it in under the write lock.
 * Rebuilding costs O(bindings) per change; ACL changes are administrative and rare, while
 * authorizing is per request.
 */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "acl_int.h"
#include "kc_err.h"
#include "kc_fs.h"
#include "kc_log.h"
#include "sec_acl.h"
#include "sec_int.h"

#define ACL_FILE   "acls"
#define ACL_HEADER "kafka-c acls 1"

struct sec_authorizer {
    pthread_rwlock_t lock;    /* guards `snap` (the pointer; snapshots are immutable) */
    pthread_mutex_t write_mu; /* serialises changes */
    struct acl_snapshot *snap;
    char **super_users;
    size_t n_super;
    bool allow_if_none;
    struct sec__hook hook;
    char path[PATH_MAX];
};

int sec_authorizer_config_set(struct sec_authorizer_config *cfg, const char *key, const char *value)
{
    if (strcmp(key, "super.users") == 0) {
        cfg->super_users = value;
        return 0;
    }
    if (strcmp(key, "allow.everyone.if.no.acl.found") != 0)
        return -ENOENT;
    if (strcasecmp(value, "true") == 0)
        cfg->allow_everyone_if_no_acl_found = true;
    else if (strcasecmp(value, "false") == 0)
        cfg->allow_everyone_if_no_acl_found = false;
    else
        return -EINVAL;
    return 0;
}

/* "User:admin;User:ops" -> {"User:admin", "User:ops"} (trimmed, empties dropped). */
static int parse_super_users(struct sec_authorizer *a, const char *list)
{
    for (const char *p = list; p && *p;) {
        const char *semi = strchr(p, ';'), *end = semi ? semi : p + strlen(p);
        while (p < end && (unsigned char)*p <= ' ')
            p++;
        const char *e = end;
        while (e > p && (unsigned char)e[-1] <= ' ')
            e--;
        if (e > p) {
            char *u = strndup(p, (size_t)(e - p));
            char **v = realloc(a->super_users, (a->n_super + 1) * sizeof(*v));
            if (!u || !v) {
                free(u);
                if (v)
                    a->super_users = v;
                return -ENOMEM;
            }
            a->super_users = v;
            a->super_users[a->n_super++] = u;
            if (!strchr(u, ':')) {
                kc_log_error("security: super.users entry \"%s\" is not Type:name", u);
                return -EINVAL;
            }
        }
        p = semi ? semi + 1 : end;
    }
    return 0;
}

/* ---- the file ------------------------------------------------------------------------ */

static int serialize(const struct sec_acl *acls, size_t n, struct sec__text *t)
{
    int rc = sec__text_printf(t, "%s\n", ACL_HEADER);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        const struct sec_acl *a = &acls[i];
        rc = sec__text_printf(t, "%s %s ", sec_resource_type_name(a->resource_type),
                              sec_pattern_type_name(a->pattern_type));
        if (rc == 0)
            rc = sec__text_put_escaped(t, a->resource_name, strlen(a->resource_name));
        if (rc == 0)
            rc = sec__text_put(t, " ", 1);
        if (rc == 0)
            rc = sec__text_put_escaped(t, a->principal, strlen(a->principal));
        if (rc == 0)
            rc = sec__text_put(t, " ", 1);
        if (rc == 0)
            rc = sec__text_put_escaped(t, a->host, strlen(a->host));
        if (rc == 0)
            rc = sec__text_printf(t, " %s %s\n", sec_acl_op_name(a->operation),
                                  sec_acl_perm_name(a->permission));
    }
    return rc;
}

/* One line: seven fields, names as Kafka prints them, then the same validation as
 * CreateAcls. NULL, or what is wrong. */
static const char *parse_line(const char *p, size_t len, struct sec_acl *a)
{
    const char *end = p + len, *f[7];
    size_t n[7];
    char word[32];
    for (int k = 0; k < 7; k++)
        if (!sec__next_field(&p, end, &f[k], &n[k]) || n[k] == 0)
            return "fewer than seven fields";
    if (p != end)
        return "more than seven fields";
    int *codes[4] = {&a->resource_type, &a->pattern_type, &a->operation, &a->permission};
    int (*parse[4])(const char *) = {sec_resource_type_parse, sec_pattern_type_parse,
                                     sec_acl_op_parse, sec_acl_perm_parse};
    const int at[4] = {0, 1, 5, 6};
    for (int k = 0; k < 4; k++) {
        snprintf(word, sizeof(word), "%.*s", (int)(n[at[k]] < 31 ? n[at[k]] : 31), f[at[k]]);
        *codes[k] = parse[k](word);
    }
    if (sec__unescape(f[2], n[2], (char **)&a->resource_name) < 0 ||
        sec__unescape(f[3], n[3], (char **)&a->principal) < 0 ||
        sec__unescape(f[4], n[4], (char **)&a->host) < 0)
        return "a field is not escaped correctly";
    return sec__acl_invalid(a);
}

static int cmp_acls(const void *x, const void *y)
{
    return acl__cmp(x, y);
}

static int load_file(const char *path, struct sec_acl **out, size_t *out_n)
{
    char *buf = NULL;
    const char *body, *line, *why = NULL;
    size_t len, entries, llen, n = 0, lineno = 1;
    int rc = sec__file_load(path, ACL_HEADER, &buf, &body, &len, &entries);
    if (rc < 0)
        return rc;
    struct sec_acl *acls = entries <= len / 14 + 1 ? calloc(entries + 1, sizeof(*acls)) : NULL;
    if (!acls)
        why = entries > len / 14 + 1 ? "the trailer counts more entries than the file holds"
                                     : "out of memory";
    for (const char *p = body; !why && sec__next_line(&p, body + len, &line, &llen);) {
        lineno++;
        why = n == entries ? "more entries than the trailer counts"
                           : parse_line(line, llen, &acls[n++]);
    }
    if (!why && n != entries)
        why = "fewer entries than the trailer counts";
    if (!why && n > 1) {
        qsort(acls, n, sizeof(*acls), cmp_acls);
        for (size_t i = 1; !why && i < n; i++)
            if (acl__cmp(&acls[i - 1], &acls[i]) == 0)
                why = "a binding appears twice", lineno = 0;
    }
    free(buf);
    if (why) {
        if (lineno)
            kc_log_error("security: %s:%zu: %s", path, lineno, why);
        else
            kc_log_error("security: %s: %s", path, why);
        for (size_t i = 0; acls && i < n; i++)
            acl__free_strings(&acls[i]);
        free(acls);
        return KC_ECORRUPT;
    }
    *out = acls;
    *out_n = n;
    return 0;
}

/* ---- open, close, authorize --------------------------------------------------------- */

int sec_authorizer_open(const char *data_dir, const struct sec_authorizer_config *cfg,
                        struct sec_authorizer **out)
{
    struct sec_authorizer *a = calloc(1, sizeof(*a));
    struct sec_acl *acls = NULL;
    size_t n = 0;
    if (!a)
        return -ENOMEM;
    pthread_rwlock_init(&a->lock, NULL);
    pthread_mutex_init(&a->write_mu, NULL);
    a->allow_if_none = cfg && cfg->allow_everyone_if_no_acl_found;
    int rc = kc_path_join(a->path, sizeof(a->path), data_dir, ACL_FILE);
    if (rc == 0)
        rc = parse_super_users(a, cfg ? cfg->super_users : NULL);
    if (rc == 0) {
        rc = load_file(a->path, &acls, &n);
        if (rc == -ENOENT)
            rc = 0;
    }
    if (rc == 0 && !(a->snap = acl__snapshot_build(acls, n)))
        rc = -ENOMEM;
    if (rc < 0) {
        sec_authorizer_close(a);
        return rc;
    }
    *out = a;
    return 0;
}

void sec_authorizer_close(struct sec_authorizer *a)
{
    if (!a)
        return;
    acl__snapshot_free(a->snap);
    for (size_t i = 0; i < a->n_super; i++)
        free(a->super_users[i]);
    free(a->super_users);
    pthread_rwlock_destroy(&a->lock);
    pthread_mutex_destroy(&a->write_mu);
    free(a);
}

void sec__authorizer_set_hook(struct sec_authorizer *a, const struct sec__hook *hook)
{
    a->hook = hook ? *hook : (struct sec__hook){0};
}

enum sec_authz_result sec_authorize(struct sec_authorizer *a, const char *principal,
                                    const char *host, enum sec_acl_op op,
                                    enum sec_resource_type type, const char *name, size_t name_len,
                                    enum sec_authz_rule *rule)
{
    for (size_t i = 0; i < a->n_super; i++) {
        if (strcmp(a->super_users[i], principal) == 0) {
            if (rule)
                *rule = SEC_RULE_SUPER_USER;
            return SEC_AUTHZ_ALLOWED;
        }
    }
    pthread_rwlock_rdlock(&a->lock);
    enum sec_authz_result r =
        acl__decide(a->snap, a->allow_if_none, principal, host, op, type, name, name_len, rule);
    pthread_rwlock_unlock(&a->lock);
    return r;
}

size_t sec_acl_count(struct sec_authorizer *a)
{
    pthread_rwlock_rdlock(&a->lock);
    size_t n = a->snap->n;
    pthread_rwlock_unlock(&a->lock);
    return n;
}

/* ---- changes ------------------------------------------------------------------------- */

static int copy_acl(struct sec_acl *dst, const struct sec_acl *src)
{
    *dst = *src;
    dst->resource_name = strdup(src->resource_name);
    dst->principal = strdup(src->principal);
    dst->host = strdup(src->host);
    if (dst->resource_name && dst->principal && dst->host)
        return 0;
    acl__free_strings(dst);
    return -ENOMEM;
}

/* Commit acls[0..n) (sorted, distinct, owned) and swap them in. The replaced snapshot is
 * returned in *old (the caller frees it, after reporting from it). On failure acls are
 * freed and nothing changes. */
static int commit_and_swap(struct sec_authorizer *a, struct sec_acl *acls, size_t n,
                           struct acl_snapshot **old)
{
    struct sec__text t = {0};
    int rc = serialize(acls, n, &t);
    if (rc == 0)
        rc = sec__file_commit(a->path, &t, n, &a->hook);
    sec__text_free(&t);
    if (rc < 0) {
        for (size_t i = 0; i < n; i++)
            acl__free_strings(&acls[i]);
        free(acls);
        return rc;
    }
    struct acl_snapshot *snap = acl__snapshot_build(acls, n);
    if (!snap)
        return -ENOMEM; /* the file is ahead of memory: the next start loads it */
    pthread_rwlock_wrlock(&a->lock);
    *old = a->snap;
    a->snap = snap; /* durable first, visible second */
    pthread_rwlock_unlock(&a->lock);
    return 0;
}

/* A deep copy of the current bindings with room for `extra` more. */
static struct sec_acl *copy_current(const struct acl_snapshot *s, size_t extra)
{
    struct sec_acl *v = calloc(s->n + extra + 1, sizeof(*v));
    for (size_t i = 0; v && i < s->n; i++) {
        if (copy_acl(&v[i], &s->acls[i]) < 0) {
            while (i-- > 0)
                acl__free_strings(&v[i]);
            free(v);
            return NULL;
        }
    }
    return v;
}

/* Sort v[0..n) and drop repeated bindings; the new count. */
static size_t sort_unique(struct sec_acl *v, size_t n)
{
    size_t m = 0;
    qsort(v, n, sizeof(*v), cmp_acls);
    for (size_t i = 0; i < n; i++) {
        if (m > 0 && acl__cmp(&v[m - 1], &v[i]) == 0)
            acl__free_strings(&v[i]);
        else
            v[m++] = v[i];
    }
    return m;
}

int sec_acl_create(struct sec_authorizer *a, const struct sec_acl *acls, size_t n,
                   struct sec_acl_result *results)
{
    int failed = 0, rc = 0;
    pthread_mutex_lock(&a->write_mu);
    const struct acl_snapshot *cur = a->snap; /* only writers replace it */
    struct sec_acl *v = copy_current(cur, n);
    size_t m = cur->n;
    for (size_t i = 0; v && rc == 0 && i < n; i++) {
        const char *why = sec__acl_invalid(&acls[i]);
        results[i] = (struct sec_acl_result){why ? SEC_ACL_INVALID_REQUEST : 0, why};
        failed += why != NULL;
        if (!why && (rc = copy_acl(&v[m], &acls[i])) == 0)
            m++;
    }
    if (!v)
        rc = -ENOMEM;
    if (rc == 0)
        m = sort_unique(v, m); /* an existing binding succeeds without a duplicate */
    if (rc == 0 && m > cur->n) {
        struct acl_snapshot *old = NULL;
        rc = commit_and_swap(a, v, m, &old);
        acl__snapshot_free(old);
        v = NULL;
        m = 0;
    }
    for (size_t i = 0; v && i < m; i++)
        acl__free_strings(&v[i]);
    free(v);
    pthread_mutex_unlock(&a->write_mu);
    return rc < 0 ? rc : failed;
}

/* (filter, binding) pairs a delete found. */
struct hits {
    size_t (*v)[2];
    size_t n, cap;
};

static int hits_add(struct hits *h, size_t filter, size_t acl)
{
    if (h->n == h->cap) {
        size_t cap = h->cap ? h->cap * 2 : 16;
        size_t(*v)[2] = realloc(h->v, cap * sizeof(*v));
        if (!v)
            return -ENOMEM;
        h->v = v;
        h->cap = cap;
    }
    h->v[h->n][0] = filter;
    h->v[h->n][1] = acl;
    h->n++;
    return 0;
}

/* Mark the bindings the filters match; results per filter. The number marked. */
static int match_filters(const struct acl_snapshot *cur, const struct sec_acl_filter *filters,
                         size_t n, struct sec_acl_result *results, bool *gone, struct hits *h)
{
    int removed = 0;
    for (size_t i = 0; i < n; i++) {
        const char *why = sec__filter_invalid(&filters[i]);
        results[i] = (struct sec_acl_result){why ? SEC_ACL_INVALID_REQUEST : 0, why};
        for (size_t k = 0; !why && k < cur->n; k++) {
            if (!sec_acl_filter_matches(&filters[i], &cur->acls[k]))
                continue;
            if (hits_add(h, i, k) < 0)
                return -ENOMEM;
            removed += !gone[k];
            gone[k] = true;
        }
    }
    return removed;
}

int sec_acl_delete(struct sec_authorizer *a, const struct sec_acl_filter *filters, size_t n,
                   struct sec_acl_result *results,
                   void (*fn)(void *arg, size_t filter_index, const struct sec_acl *acl), void *arg)
{
    struct hits h = {0};
    pthread_mutex_lock(&a->write_mu);
    struct acl_snapshot *cur = a->snap, *old = NULL;
    bool *gone = calloc(cur->n + 1, sizeof(*gone));
    int rc = gone ? match_filters(cur, filters, n, results, gone, &h) : -ENOMEM;
    if (rc > 0) {
        struct sec_acl *v = calloc(cur->n + 1, sizeof(*v));
        size_t m = 0;
        for (size_t k = 0; v && k < cur->n; k++)
            if (!gone[k] && copy_acl(&v[m], &cur->acls[k]) == 0)
                m++;
        int crc = !v ? -ENOMEM : m + (size_t)rc != cur->n ? -ENOMEM : 0;
        if (crc == 0)
            crc = commit_and_swap(a, v, m, &old);
        else if (v) {
            for (size_t k = 0; k < m; k++)
                acl__free_strings(&v[k]);
            free(v);
        }
        if (crc < 0)
            rc = crc;
    }
    /* Report from the replaced snapshot (still ours: readers moved to the new one). */
    for (size_t i = 0; rc > 0 && fn && i < h.n; i++)
        fn(arg, h.v[i][0], &old->acls[h.v[i][1]]);
    acl__snapshot_free(old);
    free(h.v);
    free(gone);
    pthread_mutex_unlock(&a->write_mu);
    return rc;
}

int sec_acl_describe(struct sec_authorizer *a, const struct sec_acl_filter *filter,
                     struct sec_acl_result *result,
                     void (*fn)(void *arg, const struct sec_acl *acl), void *arg)
{
    const char *why = sec__filter_invalid(filter);
    struct sec_acl_result r = {why ? SEC_ACL_INVALID_REQUEST : 0, why};
    if (result)
        *result = r;
    if (why)
        return KC_EMALFORMED;
    int n = 0;
    pthread_rwlock_rdlock(&a->lock);
    for (size_t k = 0; k < a->snap->n; k++) {
        if (sec_acl_filter_matches(filter, &a->snap->acls[k])) {
            n++;
            if (fn)
                fn(arg, &a->snap->acls[k]);
        }
    }
    pthread_rwlock_unlock(&a->lock);
    return n;
}
