/* test_check.c - the invariant checker fails when it must: one history per invariant, each
 * broken once, and clean histories that pass. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "kc_common.h"
#include "kc_test.h"
#include "repl_check.h"

/* A replica's log as the checker reads it. */
struct fake {
    struct repl_check_rec log[16];
    int64_t len;
};

static int read_fake(void *arg, int64_t offset, struct repl_check_rec *rec)
{
    const struct fake *f = arg;
    if (offset < 0 || offset >= f->len)
        return -1;
    *rec = f->log[offset];
    return 0;
}

/* Records with ids 1.. in epoch `epoch`, `n` of them. */
static void fill(struct fake *f, int32_t epoch, int64_t n)
{
    for (int64_t o = f->len; o < n; o++)
        f->log[o] = (struct repl_check_rec){epoch, (uint64_t)o + 1};
    f->len = n;
}

static struct repl_check_view view(int32_t id, uint64_t inc, enum repl_role role, int32_t epoch,
                                   int64_t hw, struct fake *f)
{
    return (struct repl_check_view){id, inc, role, epoch, 0, f->len, hw, read_fake, f};
}

static void expect_violation(struct repl_check *c, int rc, const char *rule)
{
    assert_int_equal(rc, KC_ECORRUPT);
    if (strncmp(repl_check_why(c), rule, strlen(rule)) != 0)
        fail_msg("expected %s, got \"%s\"", rule, repl_check_why(c));
    /* Sticky: once broken, every later call says so. */
    struct fake f = {.len = 0};
    struct repl_check_view v = view(99, 1, REPL_ROLE_NONE, 0, 0, &f);
    assert_int_equal(repl_check_view(c, &v), KC_ECORRUPT);
    repl_check_fini(c);
}

static void test_check_clean_history_passes(void **state)
{
    (void)state;
    struct repl_check c;
    repl_check_init(&c);
    struct fake a = {.len = 0}, b = {.len = 0};
    fill(&a, 0, 6);
    fill(&b, 0, 4);
    struct repl_check_view va = view(1, 1, REPL_ROLE_LEADER, 0, 4, &a);
    struct repl_check_view vb = view(2, 1, REPL_ROLE_FOLLOWER, 0, 3, &b);
    assert_int_equal(repl_check_view(&c, &va), 0);
    assert_int_equal(repl_check_view(&c, &vb), 0);
    assert_int_equal(repl_check_acked(&c, 3, &a.log[3]), 0);
    assert_int_equal(repl_check_consumed(&c, 1, &a.log[1]), 0);
    /* A follower with a different uncommitted tail is fine. */
    b.log[3] = (struct repl_check_rec){7, 77};
    vb.hw = 3;
    assert_int_equal(repl_check_view(&c, &vb), 0);
    /* A restarted replica (new incarnation) may come back with a lower HW. */
    vb = view(2, 2, REPL_ROLE_FOLLOWER, 0, 1, &b);
    assert_int_equal(repl_check_view(&c, &vb), 0);
    assert_int_equal(repl_check_complete(&c, &va), 0);
    assert_string_equal(repl_check_why(&c), "");
    assert_int_equal(c.acked, 1);
    assert_int_equal(c.consumed, 1);
    assert_int_equal(c.views, 4);
    repl_check_fini(&c);
}

static void test_check_two_leaders_one_epoch_i1(void **state)
{
    (void)state;
    struct repl_check c;
    repl_check_init(&c);
    struct fake a = {.len = 0}, b = {.len = 0};
    struct repl_check_view va = view(1, 1, REPL_ROLE_LEADER, 3, 0, &a);
    struct repl_check_view vb = view(2, 1, REPL_ROLE_LEADER, 3, 0, &b);
    assert_int_equal(repl_check_view(&c, &va), 0);
    expect_violation(&c, repl_check_view(&c, &vb), "I1");
}

static void test_check_hw_or_epoch_backwards_i2(void **state)
{
    (void)state;
    struct repl_check c;
    struct fake a = {.len = 0};
    fill(&a, 0, 5);
    repl_check_init(&c);
    struct repl_check_view v = view(1, 1, REPL_ROLE_FOLLOWER, 2, 4, &a);
    assert_int_equal(repl_check_view(&c, &v), 0);
    v.hw = 3;
    expect_violation(&c, repl_check_view(&c, &v), "I2");
    repl_check_init(&c);
    v = view(1, 1, REPL_ROLE_FOLLOWER, 2, 4, &a);
    assert_int_equal(repl_check_view(&c, &v), 0);
    v.leader_epoch = 1;
    expect_violation(&c, repl_check_view(&c, &v), "I2");
}

static void test_check_disagreement_below_hw_i3(void **state)
{
    (void)state;
    struct repl_check c;
    struct fake a = {.len = 0}, b = {.len = 0};
    fill(&a, 0, 4);
    fill(&b, 0, 4);
    b.log[2] = (struct repl_check_rec){1, 99};
    repl_check_init(&c);
    struct repl_check_view va = view(1, 1, REPL_ROLE_FOLLOWER, 1, 4, &a);
    struct repl_check_view vb = view(2, 1, REPL_ROLE_FOLLOWER, 1, 3, &b);
    assert_int_equal(repl_check_view(&c, &va), 0);
    expect_violation(&c, repl_check_view(&c, &vb), "I3");
    /* A consumer that saw something else than what is committed there. */
    repl_check_init(&c);
    assert_int_equal(repl_check_view(&c, &va), 0);
    expect_violation(&c, repl_check_consumed(&c, 2, &b.log[2]), "I3");
    /* An acknowledgement at an offset that later holds another record. */
    repl_check_init(&c);
    assert_int_equal(repl_check_acked(&c, 2, &b.log[2]), 0);
    expect_violation(&c, repl_check_view(&c, &va), "I3");
}

static void test_check_newest_leader_lacks_committed_i4(void **state)
{
    (void)state;
    struct repl_check c;
    struct fake a = {.len = 0}, b = {.len = 0};
    fill(&a, 0, 6);
    fill(&b, 0, 4);
    repl_check_init(&c);
    assert_int_equal(repl_check_acked(&c, 4, &a.log[4]), 0);
    /* An old leader (epoch 1) that has not heard of epoch 2 may lack it ... */
    struct repl_check_view vn = view(1, 1, REPL_ROLE_LEADER, 2, 0, &a);
    struct repl_check_view vo = view(2, 1, REPL_ROLE_LEADER, 1, 0, &b);
    assert_int_equal(repl_check_view(&c, &vn), 0);
    assert_int_equal(repl_check_view(&c, &vo), 0);
    /* ... the newest may not. */
    struct repl_check_view vb = view(2, 1, REPL_ROLE_LEADER, 3, 0, &b);
    expect_violation(&c, repl_check_view(&c, &vb), "I4");
    /* Nor may it hold something else there. */
    repl_check_init(&c);
    assert_int_equal(repl_check_acked(&c, 4, &a.log[4]), 0);
    fill(&b, 0, 6);
    b.log[4] = (struct repl_check_rec){3, 1234};
    vb = view(2, 1, REPL_ROLE_LEADER, 3, 0, &b);
    expect_violation(&c, repl_check_view(&c, &vb), "I4");
}

static void test_check_complete_missing_record_i5(void **state)
{
    (void)state;
    struct repl_check c;
    struct fake a = {.len = 0}, b = {.len = 0};
    fill(&a, 0, 6);
    fill(&b, 0, 5);
    repl_check_init(&c);
    assert_int_equal(repl_check_acked(&c, 5, &a.log[5]), 0);
    struct repl_check_view va = view(1, 1, REPL_ROLE_LEADER, 0, 6, &a);
    struct repl_check_view vb = view(2, 1, REPL_ROLE_FOLLOWER, 0, 5, &b);
    assert_int_equal(repl_check_complete(&c, &va), 0);
    expect_violation(&c, repl_check_complete(&c, &vb), "I5");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_check_clean_history_passes),
        cmocka_unit_test(test_check_two_leaders_one_epoch_i1),
        cmocka_unit_test(test_check_hw_or_epoch_backwards_i2),
        cmocka_unit_test(test_check_disagreement_below_hw_i3),
        cmocka_unit_test(test_check_newest_leader_lacks_committed_i4),
        cmocka_unit_test(test_check_complete_missing_record_i5),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
