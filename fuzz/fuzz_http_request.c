/*
 * fuzz_http_request.c - libFuzzer target: the HTTP door's request-head parser
 * (broker/http/codec), what any process that can reach the metrics port sends, and the
 * response-head parser kafka_cli top runs on what a metrics port answers.
 *
 * Byte 0 picks limits (so the limit paths are fuzzed too, not only the 4 KiB defaults);
 * the rest is a byte stream cut into pipelined requests as the server will cut it.
 *
 * Properties checked:
 *  - a result is a count in (0, len], KC_ENEEDMORE or an HP_E* code, nothing else;
 *  - an accepted head: every slice lies inside it; no NUL in it; the path has no "." or
 *    ".." segment and no %00; it parses again, alone, to the same length; every shorter
 *    prefix of it is "need more" (sampled: the edges and a few inside);
 *  - Basic credentials of an accepted head are two C strings inside the scratch buffer;
 *  - the response-head parser says a count, need-more, malformed or unsupported;
 *  - nothing reads out of bounds or invokes undefined behaviour (ASan, UBSan).
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hp.h"
#include "kc_common.h"

static void inside(struct kc_slice s, const uint8_t *lo, const uint8_t *hi)
{
    if (s.len < -1 || (s.len > 0 && (s.p < lo || s.p + s.len > hi)))
        abort();
}

/* The path's segments: none is "." or "..", in any spelling the parser knows. */
static void path_safe(struct kc_slice path)
{
    char seg[8];
    size_t n = 0;
    for (int32_t i = 1; i <= path.len; i++) {
        if (i == path.len || path.p[i] == '/') {
            seg[n < sizeof(seg) ? n : sizeof(seg) - 1] = '\0';
            if (n <= 6 && (!strcmp(seg, ".") || !strcmp(seg, "..") || !strcasecmp(seg, "%2e") ||
                           !strcasecmp(seg, "%2e%2e") || !strcasecmp(seg, ".%2e") ||
                           !strcasecmp(seg, "%2e.")))
                abort();
            n = 0;
        } else if (n < sizeof(seg) - 1) {
            seg[n++] = (char)path.p[i];
        } else {
            n = sizeof(seg); /* too long to be a dot segment */
        }
    }
}

static void check_accepted(const uint8_t *p, size_t used, const struct hp_limits *lim,
                           const struct hp_request *req)
{
    struct hp_request again;
    if (memchr(p, 0, used))
        abort();
    inside(req->method_name, p, p + used), inside(req->target, p, p + used);
    inside(req->path, p, p + used), inside(req->query, p, p + used);
    inside(req->host, p, p + used);
    for (size_t i = 0; i < req->nheaders; i++)
        inside(req->headers[i].name, p, p + used), inside(req->headers[i].value, p, p + used);
    path_safe(req->path);
    for (int32_t i = 0; i + 2 < req->target.len; i++)
        if (req->target.p[i] == '%' && req->target.p[i + 1] == '0' && req->target.p[i + 2] == '0')
            abort();
    if (hp_parse_request(p, used, lim, &again) != (int)used)
        abort();
    size_t cuts[] = {0, 1, 2, used / 3, used / 2, used - 2, used - 1};
    for (size_t i = 0; i < sizeof(cuts) / sizeof(cuts[0]); i++)
        if (cuts[i] < used && hp_parse_request(p, cuts[i], lim, &again) != KC_ENEEDMORE)
            abort();
    char buf[256];
    const char *user, *pass;
    if (hp_basic_auth(req, buf, sizeof(buf), &user, &pass) == 0 &&
        (user != buf || pass <= user || pass >= buf + sizeof(buf) || strlen(pass) + (size_t)(pass - buf) >= sizeof(buf)))
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const struct hp_limits limits[4] = {
        {HP_MAX_LINE_DEFAULT, HP_MAX_HEADERS_DEFAULT, HP_MAX_HEADER_BYTES_DEFAULT},
        {16, 2, 24},
        {64, 8, 128},
        {1 << 20, HP_HEADERS_MAX, 1 << 20}};
    if (size < 1)
        return 0;
    const struct hp_limits *lim = &limits[data[0] % 4];
    const uint8_t *p = data + 1;
    size_t len = size - 1, off = 0;
    while (off < len) {
        struct hp_request req;
        int rc = hp_parse_request(p + off, len - off, lim, &req);
        if (rc > 0) {
            if ((size_t)rc > len - off)
                abort();
            check_accepted(p + off, (size_t)rc, lim, &req);
            off += (size_t)rc;
            continue;
        }
        if (rc != KC_ENEEDMORE && (rc > KC_EHTTP_LINETOOLONG || rc < KC_EHTTP_BADHOST))
            abort();
        break;
    }
    struct hp_response_head h;
    int rc = hp_parse_response_head(p, len, lim, &h);
    if (rc == 0 || (rc > 0 && (size_t)rc > len) ||
        (rc < 0 && rc != KC_ENEEDMORE && rc != KC_EMALFORMED && rc != KC_EUNSUPPORTED))
        abort();
    return 0;
}
