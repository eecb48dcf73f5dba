/*
 * znode_broker.c - the bodies about brokers and the controller (clu_znode.h):
 * /brokers/ids/<id>, /controller, /controller_epoch, /cluster/id.
 *
 * A broker registers every listener it advertises, in Kafka's "NAME://host:port" form,
 * with the security protocol each listener name speaks:
 *
 *   advertised.listeners            PLAINTEXT://10.0.0.1:9092,INTERNAL://10.0.0.1:9093
 *   listener.security.protocol.map  PLAINTEXT:PLAINTEXT,INTERNAL:SASL_SSL
 *   ->  "endpoints":["PLAINTEXT://10.0.0.1:9092","INTERNAL://10.0.0.1:9093"],
 *       "listener_security_protocol_map":{"PLAINTEXT":"PLAINTEXT","INTERNAL":"SASL_SSL"}
 *
 * The top-level "host"/"port" pair is for clients older than 0.10: the first PLAINTEXT
 * listener's, or null/-1 (as Kafka writes it).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "clu_jw.h"
#include "clu_znode.h"
#include "kc_err.h"
#include "kc_parse.h"

#define MAX_LISTENERS 16

static const char *const protocols[] = {"PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"};

static bool protocol_known(const char *p)
{
    for (size_t i = 0; i < sizeof(protocols) / sizeof(protocols[0]); i++)
        if (strcmp(p, protocols[i]) == 0)
            return true;
    return false;
}

static bool name_ok(const char *s, size_t n)
{
    if (n == 0 || n >= 64)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-'))
            return false;
    }
    return true;
}

struct listener {
    char name[64];
    char host[256];
    int32_t port;
    char protocol[32];
};

/* "NAME://host:port" (host may be empty or a bracketed IPv6 address). */
static int parse_listener(const char *s, size_t n, struct listener *l)
{
    const char *sep = memmem(s, n, "://", 3);
    const char *colon = memrchr(s, ':', n);
    if (!sep || !name_ok(s, (size_t)(sep - s)) || !colon || colon < sep + 3)
        return -EINVAL;
    size_t hn = (size_t)(colon - (sep + 3)), pn = n - (size_t)(colon + 1 - s);
    char port[8];
    int64_t v;
    if (hn >= sizeof(l->host) || pn == 0 || pn >= sizeof(port) || memchr(sep + 3, ',', hn))
        return -EINVAL;
    memcpy(port, colon + 1, pn);
    port[pn] = '\0';
    if (kc_parse_i64(port, 0, 65535, &v) != 0)
        return -EINVAL;
    memcpy(l->name, s, (size_t)(sep - s));
    l->name[sep - s] = '\0';
    memcpy(l->host, sep + 3, hn);
    l->host[hn] = '\0';
    l->port = (int32_t)v;
    return 0;
}

/* Split "a,b,c"; each piece to fn. -EINVAL for an empty piece or more than MAX_LISTENERS. */
static int split(const char *s, int (*fn)(const char *, size_t, void *, int), void *arg)
{
    int i = 0;
    for (const char *p = s;; i++) {
        const char *comma = strchr(p, ',');
        size_t n = comma ? (size_t)(comma - p) : strlen(p);
        if (i == MAX_LISTENERS || n == 0)
            return -EINVAL;
        int rc = fn(p, n, arg, i);
        if (rc != 0)
            return rc;
        if (!comma)
            return i + 1;
        p = comma + 1;
    }
}

static int one_listener(const char *s, size_t n, void *arg, int i)
{
    return parse_listener(s, n, &((struct listener *)arg)[i]);
}

struct pmap {
    int n;
    char name[MAX_LISTENERS][64];
    char protocol[MAX_LISTENERS][32];
};

static int one_mapping(const char *s, size_t n, void *arg, int i)
{
    struct pmap *m = arg;
    const char *colon = memchr(s, ':', n);
    size_t pn = colon ? n - (size_t)(colon + 1 - s) : 0;
    if (!colon || !name_ok(s, (size_t)(colon - s)) || pn == 0 || pn >= sizeof(m->protocol[0]))
        return -EINVAL;
    memcpy(m->name[i], s, (size_t)(colon - s));
    m->name[i][colon - s] = '\0';
    memcpy(m->protocol[i], colon + 1, pn);
    m->protocol[i][pn] = '\0';
    m->n = i + 1;
    return protocol_known(m->protocol[i]) ? 0 : -EINVAL;
}

/* Each listener's protocol from the map (NULL map: the name is the protocol). */
static int resolve(struct listener *ls, int n, const struct pmap *m)
{
    for (int i = 0; i < n; i++) {
        const char *proto = m ? NULL : ls[i].name;
        for (int k = 0; m && k < m->n; k++)
            if (strcmp(m->name[k], ls[i].name) == 0)
                proto = m->protocol[k];
        if (!proto || !protocol_known(proto))
            return -EINVAL;
        strlcpy(ls[i].protocol, proto, sizeof(ls[i].protocol));
    }
    return 0;
}

/* endpoints, protocol_map, host and port of b from its listeners. */
static int fill(struct clu_broker_reg *b, const struct listener *ls, int n)
{
    size_t e = 0, m = 0;
    b->endpoints[0] = b->protocol_map[0] = b->host[0] = '\0';
    b->port = -1;
    for (int i = 0; i < n; i++) {
        int a = snprintf(b->endpoints + e, sizeof(b->endpoints) - e, "%s%s://%s:%d", i ? "," : "",
                         ls[i].name, ls[i].host, (int)ls[i].port);
        int c = snprintf(b->protocol_map + m, sizeof(b->protocol_map) - m, "%s%s:%s", i ? "," : "",
                         ls[i].name, ls[i].protocol);
        if (a < 0 || c < 0 || (size_t)a >= sizeof(b->endpoints) - e ||
            (size_t)c >= sizeof(b->protocol_map) - m)
            return -EINVAL;
        e += (size_t)a;
        m += (size_t)c;
        if (b->port < 0 && strcmp(ls[i].protocol, "PLAINTEXT") == 0) {
            strlcpy(b->host, ls[i].host, sizeof(b->host));
            b->port = ls[i].port;
        }
    }
    return 0;
}

int clu_broker_reg_init(struct clu_broker_reg *b, const char *listeners, const char *protocol_map,
                        const char *rack, int64_t now_ms)
{
    struct listener ls[MAX_LISTENERS];
    struct pmap m = {0};
    struct clu_broker_reg r = {.version = 5, .jmx_port = -1, .timestamp = now_ms};
    int n = listeners ? split(listeners, one_listener, ls) : -EINVAL;
    if (n < 0 || (protocol_map && split(protocol_map, one_mapping, &m) < 0))
        return -EINVAL;
    if (resolve(ls, n, protocol_map ? &m : NULL) != 0 || fill(&r, ls, n) != 0)
        return -EINVAL;
    if (rack && strlcpy(r.rack, rack, sizeof(r.rack)) >= sizeof(r.rack))
        return -EINVAL;
    *b = r;
    return 0;
}

/* "listener_security_protocol_map":{...},"endpoints":[...] */
static void write_listeners(struct kc_writer *w, const struct listener *ls, int n)
{
    clu__jw_key(w, "listener_security_protocol_map", 1);
    clu__jw_raw(w, "{");
    for (int i = 0; i < n; i++) {
        clu__jw_key(w, ls[i].name, i == 0);
        clu__jw_str(w, ls[i].protocol);
    }
    clu__jw_raw(w, "}");
    clu__jw_key(w, "endpoints", 0);
    clu__jw_raw(w, "[");
    for (int i = 0; i < n; i++) {
        char ep[sizeof(ls[i].name) + sizeof(ls[i].host) + 16];
        snprintf(ep, sizeof(ep), "%.63s://%.255s:%d", ls[i].name, ls[i].host, (int)ls[i].port);
        clu__jw_raw(w, i ? "," : "");
        clu__jw_str(w, ep);
    }
    clu__jw_raw(w, "]");
}

int clu_broker_reg_encode(const struct clu_broker_reg *b, struct kc_writer *w)
{
    struct listener ls[MAX_LISTENERS];
    struct pmap m = {0};
    char ts[24];
    int n = split(b->endpoints, one_listener, ls);
    if (n < 0 || split(b->protocol_map, one_mapping, &m) != n || resolve(ls, n, &m) != 0)
        return -EINVAL;
    clu__jw_raw(w, "{");
    write_listeners(w, ls, n);
    clu__jw_key(w, "jmx_port", 0);
    clu__jw_int(w, b->jmx_port);
    clu__jw_key(w, "features", 0);
    clu__jw_raw(w, "{}");
    clu__jw_key(w, "host", 0);
    if (b->port >= 0)
        clu__jw_str(w, b->host);
    else
        clu__jw_raw(w, "null");
    if (b->rack[0]) {
        clu__jw_key(w, "rack", 0);
        clu__jw_str(w, b->rack);
    }
    snprintf(ts, sizeof(ts), "%" PRId64, b->timestamp);
    clu__jw_key(w, "timestamp", 0);
    clu__jw_str(w, ts);
    clu__jw_key(w, "port", 0);
    clu__jw_int(w, b->port);
    clu__jw_raw(w, ",\"version\":5}");
    return 0;
}

/* A string member that may also be null or absent (-> ""). */
static int opt_str(const struct clu_json *j, const char *key, char *buf, size_t cap)
{
    uint32_t v;
    int rc = clu_json_member(j, 0, key, &v);
    buf[0] = '\0';
    if (rc == -ENOENT || (rc == 0 && j->tok[v].type == CLU_JSON_NULL))
        return 0;
    if (rc != 0)
        return rc;
    return clu_json_str(j, v, buf, cap, NULL) == 0 ? 0 : KC_EMALFORMED;
}

/* Versions 2..5: the endpoints array, and the protocol map when present. */
static int decode_listeners(const struct clu_json *j, struct listener *ls, int *n)
{
    uint32_t arr, map;
    if (clu_json_member(j, 0, "endpoints", &arr) != 0 || j->tok[arr].type != CLU_JSON_ARRAY ||
        j->tok[arr].count < 1 || j->tok[arr].count > MAX_LISTENERS)
        return KC_EMALFORMED;
    int i = 0;
    for (uint32_t t = arr + 1; t < j->tok[arr].next; t = j->tok[t].next, i++) {
        char ep[CLU_LISTENERS_MAX];
        size_t len;
        if (clu_json_str(j, t, ep, sizeof(ep), &len) != 0 || parse_listener(ep, len, &ls[i]) != 0)
            return KC_EMALFORMED;
    }
    struct pmap m = {0};
    int rc = clu_json_member(j, 0, "listener_security_protocol_map", &map);
    if (rc == 0) {
        if (j->tok[map].type != CLU_JSON_OBJECT || j->tok[map].count > MAX_LISTENERS)
            return KC_EMALFORMED;
        uint32_t k = map + 1;
        for (uint32_t x = 0; x < j->tok[map].count; x++, k = j->tok[k + 1].next, m.n++)
            if (clu_json_str(j, k, m.name[x], sizeof(m.name[x]), NULL) != 0 ||
                clu_json_str(j, k + 1, m.protocol[x], sizeof(m.protocol[x]), NULL) != 0)
                return KC_EMALFORMED;
    } else if (rc != -ENOENT) {
        return KC_EMALFORMED;
    }
    *n = i;
    return resolve(ls, i, rc == 0 ? &m : NULL) == 0 ? 0 : KC_EMALFORMED;
}

static int decode_reg(const struct clu_json *j, struct clu_broker_reg *r)
{
    struct listener ls[MAX_LISTENERS];
    char ts[24] = "";
    int64_t v;
    int n = 1, rc;
    if (clu__jr_int(j, 0, "version", 1, INT32_MAX, &v) != 0 ||
        clu__jr_i32(j, 0, "jmx_port", -1, 65535, &r->jmx_port) != 0)
        return KC_EMALFORMED;
    if (v > 5)
        return KC_EUNSUPPORTED;
    r->version = (int)v;
    if (r->version == 1) {
        /* host and port only: the listener they make must read back as the same one */
        char host[sizeof(ls[0].host)], ep[sizeof(host) + 32];
        int32_t port;
        if (clu__jr_str(j, 0, "host", host, sizeof(host)) != 0 ||
            clu__jr_i32(j, 0, "port", 0, 65535, &port) != 0)
            return KC_EMALFORMED;
        int len = snprintf(ep, sizeof(ep), "PLAINTEXT://%s:%d", host, (int)port);
        if (parse_listener(ep, (size_t)len, &ls[0]) != 0 || strcmp(ls[0].host, host) != 0)
            return KC_EMALFORMED;
        strcpy(ls[0].protocol, "PLAINTEXT");
    } else if ((rc = decode_listeners(j, ls, &n)) != 0) {
        return rc;
    }
    if (opt_str(j, "rack", r->rack, sizeof(r->rack)) != 0 ||
        opt_str(j, "timestamp", ts, sizeof(ts)) != 0 ||
        (ts[0] && kc_parse_i64(ts, 0, INT64_MAX, &r->timestamp) != 0))
        return KC_EMALFORMED;
    return fill(r, ls, n) == 0 ? 0 : KC_EMALFORMED;
}

int clu_broker_reg_decode(const char *p, size_t len, struct clu_broker_reg *out)
{
    struct clu_json j;
    struct clu_broker_reg r = {0};
    int rc = clu__jr_object(&j, p, len);
    if (rc != 0)
        return rc;
    rc = decode_reg(&j, &r);
    clu_json_fini(&j);
    if (rc == 0)
        *out = r;
    return rc;
}

int clu_controller_encode(int32_t broker_id, int64_t now_ms, struct kc_writer *w)
{
    char ts[24];
    if (broker_id < 0)
        return -EINVAL;
    snprintf(ts, sizeof(ts), "%" PRId64, now_ms);
    clu__jw_raw(w, "{\"version\":1,\"brokerid\":");
    clu__jw_int(w, broker_id);
    clu__jw_raw(w, ",\"timestamp\":");
    clu__jw_str(w, ts);
    clu__jw_raw(w, "}");
    return 0;
}

int clu_controller_decode(const char *p, size_t len, int32_t *broker_id)
{
    struct clu_json j;
    int32_t id;
    int rc = clu__jr_object(&j, p, len);
    if (rc != 0)
        return rc;
    rc = clu__jr_i32(&j, 0, "brokerid", 0, INT32_MAX, &id) == 0 ? 0 : KC_EMALFORMED;
    clu_json_fini(&j);
    if (rc == 0)
        *broker_id = id;
    return rc;
}

int clu_epoch_encode(int32_t epoch, struct kc_writer *w)
{
    if (epoch < 0)
        return -EINVAL;
    clu__jw_int(w, epoch);
    return 0;
}

int clu_epoch_decode(const char *p, size_t len, int32_t *epoch)
{
    char tmp[12];
    int64_t v;
    if (len == 0 || len >= sizeof(tmp) || (len > 1 && p[0] == '0'))
        return KC_EMALFORMED;
    memcpy(tmp, p, len);
    tmp[len] = '\0';
    if (tmp[0] == '-' || tmp[0] == '+' || kc_parse_i64(tmp, 0, INT32_MAX, &v) != 0)
        return KC_EMALFORMED;
    *epoch = (int32_t)v;
    return 0;
}

int clu_cluster_id_encode(const char *id, struct kc_writer *w)
{
    if (!clu_uuid_valid(id))
        return -EINVAL;
    clu__jw_raw(w, "{\"version\":\"1\",\"id\":");
    clu__jw_str(w, id);
    clu__jw_raw(w, "}");
    return 0;
}

int clu_cluster_id_decode(const char *p, size_t len, char id[CLU_UUID_LEN + 1])
{
    struct clu_json j;
    char tmp[CLU_UUID_LEN + 2];
    int rc = clu__jr_object(&j, p, len);
    if (rc != 0)
        return rc;
    /* Kafka writes the version as a string here ("1"), unlike everywhere else. */
    uint32_t v;
    rc = clu_json_member(&j, 0, "version", &v) == 0 && clu_json_str_eq(&j, v, "1") &&
                 clu__jr_str(&j, 0, "id", tmp, sizeof(tmp)) == 0 && clu_uuid_valid(tmp)
             ? 0
             : KC_EMALFORMED;
    clu_json_fini(&j);
    if (rc == 0)
        memcpy(id, tmp, CLU_UUID_LEN + 1);
    return rc;
}
