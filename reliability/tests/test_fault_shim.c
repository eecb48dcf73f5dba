/*
 * test_fault_shim.c - the LD_PRELOAD fault shim fails exactly what it is told to.
 *
 * The test re-executes itself with LD_PRELOAD=libkc_fault.so and KC_FAULT_CTL set; the
 * child arms faults through the shared control block and checks every wrapped call.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "flt.h"
#include "kc_common.h"
#include "kc_test.h"

static char *dir;
static struct flt_ctl *ctl;

static int open_in_dir(const char *name)
{
    char path[PATH_MAX];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
    assert_true(fd >= 0);
    return fd;
}

static off_t size_of(int fd)
{
    struct stat st;
    assert_int_equal(fstat(fd, &st), 0);
    return st.st_size;
}

static void test_fault_write_enospc_only_on_matching_files(void **state)
{
    (void)state;
    int seg = open_in_dir("00000000000000000000.log");
    int other = open_in_dir("notes.txt");
    int pipefd[2];
    assert_int_equal(pipe(pipefd), 0);
    flt_arm(ctl, FLT_WRITE, ENOSPC, ".log", -1, 0);
    assert_int_equal(kc_pwrite_all(seg, "abcdef", 6, 0), -ENOSPC);
    assert_int_equal(size_of(seg), 0); /* nothing reached the file */
    assert_int_equal(kc_write_all(other, "abc", 3), 3);
    assert_int_equal(kc_write_all(pipefd[1], "abc", 3), 3); /* pipes never fail */
    assert_true(flt_hits(ctl) >= 1);
    flt_disarm(ctl);
    assert_int_equal(kc_pwrite_all(seg, "abcdef", 6, 0), 6);
    close(seg);
    close(other);
    close(pipefd[0]);
    close(pipefd[1]);
}

static void test_fault_count_limits_failures_then_passes(void **state)
{
    (void)state;
    int fd = open_in_dir("count.log");
    flt_arm(ctl, FLT_WRITE, EIO, "", 2, 0);
    assert_int_equal(kc_write_all(fd, "x", 1), -EIO);
    assert_int_equal(kc_write_all(fd, "x", 1), -EIO);
    assert_int_equal(kc_write_all(fd, "x", 1), 1);
    flt_disarm(ctl);
    close(fd);
}

static void test_fault_partial_write_tears_then_fails(void **state)
{
    (void)state;
    int fd = open_in_dir("torn.log");
    flt_arm(ctl, FLT_WRITE, ENOSPC, "torn", 1, 1);
    assert_int_equal(kc_pwrite_all(fd, "0123456789abcdef", 16, 0), -ENOSPC);
    off_t torn = size_of(fd);
    assert_true(torn > 0 && torn < 16); /* a prefix landed: the shape recovery must cut */
    flt_disarm(ctl);
    close(fd);
}

static void test_fault_fsync_and_rename_fail_with_eio(void **state)
{
    (void)state;
    int fd = open_in_dir("sync.log");
    flt_arm(ctl, FLT_FSYNC, EIO, "sync", -1, 0);
    assert_int_equal(kc_fdatasync(fd), -EIO);
    assert_int_equal(kc_fsync(fd), -EIO);
    flt_disarm(ctl);
    assert_int_equal(kc_fsync(fd), 0);
    close(fd);

    char path[PATH_MAX];
    snprintf(path, sizeof(path), "%s/checkpoint", dir);
    flt_arm(ctl, FLT_RENAME, EIO, "checkpoint", -1, 0);
    assert_int_equal(kc_atomic_replace(path, "1\n", 2), -EIO);
    assert_int_equal(access(path, F_OK), -1); /* the old state stays: no file yet */
    flt_disarm(ctl);
    assert_int_equal(kc_atomic_replace(path, "1\n", 2), 0);
}

static struct flt_sync *sync_entry(const char *path)
{
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    return flt_sync_find(ctl, path, (uint64_t)st.st_ino);
}

/* The power-cut model: an fdatasync makes a new segment's bytes durable, not its name; a
 * syncfs of the data directory (how appendLog's store makes a sweep's repairs durable)
 * makes both durable, for every .log below it. Without the syncfs in the model, a segment
 * the sweep re-created looked nameless forever, and a power cut deleted what had been
 * acknowledged in it. */
static void test_fault_syncfs_makes_names_and_bytes_durable(void **state)
{
    (void)state;
    char part[PATH_MAX], seg[PATH_MAX + 32];
    snprintf(part, sizeof(part), "%s/topic-0", dir);
    snprintf(seg, sizeof(seg), "%s/00000000000000000000.log", part);
    assert_int_equal(mkdir(part, 0755), 0);
    flt_track_syncs(ctl, 1);
    int fd = open(seg, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    assert_true(fd >= 0);
    assert_int_equal(kc_pwrite_all(fd, "0123456789", 10, 0), 10);
    assert_int_equal(kc_fdatasync(fd), 0);
    struct flt_sync *e = sync_entry(seg);
    assert_non_null(e);
    assert_int_equal(atomic_load(&e->synced), 10);
    assert_int_equal(atomic_load(&e->dirent), 0); /* the bytes, but not the name */

    assert_int_equal(kc_pwrite_all(fd, "abcdef", 6, 10), 6);
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    assert_true(dfd >= 0);
    assert_int_equal(syncfs(dfd), 0);
    close(dfd);
    e = sync_entry(seg);
    assert_non_null(e);
    assert_int_equal(atomic_load(&e->synced), 16);
    assert_int_equal(atomic_load(&e->dirent), 1);

    assert_int_equal(kc_pwrite_all(fd, "later", 5, 16), 5); /* after the sync: not durable */
    assert_int_equal(atomic_load(&sync_entry(seg)->synced), 16);
    flt_track_syncs(ctl, 0);
    close(fd);
}

/* flt_lose: a failing fsync of a .log file zeroes what no successful fsync covered (a disk
 * that kept none of it) and then fails; other files, and successful fsyncs, lose nothing. */
static void test_fault_lose_zeroes_what_no_fsync_covered(void **state)
{
    (void)state;
    char buf[16];
    int fd = open_in_dir("lose.log"), other = open_in_dir("lose.index");
    flt_track_syncs(ctl, 1);
    assert_int_equal(kc_pwrite_all(fd, "durable-", 8, 0), 8);
    assert_int_equal(kc_fdatasync(fd), 0);
    assert_int_equal(kc_pwrite_all(fd, "lost", 4, 8), 4);
    assert_int_equal(kc_pwrite_all(other, "kept", 4, 0), 4);
    flt_lose(ctl, 1, 0);
    flt_arm(ctl, FLT_FSYNC, EIO, "lose", -1, 0);
    assert_int_equal(kc_fdatasync(other), -EIO); /* not a .log: fails, loses nothing */
    assert_int_equal(pread(other, buf, 4, 0), 4);
    assert_memory_equal(buf, "kept", 4);
    assert_int_equal(kc_fdatasync(fd), -EIO);
    assert_int_equal(size_of(fd), 12); /* the size stays; the bytes read as zeros */
    assert_int_equal(pread(fd, buf, 12, 0), 12);
    assert_memory_equal(buf, "durable-\0\0\0\0", 12);
    flt_disarm(ctl);
    flt_lose(ctl, 0, 0);
    assert_int_equal(kc_pwrite_all(fd, "more", 4, 12), 4);
    flt_arm(ctl, FLT_FSYNC, EIO, "lose", -1, 0);
    assert_int_equal(kc_fdatasync(fd), -EIO); /* lose off: a plain failure */
    assert_int_equal(pread(fd, buf, 4, 12), 4);
    assert_memory_equal(buf, "more", 4);
    flt_disarm(ctl);
    flt_track_syncs(ctl, 0);
    close(other);
    close(fd);
}

static int run_child(void)
{
    dir = kc_test_tmpdir();
    ctl = flt_ctl_open(getenv("KC_FAULT_CTL"));
    assert_non_null(ctl);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fault_write_enospc_only_on_matching_files),
        cmocka_unit_test(test_fault_count_limits_failures_then_passes),
        cmocka_unit_test(test_fault_partial_write_tears_then_fails),
        cmocka_unit_test(test_fault_fsync_and_rename_fail_with_eio),
        cmocka_unit_test(test_fault_syncfs_makes_names_and_bytes_durable),
        cmocka_unit_test(test_fault_lose_zeroes_what_no_fsync_covered),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    flt_ctl_close(ctl);
    kc_test_rmdir(dir);
    return rc;
}

int main(int argc, char **argv)
{
    (void)argc;
    if (getenv("KC_FAULT_CTL"))
        return run_child();
    /* Parent: prepare the control file and re-execute under the shim. */
    char *tmp = kc_test_tmpdir(), ctlpath[PATH_MAX], shim[PATH_MAX];
    const char *lib = getenv("KC_LIB_DIR");
    snprintf(ctlpath, sizeof(ctlpath), "%s/ctl", tmp);
    snprintf(shim, sizeof(shim), "%s/libkc_fault.so", lib ? lib : "build/lib");
    struct flt_ctl *c = flt_ctl_open(ctlpath);
    if (!c || access(shim, R_OK) != 0) {
        fprintf(stderr, "cannot prepare %s or find %s\n", ctlpath, shim);
        return 1;
    }
    flt_ctl_close(c);
    setenv("KC_FAULT_CTL", ctlpath, 1);
    setenv("LD_PRELOAD", shim, 1);
    setenv("ASAN_OPTIONS", "verify_asan_link_order=0:detect_leaks=1", 1);
    pid_t pid = fork();
    if (pid == 0) {
        execv("/proc/self/exe", argv);
        _exit(127);
    }
    int status;
    waitpid(pid, &status, 0);
    unsetenv("LD_PRELOAD");
    kc_rm_rf(tmp);
    free(tmp);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}
