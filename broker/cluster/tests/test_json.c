/* test_json.c - the strict JSON reader: what it accepts, what it refuses (every truncated
 * prefix included), lookups, integers, strings and their escapes, and random mutations. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clu_json.h"
#include "kc_common.h"
#include "kc_test.h"

static int parse(const char *s, struct clu_json *j)
{
    return clu_json_parse(j, s, strlen(s));
}

static void test_json_values_accepted(void **state)
{
    (void)state;
    static const char *const ok[] = {
        "{}",
        "[]",
        "0",
        "-0",
        "12",
        "-3.25e+10",
        "1E5",
        "0.5",
        "true",
        "false",
        "null",
        "\"\"",
        " \t\r\n{ \"a\" : [ 1 , {\"b\":null} ] }\n",
        "\"caf\xc3\xa9\"",
        "\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"",
        "\"\\ud83d\\ude00\"",
        "\"\xf0\x9f\x98\x80\"",
        "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]",
    };
    for (size_t i = 0; i < KC_ARRAY_SIZE(ok); i++) {
        struct clu_json j;
        if (parse(ok[i], &j) != 0)
            fail_msg("refused: %s", ok[i]);
        clu_json_fini(&j);
    }
}

static void test_json_malformed_refused(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "",
        " ",
        "{",
        "}",
        "[",
        "]",
        "[1,]",
        "[,1]",
        "{\"a\":}",
        "{\"a\" 1}",
        "{\"a\":1,}",
        "{a:1}",
        "{'a':1}",
        "01",
        "-01",
        "1.",
        ".5",
        "+1",
        "-",
        "1e",
        "1e+",
        "0x10",
        "NaN",
        "Infinity",
        "tru",
        "nul",
        "falsey",
        "\"abc",
        "\"\\x\"",
        "\"\\u12\"",
        "\"\\u12g4\"",
        "\"\x01\"",
        "\"a\tb\"",
        "\"\\ud800\"",
        "\"\\udc00\"",
        "\"\\ud800\\u0041\"",
        "\"\\ud800x\"",
        "\xff",
        "\"\xc0\xaf\"",
        "\"\xe0\x80\xaf\"",
        "\"\xed\xa0\x80\"",
        "\"\xf4\x90\x80\x80\"",
        "\"\xc3\"",
        "\"\x80\"",
        "[1 2]",
        "1 2",
        "{}{}",
        "[]]",
        "{\"a\"}",
        "\"\\\"",
        "[\"a\",]",
    };
    for (size_t i = 0; i < KC_ARRAY_SIZE(bad); i++) {
        struct clu_json j;
        int rc = parse(bad[i], &j);
        if (rc != KC_EMALFORMED)
            fail_msg("accepted (%d): %s", rc, bad[i]);
        assert_int_equal(j.ntok, 0);
        clu_json_fini(&j);
    }
    /* A NUL byte is a control character inside a string, and garbage outside. */
    struct clu_json j;
    assert_int_equal(clu_json_parse(&j, "\"a\0b\"", 5), KC_EMALFORMED);
    assert_int_equal(clu_json_parse(&j, "{}\0", 3), KC_EMALFORMED);
}

static void test_json_depth_bounded(void **state)
{
    (void)state;
    char deep[2 * (CLU_JSON_MAX_DEPTH + 1) + 1];
    for (int d = CLU_JSON_MAX_DEPTH; d <= CLU_JSON_MAX_DEPTH + 1; d++) {
        memset(deep, '[', (size_t)d);
        memset(deep + d, ']', (size_t)d);
        struct clu_json j;
        int rc = clu_json_parse(&j, deep, (size_t)(2 * d));
        assert_int_equal(rc, d <= CLU_JSON_MAX_DEPTH ? 0 : KC_EMALFORMED);
        clu_json_fini(&j);
    }
}

static void test_json_truncated_prefixes_malformed(void **state)
{
    (void)state;
    static const char doc[] =
        "{\"listener_security_protocol_map\":{\"PLAINTEXT\":\"PLAINTEXT\"},\"endpoints\":"
        "[\"PLAINTEXT://h:9092\"],\"jmx_port\":-1,\"host\":null,\"x\":[true,false,1.5e3],"
        "\"s\":\"\\u00e9\\ud83d\\ude00\"}";
    size_t n = strlen(doc);
    struct clu_json j;
    assert_int_equal(clu_json_parse(&j, doc, n), 0);
    clu_json_fini(&j);
    for (size_t len = 0; len < n; len++) {
        int rc = clu_json_parse(&j, doc, len);
        if (rc != KC_EMALFORMED)
            fail_msg("prefix of %zu bytes: %d", len, rc);
    }
}

static void test_json_tokens_and_members(void **state)
{
    (void)state;
    struct clu_json j;
    uint32_t v, w;
    assert_int_equal(parse("{\"leader\":2,\"isr\":[2,1],\"o\":{\"k\":\"v\"}}", &j), 0);
    assert_int_equal(j.tok[0].type, CLU_JSON_OBJECT);
    assert_int_equal(j.tok[0].count, 3);
    assert_int_equal(j.tok[0].next, j.ntok);
    assert_int_equal(clu_json_member(&j, 0, "isr", &v), 0);
    assert_int_equal(j.tok[v].type, CLU_JSON_ARRAY);
    assert_int_equal(j.tok[v].count, 2);
    assert_int_equal(clu_json_member(&j, 0, "o", &v), 0);
    assert_int_equal(clu_json_member(&j, v, "k", &w), 0);
    assert_true(clu_json_str_eq(&j, w, "v"));
    assert_int_equal(clu_json_member(&j, 0, "missing", &v), -ENOENT);
    assert_int_equal(clu_json_member(&j, 1, "leader", &v), KC_EMALFORMED); /* not an object */
    clu_json_fini(&j);

    /* The same key twice: which one is meant? Refused at lookup. */
    assert_int_equal(parse("{\"a\":1,\"b\":2,\"a\":3}", &j), 0);
    assert_int_equal(clu_json_member(&j, 0, "a", &v), KC_EMALFORMED);
    assert_int_equal(clu_json_member(&j, 0, "b", &v), 0);
    clu_json_fini(&j);
    /* An escaped key matches its unescaped form. */
    assert_int_equal(parse("{\"le\\u0061der\":1}", &j), 0);
    assert_int_equal(clu_json_member(&j, 0, "leader", &v), 0);
    clu_json_fini(&j);
}

static void test_json_integers_strict(void **state)
{
    (void)state;
    static const struct {
        const char *s;
        int64_t min, max;
        int rc;
        int64_t v;
    } cases[] = {
        {"0", 0, 10, 0, 0},
        {"-0", -1, 1, 0, 0},
        {"2147483647", 0, INT32_MAX, 0, INT32_MAX},
        {"2147483648", 0, INT32_MAX, -ERANGE, 0},
        {"-1", 0, 10, -ERANGE, 0},
        {"9223372036854775807", INT64_MIN, INT64_MAX, 0, INT64_MAX},
        {"-9223372036854775808", INT64_MIN, INT64_MAX, 0, INT64_MIN},
        {"9223372036854775808", INT64_MIN, INT64_MAX, -ERANGE, 0},
        {"1.0", 0, 10, KC_EMALFORMED, 0},
        {"1e2", 0, 1000, KC_EMALFORMED, 0},
        {"\"1\"", 0, 10, KC_EMALFORMED, 0},
    };
    for (size_t i = 0; i < KC_ARRAY_SIZE(cases); i++) {
        struct clu_json j;
        int64_t v = 0;
        assert_int_equal(parse(cases[i].s, &j), 0);
        int rc = clu_json_int(&j, 0, cases[i].min, cases[i].max, &v);
        if (rc != cases[i].rc || (rc == 0 && v != cases[i].v))
            fail_msg("%s: rc %d v %lld", cases[i].s, rc, (long long)v);
        clu_json_fini(&j);
    }
}

static void test_json_strings_unescaped(void **state)
{
    (void)state;
    struct clu_json j;
    char buf[64];
    size_t len;
    assert_int_equal(parse("\"a\\n\\u00e9\\ud83d\\ude00\\/\"", &j), 0);
    assert_int_equal(clu_json_str(&j, 0, buf, sizeof(buf), &len), 0);
    assert_string_equal(buf, "a\n\xc3\xa9\xf0\x9f\x98\x80/");
    assert_int_equal(len, 9);
    assert_true(clu_json_str_eq(&j, 0, "a\n\xc3\xa9\xf0\x9f\x98\x80/"));
    assert_false(clu_json_str_eq(&j, 0, "a\n"));
    assert_int_equal(clu_json_str(&j, 0, buf, 9, &len), KC_ETOOLARGE); /* no room for the NUL */
    assert_int_equal(clu_json_str(&j, 0, buf, 10, &len), 0);
    clu_json_fini(&j);
    assert_int_equal(parse("\"a\\u0000b\"", &j), 0);
    assert_int_equal(clu_json_str(&j, 0, buf, sizeof(buf), &len), KC_EMALFORMED);
    clu_json_fini(&j);
    assert_int_equal(parse("[1]", &j), 0);
    assert_int_equal(clu_json_str(&j, 0, buf, sizeof(buf), &len), KC_EMALFORMED);
    clu_json_fini(&j);
}

/* Random mutations of a real body: never a crash; whatever is accepted parses the same
 * way twice and ends where the text ends. */
static void test_json_random_mutations_safe(void **state)
{
    (void)state;
    static const char base[] = "{\"controller_epoch\":3,\"leader\":2,\"version\":1,"
                               "\"leader_epoch\":7,\"isr\":[2,1],\"s\":\"\\u00e9x\"}";
    static const char alphabet[] = "{}[]\",:\\-+.0123456789eEtrufalsn u\x01\xc3\xa9\xff";
    uint64_t seed = kc_test_seed();
    char buf[sizeof(base) + 8];
    int accepted = 0;
    for (int round = 0; round < 20000; round++) {
        size_t n = sizeof(base) - 1;
        memcpy(buf, base, n);
        int edits = 1 + (int)(kc_test_rand(&seed) % 4);
        for (int e = 0; e < edits; e++) {
            size_t at = kc_test_rand(&seed) % n;
            buf[at] = alphabet[kc_test_rand(&seed) % (sizeof(alphabet) - 1)];
        }
        if (kc_test_rand(&seed) % 4 == 0)
            n = kc_test_rand(&seed) % n;
        struct clu_json j, k;
        int rc = clu_json_parse(&j, buf, n);
        assert_true(rc == 0 || rc == KC_EMALFORMED);
        if (rc == 0) {
            accepted++;
            assert_int_equal(clu_json_parse(&k, buf, n), 0);
            assert_int_equal(j.ntok, k.ntok);
            for (uint32_t t = 0; t < j.ntok; t++) { /* field by field: not the padding */
                assert_int_equal(j.tok[t].type, k.tok[t].type);
                assert_int_equal(j.tok[t].start, k.tok[t].start);
                assert_int_equal(j.tok[t].end, k.tok[t].end);
                assert_int_equal(j.tok[t].count, k.tok[t].count);
                assert_int_equal(j.tok[t].next, k.tok[t].next);
            }
            assert_int_equal(j.tok[0].next, j.ntok);
            clu_json_fini(&k);
        }
        clu_json_fini(&j);
    }
    printf("mutations accepted: %d of 20000\n", accepted);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_json_values_accepted),
        cmocka_unit_test(test_json_malformed_refused),
        cmocka_unit_test(test_json_depth_bounded),
        cmocka_unit_test(test_json_truncated_prefixes_malformed),
        cmocka_unit_test(test_json_tokens_and_members),
        cmocka_unit_test(test_json_integers_strict),
        cmocka_unit_test(test_json_strings_unescaped),
        cmocka_unit_test(test_json_random_mutations_safe),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
