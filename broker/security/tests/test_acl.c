/* test_acl.c - the authorization decision: every operation x every pattern kind x
 * ALLOW/DENY against a reference written from Kafka's StandardAuthorizerData, implication,
 * DENY wins, wildcards, super users x allow.everyone.if.no.acl.found, and random ACL sets. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acl_int.h"
#include "kc_common.h"
#include "kc_test.h"
#include "sec.h"
#include "sec_int.h"

/* ---- the reference: a scan over all bindings, Kafka's rules written out again -------- */

static bool ref_pattern_applies(const struct sec_acl *a, int type, const char *name)
{
    if (a->resource_type != type)
        return false;
    if (a->pattern_type == SEC_PAT_LITERAL)
        return strcmp(a->resource_name, name) == 0 || strcmp(a->resource_name, "*") == 0;
    return strncmp(name, a->resource_name, strlen(a->resource_name)) == 0;
}

/* Does a binding with acl_op grant/deny `op`? (implication for ALLOW only) */
static bool ref_op_matches(int acl_op, int perm, int op)
{
    if (acl_op == SEC_OP_ALL || acl_op == op)
        return true;
    if (perm != SEC_PERM_ALLOW)
        return false;
    if (op == SEC_OP_DESCRIBE)
        return acl_op == SEC_OP_READ || acl_op == SEC_OP_WRITE || acl_op == SEC_OP_DELETE ||
               acl_op == SEC_OP_ALTER;
    if (op == SEC_OP_DESCRIBE_CONFIGS)
        return acl_op == SEC_OP_ALTER_CONFIGS;
    return false;
}

static int ref_decide(const struct sec_acl *acls, size_t n, const char *const *supers,
                      size_t n_super, bool allow_if_none, const char *principal, const char *host,
                      int op, int type, const char *name)
{
    for (size_t i = 0; i < n_super; i++)
        if (strcmp(supers[i], principal) == 0)
            return SEC_AUTHZ_ALLOWED;
    bool has = false, allow = false;
    for (size_t i = 0; i < n; i++) {
        const struct sec_acl *a = &acls[i];
        if (!ref_pattern_applies(a, type, name))
            continue;
        has = true;
        if (strcmp(a->principal, principal) != 0 && strcmp(a->principal, "User:*") != 0)
            continue;
        if (strcmp(a->host, "*") != 0 && strcmp(a->host, host) != 0)
            continue;
        if (!ref_op_matches(a->operation, a->permission, op))
            continue;
        if (a->permission == SEC_PERM_DENY)
            return SEC_AUTHZ_DENIED;
        allow = true;
    }
    if (allow)
        return SEC_AUTHZ_ALLOWED;
    return !has && allow_if_none ? SEC_AUTHZ_ALLOWED : SEC_AUTHZ_DENIED;
}

/* ---- helpers ------------------------------------------------------------------------- */

/* A snapshot (the index alone, no file) built from copies of acls. */
static struct acl_snapshot *snapshot_of(const struct sec_acl *acls, size_t n)
{
    struct sec_acl *v = calloc(n + 1, sizeof(*v));
    assert_non_null(v);
    for (size_t i = 0; i < n; i++) {
        v[i] = acls[i];
        v[i].resource_name = strdup(acls[i].resource_name);
        v[i].principal = strdup(acls[i].principal);
        v[i].host = strdup(acls[i].host);
    }
    qsort(v, n, sizeof(*v), (int (*)(const void *, const void *))acl__cmp);
    struct acl_snapshot *s = acl__snapshot_build(v, n);
    assert_non_null(s);
    return s;
}

static struct sec_acl acl(int type, int pattern, const char *name, const char *principal,
                          const char *host, int op, int perm)
{
    return (struct sec_acl){type, pattern, name, principal, host, op, perm};
}

static int decide(const struct acl_snapshot *s, bool allow_if_none, const char *principal, int op,
                  int type, const char *name, enum sec_authz_rule *rule)
{
    return acl__decide(s, allow_if_none, principal, "10.0.0.1", op, type, name, strlen(name), rule);
}

/* ---- the matrix ---------------------------------------------------------------------- */

/*
 * One binding, every combination: the operation asked (READ..TWO_PHASE_COMMIT) x the
 * binding's operation (ALL, READ..TWO_PHASE_COMMIT) x ALLOW/DENY x five pattern kinds
 * (literal exact, literal other name, literal "*", prefixed prefix-of-name, prefixed
 * not-a-prefix) x allow.everyone on/off. 13 x 14 x 2 x 5 x 2 = 3640 decisions.
 */
static void test_acl_matrix_single_binding_matches_reference(void **state)
{
    (void)state;
    struct {
        int pattern;
        const char *name;
    } kinds[] = {{SEC_PAT_LITERAL, "orders"},
                 {SEC_PAT_LITERAL, "payments"},
                 {SEC_PAT_LITERAL, "*"},
                 {SEC_PAT_PREFIXED, "ord"},
                 {SEC_PAT_PREFIXED, "pay"}};
    int checked = 0, allowed = 0;
    for (int ask = SEC_OP_READ; ask <= SEC_OP_TWO_PHASE_COMMIT; ask++) {
        for (int aop = SEC_OP_ALL; aop <= SEC_OP_TWO_PHASE_COMMIT; aop++) {
            for (int perm = SEC_PERM_DENY; perm <= SEC_PERM_ALLOW; perm++) {
                for (size_t k = 0; k < KC_ARRAY_SIZE(kinds); k++) {
                    struct sec_acl a = acl(SEC_RES_TOPIC, kinds[k].pattern, kinds[k].name,
                                           "User:alice", "*", aop, perm);
                    struct acl_snapshot *s = snapshot_of(&a, 1);
                    for (int everyone = 0; everyone < 2; everyone++) {
                        int got =
                            decide(s, everyone, "User:alice", ask, SEC_RES_TOPIC, "orders", NULL);
                        int want = ref_decide(&a, 1, NULL, 0, everyone, "User:alice", "10.0.0.1",
                                              ask, SEC_RES_TOPIC, "orders");
                        if (got != want)
                            fail_msg("asked %s, binding %s %s %s \"%s\", everyone %d: got %d",
                                     sec_acl_op_name(ask), sec_pattern_type_name(kinds[k].pattern),
                                     sec_acl_op_name(aop), sec_acl_perm_name(perm), kinds[k].name,
                                     everyone, got);
                        checked++;
                        allowed += got;
                    }
                    acl__snapshot_free(s);
                }
            }
        }
    }
    assert_int_equal(checked, 13 * 14 * 2 * 5 * 2);
    /* sanity of the reference itself: ALLOW grants exactly (asked == binding op, or ALL,
     * or implied) on the 3 applicable kinds, and the 2 non-applicable kinds give the
     * default (allowed when everyone=1) */
    assert_true(allowed > 0 && allowed < checked);
}

/* The implications spelled out, for ALLOW only. */
static void test_acl_implication_is_allow_only(void **state)
{
    (void)state;
    struct sec_acl v[] = {
        acl(SEC_RES_TOPIC, SEC_PAT_LITERAL, "t1", "User:a", "*", SEC_OP_READ, SEC_PERM_ALLOW),
        acl(SEC_RES_TOPIC, SEC_PAT_LITERAL, "t2", "User:a", "*", SEC_OP_ALTER_CONFIGS,
            SEC_PERM_ALLOW),
        acl(SEC_RES_TOPIC, SEC_PAT_LITERAL, "t3", "User:a", "*", SEC_OP_DESCRIBE, SEC_PERM_ALLOW),
        acl(SEC_RES_TOPIC, SEC_PAT_LITERAL, "t3", "User:a", "*", SEC_OP_READ, SEC_PERM_DENY),
        acl(SEC_RES_TOPIC, SEC_PAT_LITERAL, "t4", "User:a", "*", SEC_OP_ALL, SEC_PERM_ALLOW),
        acl(SEC_RES_TOPIC, SEC_PAT_LITERAL, "t4", "User:a", "*", SEC_OP_WRITE, SEC_PERM_DENY),
        acl(SEC_RES_TOPIC, SEC_PAT_LITERAL, "t5", "User:a", "*", SEC_OP_READ, SEC_PERM_ALLOW),
        acl(SEC_RES_TOPIC, SEC_PAT_LITERAL, "t5", "User:a", "*", SEC_OP_ALL, SEC_PERM_DENY),
    };
    struct acl_snapshot *s = snapshot_of(v, KC_ARRAY_SIZE(v));
    enum sec_authz_rule r;
    assert_int_equal(decide(s, false, "User:a", SEC_OP_DESCRIBE, SEC_RES_TOPIC, "t1", &r), 1);
    assert_int_equal(decide(s, false, "User:a", SEC_OP_WRITE, SEC_RES_TOPIC, "t1", &r), 0);
    assert_int_equal(r, SEC_RULE_NO_ALLOW);
    assert_int_equal(decide(s, false, "User:a", SEC_OP_DESCRIBE_CONFIGS, SEC_RES_TOPIC, "t2", &r),
                     1);
    assert_int_equal(decide(s, false, "User:a", SEC_OP_DESCRIBE, SEC_RES_TOPIC, "t2", &r), 0);
    /* DENY READ does not deny DESCRIBE */
    assert_int_equal(decide(s, false, "User:a", SEC_OP_DESCRIBE, SEC_RES_TOPIC, "t3", &r), 1);
    assert_int_equal(r, SEC_RULE_MATCHING_ALLOW);
    assert_int_equal(decide(s, false, "User:a", SEC_OP_READ, SEC_RES_TOPIC, "t3", &r), 0);
    assert_int_equal(r, SEC_RULE_MATCHING_DENY);
    /* ALLOW ALL, DENY WRITE: everything but WRITE */
    assert_int_equal(decide(s, false, "User:a", SEC_OP_CREATE, SEC_RES_TOPIC, "t4", &r), 1);
    assert_int_equal(decide(s, false, "User:a", SEC_OP_WRITE, SEC_RES_TOPIC, "t4", &r), 0);
    /* DENY ALL beats ALLOW READ */
    assert_int_equal(decide(s, false, "User:a", SEC_OP_READ, SEC_RES_TOPIC, "t5", &r), 0);
    assert_int_equal(decide(s, false, "User:a", SEC_OP_DESCRIBE, SEC_RES_TOPIC, "t5", &r), 0);
    acl__snapshot_free(s);
}

/* DENY anywhere wins over ALLOW anywhere: literal vs prefixed vs wildcard. */
static void test_acl_deny_wins_across_patterns(void **state)
{
    (void)state;
    struct sec_acl v[] = {
        acl(SEC_RES_TOPIC, SEC_PAT_LITERAL, "orders-eu", "User:a", "*", SEC_OP_WRITE,
            SEC_PERM_ALLOW),
        acl(SEC_RES_TOPIC, SEC_PAT_PREFIXED, "orders-", "User:a", "*", SEC_OP_WRITE, SEC_PERM_DENY),
        acl(SEC_RES_TOPIC, SEC_PAT_LITERAL, "*", "User:b", "*", SEC_OP_READ, SEC_PERM_ALLOW),
        acl(SEC_RES_TOPIC, SEC_PAT_LITERAL, "secret", "User:b", "*", SEC_OP_READ, SEC_PERM_DENY),
        acl(SEC_RES_TOPIC, SEC_PAT_PREFIXED, "o", "User:c", "*", SEC_OP_READ, SEC_PERM_ALLOW),
        acl(SEC_RES_TOPIC, SEC_PAT_LITERAL, "*", "User:c", "*", SEC_OP_READ, SEC_PERM_DENY),
    };
    struct acl_snapshot *s = snapshot_of(v, KC_ARRAY_SIZE(v));
    assert_int_equal(decide(s, false, "User:a", SEC_OP_WRITE, SEC_RES_TOPIC, "orders-eu", NULL), 0);
    assert_int_equal(decide(s, false, "User:a", SEC_OP_WRITE, SEC_RES_TOPIC, "orders-us", NULL), 0);
    assert_int_equal(decide(s, false, "User:b", SEC_OP_READ, SEC_RES_TOPIC, "anything", NULL), 1);
    assert_int_equal(decide(s, false, "User:b", SEC_OP_READ, SEC_RES_TOPIC, "secret", NULL), 0);
    assert_int_equal(decide(s, false, "User:c", SEC_OP_READ, SEC_RES_TOPIC, "orders", NULL), 0);
    /* the wildcard and prefixes do not cross resource types */
    assert_int_equal(decide(s, false, "User:b", SEC_OP_READ, SEC_RES_GROUP, "anything", NULL), 0);
    assert_int_equal(decide(s, true, "User:b", SEC_OP_READ, SEC_RES_GROUP, "anything", NULL), 1);
    acl__snapshot_free(s);
}

/* Principals: exact or User:* (Group:* is not a wildcard). Hosts: exact or "*". */
static void test_acl_principal_and_host_wildcards(void **state)
{
    (void)state;
    struct sec_acl v[] = {
        acl(SEC_RES_GROUP, SEC_PAT_LITERAL, "g", "User:*", "10.0.0.1", SEC_OP_READ, SEC_PERM_ALLOW),
        acl(SEC_RES_GROUP, SEC_PAT_LITERAL, "h", "Group:*", "*", SEC_OP_READ, SEC_PERM_ALLOW),
        acl(SEC_RES_GROUP, SEC_PAT_LITERAL, "i", "User:bob", "*", SEC_OP_READ, SEC_PERM_ALLOW),
    };
    struct acl_snapshot *s = snapshot_of(v, KC_ARRAY_SIZE(v));
    assert_int_equal(decide(s, false, "User:anyone", SEC_OP_READ, SEC_RES_GROUP, "g", NULL), 1);
    assert_int_equal(
        acl__decide(s, false, "User:anyone", "10.0.0.2", SEC_OP_READ, SEC_RES_GROUP, "g", 1, NULL),
        0);
    assert_int_equal(decide(s, false, "User:anyone", SEC_OP_READ, SEC_RES_GROUP, "h", NULL), 0);
    assert_int_equal(decide(s, false, "User:bobby", SEC_OP_READ, SEC_RES_GROUP, "i", NULL), 0);
    assert_int_equal(decide(s, false, "User:bob", SEC_OP_READ, SEC_RES_GROUP, "i", NULL), 1);
    /* ACLs exist for "i", none for carol: denied even with allow.everyone */
    enum sec_authz_rule r;
    assert_int_equal(decide(s, true, "User:carol", SEC_OP_READ, SEC_RES_GROUP, "i", &r), 0);
    assert_int_equal(r, SEC_RULE_NO_ALLOW);
    assert_int_equal(decide(s, true, "User:carol", SEC_OP_READ, SEC_RES_GROUP, "j", &r), 1);
    assert_int_equal(r, SEC_RULE_DEFAULT);
    acl__snapshot_free(s);
}

/* Super users x allow.everyone.if.no.acl.found, through the public API and the file. */
static void test_acl_super_users_and_allow_everyone(void **state)
{
    (void)state;
    char *dir = kc_test_tmpdir();
    struct sec_authorizer *a;
    struct sec_authorizer_config cfg = {0};
    assert_int_equal(sec_authorizer_open(dir, &cfg, &a), 0);
    struct sec_acl v[] = {
        acl(SEC_RES_CLUSTER, SEC_PAT_LITERAL, SEC_CLUSTER_NAME, "User:broker", "*",
            SEC_OP_CLUSTER_ACTION, SEC_PERM_ALLOW),
        acl(SEC_RES_TOPIC, SEC_PAT_LITERAL, "locked", "User:admin", "*", SEC_OP_ALL, SEC_PERM_DENY),
    };
    struct sec_acl_result res[2];
    assert_int_equal(sec_acl_create(a, v, 2, res), 0);
    sec_authorizer_close(a);
    for (int super = 0; super < 2; super++) {
        for (int everyone = 0; everyone < 2; everyone++) {
            assert_int_equal(sec_authorizer_config_set(&cfg, "super.users",
                                                       super ? " User:admin ; User:ops;" : ""),
                             0);
            assert_int_equal(sec_authorizer_config_set(&cfg, "allow.everyone.if.no.acl.found",
                                                       everyone ? "TRUE" : "false"),
                             0);
            assert_int_equal(sec_authorizer_open(dir, &cfg, &a), 0);
            enum sec_authz_rule r;
            /* a super user passes even a DENY ALL naming them */
            int got = sec_authorize(a, "User:admin", "1.2.3.4", SEC_OP_WRITE, SEC_RES_TOPIC,
                                    "locked", 6, &r);
            assert_int_equal(got, super ? 1 : 0);
            assert_int_equal(r, super ? SEC_RULE_SUPER_USER : SEC_RULE_MATCHING_DENY);
            /* no ACL at all for the resource: allow.everyone decides (or super) */
            got =
                sec_authorize(a, "User:ops", "1.2.3.4", SEC_OP_READ, SEC_RES_TOPIC, "free", 4, &r);
            assert_int_equal(got, super || everyone);
            /* ACLs on the cluster, none for this user: denied unless super */
            got = sec_authorize(a, "User:ops", "1.2.3.4", SEC_OP_CLUSTER_ACTION, SEC_RES_CLUSTER,
                                SEC_CLUSTER_NAME, strlen(SEC_CLUSTER_NAME), &r);
            assert_int_equal(got, super);
            got = sec_authorize(a, "User:broker", "1.2.3.4", SEC_OP_CLUSTER_ACTION, SEC_RES_CLUSTER,
                                SEC_CLUSTER_NAME, strlen(SEC_CLUSTER_NAME), &r);
            assert_int_equal(got, 1);
            sec_authorizer_close(a);
        }
    }
    assert_int_equal(sec_authorizer_config_set(&cfg, "allow.everyone.if.no.acl.found", "yes"),
                     -EINVAL);
    assert_int_equal(sec_authorizer_config_set(&cfg, "authorizer.class.name", "x"), -ENOENT);
    cfg.super_users = "admin";
    struct kc_test_capture cap;
    kc_test_capture_start(&cap);
    assert_int_equal(sec_authorizer_open(dir, &cfg, &a), -EINVAL);
    free(kc_test_capture_stop(&cap));
    kc_test_rmdir(dir);
}

/* Random binding sets over a small alphabet (so patterns overlap a lot) against the
 * reference, many queries each. Seeded: KC_TEST_SEED=<seed> replays. */
static const char *const names[] = {"a", "ab", "abc", "abcd", "b", "ba", "*", "abd", "x"};
static const char *const principals[] = {"User:p", "User:q", "User:*"};
static const char *const hosts[] = {"*", "10.0.0.1", "10.0.0.2"};

static void test_acl_random_sets_match_reference(void **state)
{
    (void)state;
    uint64_t seed = kc_test_seed(), rng = seed | 1;
    for (int round = 0; round < 200; round++) {
        struct sec_acl v[40];
        size_t n = 1 + kc_test_rand(&rng) % 40;
        for (size_t i = 0; i < n; i++) {
            v[i] = acl(SEC_RES_TOPIC + (int)(kc_test_rand(&rng) % 2),
                       kc_test_rand(&rng) % 2 ? SEC_PAT_LITERAL : SEC_PAT_PREFIXED,
                       names[kc_test_rand(&rng) % KC_ARRAY_SIZE(names)],
                       principals[kc_test_rand(&rng) % 3], hosts[kc_test_rand(&rng) % 3],
                       SEC_OP_ALL + (int)(kc_test_rand(&rng) % 14),
                       kc_test_rand(&rng) % 3 ? SEC_PERM_ALLOW : SEC_PERM_DENY);
        }
        /* the index wants distinct bindings; the reference does not care */
        struct sec_acl u[40];
        size_t m = 0;
        for (size_t i = 0; i < n; i++) {
            bool dup = false;
            for (size_t k = 0; k < m && !dup; k++)
                dup = acl__cmp(&u[k], &v[i]) == 0;
            if (!dup)
                u[m++] = v[i];
        }
        struct acl_snapshot *s = snapshot_of(u, m);
        for (int q = 0; q < 200; q++) {
            int type = SEC_RES_TOPIC + (int)(kc_test_rand(&rng) % 2);
            int op = SEC_OP_READ + (int)(kc_test_rand(&rng) % 13);
            const char *name = names[kc_test_rand(&rng) % KC_ARRAY_SIZE(names)];
            const char *who = principals[kc_test_rand(&rng) % 2];
            const char *host = hosts[1 + kc_test_rand(&rng) % 2];
            bool everyone = kc_test_rand(&rng) % 2;
            int got = acl__decide(s, everyone, who, host, op, type, name, strlen(name), NULL);
            int want = ref_decide(u, m, NULL, 0, everyone, who, host, op, type, name);
            if (got != want)
                fail_msg("seed %llu round %d query %d: got %d want %d", (unsigned long long)seed,
                         round, q, got, want);
        }
        acl__snapshot_free(s);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_acl_matrix_single_binding_matches_reference),
        cmocka_unit_test(test_acl_implication_is_allow_only),
        cmocka_unit_test(test_acl_deny_wins_across_patterns),
        cmocka_unit_test(test_acl_principal_and_host_wildcards),
        cmocka_unit_test(test_acl_super_users_and_allow_everyone),
        cmocka_unit_test(test_acl_random_sets_match_reference),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
