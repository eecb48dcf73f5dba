/*
 * test_0014_metrics_auth.c - metrics.basic.auth=true on a real broker: /metrics answers a
 * SASL user of the broker (checked against its credential store) and nobody else - 401
 * with the challenge without credentials, 401 and a close after the failed-authentication
 * delay with wrong ones (a wrong password and an unknown user alike) - while /health stays
 * open; kafka_cli top sends the credentials; no password and no Authorization header ever
 * reaches the broker's log. And the metrics listener binds to loopback unless told.
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
#include "kc_common.h"
#include "kc_test.h"
#include "support/harness.h"

#define PASSWORD "metrics-secret"
#define DELAY_MS 300

static int http_connect(const struct kb_broker *b)
{
    struct kb_broker m = *b;
    m.port = b->metrics_port;
    assert_true(m.port > 0);
    return kb_connect(&m);
}

/* Read one response (head + Content-Length body) from fd: its status; *head filled. */
static int read_status(int fd, struct hp_response_head *head)
{
    static char buf[1 << 20];
    size_t len = 0;
    int hl = KC_ENEEDMORE;
    int64_t until = kc_mono_ms() + KB_WAIT_MS;
    while (len < sizeof(buf) && kc_mono_ms() < until) {
        hl = hp_parse_response_head((const uint8_t *)buf, len, NULL, head);
        if (hl > 0 && head->content_length >= 0 &&
            len >= (size_t)hl + (size_t)head->content_length)
            return head->status;
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, 100) <= 0)
            continue;
        ssize_t n = read(fd, buf + len, sizeof(buf) - len);
        if (n <= 0)
            break;
        len += (size_t)n;
    }
    fail_msg("no whole HTTP response (%zu bytes)", len);
    return -1;
}

/* GET /path with "Authorization: Basic base64(userpass)" (NULL: none), keep-alive. */
static void send_get(int fd, const char *path, const char *userpass)
{
    char req[1024], auth[600] = "", b64[400];
    if (userpass) {
        hp_base64_encode((const uint8_t *)userpass, strlen(userpass), b64);
        snprintf(auth, sizeof(auth), "Authorization: Basic %s\r\n", b64);
    }
    snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: t\r\n%s\r\n", path, auth);
    kb_send(fd, req, strlen(req));
}

static void start_auth(struct kb_broker *b)
{
    kb_add_scram(b, "SCRAM-SHA-256", "prometheus", PASSWORD);
    const char *args[] = {"--override", "metrics.basic.auth=true", "--override",
                          "connection.failed.authentication.delay.ms=300", NULL};
    kb_start(b, args);
}

static void test_0014_metrics_wants_a_sasl_user_health_does_not(void **state)
{
    struct kb_broker *b = *state;
    struct hp_response_head h;
    start_auth(b);
    int fd = http_connect(b);
    /* no credentials: the challenge, and the connection stays (a browser asks again) */
    send_get(fd, "/metrics", NULL);
    assert_int_equal(read_status(fd, &h), 401);
    const struct kc_slice *ch = hp_header_get(h.headers, h.nheaders, "www-authenticate");
    assert_non_null(ch);
    assert_int_equal(ch->len, 21);
    assert_memory_equal(ch->p, "Basic realm=\"kafka-c\"", 21);
    assert_true(h.keep_alive);
    /* the right ones, on the same connection */
    send_get(fd, "/metrics", "prometheus:" PASSWORD);
    assert_int_equal(read_status(fd, &h), 200);
    send_get(fd, "/health", NULL); /* open: probes carry no credentials */
    assert_int_equal(read_status(fd, &h), 200);
    close(fd);
    /* another scheme is no credentials either */
    fd = http_connect(b);
    kb_send(fd, "GET /metrics HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer abc\r\n\r\n", 62);
    assert_int_equal(read_status(fd, &h), 401);
    close(fd);
}

/* Wrong credentials: 401, Connection: close, and the close itself only after the delay;
 * a wrong password and an unknown user get the same answer. */
static void test_0014_wrong_credentials_are_refused_slowly(void **state)
{
    struct kb_broker *b = *state;
    struct hp_response_head h;
    static const char *const tries[] = {"prometheus:wrong-guess", "nobody:" PASSWORD,
                                        "prometheus", "prometheus:" PASSWORD "x"};
    start_auth(b);
    for (size_t i = 0; i < KC_ARRAY_SIZE(tries); i++) {
        int fd = http_connect(b);
        int64_t t0 = kc_mono_ms();
        send_get(fd, "/metrics", tries[i]);
        assert_int_equal(read_status(fd, &h), 401);
        assert_false(h.keep_alive);
        assert_true(kb_closed(fd, KB_WAIT_MS));
        int64_t took = kc_mono_ms() - t0;
        if (took < DELAY_MS)
            fail_msg("'%s': closed after %lld ms, before the %d ms delay", tries[i],
                     (long long)took, DELAY_MS);
        close(fd);
    }
    assert_false(kb_log_has(b, "wrong-guess"));
    assert_false(kb_log_has(b, PASSWORD));
    assert_false(kb_log_has(b, "Basic ")); /* the header's value, in any form */
    assert_false(kb_log_has(b, "cHJvbWV0aGV1c")); /* base64 of "prometheus" */
    assert_true(kb_log_has(b, "/metrics: basic authentication failed"));
}

/* kafka_cli top authenticates with the SASL options' user and password. */
static void test_0014_cli_top_sends_the_credentials(void **state)
{
    struct kb_broker *b = *state;
    char metrics[64], pwfile[600], *o, *e;
    start_auth(b);
    snprintf(metrics, sizeof(metrics), "127.0.0.1:%d", b->metrics_port);
    snprintf(pwfile, sizeof(pwfile), "%s/pw", b->dir);
    assert_int_equal(kc_atomic_replace(pwfile, PASSWORD "\n", strlen(PASSWORD) + 1), 0);
    const char *with[] = {"--sasl-mechanism", "PLAIN", "--sasl-username", "prometheus",
                          "--sasl-password-file", pwfile, "top", "--metrics", metrics, "--once",
                          NULL};
    int rc = kb_cli(b, NULL, &o, &e, with);
    if (rc != 0)
        fail_msg("top with credentials: %d\n%s%s", rc, o, e);
    free(o);
    free(e);
    const char *without[] = {"top", "--metrics", metrics, "--once", NULL};
    assert_int_equal(kb_cli(b, NULL, &o, &e, without), 1);
    assert_non_null(strstr(e, "status 401 (metrics.basic.auth"));
    free(o);
    free(e);
    assert_false(kb_log_has(b, PASSWORD));
}

/* The metrics listener's default address is loopback: nothing to configure to keep
 * /metrics off the network. */
static void test_0014_metrics_bind_defaults_to_loopback(void **state)
{
    struct kb_broker *b = *state;
    char *o, *e;
    const char *args[] = {"--help", NULL};
    assert_int_equal(kb_exec(b, "kafka_broker", NULL, &o, &e, args), 0);
    assert_non_null(strstr(o, "metrics.bind=127.0.0.1\n"));
    assert_non_null(strstr(o, "metrics.basic.auth=false\n"));
    free(o);
    free(e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_0014_metrics_wants_a_sasl_user_health_does_not,
                                        kb_setup, kb_teardown),
        cmocka_unit_test_setup_teardown(test_0014_wrong_credentials_are_refused_slowly, kb_setup,
                                        kb_teardown),
        cmocka_unit_test_setup_teardown(test_0014_cli_top_sends_the_credentials, kb_setup,
                                        kb_teardown),
        cmocka_unit_test_setup_teardown(test_0014_metrics_bind_defaults_to_loopback, kb_setup,
                                        kb_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
