/*
 * kp_bench_old.c - the hand-written codec (broker/kafka, libbrk_kafka) on the same work
 * as ../kp_bench.c, for the versions it implements: Produce v7 decode, Fetch v11 encode.
 * A binary of its own: both libraries export kp_ symbols. The Produce v7 frame is built
 * here byte by byte with the same batch; run.sh checks both binaries report the same
 * frame size.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kp.h"
#include "kpb.h"

static int produce_decode(void *arg)
{
    struct kc_writer *frame = arg;
    struct kp_request req;
    int rc = kp_request_decode(kc_writer_data(frame) + 4, kc_writer_len(frame) - 4, &req);
    if (rc == 0)
        kp_request_fini(&req);
    return rc;
}

static void produce_frame(struct kc_writer *w, const uint8_t *batch)
{
    kc_writer_init(w, 0);
    kc_write_i32(w, 0); /* size, patched below */
    kc_write_i16(w, KP_API_PRODUCE);
    kc_write_i16(w, 7);
    kc_write_i32(w, 7);
    kc_write_str(w, "rdkafka", 7);
    kc_write_i16(w, -1); /* transactional_id: null */
    kc_write_i16(w, -1); /* acks */
    kc_write_i32(w, 30000);
    kc_write_i32(w, 1);
    kc_write_cstr(w, KPB_TOPIC);
    kc_write_i32(w, 1);
    kc_write_i32(w, 0);
    kc_write_bytes(w, batch, KPB_BATCH_BYTES);
    kc_writer_patch_i32(w, 0, (int32_t)kc_writer_len(w) - 4);
}

struct fetch_case {
    struct kp_header h;
    struct kp_fetch_req req;
    struct kp_fetch_topic topic;
    struct kp_fetch_part *parts;
    struct kp_fetch_gap *gaps;
    struct kc_writer out;
};

static void fetch_setup(struct fetch_case *c, int32_t n)
{
    memset(c, 0, sizeof(*c));
    c->h = (struct kp_header){KP_API_FETCH, 11, 9, {(const uint8_t *)"rdkafka", 7}, false};
    c->parts = calloc((size_t)n, sizeof(*c->parts));
    c->gaps = calloc((size_t)n, sizeof(*c->gaps));
    for (int32_t i = 0; i < n; i++) {
        c->parts[i].index = i;
        c->parts[i].high_watermark = 1000000 + i;
        c->parts[i].last_stable_offset = 1000000 + i;
        c->parts[i].log_start_offset = 0;
        c->parts[i].records_len = KPB_BATCH_BYTES; /* NULL records: a gap */
    }
    c->topic = (struct kp_fetch_topic){{(const uint8_t *)KPB_TOPIC, (int32_t)strlen(KPB_TOPIC)},
                                       n, c->parts};
    c->req.isolation_level = 1; /* empty aborted_transactions, as the new bench */
    c->req.ntopics = 1;
    c->req.topics = &c->topic;
    c->req.nparts_total = n;
    kc_writer_init(&c->out, 0);
}

static int fetch_encode(void *arg)
{
    struct fetch_case *c = arg;
    size_t ngaps, frame_len;
    kc_writer_reset(&c->out);
    return kp_encode_fetch(&c->out, &c->h, &c->req, c->gaps, (size_t)c->req.nparts_total, &ngaps,
                           &frame_len);
}

int main(void)
{
    uint8_t batch[KPB_BATCH_BYTES];
    kpb_fill(batch, sizeof(batch));
    printf("# libbrk_kafka (hand-written): ns per operation, median of %d runs\n", KPB_RUNS);
    struct kc_writer p7;
    produce_frame(&p7, batch);
    printf("# Produce frames: v7 %zu bytes\n", kc_writer_len(&p7));
    kpb_measure("produce_decode_v7", produce_decode, &p7);
    static const int32_t sizes[] = {1, 100, 1000};
    for (int i = 0; i < 3; i++) {
        struct fetch_case c;
        fetch_setup(&c, sizes[i]);
        char name[64];
        snprintf(name, sizeof(name), "fetch_encode_v11_%d", sizes[i]);
        kpb_measure(name, fetch_encode, &c);
        kc_writer_fini(&c.out);
        free(c.parts);
        free(c.gaps);
    }
    kc_writer_fini(&p7);
    return 0;
}
