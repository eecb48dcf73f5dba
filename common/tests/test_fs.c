/* test_fs.c - file helpers: full reads/writes over pipes, atomic replace, mkdir -p, rm -rf. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kc_common.h"
#include "kc_test.h"

struct dribble {
    int fd;
    const uint8_t *p;
    size_t n;
};

/* Write to a pipe 7 bytes at a time so the reader sees many short reads. */
static void *dribble_writer(void *arg)
{
    struct dribble *d = arg;
    for (size_t off = 0; off < d->n; off += 7) {
        size_t k = d->n - off < 7 ? d->n - off : 7;
        assert_int_equal(kc_write_all(d->fd, d->p + off, k), (ssize_t)k);
    }
    close(d->fd);
    return NULL;
}

static void test_fs_read_full_collects_short_reads_until_eof(void **state)
{
    (void)state;
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    uint8_t src[1000], dst[2000];
    for (size_t i = 0; i < sizeof(src); i++)
        src[i] = (uint8_t)i;
    struct dribble d = {fds[1], src, sizeof(src)};
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, dribble_writer, &d), 0);
    assert_int_equal(kc_read_full(fds[0], dst, sizeof(dst)), (ssize_t)sizeof(src));
    assert_memory_equal(dst, src, sizeof(src));
    pthread_join(t, NULL);
    close(fds[0]);
}

static void test_fs_write_all_reports_errno(void **state)
{
    (void)state;
    assert_int_equal(kc_write_all(-1, "x", 1), -EBADF);
    assert_int_equal(kc_pread_full(-1, (char[1]){0}, 1, 0), -EBADF);
}

static void test_fs_atomic_replace_then_read(void **state)
{
    char *dir = *state, path[PATH_MAX], *data;
    size_t len;
    assert_int_equal(kc_path_join(path, sizeof(path), dir, "checkpoint"), 0);
    assert_int_equal(kc_atomic_replace(path, "first\n", 6), 0);
    assert_int_equal(kc_atomic_replace(path, "second\n", 7), 0);
    assert_int_equal(kc_read_file(path, 100, &data, &len), 0);
    assert_string_equal(data, "second\n");
    free(data);
    assert_int_equal(kc_read_file(path, 3, &data, &len), KC_ETOOLARGE);
    char tmp[PATH_MAX + 8];
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    assert_int_equal(access(tmp, F_OK), -1); /* no temp file left behind */
    assert_int_equal(kc_atomic_replace("/nonexistent-dir/x", "a", 1), -ENOENT);
}

static void test_fs_mkdir_p_and_rm_rf(void **state)
{
    char *dir = *state, path[PATH_MAX], file[PATH_MAX];
    int fds = kc_test_fd_count();
    snprintf(path, sizeof(path), "%s/a/b/c", dir);
    assert_int_equal(kc_mkdir_p(path, 0755), 0);
    assert_int_equal(kc_mkdir_p(path, 0755), 0); /* exists: fine */
    snprintf(file, sizeof(file), "%s/a/b/file", dir);
    assert_int_equal(kc_atomic_replace(file, "x", 1), 0);
    assert_int_equal(kc_mkdir_p(file, 0755), -ENOTDIR);
    assert_int_equal(kc_fsync_dir(path), 0);
    assert_int_equal(kc_fsync_parent(file), 0);
    snprintf(path, sizeof(path), "%s/a", dir);
    assert_int_equal(kc_rm_rf(path), 0);
    assert_int_equal(access(path, F_OK), -1);
    assert_int_equal(kc_rm_rf(path), 0); /* already gone: fine */
    assert_int_equal(kc_test_fd_count(), fds); /* every directory fd was closed */
}

static void test_fs_path_join_refuses_overflow(void **state)
{
    (void)state;
    char small[8];
    assert_int_equal(kc_path_join(small, sizeof(small), "abc", "def"), 0);
    assert_string_equal(small, "abc/def");
    assert_int_equal(kc_path_join(small, sizeof(small), "abcd", "def"), KC_ETOOLARGE);
    assert_int_equal(kc_mkdir_p("", 0755), -EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fs_read_full_collects_short_reads_until_eof),
        cmocka_unit_test(test_fs_write_all_reports_errno),
        cmocka_unit_test_setup_teardown(test_fs_atomic_replace_then_read, kc_test_dir_setup,
                                        kc_test_dir_teardown),
        cmocka_unit_test_setup_teardown(test_fs_mkdir_p_and_rm_rf, kc_test_dir_setup,
                                        kc_test_dir_teardown),
        cmocka_unit_test(test_fs_path_join_refuses_overflow),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
