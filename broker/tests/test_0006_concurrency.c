/*
 * test_0006_concurrency.c - many producers, one partition: every acknowledged offset is
 * unique, together they fill [0, total) without a gap, and reading back finds each record
 * exactly once, in each producer's order. (The original had no locks: concurrent producers
 * raced on the file.)
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "support/harness.h"
#include "kc_common.h"
#include "kc_test.h"

#define S(s)      np_str(s)
#define PRODUCERS 6
#define EACH      1500
#define BATCHES   40 /* batch producers: batches of 25 */

struct producer {
    const struct kb_broker *b;
    int id;
    bool batches;
    int64_t offsets[EACH];
    int n;
    int rc;
};

/* Pipelined: windows of 50 requests, answers checked in order. */
static void *produce_main(void *arg)
{
    struct producer *p = arg;
    struct np_client c;
    struct np_frame f;
    char v[32];
    if (np_client_connect(&c, p->b->addr, KB_WAIT_MS) != 0) {
        p->rc = -1;
        return NULL;
    }
    int total = p->batches ? BATCHES : EACH;
    for (int sent = 0; sent < total && p->rc == 0;) {
        int k;
        for (k = 0; k < 50 && sent + k < total; k++) {
            int i = sent + k;
            uint32_t corr = np_client_next_corr(&c);
            if (p->batches) {
                size_t len;
                snprintf(v, sizeof(v), "B%d-%d-", p->id, i);
                uint8_t *batch = kb_batch(v, 25, &len);
                np_encode_produce_batch(np_client_out(&c), corr,
                                        &(struct np_produce_batch_req){S("c"), 0, 1,
                                                                       {batch, (int32_t)len}});
                free(batch);
            } else {
                snprintf(v, sizeof(v), "P%d-%d", p->id, i);
                np_encode_produce(np_client_out(&c), corr,
                                  &(struct np_produce_req){S("c"), 0, 1, -1, {NULL, -1}, S(v)});
            }
        }
        p->rc = np_client_flush(&c);
        for (int j = 0; j < k && p->rc == 0; j++) {
            struct np_produce_resp pr;
            struct np_produce_batch_resp br;
            p->rc = np_client_recv(&c, &f);
            if (p->rc == 0)
                p->rc = np_client_check(&c, &f);
            if (p->rc == 0 && p->batches)
                p->rc = np_decode_produce_batch_resp(f.body, f.body_len, &br);
            else if (p->rc == 0)
                p->rc = np_decode_produce_resp(f.body, f.body_len, &pr);
            if (p->rc == 0)
                p->offsets[p->n++] = p->batches ? br.base_offset : pr.offset;
        }
        sent += k;
    }
    np_client_close(&c);
    return NULL;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* Read the whole partition; each record's value tells who wrote it and its sequence. */
static void check_readback(const struct kb_broker *b, int64_t total)
{
    struct np_client c;
    struct np_consume_batch_resp br;
    struct kc_record_iter it;
    struct kc_record rec;
    int last_single[PRODUCERS], last_batch[PRODUCERS];
    for (int i = 0; i < PRODUCERS; i++)
        last_single[i] = last_batch[i] = -1;
    int64_t off = 0;
    kb_client(b, &c);
    while (off < total) {
        struct np_consume_batch_req q = {S("c"), 0, off, 100000, 4 << 20, 0};
        assert_int_equal(np_client_consume_batch(&c, &q, &br), 0);
        assert_true(br.records.len > 0);
        for (size_t at = 0; at < (size_t)br.records.len;) {
            int size = kc_batch_validate(br.records.p + at, (size_t)br.records.len - at, NULL);
            assert_true(size > 0);
            assert_int_equal(kc_record_iter_init(&it, br.records.p + at, (size_t)size), 0);
            while (kc_record_iter_next(&it, &rec) == 1) {
                char v[40];
                int id, seq, sub = 0;
                assert_int_equal(rec.offset, off++);
                snprintf(v, sizeof(v), "%.*s", rec.value_len, rec.value);
                if (v[0] == 'P') {
                    assert_int_equal(sscanf(v, "P%d-%d", &id, &seq), 2);
                    assert_true(seq == last_single[id] + 1); /* once each, in order */
                    last_single[id] = seq;
                } else {
                    assert_int_equal(sscanf(v, "B%d-%d-%d", &id, &seq, &sub), 3);
                    assert_true(sub == 0 ? seq == last_batch[id] + 1 : seq == last_batch[id]);
                    last_batch[id] = seq;
                }
            }
            at += (size_t)size;
        }
    }
    for (int i = 0; i < PRODUCERS / 2; i++)
        assert_int_equal(last_single[i], EACH - 1);
    np_client_close(&c);
}

static void test_0006_concurrent_producers_one_partition_no_lost_or_doubled_offsets(void **state)
{
    struct kb_broker *b = *state;
    struct np_client c;
    struct np_create_topic_resp cr;
    static struct producer ps[PRODUCERS];
    pthread_t t[PRODUCERS];
    kb_client(b, &c);
    assert_int_equal(np_client_create_topic(&c, "c", 1, &cr), 0);
    np_client_close(&c);
    for (int i = 0; i < PRODUCERS; i++) {
        ps[i] = (struct producer){.b = b, .id = i, .batches = i >= PRODUCERS / 2};
        assert_int_equal(pthread_create(&t[i], NULL, produce_main, &ps[i]), 0);
    }
    for (int i = 0; i < PRODUCERS; i++) {
        pthread_join(t[i], NULL);
        if (ps[i].rc)
            fail_msg("producer %d: %s", i, np_strerror(ps[i].rc));
    }
    /* Every single record owns one offset, every batch 25 consecutive ones: the union is
     * exactly [0, total). */
    int64_t total = (int64_t)(PRODUCERS / 2) * EACH + (int64_t)(PRODUCERS / 2) * BATCHES * 25;
    uint8_t *seen = calloc((size_t)total, 1);
    for (int i = 0; i < PRODUCERS; i++) {
        qsort(ps[i].offsets, (size_t)ps[i].n, sizeof(int64_t), cmp_i64);
        for (int k = 0; k < ps[i].n; k++) {
            int span = ps[i].batches ? 25 : 1;
            for (int s = 0; s < span; s++) {
                int64_t o = ps[i].offsets[k] + s;
                assert_true(o >= 0 && o < total);
                assert_int_equal(seen[o], 0);
                seen[o] = 1;
            }
        }
    }
    for (int64_t o = 0; o < total; o++)
        assert_int_equal(seen[o], 1);
    free(seen);
    check_readback(b, total);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(
            test_0006_concurrent_producers_one_partition_no_lost_or_doubled_offsets,
            kb_setup_started, kb_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
