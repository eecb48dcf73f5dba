/*
 * crash_int.h - the crash loop's private parts: the model of every record sent, the load
 * threads, the verifier (see rel_crash.h for what the loop proves).
 *
 * The model. Each producer numbers its records 0, 1, 2, ... (its seq) across all cycles
 * and remembers, per record, the partition it went to, what became of it, and the offset
 * it was acknowledged (or first found) at:
 *
 *   UNSENT -> SENT --answer--> ACKED --found after a restart--> KEPT (forever after)
 *               \---error----> ERROR          \--missing-------> GONE (must never return)
 *
 * A record value carries its own identity and a payload derived from it, so a reader can
 * tell a record it never wrote, or a damaged one, without the model:
 *
 *   "KCRL" | producer u16 | seq u64 | payload len u8 | payload (derived from seed, producer, seq)
 */
#ifndef CRASH_INT_H
#define CRASH_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "flt.h"
#include "np_client.h"
#include "rel.h"
#include "rel_crash.h"

#define CRL_TOPIC         "crash"
#define CRL_GROUP         "crash-group"
#define CRL_MAX_PRODUCERS 16
#define CRL_MAX_PARTS     64
#define CRL_MAX_WINDOW    64
#define CRL_VALUE_MAX     (15 + 255)
#define CRL_CONNECT_MS    5000
#define CRL_IO_MS         20000 /* a silent broker is a failure, not a hang */
#define CRL_START_MS      60000 /* recovery of a big log under sanitizers takes a while */

enum crl_state { CRL_UNSENT, CRL_SENT, CRL_ERROR, CRL_ACKED, CRL_KEPT, CRL_GONE };

struct crl_rec {
    int64_t offset; /* acknowledged at (ACKED), found at (KEPT); else -1 */
    uint8_t state;  /* enum crl_state */
    uint8_t part;
    uint8_t seen; /* times found by the current verification */
};

struct crl_run;

struct crl_producer {
    int id;
    struct crl_run *run;
    pthread_t thread;
    bool started;
    struct crl_rec *recs; /* indexed by seq; owned by the thread during a load */
    uint64_t cap;
    uint64_t next_seq;
    uint64_t limit; /* next_seq stops here this cycle */
    uint64_t rng;
    uint64_t sent, acked, errors; /* this cycle */
    char error[256];              /* a violation seen by the thread (answers out of order ...) */
};

struct crl_consumer {
    struct crl_run *run;
    pthread_t thread;
    bool started;
    uint64_t rng;
    int64_t pos[CRL_MAX_PARTS];
    int64_t acked[CRL_MAX_PARTS];   /* last acknowledged commit (-1 none) */
    int64_t pending[CRL_MAX_PARTS]; /* sent, not acknowledged at the kill (-2 none) */
    uint64_t live_checked, commits_acked, corrupt;
    char error[256];
};

struct crl_run {
    const struct rel_crash_opts *o;
    struct rel_crash_result *r;
    struct rel_broker b;
    struct flt_ctl *ctl; /* the power-cut model's table (NULL without a power cut) */
    uint64_t rng;
    int cycle;
    atomic_int stop; /* set once the broker is killed: idle threads leave */
    struct crl_producer prod[CRL_MAX_PRODUCERS];
    struct crl_consumer cons;
    int64_t *restart_ms; /* per cycle, for the median */
};

/* The record value of (producer, seq) into buf[CRL_VALUE_MAX]; its length. */
int crl__value_make(uint8_t *buf, uint64_t seed, int producer, uint64_t seq);
/* 0 and (producer, seq) if p[0..len) is exactly such a value, intact; else -1. */
int crl__value_parse(const uint8_t *p, int32_t len, uint64_t seed, int *producer, uint64_t *seq);

/* Make room for seq in a producer's model; -ENOMEM. */
int crl__reserve(struct crl_producer *pr, uint64_t seq);

/* Start / join the load threads (producers + consumer) against run->b.addr. */
int crl__load_start(struct crl_run *run);
void crl__load_join(struct crl_run *run);

/* Read the whole topic back and check it against the model; check the group offsets;
 * update the model (ACKED/SENT -> KEPT or GONE). 0, KC_ECORRUPT (a violation, r->error
 * set) or -errno (the broker could not be read). */
int crl__verify(struct crl_run *run);

/* Record the first violation in r->error (printf-style) and return KC_ECORRUPT. */
int crl__violation(struct crl_run *run, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The power cut: cut what was never fsynced from every .log under run->b.data. */
int crl__powercut(struct crl_run *run);

#endif
