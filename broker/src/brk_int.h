/*
 * brk_int.h - the broker core's own structures, shared by its source files (server.c,
 * conn.c, fetch.c, produce.c, offsets.c, topics.c). Protocol handlers use brk_service.h.
 */
#ifndef BRK_INT_H
#define BRK_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <sys/queue.h>

#include "brk.h"
#include "brk_config.h"
#include "brk_params.h"
#include "brk_service.h"
#include "kc_common.h"
#include "zc.h"

/* ---- partition state: who waits for data on which partition (fetch.c) ------------------ */

struct brk_pstate {
    struct alog *log;
    pthread_mutex_t mu;                       /* guards links */
    LIST_HEAD(, brk_wait_link) links;         /* long-polls watching this partition */
    struct brk_pstate *next;                  /* bucket chain */
};

struct brk_pstates {
    pthread_rwlock_t lock;                    /* guards the chains (entries never go away) */
    struct brk_pstate *buckets[BRK_PSTATE_BUCKETS];
};

int brk__pstates_init(struct brk_pstates *t);
void brk__pstates_fini(struct brk_pstates *t);
/* After an append to log: wake the long-polls it satisfies. Any thread; cheap when nobody
 * waits anywhere (one atomic load). */
void brk__fetch_notify(struct brk_server *srv, struct alog *log);
/* Finish a connection's long-polls now (shutdown, or the connection died). Loop thread. */
void brk__waits_cancel(struct brk_conn *c, enum brk_wait_reason reason);

/* ---- the offsets store (offsets.c) ------------------------------------------------------ */

struct brk_offsets;
/* Create __consumer_offsets if missing and replay it into memory; *count gets the number of
 * offsets found. */
int brk__offsets_open(struct brk_offsets **out, struct brk_server *srv, int64_t *count);
void brk__offsets_close(struct brk_offsets *os);

/* ---- connections (conn.c) --------------------------------------------------------------- */

/* One piece of a parked response: memory, or a file range (slice != NULL). */
struct brk_piece {
    uint8_t *mem;
    size_t len;
    struct alog_slice *slice;
};

struct brk_slot {
    STAILQ_ENTRY(brk_slot) link;
    bool parked;            /* waiting for brk_slot_ready */
    struct kc_writer w;     /* bytes written since the last piece */
    struct brk_piece *pieces;
    int npieces;
    int cap;
};

struct brk_loop;

struct brk_conn {
    LIST_ENTRY(brk_conn) link;      /* in its loop's list */
    struct brk_loop *bl;
    struct brk_server *srv;
    int fd;
    char peer[64];
    const struct brk_proto *proto;  /* NULL until the first frame chose one */
    void *state;                    /* the handler's */
    uint8_t *in;                    /* received, not yet served */
    size_t in_len;
    size_t in_cap;
    struct zc_out out;              /* committed to the socket, in order */
    struct kc_writer wbuf;          /* ready responses not yet handed to out */
    STAILQ_HEAD(, brk_slot) slots;  /* responses behind a parked one, in order */
    int nslots;
    LIST_HEAD(, brk_wait) waits;    /* its parked long-polls */
    int refs;                       /* 1 while open + async callbacks due + callbacks running */
    int64_t last_active_ms;
    uint32_t events;                /* what the loop watches for */
    bool watched;                   /* registered with the loop */
    bool paused;                    /* not reading: too much unsent output or queued work */
    bool serving;                   /* inside conn_serve_buffered (no re-entry) */
    bool closing;                   /* serve nothing more; close once everything is sent */
    bool linger;                    /* after sending, shut the write side and wait for EOF */
    bool lingering;
    bool dead;                      /* fd closed; memory kept until refs reach 0 */
    struct tcore_task adopt;        /* the hand-over from the accepting loop */
    struct tcore_timer linger_timer;
};

/* A network loop and the connections it owns. */
struct brk_loop {
    struct brk_server *srv;
    int index;
    struct tcore_loop *loop;
    struct tcore_thread *thread;
    LIST_HEAD(, brk_conn) conns;
    struct tcore_timer sweep;       /* idle connections */
    struct tcore_task drain_task;   /* shutdown begins */
    struct tcore_timer accept_pause; /* loop 0: accept again after EMFILE */
    bool draining;
};

/* A new connection accepted by loop 0: pick a loop, hand it over. Loop 0's thread. */
void brk__conn_accepted(struct brk_server *srv, struct brk_loop *from, int fd);
/* Take back brk_async_begin's promise when the callback will not come after all (called
 * on the loop, while the connection is held by the caller). */
void brk__async_cancel(struct brk_async *a);
/* Close now: drop output, finish its waits (alive = false), free when refs allow. */
void brk__conn_kill(struct brk_conn *c, const char *why);
/* The idle sweep of one loop, and the start of shutdown on it. Loop thread. */
void brk__loop_sweep(struct tcore_loop *loop, struct tcore_timer *t);
void brk__loop_drain(struct tcore_loop *loop, struct tcore_task *task);
/* Free every connection still on bl (after its thread stopped). */
void brk__loop_free_conns(struct brk_loop *bl);

/* ---- the server ------------------------------------------------------------------------- */

struct brk_server {
    struct brk_config cfg;
    char host[256];                 /* what clients are told to connect to */
    int port;                       /* the bound port (the real one after --port 0) */
    int adv_port;                   /* the advertised port (Metadata, FindCoordinator) */
    struct alog_flusher *flusher;
    struct part_registry *reg;
    struct brk_offsets *offsets;
    struct brk_pstates pstates;
    atomic_int nwaiting;            /* parked long-polls, server-wide */
    struct brk_loop *loops;
    int nloops;
    int lfd;                        /* listening socket, owned by loop 0 */
    atomic_uint next_loop;          /* round-robin for new connections */
    atomic_int nconns;              /* connections not yet freed */
    atomic_bool draining;           /* shutdown has begun */
    int stopfd;                     /* eventfd: brk_server_stop */
    int sigfd;                      /* signalfd: SIGINT, SIGTERM */
    const struct brk_proto *kafka_proto; /* the Kafka handler, when it exists */
    void *kafka;                    /* its server-wide state (group coordinator) */
    struct brk_server_info info;
};

#endif
