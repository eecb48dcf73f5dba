/*
 * repl_fixture.h - building blocks for the replica tests: partition states, a leader with
 * records on disk, a follower's fetch.
 */
#ifndef REPL_FIXTURE_H
#define REPL_FIXTURE_H

#include "repl_replica.h"

/* A partition state: replicas 1..nreplicas in order, ISR given as a list (-1 ends it). */
struct repl_pstate fx_pstate(int32_t leader, int32_t leader_epoch, int32_t partition_epoch,
                             int nreplicas, const int32_t *isr);

#define FX_ISR(...) ((const int32_t[]){__VA_ARGS__, -1})

/* Replica `self` with lag 100 ms and min.insync.replicas `min_isr`, made leader of epoch
 * `epoch` over replicas 1..n with ISR `isr`, at time 0. Effects are cleared. */
void fx_leader(struct repl_replica *rp, int32_t self, int n, const int32_t *isr, int32_t epoch,
               int min_isr);

/* Append `count` records in the leader's epoch, and fsync them if `sync`. */
void fx_append(struct repl_replica *rp, int32_t count, int sync);

/* A follower's fetch as repl_follower_fetch_req would build it. */
struct repl_fetch_req fx_fetch(int32_t id, int32_t epoch, int32_t last_epoch, int64_t offset,
                               int64_t durable);

#endif
