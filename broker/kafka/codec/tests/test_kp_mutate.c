/*
 * test_kp_mutate.c - random mutations of every fixture: refused cleanly, or decoded into
 * something the encoder writes back and the decoder reads again identically.
 *
 * Phase 1's stand-in for a fuzzer (fuzz/fuzz_kp_codec.c is the libFuzzer target for
 * phase 2). Run it under ASan+UBSan: a read past a frame, an overflow in a length sum or
 * a misaligned access is then a crash, not a silent pass. Each mutant is an exact-size
 * heap copy. Mutations: overwrite bytes (random, or 00/ff/7f/80, the values that turn
 * lengths into null, -1, huge or varint continuations), cut, insert, duplicate a span,
 * and change the version the frame is read at. The seed is printed; KC_TEST_SEED replays
 * a run; KP_MUTATE_MS bounds it in time (default 3000 ms).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kc_err.h"
#include "kc_test.h"
#include "support/kpc.h"

#define MAX_FRAMES 512
#define MAX_LEN 4096

struct frame {
    uint8_t *p;
    size_t len;
    bool is_req;
    int16_t key, version;
};

struct corpus {
    struct frame f[MAX_FRAMES];
    int n;
};

static void collect(const struct kpc_fixture *fx, void *arg)
{
    struct corpus *c = arg;
    if (c->n + 2 > MAX_FRAMES)
        return;
    c->f[c->n++] = (struct frame){kpc_dup(fx->req, fx->req_len), fx->req_len, true, fx->key,
                                  fx->version};
    if (fx->resp)
        c->f[c->n++] = (struct frame){kpc_dup(fx->resp, fx->resp_len), fx->resp_len, false,
                                      fx->key, fx->version};
}

static size_t mutate(uint64_t *rs, uint8_t *buf, size_t len)
{
    static const uint8_t special[] = {0x00, 0xff, 0x7f, 0x80, 0x01, 0xfe};
    int rounds = 1 + (int)(kc_test_rand(rs) % 4);
    for (int r = 0; r < rounds && len > 0; r++) {
        size_t at = kc_test_rand(rs) % len;
        switch (kc_test_rand(rs) % 6) {
        case 0:
            buf[at] = (uint8_t)kc_test_rand(rs);
            break;
        case 1:
            buf[at] = special[kc_test_rand(rs) % sizeof(special)];
            break;
        case 2: /* cut */
            len = at + 1;
            break;
        case 3: /* insert one byte */
            if (len < MAX_LEN) {
                memmove(buf + at + 1, buf + at, len - at);
                buf[at] = (uint8_t)kc_test_rand(rs);
                len++;
            }
            break;
        case 4: { /* duplicate a span */
            size_t n = 1 + kc_test_rand(rs) % 16;
            if (at + n <= len && len + n <= MAX_LEN) {
                memmove(buf + at + n, buf + at, len - at);
                len += n;
            }
            break;
        }
        default: /* a 4-byte length to something large */
            if (at + 4 <= len)
                kc_store_be32(buf + at, (uint32_t)kc_test_rand(rs) | 0x10000000u);
            break;
        }
    }
    return len;
}

struct tally {
    long tried, decoded, refused;
};

/* Decoded: must encode, decode again, and encode to the same bytes. */
static void check_stable_request(const struct kp_request *req)
{
    if (req->fallback)
        return;
    struct kc_writer w1, w2;
    kc_writer_init(&w1, 0);
    kc_writer_init(&w2, 0);
    int rc = kp_request_encode(&w1, &req->hdr, req->msg);
    if (rc)
        fail_msg("a decoded %s v%d request does not encode: %s", req->api->name,
                 req->hdr.request_api_version, kc_strerror(rc));
    struct kp_request again;
    assert_int_equal(kp_request_decode(kc_writer_data(&w1) + 4, kc_writer_len(&w1) - 4, 0,
                                       &again), 0);
    assert_int_equal(kp_request_encode(&w2, &again.hdr, again.msg), 0);
    assert_int_equal(kc_writer_len(&w2), kc_writer_len(&w1));
    assert_memory_equal(kc_writer_data(&w2), kc_writer_data(&w1), kc_writer_len(&w1));
    kp_request_fini(&again);
    kc_writer_fini(&w1);
    kc_writer_fini(&w2);
}

static void check_stable_response(const struct kp_response *resp, int16_t key)
{
    struct kc_writer w1, w2;
    kc_writer_init(&w1, 0);
    kc_writer_init(&w2, 0);
    int rc = kp_response_encode(&w1, key, resp->version, resp->correlation_id, resp->msg, NULL,
                                NULL);
    if (rc)
        fail_msg("a decoded key %d v%d response does not encode: %s", key, resp->version,
                 kc_strerror(rc));
    struct kp_response again;
    assert_int_equal(kp_response_decode(kc_writer_data(&w1) + 4, kc_writer_len(&w1) - 4, key,
                                        resp->version, 0, &again), 0);
    assert_int_equal(kp_response_encode(&w2, key, again.version, again.correlation_id,
                                        again.msg, NULL, NULL), 0);
    assert_int_equal(kc_writer_len(&w2), kc_writer_len(&w1));
    assert_memory_equal(kc_writer_data(&w2), kc_writer_data(&w1), kc_writer_len(&w1));
    kp_response_fini(&again);
    kc_writer_fini(&w1);
    kc_writer_fini(&w2);
}

static void one(const struct frame *f, uint64_t *rs, struct tally *t)
{
    uint8_t buf[MAX_LEN];
    size_t len = f->len < MAX_LEN ? f->len : MAX_LEN;
    memcpy(buf, f->p, len);
    len = mutate(rs, buf, len);
    if (len < 4)
        return;
    uint8_t *body = kpc_dup(buf + 4, len - 4); /* exact size: ASan sees any overread */
    int16_t version = f->version;
    if (kc_test_rand(rs) % 8 == 0)
        version = (int16_t)(kc_test_rand(rs) % 20);
    int rc;
    if (f->is_req) {
        struct kp_request req;
        rc = kp_request_decode(body, len - 4, 1u << 20, &req);
        if (rc == 0) {
            check_stable_request(&req);
            kp_request_fini(&req);
        }
    } else {
        struct kp_response resp;
        rc = kp_response_decode(body, len - 4, f->key, version, 1u << 20, &resp);
        if (rc == 0) {
            check_stable_response(&resp, f->key);
            kp_response_fini(&resp);
        }
    }
    t->tried++;
    rc == 0 ? t->decoded++ : t->refused++;
    free(body);
}

static long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000L + ts.tv_nsec / 1000000;
}

static void test_mutate_every_fixture_is_refused_or_stable(void **state)
{
    (void)state;
    static struct corpus c;
    c.n = 0;
    kpc_each_fixture(collect, &c);
    assert_true(c.n > 0);
    uint64_t rs = kc_test_seed();
    const char *env = getenv("KP_MUTATE_MS");
    long budget = env ? atol(env) : 3000, start = now_ms();
    struct tally t = {0};
    while (now_ms() - start < budget) {
        for (int i = 0; i < 256; i++)
            one(&c.f[kc_test_rand(&rs) % (uint64_t)c.n], &rs, &t);
    }
    printf("# %ld mutants of %d frames in %ld ms: %ld decoded (and re-encoded stably), "
           "%ld refused\n", t.tried, c.n, now_ms() - start, t.decoded, t.refused);
    for (int i = 0; i < c.n; i++)
        free(c.f[i].p);
    assert_true(t.tried > 1000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mutate_every_fixture_is_refused_or_stable),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
