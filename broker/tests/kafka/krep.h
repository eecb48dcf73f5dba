/*
 * krep.h - what the replication end-to-end tests (test_0304..) share on top of kcl.h:
 * librdkafka loaded at run time (as test_0105 does: the tests link no extra library), a
 * producer whose every delivery report is recorded, a partition's leader from Metadata,
 * a broker's log read straight from its segment files, and a consumer's Fetch.
 */
#ifndef KREP_H
#define KREP_H

#include <dirent.h>
#include <dlfcn.h>
#include <signal.h>
#include <librdkafka/rdkafka.h>

#include "kcl.h"
#include "kpm_offset_for_leader_epoch.h"

#define RDK_FUNCS(X)                                                                          \
    X(rd_kafka_conf_new) X(rd_kafka_conf_set) X(rd_kafka_conf_set_dr_msg_cb)                   \
    X(rd_kafka_conf_set_opaque) X(rd_kafka_new) X(rd_kafka_destroy) X(rd_kafka_topic_new)      \
    X(rd_kafka_topic_destroy) X(rd_kafka_produce) X(rd_kafka_poll) X(rd_kafka_flush)           \
    X(rd_kafka_err2str) X(rd_kafka_last_error) X(rd_kafka_wait_destroyed)                     \
    X(rd_kafka_fatal_error)

struct krep_rdk {
    void *lib;
#define RDK_FIELD(name) __typeof__(name) *name;
    RDK_FUNCS(RDK_FIELD)
#undef RDK_FIELD
};

static struct krep_rdk rdk;

/* librdkafka starts its threads with C11 thrd_create, which this toolchain's ThreadSanitizer
 * does not intercept: the TEST process then crashes inside librdkafka (test_0105 says the
 * same). Under TSan the tests that drive librdkafka skip; those on raw frames run, with
 * every broker instrumented. */
#if defined(__SANITIZE_THREAD__)
#define KREP_REQUIRE_RDKAFKA()                                                              \
    do {                                                                                    \
        printf("# skipped under ThreadSanitizer: librdkafka's threads are invisible to it "  \
               "(the raw-frame tests run)\n");                                             \
        skip();                                                                             \
    } while (0)
#else
#define KREP_REQUIRE_RDKAFKA() krep_rdk_load()
#endif

KT_FN void krep_rdk_load(void)
{
    if (rdk.lib)
        return;
    rdk.lib = dlopen("librdkafka.so.1", RTLD_NOW | RTLD_LOCAL);
    if (!rdk.lib)
        fail_msg("librdkafka is not installed (%s): scripts/deps.sh test", dlerror());
#define RDK_LOAD(name)                                                                        \
    *(void **)&rdk.name = dlsym(rdk.lib, #name);                                              \
    if (!rdk.name)                                                                            \
        fail_msg("librdkafka has no %s", #name);
    RDK_FUNCS(RDK_LOAD)
#undef RDK_LOAD
}

/* What came back for each message i: its offset, or its error. */
#define KREP_MAX 20000
struct krep_acks {
    int delivered, failed;
    rd_kafka_resp_err_t first_err;
    int64_t offset[KREP_MAX]; /* -1: not acknowledged */
};

static void krep_on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    struct krep_acks *d = opaque;
    int i = (int)(intptr_t)m->_private;
    (void)rk;
    if (m->err) {
        if (!d->failed++)
            d->first_err = m->err;
        return;
    }
    d->delivered++;
    d->offset[i] = m->offset;
}

KT_FN void krep_conf(rd_kafka_conf_t *c, const char *key, const char *value)
{
    char err[512];
    if (rdk.rd_kafka_conf_set(c, key, value, err, sizeof(err)) != RD_KAFKA_CONF_OK)
        fail_msg("%s=%s: %s", key, value, err);
}

typedef void (*krep_dr_fn)(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque);

/* A producer to every running broker of c (acks as given; idempotent for "all"); dr: the
 * delivery callback (NULL: krep_on_delivery, which fills *d). */
KT_FN rd_kafka_t *krep_producer(const struct kcl *c, struct krep_acks *d, const char *acks,
                                krep_dr_fn dr)
{
    char err[512], boot[256] = "";
    for (int id = 1; id <= KCL_MAX; id++)
        if (c->b[id] && c->b[id]->pid)
            snprintf(boot + strlen(boot), sizeof(boot) - strlen(boot), "%s%s",
                     boot[0] ? "," : "", kt_addr(c->b[id]));
    d->delivered = d->failed = 0;
    for (int i = 0; i < KREP_MAX; i++)
        d->offset[i] = -1;
    rd_kafka_conf_t *rc = rdk.rd_kafka_conf_new();
    krep_conf(rc, "bootstrap.servers", boot);
    krep_conf(rc, "acks", acks);
    krep_conf(rc, "linger.ms", "2");
    krep_conf(rc, "message.timeout.ms", "60000");
    krep_conf(rc, "enable.idempotence", strcmp(acks, "all") == 0 ? "true" : "false");
    krep_conf(rc, "topic.metadata.refresh.interval.ms", "1000");
    rdk.rd_kafka_conf_set_dr_msg_cb(rc, dr ? dr : krep_on_delivery);
    rdk.rd_kafka_conf_set_opaque(rc, d);
    rd_kafka_t *rk = rdk.rd_kafka_new(RD_KAFKA_PRODUCER, rc, err, sizeof(err));
    if (!rk)
        fail_msg("rd_kafka_new: %s", err);
    return rk;
}

/* Message i: value "v<i>", to partition 0. */
KT_FN void krep_produce(rd_kafka_t *rk, rd_kafka_topic_t *rkt, int i)
{
    char value[32];
    int vl = snprintf(value, sizeof(value), "v%d", i);
    while (rdk.rd_kafka_produce(rkt, 0, RD_KAFKA_MSG_F_COPY, value, (size_t)vl, NULL, 0,
                                (void *)(intptr_t)i) == -1) {
        rd_kafka_resp_err_t e = rdk.rd_kafka_last_error();
        if (e != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
            char why[512] = "";
            (void)rdk.rd_kafka_fatal_error(rk, why, sizeof(why));
            fail_msg("produce of message %d: %s (%s)", i, rdk.rd_kafka_err2str(e), why);
        }
        rdk.rd_kafka_poll(rk, 10);
    }
    rdk.rd_kafka_poll(rk, 0);
}

KT_FN void krep_destroy(rd_kafka_t *rk)
{
    rdk.rd_kafka_destroy(rk);
    assert_int_equal(rdk.rd_kafka_wait_destroyed(10000), 0);
}

/* Partition p of topic as broker b sees it: leader, epoch, ISR size (-1s: unknown). */
KT_FN void krep_leader(const struct kb_broker *b, const char *topic, int32_t p, int32_t *leader,
                       int32_t *epoch, int *isr)
{
    uint8_t buf[1 << 14];
    struct kp_response resp;
    struct kp_metadata_resp *m = kcl_metadata(b, topic, false, buf, sizeof(buf), &resp);
    const struct kp_metadata_resp_partition *pp = kcl_part(m, p);
    *leader = pp ? pp->leader_id : -1;
    *epoch = pp ? pp->leader_epoch : -1;
    if (isr)
        *isr = pp ? pp->isr_nodes.n : -1;
    kp_response_fini(&resp);
}

/*
 * Broker b's copy of topic-p, read from its segment files (whatever the broker says): a
 * callback per record value, in file order (segments by name: base offsets, zero-padded).
 * Returns the number of records.
 */
typedef void (*krep_value_fn)(void *arg, int64_t offset, const uint8_t *v, int32_t len);

static int krep_name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

KT_FN int krep_log_records(const struct kb_broker *b, const char *topic, int32_t p,
                           krep_value_fn fn, void *arg)
{
    char dir[700], path[1000];
    snprintf(dir, sizeof(dir), "%s/%s-%d", b->data, topic, (int)p);
    DIR *d = opendir(dir);
    char *names[256];
    int n = 0, records = 0;
    assert_non_null(d);
    for (struct dirent *e; (e = readdir(d)) && n < 256;) {
        size_t l = strlen(e->d_name);
        if (l > 4 && strcmp(e->d_name + l - 4, ".log") == 0)
            names[n++] = strdup(e->d_name);
    }
    closedir(d);
    qsort(names, (size_t)n, sizeof(names[0]), krep_name_cmp);
    for (int i = 0; i < n; i++) {
        size_t len;
        snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
        uint8_t *buf = (uint8_t *)kt_slurp(path, &len);
        struct kc_batch_header h;
        for (size_t at = 0; buf && at + KC_BATCH_HEADER_SIZE <= len;) {
            if (kc_batch_header_decode_stored(buf + at, len - at, &h) != 0 ||
                at + 12 + (size_t)h.batch_length > len)
                break; /* a preallocated or torn tail */
            struct kc_batch_reader br;
            struct kc_record rec;
            size_t size = 12 + (size_t)h.batch_length;
            assert_int_equal(kc_batch_reader_open(&br, buf + at, size, 1 << 24), 0);
            while (kc_batch_reader_next(&br, &rec) == 1) {
                records++;
                if (fn)
                    fn(arg, rec.offset, rec.value, rec.value_len);
            }
            kc_batch_reader_close(&br);
            at += size;
        }
        free(buf);
        free(names[i]);
    }
    return records;
}

/* A consumer's Fetch v11 of topic-p at offset from b: error, HW, and the records' bytes
 * length (0: none). */
KT_FN void krep_fetch(const struct kb_broker *b, const char *topic, int32_t p, int64_t offset,
                      int16_t *err, int64_t *hw, int32_t *bytes)
{
    static uint8_t frame[1 << 20];
    struct kc_writer w;
    struct kt_fetch_part fp;
    kc_writer_init(&w, 0);
    kt_fetch_req(&w, 7, 0, 1, 1 << 20, topic, p, offset, 1 << 20);
    int fd = kb_connect(b);
    ssize_t n = kt_roundtrip(fd, &w, frame, sizeof(frame));
    close(fd);
    kc_writer_fini(&w);
    assert_true(n > 0);
    kt_fetch_resp(frame, n, &fp);
    *err = fp.error;
    *hw = fp.high_watermark;
    *bytes = fp.records.len;
}

/* Read topic-p from b as a consumer, from offset 0 up to the high watermark: fn for each
 * record (a batch's records before the offset asked are skipped, as clients do). The
 * records read. */
KT_FN int krep_consume(const struct kb_broker *b, const char *topic, int32_t p,
                       krep_value_fn fn, void *arg)
{
    static uint8_t frame[1 << 21];
    int64_t offset = 0, hw = 1;
    int n = 0;
    while (offset < hw) {
        struct kc_writer w;
        struct kt_fetch_part fp;
        kc_writer_init(&w, 0);
        kt_fetch_req(&w, 9, 100, 1, 1 << 20, topic, p, offset, 1 << 20);
        int fd = kb_connect(b);
        ssize_t len = kt_roundtrip(fd, &w, frame, sizeof(frame));
        close(fd);
        kc_writer_fini(&w);
        assert_true(len > 0);
        kt_fetch_resp(frame, len, &fp);
        assert_int_equal(fp.error, 0);
        hw = fp.high_watermark;
        const uint8_t *q = fp.records.p;
        size_t left = fp.records.len > 0 ? (size_t)fp.records.len : 0;
        struct kc_batch_header h;
        while (left >= KC_BATCH_HEADER_SIZE && kc_batch_header_decode_stored(q, left, &h) == 0 &&
               12 + (size_t)h.batch_length <= left) {
            size_t size = 12 + (size_t)h.batch_length;
            struct kc_batch_reader br;
            struct kc_record rec;
            assert_int_equal(kc_batch_reader_open(&br, q, size, 1 << 24), 0);
            while (kc_batch_reader_next(&br, &rec) == 1) {
                if (rec.offset < offset)
                    continue;
                assert_true(rec.offset < hw); /* never past the high watermark */
                fn(arg, rec.offset, rec.value, rec.value_len);
                n++;
                offset = rec.offset + 1;
            }
            kc_batch_reader_close(&br);
            offset = KC_MAX(offset, h.base_offset + h.last_offset_delta + 1);
            q += size;
            left -= size;
        }
    }
    return n;
}

/* One Produce v9 of n records "<prefix>0".."<prefix><n-1>" to topic-p at b with acks
 * (timeout 5 s): the partition's error code, *base its base offset. */
KT_FN int16_t krep_produce_as(const struct kb_broker *b, const char *topic, int32_t p,
                              int16_t acks, const char *prefix, int n, int64_t *base)
{
    uint8_t buf[1 << 12];
    size_t len;
    uint8_t *batch = kb_batch(prefix, n, &len);
    struct kp_arena a;
    struct kp_response resp;
    kp_arena_init(&a, 0);
    struct kp_produce_req *r = KT_NEW(&a, kp_produce_req, 1);
    struct kp_produce_req_topic_produce_data *t = KT_NEW(&a, kp_produce_req_topic_produce_data, 1);
    struct kp_produce_req_partition_produce_data *pd =
        KT_NEW(&a, kp_produce_req_partition_produce_data, 1);
    pd->index = p;
    pd->records = (struct kc_slice){batch, (int32_t)len};
    t->name = kp_slice_str(topic);
    KP_SET(t->partition_data, 1, pd);
    KP_SET(r->topic_data, 1, t);
    r->acks = acks;
    r->timeout_ms = 5000;
    int fd = kb_connect(b);
    struct kp_produce_resp *m = kt_call(fd, KP_API_PRODUCE, 9, r, buf, sizeof(buf), &resp);
    close(fd);
    int16_t err = m->responses.v[0].partition_responses.v[0].error_code;
    if (base)
        *base = m->responses.v[0].partition_responses.v[0].base_offset;
    kp_response_fini(&resp);
    kp_arena_fini(&a);
    free(batch);
    return err;
}

/* ... of values "raw<i>". */
KT_FN int16_t krep_produce_raw(const struct kb_broker *b, const char *topic, int32_t p,
                               int16_t acks, int n, int64_t *base)
{
    return krep_produce_as(b, topic, p, acks, "raw", n, base);
}

/* OffsetForLeaderEpoch v4 of topic-p from b, asked as a consumer (replica_id -1, KIP-320)
 * with its current leader epoch: the error, and the (epoch, end offset) answer. */
KT_FN int16_t krep_epoch_end(const struct kb_broker *b, const char *topic, int32_t p,
                             int32_t current, int32_t epoch, int32_t *end_epoch, int64_t *end)
{
    static uint8_t buf[1 << 14];
    struct kp_arena a;
    struct kp_response resp;
    kp_arena_init(&a, 0);
    struct kp_offset_for_leader_epoch_req *r = KT_NEW(&a, kp_offset_for_leader_epoch_req, 1);
    struct kp_offset_for_leader_epoch_req_offset_for_leader_topic *t =
        KT_NEW(&a, kp_offset_for_leader_epoch_req_offset_for_leader_topic, 1);
    struct kp_offset_for_leader_epoch_req_offset_for_leader_partition *pp =
        KT_NEW(&a, kp_offset_for_leader_epoch_req_offset_for_leader_partition, 1);
    pp->partition = p;
    pp->current_leader_epoch = current;
    pp->leader_epoch = epoch;
    t->topic = kp_slice_str(topic);
    KP_SET(t->partitions, 1, pp);
    r->replica_id = -1; /* a consumer's question (KIP-320) */
    KP_SET(r->topics, 1, t);
    int fd = kb_connect(b);
    const struct kp_offset_for_leader_epoch_resp *er =
        kt_call(fd, KP_API_OFFSET_FOR_LEADER_EPOCH, 4, r, buf, sizeof(buf), &resp);
    close(fd);
    assert_int_equal(er->topics.n, 1);
    assert_int_equal(er->topics.v[0].partitions.n, 1);
    int16_t err = er->topics.v[0].partitions.v[0].error_code;
    *end_epoch = er->topics.v[0].partitions.v[0].leader_epoch;
    *end = er->topics.v[0].partitions.v[0].end_offset;
    kp_response_fini(&resp);
    kp_arena_fini(&a);
    return err;
}

#endif
