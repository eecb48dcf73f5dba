/*
 * test_0114_kafka_sasl.c - the Kafka door behind TLS and SASL, end to end with real clients
 * and with raw frames:
 *
 *  - kcat, confluent-kafka (librdkafka 2.0.2), kafka-python 2.0.2 (SaslHandshake v0: raw
 *    tokens) and kafkajs 2.2.4 produce and read back over SASL_SSL with SCRAM-SHA-256,
 *    SCRAM-SHA-512 and PLAIN (kafka-python and kafkajs: SCRAM; kafkajs: PLAIN too);
 *  - mutual TLS: the client certificate's subject is the principal an ACL allows;
 *  - refusals, each with the client's own error and bounded in time: a wrong password and
 *    an unknown user (the same answer), a CA that did not sign the broker, an expired
 *    broker certificate, a plaintext client on the TLS port and a TLS client on the
 *    plaintext one;
 *  - Kafka's SASL state machine on raw frames: nothing but ApiVersions (once) and the
 *    handshake before authentication, a request pipelined behind the handshake gains
 *    nothing, a mechanism not enabled, v0's raw tokens, a failed step closed after
 *    connection.failed.authentication.delay.ms, the SASL APIs on a PLAINTEXT listener and
 *    after authentication, an oversized frame before authentication;
 *  - no password ever reaches the broker's log.
 *
 * Certificates are made by the test (zeroCopy/tests/support/mkcerts.sh), users with
 * kafka_broker --add-scram. Passwords reach the clients through the environment or a 0600
 * file, never argv.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <poll.h>

#include "kafka/kt.h"
#include "sec_acl.h"

#define PYTHON   "/usr/bin/python3"
#define PASSWORD "alice-secret"
#define WRONG    "not-alices-password"
#define DELAY_MS 400

static uint8_t buf[1 << 20];

static int setup(void **state)
{
    kt_require("kcat", "kcat");
    kt_require(PYTHON, "python3");
    kt_require("node", "nodejs");
    return kb_setup(state);
}

/* SASL_SSL first, then SASL_PLAINTEXT and PLAINTEXT; alice has both SCRAM credentials
 * (PLAIN checks the first). extra: more "--override", "k=v" pairs (NULL-terminated). */
static void start_sasl(struct kb_broker *b, const char *keystore, const char *const *extra)
{
    char ks[700];
    const char *args[32] = {"--override",
                            "listeners=SASL_SSL://127.0.0.1:0,SASL_PLAINTEXT://127.0.0.1:0,"
                            "PLAINTEXT://127.0.0.1:0",
                            "--override", ks,
                            "--override", "sasl.enabled.mechanisms=PLAIN,SCRAM-SHA-256,SCRAM-SHA-512",
                            "--override", "connection.failed.authentication.delay.ms=400",
                            "--override", "group.initial.rebalance.delay.ms=0"};
    int n = 10;
    kb_certs(b);
    kb_add_scram(b, "SCRAM-SHA-256", "alice", PASSWORD);
    kb_add_scram(b, "SCRAM-SHA-512", "alice", PASSWORD);
    snprintf(ks, sizeof(ks), "ssl.keystore.location=%s", kb_cert(b, keystore));
    for (int i = 0; extra && extra[i]; i++)
        args[n++] = extra[i];
    args[n] = NULL;
    kb_start(b, args);
}

/* ---- running the clients --------------------------------------------------------------------- */

/* argv with env additions, to the end (bounded): status; stdout + stderr into *out. How
 * long it took into *ms (may be NULL). */
static int run(const struct kb_broker *b, const char *const *argv, const char *const *env,
               const char *in, char **out, int64_t *ms)
{
    struct kt_proc p;
    int64_t t0 = kc_mono_ms();
    kt_spawn(b, &p, argv, in, in ? strlen(in) : 0, NULL, env);
    int rc = kt_wait(&p, 120000);
    if (rc == -1) {
        (void)kt_stop(&p, 1000);
        fail_msg("%s did not finish within 120 s", argv[0]);
    }
    if (ms)
        *ms = kc_mono_ms() - t0;
    char *o = kt_slurp(p.out, NULL), *e = kt_slurp(p.err, NULL);
    size_t lo = strlen(o), le = strlen(e);
    *out = malloc(lo + le + 1);
    assert_non_null(*out);
    memcpy(*out, o, lo);
    memcpy(*out + lo, e, le + 1);
    free(o);
    free(e);
    return rc;
}

/* A kcat configuration file (0600): the security settings, so the password is in no argv. */
static const char *kcat_config(const struct kb_broker *b, const char *proto, const char *mech,
                               const char *user, const char *password, const char *ca,
                               const char *cert)
{
    static char path[700];
    char text[4096];
    int n = snprintf(text, sizeof(text), "security.protocol=%s\n", proto);
    if (mech)
        n += snprintf(text + n, sizeof(text) - (size_t)n,
                      "sasl.mechanisms=%s\nsasl.username=%s\nsasl.password=%s\n", mech, user,
                      password);
    if (ca)
        n += snprintf(text + n, sizeof(text) - (size_t)n, "ssl.ca.location=%s\n",
                      kb_cert(b, ca));
    if (cert)
        n += snprintf(text + n, sizeof(text) - (size_t)n,
                      "ssl.certificate.location=%s\nssl.key.location=%s\n",
                      kb_cert(b, "client.crt"), kb_cert(b, "client.key"));
    snprintf(path, sizeof(path), "%s/kcat.conf", b->dir);
    assert_int_equal(kc_atomic_replace(path, text, (size_t)n), 0);
    assert_int_equal(chmod(path, 0600), 0);
    return path;
}

/* kcat produces three lines to topic-0, then reads them back. */
static void kcat_roundtrip(const struct kb_broker *b, const char *addr, const char *conf,
                           const char *topic)
{
    char *out;
    const char *produce[] = {"kcat", "-F", conf, "-b", addr, "-P", "-t", topic, "-p", "0", NULL};
    const char *consume[] = {"kcat", "-F",  conf,        "-b", addr, "-C", "-t", topic,
                             "-p",   "0",   "-o",        "beginning", "-e", "-f", "%s\n",
                             NULL};
    if (run(b, produce, NULL, "one\ntwo\nthree\n", &out, NULL) != 0)
        fail_msg("kcat -P to %s failed:\n%s", topic, out);
    free(out);
    if (run(b, consume, NULL, NULL, &out, NULL) != 0 || !strstr(out, "one\ntwo\nthree\n"))
        fail_msg("kcat -C from %s:\n%s", topic, out);
    free(out);
}

/* The environment sec_e2e.py and kafkajs_sec.js read their security settings from. */
struct sec_env {
    char v[8][PATH_MAX + 64];
    const char *p[9];
};

static const char *const *sec_env(struct sec_env *e, const struct kb_broker *b, const char *proto,
                                  const char *mech, const char *user, const char *password,
                                  const char *ca)
{
    char nodepath[PATH_MAX];
    int n = 0;
    kt_kafkajs_dir(b, nodepath, sizeof(nodepath));
    snprintf(e->v[n++], sizeof(e->v[0]), "NODE_PATH=%s/node_modules", nodepath);
    snprintf(e->v[n++], sizeof(e->v[0]), "KT_PROTOCOL=%s", proto);
    snprintf(e->v[n++], sizeof(e->v[0]), "KT_MECHANISM=%s", mech ? mech : "");
    snprintf(e->v[n++], sizeof(e->v[0]), "KT_USERNAME=%s", user ? user : "");
    snprintf(e->v[n++], sizeof(e->v[0]), "KT_PASSWORD=%s", password ? password : "");
    snprintf(e->v[n++], sizeof(e->v[0]), "KT_CA=%s", ca ? kb_cert(b, ca) : "");
    for (int i = 0; i < n; i++)
        e->p[i] = e->v[i];
    e->p[n] = NULL;
    return e->p;
}

static const char *script(const char *name)
{
    static char path[PATH_MAX];
    const char *src = getenv("KC_SRC_DIR");
    snprintf(path, sizeof(path), "%s/broker/tests/kafka/%s", src && *src ? src : ".", name);
    return path;
}

/* sec_e2e.py CLIENT MODE ADDR [TOPIC COUNT]: its output; fails unless it exits 0. */
static char *python(const struct kb_broker *b, const char *const *env, const char *client,
                    const char *mode, const char *addr, const char *topic)
{
    char *out, path[PATH_MAX];
    snprintf(path, sizeof(path), "%s", script("sec_e2e.py"));
    const char *argv[] = {PYTHON, path, client, mode, addr, topic, topic ? "40" : NULL, NULL};
    if (run(b, argv, env, NULL, &out, NULL) != 0)
        fail_msg("sec_e2e.py %s %s %s failed:\n%s", client, mode, addr, out);
    return out;
}

/* kafkajs_sec.js MODE ADDR [TOPIC COUNT]: its output; fails unless it exits 0. */
static char *kafkajs(const struct kb_broker *b, const char *const *env, const char *mode,
                     const char *addr, const char *topic)
{
    char *out, path[PATH_MAX];
    snprintf(path, sizeof(path), "%s", script("kafkajs_sec.js"));
    const char *argv[] = {"node", path, mode, addr, topic, topic ? "40" : NULL, NULL};
    if (run(b, argv, env, NULL, &out, NULL) != 0)
        fail_msg("kafkajs_sec.js %s %s failed:\n%s", mode, addr, out);
    return out;
}

static void expect(char *out, const char *has)
{
    if (!strstr(out, has))
        fail_msg("expected \"%s\" in:\n%s", has, out);
    free(out);
}

/* No password the test used may be in the broker's log. */
static void no_secrets_logged(const struct kb_broker *b)
{
    assert_false(kb_log_has(b, PASSWORD));
    assert_false(kb_log_has(b, WRONG));
}

/* ---- real clients ------------------------------------------------------------------------------ */

static void test_0114_every_client_and_mechanism_over_sasl_ssl(void **state)
{
    struct kb_broker *b = *state;
    static const char *const mechs[] = {"SCRAM-SHA-256", "SCRAM-SHA-512", "PLAIN"};
    static const char *const js[] = {"scram-sha-256", "scram-sha-512", "plain"};
    struct sec_env e;
    char topic[64], addr[64];
    start_sasl(b, "server.pem", NULL);
    snprintf(addr, sizeof(addr), "%s", b->addr);
    for (size_t m = 0; m < KC_ARRAY_SIZE(mechs); m++) {
        snprintf(topic, sizeof(topic), "kcat-%zu", m);
        kcat_roundtrip(b, addr,
                       kcat_config(b, "SASL_SSL", mechs[m], "alice", PASSWORD, "ca.pem", NULL),
                       topic);
        const char *const *env = sec_env(&e, b, "SASL_SSL", mechs[m], "alice", PASSWORD, "ca.pem");
        snprintf(topic, sizeof(topic), "cf-%zu", m);
        expect(python(b, env, "confluent", "roundtrip", addr, topic), "consumed 40");
        snprintf(topic, sizeof(topic), "py-%zu", m); /* SaslHandshake v0, raw tokens */
        expect(python(b, env, "kafka-python", "roundtrip", addr, topic), "consumed 40");
        env = sec_env(&e, b, "SASL_SSL", js[m], "alice", PASSWORD, "ca.pem");
        snprintf(topic, sizeof(topic), "js-%zu", m);
        expect(kafkajs(b, env, "roundtrip", addr, topic), "consumed=40");
    }
    /* the same over SASL_PLAINTEXT, once per client */
    snprintf(addr, sizeof(addr), "%s", kb_addr_of(b, "SASL_PLAINTEXT"));
    kcat_roundtrip(b, addr,
                   kcat_config(b, "SASL_PLAINTEXT", "SCRAM-SHA-512", "alice", PASSWORD, NULL, NULL),
                   "plain-kcat");
    const char *const *env = sec_env(&e, b, "SASL_PLAINTEXT", "SCRAM-SHA-256", "alice", PASSWORD,
                                     NULL);
    expect(python(b, env, "kafka-python", "roundtrip", addr, "plain-py"), "consumed 40");
    assert_true(kb_log_has(b, "authenticated as User:alice (SCRAM-SHA-512)"));
    assert_true(kb_log_has(b, "authenticated as User:alice (PLAIN)"));
    no_secrets_logged(b);
    kb_stop(b);
}

/* ssl.client.auth=required: no certificate, no connection; the certificate's subject is the
 * principal, and an ACL that names exactly it decides. */
static void test_0114_mutual_tls_principal_is_the_certificate_subject(void **state)
{
    struct kb_broker *b = *state;
    char ks[700], ts[700], *out;
    kb_certs(b);
    kb_acl(b, KB_CLIENT_CERT_PRINCIPAL, SEC_OP_ALL, SEC_RES_TOPIC, SEC_PAT_LITERAL, "mtls",
           SEC_PERM_ALLOW);
    snprintf(ks, sizeof(ks), "ssl.keystore.location=%s", kb_cert(b, "server.pem"));
    snprintf(ts, sizeof(ts), "ssl.truststore.location=%s", kb_cert(b, "ca.pem"));
    const char *args[] = {"--override", "listeners=SSL://127.0.0.1:0", "--override", ks,
                          "--override", ts, "--override", "ssl.client.auth=required",
                          "--override", "authorizer.class.name=kafka.security.authorizer.AclAuthorizer",
                          NULL};
    kb_start(b, args);
    const char *conf = kcat_config(b, "SSL", NULL, NULL, NULL, "ca.pem", "client");
    kcat_roundtrip(b, b->addr, conf, "mtls");
    const char *other[] = {"kcat", "-F", conf, "-b", b->addr, "-P", "-t", "other", "-p", "0", NULL};
    assert_int_not_equal(run(b, other, NULL, "x\n", &out, NULL), 0);
    expect(out, "Topic authorization failed");
    assert_true(kb_log_has(b, "User:CN=alice,OU=eng,O=acme denied DESCRIBE on TOPIC other"));
    /* no client certificate: the handshake is refused */
    int64_t ms;
    conf = kcat_config(b, "SSL", NULL, NULL, NULL, "ca.pem", NULL);
    const char *anon[] = {"kcat", "-F", conf, "-b", b->addr, "-L", "-m", "2", NULL};
    assert_int_not_equal(run(b, anon, NULL, NULL, &out, &ms), 0);
    printf("# kcat without a client certificate: refused in %lld ms\n", (long long)ms);
    assert_true(ms < 15000);
    free(out);
    kb_stop(b);
}

/* Each refusal with the client's own words, and promptly. */
static void test_0114_refusals_have_the_clients_errors(void **state)
{
    struct kb_broker *b = *state;
    struct sec_env e;
    char *out, addr[64];
    int64_t ms;
    start_sasl(b, "server.pem", NULL);
    snprintf(addr, sizeof(addr), "%s", b->addr);
    /* a wrong password and a user that does not exist: one answer for both */
    static const char *const who[][2] = {{"alice", WRONG}, {"mallory", WRONG}};
    for (int i = 0; i < 2; i++) {
        const char *const *env = sec_env(&e, b, "SASL_SSL", "SCRAM-SHA-256", who[i][0],
                                         who[i][1], "ca.pem");
        expect(python(b, env, "confluent", "refused", addr, NULL),
               "Authentication failed during authentication due to invalid credentials with "
               "SASL mechanism SCRAM-SHA-256");
        expect(python(b, env, "kafka-python", "refused", addr, NULL), "refused: ");
        env = sec_env(&e, b, "SASL_SSL", "scram-sha-512", who[i][0], who[i][1], "ca.pem");
        expect(kafkajs(b, env, "refused", addr, NULL),
               "KafkaJSSASLAuthenticationError: SASL SCRAM SHA512 authentication failed: "
               "Authentication failed during authentication due to invalid credentials");
    }
    assert_true(kb_log_has(b, "no credential"));   /* the log (the operator's) says which */
    /* a CA that did not sign the broker's certificate */
    const char *conf = kcat_config(b, "SASL_SSL", "PLAIN", "alice", PASSWORD, "other-ca.pem", NULL);
    const char *meta[] = {"kcat", "-F", conf, "-b", addr, "-L", "-m", "2", NULL};
    assert_int_not_equal(run(b, meta, NULL, NULL, &out, &ms), 0);
    expect(out, "certificate verify failed");
    /* a plaintext client on the TLS port: refused within the bound, never a hang */
    conf = kcat_config(b, "SASL_PLAINTEXT", "PLAIN", "alice", PASSWORD, NULL, NULL);
    assert_int_not_equal(run(b, meta, NULL, NULL, &out, &ms), 0);
    printf("# kcat in plaintext on the SASL_SSL port: refused in %lld ms\n", (long long)ms);
    assert_true(ms < 15000);
    free(out);
    /* a TLS client on the PLAINTEXT port */
    conf = kcat_config(b, "SSL", NULL, NULL, NULL, "ca.pem", NULL);
    const char *tls_on_plain[] = {"kcat", "-F", conf, "-b", kb_addr_of(b, "PLAINTEXT"),
                                  "-L", "-m", "2", NULL};
    assert_int_not_equal(run(b, tls_on_plain, NULL, NULL, &out, &ms), 0);
    printf("# kcat with TLS on the PLAINTEXT port: refused in %lld ms\n", (long long)ms);
    assert_true(ms < 15000);
    expect(out, "SSL");
    no_secrets_logged(b);
    kb_stop(b);
}

static void test_0114_expired_broker_certificate_is_refused(void **state)
{
    struct kb_broker *b = *state;
    struct sec_env e;
    start_sasl(b, "expired.pem", NULL);
    const char *const *env = sec_env(&e, b, "SASL_SSL", "SCRAM-SHA-256", "alice", PASSWORD,
                                     "ca.pem");
    /* (librdkafka says only that verification failed; the broker never hears of it) */
    expect(python(b, env, "confluent", "refused", b->addr, NULL), "certificate verify failed");
    expect(python(b, env, "kafka-python", "refused", b->addr, NULL), "refused: ");
    kb_stop(b);
}

/* ---- Kafka's state machine, on raw frames ------------------------------------------------------ */

/* A request frame (through the codec) into w. */
static void frame(struct kc_writer *w, int16_t key, int16_t v, int32_t corr, const void *msg)
{
    struct kp_request_header h = {key, v, corr, kp_slice_str("kt")};
    assert_int_equal(kp_request_encode(w, &h, msg), 0);
}

/* How long until the broker closes fd (fails after 5 s). */
static int64_t closed_after(int fd)
{
    int64_t t0 = kc_mono_ms();
    assert_true(kb_closed(fd, 5000));
    return kc_mono_ms() - t0;
}

/* How long after t0 (taken before the offending request was sent) fd closed. Measured
 * from the send, not from the answer: a slow broker (make valgrind) answers late, but it
 * cannot close before the delay it starts when the request fails. */
static int64_t closed_since(int fd, int64_t t0)
{
    assert_true(kb_closed(fd, 5000));
    return kc_mono_ms() - t0;
}

static void test_0114_nothing_before_authentication(void **state)
{
    struct kb_broker *b = *state;
    struct kp_response resp;
    struct kc_writer w;
    struct kp_metadata_req md;
    kp_init(&kp_metadata_req_schema, &md);
    start_sasl(b, "server.pem", NULL);
    int port = kb_port(b, "SASL_PLAINTEXT");
    kc_writer_init(&w, 0);
    /* 1. Metadata first: closed unanswered */
    int fd = kt_connect_to(port);
    kt_send(fd, KP_API_METADATA, 4, 1, &md);
    assert_int_equal(kb_recv_frame(fd, buf, sizeof(buf)), -1);
    close(fd);
    assert_true(kb_log_has(b, "unexpected Kafka request of type Metadata (api_key 3) during "
                              "SASL handshake"));
    /* 2. ApiVersions once, then again: closed */
    struct kp_api_versions_req av;
    kp_init(&kp_api_versions_req_schema, &av);
    fd = kt_connect_to(port);
    const struct kp_api_versions_resp *ar =
        kt_call(fd, KP_API_API_VERSIONS, 2, &av, buf, sizeof(buf), &resp);
    assert_int_equal(ar->error_code, 0);
    assert_int_equal(ar->api_keys.n, KT_SERVED_APIS); /* SASL APIs listed, as Kafka does */
    kp_response_fini(&resp);
    kt_send(fd, KP_API_API_VERSIONS, 2, 2, &av);
    assert_int_equal(kb_recv_frame(fd, buf, sizeof(buf)), -1);
    close(fd);
    /* 3. a handshake with Metadata pipelined behind it in one write: the handshake is
     * answered, the Metadata is not, and the connection closes (after the delay) */
    struct kp_sasl_handshake_req hs = {kp_slice_str("PLAIN")};
    fd = kt_connect_to(port);
    frame(&w, KP_API_SASL_HANDSHAKE, 1, 7, &hs);
    frame(&w, KP_API_METADATA, 4, 8, &md);
    int64_t t0 = kc_mono_ms();
    kb_send(fd, kc_writer_data(&w), kc_writer_len(&w));
    const struct kp_sasl_handshake_resp *hr =
        kt_recv(fd, KP_API_SASL_HANDSHAKE, 1, 7, buf, sizeof(buf), &resp);
    assert_int_equal(hr->error_code, 0);
    assert_int_equal(hr->mechanisms.n, 3);
    kp_response_fini(&resp);
    assert_true(closed_since(fd, t0) >= DELAY_MS - 50);
    close(fd);
    /* 4. a mechanism not enabled: 33 with the list, closed after the delay */
    struct kp_sasl_handshake_req gss = {kp_slice_str("GSSAPI")};
    fd = kt_connect_to(port);
    t0 = kc_mono_ms();
    hr = kt_call(fd, KP_API_SASL_HANDSHAKE, 1, &gss, buf, sizeof(buf), &resp);
    assert_int_equal(hr->error_code, KP_ERR_UNSUPPORTED_SASL_MECHANISM);
    assert_true(kp_slice_eq(hr->mechanisms.v[1], "SCRAM-SHA-256"));
    kp_response_fini(&resp);
    assert_true(closed_since(fd, t0) >= DELAY_MS - 50);
    close(fd);
    kc_writer_fini(&w);
    kb_stop(b);
}

static void test_0114_authenticate_answers_and_failures(void **state)
{
    struct kb_broker *b = *state;
    struct kp_response resp;
    struct kp_metadata_req md;
    kp_init(&kp_metadata_req_schema, &md);
    start_sasl(b, "server.pem", NULL);
    int port = kb_port(b, "SASL_PLAINTEXT");
    /* 1. PLAIN, v2: in; then Metadata is served; a second SaslAuthenticate: 34, and the
     * connection stays */
    int fd = kt_connect_to(port);
    assert_int_equal(kt_sasl_plain(fd, "alice", PASSWORD), 0);
    const struct kp_metadata_resp *mr = kt_call(fd, KP_API_METADATA, 4, &md, buf, sizeof(buf), &resp);
    assert_int_equal(mr->brokers.n, 1);
    kp_response_fini(&resp);
    struct kp_sasl_authenticate_req again = {kp_slice_str("x")};
    const struct kp_sasl_authenticate_resp *sa =
        kt_call(fd, KP_API_SASL_AUTHENTICATE, 1, &again, buf, sizeof(buf), &resp);
    assert_int_equal(sa->error_code, KP_ERR_ILLEGAL_SASL_STATE);
    assert_true(kp_slice_eq(sa->error_message,
                            "SaslAuthenticate request received after successful authentication"));
    kp_response_fini(&resp);
    mr = kt_call(fd, KP_API_METADATA, 4, &md, buf, sizeof(buf), &resp);
    kp_response_fini(&resp);
    close(fd);
    /* 2. a wrong password and an unknown user: 58, the same generic text; closed after the
     * delay */
    static const char *const users[] = {"alice", "nobody"};
    for (int i = 0; i < 2; i++) {
        fd = kt_connect_to(port);
        struct kp_sasl_handshake_req hs = {kp_slice_str("PLAIN")};
        kp_response_fini((kt_call(fd, KP_API_SASL_HANDSHAKE, 1, &hs, buf, sizeof(buf), &resp),
                          &resp));
        char token[64];
        int n = snprintf(token, sizeof(token), "%c%s%c%s", 0, users[i], 0, WRONG);
        struct kp_sasl_authenticate_req a = {{(const uint8_t *)token, n}};
        int64_t t0 = kc_mono_ms();
        sa = kt_call(fd, KP_API_SASL_AUTHENTICATE, 0, &a, buf, sizeof(buf), &resp);
        assert_int_equal(sa->error_code, KP_ERR_SASL_AUTHENTICATION_FAILED);
        /* Kafka's PlainSaslServer text: the same whichever part was wrong */
        assert_true(kp_slice_eq(sa->error_message,
                                "Authentication failed: Invalid username or password"));
        kp_response_fini(&resp);
        assert_true(closed_since(fd, t0) >= DELAY_MS - 50);
        close(fd);
    }
    /* 3. v0: the token travels bare; PLAIN's answer is an empty token */
    struct kp_sasl_handshake_req hs = {kp_slice_str("PLAIN")};
    fd = kt_connect_to(port);
    const struct kp_sasl_handshake_resp *hr =
        kt_call(fd, KP_API_SASL_HANDSHAKE, 0, &hs, buf, sizeof(buf), &resp);
    assert_int_equal(hr->error_code, 0);
    kp_response_fini(&resp);
    uint8_t raw[64];
    int n = snprintf((char *)raw + 4, sizeof(raw) - 4, "%c%s%c%s", 0, "alice", 0, PASSWORD);
    kc_store_be32(raw, (uint32_t)n);
    kb_send(fd, raw, (size_t)n + 4);
    assert_int_equal(kb_recv_frame(fd, buf, sizeof(buf)), 4);
    assert_int_equal(kc_load_be32(buf), 0);
    kp_response_fini((kt_call(fd, KP_API_METADATA, 4, &md, buf, sizeof(buf), &resp), &resp));
    close(fd);
    /* ... and a wrong one: no answer can be given in v0, the connection closes (delayed) */
    fd = kt_connect_to(port);
    kp_response_fini((kt_call(fd, KP_API_SASL_HANDSHAKE, 0, &hs, buf, sizeof(buf), &resp), &resp));
    n = snprintf((char *)raw + 4, sizeof(raw) - 4, "%c%s%c%s", 0, "alice", 0, WRONG);
    kc_store_be32(raw, (uint32_t)n);
    int64_t t1 = kc_mono_ms();
    kb_send(fd, raw, (size_t)n + 4);
    assert_true(closed_since(fd, t1) >= DELAY_MS - 50);
    close(fd);
    /* 4. PLAINTEXT listener: both APIs answered 34, and the connection goes on */
    fd = kt_connect_to(kb_port(b, "PLAINTEXT"));
    hr = kt_call(fd, KP_API_SASL_HANDSHAKE, 1, &hs, buf, sizeof(buf), &resp);
    assert_int_equal(hr->error_code, KP_ERR_ILLEGAL_SASL_STATE);
    kp_response_fini(&resp);
    kp_response_fini((kt_call(fd, KP_API_METADATA, 4, &md, buf, sizeof(buf), &resp), &resp));
    close(fd);
    /* 5. a frame over 512 KiB before authentication: closed */
    fd = kt_connect_to(port);
    kc_store_be32(raw, 600 * 1024);
    kc_store_be32(raw + 4, 0x00110001); /* SaslHandshake v1 */
    kb_send(fd, raw, 8);
    assert_true(closed_after(fd) < 2000);
    close(fd);
    assert_true(kb_log_has(b, "before authentication (at most 524288)"));
    no_secrets_logged(b);
    kb_stop(b);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, kb_teardown)
    const struct CMUnitTest tests[] = {
        T(test_0114_nothing_before_authentication),
        T(test_0114_authenticate_answers_and_failures),
        T(test_0114_every_client_and_mechanism_over_sasl_ssl),
        T(test_0114_mutual_tls_principal_is_the_certificate_subject),
        T(test_0114_refusals_have_the_clients_errors),
        T(test_0114_expired_broker_certificate_is_refused),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
