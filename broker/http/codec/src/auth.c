/*
 * auth.c - "Authorization: Basic", decoded (contracts in hp.h).
 *
 *   Authorization: Basic YWxpY2U6czNjcmV0       RFC 7617
 *                  ^^^^^ ^^^^^^^^^^^^^^^^
 *                  scheme  base64("alice:s3cret"): the user is everything before the
 *                  (any case) first ':', the password everything after it
 *
 * Basic auth sends the password in the clear on every request: it is only as good as the
 * TLS around it. The decoder is strict (canonical base64 only), so two spellings of the
 * same credentials cannot both pass, and a decoded NUL or control character is refused
 * rather than cut off by C string functions downstream.
 */
#include <errno.h>
#include <string.h>

#include "hp.h"
#include "hp_int.h"
#include "kc_err.h"

/* The 6-bit value of a base64 character, or -1. */
static int b64_value(uint8_t c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

/* One quantum of 4 characters into 1..3 bytes; last says '=' padding may appear. */
static int b64_quantum(const uint8_t *in, bool last, uint8_t *out)
{
    int v[4], pad = 0;
    for (int i = 0; i < 4; i++) {
        if (in[i] == '=' && last && i >= 2) {
            v[i] = 0;
            pad++;
            continue;
        }
        if (pad || (v[i] = b64_value(in[i])) < 0)
            return KC_EMALFORMED; /* a character after '=', or not base64 */
    }
    uint32_t bits = (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 | (uint32_t)v[2] << 6 | v[3];
    if ((pad == 1 && (bits & 0xff)) || (pad == 2 && (bits & 0xffff)))
        return KC_EMALFORMED; /* unused bits set: not the canonical encoding */
    out[0] = (uint8_t)(bits >> 16);
    out[1] = (uint8_t)(bits >> 8);
    out[2] = (uint8_t)bits;
    return 3 - pad;
}

int hp_base64_decode(const uint8_t *in, size_t len, uint8_t *out, size_t cap)
{
    size_t n = 0;
    uint8_t q[3];
    if (len % 4 != 0)
        return KC_EMALFORMED;
    if (len / 4 * 3 > (size_t)INT32_MAX)
        return KC_ETOOLARGE;
    for (size_t i = 0; i < len; i += 4) { /* a first pass: out is written only on success */
        int got = b64_quantum(in + i, i + 4 == len, q);
        if (got < 0)
            return got;
        n += (size_t)got;
    }
    if (n > cap)
        return KC_ETOOLARGE;
    for (size_t i = 0, o = 0; i < len; i += 4) {
        int got = b64_quantum(in + i, i + 4 == len, q);
        memcpy(out + o, q, (size_t)got);
        o += (size_t)got;
    }
    return (int)n;
}

size_t hp_base64_encode(const uint8_t *in, size_t len, char *out)
{
    static const char abc[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t o = 0;
    for (size_t i = 0; i < len; i += 3) {
        uint32_t b = (uint32_t)in[i] << 16;
        if (i + 1 < len)
            b |= (uint32_t)in[i + 1] << 8;
        if (i + 2 < len)
            b |= in[i + 2];
        out[o++] = abc[b >> 18 & 63];
        out[o++] = abc[b >> 12 & 63];
        out[o++] = i + 1 < len ? abc[b >> 6 & 63] : '=';
        out[o++] = i + 2 < len ? abc[b & 63] : '=';
    }
    out[o] = '\0';
    return o;
}

int hp_basic_auth(const struct hp_request *req, char *buf, size_t cap, const char **user,
                  const char **pass)
{
    const struct kc_slice *v = NULL;
    for (size_t i = 0; i < req->nheaders; i++) {
        if (!hp__slice_ieq(req->headers[i].name, "authorization"))
            continue;
        if (v)
            return KC_EMALFORMED; /* two sets of credentials: which one counts? */
        v = &req->headers[i].value;
    }
    if (!v)
        return -ENOENT;
    const uint8_t *sp = memchr(v->p, ' ', (size_t)v->len);
    const uint8_t *end = v->p + v->len;
    if (!hp__slice_ieq((struct kc_slice){v->p, (int32_t)((sp ? sp : end) - v->p)}, "basic"))
        return KC_EUNSUPPORTED;
    if (!sp)
        return KC_EMALFORMED; /* "Basic" and no credentials */
    while (sp < end && *sp == ' ')
        sp++;
    size_t b64len = (size_t)(end - sp);
    if (cap == 0)
        return KC_ETOOLARGE;
    int n = hp_base64_decode(sp, b64len, (uint8_t *)buf, cap - 1); /* room for a second NUL */
    if (n < 0)
        return n;
    char *colon = memchr(buf, ':', (size_t)n);
    for (int i = 0; i < n; i++)
        if ((uint8_t)buf[i] < 0x20 || buf[i] == 0x7f)
            return KC_EMALFORMED;
    if (!colon)
        return KC_EMALFORMED;
    *colon = '\0';
    buf[n] = '\0';
    *user = buf;
    *pass = colon + 1;
    return 0;
}
