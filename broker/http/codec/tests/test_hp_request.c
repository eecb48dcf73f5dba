/*
 * test_hp_request.c - the request-head parser: what it reads, every truncated prefix of
 * what it accepts, pipelining and keep-alive, the limits, each hostile input with its own
 * result, Basic credentials, and random bytes and mutations that must never crash it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hp.h"
#include "kc_common.h"
#include "kc_test.h"

static int parse(const char *s, struct hp_request *req)
{
    return hp_parse_request((const uint8_t *)s, strlen(s), NULL, req);
}

static void assert_slice(struct kc_slice s, const char *want)
{
    if (!want) {
        assert_int_equal(s.len, -1);
        return;
    }
    assert_int_equal(s.len, (int32_t)strlen(want));
    assert_memory_equal(s.p, want, strlen(want));
}

static const char *const valid[] = {
    "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1:9644\r\nUser-Agent: Prometheus/2.42.0\r\n"
    "Accept: application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5\r\n"
    "X-Prometheus-Scrape-Timeout-Seconds: 10\r\n\r\n",
    "GET /health HTTP/1.0\r\n\r\n",
    "HEAD /metrics?name=x&y=%2F HTTP/1.1\r\nhost: x\r\nConnection: close\r\n\r\n",
    "\r\nGET / HTTP/1.1\r\nHost:x\r\nContent-Length: 0\r\n\r\n",
    "DELETE /a/b.c/..d/%41 HTTP/1.1\r\nHost: [::1]:9644\r\nX-Empty:\r\nX-Tab:\t v \t\r\n\r\n",
};

static void test_request_scrape_fields_read(void **state)
{
    (void)state;
    struct hp_request req;
    int rc = parse(valid[0], &req);
    assert_int_equal(rc, (int)strlen(valid[0]));
    assert_int_equal(req.method, HP_METHOD_GET);
    assert_slice(req.method_name, "GET");
    assert_slice(req.target, "/metrics");
    assert_slice(req.path, "/metrics");
    assert_slice(req.query, NULL);
    assert_int_equal(req.minor_version, 1);
    assert_true(req.keep_alive);
    assert_int_equal(req.content_length, -1);
    assert_slice(req.host, "127.0.0.1:9644");
    assert_int_equal(req.nheaders, 4);
    assert_slice(req.headers[1].name, "User-Agent");
    assert_slice(req.headers[1].value, "Prometheus/2.42.0");
    assert_slice(*hp_request_header(&req, "x-prometheus-scrape-timeout-SECONDS"), "10");
    assert_null(hp_request_header(&req, "Cookie"));
    assert_int_equal(hp_request_refusal(&req), 0);

    rc = parse(valid[2], &req);
    assert_int_equal(req.method, HP_METHOD_HEAD);
    assert_slice(req.path, "/metrics");
    assert_slice(req.query, "name=x&y=%2F");
    assert_false(req.keep_alive);

    rc = parse(valid[4], &req);
    assert_int_equal(rc, (int)strlen(valid[4]));
    assert_int_equal(req.method, HP_METHOD_OTHER);
    assert_slice(req.method_name, "DELETE");
    assert_slice(*hp_request_header(&req, "x-empty"), "");
    assert_slice(*hp_request_header(&req, "x-tab"), "v");
}

static void test_request_every_prefix_needs_more(void **state)
{
    (void)state;
    struct hp_request req;
    for (size_t v = 0; v < KC_ARRAY_SIZE(valid); v++) {
        size_t len = strlen(valid[v]);
        for (size_t cut = 0; cut < len; cut++) {
            /* a heap copy of exactly cut bytes: ASan sees any read past the end */
            uint8_t *p = malloc(cut ? cut : 1);
            memcpy(p, valid[v], cut);
            int rc = hp_parse_request(p, cut, NULL, &req);
            free(p);
            if (rc != KC_ENEEDMORE)
                fail_msg("valid[%zu] cut at %zu: %s", v, cut, kc_errname(rc));
        }
        assert_int_equal(parse(valid[v], &req), (int)len);
    }
}

static void test_request_pipelined_consumed_one_by_one(void **state)
{
    (void)state;
    const char *two = "GET /metrics HTTP/1.1\r\nHost: a\r\n\r\nGET /health HTTP/1.1\r\nHost: a\r\n"
                      "\r\nGET /x";
    const uint8_t *p = (const uint8_t *)two;
    size_t len = strlen(two);
    struct hp_request req;
    int n1 = hp_parse_request(p, len, NULL, &req);
    assert_true(n1 > 0);
    assert_slice(req.path, "/metrics");
    int n2 = hp_parse_request(p + n1, len - (size_t)n1, NULL, &req);
    assert_true(n2 > 0);
    assert_slice(req.path, "/health");
    assert_int_equal(hp_parse_request(p + n1 + n2, len - (size_t)(n1 + n2), NULL, &req),
                     KC_ENEEDMORE);
}

static void test_request_keep_alive_follows_version_and_connection(void **state)
{
    (void)state;
    struct {
        const char *head;
        bool keep_alive;
    } cases[] = {
        {"GET / HTTP/1.1\r\nHost: a\r\n\r\n", true},
        {"GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", false},
        {"GET / HTTP/1.1\r\nHost: a\r\nConnection: Upgrade, CLOSE\r\n\r\n", false},
        {"GET / HTTP/1.1\r\nHost: a\r\nConnection: keep-alive\r\nConnection: close\r\n\r\n", false},
        {"GET / HTTP/1.1\r\nHost: a\r\nConnection: closed\r\n\r\n", true},
        {"GET / HTTP/1.0\r\n\r\n", false},
        {"GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", true},
        {"GET / HTTP/1.0\r\nConnection: keep-alive, close\r\n\r\n", false},
        {"GET / HTTP/1.9\r\nHost: a\r\n\r\n", true}, /* a later 1.x reads as 1.1 */
    };
    for (size_t i = 0; i < KC_ARRAY_SIZE(cases); i++) {
        struct hp_request req;
        int rc = parse(cases[i].head, &req);
        if (rc <= 0 || req.keep_alive != cases[i].keep_alive)
            fail_msg("case %zu: rc %s keep_alive %d", i, kc_errname(rc), rc > 0 && req.keep_alive);
    }
}

/* Every hostile input, and the result it must get. */
static const struct hostile {
    const char *what;
    const char *head;
    int want;
} hostile[] = {
    {"NUL in the target", "GET /a\0b HTTP/1.1\r\nHost: a\r\n\r\n", KC_EHTTP_NUL},
    {"NUL in a header value", "GET / HTTP/1.1\r\nHost: a\r\nX: a\0\r\n\r\n", KC_EHTTP_NUL},
    {"%00 in the path", "GET /a%00b HTTP/1.1\r\nHost: a\r\n\r\n", KC_EHTTP_UNSAFEPATH},
    {"%00 in the query", "GET /a?x=%00 HTTP/1.1\r\nHost: a\r\n\r\n", KC_EHTTP_UNSAFEPATH},
    {"dot-dot segment", "GET /a/../etc/passwd HTTP/1.1\r\nHost: a\r\n\r\n", KC_EHTTP_UNSAFEPATH},
    {"dot-dot at the end", "GET /a/.. HTTP/1.1\r\nHost: a\r\n\r\n", KC_EHTTP_UNSAFEPATH},
    {"dot segment", "GET /./metrics HTTP/1.1\r\nHost: a\r\n\r\n", KC_EHTTP_UNSAFEPATH},
    {"encoded dot-dot", "GET /a/%2e%2E/b HTTP/1.1\r\nHost: a\r\n\r\n", KC_EHTTP_UNSAFEPATH},
    {"half-encoded dot-dot", "GET /.%2e HTTP/1.1\r\nHost: a\r\n\r\n", KC_EHTTP_UNSAFEPATH},
    {"space in the target", "GET /a b HTTP/1.1\r\nHost: a\r\n\r\n", KC_EHTTP_TARGETSPACE},
    {"two spaces after the method", "GET  /a HTTP/1.1\r\nHost: a\r\n\r\n", KC_EHTTP_TARGETSPACE},
    {"no target", "GET  HTTP/1.1\r\nHost: a\r\n\r\n", KC_EHTTP_TARGETSPACE},
    {"absolute-form target", "GET http://a/metrics HTTP/1.1\r\nHost: a\r\n\r\n", KC_EHTTP_BADTARGET},
    {"asterisk target", "OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n", KC_EHTTP_BADTARGET},
    {"fragment in the target", "GET /a#b HTTP/1.1\r\nHost: a\r\n\r\n", KC_EHTTP_BADTARGET},
    {"raw byte >= 0x80 in the target", "GET /\xc3\xa9 HTTP/1.1\r\nHost: a\r\n\r\n", KC_EHTTP_BADTARGET},
    {"bad percent escape", "GET /%zz HTTP/1.1\r\nHost: a\r\n\r\n", KC_EHTTP_BADTARGET},
    {"cut percent escape", "GET /%4 HTTP/1.1\r\nHost: a\r\n\r\n", KC_EHTTP_BADTARGET},
    {"lower-case version", "GET / http/1.1\r\nHost: a\r\n\r\n", KC_EHTTP_BADVERSION},
    {"version without minor", "GET / HTTP/1\r\nHost: a\r\n\r\n", KC_EHTTP_BADVERSION},
    {"version with letters", "GET / HTTP/1.x\r\nHost: a\r\n\r\n", KC_EHTTP_BADVERSION},
    {"HTTP/2.0", "GET / HTTP/2.0\r\nHost: a\r\n\r\n", KC_EHTTP_VERSION},
    {"HTTP/0.9 with a version", "GET / HTTP/0.9\r\n\r\n", KC_EHTTP_VERSION},
    {"HTTP/0.9 without one", "GET /\r\n\r\n", KC_EHTTP_BADREQLINE},
    {"no method", " / HTTP/1.1\r\nHost: a\r\n\r\n", KC_EHTTP_BADREQLINE},
    {"method with a slash", "GE/T / HTTP/1.1\r\nHost: a\r\n\r\n", KC_EHTTP_BADREQLINE},
    {"tab after the method", "GET\t/ HTTP/1.1\r\nHost: a\r\n\r\n", KC_EHTTP_BADREQLINE},
    {"CR without LF in the request line", "GET / HTTP/1.1\rHost: a\r\n\r\n", KC_EHTTP_BARECR},
    {"CR without LF in a header", "GET / HTTP/1.1\r\nHost: a\rX: b\r\n\r\n", KC_EHTTP_BARECR},
    {"CR without LF at the end", "GET / HTTP/1.1\r\nHost: a\r\n\rX", KC_EHTTP_BARECR},
    {"bare LF after the request line", "GET / HTTP/1.1\nHost: a\r\n\r\n", KC_EHTTP_BARELF},
    {"bare LF after a header", "GET / HTTP/1.1\r\nHost: a\n\r\n", KC_EHTTP_BARELF},
    {"bare LF as the empty line", "GET / HTTP/1.1\r\nHost: a\r\n\n", KC_EHTTP_BARELF},
    {"obs-fold", "GET / HTTP/1.1\r\nHost: a\r\nX: b\r\n c\r\n\r\n", KC_EHTTP_OBSFOLD},
    {"whitespace before the first header", "GET / HTTP/1.1\r\n Host: a\r\n\r\n", KC_EHTTP_OBSFOLD},
    {"space before the colon", "GET / HTTP/1.1\r\nHost : a\r\n\r\n", KC_EHTTP_BADHEADER},
    {"header without a colon", "GET / HTTP/1.1\r\nHost a\r\n\r\n", KC_EHTTP_BADHEADER},
    {"header without a name", "GET / HTTP/1.1\r\n: a\r\n\r\n", KC_EHTTP_BADHEADER},
    {"control byte in a value", "GET / HTTP/1.1\r\nHost: a\r\nX: \x01\r\n\r\n", KC_EHTTP_BADHEADER},
    {"DEL in a value", "GET / HTTP/1.1\r\nHost: a\r\nX: \x7f\r\n\r\n", KC_EHTTP_BADHEADER},
    {"duplicate Content-Length", "GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n"
                                 "Content-Length: 0\r\n\r\n", KC_EHTTP_DUPLENGTH},
    {"Content-Length list", "GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 5, 5\r\n\r\n",
     KC_EHTTP_DUPLENGTH},
    {"signed Content-Length", "GET / HTTP/1.1\r\nHost: a\r\nContent-Length: +5\r\n\r\n",
     KC_EHTTP_BADLENGTH},
    {"huge Content-Length", "GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 9999999999999999999\r\n"
                            "\r\n", KC_EHTTP_BADLENGTH},
    {"empty Content-Length", "GET / HTTP/1.1\r\nHost: a\r\nContent-Length:\r\n\r\n", KC_EHTTP_BADLENGTH},
    {"chunked", "GET / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n",
     KC_EHTTP_TRANSFERENCODING},
    {"chunked and a length", "GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n"
                             "Transfer-Encoding: chunked\r\n\r\n", KC_EHTTP_TRANSFERENCODING},
    {"TE in HTTP/1.0", "GET / HTTP/1.0\r\nTransfer-Encoding: gzip\r\n\r\n", KC_EHTTP_TRANSFERENCODING},
    {"HTTP/1.1 without Host", "GET / HTTP/1.1\r\nAccept: */*\r\n\r\n", KC_EHTTP_NOHOST},
    {"two Hosts", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", KC_EHTTP_BADHOST},
    {"Host with a slash", "GET / HTTP/1.1\r\nHost: a/b\r\n\r\n", KC_EHTTP_BADHOST},
    {"Host with a space", "GET / HTTP/1.1\r\nHost: a b\r\n\r\n", KC_EHTTP_BADHOST},
};

static void test_request_hostile_each_own_result(void **state)
{
    (void)state;
    for (size_t i = 0; i < KC_ARRAY_SIZE(hostile); i++) {
        const struct hostile *h = &hostile[i];
        /* the heads hold NULs: their length is the literal's, found by the terminator */
        size_t len = strlen(h->head);
        if (h->want == KC_EHTTP_NUL)
            len += 1 + strlen(h->head + len + 1);
        struct hp_request req;
        int rc = hp_parse_request((const uint8_t *)h->head, len, NULL, &req);
        if (rc != h->want)
            fail_msg("%s: got %s, want %s", h->what, kc_errname(rc), kc_errname(h->want));
        assert_true(hp_status_for(rc) >= 400);
    }
    assert_int_equal(hp_status_for(KC_EHTTP_LINETOOLONG), 414);
    assert_int_equal(hp_status_for(KC_EHTTP_TOOMANYHEADERS), 431);
    assert_int_equal(hp_status_for(KC_EHTTP_HEADERSTOOLARGE), 431);
    assert_int_equal(hp_status_for(KC_EHTTP_TRANSFERENCODING), 501);
    assert_int_equal(hp_status_for(KC_EHTTP_VERSION), 505);
    assert_int_equal(hp_status_for(KC_EMALFORMED), 400);
}

/* A refusal comes as soon as the bytes allow: no CRLF needed after the offending byte. */
static void test_request_refused_before_the_line_ends(void **state)
{
    (void)state;
    struct hp_request req;
    const uint8_t nul[] = "GET /a\0";
    assert_int_equal(hp_parse_request(nul, sizeof(nul) - 1, NULL, &req), KC_EHTTP_NUL);
    assert_int_equal(parse("GET / HTTP/1.1\rX", &req), KC_EHTTP_BARECR);
    assert_int_equal(parse("GET / HTTP/1.1\r\nHost: a\r\n X", &req), KC_EHTTP_OBSFOLD);
}

static void test_request_limits_refused_early_and_exact_fit_accepted(void **state)
{
    (void)state;
    struct hp_limits lim = {.max_line = 20, .max_headers = 2, .max_header_bytes = 30};
    struct hp_request req;
    char buf[256];
    /* "GET /aaaaa HTTP/1.1" is 19 bytes; 20 fits exactly, 21 does not */
    snprintf(buf, sizeof(buf), "GET /aaaaaa HTTP/1.1\r\nHost: a\r\n\r\n");
    assert_true(hp_parse_request((uint8_t *)buf, strlen(buf), &lim, &req) > 0);
    snprintf(buf, sizeof(buf), "GET /aaaaaaa HTTP/1.1\r\nHost: a\r\n\r\n");
    assert_int_equal(hp_parse_request((uint8_t *)buf, strlen(buf), &lim, &req), KC_EHTTP_LINETOOLONG);
    /* refused as soon as byte 21 arrives, long before any CRLF */
    memset(buf, 'a', 21);
    memcpy(buf, "GET /", 5);
    assert_int_equal(hp_parse_request((uint8_t *)buf, 20, &lim, &req), KC_ENEEDMORE);
    assert_int_equal(hp_parse_request((uint8_t *)buf, 21, &lim, &req), KC_EHTTP_LINETOOLONG);

    snprintf(buf, sizeof(buf), "GET / HTTP/1.1\r\nHost: a\r\nA: b\r\nC: d\r\n\r\n");
    assert_int_equal(hp_parse_request((uint8_t *)buf, strlen(buf), &lim, &req),
                     KC_EHTTP_TOOMANYHEADERS);
    /* the third field is refused at its first byte */
    assert_int_equal(hp_parse_request((uint8_t *)buf, strlen("GET / HTTP/1.1\r\nHost: a\r\n"
                                                             "A: b\r\nC"), &lim, &req),
                     KC_EHTTP_TOOMANYHEADERS);
    /* 30 header bytes: "Host: a\r\n" (9) + a 21-byte line fits; one more byte does not */
    snprintf(buf, sizeof(buf), "GET / HTTP/1.1\r\nHost: a\r\nX: 0123456789abcdef\r\n\r\n");
    assert_true(hp_parse_request((uint8_t *)buf, strlen(buf), &lim, &req) > 0);
    snprintf(buf, sizeof(buf), "GET / HTTP/1.1\r\nHost: a\r\nX: 0123456789abcdefg\r\n\r\n");
    assert_int_equal(hp_parse_request((uint8_t *)buf, strlen(buf), &lim, &req),
                     KC_EHTTP_HEADERSTOOLARGE);
    /* a max_headers beyond the struct's room is capped, not trusted */
    lim = (struct hp_limits){4096, 100000, 1 << 20};
    char *big = malloc(64 + 8 * (HP_HEADERS_MAX + 1));
    size_t n = (size_t)sprintf(big, "GET / HTTP/1.1\r\n");
    for (int i = 0; i <= HP_HEADERS_MAX; i++)
        n += (size_t)sprintf(big + n, "H%d: x\r\n", i % 10);
    n += (size_t)sprintf(big + n, "\r\n");
    assert_int_equal(hp_parse_request((uint8_t *)big, n, &lim, &req), KC_EHTTP_TOOMANYHEADERS);
    free(big);
}

static void test_request_body_refused_with_413(void **state)
{
    (void)state;
    struct hp_request req;
    const char *s = "GET /metrics HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello";
    int rc = parse(s, &req);
    assert_int_equal(rc, (int)(strlen(s) - 5)); /* the head only: the body is not read */
    assert_int_equal(req.content_length, 5);
    assert_int_equal(hp_request_refusal(&req), 413);
    assert_true(hp_status_closes(413));
    assert_true(parse("GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 000\r\n\r\n", &req) > 0);
    assert_int_equal(hp_request_refusal(&req), 0);
}

static void test_basic_auth_decoded_and_refused(void **state)
{
    (void)state;
    struct hp_request req;
    char buf[64];
    const char *user, *pass;
    /* "alice:s3cr:et" -> the user ends at the first colon */
    assert_true(parse("GET / HTTP/1.1\r\nHost: a\r\nAuthorization: basic YWxpY2U6czNjcjpldA==\r\n"
                      "\r\n", &req) > 0);
    assert_int_equal(hp_basic_auth(&req, buf, sizeof(buf), &user, &pass), 0);
    assert_string_equal(user, "alice");
    assert_string_equal(pass, "s3cr:et");
    assert_int_equal(hp_basic_auth(&req, buf, 13, &user, &pass), KC_ETOOLARGE);
    assert_int_equal(hp_basic_auth(&req, buf, 14, &user, &pass), 0);

    struct {
        const char *header;
        int want;
    } cases[] = {
        {"", -ENOENT},
        {"Authorization: Bearer abc\r\n", KC_EUNSUPPORTED},
        {"Authorization: Basic\r\n", KC_EMALFORMED},
        {"Authorization: Basic YWxpY2U=\r\n", KC_EMALFORMED},         /* "alice": no colon */
        {"Authorization: Basic YWxpY2U6eA\r\n", KC_EMALFORMED},       /* no padding */
        {"Authorization: Basic YWxpY2U6eR==\r\n", KC_EMALFORMED},     /* unused bits set */
        {"Authorization: Basic YW*pY2U6eA==\r\n", KC_EMALFORMED},     /* not base64 */
        {"Authorization: Basic YQA6Yg==\r\n", KC_EMALFORMED},         /* "a\0:b" */
        {"Authorization: Basic YTpi\r\nAuthorization: Basic YTpi\r\n", KC_EMALFORMED},
    };
    for (size_t i = 0; i < KC_ARRAY_SIZE(cases); i++) {
        char head[256];
        snprintf(head, sizeof(head), "GET / HTTP/1.1\r\nHost: a\r\n%s\r\n", cases[i].header);
        assert_true(parse(head, &req) > 0);
        int rc = hp_basic_auth(&req, buf, sizeof(buf), &user, &pass);
        if (rc != cases[i].want)
            fail_msg("case %zu: got %s want %s", i, kc_errname(rc), kc_errname(cases[i].want));
    }
    assert_true(parse("GET / HTTP/1.1\r\nHost: a\r\nAuthorization: Basic Og==\r\n\r\n", &req) > 0);
    assert_int_equal(hp_basic_auth(&req, buf, sizeof(buf), &user, &pass), 0); /* ":" */
    assert_string_equal(user, "");
    assert_string_equal(pass, "");
}

static void test_base64_round_trip_and_strictness(void **state)
{
    (void)state;
    uint8_t out[16];
    struct {
        const char *in, *out;
    } ok[] = {{"", ""}, {"Zg==", "f"}, {"Zm8=", "fo"}, {"Zm9v", "foo"}, {"Zm9vYg==", "foob"},
              {"Zm9vYmE=", "fooba"}, {"Zm9vYmFy", "foobar"}, {"+/+/", "\xfb\xff\xbf"}};
    for (size_t i = 0; i < KC_ARRAY_SIZE(ok); i++) {
        int n = hp_base64_decode((const uint8_t *)ok[i].in, strlen(ok[i].in), out, sizeof(out));
        assert_int_equal(n, (int)strlen(ok[i].out));
        assert_memory_equal(out, ok[i].out, (size_t)n);
    }
    const char *bad[] = {"Zg=", "Zg", "Z===", "Zm9v=", "Zg==Zg==", "Zh==", "Zm9=", "Zm 9v", "Zm-_"};
    for (size_t i = 0; i < KC_ARRAY_SIZE(bad); i++)
        if (hp_base64_decode((const uint8_t *)bad[i], strlen(bad[i]), out, sizeof(out)) !=
            KC_EMALFORMED)
            fail_msg("'%s' accepted", bad[i]);
    assert_int_equal(hp_base64_decode((const uint8_t *)"Zm9vYmFy", 8, out, 5), KC_ETOOLARGE);
    /* the encoder writes exactly what the strict decoder accepts, for every length */
    char enc[32];
    for (size_t i = 0; i < KC_ARRAY_SIZE(ok); i++) {
        size_t n = hp_base64_encode((const uint8_t *)ok[i].out, strlen(ok[i].out), enc);
        assert_int_equal(n, strlen(ok[i].in));
        assert_string_equal(enc, ok[i].in);
    }
}

/* Every slice of an accepted head lies inside the input. */
static void check_inside(const struct hp_request *req, const uint8_t *p, size_t len)
{
    const struct kc_slice *s[] = {&req->method_name, &req->target, &req->path, &req->host};
    for (size_t i = 0; i < KC_ARRAY_SIZE(s); i++)
        if (s[i]->len > 0 && (s[i]->p < p || s[i]->p + s[i]->len > p + len))
            fail_msg("slice %zu outside the input", i);
    for (size_t i = 0; i < req->nheaders; i++)
        if (req->headers[i].value.p + req->headers[i].value.len > p + len)
            fail_msg("header %zu outside the input", i);
}

static void test_request_random_mutations_never_crash(void **state)
{
    (void)state;
    uint64_t seed = kc_test_seed(), rng = seed | 1;
    size_t accepted = 0, refused = 0;
    for (int round = 0; round < 200000; round++) {
        const char *base = valid[kc_test_rand(&rng) % KC_ARRAY_SIZE(valid)];
        size_t len = strlen(base);
        uint8_t *p = malloc(len);
        memcpy(p, base, len);
        int flips = 1 + (int)(kc_test_rand(&rng) % 3);
        for (int f = 0; f < flips; f++)
            p[kc_test_rand(&rng) % len] = (uint8_t)kc_test_rand(&rng);
        size_t cut = kc_test_rand(&rng) % (len + 1);
        struct hp_request req;
        int rc = hp_parse_request(p, cut, NULL, &req);
        if (rc > 0) {
            assert_true((size_t)rc <= cut);
            check_inside(&req, p, cut);
            accepted++;
        } else if (rc != KC_ENEEDMORE) {
            assert_true(rc <= KC_EHTTP_LINETOOLONG && rc >= KC_EHTTP_BADHOST);
            refused++;
        }
        free(p);
    }
    printf("seed %llu: %zu accepted, %zu refused\n", (unsigned long long)seed, accepted, refused);
    assert_true(accepted > 0 && refused > 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_request_scrape_fields_read),
        cmocka_unit_test(test_request_every_prefix_needs_more),
        cmocka_unit_test(test_request_pipelined_consumed_one_by_one),
        cmocka_unit_test(test_request_keep_alive_follows_version_and_connection),
        cmocka_unit_test(test_request_hostile_each_own_result),
        cmocka_unit_test(test_request_refused_before_the_line_ends),
        cmocka_unit_test(test_request_limits_refused_early_and_exact_fit_accepted),
        cmocka_unit_test(test_request_body_refused_with_413),
        cmocka_unit_test(test_basic_auth_decoded_and_refused),
        cmocka_unit_test(test_base64_round_trip_and_strictness),
        cmocka_unit_test(test_request_random_mutations_never_crash),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
