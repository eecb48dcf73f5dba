/*
 * test_0016_offsets_compaction.c - __consumer_offsets is compacted, as Kafka's is: a group
 * that commits the same partitions thousands of times leaves one record per key once the
 * cleaner has run, and the offsets read back after a clean stop and after kill -9 are the
 * latest ones (the replay of the cleaned log builds the same table).
 *
 * Small segments (offsets.topic.segment.bytes) and a short cleaner backoff make the cleaner
 * act within the test; everything else is the broker's default.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "support/harness.h"
#include "kc_test.h"
#include "kc_time.h"

#define S(s)    np_str(s)
#define COMMITS 3000
#define PARTS   4

static const char *const ARGS[] = {"--override", "offsets.topic.segment.bytes=8192",
                                   "--override", "log.cleaner.backoff.ms=50", NULL};

/* A counter or gauge from /metrics; -1 if absent. */
static double metric(const struct kb_broker *b, const char *name)
{
    char *out = NULL;
    double v = -1;
    assert_int_equal(kb_http_get(b, "/metrics", &out), 200);
    size_t nlen = strlen(name);
    for (char *p = out; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
        if (strncmp(p, name, nlen) == 0 && p[nlen] == ' ')
            v = strtod(p + nlen + 1, NULL);
    free(out);
    return v;
}

/* Bytes of the .log segments of __consumer_offsets-0. */
static long long offsets_log_bytes(const struct kb_broker *b)
{
    char dir[600], path[1200];
    snprintf(dir, sizeof(dir), "%s/__consumer_offsets-0", b->data);
    DIR *d = opendir(dir);
    assert_non_null(d);
    long long total = 0;
    struct dirent *de;
    struct stat st;
    while ((de = readdir(d)) != NULL) {
        size_t n = strlen(de->d_name);
        if (n < 4 || strcmp(de->d_name + n - 4, ".log") != 0)
            continue;
        snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
        if (stat(path, &st) == 0)
            total += (long long)st.st_size;
    }
    closedir(d);
    return total;
}

static void commit_many(const struct kb_broker *b)
{
    struct np_client c;
    struct np_create_topic_resp cr;
    kb_client(b, &c);
    assert_int_equal(np_client_create_topic(&c, "t", PARTS, &cr), 0);
    for (int i = 1; i <= COMMITS; i++) {
        struct np_commit_req req = {S("g"), S("t"), i % PARTS, i, S("m")};
        assert_int_equal(np_client_commit(&c, &req), 0);
    }
    struct np_commit_req once = {S("other"), S("t"), 0, 77, {NULL, -1}};
    assert_int_equal(np_client_commit(&c, &once), 0);
    np_client_close(&c);
}

static void check_offsets(const struct kb_broker *b)
{
    struct np_client c;
    struct np_fetch_offset_resp fr;
    kb_client(b, &c);
    for (int p = 0; p < PARTS; p++) {
        struct np_fetch_offset_req q = {S("g"), S("t"), p};
        assert_int_equal(np_client_fetch_offset(&c, &q, &fr), 0);
        int64_t want = COMMITS - ((COMMITS - p) % PARTS); /* the last i with i % PARTS == p */
        assert_int_equal(fr.offset, want);
        assert_int_equal(fr.metadata.len, 1);
    }
    struct np_fetch_offset_req q = {S("other"), S("t"), 0};
    assert_int_equal(np_client_fetch_offset(&c, &q, &fr), 0);
    assert_int_equal(fr.offset, 77);
    assert_int_equal(fr.metadata.len, -1);
    np_client_close(&c);
}

static void test_0016_commits_compacted_and_replayed_after_stop_and_kill9(void **state)
{
    struct kb_broker *b = *state;
    kb_start(b, ARGS);
    commit_many(b);
    int64_t t0 = kc_mono_ms();
    while (metric(b, "kafka_log_cleaner_cleanings_total") < 1 && kc_mono_ms() - t0 < KB_WAIT_MS)
        kc_sleep_ms(50);
    assert_true(metric(b, "kafka_log_cleaner_cleanings_total") >= 1);
    assert_int_equal(metric(b, "kafka_log_cleaner_errors_total"), 0);
    long long after = offsets_log_bytes(b);
    /* Each commit is a batch of its own, 61 bytes of header and its record: without the
     * cleaner the partition would hold more than COMMITS * 61 bytes. */
    printf("# __consumer_offsets-0: %lld bytes of segments for %d commits (at least %d "
           "without compaction)\n", after, COMMITS + 1, (COMMITS + 1) * 61);
    assert_true(after < (COMMITS + 1) * 61 / 4); /* 5 keys: most of it goes */
    check_offsets(b);
    kb_stop(b);
    kb_start(b, ARGS);
    check_offsets(b);
    kb_kill9(b);
    kb_start(b, ARGS);
    check_offsets(b);
    kb_stop(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(
            test_0016_commits_compacted_and_replayed_after_stop_and_kill9, kb_setup,
            kb_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
