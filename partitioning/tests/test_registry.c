/* test_registry.c - topics on disk: create, reopen, damage, interrupted creation, threads. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kc_common.h"
#include "kc_test.h"
#include "part.h"

/* ---- helpers ------------------------------------------------------------------------ */

static char *path_in(const char *dir, const char *name)
{
    static _Thread_local char buf[PATH_MAX];
    snprintf(buf, sizeof(buf), "%s/%s", dir, name);
    return buf;
}

static bool is_dir(const char *dir, const char *name)
{
    struct stat st;
    return stat(path_in(dir, name), &st) == 0 && S_ISDIR(st.st_mode);
}

static bool exists(const char *dir, const char *name)
{
    struct stat st;
    return lstat(path_in(dir, name), &st) == 0;
}

static void touch(const char *dir, const char *name, const char *text)
{
    int fd = open(path_in(dir, name), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    assert_true(fd >= 0);
    assert_int_equal(kc_write_all(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
}

static void make_dir(const char *dir, const char *name)
{
    assert_int_equal(mkdir(path_in(dir, name), 0755), 0);
}

/* Entries of the data directory, the store's own files (checkpoints, lock) aside. */
static int count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    int n = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL)
        n += strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0 &&
             !alog_store_owns(de->d_name);
    closedir(d);
    return n;
}

static struct part_registry *open_reg(const char *dir, char **log)
{
    struct part_registry *reg = NULL;
    struct kc_test_capture cap;
    if (log)
        kc_test_capture_start(&cap);
    int rc = part_registry_open(&reg, dir, NULL);
    if (log)
        *log = kc_test_capture_stop(&cap);
    assert_int_equal(rc, 0);
    assert_non_null(reg);
    return reg;
}

static void create(struct part_registry *reg, const char *name, int32_t partitions)
{
    struct part_topic *t = NULL;
    assert_int_equal(part_topic_create(reg, name, partitions, &t), 0);
    assert_non_null(t);
    assert_string_equal(part_topic_name(t), name);
    assert_int_equal(part_topic_partitions(t), partitions);
}

static void append_one(struct alog *log, const char *value)
{
    struct kc_batch_builder b;
    kc_batch_builder_init(&b, NULL, 0);
    assert_int_equal(kc_batch_builder_add(&b, 1000, NULL, -1, value, (int32_t)strlen(value),
                                          NULL, 0),
                     0);
    uint8_t *batch;
    size_t len;
    assert_int_equal(kc_batch_builder_finish(&b, &batch, &len), 0);
    int64_t base;
    assert_int_equal(alog_append(log, batch, len, &base), 0);
    kc_batch_builder_fini(&b);
}

struct fx {
    char *dir;
    int fds;
};

static int setup(void **state)
{
    struct fx *fx = calloc(1, sizeof(*fx));
    assert_non_null(fx);
    fx->fds = kc_test_fd_count();
    fx->dir = kc_test_tmpdir();
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    struct fx *fx = *state;
    kc_test_rmdir(fx->dir);
    assert_int_equal(kc_test_fd_count(), fx->fds); /* every log closed */
    free(fx);
    return 0;
}

/* ---- create, find, list, reopen ------------------------------------------------------ */

static void test_registry_create_then_reopen_finds_every_partition(void **state)
{
    struct fx *fx = *state;
    struct part_registry *reg = open_reg(fx->dir, NULL);
    create(reg, "payments", 3);
    create(reg, "my-topic-2", 2); /* dashes inside: "my-topic-2-1" is its partition 1 */
    create(reg, "a", 1);
    assert_true(is_dir(fx->dir, "payments-2"));
    assert_true(is_dir(fx->dir, "my-topic-2-1"));
    assert_false(exists(fx->dir, "payments~")); /* marker gone once created */
    assert_int_equal(part_registry_close(reg), 0);

    reg = open_reg(fx->dir, NULL);
    struct part_topic *list[8];
    assert_int_equal(part_topic_list(reg, list, 8), 3);
    assert_string_equal(part_topic_name(list[0]), "a"); /* sorted by name */
    assert_string_equal(part_topic_name(list[1]), "my-topic-2");
    assert_string_equal(part_topic_name(list[2]), "payments");
    assert_int_equal(part_topic_list(reg, list, 1), 3); /* cap 1: still counts all */
    struct part_topic *t = part_topic_find(reg, "my-topic-2xyz", 10); /* not NUL-ended */
    assert_non_null(t);
    assert_int_equal(part_topic_partitions(t), 2);
    assert_null(part_topic_find(reg, "my-topic", 8));
    assert_null(part_topic_find(reg, "my-topic-2-1", 12));
    assert_null(part_topic_find(reg, "", 0));
    t = part_topic_find(reg, "payments", 8);
    assert_non_null(part_topic_log(t, 0));
    assert_non_null(part_topic_log(t, 2));
    assert_null(part_topic_log(t, 3));
    assert_null(part_topic_log(t, -1));
    assert_int_equal(part_registry_close(reg), 0);
}

static void test_registry_appended_records_survive_reopen(void **state)
{
    struct fx *fx = *state;
    struct part_registry *reg = open_reg(fx->dir, NULL);
    create(reg, "events", 2);
    struct part_topic *t = part_topic_find(reg, "events", 6);
    append_one(part_topic_log(t, 1), "hello");
    append_one(part_topic_log(t, 1), "again");
    assert_int_equal(part_registry_close(reg), 0);
    reg = open_reg(fx->dir, NULL);
    t = part_topic_find(reg, "events", 6);
    assert_non_null(t);
    assert_int_equal(alog_end_offset(part_topic_log(t, 0)), 0);
    assert_int_equal(alog_end_offset(part_topic_log(t, 1)), 2);
    assert_int_equal(part_registry_close(reg), 0);
}

static void test_registry_create_refuses_bad_requests_and_writes_nothing(void **state)
{
    struct fx *fx = *state;
    struct part_config cfg;
    part_config_init(&cfg);
    cfg.max_partitions = 8;
    struct part_registry *reg;
    assert_int_equal(part_registry_open(&reg, fx->dir, &cfg), 0);
    char long_name[251];
    memset(long_name, 'l', 250);
    long_name[250] = '\0';
    const char *bad[] = {"", ".", "..", "../escape", "a/b", "/abs", long_name, "caf\xc3\xa9",
                         "x~"};
    for (size_t i = 0; i < KC_ARRAY_SIZE(bad); i++)
        assert_int_equal(part_topic_create(reg, bad[i], 1, NULL), KC_EBADNAME);
    assert_int_equal(part_topic_create(reg, NULL, 1, NULL), KC_EBADNAME);
    assert_int_equal(part_topic_create(reg, "ok", 0, NULL), -EINVAL);
    assert_int_equal(part_topic_create(reg, "ok", -3, NULL), -EINVAL);
    assert_int_equal(part_topic_create(reg, "ok", 9, NULL), KC_ETOOLARGE);
    assert_int_equal(count_entries(fx->dir), 0);
    create(reg, "ok", 8);
    struct part_topic *t = (struct part_topic *)&t;
    assert_int_equal(part_topic_create(reg, "ok", 1, &t), -EEXIST);
    assert_ptr_equal(t, (struct part_topic *)&t); /* untouched on failure */
    assert_int_equal(count_entries(fx->dir), 8);
    assert_int_equal(part_registry_close(reg), 0);
    /* The escape attempt left nothing next to the data directory either. */
    char parent[PATH_MAX];
    snprintf(parent, sizeof(parent), "%s/../escape-0", fx->dir);
    assert_int_equal(access(parent, F_OK), -1);
}

static void test_registry_longest_name_and_many_partitions_fit_name_max(void **state)
{
    struct fx *fx = *state;
    struct part_config cfg;
    part_config_init(&cfg);
    cfg.max_partitions = 100000;
    struct part_registry *reg;
    assert_int_equal(part_registry_open(&reg, fx->dir, &cfg), 0);
    char name[PART_NAME_MAX + 1];
    memset(name, 'z', PART_NAME_MAX);
    name[PART_NAME_MAX] = '\0';
    create(reg, name, 11); /* "<249 z>-10": 252 characters */
    assert_int_equal(part_registry_close(reg), 0);
    reg = open_reg(fx->dir, NULL);
    assert_non_null(part_topic_find(reg, name, PART_NAME_MAX));
    assert_int_equal(part_registry_close(reg), 0);
}

static void test_registry_open_rejects_bad_config_and_data_dir(void **state)
{
    struct fx *fx = *state;
    struct part_config cfg;
    part_config_init(&cfg);
    struct part_registry *reg = NULL;
    cfg.max_partitions = 0;
    assert_int_equal(part_registry_open(&reg, fx->dir, &cfg), -EINVAL);
    cfg.max_partitions = PART_MAX_PARTITIONS + 1;
    assert_int_equal(part_registry_open(&reg, fx->dir, &cfg), -EINVAL);
    assert_int_equal(part_registry_open(&reg, "", NULL), -EINVAL);
    touch(fx->dir, "plainfile", "x");
    assert_true(part_registry_open(&reg, path_in(fx->dir, "plainfile"), NULL) < 0);
    assert_null(reg);
    /* A bad log config fails the open: it must not "damage" every topic found. */
    reg = open_reg(fx->dir, NULL);
    create(reg, "existing", 1);
    assert_int_equal(part_registry_close(reg), 0);
    part_config_init(&cfg);
    cfg.log.segment_bytes = 0;
    reg = NULL;
    struct kc_test_capture cap;
    kc_test_capture_start(&cap);
    int rc = part_registry_open(&reg, fx->dir, &cfg);
    free(kc_test_capture_stop(&cap));
    assert_int_equal(rc, -EINVAL);
    assert_null(reg);
    reg = open_reg(fx->dir, NULL); /* and nothing was marked or moved */
    assert_non_null(part_topic_find(reg, "existing", 8));
    assert_int_equal(part_registry_close(reg), 0);
    /* A data directory that does not exist yet is made. */
    assert_int_equal(part_registry_open(&reg, path_in(fx->dir, "new/data"), NULL), 0);
    assert_int_equal(part_registry_close(reg), 0);
}

/* ---- damage ------------------------------------------------------------------------- */

static void test_registry_missing_partition_in_the_middle_is_reported_and_skipped(void **state)
{
    struct fx *fx = *state;
    struct part_registry *reg = open_reg(fx->dir, NULL);
    create(reg, "t", 4);
    create(reg, "fine", 2);
    assert_int_equal(part_registry_close(reg), 0);
    assert_int_equal(kc_rm_rf(path_in(fx->dir, "t-2")), 0);

    char *log;
    reg = open_reg(fx->dir, &log);
    assert_non_null(strstr(log, "topic 't' is damaged"));
    assert_non_null(strstr(log, "t-2 is missing"));
    free(log);
    assert_null(part_topic_find(reg, "t", 1));
    assert_non_null(part_topic_find(reg, "fine", 4));
    assert_int_equal(part_topic_create(reg, "t", 3, NULL), -EEXIST); /* not over the wreck */
    assert_int_equal(part_registry_close(reg), 0);
    assert_true(is_dir(fx->dir, "t-0")); /* untouched */
    assert_true(is_dir(fx->dir, "t-3"));
    assert_false(exists(fx->dir, "t-2"));
}

static void test_registry_strays_are_ignored_files_for_dirs_damage_the_topic(void **state)
{
    struct fx *fx = *state;
    struct part_registry *reg = open_reg(fx->dir, NULL);
    create(reg, "good", 2);
    create(reg, "y", 2);
    assert_int_equal(part_registry_close(reg), 0);
    touch(fx->dir, "meta.properties", "version=0\n");
    make_dir(fx->dir, "lost+found");
    make_dir(fx->dir, "x-01");       /* leading zero: not a partition */
    make_dir(fx->dir, "payments");   /* no partition number */
    make_dir(fx->dir, "t-abc");      /* unparsable suffix */
    make_dir(fx->dir, "caf\xc3\xa9-0");
    make_dir(fx->dir, "evil\nERROR forged-0"); /* printed with '?' for the newline */
    assert_int_equal(kc_rm_rf(path_in(fx->dir, "y-1")), 0);
    touch(fx->dir, "y-1", "a file where a directory should be");
    assert_int_equal(symlink("good-0", path_in(fx->dir, "z-0")), 0); /* not a directory */

    char *log;
    reg = open_reg(fx->dir, &log);
    assert_non_null(strstr(log, "ignoring"));
    assert_non_null(strstr(log, "x-01"));
    assert_non_null(strstr(log, "t-abc"));
    assert_non_null(strstr(log, "y-1 is not a directory"));
    assert_non_null(strstr(log, "z-0 is not a directory"));
    assert_non_null(strstr(log, "evil?ERROR forged-0"));
    assert_non_null(strstr(log, "caf?" "?-0")); /* split: "??-" is a trigraph */
    free(log);
    struct part_topic *list[8];
    assert_int_equal(part_topic_list(reg, list, 8), 1);
    assert_string_equal(part_topic_name(list[0]), "good");
    assert_int_equal(part_registry_close(reg), 0);
}

static void test_registry_unopenable_log_damages_only_its_topic(void **state)
{
    struct fx *fx = *state;
    struct part_registry *reg = open_reg(fx->dir, NULL);
    create(reg, "bad", 2);
    create(reg, "fine", 1);
    assert_int_equal(part_registry_close(reg), 0);
    /* Replace partition 1's directory by one alog cannot use: its segment is a directory. */
    assert_int_equal(kc_rm_rf(path_in(fx->dir, "bad-1")), 0);
    make_dir(fx->dir, "bad-1");
    make_dir(fx->dir, "bad-1/00000000000000000000.log");

    char *log;
    reg = open_reg(fx->dir, &log);
    free(log);
    assert_non_null(part_topic_find(reg, "fine", 4));
    struct part_topic *bad = part_topic_find(reg, "bad", 3);
    if (bad) /* appendLog chose to cope with it: then it must be whole */
        assert_non_null(part_topic_log(bad, 1));
    else
        assert_int_equal(part_topic_create(reg, "bad", 2, NULL), -EEXIST);
    assert_int_equal(part_registry_close(reg), 0);
}

/* ---- interrupted creation ---------------------------------------------------------------- */

static void test_registry_interrupted_creation_is_completed(void **state)
{
    struct fx *fx = *state;
    touch(fx->dir, "orders~", "partitions=4\n"); /* crashed after two of four mkdirs */
    make_dir(fx->dir, "orders-0");
    make_dir(fx->dir, "orders-1");
    touch(fx->dir, "early~", "partitions=2\n"); /* crashed before the first mkdir */
    touch(fx->dir, "late~", "partitions=1\n");  /* crashed just before removing it */
    make_dir(fx->dir, "late-0");
    touch(fx->dir, "never~.tmp", "parti"); /* crashed while writing the marker */

    char *log;
    struct part_registry *reg = open_reg(fx->dir, &log);
    assert_non_null(strstr(log, "'orders' was being created"));
    assert_non_null(strstr(log, "completing"));
    free(log);
    struct part_topic *t = part_topic_find(reg, "orders", 6);
    assert_non_null(t);
    assert_int_equal(part_topic_partitions(t), 4);
    assert_non_null(part_topic_log(t, 3));
    assert_int_equal(part_topic_partitions(part_topic_find(reg, "early", 5)), 2);
    assert_int_equal(part_topic_partitions(part_topic_find(reg, "late", 4)), 1);
    assert_null(part_topic_find(reg, "never", 5));
    assert_int_equal(part_registry_close(reg), 0);
    assert_true(is_dir(fx->dir, "orders-3"));
    assert_false(exists(fx->dir, "orders~"));
    assert_false(exists(fx->dir, "early~"));
    assert_false(exists(fx->dir, "late~"));
    assert_false(exists(fx->dir, "never~.tmp"));
    reg = open_reg(fx->dir, &log); /* and the next start is quiet */
    assert_null(strstr(log, "partitioning"));
    free(log);
    assert_int_equal(part_registry_close(reg), 0);
}

static void test_registry_marker_that_contradicts_disk_is_damage(void **state)
{
    struct fx *fx = *state;
    touch(fx->dir, "m~", "partitions=2\n");
    make_dir(fx->dir, "m-0");
    make_dir(fx->dir, "m-5"); /* beyond what the marker says */
    touch(fx->dir, "g~", "garbage");
    make_dir(fx->dir, "g-0");
    char *log;
    struct part_registry *reg = open_reg(fx->dir, &log);
    assert_non_null(strstr(log, "m-5 exists but its creation marker says 2"));
    assert_non_null(strstr(log, "marker cannot be read"));
    free(log);
    assert_null(part_topic_find(reg, "m", 1));
    assert_null(part_topic_find(reg, "g", 1));
    assert_int_equal(part_topic_create(reg, "g", 1, NULL), -EEXIST);
    assert_int_equal(part_registry_close(reg), 0);
    assert_true(exists(fx->dir, "m~")); /* left for a human */
    assert_false(exists(fx->dir, "m-1"));
}

static void test_registry_failed_create_rolls_back(void **state)
{
    struct fx *fx = *state;
    struct part_registry *reg = open_reg(fx->dir, NULL);
    touch(fx->dir, "t-2", "in the way"); /* appears after open: mkdir t-2 will fail */
    char *log;
    struct kc_test_capture cap;
    kc_test_capture_start(&cap);
    int rc = part_topic_create(reg, "t", 4, NULL);
    log = kc_test_capture_stop(&cap);
    free(log);
    assert_int_equal(rc, -EEXIST);
    assert_null(part_topic_find(reg, "t", 1));
    assert_false(exists(fx->dir, "t-0"));
    assert_false(exists(fx->dir, "t-1"));
    assert_true(exists(fx->dir, "t-2")); /* not ours: not removed */
    assert_false(exists(fx->dir, "t~"));
    assert_int_equal(part_registry_close(reg), 0);
}

/* ---- threads ------------------------------------------------------------------------ */

struct reader {
    struct part_registry *reg;
    atomic_bool *stop;
    long lookups, misses;
};

static void *reader_main(void *arg)
{
    struct reader *r = arg;
    while (!atomic_load(r->stop)) {
        struct part_topic *t = part_topic_find(r->reg, "base", 4);
        r->misses += t == NULL || part_topic_partitions(t) != 3;
        struct part_topic *list[64];
        size_t n = part_topic_list(r->reg, list, 64);
        for (size_t i = 0; i < n && i < 64; i++)
            r->misses += part_topic_find(r->reg, part_topic_name(list[i]),
                                         strlen(part_topic_name(list[i]))) != list[i];
        r->lookups++;
    }
    return NULL;
}

static void test_registry_lookups_run_while_topics_are_created(void **state)
{
    struct fx *fx = *state;
    struct part_registry *reg = open_reg(fx->dir, NULL);
    create(reg, "base", 3);
    atomic_bool stop;
    atomic_init(&stop, false);
    struct reader rd[3];
    pthread_t th[3];
    for (int i = 0; i < 3; i++) {
        rd[i] = (struct reader){.reg = reg, .stop = &stop};
        assert_int_equal(pthread_create(&th[i], NULL, reader_main, &rd[i]), 0);
    }
    char name[32];
    for (int i = 0; i < 20; i++) {
        snprintf(name, sizeof(name), "topic-%02d", i);
        create(reg, name, 1 + i % 3);
        assert_non_null(part_topic_find(reg, name, strlen(name)));
    }
    atomic_store(&stop, true);
    long lookups = 0;
    for (int i = 0; i < 3; i++) {
        assert_int_equal(pthread_join(th[i], NULL), 0);
        assert_int_equal(rd[i].misses, 0);
        lookups += rd[i].lookups;
    }
    print_message("%ld lookup rounds while 20 topics were created\n", lookups);
    assert_int_equal(part_topic_list(reg, NULL, 0), 21);
    assert_int_equal(part_registry_close(reg), 0);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_registry_create_then_reopen_finds_every_partition),
        T(test_registry_appended_records_survive_reopen),
        T(test_registry_create_refuses_bad_requests_and_writes_nothing),
        T(test_registry_longest_name_and_many_partitions_fit_name_max),
        T(test_registry_open_rejects_bad_config_and_data_dir),
        T(test_registry_missing_partition_in_the_middle_is_reported_and_skipped),
        T(test_registry_strays_are_ignored_files_for_dirs_damage_the_topic),
        T(test_registry_unopenable_log_damages_only_its_topic),
        T(test_registry_interrupted_creation_is_completed),
        T(test_registry_marker_that_contradicts_disk_is_damage),
        T(test_registry_failed_create_rolls_back),
        T(test_registry_lookups_run_while_topics_are_created),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
