/*
 * test_mm_index.c - the mapped offset and time index: binary search at every key and
 * boundary, empty and full indexes, the zero tail, trim/truncate, corruption caught by the
 * sanity check, concurrent lookups during appends, no leaked fds or mappings.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kc_common.h"
#include "kc_test.h"
#include "mm_index.h"

#define MAX_BYTES (64 * 1024)

static void ipath(char *out, size_t cap, void **state, const char *name)
{
    assert_int_equal(kc_path_join(out, cap, *state, name), 0);
}

/* Entry i of a test index: keys with gaps of 10 (so key+1..key+9 fall between entries). */
static int64_t key_of(enum mm_index_kind kind, size_t i)
{
    return kind == MM_INDEX_TIME ? 1700000000000 + 10 * (int64_t)i : 10 * (int64_t)i + 5;
}

static uint32_t value_of(enum mm_index_kind kind, size_t i)
{
    return kind == MM_INDEX_TIME ? (uint32_t)(10 * i + 5) : (uint32_t)(4096 * (i + 1));
}

static void fill(struct mm_index *idx, size_t n)
{
    for (size_t i = 0; i < n; i++)
        assert_int_equal(mm_index_append(idx, key_of(idx->kind, i), value_of(idx->kind, i)), 0);
}

/* Every key, every gap, below the first and above the last. */
static void check_every_key(const struct mm_index *idx, size_t n)
{
    struct mm_index_entry e;
    int64_t first = key_of(idx->kind, 0);
    assert_int_equal(mm_index_lookup(idx, first - 1, &e, NULL), -ENOENT);
    assert_int_equal(mm_index_lookup(idx, INT64_MIN, &e, NULL), -ENOENT);
    size_t at;
    assert_int_equal(mm_index_find(idx, first - 1, &at), -ENOENT);
    unsigned bound = 1; /* a binary search: at most ceil(log2(n)) + 1 probes */
    while ((1u << (bound - 1)) < n)
        bound++;
    for (size_t i = 0; i < n; i++) {
        for (int64_t d = 0; d < 10; d++) {
            int64_t k = key_of(idx->kind, i) + d;
            struct mm_index_trace t;
            assert_int_equal(mm_index_lookup(idx, k, &e, &t), 0);
            if (e.key != key_of(idx->kind, i) || e.value != value_of(idx->kind, i))
                fail_msg("n=%zu lookup(%lld) gave key %lld, want entry %zu", n, (long long)k,
                         (long long)e.key, i);
            if (t.steps > bound)
                fail_msg("lookup took %u steps for %zu entries", t.steps, n);
            assert_int_equal(mm_index_find(idx, k, &at), 0); /* the same entry, by place */
            assert_int_equal(at, i);
        }
    }
    assert_int_equal(mm_index_lookup(idx, INT64_MAX, &e, NULL), 0);
    assert_int_equal(e.key, key_of(idx->kind, n - 1));
}

static void run_every_key(void **state, enum mm_index_kind kind)
{
    /* Sizes around the warm section (1024 offset / 682 time entries) and page edges. */
    static const size_t sizes[] = {1,   2,   3,    7,    511,  512,  513,  681,
                                   682, 683, 1023, 1024, 1025, 1026, 2049, 5000};
    char path[512];
    ipath(path, sizeof(path), state, "idx");
    for (size_t s = 0; s < KC_ARRAY_SIZE(sizes); s++) {
        struct mm_index idx;
        assert_int_equal(mm_index_open(&idx, path, kind,
                                       MM_INDEX_WRITABLE | MM_INDEX_CREATE | MM_INDEX_EMPTY,
                                       MAX_BYTES),
                         0);
        fill(&idx, sizes[s]);
        check_every_key(&idx, sizes[s]);
        assert_int_equal(mm_index_close(&idx), 0);
    }
}

static void test_mm_index_offset_lookup_every_key_and_gap_finds_floor(void **state)
{
    run_every_key(state, MM_INDEX_OFFSET);
}

static void test_mm_index_time_lookup_every_key_and_gap_finds_floor(void **state)
{
    run_every_key(state, MM_INDEX_TIME);
}

/* Every position and every gap between positions finds the floor entry by position. */
static void test_mm_index_position_lookup_every_position_finds_floor(void **state)
{
    static const size_t sizes[] = {1, 2, 3, 511, 512, 513, 1025, 5000};
    char path[512];
    ipath(path, sizeof(path), state, "idx");
    for (size_t s = 0; s < KC_ARRAY_SIZE(sizes); s++) {
        size_t n = sizes[s];
        struct mm_index idx;
        struct mm_index_entry e;
        assert_int_equal(mm_index_open(&idx, path, MM_INDEX_OFFSET,
                                       MM_INDEX_WRITABLE | MM_INDEX_CREATE | MM_INDEX_EMPTY,
                                       MAX_BYTES),
                         0);
        assert_int_equal(mm_index_lookup_position(&idx, UINT32_MAX, &e), -ENOENT); /* empty */
        fill(&idx, n);
        assert_int_equal(mm_index_lookup_position(&idx, value_of(MM_INDEX_OFFSET, 0) - 1, &e),
                         -ENOENT);
        for (size_t i = 0; i < n; i++) {
            uint32_t pos = value_of(MM_INDEX_OFFSET, i);
            for (uint32_t d = 0; d < 4096; d += 1365) {
                assert_int_equal(mm_index_lookup_position(&idx, pos + d, &e), 0);
                if (e.key != key_of(MM_INDEX_OFFSET, i) || e.value != pos)
                    fail_msg("n=%zu position %u gave entry at %u, want %u", n, pos + d, e.value,
                             pos);
            }
        }
        assert_int_equal(mm_index_lookup_position(&idx, UINT32_MAX, &e), 0);
        assert_int_equal(e.key, key_of(MM_INDEX_OFFSET, n - 1));
        assert_int_equal(mm_index_close(&idx), 0);
    }
    struct mm_index tidx;
    struct mm_index_entry e;
    assert_int_equal(mm_index_open(&tidx, path, MM_INDEX_TIME,
                                   MM_INDEX_WRITABLE | MM_INDEX_CREATE | MM_INDEX_EMPTY, MAX_BYTES),
                     0);
    assert_int_equal(mm_index_lookup_position(&tidx, 0, &e), -EINVAL); /* offset index only */
    assert_int_equal(mm_index_close(&tidx), 0);
}

static long long blocks_bytes(int fd)
{
    struct stat st;
    assert_int_equal(fstat(fd, &st), 0);
    return (long long)st.st_blocks * 512;
}

/* A preallocated index is sparse; the appender reserves blocks ahead of its stores, so a
 * full disk is -ENOSPC from append, never SIGBUS from a store into a hole. */
static void test_mm_index_append_reserves_blocks_ahead_of_stores(void **state)
{
    char path[512];
    ipath(path, sizeof(path), state, "idx");
    struct mm_index idx;
    assert_int_equal(mm_index_open(&idx, path, MM_INDEX_OFFSET,
                                   MM_INDEX_WRITABLE | MM_INDEX_CREATE | MM_INDEX_EMPTY, 1 << 20),
                     0);
    assert_true(blocks_bytes(idx.file.fd) < MM_INDEX_RESERVE_BYTES); /* a hole so far */
    assert_int_equal(mm_index_append(&idx, 1, 4096), 0);
    assert_true(blocks_bytes(idx.file.fd) >= MM_INDEX_RESERVE_BYTES);
    size_t per = MM_INDEX_RESERVE_BYTES / MM_INDEX_OFFSET_ENTRY;
    for (size_t i = 2; i <= per + 1; i++) /* one entry into the second reserved stretch */
        assert_int_equal(mm_index_append(&idx, (int64_t)i, (uint32_t)(4096 * i)), 0);
    assert_true(blocks_bytes(idx.file.fd) >= 2 * MM_INDEX_RESERVE_BYTES);
    assert_int_equal(mm_index_trim(&idx), 0);
    assert_int_equal(mm_index_resize(&idx, 1 << 20), 0); /* appendable again: reserves again */
    assert_int_equal(mm_index_append(&idx, (int64_t)per + 2, (uint32_t)(4096 * (per + 2))), 0);
    assert_true(blocks_bytes(idx.file.fd) >= 2 * MM_INDEX_RESERVE_BYTES);
    assert_int_equal(mm_index_close(&idx), 0);
}

/* An index that gave up its descriptor still appends (reserving blocks through a
 * descriptor opened for the call), looks up, trims and closes. */
static void test_mm_index_without_fd_appends_reserves_trims(void **state)
{
    char path[512];
    ipath(path, sizeof(path), state, "nofd");
    int fds = kc_test_fd_count();
    struct mm_index idx;
    assert_int_equal(mm_index_open(&idx, path, MM_INDEX_OFFSET,
                                   MM_INDEX_WRITABLE | MM_INDEX_CREATE | MM_INDEX_EMPTY, 1 << 20),
                     0);
    assert_int_equal(mm_file_drop_fd(&idx.file), 0);
    assert_int_equal(kc_test_fd_count(), fds);
    size_t per = MM_INDEX_RESERVE_BYTES / MM_INDEX_OFFSET_ENTRY;
    for (size_t i = 1; i <= per + 1; i++)
        assert_int_equal(mm_index_append(&idx, (int64_t)i, (uint32_t)(4096 * i)), 0);
    struct mm_index_entry e;
    assert_int_equal(mm_index_lookup(&idx, 77, &e, NULL), 0);
    assert_int_equal(e.value, 4096 * 77);
    assert_int_equal(mm_index_trim(&idx), 0);
    assert_int_equal(kc_test_fd_count(), fds);
    assert_int_equal(mm_index_close(&idx), 0);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_size, (off_t)((per + 1) * MM_INDEX_OFFSET_ENTRY));
}

/* Reserving while the descriptor is at hand: the first stretch of appends needs no other. */
static void test_mm_index_reserve_then_drop_fd_appends_without_opening(void **state)
{
    char path[512];
    ipath(path, sizeof(path), state, "reserved");
    struct mm_index idx, ro;
    assert_int_equal(mm_index_open(&idx, path, MM_INDEX_OFFSET,
                                   MM_INDEX_WRITABLE | MM_INDEX_CREATE | MM_INDEX_EMPTY, 1 << 20),
                     0);
    assert_int_equal(mm_index_reserve(&idx), 0);
    assert_true(blocks_bytes(idx.file.fd) >= MM_INDEX_RESERVE_BYTES);
    assert_int_equal(mm_index_reserve(&idx), 0); /* reserved already: nothing to do */
    assert_int_equal(mm_file_drop_fd(&idx.file), 0);
    char moved[600];
    snprintf(moved, sizeof(moved), "%s.moved", path);
    assert_int_equal(rename(path, moved), 0); /* an open by path fails from here on */
    size_t per = MM_INDEX_RESERVE_BYTES / MM_INDEX_OFFSET_ENTRY;
    for (size_t i = 1; i <= per; i++) /* the whole first stretch: no open needed */
        assert_int_equal(mm_index_append(&idx, (int64_t)i, (uint32_t)(4096 * i)), 0);
    int64_t k = (int64_t)per + 1;
    assert_int_equal(mm_index_append(&idx, k, (uint32_t)(4096 * k)), -ENOENT); /* the next */
    assert_int_equal(rename(moved, path), 0);
    assert_int_equal(mm_index_append(&idx, k, (uint32_t)(4096 * k)), 0);
    assert_int_equal(mm_index_entries(&idx), per + 1);
    assert_int_equal(mm_index_close(&idx), 0);
    assert_int_equal(mm_index_open(&ro, path, MM_INDEX_OFFSET, MM_INDEX_READONLY, 1 << 20), 0);
    assert_int_equal(mm_index_reserve(&ro), -EBADF);
    assert_int_equal(mm_index_entries(&ro), per + 1);
    assert_int_equal(mm_index_close(&ro), 0);
}

static void test_mm_index_empty_lookup_enoent(void **state)
{
    char path[512];
    ipath(path, sizeof(path), state, "empty.index");
    struct mm_index idx;
    assert_int_equal(
        mm_index_open(&idx, path, MM_INDEX_OFFSET, MM_INDEX_WRITABLE | MM_INDEX_CREATE, MAX_BYTES),
        0);
    struct mm_index_entry e;
    assert_int_equal(mm_index_entries(&idx), 0);
    assert_int_equal(mm_index_lookup(&idx, 0, &e, NULL), -ENOENT);
    assert_int_equal(mm_index_lookup(&idx, INT64_MAX, &e, NULL), -ENOENT);
    assert_int_equal(mm_index_last(&idx, &e), -ENOENT);
    struct mm_index_bounds b = {.log_size = 0, .max_rel = -1};
    assert_int_equal(mm_index_check(&idx, &b, NULL), 0);
    assert_int_equal(mm_index_trim(&idx), 0);
    assert_int_equal(mm_index_close(&idx), 0);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_size, 0);
}

static void test_mm_index_full_refuses_with_efull(void **state)
{
    char path[512];
    ipath(path, sizeof(path), state, "full.timeindex");
    struct mm_index idx;
    /* 100 bytes round down to 8 time entries (96 bytes). */
    assert_int_equal(
        mm_index_open(&idx, path, MM_INDEX_TIME, MM_INDEX_WRITABLE | MM_INDEX_CREATE, 100), 0);
    assert_int_equal(idx.max_entries, 8);
    fill(&idx, 8);
    assert_true(mm_index_full(&idx));
    assert_int_equal(mm_index_append(&idx, key_of(MM_INDEX_TIME, 8), 1000), KC_EFULL);
    check_every_key(&idx, 8);
    assert_int_equal(mm_index_resize(&idx, 200), 0); /* appendable again */
    assert_false(mm_index_full(&idx));
    fill(&idx, 0);
    assert_int_equal(mm_index_append(&idx, key_of(MM_INDEX_TIME, 8), value_of(MM_INDEX_TIME, 8)),
                     0);
    check_every_key(&idx, 9);
    assert_int_equal(mm_index_close(&idx), 0);
}

static void test_mm_index_append_refuses_bad_entries_einval(void **state)
{
    char path[512];
    ipath(path, sizeof(path), state, "bad.index");
    struct mm_index idx;
    assert_int_equal(
        mm_index_open(&idx, path, MM_INDEX_OFFSET, MM_INDEX_WRITABLE | MM_INDEX_CREATE, MAX_BYTES),
        0);
    assert_int_equal(mm_index_append(&idx, 0, 0), -EINVAL);          /* the zero entry */
    assert_int_equal(mm_index_append(&idx, -1, 10), -EINVAL);        /* negative offset */
    assert_int_equal(mm_index_append(&idx, 1LL << 32, 10), -EINVAL); /* past u32 */
    assert_int_equal(mm_index_append(&idx, 10, 100), 0);
    assert_int_equal(mm_index_append(&idx, 10, 200), -EINVAL); /* key not increasing */
    assert_int_equal(mm_index_append(&idx, 11, 100), -EINVAL); /* position not increasing */
    assert_int_equal(mm_index_append(&idx, 11, 101), 0);
    assert_int_equal(mm_index_entries(&idx), 2);
    assert_int_equal(mm_index_close(&idx), 0);

    /* Time index: offsets may repeat? No: they may not go back, equal is allowed. */
    ipath(path, sizeof(path), state, "bad.timeindex");
    assert_int_equal(
        mm_index_open(&idx, path, MM_INDEX_TIME, MM_INDEX_WRITABLE | MM_INDEX_CREATE, MAX_BYTES),
        0);
    assert_int_equal(mm_index_append(&idx, 100, 5), 0);
    assert_int_equal(mm_index_append(&idx, 100, 6), -EINVAL); /* timestamp not increasing */
    assert_int_equal(mm_index_append(&idx, 101, 4), -EINVAL); /* offset going back */
    assert_int_equal(mm_index_append(&idx, 101, 5), 0);
    assert_int_equal(mm_index_close(&idx), 0);

    /* A read-only index refuses appends. */
    assert_int_equal(mm_index_open(&idx, path, MM_INDEX_TIME, MM_INDEX_READONLY, 0), 0);
    assert_int_equal(mm_index_entries(&idx), 2);
    assert_int_equal(mm_index_append(&idx, 200, 9), -EBADF);
    assert_int_equal(mm_index_close(&idx), 0);
}

static void test_mm_index_reopen_preallocated_finds_used_prefix(void **state)
{
    char path[512];
    ipath(path, sizeof(path), state, "re.index");
    for (size_t n = 0; n < 1100; n += 97) {
        struct mm_index idx;
        assert_int_equal(mm_index_open(&idx, path, MM_INDEX_OFFSET,
                                       MM_INDEX_WRITABLE | MM_INDEX_CREATE | MM_INDEX_EMPTY,
                                       MAX_BYTES),
                         0);
        fill(&idx, n);
        assert_int_equal(mm_index_close(&idx), 0); /* not trimmed: a crash-like close */
        struct stat st;
        assert_int_equal(stat(path, &st), 0);
        assert_int_equal(st.st_size, MAX_BYTES);
        assert_int_equal(mm_index_open(&idx, path, MM_INDEX_OFFSET, MM_INDEX_READONLY, 0), 0);
        assert_int_equal(mm_index_entries(&idx), n);
        struct mm_index_bounds b = {.log_size = UINT32_MAX, .max_rel = INT32_MAX};
        assert_int_equal(mm_index_check(&idx, &b, NULL), 0);
        if (n)
            check_every_key(&idx, n);
        assert_int_equal(mm_index_close(&idx), 0);
    }
}

static void test_mm_index_trim_cuts_file_to_used_size(void **state)
{
    char path[512];
    ipath(path, sizeof(path), state, "trim.timeindex");
    struct mm_index idx;
    assert_int_equal(
        mm_index_open(&idx, path, MM_INDEX_TIME, MM_INDEX_WRITABLE | MM_INDEX_CREATE, MAX_BYTES),
        0);
    fill(&idx, 300);
    const uint8_t *base = idx.file.base;
    assert_int_equal(mm_index_trim(&idx), 0);
    assert_ptr_equal(idx.file.base, base); /* in place: concurrent lookups stay valid */
    assert_true(mm_index_full(&idx));
    check_every_key(&idx, 300);
    assert_int_equal(mm_index_close(&idx), 0);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_size, 300 * MM_INDEX_TIME_ENTRY);
    /* Reopened writable, it is preallocated again and continues. */
    assert_int_equal(mm_index_open(&idx, path, MM_INDEX_TIME, MM_INDEX_WRITABLE, MAX_BYTES), 0);
    assert_int_equal(mm_index_entries(&idx), 300);
    assert_int_equal(idx.max_entries, MAX_BYTES / MM_INDEX_TIME_ENTRY);
    assert_int_equal(
        mm_index_append(&idx, key_of(MM_INDEX_TIME, 300), value_of(MM_INDEX_TIME, 300)), 0);
    assert_int_equal(mm_index_close(&idx), 0);
}

static void test_mm_index_truncate_drops_entries_at_and_after_offset(void **state)
{
    char path[512];
    for (int kind = MM_INDEX_OFFSET; kind <= MM_INDEX_TIME; kind++) {
        ipath(path, sizeof(path), state, kind ? "t.timeindex" : "t.index");
        struct mm_index idx;
        assert_int_equal(mm_index_open(&idx, path, (enum mm_index_kind)kind,
                                       MM_INDEX_WRITABLE | MM_INDEX_CREATE, MAX_BYTES),
                         0);
        fill(&idx, 100);                                          /* offsets 5, 15, ..., 995 */
        assert_int_equal(mm_index_truncate_offset(&idx, 506), 0); /* keeps 5..505 */
        assert_int_equal(mm_index_entries(&idx), 51);
        assert_int_equal(mm_index_truncate_offset(&idx, 505), 0); /* "at" drops 505 too */
        assert_int_equal(mm_index_entries(&idx), 50);
        assert_int_equal(mm_index_close(&idx), 0);
        /* The dropped entries were zeroed: a reopen sees the same 50 and no strays. */
        assert_int_equal(mm_index_open(&idx, path, (enum mm_index_kind)kind, MM_INDEX_READONLY, 0),
                         0);
        assert_int_equal(mm_index_entries(&idx), 50);
        assert_int_equal(idx.stray_entries, 0);
        check_every_key(&idx, 50);
        assert_int_equal(mm_index_close(&idx), 0);
        assert_int_equal(
            mm_index_open(&idx, path, (enum mm_index_kind)kind, MM_INDEX_WRITABLE, MAX_BYTES), 0);
        assert_int_equal(mm_index_reset(&idx), 0);
        assert_int_equal(mm_index_entries(&idx), 0);
        assert_int_equal(mm_index_close(&idx), 0);
    }
}

/* Write raw bytes into an index file behind its back. */
static void poke(const char *path, off_t off, const void *p, size_t n)
{
    int fd = open(path, O_WRONLY);
    assert_true(fd >= 0);
    assert_int_equal(kc_pwrite_all(fd, p, n, off), (ssize_t)n);
    close(fd);
}

static int check_file(const char *path, enum mm_index_kind kind, const struct mm_index_bounds *b,
                      const char **why)
{
    struct mm_index idx;
    assert_int_equal(mm_index_open(&idx, path, kind, MM_INDEX_READONLY, 0), 0);
    int rc = mm_index_check(&idx, b, why);
    assert_int_equal(mm_index_close(&idx), 0);
    return rc;
}

static void make_index(const char *path, enum mm_index_kind kind, size_t n, bool trim)
{
    struct mm_index idx;
    assert_int_equal(mm_index_open(&idx, path, kind,
                                   MM_INDEX_WRITABLE | MM_INDEX_CREATE | MM_INDEX_EMPTY, MAX_BYTES),
                     0);
    fill(&idx, n);
    if (trim)
        assert_int_equal(mm_index_trim(&idx), 0);
    assert_int_equal(mm_index_close(&idx), 0);
}

static void test_mm_index_check_catches_each_corruption(void **state)
{
    char path[512];
    ipath(path, sizeof(path), state, "c.index");
    const struct mm_index_bounds ok = {.log_size = 4096 * 101, .max_rel = 1000};
    const char *why = NULL;
    uint8_t junk[8] = {0, 0, 0, 1, 0, 0, 0, 1};

    make_index(path, MM_INDEX_OFFSET, 100, true);
    assert_int_equal(check_file(path, MM_INDEX_OFFSET, &ok, &why), 0);

    poke(path, 800, "x", 1); /* 801 bytes: not a multiple of 8 */
    assert_int_equal(check_file(path, MM_INDEX_OFFSET, &ok, &why), KC_ECORRUPT);
    assert_string_equal(why, "size is not a multiple of the entry size");

    make_index(path, MM_INDEX_OFFSET, 100, true);
    poke(path, 50 * 8, junk, 8); /* entry 50 goes back to offset 1 */
    assert_int_equal(check_file(path, MM_INDEX_OFFSET, &ok, &why), KC_ECORRUPT);
    assert_string_equal(why, "entries out of order");

    make_index(path, MM_INDEX_OFFSET, 10, false);
    poke(path, 40 * 8, junk, 8); /* a non-zero entry well inside the zero tail */
    assert_int_equal(check_file(path, MM_INDEX_OFFSET, &ok, &why), KC_ECORRUPT);
    assert_string_equal(why, "non-zero entries after the used ones");

    make_index(path, MM_INDEX_OFFSET, 100, true);
    const struct mm_index_bounds short_log = {.log_size = 4096 * 50, .max_rel = 1000};
    assert_int_equal(check_file(path, MM_INDEX_OFFSET, &short_log, &why), KC_ECORRUPT);
    assert_string_equal(why, "entry past the end of the log");
    const struct mm_index_bounds few = {.log_size = 4096 * 101, .max_rel = 500};
    assert_int_equal(check_file(path, MM_INDEX_OFFSET, &few, &why), KC_ECORRUPT);
    assert_string_equal(why, "entry past the segment's last offset");

    ipath(path, sizeof(path), state, "c.timeindex");
    make_index(path, MM_INDEX_TIME, 100, true);
    assert_int_equal(check_file(path, MM_INDEX_TIME, &ok, &why), 0);
    assert_int_equal(check_file(path, MM_INDEX_TIME, &few, &why), KC_ECORRUPT);
    uint8_t tjunk[12] = {0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 7};
    poke(path, 99 * 12, tjunk, 12); /* last timestamp goes back to 1 */
    assert_int_equal(check_file(path, MM_INDEX_TIME, &ok, &why), KC_ECORRUPT);
    assert_string_equal(why, "entries out of order");
}

static void test_mm_index_random_queries_match_linear_scan(void **state)
{
    uint64_t seed = kc_test_seed();
    char path[512];
    ipath(path, sizeof(path), state, "rand.index");
    struct mm_index idx;
    assert_int_equal(
        mm_index_open(&idx, path, MM_INDEX_OFFSET, MM_INDEX_WRITABLE | MM_INDEX_CREATE, MAX_BYTES),
        0);
    enum { N = 3000 };
    int64_t *keys = malloc(N * sizeof(*keys));
    assert_non_null(keys);
    int64_t k = 0;
    for (size_t i = 0; i < N; i++) {
        k += 1 + (int64_t)(kc_test_rand(&seed) % 50);
        keys[i] = k;
        assert_int_equal(mm_index_append(&idx, k, (uint32_t)(i + 1) * 10), 0);
    }
    for (int q = 0; q < 20000; q++) {
        int64_t target = (int64_t)(kc_test_rand(&seed) % (uint64_t)(k + 100));
        size_t want = N;
        for (size_t i = 0; i < N && keys[i] <= target; i++)
            want = i;
        struct mm_index_entry e;
        int rc = mm_index_lookup(&idx, target, &e, NULL);
        if (want == N) {
            assert_int_equal(rc, -ENOENT);
        } else {
            assert_int_equal(rc, 0);
            assert_int_equal(e.key, keys[want]);
        }
    }
    free(keys);
    assert_int_equal(mm_index_close(&idx), 0);
}

struct race {
    struct mm_index *idx;
    _Atomic int done;
    _Atomic long bad; /* cmocka asserts may only run on the test's own thread */
    _Atomic long checks;
};

static void *race_reader(void *arg)
{
    struct race *r = arg;
    while (!atomic_load(&r->done)) {
        size_t n = mm_index_entries(r->idx);
        if (n == 0)
            continue;
        struct mm_index_entry e;
        int64_t target = key_of(MM_INDEX_OFFSET, n - 1) + 3;
        if (mm_index_lookup(r->idx, target, &e, NULL) != 0) {
            atomic_fetch_add(&r->bad, 1);
            continue;
        }
        /* Whatever the appender did meanwhile, the answer is a whole, right entry. */
        size_t i = (size_t)(e.key - 5) / 10;
        if (e.key != key_of(MM_INDEX_OFFSET, i) || e.value != value_of(MM_INDEX_OFFSET, i) ||
            i != n - 1)
            atomic_fetch_add(&r->bad, 1);
        atomic_fetch_add(&r->checks, 1);
    }
    return NULL;
}

static void test_mm_index_lookups_during_appends_see_whole_entries(void **state)
{
    char path[512];
    ipath(path, sizeof(path), state, "race.index");
    struct mm_index idx;
    assert_int_equal(
        mm_index_open(&idx, path, MM_INDEX_OFFSET, MM_INDEX_WRITABLE | MM_INDEX_CREATE, 1 << 20),
        0);
    struct race r = {.idx = &idx};
    pthread_t th[2];
    for (int i = 0; i < 2; i++)
        assert_int_equal(pthread_create(&th[i], NULL, race_reader, &r), 0);
    for (size_t i = 0; i < 100000; i++)
        assert_int_equal(
            mm_index_append(&idx, key_of(MM_INDEX_OFFSET, i), value_of(MM_INDEX_OFFSET, i)), 0);
    assert_int_equal(mm_index_trim(&idx), 0); /* trim while readers run: in place */
    atomic_store(&r.done, 1);
    for (int i = 0; i < 2; i++)
        pthread_join(th[i], NULL);
    printf("# %ld concurrent lookups checked\n", atomic_load(&r.checks));
    assert_int_equal(atomic_load(&r.bad), 0);
    assert_int_equal(mm_index_close(&idx), 0);
}

static void test_mm_index_open_close_leaks_nothing(void **state)
{
    char path[512];
    ipath(path, sizeof(path), state, "leak.index");
    int fds = kc_test_fd_count(), maps = kc_test_map_count();
    for (int i = 0; i < 20; i++) {
        make_index(path, MM_INDEX_OFFSET, (size_t)i * 10, i % 2);
        struct mm_index idx;
        assert_int_equal(mm_index_open(&idx, path, MM_INDEX_OFFSET, MM_INDEX_READONLY, 0), 0);
        assert_int_equal(mm_index_close(&idx), 0);
    }
    assert_int_equal(kc_test_fd_count(), fds);
    assert_int_equal(kc_test_map_count(), maps);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, kc_test_dir_setup, kc_test_dir_teardown)
        T(test_mm_index_offset_lookup_every_key_and_gap_finds_floor),
        T(test_mm_index_time_lookup_every_key_and_gap_finds_floor),
        T(test_mm_index_position_lookup_every_position_finds_floor),
        T(test_mm_index_append_reserves_blocks_ahead_of_stores),
        T(test_mm_index_without_fd_appends_reserves_trims),
        T(test_mm_index_reserve_then_drop_fd_appends_without_opening),
        T(test_mm_index_empty_lookup_enoent),
        T(test_mm_index_full_refuses_with_efull),
        T(test_mm_index_append_refuses_bad_entries_einval),
        T(test_mm_index_reopen_preallocated_finds_used_prefix),
        T(test_mm_index_trim_cuts_file_to_used_size),
        T(test_mm_index_truncate_drops_entries_at_and_after_offset),
        T(test_mm_index_check_catches_each_corruption),
        T(test_mm_index_random_queries_match_linear_scan),
        T(test_mm_index_lookups_during_appends_see_whole_entries),
        T(test_mm_index_open_close_leaks_nothing),
#undef T
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
