/*
 * test_hp_response.c - responses: the exact bytes of a metrics answer, every canned
 * answer read back by the response-head parser (status, length, Connection, Allow), the
 * Date header, HEAD answers, and the response-head parser's own prefixes and refusals.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hp.h"
#include "kc_common.h"
#include "kc_test.h"

static void test_response_metrics_answer_exact_bytes(void **state)
{
    (void)state;
    struct kc_writer w;
    kc_writer_init(&w, 0);
    struct hp_response r = {.status = 200, .content_type = HP_EXPO_CONTENT_TYPE, .body = "a 1\n",
                            .body_len = 4, .date = 784111777};
    hp_write_response(&w, &r);
    const char *want = "HTTP/1.1 200 OK\r\n"
                       "Content-Type: text/plain; version=0.0.4; charset=utf-8\r\n"
                       "Content-Length: 4\r\n"
                       "Date: Sun, 06 Nov 1994 08:49:37 GMT\r\n"
                       "\r\n"
                       "a 1\n";
    assert_int_equal(kc_writer_len(&w), strlen(want));
    assert_memory_equal(kc_writer_data(&w), want, strlen(want));

    kc_writer_reset(&w); /* HEAD: the same headers, no body */
    r.head_only = true;
    r.date = -1;
    r.close = true;
    hp_write_response(&w, &r);
    want = "HTTP/1.1 200 OK\r\n"
           "Content-Type: text/plain; version=0.0.4; charset=utf-8\r\n"
           "Content-Length: 4\r\n"
           "Connection: close\r\n"
           "\r\n";
    assert_int_equal(kc_writer_len(&w), strlen(want));
    assert_memory_equal(kc_writer_data(&w), want, strlen(want));
    kc_writer_fini(&w);
}

static void test_response_canned_read_back(void **state)
{
    (void)state;
    const int statuses[] = {400, 404, 405, 408, 413, 414, 431, 501, 503, 505, 299};
    for (size_t i = 0; i < KC_ARRAY_SIZE(statuses); i++) {
        int st = statuses[i];
        struct kc_writer w;
        struct hp_response_head h;
        kc_writer_init(&w, 0);
        hp_write_canned(&w, st, false, false, 1700000000);
        int n = hp_parse_response_head(kc_writer_data(&w), kc_writer_len(&w), NULL, &h);
        assert_true(n > 0);
        assert_int_equal(h.status, st);
        assert_int_equal(h.minor_version, 1);
        assert_true(h.content_length > 0);
        assert_int_equal((size_t)n + (size_t)h.content_length, kc_writer_len(&w));
        assert_int_equal(h.keep_alive, !hp_status_closes(st));
        const struct kc_slice *allow = hp_header_get(h.headers, h.nheaders, "allow");
        if (st == 405)
            assert_true(allow && allow->len == 9 && memcmp(allow->p, "GET, HEAD", 9) == 0);
        else
            assert_null(allow);
        assert_non_null(hp_header_get(h.headers, h.nheaders, "date"));
        printf("%d %s: %.*s", st, hp_reason(st), (int)h.content_length,
               (const char *)kc_writer_data(&w) + n);
        kc_writer_fini(&w);
    }
    assert_string_equal(hp_reason(431), "Request Header Fields Too Large");
    assert_string_equal(hp_reason(299), "Unknown");
}

/* A 401 carries its challenge, and a client reads it back. */
static void test_response_401_carries_the_challenge(void **state)
{
    (void)state;
    struct kc_writer w;
    struct hp_response_head h;
    struct hp_response r = {.status = 401,
                            .content_type = "text/plain; charset=utf-8",
                            .body = "Unauthorized\n",
                            .body_len = 13,
                            .close = true,
                            .www_authenticate = "Basic realm=\"kafka-c\"",
                            .date = -1};
    kc_writer_init(&w, 0);
    hp_write_response(&w, &r);
    int n = hp_parse_response_head(kc_writer_data(&w), kc_writer_len(&w), NULL, &h);
    assert_true(n > 0);
    assert_int_equal(h.status, 401);
    assert_false(h.keep_alive);
    const struct kc_slice *ch = hp_header_get(h.headers, h.nheaders, "www-authenticate");
    assert_non_null(ch);
    assert_int_equal(ch->len, 21);
    assert_memory_equal(ch->p, "Basic realm=\"kafka-c\"", 21);
    assert_string_equal(hp_reason(401), "Unauthorized");
    kc_writer_fini(&w);
}

static void test_response_head_every_prefix_needs_more(void **state)
{
    (void)state;
    const char *head = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 3\r\n\r\n";
    size_t len = strlen(head);
    struct hp_response_head h;
    for (size_t cut = 0; cut < len; cut++) {
        uint8_t *p = malloc(cut ? cut : 1);
        memcpy(p, head, cut);
        assert_int_equal(hp_parse_response_head(p, cut, NULL, &h), KC_ENEEDMORE);
        free(p);
    }
    assert_int_equal(hp_parse_response_head((const uint8_t *)head, len, NULL, &h), (int)len);
    assert_int_equal(h.content_length, 3);
    assert_true(h.keep_alive);
}

static void test_response_head_refusals(void **state)
{
    (void)state;
    struct {
        const char *head;
        int want;
    } cases[] = {
        {"HTTP/1.0 200 OK\r\n\r\n", 19},              /* accepted: 1.0, closes */
        {"HTTP/1.1 204 \r\n\r\n", 17},                /* an empty reason is allowed */
        {"HTTP/1.1 200\r\n\r\n", 16},                 /* so is none */
        {"HTTP/2.0 200 OK\r\n\r\n", KC_EMALFORMED},
        {"HTTP/1.1 20 OK\r\n\r\n", KC_EMALFORMED},
        {"HTTP/1.1 099 OK\r\n\r\n", KC_EMALFORMED},
        {"HTTP/1.1 200OK\r\n\r\n", KC_EMALFORMED},
        {"HTTP/1.1 200 OK\n\r\n", KC_EMALFORMED},
        {"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", KC_EMALFORMED},
        {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", KC_EUNSUPPORTED},
    };
    for (size_t i = 0; i < KC_ARRAY_SIZE(cases); i++) {
        struct hp_response_head h;
        int rc = hp_parse_response_head((const uint8_t *)cases[i].head, strlen(cases[i].head),
                                        NULL, &h);
        if (rc != cases[i].want)
            fail_msg("case %zu: got %d (%s), want %d", i, rc, kc_errname(rc), cases[i].want);
        if (i == 0)
            assert_false(h.keep_alive);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_response_metrics_answer_exact_bytes),
        cmocka_unit_test(test_response_canned_read_back),
        cmocka_unit_test(test_response_401_carries_the_challenge),
        cmocka_unit_test(test_response_head_every_prefix_needs_more),
        cmocka_unit_test(test_response_head_refusals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
