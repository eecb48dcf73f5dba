/*
 * producer_state.c - what a partition remembers about each idempotent producer, and
 * Kafka's rules for judging its next batch (ProducerStateEntry, ProducerAppendInfo and
 * UnifiedLog.analyzeAndValidateProducerState, Kafka 3.9). No I/O, no locks: the caller
 * holds the log's append lock.
 *
 *   producer 7, epoch 0:  the last five batches, oldest first (a ring)
 *     [seq 0..4 @ 100..104] [seq 5..9 @ 105..109] [10..14 @ 120..124] [15..19 @ ...] [...]
 *
 *   a batch (epoch E, sequences F..L) arrives:
 *
 *     E == epoch and (F, L) is one of the five ---------------------> duplicate: answer its
 *                                                                      offsets, write nothing
 *     E <  epoch ---------------------------------------------------> KC_EFENCED (47)
 *     E >  epoch (a bumped epoch, or a producer seen for the first time)
 *         F == 0, or the log knows no epoch for it --------------------> accepted; the five
 *                                                                      are forgotten
 *         else --------------------------------------------------------> KC_ESEQUENCE (45)
 *     E == epoch
 *         F == the last batch's L + 1 (or 0 after INT32_MAX) ----------> accepted
 *         the producer is unknown (epoch -1) --------------------------> accepted
 *         else --------------------------------------------------------> KC_ESEQUENCE (45)
 *
 * Why "unknown producer: accept any sequence". Before Kafka 2.5 an unknown producer id
 * with a sequence other than 0 got UNKNOWN_PRODUCER_ID (59), and the client had to reset.
 * But state is lost innocently: it expires (producer.id.expiration.ms), or retention
 * deletes every batch a producer wrote and a restart rebuilds the state from what is
 * left. KIP-360 made the broker keep state longer and take such a producer's batch as it
 * comes; Kafka 3.9 never answers 59 to a Produce. The window of duplicates this opens is
 * the same one a restart from nothing would.
 *
 * Sequences are per record: a batch of 5 records at base sequence 10 covers 10..14, and
 * wraps past INT32_MAX to 0 (a producer that lives long enough sends that many).
 *
 * The table: open addressing with linear probing, keyed by producer id (ids are >= 0; -1
 * marks an empty slot), at most half full. A handful of producers write to a partition,
 * so a lookup is one or two probes; the hash spreads the consecutive ids InitProducerId
 * hands out.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "producer_int.h"
#include "kc_err.h"

#define NO_EPOCH    (-1)
#define NO_SEQUENCE (-1)
#define MIN_CAP     8u

int32_t alog__seq_add(int32_t seq, int32_t delta)
{
    if (seq > INT32_MAX - delta)
        return delta - (INT32_MAX - seq) - 1;
    return seq + delta;
}

/* Kafka's DefaultRecordBatch.decrementSequence: the first sequence of a batch. */
static int32_t seq_sub(int32_t seq, int32_t delta)
{
    if (seq < delta)
        return INT32_MAX - (delta - seq) + 1;
    return seq - delta;
}

/* Kafka's ProducerAppendInfo.inSequence. */
static bool in_sequence(int32_t last, int32_t next)
{
    return (int64_t)next == (int64_t)last + 1 || (next == 0 && last == INT32_MAX);
}

static uint32_t slot_of(int64_t id, uint32_t cap)
{
    uint64_t x = (uint64_t)id; /* splitmix64's finaliser */
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return (uint32_t)(x ^ (x >> 31)) & (cap - 1);
}

void alog__pstate_init(struct alog_pstate *ps)
{
    memset(ps, 0, sizeof(*ps));
    ps->snap_offset = -1;
}

void alog__pstate_fini(struct alog_pstate *ps)
{
    free(ps->slots);
    alog__pstate_init(ps);
}

void alog__pstate_clear(struct alog_pstate *ps)
{
    for (uint32_t i = 0; i < ps->cap; i++)
        ps->slots[i].id = -1;
    ps->count = 0;
    ps->dirty = true;
}

static struct alog__producer *find(const struct alog_pstate *ps, int64_t id)
{
    if (ps->count == 0)
        return NULL;
    for (uint32_t i = slot_of(id, ps->cap);; i = (i + 1) & (ps->cap - 1)) {
        if (ps->slots[i].id == id)
            return &ps->slots[i];
        if (ps->slots[i].id < 0)
            return NULL; /* at most half full: an empty slot always ends the probe */
    }
}

/* The slot for a producer not in the table (room reserved). */
static struct alog__producer *insert(struct alog_pstate *ps, int64_t id)
{
    uint32_t i = slot_of(id, ps->cap);
    while (ps->slots[i].id >= 0)
        i = (i + 1) & (ps->cap - 1);
    struct alog__producer *e = &ps->slots[i];
    memset(e, 0, sizeof(*e));
    e->id = id;
    e->epoch = NO_EPOCH;
    e->coordinator_epoch = -1;
    e->last_timestamp = -1;
    ps->count++;
    return e;
}

/* Rehash into a table of cap slots: 0 or -ENOMEM (the old table untouched). */
static int resize(struct alog_pstate *ps, uint32_t cap)
{
    struct alog__producer *slots = malloc((size_t)cap * sizeof(*slots));
    if (!slots)
        return -ENOMEM;
    for (uint32_t i = 0; i < cap; i++)
        slots[i].id = -1;
    struct alog_pstate grown = {.slots = slots, .cap = cap};
    for (uint32_t i = 0; i < ps->cap; i++) {
        if (ps->slots[i].id >= 0)
            *insert(&grown, ps->slots[i].id) = ps->slots[i];
    }
    free(ps->slots);
    ps->slots = slots;
    ps->cap = cap;
    return 0;
}

int alog__pstate_reserve(struct alog_pstate *ps)
{
    if ((ps->count + 1) * 2 <= ps->cap)
        return 0;
    if (ps->cap > UINT32_MAX / 4)
        return -ENOMEM;
    return resize(ps, ps->cap ? ps->cap * 2 : MIN_CAP);
}

static const struct alog__pbatch *batch_at(const struct alog__producer *e, int k)
{
    return &e->batches[(e->oldest + k) % ALOG_PRODUCER_BATCHES];
}

static void push_batch(struct alog__producer *e, const struct alog__pbatch *b)
{
    if (e->nbatches == ALOG_PRODUCER_BATCHES) {
        e->batches[e->oldest] = *b; /* the oldest makes room */
        e->oldest = (uint8_t)((e->oldest + 1) % ALOG_PRODUCER_BATCHES);
        return;
    }
    e->batches[(e->oldest + e->nbatches) % ALOG_PRODUCER_BATCHES] = *b;
    e->nbatches++;
}

/* Kafka's maybeUpdateProducerEpoch: a new epoch forgets the old epoch's batches. */
static void set_epoch(struct alog__producer *e, int16_t epoch)
{
    if (e->epoch == epoch)
        return;
    e->epoch = epoch;
    e->nbatches = 0;
    e->oldest = 0;
}

/* ProducerStateEntry.findDuplicateBatch: same epoch, the exact sequence range. */
static bool find_duplicate(const struct alog__producer *e, const struct kc_batch_header *h,
                           struct alog_appended *dup)
{
    if (h->producer_epoch != e->epoch)
        return false;
    int32_t last_seq = alog__seq_add(h->base_sequence, h->last_offset_delta);
    for (int k = 0; k < e->nbatches; k++) {
        const struct alog__pbatch *b = batch_at(e, k);
        if (b->first_seq == h->base_sequence && b->last_seq == last_seq) {
            *dup = (struct alog_appended){.base_offset = b->last_offset - b->offset_delta,
                                          .last_offset = b->last_offset,
                                          .timestamp = b->timestamp,
                                          .duplicate = true};
            return true;
        }
    }
    return false;
}

int alog__pstate_check(const struct alog_pstate *ps, const struct kc_batch_header *h,
                       struct alog_appended *dup)
{
    if (h->base_sequence < 0)
        return KC_EMALFORMED; /* LogValidator: "Invalid sequence number ... with producerId" */
    const struct alog__producer *e = find(ps, h->producer_id);
    if (e && find_duplicate(e, h, dup))
        return 1;
    int16_t epoch = e ? e->epoch : NO_EPOCH;
    if (h->producer_epoch < epoch)
        return KC_EFENCED;
    if (h->producer_epoch != epoch) /* a new epoch starts its sequences at 0 */
        return h->base_sequence != 0 && epoch != NO_EPOCH ? KC_ESEQUENCE : 0;
    if (epoch == NO_EPOCH)
        return 0; /* nothing known to compare with (KIP-360) */
    int32_t last = e->nbatches ? batch_at(e, e->nbatches - 1)->last_seq : NO_SEQUENCE;
    return in_sequence(last, h->base_sequence) ? 0 : KC_ESEQUENCE;
}

void alog__pstate_apply(struct alog_pstate *ps, const struct kc_batch_header *h)
{
    struct alog__producer *e = find(ps, h->producer_id);
    if (!e)
        e = insert(ps, h->producer_id); /* room reserved by the caller */
    set_epoch(e, h->producer_epoch);
    struct alog__pbatch b = {
        .first_seq = h->base_sequence,
        .last_seq = alog__seq_add(h->base_sequence, h->last_offset_delta),
        .offset_delta = h->last_offset_delta,
        .last_offset = h->base_offset + h->last_offset_delta,
        .timestamp = h->max_timestamp,
    };
    push_batch(e, &b);
    e->last_timestamp = h->max_timestamp;
    ps->dirty = true;
}

int alog__pstate_load_entry(struct alog_pstate *ps, const struct alog_snapshot_entry *se)
{
    if (se->producer_id < 0)
        return 0; /* no producer could ever write under it */
    struct alog__producer *e = find(ps, se->producer_id);
    if (!e) {
        if (alog__pstate_reserve(ps))
            return -ENOMEM;
        e = insert(ps, se->producer_id);
    }
    set_epoch(e, se->epoch);
    e->coordinator_epoch = se->coordinator_epoch;
    e->last_timestamp = se->timestamp;
    if (se->last_offset >= 0) {
        struct alog__pbatch b = {
            .first_seq = seq_sub(se->last_sequence, se->offset_delta),
            .last_seq = se->last_sequence,
            .offset_delta = se->offset_delta,
            .last_offset = se->last_offset,
            .timestamp = se->timestamp,
        };
        push_batch(e, &b);
    }
    return 0;
}

/* Kafka's isProducerExpired (no transactions here, so nothing keeps one alive). */
static bool expired(const struct alog__producer *e, int64_t now_ms, int64_t ms)
{
    return now_ms - e->last_timestamp >= ms;
}

int alog__pstate_expire(struct alog_pstate *ps, int64_t now_ms, int64_t ms)
{
    int n = 0;
    for (uint32_t i = 0; i < ps->cap; i++)
        n += ps->slots[i].id >= 0 && expired(&ps->slots[i], now_ms, ms);
    if (n == 0)
        return 0;
    /* Removing from a linear-probing table means closing the gaps behind each removed
     * slot; rebuilding the (small) table is simpler and as cheap. */
    struct alog__producer *slots = malloc((size_t)ps->cap * sizeof(*slots));
    if (!slots)
        return -ENOMEM;
    for (uint32_t i = 0; i < ps->cap; i++)
        slots[i].id = -1;
    struct alog_pstate kept = {.slots = slots, .cap = ps->cap};
    for (uint32_t i = 0; i < ps->cap; i++) {
        if (ps->slots[i].id >= 0 && !expired(&ps->slots[i], now_ms, ms))
            *insert(&kept, ps->slots[i].id) = ps->slots[i];
    }
    free(ps->slots);
    ps->slots = slots;
    ps->count = kept.count;
    ps->dirty = true;
    return n;
}

static int cmp_id(const void *a, const void *b)
{
    int64_t x = ((const struct alog_producer_info *)a)->producer_id;
    int64_t y = ((const struct alog_producer_info *)b)->producer_id;
    return (x > y) - (x < y);
}

int alog__pstate_list(const struct alog_pstate *ps, struct alog_producer_info *out, int cap)
{
    struct alog_producer_info *all = calloc(ps->count ? ps->count : 1, sizeof(*all));
    if (!all)
        return -ENOMEM;
    uint32_t n = 0;
    for (uint32_t i = 0; i < ps->cap; i++) {
        const struct alog__producer *e = &ps->slots[i];
        if (e->id < 0)
            continue;
        all[n++] = (struct alog_producer_info){
            .producer_id = e->id,
            .epoch = e->epoch,
            .last_sequence = e->nbatches ? batch_at(e, e->nbatches - 1)->last_seq : NO_SEQUENCE,
            .last_timestamp = e->last_timestamp,
            .coordinator_epoch = e->coordinator_epoch,
            .txn_start_offset = -1,
        };
    }
    qsort(all, n, sizeof(*all), cmp_id);
    if (cap > 0)
        memcpy(out, all, (size_t)(n < (uint32_t)cap ? n : (uint32_t)cap) * sizeof(*out));
    free(all);
    return (int)n;
}

static void entry_of(const struct alog__producer *e, const struct alog__pbatch *b,
                     struct alog_snapshot_entry *se)
{
    *se = (struct alog_snapshot_entry){
        .producer_id = e->id,
        .epoch = e->epoch,
        .last_sequence = b ? b->last_seq : NO_SEQUENCE,
        .last_offset = b ? b->last_offset : -1,
        .offset_delta = b ? b->offset_delta : 0,
        .timestamp = b ? b->timestamp : e->last_timestamp,
        .coordinator_epoch = e->coordinator_epoch,
        .txn_first_offset = -1,
    };
}

int alog__pstate_encode(const struct alog_pstate *ps, struct kc_writer *w)
{
    int32_t n = 0;
    for (uint32_t i = 0; i < ps->cap; i++) {
        const struct alog__producer *e = &ps->slots[i];
        if (e->id >= 0)
            n += e->nbatches ? e->nbatches : 1;
    }
    struct alog_snapshot_entry *all = calloc(n ? (size_t)n : 1, sizeof(*all));
    if (!all)
        return -ENOMEM;
    int32_t k = 0;
    for (uint32_t i = 0; i < ps->cap; i++) {
        const struct alog__producer *e = &ps->slots[i];
        if (e->id >= 0 && e->nbatches == 0)
            entry_of(e, NULL, &all[k++]);
        for (int j = 0; e->id >= 0 && j < e->nbatches; j++)
            entry_of(e, batch_at(e, j), &all[k++]);
    }
    int rc = alog_snapshot_encode(w, all, n);
    free(all);
    return rc;
}
