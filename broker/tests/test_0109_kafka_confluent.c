/*
 * test_0109_kafka_confluent.c - confluent-kafka (Debian's python3-confluent-kafka 1.7.0 on
 * librdkafka 2.0.2) against the broker. With the broker's table librdkafka speaks
 * ApiVersions v3 at once (no fallback round trip), and the flexible OffsetCommit v7 and
 * OffsetFetch v7 in its group; its feature checks (versions.c) must all pass:
 *
 *   list_topics   the one broker at its real address, the topics and their partitions
 *   produce       1,000 records with each codec (none, gzip, snappy, lz4, zstd), acks=all:
 *                 every delivery report clean; and on disk each codec's batches as the
 *                 client compressed them - librdkafka compresses only when the advertised
 *                 ranges hold Produce 0 (gzip, snappy, lz4) and Produce 7 + Fetch 10 (zstd)
 *   group         a group consumer reads all 5,000 once and commits synchronously; the
 *                 commits are what kafka_cli 4 reads through the native protocol
 *
 * The client runs as broker/tests/kafka/confluent_e2e.py under Debian's /usr/bin/python3.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "kafka/kt.h"

#define PYTHON "/usr/bin/python3" /* Debian's: the one python3-confluent-kafka is for */
#define PER_CODEC 1000

static const char *const codecs[] = {"none", "gzip", "snappy", "lz4", "zstd"};

static int setup(void **state)
{
    kt_require(PYTHON, "python3");
    if (system(PYTHON " -c 'import confluent_kafka' 2>/dev/null") != 0)
        fail_msg("confluent-kafka is not installed: run scripts/deps.sh test (Debian package "
                 "python3-confluent-kafka)");
    return kb_setup_started(state);
}

static char *script(const struct kb_broker *b, const char *const *args, int n)
{
    char path[1024], *out, *err;
    const char *src = getenv("KC_SRC_DIR");
    const char *argv[12] = {PYTHON, path};
    snprintf(path, sizeof(path), "%s/broker/tests/kafka/confluent_e2e.py",
             src && *src ? src : ".");
    for (int i = 0; i < n && i < 9; i++)
        argv[2 + i] = args[i];
    int rc = kt_run(b, argv, NULL, 0, 120000, &out, NULL, &err);
    if (rc != 0)
        fail_msg("confluent_e2e.py %s exited %d:\n%s", args[0], rc, err);
    free(err);
    return out;
}

/* Count the batches of topic-p's first segment by codec (attributes' low 3 bits). */
static void codecs_on_disk(const struct kb_broker *b, int p, int count[8])
{
    char path[700];
    size_t len, at = 0;
    snprintf(path, sizeof(path), "%s/cf-%d/00000000000000000000.log", b->data, p);
    char *log = kt_slurp(path, &len);
    while (at + KC_BATCH_HEADER_SIZE <= len) {
        size_t size;
        assert_int_equal(kc_batch_size((const uint8_t *)log + at, len - at, &size), 0);
        count[kc_load_be16((const uint8_t *)log + at + KC_BATCH_OFF_ATTRIBUTES) & 7]++;
        at += size;
    }
    free(log);
}

static void test_0109_list_topics_produce_every_codec_group_commits(void **state)
{
    struct kb_broker *b = *state;
    char *out, *err, count[16], line[128];
    const char *create[] = {"0", "cf", "2", NULL};
    assert_int_equal(kb_cli(b, NULL, &out, &err, create), 0);
    free(out);
    free(err);

    const char *topics[] = {"topics", kt_addr(b)};
    out = script(b, topics, 2);
    snprintf(line, sizeof(line), "broker 0 127.0.0.1:%d\n", b->port);
    assert_non_null(strstr(out, line));
    assert_non_null(strstr(out, "topic cf partitions 2\n"));
    assert_non_null(strstr(out, "topic __consumer_offsets partitions 1\n"));
    free(out);

    snprintf(count, sizeof(count), "%d", PER_CODEC);
    for (size_t i = 0; i < KC_ARRAY_SIZE(codecs); i++) {
        const char *produce[] = {"produce", kt_addr(b), "cf", count, codecs[i]};
        out = script(b, produce, 5);
        assert_non_null(strstr(out, "delivered 1000\n"));
        free(out);
    }
    int on_disk[8] = {0};
    for (int p = 0; p < 2; p++)
        codecs_on_disk(b, p, on_disk);
    printf("# batches on disk by codec: none %d gzip %d snappy %d lz4 %d zstd %d\n", on_disk[0],
           on_disk[1], on_disk[2], on_disk[3], on_disk[4]);
    for (int c = 0; c <= 4; c++)
        assert_true(on_disk[c] > 0); /* each codec arrived as the client compressed it */

    snprintf(count, sizeof(count), "%d", 5 * PER_CODEC);
    const char *group[] = {"group", kt_addr(b), "cf", "cfg", count};
    out = script(b, group, 5);
    printf("# %s", out);
    assert_non_null(strstr(out, "consumed 5000\n"));
    int64_t total = 0;
    for (int p = 0; p < 2; p++) {
        char part[12], *cout, *cerr;
        snprintf(part, sizeof(part), "%d", p);
        const char *args[] = {"4", "cfg", "cf", part, NULL};
        assert_int_equal(kb_cli(b, NULL, &cout, &cerr, args), 0);
        snprintf(line, sizeof(line), "partition %d committed %lld\n", p, atoll(cout));
        assert_non_null(strstr(out, line)); /* OffsetFetch v7 and kafka_cli 4 agree */
        total += atoll(cout);
        free(cout);
        free(cerr);
    }
    assert_int_equal(total, 5 * PER_CODEC); /* every record read, its offset committed */
    free(out);
    kt_assert_serving(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_0109_list_topics_produce_every_codec_group_commits,
                                        setup, kb_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
