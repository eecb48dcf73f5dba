/*
 * test_cli_kafka.c - the admin verbs' pure logic, without a broker: version choice, error
 * names, topic ids, and reading what people type (--topic T:0,2, --to-datetime, kafka-
 * configs.sh's config lists, ACL operations, kafka-delete-records.sh's offsets file,
 * repeated options).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli_admin.h"
#include "kc_common.h"
#include "sec_acl.h"

static void offer(struct cli_kversions *v, int16_t key, int16_t min, int16_t max)
{
    v->has[key] = true;
    v->min[key] = min;
    v->max[key] = max;
}

static void test_cli_kversion_pick_highest_common_or_says_why(void **state)
{
    (void)state;
    struct cli_kversions v;
    memset(&v, 0, sizeof(v));
    const struct kp_api *md = kp_api_find(KP_API_METADATA);
    assert_int_equal(cli__kversion_pick(&v, KP_API_METADATA, 4, 12), CLI_KV_NOT_OFFERED);
    offer(&v, KP_API_METADATA, 0, 12);
    assert_int_equal(cli__kversion_pick(&v, KP_API_METADATA, 4, 12), 12);
    assert_int_equal(cli__kversion_pick(&v, KP_API_METADATA, 4, 9), 9); /* our ceiling */
    offer(&v, KP_API_METADATA, 0, 7);
    assert_int_equal(cli__kversion_pick(&v, KP_API_METADATA, 4, 12), 7); /* theirs */
    offer(&v, KP_API_METADATA, 0, 3);
    assert_int_equal(cli__kversion_pick(&v, KP_API_METADATA, 4, 12), CLI_KV_NO_OVERLAP);
    offer(&v, KP_API_METADATA, 13, 20); /* a future broker that dropped what we speak */
    assert_int_equal(cli__kversion_pick(&v, KP_API_METADATA, 4, 12), CLI_KV_NO_OVERLAP);
    offer(&v, KP_API_METADATA, 0, 99); /* beyond the codec: never above what it encodes */
    assert_int_equal(cli__kversion_pick(&v, KP_API_METADATA, 0, 99), md->max);
    assert_int_equal(cli__kversion_pick(&v, 127, 0, 1), CLI_KV_NOT_OFFERED); /* no such API */
    assert_int_equal(cli__kversion_pick(&v, -1, 0, 1), CLI_KV_NOT_OFFERED);
}

static void test_cli_kerr_names_every_kafka_code_and_which_to_retry(void **state)
{
    (void)state;
    assert_string_equal(cli__kerr_name(36), "TOPIC_ALREADY_EXISTS"); /* from libbrk_kp */
    assert_string_equal(cli__kerr_name(41), "NOT_CONTROLLER");       /* the CLI's own */
    assert_string_equal(cli__kerr_name(69), "GROUP_ID_NOT_FOUND");
    assert_string_equal(cli__kerr_name(91), "RESOURCE_NOT_FOUND");
    assert_string_equal(cli__kerr_name(-1), "UNKNOWN_SERVER_ERROR");
    for (int16_t c = -1; c <= 120; c++) /* every code Kafka 3.9 has */
        if (strcmp(cli__kerr_name(c), "UNKNOWN") == 0 && c != 0)
            fail_msg("code %d has no name", c);
    assert_string_equal(cli__kerr_name(30000), "UNKNOWN");
    const int16_t again[] = {5, 6, 14, 15, 16, 41};
    for (size_t i = 0; i < KC_ARRAY_SIZE(again); i++)
        assert_true(cli__kerr_retriable(again[i]));
    const int16_t final[] = {0, -1, 3, 29, 36, 37, 38, 40, 68, 69};
    for (size_t i = 0; i < KC_ARRAY_SIZE(final); i++)
        assert_false(cli__kerr_retriable(final[i]));
}

static void test_cli_kuuid_str_is_kafkas_url_safe_base64(void **state)
{
    (void)state;
    struct kp_uuid id = {{0}};
    char buf[23];
    cli__kuuid_str(&id, buf);
    assert_string_equal(buf, "AAAAAAAAAAAAAAAAAAAAAA");
    memset(id.b, 0xff, sizeof(id.b));
    cli__kuuid_str(&id, buf);
    assert_string_equal(buf, "_____________________w");
    for (int i = 0; i < 16; i++)
        id.b[i] = (uint8_t)(0xf8 + i); /* '+' and '/' of plain base64 are '-' and '_' */
    cli__kuuid_str(&id, buf);
    assert_string_equal(buf, "-Pn6-_z9_v8AAQIDBAUGBw");
    assert_int_equal(strlen(buf), 22);
}

static void test_cli_parse_topic_parts_reads_kafkas_topic_syntax(void **state)
{
    (void)state;
    char topic[16];
    int32_t *parts;
    size_t n;
    assert_int_equal(cli__parse_topic_parts("orders", topic, sizeof(topic), &parts, &n), 0);
    assert_string_equal(topic, "orders");
    assert_null(parts);
    assert_int_equal(n, 0);
    assert_int_equal(cli__parse_topic_parts("orders:0,2,15", topic, sizeof(topic), &parts, &n), 0);
    assert_int_equal(n, 3);
    assert_int_equal(parts[0], 0);
    assert_int_equal(parts[2], 15);
    free(parts);
    const char *bad[] = {"",     ":1",  "t:",     "t:1,",          "t:,1",
                         "t:-1", "t:x", "t:1,,2", "t:99999999999", "a-topic-name-too-long:1"};
    for (size_t i = 0; i < KC_ARRAY_SIZE(bad); i++)
        if (cli__parse_topic_parts(bad[i], topic, sizeof(topic), &parts, &n) != -EINVAL)
            fail_msg("'%s' accepted", bad[i]);
}

static void test_cli_parse_assignment_reads_kafkas_replica_assignment(void **state)
{
    (void)state;
    struct cli_assignment as;
    assert_int_equal(cli__parse_assignment("3:1,2:3,1:2", &as), 0);
    assert_int_equal(as.n, 3);
    static const int32_t want[3][2] = {{3, 1}, {2, 3}, {1, 2}};
    for (int i = 0; i < 3; i++) {
        assert_int_equal(as.len[i], 2);
        assert_int_equal(as.ids[as.off[i]], want[i][0]);
        assert_int_equal(as.ids[as.off[i] + 1], want[i][1]);
    }
    cli__assignment_fini(&as);
    assert_int_equal(cli__parse_assignment("7", &as), 0); /* one partition, one replica */
    assert_int_equal(as.n, 1);
    assert_int_equal(as.len[0], 1);
    assert_int_equal(as.ids[0], 7);
    cli__assignment_fini(&as);
    assert_int_equal(cli__parse_assignment("1:2:3,4", &as), 0); /* lengths: the broker's call */
    assert_int_equal(as.n, 2);
    assert_int_equal(as.len[0], 3);
    assert_int_equal(as.len[1], 1);
    assert_int_equal(as.ids[as.off[1]], 4);
    cli__assignment_fini(&as);
    const char *bad[] = {"",    ",",      ":",   "1:",    ":1",   "1,",  ",1",         "1,,2",
                         "1::2", "1:1",   "2:1:2", "-1",  "x",    "1:y", "99999999999", "1;2"};
    for (size_t i = 0; i < KC_ARRAY_SIZE(bad); i++)
        if (cli__parse_assignment(bad[i], &as) != -EINVAL)
            fail_msg("'%s' accepted", bad[i]);
}

static void expect_time(const char *s, int64_t want)
{
    int64_t ms = 0;
    if (cli__parse_datetime(s, &ms) != 0 || ms != want)
        fail_msg("%s: got %lld, want %lld", s, (long long)ms, (long long)want);
}

static void test_cli_parse_datetime_reads_iso8601_as_kafka_takes_it(void **state)
{
    (void)state;
    int64_t ms;
    expect_time("1970-01-01T00:00:00.000Z", 0);
    expect_time("2024-05-01T12:00:00.000Z", 1714564800000);
    expect_time("2024-05-01T12:00:00Z", 1714564800000);
    expect_time("2024-05-01T12:00Z", 1714564800000);
    expect_time("2024-05-01T12:00:00.5Z", 1714564800500);      /* fractions: ms */
    expect_time("2024-05-01T12:00:00.123456Z", 1714564800123); /* beyond ms: dropped */
    expect_time("2024-05-01T14:00:00+02:00", 1714564800000);
    expect_time("2024-05-01T14:00:00+0200", 1714564800000);
    expect_time("2024-05-01T06:30:00-05:30", 1714564800000);
    expect_time("2024-02-29T00:00:00Z", 1709164800000); /* a leap day */
    /* no zone: local time, as Kafka's tool reads it */
    char *tz = getenv("TZ") ? strdup(getenv("TZ")) : NULL;
    setenv("TZ", "UTC-3", 1);
    tzset();
    expect_time("2024-05-01T15:00:00", 1714564800000);
    if (tz)
        setenv("TZ", tz, 1);
    else
        unsetenv("TZ");
    tzset();
    free(tz);
    const char *bad[] = {"",
                         "2024-05-01",
                         "2024-05-01 12:00:00Z",
                         "2024-13-01T00:00Z",
                         "2024-04-31T00:00Z",
                         "2023-02-29T00:00Z",
                         "2024-05-01T24:00Z",
                         "2024-05-01T12:60Z",
                         "2024-05-01T12:00:00.Z",
                         "2024-05-01T12:00:00X",
                         "2024-05-01T12:00:00+25:00",
                         "2024-05-01T12:00:00+02",
                         "24-05-01T12:00Z",
                         "2024-05-01T12:00:00Z trailing"};
    for (size_t i = 0; i < KC_ARRAY_SIZE(bad); i++)
        if (cli__parse_datetime(bad[i], &ms) != -EINVAL)
            fail_msg("'%s' accepted", bad[i]);
}

static void expect_list(const char *text, bool pairs, int want_n, const char *const *want)
{
    char buf[256];
    const char *out[8];
    int n = -1;
    int rc = cli__parse_config_list(text, pairs, buf, sizeof(buf), out, 8, &n);
    if (rc != 0 || n != want_n)
        fail_msg("'%s': rc %d, %d items (want %d)", text, rc, n, want_n);
    for (int i = 0; i < n; i++)
        if (strcmp(out[i], want[i]) != 0)
            fail_msg("'%s': item %d is '%s', want '%s'", text, i, out[i], want[i]);
}

static void test_cli_parse_config_list_reads_kafka_configs_syntax(void **state)
{
    (void)state;
    char buf[32];
    const char *out[2];
    int n;
    expect_list("retention.ms=1000", true, 1, (const char *const[]){"retention.ms=1000"});
    expect_list("a=1,b=[x,y,z], c = 3 ", true, 3, (const char *const[]){"a=1", "b=x,y,z", "c=3"});
    expect_list("k=", true, 1, (const char *const[]){"k="}); /* an empty value is a value */
    expect_list("k=a=b", true, 1, (const char *const[]){"k=a=b"});
    expect_list("a,b", false, 2, (const char *const[]){"a", "b"});
    const char *bad_pairs[] = {"", "a", "=1", "a=1,", ",a=1", "a=1,,b=2"};
    for (size_t i = 0; i < KC_ARRAY_SIZE(bad_pairs); i++)
        if (cli__parse_config_list(bad_pairs[i], true, buf, sizeof(buf), out, 2, &n) != -EINVAL)
            fail_msg("pairs '%s' accepted", bad_pairs[i]);
    assert_int_equal(cli__parse_config_list("a=1", false, buf, sizeof(buf), out, 2, &n), -EINVAL);
    assert_int_equal(cli__parse_config_list("a,b,c", false, buf, sizeof(buf), out, 2, &n), -E2BIG);
    assert_int_equal(cli__parse_config_list("k=0123456789012345678901234567890", true, buf,
                                            sizeof(buf), out, 2, &n),
                     -E2BIG);
}

static void test_cli_acl_op_parse_takes_kafkas_spellings(void **state)
{
    (void)state;
    assert_int_equal(cli__acl_op_parse("Read"), SEC_OP_READ);
    assert_int_equal(cli__acl_op_parse("READ"), SEC_OP_READ);
    assert_int_equal(cli__acl_op_parse("DescribeConfigs"), SEC_OP_DESCRIBE_CONFIGS);
    assert_int_equal(cli__acl_op_parse("describe_configs"), SEC_OP_DESCRIBE_CONFIGS);
    assert_int_equal(cli__acl_op_parse("IDEMPOTENT-WRITE"), SEC_OP_IDEMPOTENT_WRITE);
    assert_int_equal(cli__acl_op_parse("ClusterAction"), SEC_OP_CLUSTER_ACTION);
    assert_int_equal(cli__acl_op_parse("All"), SEC_OP_ALL);
    assert_int_equal(cli__acl_op_parse("Any"), 0); /* a filter value, not an operation */
    assert_int_equal(cli__acl_op_parse("Unknown"), 0);
    assert_int_equal(cli__acl_op_parse("Fly"), 0);
    assert_int_equal(cli__acl_op_parse(""), 0);
}

static int offsets_json(const char *text, struct kp_arena *names, struct cli_ktp **tps, size_t *n,
                        char *why)
{
    return cli__parse_offsets_json(text, strlen(text), names, tps, n, why, 256);
}

static void test_cli_offsets_json_reads_kafkas_file_strictly(void **state)
{
    (void)state;
    struct kp_arena names;
    struct cli_ktp *tps;
    size_t n;
    char why[256];
    kp_arena_init(&names, 0);
    assert_int_equal(
        offsets_json("{\"partitions\":[{\"topic\":\"b\",\"partition\":1,\"offset\":-1},"
                     "{\"topic\":\"a\",\"partition\":2,\"offset\":7}],\"version\":1}",
                     &names, &tps, &n, why),
        0);
    assert_int_equal(n, 2); /* sorted by topic, partition */
    assert_string_equal(tps[0].topic, "a");
    assert_int_equal(tps[0].partition, 2);
    assert_int_equal(tps[0].in, 7);
    assert_string_equal(tps[1].topic, "b");
    assert_int_equal(tps[1].in, -1);
    free(tps);
    const struct {
        const char *text, *why;
    } bad[] = {
        {"not json", "not JSON"},
        {"{}", "no \"partitions\""},
        {"{\"partitions\":[]}", "no \"partitions\""},
        {"{\"partitions\":[1]}", "partitions[0] is not an object"},
        {"{\"partitions\":[{\"partition\":0,\"offset\":1}]}", "partitions[0] has no \"topic\""},
        {"{\"partitions\":[{\"topic\":\"t\",\"partition\":-1,\"offset\":1}]}", "\"partition\""},
        {"{\"partitions\":[{\"topic\":\"t\",\"partition\":0,\"offset\":-2}]}", "\"offset\""},
        {"{\"partitions\":[{\"topic\":\"t\",\"partition\":0,\"offset\":\"1\"}]}", "\"offset\""},
        {"{\"partitions\":[{\"topic\":\"t\",\"partition\":0,\"offset\":1},"
         "{\"topic\":\"t\",\"partition\":0,\"offset\":2}]}",
         "t-0 is named twice"},
        {"{\"partitions\":[],\"partitions\":[]}", "not JSON"}, /* duplicate keys refused */
    };
    for (size_t i = 0; i < KC_ARRAY_SIZE(bad); i++) {
        tps = NULL;
        if (offsets_json(bad[i].text, &names, &tps, &n, why) != -EINVAL || !strstr(why, bad[i].why))
            fail_msg("%s: '%s' (want '%s')", bad[i].text, why, bad[i].why);
        assert_null(tps);
    }
    kp_arena_fini(&names);
}

static void test_cli_getopt_collects_repeated_options_in_order(void **state)
{
    (void)state;
    struct cli_optlist configs = {.n = 0};
    const char *one = NULL;
    char *argv[] = {"--config", "a=1", "x", "--config=b=2", "--one", "v1", "--one", "v2"};
    char *pos[2], why[128];
    int n;
    struct cli_opt opts[] = {
        {"config", NULL, NULL, &configs}, {"one", &one, NULL, NULL}, {NULL, NULL, NULL, NULL}};
    assert_int_equal(cli_getopt(8, argv, opts, pos, 2, &n, why, sizeof(why)), 0);
    assert_int_equal(configs.n, 2);
    assert_string_equal(configs.v[0], "a=1");
    assert_string_equal(configs.v[1], "b=2");
    assert_string_equal(one, "v2"); /* a single-valued option: the last one counts */
    assert_int_equal(n, 1);
    char *many[2 * CLI_OPTLIST_MAX + 2];
    for (int i = 0; i < CLI_OPTLIST_MAX + 1; i++)
        many[2 * i] = "--config", many[2 * i + 1] = "k=v";
    configs.n = 0;
    assert_int_equal(cli_getopt(2 * CLI_OPTLIST_MAX + 2, many, opts, pos, 2, &n, why, sizeof(why)),
                     -EINVAL);
    assert_non_null(strstr(why, "more than 64 times"));
}

static void test_cli_ktp_find_and_order(void **state)
{
    (void)state;
    struct cli_ktp v[] = {{.topic = "b", .partition = 0},
                          {.topic = "a", .partition = 10},
                          {.topic = "a", .partition = 2}};
    qsort(v, 3, sizeof(v[0]), cli__ktp_cmp);
    assert_string_equal(v[0].topic, "a");
    assert_int_equal(v[0].partition, 2); /* numbers, not strings: 2 before 10 */
    assert_int_equal(v[1].partition, 10);
    struct cli_ktp *ptrs[3] = {&v[0], &v[1], &v[2]};
    assert_ptr_equal(cli__ktp_find(ptrs, 3, kp_slice_str("a"), 10), &v[1]);
    assert_ptr_equal(cli__ktp_find(ptrs, 3, kp_slice_str("b"), 0), &v[2]);
    assert_null(cli__ktp_find(ptrs, 3, kp_slice_str("b"), 1));
    assert_null(cli__ktp_find(ptrs, 3, kp_slice_str("c"), 0));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cli_kversion_pick_highest_common_or_says_why),
        cmocka_unit_test(test_cli_kerr_names_every_kafka_code_and_which_to_retry),
        cmocka_unit_test(test_cli_kuuid_str_is_kafkas_url_safe_base64),
        cmocka_unit_test(test_cli_parse_topic_parts_reads_kafkas_topic_syntax),
        cmocka_unit_test(test_cli_parse_assignment_reads_kafkas_replica_assignment),
        cmocka_unit_test(test_cli_parse_datetime_reads_iso8601_as_kafka_takes_it),
        cmocka_unit_test(test_cli_parse_config_list_reads_kafka_configs_syntax),
        cmocka_unit_test(test_cli_acl_op_parse_takes_kafkas_spellings),
        cmocka_unit_test(test_cli_offsets_json_reads_kafkas_file_strictly),
        cmocka_unit_test(test_cli_getopt_collects_repeated_options_in_order),
        cmocka_unit_test(test_cli_ktp_find_and_order),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
