/*
 * config_security.c - the settings of who may connect and how: listeners with their
 * security protocols, TLS, SASL, ACLs. Kafka's keys, so a Kafka user's configuration
 * carries over:
 *
 *   listeners=PLAINTEXT://127.0.0.1:9092,SASL_SSL://0.0.0.0:9094
 *   listeners=CLIENT://:9093,INTERNAL://127.0.0.1:9092          (named listeners, with)
 *   listener.security.protocol.map=CLIENT:SASL_SSL,INTERNAL:PLAINTEXT
 *   ssl.keystore.type=PEM  ssl.keystore.location=/etc/kafka/broker.pem  ssl.client.auth=...
 *   sasl.enabled.mechanisms=SCRAM-SHA-256,SCRAM-SHA-512,PLAIN
 *   authorizer.class.name=<anything non-empty>  super.users=User:admin;User:ops
 *   allow.everyone.if.no.acl.found=false
 *
 * The first listener is the one --port and --bind change. Values are checked here as far
 * as text allows; a keystore that does not load stops the broker at start (server.c).
 * Secrets (ssl.*password*) are never printed: --help shows "[hidden]".
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "brk_int.h"
#include "sec_principal.h"
#include "zc_tls.h"

static const char *const proto_names[] = {"PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"};

const char *brk_secproto_name(enum brk_secproto p)
{
    return (unsigned)p < KC_ARRAY_SIZE(proto_names) ? proto_names[p] : "?";
}

static int proto_parse(const char *s, size_t len, enum brk_secproto *out)
{
    for (size_t i = 0; i < KC_ARRAY_SIZE(proto_names); i++)
        if (strlen(proto_names[i]) == len && strncmp(s, proto_names[i], len) == 0) {
            *out = (enum brk_secproto)i;
            return 0;
        }
    return -ENOENT;
}

static int fail(char *err, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(char *err, size_t cap, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, cap, fmt, ap);
    va_end(ap);
    return -EINVAL;
}

void brk__config_security_init(struct brk_config *cfg)
{
    struct brk_security_config *sec = &cfg->sec;
    sec->nlisteners = 1;
    strlcpy(sec->listeners[0].name, "PLAINTEXT", sizeof(sec->listeners[0].name));
    sec->ssl_handshake_timeout_ms = BRK_DEFAULT_SSL_HANDSHAKE_MS;
    strlcpy(sec->sasl_mechanisms, BRK_DEFAULT_SASL_MECHANISMS, sizeof(sec->sasl_mechanisms));
    sec->failed_auth_delay_ms = BRK_DEFAULT_FAILED_AUTH_DELAY_MS;
}

/* One "NAME://host:port" of listeners into l. */
static int listener_parse(const char *v, size_t len, struct brk_listener_config *l, char *err,
                          size_t cap)
{
    char buf[300];
    if (len >= sizeof(buf))
        return fail(err, cap, "listeners: entry too long");
    memcpy(buf, v, len);
    buf[len] = '\0';
    char *sep = strstr(buf, "://"), *hp = sep ? sep + 3 : NULL;
    char *colon = hp ? strrchr(hp, ':') : NULL;
    int64_t port;
    if (!sep || sep == buf || (size_t)(sep - buf) >= sizeof(l->name) || !colon ||
        kc_parse_i64(colon + 1, 0, 65535, &port) != 0)
        return fail(err, cap, "listeners: want NAME://host:port (NAME a security protocol "
                              "or a listener.security.protocol.map name), not '%s'", buf);
    *sep = '\0';
    *colon = '\0';
    if (hp[0] == '[' && colon > hp + 1 && colon[-1] == ']') { /* [v6] */
        colon[-1] = '\0';
        hp++;
    }
    if (strlen(hp) >= sizeof(l->host))
        return fail(err, cap, "listeners: host name too long");
    *l = (struct brk_listener_config){.port = (int)port};
    strlcpy(l->name, buf, sizeof(l->name));
    strlcpy(l->host, *hp ? hp : "0.0.0.0", sizeof(l->host));
    return 0;
}

static int listeners_set(struct brk_config *cfg, const char *v, char *err, size_t cap)
{
    struct brk_security_config *sec = &cfg->sec;
    struct brk_listener_config ls[BRK_LISTENERS_CFG_MAX] = {0};
    int n = 0;
    for (const char *p = v; *p;) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        if (n == BRK_LISTENERS_CFG_MAX)
            return fail(err, cap, "listeners: at most %d", BRK_LISTENERS_CFG_MAX);
        int rc = listener_parse(p, len, &ls[n++], err, cap);
        if (rc)
            return rc;
        p += len + (comma ? 1 : 0);
    }
    if (n == 0)
        return fail(err, cap, "listeners: none given");
    memcpy(sec->listeners, ls, sizeof(ls[0]) * (size_t)n);
    sec->nlisteners = n;
    strlcpy(cfg->bind, ls[0].host, sizeof(cfg->bind)); /* --port / --bind change this one */
    cfg->port = ls[0].port;
    return 0;
}

/* ssl.* for the TLS context: checked by name now (zeroCopy knows them), by value at start. */
static int ssl_set(struct brk_security_config *sec, const char *key, const char *value,
                   char *err, size_t cap)
{
    struct zc_tls_config probe = {0};
    int64_t ms;
    if (strcmp(key, "ssl.handshake.timeout.ms") == 0) {
        if (kc_parse_i64(value, 100, 3600000, &ms) != 0)
            return fail(err, cap, "ssl.handshake.timeout.ms must be 100 to 3600000");
        sec->ssl_handshake_timeout_ms = ms;
        return 0;
    }
    if (strcmp(key, "ssl.principal.mapping.rules") == 0) {
        if (sec_principal_mapping_rules_check(value) != 0)
            return fail(err, cap, "ssl.principal.mapping.rules: only DEFAULT is supported");
        return 0;
    }
    if (zc_tls_config_set(&probe, key, value) == -ENOENT)
        return 2; /* not one we know: the caller says "unknown key" */
    int i = 0;
    while (i < sec->nssl && strcmp(sec->ssl[i].key, key) != 0)
        i++;
    if (i == BRK_SSL_KEYS_MAX || strlen(key) >= sizeof(sec->ssl[0].key) ||
        strlen(value) >= sizeof(sec->ssl[0].value))
        return fail(err, cap, "%s: value too long", key);
    strlcpy(sec->ssl[i].key, key, sizeof(sec->ssl[i].key));
    strlcpy(sec->ssl[i].value, value, sizeof(sec->ssl[i].value));
    sec->nssl += i == sec->nssl;
    return 0;
}

static int copy_str(char *dst, size_t size, const char *key, const char *v, char *err,
                    size_t cap)
{
    if (strlcpy(dst, v, size) >= size)
        return fail(err, cap, "%s: longer than %zu characters", key, size - 1);
    return 0;
}

int brk__config_security_set(struct brk_config *cfg, const char *key, const char *value,
                             char *err, size_t cap)
{
    struct brk_security_config *sec = &cfg->sec;
    int64_t ms;
    if (strcmp(key, "listeners") == 0)
        return listeners_set(cfg, value, err, cap);
    if (strcmp(key, "advertised.listeners") == 0)
        return copy_str(sec->advertised, sizeof(sec->advertised), key, value, err, cap);
    if (strcmp(key, "listener.security.protocol.map") == 0)
        return copy_str(sec->protocol_map, sizeof(sec->protocol_map), key, value, err, cap);
    if (strncmp(key, "ssl.", 4) == 0)
        return ssl_set(sec, key, value, err, cap);
    if (strcmp(key, "sasl.enabled.mechanisms") == 0)
        return copy_str(sec->sasl_mechanisms, sizeof(sec->sasl_mechanisms), key, value, err, cap);
    if (strcmp(key, "authorizer.class.name") == 0)
        return copy_str(sec->authorizer, sizeof(sec->authorizer), key, value, err, cap);
    if (strcmp(key, "super.users") == 0)
        return copy_str(sec->super_users, sizeof(sec->super_users), key, value, err, cap);
    if (strcmp(key, "allow.everyone.if.no.acl.found") == 0) {
        if (kc_parse_bool(value, &sec->allow_everyone_if_no_acl) != 0)
            return fail(err, cap, "%s must be true or false, not '%s'", key, value);
        return 0;
    }
    if (strcmp(key, "metrics.basic.auth") == 0) {
        if (kc_parse_bool(value, &sec->metrics_basic_auth) != 0)
            return fail(err, cap, "%s must be true or false, not '%s'", key, value);
        return 0;
    }
    if (strcmp(key, "connection.failed.authentication.delay.ms") == 0) {
        if (kc_parse_i64(value, 0, 600000, &ms) != 0)
            return fail(err, cap, "%s must be 0 to 600000, not '%s'", key, value);
        sec->failed_auth_delay_ms = ms;
        return 0;
    }
    return 2;
}

/* The security protocol of listener name: itself a protocol, or mapped. */
static int resolve(const struct brk_security_config *sec, const char *name,
                   enum brk_secproto *proto)
{
    size_t n = strlen(name);
    for (const char *p = sec->protocol_map; *p;) {
        const char *comma = strchr(p, ','), *colon = strchr(p, ':');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        if (colon && colon < p + len && (size_t)(colon - p) == n && strncmp(p, name, n) == 0)
            return proto_parse(colon + 1, len - n - 1, proto);
        p += len + (comma ? 1 : 0);
    }
    return proto_parse(name, n, proto);
}

static int mechanisms_check(const char *list, char *err, size_t cap)
{
    static const char *const known[] = {"PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"};
    for (const char *p = list; *p;) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p), i = 0;
        while (i < KC_ARRAY_SIZE(known) && !(strlen(known[i]) == len && !strncmp(p, known[i], len)))
            i++;
        if (i == KC_ARRAY_SIZE(known))
            return fail(err, cap, "sasl.enabled.mechanisms: '%.*s' is not supported (PLAIN, "
                                  "SCRAM-SHA-256, SCRAM-SHA-512)", (int)len, p);
        p += len + (comma ? 1 : 0);
    }
    return 0;
}

static bool has_ssl_key(const struct brk_security_config *sec, const char *key)
{
    for (int i = 0; i < sec->nssl; i++)
        if (strcmp(sec->ssl[i].key, key) == 0)
            return sec->ssl[i].value[0] != '\0';
    return false;
}

/* advertised.listeners: NAME://host:port entries given to the listener of that name (an
 * entry without a name, or one of PLAINTEXT when listener 0 is named otherwise, is
 * listener 0's: what one-listener configurations have always said). */
static int advertised_check(struct brk_config *cfg, char *err, size_t cap)
{
    struct brk_security_config *sec = &cfg->sec;
    bool seen[BRK_LISTENERS_CFG_MAX] = {false};
    for (const char *p = sec->advertised; *p;) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        struct brk_listener_config e;
        char entry[300];
        if (len >= sizeof(entry) - 16)
            return fail(err, cap, "advertised.listeners: entry too long");
        memcpy(entry, p, len);
        entry[len] = '\0';
        if (!strstr(entry, "://")) { /* host:port alone: listener 0's */
            memmove(entry + 12, entry, len + 1);
            memcpy(entry, "PLAINTEXT://", 12);
        }
        if (listener_parse(entry, strlen(entry), &e, err, cap) != 0)
            return -EINVAL; /* err says what, and that it is a listener entry */
        int i = 0;
        while (i < sec->nlisteners && strcmp(sec->listeners[i].name, e.name) != 0)
            i++;
        if (i == sec->nlisteners && sec->nlisteners == 1)
            i = 0; /* one listener: whatever the entry's name says */
        if (i == sec->nlisteners)
            return fail(err, cap, "advertised.listeners: %s names no listener", e.name);
        if (seen[i])
            return fail(err, cap, "advertised.listeners: listener %s is advertised twice",
                        sec->listeners[i].name);
        seen[i] = true;
        bool any = strcmp(e.host, "0.0.0.0") == 0 && !strstr(entry, "0.0.0.0");
        strlcpy(sec->listeners[i].adv_host, any ? "" : e.host, sizeof(e.adv_host));
        sec->listeners[i].adv_port = e.port;
        p += len + (comma ? 1 : 0);
    }
    strlcpy(cfg->advertised_host, sec->listeners[0].adv_host, sizeof(cfg->advertised_host));
    cfg->advertised_port = sec->listeners[0].adv_port;
    return 0;
}

int brk__config_security_check(struct brk_config *cfg, char *err, size_t cap)
{
    struct brk_security_config *sec = &cfg->sec;
    bool tls = false;
    strlcpy(sec->listeners[0].host, cfg->bind, sizeof(sec->listeners[0].host));
    sec->listeners[0].port = cfg->port;
    for (int i = 0; i < sec->nlisteners; i++) {
        struct brk_listener_config *l = &sec->listeners[i];
        if (resolve(sec, l->name, &l->proto) != 0)
            return fail(err, cap, "listener %s: not a security protocol, and not in "
                                  "listener.security.protocol.map", l->name);
        tls |= brk_secproto_tls(l->proto);
        for (int j = 0; j < i; j++)
            if (strcmp(sec->listeners[j].name, l->name) == 0 ||
                (l->port != 0 && sec->listeners[j].port == l->port))
                return fail(err, cap, "listeners %s and %s: names and ports must differ",
                            sec->listeners[j].name, l->name);
    }
    int rc = advertised_check(cfg, err, cap);
    if (rc)
        return rc;
    if (tls && !has_ssl_key(sec, "ssl.keystore.location"))
        return fail(err, cap, "an SSL listener needs ssl.keystore.location (a PEM file with "
                              "the private key and the certificate chain)");
    return mechanisms_check(sec->sasl_mechanisms, err, cap);
}

void brk__config_security_print(const struct brk_config *cfg, FILE *f)
{
    const struct brk_security_config *sec = &cfg->sec;
    fprintf(f, "listeners=");
    for (int i = 0; i < sec->nlisteners; i++)
        fprintf(f, "%s%s://%s:%d", i ? "," : "", sec->listeners[i].name,
                i ? sec->listeners[i].host : cfg->bind, i ? sec->listeners[i].port : cfg->port);
    fprintf(f, "\n");
    if (sec->advertised[0])
        fprintf(f, "advertised.listeners=%s\n", sec->advertised);
    if (sec->protocol_map[0])
        fprintf(f, "listener.security.protocol.map=%s\n", sec->protocol_map);
    for (int i = 0; i < sec->nssl; i++) /* never a secret: keys naming a password are hidden */
        fprintf(f, "%s=%s\n", sec->ssl[i].key,
                strstr(sec->ssl[i].key, "password") ? "[hidden]" : sec->ssl[i].value);
    fprintf(f, "ssl.handshake.timeout.ms=%lld\nsasl.enabled.mechanisms=%s\n"
               "authorizer.class.name=%s\nsuper.users=%s\nallow.everyone.if.no.acl.found=%s\n"
               "connection.failed.authentication.delay.ms=%lld\nmetrics.basic.auth=%s\n",
            (long long)sec->ssl_handshake_timeout_ms, sec->sasl_mechanisms, sec->authorizer,
            sec->super_users, sec->allow_everyone_if_no_acl ? "true" : "false",
            (long long)sec->failed_auth_delay_ms, sec->metrics_basic_auth ? "true" : "false");
}
