/*
 * b64.c - base64 (RFC 4648 section 4), strict.
 *
 * SCRAM carries salts, proofs and signatures in base64, and the credential file stores
 * keys in it. The decoder is the strict one: a client message is either exactly right or
 * refused, with nothing "repaired" on the way:
 *
 *   "cGVuY2ls"  -> "pencil"        length a multiple of 4
 *   "cGVuY2k="  -> "penci"         '=' only at the end, at most two
 *   "cGVuY2l="  -> refused         the bits '=' stands for must be zero (canonical form)
 *   "cGVu Y2ls" -> refused         no spaces, no newlines, no URL-safe '-' '_'
 *
 * (OpenSSL's EVP_DecodeBlock is lenient on all of these, so it is not used.)
 */
#include <errno.h>
#include <stdint.h>

#include "kc_err.h"
#include "sec_int.h"

static const char b64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

size_t sec__b64_encode(const uint8_t *in, size_t n, char *out)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16;
        if (i + 1 < n)
            v |= (uint32_t)in[i + 1] << 8;
        if (i + 2 < n)
            v |= in[i + 2];
        out[o++] = b64_alphabet[(v >> 18) & 63];
        out[o++] = b64_alphabet[(v >> 12) & 63];
        out[o++] = i + 1 < n ? b64_alphabet[(v >> 6) & 63] : '=';
        out[o++] = i + 2 < n ? b64_alphabet[v & 63] : '=';
    }
    out[o] = '\0';
    return o;
}

/* The 6-bit value of c, or -1. */
static int b64_value(char c)
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

/* Decode one group of four characters into 1..3 bytes; the count, or -1. `last` says
 * whether padding may appear (only in the final group). */
static int b64_group(const char *g, bool last, uint8_t b[3])
{
    int pad = 0;
    if (last && g[3] == '=')
        pad = g[2] == '=' ? 2 : 1;
    int v[4] = {0, 0, 0, 0};
    for (int k = 0; k < 4 - pad; k++)
        if ((v[k] = b64_value(g[k])) < 0)
            return -1;
    if (pad == 2 && (v[1] & 0x0f) != 0)
        return -1; /* non-canonical: bits under the padding are set */
    if (pad == 1 && (v[2] & 0x03) != 0)
        return -1;
    uint32_t x = (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 | (uint32_t)v[2] << 6 | (uint32_t)v[3];
    b[0] = (uint8_t)(x >> 16);
    b[1] = (uint8_t)(x >> 8);
    b[2] = (uint8_t)x;
    return 3 - pad;
}

int sec__b64_decode(const char *in, size_t len, uint8_t *out, size_t cap)
{
    if (len % 4 != 0)
        return KC_EMALFORMED;
    if (len / 4 * 3 > (size_t)INT32_MAX)
        return KC_ETOOLARGE;
    size_t o = 0;
    for (size_t i = 0; i < len; i += 4) {
        uint8_t b[3];
        int got = b64_group(in + i, i + 4 == len, b);
        if (got < 0)
            return KC_EMALFORMED;
        if (o + (size_t)got > cap)
            return -ENOSPC;
        for (int k = 0; out && k < got; k++)
            out[o + (size_t)k] = b[k];
        o += (size_t)got;
    }
    return (int)o;
}
