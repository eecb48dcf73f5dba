/*
 * test_alog_basic.c - the log's contract on one segment: offsets assigned, batches read
 * back whole, the edge codes (KC_EEMPTY, KC_EOFFSET), bad batches refused without
 * changing the log, reopen continuing the offsets, and nothing leaked.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alog.h"
#include "support/alog_fixture.h"
#include "kc_common.h"
#include "kc_test.h"

static void test_alog_empty_log_reads_eempty_and_eoffset(void **state)
{
    struct alog *log;
    assert_int_equal(alog_open(&log, *state, NULL, NULL), 0);
    struct alog_info info;
    alog_info(log, &info);
    assert_int_equal(info.start_offset, 0);
    assert_int_equal(info.end_offset, 0);
    assert_int_equal(info.segments, 1);
    assert_false(info.recovered);
    struct alog_slice slice;
    assert_int_equal(alog_read(log, 0, 1 << 20, &slice), KC_EEMPTY);
    assert_int_equal(alog_read(log, 1, 1 << 20, &slice), KC_EOFFSET);
    assert_int_equal(alog_read(log, -1, 1 << 20, &slice), KC_EOFFSET);
    int64_t off;
    assert_int_equal(alog_offset_for_time(log, 0, &off), -ENOENT);
    assert_int_equal(alog_close(log), 0);
}

static void test_alog_append_assigns_offsets_and_rewrites_header(void **state)
{
    struct alog *log;
    assert_int_equal(alog_open(&log, *state, NULL, NULL), 0);
    size_t len;
    uint8_t *b = fx_batch(0, 5, 20, 1000, &len);
    kc_batch_set_base_offset(b, 777); /* whatever the producer sent */
    int64_t base;
    for (int i = 0; i < 3; i++) {
        assert_int_equal(alog_append(log, b, len, &base), 0);
        assert_int_equal(base, i * 5);
        assert_int_equal(kc_batch_base_offset(b), base);    /* rewritten in place */
        assert_int_equal((int32_t)kc_load_be32(b + 12), 0); /* leader epoch 0 */
        assert_true(kc_batch_validate(b, len, NULL) > 0);   /* CRC still valid */
    }
    free(b);
    assert_int_equal(alog_end_offset(log), 15);
    assert_int_equal(alog_close(log), 0);
}

static void test_alog_read_every_offset_returns_containing_batch(void **state)
{
    struct alog *log;
    assert_int_equal(alog_open(&log, *state, NULL, NULL), 0);
    fx_append(log, 200, 7, 50, 1700000000000);
    fx_check_reads(log, 0, 1400);
    struct alog_slice slice;
    assert_int_equal(alog_read(log, 1400, 1, &slice), KC_EEMPTY);
    assert_int_equal(alog_read(log, 1401, 1, &slice), KC_EOFFSET);
    assert_int_equal(alog_close(log), 0);
}

static void test_alog_read_max_bytes_whole_batches_at_least_one(void **state)
{
    struct alog *log;
    assert_int_equal(alog_open(&log, *state, NULL, NULL), 0);
    size_t one;
    free(fx_batch(0, 10, 100, 0, &one)); /* every batch below has this size */
    fx_append(log, 20, 10, 100, 0);
    struct alog_slice s;
    assert_int_equal(alog_read(log, 13, 0, &s), 0); /* 0 bytes still gets one batch */
    assert_int_equal(s.len, one);
    assert_int_equal(s.first_offset, 10);
    assert_int_equal(s.next_offset, 20);
    assert_int_equal(s.pos, (off_t)one);
    alog_slice_release(&s);
    assert_int_equal(alog_read(log, 13, 3 * one + one / 2, &s), 0); /* 3.5 batches: 3 */
    assert_int_equal(s.len, 3 * one);
    assert_int_equal(s.next_offset, 40);
    alog_slice_release(&s);
    assert_int_equal(alog_read(log, 0, SIZE_MAX, &s), 0); /* all of it */
    assert_int_equal(s.len, 20 * one);
    assert_int_equal(s.next_offset, 200);
    alog_slice_release(&s);
    alog_slice_release(&s); /* twice is harmless */
    assert_int_equal(alog_close(log), 0);
}

/* One batch as found by parsing a .log file from its start (the reference model). */
struct ref_batch {
    int64_t base, next;
    uint64_t pos, size;
};

/* Every batch of every segment, parsed straight from the files; returns the count. */
static int ref_batches(struct alog *log, const char *dir, struct ref_batch *out, int cap,
                       int *seg_of)
{
    struct alog_segment_info segs[64];
    int nsegs = alog_segments(log, segs, 64), n = 0;
    assert_true(nsegs <= 64);
    for (int s = 0; s < nsegs; s++) {
        char path[4096], *data;
        size_t len;
        fx_seg_path(path, sizeof(path), dir, segs[s].base_offset, ".log");
        assert_int_equal(kc_read_file(path, 1u << 30, &data, &len), 0);
        for (size_t pos = 0; pos < len; n++) {
            struct kc_batch_header h;
            assert_true(n < cap);
            assert_int_equal(kc_batch_header_decode((uint8_t *)data + pos, len - pos, &h), 0);
            uint64_t size = (uint64_t)h.batch_length + KC_BATCH_LOG_OVERHEAD;
            out[n] = (struct ref_batch){h.base_offset, h.base_offset + h.last_offset_delta + 1,
                                        pos, size};
            seg_of[n] = s;
            pos += size;
        }
        free(data);
    }
    return n;
}

/* Random batch sizes, a small index interval, several segments: every (offset, max_bytes)
 * gives exactly the slice the reference model says, whether the read walked or jumped. */
static void test_alog_read_random_max_bytes_matches_reference(void **state)
{
    uint64_t seed = kc_test_seed(), r = seed | 1;
    struct alog_config cfg;
    fx_config(&cfg, 256 * 1024);
    cfg.index_interval_bytes = 512;
    struct alog *log;
    assert_int_equal(alog_open(&log, *state, &cfg, NULL), 0);
    for (int i = 0; i < 600; i++)
        fx_append(log, 1, 1 + (int)(kc_test_rand(&r) % 30),
                  8 + (size_t)(kc_test_rand(&r) % (i % 50 == 0 ? 6000 : 300)), 0);
    enum { CAP = 1000 };
    static struct ref_batch ref[CAP];
    static int seg_of[CAP];
    int n = ref_batches(log, *state, ref, CAP, seg_of);
    assert_true(alog_segments(log, NULL, 0) >= 3);
    for (int q = 0; q < 4000; q++) {
        int b = (int)(kc_test_rand(&r) % (uint64_t)n);
        int64_t off = ref[b].base + (int64_t)(kc_test_rand(&r) % (uint64_t)(ref[b].next - ref[b].base));
        size_t max = q % 4 == 0 ? (size_t)(kc_test_rand(&r) % 200)
                                : (size_t)(kc_test_rand(&r) % (q % 4 == 1 ? 4096 : 300000));
        uint64_t len = ref[b].size;
        int e = b + 1;
        for (; e < n && seg_of[e] == seg_of[b] && len + ref[e].size <= max; e++)
            len += ref[e].size;
        struct alog_slice s;
        assert_int_equal(alog_read(log, off, max, &s), 0);
        if (s.pos != (off_t)ref[b].pos || s.len != len || s.first_offset != ref[b].base ||
            s.next_offset != ref[e - 1].next)
            fail_msg("seed %llu: read(%lld, %zu) gave [%lld, +%zu) %lld..%lld, want [%llu, +%llu) "
                     "%lld..%lld",
                     (unsigned long long)seed, (long long)off, max, (long long)s.pos, s.len,
                     (long long)s.first_offset, (long long)s.next_offset,
                     (unsigned long long)ref[b].pos, (unsigned long long)len,
                     (long long)ref[b].base, (long long)ref[e - 1].next);
        alog_slice_release(&s);
    }
    assert_int_equal(alog_close(log), 0);
}

static void test_alog_append_refuses_bad_batches_log_unchanged(void **state)
{
    struct alog_config cfg;
    fx_config(&cfg, 1 << 20);
    cfg.max_batch_bytes = 4096;
    struct alog *log;
    assert_int_equal(alog_open(&log, *state, &cfg, NULL), 0);
    fx_append(log, 1, 3, 10, 0);
    size_t len;
    uint8_t *big = fx_batch(0, 10, 500, 0, &len);
    int64_t base = -42;
    assert_int_equal(alog_append(log, big, len, &base), KC_ETOOLARGE);
    free(big);

    uint8_t *b = fx_batch(0, 3, 10, 0, &len);
    assert_int_equal(alog_append(log, b, len - 1, &base), KC_EMALFORMED); /* length lies */
    assert_int_equal(alog_append(log, b, 30, &base), KC_EMALFORMED);      /* short */
    assert_int_equal(alog_append(log, NULL, 0, &base), KC_EMALFORMED);
    b[16] = 1; /* magic 1 */
    assert_int_equal(alog_append(log, b, len, &base), KC_EMALFORMED);
    b[16] = 2;
    kc_store_be32(b + 23, 5); /* lastOffsetDelta != count - 1 */
    assert_int_equal(alog_append(log, b, len, &base), KC_EMALFORMED);
    free(b);
    assert_int_equal(base, -42); /* out-parameter untouched */
    assert_int_equal(alog_end_offset(log), 3);
    fx_check_reads(log, 0, 3);
    assert_int_equal(alog_close(log), 0);
}

static void test_alog_reopen_continues_offsets(void **state)
{
    for (int round = 0; round < 4; round++) {
        struct alog *log;
        assert_int_equal(alog_open(&log, *state, NULL, NULL), 0);
        assert_int_equal(alog_end_offset(log), round * 30);
        struct alog_info info;
        alog_info(log, &info);
        assert_false(info.recovered);
        fx_append(log, 10, 3, 40, 1000);
        fx_check_reads(log, 0, (round + 1) * 30);
        assert_int_equal(alog_close(log), 0);
    }
}

static void test_alog_read_copy_appends_to_writer(void **state)
{
    struct alog *log;
    assert_int_equal(alog_open(&log, *state, NULL, NULL), 0);
    fx_append(log, 3, 2, 16, 0);
    struct kc_writer w;
    kc_writer_init(&w, 0);
    kc_write_u32(&w, 0xabcdef01); /* something already there stays */
    int64_t next = -1;
    assert_int_equal(alog_read_copy(log, 2, SIZE_MAX, &w, &next), 0);
    assert_int_equal(next, 6);
    assert_int_equal(kc_load_be32(kc_writer_data(&w)), 0xabcdef01);
    assert_int_equal(kc_batch_base_offset(kc_writer_data(&w) + 4), 2);
    assert_int_equal(alog_read_copy(log, 6, SIZE_MAX, &w, &next), KC_EEMPTY);
    assert_int_equal(next, 6);
    kc_writer_fini(&w);

    kc_writer_init(&w, 10); /* too small a limit: the writer's error, nothing half-written */
    assert_int_equal(alog_read_copy(log, 0, SIZE_MAX, &w, &next), KC_ETOOLARGE);
    kc_writer_fini(&w);
    assert_int_equal(alog_close(log), 0);
}

static void test_alog_open_bad_config_einval(void **state)
{
    struct alog_config cfg;
    struct alog *log = NULL;
    alog_config_init(&cfg);
    cfg.segment_bytes = 10;
    assert_int_equal(alog_open(&log, *state, &cfg, NULL), -EINVAL);
    alog_config_init(&cfg);
    cfg.segment_bytes = 1ull << 32; /* positions are u32 */
    assert_int_equal(alog_open(&log, *state, &cfg, NULL), -EINVAL);
    alog_config_init(&cfg);
    cfg.max_batch_bytes = 10;
    assert_int_equal(alog_open(&log, *state, &cfg, NULL), -EINVAL);
    alog_config_init(&cfg);
    cfg.flush_interval_ms = -5;
    assert_int_equal(alog_open(&log, *state, &cfg, NULL), -EINVAL);
    assert_null(log);
}

static void test_alog_open_twice_ebusy(void **state)
{
    struct alog *log, *again = NULL;
    assert_int_equal(alog_open(&log, *state, NULL, NULL), 0);
    assert_int_equal(alog_open(&again, *state, NULL, NULL), -EBUSY);
    assert_null(again);
    assert_int_equal(alog_close(log), 0);
    assert_int_equal(alog_open(&again, *state, NULL, NULL), 0); /* released by close */
    assert_int_equal(alog_close(again), 0);
}

static void test_alog_open_close_restores_fds_and_maps(void **state)
{
    int fds = kc_test_fd_count();
    struct alog_config cfg;
    fx_config(&cfg, 4096);
    for (int i = 0; i < 3; i++) {
        struct alog *log;
        assert_int_equal(alog_open(&log, *state, &cfg, NULL), 0);
        fx_append(log, 30, 4, 100, 0); /* several rolls */
        assert_true(fx_map_count(*state) >= 2);
        struct alog_slice s;
        assert_int_equal(alog_read(log, 1, 1, &s), 0);
        alog_slice_release(&s);
        assert_int_equal(alog_close(log), 0);
        assert_int_equal(fx_map_count(*state), 0);
        assert_int_equal(fx_fd_count(*state), 0); /* the directory's lock fd too */
    }
    assert_int_equal(kc_test_fd_count(), fds);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, kc_test_dir_setup, kc_test_dir_teardown)
        T(test_alog_empty_log_reads_eempty_and_eoffset),
        T(test_alog_append_assigns_offsets_and_rewrites_header),
        T(test_alog_read_every_offset_returns_containing_batch),
        T(test_alog_read_max_bytes_whole_batches_at_least_one),
        T(test_alog_read_random_max_bytes_matches_reference),
        T(test_alog_append_refuses_bad_batches_log_unchanged),
        T(test_alog_reopen_continues_offsets),
        T(test_alog_read_copy_appends_to_writer),
        T(test_alog_open_bad_config_einval),
        T(test_alog_open_twice_ebusy),
        T(test_alog_open_close_restores_fds_and_maps),
#undef T
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
