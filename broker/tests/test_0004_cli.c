/*
 * test_0004_cli.c - kafka_cli against a real broker: the one-shot mode's stable output and
 * exit statuses for commands 0-6, produce from stdin, the load test's JSON with --verify,
 * and the interactive Playground driven through a pty (quoting, an error that does not end
 * the session, help, quit).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "support/harness.h"
#include "kc_common.h"
#include "kc_test.h"

/* Run the CLI; check the status, that stdout is exactly `out` (when given), and that stderr
 * contains `err` (when given; otherwise it must be empty). */
static void cli(const struct kb_broker *b, const char *in, int status, const char *out,
                const char *err, const char *const *args)
{
    char *o, *e;
    int rc = kb_cli(b, in, &o, &e, args);
    if (rc != status || (out && strcmp(o, out) != 0) || (err ? !strstr(e, err) : *e != '\0'))
        fail_msg("kafka_cli %s %s: status %d (want %d)\nstdout: [%s]\nstderr: [%s]",
                 args[0] ? args[0] : "", args[0] && args[1] ? args[1] : "", rc, status, o, e);
    free(o);
    free(e);
}

#define ARGS(...) ((const char *const[]){__VA_ARGS__, NULL})

static void test_0004_one_shot_commands_print_stable_lines(void **state)
{
    struct kb_broker *b = *state;
    cli(b, NULL, 0, "topic=payments partitions=3\n", NULL, ARGS("0", "payments", "3"));
    cli(b, NULL, 0, "topic=payments partition=0 offset=0\n", NULL,
        ARGS("1", "payments", "Hello World", "--partition", "0"));
    cli(b, NULL, 0, "0\tHello World\n", NULL, ARGS("2", "payments", "0", "0"));
    cli(b, NULL, 0, "group=groupA topic=payments partition=0 offset=15\n", NULL,
        ARGS("3", "groupA", "payments", "0", "15"));
    cli(b, NULL, 0, "15\n", NULL, ARGS("4", "groupA", "payments", "0"));
    cli(b, NULL, 0, "-1\n", NULL, ARGS("offset", "groupB", "payments", "0"));
    cli(b, NULL, 0, "topic=logs partitions=1\n", NULL, ARGS("create", "logs", "1"));
    cli(b, NULL, 0, "topic=logs partition=0 base_offset=0 count=3\n", NULL,
        ARGS("5", "logs", "error1,error2,error3"));
    cli(b, NULL, 0, "0\terror1\n1\terror2\n2\terror3\n", NULL, ARGS("6", "logs", "0", "0", "100"));
    cli(b, NULL, 0, "1\terror2\n", NULL, ARGS("consume-batch", "logs", "0", "1", "1"));
    cli(b, NULL, 0, "topic=logs partition=0 base_offset=3 count=2\n", NULL,
        ARGS("produce-batch", "logs", "a|b", "--sep", "|"));
    cli(b, NULL, 0, "topic=logs partition=0 log_start=0 log_end=5\n", NULL,
        ARGS("metadata", "logs"));
    /* keyed, acks=all: the line is the same */
    cli(b, NULL, 0, NULL, NULL, ARGS("produce", "payments", "v", "--key", "k", "--acks", "all"));
}

static void test_0004_one_shot_errors_go_to_stderr_with_a_status(void **state)
{
    struct kb_broker *b = *state;
    cli(b, NULL, 0, NULL, NULL, ARGS("0", "payments", "1"));
    cli(b, NULL, 1, "", "error: TOPIC_EXISTS: topic 'payments' already exists",
        ARGS("0", "payments", "1"));
    cli(b, NULL, 1, "", "error: END_OF_LOG", ARGS("2", "payments", "0", "0"));
    cli(b, NULL, 1, "", "error: OFFSET_OUT_OF_RANGE", ARGS("2", "payments", "0", "99"));
    cli(b, NULL, 1, "", "error: UNKNOWN_TOPIC", ARGS("2", "nope", "0", "0"));
    cli(b, NULL, 1, "", "error: INVALID_TOPIC", ARGS("0", "../etc", "1"));
    cli(b, NULL, 2, "", "quote it", ARGS("1", "payments", "Hello", "World"));
    cli(b, NULL, 2, "", "usage:", ARGS("2", "payments"));
    cli(b, NULL, 3, "", "cannot reach the broker", ARGS("-b", "127.0.0.1:1", "1", "t", "x"));
    cli(b, NULL, 0, NULL, NULL, ARGS("--help"));
    cli(b, NULL, 0, NULL, NULL, ARGS("1", "--help"));
}

static void test_0004_produce_lines_from_stdin(void **state)
{
    struct kb_broker *b = *state;
    cli(b, NULL, 0, NULL, NULL, ARGS("0", "lines", "1"));
    cli(b, "first line\nsecond\twith tab\nthird \\ back\n", 0,
        "topic=lines partition=0 offset=0\ntopic=lines partition=0 offset=1\n"
        "topic=lines partition=0 offset=2\n",
        NULL, ARGS("produce", "lines", "-"));
    cli(b, NULL, 0, "0\tfirst line\n1\tsecond\\twith tab\n2\tthird \\\\ back\n", NULL,
        ARGS("6", "lines", "0", "0", "10"));
    /* a thousand lines, pipelined, acks=0: nothing printed, all there */
    char *many = malloc(1000 * 8);
    size_t len = 0;
    for (int i = 0; i < 1000; i++)
        len += (size_t)sprintf(many + len, "m%d\n", i);
    cli(b, many, 0, "", NULL, ARGS("produce", "lines", "-", "--acks", "0"));
    free(many);
    cli(b, NULL, 0, "topic=lines partition=0 log_start=0 log_end=1003\n", NULL,
        ARGS("metadata", "lines"));
    cli(b, NULL, 0, "1002\tm999\n", NULL, ARGS("2", "lines", "0", "1002"));
}

/* stdin not a terminal and no command: a script, one command per line, each run once. */
static void test_0004_script_on_stdin(void **state)
{
    struct kb_broker *b = *state;
    cli(b, "# a comment\n0 s 1\n\n1 s \"a b\"\n1 s c\n2 s 0 5\n6 s 0 0 10\nquit\n1 s never\n", 1,
        "topic=s partitions=1\ntopic=s partition=0 offset=0\ntopic=s partition=0 offset=1\n"
        "0\ta b\n1\tc\n",
        "error: OFFSET_OUT_OF_RANGE: offset 5 is outside s-0, which holds offsets 0 to 1",
        (const char *const[]){NULL});
}

static void test_0004_load_test_json_and_verify(void **state)
{
    struct kb_broker *b = *state;
    char *o, *e;
    int rc = kb_cli(b, NULL, &o, &e,
                    ARGS("test", "load", "20000", "--batch", "50", "--producers", "2", "--acks",
                         "all", "--json", "--verify", "--partitions", "3"));
    if (rc != 0)
        fail_msg("status %d: %s %s", rc, o, e);
    const char *want[] = {"\"records\":20000,", "\"bytes\":2000000,", "\"acks\":\"all\"",
                          "\"producers\":2", "\"verified\":true", "\"missing\":0",
                          "\"duplicates\":0", "\"latency_us\":{\"p50\":"};
    for (size_t i = 0; i < KC_ARRAY_SIZE(want); i++)
        if (!strstr(o, want[i]))
            fail_msg("missing %s in %s", want[i], o);
    assert_string_equal(e, ""); /* no progress bar: stderr is not a terminal */
    free(o);
    free(e);
    cli(b, NULL, 0, NULL, NULL, ARGS("test", "load", "5000", "--verify"));
    cli(b, NULL, 0, NULL, NULL, ARGS("test", "load", "5000", "--acks", "0", "--batch", "7"));
}

static void test_0004_playground_through_a_pty(void **state)
{
    struct kb_broker *b = *state;
    struct kb_pty p;
    char hist[600];
    kb_pty_start(&p, b);
    kb_pty_expect(&p, "the Playground");
    kb_pty_expect(&p, "kafka> ");
    kb_pty_send(&p, "0 payments 3");
    kb_pty_expect(&p, "topic=payments partitions=3");
    kb_pty_send(&p, "1 payments \"Hello World\" --partition 1");
    kb_pty_expect(&p, "topic=payments partition=1 offset=0");
    kb_pty_send(&p, "2 payments 1 0");
    kb_pty_expect(&p, "0\tHello World");
    kb_pty_send(&p, "2 nope 0 0"); /* an error, and the session goes on */
    kb_pty_expect(&p, "error: UNKNOWN_TOPIC");
    kb_pty_send(&p, "3 groupA payments 1 1");
    kb_pty_expect(&p, "group=groupA topic=payments partition=1 offset=1");
    kb_pty_send(&p, "4 groupA payments 1");
    kb_pty_expect(&p, "\n1");
    kb_pty_send(&p, "0 logs 1");
    kb_pty_expect(&p, "topic=logs partitions=1");
    kb_pty_send(&p, "5 logs error1,'error 2',error3");
    kb_pty_expect(&p, "base_offset=0 count=3");
    kb_pty_send(&p, "6 logs 0 0 100");
    kb_pty_expect(&p, "1\terror 2");
    kb_pty_send(&p, "help");
    kb_pty_expect(&p, "Commands (by code or name)");
    kb_pty_send(&p, "1 payments \"unterminated");
    kb_pty_expect(&p, "error: unterminated double quote");
    kb_pty_send(&p, "quit");
    kb_pty_expect(&p, "quit");
    assert_null(strstr(p.seen, "TOPIC_EXISTS")); /* every line ran exactly once */
    int status = kb_pty_finish(&p);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    snprintf(hist, sizeof(hist), "%s/history", b->dir);
    assert_int_equal(access(hist, R_OK), 0); /* the session's history was saved */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_0004_one_shot_commands_print_stable_lines,
                                        kb_setup_started, kb_teardown),
        cmocka_unit_test_setup_teardown(test_0004_one_shot_errors_go_to_stderr_with_a_status,
                                        kb_setup_started, kb_teardown),
        cmocka_unit_test_setup_teardown(test_0004_produce_lines_from_stdin, kb_setup_started,
                                        kb_teardown),
        cmocka_unit_test_setup_teardown(test_0004_script_on_stdin, kb_setup_started,
                                        kb_teardown),
        cmocka_unit_test_setup_teardown(test_0004_load_test_json_and_verify, kb_setup_started,
                                        kb_teardown),
        cmocka_unit_test_setup_teardown(test_0004_playground_through_a_pty, kb_setup_started,
                                        kb_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
