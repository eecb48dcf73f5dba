/*
 * hp_int.h - what the codec's source files share: character classes, the line scanner
 * and the header-section parser used by both the request and the response-head parser,
 * and the float and name helpers of the exposition writer and parser.
 */
#ifndef HP_INT_H
#define HP_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hp.h"
#include "hp_expo.h"

/* RFC 9110 tchar: the characters of a token (method, header name). */
bool hp__is_tchar(uint8_t c);
/* A field value's characters: VCHAR, obs-text (0x80-0xff), SP, HTAB. */
static inline bool hp__is_vchar(uint8_t c)
{
    return (c >= 0x21 && c != 0x7f) || c == ' ' || c == '\t';
}

static inline uint8_t hp__lower(uint8_t c)
{
    return c >= 'A' && c <= 'Z' ? (uint8_t)(c + 32) : c;
}

/* s equals the NUL-terminated lit, ASCII case-insensitively. */
bool hp__slice_ieq(struct kc_slice s, const char *lit);

/*
 * Find the end of the line that starts at buf[from]: on 0, *eol is the index of its CR
 * (the line's content is buf[from..*eol), its LF is at *eol + 1). Refuses a NUL, a bare
 * CR or a bare LF as soon as it is seen; a line whose content would pass limit bytes
 * returns too_long; a buffer that ends first returns KC_ENEEDMORE.
 */
int hp__scan_line(const uint8_t *buf, size_t len, size_t from, size_t limit, int too_long,
                  size_t *eol);

/* What the header-section parser fills in (common to requests and response heads). */
struct hp__fields {
    struct hp_header *headers; /* room for max entries */
    size_t max;                /* field lines allowed */
    size_t max_bytes;          /* bytes of field lines allowed */
    size_t n;
    int64_t content_length;    /* -1: none */
    bool has_te;               /* a Transfer-Encoding header was seen */
    bool conn_close;           /* Connection lists "close" */
    bool conn_keep_alive;      /* Connection lists "keep-alive" */
    struct kc_slice host;      /* len -1: none */
    int nhost;
};

/*
 * Parse the field lines starting at buf[*pos] up to and including the empty line, and
 * advance *pos past it. Returns 0, KC_ENEEDMORE or an HP_E* code. Content-Length and
 * Host duplicates are refused here; Transfer-Encoding is only recorded (has_te).
 */
int hp__parse_fields(const uint8_t *buf, size_t len, size_t *pos, struct hp__fields *f);

/* ---- the exposition format ------------------------------------------------------------ */

/* [a-zA-Z_:][a-zA-Z0-9_:]*, n > 0 */
bool hp__metric_name_ok(const char *s, size_t n);
/* [a-zA-Z_][a-zA-Z0-9_]*, n > 0, and not starting with "__" (reserved) */
bool hp__label_name_ok(const char *s, size_t n);
/* s[0..n) is valid UTF-8 (no overlongs, no surrogates). */
bool hp__utf8_ok(const uint8_t *s, size_t n);

/*
 * Parse a sample value the way Prometheus' text parsers accept it: a decimal float
 * ([+-]digits[.digits][e[+-]digits]), or NaN, +Inf, -Inf, Inf. The whole of s[0..n) must
 * be the number. 0 or KC_EMALFORMED.
 */
int hp__parse_double(const char *s, size_t n, double *out);

#endif
