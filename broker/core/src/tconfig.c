/*
 * tconfig.c - Kafka's topic config model: one table, one checker per type, the synonyms.
 *
 * Every row is a topic config of Kafka 3.9 (TopicConfig / LogConfig), with its type,
 * Kafka's validator, Kafka's default, and its broker-level synonyms in the order Kafka
 * consults them. A synonym's value is converted to the topic's unit (log.retention.hours
 * = 24 means retention.ms = 86400000):
 *
 *   row              type   validator             synonyms (factor)                default
 *   retention.ms     LONG   >= -1                 log.retention.ms (1)             on the
 *                                                 log.retention.minutes (60000)    last one:
 *                                                 log.retention.hours (3600000)    168 h
 *   cleanup.policy   LIST   each of compact,delete  log.cleanup.policy             delete
 *   ...
 *
 * Where this broker's own settings hold a synonym (brk_config: log.segment.bytes, ...),
 * its value is this broker's (given or default); the others (log.cleaner.*, ...) are
 * Kafka's defaults, which is what a Kafka broker with no such line would report.
 *
 * Deviations, each for a reason: segment.bytes is at least 1024 (appendLog's floor; Kafka
 * 3.9 says 14, 4.0 says 1 MiB); message.format.version, the remote-storage, throttling and
 * compression-level keys are not offered (Kafka 4.0 removed the first; the others have
 * nothing to act on here), and an attempt to set them is "Unknown topic config name".
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "brk_tconfig.h"
#include "kc_common.h"
#include "kc_log.h"
#include "kc_parse.h"

struct syn {
    const char *name;
    int64_t factor; /* topic value = broker value * factor (-1 stays -1) */
};

struct brk_tcfg_key {
    const char *name;
    int8_t type;
    int64_t min, max;    /* numbers */
    const char *choices; /* STRING / LIST: "a, b, c" (Kafka's message lists them so) */
    const char *def;     /* Kafka's default in the topic's unit (NULL: null) */
    struct syn syn[3];
    int8_t def_syn;      /* the synonym that carries the default (-1: none, 0..2) */
    const char *doc;
};

#define L BRK_CFGT_LONG
#define I BRK_CFGT_INT
#define B BRK_CFGT_BOOLEAN
#define S BRK_CFGT_STRING
#define LST BRK_CFGT_LIST
#define D BRK_CFGT_DOUBLE
#define LMAX INT64_MAX
#define IMAX INT32_MAX
#define LMAXS "9223372036854775807"

static const struct brk_tcfg_key keys[] = {
    {"cleanup.policy", LST, 0, 0, "compact, delete", "delete", {{"log.cleanup.policy", 1}}, 0,
     "delete: old segments go by retention; compact: keep the last record of each key"},
    {"compression.type", S, 0, 0, "uncompressed, zstd, lz4, snappy, gzip, producer",
     "producer", {{"compression.type", 1}}, 0,
     "the codec batches are stored with; producer keeps what the producer sent"},
    {"delete.retention.ms", L, 0, LMAX, NULL, "86400000",
     {{"log.cleaner.delete.retention.ms", 1}}, 0, "how long tombstones stay on compacted topics"},
    {"file.delete.delay.ms", L, 0, LMAX, NULL, "60000", {{"log.segment.delete.delay.ms", 1}}, 0,
     "the wait before a deleted segment's files are removed"},
    {"flush.messages", L, 1, LMAX, NULL, LMAXS, {{"log.flush.interval.messages", 1}}, 0,
     "fsync after this many records"},
    {"flush.ms", L, 0, LMAX, NULL, LMAXS, {{"log.flush.interval.ms", 1}}, 0,
     "fsync after this long"},
    {"index.interval.bytes", I, 0, IMAX, NULL, "4096", {{"log.index.interval.bytes", 1}}, 0,
     "bytes between two offset index entries"},
    {"max.compaction.lag.ms", L, 1, LMAX, NULL, LMAXS,
     {{"log.cleaner.max.compaction.lag.ms", 1}}, 0, "the longest a record stays uncompacted"},
    {"max.message.bytes", I, 0, IMAX, NULL, "1048588", {{"message.max.bytes", 1}}, 0,
     "the largest record batch the topic accepts"},
    {"message.downconversion.enable", B, 0, 0, NULL, "true",
     {{"log.message.downconversion.enable", 1}}, 0, "down-convert for old consumers"},
    {"message.timestamp.after.max.ms", L, 0, LMAX, NULL, LMAXS,
     {{"log.message.timestamp.after.max.ms", 1}}, 0, "how far ahead a CreateTime may be"},
    {"message.timestamp.before.max.ms", L, 0, LMAX, NULL, LMAXS,
     {{"log.message.timestamp.before.max.ms", 1}}, 0, "how far behind a CreateTime may be"},
    {"message.timestamp.difference.max.ms", L, 0, LMAX, NULL, LMAXS,
     {{"log.message.timestamp.difference.max.ms", 1}}, 0, "deprecated: both of the above"},
    {"message.timestamp.type", S, 0, 0, "CreateTime, LogAppendTime", "CreateTime",
     {{"log.message.timestamp.type", 1}}, 0,
     "CreateTime keeps the producer's timestamps; LogAppendTime stamps the append time"},
    {"min.cleanable.dirty.ratio", D, 0, 1, NULL, "0.5", {{"log.cleaner.min.cleanable.ratio", 1}},
     0, "how dirty a compacted log gets before it is cleaned"},
    {"min.compaction.lag.ms", L, 0, LMAX, NULL, "0", {{"log.cleaner.min.compaction.lag.ms", 1}},
     0, "the least time a record stays uncompacted"},
    {"min.insync.replicas", I, 1, IMAX, NULL, "1", {{"min.insync.replicas", 1}}, 0,
     "replicas that must have a record for acks=all (one node here)"},
    {"preallocate", B, 0, 0, NULL, "false", {{"log.preallocate", 1}}, 0,
     "preallocate new segment files"},
    {"retention.bytes", L, INT64_MIN, LMAX, NULL, "-1", {{"log.retention.bytes", 1}}, 0,
     "the most bytes a partition keeps (-1: no limit)"},
    {"retention.ms", L, -1, LMAX, NULL, "604800000",
     {{"log.retention.ms", 1}, {"log.retention.minutes", 60000}, {"log.retention.hours", 3600000}},
     2, "how long records are kept (-1: forever)"},
    {"segment.bytes", I, 1024, IMAX, NULL, "1073741824", {{"log.segment.bytes", 1}}, 0,
     "the size at which a new segment starts"},
    {"segment.index.bytes", I, 4, IMAX, NULL, "10485760", {{"log.index.size.max.bytes", 1}}, 0,
     "the offset index's size"},
    {"segment.jitter.ms", L, 0, LMAX, NULL, "0",
     {{"log.roll.jitter.ms", 1}, {"log.roll.jitter.hours", 3600000}}, 1,
     "random jitter on segment.ms"},
    {"segment.ms", L, 1, LMAX, NULL, "604800000",
     {{"log.roll.ms", 1}, {"log.roll.hours", 3600000}}, 1,
     "the age at which a new segment starts"},
    {"unclean.leader.election.enable", B, 0, 0, NULL, "false",
     {{"unclean.leader.election.enable", 1}}, 0, "elect an out-of-sync replica (one node here)"},
};

#define NKEYS ((int)KC_ARRAY_SIZE(keys))
_Static_assert(KC_ARRAY_SIZE(keys) <= 64, "struct brk_tcfg holds every key once");

int brk_tcfg_keys(void)
{
    return NKEYS;
}

const char *brk_tcfg_key_name(int i)
{
    return i >= 0 && i < NKEYS ? keys[i].name : NULL;
}

int brk_tcfg_find(const char *key, int32_t klen)
{
    for (int i = 0; key && klen > 0 && i < NKEYS; i++)
        if (strlen(keys[i].name) == (size_t)klen && memcmp(keys[i].name, key, (size_t)klen) == 0)
            return i;
    return -1;
}

int brk_tcfg_is_list(const char *key, int32_t klen)
{
    int i = brk_tcfg_find(key, klen);
    return i < 0 ? -EINVAL : keys[i].type == BRK_CFGT_LIST;
}

/* ---- checking one value --------------------------------------------------------------- */

static const char *const type_names[] = {"", "BOOLEAN", "STRING", "INT", "SHORT", "LONG",
                                         "DOUBLE", "LIST", "CLASS", "PASSWORD"};

/* Is item[0..n) one of choices ("a, b, c")? Case-sensitive, as Kafka's ValidString. */
static bool one_of(const char *choices, const char *item, size_t n)
{
    for (const char *c = choices; *c;) {
        size_t len = strcspn(c, ",");
        if (len == n && memcmp(c, item, n) == 0)
            return true;
        c += len;
        while (*c == ',' || *c == ' ')
            c++;
    }
    return false;
}

/* Kafka trims list items and numbers (ConfigDef.parseType). */
static void trim(const char **p, size_t *n)
{
    while (*n > 0 && (**p == ' ' || **p == '\t'))
        (*p)++, (*n)--;
    while (*n > 0 && ((*p)[*n - 1] == ' ' || (*p)[*n - 1] == '\t'))
        (*n)--;
}

static int bad(char *why, size_t cap, const struct brk_tcfg_key *k, const char *v,
               const char *fmt, const char *arg)
{
    char tail[160];
    snprintf(tail, sizeof(tail), fmt, arg);
    snprintf(why, cap, "Invalid value %s for configuration %s: %s", v, k->name, tail);
    return -EINVAL;
}

static int check_number(const struct brk_tcfg_key *k, const char *v, char *why, size_t cap)
{
    const char *p = v;
    size_t n = strlen(v);
    char buf[BRK_TCFG_VALUE_MAX], lim[32];
    trim(&p, &n);
    snprintf(buf, sizeof(buf), "%.*s", (int)n, p);
    if (k->type == BRK_CFGT_DOUBLE) {
        char *end;
        double d = n ? strtod(buf, &end) : 0;
        if (!n || *end)
            return bad(why, cap, k, v, "Not a number of type %s", type_names[k->type]);
        if (d < (double)k->min || d > (double)k->max) {
            snprintf(lim, sizeof(lim), "%.1f", d < (double)k->min ? (double)k->min : (double)k->max);
            return bad(why, cap, k, v, d < (double)k->min ? "Value must be at least %s"
                                                           : "Value must be no more than %s", lim);
        }
        return 0;
    }
    int64_t x, max = k->type == BRK_CFGT_INT ? INT32_MAX : INT64_MAX;
    int64_t min = k->type == BRK_CFGT_INT ? INT32_MIN : INT64_MIN;
    if (kc_parse_i64(buf, min, max, &x) != 0)
        return bad(why, cap, k, v, "Not a number of type %s", type_names[k->type]);
    if (x < k->min) {
        snprintf(lim, sizeof(lim), "%" PRId64, k->min);
        return bad(why, cap, k, v, "Value must be at least %s", lim);
    }
    if (x > k->max) {
        snprintf(lim, sizeof(lim), "%" PRId64, k->max);
        return bad(why, cap, k, v, "Value must be no more than %s", lim);
    }
    return 0;
}

static int check_value(const struct brk_tcfg_key *k, const char *v, char *why, size_t cap)
{
    switch (k->type) {
    case BRK_CFGT_BOOLEAN:
        if (strcasecmp(v, "true") && strcasecmp(v, "false"))
            return bad(why, cap, k, v, "Expected value to be either true or false%s", "");
        return 0;
    case BRK_CFGT_STRING:
        if (k->choices && !one_of(k->choices, v, strlen(v)))
            return bad(why, cap, k, v, "String must be one of: %s", k->choices);
        return 0;
    case BRK_CFGT_LIST:
        for (const char *p = v; *p;) {
            size_t n = strcspn(p, ",");
            const char *item = p;
            size_t len = n;
            trim(&item, &len);
            if (!one_of(k->choices, item, len))
                return bad(why, cap, k, v, "String must be one of: %s", k->choices);
            p += n + (p[n] == ',');
        }
        return 0;
    default:
        return check_number(k, v, why, cap);
    }
}

int brk_tcfg_check(const char *key, int32_t klen, const char *value, int32_t vlen, char *why,
                   size_t cap)
{
    char v[BRK_TCFG_VALUE_MAX];
    int i = brk_tcfg_find(key, klen);
    if (i < 0) {
        snprintf(why, cap, "Unknown topic config name: %.*s", (int)KC_MAX(klen, 0),
                 key ? key : "");
        return -EINVAL;
    }
    if (vlen < 0) {
        snprintf(why, cap, "Null value not supported for topic configs: %s", keys[i].name);
        return -EINVAL;
    }
    if (vlen >= (int32_t)sizeof(v) || memchr(value, '\n', (size_t)vlen) ||
        memchr(value, '\0', (size_t)vlen)) {
        snprintf(why, cap, "Invalid value for configuration %s: longer than %d bytes or "
                 "holding a line break", keys[i].name, (int)sizeof(v) - 1);
        return -EINVAL;
    }
    memcpy(v, value, (size_t)vlen);
    v[vlen] = '\0';
    return check_value(&keys[i], v, why, cap);
}

/* ---- a topic's overrides ------------------------------------------------------------------ */

static int slot(const struct brk_tcfg *c, int key)
{
    for (int j = 0; j < c->n; j++)
        if (c->e[j].key == key)
            return j;
    return -1;
}

int brk_tcfg_set(struct brk_tcfg *c, const char *key, int32_t klen, const char *value,
                 int32_t vlen, char *why, size_t cap)
{
    int rc = brk_tcfg_check(key, klen, value, vlen, why, cap);
    if (rc)
        return rc;
    int i = brk_tcfg_find(key, klen), j = slot(c, i);
    if (j < 0) {
        j = c->n++;
        c->e[j].key = i;
    }
    memcpy(c->e[j].value, value, (size_t)vlen);
    c->e[j].value[vlen] = '\0';
    return 0;
}

void brk_tcfg_delete(struct brk_tcfg *c, const char *key, int32_t klen)
{
    int j = slot(c, brk_tcfg_find(key, klen));
    if (j >= 0)
        c->e[j] = c->e[--c->n];
}

const char *brk_tcfg_get(const struct brk_tcfg *c, const char *key)
{
    int j = c ? slot(c, brk_tcfg_find(key, (int32_t)strlen(key))) : -1;
    return j >= 0 ? c->e[j].value : NULL;
}

void brk_tcfg_parse(const char *text, struct brk_tcfg *c)
{
    char why[256];
    c->n = 0;
    for (const char *line = text; line && *line;) {
        const char *end = strchr(line, '\n');
        size_t len = end ? (size_t)(end - line) : strlen(line);
        const char *eq = memchr(line, '=', len);
        if (eq && brk_tcfg_set(c, line, (int32_t)(eq - line), eq + 1,
                               (int32_t)(line + len - eq - 1), why, sizeof(why)) != 0)
            kc_log_warn("topic config line '%.*s' skipped: %s", (int)len, line, why);
        line += len + (end != NULL);
    }
}

char *brk_tcfg_format(const struct brk_tcfg *c)
{
    size_t cap = 1;
    for (int j = 0; j < c->n; j++)
        cap += strlen(keys[c->e[j].key].name) + strlen(c->e[j].value) + 2;
    char *out = malloc(cap), *o = out;
    if (!out)
        return NULL;
    for (int i = 0; i < NKEYS; i++) { /* row order: the file reads the same every time */
        int j = slot(c, i);
        if (j >= 0)
            o += sprintf(o, "%s=%s\n", keys[i].name, c->e[j].value);
    }
    *o = '\0';
    return out;
}

/* ---- describing ------------------------------------------------------------------------- */

/* A broker synonym's value in the topic's unit, into buf; NULL for null. */
static const char *scaled(const char *v, int64_t factor, char *buf, size_t cap)
{
    int64_t x;
    if (!v || factor == 1 || kc_parse_i64(v, INT64_MIN, INT64_MAX, &x) != 0)
        return v;
    snprintf(buf, cap, "%" PRId64, x < 0 ? x : (x > INT64_MAX / factor ? INT64_MAX : x * factor));
    return buf;
}

static void add_syn(struct brk_tcfg_entry *e, const char *name, const char *value, int8_t src)
{
    if (e->nsyn >= BRK_TCFG_SYN_MAX)
        return;
    struct brk_tcfg_synonym *s = &e->syn[e->nsyn++];
    s->name = name;
    s->source = src;
    s->value = value ? strncpy(s->buf, value, sizeof(s->buf) - 1) : NULL;
    s->buf[sizeof(s->buf) - 1] = '\0';
}

void brk_tcfg_describe(const struct brk_config *bc, const struct brk_tcfg *c, int i,
                       struct brk_tcfg_entry *e)
{
    const struct brk_tcfg_key *k = &keys[i];
    char buf[64], unit[64];
    memset(e, 0, sizeof(*e));
    e->name = k->name;
    e->type = k->type;
    e->doc = k->doc;
    int j = c ? slot(c, i) : -1;
    if (j >= 0)
        add_syn(e, k->name, c->e[j].value, BRK_CFGSRC_TOPIC);
    const char *def = k->def, *def_name = k->syn[KC_MAX(k->def_syn, 0)].name;
    for (int s = 0; s < 3 && k->syn[s].name; s++) {
        bool set;
        const char *v = brk_config_value(bc, k->syn[s].name, buf, sizeof(buf), &set);
        if (set)
            add_syn(e, k->syn[s].name, v, BRK_CFGSRC_STATIC_BROKER);
        else if (s == k->def_syn && v) /* this broker's own default for the key */
            def = scaled(v, k->syn[s].factor, unit, sizeof(unit));
    }
    if (k->def_syn >= 0) { /* Kafka's default, carried by its synonym, in its unit */
        const char *shown = def;
        char back[64];
        int64_t x, f = k->syn[k->def_syn].factor;
        if (f != 1 && def && kc_parse_i64(def, INT64_MIN, INT64_MAX, &x) == 0 && x > 0) {
            snprintf(back, sizeof(back), "%" PRId64, x / f);
            shown = back;
        }
        add_syn(e, def_name, shown, BRK_CFGSRC_DEFAULT);
    }
    /* The winner: the first synonym, in the topic's unit. */
    const struct brk_tcfg_synonym *w = &e->syn[0];
    e->source = w->source;
    e->value = w->value;
    if (w->source == BRK_CFGSRC_DEFAULT) {
        e->value = def;
    } else if (w->source == BRK_CFGSRC_STATIC_BROKER) {
        for (int s = 0; s < 3 && k->syn[s].name; s++)
            if (!strcmp(k->syn[s].name, w->name))
                e->value = scaled(w->value, k->syn[s].factor, unit, sizeof(unit));
    }
    if (e->value) { /* unit and buf are this call's: the entry keeps its own copy */
        snprintf(e->vbuf, sizeof(e->vbuf), "%s", e->value);
        e->value = e->vbuf;
    }
}

/* ---- what acts ---------------------------------------------------------------------------- */

static const char *effective(const struct brk_config *bc, const struct brk_tcfg *c, int i,
                             struct brk_tcfg_entry *e)
{
    brk_tcfg_describe(bc, c, i, e);
    return e->value;
}

static int64_t number(const struct brk_config *bc, const struct brk_tcfg *c, const char *key,
                      int64_t fallback)
{
    struct brk_tcfg_entry e;
    int64_t x;
    const char *v = effective(bc, c, brk_tcfg_find(key, (int32_t)strlen(key)), &e);
    return v && kc_parse_i64(v, INT64_MIN, INT64_MAX, &x) == 0 ? x : fallback;
}

void brk_tcfg_log_config(const struct brk_config *bc, const struct brk_tcfg *c,
                         struct alog_config *out)
{
    *out = bc->log;
    out->retention_ms = number(bc, c, "retention.ms", out->retention_ms);
    out->retention_bytes = number(bc, c, "retention.bytes", out->retention_bytes);
    out->segment_bytes = (uint64_t)number(bc, c, "segment.bytes", (int64_t)out->segment_bytes);
    out->segment_ms = number(bc, c, "segment.ms", out->segment_ms);
    int64_t max = number(bc, c, "max.message.bytes", out->max_batch_bytes);
    /* Kafka allows 0; the log cannot take a batch below its header: refuse them all. */
    out->max_batch_bytes = (uint32_t)KC_MAX(max, 61);
    if (out->retention_bytes < -1)
        out->retention_bytes = -1; /* Kafka: any negative value means no limit */
    /* Compaction: the store's cleaner threads take a log whose policy has compact. */
    struct brk_tcfg_entry e;
    const char *v = effective(bc, c, brk_tcfg_find("cleanup.policy", 14), &e);
    unsigned policy = (v && strstr(v, "compact") ? ALOG_CLEANUP_COMPACT : 0) |
                      (v && strstr(v, "delete") ? ALOG_CLEANUP_DELETE : 0);
    out->cleanup_policy = policy ? policy : ALOG_CLEANUP_DELETE; /* "": as before (KIP-1030
                                                                    would keep everything) */
    out->min_compaction_lag_ms =
        number(bc, c, "min.compaction.lag.ms", out->min_compaction_lag_ms);
    out->max_compaction_lag_ms =
        KC_MAX(number(bc, c, "max.compaction.lag.ms", out->max_compaction_lag_ms), 1);
    out->delete_retention_ms = number(bc, c, "delete.retention.ms", out->delete_retention_ms);
}

bool brk_tcfg_retention_deletes(const struct brk_config *bc, const struct brk_tcfg *c)
{
    struct brk_tcfg_entry e;
    const char *v = effective(bc, c, brk_tcfg_find("cleanup.policy", 14), &e);
    return v && strstr(v, "delete") != NULL;
}

bool brk_tcfg_compacts(const struct brk_config *bc, const struct brk_tcfg *c)
{
    struct brk_tcfg_entry e;
    const char *v = effective(bc, c, brk_tcfg_find("cleanup.policy", 14), &e);
    return v && strstr(v, "compact") != NULL;
}

bool brk_tcfg_log_append_time(const struct brk_config *bc, const struct brk_tcfg *c)
{
    struct brk_tcfg_entry e;
    const char *v = effective(bc, c, brk_tcfg_find("message.timestamp.type", 22), &e);
    return v && strcmp(v, "LogAppendTime") == 0;
}
