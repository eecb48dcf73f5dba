/*
 * cred_file.c - <data-dir>/scram-credentials, written and read strictly (format in
 * sec_cred.h).
 *
 *   kafka-c scram-credentials 1
 *   secret 3q2+7w...=
 *   SCRAM-SHA-256 alice salt=...,stored_key=...,server_key=...,iterations=4096
 *   end 1 crc32c=8a3f12c0
 *
 * Strict means: every line parses, in the order written; mechanism known; name valid
 * UTF-8 after unescaping; salt 1..256 bytes; both keys exactly the hash's length;
 * iterations within Kafka's bounds; no (user, mechanism) twice; the count matches. Any
 * violation names the line in the log and fails the load: a store with a silently dropped
 * user would turn a configuration mistake into a locked-out admin.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cred_int.h"
#include "kc_err.h"
#include "kc_log.h"
#include "sec_scram.h"

int cred__serialize(const uint8_t *secret, const struct cred_table *t, struct sec__text *out)
{
    char b64[sec__b64_len(SEC_SCRAM_SALT_MAX) + 1];
    int rc = sec__text_printf(out, "%s\nsecret ", CRED_HEADER);
    sec__b64_encode(secret, SEC_SECRET_BYTES, b64);
    if (rc == 0)
        rc = sec__text_printf(out, "%s\n", b64);
    for (size_t i = 0; rc == 0 && i < t->n; i++) {
        const struct sec_scram_cred *c = &t->e[i].cred;
        size_t klen = sec_scram_key_len(c->mech);
        rc = sec__text_printf(out, "%s ", sec_sasl_mech_name(c->mech));
        if (rc == 0)
            rc = sec__text_put_escaped(out, t->e[i].user, strlen(t->e[i].user));
        sec__b64_encode(c->salt, c->salt_len, b64);
        if (rc == 0)
            rc = sec__text_printf(out, " salt=%s", b64);
        sec__b64_encode(c->stored_key, klen, b64);
        if (rc == 0)
            rc = sec__text_printf(out, ",stored_key=%s", b64);
        sec__b64_encode(c->server_key, klen, b64);
        if (rc == 0)
            rc = sec__text_printf(out, ",server_key=%s,iterations=%u\n", b64, c->iterations);
    }
    sec__wipe(b64, sizeof(b64));
    return rc;
}

/* "<key>=<base64>" followed by ',' at *p: decode into out (exactly want bytes, or 1..max
 * when want is 0). */
static bool b64_attr(const char **p, const char *end, const char *key, uint8_t *out, size_t want,
                     size_t max, size_t *got)
{
    size_t klen = strlen(key);
    if ((size_t)(end - *p) < klen + 1 || memcmp(*p, key, klen) != 0 || (*p)[klen] != '=')
        return false;
    const char *v = *p + klen + 1;
    const char *comma = memchr(v, ',', (size_t)(end - v));
    if (!comma)
        return false;
    int n = sec__b64_decode(v, (size_t)(comma - v), out, max);
    if (n <= 0 || (want && (size_t)n != want))
        return false;
    *got = (size_t)n;
    *p = comma + 1;
    return true;
}

/* "salt=...,stored_key=...,server_key=...,iterations=N" (Kafka's ScramCredentialUtils). */
static const char *parse_cred(const char *p, const char *end, struct sec_scram_cred *c)
{
    size_t klen = sec_scram_key_len(c->mech), got;
    if (!b64_attr(&p, end, "salt", c->salt, 0, SEC_SCRAM_SALT_MAX, &c->salt_len))
        return "salt is missing, not base64, empty or too long";
    if (!b64_attr(&p, end, "stored_key", c->stored_key, klen, klen, &got))
        return "stored_key is missing, not base64 or not the hash's length";
    if (!b64_attr(&p, end, "server_key", c->server_key, klen, klen, &got))
        return "server_key is missing, not base64 or not the hash's length";
    if (end - p < 12 || memcmp(p, "iterations=", 11) != 0)
        return "iterations is missing";
    uint64_t it = 0;
    for (p += 11; p < end; p++) {
        if (*p < '0' || *p > '9' || it > SEC_SCRAM_ITER_MAX)
            return "iterations is not a number in Kafka's bounds";
        it = it * 10 + (uint64_t)(*p - '0');
    }
    if (it < SEC_SCRAM_ITER_MIN || it > SEC_SCRAM_ITER_MAX)
        return "iterations is not a number in Kafka's bounds";
    c->iterations = (uint32_t)it;
    return NULL;
}

/* One entry line into e (e->user malloc'ed). NULL, or what is wrong. */
static const char *parse_entry(const char *line, size_t len, struct cred_entry *e)
{
    const char *p = line, *end = line + len, *f;
    size_t n;
    enum sec_sasl_mech mech;
    char name[32];
    if (!sec__next_field(&p, end, &f, &n) || n >= sizeof(name))
        return "no mechanism";
    memcpy(name, f, n);
    name[n] = '\0';
    if (sec_sasl_mech_parse(name, &mech) < 0 || !sec_scram_is_scram(mech))
        return "unknown mechanism";
    e->cred.mech = mech;
    if (!sec__next_field(&p, end, &f, &n) || n == 0)
        return "no user name";
    if (sec__unescape(f, n, &e->user) < 0)
        return "the user name is not escaped correctly";
    if (strlen(e->user) > SEC_USER_MAX || !sec__utf8_valid(e->user, strlen(e->user)))
        return "the user name is too long or not UTF-8";
    return parse_cred(p, end, &e->cred);
}

static int cmp_entries(const void *a, const void *b)
{
    const struct cred_entry *x = a, *y = b;
    return cred__cmp(x->user, x->cred.mech, y->user, y->cred.mech);
}

static const char *parse_secret(const char *line, size_t len, uint8_t *secret)
{
    if (len < 8 || memcmp(line, "secret ", 7) != 0)
        return "the second line is not \"secret <base64>\"";
    if (sec__b64_decode(line + 7, len - 7, secret, SEC_SECRET_BYTES) != SEC_SECRET_BYTES)
        return "the secret is not base64 of 32 bytes";
    return NULL;
}

/* Parse the body (secret line, entries) into t. */
static int parse_body(const char *path, const char *p, const char *end, size_t entries,
                      uint8_t *secret, struct cred_table *t)
{
    const char *line, *why = "the file ends before the secret";
    size_t len, lineno = 2;
    if (sec__next_line(&p, end, &line, &len))
        why = parse_secret(line, len, secret);
    if (!why && entries > (size_t)(end - p) / 16 + 1)
        why = "the trailer counts more entries than the file can hold";
    if (!why && !(t->e = calloc(entries + 1, sizeof(*t->e))))
        return -ENOMEM;
    while (!why && sec__next_line(&p, end, &line, &len)) {
        lineno++;
        if (t->n == entries)
            why = "more entries than the trailer counts";
        else
            why = parse_entry(line, len, &t->e[t->n++]);
    }
    if (!why && t->n != entries)
        why = "fewer entries than the trailer counts";
    if (!why && t->n > 1) {
        qsort(t->e, t->n, sizeof(*t->e), cmp_entries);
        for (size_t i = 1; !why && i < t->n; i++)
            if (cmp_entries(&t->e[i - 1], &t->e[i]) == 0)
                why = "a (user, mechanism) appears twice", lineno = 0;
    }
    if (!why)
        return 0;
    if (lineno)
        kc_log_error("security: %s:%zu: %s", path, lineno, why);
    else
        kc_log_error("security: %s: %s", path, why);
    cred__table_clear(t);
    return KC_ECORRUPT;
}

int cred__load(const char *path, uint8_t *secret, struct cred_table *t)
{
    char *buf = NULL;
    const char *body;
    size_t len, entries;
    int rc = sec__file_load(path, CRED_HEADER, &buf, &body, &len, &entries);
    if (rc < 0)
        return rc;
    rc = parse_body(path, body, body + len, entries, secret, t);
    sec__wipe(buf, strlen(buf));
    free(buf);
    return rc;
}
