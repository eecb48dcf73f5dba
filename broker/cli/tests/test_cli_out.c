/*
 * test_cli_out.c - what the admin verbs print: the JSON writer (commas, nesting, escaping,
 * UTF-8 kept or replaced byte by byte) and the aligned tables.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "cli_out.h"
#include "kc_common.h"

/* The JSON string body that cli__json_escape writes for p[0..n). */
static char *escaped(const void *p, size_t n)
{
    char *buf = NULL;
    size_t len;
    FILE *f = open_memstream(&buf, &len);
    assert_non_null(f);
    cli__json_escape(f, p, n);
    assert_int_equal(fclose(f), 0);
    return buf;
}

static void expect_escape(const char *in, size_t n, const char *want)
{
    char *got = escaped(in, n);
    if (strcmp(got, want) != 0)
        fail_msg("escape of %zu bytes: got %s, want %s", n, got, want);
    free(got);
}

static void test_cli_json_escape_specials_become_escapes(void **state)
{
    (void)state;
    expect_escape("plain", 5, "\"plain\"");
    expect_escape("", 0, "\"\"");
    expect_escape("a\"b\\c", 5, "\"a\\\"b\\\\c\"");
    expect_escape("\n\t\r", 3, "\"\\n\\t\\r\"");
    expect_escape("\x01\x1f\x7f", 3, "\"\\u0001\\u001f\\u007f\"");
    expect_escape("nul\0in", 6, "\"nul\\u0000in\"");
    expect_escape("/", 1, "\"/\""); /* allowed unescaped */
}

static void test_cli_json_escape_valid_utf8_passes_invalid_is_replaced(void **state)
{
    (void)state;
    expect_escape("caf\xc3\xa9", 5, "\"caf\xc3\xa9\"");            /* 2 bytes */
    expect_escape("\xe2\x82\xac", 3, "\"\xe2\x82\xac\"");          /* euro, 3 bytes */
    expect_escape("\xf0\x9f\x98\x80", 4, "\"\xf0\x9f\x98\x80\"");  /* emoji, 4 bytes */
    expect_escape("\xf4\x8f\xbf\xbf", 4, "\"\xf4\x8f\xbf\xbf\"");  /* U+10FFFF */
    expect_escape("\x80", 1, "\"\\ufffd\"");                       /* lone continuation */
    expect_escape("\xc0\x80", 2, "\"\\ufffd\\ufffd\"");            /* overlong NUL */
    expect_escape("\xe0\x80\xaf", 3, "\"\\ufffd\\ufffd\\ufffd\""); /* overlong '/' */
    expect_escape("\xed\xa0\x80", 3, "\"\\ufffd\\ufffd\\ufffd\""); /* a surrogate */
    expect_escape("\xf4\x90\x80\x80", 4, "\"\\ufffd\\ufffd\\ufffd\\ufffd\""); /* > U+10FFFF */
    expect_escape("\xff", 1, "\"\\ufffd\"");
    expect_escape("ab\xe2\x82", 4, "\"ab\\ufffd\\ufffd\""); /* cut at the end */
    expect_escape("\xc3(", 2, "\"\\ufffd(\"");              /* bad continuation */
}

static char *document(void (*write)(struct cli_json *j))
{
    char *buf = NULL;
    size_t len;
    struct cli_json j;
    FILE *f = open_memstream(&buf, &len);
    assert_non_null(f);
    cli__json_init(&j, f);
    write(&j);
    assert_int_equal(j.depth, 0);
    assert_int_equal(fclose(f), 0);
    return buf;
}

static void nested(struct cli_json *j)
{
    cli__json_open(j, '{');
    cli__json_kstr(j, "name", "t");
    cli__json_key(j, "ids");
    cli__json_open(j, '[');
    cli__json_int(j, 1);
    cli__json_int(j, INT64_MIN);
    cli__json_open(j, '{');
    cli__json_close(j, '}');
    cli__json_open(j, '[');
    cli__json_close(j, ']');
    cli__json_close(j, ']');
    cli__json_kbool(j, "ok", true);
    cli__json_kslice(j, "null", (struct kc_slice){NULL, -1});
    cli__json_kslice(j, "bytes", (struct kc_slice){(const uint8_t *)"a\"", 2});
    cli__json_kstr(j, "none", NULL);
    cli__json_kint(j, "max", INT64_MAX);
    cli__json_close(j, '}');
}

static void empty_array(struct cli_json *j)
{
    cli__json_open(j, '[');
    cli__json_close(j, ']');
}

static void list_doc(struct cli_json *j)
{
    cli__json_list_begin(j, "topics");
    cli__json_str(j, "payments");
    cli__json_str(j, "logs");
    cli__json_list_end(j);
}

static void test_cli_json_writer_places_commas_and_brackets(void **state)
{
    (void)state;
    char *got = document(nested);
    assert_string_equal(got, "{\"name\":\"t\",\"ids\":[1,-9223372036854775808,{},[]],"
                             "\"ok\":true,\"null\":null,\"bytes\":\"a\\\"\",\"none\":null,"
                             "\"max\":9223372036854775807}\n");
    free(got);
    got = document(empty_array);
    assert_string_equal(got, "[]\n");
    free(got);
    got = document(list_doc);
    assert_string_equal(got, "{\"topics\":[\"payments\",\"logs\"]}\n");
    free(got);
}

static char *table_text(struct cli_table *t)
{
    char *buf = NULL;
    size_t len;
    FILE *f = open_memstream(&buf, &len);
    assert_non_null(f);
    cli__table_print(t, f);
    assert_int_equal(fclose(f), 0);
    return buf;
}

static void test_cli_table_pads_columns_to_the_widest_cell(void **state)
{
    (void)state;
    struct cli_table t;
    cli__table_init(&t, 3, (const char *const[]){"GROUP", "PARTITION", "CLIENT-ID"});
    cli__table_add(&t, "%s", "app");
    cli__table_add(&t, "%d", 12);
    cli__table_slice(&t, (struct kc_slice){(const uint8_t *)"c\t1", 3}); /* escaped */
    cli__table_add(&t, "caf\xc3\xa9-long"); /* 9 characters, 10 bytes */
    cli__table_add(&t, "%d", 0);
    cli__table_slice(&t, (struct kc_slice){NULL, -1}); /* null: "-" */
    char *got = table_text(&t);
    assert_string_equal(got, "GROUP      PARTITION  CLIENT-ID\n"
                             "app        12         c\\t1\n"
                             "caf\xc3\xa9-long  0          -\n");
    free(got);
    cli__table_fini(&t);
    cli__table_init(&t, 2, (const char *const[]){"A", "B"});
    got = table_text(&t); /* no rows: the header alone */
    assert_string_equal(got, "A  B\n");
    free(got);
    for (int i = 0; i < 1000; i++) /* growth */
        cli__table_add(&t, "%d", i);
    assert_int_equal(t.nrows, 500);
    cli__table_fini(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cli_json_escape_specials_become_escapes),
        cmocka_unit_test(test_cli_json_escape_valid_utf8_passes_invalid_is_replaced),
        cmocka_unit_test(test_cli_json_writer_places_commas_and_brackets),
        cmocka_unit_test(test_cli_table_pads_columns_to_the_widest_cell),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
