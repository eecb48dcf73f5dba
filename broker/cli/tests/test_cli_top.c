/*
 * test_cli_top.c - `kafka_cli top` against a fake /metrics served by the test itself: a
 * thread on an ephemeral loopback port answers each GET with the next of a list of
 * expositions (written with hp_expo, in the metric names the broker's core exposes).
 * Checked: rates from counter deltas (exactly delta / interval, the interval top itself
 * measured), log ends, lag, p50/p99 from histogram deltas, --partitions, text and JSON,
 * a counter reset, and the failures (nothing listening, 404, a bad text, a silent port).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cli.h"
#include "cli_http.h"
#include "hp.h"
#include "hp_expo.h"
#include "kc_common.h"
#include "kc_test.h"

/* ---- the fake metrics port ---------------------------------------------------------- */

#define MAX_TEXTS 4

struct fake {
    int lfd;
    int port;
    char *texts[MAX_TEXTS]; /* answer i gets texts[min(i, ntexts - 1)] */
    int ntexts;
    int status;             /* 200, or e.g. 404 */
    bool silent;            /* accept, read, never answer */
    int served;
    pthread_t thread;
};

static void serve_one(struct fake *f, int fd)
{
    uint8_t buf[4096];
    size_t len = 0;
    struct hp_request req;
    int rc = KC_ENEEDMORE;
    while (rc == KC_ENEEDMORE && len < sizeof(buf)) {
        ssize_t k = read(fd, buf + len, sizeof(buf) - len);
        if (k <= 0)
            return;
        len += (size_t)k;
        rc = hp_parse_request(buf, len, NULL, &req);
    }
    if (f->silent) {
        char c;
        (void)read(fd, &c, 1); /* until the client gives up and closes */
        return;
    }
    struct kc_writer w;
    kc_writer_init(&w, 0);
    if (rc <= 0 || req.path.len != 8 || memcmp(req.path.p, "/metrics", 8) != 0) {
        hp_write_canned(&w, rc <= 0 ? hp_status_for(rc) : 404, true, false, -1);
    } else if (f->status != 200) {
        hp_write_canned(&w, f->status, true, false, -1);
    } else {
        const char *text = f->texts[KC_MIN(f->served, f->ntexts - 1)];
        struct hp_response r = {.status = 200, .content_type = HP_EXPO_CONTENT_TYPE,
                                .body = text, .body_len = strlen(text), .close = true,
                                .date = -1};
        hp_write_response(&w, &r);
    }
    f->served++;
    /* no cmocka assertion in this thread: a failed write shows as the client's error */
    (void)kc_write_all(fd, kc_writer_data(&w), kc_writer_len(&w));
    kc_writer_fini(&w);
}

static void *fake_main(void *arg)
{
    struct fake *f = arg;
    for (;;) {
        int fd = accept(f->lfd, NULL, NULL);
        if (fd < 0)
            return NULL; /* the listener was shut down: the test is over */
        serve_one(f, fd);
        close(fd);
    }
}

static void fake_start(struct fake *f)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t slen = sizeof(sa);
    f->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(f->lfd >= 0);
    assert_int_equal(bind(f->lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(listen(f->lfd, 16), 0);
    assert_int_equal(getsockname(f->lfd, (struct sockaddr *)&sa, &slen), 0);
    f->port = ntohs(sa.sin_port);
    if (!f->status)
        f->status = 200;
    assert_int_equal(pthread_create(&f->thread, NULL, fake_main, f), 0);
}

static void fake_stop(struct fake *f)
{
    shutdown(f->lfd, SHUT_RDWR); /* wakes accept() */
    assert_int_equal(pthread_join(f->thread, NULL), 0);
    close(f->lfd);
    for (int i = 0; i < f->ntexts; i++)
        free(f->texts[i]);
}

/* ---- the expositions ---------------------------------------------------------------- */

/* The broker at tick k: payments/0 gains 500 records and 50,000 bytes a tick, payments/1
 * 100 and 10,000; Produce gains 200 requests, 100 of them in (0.001, 0.005] and 100 in
 * (0.005, 0.01]; the fsyncs gain 10 in (0.001, 0.005]. */
static char *exposition(uint64_t k)
{
    static const double b[] = {0.001, 0.005, 0.01};
    const struct hp_label p0[] = {{"topic", "payments"}, {"partition", "0"}};
    const struct hp_label p1[] = {{"topic", "payments"}, {"partition", "1"}};
    const struct hp_label g0[] = {{"group", "billing"}, {"topic", "payments"}, {"partition", "0"}};
    const struct hp_label g1[] = {{"group", "billing"}, {"topic", "payments"}, {"partition", "1"}};
    const struct hp_label kp[] = {{"protocol", "kafka"}, {"api", "Produce"}};
    const struct hp_label kn[] = {{"protocol", "kafka"}};
    struct kc_writer w;
    struct hp_expo e;
    size_t len;
    kc_writer_init(&w, 0);
    hp_expo_init(&e, &w);
    hp_expo_family(&e, "kafka_log_end_offset", HP_GAUGE, "x");
    hp_expo_sample_u64(&e, p0, 2, 500 * k);
    hp_expo_sample_u64(&e, p1, 2, 100 * k);
    hp_expo_family(&e, "kafka_log_appended_records_total", HP_COUNTER, "x");
    hp_expo_sample_u64(&e, p0, 2, 500 * k);
    hp_expo_sample_u64(&e, p1, 2, 100 * k);
    hp_expo_family(&e, "kafka_log_appended_bytes_total", HP_COUNTER, "x");
    hp_expo_sample_u64(&e, p0, 2, 50000 * k);
    hp_expo_sample_u64(&e, p1, 2, 10000 * k);
    hp_expo_family(&e, "kafka_group_lag", HP_GAUGE, "x");
    hp_expo_sample_u64(&e, g0, 3, 7);
    hp_expo_sample_u64(&e, g1, 3, 3);
    hp_expo_family(&e, "kafka_requests_total", HP_COUNTER, "x");
    hp_expo_sample_u64(&e, kp, 2, 200 * k);
    hp_expo_family(&e, "kafka_request_duration_seconds", HP_HISTOGRAM, "x");
    hp_expo_histogram(&e, kp, 2, b, (uint64_t[]){0, 100 * k, 100 * k, 0}, 3, 0.001 * (double)k);
    hp_expo_family(&e, "kafka_network_received_bytes_total", HP_COUNTER, "x");
    hp_expo_sample_u64(&e, kn, 1, 1024 * k);
    hp_expo_family(&e, "kafka_connections_open", HP_GAUGE, "x");
    hp_expo_sample_u64(&e, kn, 1, 2);
    hp_expo_family(&e, "kafka_fsync_duration_seconds", HP_HISTOGRAM, "x");
    hp_expo_histogram(&e, NULL, 0, b, (uint64_t[]){0, 10 * k, 0, 0}, 3, 0.03 * (double)k);
    hp_expo_family(&e, "kafka_broker_uptime_seconds", HP_GAUGE, "x");
    hp_expo_sample(&e, NULL, 0, 42.5 + (double)k);
    hp_expo_family(&e, "kafka_broker_build_info", HP_GAUGE, "x");
    hp_expo_sample(&e, (struct hp_label[]){{"version", "0.1.0"}}, 1, 1);
    assert_int_equal(hp_expo_finish(&e), 0);
    kc_write_u8(&w, 0);
    return (char *)kc_writer_take(&w, &len);
}

/* ---- running the command ------------------------------------------------------------ */

struct run {
    int status;
    char *out, *err;
};

static struct run top(const struct fake *f, const char *args, int timeout_ms)
{
    struct run r = {0};
    size_t olen, elen;
    struct cli cli;
    char line[256];
    FILE *out = open_memstream(&r.out, &olen), *err = open_memstream(&r.err, &elen);
    snprintf(line, sizeof(line), "top --metrics 127.0.0.1:%d --interval 0.1 %s",
             f ? f->port : 1, args);
    cli_init(&cli, "127.0.0.1:9092", out, err);
    cli.timeout_ms = timeout_ms;
    r.status = cli_run_line(&cli, line);
    cli_fini(&cli);
    fclose(out);
    fclose(err);
    printf("$ kafka_cli %s -> %d\n%s%s", line, r.status, r.out, r.err);
    return r;
}

static void run_free(struct run *r)
{
    free(r->out);
    free(r->err);
}

/* The number after "key": in a JSON line (the first one after from). */
static double json_num(const char *json, const char *key, const char *from)
{
    char pat[64];
    snprintf(pat, sizeof(pat), "\"%s\":", key);
    const char *p = strstr(from ? strstr(json, from) : json, pat);
    if (!p)
        fail_msg("no %s in %s", key, json);
    return strtod(p + strlen(pat), NULL);
}

static void test_top_json_rates_are_deltas_over_the_interval(void **state)
{
    (void)state;
    int fds = kc_test_fd_count();
    struct fake f = {.ntexts = 2, .texts = {exposition(1), exposition(2)}};
    fake_start(&f);
    struct run r = top(&f, "--once --json", 5000);
    assert_int_equal(r.status, CLI_OK);
    double secs = json_num(r.out, "interval_s", NULL);
    assert_true(secs >= 0.09 && secs < 5);
    /* 600 records and 60,000 bytes in the topic over the interval top measured */
    assert_true(fabs(json_num(r.out, "records_per_s", NULL) * secs - 600) < 1e-6);
    assert_true(fabs(json_num(r.out, "bytes_per_s", NULL) * secs - 60000) < 1e-6);
    assert_true(json_num(r.out, "log_end_offset", NULL) == 1200);
    assert_true(json_num(r.out, "lag", NULL) == 10);
    assert_true(fabs(json_num(r.out, "requests_per_s", NULL) * secs - 200) < 1e-6);
    /* 200 new: 100 in (0.001, 0.005], 100 in (0.005, 0.01]: p50 is the first bucket's top,
     * p99 is 0.005 + 0.005 * 98/100 */
    assert_true(fabs(json_num(r.out, "p50_s", NULL) - 0.005) < 1e-12);
    assert_true(fabs(json_num(r.out, "p99_s", NULL) - 0.0099) < 1e-12);
    assert_true(fabs(json_num(r.out, "fsync_p99_s", NULL) - 0.00496) < 1e-12);
    assert_true(fabs(json_num(r.out, "received_bytes_per_s", NULL) * secs - 1024) < 1e-6);
    assert_true(json_num(r.out, "connections_open", NULL) == 2);
    assert_true(json_num(r.out, "uptime_s", NULL) == 44.5);
    assert_non_null(strstr(r.out, "\"version\":\"0.1.0\""));
    assert_null(strstr(r.out, "\"partition\""));
    assert_string_equal(r.err, "");
    assert_int_equal(f.served, 2);
    run_free(&r);
    fake_stop(&f);
    assert_int_equal(kc_test_fd_count(), fds);
}

static void test_top_partitions_text_and_count(void **state)
{
    (void)state;
    struct fake f = {.ntexts = 3, .texts = {exposition(1), exposition(2), exposition(3)}};
    fake_start(&f);
    struct run r = top(&f, "--once --json --partitions", 5000);
    assert_int_equal(r.status, CLI_OK);
    double secs = json_num(r.out, "interval_s", NULL);
    const char *p1 = "\"topic\":\"payments\",\"partition\":\"1\"";
    assert_true(fabs(json_num(r.out, "records_per_s", p1) * secs - 100) < 1e-6);
    assert_true(json_num(r.out, "lag", "\"partition\":\"1\",\"lag\"") == 3);
    run_free(&r);

    /* text, two blocks: not a terminal, so no ANSI codes, one block after another */
    r = top(&f, "--count 2", 5000);
    assert_int_equal(r.status, CLI_OK);
    assert_null(strchr(r.out, '\033'));
    assert_int_equal(kc_test_count_lines(r.out, "kafka_cli top  127.0.0.1:"), 2);
    assert_int_equal(kc_test_count_lines(r.out, "RECORDS/S"), 2);
    assert_non_null(strstr(r.out, "payments"));
    assert_non_null(strstr(r.out, "broker 0.1.0"));
    run_free(&r);
    fake_stop(&f);
}

static void test_top_counter_reset_counts_from_zero(void **state)
{
    (void)state;
    struct fake f = {.ntexts = 2, .texts = {exposition(5), exposition(1)}}; /* a restart */
    fake_start(&f);
    struct run r = top(&f, "--once --json", 5000);
    assert_int_equal(r.status, CLI_OK);
    double secs = json_num(r.out, "interval_s", NULL);
    assert_true(fabs(json_num(r.out, "records_per_s", NULL) * secs - 600) < 1e-6);
    assert_true(fabs(json_num(r.out, "p50_s", NULL) - 0.005) < 1e-12);
    run_free(&r);
    fake_stop(&f);
}

static void test_top_failures_reported(void **state)
{
    (void)state;
    struct run r = top(NULL, "--once", 2000); /* nothing listens on port 1 */
    assert_int_equal(r.status, CLI_ENET);
    assert_non_null(strstr(r.err, "GET http://127.0.0.1:1/metrics"));
    run_free(&r);

    struct fake f = {.ntexts = 1, .texts = {exposition(1)}, .status = 404};
    fake_start(&f);
    r = top(&f, "--once", 2000);
    assert_int_equal(r.status, CLI_EBROKER);
    assert_non_null(strstr(r.err, "status 404"));
    run_free(&r);
    fake_stop(&f);

    struct fake bad = {.ntexts = 1, .texts = {strdup("a 1\na 2\n")}};
    fake_start(&bad);
    r = top(&bad, "--once", 2000);
    assert_int_equal(r.status, CLI_EBROKER);
    assert_non_null(strstr(r.err, "line 2: series of a appears twice"));
    run_free(&r);
    fake_stop(&bad);

    struct fake silent = {.silent = true};
    fake_start(&silent);
    int64_t t0 = kc_mono_ms();
    r = top(&silent, "--once", 300);
    assert_int_equal(r.status, CLI_ENET);
    assert_non_null(strstr(r.err, "timed out"));
    assert_true(kc_mono_ms() - t0 < 3000);
    run_free(&r);
    fake_stop(&silent);

    r = top(NULL, "--interval 0", 2000);
    assert_int_equal(r.status, CLI_EUSAGE);
    assert_non_null(strstr(r.err, "--interval must be seconds"));
    run_free(&r);
}

static void test_top_hist_quantile_like_prometheus(void **state)
{
    (void)state;
    const double b[] = {0.001, 0.005, 0.01, INFINITY};
    assert_true(isnan(cli__hist_quantile(b, (double[]){0, 0, 0, 0}, 4, 0.5)));
    /* 60 in (0, 0.001]: rank 50 -> 0.001 * 50/60 */
    assert_true(fabs(cli__hist_quantile(b, (double[]){60, 95, 100, 100}, 4, 0.5) -
                     0.001 * 50 / 60) < 1e-15);
    /* rank 99 in (0.005, 0.01] holding 5: 0.005 + 0.005 * 4/5 */
    assert_true(fabs(cli__hist_quantile(b, (double[]){60, 95, 100, 100}, 4, 0.99) - 0.009) <
                1e-15);
    /* in +Inf: the highest finite bound */
    assert_true(cli__hist_quantile(b, (double[]){0, 0, 0, 10}, 4, 0.5) == 0.01);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_top_json_rates_are_deltas_over_the_interval),
        cmocka_unit_test(test_top_partitions_text_and_count),
        cmocka_unit_test(test_top_counter_reset_counts_from_zero),
        cmocka_unit_test(test_top_failures_reported),
        cmocka_unit_test(test_top_hist_quantile_like_prometheus),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
