/*
 * test_0008_config.c - kafka_broker's settings: a server.properties file with Kafka's
 * names, flags over it, unknown and unused keys reported, bad values refused with the file,
 * line and reason, --help and --version, a port already taken; and retention run
 * periodically by the broker, which never touches the group offsets.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "brk_config.h"
#include "support/harness.h"
#include "kc_common.h"
#include "kc_test.h"

#define S(s)      np_str(s)
#define ARGS(...) ((const char *const[]){__VA_ARGS__, NULL})

static const char *write_config(const struct kb_broker *b, const char *text)
{
    static char path[600];
    snprintf(path, sizeof(path), "%s/server.properties", b->dir);
    assert_int_equal(kc_atomic_replace(path, text, strlen(text)), 0);
    return path;
}

static void test_0008_properties_file_applies_with_flags_on_top(void **state)
{
    struct kb_broker *b = *state;
    const char *path = write_config(b, "# Kafka's own server.properties keys\n"
                                       "broker.id=0\n"
                                       "node.id=0\n"
                                       "num.partitions = 3\n"
                                       "listeners=PLAINTEXT://127.0.0.1:1\n"
                                       "log.segment.bytes=1m\n"
                                       "frobnicate.level=11\n"
                                       "\n! a Java-style comment\n"
                                       "num.network.threads=3\n");
    kb_start(b, ARGS("--config", path)); /* --port 0 from the harness beats the file's 1 */
    struct np_client c;
    struct np_info_resp info;
    struct np_create_topic_resp cr;
    kb_client(b, &c);
    assert_int_equal(np_client_info(&c, &info), 0);
    assert_int_equal(info.default_partitions, 3);
    assert_int_equal(info.network_threads, 3);
    assert_int_equal(np_client_create_topic(&c, "dflt", -1, &cr), 0);
    assert_int_equal(cr.partitions, 3);
    np_client_close(&c);
    assert_true(kb_log_has(b, "unknown key 'frobnicate.level' ignored"));
    assert_true(kb_log_has(b, "node.id is a Kafka setting this broker does not use"));
    kb_stop(b);
}

static void expect_refused(const struct kb_broker *b, const char *const *args, int status,
                           const char *why)
{
    char *o, *e;
    int rc = kb_exec(b, "kafka_broker", NULL, &o, &e, args);
    if (rc != status || !strstr(e, why))
        fail_msg("status %d (want %d); stderr: %s", rc, status, e);
    free(o);
    free(e);
}

static void test_0008_bad_settings_refused_with_the_reason(void **state)
{
    struct kb_broker *b = *state;
    const char *path = write_config(b, "num.partitions=3\nlog.retention.ms=soon\n");
    expect_refused(b, ARGS("--config", path, "--data-dir", b->data), 2,
                   "server.properties:2: log.retention.ms must be an integer");
    path = write_config(b, "this line has no equals sign\n");
    expect_refused(b, ARGS("--config", path), 2, ":1: expected key=value");
    expect_refused(b, ARGS("--config", "/nonexistent/file"), 2, "cannot read config file");
    expect_refused(b, ARGS("--port", "70000"), 2, "--port must be 0 to 65535");
    expect_refused(b, ARGS("--override", "num.partitions=0"), 2, "num.partitions must be");
    expect_refused(b, ARGS("--override", "nope=1"), 2, "unknown key 'nope'");
    expect_refused(b, ARGS("--override", "message.max.bytes=200m"), 2,
                   "cannot exceed socket.request.max.bytes");
    expect_refused(b, ARGS("--bogus"), 2, "unknown argument '--bogus'");
    char *o, *e;
    assert_int_equal(kb_exec(b, "kafka_broker", NULL, &o, &e, ARGS("--help")), 0);
    assert_non_null(strstr(o, "usage: kafka_broker"));
    assert_non_null(strstr(o, "log.retention.ms=604800000"));
    free(o);
    free(e);
    assert_int_equal(kb_exec(b, "kafka_broker", NULL, &o, &e, ARGS("--version")), 0);
    assert_non_null(strstr(o, "kafka_broker 0."));
    free(o);
    free(e);
}

/* advertised.listeners and the group coordinator's timings are parsed, bounded, and
 * default to Kafka's values (Metadata answers with the advertised address). */
static void test_0008_advertised_listener_and_group_timings_parse(void **state)
{
    (void)state;
    struct brk_config cfg;
    char err[256];
    brk_config_init(&cfg);
    assert_int_equal(cfg.group_initial_rebalance_delay_ms, 3000);
    assert_int_equal(cfg.group_min_session_timeout_ms, 6000);
    assert_int_equal(cfg.advertised_port, 0);
    assert_int_equal(brk_config_set(&cfg, "advertised.listeners",
                                    "PLAINTEXT://broker.example:19092", err, sizeof(err)), 0);
    assert_int_equal(brk_config_check(&cfg, err, sizeof(err)), 0); /* entries bind here */
    assert_string_equal(cfg.advertised_host, "broker.example");
    assert_int_equal(cfg.advertised_port, 19092);
    assert_string_equal(cfg.bind, "127.0.0.1"); /* the listener is untouched */
    /* Several listeners: each entry goes to the listener its name says; a name that no
     * listener has is an error that says so. */
    assert_int_equal(brk_config_set(&cfg, "listeners",
                                    "PLAINTEXT://127.0.0.1:0,SASL_PLAINTEXT://127.0.0.1:0", err,
                                    sizeof(err)), 0);
    assert_int_equal(brk_config_set(&cfg, "advertised.listeners",
                                    "PLAINTEXT://a.example:1,SSL://b.example:2", err,
                                    sizeof(err)), 0);
    assert_int_equal(brk_config_check(&cfg, err, sizeof(err)), -EINVAL);
    assert_non_null(strstr(err, "SSL names no listener"));
    assert_int_equal(brk_config_set(&cfg, "advertised.listeners",
                                    "PLAINTEXT://a.example:1,SASL_PLAINTEXT://b.example:2", err,
                                    sizeof(err)), 0);
    assert_int_equal(brk_config_check(&cfg, err, sizeof(err)), 0);
    assert_string_equal(cfg.sec.listeners[1].adv_host, "b.example");
    assert_int_equal(cfg.sec.listeners[1].adv_port, 2);
    assert_int_equal(brk_config_set(&cfg, "advertised.listeners", "a:1,b:2", err, sizeof(err)),
                     0);
    assert_int_equal(brk_config_check(&cfg, err, sizeof(err)), -EINVAL);
    assert_non_null(strstr(err, "advertised twice"));
    assert_int_equal(brk_config_set(&cfg, "group.initial.rebalance.delay.ms", "0", err,
                                    sizeof(err)), 0);
    assert_int_equal(cfg.group_initial_rebalance_delay_ms, 0);
    assert_int_equal(brk_config_set(&cfg, "group.min.session.timeout.ms", "0", err,
                                    sizeof(err)), -EINVAL);
    assert_int_equal(brk_config_set(&cfg, "group.max.session.timeout.ms", "60000", err,
                                    sizeof(err)), 0);
    assert_int_equal(cfg.group_max_session_timeout_ms, 60000);
}

static void test_0008_port_in_use_is_a_clear_error(void **state)
{
    struct kb_broker *b = *state;
    char port[16], dir[600];
    kb_start(b, NULL);
    snprintf(port, sizeof(port), "%d", b->port);
    snprintf(dir, sizeof(dir), "%s/other", b->dir);
    expect_refused(b, ARGS("--port", port, "--data-dir", dir), 1, "cannot listen");
    kb_stop(b);
}

/* Small segments and a byte limit: the broker's periodic retention deletes old segments
 * of user topics, and leaves __consumer_offsets alone. */
static void test_0008_retention_runs_periodically(void **state)
{
    struct kb_broker *b = *state;
    kb_start(b, ARGS("--override", "log.segment.bytes=4096", "--override",
                     "log.retention.bytes=8192", "--override",
                     "log.retention.check.interval.ms=100"));
    struct np_client c;
    struct np_create_topic_resp cr;
    struct np_produce_resp pr;
    struct np_metadata_resp md;
    struct np_metadata_iter it;
    struct np_topic_meta tm;
    struct np_partition_meta pm;
    char v[200];
    kb_client(b, &c);
    assert_int_equal(np_client_create_topic(&c, "old", 1, &cr), 0);
    memset(v, 'r', sizeof(v) - 1);
    v[sizeof(v) - 1] = '\0';
    for (int i = 0; i < 300; i++) { /* ~75 KB: many segments */
        struct np_produce_req req = {S("old"), 0, 1, -1, {NULL, -1}, S(v)};
        assert_int_equal(np_client_produce(&c, &req, &pr), 0);
    }
    for (int i = 0; i < 100; i++) { /* commits: far more than 8 KB of __consumer_offsets */
        struct np_commit_req cm = {S("g"), S("old"), 0, i, S(v)};
        assert_int_equal(np_client_commit(&c, &cm), 0);
    }
    int64_t deadline = kc_mono_ms() + KB_WAIT_MS, start = 0;
    while (start == 0 && kc_mono_ms() < deadline) {
        assert_int_equal(np_client_metadata(&c, "old", &md), 0);
        np_metadata_iter_init(&it, &md);
        assert_int_equal(np_metadata_next(&it, &tm), 1);
        np_metadata_part(&tm, 0, &pm);
        start = pm.log_start;
        kc_sleep_ms(50);
    }
    assert_true(start > 0);
    assert_int_equal(pm.log_end, 300);
    struct np_consume_resp r;
    assert_int_equal(np_client_consume(&c, &(struct np_consume_req){S("old"), 0, 0}, &r),
                     NP_ERR(NP_E_OFFSET_OUT_OF_RANGE));
    assert_int_equal(np_client_metadata(&c, "__consumer_offsets", &md), 0);
    np_metadata_iter_init(&it, &md);
    assert_int_equal(np_metadata_next(&it, &tm), 1);
    np_metadata_part(&tm, 0, &pm);
    assert_int_equal(pm.log_start, 0);
    np_client_close(&c);
    kb_stop(b);
    kb_start(b, NULL); /* the offsets replay from a topic retention never cut */
    kb_client(b, &c);
    struct np_fetch_offset_resp fr;
    struct np_fetch_offset_req q = {S("g"), S("old"), 0};
    assert_int_equal(np_client_fetch_offset(&c, &q, &fr), 0);
    assert_int_equal(fr.offset, 99);
    np_client_close(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_0008_properties_file_applies_with_flags_on_top,
                                        kb_setup, kb_teardown),
        cmocka_unit_test_setup_teardown(test_0008_bad_settings_refused_with_the_reason,
                                        kb_setup, kb_teardown),
        cmocka_unit_test(test_0008_advertised_listener_and_group_timings_parse),
        cmocka_unit_test_setup_teardown(test_0008_port_in_use_is_a_clear_error, kb_setup,
                                        kb_teardown),
        cmocka_unit_test_setup_teardown(test_0008_retention_runs_periodically, kb_setup,
                                        kb_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
