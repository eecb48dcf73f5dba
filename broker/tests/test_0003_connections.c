/*
 * test_0003_connections.c - the connection layer under abuse: oversized, negative and tiny
 * lengths, a wrong magic mid-stream, a Kafka client (not served yet), clients that vanish
 * mid-request and mid-response, stalls (idle timeout), too many connections, a pipeline
 * trickled in byte by byte, a client that sends and does not read (backpressure), and a
 * thousand connections at once. After each, the broker serves everyone else and its
 * descriptors come back to where they were.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "support/harness.h"
#include "kc_common.h"
#include "kc_test.h"

#define S(s) np_str(s)

/* The broker's sockets: its connections and listener. Counting every descriptor would also
 * count the checkpoint files the flusher opens and closes by itself meanwhile. */
static int broker_fds(const struct kb_broker *b)
{
    return kc_test_pid_socket_count(b->pid);
}

/* The broker's sockets settle back to `want` (connections are closed asynchronously). */
static void expect_fds(const struct kb_broker *b, int want)
{
    int64_t deadline = kc_mono_ms() + KB_WAIT_MS;
    int n;
    while ((n = broker_fds(b)) != want && kc_mono_ms() < deadline)
        kc_sleep_ms(20);
    assert_int_equal(n, want);
}

static void expect_alive(const struct kb_broker *b)
{
    struct np_client c;
    kb_client(b, &c);
    assert_int_equal(np_client_ping(&c, "ok", 2), 0);
    np_client_close(&c);
}

static void header(uint8_t *h, uint32_t length, uint16_t magic, uint8_t cmd, uint32_t corr)
{
    kc_store_be32(h, length);
    kc_store_be16(h + 4, magic);
    h[6] = NP_VERSION;
    h[7] = cmd;
    kc_store_be32(h + 8, corr);
}

static void test_0003_oversized_frames_answered_then_closed(void **state)
{
    struct kb_broker *b = *state;
    const char *args[] = {"--override", "socket.request.max.bytes=4096", "--override",
                          "message.max.bytes=2048", NULL};
    uint8_t h[12], resp[1024];
    kb_start(b, args);
    int base = broker_fds(b);
    uint32_t lengths[] = {1u << 20, 0xFFFFFFFFu, 4093};
    for (size_t i = 0; i < KC_ARRAY_SIZE(lengths); i++) {
        int fd = kb_connect(b);
        header(h, lengths[i], NP_MAGIC, NP_PRODUCE, 77 + (uint32_t)i);
        kb_send(fd, h, sizeof(h));
        ssize_t n = kb_recv_frame(fd, resp, sizeof(resp));
        assert_true(n >= NP_RESP_HEADER_SIZE);
        assert_int_equal(kc_load_be32(resp + 8), 77 + i); /* its correlation id */
        assert_int_equal((int16_t)kc_load_be16(resp + 12), NP_E_REQUEST_TOO_LARGE);
        assert_true(kb_closed(fd, KB_WAIT_MS));
        close(fd);
    }
    /* exactly at the limit is fine: 4096 bytes in all */
    struct np_client c;
    kb_client(b, &c);
    static uint8_t payload[4096 - 16];
    assert_int_equal(np_client_ping(&c, payload, sizeof(payload)), 0);
    np_client_close(&c);
    expect_fds(b, base);
}

static void test_0003_unframeable_streams_closed_at_once(void **state)
{
    struct kb_broker *b = *state;
    uint8_t h[24], resp[256];
    int base = broker_fds(b);
    /* a length too small to hold a header */
    int fd = kb_connect(b);
    header(h, 4, NP_MAGIC, NP_PING, 1);
    kb_send(fd, h, 12);
    assert_true(kb_closed(fd, KB_WAIT_MS));
    close(fd);
    /* a good frame, then a wrong magic */
    fd = kb_connect(b);
    header(h, 8, NP_MAGIC, NP_INFO, 2);
    header(h + 12, 8, 0xCAFF, NP_INFO, 3);
    kb_send(fd, h, 24);
    assert_true(kb_recv_frame(fd, resp, sizeof(resp)) > 0); /* the first is answered */
    assert_true(kb_closed(fd, KB_WAIT_MS));
    close(fd);
    /* A Kafka client (ApiVersions v0, correlation id 7) never reaches the native handler:
     * with a Kafka handler built in it gets a Kafka answer, without one a logged close. */
    static const uint8_t kafka[] = {0, 0, 0, 10, 0, 0x12, 0, 0, 0, 0, 0, 7, 0xff, 0xff};
    fd = kb_connect(b);
    kb_send(fd, kafka, sizeof(kafka) - 2);
    kb_send(fd, kafka + sizeof(kafka) - 2, 2);
    ssize_t n = kb_recv_frame(fd, resp, sizeof(resp));
    if (n < 0)
        assert_true(kb_log_has(b, "speaks the Kafka protocol"));
    else
        assert_int_equal(kc_load_be32(resp + 4), 7); /* Kafka's response header */
    close(fd);
    expect_alive(b);
    expect_fds(b, base);
}

/* Half a request, then gone; a big answer asked for, then gone before reading it. */
static void test_0003_clients_vanishing_mid_request_and_mid_response(void **state)
{
    struct kb_broker *b = *state;
    struct np_client c;
    struct np_create_topic_resp cr;
    struct np_produce_batch_resp pr;
    size_t len;
    kb_client(b, &c);
    assert_int_equal(np_client_create_topic(&c, "big", 1, &cr), 0);
    uint8_t *batch = kb_batch("a fairly long value to make the batch large ", 12000, &len);
    for (int i = 0; i < 4; i++) {
        struct np_produce_batch_req req = {S("big"), 0, 1, {batch, (int32_t)len}};
        assert_int_equal(np_client_produce_batch(&c, &req, &pr), 0);
    }
    free(batch);
    int base = broker_fds(b);
    for (int round = 0; round < 20; round++) {
        struct kc_writer w;
        kc_writer_init(&w, 0);
        struct np_consume_batch_req q = {S("big"), 0, 0, 100000, 64 << 20, 0};
        np_encode_consume_batch(&w, 1, &q);
        int fd = kb_connect(b);
        /* mid-request: a prefix of the frame; mid-response: the whole frame, never read */
        kb_send(fd, w.p, round % 2 ? w.len : (size_t)round % w.len);
        if (round % 2)
            kc_sleep_ms(5); /* let the broker start sending several MB */
        close(fd);
        kc_writer_fini(&w);
    }
    expect_alive(b);
    expect_fds(b, base);
    np_client_close(&c);
}

static void test_0003_idle_and_stalled_clients_closed(void **state)
{
    struct kb_broker *b = *state;
    const char *args[] = {"--override", "connections.max.idle.ms=300", NULL};
    uint8_t h[12];
    kb_start(b, args);
    int64_t t0 = kc_mono_ms(); /* before the connections exist: their idle time starts later */
    int idle = kb_connect(b);
    int stalled = kb_connect(b);
    header(h, 100, NP_MAGIC, NP_PING, 5);
    kb_send(stalled, h, sizeof(h)); /* promises 92 more bytes, never sends them */
    assert_true(kb_closed(idle, KB_WAIT_MS));
    assert_true(kb_closed(stalled, KB_WAIT_MS));
    assert_true(kc_mono_ms() - t0 >= 250);
    close(idle);
    close(stalled);
    assert_true(kb_log_has(b, "connections.max.idle.ms"));
    /* a long-poll longer than the idle time is waiting, not idle */
    struct np_client c;
    struct np_create_topic_resp cr;
    struct np_consume_batch_resp br;
    kb_client(b, &c);
    assert_int_equal(np_client_create_topic(&c, "quiet", 1, &cr), 0);
    struct np_consume_batch_req q = {S("quiet"), 0, 0, 1, 1024, 1500};
    assert_int_equal(np_client_consume_batch(&c, &q, &br), 0);
    assert_int_equal(br.records.len, 0);
    np_client_close(&c);
}

static void test_0003_max_connections_refuses_the_extra_one(void **state)
{
    struct kb_broker *b = *state;
    const char *args[] = {"--override", "max.connections=3", NULL};
    kb_start(b, args);
    struct np_client c[3];
    for (int i = 0; i < 3; i++) {
        kb_client(b, &c[i]);
        assert_int_equal(np_client_ping(&c[i], "x", 1), 0);
    }
    int extra = kb_connect(b);
    assert_true(kb_closed(extra, KB_WAIT_MS));
    close(extra);
    assert_true(kb_log_has(b, "max.connections (3) reached"));
    np_client_close(&c[0]);
    int64_t deadline = kc_mono_ms() + KB_WAIT_MS;
    for (;;) { /* the freed place is taken once the broker has seen the close */
        struct np_client again;
        kb_client(b, &again);
        int rc = np_client_ping(&again, "y", 1);
        np_client_close(&again);
        if (rc == 0)
            break;
        assert_true(kc_mono_ms() < deadline);
        kc_sleep_ms(20);
    }
    np_client_close(&c[1]);
    np_client_close(&c[2]);
}

static void test_0003_pipeline_trickled_byte_by_byte(void **state)
{
    struct kb_broker *b = *state;
    struct kc_writer w;
    uint8_t resp[256];
    kc_writer_init(&w, 0);
    np_encode_create_topic(&w, 1, &(struct np_create_topic_req){S("tr"), 1});
    np_encode_produce(&w, 2, &(struct np_produce_req){S("tr"), 0, 1, -1, {NULL, -1}, S("hi")});
    np_encode_ping(&w, 3, &(struct np_ping_req){S("p")});
    int fd = kb_connect(b);
    for (size_t i = 0; i < w.len; i++)
        kb_send(fd, w.p + i, 1);
    for (uint32_t corr = 1; corr <= 3; corr++) {
        assert_true(kb_recv_frame(fd, resp, sizeof(resp)) > 0);
        assert_int_equal(kc_load_be32(resp + 8), corr);
        assert_int_equal(kc_load_be16(resp + 12), 0);
    }
    close(fd);
    kc_writer_fini(&w);
}

/* Ask for far more than connection.output.max.bytes without reading: the broker stops
 * reading us instead of buffering without bound; once we read, everything arrives. */
static void test_0003_backpressure_then_everything_answered(void **state)
{
    struct kb_broker *b = *state;
    const char *args[] = {"--override", "connection.output.max.bytes=65536", "--override",
                          "queued.max.requests=8", NULL};
    struct np_client c;
    struct np_frame f;
    struct np_produce_batch_resp pr;
    struct np_create_topic_resp cr;
    size_t len;
    kb_start(b, args);
    kb_client(b, &c);
    assert_int_equal(np_client_create_topic(&c, "bp", 1, &cr), 0);
    uint8_t *batch = kb_batch("value-", 3000, &len);
    struct np_produce_batch_req req = {S("bp"), 0, 1, {batch, (int32_t)len}};
    assert_int_equal(np_client_produce_batch(&c, &req, &pr), 0);
    const int n = 300; /* ~30 KB each: ~9 MB of answers */
    for (int i = 0; i < n; i++) {
        struct np_consume_batch_req q = {S("bp"), 0, 0, 3000, 1 << 20, 0};
        np_encode_consume_batch(np_client_out(&c), np_client_next_corr(&c), &q);
    }
    assert_int_equal(np_client_flush(&c), 0);
    for (int i = 0; i < n; i++) {
        assert_int_equal(np_client_recv(&c, &f), 0);
        assert_int_equal(np_client_check(&c, &f), 0);
        assert_int_equal(f.body_len, 20 + len);
    }
    free(batch);
    np_client_close(&c);
}

static void test_0003_a_thousand_connections(void **state)
{
    struct kb_broker *b = *state;
    struct rlimit rl;
    enum { N = 1000 };
    static int fds[N];
    uint8_t h[16], resp[64];
    assert_int_equal(getrlimit(RLIMIT_NOFILE, &rl), 0);
    rl.rlim_cur = rl.rlim_max;
    assert_int_equal(setrlimit(RLIMIT_NOFILE, &rl), 0);
    if (rl.rlim_max < N + 100)
        skip();
    int base = broker_fds(b);
    for (int i = 0; i < N; i++)
        fds[i] = kb_connect(b);
    for (int i = 0; i < N; i++) {
        header(h, 12, NP_MAGIC, NP_PING, (uint32_t)i);
        kc_store_be32(h + 12, 0xFFFFFFFFu); /* a null payload */
        kb_send(fds[i], h, 16);
    }
    for (int i = 0; i < N; i++) {
        assert_true(kb_recv_frame(fds[i], resp, sizeof(resp)) > 0);
        assert_int_equal(kc_load_be32(resp + 8), (uint32_t)i);
    }
    assert_int_equal(broker_fds(b), base + N);
    for (int i = 0; i < N; i++)
        close(fds[i]);
    expect_fds(b, base);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_0003_oversized_frames_answered_then_closed,
                                        kb_setup, kb_teardown),
        cmocka_unit_test_setup_teardown(test_0003_unframeable_streams_closed_at_once,
                                        kb_setup_started, kb_teardown),
        cmocka_unit_test_setup_teardown(test_0003_clients_vanishing_mid_request_and_mid_response,
                                        kb_setup_started, kb_teardown),
        cmocka_unit_test_setup_teardown(test_0003_idle_and_stalled_clients_closed, kb_setup,
                                        kb_teardown),
        cmocka_unit_test_setup_teardown(test_0003_max_connections_refuses_the_extra_one,
                                        kb_setup, kb_teardown),
        cmocka_unit_test_setup_teardown(test_0003_pipeline_trickled_byte_by_byte,
                                        kb_setup_started, kb_teardown),
        cmocka_unit_test_setup_teardown(test_0003_backpressure_then_everything_answered,
                                        kb_setup, kb_teardown),
        cmocka_unit_test_setup_teardown(test_0003_a_thousand_connections, kb_setup_started,
                                        kb_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
