/*
 * kp_bench.c - libbrk_kp on the broker's two hot paths, at a classic and a flexible
 * version carrying the same data:
 *
 *   produce_decode_v7 / _v9     decode one Produce request (1 topic, 1 partition, a
 *                               1 KiB batch) and free it: what every produce costs
 *   fetch_encode_v11_N / _v12_N encode a Fetch response of N partitions (1, 100, 1000)
 *                               whose records are sendfile gaps: what every fetch costs
 *
 * bench/run.sh adds instruction counts (callgrind). Medians of 9 runs of >= 60 ms. The
 * hand-written codec this one replaced ran the v7/v11 cases too; its figures are kept in
 * README.md section 6.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kp_api.h"
#include "kpb.h"

/* ---- Produce ---------------------------------------------------------------------------- */

struct produce_case {
    struct kc_writer frame;
};

static void produce_frame(struct produce_case *c, int16_t version, const uint8_t *batch)
{
    struct kp_produce_req_partition_produce_data part = {0, {batch, KPB_BATCH_BYTES}};
    struct kp_produce_req_topic_produce_data topic = {{(const uint8_t *)KPB_TOPIC,
                                                       (int32_t)strlen(KPB_TOPIC)},
                                                      {1, &part}};
    struct kp_produce_req req = {{NULL, -1}, -1, 30000, {1, &topic}};
    struct kp_request_header h = {KP_API_PRODUCE, version, 7, {(const uint8_t *)"rdkafka", 7}};
    kc_writer_init(&c->frame, 0);
    if (kp_request_encode(&c->frame, &h, &req)) {
        fprintf(stderr, "kp_bench: cannot build Produce v%d\n", version);
        exit(1);
    }
}

static int produce_decode(void *arg)
{
    struct produce_case *c = arg;
    struct kp_request req;
    int rc = kp_request_decode(kc_writer_data(&c->frame) + 4, kc_writer_len(&c->frame) - 4, 0,
                               &req);
    if (rc == 0)
        kp_request_fini(&req);
    return rc;
}

/* ---- Fetch ------------------------------------------------------------------------------ */

struct fetch_case {
    int16_t version;
    struct kp_fetch_resp resp;
    struct kc_writer out;
    struct kp_gap *gapv;
    int32_t n;
};

static void fetch_setup(struct fetch_case *c, int16_t version, int32_t n, struct kp_arena *a)
{
    c->version = version;
    c->n = n;
    kp_init(&kp_fetch_resp_schema, &c->resp);
    struct kp_fetch_resp_fetchable_topic_response *t =
        kp_new(a, &kp_fetch_resp_fetchable_topic_response_schema, 1);
    struct kp_fetch_resp_partition_data *p = kp_new(a, &kp_fetch_resp_partition_data_schema, n);
    for (int32_t i = 0; i < n; i++) {
        p[i].partition_index = i;
        p[i].high_watermark = 1000000 + i;
        p[i].last_stable_offset = 1000000 + i;
        p[i].log_start_offset = 0;
        KP_SET(p[i].aborted_transactions, 0, NULL); /* read_committed: empty, not null */
        p[i].records = (struct kc_slice){NULL, KPB_BATCH_BYTES}; /* a sendfile gap */
    }
    t->topic = (struct kc_slice){(const uint8_t *)KPB_TOPIC, (int32_t)strlen(KPB_TOPIC)};
    KP_SET(t->partitions, n, p);
    KP_SET(c->resp.responses, 1, t);
    c->gapv = malloc(sizeof(*c->gapv) * (size_t)n);
    kc_writer_init(&c->out, 0);
}

static int fetch_encode(void *arg)
{
    struct fetch_case *c = arg;
    struct kp_gaps gaps = {c->gapv, 0, (size_t)c->n, 0};
    kc_writer_reset(&c->out);
    size_t frame_len;
    return kp_response_encode(&c->out, KP_API_FETCH, c->version, 9, &c->resp, &gaps, &frame_len);
}

int main(void)
{
    uint8_t batch[KPB_BATCH_BYTES];
    kpb_fill(batch, sizeof(batch));
    printf("# libbrk_kp (schema-driven): ns per operation, median of %d runs\n", KPB_RUNS);
    struct produce_case p7, p9;
    produce_frame(&p7, 7, batch);
    produce_frame(&p9, 9, batch);
    printf("# Produce frames: v7 %zu bytes, v9 %zu bytes\n", kc_writer_len(&p7.frame),
           kc_writer_len(&p9.frame));
    kpb_measure("produce_decode_v7", produce_decode, &p7);
    kpb_measure("produce_decode_v9", produce_decode, &p9);
    static const int32_t sizes[] = {1, 100, 1000};
    for (int i = 0; i < 3; i++) {
        for (int16_t v = 11; v <= 12; v++) {
            struct kp_arena a = {0};
            struct fetch_case c;
            fetch_setup(&c, v, sizes[i], &a);
            char name[64];
            snprintf(name, sizeof(name), "fetch_encode_v%d_%d", v, sizes[i]);
            kpb_measure(name, fetch_encode, &c);
            kc_writer_fini(&c.out);
            free(c.gapv);
            kp_arena_fini(&a);
        }
    }
    kc_writer_fini(&p7.frame);
    kc_writer_fini(&p9.frame);
    return 0;
}
