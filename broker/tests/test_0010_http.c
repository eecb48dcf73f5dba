/*
 * test_0010_http.c - the HTTP door of a real broker: /metrics tells the truth about what the
 * broker did (offsets, appends, requests by protocol and API with a latency histogram,
 * groups and their lag, connections, fsyncs), in a text Prometheus' own tools accept;
 * /health says the broker serves; everything else gets a clear 400/404/405/413/414/431,
 * and a request that trickles in is closed, while the other doors go on serving.
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
#include <unistd.h>

#include "hp.h"
#include "hp_expo.h"
#include "kc_common.h"
#include "kc_test.h"
#include "support/harness.h"

#define S(s) np_str(s)
#define N    40

static int http_connect(const struct kb_broker *b)
{
    struct kb_broker m = *b;
    m.port = b->metrics_port;
    assert_true(m.port > 0);
    return kb_connect(&m);
}

/* Read until the peer closes or a whole response (head + Content-Length) is in. */
static size_t read_response(int fd, char *buf, size_t cap, struct hp_response_head *head)
{
    size_t len = 0;
    int64_t until = kc_mono_ms() + KB_WAIT_MS;
    while (len < cap - 1 && kc_mono_ms() < until) {
        int hl = hp_parse_response_head((const uint8_t *)buf, len, NULL, head);
        if (hl > 0 && head->content_length >= 0 && len >= (size_t)hl + (size_t)head->content_length)
            break;
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, 100) <= 0)
            continue;
        ssize_t n = read(fd, buf + len, cap - 1 - len);
        if (n <= 0)
            break;
        len += (size_t)n;
    }
    buf[len] = '\0';
    assert_true(hp_parse_response_head((const uint8_t *)buf, len, NULL, head) > 0);
    return len;
}

/* One request on a new connection: the status; *body (malloc'ed) and its length. */
static int http(const struct kb_broker *b, const char *req, char **body, size_t *blen)
{
    struct hp_response_head head;
    size_t cap = 32u << 20;
    char *buf = malloc(cap);
    assert_non_null(buf);
    int fd = http_connect(b);
    kb_send(fd, req, strlen(req));
    size_t len = read_response(fd, buf, cap, &head);
    int hl = hp_parse_response_head((const uint8_t *)buf, len, NULL, &head);
    close(fd);
    if (body) {
        *blen = len - (size_t)hl;
        *body = malloc(*blen + 1);
        memcpy(*body, buf + hl, *blen + 1);
    }
    free(buf);
    return head.status;
}

#define GET(path) "GET " path " HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"

/* Some traffic: N records to m-0, a commit of 15, a long-poll that times out. */
static void make_traffic(const struct kb_broker *b)
{
    struct np_client c;
    struct np_create_topic_resp cr;
    struct np_produce_resp pr;
    struct np_consume_batch_resp br;
    kb_client(b, &c);
    assert_int_equal(np_client_create_topic(&c, "m", 2, &cr), 0);
    for (int i = 0; i < N; i++) {
        struct np_produce_req req = {S("m"), 0, i % 2 ? NP_ACKS_ALL : 1, -1, {NULL, -1}, S("v")};
        assert_int_equal(np_client_produce(&c, &req, &pr), 0);
    }
    struct np_commit_req cm = {S("grp"), S("m"), 0, 15, {NULL, -1}};
    assert_int_equal(np_client_commit(&c, &cm), 0);
    struct np_consume_batch_req wait = {S("m"), 1, 0, 10, 1 << 20, 20};
    assert_int_equal(np_client_consume_batch(&c, &wait, &br), 0);
    np_client_close(&c);
}

static const struct hp_sample *find(const struct hp_scrape *s, const char *family,
                                    const char *sample, const char *l1, const char *v1,
                                    const char *l2, const char *v2)
{
    const struct hp_family *f = hp_scrape_family(s, family);
    if (!f)
        fail_msg("no family %s", family);
    for (size_t i = 0; i < f->nsamples; i++) {
        const struct hp_sample *sm = &f->samples[i];
        const char *a = l1 ? hp_sample_label(sm, l1) : NULL, *c = l2 ? hp_sample_label(sm, l2) : NULL;
        if (strcmp(sm->name, sample) == 0 && (!l1 || (a && !strcmp(a, v1))) &&
            (!l2 || (c && !strcmp(c, v2))))
            return sm;
    }
    fail_msg("no sample %s{%s=%s,%s=%s}", sample, l1, v1, l2, v2);
    return NULL;
}

/* Prometheus' own parsers accept the broker's text: promtool (scripts/deps.sh takes it out
 * of Debian's prometheus package into build/tools) and the Python client. */
static void external_check(const char *text, size_t len)
{
    char *dir = kc_test_tmpdir(), path[512], tool[512], cmd[2048];
    snprintf(path, sizeof(path), "%s/metrics.txt", dir);
    assert_int_equal(kc_atomic_replace(path, text, len), 0);
    const char *src = getenv("KC_SRC_DIR") ? getenv("KC_SRC_DIR") : ".";
    snprintf(tool, sizeof(tool), "%s/build/tools/usr/bin/promtool", src);
    if (access(tool, X_OK) != 0)
        snprintf(tool, sizeof(tool), "/usr/bin/promtool");
    snprintf(cmd, sizeof(cmd), "%s check metrics < %s", tool, path);
    assert_int_equal(system(cmd), 0);
    snprintf(cmd, sizeof(cmd),
             "/usr/bin/python3 -c 'import sys; from prometheus_client.parser import "
             "text_string_to_metric_families as f; n = sum(len(x.samples) for x in "
             "f(open(sys.argv[1]).read())); sys.exit(0 if n > 0 else 1)' %s", path);
    assert_int_equal(system(cmd), 0);
    kc_test_rmdir(dir);
}

static void test_metrics_tell_what_the_broker_did(void **state)
{
    struct kb_broker *b = *state;
    char *body, why[256];
    size_t len;
    struct hp_scrape s;
    make_traffic(b);
    assert_int_equal(http(b, GET("/metrics"), &body, &len), 200);
    if (hp_expo_parse(body, len, &s, why, sizeof(why)) != 0)
        fail_msg("our own parser refused /metrics: %s", why);
    assert_int_equal(find(&s, "kafka_log_end_offset", "kafka_log_end_offset", "topic", "m",
                          "partition", "0")->value, N);
    assert_int_equal(find(&s, "kafka_log_appended_records_total",
                          "kafka_log_appended_records_total", "topic", "m", "partition", "0")
                         ->value, N);
    assert_true(find(&s, "kafka_log_appended_bytes_total", "kafka_log_appended_bytes_total",
                     "topic", "m", "partition", "0")->value > N * 60);
    assert_int_equal(find(&s, "kafka_log_start_offset", "kafka_log_start_offset", "topic", "m",
                          "partition", "1")->value, 0);
    assert_int_equal(find(&s, "kafka_group_committed_offset", "kafka_group_committed_offset",
                          "group", "grp", "topic", "m")->value, 15);
    assert_int_equal(find(&s, "kafka_group_lag", "kafka_group_lag", "group", "grp", "topic", "m")
                         ->value, N - 15);
    assert_int_equal(find(&s, "kafka_requests_total", "kafka_requests_total", "protocol",
                          "native", "api", "produce")->value, N);
    const struct hp_sample *cnt = find(&s, "kafka_request_duration_seconds",
                                       "kafka_request_duration_seconds_count", "protocol",
                                       "native", "api", "consume-batch");
    assert_int_equal(cnt->value, 1);
    const struct hp_sample *fast = find(&s, "kafka_request_duration_seconds",
                                        "kafka_request_duration_seconds_bucket", "api",
                                        "consume-batch", "le", "0.01");
    assert_int_equal(fast->value, 0); /* it waited its 20 ms: the histogram saw the wait */
    assert_true(find(&s, "kafka_fsync_duration_seconds", "kafka_fsync_duration_seconds_count",
                     NULL, NULL, NULL, NULL)->value >= 1);
    assert_true(find(&s, "kafka_network_received_bytes_total",
                     "kafka_network_received_bytes_total", "protocol", "native", NULL, NULL)
                    ->value > 0);
    assert_int_equal(find(&s, "kafka_parked_requests", "kafka_parked_requests", "kind",
                          "consume", NULL, NULL)->value, 0);
    assert_int_equal(find(&s, "kafka_broker_build_info", "kafka_broker_build_info", NULL, NULL,
                          NULL, NULL)->value, 1);
    assert_int_equal(hp_scrape_family(&s, "kafka_connections_open")->type, HP_GAUGE);
    assert_int_equal(hp_scrape_family(&s, "kafka_requests_total")->type, HP_COUNTER);
    hp_scrape_free(&s);
    external_check(body, len);
    free(body);
}

static void test_health_and_refusals(void **state)
{
    struct kb_broker *b = *state;
    char *body;
    size_t len;
    assert_int_equal(http(b, GET("/health"), &body, &len), 200);
    assert_non_null(strstr(body, "\"status\":\"serving\""));
    assert_int_equal(body[len - 1], '\n');
    free(body);
    assert_int_equal(http(b, GET("/nothing"), NULL, NULL), 404);
    assert_int_equal(http(b, "POST /metrics HTTP/1.1\r\nHost: t\r\n\r\n", NULL, NULL), 405);
    assert_int_equal(http(b, "GET /metrics HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n\r\nabc",
                          NULL, NULL), 413);
    assert_int_equal(http(b, "GET /me trics HTTP/1.1\r\nHost: t\r\n\r\n", NULL, NULL), 400);
    assert_int_equal(http(b, "GET /../etc HTTP/1.1\r\nHost: t\r\n\r\n", NULL, NULL), 400);
    char *line = malloc(10000);
    memset(line, 'a', 9999);
    memcpy(line, "GET /", 5);
    line[9999] = '\0';
    assert_int_equal(http(b, line, NULL, NULL), 414);
    char hdrs[4000] = "GET /metrics HTTP/1.1\r\nHost: t\r\n";
    for (int i = 0; i < 40; i++)
        strcat(hdrs, "X-A: b\r\n");
    strcat(hdrs, "\r\n");
    assert_int_equal(http(b, hdrs, NULL, NULL), 431);
    free(line);
    /* HEAD: the headers of a GET, no body. */
    assert_int_equal(http(b, "HEAD /health HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
                          &body, &len), 200);
    assert_int_equal(len, 0);
    free(body);
    /* Keep-alive: two answers on one connection; HTTP/1.0 closes after one. */
    struct hp_response_head head;
    char buf[65536];
    int fd = http_connect(b);
    for (int i = 0; i < 2; i++) {
        kb_send(fd, "GET /health HTTP/1.1\r\nHost: t\r\n\r\n", 33);
        read_response(fd, buf, sizeof(buf), &head);
        assert_int_equal(head.status, 200);
        assert_true(head.keep_alive);
    }
    close(fd);
    fd = http_connect(b);
    kb_send(fd, "GET /health HTTP/1.0\r\n\r\n", 24);
    read_response(fd, buf, sizeof(buf), &head);
    assert_int_equal(head.status, 200);
    assert_true(kb_closed(fd, KB_WAIT_MS));
    close(fd);
}

/* A head that trickles in is closed (here after connections.max.idle.ms = 1500 ms, the
 * shorter of the two limits), while the native door keeps serving meanwhile. */
static void test_trickling_request_closed_others_served(void **state)
{
    struct kb_broker *b = *state;
    const char *args[] = {"--override", "connections.max.idle.ms=1500", NULL};
    kb_start(b, args);
    int fd = http_connect(b);
    int64_t t0 = kc_mono_ms();
    bool closed = false;
    for (int i = 0; i < 40 && !closed; i++) { /* one byte every 100 ms: active, never whole */
        kb_send(fd, "G", 1);
        closed = kb_closed(fd, 100);
    }
    assert_true(closed || kb_closed(fd, 3000));
    int64_t took = kc_mono_ms() - t0;
    assert_true(took >= 1400 && took < 4000);
    close(fd);
    struct np_client c;
    kb_client(b, &c);
    assert_int_equal(np_client_ping(&c, "still here", 10), 0);
    np_client_close(&c);
    kb_stop(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_metrics_tell_what_the_broker_did, kb_setup_started,
                                        kb_teardown),
        cmocka_unit_test_setup_teardown(test_health_and_refusals, kb_setup_started, kb_teardown),
        cmocka_unit_test_setup_teardown(test_trickling_request_closed_others_served, kb_setup,
                                        kb_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
