/*
 * loadtest_int.h - the load test's state, shared by its producer threads (loadtest.c) and
 * the code that starts them, reports and verifies (loadtest_run.c).
 */
#ifndef LOADTEST_INT_H
#define LOADTEST_INT_H

#include <pthread.h>
#include <stdatomic.h>

#include "cli.h"
#include "kc_batch.h"

/* What every producer reads (immutable once started) and the counters they all bump. */
struct lt_shared {
    const struct cli_loadtest_opts *o;
    const struct cli *cli;    /* the address, timeout and security every connection uses */
    uint32_t run_id;          /* stamped in every value: --verify ignores other runs */
    pthread_mutex_t mu;       /* with cv: the start signal */
    pthread_cond_t cv;
    bool go;                  /* every connection is up: start together */
    _Atomic int running;      /* producers not yet finished */
    _Atomic int64_t acked;    /* records acknowledged (acks=0: sent) */
    _Atomic int64_t errors;   /* requests the broker refused */
    _Atomic bool abort;       /* one producer failed: the others stop */
};

/* One request in flight: answers arrive in order, so a ring is enough. */
struct lt_inflight {
    uint32_t corr;
    int32_t records;
    int64_t sent_ns;
};

struct lt_ring {
    struct lt_inflight *slot;
    uint64_t cap;  /* the window */
    uint64_t head; /* oldest unanswered */
    uint64_t tail; /* next free */
};

struct lt_producer {
    struct lt_shared *sh;
    int id;
    int64_t count;      /* records this producer sends */
    struct np_client client;
    bool connected;
    struct kc_batch_builder builder;
    uint8_t *value;     /* the value being built */
    int64_t *lat;       /* one latency sample (ns) per acknowledged request */
    size_t nlat;
    int64_t requests;
    int64_t end_ns;
    int rc;             /* first failure */
    char err[400];
    pthread_t thread;
};

/* Does v[0..len) carry the pattern after its stamp? */
bool lt__value_ok(const uint8_t *v, size_t len);

int lt__producer_init(struct lt_shared *sh, struct lt_producer *pr, int id);
void lt__producer_fini(struct lt_producer *pr);
void *lt__main(void *arg);

#endif
