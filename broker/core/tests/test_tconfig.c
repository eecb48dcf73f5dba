/*
 * test_tconfig.c - Kafka's topic config model (core/src/tconfig.c): checking values as
 * Kafka's LogConfig does, the stored text, sources and synonyms as DescribeConfigs reports
 * them, and what the log and the broker act on.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "brk_config.h"
#include "brk_tconfig.h"
#include "kc_common.h"

static int check(const char *key, const char *value, char *why)
{
    return brk_tcfg_check(key, (int32_t)strlen(key), value, value ? (int32_t)strlen(value) : -1,
                          why, 256);
}

static void test_tconfig_check_values_as_kafka_does(void **state)
{
    char why[256];
    (void)state;
    assert_int_equal(check("retention.ms", "-1", why), 0);
    assert_int_equal(check("retention.ms", " 5000 ", why), 0); /* Kafka trims numbers */
    assert_int_equal(check("retention.ms", "-2", why), -EINVAL);
    assert_string_equal(why, "Invalid value -2 for configuration retention.ms: Value must be "
                             "at least -1");
    assert_int_equal(check("retention.ms", "soon", why), -EINVAL);
    assert_string_equal(why, "Invalid value soon for configuration retention.ms: Not a number "
                             "of type LONG");
    assert_int_equal(check("max.message.bytes", "2147483648", why), -EINVAL); /* an INT */
    assert_int_equal(check("segment.bytes", "1023", why), -EINVAL);
    assert_int_equal(check("cleanup.policy", "compact, delete", why), 0);
    assert_int_equal(check("cleanup.policy", "", why), 0); /* an empty list */
    assert_int_equal(check("cleanup.policy", "compact,shred", why), -EINVAL);
    assert_string_equal(why, "Invalid value compact,shred for configuration cleanup.policy: "
                             "String must be one of: compact, delete");
    assert_int_equal(check("message.timestamp.type", "logappendtime", why), -EINVAL);
    assert_int_equal(check("compression.type", "zstd", why), 0);
    assert_int_equal(check("preallocate", "TRUE", why), 0);
    assert_int_equal(check("preallocate", "yes", why), -EINVAL);
    assert_int_equal(check("min.cleanable.dirty.ratio", "1.5", why), -EINVAL);
    assert_int_equal(check("min.cleanable.dirty.ratio", "0.25", why), 0);
    assert_int_equal(check("no.such", "1", why), -EINVAL);
    assert_string_equal(why, "Unknown topic config name: no.such");
    assert_int_equal(check("retention.ms", NULL, why), -EINVAL); /* null */
    assert_int_equal(check("retention.ms", "1\n2", why), -EINVAL); /* would break the file */
}

static void test_tconfig_set_delete_format_parse_round_trip(void **state)
{
    struct brk_tcfg c = {0}, back;
    char why[256];
    (void)state;
    assert_int_equal(brk_tcfg_set(&c, "segment.ms", 10, "60000", 5, why, sizeof(why)), 0);
    assert_int_equal(brk_tcfg_set(&c, "cleanup.policy", 14, "compact", 7, why, sizeof(why)), 0);
    assert_int_equal(brk_tcfg_set(&c, "segment.ms", 10, "70000", 5, why, sizeof(why)), 0);
    assert_int_equal(c.n, 2);
    assert_int_equal(brk_tcfg_set(&c, "segment.ms", 10, "0", 1, why, sizeof(why)), -EINVAL);
    assert_string_equal(brk_tcfg_get(&c, "segment.ms"), "70000"); /* a refusal keeps it */
    char *text = brk_tcfg_format(&c);
    assert_string_equal(text, "cleanup.policy=compact\nsegment.ms=70000\n"); /* row order */
    brk_tcfg_parse(text, &back);
    free(text);
    assert_int_equal(back.n, 2);
    assert_string_equal(brk_tcfg_get(&back, "cleanup.policy"), "compact");
    brk_tcfg_delete(&back, "cleanup.policy", 14);
    brk_tcfg_delete(&back, "cleanup.policy", 14);
    assert_null(brk_tcfg_get(&back, "cleanup.policy"));
    brk_tcfg_parse("retention.ms=oops\nbogus=1\nsegment.ms=5\n", &back); /* hand-edited */
    assert_int_equal(back.n, 1);
    assert_int_equal(brk_tcfg_is_list("cleanup.policy", 14), 1);
    assert_int_equal(brk_tcfg_is_list("retention.ms", 12), 0);
    assert_int_equal(brk_tcfg_is_list("nope", 4), -EINVAL);
}

static void describe(const struct brk_config *bc, const struct brk_tcfg *c, const char *key,
                     struct brk_tcfg_entry *e)
{
    int i = brk_tcfg_find(key, (int32_t)strlen(key));
    assert_true(i >= 0);
    brk_tcfg_describe(bc, c, i, e);
}

static void test_tconfig_sources_and_synonyms_as_kafka_lists_them(void **state)
{
    struct brk_config bc;
    struct brk_tcfg c = {0};
    struct brk_tcfg_entry e;
    char why[256];
    (void)state;
    brk_config_init(&bc);
    /* Nothing set: Kafka's default, carried by the hours key. */
    describe(&bc, NULL, "retention.ms", &e);
    assert_string_equal(e.value, "604800000");
    assert_int_equal(e.source, BRK_CFGSRC_DEFAULT);
    assert_int_equal(e.nsyn, 1);
    assert_string_equal(e.syn[0].name, "log.retention.hours");
    assert_string_equal(e.syn[0].value, "168");
    /* The broker's file says log.retention.minutes=30: static, scaled to ms. */
    assert_int_equal(brk_config_set(&bc, "log.retention.minutes", "30", why, sizeof(why)), 0);
    describe(&bc, NULL, "retention.ms", &e);
    assert_string_equal(e.value, "1800000");
    assert_int_equal(e.source, BRK_CFGSRC_STATIC_BROKER);
    assert_int_equal(e.nsyn, 2);
    assert_string_equal(e.syn[0].name, "log.retention.minutes");
    assert_string_equal(e.syn[0].value, "30");
    assert_string_equal(e.syn[1].name, "log.retention.hours");
    /* A topic override wins, and leads the synonyms. */
    assert_int_equal(brk_tcfg_set(&c, "retention.ms", 12, "1000", 4, why, sizeof(why)), 0);
    describe(&bc, &c, "retention.ms", &e);
    assert_string_equal(e.value, "1000");
    assert_int_equal(e.source, BRK_CFGSRC_TOPIC);
    assert_int_equal(e.nsyn, 3);
    assert_string_equal(e.syn[0].name, "retention.ms");
    /* A key this broker's own settings hold: its value, given or not. */
    describe(&bc, NULL, "max.message.bytes", &e);
    assert_string_equal(e.value, "1048588");
    assert_string_equal(e.syn[0].name, "message.max.bytes");
    assert_int_equal(e.type, BRK_CFGT_INT);
    describe(&bc, NULL, "cleanup.policy", &e);
    assert_int_equal(e.type, BRK_CFGT_LIST);
    assert_non_null(e.doc);
}

static void test_tconfig_what_acts(void **state)
{
    struct brk_config bc;
    struct brk_tcfg c = {0};
    struct alog_config lc;
    char why[256];
    (void)state;
    brk_config_init(&bc);
    brk_tcfg_log_config(&bc, NULL, &lc);
    assert_int_equal(lc.retention_ms, bc.log.retention_ms);
    assert_true(brk_tcfg_retention_deletes(&bc, NULL));
    assert_false(brk_tcfg_log_append_time(&bc, NULL));
    assert_int_equal(brk_tcfg_set(&c, "retention.bytes", 15, "-5", 2, why, sizeof(why)), 0);
    assert_int_equal(brk_tcfg_set(&c, "max.message.bytes", 17, "0", 1, why, sizeof(why)), 0);
    assert_int_equal(brk_tcfg_set(&c, "segment.bytes", 13, "2048", 4, why, sizeof(why)), 0);
    assert_int_equal(brk_tcfg_set(&c, "cleanup.policy", 14, "compact", 7, why, sizeof(why)), 0);
    assert_int_equal(brk_tcfg_set(&c, "message.timestamp.type", 22, "LogAppendTime", 13, why,
                                  sizeof(why)),
                     0);
    brk_tcfg_log_config(&bc, &c, &lc);
    assert_int_equal(lc.retention_bytes, -1); /* any negative: no limit */
    assert_int_equal(lc.max_batch_bytes, 61); /* 0 refuses every batch */
    assert_int_equal(lc.segment_bytes, 2048);
    assert_false(brk_tcfg_retention_deletes(&bc, &c));
    assert_true(brk_tcfg_log_append_time(&bc, &c));
}

/* The broker's own settings: which were given is kept per key, for more than 64 keys
 * (a table that outgrew one 64-bit mask); describe reports exactly the given ones. */
struct given {
    int keys, set;
    bool last_set;
};

static void count_given(void *arg, const char *key, const char *value, bool set, int type)
{
    struct given *g = arg;
    (void)value, (void)type;
    g->keys++;
    g->set += set;
    g->last_set = set;
    if (set)
        assert_true(!strcmp(key, "broker.rack") || !strcmp(key, "offsets.commit.timeout.ms"));
}

static void test_tconfig_broker_keys_given_are_kept_past_64(void **state)
{
    (void)state;
    struct brk_config cfg;
    char err[256];
    brk_config_init(&cfg);
    assert_int_equal(brk_config_set(&cfg, "broker.rack", "r1", err, sizeof(err)), 0);
    assert_int_equal(brk_config_set(&cfg, "offsets.commit.timeout.ms", "700", err, sizeof(err)),
                     0);
    assert_true(brk_config_is_set(&cfg, "broker.rack"));
    assert_true(brk_config_is_set(&cfg, "offsets.commit.timeout.ms"));
    assert_false(brk_config_is_set(&cfg, "log.dirs"));
    assert_int_equal(cfg.offsets_commit_timeout_ms, 700);
    struct given g = {0};
    brk_config_describe(&cfg, count_given, &g);
    printf("# %d broker keys described, %d given\n", g.keys, g.set);
    assert_true(g.keys >= 64); /* 65 rows: log.dir, log.dirs' alias, is not described */
    assert_int_equal(g.set, 2);
    assert_true(g.last_set); /* broker.rack: the table's last row, past the first 64 */
    assert_int_equal(brk_config_set(&cfg, "offsets.commit.timeout.ms", "0", err, sizeof(err)),
                     -EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tconfig_broker_keys_given_are_kept_past_64),
        cmocka_unit_test(test_tconfig_check_values_as_kafka_does),
        cmocka_unit_test(test_tconfig_set_delete_format_parse_round_trip),
        cmocka_unit_test(test_tconfig_sources_and_synonyms_as_kafka_lists_them),
        cmocka_unit_test(test_tconfig_what_acts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
