/*
 * repl_sim_int.h - what sim.c and sim_life.c share.
 */
#ifndef REPL_SIM_INT_H
#define REPL_SIM_INT_H

#include "repl_sim.h"

void repl__sim_trace(struct repl_sim *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
uint64_t repl__sim_rand(struct repl_sim *s);
/* Run a controller event: records into the journal and replayed. The event's answer
 * (> 0), 0, or < 0. */
int repl__sim_event(struct repl_sim *s, const struct repl_event *ev);
/* Answer every parked produce whose node can now say yes or no. */
int repl__sim_acks(struct repl_sim *s);
/* Drain a node's effects: epoch checkpoint, ISR proposal, parked acks. */
int repl__sim_effects(struct repl_sim *s, struct repl_sim_node *n);
int repl__sim_truncate(struct repl_sim *s, struct repl_sim_node *n, int64_t offset,
                       const char *why);

#endif
