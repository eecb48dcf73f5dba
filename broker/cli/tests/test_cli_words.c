/*
 * test_cli_words.c - the CLI's tokenizer, option parser, acks parsing and value escaping.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "kc_common.h"
#include "kc_test.h"

/* Tokenize line and compare with the expected words (NULL-terminated). */
static void expect_words(const char *line, const char *const *want)
{
    struct cli_args a;
    char err[128] = "";
    int n = 0;
    int rc = cli_tokenize(line, &a, err, sizeof(err));
    if (rc)
        fail_msg("'%s': %d %s", line, rc, err);
    while (want[n])
        n++;
    if (a.argc != n)
        fail_msg("'%s': %d words, want %d", line, a.argc, n);
    for (int i = 0; i < n; i++)
        assert_string_equal(a.argv[i], want[i]);
    assert_null(a.argv[a.argc]);
    cli_args_free(&a);
}

static void expect_error(const char *line, const char *reason)
{
    struct cli_args a = {0};
    char err[128] = "";
    assert_int_equal(cli_tokenize(line, &a, err, sizeof(err)), -EINVAL);
    if (!strstr(err, reason))
        fail_msg("'%s': reason '%s', want '%s'", line, err, reason);
    assert_null(a.argv);
}

static void test_cli_tokenize_quotes_keep_one_message(void **state)
{
    (void)state;
    expect_words("1 payments \"Hello World\"", (const char *[]){"1", "payments", "Hello World", NULL});
    expect_words("1 payments 'Hello World'", (const char *[]){"1", "payments", "Hello World", NULL});
    expect_words("  0\tpayments   3  ", (const char *[]){"0", "payments", "3", NULL});
    expect_words("a\"b c\"d", (const char *[]){"ab cd", NULL});
    expect_words("x \"\" ''", (const char *[]){"x", "", "", NULL});
    expect_words("", (const char *[]){NULL});
    expect_words("   ", (const char *[]){NULL});
    expect_words("# a comment \"unterminated", (const char *[]){NULL});
    expect_words("5 logs a,b,c", (const char *[]){"5", "logs", "a,b,c", NULL});
}

static void test_cli_tokenize_escapes_inside_and_outside_quotes(void **state)
{
    (void)state;
    expect_words("\"say \\\"hi\\\"\"", (const char *[]){"say \"hi\"", NULL});
    expect_words("\"a\\tb\\nc\\\\d\\x41\"", (const char *[]){"a\tb\nc\\dA", NULL});
    expect_words("\"C:\\dir\"", (const char *[]){"C:\\dir", NULL}); /* unknown: kept */
    expect_words("Hello\\ World", (const char *[]){"Hello World", NULL});
    expect_words("'no \\n escapes'", (const char *[]){"no \\n escapes", NULL});
    expect_words("it\\'s", (const char *[]){"it's", NULL});
}

static void test_cli_tokenize_bad_lines_say_why(void **state)
{
    (void)state;
    expect_error("1 t \"Hello", "unterminated double quote");
    expect_error("1 t 'Hello", "unterminated single quote");
    expect_error("1 t Hello\\", "backslash at the end");
    expect_error("1 t \"\\x4\"", "\\x escape");
    expect_error("\"\\xZZ\"", "\\x escape");
}

/* Every short line made of the interesting characters: never a crash or an over-read. */
static void test_cli_tokenize_survives_every_small_line(void **state)
{
    (void)state;
    const char alphabet[] = " a\"'\\#x\t";
    char line[6];
    size_t k = sizeof(alphabet) - 1;
    for (size_t len = 0; len <= 5; len++) {
        size_t total = 1;
        for (size_t i = 0; i < len; i++)
            total *= k;
        for (size_t code = 0; code < total; code++) {
            size_t c = code;
            for (size_t i = 0; i < len; i++, c /= k)
                line[i] = alphabet[c % k];
            line[len] = '\0';
            struct cli_args a;
            char err[64];
            int rc = cli_tokenize(line, &a, err, sizeof(err));
            assert_true(rc == 0 || rc == -EINVAL);
            if (rc == 0) {
                for (int i = 0; i < a.argc; i++)
                    assert_true(strlen(a.argv[i]) <= len);
                cli_args_free(&a);
            }
        }
    }
}

static void test_cli_getopt_options_anywhere_and_double_dash(void **state)
{
    (void)state;
    const char *key = NULL, *acks = NULL;
    bool help = false;
    struct cli_opt opts[] = {{"key", &key, NULL, NULL}, {"acks", &acks, NULL, NULL},
                             {"help", NULL, &help, NULL}, {NULL, NULL, NULL, NULL}};
    char *argv[] = {"t", "--key", "k1", "msg", "--acks=all", "--", "--not-an-option", "-"};
    char *pos[4];
    int n;
    char err[128];
    assert_int_equal(cli_getopt(8, argv, opts, pos, 4, &n, err, sizeof(err)), 0);
    assert_int_equal(n, 4);
    assert_string_equal(pos[0], "t");
    assert_string_equal(pos[1], "msg");
    assert_string_equal(pos[2], "--not-an-option");
    assert_string_equal(pos[3], "-");
    assert_string_equal(key, "k1");
    assert_string_equal(acks, "all");
    assert_false(help);
    char *h[] = {"-h"};
    assert_int_equal(cli_getopt(1, h, opts, pos, 4, &n, err, sizeof(err)), 0);
    assert_true(help);
}

static void test_cli_getopt_mistakes_are_named(void **state)
{
    (void)state;
    const char *key = NULL;
    bool flag = false;
    struct cli_opt opts[] = {{"key", &key, NULL, NULL}, {"json", NULL, &flag, NULL}, {NULL, NULL, NULL, NULL}};
    char *pos[1];
    int n;
    char err[128];
    char *a1[] = {"--nope"};
    assert_int_equal(cli_getopt(1, a1, opts, pos, 1, &n, err, sizeof(err)), -EINVAL);
    assert_non_null(strstr(err, "unknown option --nope"));
    char *a2[] = {"--key"};
    assert_int_equal(cli_getopt(1, a2, opts, pos, 1, &n, err, sizeof(err)), -EINVAL);
    assert_non_null(strstr(err, "needs a value"));
    char *a3[] = {"--json=yes"};
    assert_int_equal(cli_getopt(1, a3, opts, pos, 1, &n, err, sizeof(err)), -EINVAL);
    assert_non_null(strstr(err, "takes no value"));
    char *a4[] = {"a", "b"};
    assert_int_equal(cli_getopt(2, a4, opts, pos, 1, &n, err, sizeof(err)), -EINVAL);
    assert_non_null(strstr(err, "unexpected argument 'b'"));
}

static void test_cli_parse_acks_levels(void **state)
{
    (void)state;
    int16_t a = 99;
    assert_int_equal(cli_parse_acks("all", &a), 0);
    assert_int_equal(a, -1);
    assert_int_equal(cli_parse_acks("-1", &a), 0);
    assert_int_equal(a, -1);
    assert_int_equal(cli_parse_acks("0", &a), 0);
    assert_int_equal(a, 0);
    assert_int_equal(cli_parse_acks("1", &a), 0);
    assert_int_equal(a, 1);
    assert_int_equal(cli_parse_acks("2", &a), -EINVAL);
    assert_int_equal(cli_parse_acks("ALL", &a), -EINVAL);
    assert_int_equal(cli_parse_acks("", &a), -EINVAL);
}

static char *capture(void (*fn)(FILE *f, const void *arg), const void *arg)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_non_null(f);
    fn(f, arg);
    fclose(f);
    return buf;
}

static void print_odd_record(FILE *f, const void *arg)
{
    (void)arg;
    static const uint8_t v[] = "tab\there\nnew\\line\x01\x7f caf\xc3\xa9";
    cli_print_record(f, 42, v, (int32_t)sizeof(v) - 1);
    cli_print_record(f, 43, NULL, -1);
}

static void test_cli_print_record_is_one_line_per_record(void **state)
{
    (void)state;
    char *out = capture(print_odd_record, NULL);
    assert_string_equal(out, "42\ttab\\there\\nnew\\\\line\\x01\\x7f caf\xc3\xa9\n43\t\n");
    free(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cli_tokenize_quotes_keep_one_message),
        cmocka_unit_test(test_cli_tokenize_escapes_inside_and_outside_quotes),
        cmocka_unit_test(test_cli_tokenize_bad_lines_say_why),
        cmocka_unit_test(test_cli_tokenize_survives_every_small_line),
        cmocka_unit_test(test_cli_getopt_options_anywhere_and_double_dash),
        cmocka_unit_test(test_cli_getopt_mistakes_are_named),
        cmocka_unit_test(test_cli_parse_acks_levels),
        cmocka_unit_test(test_cli_print_record_is_one_line_per_record),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
