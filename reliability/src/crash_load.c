/*
 * crash_load.c - the load the broker is killed in the middle of: pipelining producers and a
 * committing consumer, each a thread with its own connection.
 *
 * A producer keeps up to `window` requests in flight: mostly produce-batch (1-16 records,
 * one random partition each), sometimes a single produce (command 1). Answers come back in
 * request order, so a FIFO of what is in flight tells which records each answer covers;
 * an answer out of that order is a violation in itself. When the broker is killed, the
 * connection fails and the thread leaves: what was in flight stays SENT (unknown).
 *
 * The consumer reads every partition from its committed position with consume-batch,
 * CRC-validates every batch it is served and checks every record value, and commits its
 * position (command 3, answered after fsync) now and then. A commit in flight at the kill
 * is remembered as pending: after the restart the group offset may be either.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crash_int.h"
#include "kc_common.h"

/* ---- record values ------------------------------------------------------------------- */

static uint64_t value_hash(uint64_t seed, int producer, uint64_t seq)
{
    uint64_t s = seed ^ ((uint64_t)producer << 56) ^ (seq * 0x9e3779b97f4a7c15ull);
    return rel_rand(&s);
}

int crl__value_make(uint8_t *buf, uint64_t seed, int producer, uint64_t seq)
{
    uint64_t h = value_hash(seed, producer, seq);
    uint8_t n = (uint8_t)(h % 120);
    memcpy(buf, "KCRL", 4);
    kc_store_be16(buf + 4, (uint16_t)producer);
    kc_store_be64(buf + 6, seq);
    buf[14] = n;
    for (int i = 0; i < n; i++)
        buf[15 + i] = (uint8_t)((h >> (8 * (i & 7))) ^ (uint64_t)i);
    return 15 + n;
}

int crl__value_parse(const uint8_t *p, int32_t len, uint64_t seed, int *producer, uint64_t *seq)
{
    uint8_t want[CRL_VALUE_MAX];
    if (!p || len < 15 || memcmp(p, "KCRL", 4) != 0)
        return -1;
    int pid = kc_load_be16(p + 4);
    uint64_t s = kc_load_be64(p + 6);
    int n = crl__value_make(want, seed, pid, s);
    if (n != len || memcmp(want, p, (size_t)n) != 0)
        return -1;
    *producer = pid;
    *seq = s;
    return 0;
}

int crl__reserve(struct crl_producer *pr, uint64_t seq)
{
    if (seq < pr->cap)
        return 0;
    uint64_t cap = KC_MAX(pr->cap * 2, 4096);
    while (cap <= seq)
        cap *= 2;
    struct crl_rec *r = reallocarray(pr->recs, cap, sizeof(*r));
    if (!r)
        return -ENOMEM;
    memset(r + pr->cap, 0, (cap - pr->cap) * sizeof(*r));
    pr->recs = r;
    pr->cap = cap;
    return 0;
}

/* ---- producers ----------------------------------------------------------------------- */

struct inflight {
    uint32_t corr;
    int32_t part;
    uint64_t first;
    int32_t n;
    bool single;
};

struct prod_ctx {
    struct crl_producer *pr;
    struct np_client c;
    struct kc_batch_builder bb;
    struct inflight q[CRL_MAX_WINDOW];
    int head, count;
};

/* Encode one request (records next_seq..) and put it in flight. */
static int prod_enqueue(struct prod_ctx *x)
{
    struct crl_producer *pr = x->pr;
    const struct rel_crash_opts *o = pr->run->o;
    uint8_t v[CRL_VALUE_MAX];
    struct inflight *in = &x->q[(x->head + x->count) % CRL_MAX_WINDOW];
    in->single = rel_rand(&pr->rng) % 4 == 0;
    in->n = in->single ? 1 : (int32_t)rel_rand_range(&pr->rng, 1, 16);
    in->n = (int32_t)KC_MIN((uint64_t)in->n, pr->limit - pr->next_seq);
    in->part = (int32_t)(rel_rand(&pr->rng) % (uint64_t)o->partitions);
    in->first = pr->next_seq;
    in->corr = np_client_next_corr(&x->c);
    if (crl__reserve(pr, pr->next_seq + (uint64_t)in->n))
        return -ENOMEM;
    kc_batch_builder_reset(&x->bb);
    for (int i = 0; i < in->n; i++) {
        uint64_t seq = pr->next_seq++;
        int vl = crl__value_make(v, o->seed, pr->id, seq);
        pr->recs[seq] =
            (struct crl_rec){.offset = -1, .state = CRL_SENT, .part = (uint8_t)in->part};
        if (in->single) {
            struct np_produce_req req = {np_str(CRL_TOPIC), in->part, (int16_t)o->acks, -1,
                                         {NULL, -1},        {v, vl}};
            np_encode_produce(np_client_out(&x->c), in->corr, &req);
        } else if (kc_batch_builder_add(&x->bb, kc_wall_ms(), NULL, -1, v, vl, NULL, 0)) {
            return -ENOMEM;
        }
    }
    if (!in->single) {
        uint8_t *batch;
        size_t len;
        if (kc_batch_builder_finish(&x->bb, &batch, &len))
            return -ENOMEM;
        struct np_produce_batch_req req = {
            np_str(CRL_TOPIC), in->part, (int16_t)o->acks, {batch, (int32_t)len}};
        np_encode_produce_batch(np_client_out(&x->c), in->corr, &req);
    }
    pr->sent += (uint64_t)in->n;
    x->count++;
    return kc_writer_error(np_client_out(&x->c));
}

/* The oldest request in flight got its answer f: mark its records. */
static int prod_answer(struct prod_ctx *x, const struct np_frame *f)
{
    struct crl_producer *pr = x->pr;
    struct inflight *in = &x->q[x->head];
    int64_t base = -1;
    int32_t part = -1, count = 1;
    x->head = (x->head + 1) % CRL_MAX_WINDOW;
    x->count--;
    if (f->h.corr != in->corr) {
        snprintf(pr->error, sizeof(pr->error), "producer %d: answer %u came where %u was due",
                 pr->id, f->h.corr, in->corr);
        return KC_ECORRUPT;
    }
    int rc = np_client_check(&x->c, f);
    if (np_is_err(rc)) {
        for (int i = 0; i < in->n; i++)
            pr->recs[in->first + (uint64_t)i].state = CRL_ERROR;
        pr->errors += (uint64_t)in->n;
        snprintf(pr->error, sizeof(pr->error), "producer %d: produce refused: %.200s", pr->id,
                 x->c.errmsg);
        return 0;
    }
    if (rc == 0 && in->single) {
        struct np_produce_resp r;
        rc = np_decode_produce_resp(f->body, f->body_len, &r);
        base = r.offset, part = r.partition;
    } else if (rc == 0) {
        struct np_produce_batch_resp r;
        rc = np_decode_produce_batch_resp(f->body, f->body_len, &r);
        base = r.base_offset, part = r.partition, count = r.count;
    }
    if (rc == 0 && (part != in->part || count != in->n || base < 0)) {
        snprintf(pr->error, sizeof(pr->error),
                 "producer %d: asked partition %d with %d records, answered %d with %d", pr->id,
                 in->part, in->n, part, count);
        return KC_ECORRUPT;
    }
    for (int i = 0; rc == 0 && i < in->n; i++) {
        struct crl_rec *rec = &pr->recs[in->first + (uint64_t)i];
        rec->state = CRL_ACKED;
        rec->offset = base + i;
    }
    pr->acked += rc == 0 ? (uint64_t)in->n : 0;
    return rc;
}

/* Pacing: spread the cycle's records over kill_max_ms, so that the kill, wherever it
 * lands, lands in the middle of the writing rather than after it. */
static bool prod_may_send(const struct prod_ctx *x, int64_t t0)
{
    const struct crl_producer *pr = x->pr;
    const struct rel_crash_opts *o = pr->run->o;
    uint64_t first = pr->limit - (uint64_t)o->records_per_cycle;
    int64_t allowed = (kc_mono_ms() - t0 + 1) * o->records_per_cycle / KC_MAX(o->kill_max_ms, 1);
    return pr->next_seq < pr->limit && pr->next_seq - first < (uint64_t)allowed + 16;
}

static void *producer_main(void *arg)
{
    struct prod_ctx *x = arg;
    struct crl_run *run = x->pr->run;
    struct np_frame f;
    int64_t t0 = kc_mono_ms();
    while (!atomic_load(&run->stop)) {
        while (x->count < run->o->window && prod_may_send(x, t0))
            if (prod_enqueue(x))
                goto out;
        if (x->count == 0) { /* ahead of the pace, or all written: wait */
            kc_sleep_ms(1);
            continue;
        }
        if (np_client_flush(&x->c) || np_client_recv(&x->c, &f) || prod_answer(x, &f) < 0)
            break; /* the broker died (or answered nonsense, noted in pr->error) */
    }
out:
    np_client_close(&x->c);
    kc_batch_builder_fini(&x->bb);
    free(x);
    return NULL;
}

/* ---- the consumer -------------------------------------------------------------------- */

/* Check the batches served for partition p from cs->pos[p]; advance pos. 0 or KC_ECORRUPT. */
static int cons_check(struct crl_consumer *cs, int32_t p, const struct kc_slice *recs)
{
    const struct rel_crash_opts *o = cs->run->o;
    size_t at = 0, len = (size_t)recs->len;
    while (at < len) {
        struct kc_record_iter it;
        struct kc_record rec;
        int size = kc_batch_validate(recs->p + at, len - at, NULL), prod, rc;
        uint64_t seq;
        if (size <= 0 || kc_record_iter_init(&it, recs->p + at, (size_t)size) != 0) {
            snprintf(cs->error, sizeof(cs->error),
                     "consumer: partition %d served a bad batch "
                     "at byte %zu of a fetch from %lld: %s",
                     p, at, (long long)cs->pos[p], kc_strerror(size <= 0 ? size : KC_EMALFORMED));
            return KC_ECORRUPT;
        }
        while ((rc = kc_record_iter_next(&it, &rec)) == 1) {
            if (rec.offset < cs->pos[p])
                continue; /* the first batch may begin before the position */
            if (rec.offset != cs->pos[p] ||
                crl__value_parse(rec.value, rec.value_len, o->seed, &prod, &seq) != 0) {
                snprintf(cs->error, sizeof(cs->error),
                         "consumer: partition %d offset %lld "
                         "(expected %lld) holds a record nobody wrote",
                         p, (long long)rec.offset, (long long)cs->pos[p]);
                return KC_ECORRUPT;
            }
            cs->pos[p]++;
            cs->live_checked++;
        }
        at += (size_t)size;
    }
    return 0;
}

/* One round over the partitions; 1 if anything new was read, 0 if not, < 0 to stop. */
static int cons_round(struct crl_consumer *cs, struct np_client *c)
{
    const struct rel_crash_opts *o = cs->run->o;
    int progress = 0;
    for (int32_t p = 0; p < o->partitions; p++) {
        struct np_consume_batch_resp br;
        struct np_consume_batch_req q = {np_str(CRL_TOPIC), p, cs->pos[p], 500, 64 << 10, 0};
        int64_t before = cs->pos[p];
        int rc = np_client_consume_batch(c, &q, &br);
        if (rc == NP_ERR(NP_E_OFFSET_OUT_OF_RANGE)) { /* committed past a power cut */
            cs->pos[p] = c->err_log_end;
            continue;
        }
        if (rc || (rc = cons_check(cs, p, &br.records)) != 0)
            return rc;
        if (cs->pos[p] == before)
            continue;
        progress = 1;
        if (rel_rand(&cs->rng) % 3)
            continue;
        struct np_commit_req cm = {np_str(CRL_GROUP), np_str(CRL_TOPIC), p, cs->pos[p], {NULL, -1}};
        cs->pending[p] = cs->pos[p];
        if ((rc = np_client_commit(c, &cm)) != 0)
            return rc;
        cs->acked[p] = cs->pos[p];
        cs->pending[p] = -2;
        cs->commits_acked++;
    }
    return progress;
}

static void *consumer_main(void *arg)
{
    struct crl_consumer *cs = arg;
    struct np_client c;
    if (np_client_connect(&c, cs->run->b.addr, CRL_CONNECT_MS) != 0)
        return NULL; /* killed before we got there */
    c.timeout_ms = CRL_IO_MS;
    for (int p = 0; p < cs->run->o->partitions; p++)
        cs->pos[p] = KC_MAX(cs->acked[p], 0);
    while (!atomic_load(&cs->run->stop)) {
        int rc = cons_round(cs, &c);
        if (rc == KC_ECORRUPT)
            cs->corrupt++;
        if (rc < 0)
            break;
        if (rc == 0)
            kc_sleep_ms(2);
    }
    np_client_close(&c);
    return NULL;
}

/* ---- start and join ------------------------------------------------------------------- */

static int prod_start(struct crl_producer *pr)
{
    struct prod_ctx *x = calloc(1, sizeof(*x));
    if (!x)
        return -ENOMEM;
    x->pr = pr;
    kc_batch_builder_init(&x->bb, NULL, 0);
    int rc = np_client_connect(&x->c, pr->run->b.addr, CRL_CONNECT_MS);
    if (rc == 0) {
        x->c.timeout_ms = CRL_IO_MS;
        rc = -pthread_create(&pr->thread, NULL, producer_main, x);
        if (rc == 0)
            return 0;
        np_client_close(&x->c);
    }
    kc_batch_builder_fini(&x->bb);
    free(x);
    return rc;
}

int crl__load_start(struct crl_run *run)
{
    const struct rel_crash_opts *o = run->o;
    atomic_store(&run->stop, 0);
    for (int i = 0; i < o->producers; i++) {
        struct crl_producer *pr = &run->prod[i];
        pr->limit = pr->next_seq + (uint64_t)o->records_per_cycle;
        pr->sent = pr->acked = pr->errors = 0;
        pr->rng = rel_rand(&run->rng);
        int rc = prod_start(pr);
        if (rc)
            return rc; /* crl__load_join still joins those that started */
        pr->started = true;
    }
    run->cons.rng = rel_rand(&run->rng);
    int rc = -pthread_create(&run->cons.thread, NULL, consumer_main, &run->cons);
    run->cons.started = rc == 0;
    return rc;
}

void crl__load_join(struct crl_run *run)
{
    atomic_store(&run->stop, 1);
    for (int i = 0; i < run->o->producers; i++) {
        if (run->prod[i].started)
            (void)pthread_join(run->prod[i].thread, NULL); /* our own thread: cannot fail */
        run->prod[i].started = false;
    }
    if (run->cons.started)
        (void)pthread_join(run->cons.thread, NULL);
    run->cons.started = false;
}
