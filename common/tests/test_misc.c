/* test_misc.c - error names, strict parsing, statistics and formatting. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "kc_common.h"
#include "kc_test.h"

static void test_err_names_cover_both_spaces(void **state)
{
    (void)state;
    assert_string_equal(kc_errname(KC_ECRC), "KC_ECRC");
    assert_string_equal(kc_strerror(KC_ECRC), "CRC-32C mismatch");
    assert_string_equal(kc_errname(-ENOENT), "ENOENT");
    assert_string_equal(kc_strerror(-ENOENT), strerror(ENOENT));
    assert_string_equal(kc_errname(0), "OK");
    assert_string_equal(kc_errname(-999999), "EUNKNOWN");
    assert_non_null(kc_strerror(12345));
}

static void test_parse_is_strict(void **state)
{
    (void)state;
    int64_t v;
    uint64_t u;
    bool b;
    assert_int_equal(kc_parse_i64("42", 0, 100, &v), 0);
    assert_int_equal(v, 42);
    assert_int_equal(kc_parse_i64("-1", -1, 100, &v), 0);
    assert_int_equal(kc_parse_i64("101", 0, 100, &v), -ERANGE);
    assert_int_equal(kc_parse_i64("12x", 0, 100, &v), -EINVAL);
    assert_int_equal(kc_parse_i64("", 0, 100, &v), -EINVAL);
    assert_int_equal(kc_parse_i64(" 5", 0, 100, &v), -EINVAL);
    assert_int_equal(kc_parse_i64("99999999999999999999", 0, INT64_MAX, &v), -ERANGE);
    assert_int_equal(kc_parse_size("64k", UINT64_MAX, &u), 0);
    assert_int_equal(u, 65536);
    assert_int_equal(kc_parse_size("1MiB", UINT64_MAX, &u), 0);
    assert_int_equal(u, 1 << 20);
    assert_int_equal(kc_parse_size("2g", UINT64_MAX, &u), 0);
    assert_int_equal(u, 2ull << 30);
    assert_int_equal(kc_parse_size("1m", 1000, &u), -ERANGE);
    assert_int_equal(kc_parse_size("5 MB", UINT64_MAX, &u), -EINVAL);
    assert_int_equal(kc_parse_size("-5", UINT64_MAX, &u), -EINVAL);
    assert_int_equal(kc_parse_size("99999999999t", UINT64_MAX, &u), -ERANGE);
    assert_int_equal(kc_parse_bool("Yes", &b), 0);
    assert_true(b);
    assert_int_equal(kc_parse_bool("off", &b), 0);
    assert_false(b);
    assert_int_equal(kc_parse_bool("maybe", &b), -EINVAL);
}

static void test_stats_median_and_percentiles(void **state)
{
    (void)state;
    double odd[] = {5, 1, 3};
    double even[] = {4, 1, 3, 2};
    assert_true(kc_median(odd, 3) == 3);
    assert_true(kc_median(even, 4) == 2.5);
    assert_true(kc_median(NULL, 0) == 0);
    int64_t lat[1000];
    for (int i = 0; i < 1000; i++)
        lat[i] = 1000 - i; /* 1..1000, reversed */
    assert_int_equal(kc_percentile_i64(lat, 1000, 50), 500);
    assert_int_equal(kc_percentile_i64(lat, 1000, 99), 990);
    assert_int_equal(kc_percentile_i64(lat, 1000, 99.9), 999);
    assert_int_equal(kc_percentile_i64(lat, 1000, 100), 1000);
    assert_int_equal(kc_percentile_i64(lat, 1000, 0), 1);
}

static void test_fmt_human_units(void **state)
{
    (void)state;
    char buf[32];
    assert_string_equal(kc_fmt_bytes(512, buf, sizeof(buf)), "512 B");
    assert_string_equal(kc_fmt_bytes(1536, buf, sizeof(buf)), "1.5 KiB");
    assert_string_equal(kc_fmt_si(1234567, buf, sizeof(buf)), "1.23 M");
    assert_string_equal(kc_fmt_ns(1500, buf, sizeof(buf)), "1.5 us");
    assert_string_equal(kc_fmt_ns(2.5e9, buf, sizeof(buf)), "2.50 s");
}

static void test_log_levels_parse(void **state)
{
    (void)state;
    enum kc_log_level l;
    assert_int_equal(kc_log_level_parse("DEBUG", &l), 0);
    assert_int_equal(l, KC_LOG_DEBUG);
    assert_int_equal(kc_log_level_parse("loud", &l), -EINVAL);
    kc_log_set_level(KC_LOG_WARN);
    assert_false(kc_log_enabled(KC_LOG_INFO));
    assert_true(kc_log_enabled(KC_LOG_ERROR));
    kc_log_set_level(KC_LOG_INFO);
}

static void test_time_clocks_move_forward(void **state)
{
    (void)state;
    int64_t t0 = kc_mono_ns();
    kc_sleep_ms(5);
    int64_t dt = kc_mono_ns() - t0;
    assert_true(dt >= 5000000);
    assert_true(kc_wall_ms() > 1600000000000LL); /* after 2020 */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_err_names_cover_both_spaces),
        cmocka_unit_test(test_parse_is_strict),
        cmocka_unit_test(test_stats_median_and_percentiles),
        cmocka_unit_test(test_fmt_human_units),
        cmocka_unit_test(test_log_levels_parse),
        cmocka_unit_test(test_time_clocks_move_forward),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
