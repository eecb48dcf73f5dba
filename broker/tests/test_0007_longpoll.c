/*
 * test_0007_longpoll.c - consume-batch with max_wait_ms at the log end: woken by a produce
 * from another connection (often another loop), answered empty when the time is up, not
 * woken by another partition, kept in order with later requests on its connection, and
 * answered at once when the broker shuts down.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "support/harness.h"
#include "kc_common.h"
#include "kc_test.h"

#define S(s) np_str(s)

static void make_topic(const struct kb_broker *b, const char *topic, int32_t parts)
{
    struct np_client c;
    struct np_create_topic_resp cr;
    kb_client(b, &c);
    assert_int_equal(np_client_create_topic(&c, topic, parts, &cr), 0);
    np_client_close(&c);
}

struct later {
    const struct kb_broker *b;
    int delay_ms;
    int32_t partition;
};

static void *produce_later(void *arg)
{
    struct later *l = arg;
    struct np_client c;
    struct np_produce_resp pr;
    kc_sleep_ms(l->delay_ms);
    if (np_client_connect(&c, l->b->addr, KB_WAIT_MS) != 0)
        return NULL;
    struct np_produce_req req = {S("lp"), l->partition, 1, -1, {NULL, -1}, S("wake up")};
    (void)np_client_produce(&c, &req, &pr);
    np_client_close(&c);
    return NULL;
}

static void test_0007_produce_wakes_pollers_on_every_loop(void **state)
{
    struct kb_broker *b = *state;
    enum { POLLERS = 4 }; /* connections are dealt round-robin: several loops take part */
    struct np_client c[POLLERS];
    struct np_frame f;
    struct np_consume_batch_resp br;
    pthread_t t;
    make_topic(b, "lp", 1);
    for (int i = 0; i < POLLERS; i++) {
        kb_client(b, &c[i]);
        struct np_consume_batch_req q = {S("lp"), 0, 0, 10, 1 << 20, 20000};
        np_encode_consume_batch(np_client_out(&c[i]), np_client_next_corr(&c[i]), &q);
        assert_int_equal(np_client_flush(&c[i]), 0);
    }
    struct later l = {b, 300, 0};
    int64_t t0 = kc_mono_ms();
    assert_int_equal(pthread_create(&t, NULL, produce_later, &l), 0);
    for (int i = 0; i < POLLERS; i++) {
        assert_int_equal(np_client_recv(&c[i], &f), 0);
        assert_int_equal(np_client_check(&c[i], &f), 0);
        assert_int_equal(np_decode_consume_batch_resp(f.body, f.body_len, &br), 0);
        assert_true(br.records.len > 0);
        assert_int_equal(br.log_end, 1);
        np_client_close(&c[i]);
    }
    int64_t took = kc_mono_ms() - t0;
    pthread_join(t, NULL);
    assert_true(took >= 250);   /* it did wait for the data */
    assert_true(took < 15000);  /* and did not sit out the 20 s */
}

static void test_0007_timeout_answers_empty(void **state)
{
    struct kb_broker *b = *state;
    struct np_client c;
    struct np_consume_batch_resp br;
    make_topic(b, "lp", 2);
    kb_client(b, &c);
    pthread_t t;
    struct later l = {b, 100, 1}; /* data on the OTHER partition must not wake us */
    assert_int_equal(pthread_create(&t, NULL, produce_later, &l), 0);
    int64_t t0 = kc_mono_ms();
    struct np_consume_batch_req q = {S("lp"), 0, 0, 10, 1 << 20, 600};
    assert_int_equal(np_client_consume_batch(&c, &q, &br), 0);
    int64_t took = kc_mono_ms() - t0;
    pthread_join(t, NULL);
    assert_int_equal(br.records.len, 0);
    assert_int_equal(br.log_end, 0);
    assert_true(took >= 550);
    assert_true(took < 15000);
    np_client_close(&c);
}

/* A ping pipelined behind a long-poll is answered after it: answers keep request order. */
static void test_0007_answers_behind_a_poll_wait_their_turn(void **state)
{
    struct kb_broker *b = *state;
    struct np_client c;
    struct np_frame f;
    make_topic(b, "lp", 1);
    kb_client(b, &c);
    struct np_consume_batch_req q = {S("lp"), 0, 0, 10, 1 << 20, 400};
    np_encode_consume_batch(np_client_out(&c), np_client_next_corr(&c), &q);
    np_encode_ping(np_client_out(&c), np_client_next_corr(&c), &(struct np_ping_req){S("p")});
    int64_t t0 = kc_mono_ms();
    assert_int_equal(np_client_flush(&c), 0);
    assert_int_equal(np_client_recv(&c, &f), 0);
    assert_int_equal(f.h.cmd, NP_CONSUME_BATCH);
    assert_int_equal(np_client_recv(&c, &f), 0);
    assert_int_equal(f.h.cmd, NP_PING);
    assert_true(kc_mono_ms() - t0 >= 350);
    np_client_close(&c);
}

static void test_0007_shutdown_answers_pollers_and_exits(void **state)
{
    struct kb_broker *b = *state;
    struct np_client c;
    struct np_frame f;
    struct np_consume_batch_resp br;
    make_topic(b, "lp", 1);
    kb_client(b, &c);
    struct np_consume_batch_req q = {S("lp"), 0, 0, 10, 1 << 20, NP_MAX_WAIT_MS_MAX};
    np_encode_consume_batch(np_client_out(&c), np_client_next_corr(&c), &q);
    assert_int_equal(np_client_flush(&c), 0);
    kc_sleep_ms(200); /* parked by now (if not, the answer is the same) */
    int64_t t0 = kc_mono_ms();
    kb_stop(b);
    assert_true(kc_mono_ms() - t0 < 15000);
    assert_int_equal(np_client_recv(&c, &f), 0);
    assert_int_equal(np_client_check(&c, &f), 0);
    assert_int_equal(np_decode_consume_batch_resp(f.body, f.body_len, &br), 0);
    assert_int_equal(br.records.len, 0);
    np_client_close(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_0007_produce_wakes_pollers_on_every_loop,
                                        kb_setup_started, kb_teardown),
        cmocka_unit_test_setup_teardown(test_0007_timeout_answers_empty, kb_setup_started,
                                        kb_teardown),
        cmocka_unit_test_setup_teardown(test_0007_answers_behind_a_poll_wait_their_turn,
                                        kb_setup_started, kb_teardown),
        cmocka_unit_test_setup_teardown(test_0007_shutdown_answers_pollers_and_exits,
                                        kb_setup_started, kb_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
