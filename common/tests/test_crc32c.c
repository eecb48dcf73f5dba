/* test_crc32c.c - both CRC-32C paths against published check values and each other. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "kc_common.h"
#include "kc_test.h"

typedef uint32_t (*crc_fn)(uint32_t, const void *, size_t);

/* The catalogue check value and the iSCSI test patterns of RFC 3720, appendix B.4. */
static void check_vectors(crc_fn f)
{
    uint8_t buf[32];
    assert_int_equal(f(0, "123456789", 9), 0xE3069283);
    assert_int_equal(f(0, "", 0), 0);
    memset(buf, 0, sizeof(buf));
    assert_int_equal(f(0, buf, 32), 0x8A9136AA);
    memset(buf, 0xff, sizeof(buf));
    assert_int_equal(f(0, buf, 32), 0x62A8AB43);
    for (int i = 0; i < 32; i++)
        buf[i] = (uint8_t)i;
    assert_int_equal(f(0, buf, 32), 0x46DD794E);
    for (int i = 0; i < 32; i++)
        buf[i] = (uint8_t)(31 - i);
    assert_int_equal(f(0, buf, 32), 0x113FDB5C);
}

static void test_crc32c_sw_published_vectors(void **state)
{
    (void)state;
    check_vectors(kc_crc32c_sw);
}

static void test_crc32c_hw_published_vectors(void **state)
{
    (void)state;
    if (!kc_crc32c_hw_available()) {
        skip(); /* no SSE4.2 on this CPU: only the portable path can be checked */
    }
    check_vectors(kc_crc32c_hw);
    check_vectors(kc_crc32c);
}

static void test_crc32c_paths_agree_on_random_data(void **state)
{
    (void)state;
    uint64_t s = kc_test_seed();
    size_t cap = 1 << 16;
    uint8_t *buf = malloc(cap + 8);
    assert_non_null(buf);
    for (size_t i = 0; i < cap + 8; i++)
        buf[i] = (uint8_t)kc_test_rand(&s);
    for (int i = 0; i < 2000; i++) {
        size_t off = kc_test_rand(&s) % 8; /* every alignment */
        size_t len = kc_test_rand(&s) % (i < 1000 ? 64 : cap);
        uint32_t seed = (uint32_t)kc_test_rand(&s);
        uint32_t sw = kc_crc32c_sw(seed, buf + off, len);
        assert_int_equal(kc_crc32c(seed, buf + off, len), sw);
        if (kc_crc32c_hw_available())
            assert_int_equal(kc_crc32c_hw(seed, buf + off, len), sw);
    }
    free(buf);
}

static void test_crc32c_chaining_equals_whole(void **state)
{
    (void)state;
    const char *msg = "The quick brown fox jumps over the lazy dog";
    size_t n = strlen(msg);
    uint32_t whole = kc_crc32c(0, msg, n);
    assert_int_equal(whole, 0x22620404);
    for (size_t cut = 0; cut <= n; cut++) {
        assert_int_equal(kc_crc32c(kc_crc32c(0, msg, cut), msg + cut, n - cut), whole);
        assert_int_equal(kc_crc32c_sw(kc_crc32c_sw(0, msg, cut), msg + cut, n - cut), whole);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_crc32c_sw_published_vectors),
        cmocka_unit_test(test_crc32c_hw_published_vectors),
        cmocka_unit_test(test_crc32c_paths_agree_on_random_data),
        cmocka_unit_test(test_crc32c_chaining_equals_whole),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
