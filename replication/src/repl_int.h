/*
 * repl_int.h - what replication's source files share and nothing outside them includes.
 */
#ifndef REPL_INT_H
#define REPL_INT_H

#include <stdbool.h>
#include <stdint.h>

#include "repl_ctl.h"
#include "repl_replica.h"

/* replica.c */
bool repl__pstate_valid(const struct repl_pstate *ps);
struct repl_peer *repl__peer(struct repl_replica *rp, int32_t id);
/* Recompute the leader's HW from the maximal ISR; sets REPL_FX_HW when it moves. */
void repl__leader_update_hw(struct repl_replica *rp);
/* How long a replica whose addition was refused waits to be proposed again (leader.c). */
int64_t repl__expand_retry_ms(const struct repl_replica *rp);
/* Our log lost a tail (leader_cut): propose a new epoch with the ISR as it is, unless a
 * proposal is in flight (its answer asks again). leader.c. */
void repl__leader_want_epoch(struct repl_replica *rp);
/* Reset the leader's view of its followers for a new leader epoch. */
void repl__leader_reset_peers(struct repl_replica *rp, int64_t now_ms);

/* ctl_elect.c: the election rule shared by every event. */
bool repl__broker_live(const struct repl_ctl *ctl, int32_t id);
/* First replica in assignment order that is live, not `excluded`, and in `isr`; or
 * REPL_NO_LEADER. */
int32_t repl__best_leader(const struct repl_ctl *ctl, const struct repl_pstate *ps,
                          const int32_t *isr, int nisr, int32_t excluded);
/* Copy of isr without `id`. */
int repl__isr_without(const int32_t *isr, int nisr, int32_t id, int32_t *out);
/* Append a PARTITION record for `next` (a change of topic/partition). */
int repl__emit_part(const struct repl_ctl *ctl, struct repl_recs *out, const char *topic,
                    int32_t partition, const struct repl_pstate *next);
int repl__emit(struct repl_recs *out, const struct repl_rec *rec);

/* ctl_elect.c: the handlers that elect. */
int repl__ctl_broker_registered(const struct repl_ctl *ctl, const struct repl_event *ev,
                                struct repl_recs *out);
int repl__ctl_broker_lost(const struct repl_ctl *ctl, int32_t id, int64_t epoch,
                          struct repl_recs *out);
int repl__ctl_broker_shutdown(const struct repl_ctl *ctl, const struct repl_event *ev,
                              struct repl_recs *out);
int repl__ctl_preferred(const struct repl_ctl *ctl, struct repl_recs *out);
int repl__ctl_elect_leaders(const struct repl_ctl *ctl, const struct repl_event *ev,
                            struct repl_recs *out);
int repl__ctl_elect_offline(const struct repl_ctl *ctl, int32_t newly_live, struct repl_recs *out);

/* A 64-bit mix (splitmix64's finaliser): stable pseudo-random numbers from a seed. */
static inline uint64_t repl__mix(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

#endif
