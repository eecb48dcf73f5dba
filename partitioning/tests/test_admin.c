/*
 * test_admin.c - deleting (the state machine, a crash at each step), growing, and topic
 * configs on disk.
 *
 * A crash is simulated by leaving the disk exactly as the running code leaves it at that
 * step (the steps are in delete.c's header), then opening the registry again: the deleted
 * topic must never load, never half of it, and a marker for another topic (a stale one)
 * must not delete the topic that now has the name.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kc_common.h"
#include "kc_test.h"
#include "part.h"

static char *path_in(const char *dir, const char *name)
{
    static _Thread_local char buf[PATH_MAX];
    snprintf(buf, sizeof(buf), "%s/%s", dir, name);
    return buf;
}

static bool exists(const char *dir, const char *name)
{
    struct stat st;
    return lstat(path_in(dir, name), &st) == 0;
}

/* Entries of dir whose name contains s. */
static int count_like(const char *dir, const char *s)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    int n = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) /* the store's checkpoints are no topic's */
        n += strstr(de->d_name, s) != NULL && !alog_store_owns(de->d_name);
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
    return reg;
}

static struct part_topic *create(struct part_registry *reg, const char *name, int32_t n)
{
    struct part_topic *t = NULL;
    assert_int_equal(part_topic_create(reg, name, n, &t), 0);
    return t;
}

static void append_one(struct alog *log)
{
    struct kc_batch_builder b;
    uint8_t *batch;
    size_t len;
    int64_t base;
    kc_batch_builder_init(&b, NULL, 0);
    assert_int_equal(kc_batch_builder_add(&b, 1000, NULL, -1, "v", 1, NULL, 0), 0);
    assert_int_equal(kc_batch_builder_finish(&b, &batch, &len), 0);
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
    fx->fds = kc_test_fd_count();
    fx->dir = kc_test_tmpdir();
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    struct fx *fx = *state;
    kc_test_rmdir(fx->dir);
    assert_int_equal(kc_test_fd_count(), fx->fds);
    free(fx);
    return 0;
}

/* ---- deletion, running ----------------------------------------------------------------- */

static void test_admin_delete_then_reap_removes_everything(void **state)
{
    struct fx *fx = *state;
    struct part_registry *reg = open_reg(fx->dir, NULL);
    struct part_topic *t = create(reg, "gone", 3);
    struct part_topic_id old = *part_topic_id(t);
    append_one(part_topic_log(t, 1));
    assert_int_equal(part_topic_delete(reg, t), 0);
    /* Step 1 done: durable marker, invisible, the name refused, the pointer still good. */
    assert_true(exists(fx->dir, "gone~delete"));
    assert_true(part_topic_deleted(t));
    assert_null(part_topic_find(reg, "gone", 4));
    assert_null(part_topic_find_id(reg, &old));
    assert_int_equal(part_topic_create(reg, "gone", 1, NULL), -EEXIST);
    assert_int_equal(part_topic_delete(reg, t), KC_ENOTOPIC);
    assert_int_equal(alog_end_offset(part_topic_log(t, 1)), 1);
    assert_int_equal(part_topic_set_configs(reg, t, "retention.ms=1\n"), KC_ENOTOPIC);
    assert_int_equal(part_topic_grow(reg, t, 5), KC_ENOTOPIC);
    /* Step 3: files gone, the name free, a new topic empty with a new id. */
    assert_int_equal(part_topic_reap(reg, t), 0);
    assert_int_equal(count_like(fx->dir, "gone"), 0);
    t = create(reg, "gone", 1);
    assert_memory_not_equal(part_topic_id(t), &old, sizeof(old));
    assert_int_equal(alog_end_offset(part_topic_log(t, 0)), 0);
    assert_int_equal(part_registry_close(reg), 0);
}

static void test_admin_close_before_reap_finishes_at_next_open(void **state)
{
    struct fx *fx = *state;
    char *log;
    struct part_registry *reg = open_reg(fx->dir, NULL);
    create(reg, "keep", 1);
    assert_int_equal(part_topic_delete(reg, create(reg, "half", 4)), 0);
    assert_int_equal(part_registry_close(reg), 0); /* the broker stopped before reaping */
    assert_true(exists(fx->dir, "half~delete") && exists(fx->dir, "half-3"));
    reg = open_reg(fx->dir, &log);
    assert_non_null(strstr(log, "topic 'half' was being deleted when the broker stopped"));
    free(log);
    assert_null(part_topic_find(reg, "half", 4));
    assert_non_null(part_topic_find(reg, "keep", 4));
    assert_int_equal(count_like(fx->dir, "half"), 0);
    assert_int_equal(part_registry_close(reg), 0);
}

/* ---- deletion, crashed at each step ----------------------------------------------------- */

/* The disk as a crash at `step` leaves it, for a 4-partition topic "t". */
static void crash_at(const char *dir, int step)
{
    struct part_registry *reg = open_reg(dir, NULL);
    struct part_topic *t = create(reg, "t", 4);
    char id[PART_TOPIC_ID_STR], body[96];
    part_topic_id_str(part_topic_id(t), id);
    assert_int_equal(part_registry_close(reg), 0);
    int n = snprintf(body, sizeof(body), "topic_id: %s\npartitions=4\n", id);
    if (step == 0) { /* the marker's tmp written, never renamed: nothing was promised */
        assert_int_equal(kc_atomic_replace(path_in(dir, "t~delete.tmp"), body, (size_t)n), 0);
        return;
    }
    assert_int_equal(kc_atomic_replace(path_in(dir, "t~delete"), body, (size_t)n), 0);
    for (int p = 0; p < step - 1 && p < 4; p++) { /* steps 2..5: p partitions renamed */
        char from[PATH_MAX], to[PATH_MAX];
        snprintf(from, sizeof(from), "%s/t-%d", dir, p);
        snprintf(to, sizeof(to), "%s/t-%d.0123456789abcdef0123456789abcdef-delete", dir, p);
        assert_int_equal(rename(from, to), 0);
    }
    if (step == 6) /* the marker gone too: only *-delete directories left */
        assert_int_equal(unlink(path_in(dir, "t~delete")), 0);
}

static void test_admin_crash_at_every_step_never_half_a_topic(void **state)
{
    struct fx *fx = *state;
    for (int step = 0; step <= 6; step++) {
        char *log;
        crash_at(fx->dir, step);
        struct part_registry *reg = open_reg(fx->dir, &log);
        struct part_topic *t = part_topic_find(reg, "t", 1);
        if (step == 0) { /* the deletion never committed: the whole topic is there */
            assert_non_null(t);
            assert_int_equal(part_topic_partitions(t), 4);
            assert_non_null(strstr(log, "a deletion marker that was never completed"));
            assert_int_equal(part_topic_delete(reg, t), 0);
            assert_int_equal(part_topic_reap(reg, t), 0);
        } else {
            if (t)
                fail_msg("step %d: the topic loaded with %d partitions", step,
                         (int)part_topic_partitions(t));
        }
        free(log);
        assert_int_equal(part_registry_close(reg), 0);
        assert_int_equal(count_like(fx->dir, "t-"), 0);
        assert_int_equal(count_like(fx->dir, "t~"), 0);
        reg = open_reg(fx->dir, &log); /* and the next start is quiet */
        assert_null(strstr(log, "deleted"));
        free(log);
        assert_int_equal(part_registry_close(reg), 0);
    }
}

static void test_admin_stale_marker_spares_a_new_topic_of_that_name(void **state)
{
    struct fx *fx = *state;
    char *log;
    static const char stale[] = "topic_id: AAAAAAAAQAAAAAAAAAAAAA\npartitions=2\n";
    struct part_registry *reg = open_reg(fx->dir, NULL);
    create(reg, "n", 2);
    assert_int_equal(part_registry_close(reg), 0);
    assert_int_equal(kc_atomic_replace(path_in(fx->dir, "n~delete"), stale, strlen(stale)), 0);
    reg = open_reg(fx->dir, &log);
    assert_non_null(strstr(log, "removing the stale marker"));
    free(log);
    assert_non_null(part_topic_find(reg, "n", 1));
    assert_false(exists(fx->dir, "n~delete"));
    assert_int_equal(part_registry_close(reg), 0);
}

/* ---- growing ----------------------------------------------------------------------------- */

static void test_admin_grow_publishes_and_survives_reopen(void **state)
{
    struct fx *fx = *state;
    struct part_registry *reg = open_reg(fx->dir, NULL);
    struct part_topic *t = create(reg, "g", 2);
    struct part_topic_id id = *part_topic_id(t);
    append_one(part_topic_log(t, 0));
    assert_int_equal(part_topic_grow(reg, t, 2), -EINVAL);
    assert_int_equal(part_topic_grow(reg, t, 1), -EINVAL);
    assert_int_equal(part_topic_grow(reg, t, PART_MAX_PARTITIONS + 1), KC_ETOOLARGE);
    assert_int_equal(part_topic_grow(reg, t, 5), 0);
    assert_int_equal(part_topic_partitions(t), 5);
    assert_non_null(part_topic_log(t, 4));
    assert_int_equal(alog_end_offset(part_topic_log(t, 0)), 1); /* the old logs are kept */
    assert_false(exists(fx->dir, "g~"));
    assert_int_equal(part_registry_close(reg), 0);
    reg = open_reg(fx->dir, NULL);
    t = part_topic_find(reg, "g", 1);
    assert_int_equal(part_topic_partitions(t), 5);
    assert_memory_equal(part_topic_id(t), &id, sizeof(id)); /* the new ones got its id */
    assert_int_equal(part_registry_close(reg), 0);
}

static void test_admin_grow_interrupted_is_completed(void **state)
{
    struct fx *fx = *state;
    char *log;
    struct part_registry *reg = open_reg(fx->dir, NULL);
    create(reg, "gi", 2);
    assert_int_equal(part_registry_close(reg), 0);
    /* The growth to 4 died after its marker and one new directory. */
    assert_int_equal(kc_atomic_replace(path_in(fx->dir, "gi~"), "partitions=4\n", 13), 0);
    assert_int_equal(mkdir(path_in(fx->dir, "gi-2"), 0755), 0);
    reg = open_reg(fx->dir, &log);
    assert_non_null(strstr(log, "completing its creation"));
    free(log);
    assert_int_equal(part_topic_partitions(part_topic_find(reg, "gi", 2)), 4);
    assert_int_equal(part_registry_close(reg), 0);
}

/* ---- configs ------------------------------------------------------------------------------ */

static void test_admin_configs_written_with_topic_and_reread(void **state)
{
    struct fx *fx = *state;
    struct part_registry *reg = open_reg(fx->dir, NULL);
    struct part_topic *t;
    char *text;
    struct alog_config lc;
    alog_config_init(&lc);
    lc.segment_bytes = 4096;
    assert_int_equal(part_topic_create_configs(reg, "c", 2, "retention.ms=5\n", &lc, &t), 0);
    struct alog_config got;
    alog_get_config(part_topic_log(t, 1), &got);
    assert_int_equal(got.segment_bytes, 4096); /* opened with the topic's settings */
    assert_true(exists(fx->dir, "c-0/topic.config"));
    assert_int_equal(part_topic_configs(reg, t, &text), 0);
    assert_string_equal(text, "retention.ms=5\n");
    free(text);
    assert_int_equal(part_topic_set_configs(reg, t, "cleanup.policy=compact\nretention.ms=9\n"), 0);
    assert_int_equal(part_registry_close(reg), 0);
    reg = open_reg(fx->dir, NULL);
    t = part_topic_find(reg, "c", 1);
    assert_int_equal(part_topic_configs(reg, t, &text), 0);
    assert_string_equal(text, "cleanup.policy=compact\nretention.ms=9\n");
    free(text);
    t = create(reg, "plain", 1);
    assert_int_equal(part_topic_configs(reg, t, &text), 0);
    assert_string_equal(text, "");
    free(text);
    assert_int_equal(part_registry_close(reg), 0);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_admin_delete_then_reap_removes_everything),
        T(test_admin_close_before_reap_finishes_at_next_open),
        T(test_admin_crash_at_every_step_never_half_a_topic),
        T(test_admin_stale_marker_spares_a_new_topic_of_that_name),
        T(test_admin_grow_publishes_and_survives_reopen),
        T(test_admin_grow_interrupted_is_completed),
        T(test_admin_configs_written_with_topic_and_reread),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
