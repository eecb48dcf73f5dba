/*
 * test_cli_commands.c - the CLI without a broker: usage errors and their exit status, help,
 * an unreachable broker, and the load test's report formats (human and JSON).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "kc_common.h"
#include "kc_test.h"

/* Nothing listens on port 1 of loopback: a command that needs the network fails there. */
#define NOWHERE "127.0.0.1:1"

struct run {
    int status;
    char *out;
    char *err;
};

static struct run run_line(const char *line)
{
    struct run r = {0};
    size_t olen, elen;
    struct cli cli;
    FILE *out = open_memstream(&r.out, &olen), *err = open_memstream(&r.err, &elen);
    assert_non_null(out);
    assert_non_null(err);
    cli_init(&cli, NOWHERE, out, err);
    cli.timeout_ms = 2000;
    r.status = cli_run_line(&cli, line);
    cli_fini(&cli);
    fclose(out);
    fclose(err);
    return r;
}

static void run_free(struct run *r)
{
    free(r->out);
    free(r->err);
}

static void expect(const char *line, int status, const char *in_err)
{
    struct run r = run_line(line);
    if (r.status != status || !strstr(r.err, in_err))
        fail_msg("'%s': status %d (want %d), stderr: %s", line, r.status, status, r.err);
    assert_string_equal(r.out, ""); /* errors never reach stdout */
    run_free(&r);
}

static void test_cli_usage_errors_exit_2_before_any_connection(void **state)
{
    (void)state;
    expect("1 payments Hello World", CLI_EUSAGE, "quote it");
    expect("1 payments", CLI_EUSAGE, "missing arguments");
    expect("0", CLI_EUSAGE, "usage: 0|create");
    expect("0 payments zero", CLI_EUSAGE, "partitions must be a number");
    expect("0 payments 0", CLI_EUSAGE, "partitions must be a number from 1");
    expect("2 payments 0", CLI_EUSAGE, "missing arguments");
    expect("2 payments -1 0", CLI_EUSAGE, "partition must be a number");
    expect("3 g t 0", CLI_EUSAGE, "missing arguments");
    expect("4 g t x", CLI_EUSAGE, "partition must be a number");
    expect("6 logs 0 0 0", CLI_EUSAGE, "count must be a number from 1");
    expect("6 logs 0 0 5 --max-wait 999999999", CLI_EUSAGE, "--max-wait");
    expect("1 t m --acks 2", CLI_EUSAGE, "--acks must be 0, 1 or all");
    expect("1 t m --bogus", CLI_EUSAGE, "unknown option --bogus");
    expect("test logs 10 --verify --size 8", CLI_EUSAGE, "--verify needs --size >= 16");
    expect("test logs 0", CLI_EUSAGE, "count must be a number from 1");
    expect("test logs 10 --producers 0", CLI_EUSAGE, "--producers");
    expect("frobnicate", CLI_EUSAGE, "unknown command 'frobnicate'");
    expect("1 t \"unterminated", CLI_EUSAGE, "unterminated double quote");
}

static void test_cli_unreachable_broker_exits_3(void **state)
{
    (void)state;
    expect("1 payments \"Hello World\"", CLI_ENET, "cannot reach the broker at " NOWHERE);
    expect("4 groupA payments 0", CLI_ENET, "cannot reach the broker");
    expect("test logs 10", CLI_ENET, "cannot reach the broker");
}

static void test_cli_help_names_every_code_and_alias(void **state)
{
    (void)state;
    struct run r = run_line("help");
    assert_int_equal(r.status, CLI_OK);
    const char *names[] = {"create", "produce", "consume", "commit", "offset", "produce-batch",
                           "consume-batch", "test", "metadata", "ping", "info", "help", "quit"};
    for (size_t i = 0; i < KC_ARRAY_SIZE(names); i++)
        assert_non_null(strstr(r.out, names[i]));
    for (char code = '0'; code <= '6'; code++) {
        char want[8] = {' ', ' ', code, ' ', '\0'};
        assert_non_null(strstr(r.out, want));
    }
    assert_non_null(strstr(r.out, "1 payments \"Hello World\""));
    run_free(&r);
    r = run_line("5 --help");
    assert_int_equal(r.status, CLI_OK);
    assert_non_null(strstr(r.out, "produce-batch"));
    assert_non_null(strstr(r.out, "--sep"));
    run_free(&r);
    r = run_line("help fetch-offset"); /* an alias finds its command */
    assert_int_equal(r.status, CLI_OK);
    assert_non_null(strstr(r.out, "4 | offset"));
    run_free(&r);
    expect("help nope", CLI_EUSAGE, "unknown command 'nope'");
    assert_true(cli_is_quit("quit") && cli_is_quit("exit") && cli_is_quit("q"));
    assert_false(cli_is_quit("quiet"));
}

static char *report(bool json, const struct cli_loadtest_opts *o,
                    const struct cli_loadtest_result *res)
{
    char *buf = NULL;
    size_t len;
    FILE *f = open_memstream(&buf, &len);
    if (json)
        cli_loadtest_print_json(f, o, res);
    else
        cli_loadtest_print(f, o, res);
    fclose(f);
    return buf;
}

static void test_cli_loadtest_reports_every_figure(void **state)
{
    (void)state;
    struct cli_loadtest_opts o;
    cli_loadtest_opts_init(&o);
    o.topic = "logs";
    o.batch = 100;
    o.acks = NP_ACKS_ALL;
    struct cli_loadtest_result res = {
        .records = 1000000, .bytes = 100000000, .requests = 10000, .seconds = 2.0,
        .records_per_sec = 500000, .mb_per_sec = 50, .have_latency = true,
        .lat_p50_ns = 1200000, .lat_p99_ns = 3400000, .lat_p999_ns = 5600000,
        .lat_max_ns = 7000000, .verified = 1};
    char *json = report(true, &o, &res);
    assert_string_equal(json,
        "{\"topic\":\"logs\",\"size\":100,\"batch\":100,\"acks\":\"all\",\"producers\":1,"
        "\"window\":64,\"records\":1000000,\"bytes\":100000000,\"requests\":10000,"
        "\"seconds\":2.000000,\"records_per_sec\":500000.0,\"mb_per_sec\":50.000,"
        "\"latency_us\":{\"p50\":1200.0,\"p99\":3400.0,\"p999\":5600.0,\"max\":7000.0},"
        "\"errors\":0,\"verified\":true,\"verify\":{\"missing\":0,\"duplicates\":0,"
        "\"corrupt\":0,\"out_of_order\":0}}\n");
    free(json);
    char *text = report(false, &o, &res);
    const char *lines[] = {"records      1000000\n", "seconds      2.000\n",
                           "records/s    500000\n", "MB/s         50.00\n", "ack latency  p50 ",
                           "p99.9 ", "verify       ok"};
    for (size_t i = 0; i < KC_ARRAY_SIZE(lines); i++)
        if (!strstr(text, lines[i]))
            fail_msg("missing '%s' in:\n%s", lines[i], text);
    free(text);
    /* acks=0: nothing to time, and the JSON says so rather than printing zeros */
    o.acks = NP_ACKS_NONE;
    res.have_latency = false;
    res.verified = -1;
    json = report(true, &o, &res);
    assert_non_null(strstr(json, "\"acks\":\"0\""));
    assert_non_null(strstr(json, "\"latency_us\":null"));
    assert_non_null(strstr(json, "\"verified\":null}"));
    free(json);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cli_usage_errors_exit_2_before_any_connection),
        cmocka_unit_test(test_cli_unreachable_broker_exits_3),
        cmocka_unit_test(test_cli_help_names_every_code_and_alias),
        cmocka_unit_test(test_cli_loadtest_reports_every_figure),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
