/* test_acl_filter.c - CreateAcls validation, and the filters of DescribeAcls/DeleteAcls
 * with Kafka's ANY and MATCH rules (ResourcePatternFilter, AccessControlEntryFilter). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kc_common.h"
#include "kc_test.h"
#include "sec.h"

static const struct sec_acl bindings[] = {
    {SEC_RES_TOPIC, SEC_PAT_LITERAL, "orders", "User:alice", "*", SEC_OP_WRITE, SEC_PERM_ALLOW},
    {SEC_RES_TOPIC, SEC_PAT_LITERAL, "*", "User:bob", "*", SEC_OP_READ, SEC_PERM_ALLOW},
    {SEC_RES_TOPIC, SEC_PAT_PREFIXED, "ord", "User:alice", "10.0.0.1", SEC_OP_READ, SEC_PERM_DENY},
    {SEC_RES_TOPIC, SEC_PAT_PREFIXED, "orders-", "User:carol", "*", SEC_OP_ALL, SEC_PERM_ALLOW},
    {SEC_RES_TOPIC, SEC_PAT_LITERAL, "payments", "User:alice", "*", SEC_OP_READ, SEC_PERM_ALLOW},
    {SEC_RES_GROUP, SEC_PAT_LITERAL, "orders", "User:alice", "*", SEC_OP_READ, SEC_PERM_ALLOW},
};
enum { N_BINDINGS = sizeof(bindings) / sizeof(bindings[0]) };

/* Which of `bindings` a filter matches, as a bit mask. */
static unsigned mask_of(const struct sec_acl_filter *f)
{
    unsigned m = 0;
    for (int i = 0; i < N_BINDINGS; i++)
        if (sec_acl_filter_matches(f, &bindings[i]))
            m |= 1u << i;
    return m;
}

static struct sec_acl_filter any(void)
{
    return (struct sec_acl_filter){SEC_RES_ANY, SEC_PAT_ANY, NULL,        NULL,
                                   NULL,        SEC_OP_ANY,  SEC_PERM_ANY};
}

static void test_acl_filter_pattern_rules(void **state)
{
    (void)state;
    struct sec_acl_filter f = any();
    assert_int_equal(mask_of(&f), 0x3f);
    f.resource_type = SEC_RES_GROUP;
    assert_int_equal(mask_of(&f), 0x20);
    /* ANY pattern type with a name: the name compared exactly, any pattern type */
    f = any();
    f.resource_name = "orders";
    assert_int_equal(mask_of(&f), 0x21);
    /* LITERAL "orders": only literal patterns named exactly so ("*" is not expanded) */
    f.pattern_type = SEC_PAT_LITERAL;
    assert_int_equal(mask_of(&f), 0x21);
    f.resource_name = "*";
    assert_int_equal(mask_of(&f), 0x02);
    /* PREFIXED "ord": the prefixed pattern named "ord" only */
    f.pattern_type = SEC_PAT_PREFIXED;
    f.resource_name = "ord";
    assert_int_equal(mask_of(&f), 0x04);
    /* MATCH "orders-eu": every pattern that would apply to a resource of that name */
    f.pattern_type = SEC_PAT_MATCH;
    f.resource_name = "orders-eu";
    assert_int_equal(mask_of(&f), 0x0e); /* "*", "ord"..., "orders-"... */
    f.resource_name = "orders";
    assert_int_equal(mask_of(&f), 0x27); /* literal orders (topic+group), "*", "ord" */
    f.resource_type = SEC_RES_TOPIC;
    assert_int_equal(mask_of(&f), 0x07);
    /* MATCH without a name: every pattern of any pattern type */
    f.resource_name = NULL;
    assert_int_equal(mask_of(&f), 0x1f);
}

static void test_acl_filter_entry_rules(void **state)
{
    (void)state;
    struct sec_acl_filter f = any();
    f.principal = "User:alice";
    assert_int_equal(mask_of(&f), 0x35);
    f.host = "10.0.0.1";
    assert_int_equal(mask_of(&f), 0x04);
    f = any();
    f.operation = SEC_OP_READ; /* exact: an ALL binding is not a READ binding here */
    assert_int_equal(mask_of(&f), 0x36);
    f.permission = SEC_PERM_DENY;
    assert_int_equal(mask_of(&f), 0x04);
    f = any();
    f.host = "*";
    assert_int_equal(mask_of(&f), 0x3b);
}

/* A fresh authorizer holding `bindings`. */
static struct sec_authorizer *with_bindings(char **dir)
{
    struct sec_authorizer *a;
    struct sec_acl_result res[N_BINDINGS];
    *dir = kc_test_tmpdir();
    assert_int_equal(sec_authorizer_open(*dir, NULL, &a), 0);
    assert_int_equal(sec_acl_create(a, bindings, N_BINDINGS, res), 0);
    for (int i = 0; i < N_BINDINGS; i++)
        assert_int_equal(res[i].error_code, 0);
    assert_int_equal(sec_acl_count(a), N_BINDINGS);
    return a;
}

static void count_cb(void *arg, const struct sec_acl *acl)
{
    (void)acl;
    ++*(int *)arg;
}

static void test_acl_describe_with_filters(void **state)
{
    (void)state;
    char *dir;
    struct sec_authorizer *a = with_bindings(&dir);
    struct sec_acl_result r;
    int seen = 0;
    struct sec_acl_filter f = any();
    f.pattern_type = SEC_PAT_MATCH;
    f.resource_type = SEC_RES_TOPIC;
    f.resource_name = "orders-eu";
    assert_int_equal(sec_acl_describe(a, &f, &r, count_cb, &seen), 3);
    assert_int_equal(seen, 3);
    assert_int_equal(r.error_code, 0);
    /* a filter with an UNKNOWN part is refused */
    f.resource_type = 99;
    assert_int_equal(sec_acl_describe(a, &f, &r, count_cb, &seen), KC_EMALFORMED);
    assert_int_equal(r.error_code, SEC_ACL_INVALID_REQUEST);
    assert_string_equal(r.error_message, "Unknown patternFilter.");
    f = any();
    f.operation = SEC_OP_UNKNOWN;
    assert_int_equal(sec_acl_describe(a, &f, &r, NULL, NULL), KC_EMALFORMED);
    assert_string_equal(r.error_message, "Unknown entryFilter.");
    sec_authorizer_close(a);
    kc_test_rmdir(dir);
}

struct deleted {
    char log[512];
};

static void delete_cb(void *arg, size_t i, const struct sec_acl *acl)
{
    struct deleted *d = arg;
    size_t n = strlen(d->log);
    snprintf(d->log + n, sizeof(d->log) - n, "%zu:%s/%s ", i, acl->resource_name, acl->principal);
}

/* DeleteAcls: per filter, the bindings it matched (one matched by two filters is listed
 * for both, removed once); an invalid filter fails alone; the decision changes. */
static void test_acl_delete_reports_per_filter(void **state)
{
    (void)state;
    char *dir;
    struct sec_authorizer *a = with_bindings(&dir);
    struct sec_acl_filter f[3] = {any(), any(), any()};
    f[0].principal = "User:alice";
    f[0].resource_type = SEC_RES_TOPIC;
    f[0].pattern_type = SEC_PAT_LITERAL;
    f[1].resource_name = "orders";
    f[1].pattern_type = SEC_PAT_LITERAL;
    f[2].permission = 7;
    struct sec_acl_result res[3];
    struct deleted d = {""};
    assert_int_equal(
        sec_authorize(a, "User:alice", "1.1.1.1", SEC_OP_WRITE, SEC_RES_TOPIC, "orders", 6, NULL),
        SEC_AUTHZ_ALLOWED);
    assert_int_equal(sec_acl_delete(a, f, 3, res, delete_cb, &d), 3);
    assert_string_equal(d.log, "0:orders/User:alice 0:payments/User:alice 1:orders/User:alice "
                               "1:orders/User:alice ");
    assert_int_equal(res[0].error_code, 0);
    assert_int_equal(res[2].error_code, SEC_ACL_INVALID_REQUEST);
    assert_string_equal(res[2].error_message, "Unknown entryFilter.");
    assert_int_equal(sec_acl_count(a), N_BINDINGS - 3);
    assert_int_equal(
        sec_authorize(a, "User:alice", "1.1.1.1", SEC_OP_WRITE, SEC_RES_TOPIC, "orders", 6, NULL),
        SEC_AUTHZ_DENIED);
    /* nothing matches: nothing removed, no write */
    struct sec_acl_filter none = any();
    none.principal = "User:nobody";
    assert_int_equal(sec_acl_delete(a, &none, 1, res, delete_cb, &d), 0);
    sec_authorizer_close(a);
    kc_test_rmdir(dir);
}

/* CreateAcls validation (Kafka's controller messages), and duplicates. */
static void test_acl_create_validates_each_binding(void **state)
{
    (void)state;
    char *dir;
    struct sec_authorizer *a = with_bindings(&dir);
    const struct sec_acl bad[] = {
        {SEC_RES_ANY, SEC_PAT_LITERAL, "t", "User:a", "*", SEC_OP_READ, SEC_PERM_ALLOW},
        {42, SEC_PAT_LITERAL, "t", "User:a", "*", SEC_OP_READ, SEC_PERM_ALLOW},
        {SEC_RES_TOPIC, SEC_PAT_MATCH, "t", "User:a", "*", SEC_OP_READ, SEC_PERM_ALLOW},
        {SEC_RES_TOPIC, SEC_PAT_LITERAL, "t", "User:a", "*", SEC_OP_ANY, SEC_PERM_ALLOW},
        {SEC_RES_TOPIC, SEC_PAT_LITERAL, "t", "User:a", "*", SEC_OP_READ, SEC_PERM_ANY},
        {SEC_RES_TOPIC, SEC_PAT_LITERAL, "", "User:a", "*", SEC_OP_READ, SEC_PERM_ALLOW},
        {SEC_RES_TOPIC, SEC_PAT_LITERAL, "t", "alice", "*", SEC_OP_READ, SEC_PERM_ALLOW},
        {SEC_RES_TOPIC, SEC_PAT_LITERAL, "t", "User:a", "", SEC_OP_READ, SEC_PERM_ALLOW},
        {SEC_RES_TOPIC, SEC_PAT_LITERAL, "orders", "User:alice", "*", SEC_OP_WRITE, SEC_PERM_ALLOW},
        {SEC_RES_TOPIC, SEC_PAT_LITERAL, "new", "User:a", "*", SEC_OP_READ, SEC_PERM_ALLOW},
        {SEC_RES_TOPIC, SEC_PAT_LITERAL, "new", "User:a", "*", SEC_OP_READ, SEC_PERM_ALLOW},
    };
    static const char *const want[] = {
        "Invalid resourceType",
        "Invalid resourceType",
        "Invalid patternType",
        "Invalid operation",
        "Invalid permissionType",
        "Resource name should not be empty",
        "Could not parse principal",
        "Host should not be empty",
        NULL,
        NULL,
        NULL,
    };
    struct sec_acl_result res[KC_ARRAY_SIZE(bad)];
    assert_int_equal(sec_acl_create(a, bad, KC_ARRAY_SIZE(bad), res), 8);
    for (size_t i = 0; i < KC_ARRAY_SIZE(bad); i++) {
        if (!want[i]) {
            assert_int_equal(res[i].error_code, 0);
            continue;
        }
        assert_int_equal(res[i].error_code, SEC_ACL_INVALID_REQUEST);
        assert_non_null(strstr(res[i].error_message, want[i]));
    }
    assert_int_equal(sec_acl_count(a), N_BINDINGS + 1); /* "new" once; "orders" existed */
    sec_authorizer_close(a);
    kc_test_rmdir(dir);
}

static void test_acl_names_round_trip(void **state)
{
    (void)state;
    for (int c = 0; c <= 15; c++) {
        const char *n = sec_acl_op_name(c);
        assert_non_null(n);
        assert_int_equal(sec_acl_op_parse(n), c);
    }
    assert_int_equal(sec_acl_op_parse("describe_configs"), SEC_OP_DESCRIBE_CONFIGS);
    assert_int_equal(sec_acl_op_parse("FLY"), SEC_OP_UNKNOWN);
    assert_null(sec_acl_op_name(16));
    assert_int_equal(sec_resource_type_parse("transactional_id"), SEC_RES_TRANSACTIONAL_ID);
    assert_string_equal(sec_resource_type_name(SEC_RES_DELEGATION_TOKEN), "DELEGATION_TOKEN");
    assert_int_equal(sec_pattern_type_parse("Prefixed"), SEC_PAT_PREFIXED);
    assert_int_equal(sec_acl_perm_parse("deny"), SEC_PERM_DENY);
    assert_null(sec_acl_perm_name(-1));
    assert_string_equal(sec_authz_rule_name(SEC_RULE_SUPER_USER), "SuperUser");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_acl_filter_pattern_rules),
        cmocka_unit_test(test_acl_filter_entry_rules),
        cmocka_unit_test(test_acl_describe_with_filters),
        cmocka_unit_test(test_acl_delete_reports_per_filter),
        cmocka_unit_test(test_acl_create_validates_each_binding),
        cmocka_unit_test(test_acl_names_round_trip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
