/*
 * scram_msg.c - the SCRAM client messages, parsed by hand (Kafka uses regular expressions;
 * the grammar is RFC 5802 section 7, restricted as Kafka restricts it).
 *
 *   client-first:  gs2-header  client-first-bare
 *                  n,[a=<saslname>],  [m=...,]n=<saslname>,r=<nonce>[,<ext>=<value>]*
 *                  ^ only "n": no channel binding     ^ refused here (Kafka ignores it)
 *
 *   client-final:  c=<base64>,r=<nonce>[,<ext>=<value>]*,p=<base64 proof>
 *                  \______ client-final-message-without-proof ______/
 *
 *   saslname:  UTF-8 without NUL and ','; '=' only as "=2C" (',') or "=3D" ('=')
 *   nonce:     printable ASCII (0x21..0x7e) without ','
 *   ext:       letters; value: any bytes but NUL and ','
 *
 * Each parser walks the message once, left to right, and says exactly what it found
 * wrong (the reason goes to the log; the client gets Kafka's generic sentence).
 *
 * Two choices stricter than Kafka, both RFC 5802's:
 *  - "m=" (reserved-mext) fails: "its presence ... MUST cause authentication failure".
 *    Kafka's pattern accepts and ignores it.
 *  - attributes are positional: "r=" before "n=" is malformed, as the grammar says.
 */
#include <errno.h>
#include <string.h>
#include <strings.h>

#include "kc_err.h"
#include "sec_int.h"
#include "sec_params.h"
#include "sec_scram.h"

bool sec__utf8_valid(const char *str, size_t len)
{
    const uint8_t *s = (const uint8_t *)str;
    for (size_t i = 0; i < len;) {
        uint8_t c = s[i];
        size_t n;
        uint32_t cp, min;
        if (c == 0)
            return false;
        if (c < 0x80) {
            i++;
            continue;
        }
        if ((c & 0xe0) == 0xc0)
            n = 2, cp = c & 0x1f, min = 0x80;
        else if ((c & 0xf0) == 0xe0)
            n = 3, cp = c & 0x0f, min = 0x800;
        else if ((c & 0xf8) == 0xf0)
            n = 4, cp = c & 0x07, min = 0x10000;
        else
            return false;
        if (len - i < n)
            return false;
        for (size_t k = 1; k < n; k++) {
            if ((s[i + k] & 0xc0) != 0x80)
                return false;
            cp = cp << 6 | (s[i + k] & 0x3f);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return false;
        i += n;
    }
    return true;
}

int sec__saslname_escape(const char *user, char *out, size_t cap)
{
    size_t o = 0;
    for (const char *p = user; *p; p++) {
        const char *rep = *p == ',' ? "=2C" : *p == '=' ? "=3D" : NULL;
        size_t n = rep ? 3 : 1;
        if (o + n >= cap)
            return -ENOSPC;
        memcpy(out + o, rep ? rep : p, n);
        o += n;
    }
    if (o >= cap)
        return -ENOSPC;
    out[o] = '\0';
    return (int)o;
}

/* A cursor over one message. */
struct cur {
    const char *p, *end;
    const char *reason;
};

static int fail(struct cur *c, const char *reason)
{
    c->reason = reason;
    return KC_EMALFORMED;
}

/* Consume the literal s if it is next. */
static bool take(struct cur *c, const char *s)
{
    size_t n = strlen(s);
    if ((size_t)(c->end - c->p) < n || memcmp(c->p, s, n) != 0)
        return false;
    c->p += n;
    return true;
}

/* The value up to the next ',' or the end: [*v, *v + *n). */
static void value(struct cur *c, const char **v, size_t *n)
{
    const char *comma = memchr(c->p, ',', (size_t)(c->end - c->p));
    *v = c->p;
    *n = (size_t)((comma ? comma : c->end) - c->p);
    c->p += *n;
}

/* Decode a saslname into out[SEC_USER_MAX + 1]; the length, or KC_EMALFORMED. */
static int saslname(struct cur *c, const char *v, size_t n, char *out, const char *what)
{
    size_t o = 0;
    if (n == 0)
        return fail(c, what);
    for (size_t i = 0; i < n; i++) {
        char ch = v[i];
        if (ch == '=') {
            bool comma = n - i >= 3 && v[i + 1] == '2' && v[i + 2] == 'C';
            bool equals = n - i >= 3 && v[i + 1] == '3' && v[i + 2] == 'D';
            if (!comma && !equals)
                return fail(c, "a name has '=' that is not \"=2C\" or \"=3D\"");
            ch = comma ? ',' : '=';
            i += 2;
        }
        if (o == SEC_USER_MAX)
            return fail(c, "a name is longer than the longest accepted");
        out[o++] = ch;
    }
    out[o] = '\0';
    if (!sec__utf8_valid(out, o))
        return fail(c, "a name is not UTF-8");
    return (int)o;
}

static bool nonce_ok(const char *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)v[i] < 0x21 || (unsigned char)v[i] > 0x7e)
            return false;
    return n > 0; /* ',' cannot occur: value() stopped at it */
}

/* One extension ",<letters>=<value>" (the comma already consumed); sets *tokenauth if it
 * is Kafka's tokenauth=true. */
static int extension(struct cur *c, bool *tokenauth)
{
    const char *v;
    size_t n, k = 0;
    value(c, &v, &n);
    while (k < n && ((v[k] >= 'a' && v[k] <= 'z') || (v[k] >= 'A' && v[k] <= 'Z')))
        k++;
    if (k == 0 || k == n || v[k] != '=' || k + 1 == n)
        return fail(c, "an extension is not <letters>=<value>");
    if (k == 9 && memcmp(v, "tokenauth", 9) == 0)
        *tokenauth = n - k - 1 == 4 && strncasecmp(v + k + 1, "true", 4) == 0;
    return 0;
}

/* The gs2 header: "n," then an optional "a=<saslname>", then ",". */
static int gs2_header(struct cur *c, struct sec_scram_first *m)
{
    if (c->p < c->end && (*c->p == 'p' || *c->p == 'y'))
        return fail(c, "channel binding (gs2 flag 'p' or 'y') is not supported");
    if (!take(c, "n,"))
        return fail(c, "the gs2 header does not start with \"n,\"");
    if (take(c, "a=")) {
        const char *v;
        size_t n;
        value(c, &v, &n);
        int len = saslname(c, v, n, m->authzid, "the authzid (a=) is empty");
        if (len < 0)
            return len;
        m->authzid_len = (size_t)len;
        m->has_authzid = true;
    }
    if (!take(c, ","))
        return fail(c, "the gs2 header does not end with ','");
    return 0;
}

/* client-first-bare: "n=<saslname>,r=<nonce>[,ext]*". */
static int first_bare(struct cur *c, struct sec_scram_first *m)
{
    const char *v;
    size_t n;
    if (c->end - c->p >= 2 && c->p[0] == 'm' && c->p[1] == '=')
        return fail(c, "the reserved attribute m= is not supported");
    if (!take(c, "n="))
        return fail(c, "the user name (n=) is missing or not first");
    value(c, &v, &n);
    int len = saslname(c, v, n, m->user, "the user name (n=) is empty");
    if (len < 0)
        return len;
    m->user_len = (size_t)len;
    if (!take(c, ",r="))
        return fail(c, "the nonce (r=) is missing or not after the user name");
    value(c, &m->nonce, &m->nonce_len);
    if (!nonce_ok(m->nonce, m->nonce_len))
        return fail(c, "the nonce (r=) is empty or not printable ASCII");
    while (c->p < c->end) {
        c->p++; /* the ',' value() stopped at */
        int rc = extension(c, &m->tokenauth);
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* Length and NUL checks every message gets first. */
static int whole(struct cur *c, const uint8_t *in, size_t len)
{
    c->p = (const char *)in;
    c->end = c->p + len;
    c->reason = NULL;
    if (len == 0)
        return fail(c, "the message is empty");
    if (len > SEC_SASL_MSG_MAX)
        return fail(c, "the message is longer than the longest accepted");
    if (memchr(in, 0, len))
        return fail(c, "the message contains a NUL byte");
    return 0;
}

int sec_scram_parse_first(const uint8_t *in, size_t len, struct sec_scram_first *m,
                          const char **reason)
{
    struct cur c;
    memset(m, 0, sizeof(*m));
    int rc = whole(&c, in, len);
    if (rc == 0)
        rc = gs2_header(&c, m);
    if (rc == 0) {
        m->gs2 = (const char *)in;
        m->gs2_len = (size_t)(c.p - m->gs2);
        m->bare = c.p;
        m->bare_len = (size_t)(c.end - c.p);
        rc = first_bare(&c, m);
    }
    if (rc < 0 && reason)
        *reason = c.reason;
    return rc;
}

/* "c=<base64>,r=<nonce>[,ext]*" up to (not including) the proof. */
static int final_without_proof(struct cur *c, struct sec_scram_final *m)
{
    if (!take(c, "c="))
        return fail(c, "the channel binding (c=) is missing or not first");
    value(c, &m->cbind_b64, &m->cbind_b64_len);
    if (sec__b64_decode(m->cbind_b64, m->cbind_b64_len, NULL, SIZE_MAX) < 0)
        return fail(c, "the channel binding (c=) is not base64");
    if (!take(c, ",r="))
        return fail(c, "the nonce (r=) is missing or not after c=");
    value(c, &m->nonce, &m->nonce_len);
    if (!nonce_ok(m->nonce, m->nonce_len))
        return fail(c, "the nonce (r=) is empty or not printable ASCII");
    bool ignored = false;
    while (c->p < c->end) {
        c->p++;
        int rc = extension(c, &ignored);
        if (rc < 0)
            return rc;
    }
    return 0;
}

int sec_scram_parse_final(const uint8_t *in, size_t len, struct sec_scram_final *m,
                          const char **reason)
{
    struct cur c;
    memset(m, 0, sizeof(*m));
    int rc = whole(&c, in, len);
    if (rc < 0)
        goto out;
    /* The proof is the last attribute: everything before the last ',' is what the
     * client signed (base64 and the other values cannot contain ','). */
    const char *comma = NULL;
    for (const char *p = c.end; p > c.p; p--)
        if (p[-1] == ',') {
            comma = p - 1;
            break;
        }
    if (!comma || c.end - comma < 3 || memcmp(comma, ",p=", 3) != 0) {
        rc = fail(&c, "the proof (p=) is missing or not last");
        goto out;
    }
    struct cur head = {c.p, comma, NULL};
    rc = final_without_proof(&head, m);
    if (rc < 0) {
        c.reason = head.reason;
        goto out;
    }
    m->without_proof = c.p;
    m->without_proof_len = (size_t)(comma - c.p);
    int n = sec__b64_decode(comma + 3, (size_t)(c.end - comma - 3), m->proof, sizeof(m->proof));
    if (n == -ENOSPC || n == 0)
        rc = fail(&c, "the proof (p=) has the wrong length");
    else if (n < 0)
        rc = fail(&c, "the proof (p=) is not base64");
    else
        m->proof_len = (size_t)n;
out:
    if (rc < 0 && reason)
        *reason = c.reason;
    return rc;
}
