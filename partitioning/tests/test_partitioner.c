/* test_partitioner.c - murmur2 against Kafka's and librdkafka's vectors; round-robin. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "kc_common.h"
#include "kc_test.h"
#include "part.h"
#include "part_int.h"

struct vec {
    const char *key;
    size_t len;
    int32_t want;
};

#define STR(s) s, sizeof(s) - 1

/* org.apache.kafka.common.utils.UtilsTest#testMurmur2 (clients/src/test/java). */
static const struct vec kafka_vectors[] = {
    {STR("21"), -973932308},
    {STR("foobar"), -790332482},
    {STR("a-little-bit-long-string"), -985981536},
    {STR("a-little-bit-longer-string"), -1486304829},
    {STR("lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8"), -58897971},
    {STR("abc"), 479470107},
};

/* librdkafka src/rdmurmur2.c unittest_murmur2 (values "as the Java client computes"). */
static const struct vec rdkafka_vectors[] = {
    {STR("kafka"), (int32_t)0xd067cf64},
    {STR("giberish123456789"), (int32_t)0x8f552b0c},
    {STR("1234"), (int32_t)0x9fc97b14},
    {STR("234"), (int32_t)0xe7c009ca},
    {STR("34"), (int32_t)0x873930da},
    {STR("4"), (int32_t)0x5a4b5ca1},
    {STR("PreAmbleWillBeRemoved,ThePrePartThatIs"), (int32_t)0x78424f1c},
    {STR("reAmbleWillBeRemoved,ThePrePartThatIs"), (int32_t)0x4a62b377},
    {STR("eAmbleWillBeRemoved,ThePrePartThatIs"), (int32_t)0xe0e4e09e},
    {STR("AmbleWillBeRemoved,ThePrePartThatIs"), (int32_t)0x62b8b43f},
    {STR(""), (int32_t)0x106e08d9},
};

/*
 * Bytes >= 0x80, in the 4-byte body and in every tail length: where a port that reads
 * signed chars goes wrong. Computed by the JVM (OpenJDK 17) running Kafka's
 * Utils.murmur2 code as published, which reproduces every vector above in the same run.
 */
static const struct vec jvm_high_bytes[] = {
    {"\xff", 1, -311467685},
    {"\xff\xfe", 2, 1717632651},
    {"\xff\xfe\xfd", 3, 998637092},
    {"\x80\x81\x82\x83", 4, 1420557722},
    {"\x80\x81\x82\x83\x84\x85\x86\x87\x88", 9, -622696910},
    {STR("k\xc3\xbc" "che"), -2134351774}, /* "küche" in UTF-8 */
    {STR("\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e"), 1431860170}, /* "日本語" */
    {"\0", 1, 375494588},
    {"\x0c\x2a\x38\x18\x6d\x6f", 6, 274204207}, /* also in sarama/franz-go test tables */
};

static void check_vectors(const struct vec *v, size_t n, const char *source)
{
    for (size_t i = 0; i < n; i++) {
        int32_t got = part_murmur2(v[i].key, v[i].len);
        if (got != v[i].want)
            fail_msg("%s vector %zu (%zu bytes): got %d (0x%08x), want %d (0x%08x)", source, i,
                     v[i].len, got, (uint32_t)got, v[i].want, (uint32_t)v[i].want);
    }
}

static void test_murmur2_matches_kafka_utils_test(void **state)
{
    (void)state;
    check_vectors(kafka_vectors, KC_ARRAY_SIZE(kafka_vectors), "Kafka");
}

static void test_murmur2_matches_librdkafka_vectors(void **state)
{
    (void)state;
    check_vectors(rdkafka_vectors, KC_ARRAY_SIZE(rdkafka_vectors), "librdkafka");
}

static void test_murmur2_high_bytes_match_the_jvm(void **state)
{
    (void)state;
    check_vectors(jvm_high_bytes, KC_ARRAY_SIZE(jvm_high_bytes), "JVM");
}

static void test_murmur2_does_not_depend_on_alignment(void **state)
{
    (void)state;
    static const char key[] = "lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8";
    char buf[sizeof(key) + 8];
    for (size_t shift = 0; shift < 8; shift++) {
        memcpy(buf + shift, key, sizeof(key) - 1);
        assert_int_equal(part_murmur2(buf + shift, sizeof(key) - 1), -58897971);
    }
}

static void test_for_key_is_positive_hash_mod_partitions(void **state)
{
    (void)state;
    /* (murmur2 & 0x7fffffff) % n, as BuiltInPartitioner.partitionForKey. */
    assert_int_equal(part_for_key("21", 2, 12), 1173551340 % 12);
    assert_int_equal(part_for_key("foobar", 6, 100), 1357151166 % 100);
    assert_int_equal(part_for_key("", 0, 100), 0x106e08d9 % 100); /* librdkafka 0048 test */
    assert_int_equal(part_for_key("hejsan", 6, 100), 0x5ec19395 % 100);
    assert_int_equal(part_for_key(STR("this is another string with more length to it perhaps"),
                                  100),
                     0x4f7703da % 100);
    assert_int_equal(part_for_key("k\xc3\xbc" "che", 6, 12), 10);
    assert_int_equal(part_for_key("x", 1, 1), 0);
    assert_int_equal(part_for_key("x", 1, 0), -1);
    /* INT_MIN-ish hashes: & 0x7fffffff, never abs() */
    for (uint32_t i = 0; i < 20000; i++) {
        int32_t p = part_for_key(&i, sizeof(i), 7);
        assert_true(p >= 0 && p < 7);
        assert_int_equal(p, (int32_t)(((uint32_t)part_murmur2(&i, sizeof(i)) & 0x7fffffff) % 7));
    }
}

static void test_round_robin_starts_at_zero_and_cycles(void **state)
{
    (void)state;
    struct part_topic *t = part__topic_alloc("rr", 2, 3);
    assert_non_null(t);
    const int32_t want[] = {0, 1, 2, 0, 1, 2, 0};
    for (size_t i = 0; i < KC_ARRAY_SIZE(want); i++)
        assert_int_equal(part_next_round_robin(t), want[i]);
    part__topic_free(t);
}

enum { THREADS = 4, CALLS = 300000, PARTS = 6 };

struct rr_arg {
    struct part_topic *t;
    atomic_int *start;
    long counts[PARTS];
};

static void *rr_worker(void *p)
{
    struct rr_arg *a = p;
    atomic_fetch_add(a->start, 1);
    while (atomic_load(a->start) < THREADS) /* all at once: the counter is contended */
        ;
    for (int i = 0; i < CALLS; i++)
        a->counts[part_next_round_robin(a->t)]++;
    return NULL;
}

static void test_round_robin_many_threads_exactly_even(void **state)
{
    (void)state;
    struct part_topic *t = part__topic_alloc("contended", 9, PARTS);
    assert_non_null(t);
    atomic_int start;
    atomic_init(&start, 0);
    struct rr_arg args[THREADS];
    pthread_t th[THREADS];
    for (int i = 0; i < THREADS; i++) {
        args[i] = (struct rr_arg){.t = t, .start = &start};
        assert_int_equal(pthread_create(&th[i], NULL, rr_worker, &args[i]), 0);
    }
    long total[PARTS] = {0};
    for (int i = 0; i < THREADS; i++) {
        assert_int_equal(pthread_join(th[i], NULL), 0);
        for (int p = 0; p < PARTS; p++)
            total[p] += args[i].counts[p];
    }
    /* Every number 0 .. THREADS*CALLS-1 was handed out exactly once. */
    for (int p = 0; p < PARTS; p++)
        assert_int_equal(total[p], (long)THREADS * CALLS / PARTS);
    part__topic_free(t);
}

static void test_round_robin_counter_has_its_own_cache_line(void **state)
{
    (void)state;
    struct part_topic *t = part__topic_alloc("aligned", 7, 1);
    assert_non_null(t);
    assert_int_equal((uintptr_t)&t->rr_next % 64, 0);
    assert_true((uintptr_t)&t->rr_next - (uintptr_t)t >= sizeof(t->name));
    assert_true((char *)&t->name[PART_NAME_MAX] < (char *)&t->rr_next);
    part__topic_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_murmur2_matches_kafka_utils_test),
        cmocka_unit_test(test_murmur2_matches_librdkafka_vectors),
        cmocka_unit_test(test_murmur2_high_bytes_match_the_jvm),
        cmocka_unit_test(test_murmur2_does_not_depend_on_alignment),
        cmocka_unit_test(test_for_key_is_positive_hash_mod_partitions),
        cmocka_unit_test(test_round_robin_starts_at_zero_and_cycles),
        cmocka_unit_test(test_round_robin_many_threads_exactly_even),
        cmocka_unit_test(test_round_robin_counter_has_its_own_cache_line),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
