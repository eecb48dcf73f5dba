/*
 * add_scram.c - `--add-scram`, the syntax of Kafka's `kafka-storage format --add-scram`
 * (org.apache.kafka.metadata.storage.ScramParser):
 *
 *   SCRAM-SHA-256=[name=alice,password=alice-secret]
 *   \___________/ \_________________________________/
 *    mechanism     '[' key=value{,key=value} ']'     values may be "quoted"
 *
 * Kafka's messages are kept word for word, with three deliberate differences:
 *  - a message never quotes the argument, a component or a salted password (Kafka's do,
 *    and the argument is where the password is);
 *  - a key given twice is an error (Kafka keeps the last one silently);
 *  - password and saltedpassword together is an error (Kafka ignores saltedpassword).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kc_err.h"
#include "sec_cred.h"
#include "sec_int.h"

enum key { K_NAME, K_PASSWORD, K_SALTEDPASSWORD, K_SALT, K_ITERATIONS, K_COUNT };
static const char *const key_names[K_COUNT] = {"name", "password", "saltedpassword", "salt",
                                               "iterations"};

static int err_out(char *err, size_t cap, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int err_out(char *err, size_t cap, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (cap)
        vsnprintf(err, cap, fmt, ap);
    va_end(ap);
    return -EINVAL;
}

/* Java's String.trim: drop bytes <= ' ' at both ends. */
static void trim(const char **s, size_t *n)
{
    while (*n && (unsigned char)(*s)[0] <= ' ')
        (*s)++, (*n)--;
    while (*n && (unsigned char)(*s)[*n - 1] <= ' ')
        (*n)--;
}

/* "MECH=[...]": the mechanism, and the text between the brackets. */
static int split_argument(const char *arg, struct sec_add_scram *out, const char **cfg,
                          size_t *cfg_len, char *err, size_t cap)
{
    size_t n = strlen(arg);
    trim(&arg, &n);
    const char *eq = memchr(arg, '=', n);
    if (!eq)
        return err_out(err, cap, "Failed to find equals sign in SCRAM argument");
    char mech[32];
    size_t mlen = (size_t)(eq - arg);
    snprintf(mech, sizeof(mech), "%.*s", (int)(mlen < 31 ? mlen : 31), arg);
    if (mlen > 31 || sec_sasl_mech_parse(mech, &out->mech) < 0 || !sec_scram_is_scram(out->mech))
        return err_out(err, cap, "The add-scram mechanism %s is not supported.", mech);
    const char *c = eq + 1;
    size_t clen = n - mlen - 1;
    if (clen == 0 || c[0] != '[')
        return err_out(err, cap, "Expected configuration string to start with [");
    if (c[clen - 1] != ']' || clen < 2)
        return err_out(err, cap, "Expected configuration string to end with ]");
    *cfg = c + 1;
    *cfg_len = clen - 2;
    return 0;
}

/* Store one value (quotes stripped) under its key. */
static int put_value(const char *key, size_t klen, const char *v, size_t vlen, char **vals,
                     struct sec__text *unknown, char *err, size_t cap)
{
    if (vlen >= 2 && v[0] == '"' && v[vlen - 1] == '"')
        v++, vlen -= 2;
    for (int k = 0; k < K_COUNT; k++) {
        if (strlen(key_names[k]) != klen || memcmp(key_names[k], key, klen) != 0)
            continue;
        if (vals[k])
            return err_out(err, cap, "Duplicate SCRAM configuration: %s", key_names[k]);
        vals[k] = strndup(v, vlen);
        return vals[k] ? 0 : -ENOMEM;
    }
    int rc = sec__text_printf(unknown, "%s%.*s", unknown->len ? ", " : "", (int)klen, key);
    return rc;
}

/* Split "k=v,k=v" on ',' (Java's split: trailing empty components vanish). */
static int split_components(const char *cfg, size_t len, char **vals, char *err, size_t cap)
{
    struct sec__text unknown = {0};
    int rc = 0, index = 0;
    while (len > 0 && cfg[len - 1] == ',')
        len--;
    for (const char *p = cfg, *end = cfg + len; rc == 0 && (p < end || index == 0); index++) {
        const char *comma = memchr(p, ',', (size_t)(end - p));
        const char *stop = comma ? comma : end;
        const char *eq = memchr(p, '=', (size_t)(stop - p));
        if (!eq)
            rc = err_out(err, cap, "No equals sign found in SCRAM component %d", index + 1);
        else
            rc = put_value(p, (size_t)(eq - p), eq + 1, (size_t)(stop - eq - 1), vals, &unknown,
                           err, cap);
        p = comma ? comma + 1 : end;
    }
    if (rc == 0 && unknown.len)
        rc = err_out(err, cap, "Unknown SCRAM configurations: %s", unknown.buf);
    sec__text_free(&unknown);
    return rc;
}

/* The parsed values into out, with Kafka's checks and messages. */
static int interpret(char **vals, struct sec_add_scram *out, char *err, size_t cap)
{
    if (!vals[K_NAME])
        return err_out(err, cap, "You must supply 'name' to add-scram");
    out->name = vals[K_NAME], vals[K_NAME] = NULL;
    if (vals[K_SALT]) {
        size_t n = strlen(vals[K_SALT]);
        out->salt = malloc(n / 4 * 3 + 1);
        int got = out->salt ? sec__b64_decode(vals[K_SALT], n, out->salt, n / 4 * 3 + 1) : -ENOMEM;
        if (got <= 0)
            return err_out(err, cap, "Failed to decode given salt: %s", vals[K_SALT]);
        out->salt_len = (size_t)got;
    }
    out->iterations = SEC_SCRAM_ITER_DEFAULT;
    if (vals[K_ITERATIONS]) {
        char *end;
        long it = strtol(vals[K_ITERATIONS], &end, 10);
        if (!*vals[K_ITERATIONS] || *end || it < 0 || it > INT32_MAX)
            return err_out(err, cap, "Failed to parse iterations count: %s", vals[K_ITERATIONS]);
        out->iterations = (uint32_t)it;
    }
    if (vals[K_PASSWORD] && vals[K_SALTEDPASSWORD])
        return err_out(err, cap, "Supply only one of 'password' or 'saltedpassword' to add-scram");
    if (vals[K_PASSWORD]) {
        out->password = vals[K_PASSWORD], vals[K_PASSWORD] = NULL;
        return 0;
    }
    if (!vals[K_SALTEDPASSWORD])
        return err_out(err, cap,
                       "You must supply one of 'password' or 'saltedpassword' to add-scram");
    if (!out->salt)
        return err_out(err, cap, "You must supply 'salt' with 'saltedpassword' to add-scram");
    size_t n = strlen(vals[K_SALTEDPASSWORD]);
    out->salted_password = malloc(n / 4 * 3 + 1);
    int got = out->salted_password
                  ? sec__b64_decode(vals[K_SALTEDPASSWORD], n, out->salted_password, n / 4 * 3 + 1)
                  : -ENOMEM;
    if (got <= 0)
        return err_out(err, cap, "Failed to decode given saltedPassword");
    out->salted_password_len = (size_t)got;
    return 0;
}

int sec_add_scram_parse(const char *arg, struct sec_add_scram *out, char *err, size_t errcap)
{
    char *vals[K_COUNT] = {0};
    const char *cfg = NULL;
    size_t cfg_len = 0;
    memset(out, 0, sizeof(*out));
    if (errcap)
        err[0] = '\0';
    int rc = split_argument(arg, out, &cfg, &cfg_len, err, errcap);
    if (rc == 0)
        rc = split_components(cfg, cfg_len, vals, err, errcap);
    if (rc == 0)
        rc = interpret(vals, out, err, errcap);
    for (int k = 0; k < K_COUNT; k++) {
        if (vals[k])
            sec__wipe(vals[k], strlen(vals[k]));
        free(vals[k]);
    }
    return rc;
}

void sec_add_scram_fini(struct sec_add_scram *a)
{
    if (a->password)
        sec__wipe(a->password, strlen(a->password));
    sec__wipe(a->salted_password, a->salted_password_len);
    free(a->name);
    free(a->password);
    free(a->salt);
    free(a->salted_password);
    memset(a, 0, sizeof(*a));
}

int sec_add_scram_apply(struct sec_cred_store *st, const struct sec_add_scram *a, char *err,
                        size_t errcap)
{
    struct sec_cred_change ch = {
        .user = a->name,
        .mech = a->mech,
        .iterations = a->iterations,
        .salt = a->salt,
        .salt_len = a->salt_len,
        .salted_password = a->salted_password,
        .salted_password_len = a->salted_password_len,
        .password = a->password,
    };
    int rc = sec_cred_store_apply(st, &ch, 1);
    if (rc < 0) {
        err_out(err, errcap, "Could not write the credential file: %s", strerror(-rc));
        return rc;
    }
    if (rc > 0) {
        /* Kafka's words for the bounds, with its enum name for the mechanism. */
        const char *enum_name =
            a->mech == SEC_SASL_SCRAM_SHA_256 ? "SCRAM_SHA_256" : "SCRAM_SHA_512";
        if (a->iterations < SEC_SCRAM_ITER_MIN)
            return err_out(err, errcap,
                           "The 'iterations' value must be >= %d for add-scram using %s",
                           SEC_SCRAM_ITER_MIN, enum_name);
        if (a->iterations > SEC_SCRAM_ITER_MAX)
            return err_out(err, errcap,
                           "The 'iterations' value must be <= %d for add-scram using %s",
                           SEC_SCRAM_ITER_MAX, enum_name);
        return err_out(err, errcap, "%s", ch.error_message);
    }
    return 0;
}
