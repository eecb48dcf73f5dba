/*
 * request.c - one HTTP/1.1 request head, byte by byte (contract in hp.h).
 *
 *   G E T ␠ / m e t r i c s ␠ H T T P / 1 . 1 ␍ ␊      request line
 *   └─┬─┘   └──────┬──────┘   └──────┬──────┘
 *   method      target          version             split at the first and the last SP
 *   H o s t : ␠ x ␍ ␊                                  field lines (head.c)
 *   ␍ ␊                                                the end of the head
 *
 * The request line is split at its first and its last space, so a space inside the target
 * is found and named (KC_EHTTP_TARGETSPACE) rather than misread as a version. The target is
 * checked character by character against RFC 3986 and then segment by segment for "."
 * and "..": nothing is decoded, so "%2e%2E" is a dot-dot too, and %00 is refused wherever
 * it appears. The path a router sees is exactly what was on the wire.
 */
#include <stddef.h>
#include <string.h>

#include "hp.h"
#include "hp_int.h"
#include "kc_common.h"

#define HP_LIMIT_CEILING ((size_t)1 << 30)

static bool is_hex(uint8_t c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* pchar minus pct-encoded (RFC 3986): unreserved, sub-delims, ':' and '@'. */
static bool is_pchar(uint8_t c)
{
    if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
        return true;
    return c != 0 && strchr("-._~!$&'()*+,;=:@", c) != NULL;
}

/* p[0..n) is "." or "..", literally or with %2e / %2E for any of the dots. */
static bool is_dot_segment(const uint8_t *p, size_t n)
{
    size_t dots = 0;
    for (size_t i = 0; i < n; dots++) {
        if (p[i] == '.')
            i += 1;
        else if (p[i] == '%' && i + 2 < n && p[i + 1] == '2' && hp__lower(p[i + 2]) == 'e')
            i += 3;
        else
            return false;
    }
    return dots == 1 || dots == 2;
}

/* Characters and percent-escapes of an origin-form target; path and query found. */
static int check_target(struct kc_slice t, struct kc_slice *path, struct kc_slice *query)
{
    size_t n = (size_t)t.len, q = n;
    if (n == 0 || t.p[0] != '/')
        return KC_EHTTP_BADTARGET; /* absolute-form, authority-form, '*': not served here */
    for (size_t i = 0; i < n; i++) {
        uint8_t c = t.p[i];
        if (c == '%') {
            if (i + 2 >= n || !is_hex(t.p[i + 1]) || !is_hex(t.p[i + 2]))
                return KC_EHTTP_BADTARGET;
            if (t.p[i + 1] == '0' && t.p[i + 2] == '0')
                return KC_EHTTP_UNSAFEPATH;
            i += 2;
        } else if (c == '?' && q == n) {
            q = i;
        } else if (!is_pchar(c) && c != '/' && !(c == '?' && q < n)) {
            return c == ' ' ? KC_EHTTP_TARGETSPACE : KC_EHTTP_BADTARGET;
        }
    }
    for (size_t s = 1, e; s <= q; s = e + 1) { /* the segments between slashes */
        const uint8_t *slash = memchr(t.p + s, '/', q - s);
        e = slash ? (size_t)(slash - t.p) : q;
        if (is_dot_segment(t.p + s, e - s))
            return KC_EHTTP_UNSAFEPATH;
    }
    *path = (struct kc_slice){t.p, (int32_t)q};
    *query = q < n ? (struct kc_slice){t.p + q + 1, (int32_t)(n - q - 1)}
                   : (struct kc_slice){NULL, -1};
    return 0;
}

/* "HTTP/" DIGIT "." DIGIT; 1.2 .. 1.9 read as 1.1. */
static int check_version(const uint8_t *v, size_t n, int *minor)
{
    if (n != 8 || memcmp(v, "HTTP/", 5) != 0 || v[6] != '.' || v[5] < '0' || v[5] > '9' ||
        v[7] < '0' || v[7] > '9')
        return KC_EHTTP_BADVERSION;
    if (v[5] != '1')
        return KC_EHTTP_VERSION;
    *minor = v[7] == '0' ? 0 : 1;
    return 0;
}

static enum hp_method method_of(struct kc_slice m)
{
    if (m.len == 3 && memcmp(m.p, "GET", 3) == 0) /* methods are case-sensitive */
        return HP_METHOD_GET;
    if (m.len == 4 && memcmp(m.p, "HEAD", 4) == 0)
        return HP_METHOD_HEAD;
    return HP_METHOD_OTHER;
}

/* The request line's content, buf[s..e). */
static int request_line(const uint8_t *buf, size_t s, size_t e, struct hp_request *req)
{
    size_t sp1 = s, sp2 = e;
    while (sp1 < e && hp__is_tchar(buf[sp1]))
        sp1++;
    if (sp1 == s || sp1 == e || buf[sp1] != ' ')
        return KC_EHTTP_BADREQLINE; /* no method token, or something else after it */
    while (sp2 > sp1 + 1 && buf[sp2 - 1] != ' ')
        sp2--;
    if (sp2 <= sp1 + 1)
        return KC_EHTTP_BADREQLINE; /* one space only: "GET /" (HTTP/0.9) or "GET  " */
    sp2--;                     /* the last space */
    req->method_name = (struct kc_slice){buf + s, (int32_t)(sp1 - s)};
    req->method = method_of(req->method_name);
    req->target = (struct kc_slice){buf + sp1 + 1, (int32_t)(sp2 - sp1 - 1)};
    if (req->target.len == 0)
        return KC_EHTTP_TARGETSPACE; /* "GET  HTTP/1.1": two spaces, nothing between */
    int rc = check_version(buf + sp2 + 1, e - sp2 - 1, &req->minor_version);
    if (rc)
        return rc;
    if (memchr(req->target.p, ' ', (size_t)req->target.len))
        return KC_EHTTP_TARGETSPACE;
    return check_target(req->target, &req->path, &req->query);
}

/* After the whole head: Host, bodies, and whether the connection stays open. */
static int request_meaning(struct hp_request *req, const struct hp__fields *f)
{
    if (f->has_te)
        return KC_EHTTP_TRANSFERENCODING;
    if (req->minor_version == 1 && f->nhost == 0)
        return KC_EHTTP_NOHOST;
    req->host = f->host;
    req->content_length = f->content_length;
    req->nheaders = f->n;
    if (req->minor_version == 1)
        req->keep_alive = !f->conn_close;
    else
        req->keep_alive = f->conn_keep_alive && !f->conn_close;
    return 0;
}

int hp_parse_request(const uint8_t *buf, size_t len, const struct hp_limits *lim,
                     struct hp_request *out)
{
    struct hp_limits l = lim ? *lim : HP_LIMITS_DEFAULT;
    l.max_line = KC_MIN(l.max_line, HP_LIMIT_CEILING); /* so that pos always fits an int */
    l.max_header_bytes = KC_MIN(l.max_header_bytes, HP_LIMIT_CEILING);
    struct hp_request req;
    size_t pos = 0, eol;
    if (len >= 1 && buf[0] == '\r') { /* one empty line before the request is forgiven */
        if (len < 2)
            return KC_ENEEDMORE;
        if (buf[1] != '\n')
            return KC_EHTTP_BARECR;
        pos = 2;
    }
    int rc = hp__scan_line(buf, len, pos, l.max_line, KC_EHTTP_LINETOOLONG, &eol);
    if (rc)
        return rc;
    if ((rc = request_line(buf, pos, eol, &req)))
        return rc;
    pos = eol + 2;
    struct hp__fields f = {.headers = req.headers,
                           .max = KC_MIN(l.max_headers, (size_t)HP_HEADERS_MAX),
                           .max_bytes = l.max_header_bytes,
                           .content_length = -1,
                           .host = {NULL, -1}};
    if ((rc = hp__parse_fields(buf, len, &pos, &f)) || (rc = request_meaning(&req, &f)))
        return rc;
    memcpy(out, &req, offsetof(struct hp_request, headers) + f.n * sizeof(req.headers[0]));
    return (int)pos;
}

int hp_request_refusal(const struct hp_request *req)
{
    return req->content_length > 0 ? 413 : 0;
}
