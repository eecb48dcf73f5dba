/*
 * test_0015_request_budget.c - queued.max.request.bytes: large requests being received
 * share one budget; a client over it waits (is not read) and loses nothing, small
 * requests never wait, a waiting client that vanishes is let go without the broker
 * spinning, a stalled sender gives its bytes back when it is closed for idleness, and the
 * gauge on /metrics comes back to zero.
 *
 * The budget lets a request in while anything is left, so one request larger than the
 * whole budget still passes (as Kafka's pool does); the tests use that to exhaust it
 * deterministically: connection A announces a request larger than the budget and sends
 * half of it, and holds.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kc_common.h"
#include "kc_test.h"
#include "support/harness.h"

#define BUDGET      (2u << 20)
#define BIG_RECORDS 40000 /* x ~40 bytes: a batch of about 1.6 MiB */

static const char *const budget_args[] = {
    "--override", "queued.max.request.bytes=2097152", "--override",
    "socket.request.max.bytes=16777216", "--override", "message.max.bytes=8388608",
    "--override", "connections.max.idle.ms=1500", NULL};

/* A native produce-batch frame for topic "t", partition 0, acks 1 (malloc'ed). */
static uint8_t *produce_frame(const char *prefix, int n, uint32_t corr, size_t *len)
{
    size_t blen;
    uint8_t *batch = kb_batch(prefix, n, &blen);
    struct kc_writer w;
    kc_writer_init(&w, 0);
    struct np_produce_batch_req req = {np_str("t"), 0, 1, {batch, (int32_t)blen}};
    np_encode_produce_batch(&w, corr, &req);
    assert_int_equal(kc_writer_error(&w), 0);
    free(batch);
    return kc_writer_take(&w, len);
}

/* The value of an unlabelled sample on /metrics (-1 if absent). */
static double metric(const struct kb_broker *b, const char *name)
{
    char *out = NULL;
    double v = -1;
    assert_int_equal(kb_http_get(b, "/metrics", &out), 200);
    size_t nlen = strlen(name);
    for (char *p = out; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
        if (strncmp(p, name, nlen) == 0 && p[nlen] == ' ')
            v = strtod(p + nlen + 1, NULL);
    free(out);
    return v;
}

/* Wait until the gauge of held bytes reads want. */
static void expect_held(const struct kb_broker *b, double want)
{
    int64_t until = kc_mono_ms() + KB_WAIT_MS;
    double v;
    while ((v = metric(b, "kafka_network_request_queue_bytes")) != want &&
           kc_mono_ms() < until)
        kc_sleep_ms(20);
    assert_true(v == want);
}

static bool readable_within(int fd, int ms)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    return poll(&p, 1, ms) == 1;
}

static void expect_produced(int fd, uint32_t corr)
{
    uint8_t resp[4096];
    ssize_t n = kb_recv_frame(fd, resp, sizeof(resp));
    assert_true(n >= NP_RESP_HEADER_SIZE);
    assert_int_equal(kc_load_be32(resp + 8), corr);
    assert_int_equal((int16_t)kc_load_be16(resp + 12), 0);
}

static void create_topic(const struct kb_broker *b)
{
    struct np_client c;
    struct np_create_topic_resp r;
    kb_client(b, &c);
    assert_int_equal(np_client_create_topic(&c, "t", 1, &r), 0);
    np_client_close(&c);
}

/* A over the budget holds it; B (large) waits unread; C (small) is served at once; when A
 * completes, B is read and served, and both records are in the log, in order. */
static void test_0015_large_request_waits_for_the_budget_and_loses_nothing(void **state)
{
    struct kb_broker *b = *state;
    kb_start(b, budget_args);
    create_topic(b);
    size_t alen, blen;
    uint8_t *fa = produce_frame("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-", BIG_RECORDS * 2, 1, &alen);
    uint8_t *fb = produce_frame("bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb-", BIG_RECORDS, 2, &blen);
    assert_true(alen > BUDGET && blen > (1u << 20));

    int a = kb_connect(b);
    kb_send(a, fa, alen / 2); /* announced, half sent: A holds more than the budget */
    expect_held(b, (double)(alen - (64u << 10)));

    int bfd = kb_connect(b);
    kb_send(bfd, fb, 128u << 10); /* B's first bytes: it asks for its size, and waits */
    int64_t until = kc_mono_ms() + KB_WAIT_MS;
    while (metric(b, "kafka_network_request_queue_waits_total") < 1 && kc_mono_ms() < until)
        kc_sleep_ms(20);
    assert_true(metric(b, "kafka_network_request_queue_waits_total") >= 1);

    struct np_client c; /* small requests never wait */
    kb_client(b, &c);
    assert_int_equal(np_client_ping(&c, "hi", 2), 0);
    np_client_close(&c);

    pid_t writer = fork(); /* B's rest: the broker does not read it until A is done */
    assert_true(writer >= 0);
    if (writer == 0) {
        kb_send(bfd, fb + (128u << 10), blen - (128u << 10));
        _exit(0);
    }
    assert_false(readable_within(bfd, 300)); /* B is not answered while A holds the budget */

    kb_send(a, fa + alen / 2, alen - alen / 2);
    expect_produced(a, 1);
    expect_produced(bfd, 2);
    int status;
    assert_int_equal(waitpid(writer, &status, 0), writer);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    expect_held(b, 0);

    kb_client(b, &c);
    struct np_consume_batch_req q = {np_str("t"), 0, 0, 1, 1, 0};
    struct np_consume_batch_resp r;
    assert_int_equal(np_client_consume_batch(&c, &q, &r), 0);
    assert_int_equal(r.log_end, BIG_RECORDS * 3); /* A's records, then B's: nothing lost */
    np_client_close(&c);
    close(a);
    close(bfd);
    free(fa);
    free(fb);
    kb_stop(b);
}

/* B waits and then vanishes: the broker lets it go without spinning on the hang-up, and
 * when A is done the budget is whole again. */
static void test_0015_waiting_client_that_vanishes_is_released(void **state)
{
    struct kb_broker *b = *state;
    kb_start(b, budget_args);
    create_topic(b);
    size_t alen, blen;
    uint8_t *fa = produce_frame("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-", BIG_RECORDS * 2, 1, &alen);
    uint8_t *fb = produce_frame("bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb-", BIG_RECORDS, 2, &blen);
    int a = kb_connect(b);
    kb_send(a, fa, alen / 2);
    expect_held(b, (double)(alen - (64u << 10)));
    int bfd = kb_connect(b);
    kb_send(bfd, fb, 128u << 10);
    int64_t until = kc_mono_ms() + KB_WAIT_MS;
    while (metric(b, "kafka_network_request_queue_waits_total") < 1 && kc_mono_ms() < until)
        kc_sleep_ms(20);
    struct linger lg = {1, 0}; /* a reset: the broker sees a hang-up, not an orderly close */
    assert_int_equal(setsockopt(bfd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)), 0);
    close(bfd);

    double cpu0 = kb_cpu_seconds(b);
    kc_sleep_ms(500);
    assert_true(kb_cpu_seconds(b) - cpu0 < 0.25); /* no busy loop on the hang-up */

    kb_send(a, fa + alen / 2, alen - alen / 2);
    expect_produced(a, 1);
    expect_held(b, 0);
    close(a);
    free(fa);
    free(fb);
    kb_stop(b);
}

/* A sender that announces a large request and stalls holds its bytes only until
 * connections.max.idle.ms closes it; then a waiting request goes through. */
static void test_0015_stalled_sender_gives_the_budget_back_when_closed(void **state)
{
    struct kb_broker *b = *state;
    kb_start(b, budget_args);
    create_topic(b);
    size_t alen, blen;
    uint8_t *fa = produce_frame("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-", BIG_RECORDS * 2, 1, &alen);
    uint8_t *fb = produce_frame("bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb-", BIG_RECORDS, 2, &blen);
    int a = kb_connect(b);
    kb_send(a, fa, alen / 2); /* and never the rest */
    expect_held(b, (double)(alen - (64u << 10)));
    int bfd = kb_connect(b);
    pid_t writer = fork();
    assert_true(writer >= 0);
    if (writer == 0) {
        kb_send(bfd, fb, blen);
        _exit(0);
    }
    expect_produced(bfd, 2); /* after A's idle close, within KB_WAIT_MS */
    assert_true(kb_closed(a, KB_WAIT_MS));
    int status;
    assert_int_equal(waitpid(writer, &status, 0), writer);
    expect_held(b, 0);
    close(a);
    close(bfd);
    free(fa);
    free(fb);
    kb_stop(b);
}

static void test_0015_zero_budget_is_refused_with_the_reason(void **state)
{
    struct kb_broker *b = *state;
    char *out = NULL, *err = NULL;
    const char *args[] = {"--data-dir", b->dir, "--port", "0", "--override",
                          "queued.max.request.bytes=0", NULL};
    assert_int_not_equal(kb_exec(b, "kafka_broker", NULL, &out, &err, args), 0);
    assert_non_null(strstr(err, "queued.max.request.bytes=0"));
    free(out);
    free(err);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(
            test_0015_large_request_waits_for_the_budget_and_loses_nothing, kb_setup,
            kb_teardown),
        cmocka_unit_test_setup_teardown(test_0015_waiting_client_that_vanishes_is_released,
                                        kb_setup, kb_teardown),
        cmocka_unit_test_setup_teardown(
            test_0015_stalled_sender_gives_the_budget_back_when_closed, kb_setup, kb_teardown),
        cmocka_unit_test_setup_teardown(test_0015_zero_budget_is_refused_with_the_reason,
                                        kb_setup, kb_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
