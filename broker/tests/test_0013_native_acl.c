/*
 * test_0013_native_acl.c - Kafka's ACLs on every native command, end to end. alice holds
 * a set of bindings in which each topic and group lacks a different permission, so that
 * each command meets each permission it needs missing, and answers with Kafka's error:
 *
 *   topic rw    ALLOW ALL            group gr   ALLOW READ
 *   topic ro    ALLOW READ           group gd   ALLOW DESCRIBE
 *   topic wo    ALLOW WRITE          group gn   (nothing)
 *   topic desc  ALLOW DESCRIBE       PREFIXED new-   ALLOW CREATE
 *   topic dn    ALLOW ALL, DENY WRITE PREFIXED auto- ALLOW WRITE, LITERAL auto-ok CREATE
 *   topic none  (nothing)
 *
 * Also: DENY beats ALLOW, prefixed patterns, a super user passes everything, a topic the
 * principal may not see is refused the same whether or not it exists, metadata hides it,
 * and allow.everyone.if.no.acl.found opens only resources that have no binding at all.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kc_common.h"
#include "kc_test.h"
#include "sec_acl.h"
#include "support/harness.h"

#define PW "pw-for-tests"
#define TOPIC_DENIED NP_ERR(NP_E_TOPIC_AUTHORIZATION_FAILED)
#define GROUP_DENIED NP_ERR(NP_E_GROUP_AUTHORIZATION_FAILED)

static void allow(struct kb_broker *b, const char *who, int op, int type, int pattern,
                  const char *name)
{
    kb_acl(b, who, op, type, pattern, name, SEC_PERM_ALLOW);
}

/* Users admin (a super user), alice and bob; the bindings above; SASL_PLAINTEXT with PLAIN. */
static void start_acl(struct kb_broker *b, bool everyone_if_no_acl)
{
    const char *a = "User:alice";
    kb_add_scram(b, "SCRAM-SHA-256", "admin", PW);
    kb_add_scram(b, "SCRAM-SHA-256", "alice", PW);
    kb_add_scram(b, "SCRAM-SHA-256", "bob", PW);
    allow(b, a, SEC_OP_ALL, SEC_RES_TOPIC, SEC_PAT_LITERAL, "rw");
    allow(b, a, SEC_OP_READ, SEC_RES_TOPIC, SEC_PAT_LITERAL, "ro");
    allow(b, a, SEC_OP_WRITE, SEC_RES_TOPIC, SEC_PAT_LITERAL, "wo");
    allow(b, a, SEC_OP_DESCRIBE, SEC_RES_TOPIC, SEC_PAT_LITERAL, "desc");
    allow(b, a, SEC_OP_ALL, SEC_RES_TOPIC, SEC_PAT_LITERAL, "dn");
    kb_acl(b, a, SEC_OP_WRITE, SEC_RES_TOPIC, SEC_PAT_LITERAL, "dn", SEC_PERM_DENY);
    allow(b, a, SEC_OP_READ, SEC_RES_GROUP, SEC_PAT_LITERAL, "gr");
    allow(b, a, SEC_OP_DESCRIBE, SEC_RES_GROUP, SEC_PAT_LITERAL, "gd");
    allow(b, a, SEC_OP_CREATE, SEC_RES_TOPIC, SEC_PAT_PREFIXED, "new-");
    allow(b, a, SEC_OP_WRITE, SEC_RES_TOPIC, SEC_PAT_PREFIXED, "auto-");
    allow(b, a, SEC_OP_CREATE, SEC_RES_TOPIC, SEC_PAT_LITERAL, "auto-ok");
    const char *args[] = {"--override", "listeners=SASL_PLAINTEXT://127.0.0.1:0",
                          "--override", "sasl.enabled.mechanisms=PLAIN",
                          "--override", "authorizer.class.name=kafka.security.authorizer.AclAuthorizer",
                          "--override", "super.users=User:admin",
                          "--override", everyone_if_no_acl ? "allow.everyone.if.no.acl.found=true"
                                                           : "allow.everyone.if.no.acl.found=false",
                          NULL};
    kb_start(b, args);
}

static void login(const struct kb_broker *b, const char *user, struct np_client *c)
{
    int rc = kb_client_sec(b, b->port, NULL, "PLAIN", user, PW, c);
    if (rc)
        fail_msg("login as %s: %s (%s)", user, np_strerror(rc), c->errmsg);
}

/* The admin makes the topics, each with one record at offset 0. */
static void make_topics(const struct kb_broker *b)
{
    static const char *const topics[] = {"rw", "ro", "wo", "desc", "dn", "none"};
    struct np_client c;
    struct np_create_topic_resp cr;
    struct np_produce_resp pr;
    login(b, "admin", &c);
    for (size_t i = 0; i < KC_ARRAY_SIZE(topics); i++) {
        struct np_produce_req p = {np_str(topics[i]), 0, 1, -1, np_str(NULL), np_str("v0")};
        assert_int_equal(np_client_create_topic(&c, topics[i], 1, &cr), 0);
        assert_int_equal(np_client_produce(&c, &p, &pr), 0);
    }
    np_client_close(&c);
}

/* ---- one call per command, its return code -------------------------------------------------- */

static int produce(struct np_client *c, const char *topic)
{
    struct np_produce_resp r;
    struct np_produce_req p = {np_str(topic), -1, 1, -1, np_str(NULL), np_str("x")};
    return np_client_produce(c, &p, &r);
}

static int produce_batch(struct np_client *c, const char *topic)
{
    size_t len;
    uint8_t *batch = kb_batch("b", 2, &len);
    struct np_produce_batch_resp r;
    struct np_produce_batch_req p = {np_str(topic), -1, 1, {batch, (int32_t)len}};
    int rc = np_client_produce_batch(c, &p, &r);
    free(batch);
    return rc;
}

static int consume(struct np_client *c, const char *topic)
{
    struct np_consume_resp r;
    return np_client_consume(c, &(struct np_consume_req){np_str(topic), 0, 0}, &r);
}

static int consume_batch(struct np_client *c, const char *topic)
{
    struct np_consume_batch_resp r;
    return np_client_consume_batch(
        c, &(struct np_consume_batch_req){np_str(topic), 0, 0, 10, 1 << 20, 0}, &r);
}

static int commit(struct np_client *c, const char *group, const char *topic)
{
    return np_client_commit(
        c, &(struct np_commit_req){np_str(group), np_str(topic), 0, 1, np_str(NULL)});
}

static int fetch_offset(struct np_client *c, const char *group, const char *topic)
{
    struct np_fetch_offset_resp r;
    return np_client_fetch_offset(
        c, &(struct np_fetch_offset_req){np_str(group), np_str(topic), 0}, &r);
}

static int create(struct np_client *c, const char *topic)
{
    struct np_create_topic_resp r;
    return np_client_create_topic(c, topic, 1, &r);
}

static int metadata(struct np_client *c, const char *topic)
{
    struct np_metadata_resp r;
    return np_client_metadata(c, topic, &r);
}

/* Every topic name metadata(all) shows, "a,b,c". */
static void listed(struct np_client *c, char *buf, size_t cap)
{
    struct np_metadata_resp r;
    struct np_metadata_iter it;
    struct np_topic_meta tm;
    size_t at = 0;
    assert_int_equal(np_client_metadata(c, NULL, &r), 0);
    np_metadata_iter_init(&it, &r);
    buf[0] = '\0';
    while (np_metadata_next(&it, &tm) == 1)
        at += (size_t)snprintf(buf + at, cap - at, "%s%.*s", at ? "," : "", (int)tm.name.len,
                               tm.name.p);
}

#define EXPECT(call, want)                                                                    \
    do {                                                                                      \
        int rc_ = (call);                                                                     \
        if (rc_ != (want))                                                                    \
            fail_msg("%s: %s (want %s) %s", #call,                                            \
                     rc_ ? np_error_name(np_err_code(rc_)) : "ok",                            \
                     (want) ? np_error_name(np_err_code(want)) : "ok", c.errmsg);            \
    } while (0)

static void test_0013_each_command_against_each_missing_permission(void **state)
{
    struct kb_broker *b = *state;
    struct np_client c;
    char names[512];
    start_acl(b, false);
    make_topics(b);
    login(b, "alice", &c);
    /* 0 create-topic: CREATE on the cluster or the topic (here a PREFIXED binding) */
    EXPECT(create(&c, "new-1"), 0);
    EXPECT(create(&c, "other"), TOPIC_DENIED);
    assert_non_null(strstr(c.errmsg, "User:alice is not authorized to CREATE topic 'other'"));
    /* 1 produce, 5 produce-batch: WRITE */
    EXPECT(produce(&c, "rw"), 0);
    EXPECT(produce(&c, "wo"), 0);
    EXPECT(produce(&c, "ro"), TOPIC_DENIED);
    EXPECT(produce(&c, "desc"), TOPIC_DENIED);
    EXPECT(produce(&c, "none"), TOPIC_DENIED);
    EXPECT(produce(&c, "dn"), TOPIC_DENIED); /* ALLOW ALL, DENY WRITE: deny wins */
    EXPECT(produce_batch(&c, "rw"), 0);
    EXPECT(produce_batch(&c, "ro"), TOPIC_DENIED);
    EXPECT(produce_batch(&c, "dn"), TOPIC_DENIED);
    /* a missing topic: WRITE (PREFIXED auto-) and CREATE, or refused and not created */
    EXPECT(produce(&c, "auto-ok"), 0);
    EXPECT(produce(&c, "auto-no"), TOPIC_DENIED);
    assert_non_null(strstr(c.errmsg, "not authorized to CREATE topic 'auto-no'"));
    /* 2 consume, 6 consume-batch: READ */
    EXPECT(consume(&c, "rw"), 0);
    EXPECT(consume(&c, "ro"), 0);
    EXPECT(consume(&c, "dn"), 0); /* DENY WRITE does not deny READ */
    EXPECT(consume(&c, "wo"), TOPIC_DENIED);
    EXPECT(consume(&c, "desc"), TOPIC_DENIED);
    EXPECT(consume_batch(&c, "ro"), 0);
    EXPECT(consume_batch(&c, "wo"), TOPIC_DENIED);
    /* a topic that does not exist is refused like one that does: no existence leak */
    EXPECT(consume(&c, "ghost"), TOPIC_DENIED);
    EXPECT(consume(&c, "none"), TOPIC_DENIED);
    /* 3 commit: READ on the group, then READ on the topic */
    EXPECT(commit(&c, "gr", "rw"), 0);
    EXPECT(commit(&c, "gn", "rw"), GROUP_DENIED);
    assert_non_null(strstr(c.errmsg, "not authorized to READ group 'gn'"));
    EXPECT(commit(&c, "gd", "rw"), GROUP_DENIED); /* DESCRIBE does not give READ */
    EXPECT(commit(&c, "gr", "wo"), TOPIC_DENIED);
    EXPECT(commit(&c, "gr", "desc"), TOPIC_DENIED);
    /* 4 fetch-offset: DESCRIBE on the group and the topic (READ and WRITE imply it) */
    EXPECT(fetch_offset(&c, "gr", "rw"), 0);
    EXPECT(fetch_offset(&c, "gd", "desc"), 0);
    EXPECT(fetch_offset(&c, "gd", "wo"), 0);
    EXPECT(fetch_offset(&c, "gn", "rw"), GROUP_DENIED);
    EXPECT(fetch_offset(&c, "gd", "none"), TOPIC_DENIED);
    /* 7 metadata: DESCRIBE; a list leaves out what alice may not see */
    EXPECT(metadata(&c, "rw"), 0);
    EXPECT(metadata(&c, "wo"), 0);
    EXPECT(metadata(&c, "none"), TOPIC_DENIED);
    EXPECT(metadata(&c, "ghost"), TOPIC_DENIED);
    listed(&c, names, sizeof(names));
    /* not new-1: CREATE implies no DESCRIBE (Kafka's rule), so alice made it but cannot see it */
    assert_string_equal(names, "auto-ok,desc,dn,ro,rw,wo");
    /* 8 ping, 9 info: no ACL (authentication is enough) */
    EXPECT(np_client_ping(&c, "p", 1), 0);
    struct np_info_resp info;
    EXPECT(np_client_info(&c, &info), 0);
    np_client_close(&c);

    /* the super user passes everything, and sees everything */
    login(b, "admin", &c);
    EXPECT(produce(&c, "none"), 0);
    EXPECT(commit(&c, "gn", "none"), 0);
    EXPECT(metadata(&c, "auto-no"), NP_ERR(NP_E_UNKNOWN_TOPIC)); /* never created */
    listed(&c, names, sizeof(names));
    assert_non_null(strstr(names, "__consumer_offsets"));
    assert_non_null(strstr(names, "none"));
    np_client_close(&c);
    /* bob has nothing at all */
    login(b, "bob", &c);
    EXPECT(produce(&c, "rw"), TOPIC_DENIED);
    EXPECT(create(&c, "new-2"), TOPIC_DENIED);
    listed(&c, names, sizeof(names));
    assert_string_equal(names, "");
    np_client_close(&c);
    assert_true(kb_log_has(b, "User:alice denied WRITE on TOPIC ro (NoMatchingAllow)"));
    assert_true(kb_log_has(b, "User:alice denied WRITE on TOPIC dn (MatchingAcl(DENY))"));
}

/* allow.everyone.if.no.acl.found=true opens what has no binding at all, nothing else. */
static void test_0013_allow_everyone_if_no_acl_found(void **state)
{
    struct kb_broker *b = *state;
    struct np_client c;
    start_acl(b, true);
    make_topics(b);
    login(b, "bob", &c);
    EXPECT(produce(&c, "free"), 0); /* no binding for topic free nor for the cluster */
    EXPECT(consume(&c, "free"), 0);
    EXPECT(commit(&c, "free-group", "free"), 0);
    EXPECT(produce(&c, "rw"), TOPIC_DENIED); /* rw has bindings (for alice) */
    EXPECT(commit(&c, "gr", "free"), GROUP_DENIED);
    EXPECT(produce(&c, "new-x"), TOPIC_DENIED); /* the PREFIXED new- binding covers it */
    np_client_close(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_0013_each_command_against_each_missing_permission,
                                        kb_setup, kb_teardown),
        cmocka_unit_test_setup_teardown(test_0013_allow_everyone_if_no_acl_found, kb_setup,
                                        kb_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
