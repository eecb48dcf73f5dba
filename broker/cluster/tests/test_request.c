/* test_request.c - when the cluster thread must look at its controller requests next
 * (clu__req_next_deadline): the loop sleeps until then unless a ZooKeeper event wakes it,
 * so a deadline read as "none" is a request left for the loop's one-second tick.
 *
 * The case that stalled (issue 13): a request just written to /controller_requests whose
 * node had already changed (check set) before the thread first read it. That first read
 * sets the watch; until it happens nothing else wakes the loop. Its deadline was 0 - "no
 * deadline" to the loop - so a controlled shutdown answered in 5 ms waited 1,003 ms. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>

#include "clu_int.h"
#include "kc_common.h"
#include "kc_time.h"

static struct clu *with(struct clu_cmd *cmds)
{
    struct clu *cl = calloc(1, sizeof(*cl));
    assert_non_null(cl);
    cl->cmds = cmds;
    return cl;
}

static void test_request_none_is_no_deadline(void **state)
{
    (void)state;
    struct clu *cl = with(NULL);
    assert_int_equal(clu__req_next_deadline(cl), 0);
    free(cl);
}

/* Sent, its node changed: look now - a time, never 0. */
static void test_request_changed_node_is_looked_at_now(void **state)
{
    (void)state;
    int64_t t0 = kc_mono_ms();
    struct clu_cmd cmd = {.type = CLU_CMD_SHUTDOWN, .deadline_ms = t0 + 30000, .sent = true,
                          .check = true, .next_check_ms = t0 + 500};
    struct clu *cl = with(&cmd);
    int64_t d = clu__req_next_deadline(cl);
    assert_true(d >= t0 && d <= kc_mono_ms());
    cmd.next_check_ms = 0; /* just sent: no read scheduled yet (min() of it was the 0) */
    d = clu__req_next_deadline(cl);
    assert_true(d >= t0 && d <= kc_mono_ms());
    free(cl);
}

/* Sent, no change seen: at its next scheduled read (a lost watch), or its deadline. */
static void test_request_sent_waits_for_its_next_check(void **state)
{
    (void)state;
    int64_t t0 = kc_mono_ms();
    struct clu_cmd late = {.type = CLU_CMD_SHUTDOWN, .deadline_ms = t0 + 30000, .sent = true,
                           .next_check_ms = t0 + 500};
    struct clu_cmd soon = {.type = CLU_CMD_ALTER_ISR, .deadline_ms = t0 + 200, .sent = true,
                           .next_check_ms = t0 + 500, .next = &late};
    struct clu *cl = with(&late);
    assert_int_equal(clu__req_next_deadline(cl), t0 + 500);
    cl->cmds = &soon; /* the earliest of all of them */
    assert_int_equal(clu__req_next_deadline(cl), t0 + 200);
    free(cl);
}

/* Not sent yet: its deadline (the step that queued it sends it, or the retry backoff). */
static void test_request_unsent_waits_for_its_deadline(void **state)
{
    (void)state;
    int64_t t0 = kc_mono_ms();
    struct clu_cmd cmd = {.type = CLU_CMD_SHUTDOWN, .deadline_ms = t0 + 700};
    struct clu *cl = with(&cmd);
    assert_int_equal(clu__req_next_deadline(cl), t0 + 700);
    free(cl);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_request_none_is_no_deadline),
        cmocka_unit_test(test_request_changed_node_is_looked_at_now),
        cmocka_unit_test(test_request_sent_waits_for_its_next_check),
        cmocka_unit_test(test_request_unsent_waits_for_its_deadline),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
