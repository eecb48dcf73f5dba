/*
 * test_kafka_fsess.c - the fetch session cache (fsess.h) on its own: no broker, no
 * sockets, a clock the test moves by hand.
 *
 *   creation        a full Fetch's answer becomes a session: id > 0, epoch 1, its
 *                   partitions in order, the answered high watermarks remembered
 *   incremental     named partitions are added at the end or updated; forgotten ones
 *                   go (and their topics); forgetting all closes the session
 *   epochs          1, 2, ...; a repeated or skipped epoch is 71, an unknown id 70, a
 *                   leased session 71; -1 and 0 close the session they name; wrap-around
 *   answers         only what changed is included; an error forgets the high watermark;
 *                   partitions that returned records move to the end, in order
 *   eviction        stale first (least recently used); else the smallest old enough,
 *                   and only for a bigger newcomer; slots 0: never a session; a
 *                   follower's (privileged) newcomer pushes out any consumer's session,
 *                   a consumer's never a follower's
 *   request fields  every one is kept per partition (leader epochs, log start, ...)
 *                   and all of them updated when the partition is named again
 *   followers       a replica's epoch 0 is FULL; a diverging epoch is always answered
 *   memory bound    the partition budget: a session too big is never made, one that
 *                   would grow past it is closed (70); evicting makes room
 *   lease           a session evicted while leased leaves the cache at once and is freed
 *                   when the lease ends (ASan: no leak, no use after free)
 *   threads         four "loops" (one a follower) hammer one cache with their own
 *                   sessions and each other's: every verdict is one of the legal ones, the counts add up
 *                   (run it under TSan: make ... SAN=thread)
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fsess.h"
#include "kc_test.h"
#include "kp_errors.h"

#define MIN 60000 /* ms */

static struct brk_fsess_cache *cache_of(int32_t slots, int64_t evict_ms, int64_t budget)
{
    struct brk_fsess_config cfg = {slots, evict_ms, budget};
    struct brk_fsess_cache *c = NULL;
    assert_int_equal(brk__fsess_cache_create(&cfg, &c), 0);
    return c;
}

/* Partition p of topic (a string that outlives the entry) with every request field. */
static struct brk_fsess_entry entry(const char *topic, int32_t p, int64_t fetch_offset,
                                    int32_t max_bytes, int32_t leader_epoch,
                                    int32_t last_fetched_epoch, int64_t log_start_offset)
{
    return (struct brk_fsess_entry){{(const uint8_t *)topic, (int32_t)strlen(topic), p},
                                    fetch_offset, max_bytes, leader_epoch,
                                    last_fetched_epoch, log_start_offset};
}

static struct brk_fsess_result result(int32_t records, int64_t hwm, int64_t log_start,
                                      int16_t error, bool diverged)
{
    return (struct brk_fsess_result){records, hwm, log_start, error, diverged};
}

/* n partitions of topic t ("t0", "t1", ...), fetch offset 0, and what a full answer said:
 * high watermark 10 + i. */
struct full {
    char topic[8];
    struct brk_fsess_entry e[64];
    struct brk_fsess_result r[64];
    int32_t n;
};

static void full_of(struct full *f, const char *topic, int32_t n)
{
    assert_true(n <= 64);
    snprintf(f->topic, sizeof(f->topic), "%s", topic);
    f->n = n;
    for (int32_t i = 0; i < n; i++) {
        f->e[i] = entry(f->topic, i, 0, 1 << 20, -1, -1, -1); /* a consumer's: no epochs */
        f->r[i] = result(0, 10 + i, 0, 0, false);
    }
}

static int32_t create(struct brk_fsess_cache *c, const struct full *f, int64_t now)
{
    return brk__fsess_create(c, false, NULL, now, f->e, f->r, f->n);
}

/* Stand-ins for two followers' connections (only their addresses count). */
static char follower_conn, other_follower_conn;

/* The same, made by a follower's full Fetch: a privileged session. */
static int32_t create_follower(struct brk_fsess_cache *c, const struct full *f, int64_t now)
{
    return brk__fsess_create(c, false, &follower_conn, now, f->e, f->r, f->n);
}

/* An incremental Fetch: its verdict, *s (leased) for INCREMENTAL, *err for ERROR. */
static int begin(struct brk_fsess_cache *c, int32_t id, int32_t epoch, int64_t now,
                 const struct brk_fsess_entry *named, int32_t n, const struct brk_fsess_key *forget,
                 int32_t nf, struct brk_fsess **s, int16_t *err)
{
    struct brk_fsess_request rq = {id, epoch, false, false, named, n, forget, nf, now};
    return brk__fsess_begin(c, &rq, s, err);
}

static void test_fsess_create_then_incremental_updates_in_order(void **state)
{
    (void)state;
    struct brk_fsess_cache *c = cache_of(10, MIN, 1000);
    struct full f;
    struct brk_fsess *s;
    int16_t err;
    int32_t n;
    full_of(&f, "t0", 3);
    int32_t id = create(c, &f, 0);
    assert_true(id > 0);
    /* Epoch 1 first; p1 moves on, a new partition (t1, 7) joins at the end. */
    struct brk_fsess_entry named[2] = {entry("t0", 1, 55, 100, -1, -1, -1),
                                       entry("t1", 7, 3, 200, -1, -1, -1)};
    assert_int_equal(begin(c, id, 1, 1, named, 2, NULL, 0, &s, &err), BRK_FSESS_INCREMENTAL);
    assert_int_equal(brk__fsess_id(s), id);
    const struct brk_fsess_part *p = brk__fsess_parts(s, &n);
    assert_int_equal(n, 4);
    assert_int_equal(p[0].hwm, 10);
    assert_int_equal(p[1].fetch_offset, 55);
    assert_int_equal(p[1].max_bytes, 100);
    assert_int_equal(p[1].hwm, 11); /* updated, not re-added: the answered HWM stays */
    assert_int_equal(p[3].partition, 7);
    assert_int_equal(p[3].hwm, -1); /* new: unknown, so the next answer carries it */
    int32_t len;
    const uint8_t *key = brk__fsess_topic(s, p[3].topic, &len);
    assert_int_equal(len, 2);
    assert_memory_equal(key, "t1", 2);
    brk__fsess_end(c, s);
    struct brk_fsess_stats st;
    brk__fsess_stats(c, &st);
    assert_int_equal(st.sessions, 1);
    assert_int_equal(st.partitions, 4);
    assert_int_equal(st.created, 1);
    assert_int_equal(st.by_kind[BRK_FSESS_INCREMENTAL], 1);
    brk__fsess_cache_destroy(c);
}

static void test_fsess_epochs_wrong_unknown_leased_and_closing(void **state)
{
    (void)state;
    struct brk_fsess_cache *c = cache_of(10, MIN, 1000);
    struct full f;
    struct brk_fsess *s, *s2;
    int16_t err;
    full_of(&f, "t", 2);
    int32_t id = create(c, &f, 0);
    assert_int_equal(begin(c, id, 2, 0, NULL, 0, NULL, 0, &s, &err), BRK_FSESS_ERROR);
    assert_int_equal(err, KP_ERR_INVALID_FETCH_SESSION_EPOCH); /* skipped epoch 1 */
    assert_int_equal(begin(c, id + 1, 1, 0, NULL, 0, NULL, 0, &s, &err), BRK_FSESS_ERROR);
    assert_int_equal(err, KP_ERR_FETCH_SESSION_ID_NOT_FOUND);
    assert_int_equal(begin(c, id, 1, 0, NULL, 0, NULL, 0, &s, &err), BRK_FSESS_INCREMENTAL);
    /* Epoch 2 while epoch 1's request is still served: 71, whatever the epoch says. */
    assert_int_equal(begin(c, id, 2, 0, NULL, 0, NULL, 0, &s2, &err), BRK_FSESS_ERROR);
    assert_int_equal(err, KP_ERR_INVALID_FETCH_SESSION_EPOCH);
    brk__fsess_end(c, s);
    assert_int_equal(begin(c, id, 1, 0, NULL, 0, NULL, 0, &s, &err), BRK_FSESS_ERROR);
    assert_int_equal(begin(c, id, 2, 0, NULL, 0, NULL, 0, &s, &err), BRK_FSESS_INCREMENTAL);
    brk__fsess_end(c, s);
    /* Topic ids against names: 106, nothing applied. */
    struct brk_fsess_request rq = {id, 3, true, false, NULL, 0, NULL, 0, 0};
    assert_int_equal(brk__fsess_begin(c, &rq, &s, &err), BRK_FSESS_ERROR);
    assert_int_equal(err, KP_ERR_FETCH_SESSION_TOPIC_ID_ERROR);
    /* Epoch -1 naming the session: closed, served sessionless. */
    assert_int_equal(begin(c, id, -1, 0, NULL, 0, NULL, 0, &s, &err), BRK_FSESS_SESSIONLESS);
    assert_int_equal(begin(c, id, 3, 0, NULL, 0, NULL, 0, &s, &err), BRK_FSESS_ERROR);
    assert_int_equal(err, KP_ERR_FETCH_SESSION_ID_NOT_FOUND);
    /* Epoch 0 naming one: closed too, and a new one may be made (FULL). */
    id = create(c, &f, 0);
    assert_int_equal(begin(c, id, 0, 0, NULL, 0, NULL, 0, &s, &err), BRK_FSESS_FULL);
    assert_int_equal(begin(c, id, 1, 0, NULL, 0, NULL, 0, &s, &err), BRK_FSESS_ERROR);
    struct brk_fsess_stats st;
    brk__fsess_stats(c, &st);
    assert_int_equal(st.sessions, 0);
    assert_int_equal(st.partitions, 0);
    brk__fsess_cache_destroy(c);
}

static void test_fsess_next_epoch_wraps_to_one(void **state)
{
    (void)state;
    assert_int_equal(brk__fsess_next_epoch(0), 1);
    assert_int_equal(brk__fsess_next_epoch(41), 42);
    assert_int_equal(brk__fsess_next_epoch(INT32_MAX), 1);
    assert_int_equal(brk__fsess_next_epoch(-1), -1);
}

static void test_fsess_forget_drops_partitions_and_closes_when_empty(void **state)
{
    (void)state;
    struct brk_fsess_cache *c = cache_of(10, MIN, 1000);
    struct full f;
    struct brk_fsess *s;
    int16_t err;
    int32_t n;
    full_of(&f, "t", 4);
    int32_t id = create(c, &f, 0);
    struct brk_fsess_key gone[3] = {{(const uint8_t *)"t", 1, 1},
                                    {(const uint8_t *)"t", 1, 9},   /* not in it: ignored */
                                    {(const uint8_t *)"u", 1, 0}};  /* no such topic */
    assert_int_equal(begin(c, id, 1, 0, NULL, 0, gone, 3, &s, &err), BRK_FSESS_INCREMENTAL);
    const struct brk_fsess_part *p = brk__fsess_parts(s, &n);
    assert_int_equal(n, 3);
    assert_int_equal(p[0].partition, 0);
    assert_int_equal(p[1].partition, 2); /* order kept */
    assert_int_equal(p[2].partition, 3);
    brk__fsess_end(c, s);
    /* Add and forget in one request: added first, then forgotten (Kafka's order). */
    struct brk_fsess_entry add = entry("v", 5, 0, 1, -1, -1, -1);
    struct brk_fsess_key forget_v = {(const uint8_t *)"v", 1, 5};
    assert_int_equal(begin(c, id, 2, 0, &add, 1, &forget_v, 1, &s, &err), BRK_FSESS_INCREMENTAL);
    brk__fsess_parts(s, &n);
    assert_int_equal(n, 3);
    brk__fsess_end(c, s);
    struct brk_fsess_key all[3] = {{(const uint8_t *)"t", 1, 0}, {(const uint8_t *)"t", 1, 2},
                                   {(const uint8_t *)"t", 1, 3}};
    assert_int_equal(begin(c, id, 3, 0, NULL, 0, all, 3, &s, &err), BRK_FSESS_SESSIONLESS);
    assert_null(s);
    struct brk_fsess_stats st;
    brk__fsess_stats(c, &st);
    assert_int_equal(st.sessions, 0);
    assert_int_equal(st.partitions, 0);
    brk__fsess_cache_destroy(c);
}

static void test_fsess_settle_answers_what_changed_and_rotates(void **state)
{
    (void)state;
    struct brk_fsess_cache *c = cache_of(10, MIN, 1000);
    struct full f;
    struct brk_fsess *s;
    int16_t err;
    int32_t n;
    bool inc[5];
    full_of(&f, "t", 5); /* hwm 10..14 */
    int32_t id = create(c, &f, 0);
    assert_int_equal(begin(c, id, 1, 0, NULL, 0, NULL, 0, &s, &err), BRK_FSESS_INCREMENTAL);
    struct brk_fsess_result r[5] = {
        result(0, 10, 0, 0, false),   /* p0 unchanged */
        result(100, 11, 0, 0, false), /* p1 records (hwm the same) */
        result(0, 12, 3, 0, false),   /* p2 log start moved */
        result(0, -1, -1, KP_ERR_UNKNOWN_TOPIC_OR_PARTITION, false), /* p3 an error */
        result(50, 20, 0, 0, false),  /* p4 records and a new hwm */
    };
    brk__fsess_settle(s, r, inc);
    assert_false(inc[0]);
    assert_true(inc[1] && inc[2] && inc[3] && inc[4]);
    const struct brk_fsess_part *p = brk__fsess_parts(s, &n);
    int32_t order[5] = {0, 2, 3, 1, 4}; /* those with records last, in their order */
    for (int i = 0; i < 5; i++)
        assert_int_equal(p[i].partition, order[i]);
    assert_int_equal(p[2].hwm, -1);   /* p3: forgotten, so answered again once it recovers */
    assert_int_equal(p[4].hwm, 20);
    brk__fsess_end(c, s);
    /* The same results again, in the new order: p3 keeps its error (always answered);
     * the rest have nothing new. Lookups still work after the rotation. */
    assert_int_equal(begin(c, id, 2, 0, NULL, 0, NULL, 0, &s, &err), BRK_FSESS_INCREMENTAL);
    struct brk_fsess_result again[5] = {result(0, 10, 0, 0, false), result(0, 12, 3, 0, false),
                                        result(0, -1, -1, KP_ERR_UNKNOWN_TOPIC_OR_PARTITION,
                                               false),
                                        result(0, 11, 0, 0, false), result(0, 20, 0, 0, false)};
    brk__fsess_settle(s, again, inc);
    for (int i = 0; i < 5; i++)
        assert_int_equal(inc[i], i == 2);
    brk__fsess_end(c, s);
    struct brk_fsess_entry upd = entry("t", 1, 77, 1, -1, -1, -1);
    assert_int_equal(begin(c, id, 3, 0, &upd, 1, NULL, 0, &s, &err), BRK_FSESS_INCREMENTAL);
    p = brk__fsess_parts(s, &n);
    assert_int_equal(n, 5);
    assert_int_equal(p[3].fetch_offset, 77);
    brk__fsess_end(c, s);
    brk__fsess_cache_destroy(c);
}

static void test_fsess_eviction_stale_first_then_smaller_and_old_enough(void **state)
{
    (void)state;
    struct brk_fsess_cache *c = cache_of(2, MIN, 1000);
    struct full small, mid, big;
    struct brk_fsess *s;
    int16_t err;
    full_of(&small, "s", 2);
    full_of(&mid, "m", 3);
    full_of(&big, "b", 5);
    int32_t a = create(c, &small, 0), b = create(c, &mid, 10);
    assert_true(a > 0 && b > 0);
    /* Full, both young: nobody is evicted, even by a bigger session. */
    assert_int_equal(create(c, &big, MIN), BRK_FSESS_NONE);
    /* Keep b busy, let a go stale: a goes, whatever the sizes. */
    assert_int_equal(begin(c, b, 1, 2 * MIN, NULL, 0, NULL, 0, &s, &err), BRK_FSESS_INCREMENTAL);
    brk__fsess_end(c, s);
    int32_t d = create(c, &small, 2 * MIN + 5); /* a unused for 2 MIN + 5 > MIN */
    assert_true(d > 0);
    assert_int_equal(begin(c, a, 1, 2 * MIN + 6, NULL, 0, NULL, 0, &s, &err), BRK_FSESS_ERROR);
    assert_int_equal(err, KP_ERR_FETCH_SESSION_ID_NOT_FOUND);
    /* Nothing stale now; b (3, old enough) and d (2, young). A bigger newcomer takes the
     * smallest old enough: b; an equal one (3) would not. */
    assert_int_equal(begin(c, d, 1, 2 * MIN + 7, NULL, 0, NULL, 0, &s, &err), BRK_FSESS_INCREMENTAL);
    brk__fsess_end(c, s);
    assert_int_equal(begin(c, b, 2, 2 * MIN + 8, NULL, 0, NULL, 0, &s, &err), BRK_FSESS_INCREMENTAL);
    brk__fsess_end(c, s);
    assert_int_equal(create(c, &mid, 2 * MIN + 9), BRK_FSESS_NONE);
    int32_t e = create(c, &big, 2 * MIN + 10);
    assert_true(e > 0);
    assert_int_equal(begin(c, b, 3, 2 * MIN + 11, NULL, 0, NULL, 0, &s, &err), BRK_FSESS_ERROR);
    assert_int_equal(begin(c, d, 2, 2 * MIN + 11, NULL, 0, NULL, 0, &s, &err), BRK_FSESS_INCREMENTAL);
    brk__fsess_end(c, s);
    struct brk_fsess_stats st;
    brk__fsess_stats(c, &st);
    assert_int_equal(st.evictions, 2);
    assert_int_equal(st.sessions, 2);
    assert_int_equal(st.partitions, 2 + 5);
    brk__fsess_cache_destroy(c);

    c = cache_of(0, MIN, 1000); /* slots 0: sessions off */
    assert_int_equal(create(c, &small, 0), BRK_FSESS_NONE);
    brk__fsess_cache_destroy(c);
}

static void test_fsess_partition_budget_bounds_every_session(void **state)
{
    (void)state;
    struct brk_fsess_cache *c = cache_of(100, MIN, 10);
    struct full six, four, eleven;
    struct brk_fsess *s;
    int16_t err;
    full_of(&six, "x", 6);
    full_of(&four, "y", 4);
    full_of(&eleven, "z", 11);
    assert_int_equal(create(c, &eleven, 0), BRK_FSESS_NONE); /* bigger than the budget */
    int32_t a = create(c, &six, 0), b = create(c, &four, 0);
    assert_true(a > 0 && b > 0);
    /* b grows by one: no room, nobody evictable (all young): b is closed, 70. */
    struct brk_fsess_entry one = entry("w", 0, 0, 1, -1, -1, -1);
    assert_int_equal(begin(c, b, 1, 1, &one, 1, NULL, 0, &s, &err), BRK_FSESS_ERROR);
    assert_int_equal(err, KP_ERR_FETCH_SESSION_ID_NOT_FOUND);
    struct brk_fsess_stats st;
    brk__fsess_stats(c, &st);
    assert_int_equal(st.partitions, 6);
    /* Later a (stale) makes room for a new session of 5: the budget holds. */
    assert_true(create(c, &four, 3 * MIN) > 0);
    full_of(&four, "y", 5);
    assert_true(create(c, &four, 3 * MIN + 1) > 0);
    brk__fsess_stats(c, &st);
    assert_true(st.partitions <= 10);
    assert_int_equal(st.evictions, 1);
    brk__fsess_cache_destroy(c);
}

static void test_fsess_evicted_while_leased_is_freed_at_the_end(void **state)
{
    (void)state;
    struct brk_fsess_cache *c = cache_of(1, 0, 1000);
    struct full f, g;
    struct brk_fsess *s;
    int16_t err;
    int32_t n;
    full_of(&f, "f", 3);
    full_of(&g, "g", 4);
    int32_t a = create(c, &f, 0);
    assert_int_equal(begin(c, a, 1, 1, NULL, 0, NULL, 0, &s, &err), BRK_FSESS_INCREMENTAL);
    assert_true(create(c, &g, 5) > 0); /* a is stale (eviction 0): out, but leased */
    const struct brk_fsess_part *p = brk__fsess_parts(s, &n); /* still ours to read */
    assert_int_equal(n, 3);
    assert_int_equal(p[2].hwm, 12);
    bool inc[3];
    struct brk_fsess_result r[3] = {result(0, 10, 0, 0, false), result(0, 11, 0, 0, false),
                                    result(9, 12, 0, 0, false)};
    brk__fsess_settle(s, r, inc);
    brk__fsess_end(c, s); /* freed here (ASan would see a leak or a use after free) */
    assert_int_equal(begin(c, a, 2, 6, NULL, 0, NULL, 0, &s, &err), BRK_FSESS_ERROR);
    assert_int_equal(err, KP_ERR_FETCH_SESSION_ID_NOT_FOUND);
    brk__fsess_cache_destroy(c);
}

/* Many topics and partitions: the indexes grow, lookups stay right. */
static void test_fsess_a_big_session_grows_and_finds_every_partition(void **state)
{
    (void)state;
    struct brk_fsess_cache *c = cache_of(10, MIN, 100000);
    struct full f;
    struct brk_fsess *s;
    int16_t err;
    int32_t n;
    full_of(&f, "a", 1);
    int32_t id = create(c, &f, 0), epoch = 1;
    static char names[100][16];
    struct brk_fsess_entry add[100];
    for (int round = 0; round < 50; round++) { /* 50 x 100: 100 topics of 50 partitions */
        for (int i = 0; i < 100; i++) {
            snprintf(names[i], sizeof(names[i]), "n%d", i);
            add[i] = entry(names[i], round, round * 1000 + i, 1, -1, -1, -1);
        }
        assert_int_equal(begin(c, id, epoch++, 0, add, 100, NULL, 0, &s, &err),
                         BRK_FSESS_INCREMENTAL);
        brk__fsess_end(c, s);
    }
    for (int i = 0; i < 100; i++) /* update every (n<i>, 7): found, not added */
        add[i] = entry(names[i], 7, -5, 1, -1, -1, -1);
    assert_int_equal(begin(c, id, epoch++, 0, add, 100, NULL, 0, &s, &err), BRK_FSESS_INCREMENTAL);
    const struct brk_fsess_part *p = brk__fsess_parts(s, &n);
    assert_int_equal(n, 1 + 5000);
    int updated = 0;
    for (int32_t k = 0; k < n; k++)
        updated += p[k].fetch_offset == -5;
    assert_int_equal(updated, 100);
    brk__fsess_end(c, s);
    struct brk_fsess_stats st;
    brk__fsess_stats(c, &st);
    assert_int_equal(st.partitions, 5001);
    brk__fsess_cache_destroy(c);
}

/* Kafka's CachedPartition: every request field is kept, and a partition named again
 * replaces them all; the others keep theirs (an incremental Fetch is read with them). */
static void test_fsess_keeps_every_request_field_and_updates_them_all(void **state)
{
    (void)state;
    struct brk_fsess_cache *c = cache_of(10, MIN, 1000);
    struct full f;
    struct brk_fsess *s;
    int16_t err;
    int32_t n;
    full_of(&f, "t", 3);
    for (int32_t i = 0; i < 3; i++) /* a follower's: epochs and a log start of its own */
        f.e[i] = entry(f.topic, i, 200 + i, 1000 + i, 5 + i, 3 + i, 100 + i);
    int32_t id = create_follower(c, &f, 0);
    assert_true(id > 0);
    struct brk_fsess_entry named = entry("t", 1, 300, 50, 9, 8, 150);
    assert_int_equal(begin(c, id, 1, 1, &named, 1, NULL, 0, &s, &err), BRK_FSESS_INCREMENTAL);
    const struct brk_fsess_part *p = brk__fsess_parts(s, &n);
    assert_int_equal(n, 3);
    for (int32_t i = 0; i < 3; i++) {
        bool upd = i == 1;
        assert_int_equal(p[i].partition, i);
        assert_int_equal(p[i].fetch_offset, upd ? 300 : 200 + i);
        assert_int_equal(p[i].max_bytes, upd ? 50 : 1000 + i);
        assert_int_equal(p[i].current_leader_epoch, upd ? 9 : 5 + i);
        assert_int_equal(p[i].last_fetched_epoch, upd ? 8 : 3 + i);
        assert_int_equal(p[i].log_start_offset, upd ? 150 : 100 + i);
        assert_int_equal(p[i].hwm, 10 + i); /* what was answered is not a request field */
    }
    brk__fsess_end(c, s);
    /* Named again with no epochs (-1): -1 is kept too, not the old values. */
    named = entry("t", 1, 301, 50, -1, -1, -1);
    assert_int_equal(begin(c, id, 2, 2, &named, 1, NULL, 0, &s, &err), BRK_FSESS_INCREMENTAL);
    p = brk__fsess_parts(s, &n);
    assert_int_equal(p[1].current_leader_epoch, -1);
    assert_int_equal(p[1].last_fetched_epoch, -1);
    assert_int_equal(p[1].log_start_offset, -1);
    assert_int_equal(p[2].current_leader_epoch, 7);
    brk__fsess_end(c, s);
    brk__fsess_cache_destroy(c);
}

/* A diverging epoch has no records, error 0 and the same offsets, and is answered all the
 * same (Kafka's maybeUpdateResponseData, FetchResponse.isDivergingEpoch): pruned, the
 * follower would never learn where to truncate. */
static void test_fsess_settle_always_answers_a_diverging_epoch(void **state)
{
    (void)state;
    struct brk_fsess_cache *c = cache_of(10, MIN, 1000);
    struct full f;
    struct brk_fsess *s;
    int16_t err;
    bool inc[2];
    full_of(&f, "t", 2); /* hwm 10, 11; log start 0 */
    int32_t id = create_follower(c, &f, 0);
    assert_int_equal(begin(c, id, 1, 0, NULL, 0, NULL, 0, &s, &err), BRK_FSESS_INCREMENTAL);
    struct brk_fsess_result r[2] = {result(0, 10, 0, 0, true), result(0, 11, 0, 0, false)};
    brk__fsess_settle(s, r, inc);
    assert_true(inc[0]);
    assert_false(inc[1]);
    brk__fsess_end(c, s);
    brk__fsess_cache_destroy(c);
}

/* A follower's Fetch (replica id >= 0) is served as a consumer's: epoch 0 is FULL (a
 * session may be made), -1 SESSIONLESS; either closes the session it names. */
static void test_fsess_a_replica_gets_a_session_unless_epoch_final(void **state)
{
    (void)state;
    struct brk_fsess_cache *c = cache_of(10, MIN, 1000);
    struct full f;
    struct brk_fsess *s;
    int16_t err;
    full_of(&f, "t", 2);
    int32_t id = create_follower(c, &f, 0);
    struct brk_fsess_request rq = {id, 0, false, true, NULL, 0, NULL, 0, 0};
    assert_int_equal(brk__fsess_begin(c, &rq, &s, &err), BRK_FSESS_FULL);
    assert_null(s);
    assert_int_equal(begin(c, id, 1, 0, NULL, 0, NULL, 0, &s, &err), BRK_FSESS_ERROR);
    assert_int_equal(err, KP_ERR_FETCH_SESSION_ID_NOT_FOUND); /* closed by the full Fetch */
    id = create_follower(c, &f, 0);
    rq = (struct brk_fsess_request){id, -1, false, true, NULL, 0, NULL, 0, 0};
    assert_int_equal(brk__fsess_begin(c, &rq, &s, &err), BRK_FSESS_SESSIONLESS);
    assert_int_equal(begin(c, id, 1, 0, NULL, 0, NULL, 0, &s, &err), BRK_FSESS_ERROR);
    struct brk_fsess_stats st;
    brk__fsess_stats(c, &st);
    assert_int_equal(st.sessions, 0);
    assert_int_equal(st.by_kind[BRK_FSESS_FULL], 1);
    assert_int_equal(st.by_kind[BRK_FSESS_SESSIONLESS], 1);
    brk__fsess_cache_destroy(c);
}

/* Is session id still in the cache? (An incremental Fetch with its epoch: 70 if not.) */
static bool cached(struct brk_fsess_cache *c, int32_t id, int32_t *epoch, int64_t now)
{
    struct brk_fsess *s;
    int16_t err;
    if (begin(c, id, *epoch, now, NULL, 0, NULL, 0, &s, &err) != BRK_FSESS_INCREMENTAL) {
        assert_int_equal(err, KP_ERR_FETCH_SESSION_ID_NOT_FOUND);
        return false;
    }
    brk__fsess_end(c, s);
    *epoch = brk__fsess_next_epoch(*epoch);
    return true;
}

/*
 * Kafka's FetchSessionCache.tryEvict with privileged (followers') sessions. The stale
 * least recently used goes first, whoever it is. Else the newcomer may push out, of
 * those it may touch - a consumer's newcomer: sessions older than eviction_ms; a
 * follower's: those and every consumer's session however young - the first in the order
 * (consumer's before follower's, fewer partitions, lower id), if it outranks it: a
 * follower's newcomer outranks any consumer's session, else it must have more partitions
 * and be of the same kind. So a consumer never pushes out a follower's session, old or
 * small, unless it went stale.
 */
static void test_fsess_eviction_a_follower_pushes_out_consumers_never_the_reverse(void **state)
{
    (void)state;
    struct brk_fsess_cache *c = cache_of(3, MIN, 1000);
    struct full two, three, four, one, fifty;
    int32_t ea = 1, eb = 1, ec = 1, ef = 1, eg = 1;
    full_of(&two, "a", 2);
    full_of(&three, "b", 3);
    full_of(&four, "c", 4);
    full_of(&one, "f", 1);
    full_of(&fifty, "z", 50);
    int32_t a = create(c, &two, 0), b = create(c, &three, 0), d = create(c, &four, 0);
    assert_true(a > 0 && b > 0 && d > 0);
    /* Full of young consumers' sessions: a bigger consumer is refused... */
    assert_int_equal(create(c, &fifty, 1), BRK_FSESS_NONE);
    /* ...a follower's, even of one partition, pushes out the smallest consumer's. */
    int32_t f = create_follower(c, &one, 2);
    assert_true(f > 0);
    assert_false(cached(c, a, &ea, 3));
    assert_true(cached(c, b, &eb, 3) && cached(c, d, &ec, 3) && cached(c, f, &ef, 3));
    /* A second follower's: consumers' go first (b, then d), a young follower's never. */
    int32_t g = create_follower(c, &one, 4);
    assert_true(g > 0);
    assert_false(cached(c, b, &eb, 5));
    assert_true(cached(c, f, &ef, 5));
    /* Later, all touched (none stale): d (4, consumer), f and g (1 each, followers), all
     * old enough. A consumer's newcomer of 50 takes d, the only one it outranks... */
    assert_true(cached(c, d, &ec, 2 * MIN) && cached(c, f, &ef, 2 * MIN) &&
                cached(c, g, &eg, 2 * MIN));
    int32_t h = create(c, &fifty, 2 * MIN + 1);
    assert_true(h > 0);
    assert_false(cached(c, d, &ec, 2 * MIN + 2));
    /* ...and a second one nothing: the old, small followers' sessions are out of its
     * reach (and so is h, young). */
    assert_int_equal(create(c, &fifty, 2 * MIN + 3), BRK_FSESS_NONE);
    assert_true(cached(c, f, &ef, 2 * MIN + 4) && cached(c, g, &eg, 2 * MIN + 4));
    /* A follower's newcomer pushes out h, young and big as it is (a consumer's goes
     * before any follower's); the next finds only followers' sessions, old f and g no
     * smaller than it, young k out of reach: refused. */
    int32_t k = create_follower(c, &one, 2 * MIN + 5);
    assert_true(k > 0);
    assert_true(cached(c, f, &ef, 2 * MIN + 6) && cached(c, g, &eg, 2 * MIN + 6));
    assert_int_equal(create_follower(c, &one, 2 * MIN + 7), BRK_FSESS_NONE);
    /* Stale goes first, whoever it is: k, a follower's, idle for longer than MIN. */
    assert_true(create(c, &one, 4 * MIN) > 0);
    int32_t ek = 1;
    assert_false(cached(c, k, &ek, 4 * MIN + 1));
    struct brk_fsess_stats st;
    brk__fsess_stats(c, &st);
    assert_int_equal(st.evictions, 5); /* a, b, d, h, one stale follower's */
    assert_int_equal(st.sessions, 3);
    brk__fsess_cache_destroy(c);

    /* The partition budget: a follower's newcomer pushes out young consumers' sessions
     * until it fits; a consumer's of the same size finds none it may push out. */
    c = cache_of(10, MIN, 10);
    full_of(&four, "c", 4);
    full_of(&three, "b", 3);
    struct full six;
    full_of(&six, "s", 6);
    a = create(c, &four, 0);
    b = create(c, &three, 0);
    assert_true(a > 0 && b > 0);
    assert_int_equal(create(c, &six, 1), BRK_FSESS_NONE);
    assert_true(create_follower(c, &six, 2) > 0); /* 7 + 6 > 10: b (3) goes, 4 + 6 fits */
    eb = 1;
    ea = 1;
    assert_false(cached(c, b, &eb, 3));
    assert_true(cached(c, a, &ea, 3));
    brk__fsess_stats(c, &st);
    assert_int_equal(st.partitions, 10);
    brk__fsess_cache_destroy(c);
}

/*
 * A follower's sessions end with its connection. The fetcher cuts its connection to add
 * a partition; a full Fetch answered just before the cut made a session whose id the
 * follower never read, so no later full Fetch closes it, and no one evicts a follower's
 * session until it is stale: before, creating 6,000 partitions left ~500 such sessions
 * on each leader. Closing the connection closes exactly that follower's sessions - a
 * leased one is freed when its lease ends - and leaves the others alone.
 */
static void test_fsess_a_followers_sessions_close_with_its_connection(void **state)
{
    (void)state;
    struct brk_fsess_cache *c = cache_of(10, 120000, 1000);
    struct full f;
    struct brk_fsess *s;
    struct brk_fsess_stats st;
    int16_t err;
    full_of(&f, "t", 4);
    int32_t lost = create_follower(c, &f, 0);  /* answered, never read: the leak */
    int32_t used = create_follower(c, &f, 1);  /* the one its next full Fetch made */
    int32_t other = brk__fsess_create(c, false, &other_follower_conn, 2, f.e, f.r, f.n);
    int32_t consumer = create(c, &f, 3);
    int32_t e_other = 1, e_consumer = 1;
    assert_true(lost > 0 && used > 0 && other > 0 && consumer > 0);
    assert_int_equal(begin(c, used, 1, 4, NULL, 0, NULL, 0, &s, &err), BRK_FSESS_INCREMENTAL);
    assert_int_equal(brk__fsess_close_follower(c, &follower_conn), 2);
    brk__fsess_stats(c, &st);
    assert_int_equal(st.sessions, 2);
    assert_int_equal(st.partitions, 8);
    brk__fsess_end(c, s); /* the leased one is freed here (ASan: no leak, no reuse) */
    int32_t e = 1;
    assert_false(cached(c, lost, &e, 5));
    e = 2;
    assert_false(cached(c, used, &e, 5));
    assert_true(cached(c, other, &e_other, 5));
    assert_true(cached(c, consumer, &e_consumer, 5));
    assert_int_equal(brk__fsess_close_follower(c, &follower_conn), 0);
    assert_int_equal(brk__fsess_close_follower(c, NULL), 0); /* consumers have no owner */
    assert_true(cached(c, consumer, &e_consumer, 6));
    brk__fsess_cache_destroy(c);
}

/* ---- threads ---------------------------------------------------------------------------- */

struct loop_arg {
    struct brk_fsess_cache *c;
    int seed;
    int bad;
};

/* One "network loop": makes sessions, fetches on them incrementally (settling each), and
 * now and then tries someone else's id or epoch. Every verdict must be a legal one. */
static void *loop_main(void *arg)
{
    struct loop_arg *la = arg;
    struct full f;
    char topic[8];
    snprintf(topic, sizeof(topic), "L%d", la->seed);
    full_of(&f, topic, 8 + la->seed);
    uint64_t rng = 0x9e3779b97f4a7c15ull * (uint64_t)(la->seed + 1);
    for (int round = 0; round < 300; round++) {
        int32_t id = la->seed == 0 ? create_follower(la->c, &f, round) /* privileged */
                                   : create(la->c, &f, round),
                epoch = 1;
        for (int i = 0; id > 0 && i < 20; i++) {
            struct brk_fsess *s;
            int16_t err;
            int32_t n;
            rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
            int32_t ask = rng % 7 == 0 ? (int32_t)(rng >> 33) : id; /* a stranger's id */
            int kind = begin(la->c, ask, epoch, round, NULL, 0, NULL, 0, &s, &err);
            if (kind == BRK_FSESS_ERROR) {
                la->bad += err != KP_ERR_FETCH_SESSION_ID_NOT_FOUND &&
                           err != KP_ERR_INVALID_FETCH_SESSION_EPOCH;
                if (ask == id && err == KP_ERR_FETCH_SESSION_ID_NOT_FOUND)
                    break; /* evicted by another loop */
                continue;
            }
            la->bad += kind != BRK_FSESS_INCREMENTAL;
            const struct brk_fsess_part *p = brk__fsess_parts(s, &n);
            struct brk_fsess_result r[64];
            bool inc[64];
            for (int32_t k = 0; k < n && k < 64; k++)
                r[k] = result((int32_t)(rng >> k & 1) * 10, p[k].hwm + 1, 0, 0, false);
            if (n <= 64)
                brk__fsess_settle(s, r, inc);
            if (ask == id)
                epoch = brk__fsess_next_epoch(epoch);
            brk__fsess_end(la->c, s);
        }
    }
    return NULL;
}

static void test_fsess_four_loops_share_one_cache(void **state)
{
    (void)state;
    struct brk_fsess_cache *c = cache_of(6, 3, 60);
    pthread_t t[4];
    struct loop_arg la[4];
    for (int i = 0; i < 4; i++) {
        la[i] = (struct loop_arg){c, i, 0};
        assert_int_equal(pthread_create(&t[i], NULL, loop_main, &la[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        assert_int_equal(pthread_join(t[i], NULL), 0);
        assert_int_equal(la[i].bad, 0);
    }
    struct brk_fsess_stats st;
    brk__fsess_stats(c, &st);
    assert_true(st.sessions <= 6);
    assert_true(st.partitions <= 60);
    assert_true(st.created > 0);
    printf("# %llu sessions made, %llu evicted, %llu incremental fetches\n",
           (unsigned long long)st.created, (unsigned long long)st.evictions,
           (unsigned long long)st.by_kind[BRK_FSESS_INCREMENTAL]);
    brk__fsess_cache_destroy(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fsess_create_then_incremental_updates_in_order),
        cmocka_unit_test(test_fsess_epochs_wrong_unknown_leased_and_closing),
        cmocka_unit_test(test_fsess_next_epoch_wraps_to_one),
        cmocka_unit_test(test_fsess_forget_drops_partitions_and_closes_when_empty),
        cmocka_unit_test(test_fsess_settle_answers_what_changed_and_rotates),
        cmocka_unit_test(test_fsess_eviction_stale_first_then_smaller_and_old_enough),
        cmocka_unit_test(test_fsess_partition_budget_bounds_every_session),
        cmocka_unit_test(test_fsess_evicted_while_leased_is_freed_at_the_end),
        cmocka_unit_test(test_fsess_a_big_session_grows_and_finds_every_partition),
        cmocka_unit_test(test_fsess_keeps_every_request_field_and_updates_them_all),
        cmocka_unit_test(test_fsess_settle_always_answers_a_diverging_epoch),
        cmocka_unit_test(test_fsess_a_replica_gets_a_session_unless_epoch_final),
        cmocka_unit_test(test_fsess_eviction_a_follower_pushes_out_consumers_never_the_reverse),
        cmocka_unit_test(test_fsess_a_followers_sessions_close_with_its_connection),
        cmocka_unit_test(test_fsess_four_loops_share_one_cache),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
