/* test_mm_file.c - the mapped-file object: map, grow/remap, shrink, msync, advise, close. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kc_common.h"
#include "kc_test.h"
#include "mm.h"

static void path_in(char *out, size_t cap, const char *dir, const char *name)
{
    assert_int_equal(kc_path_join(out, cap, dir, name), 0);
}

static off_t file_size(const char *path)
{
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    return st.st_size;
}

static void test_mm_file_open_missing_fails_enoent(void **state)
{
    char path[512];
    path_in(path, sizeof(path), *state, "nope");
    struct mm_file mf = {.fd = -1};
    assert_int_equal(mm_file_open(&mf, path, MM_READ, 0), -ENOENT);
    assert_int_equal(mm_file_open(&mf, path, MM_WRITE, 4096), -ENOENT);
    assert_int_equal(mf.fd, -1); /* untouched on failure */
}

static void test_mm_file_create_store_visible_to_pread(void **state)
{
    char path[512];
    path_in(path, sizeof(path), *state, "f");
    struct mm_file mf;
    assert_int_equal(mm_file_open(&mf, path, MM_WRITE | MM_CREATE, 10000), 0);
    assert_int_equal(mm_file_size(&mf), 10000);
    assert_int_equal(file_size(path), 10000);
    memcpy(mm_file_data(&mf) + 9990, "0123456789", 10);
    assert_int_equal(mm_file_sync(&mf, 9990, 10, MM_SYNC_NOW), 0);
    char buf[10];
    assert_int_equal(kc_pread_full(mf.fd, buf, 10, 9990), 10);
    assert_memory_equal(buf, "0123456789", 10);
    assert_int_equal(mm_file_close(&mf), 0);
    assert_int_equal(mm_file_close(&mf), 0); /* second close is a no-op */
}

static void test_mm_file_empty_file_has_no_mapping(void **state)
{
    char path[512];
    path_in(path, sizeof(path), *state, "empty");
    struct mm_file mf;
    assert_int_equal(mm_file_open(&mf, path, MM_WRITE | MM_CREATE, 0), 0);
    assert_null(mm_file_data(&mf));
    assert_int_equal(mm_file_size(&mf), 0);
    assert_int_equal(mm_file_sync(&mf, 0, 100, MM_SYNC_NOW), 0);
    assert_int_equal(mm_file_resize(&mf, 100), 0);
    assert_non_null(mm_file_data(&mf));
    assert_int_equal(mm_file_data(&mf)[99], 0);
    assert_int_equal(mm_file_resize(&mf, 0), 0);
    assert_null(mm_file_data(&mf));
    assert_int_equal(file_size(path), 0);
    assert_int_equal(mm_file_close(&mf), 0);

    assert_int_equal(mm_file_open(&mf, path, MM_READ, 0), 0);
    assert_null(mm_file_data(&mf));
    assert_int_equal(mm_file_close(&mf), 0);
}

static void test_mm_file_grow_remaps_keeping_data(void **state)
{
    char path[512];
    path_in(path, sizeof(path), *state, "grow");
    struct mm_file mf;
    assert_int_equal(mm_file_open(&mf, path, MM_WRITE | MM_CREATE, 4096), 0);
    size_t size = 4096;
    for (int round = 0; round < 6; round++) {
        for (size_t i = 0; i < size; i += 512)
            mm_file_data(&mf)[i] = (uint8_t)(i / 512 + 1);
        size_t bigger = size * 3 + 100; /* not page-aligned on purpose */
        assert_int_equal(mm_file_resize(&mf, bigger), 0);
        assert_int_equal(file_size(path), (off_t)bigger);
        for (size_t i = 0; i < size; i += 512)
            assert_int_equal(mm_file_data(&mf)[i], (uint8_t)(i / 512 + 1));
        for (size_t i = size; i < bigger; i++) {
            if (mm_file_data(&mf)[i] != 0)
                fail_msg("byte %zu of the grown tail is not zero", i);
        }
        size = bigger;
    }
    assert_int_equal(mm_file_close(&mf), 0);
}

static void test_mm_file_shrink_keeps_address(void **state)
{
    char path[512];
    path_in(path, sizeof(path), *state, "shrink");
    struct mm_file mf;
    assert_int_equal(mm_file_open(&mf, path, MM_WRITE | MM_CREATE, 1 << 20), 0);
    uint8_t *before = mm_file_data(&mf);
    before[100] = 42;
    assert_int_equal(mm_file_resize(&mf, 5000), 0);
    assert_ptr_equal(mm_file_data(&mf), before);
    assert_int_equal(before[100], 42);
    assert_int_equal(file_size(path), 5000);
    assert_int_equal(mm_file_close(&mf), 0);
}

static void test_mm_file_readonly_refuses_resize_ebadf(void **state)
{
    char path[512];
    path_in(path, sizeof(path), *state, "ro");
    int fd = open(path, O_CREAT | O_WRONLY, 0644);
    assert_true(fd >= 0);
    assert_int_equal(kc_write_all(fd, "hello", 5), 5);
    close(fd);
    struct mm_file mf;
    /* MM_READ ignores min_size: a reader never changes the file. */
    assert_int_equal(mm_file_open(&mf, path, MM_READ, 1 << 20), 0);
    assert_int_equal(mm_file_size(&mf), 5);
    assert_memory_equal(mm_file_data(&mf), "hello", 5);
    assert_int_equal(mm_file_resize(&mf, 100), -EBADF);
    assert_int_equal(mm_file_size(&mf), 5);
    assert_int_equal(mm_file_close(&mf), 0);
}

static void test_mm_file_sync_and_advise_clip_ranges(void **state)
{
    char path[512];
    path_in(path, sizeof(path), *state, "adv");
    struct mm_file mf;
    assert_int_equal(mm_file_open(&mf, path, MM_WRITE | MM_CREATE, 3 * 4096 + 7), 0);
    assert_int_equal(mm_file_sync(&mf, 5000, 1 << 30, MM_SYNC_ASYNC), 0);
    assert_int_equal(mm_file_sync(&mf, 1 << 30, 10, MM_SYNC_NOW), 0); /* past the end: nothing */
    for (int a = MM_ADV_NORMAL; a <= MM_ADV_DONTNEED; a++)
        assert_int_equal(mm_file_advise(&mf, 1, 10000, (enum mm_advice)a), 0);
    assert_int_equal(mm_file_advise(&mf, 0, 10, (enum mm_advice)99), -EINVAL);
    assert_int_equal(mm_file_close(&mf), 0);
}

static void test_mm_file_many_cycles_leak_no_fds_or_maps(void **state)
{
    char path[512];
    path_in(path, sizeof(path), *state, "leak");
    int fds = kc_test_fd_count(), maps = kc_test_map_count();
    for (int i = 0; i < 50; i++) {
        struct mm_file mf;
        assert_int_equal(mm_file_open(&mf, path, MM_WRITE | MM_CREATE, 4096), 0);
        assert_int_equal(mm_file_resize(&mf, (size_t)(i + 2) * 4096), 0);
        assert_int_equal(mm_file_resize(&mf, 4096), 0);
        assert_int_equal(mm_file_close(&mf), 0);
    }
    assert_int_equal(kc_test_fd_count(), fds);
    assert_int_equal(kc_test_map_count(), maps);
}

/* Without its descriptor the mapping stays valid; a resize opens the file again by path
 * for the length of the call; nothing leaks. */
static void test_mm_file_drop_fd_keeps_mapping_resize_reopens(void **state)
{
    char path[512];
    path_in(path, sizeof(path), *state, "nofd");
    int fds = kc_test_fd_count(), maps = kc_test_map_count();
    struct mm_file mf;
    assert_int_equal(mm_file_open(&mf, path, MM_WRITE | MM_CREATE, 4096), 0);
    memcpy(mm_file_data(&mf), "kept", 4);
    assert_int_equal(mm_file_drop_fd(&mf), 0);
    assert_int_equal(mm_file_drop_fd(&mf), 0); /* idempotent */
    assert_int_equal(mf.fd, -1);
    assert_true(mm_file_is_open(&mf));
    assert_int_equal(kc_test_fd_count(), fds); /* no descriptor ... */
    assert_int_equal(kc_test_map_count(), maps + 1); /* ... but the mapping */
    assert_memory_equal(mm_file_data(&mf), "kept", 4);
    assert_int_equal(mm_file_resize(&mf, 3 * 4096), 0);
    memcpy(mm_file_data(&mf) + 2 * 4096, "grown", 5);
    assert_int_equal(kc_test_fd_count(), fds); /* the resize's descriptor is gone again */
    int fd = mm_file_get_fd(&mf);
    assert_true(fd >= 0);
    char buf[5];
    assert_int_equal(kc_pread_full(fd, buf, 5, 2 * 4096), 5);
    assert_memory_equal(buf, "grown", 5);
    mm_file_put_fd(&mf, fd);
    assert_int_equal(mm_file_sync(&mf, 0, 3 * 4096, MM_SYNC_NOW), 0);
    assert_int_equal(mm_file_close(&mf), 0);
    assert_false(mm_file_is_open(&mf));
    assert_int_equal(kc_test_fd_count(), fds);
    assert_int_equal(kc_test_map_count(), maps);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, kc_test_dir_setup, kc_test_dir_teardown)
        T(test_mm_file_open_missing_fails_enoent),
        T(test_mm_file_create_store_visible_to_pread),
        T(test_mm_file_empty_file_has_no_mapping),
        T(test_mm_file_grow_remaps_keeping_data),
        T(test_mm_file_shrink_keeps_address),
        T(test_mm_file_readonly_refuses_resize_ebadf),
        T(test_mm_file_sync_and_advise_clip_ranges),
        T(test_mm_file_many_cycles_leak_no_fds_or_maps),
        T(test_mm_file_drop_fd_keeps_mapping_resize_reopens),
#undef T
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
