/* test_transfer.c - the blocking whole-range helpers: sendfile and pread + send. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "kc_common.h"
#include "kc_test.h"
#include "support/zc_fixture.h"
#include "zc.h"

#define FILE_BYTES (3 * 1024 * 1024 + 17)


struct reader {
    int fd;
    uint8_t *buf;
    size_t len, cap;
};

/* Read until EOF (cmocka asserts stay on the main thread: errors end the read). */
static void *reader_main(void *arg)
{
    struct reader *r = arg;
    for (;;) {
        ssize_t n = read(r->fd, r->buf + r->len, r->cap - r->len);
        if (n <= 0 || (r->len += (size_t)n) == r->cap)
            break;
    }
    return NULL;
}

struct fx {
    char *dir;
    int fd, fds_before;
};

static int setup(void **state)
{
    struct fx *fx = calloc(1, sizeof(*fx));
    assert_non_null(fx);
    fx->fds_before = kc_test_fd_count();
    fx->dir = kc_test_tmpdir();
    fx->fd = zc_fx_pattern_file(fx->dir, "segment.log", FILE_BYTES);
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    struct fx *fx = *state;
    close(fx->fd);
    kc_test_rmdir(fx->dir);
    assert_int_equal(kc_test_fd_count(), fx->fds_before);
    free(fx);
    return 0;
}

/* A loopback pair from the test library, the sending side made non-blocking if asked. */
static void tcp_pair(int *snd, int *rcv, int sndbuf, bool nonblock)
{
    kc_test_tcp_pair(snd, rcv, sndbuf, 0);
    if (nonblock)
        assert_int_equal(fcntl(*snd, F_SETFL, fcntl(*snd, F_GETFL) | O_NONBLOCK), 0);
}

enum how { SENDFILE, COPY };

/* Send [pos, pos+len) with one helper to a reader thread and check every byte. */
static void transfer(struct fx *fx, enum how how, size_t pos, size_t len, int sndbuf,
                     bool nonblock)
{
    int snd, rcv;
    tcp_pair(&snd, &rcv, sndbuf, nonblock);
    struct reader r = {.fd = rcv, .cap = len + 1};
    r.buf = malloc(r.cap);
    assert_non_null(r.buf);
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, reader_main, &r), 0);
    ssize_t sent;
    if (how == SENDFILE) {
        sent = zc_sendfile_all(snd, fx->fd, (off_t)pos, len);
    } else {
        uint8_t *buf = malloc(10007); /* an odd size: chunks never line up with anything */
        assert_non_null(buf);
        sent = zc_copy_all(snd, fx->fd, (off_t)pos, len, buf, 10007);
        free(buf);
    }
    close(snd); /* EOF for the reader */
    assert_int_equal(pthread_join(t, NULL), 0);
    close(rcv);
    assert_int_equal(sent, (ssize_t)len);
    assert_int_equal(r.len, len);
    for (size_t i = 0; i < len; i++)
        if (r.buf[i] != zc_fx_pattern(pos + i))
            fail_msg("byte %zu differs", i);
    free(r.buf);
}

static void test_transfer_sendfile_all_sends_exact_range(void **state)
{
    transfer(*state, SENDFILE, 4095, FILE_BYTES - 4095 - 3, 0, false);
}

static void test_transfer_copy_all_sends_exact_range(void **state)
{
    transfer(*state, COPY, 4095, FILE_BYTES - 4095 - 3, 0, false);
}

static void test_transfer_nonblocking_small_sndbuf_waits_and_completes(void **state)
{
    transfer(*state, SENDFILE, 1, FILE_BYTES - 1, 4096, true);
    transfer(*state, COPY, 1, FILE_BYTES - 1, 4096, true);
}

static void test_transfer_short_file_is_eio(void **state)
{
    struct fx *fx = *state;
    for (int how = SENDFILE; how <= COPY; how++) {
        int snd, rcv;
        tcp_pair(&snd, &rcv, 0, false);
        uint8_t buf[4096];
        /* 100 bytes past the end: the socket buffer takes the rest without a reader. */
        ssize_t rc = how == SENDFILE
                         ? zc_sendfile_all(snd, fx->fd, FILE_BYTES - 1000, 1100)
                         : zc_copy_all(snd, fx->fd, FILE_BYTES - 1000, 1100, buf, sizeof(buf));
        assert_int_equal(rc, -EIO);
        close(snd);
        close(rcv);
    }
}

static void test_transfer_bad_arguments_are_einval(void **state)
{
    struct fx *fx = *state;
    uint8_t buf[16];
    assert_int_equal(zc_sendfile_all(0, fx->fd, -1, 10), -EINVAL);
    assert_int_equal(zc_copy_all(0, fx->fd, -1, 10, buf, sizeof(buf)), -EINVAL);
    assert_int_equal(zc_copy_all(0, fx->fd, 0, 10, buf, 0), -EINVAL);
    assert_int_equal(zc_sendfile_all(0, fx->fd, 0, 0), 0); /* nothing to do */
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN); /* as the broker does; see zc.h */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_transfer_sendfile_all_sends_exact_range, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_transfer_copy_all_sends_exact_range, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(
            test_transfer_nonblocking_small_sndbuf_waits_and_completes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_transfer_short_file_is_eio, setup, teardown),
        cmocka_unit_test_setup_teardown(test_transfer_bad_arguments_are_einval, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
