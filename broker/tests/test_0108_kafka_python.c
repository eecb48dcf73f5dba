/*
 * test_0108_kafka_python.c - kafka-python (Debian's python3-kafka 2.0.2) against the broker:
 * it picks other versions than librdkafka does (it probes with Metadata v0, infers a "2.4"
 * broker from the ApiVersions table, then speaks Metadata v1, Produce v7, Fetch v4,
 * ListOffsets v1, FindCoordinator v0, JoinGroup v2, SyncGroup v1, OffsetCommit v2,
 * OffsetFetch v1, LeaveGroup v1) - so this is what keeps those inside the advertised
 * ranges (broker/kafka/serve/src/versions.c).
 *
 *   produce   2,000 records, keyed and keyless, acks=all, into 3 partitions: every future
 *             resolves, offsets dense per partition
 *   group     two consumers in one group read all 2,000 once and commit synchronously;
 *             the commits are what kafka_cli 4 reads through the native protocol
 *
 * The client runs as broker/tests/kafka/kafka_python_e2e.py under Debian's /usr/bin/python3
 * (the one python3-kafka is installed for).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "kafka/kt.h"

#define PYTHON "/usr/bin/python3" /* Debian's: the one python3-kafka is for */
#define COUNT 2000

static int setup(void **state)
{
    kt_require(PYTHON, "python3");
    if (system(PYTHON " -c 'import kafka' 2>/dev/null") != 0)
        fail_msg("kafka-python is not installed: run scripts/deps.sh test (Debian package "
                 "python3-kafka)");
    return kb_setup_started(state);
}

/* Run the script with args; its stdout (malloc'ed). Fails the test unless it exits 0. */
static char *script(const struct kb_broker *b, const char *const *args, int n)
{
    char path[1024], *out, *err;
    const char *src = getenv("KC_SRC_DIR");
    const char *argv[12] = {PYTHON, path};
    snprintf(path, sizeof(path), "%s/broker/tests/kafka/kafka_python_e2e.py",
             src && *src ? src : ".");
    for (int i = 0; i < n && i < 9; i++)
        argv[2 + i] = args[i];
    int rc = kt_run(b, argv, NULL, 0, 120000, &out, NULL, &err);
    if (rc != 0)
        fail_msg("kafka_python_e2e.py %s exited %d:\n%s", args[0], rc, err);
    free(err);
    return out;
}

static void test_0108_produce_then_a_group_reads_all_and_commits(void **state)
{
    struct kb_broker *b = *state;
    char *out, *err, count[16], line[64];
    const char *create[] = {"0", "py", "3", NULL};
    assert_int_equal(kb_cli(b, NULL, &out, &err, create), 0);
    free(out);
    free(err);
    snprintf(count, sizeof(count), "%d", COUNT);

    const char *produce[] = {"produce", kt_addr(b), "py", count};
    out = script(b, produce, 4);
    printf("# %s", out);
    assert_non_null(strstr(out, "produced 2000\n"));
    int64_t ends[3] = {-1, -1, -1}, total = 0;
    for (int p = 0; p < 3; p++) {
        snprintf(line, sizeof(line), "partition %d end ", p);
        char *at = strstr(out, line);
        assert_non_null(at);
        ends[p] = atoll(at + strlen(line));
        assert_true(ends[p] > 0); /* keyed and keyless records reach every partition */
        total += ends[p];
    }
    assert_int_equal(total, COUNT);
    free(out);

    const char *group[] = {"group", kt_addr(b), "py", "pyg", count};
    out = script(b, group, 5);
    printf("# %s", out);
    assert_non_null(strstr(out, "consumed 2000\n"));
    for (int p = 0; p < 3; p++) {
        snprintf(line, sizeof(line), "partition %d committed %lld\n", p, (long long)ends[p]);
        assert_non_null(strstr(out, line)); /* what OffsetFetch v1 says */
        char part[12], *cout, *cerr;
        snprintf(part, sizeof(part), "%d", p);
        const char *args[] = {"4", "pyg", "py", part, NULL};
        assert_int_equal(kb_cli(b, NULL, &cout, &cerr, args), 0);
        assert_int_equal(atoll(cout), ends[p]); /* one offsets store for both protocols */
        free(cout);
        free(cerr);
    }
    free(out);
    kt_assert_serving(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_0108_produce_then_a_group_reads_all_and_commits,
                                        setup, kb_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
