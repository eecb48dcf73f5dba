/*
 * test_0011_native_sasl.c - the native door behind SASL, end to end: kafka_cli with PLAIN,
 * SCRAM-SHA-256 and SCRAM-SHA-512 over SASL_PLAINTEXT and SASL_SSL (produce, consume,
 * commit, fetch the offset back); and every way in that must fail: a wrong password and an
 * unknown user (one message for both), no SASL at all, a request pipelined behind the
 * handshake, a mechanism not enabled, a second handshake, SASL on a PLAINTEXT listener, a
 * password on the command line. A failed exchange closes the connection only after
 * connection.failed.authentication.delay.ms, and no password ever reaches the broker's log.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kc_common.h"
#include "kc_test.h"
#include "support/harness.h"

#define ARGS(...)  ((const char *const[]){__VA_ARGS__, NULL})
#define PASSWORD   "alice-secret"
#define DELAY_MS   400

/* A broker with a SASL_SSL listener first, then SASL_PLAINTEXT and PLAINTEXT; alice has
 * SCRAM-SHA-256 and -512 credentials (PLAIN checks the first). */
static void start_sasl(struct kb_broker *b)
{
    char ks[700];
    kb_certs(b);
    kb_add_scram(b, "SCRAM-SHA-256", "alice", PASSWORD);
    kb_add_scram(b, "SCRAM-SHA-512", "alice", PASSWORD);
    snprintf(ks, sizeof(ks), "ssl.keystore.location=%s", kb_cert(b, "server.pem"));
    const char *args[] = {"--override",
                          "listeners=SASL_SSL://127.0.0.1:0,SASL_PLAINTEXT://127.0.0.1:0,"
                          "PLAINTEXT://127.0.0.1:0",
                          "--override", ks,
                          "--override", "sasl.enabled.mechanisms=PLAIN,SCRAM-SHA-256,SCRAM-SHA-512",
                          "--override", "connection.failed.authentication.delay.ms=400",
                          NULL};
    kb_start(b, args);
}

/* The password file a careful user writes: 0600, one line. */
static const char *password_file(const struct kb_broker *b, const char *password)
{
    static char path[600];
    char line[128];
    snprintf(path, sizeof(path), "%s/password", b->dir);
    snprintf(line, sizeof(line), "%s\n", password);
    assert_int_equal(kc_atomic_replace(path, line, strlen(line)), 0);
    assert_int_equal(chmod(path, 0600), 0);
    return path;
}

/* kafka_cli -b addr <opts...> <cmd...>: its status; stdout and stderr in *out, *err. */
static int run_cli(const struct kb_broker *b, const char *addr, const char *const *opts,
                   const char *const *cmd, char **out, char **err)
{
    const char *argv[40] = {"-b", addr};
    int n = 2;
    for (int i = 0; opts && opts[i]; i++)
        argv[n++] = opts[i];
    for (int i = 0; cmd[i]; i++)
        argv[n++] = cmd[i];
    argv[n] = NULL;
    return kb_exec(b, "kafka_cli", NULL, out, err, argv);
}

static void expect_cli(const struct kb_broker *b, const char *addr, const char *const *opts,
                       const char *const *cmd, int status, const char *out_has,
                       const char *err_has)
{
    char *o, *e;
    int rc = run_cli(b, addr, opts, cmd, &o, &e);
    if (rc != status || (out_has && !strstr(o, out_has)) || (err_has && !strstr(e, err_has)))
        fail_msg("kafka_cli %s on %s: status %d (want %d)\nstdout: [%s]\nstderr: [%s]", cmd[0],
                 addr, rc, status, o, e);
    free(o);
    free(e);
}

static void test_0011_each_mechanism_on_each_sasl_listener_serves(void **state)
{
    struct kb_broker *b = *state;
    static const char *const mechs[] = {"PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"};
    char topic[64], ca[700], pw[600];
    start_sasl(b);
    snprintf(ca, sizeof(ca), "%s", kb_cert(b, "ca.pem"));
    snprintf(pw, sizeof(pw), "%s", password_file(b, PASSWORD));
    for (int tls = 0; tls < 2; tls++) {
        char addr[64];
        snprintf(addr, sizeof(addr), "%s", tls ? b->addr : kb_addr_of(b, "SASL_PLAINTEXT"));
        for (size_t m = 0; m < KC_ARRAY_SIZE(mechs); m++) {
            /* SASL_SSL: the password from a file; SASL_PLAINTEXT: from the environment */
            const char *const with_file[] = {"--tls-ca", ca, "--sasl-mechanism", mechs[m],
                                             "--sasl-username", "alice",
                                             "--sasl-password-file", pw, NULL};
            const char *const with_env[] = {"--sasl-mechanism", mechs[m], "--sasl-username",
                                            "alice", NULL};
            const char *const *opts = tls ? with_file : with_env;
            if (!tls)
                setenv("KAFKA_CLI_SASL_PASSWORD", PASSWORD, 1);
            snprintf(topic, sizeof(topic), "t-%d-%zu", tls, m);
            expect_cli(b, addr, opts, ARGS("produce", topic, "hello", "--partition", "0"), 0,
                       "offset=0", NULL);
            expect_cli(b, addr, opts, ARGS("consume", topic, "0", "0"), 0, "0\thello", NULL);
            expect_cli(b, addr, opts, ARGS("commit", "g", topic, "0", "1"), 0, "offset=1", NULL);
            expect_cli(b, addr, opts, ARGS("offset", "g", topic, "0"), 0, "1\n", NULL);
            unsetenv("KAFKA_CLI_SASL_PASSWORD");
        }
    }
    /* the load test: each producer's connection authenticates on its own */
    const char *const scram[] = {"--tls-ca", ca, "--sasl-mechanism", "SCRAM-SHA-512",
                                 "--sasl-username", "alice", "--sasl-password-file", pw, NULL};
    expect_cli(b, b->addr, scram,
               ARGS("test", "load", "2000", "--size", "64", "--batch", "10", "--producers", "3",
                    "--verify"),
               0, NULL, NULL);
    assert_true(kb_log_has(b, "authenticated as User:alice (SCRAM-SHA-512)"));
    assert_true(kb_log_has(b, "authenticated as User:alice (PLAIN)"));
    assert_false(kb_log_has(b, PASSWORD));
}

/* A wrong password and a user nobody created read the same: the client learns nothing
 * about which names exist. The broker's log may say which (it is the operator's). */
static void test_0011_wrong_password_and_unknown_user_are_one_refusal(void **state)
{
    struct kb_broker *b = *state;
    start_sasl(b);
    char ca[700], wrong[600], *o, *e1, *e2;
    snprintf(ca, sizeof(ca), "%s", kb_cert(b, "ca.pem"));
    snprintf(wrong, sizeof(wrong), "%s", password_file(b, "not-the-password"));
    static const char *const mechs[] = {"PLAIN", "SCRAM-SHA-256"};
    for (size_t m = 0; m < KC_ARRAY_SIZE(mechs); m++) {
        const char *const alice[] = {"--tls-ca", ca, "--sasl-mechanism", mechs[m],
                                     "--sasl-username", "alice", "--sasl-password-file", wrong,
                                     NULL};
        const char *const nobody[] = {"--tls-ca", ca, "--sasl-mechanism", mechs[m],
                                      "--sasl-username", "mallory", "--sasl-password-file",
                                      wrong, NULL};
        assert_int_equal(run_cli(b, b->addr, alice, ARGS("metadata"), &o, &e1), 4);
        free(o);
        assert_int_equal(run_cli(b, b->addr, nobody, ARGS("metadata"), &o, &e2), 4);
        free(o);
        /* "... as 'alice' failed: SASL_AUTHENTICATION_FAILED: <the broker's text>" */
        const char *t1 = strstr(e1, "SASL_AUTHENTICATION_FAILED"),
                   *t2 = strstr(e2, "SASL_AUTHENTICATION_FAILED");
        if (!t1 || !t2 || strcmp(t1, t2) != 0)
            fail_msg("%s: two different refusals:\n%s%s", mechs[m], e1, e2);
        /* Kafka's generic sentences: PLAIN "Invalid username or password", SCRAM "... due
         * to invalid credentials with SASL mechanism SCRAM-SHA-256" */
        assert_non_null(strcasestr(e1, "invalid"));
        free(e1);
        free(e2);
    }
    assert_false(kb_log_has(b, "not-the-password"));
    assert_false(kb_log_has(b, PASSWORD));
}

/* Without SASL, a SASL listener serves nothing: the CLI says what to add, a raw client is
 * answered ILLEGAL_SASL_STATE once and closed. */
static void test_0011_no_sasl_on_a_sasl_listener_is_refused_and_closed(void **state)
{
    struct kb_broker *b = *state;
    struct np_client c;
    start_sasl(b);
    expect_cli(b, kb_addr_of(b, "SASL_PLAINTEXT"), NULL, ARGS("metadata"), 4,
               NULL, "ILLEGAL_SASL_STATE: this listener (SASL_PLAINTEXT) needs SASL");
    assert_int_equal(kb_client_sec(b, kb_port(b, "SASL_PLAINTEXT"), NULL, NULL, NULL, NULL, &c),
                     0);
    assert_int_equal(np_client_ping(&c, "x", 1), NP_ERR(NP_E_ILLEGAL_SASL_STATE));
    int rc = np_client_ping(&c, "x", 1);
    assert_true(rc == -ECONNRESET || rc == -EPIPE);
    np_client_close(&c);
    /* info too: nothing but the exchange before it */
    assert_int_equal(kb_client_sec(b, kb_port(b, "SASL_PLAINTEXT"), NULL, NULL, NULL, NULL, &c),
                     0);
    struct np_info_resp info;
    assert_int_equal(np_client_info(&c, &info), NP_ERR(NP_E_ILLEGAL_SASL_STATE));
    np_client_close(&c);
}

/* Frames written in one send(2), as an attacker would pipeline them. */
static int send_frames(const struct kb_broker *b, int port, struct kc_writer *w)
{
    struct kb_broker at = *b;
    at.port = port;
    int fd = kb_connect(&at);
    kb_send(fd, kc_writer_data(w), kc_writer_len(w));
    return fd;
}

/* The next answer's command and error code; -1 if the broker closed first. */
static int next_answer(int fd, int *cmd)
{
    uint8_t buf[4096];
    ssize_t n = kb_recv_frame(fd, buf, sizeof(buf));
    if (n < NP_RESP_HEADER_SIZE)
        return -1;
    *cmd = buf[7];
    return (int16_t)kc_load_be16(buf + 12);
}

static void encode_produce(struct kc_writer *w, uint32_t corr, const char *topic)
{
    struct np_produce_req p = {np_str(topic), 0, 1, -1, np_str(NULL), np_str("stolen")};
    np_encode_produce(w, corr, &p);
}

/* Does topic exist? Asked as alice over SASL_PLAINTEXT. */
static bool topic_exists(const struct kb_broker *b, const char *topic)
{
    struct np_client c;
    struct np_metadata_resp m;
    assert_int_equal(kb_client_sec(b, kb_port(b, "SASL_PLAINTEXT"), NULL, "PLAIN", "alice",
                                   PASSWORD, &c), 0);
    int rc = np_client_metadata(&c, topic, &m);
    np_client_close(&c);
    assert_true(rc == 0 || rc == NP_ERR(NP_E_UNKNOWN_TOPIC));
    return rc == 0;
}

/* A produce pipelined behind the handshake in the same packet is judged in the state the
 * connection is in when its turn comes: mid-exchange it is refused and the connection
 * closed; after a failed step it is never read; after a successful one it is served. */
static void test_0011_pipelined_request_before_auth_gains_nothing(void **state)
{
    struct kb_broker *b = *state;
    struct kc_writer w;
    int cmd, port;
    start_sasl(b);
    port = kb_port(b, "SASL_PLAINTEXT");
    kc_writer_init(&w, 0);
    /* SCRAM: handshake + client-first + produce, in one write */
    np_encode_sasl_handshake(&w, 1, &(struct np_sasl_handshake_req){np_str("SCRAM-SHA-256")});
    np_encode_sasl_authenticate(&w, 2, &(struct np_sasl_authenticate_req){
                                           np_str("n,,n=alice,r=abcdefghijklmnop")});
    encode_produce(&w, 3, "stolen-1");
    int fd = send_frames(b, port, &w);
    assert_int_equal(next_answer(fd, &cmd), NP_E_NONE);
    assert_int_equal(cmd, NP_SASL_HANDSHAKE);
    assert_int_equal(next_answer(fd, &cmd), NP_E_NONE); /* server-first */
    assert_int_equal(next_answer(fd, &cmd), NP_E_ILLEGAL_SASL_STATE);
    assert_int_equal(cmd, NP_PRODUCE);
    assert_true(kb_closed(fd, KB_WAIT_MS));
    close(fd);
    /* PLAIN with a wrong password + produce: the failure, then nothing */
    kc_writer_reset(&w);
    np_encode_sasl_handshake(&w, 1, &(struct np_sasl_handshake_req){np_str("PLAIN")});
    np_encode_sasl_authenticate(&w, 2, &(struct np_sasl_authenticate_req){
                                           {(const uint8_t *)"\0alice\0wrong", 12}});
    encode_produce(&w, 3, "stolen-2");
    fd = send_frames(b, port, &w);
    assert_int_equal(next_answer(fd, &cmd), NP_E_NONE);
    assert_int_equal(next_answer(fd, &cmd), NP_E_SASL_AUTHENTICATION_FAILED);
    assert_int_equal(next_answer(fd, &cmd), -1); /* closed: the produce was never served */
    close(fd);
    /* no SASL at all: a produce first */
    kc_writer_reset(&w);
    encode_produce(&w, 1, "stolen-3");
    fd = send_frames(b, port, &w);
    assert_int_equal(next_answer(fd, &cmd), NP_E_ILLEGAL_SASL_STATE);
    assert_int_equal(next_answer(fd, &cmd), -1);
    close(fd);
    /* PLAIN with the right password + produce: authenticated by its turn, so served */
    kc_writer_reset(&w);
    np_encode_sasl_handshake(&w, 1, &(struct np_sasl_handshake_req){np_str("PLAIN")});
    np_encode_sasl_authenticate(&w, 2, &(struct np_sasl_authenticate_req){
                                           {(const uint8_t *)"\0alice\0" PASSWORD, 19}});
    encode_produce(&w, 3, "earned");
    fd = send_frames(b, port, &w);
    assert_int_equal(next_answer(fd, &cmd), NP_E_NONE);
    assert_int_equal(next_answer(fd, &cmd), NP_E_NONE);
    assert_int_equal(next_answer(fd, &cmd), NP_E_NONE);
    assert_int_equal(cmd, NP_PRODUCE);
    close(fd);
    kc_writer_fini(&w);
    assert_false(topic_exists(b, "stolen-1"));
    assert_false(topic_exists(b, "stolen-2"));
    assert_false(topic_exists(b, "stolen-3"));
    assert_true(topic_exists(b, "earned"));
}

/* The answer to a failed exchange comes at once; the connection closes only after
 * connection.failed.authentication.delay.ms (400 here), so guessing is slow. */
static void test_0011_failed_authentication_closes_after_the_delay(void **state)
{
    struct kb_broker *b = *state;
    struct kc_writer w;
    int cmd;
    start_sasl(b);
    kc_writer_init(&w, 0);
    np_encode_sasl_handshake(&w, 1, &(struct np_sasl_handshake_req){np_str("PLAIN")});
    np_encode_sasl_authenticate(&w, 2, &(struct np_sasl_authenticate_req){
                                           {(const uint8_t *)"\0alice\0guess", 12}});
    int64_t t0 = kc_mono_ms();
    int fd = send_frames(b, kb_port(b, "SASL_PLAINTEXT"), &w);
    assert_int_equal(next_answer(fd, &cmd), NP_E_NONE);
    assert_int_equal(next_answer(fd, &cmd), NP_E_SASL_AUTHENTICATION_FAILED);
    assert_true(kb_closed(fd, KB_WAIT_MS));
    int64_t took = kc_mono_ms() - t0;
    printf("# failed authentication: closed after %lld ms (delay %d ms)\n", (long long)took,
           DELAY_MS);
    assert_true(took >= DELAY_MS);
    close(fd);
    kc_writer_fini(&w);
}

/* The exchange's own rules: a mechanism not enabled (the answer lists those that are, then
 * the connection closes), a second handshake, a step without a handshake, and SASL on a
 * listener without it (refused, the connection still serves). */
static void test_0011_handshake_rules(void **state)
{
    struct kb_broker *b = *state;
    struct np_client c;
    struct np_sasl_handshake_resp hs = {{0, NULL, 0}};
    struct np_sasl_authenticate_resp ar;
    int sp;
    start_sasl(b);
    sp = kb_port(b, "SASL_PLAINTEXT");
    assert_int_equal(kb_client_sec(b, sp, NULL, NULL, NULL, NULL, &c), 0);
    assert_int_equal(np_client_sasl_handshake(&c, "GSSAPI", &hs),
                     NP_ERR(NP_E_UNSUPPORTED_SASL_MECHANISM));
    assert_int_equal(hs.mechanisms.count, 3);
    assert_non_null(strstr(c.errmsg, "this broker offers PLAIN, SCRAM-SHA-256, SCRAM-SHA-512"));
    int rc = np_client_ping(&c, NULL, -1); /* closed after the answer (and the delay) */
    assert_true(rc == -ECONNRESET || rc == -EPIPE);
    np_client_close(&c);
    /* np_client_sasl_login says the same in its words */
    assert_int_equal(kb_client_sec(b, sp, NULL, "SCRAM-SHA-1", "alice", PASSWORD, &c), -EINVAL);
    /* a second handshake after success */
    assert_int_equal(kb_client_sec(b, sp, NULL, "SCRAM-SHA-512", "alice", PASSWORD, &c), 0);
    assert_int_equal(np_client_ping(&c, "ok", 2), 0);
    assert_int_equal(np_client_sasl_handshake(&c, "PLAIN", &hs), NP_ERR(NP_E_ILLEGAL_SASL_STATE));
    np_client_close(&c);
    /* a step without a handshake */
    assert_int_equal(kb_client_sec(b, sp, NULL, NULL, NULL, NULL, &c), 0);
    assert_int_equal(np_client_sasl_authenticate(&c, "x", 1, &ar), NP_ERR(NP_E_ILLEGAL_SASL_STATE));
    np_client_close(&c);
    /* SASL on the PLAINTEXT listener: refused, and the connection goes on */
    assert_int_equal(kb_client_sec(b, kb_port(b, "PLAINTEXT"), NULL, NULL, NULL, NULL, &c), 0);
    assert_int_equal(np_client_sasl_handshake(&c, "PLAIN", &hs), NP_ERR(NP_E_ILLEGAL_SASL_STATE));
    assert_non_null(strstr(c.errmsg, "does not use SASL"));
    assert_int_equal(np_client_sasl_authenticate(&c, "x", 1, &ar), NP_ERR(NP_E_ILLEGAL_SASL_STATE));
    assert_int_equal(np_client_ping(&c, "still", 5), 0);
    np_client_close(&c);
}

/* The password never comes from argv; a missing or empty one is a usage error. */
static void test_0011_cli_password_rules(void **state)
{
    struct kb_broker *b = *state;
    char empty[600];
    start_sasl(b);
    const char *addr = kb_addr_of(b, "SASL_PLAINTEXT");
    expect_cli(b, addr, ARGS("--sasl-mechanism", "PLAIN", "--sasl-username", "alice",
                             "--sasl-password", PASSWORD),
               ARGS("metadata"), 2, NULL, "never taken on the command line");
    unsetenv("KAFKA_CLI_SASL_PASSWORD");
    expect_cli(b, addr, ARGS("--sasl-mechanism", "PLAIN", "--sasl-username", "alice"),
               ARGS("metadata"), 2, NULL, "no SASL password");
    snprintf(empty, sizeof(empty), "%s", password_file(b, ""));
    expect_cli(b, addr, ARGS("--sasl-mechanism", "PLAIN", "--sasl-username", "alice",
                             "--sasl-password-file", empty),
               ARGS("metadata"), 2, NULL, "first line is empty");
    expect_cli(b, addr, ARGS("--sasl-mechanism", "SCRAM-SHA-1", "--sasl-username", "alice"),
               ARGS("metadata"), 2, NULL, "must be PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512");
    assert_false(kb_log_has(b, PASSWORD));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_0011_each_mechanism_on_each_sasl_listener_serves,
                                        kb_setup, kb_teardown),
        cmocka_unit_test_setup_teardown(test_0011_wrong_password_and_unknown_user_are_one_refusal,
                                        kb_setup, kb_teardown),
        cmocka_unit_test_setup_teardown(test_0011_no_sasl_on_a_sasl_listener_is_refused_and_closed,
                                        kb_setup, kb_teardown),
        cmocka_unit_test_setup_teardown(test_0011_pipelined_request_before_auth_gains_nothing,
                                        kb_setup, kb_teardown),
        cmocka_unit_test_setup_teardown(test_0011_failed_authentication_closes_after_the_delay,
                                        kb_setup, kb_teardown),
        cmocka_unit_test_setup_teardown(test_0011_handshake_rules, kb_setup, kb_teardown),
        cmocka_unit_test_setup_teardown(test_0011_cli_password_rules, kb_setup, kb_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
