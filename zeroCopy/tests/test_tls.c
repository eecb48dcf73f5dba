/* test_tls.c - TLS contexts from Kafka's settings, and sessions on loopback: TLS 1.3 and
 * 1.2, mutual TLS, bad certificates, a plaintext client, TLS 1.1, stalled handshakes
 * (bounded memory), the openssl CLI as an independent client. Certificates are made by
 * the test itself (support/mkcerts.sh). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/crypto.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "kc_common.h"
#include "kc_test.h"
#include "support/tls_fixture.h"
#include "zc_tls.h"
#include "zc_tls_int.h"

/* ---- OpenSSL's allocations, counted (set before OpenSSL allocates anything) ---------- */

static atomic_long live_bytes;

static void *count_malloc(size_t n, const char *file, int line)
{
    (void)file, (void)line;
    size_t *p = malloc(n + 16);
    if (!p)
        return NULL;
    p[0] = n;
    atomic_fetch_add(&live_bytes, (long)n);
    return (char *)p + 16;
}

static void count_free(void *q, const char *file, int line)
{
    (void)file, (void)line;
    if (!q)
        return;
    size_t *p = (size_t *)((char *)q - 16);
    atomic_fetch_sub(&live_bytes, (long)p[0]);
    free(p);
}

static void *count_realloc(void *q, size_t n, const char *file, int line)
{
    if (!q)
        return count_malloc(n, file, line);
    size_t *p = (size_t *)((char *)q - 16), old = p[0];
    size_t *np = realloc(p, n + 16);
    if (!np)
        return NULL;
    np[0] = n;
    atomic_fetch_add(&live_bytes, (long)n - (long)old);
    return (char *)np + 16;
}

/* ---- fixture ------------------------------------------------------------------------- */

struct fx {
    char *dir;
    int fds_before;
};

static int setup(void **state)
{
    struct fx *fx = calloc(1, sizeof(*fx));
    fx->fds_before = kc_test_fd_count();
    fx->dir = tls_fx_certs();
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    struct fx *fx = *state;
    kc_test_rmdir(fx->dir);
    assert_int_equal(kc_test_fd_count(), fx->fds_before);
    free(fx);
    return 0;
}

/* A server context with the settings in kv[] (key, value pairs; NULL-terminated) on top
 * of server.pem; returns the rc and the message. */
static int server_ctx(const char *dir, const char *const *kv, char *err, struct zc_tls_ctx **ctx)
{
    struct zc_tls_config cfg = {.keystore_location = tls_fx_path(dir, "server.pem")};
    for (; kv && kv[0]; kv += 2)
        assert_int_equal(zc_tls_config_set(&cfg, kv[0], kv[1]), 0);
    *ctx = NULL;
    int rc = zc_tls_ctx_new(&cfg, true, ctx, err, 256);
    if (rc == 0)
        zc_tls_ctx_free(*ctx);
    return rc;
}

static void test_tls_config_errors_are_refused_with_reason(void **state)
{
    struct fx *fx = *state;
    struct zc_tls_ctx *ctx;
    char err[256];
    struct zc_tls_config cfg = {0};
    assert_int_equal(zc_tls_config_set(&cfg, "ssl.keystore.loc", "x"), -ENOENT);
    static const struct {
        const char *kv[5];
        const char *msg;
    } cases[] = {
        {{"ssl.enabled.protocols", "TLSv1.1,TLSv1.2"}, "TLSv1.1 is not supported"},
        {{"ssl.enabled.protocols", "SSLv3"}, "SSLv3 is not supported"},
        {{"ssl.enabled.protocols", " , "}, "is empty"},
        {{"ssl.keystore.password", "x"}, "cannot be specified with PEM format"},
        {{"ssl.keystore.type", "JKS"}, "only PEM"},
        {{"ssl.truststore.type", "PKCS12"}, "only PEM"},
        {{"ssl.client.auth", "always"}, "must be none, requested or required"},
        {{"ssl.client.auth", "required"}, "needs ssl.truststore.location"},
        {{"ssl.cipher.suites", "TLS_AES_256_GCM_SHA384,TLS_FAKE_WITH_NOTHING"},
         "unknown cipher suite TLS_FAKE_WITH_NOTHING"},
        {{"ssl.truststore.location", "/nonexistent/ca.pem"}, "no CA certificates"},
    };
    for (size_t i = 0; i < KC_ARRAY_SIZE(cases); i++) {
        int rc = server_ctx(fx->dir, cases[i].kv, err, &ctx);
        if (rc != -EINVAL || !strstr(err, cases[i].msg))
            fail_msg("case %zu: rc %d, \"%s\"", i, rc, err);
    }
    /* the encrypted key: without its password, with a wrong one, with the right one */
    struct zc_tls_config enc = {.keystore_location = tls_fx_path(fx->dir, "server-enc.pem")};
    assert_int_equal(zc_tls_ctx_new(&enc, true, &ctx, err, sizeof(err)), -EINVAL);
    assert_non_null(strstr(err, "cannot read the private key"));
    enc.key_password = "wrong";
    assert_int_equal(zc_tls_ctx_new(&enc, true, &ctx, err, sizeof(err)), -EINVAL);
    enc.key_password = "key-secret";
    assert_int_equal(zc_tls_ctx_new(&enc, true, &ctx, err, sizeof(err)), 0);
    zc_tls_ctx_free(ctx);
    /* a server without a key store */
    assert_int_equal(zc_tls_ctx_new(NULL, true, &ctx, err, sizeof(err)), -EINVAL);
    assert_non_null(strstr(err, "needs ssl.keystore.location"));
}

/* One session pair over loopback. */
struct pair {
    int sfd, cfd;
    struct zc_tls *s, *c;
    int src, crc;
};

static void pair_open(struct pair *p, struct zc_tls_ctx *sctx, struct zc_tls_ctx *cctx,
                      const char *name)
{
    tls_fx_pair(&p->sfd, &p->cfd, 0, 0);
    assert_int_equal(zc_tls_new(sctx, p->sfd, NULL, &p->s), 0);
    assert_int_equal(zc_tls_new(cctx, p->cfd, name, &p->c), 0);
    tls_fx_handshake(p->s, p->c, &p->src, &p->crc);
}

static void pair_close(struct pair *p)
{
    zc_tls_free(p->s);
    zc_tls_free(p->c);
    close(p->sfd);
    close(p->cfd);
}

/* Send msg from a to b and read it back whole. */
static void exchange(struct zc_tls *a, int afd, struct zc_tls *b, int bfd, const char *msg)
{
    struct iovec iov = {(void *)msg, strlen(msg)};
    assert_int_equal(zc_tls_writev(a, &iov, 1), (ssize_t)strlen(msg));
    while (zc_tls_flush(a) == 0)
        tls_fx_wait(afd, a);
    char buf[256];
    size_t got = 0;
    while (got < strlen(msg)) {
        ssize_t n = zc_tls_read(b, buf + got, sizeof(buf) - got);
        if (n == -EAGAIN) {
            tls_fx_wait(bfd, b);
            continue;
        }
        assert_true(n > 0);
        got += (size_t)n;
    }
    assert_memory_equal(buf, msg, got);
}

static void test_tls_handshake_tls13_and_tls12_carry_data(void **state)
{
    struct fx *fx = *state;
    struct zc_tls_ctx *cctx = tls_fx_client(fx->dir, NULL), *sctx;
    char err[256];
    static const struct {
        const char *protocols, *suites, *version, *cipher;
    } cases[] = {
        {NULL, NULL, "TLSv1.3", NULL},
        {"TLSv1.3", "TLS_CHACHA20_POLY1305_SHA256", "TLSv1.3", "TLS_CHACHA20_POLY1305_SHA256"},
        {"TLSv1.2", NULL, "TLSv1.2", NULL},
        {"TLSv1.2", "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384", "TLSv1.2",
         "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384"},
    };
    for (size_t i = 0; i < KC_ARRAY_SIZE(cases); i++) {
        struct zc_tls_config cfg = {.keystore_location = tls_fx_path(fx->dir, "server.pem"),
                                    .enabled_protocols = cases[i].protocols,
                                    .cipher_suites = cases[i].suites};
        assert_int_equal(zc_tls_ctx_new(&cfg, true, &sctx, err, sizeof(err)), 0);
        struct pair p;
        pair_open(&p, sctx, cctx, "127.0.0.1");
        if (p.src != 1 || p.crc != 1)
            fail_msg("case %zu: server %d (%s), client %d (%s)", i, p.src, zc_tls_error(p.s), p.crc,
                     zc_tls_error(p.c));
        assert_string_equal(zc_tls_version(p.s), cases[i].version);
        if (cases[i].cipher)
            assert_string_equal(zc_tls_cipher(p.c), cases[i].cipher);
        exchange(p.c, p.cfd, p.s, p.sfd, "request bytes");
        exchange(p.s, p.sfd, p.c, p.cfd, "response bytes");
        /* a clean close: the reader sees the end of the stream */
        assert_int_equal(zc_tls_shutdown(p.s), 1);
        char buf[8];
        ssize_t n;
        while ((n = zc_tls_read(p.c, buf, sizeof(buf))) == -EAGAIN)
            tls_fx_wait(p.cfd, p.c);
        assert_int_equal(n, 0);
        assert_non_null(strstr(zc_tls_error(p.c), "close_notify"));
        pair_close(&p);
        zc_tls_ctx_free(sctx);
    }
    zc_tls_ctx_free(cctx);
}

/* ssl.client.auth=required: the client certificate's subject reaches the server; without
 * a certificate, or with one from another CA, the handshake fails. */
static void test_tls_mutual_auth_gives_subject_and_refuses_others(void **state)
{
    struct fx *fx = *state;
    struct zc_tls_ctx *sctx = tls_fx_server(fx->dir, "required");
    struct zc_tls_ctx *good = tls_fx_client(fx->dir, "client.pem");
    struct zc_tls_ctx *none = tls_fx_client(fx->dir, NULL);
    struct zc_tls_ctx *rogue = tls_fx_client(fx->dir, "rogue-client.pem");
    struct pair p;
    pair_open(&p, sctx, good, "localhost");
    assert_int_equal(p.src, 1);
    assert_int_equal(p.crc, 1);
    uint8_t *der;
    size_t len;
    assert_int_equal(zc_tls_peer_subject(p.s, &der, &len), 0);
    const unsigned char *q = der;
    X509_NAME *name = d2i_X509_NAME(NULL, &q, (long)len);
    assert_non_null(name);
    char text[128];
    X509_NAME_oneline(name, text, sizeof(text));
    assert_string_equal(text, "/O=acme/OU=eng/CN=alice");
    X509_NAME_free(name);
    free(der);
    assert_int_equal(zc_tls_peer_subject(p.c, &der, &len), 0); /* the server's, too */
    free(der);
    pair_close(&p);

    pair_open(&p, sctx, none, "localhost");
    assert_true(p.src < 0);
    assert_non_null(strstr(zc_tls_error(p.s), "peer did not return a certificate"));
    pair_close(&p);
    pair_open(&p, sctx, rogue, "localhost");
    assert_true(p.src < 0);
    assert_non_null(strstr(zc_tls_error(p.s), "certificate verify failed"));
    pair_close(&p);
    zc_tls_ctx_free(sctx);

    /* requested: no certificate is fine (User:ANONYMOUS for the broker) */
    sctx = tls_fx_server(fx->dir, "requested");
    pair_open(&p, sctx, none, "localhost");
    assert_int_equal(p.src, 1);
    assert_int_equal(zc_tls_peer_subject(p.s, &der, &len), -ENOENT);
    pair_close(&p);
    zc_tls_ctx_free(sctx);
    zc_tls_ctx_free(good);
    zc_tls_ctx_free(none);
    zc_tls_ctx_free(rogue);
}

/* librdkafka's ssl.certificate.location + ssl.key.location: a client certificate and its
 * key in two files work like one keystore; a key that is not the certificate's is refused. */
static void test_tls_client_cert_and_key_in_two_files(void **state)
{
    struct fx *fx = *state;
    struct zc_tls_ctx *sctx = tls_fx_server(fx->dir, "required"), *cctx;
    char err[256];
    struct zc_tls_config cfg = {0};
    assert_int_equal(
        zc_tls_config_set(&cfg, "ssl.truststore.location", tls_fx_path(fx->dir, "ca.pem")), 0);
    assert_int_equal(
        zc_tls_config_set(&cfg, "ssl.certificate.location", tls_fx_path(fx->dir, "client.crt")), 0);
    assert_int_equal(
        zc_tls_config_set(&cfg, "ssl.key.location", tls_fx_path(fx->dir, "client.key")), 0);
    assert_int_equal(zc_tls_ctx_new(&cfg, false, &cctx, err, sizeof(err)), 0);
    struct pair p;
    pair_open(&p, sctx, cctx, "localhost");
    assert_int_equal(p.src, 1);
    assert_int_equal(p.crc, 1);
    uint8_t *der;
    size_t len;
    assert_int_equal(zc_tls_peer_subject(p.s, &der, &len), 0); /* alice's certificate */
    free(der);
    pair_close(&p);
    zc_tls_ctx_free(cctx);
    cfg.key_location = tls_fx_path(fx->dir, "server.key"); /* someone else's key */
    assert_int_equal(zc_tls_ctx_new(&cfg, false, &cctx, err, sizeof(err)), -EINVAL);
    if (!strstr(err, "does not match") && !strstr(err, "key values mismatch"))
        fail_msg("a mismatched key: %s", err);
    cfg.key_location = tls_fx_path(fx->dir, "no-such.key");
    assert_int_equal(zc_tls_ctx_new(&cfg, false, &cctx, err, sizeof(err)), -EINVAL);
    assert_non_null(strstr(err, "ssl.key.location"));
    zc_tls_ctx_free(sctx);
}

/* The client refuses an expired certificate, one from another CA, and a wrong name
 * (unless ssl.endpoint.identification.algorithm is empty). */
static void test_tls_client_refuses_bad_server_certificates(void **state)
{
    struct fx *fx = *state;
    struct zc_tls_ctx *cctx = tls_fx_client(fx->dir, NULL), *sctx;
    static const struct {
        const char *keystore, *name, *reason;
    } cases[] = {
        {"expired.pem", "127.0.0.1", "certificate has expired"},
        /* its chain ends in the other CA's self-signed root, which nobody trusts here */
        {"rogue-server.pem", "127.0.0.1", "self-signed certificate in certificate chain"},
        {"server.pem", "kafka.example.com", "hostname mismatch"},
        {"server.pem", "10.9.8.7", "IP address mismatch"},
    };
    char err[256];
    for (size_t i = 0; i < KC_ARRAY_SIZE(cases); i++) {
        struct zc_tls_config cfg = {.keystore_location = tls_fx_path(fx->dir, cases[i].keystore)};
        assert_int_equal(zc_tls_ctx_new(&cfg, true, &sctx, err, sizeof(err)), 0);
        struct pair p;
        pair_open(&p, sctx, cctx, cases[i].name);
        if (p.crc >= 0 || !strstr(zc_tls_error(p.c), cases[i].reason))
            fail_msg("case %zu: client %d: %s", i, p.crc, zc_tls_error(p.c));
        assert_true(p.src < 0); /* the server hears the client's alert */
        pair_close(&p);
        zc_tls_ctx_free(sctx);
    }
    zc_tls_ctx_free(cctx);
    /* no endpoint identification: the name is not checked, the chain still is */
    struct zc_tls_config cfg = {.truststore_location = tls_fx_path(fx->dir, "ca.pem"),
                                .endpoint_identification = ""};
    assert_int_equal(zc_tls_ctx_new(&cfg, false, &cctx, err, sizeof(err)), 0);
    sctx = tls_fx_server(fx->dir, NULL);
    struct pair p;
    pair_open(&p, sctx, cctx, "kafka.example.com");
    assert_int_equal(p.crc, 1);
    pair_close(&p);
    zc_tls_ctx_free(sctx);
    zc_tls_ctx_free(cctx);
    /* a client that must check the name needs one */
    cctx = tls_fx_client(fx->dir, NULL);
    struct zc_tls *t;
    assert_int_equal(zc_tls_new(cctx, 0, NULL, &t), -EINVAL);
    zc_tls_ctx_free(cctx);
}

/* Write raw bytes on the client socket and run the server's handshake until it ends. */
static int server_against_raw(struct zc_tls_ctx *sctx, const void *bytes, size_t len,
                              bool then_close, char *reason, size_t cap)
{
    int sfd, cfd;
    struct zc_tls *s;
    tls_fx_pair(&sfd, &cfd, 0, 0);
    assert_int_equal(zc_tls_new(sctx, sfd, NULL, &s), 0);
    if (len)
        assert_int_equal(kc_write_all(cfd, bytes, len), (ssize_t)len);
    if (then_close)
        shutdown(cfd, SHUT_WR);
    int rc = 0;
    int64_t deadline = kc_mono_ms() + 3000;
    while (rc == 0 && kc_mono_ms() < deadline) {
        rc = zc_tls_handshake(s);
        if (rc == 0) {
            struct pollfd pfd = {sfd, zc_tls_events(s), 0};
            (void)poll(&pfd, 1, 100);
        }
    }
    snprintf(reason, cap, "%s", zc_tls_error(s));
    zc_tls_free(s);
    close(sfd);
    close(cfd);
    return rc;
}

static void test_tls_plaintext_client_is_refused(void **state)
{
    struct fx *fx = *state;
    struct zc_tls_ctx *sctx = tls_fx_server(fx->dir, NULL);
    char reason[256];
    static const char http[] = "GET /metrics HTTP/1.1\r\nHost: localhost\r\n\r\n";
    assert_int_equal(server_against_raw(sctx, http, sizeof(http) - 1, false, reason, 256), -EPROTO);
    assert_non_null(strstr(reason, "http request"));
    /* a Kafka ApiVersions v3 request, as a plaintext client would send it */
    static const uint8_t kafka[] = {0, 0,   0,   0x1b, 0,   0x12, 0,   3,   0, 0,
                                    0, 1,   0,   5,    'k', 'c',  'a', 't', 0, 0,
                                    5, 'k', 'c', 'a',  't', 1,    0,   0,   0};
    assert_int_equal(server_against_raw(sctx, kafka, sizeof(kafka), false, reason, 256), -EPROTO);
    print_message("plaintext Kafka request on a TLS port: %s\n", reason);
    zc_tls_ctx_free(sctx);
}

/* An OpenSSL client that offers at most TLS 1.1 (it must lower its own security level to
 * even try): refused by the server, which allows 1.2 and 1.3 only. */
static void test_tls_tls11_client_is_refused(void **state)
{
    struct fx *fx = *state;
    struct zc_tls_ctx *sctx = tls_fx_server(fx->dir, NULL);
    SSL_CTX *old = SSL_CTX_new(TLS_client_method());
    assert_non_null(old);
    SSL_CTX_set_security_level(old, 0);
    assert_int_equal(SSL_CTX_set_min_proto_version(old, TLS1_VERSION), 1);
    assert_int_equal(SSL_CTX_set_max_proto_version(old, TLS1_1_VERSION), 1);
    SSL_CTX_set_verify(old, SSL_VERIFY_NONE, NULL);
    int sfd, cfd;
    tls_fx_pair(&sfd, &cfd, 0, 0);
    struct zc_tls *s;
    assert_int_equal(zc_tls_new(sctx, sfd, NULL, &s), 0);
    SSL *c = SSL_new(old);
    SSL_set_fd(c, cfd);
    int src = 0, crc = -1;
    for (int i = 0; i < 500 && (src == 0 || crc == -1); i++) {
        if (src == 0)
            src = zc_tls_handshake(s);
        if (crc == -1) {
            int r = SSL_connect(c);
            int e = SSL_get_error(c, r);
            crc = r == 1 ? 1 : e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE ? -1 : 0;
        }
        (void)poll(NULL, 0, 2);
    }
    assert_int_equal(src, -EPROTO);
    assert_non_null(strstr(zc_tls_error(s), "unsupported protocol"));
    assert_int_equal(crc, 0); /* the old client failed too (alert protocol version) */
    SSL_free(c);
    SSL_CTX_free(old);
    zc_tls_free(s);
    close(sfd);
    close(cfd);
    zc_tls_ctx_free(sctx);
}

/* The first bytes of a real ClientHello (an OpenSSL client's, captured from a socket). */
static size_t client_hello(struct zc_tls_ctx *cctx, uint8_t *buf, size_t cap)
{
    int a, b;
    tls_fx_pair(&a, &b, 0, 0);
    struct zc_tls *c;
    assert_int_equal(zc_tls_new(cctx, a, "localhost", &c), 0);
    assert_int_equal(zc_tls_handshake(c), 0); /* sent ClientHello, waits for the server */
    ssize_t n = read(b, buf, cap);
    assert_true(n > 100);
    zc_tls_free(c);
    close(a);
    close(b);
    return (size_t)n;
}

/* n clients that each send `len` bytes of a ClientHello (0: nothing) and stay; the
 * server's handshakes wait (0, POLLIN) for 200 ms, the caller's timeout. Returns the
 * OpenSSL memory each stalled session holds; frees them all. */
static long stall(struct zc_tls_ctx *sctx, const uint8_t *hello, size_t len)
{
    enum { N = 16 };
    int sfd[N], cfd[N];
    struct zc_tls *s[N];
    long before = atomic_load(&live_bytes);
    for (int i = 0; i < N; i++) {
        tls_fx_pair(&sfd[i], &cfd[i], 0, 0);
        assert_int_equal(zc_tls_new(sctx, sfd[i], NULL, &s[i]), 0);
        if (len)
            assert_int_equal(kc_write_all(cfd[i], hello, len), (ssize_t)len);
    }
    int64_t deadline = kc_mono_ms() + 200;
    while (kc_mono_ms() < deadline) {
        for (int i = 0; i < N; i++) {
            assert_int_equal(zc_tls_handshake(s[i]), 0);
            assert_int_equal(zc_tls_events(s[i]), POLLIN);
        }
        (void)poll(NULL, 0, 20);
    }
    long per = (atomic_load(&live_bytes) - before) / N;
    for (int i = 0; i < N; i++) { /* the timeout fires: free and close */
        zc_tls_free(s[i]);
        close(sfd[i]);
        close(cfd[i]);
    }
    assert_true(atomic_load(&live_bytes) - before < 4096); /* all of it comes back */
    return per;
}

/* Clients that say nothing, or half a ClientHello, and stay: the handshake waits until
 * the caller's timeout, and each such session costs bounded memory. */
static void test_tls_stalled_handshakes_wait_and_cost_bounded_memory(void **state)
{
    struct fx *fx = *state;
    struct zc_tls_ctx *sctx = tls_fx_server(fx->dir, NULL);
    struct zc_tls_ctx *cctx = tls_fx_client(fx->dir, NULL);
    uint8_t hello[4096];
    size_t hlen = client_hello(cctx, hello, sizeof(hello));
    long silent = stall(sctx, hello, 0), half = stall(sctx, hello, hlen / 2);
    print_message("OpenSSL memory per stalled handshake: %ld bytes (silent client), %ld bytes "
                  "(half a ClientHello of %zu bytes)\n",
                  silent, half, hlen);
    assert_true(silent > 0 && silent < 16 * 1024); /* no buffers until the client speaks */
    assert_true(half > silent && half < 96 * 1024);
    /* half a ClientHello and then EOF: the handshake fails, it does not hang */
    char reason[256];
    int rc = server_against_raw(sctx, hello, hlen / 2, true, reason, sizeof(reason));
    assert_true(rc < 0);
    print_message("half a ClientHello, then EOF: %d (%s)\n", rc, reason);
    zc_tls_ctx_free(sctx);
    zc_tls_ctx_free(cctx);
}

/* The openssl CLI (s_client) as an independent client: handshake, a line each way. */
static void test_tls_openssl_s_client_talks_to_server(void **state)
{
    struct fx *fx = *state;
    struct zc_tls_ctx *sctx = tls_fx_server(fx->dir, NULL);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t alen = sizeof(a);
    int l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_int_equal(bind(l, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(listen(l, 1), 0);
    assert_int_equal(getsockname(l, (struct sockaddr *)&a, &alen), 0);
    char connect[64], out[4200];
    snprintf(connect, sizeof(connect), "127.0.0.1:%d", ntohs(a.sin_port));
    snprintf(out, sizeof(out), "%s/s_client.out", fx->dir);
    int in[2];
    assert_int_equal(pipe(in), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int o = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        dup2(in[0], 0), dup2(o, 1), dup2(o, 2);
        close(in[1]);
        execlp("openssl", "openssl", "s_client", "-connect", connect, "-CAfile",
               tls_fx_path(fx->dir, "ca.pem"), "-verify_return_error", "-verify_ip", "127.0.0.1",
               "-brief", "-ign_eof", (char *)NULL);
        _exit(127);
    }
    close(in[0]);
    int sfd = accept4(l, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
    assert_true(sfd >= 0);
    close(l);
    struct zc_tls *s;
    assert_int_equal(zc_tls_new(sctx, sfd, NULL, &s), 0);
    int rc;
    while ((rc = zc_tls_handshake(s)) == 0)
        tls_fx_wait(sfd, s);
    assert_int_equal(rc, 1);
    assert_int_equal(kc_write_all(in[1], "ping from s_client\n", 19), 19);
    char buf[64];
    size_t got = 0;
    while (got < 19) {
        ssize_t n = zc_tls_read(s, buf + got, sizeof(buf) - got);
        if (n == -EAGAIN) {
            tls_fx_wait(sfd, s);
            continue;
        }
        assert_true(n > 0);
        got += (size_t)n;
    }
    assert_memory_equal(buf, "ping from s_client\n", 19);
    struct iovec iov = {"pong from kafka-c\n", 18};
    assert_int_equal(zc_tls_writev(s, &iov, 1), 18);
    while ((rc = zc_tls_shutdown(s)) == 0)
        tls_fx_wait(sfd, s);
    zc_tls_free(s);
    close(sfd);
    close(in[1]);
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    char *text;
    size_t len;
    assert_int_equal(kc_read_file(out, 1 << 16, &text, &len), 0);
    if (!strstr(text, "pong from kafka-c") || !strstr(text, "Protocol version: TLSv1.3"))
        fail_msg("s_client said:\n%s", text);
    free(text);
    zc_tls_ctx_free(sctx);
}

int main(void)
{
    /* count OpenSSL's memory: must come before its first allocation */
    if (!CRYPTO_set_mem_functions(count_malloc, count_realloc, count_free)) {
        fprintf(stderr, "CRYPTO_set_mem_functions failed\n");
        return 1;
    }
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_tls_config_errors_are_refused_with_reason, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_tls_handshake_tls13_and_tls12_carry_data, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_tls_client_cert_and_key_in_two_files, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tls_mutual_auth_gives_subject_and_refuses_others,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_tls_client_refuses_bad_server_certificates, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_tls_plaintext_client_is_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tls_tls11_client_is_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tls_stalled_handshakes_wait_and_cost_bounded_memory,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_tls_openssl_s_client_talks_to_server, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
