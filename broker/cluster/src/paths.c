/*
 * paths.c - the layout's paths (clu_znode.h): building them, classifying a watch's path,
 * zookeeper.connect, and Kafka's base64 ids.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>

#include "clu_znode.h"
#include "kc_err.h"
#include "kc_parse.h"

static int fmt(char *buf, size_t cap, const char *f, ...) __attribute__((format(printf, 3, 4)));

static int fmt(char *buf, size_t cap, const char *f, ...)
{
    va_list ap;
    va_start(ap, f);
    int n = vsnprintf(buf, cap, f, ap);
    va_end(ap);
    return n < 0 || (size_t)n >= cap ? KC_ETOOLARGE : 0;
}

int clu_path_broker(char *buf, size_t cap, int32_t id)
{
    return fmt(buf, cap, CLU_ZK_BROKER_IDS "/%d", (int)id);
}

int clu_path_topic(char *buf, size_t cap, const char *topic)
{
    return fmt(buf, cap, CLU_ZK_TOPICS "/%s", topic);
}

int clu_path_partitions(char *buf, size_t cap, const char *topic)
{
    return fmt(buf, cap, CLU_ZK_TOPICS "/%s/partitions", topic);
}

int clu_path_partition(char *buf, size_t cap, const char *topic, int32_t partition)
{
    return fmt(buf, cap, CLU_ZK_TOPICS "/%s/partitions/%d", topic, (int)partition);
}

int clu_path_state(char *buf, size_t cap, const char *topic, int32_t partition)
{
    return fmt(buf, cap, CLU_ZK_TOPICS "/%s/partitions/%d/state", topic, (int)partition);
}

int clu_path_topic_config(char *buf, size_t cap, const char *topic)
{
    return fmt(buf, cap, CLU_ZK_TOPIC_CONFIGS "/%s", topic);
}

int clu_path_delete_topic(char *buf, size_t cap, const char *topic)
{
    return fmt(buf, cap, CLU_ZK_DELETE_TOPICS "/%s", topic);
}

/* A decimal id in [0, INT32_MAX], written as Kafka writes it (no sign, no leading 0). */
static int parse_id(const char *s, size_t n, int32_t *out)
{
    char tmp[12];
    int64_t v;
    if (n == 0 || n >= sizeof(tmp) || (n > 1 && s[0] == '0') || s[0] == '-' || s[0] == '+')
        return KC_EMALFORMED;
    memcpy(tmp, s, n);
    tmp[n] = '\0';
    if (kc_parse_i64(tmp, 0, INT32_MAX, &v) != 0)
        return KC_EMALFORMED;
    *out = (int32_t)v;
    return 0;
}

/* If path is prefix + "/" + rest, the rest; else NULL. */
static const char *under(const char *path, const char *prefix)
{
    size_t n = strlen(prefix);
    if (strncmp(path, prefix, n) != 0 || path[n] != '/')
        return NULL;
    return path + n + 1;
}

static int name_of(const char *s, size_t n, struct clu_path *out)
{
    if (n == 0 || n > REPL_TOPIC_MAX)
        return KC_EMALFORMED;
    memcpy(out->name, s, n);
    out->name[n] = '\0';
    return repl_topic_name_valid(out->name) ? 0 : KC_EMALFORMED;
}

/* Below /brokers/topics/: "<t>" or "<t>/partitions/<p>/state" (other depths: OTHER). */
static int parse_topic_path(const char *rest, struct clu_path *out)
{
    const char *slash = strchr(rest, '/');
    if (!slash) {
        out->kind = CLU_P_TOPIC;
        return name_of(rest, strlen(rest), out);
    }
    int rc = name_of(rest, (size_t)(slash - rest), out);
    const char *p = under(slash, "/partitions");
    const char *end = p ? strchr(p, '/') : NULL;
    if (rc != 0 || !end || strcmp(end, "/state") != 0) {
        out->kind = CLU_P_OTHER; /* a partition's own node, or deeper: not watched */
        return rc;
    }
    out->kind = CLU_P_STATE;
    return parse_id(p, (size_t)(end - p), &out->id);
}

/* The layout's fixed nodes. */
static enum clu_path_kind fixed_kind(const char *path)
{
    static const struct {
        const char *path;
        enum clu_path_kind kind;
    } fixed[] = {
        {CLU_ZK_CONTROLLER, CLU_P_CONTROLLER},
        {CLU_ZK_CONTROLLER_EPOCH, CLU_P_CONTROLLER_EPOCH},
        {CLU_ZK_BROKER_IDS, CLU_P_BROKER_IDS},
        {CLU_ZK_TOPICS, CLU_P_TOPICS},
        {CLU_ZK_DELETE_TOPICS, CLU_P_DELETE_TOPICS},
        {CLU_ZK_REQUESTS, CLU_P_REQUESTS},
    };
    for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
        if (strcmp(path, fixed[i].path) == 0)
            return fixed[i].kind;
    return CLU_P_OTHER;
}

int clu_path_parse(const char *path, struct clu_path *out)
{
    struct clu_path p = {.kind = fixed_kind(path), .id = -1};
    const char *rest;
    int rc = 0;
    if (p.kind != CLU_P_OTHER) {
        /* a fixed node */
    } else if ((rest = under(path, CLU_ZK_BROKER_IDS))) {
        p.kind = CLU_P_BROKER;
        rc = parse_id(rest, strlen(rest), &p.id);
    } else if ((rest = under(path, CLU_ZK_TOPICS))) {
        rc = parse_topic_path(rest, &p);
    } else if ((rest = under(path, CLU_ZK_TOPIC_CONFIGS))) {
        p.kind = CLU_P_TOPIC_CONFIG;
        rc = name_of(rest, strlen(rest), &p);
    } else if ((rest = under(path, CLU_ZK_DELETE_TOPICS))) {
        p.kind = CLU_P_DELETE_TOPIC;
        rc = name_of(rest, strlen(rest), &p);
    } else if ((rest = under(path, CLU_ZK_REQUESTS))) {
        p.kind = CLU_P_REQUEST;
        rc = strncmp(rest, "request_", 8) == 0 && !strchr(rest, '/') &&
                     strlcpy(p.name, rest, sizeof(p.name)) < sizeof(p.name)
                 ? 0
                 : KC_EMALFORMED;
    }
    if (rc != 0)
        return rc;
    *out = p;
    return 0;
}

/* "host:port" with a non-empty host and a port in 1..65535. */
static bool host_port_ok(const char *s, size_t n)
{
    const char *colon = memrchr(s, ':', n);
    int32_t port;
    if (!colon || colon == s)
        return false;
    size_t pn = n - (size_t)(colon + 1 - s);
    return parse_id(colon + 1, pn, &port) == 0 && port >= 1 && port <= 65535;
}

/* "/a/b": non-empty segments, no trailing slash, no "." or "..". */
static bool chroot_ok(const char *s)
{
    if (s[0] != '/' || s[1] == '\0')
        return false;
    for (const char *seg = s + 1;;) {
        const char *end = strchr(seg, '/');
        size_t n = end ? (size_t)(end - seg) : strlen(seg);
        if (n == 0 || (n == 1 && seg[0] == '.') || (n == 2 && seg[0] == '.' && seg[1] == '.'))
            return false;
        if (!end)
            return true;
        seg = end + 1;
    }
}

int clu_connect_parse(const char *s, struct clu_connect *out)
{
    struct clu_connect c = {0};
    const char *slash = s ? strchr(s, '/') : NULL;
    size_t hn = s ? (slash ? (size_t)(slash - s) : strlen(s)) : 0;
    if (hn == 0 || hn >= sizeof(c.hosts))
        return -EINVAL;
    memcpy(c.hosts, s, hn);
    for (const char *h = c.hosts;;) {
        const char *comma = strchr(h, ',');
        size_t n = comma ? (size_t)(comma - h) : strlen(h);
        if (!host_port_ok(h, n))
            return -EINVAL;
        if (!comma)
            break;
        h = comma + 1;
    }
    if (slash && strcmp(slash, "/") != 0) {
        if (!chroot_ok(slash) || strlcpy(c.chroot, slash, sizeof(c.chroot)) >= sizeof(c.chroot))
            return -EINVAL;
    }
    *out = c;
    return 0;
}

static const char b64url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* 16 bytes -> 22 characters (the last one carries 2 bits: the rest of it is zero). */
static void b64url_16(const uint8_t in[16], char out[CLU_UUID_LEN + 1])
{
    int o = 0;
    for (int i = 0; i < 15; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
        out[o++] = b64url[v >> 18 & 63];
        out[o++] = b64url[v >> 12 & 63];
        out[o++] = b64url[v >> 6 & 63];
        out[o++] = b64url[v & 63];
    }
    out[o++] = b64url[in[15] >> 2];
    out[o++] = b64url[(in[15] & 3) << 4];
    out[o] = '\0';
}

int clu_uuid_new(char out[CLU_UUID_LEN + 1])
{
    uint8_t raw[16];
    for (int tries = 0; tries < 100; tries++) {
        ssize_t n = getrandom(raw, sizeof(raw), 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n != (ssize_t)sizeof(raw))
            return n < 0 ? -errno : -EIO;
        static const uint8_t zero[16];
        if (memcmp(raw, zero, sizeof(raw)) == 0)
            continue; /* Kafka's ZERO_UUID means "no id" */
        b64url_16(raw, out);
        if (out[0] != '-') /* Kafka avoids ids a command line would read as an option */
            return 0;
    }
    return -EIO;
}

bool clu_uuid_valid(const char *s)
{
    if (strlen(s) != CLU_UUID_LEN)
        return false;
    for (int i = 0; i < CLU_UUID_LEN; i++)
        if (!strchr(b64url, s[i]) || s[i] == '\0')
            return false;
    /* The 22nd character holds the last 2 bits: its low 4 bits must be zero. */
    return ((strchr(b64url, s[21]) - b64url) & 15) == 0;
}
