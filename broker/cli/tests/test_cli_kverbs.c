/*
 * test_cli_kverbs.c - admin verbs whose rules live in kafka_cli itself, checked against
 * fake brokers (support/fake_kafka.h) by what they send:
 *   groups reset-offsets   Kafka's rules: a dry run unless --execute, only an inactive
 *                          group, new offsets from each partition's leader;
 *   configs alter          IncrementalAlterConfigs, or AlterConfigs with the current
 *                          dynamic configs merged in when the broker lacks it;
 *   scram set              the salted password computed here (PBKDF2), never the password;
 *   acls add               every principal x operation x resource, checked before sending.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "kc_common.h"
#include "support/fake_kafka.h"

/* What the handlers saw, written with the world's mutex held. */
struct seen {
    const char *group_state;
    char sent[512]; /* what the verb asked for, as text */
    uint8_t salt[64], salted[64];
    int32_t nsalt, nsalted, iterations;
    int8_t mechanism;
};

/* s->sent, read under the world's lock. */
static void expect_sent(struct fk_world *w, struct seen *s, const char *want)
{
    pthread_mutex_lock(&w->mu);
    bool ok = strcmp(s->sent, want) == 0;
    char got[sizeof(s->sent)];
    snprintf(got, sizeof(got), "%s", s->sent);
    pthread_mutex_unlock(&w->mu);
    if (!ok)
        fail_msg("sent '%s', want '%s'", got, want);
}

static void sentf(struct seen *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sentf(struct seen *s, const char *fmt, ...)
{
    size_t at = strlen(s->sent);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s->sent + at, sizeof(s->sent) - at, fmt, ap);
    va_end(ap);
}

/* ---- groups reset-offsets -------------------------------------------------------------------- */

/* ListOffsets: earliest (-2) is 10 + partition, latest 100 + partition. */
static void list_offsets(const struct kp_request *req, struct kp_list_offsets_resp *r,
                         struct kp_arena *a)
{
    const struct kp_list_offsets_req *q = req->msg;
    struct kp_list_offsets_resp_topic_response *t =
        kp_new(a, &kp_list_offsets_resp_topic_response_schema, q->topics.n);
    for (int32_t i = 0; i < q->topics.n; i++) {
        int32_t n = q->topics.v[i].partitions.n;
        struct kp_list_offsets_resp_partition_response *p =
            kp_new(a, &kp_list_offsets_resp_partition_response_schema, n);
        for (int32_t j = 0; j < n; j++) {
            const struct kp_list_offsets_req_partition *in = &q->topics.v[i].partitions.v[j];
            p[j].partition_index = in->partition_index;
            p[j].offset = (in->timestamp == -2 ? 10 : 100) + in->partition_index;
        }
        t[i].name = q->topics.v[i].name;
        KP_SET(t[i].partitions, n, p);
    }
    KP_SET(r->topics, q->topics.n, t);
}

/* OffsetCommit: "p=offset " per partition into seen, each accepted. */
static void offset_commit(struct seen *s, const struct kp_request *req,
                          struct kp_offset_commit_resp *r, struct kp_arena *a)
{
    const struct kp_offset_commit_req *q = req->msg;
    struct kp_offset_commit_resp_topic *t =
        kp_new(a, &kp_offset_commit_resp_topic_schema, q->topics.n);
    sentf(s, "gen=%d member='%.*s'", q->generation_id_or_member_epoch, (int)q->member_id.len,
          q->member_id.p);
    for (int32_t i = 0; i < q->topics.n; i++) {
        int32_t n = q->topics.v[i].partitions.n;
        struct kp_offset_commit_resp_partition *p =
            kp_new(a, &kp_offset_commit_resp_partition_schema, n);
        for (int32_t j = 0; j < n; j++) {
            const struct kp_offset_commit_req_partition *in = &q->topics.v[i].partitions.v[j];
            sentf(s, " %.*s-%d=%lld", (int)q->topics.v[i].name.len, q->topics.v[i].name.p,
                  in->partition_index, (long long)in->committed_offset);
            p[j].partition_index = in->partition_index;
        }
        t[i].name = q->topics.v[i].name;
        KP_SET(t[i].partitions, n, p);
    }
    KP_SET(r->topics, q->topics.n, t);
}

static int reset_world(struct fk_world *w, struct fk_broker *b, const struct kp_request *req,
                       void *resp, struct kp_arena *arena)
{
    struct seen *s = w->arg;
    (void)b;
    switch (req->hdr.request_api_key) {
    case KP_API_DESCRIBE_GROUPS: {
        const struct kp_describe_groups_req *q = req->msg;
        struct kp_describe_groups_resp *r = resp;
        struct kp_describe_groups_resp_described_group *g =
            kp_new(arena, &kp_describe_groups_resp_described_group_schema, 1);
        g->group_id = q->groups.v[0];
        g->group_state = kp_slice_str(s->group_state);
        g->protocol_type = kp_slice_str("consumer");
        KP_SET(r->groups, 1, g);
        return 0;
    }
    case KP_API_LIST_OFFSETS:
        list_offsets(req, resp, arena);
        return 0;
    case KP_API_OFFSET_COMMIT:
        offset_commit(s, req, resp, arena);
        return 0;
    default:
        return 1;
    }
}

static void reset_start(struct fk_world *w, struct seen *s, const char *state)
{
    memset(s, 0, sizeof(*s));
    s->group_state = state;
    fk_start(w, 3);
    FK_SET(w, w->topics[0] = (struct fk_topic){"t", 2, {2, 3}}, w->ntopics = 1,
           w->handle = reset_world, w->arg = s);
}

static void test_cli_kverbs_reset_offsets_is_a_dry_run_by_default(void **state)
{
    (void)state;
    struct fk_world w;
    struct seen s;
    reset_start(&w, &s, "Empty");
    const char *line = "groups reset-offsets app --topic t --to-earliest";
    struct fk_run r = fk_cli(&w, line, 5000, NULL);
    fk_expect_status(&r, line, CLI_OK);
    assert_non_null(strstr(r.out, "NEW-OFFSET"));
    assert_non_null(strstr(r.err, "Dry run"));
    assert_int_equal(fk_count(&w, 0, KP_API_OFFSET_COMMIT, NULL), 0); /* nothing changed */
    assert_int_equal(fk_count(&w, 2, KP_API_LIST_OFFSETS, NULL), 1);  /* each leader asked */
    assert_int_equal(fk_count(&w, 3, KP_API_LIST_OFFSETS, NULL), 1);
    assert_int_equal(fk_count(&w, 1, KP_API_LIST_OFFSETS, NULL), 0);
    fk_run_free(&r);
    fk_stop(&w);
}

static void test_cli_kverbs_reset_offsets_execute_commits_at_the_coordinator(void **state)
{
    (void)state;
    struct fk_world w;
    struct seen s;
    reset_start(&w, &s, "Empty");
    FK_SET(&w, w.coordinator = 2);
    const char *line = "groups reset-offsets app --topic t:1 --to-latest --execute";
    struct fk_run r = fk_cli(&w, line, 5000, NULL);
    fk_expect_status(&r, line, CLI_OK);
    assert_null(strstr(r.err, "Dry run"));
    assert_int_equal(fk_count(&w, 0, KP_API_OFFSET_COMMIT, NULL), 1);
    assert_int_equal(fk_count(&w, 2, KP_API_OFFSET_COMMIT, NULL), 1);
    expect_sent(&w, &s, "gen=-1 member='' t-1=101"); /* standalone: no generation, no member */
    fk_run_free(&r);
    line = "groups reset-offsets app --topic t --to-offset 5 --execute --json";
    memset(s.sent, 0, sizeof(s.sent));
    r = fk_cli(&w, line, 5000, NULL);
    fk_expect_status(&r, line, CLI_OK);
    expect_sent(&w, &s, "gen=-1 member='' t-0=10 t-1=11"); /* 5 is below the log start */
    assert_non_null(strstr(r.out, "\"partition\":1"));
    fk_run_free(&r);
    fk_stop(&w);
}

static void test_cli_kverbs_reset_offsets_refuses_an_active_group(void **state)
{
    (void)state;
    struct fk_world w;
    struct seen s;
    reset_start(&w, &s, "Stable");
    const char *line = "groups reset-offsets app --topic t --to-earliest --execute";
    struct fk_run r = fk_cli(&w, line, 5000, NULL);
    fk_expect_status(&r, line, CLI_EBROKER);
    assert_non_null(strstr(r.err, "inactive"));
    assert_non_null(strstr(r.err, "Stable"));
    assert_string_equal(r.out, "");
    assert_int_equal(fk_count(&w, 0, KP_API_OFFSET_COMMIT, NULL), 0);
    fk_run_free(&r);
    line = "groups reset-offsets app --topic t --to-earliest --dry-run --execute";
    r = fk_cli(&w, line, 5000, NULL);
    fk_expect_status(&r, line, CLI_EUSAGE);
    fk_run_free(&r);
    fk_stop(&w);
}

/* ---- configs alter --------------------------------------------------------------------------- */

static int configs_world(struct fk_world *w, struct fk_broker *b, const struct kp_request *req,
                         void *resp, struct kp_arena *arena)
{
    struct seen *s = w->arg;
    (void)b;
    if (req->hdr.request_api_key == KP_API_DESCRIBE_CONFIGS) {
        const struct kp_describe_configs_req *q = req->msg;
        struct kp_describe_configs_resp *r = resp;
        struct kp_describe_configs_resp_result *res =
            kp_new(arena, &kp_describe_configs_resp_result_schema, 1);
        struct kp_describe_configs_resp_resource_result *c =
            kp_new(arena, &kp_describe_configs_resp_resource_result_schema, 3);
        c[0].name = kp_slice_str("retention.ms"), c[0].value = kp_slice_str("1000");
        c[0].config_source = 1; /* the topic's own: kept */
        c[1].name = kp_slice_str("cleanup.policy"), c[1].value = kp_slice_str("delete");
        c[1].config_source = 5; /* a default: not part of the set */
        c[2].name = kp_slice_str("segment.ms"), c[2].value = kp_slice_str("60000");
        c[2].config_source = 1; /* changed by the verb */
        res->resource_type = q->resources.v[0].resource_type;
        res->resource_name = q->resources.v[0].resource_name;
        KP_SET(res->configs, 3, c);
        KP_SET(r->results, 1, res);
        return 0;
    }
    if (req->hdr.request_api_key == KP_API_ALTER_CONFIGS) {
        const struct kp_alter_configs_req *q = req->msg;
        struct kp_alter_configs_resp *r = resp;
        for (int32_t i = 0; i < q->resources.v[0].configs.n; i++)
            sentf(s, "%s%.*s=%.*s", i ? "," : "", (int)q->resources.v[0].configs.v[i].name.len,
                  q->resources.v[0].configs.v[i].name.p,
                  (int)q->resources.v[0].configs.v[i].value.len,
                  q->resources.v[0].configs.v[i].value.p);
        KP_SET(r->responses, 1, kp_new(arena, &kp_alter_configs_resp_resource_response_schema, 1));
        return 0;
    }
    if (req->hdr.request_api_key == KP_API_INCREMENTAL_ALTER_CONFIGS) {
        const struct kp_incremental_alter_configs_req *q = req->msg;
        struct kp_incremental_alter_configs_resp *r = resp;
        for (int32_t i = 0; i < q->resources.v[0].configs.n; i++) {
            const struct kp_incremental_alter_configs_req_alterable_config *c =
                &q->resources.v[0].configs.v[i];
            sentf(s, "%s%d:%.*s=%.*s", i ? "," : "", c->config_operation, (int)c->name.len,
                  c->name.p, (int)KC_MAX(c->value.len, 0), c->value.p);
        }
        KP_SET(r->responses, 1,
               kp_new(arena,
                      &kp_incremental_alter_configs_resp_alter_configs_resource_response_schema,
                      1));
        return 0;
    }
    return 1;
}

static void test_cli_kverbs_configs_alter_incremental_or_merged_whole_set(void **state)
{
    (void)state;
    struct fk_world w;
    struct seen s = {0};
    fk_start(&w, 1);
    FK_SET(&w, w.handle = configs_world, w.arg = &s);
    const char *line = "configs alter --topic t --add-config segment.ms=5,flush.ms=7 "
                       "--delete-config retention.ms";
    struct fk_run r = fk_cli(&w, line, 5000, NULL);
    fk_expect_status(&r, line, CLI_OK);
    assert_string_equal(r.out, "Completed updating config for topic t.\n");
    expect_sent(&w, &s, "0:segment.ms=5,0:flush.ms=7,1:retention.ms="); /* SET, SET, DELETE */
    assert_int_equal(fk_count(&w, 0, KP_API_ALTER_CONFIGS, NULL), 0);
    fk_run_free(&r);
    /* a broker from before Kafka 2.3: the whole set, what it has merged with the change */
    fk_versions(&w, KP_API_INCREMENTAL_ALTER_CONFIGS, 1, 0);
    FK_SET(&w, memset(s.sent, 0, sizeof(s.sent)));
    line = "configs alter --topic t --add-config segment.ms=5 --json";
    r = fk_cli(&w, line, 5000, NULL);
    fk_expect_status(&r, line, CLI_OK);
    expect_sent(&w, &s, "retention.ms=1000,segment.ms=5");
    assert_non_null(strstr(r.out, "\"api\":\"AlterConfigs\""));
    assert_int_equal(fk_count(&w, 0, KP_API_INCREMENTAL_ALTER_CONFIGS, NULL), 1); /* earlier */
    fk_run_free(&r);
    FK_SET(&w, memset(s.sent, 0, sizeof(s.sent)));
    line = "configs alter --topic t --delete-config retention.ms";
    r = fk_cli(&w, line, 5000, NULL);
    fk_expect_status(&r, line, CLI_OK);
    expect_sent(&w, &s, "segment.ms=60000"); /* deleting = leaving it out */
    fk_run_free(&r);
    fk_stop(&w);
}

/* ---- scram set --------------------------------------------------------------------------------
 */

static int scram_world(struct fk_world *w, struct fk_broker *b, const struct kp_request *req,
                       void *resp, struct kp_arena *arena)
{
    struct seen *s = w->arg;
    (void)b;
    if (req->hdr.request_api_key != KP_API_ALTER_USER_SCRAM_CREDENTIALS)
        return 1;
    const struct kp_alter_user_scram_credentials_req *q = req->msg;
    struct kp_alter_user_scram_credentials_resp *r = resp;
    struct kp_alter_user_scram_credentials_resp_result *res =
        kp_new(arena, &kp_alter_user_scram_credentials_resp_result_schema, 1);
    if (q->upsertions.n != 1 || q->deletions.n != 0)
        return -1; /* not what scram set sends: the test sees the connection close */
    const struct kp_alter_user_scram_credentials_req_scram_credential_upsertion *u =
        &q->upsertions.v[0];
    sentf(s, "%.*s", (int)u->name.len, u->name.p);
    s->mechanism = u->mechanism;
    s->iterations = u->iterations;
    s->nsalt = (int32_t)KC_MIN((size_t)u->salt.len, sizeof(s->salt));
    s->nsalted = (int32_t)KC_MIN((size_t)u->salted_password.len, sizeof(s->salted));
    memcpy(s->salt, u->salt.p, (size_t)s->nsalt);
    memcpy(s->salted, u->salted_password.p, (size_t)s->nsalted);
    res->user = u->name;
    KP_SET(r->results, 1, res);
    return 0;
}

static void test_cli_kverbs_scram_set_sends_pbkdf2_never_the_password(void **state)
{
    (void)state;
    struct fk_world w;
    struct seen s = {0};
    uint8_t want[32];
    fk_start(&w, 1);
    FK_SET(&w, w.handle = scram_world, w.arg = &s);
    const char *line = "scram set bob --mechanism SCRAM-SHA-256 --iterations 4096";
    unsetenv("KAFKA_CLI_SCRAM_PASSWORD");
    struct fk_run r = fk_cli(&w, line, 5000, NULL);
    fk_expect_status(&r, line, CLI_EUSAGE); /* no password anywhere: nothing sent */
    assert_non_null(strstr(r.err, "KAFKA_CLI_SCRAM_PASSWORD"));
    assert_int_equal(fk_count(&w, 0, KP_API_ALTER_USER_SCRAM_CREDENTIALS, NULL), 0);
    fk_run_free(&r);
    setenv("KAFKA_CLI_SCRAM_PASSWORD", "hunter2", 1);
    r = fk_cli(&w, line, 5000, NULL);
    unsetenv("KAFKA_CLI_SCRAM_PASSWORD");
    fk_expect_status(&r, line, CLI_OK);
    expect_sent(&w, &s, "bob");
    pthread_mutex_lock(&w.mu);
    assert_int_equal(s.mechanism, 1); /* Kafka's ScramMechanism: 1 SHA-256, 2 SHA-512 */
    assert_int_equal(s.iterations, 4096);
    assert_true(s.nsalt >= 16);
    assert_int_equal(s.nsalted, 32);
    assert_int_equal(PKCS5_PBKDF2_HMAC("hunter2", 7, s.salt, s.nsalt, 4096, EVP_sha256(),
                                       (int)sizeof(want), want),
                     1);
    assert_memory_equal(s.salted, want, sizeof(want));
    pthread_mutex_unlock(&w.mu);
    fk_run_free(&r);
    fk_stop(&w);
}

/* ---- acls add ----------------------------------------------------------------------------------
 */

static int acls_world(struct fk_world *w, struct fk_broker *b, const struct kp_request *req,
                      void *resp, struct kp_arena *arena)
{
    struct seen *s = w->arg;
    (void)b;
    if (req->hdr.request_api_key != KP_API_CREATE_ACLS)
        return 1;
    const struct kp_create_acls_req *q = req->msg;
    struct kp_create_acls_resp *r = resp;
    for (int32_t i = 0; i < q->creations.n; i++) {
        const struct kp_create_acls_req_acl_creation *c = &q->creations.v[i];
        sentf(s, "%s%d:%.*s:%d:%.*s:%.*s:%d:%d", i ? " " : "", c->resource_type,
              (int)c->resource_name.len, c->resource_name.p, c->resource_pattern_type,
              (int)c->principal.len, c->principal.p, (int)c->host.len, c->host.p, c->operation,
              c->permission_type);
    }
    KP_SET(r->results, q->creations.n,
           kp_new(arena, &kp_create_acls_resp_acl_creation_result_schema, q->creations.n));
    return 0;
}

/* Every principal x operation x resource named, as kafka-acls.sh makes them; an operation
 * the resource cannot have, or a principal without its type, refused before sending. */
static void test_cli_kverbs_acls_add_sends_every_combination(void **state)
{
    (void)state;
    struct fk_world w;
    struct seen s = {0};
    fk_start(&w, 1);
    FK_SET(&w, w.handle = acls_world, w.arg = &s);
    const char *line = "acls add --allow-principal User:alice --operation Read --operation "
                       "Describe --topic payments --group app --resource-pattern-type prefixed";
    struct fk_run r = fk_cli(&w, line, 5000, NULL);
    fk_expect_status(&r, line, CLI_OK);
    /* type:name:pattern:principal:host:operation:permission (2 topic, 3 group; 4 prefixed;
     * 3 Read, 8 Describe; 3 Allow) */
    expect_sent(&w, &s,
                "2:payments:4:User:alice:*:3:3 2:payments:4:User:alice:*:8:3 "
                "3:app:4:User:alice:*:3:3 3:app:4:User:alice:*:8:3");
    fk_run_free(&r);
    const char *bad[] = {
        "acls add --allow-principal User:alice --operation Write --group app",
        "acls add --allow-principal alice --operation Read --topic t",
        "acls add --allow-principal User:alice --operation Fly --topic t",
        "acls add --allow-principal User:alice --topic t",
    };
    for (size_t i = 0; i < KC_ARRAY_SIZE(bad); i++) {
        r = fk_cli(&w, bad[i], 5000, NULL);
        fk_expect_status(&r, bad[i], CLI_EUSAGE);
        fk_run_free(&r);
    }
    assert_int_equal(fk_count(&w, 0, KP_API_CREATE_ACLS, NULL), 1);
    fk_stop(&w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cli_kverbs_reset_offsets_is_a_dry_run_by_default),
        cmocka_unit_test(test_cli_kverbs_reset_offsets_execute_commits_at_the_coordinator),
        cmocka_unit_test(test_cli_kverbs_reset_offsets_refuses_an_active_group),
        cmocka_unit_test(test_cli_kverbs_configs_alter_incremental_or_merged_whole_set),
        cmocka_unit_test(test_cli_kverbs_scram_set_sends_pbkdf2_never_the_password),
        cmocka_unit_test(test_cli_kverbs_acls_add_sends_every_combination),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
