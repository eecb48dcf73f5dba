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
    enum clu_role role;
    struct repl_pstate ps;
};

struct brep_topic {
    char name[PART_NAME_MAX + 1];
    int32_t npartitions;
    bool exists;          /* false: deleted; the entry goes once the local logs are gone */
    struct brep_part *parts;
};

/* The controlled shutdown, asked by the main thread (on_stop), run by the member thread. */
enum brep_cs { BREP_CS_NONE, BREP_CS_ASKED, BREP_CS_WAITING, BREP_CS_BACKOFF, BREP_CS_DONE };

struct brep_wname;

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
};

/* tables.c: the notes into the tables, the tables into a view and into local logs. */
void brep__on_broker(void *arg, const struct clu_broker_note *b);
void brep__on_topic(void *arg, const struct clu_topic_note *t);
void brep__on_partition(void *arg, const struct clu_partition_note *p);
void brep__sync_logs(struct brep *m);
int brep__publish(struct brep *m);
struct brep_topic *brep__topic(struct brep *m, const char *name);
void brep__tables_free(struct brep *m);

/* requests.c: topics through the controller, waiters, the controlled shutdown. */
extern const struct brk_cluster_ops brep__ops;
void brep__on_answer(void *arg, const struct clu_answer *a);
void brep__waiters_settle(struct brep *m);
void brep__waiters_drop(struct brep *m);
void brep__on_stop(void *arg);
int brep__shutdown_step(struct brep *m);

#endif
