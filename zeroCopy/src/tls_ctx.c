/*
 * tls_ctx.c - a TLS context from Kafka's ssl.* settings (what SslFactory and
 * DefaultSslEngineFactory do in Java, on OpenSSL 3).
 *
 *   ssl.keystore.location = broker.pem      -----BEGIN PRIVATE KEY-----   (or ENCRYPTED, with
 *                                           ...                            ssl.key.password)
 *                                           -----BEGIN CERTIFICATE-----   the broker's own
 *                                           -----BEGIN CERTIFICATE-----   then its chain
 *   ssl.truststore.location = ca.pem        the CAs whose certificates the peer may present
 *   ssl.client.auth = required              -> SSL_VERIFY_PEER | FAIL_IF_NO_PEER_CERT
 *                     requested             -> SSL_VERIFY_PEER (a certificate, if sent, must
 *                                              verify)
 *                     none                  -> no certificate asked
 *   ssl.enabled.protocols = TLSv1.2,TLSv1.3 -> min/max protocol version; anything older is
 *                                              refused here, as it would be by Kafka 3.x's
 *                                              defaults (and by OpenSSL 3's security level)
 *   ssl.cipher.suites = TLS_AES_256_GCM_SHA384,TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256
 *                                           -> IANA names: TLS 1.3 suites to
 *                                              SSL_CTX_set_ciphersuites, the others through
 *                                              OPENSSL_cipher_name to SSL_CTX_set_cipher_list
 *
 * Every context also gets: SSL_OP_NO_RENEGOTIATION (renegotiation is a DoS lever and no
 * Kafka client uses it), SSL_OP_ENABLE_KTLS unless no_ktls (OpenSSL then offers the keys to
 * the kernel after each handshake; the kernel may refuse), partial writes and moving write
 * buffers (tls_conn.c relies on both), and released buffers while idle.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>

#include "kc_fs.h"
#include "zc_tls.h"
#include "zc_tls_int.h"

static const struct {
    const char *key;
    size_t offset;
} config_keys[] = {
    {"ssl.keystore.type", offsetof(struct zc_tls_config, keystore_type)},
    {"ssl.keystore.location", offsetof(struct zc_tls_config, keystore_location)},
    {"ssl.keystore.password", offsetof(struct zc_tls_config, keystore_password)},
    {"ssl.key.password", offsetof(struct zc_tls_config, key_password)},
    {"ssl.truststore.type", offsetof(struct zc_tls_config, truststore_type)},
    {"ssl.truststore.location", offsetof(struct zc_tls_config, truststore_location)},
    {"ssl.truststore.password", offsetof(struct zc_tls_config, truststore_password)},
    {"ssl.client.auth", offsetof(struct zc_tls_config, client_auth)},
    {"ssl.enabled.protocols", offsetof(struct zc_tls_config, enabled_protocols)},
    {"ssl.cipher.suites", offsetof(struct zc_tls_config, cipher_suites)},
    {"ssl.endpoint.identification.algorithm",
     offsetof(struct zc_tls_config, endpoint_identification)},
    {"ssl.certificate.location", offsetof(struct zc_tls_config, certificate_location)},
    {"ssl.key.location", offsetof(struct zc_tls_config, key_location)},
};

int zc_tls_config_set(struct zc_tls_config *cfg, const char *key, const char *value)
{
    for (size_t i = 0; i < sizeof(config_keys) / sizeof(config_keys[0]); i++) {
        if (strcmp(key, config_keys[i].key) == 0) {
            *(const char **)((char *)cfg + config_keys[i].offset) = value;
            return 0;
        }
    }
    return -ENOENT;
}

static int fail(char *err, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(char *err, size_t cap, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = cap ? vsnprintf(err, cap, fmt, ap) : 0;
    va_end(ap);
    unsigned long e = ERR_get_error(); /* OpenSSL's reason, when it has one */
    if (e && n >= 0 && (size_t)n + 3 < cap) {
        snprintf(err + n, cap - (size_t)n, ": ");
        ERR_error_string_n(e, err + n + 2, cap - (size_t)n - 2);
    }
    ERR_clear_error();
    return -EINVAL;
}

/* ssl.enabled.protocols -> the min and max versions. */
static int set_protocols(SSL_CTX *ctx, const char *list, char *err, size_t cap)
{
    int min = 0, max = 0;
    char buf[128];
    snprintf(buf, sizeof(buf), "%s", list ? list : "TLSv1.2,TLSv1.3");
    for (char *save, *p = strtok_r(buf, ", ", &save); p; p = strtok_r(NULL, ", ", &save)) {
        int v = strcmp(p, "TLSv1.2") == 0   ? TLS1_2_VERSION
                : strcmp(p, "TLSv1.3") == 0 ? TLS1_3_VERSION
                                            : 0;
        if (!v)
            return fail(err, cap,
                        "ssl.enabled.protocols: %s is not supported (only TLSv1.2 and TLSv1.3)", p);
        min = min && min < v ? min : v;
        max = max > v ? max : v;
    }
    if (!max)
        return fail(err, cap, "ssl.enabled.protocols is empty");
    if (!SSL_CTX_set_min_proto_version(ctx, min) || !SSL_CTX_set_max_proto_version(ctx, max))
        return fail(err, cap, "cannot set the protocol versions");
    return 0;
}

static bool tls13_suite(const char *name)
{
    static const char *const suites[] = {"TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384",
                                         "TLS_CHACHA20_POLY1305_SHA256", "TLS_AES_128_CCM_SHA256",
                                         "TLS_AES_128_CCM_8_SHA256"};
    for (size_t i = 0; i < sizeof(suites) / sizeof(suites[0]); i++)
        if (strcmp(name, suites[i]) == 0)
            return true;
    return false;
}

/* ssl.cipher.suites (IANA/JSSE names) -> OpenSSL's two lists. */
static int set_ciphers(SSL_CTX *ctx, const char *list, char *err, size_t cap)
{
    char buf[2048], v13[1024] = "", v12[1024] = "";
    if (!list || !*list)
        return 0;
    snprintf(buf, sizeof(buf), "%s", list);
    for (char *save, *p = strtok_r(buf, ", ", &save); p; p = strtok_r(NULL, ", ", &save)) {
        char *dst = tls13_suite(p) ? v13 : v12;
        const char *name = tls13_suite(p) ? p : OPENSSL_cipher_name(p);
        if (!name || strcmp(name, "(NONE)") == 0)
            return fail(err, cap, "ssl.cipher.suites: unknown cipher suite %s", p);
        size_t n = strlen(dst);
        snprintf(dst + n, 1024 - n, "%s%s", n ? ":" : "", name);
    }
    if (!SSL_CTX_set_ciphersuites(ctx, v13))
        return fail(err, cap, "ssl.cipher.suites: OpenSSL refused the TLS 1.3 suites");
    if (!v12[0]) /* only TLS 1.3 suites named: TLS 1.2 would have none */
        return SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION)
                   ? 0
                   : fail(err, cap, "ssl.cipher.suites: no TLS 1.2 suite, and TLS 1.3 is off");
    if (!SSL_CTX_set_cipher_list(ctx, v12))
        return fail(err, cap, "ssl.cipher.suites: OpenSSL refused the TLS 1.2 suites");
    return 0;
}

/* The private-key password callback: ssl.key.password. */
static int key_password_cb(char *buf, int size, int rwflag, void *arg)
{
    (void)rwflag;
    const char *pw = arg;
    if (!pw)
        return 0;
    int n = (int)strlen(pw);
    if (n > size)
        return -1;
    memcpy(buf, pw, (size_t)n);
    return n;
}

/* ssl.keystore.*: the key and the chain from one PEM file; or (librdkafka's names) the
 * chain from ssl.certificate.location and the key from ssl.key.location. */
static int load_keystore(SSL_CTX *ctx, const struct zc_tls_config *c, char *err, size_t cap)
{
    const char *chain = c->keystore_location ? c->keystore_location : c->certificate_location;
    const char *key = c->keystore_location || !c->key_location ? chain : c->key_location;
    const char *what = c->keystore_location ? "ssl.keystore.location" : "ssl.certificate.location";
    if (c->keystore_type && strcasecmp(c->keystore_type, "PEM") != 0)
        return fail(err, cap, "ssl.keystore.type %s is not supported (only PEM)", c->keystore_type);
    if (c->keystore_password)
        return fail(err, cap,
                    "SSL key store password cannot be specified with PEM format, only "
                    "key password may be specified");
    SSL_CTX_set_default_passwd_cb(ctx, key_password_cb);
    SSL_CTX_set_default_passwd_cb_userdata(ctx, (void *)c->key_password);
    int rc = 0;
    if (SSL_CTX_use_certificate_chain_file(ctx, chain) != 1)
        rc = fail(err, cap, "%s %s: no certificate chain", what, chain);
    else if (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1)
        rc = fail(err, cap, "%s %s: cannot read the private key",
                  key == chain ? what : "ssl.key.location", key);
    else if (SSL_CTX_check_private_key(ctx) != 1)
        rc = fail(err, cap, "%s %s: the key does not match the certificate", what, chain);
    /* the password is needed only to load the key: drop the pointer to it */
    SSL_CTX_set_default_passwd_cb_userdata(ctx, NULL);
    return rc;
}

/* ssl.truststore.* and, for servers, ssl.client.auth. */
static int load_truststore(SSL_CTX *ctx, const struct zc_tls_config *c, bool server, char *err,
                           size_t cap)
{
    if (c->truststore_type && strcasecmp(c->truststore_type, "PEM") != 0)
        return fail(err, cap, "ssl.truststore.type %s is not supported (only PEM)",
                    c->truststore_type);
    if (c->truststore_password)
        return fail(err, cap, "SSL trust store password cannot be specified with PEM format");
    if (c->truststore_location &&
        SSL_CTX_load_verify_locations(ctx, c->truststore_location, NULL) != 1)
        return fail(err, cap, "ssl.truststore.location %s: no CA certificates",
                    c->truststore_location);
    if (!server) {
        if (!c->truststore_location && SSL_CTX_set_default_verify_paths(ctx) != 1)
            return fail(err, cap, "no ssl.truststore.location and no system CAs");
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
        return 0;
    }
    const char *auth = c->client_auth ? c->client_auth : "none";
    int mode = strcmp(auth, "required") == 0    ? SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT
               : strcmp(auth, "requested") == 0 ? SSL_VERIFY_PEER
               : strcmp(auth, "none") == 0      ? SSL_VERIFY_NONE
                                                : -1;
    if (mode < 0)
        return fail(err, cap, "ssl.client.auth must be none, requested or required, not %s", auth);
    if (mode != SSL_VERIFY_NONE && !c->truststore_location)
        return fail(err, cap, "ssl.client.auth=%s needs ssl.truststore.location", auth);
    if (mode != SSL_VERIFY_NONE) {
        STACK_OF(X509_NAME) *names = SSL_load_client_CA_file(c->truststore_location);
        if (names)
            SSL_CTX_set_client_CA_list(ctx, names); /* tells clients which CAs we accept */
    }
    SSL_CTX_set_verify(ctx, mode, NULL);
    return 0;
}

static int build(SSL_CTX *ctx, const struct zc_tls_config *c, bool server, char *err, size_t cap)
{
    SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | (c->no_ktls ? 0 : SSL_OP_ENABLE_KTLS));
    SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
                              SSL_MODE_RELEASE_BUFFERS);
    int rc = set_protocols(ctx, c->enabled_protocols, err, cap);
    if (rc == 0)
        rc = set_ciphers(ctx, c->cipher_suites, err, cap);
    if (rc == 0 && server && !c->keystore_location)
        rc = fail(err, cap, "a TLS listener needs ssl.keystore.location");
    if (rc == 0 && (c->keystore_location || c->certificate_location))
        rc = load_keystore(ctx, c, err, cap);
    if (rc == 0)
        rc = load_truststore(ctx, c, server, err, cap);
    return rc;
}

int zc_tls_ctx_new(const struct zc_tls_config *cfg, bool server, struct zc_tls_ctx **out, char *err,
                   size_t errcap)
{
    struct zc_tls_config none = {0};
    const struct zc_tls_config *c = cfg ? cfg : &none;
    if (errcap)
        err[0] = '\0';
    ERR_clear_error();
    struct zc_tls_ctx *ctx = calloc(1, sizeof(*ctx));
    if (!ctx)
        return -ENOMEM;
    ctx->server = server;
    ctx->check_name = !server && !(c->endpoint_identification && !*c->endpoint_identification);
    ctx->ssl_ctx = SSL_CTX_new(server ? TLS_server_method() : TLS_client_method());
    int rc = ctx->ssl_ctx ? build(ctx->ssl_ctx, c, server, err, errcap) : -ENOMEM;
    if (rc < 0) {
        zc_tls_ctx_free(ctx);
        return rc;
    }
    *out = ctx;
    return 0;
}

void zc_tls_ctx_free(struct zc_tls_ctx *ctx)
{
    if (!ctx)
        return;
    SSL_CTX_free(ctx->ssl_ctx);
    free(ctx);
}

bool zc_tls_ktls_available(void)
{
    /* A /proc file reports size 0: read it, do not stat it. */
    char ulp[512];
    int fd = open("/proc/sys/net/ipv4/tcp_available_ulp", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    ssize_t n = kc_read_full(fd, ulp, sizeof(ulp) - 1);
    (void)close(fd); /* read-only */
    if (n <= 0)
        return false;
    ulp[n] = '\0';
    bool found = false;
    for (char *save, *w = strtok_r(ulp, " \n", &save); w && !found;
         w = strtok_r(NULL, " \n", &save))
        found = strcmp(w, "tls") == 0;
    return found;
}
