/*
 * test_0012_native_tls.c - the native door over TLS, end to end: kafka_cli and its load
 * test through an SSL listener; mutual TLS, where the certificate's subject is the
 * principal an ACL allows; and the refusals, each bounded in time and said in a sentence:
 * a CA that did not sign the broker, an expired broker certificate, a name the certificate
 * does not carry, a plaintext client on a TLS port, a TLS client on a plaintext port.
 * Stalled handshakes (nothing sent, or half a ClientHello) cost bounded memory and are
 * closed after ssl.handshake.timeout.ms.
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
#include <sys/socket.h>
#include <unistd.h>

#include "kc_common.h"
#include "kc_test.h"
#include "sec_acl.h"
#include "support/harness.h"
#include "zc_tls.h"

#define ARGS(...) ((const char *const[]){__VA_ARGS__, NULL})

/* kafka_cli -b addr <opts...> <cmd...>: status, stdout, stderr; and how long it took. */
static int run_cli(const struct kb_broker *b, const char *addr, const char *const *opts,
                   const char *const *cmd, char **out, char **err, int64_t *ms)
{
    const char *argv[40] = {"-b", addr, "--timeout", "10000"};
    int n = 4;
    for (int i = 0; opts && opts[i]; i++)
        argv[n++] = opts[i];
    for (int i = 0; cmd[i]; i++)
        argv[n++] = cmd[i];
    argv[n] = NULL;
    int64_t t0 = kc_mono_ms();
    int rc = kb_exec(b, "kafka_cli", NULL, out, err, argv);
    if (ms)
        *ms = kc_mono_ms() - t0;
    return rc;
}

static void expect_cli(const struct kb_broker *b, const char *addr, const char *const *opts,
                       const char *const *cmd, int status, const char *out_has,
                       const char *err_has)
{
    char *o, *e;
    int64_t ms;
    int rc = run_cli(b, addr, opts, cmd, &o, &e, &ms);
    if (rc != status || (out_has && !strstr(o, out_has)) || (err_has && !strstr(e, err_has)))
        fail_msg("kafka_cli %s on %s: status %d (want %d)\nstdout: [%s]\nstderr: [%s]", cmd[0],
                 addr, rc, status, o, e);
    assert_true(ms < 9000); /* every refusal is prompt: none waits for the client's timeout */
    free(o);
    free(e);
}

/* A broker whose first listener is SSL (keystore `keystore`), then PLAINTEXT; more
 * settings in extra (NULL-terminated pairs of "--override", "k=v"). */
static void start_ssl(struct kb_broker *b, const char *keystore, const char *const *extra)
{
    char ks[700], ts[700];
    const char *args[32] = {"--override", "listeners=SSL://127.0.0.1:0,PLAINTEXT://127.0.0.1:0",
                            "--override", ks, "--override", ts};
    int n = 6;
    snprintf(ks, sizeof(ks), "ssl.keystore.location=%s", kb_cert(b, keystore));
    snprintf(ts, sizeof(ts), "ssl.truststore.location=%s", kb_cert(b, "ca.pem"));
    for (int i = 0; extra && extra[i]; i++)
        args[n++] = extra[i];
    args[n] = NULL;
    kb_start(b, args);
}

static void test_0012_cli_and_load_test_over_tls(void **state)
{
    struct kb_broker *b = *state;
    char ca[700];
    kb_certs(b);
    start_ssl(b, "server.pem", NULL);
    snprintf(ca, sizeof(ca), "%s", kb_cert(b, "ca.pem"));
    const char *const tls[] = {"--tls-ca", ca, NULL};
    expect_cli(b, b->addr, tls, ARGS("create", "secure", "2"), 0, "partitions=2", NULL);
    expect_cli(b, b->addr, tls, ARGS("produce", "secure", "over TLS", "--partition", "1"), 0,
               "offset=0", NULL);
    expect_cli(b, b->addr, tls, ARGS("consume", "secure", "1", "0"), 0, "0\tover TLS", NULL);
    expect_cli(b, b->addr, tls, ARGS("consume-batch", "secure", "1", "0", "10"), 0,
               "0\tover TLS", NULL);
    /* "localhost" is in the certificate too */
    char local[64];
    snprintf(local, sizeof(local), "localhost:%d", b->port);
    expect_cli(b, local, tls, ARGS("metadata", "secure"), 0, "log_end=1", NULL);
    /* the load test: two producers, pipelined, each its own TLS connection, verified */
    expect_cli(b, b->addr, tls,
               ARGS("test", "loadtls", "4000", "--size", "100", "--batch", "20", "--producers",
                    "2", "--verify"),
               0, "verify", NULL);
}

/* ssl.client.auth=requested: a client certificate names the principal (its subject); an
 * ACL allows exactly that principal. No certificate: User:ANONYMOUS, refused by the ACLs.
 * A certificate from another CA: the handshake itself fails. */
static void test_0012_mutual_tls_principal_is_the_certificate_subject(void **state)
{
    struct kb_broker *b = *state;
    char ca[700], crt[700], key[700], rogue[700];
    kb_certs(b);
    kb_acl(b, KB_CLIENT_CERT_PRINCIPAL, SEC_OP_ALL, SEC_RES_TOPIC, SEC_PAT_LITERAL, "mtls",
           SEC_PERM_ALLOW);
    start_ssl(b, "server.pem",
              ARGS("--override", "ssl.client.auth=requested", "--override",
                   "authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer"));
    snprintf(ca, sizeof(ca), "%s", kb_cert(b, "ca.pem"));
    snprintf(crt, sizeof(crt), "%s", kb_cert(b, "client.crt"));
    snprintf(key, sizeof(key), "%s", kb_cert(b, "client.key"));
    snprintf(rogue, sizeof(rogue), "%s", kb_cert(b, "rogue-client.pem"));
    const char *const alice[] = {"--tls-ca", ca, "--tls-cert", crt, "--tls-key", key, NULL};
    const char *const anon[] = {"--tls-ca", ca, NULL};
    const char *const mallory[] = {"--tls-ca", ca, "--tls-cert", rogue, NULL};
    expect_cli(b, b->addr, alice, ARGS("produce", "mtls", "from alice"), 0, "offset=0", NULL);
    expect_cli(b, b->addr, alice, ARGS("consume", "mtls", "0", "0"), 0, "from alice", NULL);
    expect_cli(b, b->addr, anon, ARGS("produce", "mtls", "from nobody"), 1,
               NULL, "TOPIC_AUTHORIZATION_FAILED: User:ANONYMOUS is not authorized to WRITE "
                     "topic 'mtls'");
    /* (TLS 1.3: the broker's verdict on our certificate comes after the handshake, as an
     * alert in place of the first answer) */
    expect_cli(b, b->addr, mallory, ARGS("produce", "mtls", "from mallory"), 4, NULL,
               "alert unknown ca");
    expect_cli(b, b->addr, alice, ARGS("produce", "other", "x"), 1, NULL,
               "User:CN=alice,OU=eng,O=acme is not authorized to WRITE topic 'other'");
    assert_true(kb_log_has(b, "denied WRITE on TOPIC mtls"));
}

/* Every way the TLS setup can be wrong gets a prompt, clear refusal. */
static void test_0012_refusals_are_prompt_and_clear(void **state)
{
    struct kb_broker *b = *state;
    char ca[700], other[700];
    kb_certs(b);
    start_ssl(b, "server.pem", NULL);
    snprintf(ca, sizeof(ca), "%s", kb_cert(b, "ca.pem"));
    snprintf(other, sizeof(other), "%s", kb_cert(b, "other-ca.pem"));
    /* a CA that did not sign the broker's certificate */
    expect_cli(b, b->addr, ARGS("--tls-ca", other), ARGS("metadata"), 4,
               NULL, "certificate verify failed");
    /* a plaintext client on the TLS port: closed, never a hang */
    expect_cli(b, b->addr, NULL, ARGS("metadata"), 3, NULL, "give --tls-ca");
    /* a TLS client on the plaintext port */
    expect_cli(b, kb_addr_of(b, "PLAINTEXT"), ARGS("--tls-ca", ca), ARGS("metadata"), 4, NULL,
               "is this a TLS port?");
    /* a name the certificate does not carry (the client checks it) */
    struct np_client c;
    struct zc_tls_ctx *ctx = kb_tls_client(b, "ca.pem", NULL);
    assert_int_equal(np_client_connect(&c, b->addr, KB_WAIT_MS), 0);
    assert_int_equal(np_client_start_tls(&c, ctx, "broker.example.com"), -EPROTO);
    assert_non_null(strstr(c.errmsg, "certificate verify failed"));
    np_client_close(&c);
    /* ... and the right one works through the same client library */
    assert_int_equal(kb_client_sec(b, b->port, ctx, NULL, NULL, NULL, &c), 0);
    assert_int_equal(np_client_ping(&c, "tls", 3), 0);
    np_client_close(&c);
    zc_tls_ctx_free(ctx);
    assert_true(kb_log_has(b, "SSL handshake failed"));
}

static void test_0012_expired_broker_certificate_is_refused(void **state)
{
    struct kb_broker *b = *state;
    char ca[700];
    kb_certs(b);
    start_ssl(b, "expired.pem", NULL);
    snprintf(ca, sizeof(ca), "%s", kb_cert(b, "ca.pem"));
    expect_cli(b, b->addr, ARGS("--tls-ca", ca), ARGS("metadata"), 4, NULL,
               "certificate has expired");
}

/* A pipeline far larger than the socket buffers, through TLS: 32 MiB of pings sent in one
 * flush, echoed back. The broker stops reading while its answers are not read, so the
 * client must read while it writes - through the session (np_client_flush). */
static void test_0012_pipelining_over_tls_reads_while_it_writes(void **state)
{
    struct kb_broker *b = *state;
    enum { N = 4096, SIZE = 8192 };
    static uint8_t payload[SIZE];
    struct np_client c;
    struct np_frame f;
    kb_certs(b);
    start_ssl(b, "server.pem", NULL);
    struct zc_tls_ctx *ctx = kb_tls_client(b, "ca.pem", NULL);
    assert_int_equal(kb_client_sec(b, b->port, ctx, NULL, NULL, NULL, &c), 0);
    for (int i = 0; i < SIZE; i++)
        payload[i] = (uint8_t)(i * 7);
    uint32_t first = np_client_next_corr(&c) + 1;
    for (int i = 0; i < N; i++) {
        struct np_ping_req req = {{payload, SIZE}};
        np_encode_ping(np_client_out(&c), np_client_next_corr(&c), &req);
    }
    assert_int_equal(np_client_flush(&c), 0);
    for (int i = 0; i < N; i++) {
        struct np_ping_resp resp;
        assert_int_equal(np_client_recv(&c, &f), 0);
        assert_int_equal(f.h.corr, first + (uint32_t)i);
        assert_int_equal(np_decode_ping_resp(f.body, f.body_len, &resp), 0);
        assert_int_equal(resp.payload.len, SIZE);
        assert_memory_equal(resp.payload.p, payload, SIZE);
    }
    np_client_close(&c);
    zc_tls_ctx_free(ctx);
}

/* ---- stalled handshakes ---------------------------------------------------------------------- */

/* The first bytes of a real ClientHello, as an OpenSSL client writes them. */
static size_t client_hello(const struct kb_broker *b, uint8_t *buf, size_t cap)
{
    int sv[2];
    struct zc_tls *t;
    struct zc_tls_ctx *ctx = kb_tls_client(b, "ca.pem", NULL);
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
    assert_int_equal(zc_tls_new(ctx, sv[0], "127.0.0.1", &t), 0);
    assert_int_equal(zc_tls_handshake(t), 0); /* ClientHello sent; waits for the server */
    ssize_t n = read(sv[1], buf, cap);
    assert_true(n > 100);
    zc_tls_free(t);
    zc_tls_ctx_free(ctx);
    close(sv[0]);
    close(sv[1]);
    return (size_t)n;
}

static long rss_kb(pid_t pid)
{
    char path[64], line[256];
    long kb = -1;
    snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r"); /* a /proc file says size 0: read it line by line */
    assert_non_null(f);
    while (kb < 0 && fgets(line, sizeof(line), f))
        if (strncmp(line, "VmRSS:", 6) == 0)
            kb = atol(line + 6);
    fclose(f);
    assert_true(kb > 0);
    return kb;
}

static void test_0012_stalled_handshakes_cost_bounded_memory_and_time_out(void **state)
{
    struct kb_broker *b = *state;
    enum { N = 100, TIMEOUT_MS = 1000 };
    uint8_t hello[4096];
    int fds[N];
    kb_certs(b);
    start_ssl(b, "server.pem", ARGS("--override", "ssl.handshake.timeout.ms=1000"));
    size_t len = client_hello(b, hello, sizeof(hello));
    long before = rss_kb(b->pid);
    int64_t t0 = kc_mono_ms();
    for (int i = 0; i < N; i++) { /* even: silent; odd: half a ClientHello, then silence */
        fds[i] = kb_connect(b);
        if (i % 2)
            kb_send(fds[i], hello, len / 2);
    }
    kc_sleep_ms(300); /* the broker has read what came, and waits */
    long after = rss_kb(b->pid);
    long per = (after - before) * 1024 / N;
    printf("# %d stalled TLS handshakes (half silent, half with %zu of %zu ClientHello bytes): "
           "broker RSS %ld -> %ld KB, %ld bytes each\n", N, len / 2, len, before, after, per);
    assert_true(per < 256 * 1024); /* bounded: OpenSSL's buffers for a started handshake */
    for (int i = 0; i < N; i++) /* each is closed by the broker, none before the timeout */
        assert_true(kb_closed(fds[i], KB_WAIT_MS));
    int64_t took = kc_mono_ms() - t0;
    printf("# all %d closed after %lld ms (ssl.handshake.timeout.ms=%d)\n", N, (long long)took,
           TIMEOUT_MS);
    assert_true(took >= TIMEOUT_MS);
    assert_true(took < TIMEOUT_MS + 5000);
    for (int i = 0; i < N; i++)
        close(fds[i]);
    assert_true(kb_log_has(b, "TLS handshake not done after"));
    /* and the broker still serves */
    struct np_client c;
    struct zc_tls_ctx *ctx = kb_tls_client(b, "ca.pem", NULL);
    assert_int_equal(kb_client_sec(b, b->port, ctx, NULL, NULL, NULL, &c), 0);
    assert_int_equal(np_client_ping(&c, NULL, -1), 0);
    np_client_close(&c);
    zc_tls_ctx_free(ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_0012_cli_and_load_test_over_tls, kb_setup,
                                        kb_teardown),
        cmocka_unit_test_setup_teardown(test_0012_mutual_tls_principal_is_the_certificate_subject,
                                        kb_setup, kb_teardown),
        cmocka_unit_test_setup_teardown(test_0012_refusals_are_prompt_and_clear, kb_setup,
                                        kb_teardown),
        cmocka_unit_test_setup_teardown(test_0012_expired_broker_certificate_is_refused, kb_setup,
                                        kb_teardown),
        cmocka_unit_test_setup_teardown(test_0012_pipelining_over_tls_reads_while_it_writes,
                                        kb_setup, kb_teardown),
        cmocka_unit_test_setup_teardown(test_0012_stalled_handshakes_cost_bounded_memory_and_time_out,
                                        kb_setup, kb_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
