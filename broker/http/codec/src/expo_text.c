/*
 * expo_text.c - the small grammar the exposition writer and parser share: names, UTF-8,
 * and floats in the spelling Prometheus' parsers read.
 *
 * Floats: Go's strconv.ParseFloat and Python's float() both read "1027", "0.005",
 * "1e-05", "NaN", "+Inf" and "-Inf". The writer prints an integral value below 2^63 with
 * "%.0f" (exact: every such double is an integer that %.0f prints digit for digit), and
 * anything else with the fewest of 15, 16 or 17 significant digits that strtod reads
 * back as the very same double. strtod and printf follow LC_NUMERIC; no program here
 * calls setlocale, so the decimal point is '.'.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hp_expo.h"
#include "hp_int.h"
#include "kc_err.h"

const char *hp_metric_type_name(enum hp_metric_type type)
{
    switch (type) {
    case HP_COUNTER:
        return "counter";
    case HP_GAUGE:
        return "gauge";
    case HP_HISTOGRAM:
        return "histogram";
    case HP_SUMMARY:
        return "summary";
    case HP_UNTYPED:
    default:
        return "untyped";
    }
}

static bool is_alpha_(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

bool hp__metric_name_ok(const char *s, size_t n)
{
    if (n == 0 || (!is_alpha_(s[0]) && s[0] != ':'))
        return false;
    for (size_t i = 1; i < n; i++)
        if (!is_alpha_(s[i]) && !is_digit(s[i]) && s[i] != ':')
            return false;
    return true;
}

bool hp__label_name_ok(const char *s, size_t n)
{
    if (n == 0 || !is_alpha_(s[0]) || (n >= 2 && s[0] == '_' && s[1] == '_'))
        return false;
    for (size_t i = 1; i < n; i++)
        if (!is_alpha_(s[i]) && !is_digit(s[i]))
            return false;
    return true;
}

/* The length of the UTF-8 sequence at s[0..n), or 0 when it is not valid. */
static size_t utf8_seq(const uint8_t *s, size_t n)
{
    uint8_t c = s[0];
    size_t len;
    uint32_t cp, min;
    if (c < 0x80)
        return 1;
    if ((c & 0xe0) == 0xc0)
        len = 2, cp = c & 0x1f, min = 0x80;
    else if ((c & 0xf0) == 0xe0)
        len = 3, cp = c & 0x0f, min = 0x800;
    else if ((c & 0xf8) == 0xf0)
        len = 4, cp = c & 0x07, min = 0x10000;
    else
        return 0;
    if (len > n)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = cp << 6 | (s[i] & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return 0; /* overlong, beyond Unicode, or a surrogate */
    return len;
}

bool hp__utf8_ok(const uint8_t *s, size_t n)
{
    for (size_t i = 0; i < n;) {
        size_t k = utf8_seq(s + i, n - i);
        if (k == 0)
            return false;
        i += k;
    }
    return true;
}

size_t hp_format_double(double v, char buf[HP_DOUBLE_BUF])
{
    int n;
    if (isnan(v))
        n = snprintf(buf, HP_DOUBLE_BUF, "NaN");
    else if (isinf(v))
        n = snprintf(buf, HP_DOUBLE_BUF, "%s", v > 0 ? "+Inf" : "-Inf");
    else if (v == 0)
        n = snprintf(buf, HP_DOUBLE_BUF, "0"); /* -0 too: a sign on zero means nothing here */
    else if (v == trunc(v) && fabs(v) < 9223372036854775808.0)
        n = snprintf(buf, HP_DOUBLE_BUF, "%.0f", v);
    else {
        for (int prec = 15; prec <= 17; prec++) {
            n = snprintf(buf, HP_DOUBLE_BUF, "%.*g", prec, v);
            if (strtod(buf, NULL) == v)
                break;
        }
    }
    return (size_t)n;
}

/* [+-]? ( digits [. digits?] | . digits ) ( [eE] [+-]? digits )? */
static bool decimal_ok(const char *s, size_t n)
{
    size_t i = 0, int_digits = 0, frac_digits = 0;
    if (i < n && (s[i] == '+' || s[i] == '-'))
        i++;
    while (i < n && is_digit(s[i]))
        i++, int_digits++;
    if (i < n && s[i] == '.') {
        i++;
        while (i < n && is_digit(s[i]))
            i++, frac_digits++;
    }
    if (int_digits + frac_digits == 0)
        return false;
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        size_t exp_digits = 0;
        if (++i < n && (s[i] == '+' || s[i] == '-'))
            i++;
        while (i < n && is_digit(s[i]))
            i++, exp_digits++;
        if (exp_digits == 0)
            return false;
    }
    return i == n;
}

int hp__parse_double(const char *s, size_t n, double *out)
{
    char buf[80];
    if (n == 3 && memcmp(s, "NaN", 3) == 0) {
        *out = NAN;
        return 0;
    }
    if ((n == 4 && (memcmp(s, "+Inf", 4) == 0 || memcmp(s, "-Inf", 4) == 0)) ||
        (n == 3 && memcmp(s, "Inf", 3) == 0)) {
        *out = s[0] == '-' ? -INFINITY : INFINITY;
        return 0;
    }
    if (n >= sizeof(buf) || !decimal_ok(s, n))
        return KC_EMALFORMED;
    memcpy(buf, s, n);
    buf[n] = '\0';
    *out = strtod(buf, NULL); /* the grammar is checked: strtod reads all of it */
    return 0;
}
