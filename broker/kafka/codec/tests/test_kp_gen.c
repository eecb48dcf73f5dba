/*
 * test_kp_gen.c - the committed generated files are what the generator makes today.
 *
 * Runs `gen/kpgen.py --check` (python3, standard library only) against Kafka's JSON in
 * ../shared/reference/kafka-messages. A fresh clone without ../shared, or a machine
 * without python3, cannot regenerate: the test then skips and says why, since the
 * committed files are what the build uses anyway. It also runs the generator over every
 * JSON definition Kafka has (--all), to show how far the generator reaches beyond the
 * declared list.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>

static int run(const char *root, const char *args)
{
    char cmd[2048];
    snprintf(cmd, sizeof(cmd), "cd '%s' && python3 broker/kafka/codec/gen/kpgen.py %s", root,
             args);
    int st = system(cmd);
    return st == -1 ? -1 : WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

static void test_gen_committed_files_equal_a_fresh_generation(void **state)
{
    (void)state;
    const char *root = getenv("KC_SRC_DIR");
    if (!root || !*root)
        root = ".";
    char path[1024];
    struct stat st;
    snprintf(path, sizeof(path), "%s/../shared/reference/kafka-messages", root);
    if (stat(path, &st) != 0) {
        printf("# SKIP: %s not found: cannot regenerate (the committed files build as they are)\n",
               path);
        skip();
    }
    if (system("command -v python3 >/dev/null 2>&1") != 0) {
        printf("# SKIP: no python3 on this machine: cannot regenerate\n");
        skip();
    }
    int rc = run(root, "--check");
    if (rc != 0)
        fail_msg("the committed kpm_* files differ from a fresh generation (exit %d): run "
                 "`make kp-codegen` and commit, or see the diff above", rc);
    assert_int_equal(run(root, "--all"), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gen_committed_files_equal_a_fresh_generation),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
