/*
 * test_respq.c - answers leave in request order: ready answers queue behind a parked one,
 * a parked answer released first holds back nothing before it, file ranges keep their
 * place between the bytes around them, and a failed writer closes the connection rather
 * than send half an answer.
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

#include "kc_test.h"
#include "support/core_fixture.h"

/* A parked request whose done writes its letter. */
struct letter {
    struct brk_park park;
    char ch;
    bool fail; /* make its writer fail instead */
    int done;
};

static int letter_done(struct brk_park *p, enum brk_park_why why)
{
    struct letter *l = (struct letter *)p;
    l->done++;
    if (why == BRK_PARK_CLOSED)
        return 0;
    if (l->fail)
        brk_park_writer(p)->err = -ENOMEM;
    else
        kc_write_raw(brk_park_writer(p), &l->ch, 1);
    return 0;
}

static const struct brk_park_ops letter_ops = {.kind = "letter", .done = letter_done};

static void ready(struct brk_conn *c, char ch)
{
    kc_write_raw(brk_resp_writer(c), &ch, 1);
}

static void park(struct brk_conn *c, struct letter *l, char ch)
{
    *l = (struct letter){.ch = ch};
    assert_int_equal(brk_park_start(c, &l->park, &letter_ops, -1), 0);
    brk__park_started(c); /* as the core does when serve returns */
}

static bool letter_done_pred(void *arg)
{
    return ((struct letter *)arg)->done > 0;
}

static void expect(int fd, const char *want)
{
    char got[64] = {0};
    size_t n = strlen(want);
    cfx_read(fd, got, n);
    assert_memory_equal(got, want, n);
    assert_false(cfx_readable(fd));
}

static void test_respq_later_ready_answers_wait_for_an_earlier_parked_one(void **state)
{
    (void)state;
    struct cfx fx;
    struct letter b, d;
    int peer;
    cfx_init(&fx);
    struct brk_conn *c = cfx_conn(&fx, &peer);
    ready(c, 'A');
    park(c, &b, 'B');
    ready(c, 'C');
    park(c, &d, 'D');
    ready(c, 'E');
    brk__conn_send(c);
    expect(peer, "A");
    brk_park_resume(&d.park, BRK_PARK_RESUMED); /* the later one first: nothing may move */
    assert_true(cfx_run_until(&fx, letter_done_pred, &d, 5000));
    assert_false(cfx_readable(peer));
    brk_park_resume(&b.park, BRK_PARK_RESUMED);
    assert_true(cfx_run_until(&fx, letter_done_pred, &b, 5000));
    expect(peer, "BCDE");
    close(peer);
    cfx_fini(&fx);
}

/* The bytes of a real log's batch, served as a file range between two letters. */
static void test_respq_file_range_keeps_its_place(void **state)
{
    (void)state;
    char *dir = kc_test_tmpdir();
    struct alog *log;
    struct alog_slice slice;
    struct kc_batch_builder bb;
    uint8_t *batch;
    size_t blen;
    int64_t base;
    assert_int_equal(alog_open(&log, dir, NULL, NULL), 0);
    kc_batch_builder_init(&bb, NULL, 0);
    assert_int_equal(kc_batch_builder_add(&bb, 1, NULL, -1, "value", 5, NULL, 0), 0);
    assert_int_equal(kc_batch_builder_finish(&bb, &batch, &blen), 0);
    assert_int_equal(alog_append(log, batch, blen, &base), 0);
    assert_int_equal(alog_read(log, 0, 1 << 20, &slice), 0);
    assert_int_equal(slice.len, blen);

    struct cfx fx;
    struct letter p;
    int peer;
    cfx_init(&fx);
    struct brk_conn *c = cfx_conn(&fx, &peer);
    park(c, &p, 'P');
    ready(c, '[');
    assert_int_equal(brk_resp_file(c, &slice), 0); /* the slice's reference is the queue's */
    ready(c, ']');
    brk__conn_send(c);
    assert_false(cfx_readable(peer));
    brk_park_resume(&p.park, BRK_PARK_RESUMED);
    assert_true(cfx_run_until(&fx, letter_done_pred, &p, 5000));
    uint8_t *got = malloc(blen + 3);
    assert_non_null(got);
    cfx_read(peer, got, blen + 3);
    assert_int_equal(got[0], 'P');
    assert_int_equal(got[1], '[');
    assert_memory_equal(got + 2, batch, blen); /* the log rewrote base offset 0: the same */
    assert_int_equal(got[blen + 2], ']');
    free(got);
    close(peer);
    cfx_fini(&fx);
    kc_batch_builder_fini(&bb);
    assert_int_equal(alog_close(log), 0);
    kc_test_rmdir(dir);
}

static bool conn_gone(void *arg)
{
    struct cfx *fx = arg;
    return atomic_load(&fx->srv->nconns) == 0;
}

static void test_respq_failed_writer_closes_instead_of_half_an_answer(void **state)
{
    (void)state;
    struct cfx fx;
    struct letter p;
    int peer;
    char buf[8];
    cfx_init(&fx);
    struct brk_conn *c = cfx_conn(&fx, &peer);
    ready(c, 'A');
    park(c, &p, 'P');
    p.fail = true;
    ready(c, 'Z');
    brk__conn_send(c);
    expect(peer, "A");
    brk_park_resume(&p.park, BRK_PARK_RESUMED);
    assert_true(cfx_run_until(&fx, conn_gone, &fx, 5000));
    assert_int_equal(read(peer, buf, sizeof(buf)), 0); /* closed: no 'Z', no half of 'P' */
    close(peer);
    cfx_fini(&fx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_respq_later_ready_answers_wait_for_an_earlier_parked_one),
        cmocka_unit_test(test_respq_file_range_keeps_its_place),
        cmocka_unit_test(test_respq_failed_writer_closes_instead_of_half_an_answer),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
