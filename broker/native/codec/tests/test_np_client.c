/*
 * test_np_client.c - the blocking client against a scripted fake broker on loopback:
 * calls, pipelining past the socket buffers, broker errors and their messages, acks=0
 * error answers, a silent broker (timeout), a broker that hangs up, garbage answers,
 * refused connections and address parsing.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "kc_common.h"
#include "kc_test.h"
#include "np.h"
#include "np_client.h"

enum script {
    ECHO,        /* answer every ping with its payload, every consume with END_OF_LOG */
    SILENT,      /* read, never answer */
    HANG_UP,     /* close after the first request */
    GARBAGE,     /* answer a ping with a body that does not decode */
    STRAY_ERROR, /* answer an acks=0 produce with an error, then echo */
};

struct fake {
    int lfd;
    char addr[64];
    enum script script;
    pthread_t thread;
    int requests; /* how many the fake read */
};

static int read_frame(int fd, struct kc_writer *in, struct np_header *h)
{
    uint8_t len[4];
    if (kc_read_full(fd, len, 4) != 4)
        return -1;
    uint32_t n = kc_load_be32(len);
    kc_writer_reset(in);
    kc_write_raw(in, len, 4);
    uint8_t *p = kc_writer_reserve(in, n);
    if (!p || kc_read_full(fd, p, n) != (ssize_t)n)
        return -1;
    size_t flen;
    return np_frame_peek(in->p, in->len, in->len, false, h, &flen);
}

static void answer(struct fake *f, int fd, const struct np_header *h, const uint8_t *body,
                   size_t blen, struct kc_writer *out)
{
    struct np_ping_req ping;
    kc_writer_reset(out);
    if (h->cmd == NP_PING && f->script == GARBAGE) {
        size_t at = np_begin_response(out, NP_PING, h->corr, 0);
        kc_write_i32(out, 1000); /* claims 1000 bytes, has none */
        np_end_frame(out, at, 0);
    } else if (h->cmd == NP_PING) {
        assert_int_equal(np_decode_ping(body, blen, &ping), 0);
        np_encode_ping_resp(out, h->corr, &(struct np_ping_resp){ping.payload});
    } else if (h->cmd == NP_PRODUCE && f->script == STRAY_ERROR) {
        np_encode_error_resp(out, NP_PRODUCE, h->corr, NP_E_UNKNOWN_TOPIC, "no topic 'nope'",
                             -1, -1);
    } else if (h->cmd == NP_CONSUME) {
        np_encode_error_resp(out, NP_CONSUME, h->corr, NP_E_END_OF_LOG, "offset 7 is the end",
                             0, 7);
    }
    if (out->len)
        assert_int_equal(kc_write_all(fd, out->p, out->len), (ssize_t)out->len);
}

static void *fake_main(void *arg)
{
    struct fake *f = arg;
    struct kc_writer in, out;
    struct np_header h;
    int fd = accept(f->lfd, NULL, NULL);
    if (fd < 0)
        return NULL;
    kc_writer_init(&in, 0);
    kc_writer_init(&out, 0);
    while (read_frame(fd, &in, &h) == 0) {
        f->requests++;
        if (f->script == HANG_UP)
            break;
        if (f->script != SILENT)
            answer(f, fd, &h, in.p + NP_REQ_HEADER_SIZE, in.len - NP_REQ_HEADER_SIZE, &out);
    }
    close(fd);
    kc_writer_fini(&in);
    kc_writer_fini(&out);
    return NULL;
}

static void fake_start(struct fake *f, enum script s)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t slen = sizeof(sa);
    memset(f, 0, sizeof(*f));
    f->script = s;
    f->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(f->lfd >= 0);
    assert_int_equal(bind(f->lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(listen(f->lfd, 4), 0);
    assert_int_equal(getsockname(f->lfd, (struct sockaddr *)&sa, &slen), 0);
    snprintf(f->addr, sizeof(f->addr), "127.0.0.1:%u", ntohs(sa.sin_port));
    assert_int_equal(pthread_create(&f->thread, NULL, fake_main, f), 0);
}

static void fake_stop(struct fake *f)
{
    pthread_join(f->thread, NULL);
    close(f->lfd);
}

static void test_np_client_ping_roundtrip_ok(void **state)
{
    (void)state;
    struct fake f;
    struct np_client c;
    int fds = kc_test_fd_count();
    fake_start(&f, ECHO);
    assert_int_equal(np_client_connect(&c, f.addr, 5000), 0);
    assert_int_equal(np_client_ping(&c, "hello", 5), 0);
    assert_int_equal(np_client_ping(&c, NULL, -1), 0);
    np_client_close(&c);
    fake_stop(&f);
    assert_int_equal(kc_test_fd_count(), fds);
}

/* 64 MiB of pipelined pings in one flush: far beyond both sockets' buffers. The fake
 * answers as it reads, so a client that did not read while writing would deadlock. */
static void test_np_client_pipelined_flush_past_socket_buffers_completes(void **state)
{
    (void)state;
    struct fake f;
    struct np_client c;
    struct np_frame fr;
    static uint8_t payload[64 << 10];
    const int n = 1024;
    fake_start(&f, ECHO);
    assert_int_equal(np_client_connect(&c, f.addr, 20000), 0);
    for (int i = 0; i < n; i++) {
        payload[0] = (uint8_t)i;
        np_encode_ping(np_client_out(&c), np_client_next_corr(&c),
                       &(struct np_ping_req){{payload, sizeof(payload)}});
    }
    assert_int_equal(np_client_flush(&c), 0);
    for (int i = 0; i < n; i++) {
        assert_int_equal(np_client_recv(&c, &fr), 0);
        assert_int_equal(fr.h.corr, (uint32_t)i + 1); /* in order */
        assert_int_equal(np_client_check(&c, &fr), 0);
        assert_int_equal(fr.body_len, 4 + sizeof(payload));
        assert_int_equal(fr.body[4], (uint8_t)i);
    }
    assert_false(np_client_buffered(&c));
    np_client_close(&c);
    fake_stop(&f);
}

static void test_np_client_broker_error_carries_message_and_log_range(void **state)
{
    (void)state;
    struct fake f;
    struct np_client c;
    struct np_consume_resp resp;
    fake_start(&f, ECHO);
    assert_int_equal(np_client_connect(&c, f.addr, 5000), 0);
    int rc = np_client_consume(&c, &(struct np_consume_req){np_str("t"), 0, 7}, &resp);
    assert_int_equal(rc, NP_ERR(NP_E_END_OF_LOG));
    assert_string_equal(c.errmsg, "offset 7 is the end");
    assert_int_equal(c.err_log_start, 0);
    assert_int_equal(c.err_log_end, 7);
    /* the connection stays usable after a broker error */
    assert_int_equal(np_client_ping(&c, "x", 1), 0);
    np_client_close(&c);
    fake_stop(&f);
}

static void test_np_client_acks0_error_answer_is_kept_aside(void **state)
{
    (void)state;
    struct fake f;
    struct np_client c;
    fake_start(&f, STRAY_ERROR);
    assert_int_equal(np_client_connect(&c, f.addr, 5000), 0);
    struct np_produce_req req = {np_str("nope"), -1, NP_ACKS_NONE, -1, {NULL, -1}, np_str("v")};
    assert_int_equal(np_client_produce(&c, &req, NULL), 0);
    assert_int_equal(c.async_err, 0);
    assert_int_equal(np_client_ping(&c, "barrier", 7), 0);
    assert_int_equal(c.async_err, NP_ERR(NP_E_UNKNOWN_TOPIC));
    assert_non_null(strstr(c.async_errmsg, "no topic 'nope'"));
    np_client_close(&c);
    fake_stop(&f);
}

static void test_np_client_silent_broker_times_out(void **state)
{
    (void)state;
    struct fake f;
    struct np_client c;
    fake_start(&f, SILENT);
    assert_int_equal(np_client_connect(&c, f.addr, 300), 0);
    int64_t t0 = kc_mono_ms();
    assert_int_equal(np_client_ping(&c, "x", 1), -ETIMEDOUT);
    int64_t took = kc_mono_ms() - t0;
    assert_true(took >= 290);
    assert_true(took < 10000); /* generous: the machine is shared */
    np_client_close(&c);
    fake_stop(&f);
}

static void test_np_client_broker_hang_up_is_connection_reset(void **state)
{
    (void)state;
    struct fake f;
    struct np_client c;
    fake_start(&f, HANG_UP);
    assert_int_equal(np_client_connect(&c, f.addr, 5000), 0);
    int rc = np_client_ping(&c, "x", 1);
    assert_true(rc == -ECONNRESET || rc == -EPIPE);
    np_client_close(&c);
    fake_stop(&f);
}

static void test_np_client_garbage_answer_is_malformed(void **state)
{
    (void)state;
    struct fake f;
    struct np_client c;
    fake_start(&f, GARBAGE);
    assert_int_equal(np_client_connect(&c, f.addr, 5000), 0);
    assert_int_equal(np_client_ping(&c, "x", 1), KC_EMALFORMED);
    np_client_close(&c);
    fake_stop(&f);
}

static void test_np_client_closed_port_is_refused(void **state)
{
    (void)state;
    struct fake f;
    struct np_client c;
    fake_start(&f, SILENT);
    char addr[64];
    strcpy(addr, f.addr);
    /* let the fake's accept return, then close the listener: the port is now free */
    struct np_client poke;
    assert_int_equal(np_client_connect(&poke, addr, 5000), 0);
    np_client_close(&poke);
    fake_stop(&f);
    assert_int_equal(np_client_connect(&c, addr, 2000), -ECONNREFUSED);
    np_client_close(&c); /* harmless after a failed connect */
}

static void test_np_client_parse_addr_forms(void **state)
{
    (void)state;
    char h[64], p[8];
    assert_int_equal(np_client_parse_addr("127.0.0.1:9093", h, sizeof(h), p, sizeof(p)), 0);
    assert_string_equal(h, "127.0.0.1");
    assert_string_equal(p, "9093");
    assert_int_equal(np_client_parse_addr("localhost", h, sizeof(h), p, sizeof(p)), 0);
    assert_string_equal(h, "localhost");
    assert_string_equal(p, "9092");
    assert_int_equal(np_client_parse_addr("[::1]:77", h, sizeof(h), p, sizeof(p)), 0);
    assert_string_equal(h, "::1");
    assert_string_equal(p, "77");
    assert_int_equal(np_client_parse_addr("[::1]", h, sizeof(h), p, sizeof(p)), 0);
    assert_string_equal(p, "9092");
    assert_int_equal(np_client_parse_addr("", h, sizeof(h), p, sizeof(p)), -EINVAL);
    assert_int_equal(np_client_parse_addr(":9092", h, sizeof(h), p, sizeof(p)), -EINVAL);
    assert_int_equal(np_client_parse_addr("host:", h, sizeof(h), p, sizeof(p)), -EINVAL);
    assert_int_equal(np_client_parse_addr("host:9x", h, sizeof(h), p, sizeof(p)), -EINVAL);
    assert_int_equal(np_client_parse_addr("[::1", h, sizeof(h), p, sizeof(p)), -EINVAL);
    assert_int_equal(np_client_parse_addr("h:123456789", h, sizeof(h), p, sizeof(p)), -EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_np_client_ping_roundtrip_ok),
        cmocka_unit_test(test_np_client_pipelined_flush_past_socket_buffers_completes),
        cmocka_unit_test(test_np_client_broker_error_carries_message_and_log_range),
        cmocka_unit_test(test_np_client_acks0_error_answer_is_kept_aside),
        cmocka_unit_test(test_np_client_silent_broker_times_out),
        cmocka_unit_test(test_np_client_broker_hang_up_is_connection_reset),
        cmocka_unit_test(test_np_client_garbage_answer_is_malformed),
        cmocka_unit_test(test_np_client_closed_port_is_refused),
        cmocka_unit_test(test_np_client_parse_addr_forms),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
