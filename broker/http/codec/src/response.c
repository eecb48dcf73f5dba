/*
 * response.c - responses out (status line, the few headers a scrape needs, the body) and,
 * for the client side, a response head in (contracts in hp.h).
 *
 *   HTTP/1.1 200 OK\r\n
 *   Content-Type: text/plain; version=0.0.4; charset=utf-8\r\n
 *   Content-Length: 5120\r\n            always: the client knows where the body ends
 *   Connection: close\r\n               only when the server will close after this answer
 *   Date: Sun, 06 Nov 1994 08:49:37 GMT\r\n       optional (RFC 9110 6.6.1: IMF-fixdate)
 *   \r\n
 *   <body>
 *
 * Every answer carries a Content-Length, never chunked coding: the body is built whole
 * before the head is written, so its length is known, and the client's job stays simple.
 */
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "hp.h"
#include "hp_int.h"
#include "kc_common.h"

struct hp_status {
    int status;
    const char *reason;
    const char *body; /* the canned answer's text */
};

static const struct hp_status hp_statuses[] = {
    {200, "OK", "OK\n"},
    {400, "Bad Request", "Bad Request: the request could not be parsed.\n"},
    {401, "Unauthorized", "Unauthorized\n"},
    {403, "Forbidden", "Forbidden\n"},
    {404, "Not Found", "Not Found: this port serves /metrics and /health.\n"},
    {405, "Method Not Allowed", "Method Not Allowed: only GET and HEAD are served.\n"},
    {408, "Request Timeout", "Request Timeout: the request did not arrive in time.\n"},
    {413, "Content Too Large", "Content Too Large: requests here have no body.\n"},
    {414, "URI Too Long", "URI Too Long\n"},
    {431, "Request Header Fields Too Large", "Request Header Fields Too Large\n"},
    {500, "Internal Server Error", "Internal Server Error\n"},
    {501, "Not Implemented", "Not Implemented: no Transfer-Encoding in requests.\n"},
    {503, "Service Unavailable", "Service Unavailable: the broker is starting or draining.\n"},
    {505, "HTTP Version Not Supported", "HTTP Version Not Supported: use HTTP/1.1.\n"},
};

static const struct hp_status *status_find(int status)
{
    for (size_t i = 0; i < KC_ARRAY_SIZE(hp_statuses); i++)
        if (hp_statuses[i].status == status)
            return &hp_statuses[i];
    return NULL;
}

const char *hp_reason(int status)
{
    const struct hp_status *s = status_find(status);
    return s ? s->reason : "Unknown";
}

bool hp_status_closes(int status)
{
    switch (status) {
    case 400: case 408: case 413: case 414: case 431: case 501: case 505:
        return true;
    default:
        return false;
    }
}

static void put(struct kc_writer *w, const char *s)
{
    kc_write_raw(w, s, strlen(s));
}

/* IMF-fixdate, written by hand: strftime's %a and %b follow the locale. */
static void put_date(struct kc_writer *w, int64_t unix_secs)
{
    static const char days[7][4] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static const char months[12][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                       "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    char buf[64];
    struct tm tm;
    time_t t = (time_t)unix_secs;
    if (!gmtime_r(&t, &tm) || tm.tm_year + 1900 > 9999)
        return; /* no Date is better than a wrong one (the header is optional) */
    snprintf(buf, sizeof(buf), "Date: %s, %02d %s %04d %02d:%02d:%02d GMT\r\n",
             days[tm.tm_wday], tm.tm_mday, months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour,
             tm.tm_min, tm.tm_sec);
    put(w, buf);
}

void hp_write_head(struct kc_writer *w, const struct hp_response *resp)
{
    char buf[96];
    snprintf(buf, sizeof(buf), "HTTP/1.1 %03d %s\r\n", resp->status, hp_reason(resp->status));
    put(w, buf);
    if (resp->content_type) {
        put(w, "Content-Type: ");
        put(w, resp->content_type);
        put(w, "\r\n");
    }
    snprintf(buf, sizeof(buf), "Content-Length: %zu\r\n", resp->body_len);
    put(w, buf);
    if (resp->allow) {
        put(w, "Allow: ");
        put(w, resp->allow);
        put(w, "\r\n");
    }
    if (resp->www_authenticate) {
        put(w, "WWW-Authenticate: ");
        put(w, resp->www_authenticate);
        put(w, "\r\n");
    }
    if (resp->close)
        put(w, "Connection: close\r\n");
    if (resp->date >= 0)
        put_date(w, resp->date);
    put(w, "\r\n");
}

void hp_write_response(struct kc_writer *w, const struct hp_response *resp)
{
    hp_write_head(w, resp);
    if (!resp->head_only && resp->body_len > 0)
        kc_write_raw(w, resp->body, resp->body_len);
}

void hp_write_canned(struct kc_writer *w, int status, bool close, bool head_only, int64_t date)
{
    const struct hp_status *s = status_find(status);
    char fallback[64];
    if (!s)
        snprintf(fallback, sizeof(fallback), "%d\n", status);
    const char *body = s ? s->body : fallback;
    struct hp_response resp = {
        .status = status,
        .content_type = "text/plain; charset=utf-8",
        .body = body,
        .body_len = strlen(body),
        .close = close || hp_status_closes(status),
        .head_only = head_only,
        .allow = status == 405 ? "GET, HEAD" : NULL,
        .date = date,
    };
    hp_write_response(w, &resp);
}

/* ---- the client side ------------------------------------------------------------------- */

/* "HTTP/1.x NNN reason", buf[s..e). The reason may be empty; its bytes are field-value
 * bytes (RFC 9112 4). */
static int status_line(const uint8_t *buf, size_t s, size_t e, struct hp_response_head *h)
{
    const uint8_t *p = buf + s;
    size_t n = e - s;
    if (n < 12 || memcmp(p, "HTTP/1.", 7) != 0 || p[7] < '0' || p[7] > '9' || p[8] != ' ')
        return KC_EMALFORMED;
    for (int i = 9; i < 12; i++)
        if (p[i] < '0' || p[i] > '9')
            return KC_EMALFORMED;
    if (p[9] == '0' || (n > 12 && p[12] != ' '))
        return KC_EMALFORMED;
    for (size_t i = 13; i < n; i++)
        if (!hp__is_vchar(p[i]))
            return KC_EMALFORMED;
    h->minor_version = p[7] == '0' ? 0 : 1;
    h->status = (p[9] - '0') * 100 + (p[10] - '0') * 10 + (p[11] - '0');
    return 0;
}

int hp_parse_response_head(const uint8_t *buf, size_t len, const struct hp_limits *lim,
                           struct hp_response_head *out)
{
    struct hp_limits l = lim ? *lim : HP_LIMITS_DEFAULT;
    struct hp_response_head h;
    size_t pos = 0, eol;
    int rc = hp__scan_line(buf, len, 0, KC_MIN(l.max_line, (size_t)1 << 30), KC_EMALFORMED,
                           &eol);
    if (rc == 0)
        rc = status_line(buf, 0, eol, &h);
    if (rc)
        return rc == KC_ENEEDMORE ? rc : KC_EMALFORMED;
    pos = eol + 2;
    struct hp__fields f = {.headers = h.headers,
                           .max = KC_MIN(l.max_headers, (size_t)HP_HEADERS_MAX),
                           .max_bytes = KC_MIN(l.max_header_bytes, (size_t)1 << 30),
                           .content_length = -1,
                           .host = {NULL, -1}};
    rc = hp__parse_fields(buf, len, &pos, &f);
    if (rc)
        return rc == KC_ENEEDMORE ? rc : KC_EMALFORMED;
    if (f.has_te)
        return KC_EUNSUPPORTED;
    h.content_length = f.content_length;
    h.keep_alive = h.minor_version == 1 ? !f.conn_close : f.conn_keep_alive && !f.conn_close;
    h.nheaders = f.n;
    memcpy(out, &h, offsetof(struct hp_response_head, headers) + f.n * sizeof(h.headers[0]));
    return (int)pos;
}
