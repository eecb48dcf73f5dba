/*
 * brep_int.h - the member's private state. Everything here belongs to the MEMBER THREAD
 * (the one thread that calls clu_poll), except what is marked "under mu": the waiters,
 * which the network loops add and withdraw, and the shutdown handshake with the main
 * thread.
 */
#ifndef BREP_INT_H
#define BREP_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "brep.h"
#include "brk.h"
#include "brk_cluster.h"
#include "brk_service.h"
#include "brk_tconfig.h"
#include "clu.h"
#include "clu_pids.h"
#include "kc_common.h"

/* Kafka's controlled.shutdown.max.retries and controlled.shutdown.retry.backoff.ms. */
#define BREP_SHUTDOWN_RETRIES    3
#define BREP_SHUTDOWN_BACKOFF_MS 5000

struct brep_broker {
    int32_t id;
    char host[256];
    int32_t port;
    char rack[64];
};

struct brep_part {
    bool known;           /* a state was delivered */
    bool load;            /* __consumer_offsets, newly led: its groups to load */
    enum clu_role role;
    struct repl_pstate ps;
};

struct brep_topic {
    char name[PART_NAME_MAX + 1];
    int32_t npartitions;
    bool exists;          /* false: deleted; the entry goes once the local logs are gone */
    struct brep_part *parts;
    bool has_id;          /* ZooKeeper's topic_id (/brokers/topics/<t>), the local logs' id */
    struct part_topic_id id;
    struct brk_tcfg *cfg; /* /config/topics/<t>, the local logs' overrides; NULL: none */
    bool cfg_changed;     /* not yet applied to the local logs */
    bool stale;           /* local logs of an older topic of that name are going away */
};

/* The controlled shutdown, asked by the main thread (on_stop), run by the member thread. */
enum brep_cs { BREP_CS_NONE, BREP_CS_ASKED, BREP_CS_WAITING, BREP_CS_BACKOFF, BREP_CS_DONE };

struct brep_wname;
struct brep_rtable;

struct brep {
    struct brk_server *srv;
    struct clu *cl;
    struct clu_pids *pids;        /* producer id blocks (its own thread and lock) */
    int32_t self;
    pthread_t thread;
    bool started;
    int wakefd;                   /* eventfd: stop, or a shutdown to run */
    /* the member thread's */
    int32_t controller;
    bool session_up;
    bool dirty;                   /* the tables changed since the last view */
    bool resync;                  /* local logs still to make: sync again (each second) */
    bool loads;                   /* a __consumer_offsets partition to load (load flags) */
    struct brep_broker *brokers;
    int nbrokers, capbrokers;
    struct brep_topic *topics;
    int ntopics, captopics;
    int64_t cs_id;                /* the shutdown request in flight */
    int cs_tries;
    int64_t cs_retry_at;
    /* under mu */
    pthread_mutex_t mu;
    pthread_cond_t cond;          /* the shutdown's end */
    bool stopping;
    enum brep_cs cs;
    struct brep_wname *waiters;   /* requests.c */
    struct brep_rtable *rt;       /* replica.c: the hosted partitions' replicas */
};

/* tables.c: the notes into the tables, the tables into a view and into local logs. */
void brep__on_broker(void *arg, const struct clu_broker_note *b);
void brep__on_topic(void *arg, const struct clu_topic_note *t);
void brep__on_partition(void *arg, const struct clu_partition_note *p);
void brep__sync_logs(struct brep *m);
int brep__publish(struct brep *m);
struct brep_topic *brep__topic(struct brep *m, const char *name);
void brep__tables_free(struct brep *m);
/* A new coordinator's loads: every newly led __consumer_offsets partition's groups and
 * offsets from its log (brk_offsets_load), then a view without the "loading" marks. */
void brep__load_offsets(struct brep *m);

/* requests.c: topics through the controller, waiters, the controlled shutdown. */
extern const struct brk_cluster_ops brep__ops;
void brep__on_answer(void *arg, const struct clu_answer *a);
void brep__waiters_settle(struct brep *m);
void brep__waiters_drop(struct brep *m);
void brep__on_stop(void *arg);
int brep__shutdown_step(struct brep *m);

/* replica.c: a struct repl_replica per hosted partition, the leader's side (produce,
 * acks=all, followers' fetches, the high watermark); follow.c: the follower's side. */
int brep__replicas_open(struct brep *m);
void brep__replicas_close(struct brep *m);
void brep__replicas_release_deleted(struct brep *m); /* before the logs follow the tables */
void brep__replicas_sync(struct brep *m);            /* after: every state to its replica */
int brep__replicas_step(struct brep *m);             /* each turn: timers, fsyncs; wait ms */
void brep__replicas_isr_answer(struct brep *m, const struct clu_answer *a);
int brep__repl_produce(void *arg, struct brk_produce *p, struct alog *log,
                       struct brk_park *park, int32_t count);
void brep__repl_fetch(void *arg, const char *name, size_t len, int32_t partition,
                      struct brk_replica_fetch *rf);
int brep__repl_internal(void *arg, const struct brk_internal_append *ia);
int brep__repl_hw(void *arg, const char *name, size_t len, int32_t partition, int64_t *hw);
/* OffsetForLeaderEpoch from the partition's replica (brk_cluster_ops.epoch_end). */
int brep__repl_epoch_end(void *arg, const char *name, size_t len, int32_t partition,
                         struct brk_epoch_query *q);
void brep__repl_metrics(void *arg, const struct brk_metrics_visitor *v);

#endif
