/* test_tls_out.c - the output queue through TLS: MiB of file ranges arrive byte for byte
 * (kernel TLS where the kernel has it, the pread + SSL_write fallback always), order kept
 * while pieces are appended during partial sends, WANT_READ during a write, a key update
 * mid-stream, a short file, a peer that goes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/ssl.h>

#include "kc_common.h"
#include "kc_test.h"
#include "support/tls_fixture.h"
#include "support/zc_fixture.h"
#include "zc.h"
#include "zc_int.h"
#include "zc_tls.h"
#include "zc_tls_int.h"

#define FILE_BYTES (9u << 20)

struct fx {
    char *dir;
    int fd; /* the pattern file */
    int fds_before;
    struct zc_tls_ctx *sctx, *sctx_noktls, *cctx;
};

static int setup(void **state)
{
    struct fx *fx = calloc(1, sizeof(*fx));
    fx->fds_before = kc_test_fd_count();
    fx->dir = tls_fx_certs();
    fx->fd = zc_fx_pattern_file(fx->dir, "00000000000000000000.log", FILE_BYTES);
    fx->sctx = tls_fx_server(fx->dir, NULL);
    struct zc_tls_config cfg = {.keystore_location = tls_fx_path(fx->dir, "server.pem"),
                                .no_ktls = true};
    char err[256];
    assert_int_equal(zc_tls_ctx_new(&cfg, true, &fx->sctx_noktls, err, sizeof(err)), 0);
    fx->cctx = tls_fx_client(fx->dir, NULL);
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    struct fx *fx = *state;
    zc_tls_ctx_free(fx->sctx);
    zc_tls_ctx_free(fx->sctx_noktls);
    zc_tls_ctx_free(fx->cctx);
    close(fx->fd);
    kc_test_rmdir(fx->dir);
    assert_int_equal(kc_test_fd_count(), fx->fds_before);
    free(fx);
    return 0;
}

/* The expected stream. */
struct expect {
    uint8_t *buf;
    size_t len;
};

static void expect_mem(struct expect *e, const void *p, size_t n)
{
    e->buf = realloc(e->buf, e->len + n + 1);
    memcpy(e->buf + e->len, p, n);
    e->len += n;
}

static void expect_file(struct expect *e, size_t pos, size_t n)
{
    e->buf = realloc(e->buf, e->len + n + 1);
    for (size_t i = 0; i < n; i++)
        e->buf[e->len + i] = zc_fx_pattern(pos + i);
    e->len += n;
}

/* A connection: server session (non-blocking) and client session (blocking, read by a
 * thread), handshake done. */
struct conn {
    int sfd, cfd;
    struct zc_tls *s, *c;
    /* the reader thread */
    pthread_t thread;
    size_t want, got, chunk;
    uint8_t *buf;
    size_t close_after;      /* close the client socket after this many bytes (0: never) */
    size_t key_update_after; /* ask for a TLS 1.3 key update after this many (0: never) */
    ssize_t last;            /* the reader's last zc_tls_read result */
    size_t server_read;      /* bytes the server's loop read (drive) */
    int hold;                /* the reader starts only once the server has waited (atomic) */
};

static void conn_open(struct conn *k, struct zc_tls_ctx *sctx, struct zc_tls_ctx *cctx, int sndbuf,
                      bool handshake)
{
    memset(k, 0, sizeof(*k));
    tls_fx_pair(&k->sfd, &k->cfd, sndbuf, 0);
    assert_int_equal(zc_tls_new(sctx, k->sfd, NULL, &k->s), 0);
    assert_int_equal(zc_tls_new(cctx, k->cfd, "127.0.0.1", &k->c), 0);
    if (handshake) {
        int src, crc;
        tls_fx_handshake(k->s, k->c, &src, &crc);
        assert_int_equal(src, 1);
        assert_int_equal(crc, 1);
    }
}

static void *reader(void *arg)
{
    struct conn *k = arg;
    while (__atomic_load_n(&k->hold, __ATOMIC_ACQUIRE))
        (void)poll(NULL, 0, 1);
    while (k->got < k->want) {
        size_t n = k->want - k->got < k->chunk ? k->want - k->got : k->chunk;
        ssize_t r = zc_tls_read(k->c, k->buf + k->got, n);
        if (r == -EAGAIN) { /* the socket is blocking: only while the handshake runs */
            struct pollfd p = {k->cfd, zc_tls_events(k->c), 0};
            (void)poll(&p, 1, 100);
            continue;
        }
        k->last = r;
        if (r <= 0)
            return NULL;
        k->got += (size_t)r;
        if (k->key_update_after && k->got >= k->key_update_after) {
            k->key_update_after = 0;
            /* TLS 1.3 KeyUpdate, update_requested: the server must answer with its own */
            if (SSL_key_update(k->c->ssl, SSL_KEY_UPDATE_REQUESTED) != 1 ||
                SSL_write(k->c->ssl, "k", 1) != 1)
                abort();
        }
        if (k->close_after && k->got >= k->close_after) {
            shutdown(k->cfd, SHUT_RDWR);
            return NULL;
        }
    }
    return NULL;
}

static void reader_start(struct conn *k, size_t want, size_t chunk)
{
    k->want = want;
    k->chunk = chunk;
    k->buf = malloc(want + 1);
    assert_non_null(k->buf);
    assert_int_equal(fcntl(k->cfd, F_SETFL, fcntl(k->cfd, F_GETFL) & ~O_NONBLOCK), 0);
    assert_int_equal(pthread_create(&k->thread, NULL, reader, k), 0);
}

/* Send q through the server session until done or broken; reads (and so processes
 * post-handshake messages) whenever the socket is readable, as a broker's loop does.
 * Returns the last rc and the number of waits. */
static int drive(struct conn *k, struct zc_out *q, int *waits, void (*on_wait)(void *), void *arg)
{
    int rc;
    *waits = 0;
    while ((rc = zc_out_send_tls(q, k->s)) == 0) {
        (*waits)++;
        if (on_wait)
            on_wait(arg);
        struct pollfd p = {k->sfd, (short)(zc_tls_events(k->s) | POLLIN), 0};
        if (poll(&p, 1, 5000) <= 0)
            fail_msg("zc_out_send_tls waited 5 s for %d", zc_tls_events(k->s));
        if (p.revents & POLLIN) {
            char junk[64];
            ssize_t n;
            while ((n = zc_tls_read(k->s, junk, sizeof(junk))) > 0)
                k->server_read += (size_t)n;
        }
    }
    return rc;
}

static int releases[8];

/* on_wait for drive: the server's socket is full; let a held reader go. */
static void release_reader(void *arg)
{
    __atomic_store_n(&((struct conn *)arg)->hold, 0, __ATOMIC_RELEASE);
}

static void count_release(void *arg)
{
    releases[(intptr_t)arg]++;
}

/* Header, a 3 MiB range, trailer, a 5 MiB range: 8 MiB of file through TLS with a small
 * send buffer; byte for byte. With the context that may use kernel TLS, and with one that
 * never does: on a kernel without the tls ULP both take the fallback, and say so. */
static void test_tls_out_file_ranges_arrive_intact(void **state)
{
    struct fx *fx = *state;
    struct zc_tls_ctx *ctxs[2] = {fx->sctx, fx->sctx_noktls};
    bool kernel = zc_tls_ktls_available();
    print_message("kernel TLS (tls ULP) on this kernel: %s\n", kernel ? "yes" : "no");
    for (int k = 0; k < 2; k++) {
        struct conn c;
        struct zc_out q;
        struct expect e = {0};
        memset(releases, 0, sizeof(releases));
        conn_open(&c, ctxs[k], fx->cctx, 16384, true);
        zc_out_init(&q);
        static const char hdr[64] = "RESPONSE HEADER";
        assert_int_equal(zc_out_mem(&q, hdr, 64), 0);
        assert_int_equal(zc_out_file(&q, fx->fd, 123, 3u << 20, count_release, (void *)0), 0);
        assert_int_equal(zc_out_mem(&q, "trailer", 7), 0);
        assert_int_equal(zc_out_file(&q, fx->fd, 5, (5u << 20) - 1000, count_release, (void *)1),
                         0);
        expect_mem(&e, hdr, 64);
        expect_file(&e, 123, 3u << 20);
        expect_mem(&e, "trailer", 7);
        expect_file(&e, 5, (5u << 20) - 1000);
        /* the reader is held until the first wait, so a partial send happens on every
         * run; how many more depends on the scheduler, not on the code */
        c.hold = 1;
        reader_start(&c, e.len, 100000);
        int waits;
        assert_int_equal(drive(&c, &q, &waits, release_reader, &c), 1);
        pthread_join(c.thread, NULL);
        c.thread = pthread_self(); /* joined */
        assert_int_equal(c.got, e.len);
        assert_memory_equal(c.buf, e.buf, e.len);
        struct zc_tls_stats st;
        zc_tls_get_stats(c.s, &st);
        size_t file = (3u << 20) + (5u << 20) - 1000;
        bool ktls = zc_tls_ktls_send(c.s);
        print_message("%s: kTLS send %s, %llu bytes by SSL_sendfile, %llu copied (%llu from the "
                      "file), %d waits, stream CRC-32C %08x\n",
                      k ? "no_ktls" : "default", ktls ? "on" : "off",
                      (unsigned long long)st.ktls_sendfile, (unsigned long long)st.copied,
                      (unsigned long long)st.file_copied, waits, kc_crc32c(0, c.buf, c.got));
        assert_false(ktls && (k == 1 || !kernel)); /* never without the kernel's support */
        assert_int_equal(st.ktls_sendfile + st.file_copied, file);
        assert_int_equal(ktls ? st.ktls_sendfile : st.file_copied, file);
        assert_int_equal(q.sent_sendfile, st.ktls_sendfile);
        assert_true(waits >= 1);
        assert_int_equal(releases[0], 1);
        assert_int_equal(releases[1], 1);
        assert_int_equal(zc_out_pending(&q), 0);
        assert_int_equal(zc_tls_pending(c.s), 0);
        zc_out_fini(&q);
        assert_int_equal(releases[0] + releases[1], 2);
        c.thread = 0;
        zc_tls_free(c.s), zc_tls_free(c.c), close(c.sfd), close(c.cfd), free(c.buf);
        free(e.buf);
    }
}

/* Pieces appended while earlier ones are half sent (the broker queues the next response
 * while the socket is full): the stream keeps queue order exactly. Seeded. */
struct appender {
    struct zc_out *q;
    int fd;
    uint64_t rng;
    int left;
    struct expect *e;
};

static void append_some(void *arg)
{
    struct appender *a = arg;
    for (int k = 0; k < 3 && a->left > 0; k++, a->left--) {
        size_t len = 1 + (size_t)(kc_test_rand(&a->rng) % 150000);
        size_t pos = (size_t)(kc_test_rand(&a->rng) % (FILE_BYTES - len));
        if (kc_test_rand(&a->rng) % 3 == 0) {
            uint8_t mem[3000];
            len %= sizeof(mem);
            for (size_t i = 0; i < len; i++)
                mem[i] = (uint8_t)kc_test_rand(&a->rng);
            assert_int_equal(zc_out_mem(a->q, mem, len), 0);
            expect_mem(a->e, mem, len);
        } else {
            int (*add)(struct zc_out *, int, off_t, size_t, void (*)(void *), void *) =
                kc_test_rand(&a->rng) % 2 ? zc_out_file : zc__out_file_copy;
            assert_int_equal(add(a->q, a->fd, (off_t)pos, len, NULL, NULL), 0);
            expect_file(a->e, pos, len);
        }
    }
}

static void test_tls_out_appends_during_partial_sends_keep_order(void **state)
{
    struct fx *fx = *state;
    uint64_t seed = kc_test_seed();
    struct conn c;
    struct zc_out q;
    struct expect e = {0};
    struct appender a = {&q, fx->fd, seed | 1, 60, &e};
    /* the plan is known in advance: generate it once to learn the total */
    struct zc_out dry;
    zc_out_init(&dry);
    struct expect plan = {0};
    struct appender p = {&dry, fx->fd, seed | 1, 60, &plan};
    while (p.left > 0)
        append_some(&p);
    zc_out_fini(&dry);
    conn_open(&c, fx->sctx, fx->cctx, 8192, true);
    zc_out_init(&q);
    append_some(&a);
    reader_start(&c, plan.len, 7777);
    int waits, rc;
    while ((rc = drive(&c, &q, &waits, append_some, &a)) == 1 && a.left > 0)
        append_some(&a); /* drained before the plan was done: queue more */
    assert_int_equal(rc, 1);
    pthread_join(c.thread, NULL);
    assert_int_equal(e.len, plan.len);
    assert_int_equal(c.got, e.len);
    for (size_t i = 0; i < e.len; i++)
        if (c.buf[i] != e.buf[i])
            fail_msg("seed %llu: stream differs at byte %zu of %zu", (unsigned long long)seed, i,
                     e.len);
    zc_out_fini(&q);
    zc_tls_free(c.s), zc_tls_free(c.c), close(c.sfd), close(c.cfd), free(c.buf);
    free(e.buf), free(plan.buf);
}

/* The server queues a response and sends before the client has even started: SSL_write
 * must first read the ClientHello (WANT_READ inside a write); zc_out_send_tls says POLLIN,
 * and the bytes arrive once the handshake is done. The client's first write happens before
 * its handshake too. */
static void test_tls_out_want_read_during_write(void **state)
{
    struct fx *fx = *state;
    struct conn c;
    struct zc_out q;
    conn_open(&c, fx->sctx, fx->cctx, 0, false);
    zc_out_init(&q);
    assert_int_equal(zc_out_file(&q, fx->fd, 0, 200000, NULL, NULL), 0);
    assert_int_equal(zc_out_send_tls(&q, c.s), 0);
    assert_int_equal(zc_tls_events(c.s), POLLIN); /* a write that waits to read */
    struct iovec iov = {"hello", 5};
    assert_int_equal(zc_tls_writev(c.c, &iov, 1), 5); /* taken; ClientHello sent */
    assert_int_equal(zc_tls_events(c.c), POLLIN);
    assert_int_equal(zc_tls_pending(c.c), 5);
    reader_start(&c, 200000, 65536);
    int waits;
    assert_int_equal(drive(&c, &q, &waits, NULL, NULL), 1);
    pthread_join(c.thread, NULL);
    assert_int_equal(c.got, 200000);
    for (size_t i = 0; i < 200000; i++)
        if (c.buf[i] != zc_fx_pattern(i))
            fail_msg("differs at %zu", i);
    struct zc_tls_stats st;
    zc_tls_get_stats(c.s, &st);
    assert_true(st.want_read_in_write >= 1);
    zc_tls_get_stats(c.c, &st);
    assert_true(st.want_read_in_write >= 1);
    zc_out_fini(&q);
    zc_tls_free(c.s), zc_tls_free(c.c), close(c.sfd), close(c.cfd), free(c.buf);
}

/* The client asks for a TLS 1.3 key update in the middle of a large response: the server
 * reads it (its loop reads whenever readable), answers with its own, and the stream goes on
 * under new keys, intact. */
static void test_tls_out_key_update_mid_stream(void **state)
{
    struct fx *fx = *state;
    struct conn c;
    struct zc_out q;
    conn_open(&c, fx->sctx, fx->cctx, 16384, true);
    assert_string_equal(zc_tls_version(c.s), "TLSv1.3");
    zc_out_init(&q);
    assert_int_equal(zc_out_file(&q, fx->fd, 0, 6u << 20, NULL, NULL), 0);
    c.key_update_after = 1u << 20;
    reader_start(&c, 6u << 20, 65536);
    int waits;
    assert_int_equal(drive(&c, &q, &waits, NULL, NULL), 1);
    pthread_join(c.thread, NULL);
    assert_int_equal(c.got, 6u << 20);
    for (size_t i = 0; i < c.got; i++)
        if (c.buf[i] != zc_fx_pattern(i))
            fail_msg("differs at %zu", i);
    /* the server read the byte sent after the KeyUpdate: it processed the update on the
     * way (and so answered with its own, under which the rest was encrypted) */
    assert_int_equal(c.server_read, 1);
    zc_out_fini(&q);
    zc_tls_free(c.s), zc_tls_free(c.c), close(c.sfd), close(c.cfd), free(c.buf);
}

/* A file shorter than its range: -EIO, and nothing past the end is invented. */
static void test_tls_out_short_file_is_eio(void **state)
{
    struct fx *fx = *state;
    struct conn c;
    struct zc_out q;
    conn_open(&c, fx->sctx, fx->cctx, 0, true);
    zc_out_init(&q);
    memset(releases, 0, sizeof(releases));
    assert_int_equal(zc_out_file(&q, fx->fd, FILE_BYTES - 1000, 5000, count_release, (void *)2), 0);
    int waits;
    assert_int_equal(drive(&c, &q, &waits, NULL, NULL), -EIO);
    assert_int_equal(zc_out_pending(&q), 4000);
    assert_int_equal(releases[2], 0);
    zc_out_fini(&q);
    assert_int_equal(releases[2], 1);
    zc_tls_free(c.s), zc_tls_free(c.c), close(c.sfd), close(c.cfd);
}

/* The client goes away mid-response: the send fails (no SIGPIPE: ignored, as the broker
 * does), the queue can be finalised. */
static void test_tls_out_peer_gone_is_an_error(void **state)
{
    struct fx *fx = *state;
    struct conn c;
    struct zc_out q;
    conn_open(&c, fx->sctx, fx->cctx, 16384, true);
    zc_out_init(&q);
    assert_int_equal(zc_out_file(&q, fx->fd, 0, 8u << 20, NULL, NULL), 0);
    c.close_after = 300000;
    reader_start(&c, 8u << 20, 65536);
    int waits;
    int rc = drive(&c, &q, &waits, NULL, NULL);
    print_message("peer gone: %d (%s): %s\n", rc, kc_errname(rc), zc_tls_error(c.s));
    assert_true(rc == -EPIPE || rc == -ECONNRESET);
    assert_true(zc_out_pending(&q) > 0);
    zc_out_fini(&q);
    pthread_join(c.thread, NULL);
    zc_tls_free(c.s), zc_tls_free(c.c), close(c.sfd), close(c.cfd), free(c.buf);
}

/* zc_tls_sendfile without a queue: a 3 MiB range sent in as many calls as it takes (kernel
 * TLS here would make them SSL_sendfile calls), then a range past the end of the file. */
static void test_tls_out_sendfile_call_sends_range(void **state)
{
    struct fx *fx = *state;
    struct conn c;
    conn_open(&c, fx->sctx, fx->cctx, 16384, true);
    size_t len = 3u << 20, done = 0;
    off_t pos = 777;
    reader_start(&c, len, 65536);
    int calls = 0;
    while (done < len) {
        ssize_t n = zc_tls_sendfile(c.s, fx->fd, pos + (off_t)done, len - done);
        if (n == -EAGAIN) {
            tls_fx_wait(c.sfd, c.s);
            continue;
        }
        assert_true(n > 0);
        done += (size_t)n;
        calls++;
    }
    int rc;
    while ((rc = zc_tls_flush(c.s)) == 0)
        tls_fx_wait(c.sfd, c.s);
    assert_int_equal(rc, 1);
    pthread_join(c.thread, NULL);
    assert_int_equal(c.got, len);
    for (size_t i = 0; i < len; i++)
        if (c.buf[i] != zc_fx_pattern((size_t)pos + i))
            fail_msg("differs at %zu", i);
    struct zc_tls_stats st;
    zc_tls_get_stats(c.s, &st);
    assert_int_equal(st.ktls_sendfile + st.file_copied, len);
    assert_true(calls >= (int)(len / (64 * 1024)));
    assert_int_equal(zc_tls_sendfile(c.s, fx->fd, FILE_BYTES, 10), -EIO);
    assert_int_equal(zc_tls_sendfile(c.s, fx->fd, 0, 0), 0);
    assert_int_equal(zc_tls_sendfile(c.s, fx->fd, -1, 10), -EINVAL);
    zc_tls_free(c.s), zc_tls_free(c.c), close(c.sfd), close(c.cfd), free(c.buf);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_tls_out_file_ranges_arrive_intact, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tls_out_appends_during_partial_sends_keep_order, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_tls_out_want_read_during_write, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tls_out_key_update_mid_stream, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tls_out_short_file_is_eio, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tls_out_sendfile_call_sends_range, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tls_out_peer_gone_is_an_error, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
