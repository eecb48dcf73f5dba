/*
 * test_health_start.c - GET /health says 503 "starting" while the broker recovers its
 * storage, and 200 "serving" once it serves. The HTTP door is up before storage is
 * opened, so an operator (or a load balancer) sees a long recovery for what it is.
 *
 * Recovery is made long, deterministically, by a slow disk: the broker runs under the
 * fault shim (LD_PRELOAD=libkc_fault.so) with every fsync of a regular file delayed
 * (flt_slow), and it restarts after kill -9. Since the store recovers the
 * logs a crash left open in the background (appendLog's sweep), the one log a start must
 * recover before it serves is __consumer_offsets' (its replay builds the offsets table):
 * the test commits an offset before the crash so that there is something to recover.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "flt.h"
#include "kc_common.h"
#include "kc_test.h"
#include "np_client.h"
#include "rel.h"

#define WAIT_MS 30000

/* GET /health on 127.0.0.1:port: the status code (0 if no answer), body into buf. */
static int health(int port, char *buf, size_t cap)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), status = 0;
    size_t len = 0;
    static const char req[] = "GET /health HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n";
    assert_true(fd >= 0);
    if (connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
        kc_write_all(fd, req, sizeof(req) - 1) == (ssize_t)(sizeof(req) - 1)) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        while (len < cap - 1 && poll(&p, 1, 5000) == 1) {
            ssize_t n = read(fd, buf + len, cap - 1 - len);
            if (n <= 0)
                break; /* the broker closes after answering (Connection: close) */
            len += (size_t)n;
        }
    }
    buf[len] = '\0';
    close(fd);
    if (sscanf(buf, "HTTP/1.1 %d", &status) != 1)
        status = 0;
    return status;
}

static void test_health_starting_during_recovery_then_serving(void **state)
{
    (void)state;
    char *dir = kc_test_tmpdir(), ctlpath[1024], shim[1024], buf[4096];
    const char *bin = getenv("KC_BIN_DIR"), *lib = getenv("KC_LIB_DIR");
    struct rel_broker b;
    struct flt_ctl *ctl;
    struct np_client c;
    struct np_create_topic_resp cr;
    assert_int_equal(rel_broker_init(&b, bin && *bin ? bin : "build/bin", dir), 0);
    snprintf(ctlpath, sizeof(ctlpath), "%s/fault.ctl", dir);
    snprintf(shim, sizeof(shim), "%s/libkc_fault.so", lib && *lib ? lib : "build/lib");
    assert_non_null(ctl = flt_ctl_open(ctlpath));
    strlcpy(b.shim, shim, sizeof(b.shim));
    strlcpy(b.ctl, ctlpath, sizeof(b.ctl));

    /* Some partitions with data, then a crash: the next start recovers them. */
    assert_int_equal(rel_broker_start(&b, NULL, WAIT_MS), 0);
    assert_int_equal(np_client_connect(&c, b.addr, WAIT_MS), 0);
    assert_int_equal(np_client_create_topic(&c, "h", 4, &cr), 0);
    for (int i = 0; i < 4; i++) {
        struct np_produce_req req = {np_str("h"), i, NP_ACKS_ALL, -1, {NULL, -1}, np_str("x")};
        struct np_produce_resp pr;
        assert_int_equal(np_client_produce(&c, &req, &pr), 0);
    }
    /* A committed offset: __consumer_offsets is replayed before the broker serves, and
     * after a crash its log must be recovered first, through the slow disk. */
    struct np_commit_req cm = {np_str("g"), np_str("h"), 0, 1, {NULL, -1}};
    assert_int_equal(np_client_commit(&c, &cm), 0);
    np_client_close(&c);
    rel_broker_kill9(&b);

    flt_slow(ctl, FLT_FSYNC, "", 400); /* every fsync of a regular file takes 400 ms */
    assert_int_equal(rel_broker_spawn(&b, NULL), 0);
    assert_int_equal(rel_broker_wait_metrics(&b, WAIT_MS), 0);
    int starting = 0, st = health(b.metrics_port, buf, sizeof(buf));
    while (st == 503) {
        assert_non_null(strstr(buf, "\"status\":\"starting\""));
        starting++;
        kc_sleep_ms(50);
        st = health(b.metrics_port, buf, sizeof(buf));
    }
    printf("# /health said 503 \"starting\" %d times, then %d; slowed calls %llu\n", starting, st,
           (unsigned long long)flt_hits(ctl));
    assert_true(starting > 0);
    assert_true(flt_hits(ctl) > 0); /* the slow disk is what kept it starting */
    flt_disarm(ctl);
    assert_int_equal(rel_broker_wait_listening(&b, WAIT_MS), 0);
    assert_int_equal(health(b.metrics_port, buf, sizeof(buf)), 200);
    assert_non_null(strstr(buf, "\"status\":\"serving\""));
    assert_int_equal(rel_broker_stop(&b, WAIT_MS), 0);
    flt_ctl_close(ctl);
    kc_test_rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_health_starting_during_recovery_then_serving),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
