/*
 * bench_authz.c - how long sec_authorize takes with 10, 1,000 and 100,000 ACLs.
 *
 * A produce checks WRITE on its topic once per request, a fetch READ, so the check is on
 * the hot path of every request. The ACL sets look like a real cluster's:
 *
 *   80%  TOPIC LITERAL  topic-<i>        User:app-<i mod 50>  WRITE ALLOW
 *   10%  TOPIC PREFIXED team-<j>-        User:team-<j>        READ  ALLOW
 *   10%  GROUP LITERAL  group-<i>        User:app-<i mod 50>  READ  ALLOW
 *    1   TOPIC LITERAL  *                User:monitor         DESCRIBE ALLOW
 *
 * (team-<j>- for j up to 10,000 gives 5 distinct prefix lengths: 7 to 11 characters.)
 * Four questions, each asked in batches of 1,000 calls; the median batch gives the time
 * per call; 5 runs, the median of the run medians is reported with the range:
 *
 *   produce hit    User:app-7 WRITE topic-<k>, that ACL exists         -> ALLOWED
 *   produce miss   User:app-8 WRITE the same topic (someone else's)    -> DENIED
 *   prefixed read  User:team-3 READ team-3-events                      -> ALLOWED
 *   no ACL         User:app-7 WRITE unknown-topic                      -> DENIED (default)
 *
 *   usage: bench_authz [--runs N]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kc_common.h"
#include "sec.h"

#define BATCH    1000
#define BATCHES  400
#define MAX_RUNS 15

struct question {
    const char *label, *principal;
    int op, type;
    char name[64];
    enum sec_authz_result want;
};

/* n bindings of the mix above; strings kept in `pool` (freed by the caller). */
static struct sec_acl *make_acls(size_t n, char ***pool)
{
    struct sec_acl *v = calloc(n, sizeof(*v));
    char **s = calloc(3 * n, sizeof(*s));
    if (!v || !s)
        abort();
    for (size_t i = 0; i < n; i++) {
        char name[64], who[64];
        int type = SEC_RES_TOPIC, pattern = SEC_PAT_LITERAL, op = SEC_OP_WRITE;
        if (i == 0) {
            snprintf(name, sizeof(name), "*"), snprintf(who, sizeof(who), "User:monitor");
            op = SEC_OP_DESCRIBE;
        } else if (i % 10 == 1) {
            snprintf(name, sizeof(name), "team-%zu-", i / 10);
            snprintf(who, sizeof(who), "User:team-%zu", i / 10);
            pattern = SEC_PAT_PREFIXED, op = SEC_OP_READ;
        } else if (i % 10 == 2) {
            snprintf(name, sizeof(name), "group-%zu", i);
            snprintf(who, sizeof(who), "User:app-%zu", i % 50);
            type = SEC_RES_GROUP, op = SEC_OP_READ;
        } else {
            snprintf(name, sizeof(name), "topic-%zu", i);
            snprintf(who, sizeof(who), "User:app-%zu", i % 50);
        }
        s[3 * i] = strdup(name), s[3 * i + 1] = strdup(who), s[3 * i + 2] = strdup("*");
        v[i] = (struct sec_acl){type,         pattern, s[3 * i],      s[3 * i + 1],
                                s[3 * i + 2], op,      SEC_PERM_ALLOW};
    }
    *pool = s;
    return v;
}

/* ns per call of one question: the median of BATCHES batches of BATCH calls. */
static double time_question(struct sec_authorizer *a, const struct question *q)
{
    static double per_call[BATCHES];
    size_t len = strlen(q->name);
    for (int b = 0; b < BATCHES; b++) {
        int64_t t0 = kc_mono_ns();
        int allowed = 0;
        for (int i = 0; i < BATCH; i++)
            allowed += sec_authorize(a, q->principal, "10.0.0.1", (enum sec_acl_op)q->op,
                                     (enum sec_resource_type)q->type, q->name, len, NULL);
        per_call[b] = (double)(kc_mono_ns() - t0) / BATCH;
        if (allowed != (q->want == SEC_AUTHZ_ALLOWED ? BATCH : 0)) {
            fprintf(stderr, "bench_authz: %s decided wrongly\n", q->label);
            exit(1);
        }
    }
    return kc_median(per_call, BATCHES);
}

static void bench_size(size_t n, int runs)
{
    char dir[4096], **pool;
    struct sec_authorizer *a;
    struct sec_acl_result *res = calloc(n, sizeof(*res));
    if (!res || kc_mkdtemp("bench-authz-", dir, sizeof(dir)) < 0 ||
        sec_authorizer_open(dir, NULL, &a) < 0)
        abort();
    struct sec_acl *acls = make_acls(n, &pool);
    int64_t t0 = kc_mono_ns();
    if (sec_acl_create(a, acls, n, res) != 0)
        abort();
    double create_ms = (double)(kc_mono_ns() - t0) / 1e6;
    size_t hit = n > 10 ? (n / 10) * 10 - 3 : 7; /* a topic ACL (i % 10 == 7) */
    struct question q[4] = {
        {"produce hit", NULL, SEC_OP_WRITE, SEC_RES_TOPIC, "", SEC_AUTHZ_ALLOWED},
        {"produce miss", "User:app-8", SEC_OP_WRITE, SEC_RES_TOPIC, "", SEC_AUTHZ_DENIED},
        {"prefixed read", "User:team-0", SEC_OP_READ, SEC_RES_TOPIC, "team-0-events",
         SEC_AUTHZ_ALLOWED},
        {"no ACL", "User:app-7", SEC_OP_WRITE, SEC_RES_TOPIC, "unknown-topic", SEC_AUTHZ_DENIED},
    };
    static char hit_user[64];
    snprintf(hit_user, sizeof(hit_user), "User:app-%zu", hit % 50);
    q[0].principal = hit_user;
    snprintf(q[0].name, sizeof(q[0].name), "topic-%zu", hit);
    snprintf(q[1].name, sizeof(q[1].name), "topic-%zu", hit);
    if (hit % 50 == 8)
        q[1].principal = "User:app-9";
    printf("  %6zu ACLs (created in %.1f ms)\n", n, create_ms);
    for (int k = 0; k < 4; k++) {
        double med[MAX_RUNS];
        for (int r = 0; r < runs; r++)
            med[r] = time_question(a, &q[k]);
        double lo = kc_min(med, (size_t)runs), hi = kc_max(med, (size_t)runs);
        printf("    %-14s %7.1f ns/call   (runs %.1f-%.1f)\n", q[k].label,
               kc_median(med, (size_t)runs), lo, hi);
    }
    sec_authorizer_close(a);
    for (size_t i = 0; i < 3 * n; i++)
        free(pool[i]);
    free(pool);
    free(acls);
    free(res);
    kc_rm_rf(dir);
}

int main(int argc, char **argv)
{
    int runs = 5;
    if (argc == 3 && strcmp(argv[1], "--runs") == 0)
        runs = atoi(argv[2]);
    if (runs < 1 || runs > MAX_RUNS) {
        fprintf(stderr, "usage: bench_authz [--runs 1..%d]\n", MAX_RUNS);
        return 2;
    }
    printf("sec_authorize: ns per call, median of %d runs (each the median of %d batches of "
           "%d calls)\n",
           runs, BATCHES, BATCH);
    bench_size(10, runs);
    bench_size(1000, runs);
    bench_size(100000, runs);
    return 0;
}
