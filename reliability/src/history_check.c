/*
 * history_check.c - judging a history (rel_history.h): every anomaly is found by sorting
 * the observations one way and reading neighbours, so a history of millions of events is
 * judged in O(n log n) with a few arrays and no hash table.
 *
 *   observations  every (key, offset, value) a producer was acknowledged at or a consumer
 *                 read: sorted by (key, offset, value) they show INCONSISTENT offsets;
 *                 sorted by (value, offset) they show DUPLICATEs
 *   sends         one per value, sorted by value: what each read must match (PHANTOM,
 *                 FAILED_READ), and what each acknowledgement promised (LOST)
 *   runs          each consumer's polls of a key between seeks, in its order: NONMONOTONIC
 *                 and SKIP against the offsets anyone read; and the ranges the runs
 *                 covered, which is where a missing acknowledged value counts as LOST
 *
 * LOST is judged only where the reads looked: an acknowledged offset inside a range some
 * consumer polled through (from its seek, or first poll, to its last poll), or below a
 * drain's end (a final reader read the key whole), whose value nobody ever read anywhere.
 * An acknowledged offset at or past a drain's end is lost too: the log ends before it.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "kc_common.h"
#include "rel_history.h"

static const char *const kind_names[REL_HIST_NKINDS] = {
    "lost", "duplicate", "inconsistent", "nonmonotonic",
    "skip", "phantom",   "failed-read",  "reordered",
};

const char *rel_hist_kind_name(enum rel_hist_kind k)
{
    return (unsigned)k < REL_HIST_NKINDS ? kind_names[k] : "?";
}

enum send_state { SENT, ACKED, FAILED, UNKNOWN };

struct send {
    uint64_t value;
    int32_t proc, key;
    enum send_state state;
    int64_t offset; /* ACKED: where */
    int64_t line;   /* of the send */
    bool read;      /* some poll read it */
    int16_t err;    /* FAILED, UNKNOWN: the error's index + 1 in the history's names; 0 */
};

struct obs {
    int32_t key;
    bool ack; /* an acknowledgement; else a read */
    int64_t offset;
    uint64_t value;
    int64_t line;
};

struct drain {
    int32_t key;
    int64_t end;
};

struct range {
    int32_t key;
    int64_t lo, hi; /* [lo, hi] polled through */
};

struct ctx {
    const struct rel_hist *h;
    struct rel_hist_result *r;
    struct send *sends;
    size_t nsends;
    struct obs *obs;
    size_t nobs;
    struct obs *reads; /* the reads among obs, sorted by (key, offset): known offsets */
    size_t nreads;
    struct range *ranges;
    size_t nranges;
    struct drain *drains; /* sorted by key, one per key: the largest end */
    size_t ndrains;
};

#define CMP(a, b) ((a) < (b) ? -1 : (a) > (b))

static void note(struct ctx *c, enum rel_hist_kind k, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void note(struct ctx *c, enum rel_hist_kind k, const char *fmt, ...)
{
    int64_t i = c->r->count[k]++;
    if (i >= REL_HIST_EXAMPLES)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->r->example[k][i], sizeof(c->r->example[k][i]), fmt, ap);
    va_end(ap);
}

static int cmp_send_value(const void *a, const void *b)
{
    return CMP(((const struct send *)a)->value, ((const struct send *)b)->value);
}

static struct send *find_send(const struct ctx *c, uint64_t value)
{
    struct send key = {.value = value};
    return bsearch(&key, c->sends, c->nsends, sizeof(key), cmp_send_value);
}

static int cmp_drain(const void *a, const void *b)
{
    const struct drain *x = a, *y = b;
    int d = CMP(x->key, y->key);
    return d ? d : CMP(x->end, y->end);
}

/* The end a drain read key up to, or -1 if none drained it. */
static int64_t drain_end(const struct ctx *c, int32_t key)
{
    size_t l = 0, r = c->ndrains;
    while (l < r) {
        size_t m = l + (r - l) / 2;
        if (c->drains[m].key < key)
            l = m + 1;
        else
            r = m;
    }
    return l < c->ndrains && c->drains[l].key == key ? c->drains[l].end : -1;
}

/* Sort the drains and keep each key's largest end. */
static void merge_drains(struct ctx *c)
{
    size_t n = 0;
    qsort(c->drains, c->ndrains, sizeof(*c->drains), cmp_drain);
    for (size_t i = 0; i < c->ndrains; i++) {
        if (n > 0 && c->drains[n - 1].key == c->drains[i].key)
            n--; /* sorted by end too: the later one is larger */
        c->drains[n++] = c->drains[i];
    }
    c->ndrains = n;
}

/* The sends, one per value, and what became of each. -EINVAL: a value sent twice, or an
 * outcome for a value never sent (to that key). */
static int collect_sends(struct ctx *c, char *err, size_t cap)
{
    const struct rel_hist *h = c->h;
    for (size_t i = 0; i < h->n; i++)
        if (h->ev[i].op == REL_OP_SEND)
            c->sends[c->nsends++] = (struct send){h->ev[i].value, h->ev[i].proc, h->ev[i].key,
                                                  SENT, -1, h->ev[i].line, false, 0};
    qsort(c->sends, c->nsends, sizeof(*c->sends), cmp_send_value);
    for (size_t i = 1; i < c->nsends; i++)
        if (c->sends[i].value == c->sends[i - 1].value)
            return snprintf(err, cap, "line %lld: value %llu was sent before (line %lld)",
                            (long long)KC_MAX(c->sends[i].line, c->sends[i - 1].line),
                            (unsigned long long)c->sends[i].value,
                            (long long)KC_MIN(c->sends[i].line, c->sends[i - 1].line)),
                   -EINVAL;
    for (size_t i = 0; i < h->n; i++) {
        const struct rel_hist_event *e = &h->ev[i];
        if (e->op != REL_OP_OK && e->op != REL_OP_FAIL && e->op != REL_OP_INFO)
            continue;
        struct send *s = find_send(c, e->value);
        if (!s || s->key != e->key)
            return snprintf(err, cap, "line %lld: an outcome for value %llu, never sent to key %d",
                            (long long)e->line, (unsigned long long)e->value, e->key),
                   -EINVAL;
        s->state = e->op == REL_OP_OK ? ACKED : e->op == REL_OP_FAIL ? FAILED : UNKNOWN;
        s->offset = e->op == REL_OP_OK ? e->offset : -1;
        s->err = e->err;
    }
    return 0;
}

bool rel_hist_err_ambiguous(const char *name)
{
    static const char *const open_outcome[] = {
        "REQUEST_TIMED_OUT",
        "NOT_ENOUGH_REPLICAS_AFTER_APPEND",
        "NOT_LEADER_OR_FOLLOWER",
        "NOT_LEADER_FOR_PARTITION", /* librdkafka's name for NOT_LEADER_OR_FOLLOWER */
    };
    for (size_t i = 0; name && i < KC_ARRAY_SIZE(open_outcome); i++)
        if (!strcmp(name, open_outcome[i]))
            return true;
    return false;
}

/* The table of refusals by error: its names, then each FAIL counted under its own. */
static void count_refusals(struct ctx *c)
{
    struct rel_hist_result *r = c->r;
    r->nby_err = c->h->nerrs + 1;
    for (int i = 0; i < c->h->nerrs; i++) {
        memcpy(r->by_err[i + 1].name, c->h->errs[i], REL_HIST_ERR_LEN);
        r->by_err[i + 1].ambiguous = rel_hist_err_ambiguous(c->h->errs[i]);
    }
    for (size_t i = 0; i < c->nsends; i++)
        if (c->sends[i].state == FAILED)
            r->by_err[c->sends[i].err].refused++;
}

static int cmp_obs_offset(const void *a, const void *b)
{
    const struct obs *x = a, *y = b;
    int d = CMP(x->key, y->key);
    d = d ? d : CMP(x->offset, y->offset);
    return d ? d : CMP(x->value, y->value);
}

static int cmp_obs_value(const void *a, const void *b)
{
    const struct obs *x = a, *y = b;
    int d = CMP(x->value, y->value);
    return d ? d : CMP(x->offset, y->offset);
}

/* One offset, two values: each (key, offset) holding more than one value, once. */
static void check_inconsistent(struct ctx *c)
{
    qsort(c->obs, c->nobs, sizeof(*c->obs), cmp_obs_offset);
    for (size_t i = 0, j; i < c->nobs; i = j) {
        const struct obs *a = &c->obs[i], *b = NULL;
        for (j = i + 1; j < c->nobs && c->obs[j].key == a->key && c->obs[j].offset == a->offset;
             j++)
            if (!b && c->obs[j].value != a->value)
                b = &c->obs[j];
        if (b)
            note(c, REL_HIST_INCONSISTENT,
                 "key %d offset %lld: value %llu (line %lld, %s) and %llu (line %lld, %s)", a->key,
                 (long long)a->offset, (unsigned long long)a->value, (long long)a->line,
                 a->ack ? "ack" : "read", (unsigned long long)b->value, (long long)b->line,
                 b->ack ? "ack" : "read");
    }
}

/* One value, two offsets: each value seen at more than one offset, once. */
static void check_duplicate(struct ctx *c)
{
    qsort(c->obs, c->nobs, sizeof(*c->obs), cmp_obs_value);
    for (size_t i = 0, j; i < c->nobs; i = j) {
        const struct obs *a = &c->obs[i], *b = NULL;
        for (j = i + 1; j < c->nobs && c->obs[j].value == a->value; j++)
            if (!b && c->obs[j].offset != a->offset)
                b = &c->obs[j];
        if (b)
            note(c, REL_HIST_DUPLICATE, "value %llu at key %d offset %lld (line %lld) and "
                 "key %d offset %lld (line %lld)", (unsigned long long)a->value, a->key,
                 (long long)a->offset, (long long)a->line, b->key, (long long)b->offset,
                 (long long)b->line);
    }
}

/* A refused value read: counted under its error; an anomaly unless the error leaves the
 * outcome open (then counted apart: rel_hist_err_ambiguous). */
static void failed_read(struct ctx *c, const struct obs *o, const struct send *s)
{
    struct rel_hist_err_count *e = &c->r->by_err[s->err];
    e->read++;
    if (e->ambiguous) {
        c->r->refused_ambiguous_read++;
        return;
    }
    note(c, REL_HIST_FAILED_READ, "key %d offset %lld: value %llu (line %lld) was refused "
         "(sent line %lld; %s)", o->key, (long long)o->offset, (unsigned long long)o->value,
         (long long)o->line, (long long)s->line, s->err ? e->name : "no error named");
}

/* What each read must match: a value sent to that key, and not refused. */
static void check_reads(struct ctx *c)
{
    for (size_t i = 0; i < c->nreads; i++) {
        const struct obs *o = &c->reads[i];
        struct send *s = find_send(c, o->value);
        if (!s || s->key != o->key) {
            note(c, REL_HIST_PHANTOM, "key %d offset %lld: value %llu (line %lld) was never "
                 "sent to key %d", o->key, (long long)o->offset, (unsigned long long)o->value,
                 (long long)o->line, o->key);
            continue;
        }
        if (s->state == FAILED && !s->read)
            failed_read(c, o, s);
        if (s->state == UNKNOWN && !s->read)
            c->r->indeterminate_read++;
        s->read = true;
    }
}

/* The first read of c->reads at or after (key, offset). */
static size_t lower_bound(const struct ctx *c, int32_t key, int64_t offset)
{
    struct obs at = {.key = key, .offset = offset, .value = 0};
    size_t l = 0, r = c->nreads;
    while (l < r) {
        size_t m = l + (r - l) / 2;
        if (cmp_obs_offset(&c->reads[m], &at) < 0)
            l = m + 1;
        else
            r = m;
    }
    return l;
}

/* Did anyone read an offset of key in [lo, hi)? */
static bool read_between(const struct ctx *c, int32_t key, int64_t lo, int64_t hi)
{
    size_t i = lower_bound(c, key, lo);
    return i < c->nreads && c->reads[i].key == key && c->reads[i].offset < hi;
}

static int cmp_event_run(const void *a, const void *b)
{
    const struct rel_hist_event *x = *(const struct rel_hist_event *const *)a;
    const struct rel_hist_event *y = *(const struct rel_hist_event *const *)b;
    int d = CMP(x->proc, y->proc);
    d = d ? d : CMP(x->key, y->key);
    return d ? d : CMP(x, y); /* the order they happened in on that process */
}

/* The end of one run of polls: the range it covered. */
static void run_end(struct ctx *c, int32_t key, int64_t lo, int64_t hi)
{
    if (lo >= 0 && hi >= lo)
        c->ranges[c->nranges++] = (struct range){key, lo, hi};
}

/*
 * Each consumer's polls of a key, in its order. `from` is where the run started (a seek's
 * offset, or the first poll's), `last` the last offset polled (-1: none yet). A poll at or
 * below `last` goes backwards; a poll past an offset someone read, between `last` (or the
 * seek) and itself, skipped it.
 */
static void check_runs(struct ctx *c, const struct rel_hist_event **ev, size_t n)
{
    int64_t from = -1, last = -1, seek = -1;
    for (size_t i = 0; i < n; i++) {
        const struct rel_hist_event *e = ev[i];
        bool same = i > 0 && ev[i - 1]->proc == e->proc && ev[i - 1]->key == e->key;
        if (!same || e->op == REL_OP_SEEK) {
            if (i > 0)
                run_end(c, ev[i - 1]->key, from, last);
            from = last = -1;
            seek = e->op == REL_OP_SEEK ? e->offset : -1;
            if (e->op == REL_OP_SEEK) {
                from = e->offset;
                continue;
            }
        }
        if (last >= 0 && e->offset <= last)
            note(c, REL_HIST_NONMONOTONIC, "process %d key %d: offset %lld (line %lld) after "
                 "%lld", e->proc, e->key, (long long)e->offset, (long long)e->line,
                 (long long)last);
        else if ((last >= 0 || seek >= 0) &&
                 read_between(c, e->key, last >= 0 ? last + 1 : seek, e->offset))
            note(c, REL_HIST_SKIP, "process %d key %d: offset %lld (line %lld) after %s %lld, "
                 "over offsets others read", e->proc, e->key, (long long)e->offset,
                 (long long)e->line, last >= 0 ? "offset" : "a seek to", (long long)(last >= 0 ? last : seek));
        if (from < 0)
            from = e->offset;
        last = KC_MAX(last, e->offset);
    }
    if (n > 0)
        run_end(c, ev[n - 1]->key, from, last);
}

static int cmp_range(const void *a, const void *b)
{
    const struct range *x = a, *y = b;
    int d = CMP(x->key, y->key);
    return d ? d : CMP(x->lo, y->lo);
}

/* Was offset of key inside a range some consumer polled through? (ranges sorted, and
 * merged so that they do not overlap) */
static bool covered(const struct ctx *c, int32_t key, int64_t offset)
{
    size_t l = 0, r = c->nranges;
    while (l < r) { /* the first range starting after offset */
        size_t m = l + (r - l) / 2;
        const struct range *g = &c->ranges[m];
        if (g->key < key || (g->key == key && g->lo <= offset))
            l = m + 1;
        else
            r = m;
    }
    return l > 0 && c->ranges[l - 1].key == key && c->ranges[l - 1].hi >= offset;
}

static void merge_ranges(struct ctx *c)
{
    size_t n = 0;
    qsort(c->ranges, c->nranges, sizeof(*c->ranges), cmp_range);
    for (size_t i = 0; i < c->nranges; i++) {
        struct range *g = &c->ranges[i];
        if (n > 0 && c->ranges[n - 1].key == g->key && g->lo <= c->ranges[n - 1].hi + 1)
            c->ranges[n - 1].hi = KC_MAX(c->ranges[n - 1].hi, g->hi);
        else
            c->ranges[n++] = *g;
    }
    c->nranges = n;
}

/* A value consumers saw is committed: a read past the log's final end lost it (once per
 * value; one acknowledged there is counted by check_acks). */
static void check_vanished(struct ctx *c)
{
    for (size_t i = 0; i < c->nreads; i++) {
        const struct obs *o = &c->reads[i];
        const struct send *s = find_send(c, o->value);
        int64_t drain = drain_end(c, o->key);
        bool first = i == 0 || cmp_obs_offset(&c->reads[i - 1], o) != 0;
        if (drain < 0 || o->offset < drain || !first ||
            (s && s->state == ACKED && s->offset == o->offset))
            continue;
        note(c, REL_HIST_LOST, "key %d value %llu: read at offset %lld (line %lld), the log "
             "ends at %lld", o->key, (unsigned long long)o->value, (long long)o->offset,
             (long long)o->line, (long long)drain);
    }
}

/* Every acknowledged value that the reads should have met and never did; and each
 * producer's acknowledged offsets of a key in the order it sent them. */
static void check_acks(struct ctx *c)
{
    for (size_t i = 0; i < c->nsends; i++) {
        const struct send *s = &c->sends[i];
        int64_t drain = drain_end(c, s->key);
        if (s->state != ACKED || (s->read && (drain < 0 || s->offset < drain)))
            continue;
        if (drain >= 0 && s->offset >= drain)
            note(c, REL_HIST_LOST, "key %d value %llu: acknowledged at offset %lld (sent line "
                 "%lld), the log ends at %lld", s->key, (unsigned long long)s->value,
                 (long long)s->offset, (long long)s->line, (long long)drain);
        else if (drain >= 0 || covered(c, s->key, s->offset))
            note(c, REL_HIST_LOST, "key %d value %llu: acknowledged at offset %lld (sent line "
                 "%lld), never read though reads covered it", s->key,
                 (unsigned long long)s->value, (long long)s->offset, (long long)s->line);
    }
}

static int cmp_send_order(const void *a, const void *b)
{
    const struct send *x = *(const struct send *const *)a, *y = *(const struct send *const *)b;
    int d = CMP(x->proc, y->proc);
    d = d ? d : CMP(x->key, y->key);
    return d ? d : CMP(x->line, y->line);
}

/* One producer's acknowledged offsets of one key must grow in the order it sent. */
static int check_reordered(struct ctx *c)
{
    const struct send **by = malloc(KC_MAX(c->nsends, (size_t)1) * sizeof(*by));
    if (!by)
        return -ENOMEM;
    size_t n = 0;
    for (size_t i = 0; i < c->nsends; i++)
        if (c->sends[i].state == ACKED)
            by[n++] = &c->sends[i];
    qsort(by, n, sizeof(*by), cmp_send_order);
    for (size_t i = 1; i < n; i++)
        if (by[i]->proc == by[i - 1]->proc && by[i]->key == by[i - 1]->key &&
            by[i]->offset <= by[i - 1]->offset)
            note(c, REL_HIST_REORDERED, "process %d key %d: value %llu (sent line %lld) "
                 "acknowledged at %lld, not after %llu's %lld", by[i]->proc, by[i]->key,
                 (unsigned long long)by[i]->value, (long long)by[i]->line,
                 (long long)by[i]->offset, (unsigned long long)by[i - 1]->value,
                 (long long)by[i - 1]->offset);
    free(by);
    return 0;
}

/* The observations (acks and reads), the reads alone, the drains, the counts. */
static void collect_obs(struct ctx *c)
{
    struct rel_hist_result *r = c->r;
    for (size_t i = 0; i < c->h->n; i++) {
        const struct rel_hist_event *e = &c->h->ev[i];
        bool ack = e->op == REL_OP_OK;
        if (e->op == REL_OP_DRAIN)
            c->drains[c->ndrains++] = (struct drain){e->key, e->offset};
        if (ack || e->op == REL_OP_POLL) {
            struct obs o = {e->key, ack, e->offset, e->value, e->line};
            c->obs[c->nobs++] = o;
            if (!ack)
                c->reads[c->nreads++] = o;
        }
        r->sends += e->op == REL_OP_SEND;
        r->acked += ack;
        r->failed += e->op == REL_OP_FAIL;
        r->indeterminate += e->op == REL_OP_INFO;
        r->polls += e->op == REL_OP_POLL;
    }
    qsort(c->reads, c->nreads, sizeof(*c->reads), cmp_obs_offset);
    merge_drains(c);
}

static int cmp_i32(const void *a, const void *b)
{
    return CMP(*(const int32_t *)a, *(const int32_t *)b);
}

/* How many keys the history names. -ENOMEM. */
static int count_keys(struct ctx *c)
{
    int32_t *k = malloc(KC_MAX(c->h->n, (size_t)1) * sizeof(*k));
    if (!k)
        return -ENOMEM;
    for (size_t i = 0; i < c->h->n; i++)
        k[i] = c->h->ev[i].key;
    qsort(k, c->h->n, sizeof(*k), cmp_i32);
    for (size_t i = 0; i < c->h->n; i++)
        c->r->keys += i == 0 || k[i] != k[i - 1];
    free(k);
    return 0;
}

/* The polls and seeks grouped by (process, key), each group in its process's order. */
static int check_all_runs(struct ctx *c)
{
    const struct rel_hist_event **ev = malloc(KC_MAX(c->h->n, (size_t)1) * sizeof(*ev));
    if (!ev)
        return -ENOMEM;
    size_t n = 0;
    for (size_t i = 0; i < c->h->n; i++)
        if (c->h->ev[i].op == REL_OP_POLL || c->h->ev[i].op == REL_OP_SEEK)
            ev[n++] = &c->h->ev[i];
    qsort(ev, n, sizeof(*ev), cmp_event_run);
    check_runs(c, ev, n);
    free(ev);
    merge_ranges(c);
    return 0;
}

static void ctx_free(struct ctx *c)
{
    free(c->sends);
    free(c->obs);
    free(c->reads);
    free(c->ranges);
    free(c->drains);
}

static int ctx_alloc(struct ctx *c)
{
    size_t n = KC_MAX(c->h->n, (size_t)1);
    c->sends = malloc(n * sizeof(*c->sends));
    c->obs = malloc(n * sizeof(*c->obs));
    c->reads = malloc(n * sizeof(*c->reads));
    c->ranges = malloc(n * sizeof(*c->ranges));
    c->drains = malloc(n * sizeof(*c->drains));
    if (!c->sends || !c->obs || !c->reads || !c->ranges || !c->drains)
        return -ENOMEM;
    return 0;
}

int rel_hist_check(const struct rel_hist *h, struct rel_hist_result *out, char *err, size_t cap)
{
    struct ctx c = {.h = h, .r = out};
    memset(out, 0, sizeof(*out));
    int rc = ctx_alloc(&c);
    if (rc == 0)
        rc = collect_sends(&c, err, cap);
    if (rc == 0) {
        collect_obs(&c);
        rc = count_keys(&c);
    }
    if (rc == 0) {
        count_refusals(&c);
        check_inconsistent(&c);
        check_duplicate(&c);
        check_reads(&c);
        rc = check_all_runs(&c);
    }
    if (rc == 0) {
        check_acks(&c);
        check_vanished(&c);
        rc = check_reordered(&c);
    }
    if (rc == -ENOMEM)
        snprintf(err, cap, "out of memory for %zu events", h->n);
    ctx_free(&c);
    return rc;
}

int64_t rel_hist_anomalies(const struct rel_hist_result *r)
{
    int64_t n = 0;
    for (int k = 0; k < REL_HIST_NKINDS; k++)
        n += r->count[k];
    return n;
}

void rel_hist_print(const struct rel_hist_result *r, FILE *f)
{
    fprintf(f, "history: %lld sends (%lld acknowledged, %lld refused, %lld indeterminate, "
            "%lld of those read), %lld records polled, %lld keys\n", (long long)r->sends,
            (long long)r->acked, (long long)r->failed, (long long)r->indeterminate,
            (long long)r->indeterminate_read, (long long)r->polls, (long long)r->keys);
    for (int i = 0; i < r->nby_err; i++)
        if (r->by_err[i].refused)
            fprintf(f, "  refused %s: %lld, of those read %lld%s\n",
                    i ? r->by_err[i].name : "(no error named)", (long long)r->by_err[i].refused,
                    (long long)r->by_err[i].read,
                    r->by_err[i].ambiguous ? " (an error Kafka gives after the append: the "
                                             "outcome is open, not an anomaly)" : "");
    if (r->refused_ambiguous_read)
        fprintf(f, "  refused with an open outcome, yet written: %lld (counted apart)\n",
                (long long)r->refused_ambiguous_read);
    for (int k = 0; k < REL_HIST_NKINDS; k++)
        fprintf(f, "  %-13s %lld\n", kind_names[k], (long long)r->count[k]);
    for (int k = 0; k < REL_HIST_NKINDS; k++)
        for (int i = 0; i < REL_HIST_EXAMPLES && i < r->count[k]; i++)
            fprintf(f, "  %s: %s\n", kind_names[k], r->example[k][i]);
}
