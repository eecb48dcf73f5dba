/*
 * head.c - what request and response heads have in common: lines, header fields, the
 * headers with a meaning for framing (Content-Length, Transfer-Encoding, Connection,
 * Host), and the result table.
 *
 * A head is lines; a line is bytes up to CRLF. hp__scan_line looks at every byte once
 * and refuses the three bytes that make lines ambiguous the moment it meets them: NUL
 * (C code downstream would stop there, a proxy might not), CR without LF, LF without CR.
 *
 *   Host: example:9644\r\n       field line: name ':' OWS value OWS CRLF
 *   ^^^^ ^^^^^^^^^^^^^^            name: a token, no space before the colon
 *         value: VCHAR, SP, HTAB and bytes >= 0x80; OWS around it is not part of it
 *   \r\n                         the empty line: the head ends
 */
#include <errno.h>
#include <string.h>

#include "hp.h"
#include "hp_int.h"
#include "kc_err.h"

/* ---- the statuses of refused heads ----------------------------------------------------- */

int hp_status_for(int err)
{
    switch (err) {
#define HP_STATUS_CASE(code, status)                                                          \
    case code:                                                                                \
        return status;
        HP_STATUSES(HP_STATUS_CASE)
#undef HP_STATUS_CASE
    default:
        return 400;
    }
}

/* ---- characters and lines ------------------------------------------------------------ */

bool hp__is_tchar(uint8_t c)
{
    if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
        return true;
    return c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

bool hp__slice_ieq(struct kc_slice s, const char *lit)
{
    size_t n = strlen(lit);
    if (s.len < 0 || (size_t)s.len != n)
        return false;
    for (size_t i = 0; i < n; i++)
        if (hp__lower(s.p[i]) != hp__lower((uint8_t)lit[i]))
            return false;
    return true;
}

int hp__scan_line(const uint8_t *buf, size_t len, size_t from, size_t limit, int too_long,
                  size_t *eol)
{
    for (size_t i = from; i < len; i++) {
        uint8_t c = buf[i];
        if (c == '\r') {
            if (i + 1 == len)
                return KC_ENEEDMORE;
            if (buf[i + 1] != '\n')
                return KC_EHTTP_BARECR;
            *eol = i;
            return 0;
        }
        if (c == '\n')
            return KC_EHTTP_BARELF; /* a LF that ends a line was consumed with its CR */
        if (c == '\0')
            return KC_EHTTP_NUL;
        if (i - from >= limit)
            return too_long; /* this would be byte limit + 1 of the line */
    }
    return KC_ENEEDMORE;
}

/* ---- header fields --------------------------------------------------------------------- */

const struct kc_slice *hp_header_get(const struct hp_header *headers, size_t n,
                                     const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (hp__slice_ieq(headers[i].name, name))
            return &headers[i].value;
    return NULL;
}

static struct kc_slice trim_ows(const uint8_t *p, const uint8_t *end)
{
    while (p < end && (*p == ' ' || *p == '\t'))
        p++;
    while (end > p && (end[-1] == ' ' || end[-1] == '\t'))
        end--;
    return (struct kc_slice){p, (int32_t)(end - p)};
}

bool hp_list_has(struct kc_slice value, const char *token)
{
    const uint8_t *p = value.p, *end = value.p + (value.len > 0 ? value.len : 0);
    while (p < end) {
        const uint8_t *comma = memchr(p, ',', (size_t)(end - p));
        const uint8_t *stop = comma ? comma : end;
        if (hp__slice_ieq(trim_ows(p, stop), token))
            return true;
        p = comma ? comma + 1 : end;
    }
    return false;
}

/* Content-Length: 1*DIGIT. A list ("5, 5") is a second length in disguise. */
static int field_content_length(struct hp__fields *f, struct kc_slice v)
{
    int64_t n = 0;
    if (f->content_length >= 0 || memchr(v.p, ',', (size_t)v.len))
        return KC_EHTTP_DUPLENGTH;
    if (v.len == 0 || v.len > 18) /* 18 digits cannot overflow an int64 */
        return KC_EHTTP_BADLENGTH;
    for (int32_t i = 0; i < v.len; i++) {
        if (v.p[i] < '0' || v.p[i] > '9')
            return KC_EHTTP_BADLENGTH;
        n = n * 10 + (v.p[i] - '0');
    }
    f->content_length = n;
    return 0;
}

/* Host: uri-host [ ":" port ], characters of RFC 3986's reg-name, IP-literal and port. */
static int field_host(struct hp__fields *f, struct kc_slice v)
{
    static const char extra[] = "-._~%!$&'()*+,;=:[]";
    if (++f->nhost > 1)
        return KC_EHTTP_BADHOST;
    for (int32_t i = 0; i < v.len; i++) {
        uint8_t c = v.p[i];
        bool alnum = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
        if (!alnum && (c == 0 || !strchr(extra, c)))
            return KC_EHTTP_BADHOST;
    }
    f->host = v;
    return 0;
}

/* The headers that decide framing and the connection's fate. */
static int field_meaning(struct hp__fields *f, const struct hp_header *h)
{
    if (hp__slice_ieq(h->name, "content-length"))
        return field_content_length(f, h->value);
    if (hp__slice_ieq(h->name, "transfer-encoding"))
        f->has_te = true;
    else if (hp__slice_ieq(h->name, "host"))
        return field_host(f, h->value);
    else if (hp__slice_ieq(h->name, "connection")) {
        f->conn_close |= hp_list_has(h->value, "close");
        f->conn_keep_alive |= hp_list_has(h->value, "keep-alive");
    }
    return 0;
}

/* One field line, buf[s..e) without its CRLF. */
static int field_line(const uint8_t *buf, size_t s, size_t e, struct hp_header *h)
{
    size_t colon = s;
    while (colon < e && hp__is_tchar(buf[colon]))
        colon++;
    if (colon == s || colon == e || buf[colon] != ':')
        return KC_EHTTP_BADHEADER; /* no name, no colon, or a space before the colon */
    h->name = (struct kc_slice){buf + s, (int32_t)(colon - s)};
    h->value = trim_ows(buf + colon + 1, buf + e);
    for (int32_t i = 0; i < h->value.len; i++)
        if (!hp__is_vchar(h->value.p[i]))
            return KC_EHTTP_BADHEADER;
    return 0;
}

int hp__parse_fields(const uint8_t *buf, size_t len, size_t *pos, struct hp__fields *f)
{
    size_t p = *pos, used = 0, eol;
    for (;;) {
        if (p >= len)
            return KC_ENEEDMORE;
        if (buf[p] == '\r' || buf[p] == '\n') { /* the empty line, or a bare CR / LF */
            int rc = hp__scan_line(buf, len, p, 0, KC_EHTTP_HEADERSTOOLARGE, &eol);
            if (rc)
                return rc;
            *pos = eol + 2;
            return 0;
        }
        if (buf[p] == ' ' || buf[p] == '\t')
            return KC_EHTTP_OBSFOLD;
        if (f->n == f->max)
            return KC_EHTTP_TOOMANYHEADERS;
        size_t budget = f->max_bytes - used;
        int rc = hp__scan_line(buf, len, p, budget >= 2 ? budget - 2 : 0, KC_EHTTP_HEADERSTOOLARGE,
                               &eol);
        if (rc)
            return rc;
        struct hp_header *h = &f->headers[f->n];
        if ((rc = field_line(buf, p, eol, h)) || (rc = field_meaning(f, h)))
            return rc;
        f->n++;
        used += eol + 2 - p;
        p = eol + 2;
    }
}
