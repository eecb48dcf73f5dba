/* test_thread.c - pinned, named threads; wrapping round when fewer CPUs exist than asked. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kc_common.h"
#include "kc_test.h"
#include "tcore.h"

/* What a started thread saw from the inside. */
struct seen {
    int cpu;         /* sched_getcpu() */
    int mask_count;  /* CPUs in its own affinity mask */
    int mask_first;  /* lowest CPU in that mask */
    char name[16];
};

static void *observe(void *arg)
{
    struct seen *s = arg;
    cpu_set_t set;
    CPU_ZERO(&set);
    /* No cmocka asserts off the main thread (they longjmp): record, check in main. */
    s->mask_count = sched_getaffinity(0, sizeof(set), &set) == 0 ? CPU_COUNT(&set) : -1;
    s->mask_first = -1;
    for (int c = 0; c < CPU_SETSIZE && s->mask_first < 0; c++)
        if (CPU_ISSET(c, &set))
            s->mask_first = c;
    s->cpu = sched_getcpu();
    if (pthread_getname_np(pthread_self(), s->name, sizeof(s->name)) != 0)
        strcpy(s->name, "?");
    return s;
}

static int first_allowed_cpu(void)
{
    cpu_set_t set;
    CPU_ZERO(&set);
    assert_int_equal(sched_getaffinity(0, sizeof(set), &set), 0);
    for (int c = 0; c < CPU_SETSIZE; c++)
        if (CPU_ISSET(c, &set))
            return c;
    fail_msg("empty affinity mask");
    return -1;
}

/* Lines of the stderr captured by c that contain needle. */
static int capture_stop(struct kc_test_capture *c, const char *needle)
{
    char *text = kc_test_capture_stop(c);
    int lines = kc_test_count_lines(text, needle);
    free(text);
    return lines;
}

static void test_thread_cpu_count_matches_affinity_mask(void **state)
{
    (void)state;
    cpu_set_t set;
    CPU_ZERO(&set);
    assert_int_equal(sched_getaffinity(0, sizeof(set), &set), 0);
    assert_int_equal(tcore_cpu_count(), CPU_COUNT(&set));
    assert_true(tcore_current_cpu() >= 0);
}

static void test_thread_start_pins_and_names_before_fn_runs(void **state)
{
    (void)state;
    struct seen s = {0};
    struct tcore_thread *t;
    assert_int_equal(tcore_thread_start(&t, "kc-net-0", 0, observe, &s), 0);
    int cpu = tcore_thread_cpu(t);
    void *ret = NULL;
    assert_int_equal(tcore_thread_join(t, &ret), 0);
    assert_ptr_equal(ret, &s);
    assert_int_equal(cpu, first_allowed_cpu());
    assert_int_equal(s.mask_count, 1);
    assert_int_equal(s.mask_first, cpu);
    assert_int_equal(s.cpu, cpu);
    assert_string_equal(s.name, "kc-net-0");
}

static void test_thread_every_index_lands_in_the_mask(void **state)
{
    (void)state;
    int n = tcore_cpu_count();
    for (int i = 0; i < n; i++) {
        struct seen s = {0};
        struct tcore_thread *t;
        assert_int_equal(tcore_thread_start(&t, "kc-idx", i, observe, &s), 0);
        int cpu = tcore_thread_cpu(t);
        assert_int_equal(tcore_thread_join(t, NULL), 0);
        assert_int_equal(s.cpu, cpu);
        assert_int_equal(s.mask_count, 1);
    }
}

static void test_thread_unpinned_keeps_the_whole_mask(void **state)
{
    (void)state;
    struct seen s = {0};
    struct tcore_thread *t;
    assert_int_equal(tcore_thread_start(&t, "kc-free", -1, observe, &s), 0);
    assert_int_equal(tcore_thread_cpu(t), -1);
    assert_int_equal(tcore_thread_join(t, NULL), 0);
    assert_int_equal(s.mask_count, tcore_cpu_count());
    assert_string_equal(s.name, "kc-free");
}

/* The original failed here on a 2-core machine and printed "Success". */
static void test_thread_more_cpus_than_allowed_wraps_with_one_warning(void **state)
{
    (void)state;
    cpu_set_t saved, one;
    CPU_ZERO(&saved);
    assert_int_equal(sched_getaffinity(0, sizeof(saved), &saved), 0);
    int only = first_allowed_cpu();
    CPU_ZERO(&one);
    CPU_SET(only, &one);
    assert_int_equal(sched_setaffinity(0, sizeof(one), &one), 0); /* this thread: 1 CPU */
    assert_int_equal(tcore_cpu_count(), 1);

    struct kc_test_capture cap;
    kc_test_capture_start(&cap);
    struct seen s = {0};
    struct tcore_thread *t;
    int rc = tcore_thread_start(&t, "kc-flusher", 2, observe, &s);
    int pinned = -1;
    int rc2 = tcore_pin_self(3, &pinned);
    int warnings = capture_stop(&cap, "wrapping round");
    assert_int_equal(sched_setaffinity(0, sizeof(saved), &saved), 0);

    assert_int_equal(rc, 0);
    assert_int_equal(tcore_thread_cpu(t), only);
    assert_int_equal(tcore_thread_join(t, NULL), 0);
    assert_int_equal(s.cpu, only);
    assert_int_equal(rc2, 0);
    assert_int_equal(pinned, only);
    assert_int_equal(warnings, 2); /* exactly one per wrapped request */
}

static void test_thread_in_range_index_does_not_warn(void **state)
{
    (void)state;
    struct kc_test_capture cap;
    kc_test_capture_start(&cap);
    struct seen s = {0};
    struct tcore_thread *t;
    int rc = tcore_thread_start(&t, "kc-quiet", tcore_cpu_count() - 1, observe, &s);
    int warnings = capture_stop(&cap, "tcore");
    assert_int_equal(rc, 0);
    assert_int_equal(tcore_thread_join(t, NULL), 0);
    assert_int_equal(warnings, 0);
}

static void test_thread_bad_arguments_are_einval(void **state)
{
    (void)state;
    struct tcore_thread *t = NULL; /* out-parameter: untouched on failure */
    assert_int_equal(tcore_thread_start(&t, "sixteen-chars-xx", 0, observe, NULL), -EINVAL);
    assert_int_equal(tcore_thread_start(&t, "", 0, observe, NULL), -EINVAL);
    assert_int_equal(tcore_thread_start(&t, NULL, 0, observe, NULL), -EINVAL);
    assert_int_equal(tcore_thread_start(&t, "ok", 0, NULL, NULL), -EINVAL);
    assert_null(t);
    assert_int_equal(tcore_pin_self(-1, NULL), -EINVAL);

    struct seen s = {0};
    assert_int_equal(tcore_thread_start(&t, "fifteen-chars-x", 0, observe, &s), 0);
    assert_int_equal(tcore_thread_join(t, NULL), 0);
    assert_string_equal(s.name, "fifteen-chars-x");
}

static void *pin_and_report(void *arg)
{
    int *out = arg;
    int pinned = -1;
    if (tcore_pin_self(0, &pinned) != 0)
        pinned = -2;
    out[0] = pinned;
    out[1] = sched_getcpu();
    return NULL;
}

static void test_thread_pin_self_moves_the_caller(void **state)
{
    (void)state;
    int got[2] = {-1, -1};
    struct tcore_thread *t;
    assert_int_equal(tcore_thread_start(&t, "kc-pin", -1, pin_and_report, got), 0);
    assert_int_equal(tcore_thread_join(t, NULL), 0);
    assert_int_equal(got[0], first_allowed_cpu());
    assert_int_equal(got[1], got[0]);
}

static void test_thread_start_join_leaves_no_fds(void **state)
{
    (void)state;
    int fds = kc_test_fd_count();
    for (int i = 0; i < 50; i++) {
        struct seen s;
        struct tcore_thread *t;
        assert_int_equal(tcore_thread_start(&t, "kc-loop", i % tcore_cpu_count(), observe, &s),
                         0);
        assert_int_equal(tcore_thread_join(t, NULL), 0);
    }
    assert_int_equal(kc_test_fd_count(), fds);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_thread_cpu_count_matches_affinity_mask),
        cmocka_unit_test(test_thread_start_pins_and_names_before_fn_runs),
        cmocka_unit_test(test_thread_every_index_lands_in_the_mask),
        cmocka_unit_test(test_thread_unpinned_keeps_the_whole_mask),
        cmocka_unit_test(test_thread_more_cpus_than_allowed_wraps_with_one_warning),
        cmocka_unit_test(test_thread_in_range_index_does_not_warn),
        cmocka_unit_test(test_thread_bad_arguments_are_einval),
        cmocka_unit_test(test_thread_pin_self_moves_the_caller),
        cmocka_unit_test(test_thread_start_join_leaves_no_fds),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
