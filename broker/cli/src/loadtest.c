/*
 * loadtest.c - `test <topic> <count>`: how fast does the broker acknowledge records?
 *
 * The original load test sent records nobody acknowledged and printed a count. This one
 * measures what a producer experiences:
 *
 *   producer thread 1 ──conn──>  [req][req][req]...[req]   window W requests in flight
 *                     <──────   [ack][ack]...               answers in order; each one's
 *   producer thread 2 ──conn──>  ...                         latency = now - its send time
 *
 * Each producer owns one connection and keeps up to `window` requests in flight (pipelining):
 * it encodes requests into the client's buffer, sends them with one write, then reads every
 * answer that has arrived before refilling the window. With acks=0 there are no answers; the
 * producer streams and ends with a ping, whose answer proves every record was processed.
 *
 * Every value starts with a 16-byte stamp (run id, producer, sequence number) and continues
 * with a fixed pattern, so --verify can read the topic back and check that each record is
 * there exactly once, intact, and in order per producer within its partition.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli_int.h"
#include "kc_common.h"
#include "loadtest_int.h"

#define LT_STAMP     16
#define LT_OUT_FLUSH (256u << 10) /* acks=0: send once this much is encoded */

void cli_loadtest_opts_init(struct cli_loadtest_opts *o)
{
    memset(o, 0, sizeof(*o));
    o->count = 10000;
    o->size = 100;
    o->batch = 1;
    o->acks = NP_ACKS_LEADER;
    o->producers = 1;
    o->window = 64;
}

static uint8_t lt_pattern(size_t i)
{
    return (uint8_t)('a' + i % 26);
}

/* The value of record seq of producer p: stamp, then the pattern. */
static void lt_value(const struct lt_shared *sh, struct lt_producer *pr, int64_t seq)
{
    uint8_t stamp[LT_STAMP];
    kc_store_be32(stamp, sh->run_id);
    kc_store_be32(stamp + 4, (uint32_t)pr->id);
    kc_store_be64(stamp + 8, (uint64_t)seq);
    memcpy(pr->value, stamp, KC_MIN((size_t)sh->o->size, sizeof(stamp)));
}

bool lt__value_ok(const uint8_t *v, size_t len)
{
    for (size_t i = LT_STAMP; i < len; i++)
        if (v[i] != lt_pattern(i))
            return false;
    return true;
}

/* Encode one request carrying records [seq, seq + n). */
static int lt_encode(struct lt_shared *sh, struct lt_producer *pr, int64_t seq, int32_t n)
{
    const struct cli_loadtest_opts *o = sh->o;
    struct kc_writer *w = np_client_out(&pr->client);
    uint32_t corr = np_client_next_corr(&pr->client);
    struct kc_slice topic = np_str(o->topic);
    if (o->batch == 1) {
        lt_value(sh, pr, seq);
        struct np_produce_req req = {topic, -1, o->acks, -1, {NULL, -1},
                                     {pr->value, o->size}};
        np_encode_produce(w, corr, &req);
        return kc_writer_error(w);
    }
    uint8_t *batch;
    size_t len;
    int64_t now = kc_wall_ms();
    kc_batch_builder_reset(&pr->builder);
    for (int32_t i = 0; i < n; i++) {
        lt_value(sh, pr, seq + i);
        int rc = kc_batch_builder_add(&pr->builder, now, NULL, -1, pr->value, o->size, NULL, 0);
        if (rc)
            return rc;
    }
    int rc = kc_batch_builder_finish(&pr->builder, &batch, &len);
    if (rc)
        return rc;
    struct np_produce_batch_req req = {topic, -1, o->acks, {batch, (int32_t)len}};
    np_encode_produce_batch(w, corr, &req);
    return kc_writer_error(w);
}

static int lt_fail(struct lt_producer *pr, int rc, const char *what)
{
    if (pr->rc == 0) {
        pr->rc = rc;
        snprintf(pr->err, sizeof(pr->err), "producer %d: %.64s: %.64s%s%.200s", pr->id, what,
                 np_strerror(rc), pr->client.errmsg[0] ? ": " : "", pr->client.errmsg);
    }
    atomic_store(&pr->sh->abort, true);
    return rc;
}

/* Take one answer: check it is the oldest request's, time it, count its records. */
static int lt_take(struct lt_shared *sh, struct lt_producer *pr, struct lt_ring *ring)
{
    struct np_frame f;
    int rc = np_client_recv(&pr->client, &f);
    if (rc)
        return lt_fail(pr, rc, "receiving");
    struct lt_inflight *in = &ring->slot[ring->head % ring->cap];
    if (f.h.corr != in->corr)
        return lt_fail(pr, KC_EMALFORMED, "answer out of order");
    if ((rc = np_client_check(&pr->client, &f)) != 0) {
        atomic_fetch_add(&sh->errors, 1);
        return lt_fail(pr, rc, "the broker refused a request");
    }
    pr->lat[pr->nlat++] = kc_mono_ns() - in->sent_ns;
    atomic_fetch_add(&sh->acked, in->records);
    ring->head++;
    return 0;
}

static int lt_run_acked(struct lt_shared *sh, struct lt_producer *pr, struct lt_ring *ring)
{
    int64_t seq = 0;
    int rc = 0;
    while (rc == 0 && (seq < pr->count || ring->tail != ring->head)) {
        if (atomic_load(&sh->abort))
            return -ECANCELED;
        while (rc == 0 && seq < pr->count && ring->tail - ring->head < ring->cap) {
            int32_t n = (int32_t)KC_MIN((int64_t)sh->o->batch, pr->count - seq);
            struct lt_inflight *in = &ring->slot[ring->tail % ring->cap];
            in->corr = pr->client.next_corr;
            in->records = n;
            in->sent_ns = kc_mono_ns();
            if ((rc = lt_encode(sh, pr, seq, n)) != 0)
                return lt_fail(pr, rc, "encoding");
            ring->tail++;
            seq += n;
            pr->requests++;
        }
        if ((rc = np_client_flush(&pr->client)) != 0)
            return lt_fail(pr, rc, "sending");
        rc = lt_take(sh, pr, ring);
        while (rc == 0 && ring->tail != ring->head && np_client_buffered(&pr->client))
            rc = lt_take(sh, pr, ring);
    }
    return rc;
}

static int lt_run_acks0(struct lt_shared *sh, struct lt_producer *pr)
{
    int rc = 0;
    for (int64_t seq = 0; rc == 0 && seq < pr->count;) {
        int32_t n = (int32_t)KC_MIN((int64_t)sh->o->batch, pr->count - seq);
        if ((rc = lt_encode(sh, pr, seq, n)) != 0)
            return lt_fail(pr, rc, "encoding");
        seq += n;
        pr->requests++;
        if (kc_writer_len(np_client_out(&pr->client)) >= LT_OUT_FLUSH || seq == pr->count) {
            if ((rc = np_client_flush(&pr->client)) != 0)
                return lt_fail(pr, rc, "sending");
        }
        atomic_fetch_add(&sh->acked, n); /* "sent": with acks=0 that is all there is */
        if (atomic_load(&sh->abort))
            return -ECANCELED;
    }
    if ((rc = np_client_ping(&pr->client, NULL, -1)) != 0) /* the barrier */
        return lt_fail(pr, rc, "waiting for the broker to process acks=0 records");
    if (pr->client.async_err)
        return lt_fail(pr, pr->client.async_err, pr->client.async_errmsg);
    return 0;
}

void *lt__main(void *arg)
{
    struct lt_producer *pr = arg;
    struct lt_shared *sh = pr->sh;
    struct lt_ring ring = {0};
    int rc = 0;
    ring.cap = (uint64_t)sh->o->window;
    ring.slot = calloc(ring.cap, sizeof(*ring.slot));
    if (!ring.slot)
        rc = lt_fail(pr, -ENOMEM, "allocating");
    pthread_mutex_lock(&sh->mu); /* every connection is up: start together */
    while (!sh->go)
        pthread_cond_wait(&sh->cv, &sh->mu);
    pthread_mutex_unlock(&sh->mu);
    if (rc == 0 && pr->connected)
        rc = sh->o->acks == NP_ACKS_NONE ? lt_run_acks0(sh, pr) : lt_run_acked(sh, pr, &ring);
    pr->end_ns = kc_mono_ns();
    atomic_fetch_sub(&sh->running, 1);
    free(ring.slot);
    (void)rc; /* recorded in pr->rc by lt_fail */
    return NULL;
}

int lt__producer_init(struct lt_shared *sh, struct lt_producer *pr, int id)
{
    const struct cli_loadtest_opts *o = sh->o;
    int64_t share = o->count / o->producers, extra = o->count % o->producers;
    memset(pr, 0, sizeof(*pr));
    pr->sh = sh;
    pr->id = id;
    pr->count = share + (id < extra);
    pr->value = malloc((size_t)o->size + 1);
    pr->lat = malloc(sizeof(int64_t) * (size_t)(pr->count / o->batch + 2));
    if (!pr->value || !pr->lat)
        return -ENOMEM;
    for (int32_t i = 0; i < o->size; i++)
        pr->value[i] = lt_pattern((size_t)i);
    kc_batch_builder_init(&pr->builder, NULL, 0);
    char why[768];
    int st = cli__open(sh->cli, &pr->client, why, sizeof(why)); /* TCP, TLS, SASL */
    if (st != CLI_OK) {
        np_client_close(&pr->client);
        snprintf(pr->err, sizeof(pr->err), "producer %d: %.380s", id, why);
        pr->rc = st == CLI_EAUTH ? -EACCES : -ECONNREFUSED;
        atomic_store(&sh->abort, true);
        return pr->rc;
    }
    pr->connected = true;
    return 0;
}

void lt__producer_fini(struct lt_producer *pr)
{
    if (pr->connected)
        np_client_close(&pr->client);
    kc_batch_builder_fini(&pr->builder);
    free(pr->value);
    free(pr->lat);
}
