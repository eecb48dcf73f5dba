/*
 * test_0107_kafka_flexible.c - the flexible versions (KIP-482: compact lengths, tag blocks,
 * request header v2, response header v1) and topic ids, on raw sockets:
 *
 *   Produce v9       a frame written byte by byte (no codec involved) and its answer read
 *                    byte by byte; v10 and v11 through the codec: the offsets run on
 *   Fetch v12        the same, by hand: the records arrive by sendfile inside a compact
 *                    bytes field whose varint length counts them
 *   Fetch v12-17     every flexible version: by name up to v12, by topic id from v13;
 *                    an unknown id is UNKNOWN_TOPIC_ID (100)
 *   Metadata v12     topic ids: one per topic, equal to its partition.metadata file, the
 *                    same after a restart; asked for by id (known, unknown: 100); v10 may
 *                    not ask by id (42)
 *   ListOffsets      v0's list of offsets; v6+ flexible with max-timestamp (-3, v7+),
 *                    earliest-local (-4, v8+) and latest-tiered (-5, v9+)
 *   groups           FindCoordinator v4 (a list of keys), JoinGroup v9, SyncGroup v5 (the
 *                    protocol checks), Heartbeat v4, OffsetCommit v9, OffsetFetch v8 (a
 *                    list of groups), LeaveGroup v5 (a list of members)
 *   duplicates       a partition named twice in Produce, Fetch, ListOffsets, OffsetCommit:
 *                    INVALID_REQUEST (42) for each occurrence, and nothing done twice
 *   ApiVersions v4   the table; v3 with a client name Kafka would refuse: 42
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "kafka/kt.h"
#include "part.h"

static uint8_t buf[1 << 20];

static int setup(void **state)
{
    kb_setup(state);
    const char *args[] = {"--override", "num.partitions=1", "--override",
                          "group.initial.rebalance.delay.ms=0", NULL};
    kb_start(*state, args);
    return 0;
}

static void create(const struct kb_broker *b, const char *topic, const char *n)
{
    char *out, *err;
    const char *args[] = {"0", topic, n, NULL};
    assert_int_equal(kb_cli(b, NULL, &out, &err, args), 0);
    free(out);
    free(err);
}

/* Produce batch to topic-0 with acks=1 at version v (through the codec): its base offset. */
static int64_t produce(int fd, int16_t v, const char *topic, const uint8_t *batch, size_t len)
{
    struct kp_arena a;
    struct kp_response resp;
    kp_arena_init(&a, 0);
    struct kp_produce_req *pr = KT_NEW(&a, kp_produce_req, 1);
    struct kp_produce_req_topic_produce_data *t = KT_NEW(&a, kp_produce_req_topic_produce_data, 1);
    struct kp_produce_req_partition_produce_data *p =
        KT_NEW(&a, kp_produce_req_partition_produce_data, 1);
    p->records = (struct kc_slice){batch, (int32_t)len};
    t->name = kp_slice_str(topic);
    KP_SET(t->partition_data, 1, p);
    pr->acks = 1;
    pr->timeout_ms = 5000;
    KP_SET(pr->topic_data, 1, t);
    const struct kp_produce_resp *r = kt_call(fd, KP_API_PRODUCE, v, pr, buf, sizeof(buf), &resp);
    assert_int_equal(r->responses.n, 1);
    assert_int_equal(r->responses.v[0].partition_responses.n, 1);
    assert_int_equal(r->responses.v[0].partition_responses.v[0].error_code, 0);
    int64_t base = r->responses.v[0].partition_responses.v[0].base_offset;
    kp_response_fini(&resp);
    kp_arena_fini(&a);
    return base;
}

/* ---- Produce v9 and Fetch v12, byte by byte ------------------------------------------------ */

static void test_0107_produce_and_fetch_by_hand_then_v10_v11(void **state)
{
    struct kb_broker *b = *state;
    struct kc_writer w;
    struct kc_reader r;
    size_t len;
    uint32_t u;
    int fd = kb_connect(b);
    create(b, "flex", "1");
    uint8_t *batch = kb_batch("flex-", 5, &len);
    assert_true(len + 1 < 128); /* its compact length fits one varint byte below */

    /* Produce v9: header v2 (client_id keeps its i16 length, then a tag block), then the
     * body with compact strings and arrays (length + 1) and a tag block per struct. */
    kc_writer_init(&w, 0);
    size_t at = kt_req_begin(&w, KP_API_PRODUCE, 9, 91);
    kc_write_uvarint(&w, 0);        /* transactional_id: null */
    kc_write_i16(&w, -1);           /* acks: all */
    kc_write_i32(&w, 5000);         /* timeout_ms */
    kc_write_uvarint(&w, 2);        /* topic_data: 1 */
    kc_write_compact_str(&w, "flex", 4);
    kc_write_uvarint(&w, 2);        /* partition_data: 1 */
    kc_write_i32(&w, 0);            /* index */
    kc_write_uvarint(&w, (uint32_t)len + 1);
    kc_write_raw(&w, batch, len);   /* records */
    kc_write_uvarint(&w, 0);        /* the partition's tag block */
    kc_write_uvarint(&w, 0);        /* the topic's */
    kc_write_uvarint(&w, 0);        /* the request's */
    kt_req_end(&w, at);
    ssize_t n = kt_roundtrip(fd, &w, buf, sizeof(buf));
    assert_true(n > 8);
    assert_int_equal(kc_load_be32(buf + 4), 91);
    kc_reader_init(&r, buf + 8, (size_t)n - 8);
    assert_int_equal(kt_i8(&r), 0); /* response header v1: its tag block */
    assert_int_equal(kc_read_uvarint(&r, &u), 0);
    assert_int_equal(u, 2);         /* responses: 1 */
    struct kc_slice name;
    assert_int_equal(kc_read_compact_str(&r, &name), 0);
    assert_true(kp_slice_eq(name, "flex"));
    assert_int_equal(kc_read_uvarint(&r, &u), 0);
    assert_int_equal(u, 2);         /* partition_responses: 1 */
    assert_int_equal(kt_i32(&r), 0);
    assert_int_equal(kt_i16(&r), 0);  /* error */
    assert_int_equal(kt_i64(&r), 0);  /* base offset */
    assert_int_equal(kt_i64(&r), -1); /* log append time: CreateTime */
    assert_int_equal(kt_i64(&r), 0);  /* log start offset */
    assert_int_equal(kc_read_uvarint(&r, &u), 0);
    assert_int_equal(u, 1);           /* record_errors: empty */
    assert_int_equal(kc_read_uvarint(&r, &u), 0);
    assert_int_equal(u, 0);           /* error_message: null */
    assert_int_equal(kt_i8(&r), 0);   /* the partition's tag block */
    assert_int_equal(kt_i8(&r), 0);   /* the topic's */
    assert_int_equal(kt_i32(&r), 0);  /* throttle */
    assert_int_equal(kt_i8(&r), 0);   /* the body's tag block */
    assert_int_equal(r.pos, r.len);

    assert_int_equal(produce(fd, 10, "flex", batch, len), 5);
    assert_int_equal(produce(fd, 11, "flex", batch, len), 10);

    /* Fetch v12 by hand: the first batch, sent by sendfile inside the compact records. */
    kc_writer_reset(&w);
    at = kt_req_begin(&w, KP_API_FETCH, 12, 92);
    kc_write_i32(&w, -1);           /* replica_id */
    kc_write_i32(&w, 0);            /* max_wait_ms */
    kc_write_i32(&w, 1);            /* min_bytes */
    kc_write_i32(&w, 1 << 20);      /* max_bytes */
    kc_write_i8(&w, 0);             /* read_uncommitted */
    kc_write_i32(&w, 0);            /* session_id */
    kc_write_i32(&w, -1);           /* session_epoch */
    kc_write_uvarint(&w, 2);        /* topics: 1 */
    kc_write_compact_str(&w, "flex", 4);
    kc_write_uvarint(&w, 2);        /* partitions: 1 */
    kc_write_i32(&w, 0);            /* partition */
    kc_write_i32(&w, -1);           /* current_leader_epoch */
    kc_write_i64(&w, 0);            /* fetch_offset */
    kc_write_i32(&w, -1);           /* last_fetched_epoch */
    kc_write_i64(&w, -1);           /* log_start_offset */
    kc_write_i32(&w, (int32_t)len); /* partition_max_bytes: one batch */
    kc_write_uvarint(&w, 0);        /* the partition's tag block */
    kc_write_uvarint(&w, 0);        /* the topic's */
    kc_write_uvarint(&w, 1);        /* forgotten_topics_data: empty */
    kc_write_uvarint(&w, 1);        /* rack_id: "" */
    kc_write_uvarint(&w, 0);        /* the request's tag block */
    kt_req_end(&w, at);
    n = kt_roundtrip(fd, &w, buf, sizeof(buf));
    kc_reader_init(&r, buf + 8, (size_t)n - 8);
    assert_int_equal(kt_i8(&r), 0);   /* response header v1 */
    assert_int_equal(kt_i32(&r), 0);  /* throttle */
    assert_int_equal(kt_i16(&r), 0);  /* error */
    assert_int_equal(kt_i32(&r), 0);  /* session: none */
    assert_int_equal(kc_read_uvarint(&r, &u), 0);
    assert_int_equal(u, 2);
    assert_int_equal(kc_read_compact_str(&r, &name), 0);
    assert_true(kp_slice_eq(name, "flex"));
    assert_int_equal(kc_read_uvarint(&r, &u), 0);
    assert_int_equal(u, 2);
    assert_int_equal(kt_i32(&r), 0);  /* partition */
    assert_int_equal(kt_i16(&r), 0);  /* error */
    assert_int_equal(kt_i64(&r), 15); /* high watermark */
    assert_int_equal(kt_i64(&r), 15); /* last stable offset */
    assert_int_equal(kt_i64(&r), 0);  /* log start offset */
    assert_int_equal(kc_read_uvarint(&r, &u), 0);
    assert_int_equal(u, 0);           /* aborted_transactions: null (read_uncommitted) */
    assert_int_equal(kt_i32(&r), -1); /* preferred read replica */
    assert_int_equal(kc_read_uvarint(&r, &u), 0);
    assert_int_equal(u, len + 1);     /* records: the first batch, whole */
    const uint8_t *recs;
    assert_int_equal(kc_read_raw(&r, len, &recs), 0);
    assert_int_equal(kc_batch_validate(recs, len, NULL), (int)len);
    assert_int_equal(kc_batch_base_offset(recs), 0);
    /* byte for byte from the magic on (the broker wrote the base offset and its leader
     * epoch ahead of it, outside the CRC) */
    assert_memory_equal(recs + 16, batch + 16, len - 16);
    assert_int_equal(kt_i8(&r), 0);   /* the partition's tag block */
    assert_int_equal(kt_i8(&r), 0);   /* the topic's */
    assert_int_equal(kt_i8(&r), 0);   /* the body's */
    assert_int_equal(r.pos, r.len);
    kc_writer_fini(&w);
    free(batch);
    close(fd);
}

/* ---- topic ids ------------------------------------------------------------------------------ */

/* Metadata v12 for one topic by name (auto-creating) or by id (name NULL). */
static const struct kp_metadata_resp_topic *md_one(int fd, int16_t v, const char *name,
                                                   const struct kp_uuid *id,
                                                   struct kp_response *resp)
{
    struct kp_arena a;
    kp_arena_init(&a, 0);
    struct kp_metadata_req *mr = KT_NEW(&a, kp_metadata_req, 1);
    struct kp_metadata_req_topic *t = KT_NEW(&a, kp_metadata_req_topic, 1);
    t->name = kp_slice_str(name);
    if (id)
        t->topic_id = *id;
    KP_SET(mr->topics, 1, t);
    const struct kp_metadata_resp *r = kt_call(fd, KP_API_METADATA, v, mr, buf, sizeof(buf), resp);
    kp_arena_fini(&a);
    assert_int_equal(r->topics.n, 1);
    return &r->topics.v[0];
}

static void id_text(const struct kp_uuid *id, char out[PART_TOPIC_ID_STR])
{
    struct part_topic_id pid;
    memcpy(pid.b, id->b, sizeof(pid.b));
    part_topic_id_str(&pid, out);
}

static void test_0107_metadata_v12_topic_ids_by_name_by_id_and_after_restart(void **state)
{
    struct kb_broker *b = *state;
    struct kp_response resp;
    char text[PART_TOPIC_ID_STR], path[700], want[64], *file;
    int fd = kb_connect(b);
    const struct kp_metadata_resp_topic *mt = md_one(fd, 12, "ids", NULL, &resp);
    assert_int_equal(mt->error_code, 0); /* auto-created, with its id */
    struct kp_uuid id = mt->topic_id, zero = {{0}};
    assert_memory_not_equal(&id, &zero, sizeof(id));
    kp_response_fini(&resp);
    id_text(&id, text); /* Kafka's own file, in the partition's directory */
    snprintf(path, sizeof(path), "%s/ids-0/partition.metadata", b->data);
    snprintf(want, sizeof(want), "version: 0\ntopic_id: %s\n", text);
    file = kt_slurp(path, NULL);
    assert_string_equal(file, want);
    free(file);

    mt = md_one(fd, 12, NULL, &id, &resp); /* by id: the same topic, its name filled in */
    assert_int_equal(mt->error_code, 0);
    assert_true(kp_slice_eq(mt->name, "ids"));
    assert_int_equal(mt->partitions.n, 1);
    kp_response_fini(&resp);
    struct kp_uuid other = id;
    other.b[0] ^= 0x55;
    mt = md_one(fd, 12, NULL, &other, &resp);
    assert_int_equal(mt->error_code, KP_ERR_UNKNOWN_TOPIC_ID);
    assert_int_equal(mt->name.len, -1);
    assert_memory_equal(&mt->topic_id, &other, sizeof(other));
    kp_response_fini(&resp);
    mt = md_one(fd, 10, NULL, &id, &resp); /* v10 carries ids but may not ask by them */
    assert_int_equal(mt->error_code, KP_ERR_INVALID_REQUEST);
    kp_response_fini(&resp);
    close(fd);

    kb_stop(b);
    kb_start(b, NULL);
    fd = kb_connect(b);
    mt = md_one(fd, 12, "ids", NULL, &resp);
    assert_memory_equal(&mt->topic_id, &id, sizeof(id)); /* stable across restarts */
    kp_response_fini(&resp);
    close(fd);
}

/* ---- Fetch, every flexible version ------------------------------------------------------------ */

static const struct kp_fetch_resp_partition_data *fetch_one(int fd, int16_t v, const char *topic,
                                                            const struct kp_uuid *id,
                                                            int64_t offset,
                                                            struct kp_response *resp)
{
    struct kp_arena a;
    kp_arena_init(&a, 0);
    struct kp_fetch_req *fr = KT_NEW(&a, kp_fetch_req, 1);
    struct kp_fetch_req_topic *t = KT_NEW(&a, kp_fetch_req_topic, 1);
    struct kp_fetch_req_partition *p = KT_NEW(&a, kp_fetch_req_partition, 1);
    p->fetch_offset = offset;
    p->partition_max_bytes = 1 << 20;
    if (v < 13)
        t->topic = kp_slice_str(topic);
    else
        t->topic_id = *id;
    KP_SET(t->partitions, 1, p);
    fr->max_wait_ms = 0;
    fr->min_bytes = 1;
    fr->max_bytes = 1 << 20;
    fr->isolation_level = 1;
    KP_SET(fr->topics, 1, t);
    const struct kp_fetch_resp *r = kt_call(fd, KP_API_FETCH, v, fr, buf, sizeof(buf), resp);
    kp_arena_fini(&a);
    assert_int_equal(r->error_code, 0);
    assert_int_equal(r->session_id, 0);
    assert_int_equal(r->responses.n, 1);
    if (v >= 13)
        assert_memory_equal(&r->responses.v[0].topic_id, id, sizeof(*id));
    else
        assert_true(kp_slice_eq(r->responses.v[0].topic, topic));
    assert_int_equal(r->responses.v[0].partitions.n, 1);
    return &r->responses.v[0].partitions.v[0];
}

/* How many whole batches records holds, each valid; *first: the first's base offset. */
static int batches(struct kc_slice records, int64_t *first)
{
    int n = 0;
    size_t at = 0;
    while (at < (size_t)records.len) {
        int rc = kc_batch_validate(records.p + at, (size_t)records.len - at, NULL);
        assert_true(rc > 0);
        if (n++ == 0)
            *first = kc_batch_base_offset(records.p + at);
        at += (size_t)rc;
    }
    return n;
}

static void test_0107_fetch_v12_to_v17_by_name_then_by_topic_id(void **state)
{
    struct kb_broker *b = *state;
    struct kp_response resp;
    size_t len;
    int64_t first = -1;
    int fd = kb_connect(b);
    const struct kp_metadata_resp_topic *mt = md_one(fd, 12, "fid", NULL, &resp);
    struct kp_uuid id = mt->topic_id;
    kp_response_fini(&resp);
    uint8_t *batch = kb_batch("fid-", 4, &len);
    for (int i = 0; i < 3; i++)
        assert_int_equal(produce(fd, 9, "fid", batch, len), 4 * i);
    for (int16_t v = 12; v <= 17; v++) {
        const struct kp_fetch_resp_partition_data *p = fetch_one(fd, v, "fid", &id, 5, &resp);
        assert_int_equal(p->error_code, 0);
        assert_int_equal(p->high_watermark, 12);
        assert_int_equal(p->last_stable_offset, 12);
        assert_int_equal(p->log_start_offset, 0);
        assert_int_equal(p->aborted_transactions.n, 0); /* read_committed: empty, not null */
        assert_int_equal(batches(p->records, &first), 2); /* the batch holding 5, and on */
        assert_int_equal(first, 4);
        kp_response_fini(&resp);
    }
    struct kp_uuid unknown = id;
    unknown.b[7] ^= 1;
    const struct kp_fetch_resp_partition_data *p = fetch_one(fd, 13, NULL, &unknown, 0, &resp);
    assert_int_equal(p->error_code, KP_ERR_UNKNOWN_TOPIC_ID);
    assert_int_equal(p->records.len, 0);
    kp_response_fini(&resp);
    free(batch);
    close(fd);
}

/* ---- ListOffsets: v0's list, v6+ flexible and the special timestamps ----------------------- */

static const struct kp_list_offsets_resp_partition_response *
list_one(int fd, int16_t v, const char *topic, int64_t ts, int32_t max_num,
         struct kp_response *resp)
{
    struct kp_arena a;
    kp_arena_init(&a, 0);
    struct kp_list_offsets_req *lr = KT_NEW(&a, kp_list_offsets_req, 1);
    struct kp_list_offsets_req_topic *t = KT_NEW(&a, kp_list_offsets_req_topic, 1);
    struct kp_list_offsets_req_partition *p = KT_NEW(&a, kp_list_offsets_req_partition, 1);
    p->timestamp = ts;
    if (v == 0)
        p->max_num_offsets = max_num;
    t->name = kp_slice_str(topic);
    KP_SET(t->partitions, 1, p);
    lr->replica_id = -1;
    KP_SET(lr->topics, 1, t);
    const struct kp_list_offsets_resp *r =
        kt_call(fd, KP_API_LIST_OFFSETS, v, lr, buf, sizeof(buf), resp);
    kp_arena_fini(&a);
    assert_int_equal(r->topics.n, 1);
    assert_int_equal(r->topics.v[0].partitions.n, 1);
    return &r->topics.v[0].partitions.v[0];
}

static void test_0107_list_offsets_v0_list_and_flexible_special_timestamps(void **state)
{
    struct kb_broker *b = *state;
    struct kp_response resp;
    size_t len;
    int fd = kb_connect(b);
    create(b, "lo", "1");
    uint8_t *batch = kb_batch("lo-", 3, &len);
    (void)produce(fd, 9, "lo", batch, len);
    free(batch);
    kc_sleep_ms(5);
    batch = kb_batch("lo-", 3, &len); /* newer timestamps: the largest is in offsets 3-5 */
    (void)produce(fd, 9, "lo", batch, len);
    /* v0: a list of offsets */
    const struct kp_list_offsets_resp_partition_response *p =
        list_one(fd, 0, "lo", -2, 1, &resp);
    assert_int_equal(p->error_code, 0);
    assert_int_equal(p->old_style_offsets.n, 1);
    assert_int_equal(p->old_style_offsets.v[0], 0);
    kp_response_fini(&resp);
    p = list_one(fd, 0, "lo", -1, 5, &resp);
    assert_int_equal(p->old_style_offsets.n, 1);
    assert_int_equal(p->old_style_offsets.v[0], 6);
    kp_response_fini(&resp);
    p = list_one(fd, 0, "lo", -1, 0, &resp); /* asked for none */
    assert_int_equal(p->old_style_offsets.n, 0);
    kp_response_fini(&resp);
    /* v6+: flexible, one offset and its timestamp */
    p = list_one(fd, 6, "lo", -1, 0, &resp);
    assert_int_equal(p->offset, 6);
    assert_int_equal(p->timestamp, -1);
    kp_response_fini(&resp);
    p = list_one(fd, 6, "lo", -3, 0, &resp); /* max timestamp needs v7 */
    assert_int_equal(p->error_code, KP_ERR_INVALID_REQUEST);
    kp_response_fini(&resp);
    p = list_one(fd, 7, "lo", -3, 0, &resp); /* the newest record: the last batch's last */
    assert_int_equal(p->error_code, 0);
    assert_true(p->offset >= 3 && p->offset <= 5);
    assert_true(p->timestamp > 0);
    kp_response_fini(&resp);
    p = list_one(fd, 8, "lo", -4, 0, &resp); /* earliest local: everything is local */
    assert_int_equal(p->offset, 0);
    kp_response_fini(&resp);
    p = list_one(fd, 9, "lo", -5, 0, &resp); /* latest tiered: nothing is tiered */
    assert_int_equal(p->error_code, 0);
    assert_int_equal(p->offset, -1);
    kp_response_fini(&resp);
    free(batch);
    close(fd);
}

/* ---- a consumer group's life on flexible versions ------------------------------------------ */

static int16_t join(int fd, struct kc_slice member, char *id, int32_t *gen)
{
    struct kp_arena a;
    struct kp_response resp;
    kp_arena_init(&a, 0);
    struct kp_join_group_req *jr = KT_NEW(&a, kp_join_group_req, 1);
    struct kp_join_group_req_protocol *pr = KT_NEW(&a, kp_join_group_req_protocol, 1);
    pr->name = kp_slice_str("range");
    pr->metadata = kp_slice_str("subscription");
    jr->group_id = kp_slice_str("fg");
    jr->session_timeout_ms = 10000;
    jr->rebalance_timeout_ms = 10000;
    jr->member_id = member;
    jr->protocol_type = kp_slice_str("consumer");
    jr->reason = kp_slice_str("a test");
    KP_SET(jr->protocols, 1, pr);
    const struct kp_join_group_resp *r = kt_call(fd, KP_API_JOIN_GROUP, 9, jr, buf, sizeof(buf),
                                                 &resp);
    int16_t err = r->error_code;
    snprintf(id, 128, "%.*s", (int)r->member_id.len, r->member_id.p);
    *gen = r->generation_id;
    if (err == 0) {
        assert_true(kp_slice_eq(r->protocol_type, "consumer")); /* v7+ */
        assert_true(kp_slice_eq(r->protocol_name, "range"));
        assert_true(kp_slice_eq(r->leader, id));
        assert_int_equal(r->members.n, 1);
        assert_true(kp_slice_eq(r->members.v[0].metadata, "subscription"));
        assert_false(r->skip_assignment); /* v9 */
    }
    kp_response_fini(&resp);
    kp_arena_fini(&a);
    return err;
}

static int16_t sync_v5(int fd, const char *id, int32_t gen, const char *proto, char *got)
{
    struct kp_arena a;
    struct kp_response resp;
    kp_arena_init(&a, 0);
    struct kp_sync_group_req *sr = KT_NEW(&a, kp_sync_group_req, 1);
    struct kp_sync_group_req_assignment *as = KT_NEW(&a, kp_sync_group_req_assignment, 1);
    as->member_id = kp_slice_str(id);
    as->assignment = kp_slice_str("fg-assignment");
    sr->group_id = kp_slice_str("fg");
    sr->generation_id = gen;
    sr->member_id = kp_slice_str(id);
    sr->protocol_type = kp_slice_str("consumer");
    sr->protocol_name = kp_slice_str(proto);
    KP_SET(sr->assignments, 1, as);
    const struct kp_sync_group_resp *r = kt_call(fd, KP_API_SYNC_GROUP, 5, sr, buf, sizeof(buf),
                                                 &resp);
    int16_t err = r->error_code;
    snprintf(got, 128, "%.*s", (int)KC_MAX(r->assignment.len, 0), r->assignment.p);
    if (err == 0)
        assert_true(kp_slice_eq(r->protocol_type, "consumer") &&
                    kp_slice_eq(r->protocol_name, "range"));
    kp_response_fini(&resp);
    kp_arena_fini(&a);
    return err;
}

static int16_t heartbeat_v4(int fd, const char *id, int32_t gen)
{
    struct kp_response resp;
    struct kp_heartbeat_req hr;
    kp_init(&kp_heartbeat_req_schema, &hr);
    hr.group_id = kp_slice_str("fg");
    hr.generation_id = gen;
    hr.member_id = kp_slice_str(id);
    const struct kp_heartbeat_resp *r = kt_call(fd, KP_API_HEARTBEAT, 4, &hr, buf, sizeof(buf),
                                                &resp);
    int16_t err = r->error_code;
    kp_response_fini(&resp);
    return err;
}

/* OffsetCommit v9 of fg, partition 0 of topic: the partition's error. */
static int16_t commit_v9(int fd, const char *id, int32_t gen, const char *topic, int64_t off)
{
    struct kp_arena a;
    struct kp_response resp;
    kp_arena_init(&a, 0);
    struct kp_offset_commit_req *cr = KT_NEW(&a, kp_offset_commit_req, 1);
    struct kp_offset_commit_req_topic *t = KT_NEW(&a, kp_offset_commit_req_topic, 1);
    struct kp_offset_commit_req_partition *p = KT_NEW(&a, kp_offset_commit_req_partition, 1);
    p->committed_offset = off;
    p->committed_metadata = kp_slice_str("m9");
    t->name = kp_slice_str(topic);
    KP_SET(t->partitions, 1, p);
    cr->group_id = kp_slice_str("fg");
    cr->generation_id_or_member_epoch = gen;
    cr->member_id = kp_slice_str(id);
    KP_SET(cr->topics, 1, t);
    const struct kp_offset_commit_resp *r =
        kt_call(fd, KP_API_OFFSET_COMMIT, 9, cr, buf, sizeof(buf), &resp);
    int16_t err = r->topics.v[0].partitions.v[0].error_code;
    kp_response_fini(&resp);
    kp_arena_fini(&a);
    return err;
}

static void test_0107_group_life_find_join_sync_heartbeat_commit_fetch_leave(void **state)
{
    struct kb_broker *b = *state;
    struct kp_response resp;
    struct kp_arena a;
    char id[128], got[128];
    int32_t gen;
    int fd = kb_connect(b);
    create(b, "gt", "1");
    kp_arena_init(&a, 0);

    /* FindCoordinator v4: a list of keys, each answered; transactions have none here */
    struct kp_find_coordinator_req *fr = KT_NEW(&a, kp_find_coordinator_req, 1);
    struct kc_slice keys[] = {kp_slice_str("fg"), kp_slice_str("")};
    KP_SET(fr->coordinator_keys, 2, keys);
    const struct kp_find_coordinator_resp *fc =
        kt_call(fd, KP_API_FIND_COORDINATOR, 4, fr, buf, sizeof(buf), &resp);
    assert_int_equal(fc->coordinators.n, 2);
    assert_true(kp_slice_eq(fc->coordinators.v[0].key, "fg"));
    assert_int_equal(fc->coordinators.v[0].error_code, 0);
    assert_int_equal(fc->coordinators.v[0].port, b->port);
    assert_int_equal(fc->coordinators.v[1].error_code, KP_ERR_INVALID_GROUP_ID);
    kp_response_fini(&resp);
    fr->key_type = 1;
    fc = kt_call(fd, KP_API_FIND_COORDINATOR, 6, fr, buf, sizeof(buf), &resp);
    assert_int_equal(fc->coordinators.v[0].error_code, KP_ERR_INVALID_REQUEST);
    kp_response_fini(&resp);

    /* JoinGroup v9: an id first (KIP-394), then the join */
    assert_int_equal(join(fd, kp_slice_str(""), id, &gen), KP_ERR_MEMBER_ID_REQUIRED);
    assert_int_equal(join(fd, kp_slice_str(id), id, &gen), 0);
    assert_int_equal(gen, 1);
    /* SyncGroup v5: a protocol that is not the group's is refused (KIP-559) */
    assert_int_equal(sync_v5(fd, id, gen, "roundrobin", got), KP_ERR_INCONSISTENT_GROUP_PROTOCOL);
    assert_int_equal(sync_v5(fd, id, gen, "range", got), 0);
    assert_string_equal(got, "fg-assignment");
    assert_int_equal(heartbeat_v4(fd, id, gen), 0);
    assert_int_equal(heartbeat_v4(fd, id, gen + 1), KP_ERR_ILLEGAL_GENERATION);
    assert_int_equal(commit_v9(fd, id, gen, "gt", 42), 0);
    assert_int_equal(commit_v9(fd, id, gen + 1, "gt", 43), KP_ERR_ILLEGAL_GENERATION);

    /* OffsetFetch v8: a list of groups; a null topic list is everything committed */
    struct kp_offset_fetch_req *of = KT_NEW(&a, kp_offset_fetch_req, 1);
    struct kp_offset_fetch_req_group *g = KT_NEW(&a, kp_offset_fetch_req_group, 3);
    struct kp_offset_fetch_req_topics *ot = KT_NEW(&a, kp_offset_fetch_req_topics, 1);
    int32_t parts[] = {0, 7};
    ot->name = kp_slice_str("gt");
    KP_SET(ot->partition_indexes, 2, parts);
    g[0].group_id = kp_slice_str("fg");
    KP_SET(g[0].topics, 1, ot);
    g[1].group_id = kp_slice_str("");
    KP_SET(g[1].topics, 1, ot);
    g[2].group_id = kp_slice_str("fg");
    KP_SET(g[2].topics, -1, NULL);
    KP_SET(of->groups, 3, g);
    const struct kp_offset_fetch_resp *ofr =
        kt_call(fd, KP_API_OFFSET_FETCH, 8, of, buf, sizeof(buf), &resp);
    assert_int_equal(ofr->groups.n, 3);
    const struct kp_offset_fetch_resp_group *rg = &ofr->groups.v[0];
    assert_int_equal(rg->error_code, 0);
    assert_int_equal(rg->topics.n, 1);
    assert_int_equal(rg->topics.v[0].partitions.n, 2);
    assert_int_equal(rg->topics.v[0].partitions.v[0].committed_offset, 42);
    assert_true(kp_slice_eq(rg->topics.v[0].partitions.v[0].metadata, "m9"));
    assert_int_equal(rg->topics.v[0].partitions.v[1].committed_offset, -1); /* none */
    assert_int_equal(ofr->groups.v[1].error_code, KP_ERR_INVALID_GROUP_ID);
    rg = &ofr->groups.v[2];
    assert_int_equal(rg->topics.n, 1);
    assert_true(kp_slice_eq(rg->topics.v[0].name, "gt"));
    assert_int_equal(rg->topics.v[0].partitions.n, 1);
    assert_int_equal(rg->topics.v[0].partitions.v[0].committed_offset, 42);
    kp_response_fini(&resp);

    /* LeaveGroup v5: a list of members, each answered */
    struct kp_leave_group_req *lr = KT_NEW(&a, kp_leave_group_req, 1);
    struct kp_leave_group_req_member_identity *m = KT_NEW(&a, kp_leave_group_req_member_identity, 2);
    m[0].member_id = kp_slice_str(id);
    m[0].reason = kp_slice_str("the test is over");
    m[1].member_id = kp_slice_str("ghost");
    lr->group_id = kp_slice_str("fg");
    KP_SET(lr->members, 2, m);
    const struct kp_leave_group_resp *lv =
        kt_call(fd, KP_API_LEAVE_GROUP, 5, lr, buf, sizeof(buf), &resp);
    assert_int_equal(lv->error_code, 0);
    assert_int_equal(lv->members.n, 2);
    assert_true(kp_slice_eq(lv->members.v[0].member_id, id));
    assert_int_equal(lv->members.v[0].error_code, 0);
    assert_int_equal(lv->members.v[1].error_code, KP_ERR_UNKNOWN_MEMBER_ID);
    kp_response_fini(&resp);
    assert_int_equal(heartbeat_v4(fd, id, gen), KP_ERR_UNKNOWN_MEMBER_ID); /* it is gone */
    kp_arena_fini(&a);
    close(fd);
}

/* ---- a partition named twice; Produce v0-2; ApiVersions v3/v4 ----------------------------- */

static void test_0107_a_partition_named_twice_is_refused_each_time(void **state)
{
    struct kb_broker *b = *state;
    struct kp_response resp;
    struct kp_arena a;
    size_t len;
    int fd = kb_connect(b);
    create(b, "dup", "2");
    kp_arena_init(&a, 0);
    uint8_t *batch = kb_batch("dup-", 2, &len);

    /* Produce v9: dup-0 twice (once in each of two entries for the topic), dup-1 once */
    struct kp_produce_req *pr = KT_NEW(&a, kp_produce_req, 1);
    struct kp_produce_req_topic_produce_data *t = KT_NEW(&a, kp_produce_req_topic_produce_data, 2);
    struct kp_produce_req_partition_produce_data *p =
        KT_NEW(&a, kp_produce_req_partition_produce_data, 3);
    for (int i = 0; i < 3; i++)
        p[i] = (struct kp_produce_req_partition_produce_data){i == 1, {batch, (int32_t)len}};
    t[0].name = t[1].name = kp_slice_str("dup");
    KP_SET(t[0].partition_data, 2, p);     /* dup-0, dup-1 */
    KP_SET(t[1].partition_data, 1, p + 2); /* dup-0 again */
    pr->acks = 1;
    KP_SET(pr->topic_data, 2, t);
    const struct kp_produce_resp *r = kt_call(fd, KP_API_PRODUCE, 9, pr, buf, sizeof(buf), &resp);
    assert_int_equal(r->responses.n, 2);
    assert_int_equal(r->responses.v[0].partition_responses.v[0].error_code, KP_ERR_INVALID_REQUEST);
    assert_int_equal(r->responses.v[0].partition_responses.v[1].error_code, 0);
    assert_int_equal(r->responses.v[1].partition_responses.v[0].error_code, KP_ERR_INVALID_REQUEST);
    kp_response_fini(&resp);
    /* Produce v2 (the v0/v1 message formats): advertised for librdkafka, refused here */
    r = kt_call(fd, KP_API_PRODUCE, 2, pr, buf, sizeof(buf), &resp);
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < r->responses.v[i].partition_responses.n; j++)
            assert_int_equal(r->responses.v[i].partition_responses.v[j].error_code,
                             KP_ERR_UNSUPPORTED_VERSION);
    kp_response_fini(&resp);

    /* Fetch v12: dup-0 twice -> 42 both; nothing was appended to it */
    struct kp_fetch_req *fr = KT_NEW(&a, kp_fetch_req, 1);
    struct kp_fetch_req_topic *ft = KT_NEW(&a, kp_fetch_req_topic, 1);
    struct kp_fetch_req_partition *fp = KT_NEW(&a, kp_fetch_req_partition, 3);
    for (int i = 0; i < 3; i++) {
        fp[i].partition = i == 1;
        fp[i].partition_max_bytes = 1 << 20;
    }
    ft->topic = kp_slice_str("dup");
    KP_SET(ft->partitions, 3, fp);
    fr->max_bytes = 1 << 20;
    KP_SET(fr->topics, 1, ft);
    const struct kp_fetch_resp *f = kt_call(fd, KP_API_FETCH, 12, fr, buf, sizeof(buf), &resp);
    const struct kp_fetch_resp_partition_data *pd = f->responses.v[0].partitions.v;
    assert_int_equal(pd[0].error_code, KP_ERR_INVALID_REQUEST);
    assert_int_equal(pd[1].error_code, 0);
    assert_int_equal(pd[1].high_watermark, 2); /* dup-1 got its one batch */
    assert_int_equal(pd[2].error_code, KP_ERR_INVALID_REQUEST);
    kp_response_fini(&resp);
    fp[2].partition = 1; /* now dup-1 twice: dup-0 alone is served, and is empty */
    f = kt_call(fd, KP_API_FETCH, 12, fr, buf, sizeof(buf), &resp);
    pd = f->responses.v[0].partitions.v;
    assert_int_equal(pd[0].error_code, 0);
    assert_int_equal(pd[0].high_watermark, 0); /* the refused produce appended nothing */
    assert_int_equal(pd[1].error_code, KP_ERR_INVALID_REQUEST);
    kp_response_fini(&resp);

    /* ListOffsets v6 and OffsetCommit v8: the same rule */
    struct kp_list_offsets_req *lr = KT_NEW(&a, kp_list_offsets_req, 1);
    struct kp_list_offsets_req_topic *lt = KT_NEW(&a, kp_list_offsets_req_topic, 1);
    struct kp_list_offsets_req_partition *lp = KT_NEW(&a, kp_list_offsets_req_partition, 2);
    lp[0].timestamp = lp[1].timestamp = -1;
    lt->name = kp_slice_str("dup");
    KP_SET(lt->partitions, 2, lp);
    KP_SET(lr->topics, 1, lt);
    const struct kp_list_offsets_resp *l =
        kt_call(fd, KP_API_LIST_OFFSETS, 6, lr, buf, sizeof(buf), &resp);
    assert_int_equal(l->topics.v[0].partitions.v[0].error_code, KP_ERR_INVALID_REQUEST);
    assert_int_equal(l->topics.v[0].partitions.v[1].error_code, KP_ERR_INVALID_REQUEST);
    kp_response_fini(&resp);
    struct kp_offset_commit_req *cr = KT_NEW(&a, kp_offset_commit_req, 1);
    struct kp_offset_commit_req_topic *ct = KT_NEW(&a, kp_offset_commit_req_topic, 1);
    struct kp_offset_commit_req_partition *cp = KT_NEW(&a, kp_offset_commit_req_partition, 3);
    for (int i = 0; i < 3; i++)
        cp[i].committed_offset = i + 1, cp[i].partition_index = i == 2;
    ct->name = kp_slice_str("dup");
    KP_SET(ct->partitions, 3, cp);
    cr->group_id = kp_slice_str("dupg");
    KP_SET(cr->topics, 1, ct);
    const struct kp_offset_commit_resp *c =
        kt_call(fd, KP_API_OFFSET_COMMIT, 8, cr, buf, sizeof(buf), &resp);
    assert_int_equal(c->topics.v[0].partitions.v[0].error_code, KP_ERR_INVALID_REQUEST);
    assert_int_equal(c->topics.v[0].partitions.v[1].error_code, KP_ERR_INVALID_REQUEST);
    assert_int_equal(c->topics.v[0].partitions.v[2].error_code, 0);
    kp_response_fini(&resp);
    char *out, *err;
    const char *args[] = {"4", "dupg", "dup", "0", NULL}; /* nothing committed for dup-0 */
    assert_int_equal(kb_cli(b, NULL, &out, &err, args), 0);
    assert_string_equal(out, "-1\n");
    free(out);
    free(err);
    const char *args1[] = {"4", "dupg", "dup", "1", NULL};
    assert_int_equal(kb_cli(b, NULL, &out, &err, args1), 0);
    assert_string_equal(out, "3\n");
    free(out);
    free(err);
    free(batch);
    kp_arena_fini(&a);
    close(fd);
}

static void test_0107_api_versions_v4_and_a_bad_client_name(void **state)
{
    struct kb_broker *b = *state;
    struct kp_response resp;
    struct kp_api_versions_req av;
    int fd = kb_connect(b);
    kp_init(&kp_api_versions_req_schema, &av);
    av.client_software_name = kp_slice_str("kafka-c-tests");
    av.client_software_version = kp_slice_str("1.0");
    const struct kp_api_versions_resp *r =
        kt_call(fd, KP_API_API_VERSIONS, 4, &av, buf, sizeof(buf), &resp);
    assert_int_equal(r->error_code, 0);
    assert_int_equal(r->api_keys.n, KT_SERVED_APIS);
    for (int32_t i = 0; i < r->api_keys.n; i++) {
        const struct kp_api *api = kp_api_find(r->api_keys.v[i].api_key);
        assert_non_null(api);
        assert_int_equal(r->api_keys.v[i].max_version, api->kafka39_max);
        assert_true(r->api_keys.v[i].min_version <= api->kafka40_min);
    }
    kp_response_fini(&resp);
    av.client_software_name = kp_slice_str("-bad name");
    r = kt_call(fd, KP_API_API_VERSIONS, 3, &av, buf, sizeof(buf), &resp);
    assert_int_equal(r->error_code, KP_ERR_INVALID_REQUEST); /* KIP-511's rule */
    kp_response_fini(&resp);
    kt_assert_serving(b);
    close(fd);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, kb_teardown)
    const struct CMUnitTest tests[] = {
        T(test_0107_produce_and_fetch_by_hand_then_v10_v11),
        T(test_0107_metadata_v12_topic_ids_by_name_by_id_and_after_restart),
        T(test_0107_fetch_v12_to_v17_by_name_then_by_topic_id),
        T(test_0107_list_offsets_v0_list_and_flexible_special_timestamps),
        T(test_0107_group_life_find_join_sync_heartbeat_commit_fetch_leave),
        T(test_0107_a_partition_named_twice_is_refused_each_time),
        T(test_0107_api_versions_v4_and_a_bad_client_name),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
