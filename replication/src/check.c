/*
 * check.c - the replication invariants, from observations only.
 *
 *   slots[offset]   the committed record at each offset, learnt from the first
 *                   observation that proves it committed (below a HW, acknowledged with
 *                   acks=all, or read by a consumer); every later one must match
 *   leaders[epoch]  who was seen leading each epoch
 *   seen[]          per replica incarnation: the last HW and leader epoch
 *
 * A checker that cannot fail proves nothing: the tests feed it histories with each kind
 * of violation (tests/test_check.c), and the pre-KIP-101 rule, run through the same
 * simulator, is caught losing an acknowledged record (tests/test_sim.c).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kc_common.h"
#include "repl_check.h"

struct repl_check_slot {
    struct repl_check_rec rec;
    uint8_t set;   /* committed: rec is the truth */
    uint8_t acked; /* acknowledged with acks=all */
};

struct repl_check_seen {
    int32_t replica;
    uint64_t incarnation;
    int64_t hw;
    int32_t epoch;
};

int repl_check_init(struct repl_check *c)
{
    memset(c, 0, sizeof(*c));
    c->max_epoch = -1;
    return 0;
}

void repl_check_fini(struct repl_check *c)
{
    free(c->slots);
    free(c->leaders);
    free(c->seen);
    memset(c, 0, sizeof(*c));
}

const char *repl_check_why(const struct repl_check *c)
{
    return c->why;
}

static int violation(struct repl_check *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int violation(struct repl_check *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->why, sizeof(c->why), fmt, ap);
    va_end(ap);
    c->err = KC_ECORRUPT;
    return c->err;
}

static int grow(void **v, int64_t *cap, int64_t need, size_t elem)
{
    if (need <= *cap)
        return 0;
    int64_t n = *cap ? *cap : 64;
    while (n < need)
        n *= 2;
    uint8_t *p = realloc(*v, (size_t)n * elem);
    if (!p)
        return -ENOMEM;
    memset(p + (size_t)*cap * elem, 0, (size_t)(n - *cap) * elem);
    *v = p;
    *cap = n;
    return 0;
}

static int slot_at(struct repl_check *c, int64_t offset, struct repl_check_slot **s)
{
    if (offset < 0)
        return -EINVAL;
    int rc = grow((void **)&c->slots, &c->cap_slots, offset + 1, sizeof(*c->slots));
    if (rc < 0)
        return rc;
    c->nslots = KC_MAX(c->nslots, offset + 1);
    *s = &c->slots[offset];
    return 0;
}

static bool same(const struct repl_check_rec *a, const struct repl_check_rec *b)
{
    return a->epoch == b->epoch && a->id == b->id;
}

/* `rec` at `offset` is committed, as `who` shows: learn it, or match what was learnt. */
static int learn(struct repl_check *c, int64_t offset, const struct repl_check_rec *rec,
                 const char *who)
{
    struct repl_check_slot *s;
    int rc = slot_at(c, offset, &s);
    if (rc < 0)
        return rc;
    if (!s->set) {
        s->rec = *rec;
        s->set = 1;
        return 0;
    }
    if (same(&s->rec, rec))
        return 0;
    return violation(c,
                     "I3: offset %" PRId64 " is (epoch %" PRId32 ", id %" PRIu64 ") for %s, "
                     "but (epoch %" PRId32 ", id %" PRIu64 ") was committed there%s",
                     offset, rec->epoch, rec->id, who, s->rec.epoch, s->rec.id,
                     s->acked ? " and acknowledged" : "");
}

int repl_check_acked(struct repl_check *c, int64_t offset, const struct repl_check_rec *rec)
{
    if (c->err)
        return c->err;
    int rc = learn(c, offset, rec, "an acks=all acknowledgement");
    if (rc == 0) {
        c->slots[offset].acked = 1;
        c->acked++;
    }
    return rc;
}

int repl_check_consumed(struct repl_check *c, int64_t offset, const struct repl_check_rec *rec)
{
    if (c->err)
        return c->err;
    int rc = learn(c, offset, rec, "a consumer");
    if (rc == 0)
        c->consumed++;
    return rc;
}

/* I1: one leader per epoch. */
static int check_leader(struct repl_check *c, const struct repl_check_view *v)
{
    if (v->role != REPL_ROLE_LEADER)
        return 0;
    if (v->leader_epoch < 0)
        return violation(c, "I1: replica %" PRId32 " leads with no epoch", v->replica);
    int64_t cap = c->nleaders;
    int rc = grow((void **)&c->leaders, &cap, (int64_t)v->leader_epoch + 1, sizeof(int32_t));
    if (rc < 0)
        return rc;
    for (int64_t e = c->nleaders; e < cap; e++)
        c->leaders[e] = -1;
    c->nleaders = (int32_t)cap;
    int32_t *who = &c->leaders[v->leader_epoch];
    if (*who >= 0 && *who != v->replica)
        return violation(c, "I1: epoch %" PRId32 " has two leaders, %" PRId32 " and %" PRId32,
                         v->leader_epoch, *who, v->replica);
    *who = v->replica;
    c->max_epoch = KC_MAX(c->max_epoch, v->leader_epoch);
    return 0;
}

/* I2: while a replica stays up, its HW and leader epoch only move forward. */
static int check_monotonic(struct repl_check *c, const struct repl_check_view *v)
{
    struct repl_check_seen *s = NULL;
    for (size_t i = 0; i < c->nseen && !s; i++)
        if (c->seen[i].replica == v->replica)
            s = &c->seen[i];
    if (!s) {
        int64_t cap = (int64_t)c->cap_seen;
        int rc = grow((void **)&c->seen, &cap, (int64_t)c->nseen + 1, sizeof(*c->seen));
        if (rc < 0)
            return rc;
        c->cap_seen = (size_t)cap;
        s = &c->seen[c->nseen++];
        *s = (struct repl_check_seen){v->replica, v->incarnation, v->hw, v->leader_epoch};
        return 0;
    }
    if (s->incarnation == v->incarnation) {
        if (v->hw < s->hw)
            return violation(c,
                             "I2: replica %" PRId32 "'s HW went back from %" PRId64 " to %" PRId64,
                             v->replica, s->hw, v->hw);
        if (v->leader_epoch < s->epoch)
            return violation(
                c, "I2: replica %" PRId32 "'s leader epoch went back from %" PRId32 " to %" PRId32,
                v->replica, s->epoch, v->leader_epoch);
    }
    *s = (struct repl_check_seen){v->replica, v->incarnation, v->hw, v->leader_epoch};
    return 0;
}

static int read_at(struct repl_check *c, const struct repl_check_view *v, int64_t offset,
                   struct repl_check_rec *rec)
{
    c->reads++;
    if (v->read(v->arg, offset, rec) < 0)
        return violation(c, "replica %" PRId32 " cannot read offset %" PRId64 " of its log",
                         v->replica, offset);
    return 0;
}

/* Every committed record at or after the log start must be in v's log, unchanged. */
static int holds_committed(struct repl_check *c, const struct repl_check_view *v, const char *rule)
{
    for (int64_t o = KC_MAX(v->log_start, 0); o < c->nslots; o++) {
        const struct repl_check_slot *s = &c->slots[o];
        if (!s->set)
            continue;
        if (o >= v->leo)
            return violation(c,
                             "%s: replica %" PRId32 " (epoch %" PRId32 ") ends at %" PRId64
                             " but offset %" PRId64 " was committed%s",
                             rule, v->replica, v->leader_epoch, v->leo, o,
                             s->acked ? " and acknowledged" : "");
        struct repl_check_rec rec;
        int rc = read_at(c, v, o, &rec);
        if (rc == 0 && !same(&rec, &s->rec))
            rc = violation(c,
                           "%s: replica %" PRId32 " has (epoch %" PRId32 ", id %" PRIu64
                           ") at %" PRId64 ", committed was (epoch %" PRId32 ", id %" PRIu64 ")",
                           rule, v->replica, rec.epoch, rec.id, o, s->rec.epoch, s->rec.id);
        if (rc)
            return rc;
    }
    return 0;
}

int repl_check_view(struct repl_check *c, const struct repl_check_view *v)
{
    if (c->err)
        return c->err;
    c->views++;
    int rc = check_leader(c, v);
    if (rc == 0)
        rc = check_monotonic(c, v);
    char who[64];
    snprintf(who, sizeof(who), "replica %" PRId32 " below its HW", v->replica);
    for (int64_t o = KC_MAX(v->log_start, 0); rc == 0 && o < KC_MIN(v->hw, v->leo); o++) {
        struct repl_check_rec rec;
        rc = read_at(c, v, o, &rec);
        if (rc == 0)
            rc = learn(c, o, &rec, who);
    }
    /* I4, for the leader of the newest epoch only: an older leader that has not heard of
     * its successor may lack what the successor committed since. */
    if (rc == 0 && v->role == REPL_ROLE_LEADER && v->leader_epoch >= c->max_epoch)
        rc = holds_committed(c, v, "I4");
    return rc;
}

int repl_check_complete(struct repl_check *c, const struct repl_check_view *v)
{
    if (c->err)
        return c->err;
    return holds_committed(c, v, "I5");
}
