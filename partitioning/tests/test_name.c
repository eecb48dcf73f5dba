/* test_name.c - topic names (hostile ones above all) and the directory names built from them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "kc_common.h"
#include "kc_test.h"
#include "part.h"
#include "part_int.h"

static int check(const char *s)
{
    return part_name_check(s, strlen(s));
}

static void test_name_kafka_legal_names_pass(void **state)
{
    (void)state;
    const char *good[] = {"payments", "a", "A.b_c-d", "my-topic-2", "__consumer_offsets",
                          "...", ".hidden", "x..y", "0", "-", "--", "_", "-1"};
    for (size_t i = 0; i < KC_ARRAY_SIZE(good); i++)
        if (check(good[i]) != 0)
            fail_msg("'%s' should be legal", good[i]);
    char longest[PART_NAME_MAX + 1];
    memset(longest, 'x', PART_NAME_MAX);
    assert_int_equal(part_name_check(longest, PART_NAME_MAX), 0);
}

static void test_name_hostile_names_are_refused(void **state)
{
    (void)state;
    const char *bad[] = {".", "..", "a/b", "../x", "/etc", "x/..", "..\\x", "a b", "tab\t",
                         "new\nline", "caf\xc3\xa9", "\xff", "semi;colon", "star*", "q?",
                         "~", "x~", "x~.tmp", "a:b", "%2e%2e", "quote\"", "dollar$"};
    for (size_t i = 0; i < KC_ARRAY_SIZE(bad); i++)
        if (check(bad[i]) != KC_EBADNAME)
            fail_msg("'%s' should be refused", bad[i]);
    assert_int_equal(part_name_check("", 0), KC_EBADNAME);
    assert_int_equal(part_name_check(NULL, 3), KC_EBADNAME);
}

static void test_name_nul_inside_the_length_is_refused(void **state)
{
    (void)state;
    /* "ab\0cd": a C string would stop at 2 and look legal; the length says 5. */
    assert_int_equal(part_name_check("ab\0cd", 5), KC_EBADNAME);
    assert_int_equal(part_name_check("ab\0cd", 2), 0);
    assert_int_equal(part_name_check("..\0", 3), KC_EBADNAME);
}

static void test_name_length_limit_is_249(void **state)
{
    (void)state;
    char name[300];
    memset(name, 'n', sizeof(name));
    assert_int_equal(part_name_check(name, 249), 0);
    assert_int_equal(part_name_check(name, 250), KC_EBADNAME);
    assert_int_equal(part_name_check(name, 300), KC_EBADNAME);
    assert_int_equal(part_name_check(name, SIZE_MAX), KC_EBADNAME);
}

static void test_name_partition_dir_splits_at_last_dash(void **state)
{
    (void)state;
    struct {
        const char *dir;
        const char *topic;
        int32_t p;
    } ok[] = {
        {"payments-0", "payments", 0},  {"my-topic-2", "my-topic", 2},
        {"big-100000", "big", 100000},   {"bigger-1048575", "bigger", 1048575},
        {"a-b-c-10", "a-b-c", 10},      {"--3", "-", 3},
        {"x-99999", "x", 99999},        {"__consumer_offsets-49", "__consumer_offsets", 49},
        {".hidden-7", ".hidden", 7},
    };
    for (size_t i = 0; i < KC_ARRAY_SIZE(ok); i++) {
        size_t len = 0;
        int32_t p = -1;
        assert_int_equal(part__parse_partition_dir(ok[i].dir, &len, &p), 0);
        assert_int_equal(len, strlen(ok[i].topic));
        assert_memory_equal(ok[i].dir, ok[i].topic, len);
        assert_int_equal(p, ok[i].p);
    }
}

static void test_name_unparsable_partition_dirs_are_refused(void **state)
{
    (void)state;
    const char *bad[] = {"payments", "payments-", "-3", "payments-01", "payments-00",
                         "payments-1a", "payments-+1", "payments- 1", "payments-1048576",
                         "payments-4294967296", "..-0", ".-1", "a/b-0", "caf\xc3\xa9-0",
                         "payments~", "payments-1.log", "x--", "lost+found"};
    for (size_t i = 0; i < KC_ARRAY_SIZE(bad); i++) {
        size_t len = 77;
        int32_t p = 77;
        if (part__parse_partition_dir(bad[i], &len, &p) != -EINVAL)
            fail_msg("'%s' should not parse as a partition directory", bad[i]);
        assert_int_equal(len, 77); /* out-parameters untouched */
        assert_int_equal(p, 77);
    }
}

static void test_name_markers_parse_and_never_look_like_partitions(void **state)
{
    (void)state;
    size_t len;
    assert_int_equal(part__parse_marker("orders~", "~", &len), 0);
    assert_int_equal(len, 6);
    assert_int_equal(part__parse_marker("my-topic-2~", "~", &len), 0);
    assert_int_equal(len, 10);
    assert_int_equal(part__parse_marker("orders~.tmp", "~.tmp", &len), 0);
    assert_int_equal(len, 6);
    assert_int_equal(part__parse_marker("orders~.tmp", "~", &len), -EINVAL);
    assert_int_equal(part__parse_marker("~", "~", &len), -EINVAL);
    assert_int_equal(part__parse_marker("..~", "~", &len), -EINVAL);
    assert_int_equal(part__parse_marker("a/b~", "~", &len), -EINVAL);
    int32_t p;
    assert_int_equal(part__parse_partition_dir("orders-1~", &len, &p), -EINVAL);
    /* The longest marker and its temporary file still fit in NAME_MAX (255). */
    assert_true(PART_NAME_MAX + strlen(PART_MARKER_TMP_SUFFIX) <= 255);
    assert_true(PART_NAME_MAX + 1 + 5 <= 255); /* "<topic>-99999" */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_name_kafka_legal_names_pass),
        cmocka_unit_test(test_name_hostile_names_are_refused),
        cmocka_unit_test(test_name_nul_inside_the_length_is_refused),
        cmocka_unit_test(test_name_length_limit_is_249),
        cmocka_unit_test(test_name_partition_dir_splits_at_last_dash),
        cmocka_unit_test(test_name_unparsable_partition_dirs_are_refused),
        cmocka_unit_test(test_name_markers_parse_and_never_look_like_partitions),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
