/*
 * brk_int.h - the core's own structures, shared by its source files. Adapters never
 * include this: they see brk_adapter.h and brk_service.h.
 *
 *   struct brk_server            one per process
 *     listeners[]                the main one (shared by the adapters that claim) + others
 *     adapters[]                 registered doors, in claim order
 *     loops[]                    one per network thread
 *       conns                    the connections it owns
 *         slots                  answers queued behind a parked one (respq.c)
 *         parks                  its parked requests (park.c)
 *
 * Files: server.c (create, destroy, adapters), listen.c (listeners, accept), run.c (loops,
 * signals, drain), upkeep.c (retention, healing), conn.c (a connection's I/O), respq.c
 * (answers in order), park.c (parked requests), coldopen.c (requests that wait for a
 * log to open), produce.c, fetch.c, offsets.c,
 * offsets_record.c, topics.c, config.c, metrics.c.
 */
#ifndef BRK_INT_H
#define BRK_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <sys/queue.h>

#include "brk.h"
#include "brk_cluster.h"
#include "brk_config.h"
#include "brk_metrics.h"
#include "brk_params.h"
#include "brk_service.h"
#include "kc_common.h"
#include "sec_acl.h"
#include "sec_cred.h"
#include "zc.h"
#include "zc_tls.h"

#define BRK_ADAPTERS_MAX  8
#define BRK_LISTENERS_MAX 8

struct brk_loop;
struct brk_listener;

/* ---- security settings (config_security.c) --------------------------------------------- */

void brk__config_security_init(struct brk_config *cfg);
/* 0 applied, 2 not a security key, -EINVAL with err. */
int brk__config_security_set(struct brk_config *cfg, const char *key, const char *value,
                             char *err, size_t cap);
/* Resolve each listener's protocol, check what text can: 0 or -EINVAL with err. */
int brk__config_security_check(struct brk_config *cfg, char *err, size_t cap);
void brk__config_security_print(const struct brk_config *cfg, FILE *f);

/* ---- the offsets store (offsets.c) ------------------------------------------------------ */

struct brk_offsets;
/* Create __consumer_offsets if missing and replay it into memory; *count gets the number of
 * offsets found. */
int brk__offsets_open(struct brk_offsets **out, struct brk_server *srv, int64_t *count);
void brk__offsets_close(struct brk_offsets *os);
/* Every committed offset of every group, sorted, under the store's lock: fn copies, never
 * blocks, never calls the store. */
typedef void (*brk__offsets_visit_fn)(void *arg, struct kc_slice group, struct kc_slice topic,
                                      int32_t partition, int64_t offset);
void brk__offsets_visit(struct brk_offsets *os, brk__offsets_visit_fn fn, void *arg);
/* Forget every offset committed for topic (deleted): tombstones appended to
 * __consumer_offsets and flushed, the entries out of the table. Main thread. */
int brk__offsets_drop_topic(struct brk_offsets *os, const char *topic, size_t len);

/* ---- topic administration (topic_admin.c) ------------------------------------------------ */

struct brk_reap;
int brk__reaper_init(struct brk_server *srv);
void brk__reaper_fini(struct brk_server *srv);
/* Main thread, when reap_fd is readable: finish every deletion queued. */
void brk__reap_topics(struct brk_server *srv);
/* At open: every topic's config overrides onto its logs and flags. */
int brk__topics_apply_configs(struct brk_server *srv);

/* ---- answers in order (respq.c) --------------------------------------------------------- */

/* One piece of a queued answer: memory, or a file range (slice != NULL). */
struct brk_piece {
    uint8_t *mem;
    size_t len;
    struct alog_slice *slice;
};

/* A place in the answer order: parked (its answer comes later), or ready answers queued
 * behind an earlier parked one. */
struct brk_slot {
    STAILQ_ENTRY(brk_slot) link;
    bool parked;            /* waiting for brk__slot_ready */
    struct kc_writer w;     /* bytes written since the last piece */
    struct brk_piece *pieces;
    int npieces;
    int cap;
};

struct brk_slot *brk__slot_park(struct brk_conn *c);
struct kc_writer *brk__slot_writer(struct brk_slot *s);
int brk__slot_file(struct brk_slot *s, struct alog_slice *slice);
/* The slot's answer is complete: it and every ready answer behind it go out. */
void brk__slot_ready(struct brk_conn *c, struct brk_slot *s);
/* Move every ready slot at the head of the queue to the socket queue (false: killed). */
bool brk__respq_drain(struct brk_conn *c);
/* Hand the gathered ready answers to the socket queue (false: killed, out of memory). */
bool brk__respq_commit(struct brk_conn *c);
/* Drop everything queued (the connection died). */
void brk__respq_free(struct brk_conn *c);
/* Has the last answer's writer failed (out of memory: the connection must close)? */
bool brk__respq_failed(struct brk_conn *c);

/* ---- parked requests (park.c) ----------------------------------------------------------- */

/* End every park of c with why (draining: SHUTDOWN; dying: CLOSED). Loop thread. */
void brk__parks_cancel(struct brk_conn *c, enum brk_park_why why);
/* serve returned: the park it started (if any) is set up; release its own hold. */
void brk__park_started(struct brk_conn *c);

/* ---- cold logs (coldopen.c) -------------------------------------------------------------- */

/* One log a deferred request waits for. */
struct brk__defer_log {
    struct alog *log;
    struct alog_ready r;
    int err;          /* its outcome: 0, the open's error, -ETIMEDOUT, KC_ECLOSED */
    bool queued;      /* r is queued with the log */
    bool pinned;      /* the store's open pinned it for us */
    bool cancelled;   /* withdrawn before it ran */
};

/* A connection's request waiting for logs to open (at most one: the connection pauses). */
struct brk__defer {
    struct brk_park park;       /* its place in the order, deadline, one close path */
    struct brk__defer_log *v;   /* the logs it named, in order */
    struct brk_watch *w;        /* a watch per log: a deletion wakes it */
    int n, cap;
    _Atomic int pending;        /* prepares not yet answered (+1 while setting up) */
    bool active;                /* parked: the connection serves nothing more */
    bool replay;                /* finished: the request in front of `in` is served again */
    int64_t t0_ns;              /* when it was first served (its latency) */
};

extern const struct brk_park_ops brk__defer_ops;
/* serve returned: unpin the logs brk_logs_ready pinned for it. */
void brk__logs_release(struct brk_conn *c);
/* The connection is freed. */
void brk__logs_free(struct brk_conn *c);

/* ---- metrics (metrics.c): the calling loop's counters, no lock --------------------------- */

int brk__stats_init(struct brk_server *srv);
void brk__stats_fini(struct brk_server *srv);
void brk__stat_request(struct brk_loop *bl, int adapter, int api, int64_t ns);
void brk__stat_bytes(struct brk_loop *bl, int adapter, uint64_t in, uint64_t out);
void brk__stat_conn(struct brk_loop *bl, int adapter, int delta);
void brk__stat_parked(struct brk_loop *bl, const char *kind, int delta);
/* metrics_data.c: the storage and group families of brk_metrics_visit. */
void brk__metrics_storage(struct brk_server *srv, const struct brk_metrics_visitor *v);
void brk__metrics_groups(struct brk_server *srv, const struct brk_metrics_visitor *v);

/* ---- connections (conn.c) --------------------------------------------------------------- */

struct brk_conn {
    LIST_ENTRY(brk_conn) link;      /* in its loop's list */
    struct brk_loop *bl;
    struct brk_server *srv;
    const struct brk_listener *lst; /* accepted on */
    int fd;
    char peer[64];                  /* "127.0.0.1:53124", for logs */
    char host[48];                  /* "127.0.0.1": the client's address, for ACLs */
    int adapter;                    /* index in srv->adapters; -1 until claimed */
    /* security (tls.c, auth.c) */
    struct zc_tls *tls;             /* TLS listeners: the session (NULL: plaintext) */
    short tls_wait;                 /* POLLIN/POLLOUT the last TLS call waits for */
    bool handshaking;               /* the TLS handshake is not done yet */
    bool authenticated;             /* SASL listeners: an exchange succeeded */
    char *principal;                /* "User:alice", malloc'ed; NULL: User:ANONYMOUS */
    struct brk__sasl *sasl;         /* an exchange in progress */
    int64_t accepted_ms;
    void *state;                    /* the adapter's */
    uint8_t *in;                    /* received, not yet served */
    size_t in_len;
    size_t in_cap;
    size_t in_paid;                 /* the size paid from the budget (>= in_cap once grown) */
    size_t in_want;                 /* the size the next request announced (0: not yet) */
    bool in_waiting;                /* for queued.max.request.bytes (inbudget.c) */
    TAILQ_ENTRY(brk_conn) in_link;  /* ... in its loop's FIFO of waiters */
    struct zc_out out;              /* committed to the socket, in order */
    struct kc_writer wbuf;          /* ready answers not yet handed to out */
    STAILQ_HEAD(, brk_slot) slots;  /* answers behind a parked one, in order */
    int nslots;
    LIST_HEAD(, brk_park) parks;    /* its parked requests */
    int refs;                       /* 1 while open + 1 per park not yet finished + callers */
    int64_t last_active_ms;
    uint32_t events;                /* what the loop watches for */
    /* the request being served, for metrics */
    int cur_api;                    /* set by brk_conn_set_api; -1 unknown */
    int64_t cur_t0_ns;
    bool cur_parked;                /* brk_park_start was called for it */
    int64_t partial_since_ms;       /* a request began arriving and is not whole yet */
    struct brk_park *cur_park;      /* ... this one, still holding its own hold */
    struct brk__defer *defer;       /* a request waiting for cold logs (coldopen.c) */
    struct alog **held;             /* logs pinned for the request being served */
    int nheld, capheld;
    bool watched;                   /* registered with the loop */
    bool paused;                    /* not reading: too much unsent output or queued work */
    bool serving;                   /* inside brk__conn_serve_buffered (no re-entry) */
    bool closing;                   /* serve nothing more; close once everything is sent */
    bool linger;                    /* after sending, shut the write side and wait for EOF */
    bool lingering;
    bool dead;                      /* fd closed; memory kept until refs reach 0 */
    bool delay_close;               /* a failed authentication: close when the timer says */
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
    struct tcore_timer sweep;        /* idle connections */
    struct tcore_task drain_task;    /* shutdown begins */
    struct tcore_timer accept_pause; /* loop 0: accept again after EMFILE */
    struct brk_loop_stats *stats;    /* this loop's counters (metrics.c), single writer */
    bool draining;
    /* connections waiting for queued.max.request.bytes (inbudget.c), FIFO */
    TAILQ_HEAD(, brk_conn) in_waiters;
    atomic_int in_nwaiting;          /* how many (read by other loops) */
    struct tcore_task in_wake;       /* posted when bytes come back */
    atomic_bool in_wake_posted;      /* ... at most once in flight */
};

/* A new connection accepted on lst by loop `from`: pick a loop, hand it over. */
void brk__conn_accepted(struct brk_server *srv, struct brk_loop *from,
                        const struct brk_listener *lst, int fd);
/* Close now: drop output, end its parks (CLOSED), free when refs allow. */
void brk__conn_kill(struct brk_conn *c, const char *why);
/* Send what is ready; resume reading if the backlog allows. Loop thread. */
void brk__conn_send(struct brk_conn *c);
void brk__conn_ref(struct brk_conn *c);
void brk__conn_unref(struct brk_conn *c);
/* The idle sweep of one loop, and the start of shutdown on it. Loop thread. */
void brk__loop_sweep(struct tcore_loop *loop, struct tcore_timer *t);
void brk__loop_drain(struct brk_loop *bl);
/* Free every connection still on bl (after its thread stopped). */
void brk__loop_free_conns(struct brk_loop *bl);
/* A connection waiting for queued.max.request.bytes tries again: false if it still must
 * wait (keeping its place), true if it read on (or was closed). Its loop's thread. */
bool brk__conn_in_retry(struct brk_conn *c);

/* ---- queued.max.request.bytes (inbudget.c) ---------------------------------------------- */

void brk__inbudget_init(struct brk_server *srv);
void brk__inbudget_loop_init(struct brk_loop *bl);
/* The bytes of the budget a buffer of cap bytes holds. */
size_t brk__inbudget_charge(size_t cap);
/* Take n bytes: true, or false when nothing is left (the budget may go below zero by one
 * request, as Kafka's memory pool does, so a request larger than it still passes). */
bool brk__inbudget_take(struct brk_server *srv, size_t n);
/* Give n bytes back, waking the loops that have connections waiting. Any thread. */
void brk__inbudget_give(struct brk_server *srv, size_t n);
int64_t brk__inbudget_used(const struct brk_server *srv);
/* c waits (at the back of its loop's FIFO) / no longer waits. Its loop's thread. */
void brk__inbudget_wait(struct brk_conn *c);
void brk__inbudget_unwait(struct brk_conn *c);

/* ---- the transport and security (tls.c, auth.c) ---------------------------------------- */

/* Open a TLS session on a connection of a TLS listener (adopt). 0 or -ENOMEM. */
int brk__tls_start(struct brk_conn *c);
/* Advance c's handshake: 1 done, 0 waiting, < 0 failed: the session is gone and c closes
 * as a refusal (the alert OpenSSL wrote goes out, then a lingering close). Loop thread. */
int brk__tls_handshake(struct brk_conn *c);
/* recv() through the connection's transport: > 0, 0 EOF, -EAGAIN, < 0 error. */
ssize_t brk__conn_recv(struct brk_conn *c, void *buf, size_t len);
/* Send what c->out holds through the transport: 1 all sent, 0 wait, < 0 error. */
int brk__conn_transmit(struct brk_conn *c);
/* Bytes owed to the socket: the queue's and the TLS session's. */
size_t brk__conn_unsent(const struct brk_conn *c);
/* Free the session and the SASL exchange (kill). */
void brk__conn_security_free(struct brk_conn *c);
void brk__sasl_free(struct brk_conn *c);
/* Server start/stop of TLS context, credentials, authorizer. */
int brk__security_create(struct brk_server *srv);
int brk__security_open(struct brk_server *srv);
void brk__security_close(struct brk_server *srv);

/* ---- listeners (listen.c) --------------------------------------------------------------- */

struct brk_listener {
    struct brk_server *srv;
    const char *name;              /* "PLAINTEXT", "SASL_SSL", "CLIENT", ... */
    enum brk_secproto proto;
    int fd;                        /* -1 once closed (drain) */
    int port;                      /* the bound one */
    int adapter;                   /* -1: shared (adapters claim); else that adapter's own */
    bool watched;                  /* loop 0 accepts on it (loop 0's thread) */
    char adv_host[256];            /* what Kafka clients coming in here are told */
    int adv_port;
};

/* Bind and listen on host:port; *port gets the real one. 0 or -errno. */
int brk__listen(const char *host, int port, int *fd, int *bound);
/* Loop 0 watches every listener it may serve yet (brk_server_start: those that serve
 * while starting; brk__listeners_serve, once SERVING: the rest) / stops watching and
 * closes them (drain). */
void brk__listeners_watch(struct brk_loop *bl);
void brk__listeners_serve(struct brk_server *srv);
void brk__listeners_close(struct brk_loop *bl);
/* The accept-pause timer's callback (listeners watched again after EMFILE). */
void brk__accept_resume(struct tcore_loop *loop, struct tcore_timer *t);

/* ---- running (run.c) ------------------------------------------------------------------- */

/* Drain and join the loops, if they run (brk_server_run's end; destroy after a failed
 * start). Main thread. */
void brk__stop_loops(struct brk_server *srv);

/* ---- upkeep (upkeep.c) ------------------------------------------------------------------ */

/* Retention over every log (main thread). */
void brk__run_retention(struct brk_server *srv);
/* alog_recover every failed log; returns how many are still failed (main thread). */
int brk__heal_logs(struct brk_server *srv);

/* ---- the server ------------------------------------------------------------------------- */

struct brk_adapter_reg {
    const struct brk_adapter *a;
    void *state;
};

struct brk_server {
    struct brk_config cfg;
    char host[256];                 /* what clients are told to connect to */
    int adv_port;                   /* the advertised port (Metadata, FindCoordinator) */
    struct alog_flusher *flusher;
    struct part_registry *reg;
    struct brk_offsets *offsets;
    struct brk_adapter_reg adapters[BRK_ADAPTERS_MAX];
    int nadapters;
    struct brk_listener listeners[BRK_LISTENERS_MAX]; /* [0]: the main one */
    int nlisteners;
    struct brk_loop *loops;
    int nloops;
    atomic_uint next_loop;          /* round-robin for new connections */
    atomic_int nconns;              /* connections not yet freed */
    _Atomic int64_t in_avail;       /* queued.max.request.bytes left (inbudget.c) */
    atomic_int in_waiting;          /* connections waiting for it, all loops */
    _Atomic int phase;              /* enum brk_phase */
    struct tcore_task serve_task;   /* open: loop 0 serves the main listener */
    int nstarted;                   /* loop threads started */
    int stopfd;                     /* eventfd: brk_server_stop */
    int sigfd;                      /* signalfd: SIGINT, SIGTERM */
    int reap_fd;                    /* eventfd: a deleted topic waits to be reaped */
    pthread_mutex_t reap_mu;        /* reaps, and their waiters */
    struct brk_reap *reaps;         /* topic_admin.c */
    struct brk_metrics metrics;     /* server-wide counters (metrics.c) */
    struct zc_tls_ctx *tls;         /* the TLS listeners' context (ssl.*), or NULL */
    struct sec_cred_store *creds;   /* SASL credentials (open with storage) */
    struct sec_authorizer *authz;   /* ACLs, when authorizer.class.name is set */
    int64_t sasl_mechs;             /* bit per enum sec_sasl_mech enabled */
    struct brk_server_info info;
    pthread_mutex_t cview_mu;       /* the cluster's view (cluster.c): held to find it */
    struct brk_cview *cview;        /* NULL: alone, or no view yet */
    const struct brk_cluster_ops *cops; /* the cluster member, NULL: alone */
    void *cops_arg;
    void (*on_stop)(void *arg);     /* brk_server_on_stop: before the drain */
    void *on_stop_arg;
};

#endif
