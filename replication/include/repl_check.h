/*
 * repl_check.h - the replication invariants, checked from observations.
 *
 * The checker never looks inside a replica's state machine. It is told what clients saw
 * (an acks=all acknowledgement, a record a consumer read) and what each replica holds (a
 * view: role, epoch, HW, and a way to read its log), and it checks that together they
 * could only have come from a correct protocol:
 *
 *   I1  at most one leader per leader epoch, ever
 *   I2  on one replica, while it stays in service (one incarnation), the HW and the
 *       leader epoch never go backwards
 *   I3  every replica agrees on every offset below its HW: the same (epoch, record id)
 *       as every other replica below its HW, and as every consumer read there
 *   I4  the leader of the newest epoch holds every committed record, unchanged: anything
 *       ever below a HW, acknowledged with acks=all, or read by a consumer
 *   I5  at the end (repl_check_complete, after healing): every replica holds them too
 *
 * "Committed" is learnt: the first time an offset is seen below any HW, acknowledged or
 * consumed, its (epoch, id) becomes the truth every later observation must match. A
 * broker-level (Jepsen-style) checker works the same way: clients log what they were told,
 * an admin call dumps each broker's view, and the same five rules judge the history; only
 * the way views are read changes (repl_check_read_fn).
 *
 * Return values: 0, KC_ECORRUPT for a violation (the first is kept, in words, for
 * repl_check_why; later calls keep returning it), -ENOMEM. Not thread-safe.
 */
#ifndef REPL_CHECK_H
#define REPL_CHECK_H

#include <stddef.h>
#include <stdint.h>

#include "repl.h"

/* What a replica holds at one offset: the batch's leader epoch and the record's identity
 * (a producer-chosen id; in the broker, e.g. a hash of key and value). */
struct repl_check_rec {
    int32_t epoch;
    uint64_t id;
};

/* Read offset `offset` of a replica's log into *rec: 0, or < 0 when it cannot. */
typedef int (*repl_check_read_fn)(void *arg, int64_t offset, struct repl_check_rec *rec);

struct repl_check_view {
    int32_t replica;
    uint64_t incarnation; /* changes at every restart: I2 starts over */
    enum repl_role role;
    int32_t leader_epoch;
    int64_t log_start, leo, hw;
    repl_check_read_fn read;
    void *arg;
};

struct repl_check_slot; /* one offset's committed record */
struct repl_check_seen; /* one replica incarnation's last HW and epoch */

struct repl_check {
    struct repl_check_slot *slots; /* indexed by offset */
    int64_t nslots, cap_slots;
    int32_t *leaders; /* leaders[epoch], -1 = none seen */
    int32_t nleaders;
    int32_t max_epoch; /* newest leader epoch seen in a leader's view */
    struct repl_check_seen *seen;
    size_t nseen, cap_seen;
    /* What was checked, for the report. */
    uint64_t acked, consumed, views, reads;
    int err;
    char why[256];
};

int repl_check_init(struct repl_check *c);
void repl_check_fini(struct repl_check *c);

/* An acks=all acknowledgement of `rec` at `offset`; acks=1 promises nothing, so it is not
 * reported. */
int repl_check_acked(struct repl_check *c, int64_t offset, const struct repl_check_rec *rec);
/* A consumer read `rec` at `offset` (below the HW it was given). */
int repl_check_consumed(struct repl_check *c, int64_t offset, const struct repl_check_rec *rec);
/* A replica in service, now (I1-I4). */
int repl_check_view(struct repl_check *c, const struct repl_check_view *v);
/* The end of a run: this replica must hold every committed record (I5). */
int repl_check_complete(struct repl_check *c, const struct repl_check_view *v);

/* The first violation, in words; "" when none. */
const char *repl_check_why(const struct repl_check *c);

#endif
