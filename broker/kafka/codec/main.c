/*
 * main.c - kafka_kp_dump: look inside Kafka frames with the schema-driven codec.
 *
 *   kafka_kp_dump                      the lesson: one Produce request built at v7 and at
 *                                      v9 (flexible), both frames in hex, decoded back
 *   kafka_kp_dump REQ [RESP]           decode a captured request frame (and its response,
 *                                      read at the request's version), print every field,
 *                                      encode again and say whether the bytes agree
 *
 * e.g. kafka_kp_dump broker/kafka/tests/fixtures/kcat_meta/ApiVersions_v3_1.req
 *
 * The printer knows no message: it walks the generated schema tables (kp_schema,
 * kp_field), which is all a generic tool needs.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kc_err.h"
#include "kc_fs.h"
#include "kp_api.h"

static void print_struct(const struct kp_schema *s, int16_t v, bool flex, const uint8_t *obj,
                         int depth);

static void print_slice(uint8_t type, struct kc_slice sl)
{
    if (sl.len < 0) {
        printf("null");
        return;
    }
    if (type == KP_T_STRING) {
        putchar('"');
        for (int32_t i = 0; i < sl.len; i++)
            putchar(isprint(sl.p[i]) ? sl.p[i] : '.');
        putchar('"');
        return;
    }
    printf("<%d bytes>", sl.len);
    for (int32_t i = 0; i < sl.len && i < 12; i++)
        printf(" %02x", sl.p[i]);
    if (sl.len > 12)
        printf(" ...");
}

static void print_value(const struct kp_field *f, uint8_t type, int16_t v, bool flex,
                        const uint8_t *at, int depth)
{
    int64_t i = 0;
    switch (type) {
    case KP_T_BOOL:
        printf("%s", *(const bool *)at ? "true" : "false");
        return;
    case KP_T_INT8: { int8_t x; memcpy(&x, at, 1); i = x; break; }
    case KP_T_INT16: { int16_t x; memcpy(&x, at, 2); i = x; break; }
    case KP_T_UINT16: { uint16_t x; memcpy(&x, at, 2); i = x; break; }
    case KP_T_INT32: { int32_t x; memcpy(&x, at, 4); i = x; break; }
    case KP_T_UINT32: { uint32_t x; memcpy(&x, at, 4); i = x; break; }
    case KP_T_INT64: memcpy(&i, at, 8); break;
    case KP_T_FLOAT64: { double d; memcpy(&d, at, 8); printf("%g", d); return; }
    case KP_T_UUID:
        for (int k = 0; k < 16; k++)
            printf("%02x", at[k]);
        return;
    case KP_T_STRING:
    case KP_T_BYTES:
    case KP_T_RECORDS:
        print_slice(type, *(const struct kc_slice *)at);
        return;
    case KP_T_STRUCT:
        printf("\n");
        print_struct(f->nested, v, flex, at, depth + 1);
        return;
    }
    printf("%lld", (long long)i);
}

static void print_field(const struct kp_field *f, int16_t v, bool flex, const uint8_t *obj,
                        int depth)
{
    const uint8_t *at = obj + f->offset;
    printf("%*s%s", depth * 2, "", f->name);
    if (f->type == KP_T_ARRAY) {
        int32_t n;
        const uint8_t *items;
        memcpy(&n, at, sizeof(n));
        memcpy(&items, at + sizeof(void *), sizeof(items)); /* KP_ARRAY: count, pointer */
        printf("[%d]%s", n, n < 0 ? " null" : "");
        for (int32_t k = 0; k < n; k++) {
            const uint8_t *el = items + (size_t)k * f->elem_size;
            if (f->elem == KP_T_STRUCT) {
                printf("\n%*s#%d", depth * 2 + 2, "", k);
                printf("\n");
                print_struct(f->nested, v, flex, el, depth + 2);
                continue;
            }
            printf(k ? ", " : " ");
            print_value(f, f->elem, v, flex, el, depth + 1);
        }
        if (f->elem != KP_T_STRUCT || n <= 0)
            printf("\n");
        return;
    }
    printf(" = ");
    print_value(f, f->type, v, flex, at, depth);
    if (f->type != KP_T_STRUCT)
        printf("\n");
}

static void print_struct(const struct kp_schema *s, int16_t v, bool flex, const uint8_t *obj,
                         int depth)
{
    for (uint16_t i = 0; i < s->nfields; i++) {
        const struct kp_field *f = &s->fields[i];
        bool tagged = i >= s->npositional;
        if (!kp_vin(f->ver, v) || (tagged && kp_field_is_default(f, obj)))
            continue; /* not in this version, or a tagged field left at its default */
        if (tagged)
            printf("%*s(tag %u)\n", depth * 2, "", f->tag);
        print_field(f, v, flex, obj, depth);
    }
}

static void hex(const char *title, const uint8_t *p, size_t n)
{
    printf("%s (%zu bytes):\n", title, n);
    for (size_t i = 0; i < n; i++)
        printf("%s%02x%s", i % 16 ? "" : "  ", p[i], i % 16 == 15 || i + 1 == n ? "\n" : " ");
}

/* The lesson: the same Produce request at v7 and v9. */
static int lesson(void)
{
    static const uint8_t batch[] = "<a RecordBatch v2 would be here>";
    struct kp_produce_req_partition_produce_data part = {0, {batch, sizeof(batch) - 1}};
    struct kp_produce_req_topic_produce_data topic = {{(const uint8_t *)"greetings", 9},
                                                      {1, &part}};
    struct kp_produce_req req = {{NULL, -1}, -1, 30000, {1, &topic}};
    for (int16_t v = 7; v <= 9; v += 2) {
        struct kp_request_header h = {KP_API_PRODUCE, v, 1, {(const uint8_t *)"demo", 4}};
        struct kc_writer w;
        kc_writer_init(&w, 0);
        int rc = kp_request_encode(&w, &h, &req);
        if (rc) {
            fprintf(stderr, "encode v%d: %s\n", v, kc_strerror(rc));
            return 1;
        }
        char title[96];
        snprintf(title, sizeof(title), "Produce v%d%s", v,
                 v >= 9 ? ": flexible (header v2, compact lengths, tag blocks)"
                        : ": classic (header v1, i16/i32 lengths)");
        hex(title, kc_writer_data(&w), kc_writer_len(&w));
        struct kp_request back;
        rc = kp_request_decode(kc_writer_data(&w) + 4, kc_writer_len(&w) - 4, 0, &back);
        if (rc) {
            fprintf(stderr, "decode v%d: %s\n", v, kc_strerror(rc));
            return 1;
        }
        printf("decoded back, %zu body bytes read:\n", back.body_used);
        print_struct(back.api->req, v, v >= back.api->flex_min, back.msg, 1);
        kp_request_fini(&back);
        kc_writer_fini(&w);
        printf("\n");
    }
    return 0;
}

static uint8_t *load(const char *path, size_t *len)
{
    char *data;
    int rc = kc_read_file(path, 64u << 20, &data, len);
    if (rc || *len < 8) {
        fprintf(stderr, "%s: %s\n", path, rc ? kc_strerror(rc) : "too short for a frame");
        exit(1);
    }
    return (uint8_t *)data;
}

static int same_bytes(struct kc_writer *w, const uint8_t *frame, size_t len)
{
    int same = kc_writer_len(w) == len && memcmp(kc_writer_data(w), frame, len) == 0;
    printf("re-encoded: %zu bytes, %s\n", kc_writer_len(w),
           same ? "identical to the captured frame" : "DIFFERENT from the captured frame");
    return same ? 0 : 1;
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return lesson();
    size_t len, rlen;
    uint8_t *frame = load(argv[1], &len);
    struct kp_request req;
    int rc = kp_request_decode(frame + 4, len - 4, 0, &req);
    if (rc) {
        fprintf(stderr, "%s: %s\n", argv[1], kc_strerror(rc));
        return 1;
    }
    int16_t key = req.hdr.request_api_key, v = req.hdr.request_api_version;
    printf("%s v%d request (header v%d), correlation id %d, client \"%.*s\", %zu bytes\n",
           req.api->name, v, kp_request_header_version(req.api, v), req.hdr.correlation_id,
           req.hdr.client_id.len > 0 ? req.hdr.client_id.len : 0,
           req.hdr.client_id.len > 0 ? (const char *)req.hdr.client_id.p : "", len);
    int bad = 0;
    if (req.fallback) {
        printf("  (above the codec's ApiVersions maximum: Kafka answers it in v0)\n");
    } else {
        print_struct(req.api->req, v, kp_api_flexible(req.api, v), req.msg, 1);
        struct kc_writer w;
        kc_writer_init(&w, 0);
        bad |= kp_request_encode(&w, &req.hdr, req.msg) || same_bytes(&w, frame, len);
        kc_writer_fini(&w);
    }
    if (argc > 2) {
        uint8_t *rframe = load(argv[2], &rlen);
        struct kp_response resp;
        rc = kp_response_decode(rframe + 4, rlen - 4, key, v, 0, &resp);
        if (rc) {
            fprintf(stderr, "%s: %s\n", argv[2], kc_strerror(rc));
            return 1;
        }
        printf("\n%s v%d response (header v%d), %zu bytes\n", req.api->name, resp.version,
               kp_response_header_version(req.api, resp.version), rlen);
        print_struct(req.api->resp, resp.version, kp_api_flexible(req.api, resp.version),
                     resp.msg, 1);
        struct kc_writer w;
        kc_writer_init(&w, 0);
        bad |= kp_response_encode(&w, key, resp.version, resp.correlation_id, resp.msg, NULL,
                                  NULL) ||
               same_bytes(&w, rframe, rlen);
        kc_writer_fini(&w);
        kp_response_fini(&resp);
        free(rframe);
    }
    kp_request_fini(&req);
    free(frame);
    return bad;
}
