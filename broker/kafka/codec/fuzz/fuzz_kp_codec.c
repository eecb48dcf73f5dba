/*
 * fuzz_kp_codec.c - libFuzzer target for libbrk_kp (`make fuzz`: fuzz/fuzz.mk builds it
 * beside fuzz/fuzz_*.c; its seeds are fuzz/corpus/fuzz_kp_codec, made by fuzz/seeds.py).
 *
 * Byte 0 of the input chooses how the rest is read:
 *   0-127    a request frame body (what kp_frame_check hands a server): kp_request_decode
 *   128-255  a response body for the API and version chosen by bytes 1-2 (from the API
 *            table, any version it implements): kp_response_decode, as a client reads
 *
 * Properties checked on everything that decodes: body_used never exceeds the input; the
 * decoded message encodes without error, and that encoding decodes again and encodes to
 * the same bytes (decode and encode agree on every schema and version); the arena frees
 * everything (LeakSanitizer). Seeds: the captured frames under broker/kafka/tests/fixtures
 * (requests: 0, then the body after the size prefix; responses: 0x80, the API's index in
 * the table, its version, then the body).
 *
 *   make fuzz FUZZ_TARGETS=fuzz_kp_codec FUZZ_SECONDS=60
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kp_api.h"

#define ARENA_LIMIT (16u << 20)

static void stable_request(const struct kp_request *req)
{
    if (req->fallback)
        return;
    struct kc_writer w1, w2;
    kc_writer_init(&w1, 0);
    kc_writer_init(&w2, 0);
    if (kp_request_encode(&w1, &req->hdr, req->msg))
        abort();
    struct kp_request again;
    if (kp_request_decode(kc_writer_data(&w1) + 4, kc_writer_len(&w1) - 4, 0, &again))
        abort();
    if (kp_request_encode(&w2, &again.hdr, again.msg) || kc_writer_len(&w1) != kc_writer_len(&w2) ||
        memcmp(kc_writer_data(&w1), kc_writer_data(&w2), kc_writer_len(&w1)))
        abort();
    kp_request_fini(&again);
    kc_writer_fini(&w1);
    kc_writer_fini(&w2);
}

static void stable_response(const struct kp_response *resp, int16_t key)
{
    struct kc_writer w1, w2;
    kc_writer_init(&w1, 0);
    kc_writer_init(&w2, 0);
    if (kp_response_encode(&w1, key, resp->version, resp->correlation_id, resp->msg, NULL, NULL))
        abort();
    struct kp_response again;
    if (kp_response_decode(kc_writer_data(&w1) + 4, kc_writer_len(&w1) - 4, key, resp->version,
                           0, &again))
        abort();
    if (kp_response_encode(&w2, key, again.version, again.correlation_id, again.msg, NULL,
                           NULL) ||
        kc_writer_len(&w1) != kc_writer_len(&w2) ||
        memcmp(kc_writer_data(&w1), kc_writer_data(&w2), kc_writer_len(&w1)))
        abort();
    kp_response_fini(&again);
    kc_writer_fini(&w1);
    kc_writer_fini(&w2);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    if (data[0] < 128) {
        struct kp_request req;
        if (kp_request_decode(data + 1, size - 1, ARENA_LIMIT, &req) == 0) {
            if (req.body_used > size - 1)
                abort();
            stable_request(&req);
            kp_request_fini(&req);
        }
        return 0;
    }
    if (size < 3)
        return 0;
    size_t n;
    const struct kp_api *t = kp_api_table(&n);
    const struct kp_api *api = &t[data[1] % n];
    int16_t v = (int16_t)(api->min + data[2] % (api->max - api->min + 1));
    struct kp_response resp;
    if (kp_response_decode(data + 3, size - 3, api->key, v, ARENA_LIMIT, &resp) == 0) {
        if (resp.body_used > size - 3)
            abort();
        stable_response(&resp, api->key);
        kp_response_fini(&resp);
    }
    return 0;
}
