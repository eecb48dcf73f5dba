/*
 * test_0106_kafka_kafkajs.c - kafkajs (Node.js) against the broker: a producer (plain and
 * gzip batches, acks=-1) and a two-member consumer group, end to end
 * (broker/tests/kafka/kafkajs_e2e.js), then the group's commits read through the native
 * protocol.
 *
 * kafkajs comes from the npm registry, pinned by broker/tests/kafka/package-lock.json, and
 * is installed with `npm ci` into <build>/kafkajs (never into the source tree) the first
 * time. Without node, npm or the registry the test fails and says why: it never skips.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <libgen.h>
#include <limits.h>

#include "kafka/kt.h"

#define COUNT 6000

static int setup(void **state)
{
    kt_require("node", "nodejs");
    kt_require("npm", "npm");
    return kb_setup_started(state);
}

static void test_0106_producer_and_two_member_group(void **state)
{
    struct kb_broker *b = *state;
    char dir[PATH_MAX], script[PATH_MAX + 64], node_path[PATH_MAX + 32], count[16], *out, *err;
    const char *src = getenv("KC_SRC_DIR");
    kt_kafkajs_dir(b, dir, sizeof(dir));
    const char *create[] = {"0", "js", "3", NULL};
    assert_int_equal(kb_cli(b, NULL, &out, &err, create), 0);
    free(out);
    free(err);

    snprintf(script, sizeof(script), "%s/broker/tests/kafka/kafkajs_e2e.js",
             src && *src ? src : ".");
    snprintf(node_path, sizeof(node_path), "NODE_PATH=%s/node_modules", dir);
    snprintf(count, sizeof(count), "%d", COUNT);
    const char *env[] = {node_path, "KAFKAJS_NO_PARTITIONER_WARNING=1", NULL};
    const char *argv[] = {"node", script, kt_addr(b), "js", "js-group", count, NULL};
    struct kt_proc p;
    kt_spawn(b, &p, argv, NULL, 0, NULL, env);
    int rc = kt_wait(&p, 100000);
    if (rc == -1)
        (void)kt_stop(&p, 1000);
    out = kt_slurp(p.out, NULL);
    err = kt_slurp(p.err, NULL);
    printf("%s", out);
    if (rc != 0)
        fail_msg("kafkajs_e2e.js exited %d; stderr:\n%s", rc, err);
    assert_non_null(strstr(out, "produced=6000 "));
    assert_non_null(strstr(out, "consumed=6000 "));
    assert_non_null(strstr(out, "\nok\n"));
    free(out);
    free(err);

    /* The group's commits, through the native protocol: every record was consumed. */
    int64_t total = 0;
    for (int p2 = 0; p2 < 3; p2++) {
        char part[16];
        snprintf(part, sizeof(part), "%d", p2);
        const char *args[] = {"4", "js-group", "js", part, NULL};
        assert_int_equal(kb_cli(b, NULL, &out, &err, args), 0);
        total += atoll(out);
        free(out);
        free(err);
    }
    assert_int_equal(total, COUNT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_0106_producer_and_two_member_group, setup,
                                        kb_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
