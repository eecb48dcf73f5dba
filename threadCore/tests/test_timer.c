/* test_timer.c - the loop's timer heap: order, re-arm and disarm from callbacks, many timers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kc_common.h"
#include "kc_test.h"
#include "tcore.h"
#include "tcore_int.h" /* white-box: the heap invariant */

/* Fails the test if the loop is still running after this long: nothing here should hang. */
#define GUARD_MS 20000

static void guard_fired(struct tcore_loop *loop, struct tcore_timer *t)
{
    (void)loop;
    (void)t;
    fail_msg("loop still running after %d ms", GUARD_MS);
}

struct fired {
    int order[64];
    int n;
    struct tcore_timer timers[8];
    struct tcore_loop *loop;
    int stop_after;
};

static void record(struct tcore_loop *loop, struct tcore_timer *t)
{
    struct fired *f = ((struct fired **)t->arg)[0];
    int id = (int)(t - f->timers);
    assert_false(tcore_timer_armed(t)); /* disarmed before its callback runs */
    f->order[f->n++] = id;
    if (f->n == f->stop_after)
        tcore_loop_stop(loop);
}

static void setup_fired(struct fired *f, struct tcore_loop *loop, struct fired **self)
{
    memset(f, 0, sizeof(*f));
    f->loop = loop;
    *self = f;
    for (int i = 0; i < 8; i++)
        tcore_timer_init(&f->timers[i], record, self);
}

static void check_heap(const struct tcore_loop *loop)
{
    for (uint32_t i = 0; i < loop->heap_len; i++) {
        const struct tcore_timer *t = loop->heap[i];
        assert_int_equal(t->heap_index, i);
        if (i == 0)
            continue;
        const struct tcore_timer *p = loop->heap[(i - 1) / 2];
        assert_true(p->due_ms < t->due_ms || (p->due_ms == t->due_ms && p->seq < t->seq));
    }
}

static void test_timer_fire_in_deadline_order_ties_in_arm_order(void **state)
{
    (void)state;
    struct tcore_loop *loop;
    assert_int_equal(tcore_loop_create(&loop), 0);
    struct fired f, *self;
    setup_fired(&f, loop, &self);
    f.stop_after = 5;
    const int64_t delays[5] = {30, 10, 20, 0, 10};
    /* Before the first arm: each deadline counts from its own arm, so measuring from after
     * them (or across a millisecond boundary) could see 29 ms for the 30 ms timer. */
    int64_t t0 = kc_mono_ms();
    for (int i = 0; i < 5; i++)
        assert_int_equal(tcore_timer_arm(loop, &f.timers[i], delays[i]), 0);
    /* If the clock ticks between arms, ties still cannot reorder 1 and 4: 4 is later. */
    assert_int_equal(tcore_loop_run(loop), 0);
    assert_true(kc_mono_ms() - t0 >= 30);
    const int want[5] = {3, 1, 4, 2, 0};
    assert_int_equal(f.n, 5);
    assert_memory_equal(f.order, want, sizeof(want));
    tcore_loop_destroy(loop);
}

static void rearm_self(struct tcore_loop *loop, struct tcore_timer *t)
{
    int *count = t->arg;
    if (++*count == 5)
        tcore_loop_stop(loop);
    else
        assert_int_equal(tcore_timer_arm(loop, t, 1), 0);
}

static void test_timer_rearm_from_own_callback_fires_again(void **state)
{
    (void)state;
    struct tcore_loop *loop;
    assert_int_equal(tcore_loop_create(&loop), 0);
    int count = 0;
    struct tcore_timer t, guard;
    tcore_timer_init(&t, rearm_self, &count);
    tcore_timer_init(&guard, guard_fired, NULL);
    assert_int_equal(tcore_timer_arm(loop, &guard, GUARD_MS), 0);
    assert_int_equal(tcore_timer_arm(loop, &t, 1), 0);
    assert_int_equal(tcore_loop_run(loop), 0);
    assert_int_equal(count, 5);
    assert_false(tcore_timer_armed(&t));
    tcore_loop_destroy(loop);
    assert_false(tcore_timer_armed(&guard)); /* destroy disarms what is left */
}

/* A timer re-armed with delay 0 from its own callback must not starve I/O. */
struct starve {
    struct tcore_timer t;
    long ticks;
};

static void spin_timer(struct tcore_loop *loop, struct tcore_timer *t)
{
    struct starve *s = t->arg;
    s->ticks++;
    assert_int_equal(tcore_timer_arm(loop, t, 0), 0);
}

static void pipe_ready(struct tcore_loop *loop, int fd, uint32_t events, void *arg)
{
    (void)fd;
    (void)events;
    *(int *)arg = 1;
    tcore_loop_stop(loop);
}

static void test_timer_rearm_zero_from_callback_does_not_starve_io(void **state)
{
    (void)state;
    struct tcore_loop *loop;
    assert_int_equal(tcore_loop_create(&loop), 0);
    int p[2], seen = 0;
    assert_int_equal(pipe(p), 0);
    assert_int_equal(write(p[1], "x", 1), 1);
    assert_int_equal(tcore_loop_add(loop, p[0], TCORE_IN, pipe_ready, &seen), 0);
    struct starve s = {.ticks = 0};
    tcore_timer_init(&s.t, spin_timer, &s);
    assert_int_equal(tcore_timer_arm(loop, &s.t, 0), 0);
    assert_int_equal(tcore_loop_run(loop), 0);
    assert_int_equal(seen, 1);
    assert_int_equal(s.ticks, 1); /* once per iteration: one iteration ran */
    assert_int_equal(tcore_loop_del(loop, p[0]), 0);
    tcore_loop_destroy(loop);
    close(p[0]);
    close(p[1]);
}

/* Timer 0 disarms 1 (due at the same moment, armed later) and 2; 3 stops the loop. */
static void disarm_others(struct tcore_loop *loop, struct tcore_timer *t)
{
    struct fired *f = ((struct fired **)t->arg)[0];
    record(loop, t);
    tcore_timer_disarm(loop, &f->timers[1]);
    tcore_timer_disarm(loop, &f->timers[2]);
    tcore_timer_disarm(loop, &f->timers[2]); /* twice: harmless */
    assert_false(tcore_timer_armed(&f->timers[1]));
}

static void test_timer_disarm_from_callback_prevents_firing(void **state)
{
    (void)state;
    struct tcore_loop *loop;
    assert_int_equal(tcore_loop_create(&loop), 0);
    struct fired f, *self;
    setup_fired(&f, loop, &self);
    f.stop_after = 2;
    f.timers[0].fn = disarm_others;
    assert_int_equal(tcore_timer_arm(loop, &f.timers[0], 5), 0);
    assert_int_equal(tcore_timer_arm(loop, &f.timers[1], 5), 0);
    assert_int_equal(tcore_timer_arm(loop, &f.timers[2], 15), 0);
    assert_int_equal(tcore_timer_arm(loop, &f.timers[3], 25), 0);
    assert_int_equal(tcore_loop_run(loop), 0);
    const int want[2] = {0, 3};
    assert_int_equal(f.n, 2);
    assert_memory_equal(f.order, want, sizeof(want));
    tcore_loop_destroy(loop);
}

/* A callback that disarms and frees another due timer: ASan sees any later touch. */
struct owned {
    struct tcore_timer t;
    struct owned **victim;
    int *fired;
};

static void free_victim(struct tcore_loop *loop, struct tcore_timer *t)
{
    struct owned *o = t->arg;
    ++*o->fired;
    if (*o->victim) {
        tcore_timer_disarm(loop, &(*o->victim)->t);
        free(*o->victim);
        *o->victim = NULL;
    }
    if (*o->fired == 1)
        tcore_loop_stop(loop);
}

static void test_timer_disarm_and_free_due_timer_from_callback_is_safe(void **state)
{
    (void)state;
    struct tcore_loop *loop;
    assert_int_equal(tcore_loop_create(&loop), 0);
    int fired = 0;
    struct owned *a = calloc(1, sizeof(*a)), *b = calloc(1, sizeof(*b));
    assert_non_null(a);
    assert_non_null(b);
    a->victim = &b;
    b->victim = &a;
    a->fired = b->fired = &fired;
    tcore_timer_init(&a->t, free_victim, a);
    tcore_timer_init(&b->t, free_victim, b);
    assert_int_equal(tcore_timer_arm(loop, &a->t, 0), 0); /* both due in the same phase */
    assert_int_equal(tcore_timer_arm(loop, &b->t, 0), 0);
    assert_int_equal(tcore_loop_run(loop), 0);
    assert_int_equal(fired, 1); /* whoever ran first freed the other */
    assert_true((a == NULL) != (b == NULL));
    free(a ? a : b);
    tcore_loop_destroy(loop);
}

static void test_timer_random_arm_rearm_disarm_keep_heap_order(void **state)
{
    (void)state;
    uint64_t seed = kc_test_seed(), rng = seed | 1;
    struct tcore_loop *loop;
    assert_int_equal(tcore_loop_create(&loop), 0);
    enum { N = 2000 };
    struct tcore_timer *ts = calloc(N, sizeof(*ts));
    assert_non_null(ts);
    for (int i = 0; i < N; i++)
        tcore_timer_init(&ts[i], guard_fired, NULL);
    for (int step = 0; step < 50000; step++) {
        struct tcore_timer *t = &ts[kc_test_rand(&rng) % N];
        if (kc_test_rand(&rng) % 3 == 0)
            tcore_timer_disarm(loop, t);
        else
            assert_int_equal(tcore_timer_arm(loop, t, (int64_t)(kc_test_rand(&rng) % 1000)), 0);
        if (step % 997 == 0)
            check_heap(loop);
    }
    check_heap(loop);
    uint32_t armed = 0;
    for (int i = 0; i < N; i++)
        armed += tcore_timer_armed(&ts[i]);
    assert_int_equal(armed, loop->heap_len);
    tcore_loop_destroy(loop);
    for (int i = 0; i < N; i++)
        assert_false(tcore_timer_armed(&ts[i]));
    free(ts);
}

/* 20000 timers over 0..40 ms, a third disarmed: the rest fire once each, in due order. */
struct many {
    struct tcore_timer *ts;
    int64_t last_due;
    uint64_t last_seq;
    int fired, expected;
    char *hit;
};

static void many_fired(struct tcore_loop *loop, struct tcore_timer *t)
{
    struct many *m = t->arg;
    size_t i = (size_t)(t - m->ts);
    assert_int_equal(m->hit[i], 0);
    m->hit[i] = 1;
    assert_true(t->due_ms > m->last_due || (t->due_ms == m->last_due && t->seq > m->last_seq));
    assert_true(t->due_ms <= tcore_loop_now_ms(loop));
    m->last_due = t->due_ms;
    m->last_seq = t->seq;
    if (++m->fired == m->expected)
        tcore_loop_stop(loop);
}

static void test_timer_many_fire_once_each_in_order(void **state)
{
    (void)state;
    uint64_t rng = kc_test_seed() | 1;
    enum { N = 20000 };
    struct tcore_loop *loop;
    assert_int_equal(tcore_loop_create(&loop), 0);
    struct many m = {.ts = calloc(N, sizeof(struct tcore_timer)), .hit = calloc(N, 1),
                     .last_due = INT64_MIN};
    assert_non_null(m.ts);
    assert_non_null(m.hit);
    for (int i = 0; i < N; i++) {
        tcore_timer_init(&m.ts[i], many_fired, &m);
        assert_int_equal(tcore_timer_arm(loop, &m.ts[i], (int64_t)(kc_test_rand(&rng) % 41)), 0);
    }
    for (int i = 0; i < N; i += 3) {
        tcore_timer_disarm(loop, &m.ts[i]);
        m.hit[i] = 2; /* must stay 2 */
    }
    m.expected = N - (N + 2) / 3;
    assert_int_equal(tcore_loop_run(loop), 0);
    assert_int_equal(m.fired, m.expected);
    for (int i = 0; i < N; i++)
        assert_int_equal(m.hit[i], i % 3 == 0 ? 2 : 1);
    tcore_loop_destroy(loop);
    free(m.ts);
    free(m.hit);
}

static void test_timer_huge_delay_saturates_and_disarm_is_idempotent(void **state)
{
    (void)state;
    struct tcore_loop *loop;
    assert_int_equal(tcore_loop_create(&loop), 0);
    struct tcore_timer t;
    tcore_timer_init(&t, guard_fired, NULL);
    assert_false(tcore_timer_armed(&t));
    tcore_timer_disarm(loop, &t); /* never armed: harmless */
    assert_int_equal(tcore_timer_arm(loop, &t, INT64_MAX), 0);
    assert_int_equal(t.due_ms, INT64_MAX);
    assert_int_equal(tcore_timer_arm(loop, &t, -5), 0); /* negative: now */
    assert_true(t.due_ms <= kc_mono_ms());
    assert_true(tcore_timer_armed(&t));
    tcore_timer_disarm(loop, &t);
    tcore_timer_disarm(loop, &t);
    assert_false(tcore_timer_armed(&t));
    assert_int_equal(loop->heap_len, 0);
    tcore_loop_destroy(loop);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_timer_fire_in_deadline_order_ties_in_arm_order),
        cmocka_unit_test(test_timer_rearm_from_own_callback_fires_again),
        cmocka_unit_test(test_timer_rearm_zero_from_callback_does_not_starve_io),
        cmocka_unit_test(test_timer_disarm_from_callback_prevents_firing),
        cmocka_unit_test(test_timer_disarm_and_free_due_timer_from_callback_is_safe),
        cmocka_unit_test(test_timer_random_arm_rearm_disarm_keep_heap_order),
        cmocka_unit_test(test_timer_many_fire_once_each_in_order),
        cmocka_unit_test(test_timer_huge_delay_saturates_and_disarm_is_idempotent),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
