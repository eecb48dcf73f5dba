/*
 * test_cli_kclient.c - kafka_cli's Kafka client against fake brokers (support/fake_kafka.h):
 * which broker each request goes to (controller, leader, coordinator), at which version,
 * what happens when the broker lacks an API or answers "ask again", silence, SASL, and the
 * --json document a verb prints. The fakes run in this process, so every test is
 * deterministic and needs no broker, whatever APIs the real one serves today.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "support/fake_kafka.h"
#include "kc_common.h"

static void add_topic(struct fk_world *w, const char *name, int n, const int32_t *leaders)
{
    struct fk_topic *t = &w->topics[w->ntopics++];
    t->name = name;
    t->npartitions = n;
    for (int i = 0; i < n; i++)
        t->leader[i] = leaders[i];
}

/* ---- routing and versions ------------------------------------------------------------------ */

static void test_cli_kclient_create_goes_to_the_controller_at_the_common_version(void **state)
{
    (void)state;
    struct fk_world w;
    fk_start(&w, 3);
    FK_SET(&w, w.controller = 2);
    fk_versions(&w, KP_API_CREATE_TOPICS, 2, 4); /* an older broker: v4 is the best we share */
    const char *line = "topics create orders --partitions 3 --replication-factor 1";
    struct fk_run r = fk_cli(&w, line, 5000, NULL);
    fk_expect_status(&r, line, CLI_OK);
    assert_string_equal(r.out, "Created topic orders.\n");
    int16_t v = -1;
    assert_int_equal(fk_count(&w, 0, KP_API_CREATE_TOPICS, &v), 1);
    assert_int_equal(fk_count(&w, 2, KP_API_CREATE_TOPICS, NULL), 1);
    assert_int_equal(v, 4);
    assert_true(fk_count(&w, 1, KP_API_METADATA, NULL) >= 1); /* bootstrap found the controller */
    fk_run_free(&r);
    fk_stop(&w);
}

/* NOT_CONTROLLER on the first try: kafka_cli asks Metadata again and resends. */
static int not_controller_once(struct fk_world *w, struct fk_broker *b,
                               const struct kp_request *req, void *resp, struct kp_arena *arena)
{
    int *seen = w->arg;
    (void)b;
    if (req->hdr.request_api_key != KP_API_CREATE_TOPICS || (*seen)++ > 0)
        return 1;
    const struct kp_create_topics_req *q = req->msg;
    struct kp_create_topics_resp *r = resp;
    struct kp_create_topics_resp_creatable_topic_result *t =
        kp_new(arena, &kp_create_topics_resp_creatable_topic_result_schema, 1);
    t->name = q->topics.v[0].name;
    t->error_code = 41; /* NOT_CONTROLLER */
    KP_SET(r->topics, 1, t);
    w->controller = 3; /* it moved */
    return 0;
}

static void test_cli_kclient_not_controller_is_retried_at_the_new_one(void **state)
{
    (void)state;
    struct fk_world w;
    int seen = 0;
    fk_start(&w, 3);
    FK_SET(&w, w.handle = not_controller_once, w.arg = &seen);
    const char *line = "topics create t --partitions 1 --replication-factor 1";
    struct fk_run r = fk_cli(&w, line, 5000, NULL);
    fk_expect_status(&r, line, CLI_OK);
    assert_int_equal(fk_count(&w, 1, KP_API_CREATE_TOPICS, NULL), 1);
    assert_int_equal(fk_count(&w, 3, KP_API_CREATE_TOPICS, NULL), 1);
    assert_true(fk_count(&w, 0, KP_API_METADATA, NULL) >= 2); /* routing refreshed */
    fk_run_free(&r);
    fk_stop(&w);
}

static int delete_records_ok(struct fk_world *w, struct fk_broker *b, const struct kp_request *req,
                             void *resp, struct kp_arena *arena)
{
    (void)w;
    (void)b;
    if (req->hdr.request_api_key != KP_API_DELETE_RECORDS)
        return 1;
    const struct kp_delete_records_req *q = req->msg;
    struct kp_delete_records_resp *r = resp;
    struct kp_delete_records_resp_topic_result *t =
        kp_new(arena, &kp_delete_records_resp_topic_result_schema, q->topics.n);
    for (int32_t i = 0; i < q->topics.n; i++) {
        int32_t n = q->topics.v[i].partitions.n;
        struct kp_delete_records_resp_partition_result *p =
            kp_new(arena, &kp_delete_records_resp_partition_result_schema, n);
        for (int32_t j = 0; j < n; j++) {
            p[j].partition_index = q->topics.v[i].partitions.v[j].partition_index;
            p[j].low_watermark = q->topics.v[i].partitions.v[j].offset;
        }
        t[i].name = q->topics.v[i].name;
        KP_SET(t[i].partitions, n, p);
    }
    KP_SET(r->topics, q->topics.n, t);
    return 0;
}

static void test_cli_kclient_delete_records_goes_to_the_leader_json(void **state)
{
    (void)state;
    struct fk_world w;
    fk_start(&w, 3);
    FK_SET(&w, add_topic(&w, "t", 2, (const int32_t[]){2, 3}), w.handle = delete_records_ok);
    const char *line = "delete-records --topic t --partition 1 --offset 5 --json";
    struct fk_run r = fk_cli(&w, line, 5000, NULL);
    fk_expect_status(&r, line, CLI_OK);
    assert_int_equal(fk_count(&w, 0, KP_API_DELETE_RECORDS, NULL), 1);
    assert_int_equal(fk_count(&w, 3, KP_API_DELETE_RECORDS, NULL), 1); /* partition 1's leader */
    json_error_t jerr;
    json_t *doc = json_loads(r.out, 0, &jerr);
    if (!doc)
        fail_msg("not one JSON document: %s (%s)", jerr.text, r.out);
    char *flat = json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS);
    assert_non_null(strstr(flat, "\"low_watermark\":5"));
    assert_non_null(strstr(flat, "\"topic\":\"t\""));
    free(flat);
    json_decref(doc);
    fk_run_free(&r);
    fk_stop(&w);
}

static int group_empty(struct fk_world *w, struct fk_broker *b, const struct kp_request *req,
                       void *resp, struct kp_arena *arena)
{
    (void)w;
    (void)b;
    if (req->hdr.request_api_key != KP_API_DESCRIBE_GROUPS)
        return 1;
    const struct kp_describe_groups_req *q = req->msg;
    struct kp_describe_groups_resp *r = resp;
    struct kp_describe_groups_resp_described_group *g =
        kp_new(arena, &kp_describe_groups_resp_described_group_schema, 1);
    g->group_id = q->groups.v[0];
    g->group_state = kp_slice_str("Empty");
    g->protocol_type = kp_slice_str("consumer");
    KP_SET(r->groups, 1, g);
    return 0;
}

static void test_cli_kclient_groups_describe_goes_to_the_coordinator(void **state)
{
    (void)state;
    struct fk_world w;
    fk_start(&w, 3);
    FK_SET(&w, w.coordinator = 3, w.handle = group_empty);
    fk_versions(&w, KP_API_OFFSET_FETCH, 1, 7); /* one group per request: nothing committed */
    const char *line = "groups describe app --state";
    struct fk_run r = fk_cli(&w, line, 5000, NULL);
    fk_expect_status(&r, line, CLI_OK);
    assert_true(fk_count(&w, 0, KP_API_FIND_COORDINATOR, NULL) >= 1);
    assert_int_equal(fk_count(&w, 3, KP_API_OFFSET_FETCH, NULL), 1);
    assert_int_equal(
        fk_count(&w, 1, KP_API_OFFSET_FETCH, NULL) + fk_count(&w, 2, KP_API_OFFSET_FETCH, NULL), 0);
    assert_int_equal(fk_count(&w, 0, KP_API_DESCRIBE_GROUPS, NULL), 1);
    assert_int_equal(fk_count(&w, 3, KP_API_DESCRIBE_GROUPS, NULL), 1);
    assert_non_null(strstr(r.out, "Empty"));
    fk_run_free(&r);
    fk_stop(&w);
}

/* ---- what the broker does not offer -------------------------------------------------------- */

static void test_cli_kclient_missing_api_names_it_and_exits_1(void **state)
{
    (void)state;
    /* Each verb with the one API it cannot do without taken away. */
    const struct {
        const char *line;
        int16_t key;
        const char *name;
    } cases[] = {
        {"topics create t --partitions 1 --replication-factor 1", KP_API_CREATE_TOPICS,
         "CreateTopics"},
        {"topics delete t", KP_API_DELETE_TOPICS, "DeleteTopics"},
        {"topics add-partitions t --partitions 4", KP_API_CREATE_PARTITIONS, "CreatePartitions"},
        {"groups list", KP_API_LIST_GROUPS, "ListGroups"},
        {"groups describe app", KP_API_DESCRIBE_GROUPS, "DescribeGroups"},
        {"groups delete app", KP_API_DELETE_GROUPS, "DeleteGroups"},
        {"configs describe --topic t", KP_API_DESCRIBE_CONFIGS, "DescribeConfigs"},
        {"delete-records --topic t --partition 0 --offset 1", KP_API_DELETE_RECORDS,
         "DeleteRecords"},
        {"acls list", KP_API_DESCRIBE_ACLS, "DescribeAcls"},
        {"scram describe", KP_API_DESCRIBE_USER_SCRAM_CREDENTIALS, "DescribeUserScramCredentials"},
    };
    for (size_t i = 0; i < KC_ARRAY_SIZE(cases); i++) {
        struct fk_world w;
        char want[128];
        fk_start(&w, 1);
        FK_SET(&w, add_topic(&w, "t", 1, (const int32_t[]){1}));
        fk_versions(&w, cases[i].key, 1, 0);
        struct fk_run r = fk_cli(&w, cases[i].line, 5000, NULL);
        snprintf(want, sizeof(want), "does not offer %s (Kafka API %d)", cases[i].name,
                 cases[i].key);
        if (r.status != CLI_EBROKER || !strstr(r.err, want) || r.out[0])
            fail_msg("'%s': status %d (want 1), stdout '%s', stderr '%s' (want '%s')",
                     cases[i].line, r.status, r.out, r.err, want);
        assert_int_equal(fk_count(&w, 0, cases[i].key, NULL), 0); /* never sent */
        fk_run_free(&r);
        fk_stop(&w);
    }
}

static void test_cli_kclient_old_api_versions_falls_back_to_v0(void **state)
{
    (void)state;
    struct fk_world w;
    fk_start(&w, 1);
    /* a broker from before KIP-511's v3 */
    FK_SET(&w, add_topic(&w, "t", 2, (const int32_t[]){1, 1}), w.b[0].api_versions_max = 2);
    const char *line = "topics list";
    struct fk_run r = fk_cli(&w, line, 5000, NULL);
    fk_expect_status(&r, line, CLI_OK);
    assert_string_equal(r.out, "t\n");
    int16_t v = -1;
    assert_true(fk_count(&w, 1, KP_API_API_VERSIONS, &v) >= 2); /* asked again, lower */
    assert_true(v <= 2);
    fk_run_free(&r);
    fk_stop(&w);
}

/* ---- time and security ------------------------------------------------------------------ */

static void test_cli_kclient_silent_broker_times_out_exit_3(void **state)
{
    (void)state;
    struct fk_world w;
    fk_start(&w, 1);
    FK_SET(&w, w.b[0].mode = FK_STALL); /* ApiVersions answered, then nothing */
    const char *line = "topics list";
    struct fk_run r = fk_cli(&w, line, 500, NULL);
    fk_expect_status(&r, line, CLI_ENET);
    assert_true(r.ms < 3000);
    assert_string_equal(r.out, "");
    assert_non_null(strstr(r.err, "error:"));
    fk_run_free(&r);
    fk_stop(&w);
}

static void test_cli_kclient_closed_connection_exit_3(void **state)
{
    (void)state;
    struct fk_world w;
    fk_start(&w, 1);
    FK_SET(&w, w.b[0].mode = FK_CLOSE);
    const char *line = "topics list";
    struct fk_run r = fk_cli(&w, line, 5000, NULL);
    fk_expect_status(&r, line, CLI_ENET);
    assert_string_equal(r.out, "");
    fk_run_free(&r);
    fk_stop(&w);
}

static void test_cli_kclient_sasl_plain_handshake_then_authenticate(void **state)
{
    (void)state;
    struct fk_world w;
    fk_start(&w, 1);
    FK_SET(&w, add_topic(&w, "t", 1, (const int32_t[]){1}));
    const char *line = "topics list";
    struct fk_run r = fk_cli(&w, line, 5000, "secret");
    fk_expect_status(&r, line, CLI_OK);
    assert_string_equal(r.out, "t\n");
    int16_t v = -1;
    assert_int_equal(fk_count(&w, 1, KP_API_SASL_HANDSHAKE, &v), 1);
    assert_int_equal(v, 1); /* v1: the exchange in SaslAuthenticate frames */
    assert_int_equal(fk_count(&w, 1, KP_API_SASL_AUTHENTICATE, NULL), 1);
    fk_run_free(&r);
    int metadata = fk_count(&w, 0, KP_API_METADATA, NULL);
    r = fk_cli(&w, line, 5000, "wrong");
    fk_expect_status(&r, line, CLI_EAUTH);
    assert_non_null(strstr(r.err, "SASL_AUTHENTICATION_FAILED"));
    assert_int_equal(fk_count(&w, 0, KP_API_METADATA, NULL), metadata); /* none after a refusal */
    fk_run_free(&r);
    fk_stop(&w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cli_kclient_create_goes_to_the_controller_at_the_common_version),
        cmocka_unit_test(test_cli_kclient_not_controller_is_retried_at_the_new_one),
        cmocka_unit_test(test_cli_kclient_delete_records_goes_to_the_leader_json),
        cmocka_unit_test(test_cli_kclient_groups_describe_goes_to_the_coordinator),
        cmocka_unit_test(test_cli_kclient_missing_api_names_it_and_exits_1),
        cmocka_unit_test(test_cli_kclient_old_api_versions_falls_back_to_v0),
        cmocka_unit_test(test_cli_kclient_silent_broker_times_out_exit_3),
        cmocka_unit_test(test_cli_kclient_closed_connection_exit_3),
        cmocka_unit_test(test_cli_kclient_sasl_plain_handshake_then_authenticate),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
