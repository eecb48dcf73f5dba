/* test_out.c - the output queue: partial sends, EAGAIN, fallback, short files, peers that go. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/tcp.h> /* struct tcp_info with tcpi_data_segs_out (not <netinet/tcp.h>) */
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <unistd.h>

#include "kc_common.h"
#include "kc_test.h"
#include "support/zc_fixture.h"
#include "zc.h"
#include "zc_int.h"

#define FILE_BYTES (512 * 1024)

struct fx {
    char *dir;
    int fd;           /* the pattern file, FILE_BYTES long */
    int snd, rcv;     /* connected TCP pair on 127.0.0.1; snd is non-blocking */
    int fds_before;
    uint8_t *got;     /* what the receiver read */
    size_t got_len, got_cap;
    int releases[64]; /* release(arg) counts, indexed by arg */
};


/* A connected loopback pair (buffer sizes 0: the kernel's), the sender non-blocking. */
static void tcp_pair(int *snd, int *rcv, int sndbuf, int rcvbuf)
{
    kc_test_tcp_pair(snd, rcv, sndbuf, rcvbuf);
    assert_int_equal(fcntl(*snd, F_SETFL, fcntl(*snd, F_GETFL) | O_NONBLOCK), 0);
}

static int setup(void **state)
{
    struct fx *fx = calloc(1, sizeof(*fx));
    assert_non_null(fx);
    fx->fds_before = kc_test_fd_count();
    fx->dir = kc_test_tmpdir();
    fx->fd = zc_fx_pattern_file(fx->dir, "00000000000000000000.log", FILE_BYTES);
    fx->snd = fx->rcv = -1;
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    struct fx *fx = *state;
    if (fx->snd >= 0)
        close(fx->snd);
    if (fx->rcv >= 0)
        close(fx->rcv);
    close(fx->fd);
    kc_test_rmdir(fx->dir);
    free(fx->got);
    assert_int_equal(kc_test_fd_count(), fx->fds_before);
    free(fx);
    return 0;
}

/* release callbacks count into fx->releases[slot]; arg encodes (fx, slot). */
struct rel {
    struct fx *fx;
    int slot;
};

static void count_release(void *arg)
{
    struct rel *r = arg;
    r->fx->releases[r->slot]++;
}

/* Read up to max bytes that are already there, or block for at least one. */
static size_t receive_some(struct fx *fx, size_t max)
{
    if (fx->got_len + max > fx->got_cap) {
        fx->got_cap = (fx->got_len + max) * 2;
        fx->got = realloc(fx->got, fx->got_cap);
        assert_non_null(fx->got);
    }
    ssize_t n = read(fx->rcv, fx->got + fx->got_len, max);
    assert_true(n >= 0);
    fx->got_len += (size_t)n;
    return (size_t)n;
}

/* Send everything, reading `chunk` bytes each time the socket is full (a slow reader).
 * Returns how many times zc_out_send said "socket full". */
static int drive(struct fx *fx, struct zc_out *q, size_t chunk, size_t total)
{
    int full = 0, rc;
    while ((rc = zc_out_send(q, fx->snd)) == 0) {
        full++;
        receive_some(fx, chunk);
    }
    assert_int_equal(rc, 1);
    assert_int_equal(zc_out_pending(q), 0);
    while (fx->got_len < total)
        assert_true(receive_some(fx, 65536) > 0);
    return full;
}

/* The expected stream: a list of (memory bytes) or (file range). */
struct expect {
    uint8_t *buf;
    size_t len;
};

static void expect_mem(struct expect *e, const void *p, size_t n)
{
    e->buf = realloc(e->buf, e->len + n + 1);
    assert_non_null(e->buf);
    memcpy(e->buf + e->len, p, n);
    e->len += n;
}

static void expect_file(struct expect *e, size_t pos, size_t n)
{
    e->buf = realloc(e->buf, e->len + n + 1);
    assert_non_null(e->buf);
    for (size_t i = 0; i < n; i++)
        e->buf[e->len + i] = zc_fx_pattern(pos + i);
    e->len += n;
}

static void check_stream(struct fx *fx, struct expect *e)
{
    assert_int_equal(fx->got_len, e->len);
    for (size_t i = 0; i < e->len; i++)
        if (fx->got[i] != e->buf[i])
            fail_msg("stream differs at byte %zu of %zu", i, e->len);
    free(e->buf);
}

/* ---- tests ------------------------------------------------------------------------- */

static void test_out_mem_pieces_arrive_in_order(void **state)
{
    struct fx *fx = *state;
    tcp_pair(&fx->snd, &fx->rcv, 0, 0);
    struct zc_out q;
    zc_out_init(&q);
    struct expect e = {0};
    char *taken = strdup("-owned-buffer-");
    assert_non_null(taken);
    assert_int_equal(zc_out_mem(&q, "frame:", 6), 0);
    assert_int_equal(zc_out_mem(&q, "", 0), 0); /* nothing queued */
    assert_int_equal(zc_out_mem_take(&q, taken, strlen(taken)), 0);
    assert_int_equal(zc_out_mem_take(&q, strdup("x"), 0), 0); /* freed at once */
    assert_int_equal(zc_out_mem(&q, "end", 3), 0);
    expect_mem(&e, "frame:-owned-buffer-end", 23);
    assert_int_equal(zc_out_pending(&q), 23);
    drive(fx, &q, 4096, e.len);
    check_stream(fx, &e);
    assert_int_equal(q.sent_copied, 23);
    assert_int_equal(q.sent_sendfile, 0);
    zc_out_fini(&q);
}

/* Header, a file range far larger than the socket buffers, trailer, another range. */
static void queue_mixed(struct fx *fx, struct zc_out *q, struct expect *e, struct rel *rels,
                        bool copy)
{
    int (*add_file)(struct zc_out *, int, off_t, size_t, void (*)(void *), void *) =
        copy ? zc__out_file_copy : zc_out_file;
    assert_int_equal(zc_out_mem(q, "HEADER-16-BYTES!", 16), 0);
    assert_int_equal(add_file(q, fx->fd, 123, 300000, count_release, &rels[0]), 0);
    assert_int_equal(zc_out_mem(q, "trailer", 7), 0);
    assert_int_equal(add_file(q, fx->fd, 5, 70001, count_release, &rels[1]), 0);
    expect_mem(e, "HEADER-16-BYTES!", 16);
    expect_file(e, 123, 300000);
    expect_mem(e, "trailer", 7);
    expect_file(e, 5, 70001);
    assert_int_equal(zc_out_pending(q), e->len);
}

static void test_out_partial_sendfile_small_sndbuf_resumes_exactly(void **state)
{
    struct fx *fx = *state;
    tcp_pair(&fx->snd, &fx->rcv, 4096, 4096);
    struct zc_out q;
    zc_out_init(&q);
    struct expect e = {0};
    struct rel rels[2] = {{fx, 0}, {fx, 1}};
    queue_mixed(fx, &q, &e, rels, false);
    int full = drive(fx, &q, 1000, e.len);
    print_message("socket full %d times for %zu bytes\n", full, e.len);
    assert_true(full > 20); /* really partial: many resumptions */
    check_stream(fx, &e);
    assert_int_equal(q.sent_sendfile, 370001);
    assert_int_equal(q.sent_copied, 23);
    assert_int_equal(fx->releases[0], 1);
    assert_int_equal(fx->releases[1], 1);
    zc_out_fini(&q);
    assert_int_equal(fx->releases[0], 1); /* not again at fini */
}

static void test_out_fallback_pread_send_resumes_exactly(void **state)
{
    struct fx *fx = *state;
    tcp_pair(&fx->snd, &fx->rcv, 4096, 4096);
    struct zc_out q;
    zc_out_init(&q);
    struct expect e = {0};
    struct rel rels[2] = {{fx, 0}, {fx, 1}};
    queue_mixed(fx, &q, &e, rels, true);
    int full = drive(fx, &q, 777, e.len);
    assert_true(full > 20);
    check_stream(fx, &e);
    assert_int_equal(q.sent_sendfile, 0);
    assert_int_equal(q.sent_copied, 370024);
    assert_int_equal(fx->releases[0] + fx->releases[1], 2);
    zc_out_fini(&q);
}

/* Random pieces of every kind, random sizes, a random slow reader; replay with the seed. */
static void test_out_random_mixed_pieces_keep_order_and_release_once(void **state)
{
    struct fx *fx = *state;
    uint64_t rng = kc_test_seed() | 1;
    tcp_pair(&fx->snd, &fx->rcv, 8192, 8192);
    struct zc_out q;
    zc_out_init(&q);
    struct expect e = {0};
    struct rel rels[64];
    uint8_t mem[4096];
    for (int i = 0; i < 64; i++) {
        rels[i] = (struct rel){fx, i};
        size_t len = (size_t)(kc_test_rand(&rng) % 20000);
        size_t pos = (size_t)(kc_test_rand(&rng) % (FILE_BYTES - len));
        switch (kc_test_rand(&rng) % 4) {
        case 0: /* memory, copied */
            len %= sizeof(mem);
            for (size_t k = 0; k < len; k++)
                mem[k] = (uint8_t)kc_test_rand(&rng);
            assert_int_equal(zc_out_mem(&q, mem, len), 0);
            expect_mem(&e, mem, len);
            fx->releases[i] = 1; /* no release for memory: count it as done */
            break;
        case 1: /* memory, taken */ {
            uint8_t *p = malloc(len + 1);
            assert_non_null(p);
            for (size_t k = 0; k < len; k++)
                p[k] = (uint8_t)kc_test_rand(&rng);
            expect_mem(&e, p, len);
            assert_int_equal(zc_out_mem_take(&q, p, len), 0);
            fx->releases[i] = 1;
            break;
        }
        default: /* file, by sendfile or by the fallback */
            assert_int_equal((i % 2 ? zc_out_file : zc__out_file_copy)(
                                 &q, fx->fd, (off_t)pos, len, count_release, &rels[i]),
                             0);
            expect_file(&e, pos, len);
        }
    }
    drive(fx, &q, 1 + (size_t)(kc_test_rand(&rng) % 3000), e.len);
    check_stream(fx, &e);
    zc_out_fini(&q);
    for (int i = 0; i < 64; i++)
        assert_int_equal(fx->releases[i], 1);
}

static void short_file(struct fx *fx, bool copy)
{
    tcp_pair(&fx->snd, &fx->rcv, 0, 0);
    assert_int_equal(ftruncate(fx->fd, 1000), 0);
    struct zc_out q;
    zc_out_init(&q);
    struct rel rel = {fx, 0};
    int rc = (copy ? zc__out_file_copy : zc_out_file)(&q, fx->fd, 500, 1000, count_release,
                                                      &rel);
    assert_int_equal(rc, 0);
    assert_int_equal(zc_out_send(&q, fx->snd), -EIO);
    assert_int_equal(zc_out_pending(&q), 500); /* exactly what the file could not give */
    assert_int_equal(fx->releases[0], 0);     /* not done: the caller decides */
    while (fx->got_len < 500)
        assert_true(receive_some(fx, 500) > 0);
    struct expect e = {0};
    expect_file(&e, 500, 500);
    check_stream(fx, &e);
    zc_out_fini(&q);
    assert_int_equal(fx->releases[0], 1);
}

static void test_out_short_file_is_eio_with_sendfile(void **state)
{
    short_file(*state, false);
}

static void test_out_short_file_is_eio_with_fallback(void **state)
{
    short_file(*state, true);
}

/* The peer closes: the next sends fail with -EPIPE or -ECONNRESET, never a signal. */
static int peer_gone(struct fx *fx, bool file)
{
    int queued = 0;
    tcp_pair(&fx->snd, &fx->rcv, 0, 0);
    close(fx->rcv);
    fx->rcv = -1;
    struct zc_out q;
    zc_out_init(&q);
    struct rel rel = {fx, 0};
    int rc = 1;
    for (int round = 0; round < 200 && rc >= 0; round++) {
        if (rc == 1 && file) {
            assert_int_equal(zc_out_file(&q, fx->fd, 0, FILE_BYTES, count_release, &rel), 0);
            queued++;
        }
        if (rc == 1 && !file)
            assert_int_equal(zc_out_mem(&q, "data after close", 16), 0);
        rc = zc_out_send(&q, fx->snd);
        if (rc == 0) /* full: wait for the RST to arrive and make the socket writable */
            assert_true(poll(&(struct pollfd){.fd = fx->snd, .events = POLLOUT}, 1, 1000) >= 0);
    }
    assert_true(rc == -EPIPE || rc == -ECONNRESET);
    zc_out_fini(&q);
    return queued;
}

static void test_out_peer_close_is_epipe_for_memory(void **state)
{
    (void)peer_gone(*state, false);
}

static void test_out_peer_close_is_epipe_for_sendfile(void **state)
{
    struct fx *fx = *state;
    int queued = peer_gone(fx, true);
    assert_true(queued >= 1);
    assert_int_equal(fx->releases[0], queued); /* each range released exactly once */
}

static void test_out_release_once_in_every_path(void **state)
{
    struct fx *fx = *state;
    tcp_pair(&fx->snd, &fx->rcv, 0, 0);
    struct rel rels[4] = {{fx, 0}, {fx, 1}, {fx, 2}, {fx, 3}};
    struct zc_out q;
    zc_out_init(&q);
    /* zero-length range: done at once, nothing queued */
    assert_int_equal(zc_out_file(&q, fx->fd, 10, 0, count_release, &rels[0]), 0);
    assert_int_equal(fx->releases[0], 1);
    assert_true(STAILQ_EMPTY(&q.pieces));
    /* bad arguments: refused, release not called */
    assert_int_equal(zc_out_file(&q, fx->fd, -1, 10, count_release, &rels[1]), -EINVAL);
    assert_int_equal(fx->releases[1], 0);
    /* sent: released by the send that finishes it, not before */
    assert_int_equal(zc_out_file(&q, fx->fd, 0, 100, count_release, &rels[2]), 0);
    assert_int_equal(fx->releases[2], 0);
    assert_int_equal(zc_out_send(&q, fx->snd), 1);
    assert_int_equal(fx->releases[2], 1);
    /* never sent: released by fini */
    assert_int_equal(zc_out_file(&q, fx->fd, 0, 100, count_release, &rels[3]), 0);
    zc_out_fini(&q);
    assert_int_equal(fx->releases[3], 1);
    zc_out_fini(&q); /* twice: nothing left to release */
    assert_int_equal(fx->releases[3], 1);
    while (fx->got_len < 100)
        receive_some(fx, 100);
}

static unsigned data_segs_out(int sock)
{
    struct tcp_info ti;
    socklen_t len = sizeof(ti);
    assert_int_equal(getsockopt(sock, IPPROTO_TCP, TCP_INFO, &ti, &len), 0);
    return ti.tcpi_data_segs_out;
}

/* MSG_MORE: the 20-byte header waits for the file bytes and leaves in the same segment. */
static void test_out_header_and_file_share_one_segment(void **state)
{
    struct fx *fx = *state;
    tcp_pair(&fx->snd, &fx->rcv, 0, 0);
    struct zc_out q;
    zc_out_init(&q);
    unsigned before = data_segs_out(fx->snd);
    assert_int_equal(zc_out_mem(&q, "HEADER-HEADER-HEADER", 20), 0);
    assert_int_equal(zc_out_file(&q, fx->fd, 0, 2000, NULL, NULL), 0);
    assert_int_equal(zc_out_send(&q, fx->snd), 1);
    while (fx->got_len < 2020)
        receive_some(fx, 4096);
    unsigned with_more = data_segs_out(fx->snd) - before;

    /* The control: the same bytes without MSG_MORE. */
    before = data_segs_out(fx->snd);
    assert_int_equal(send(fx->snd, "HEADER-HEADER-HEADER", 20, MSG_NOSIGNAL), 20);
    off_t pos = 0;
    assert_int_equal(sendfile(fx->snd, fx->fd, &pos, 2000), 2000);
    while (fx->got_len < 4040)
        receive_some(fx, 4096);
    unsigned without = data_segs_out(fx->snd) - before;
    print_message("data segments: %u with MSG_MORE, %u without\n", with_more, without);
    assert_int_equal(with_more, 1);
    if (without == 1)
        print_message("note: this kernel merged the control too (autocork)\n");
    zc_out_fini(&q);
}

int main(void)
{
    /* sendfile cannot be told MSG_NOSIGNAL: like the broker, ignore SIGPIPE (zc.h). */
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_out_mem_pieces_arrive_in_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_out_partial_sendfile_small_sndbuf_resumes_exactly,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_out_fallback_pread_send_resumes_exactly, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_out_random_mixed_pieces_keep_order_and_release_once,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_out_short_file_is_eio_with_sendfile, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_out_short_file_is_eio_with_fallback, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_out_peer_close_is_epipe_for_memory, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_out_peer_close_is_epipe_for_sendfile, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_out_release_once_in_every_path, setup, teardown),
        cmocka_unit_test_setup_teardown(test_out_header_and_file_share_one_segment, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
