/*
 * clu_int.h - what the cluster module's runtime files share (private).
 *
 *   clu.c        the API: open/close, commands in, notes out, status
 *   zk.c         the ZooKeeper handle: watcher -> inbox, sessions, registration, helpers
 *   loop.c       the cluster thread: drain the inbox, then do the work each area needs
 *   view.c       every broker's view: brokers, topics, partition states -> notes
 *   elect.c      controller election, taking office (load + ELECTED), resignation
 *   ctl_load.c   a new controller reads the whole state into a repl_ctl
 *   ctl_write.c  one event: handle -> plan -> multi-transactions -> replay
 *   ctl_work.c   what the active controller reacts to: brokers, deletions, requests
 *   request.c    the requesting side of /controller_requests
 *   plan.c       (clu_plan.h) the pure translation layer; json.c, jw.c, paths.c and
 *   znode_*.c    (clu_json.h, clu_znode.h) the layout and its bodies; zks.c (clu_zks.h)
 *                a local ZooKeeper for demos and tests
 *
 * Threads. Everything in struct clu below the "cluster thread only" line is touched by
 * the cluster thread alone (and by clu_open before that thread starts). The inbox, the
 * note queue and the status are shared, each under its own mutex, held only to link or
 * unlink a node or copy a struct: nobody blocks while holding one.
 */
#ifndef CLU_INT_H
#define CLU_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#ifndef THREADED
#define THREADED /* zookeeper.h declares the synchronous API only for the _mt library */
#endif
#include <zookeeper/zookeeper.h>

#include "clu.h"
#include "clu_params.h"
#include "clu_plan.h"
#include "clu_znode.h"
#include "repl_ctl.h"

/* ---- the inbox: what the watcher and the API hand to the cluster thread ---- */

enum clu_cmd_type {
    CLU_CMD_ALTER_ISR,
    CLU_CMD_CREATE_TOPIC,
    CLU_CMD_DELETE_TOPIC,
    CLU_CMD_SHUTDOWN,
    CLU_CMD_TOPIC_CONFIG,
    CLU_CMD_CREATE_PARTITIONS,
    CLU_CMD_ELECT_LEADERS
};

struct clu_cmd {
    enum clu_cmd_type type;
    int64_t id;
    int64_t deadline_ms; /* monotonic */
    char topic[REPL_TOPIC_MAX + 1];
    int32_t partition;
    struct repl_isr_change isr;
    int32_t partitions, replication_factor;
    char *config; /* CREATE_TOPIC, TOPIC_CONFIG: a JSON object, or NULL */
    size_t config_len;
    char *assignment; /* CREATE_TOPIC, CREATE_PARTITIONS: the operator's lists, or NULL */
    size_t assignment_len;
    int32_t nassigned;
    int32_t election; /* ELECT_LEADERS: its type and its partitions' JSON text */
    char *elect;
    size_t elect_len;
    int32_t nelect;
    /* Once sent: the request node, or (DELETE_TOPIC) waiting for the topic to vanish. */
    bool sent;
    bool check;            /* its node changed: read the answer */
    int64_t next_check_ms; /* read it anyway then (a watch can be lost with a connection) */
    char node[CLU_PATH_MAX];
    struct clu_cmd *next;
};

enum clu_in_type { CLU_IN_WATCH, CLU_IN_SESSION, CLU_IN_CMD };

struct clu_in {
    enum clu_in_type type;
    unsigned gen; /* which ZooKeeper handle raised it (events of a closed one are dropped) */
    int zk_type;  /* ZOO_*_EVENT */
    int zk_state; /* ZOO_*_STATE */
    struct clu_cmd *cmd;
    struct clu_in *next;
    char path[]; /* the watched path ("" for a session event) */
};

/* Per-handle context for the watcher: which clu, which generation. */
struct clu_zctx {
    struct clu *cl;
    unsigned gen;
};

/* ---- notes: what the cluster thread hands to the broker ---- */

enum clu_note_type {
    CLU_NOTE_SESSION,
    CLU_NOTE_CONTROLLER,
    CLU_NOTE_BROKER,
    CLU_NOTE_TOPIC,
    CLU_NOTE_PARTITION,
    CLU_NOTE_ANSWER,
};

struct clu_note {
    enum clu_note_type type;
    struct clu_note *next;
    union {
        struct {
            bool up;
            int64_t epoch;
        } session;
        struct {
            int32_t id, epoch;
            bool self;
        } controller;
        struct {
            struct clu_broker_note n;
            struct clu_broker_reg reg;
        } broker;
        struct {
            struct clu_topic_note n;
            char name[REPL_TOPIC_MAX + 1];
            char topic_id[CLU_UUID_LEN + 1];
            struct clu_kv *config; /* owned (one block) */
        } topic;
        struct {
            struct clu_partition_note n;
            char topic[REPL_TOPIC_MAX + 1];
            struct repl_pstate ps;
        } part;
        struct clu_answer answer;
    } u;
};

/* ---- the view (cluster thread only) ---- */

struct clu_vbroker {
    int32_t id;
    int64_t epoch; /* czxid */
    int64_t mzxid; /* its data's last change: re-read only when it moved */
    struct clu_broker_reg reg;
};

struct clu_vtopic {
    char name[REPL_TOPIC_MAX + 1];
    char topic_id[CLU_UUID_LEN + 1];
    int32_t npart;
    struct clu_replicas *replicas; /* the assignment, [npart] */
    struct repl_pstate *ps;        /* [npart]; partition_epoch -1: not read yet */
    struct clu_kv *config;         /* /config/topics/<t>, one block */
    int nconfig;
    bool bad;        /* its assignment is malformed: reported once, ignored */
    bool dirty;      /* re-read the assignment and the config */
    uint8_t *pdirty; /* [npart]: re-read that partition's state */
};

struct clu_view {
    struct clu_vbroker *brokers;
    size_t nbrokers;
    struct clu_vtopic *topics;
    size_t ntopics;
    int32_t controller_id, controller_epoch; /* as last read from /controller(_epoch) */
    int32_t told_id, told_epoch;             /* as last told in a note */
    bool told_self;
};

/* ---- the controller (cluster thread only) ---- */

/* A request node (or "delete:<topic>") the controller has looked at. */
struct clu_handled {
    char name[REPL_TOPIC_MAX + 16];
    bool handled; /* in this term (reset when the controller is activated again) */
    bool present; /* seen in the last listing (else forgotten) */
    int attempts; /* failed writes, over terms: after CLU_REQUEST_ATTEMPTS it is refused */
};

/* A topic whose assignment names partitions that have no state yet: a creation or growth
 * written in several transactions by a controller that died in between (ctl_load.c). The
 * next controller writes their states when it takes office (elect.c), and answers the
 * interrupted request as done when it comes again (ctl_work.c). */
struct clu_unfinished {
    char topic[REPL_TOPIC_MAX + 1];
    int32_t total;                /* the partitions the assignment names */
    int32_t nassigned;            /* of them without a state: the last nassigned */
    struct repl_pstate *assigned; /* their replicas (only nreplicas and replicas set) */
};

struct clu_controller {
    bool active;
    int32_t epoch;         /* our controller epoch */
    int32_t epoch_version; /* /controller_epoch's znode version after our election: every
                            * write checks it (Kafka: "controller epoch zkVersion") */
    struct repl_ctl ctl;
    struct repl_recs recs;
    struct clu_plan plan;
    int multis; /* in the current event (for the test hook) */
    /* Request nodes seen in this term, with their failed attempts. */
    struct clu_handled *seen;
    size_t nseen, cap_seen;
    int64_t next_rebalance_ms;
    int64_t active_since_ms;
    /* The topics this term found unfinished at its load (and then finished). */
    struct clu_unfinished *unfinished;
    size_t nunfinished;
};

/* What the controller must look at (set by watches and by the view). */
enum {
    CLU_DIRTY_CONTROLLER = 1 << 0,  /* /controller changed: election, resignation */
    CLU_DIRTY_BROKERS = 1 << 1,     /* /brokers/ids */
    CLU_DIRTY_TOPICS = 1 << 2,      /* /brokers/topics children */
    CLU_DIRTY_DELETES = 1 << 3,     /* /admin/delete_topics */
    CLU_DIRTY_REQUESTS = 1 << 4,    /* /controller_requests children */
    CLU_DIRTY_CTL_BROKERS = 1 << 5, /* the live brokers changed: the controller compares */
    CLU_DIRTY_ALL = (1 << 6) - 1,
};

struct clu {
    /* Set by clu_open, then read-only. */
    struct clu_config cfg;
    char *zk_connect, *listeners, *protocol_map, *rack;
    struct clu_connect conn;
    char cluster_id[CLU_UUID_LEN + 1];
    pthread_t thread;
    bool thread_started;

    /* The inbox (watcher and API -> cluster thread). */
    pthread_mutex_t in_lock;
    pthread_cond_t in_cond;
    struct clu_in *in_head, **in_tail;
    bool stop; /* under in_lock: clu_close wants the thread to end */

    /* The notes (cluster thread -> clu_poll). */
    pthread_mutex_t note_lock;
    pthread_cond_t note_cond;
    struct clu_note *note_head, **note_tail;
    int efd;

    /* The status snapshot (cluster thread -> clu_status). */
    pthread_mutex_t status_lock;
    struct clu_status status;

    int64_t next_id; /* request ids (atomic) */

    /* ---- cluster thread only ---- */
    zhandle_t *zh;
    struct clu_zctx *zctx;
    unsigned gen;
    bool connected, expired, registered, crashed;
    int64_t session_id;
    char session_passwd[16];
    int64_t broker_epoch;
    int64_t disconnected_since_ms; /* 0 while connected */
    bool told_down;                /* on_session(false) sent since the last up */
    bool resend;                   /* re-announce every partition (after a new session) */
    unsigned dirty;
    int64_t retry_at_ms; /* 0: no pending retry */
    int vectors;         /* String_vectors from zoo_get_children not freed yet */
    int backoff_ms;
    char *buf; /* CLU_ZNODE_MAX bytes for reads */
    struct clu_view view;
    struct clu_live_broker *live; /* the last /brokers/ids read, for the controller */
    size_t nlive;
    struct clu_controller c;
    struct clu_cmd *cmds;             /* requests queued or in flight */
    char shutdown_node[CLU_PATH_MAX]; /* our answered controlled_shutdown request: kept
                                       * until the session ends (see request.c) */
};

/* clu.c: notes and status. */
struct clu_note *clu__note_new(enum clu_note_type type);
void clu__note_push(struct clu *cl, struct clu_note *n);
void clu__note_free(struct clu_note *n);
void clu__answer(struct clu *cl, const struct clu_cmd *cmd, int error,
                 const struct clu_request *rq);
void clu__status_update(struct clu *cl);
void clu__cmd_free(struct clu_cmd *cmd);

/* zk.c: the handle, sessions, registration, read/write helpers. ZooKeeper's return codes
 * (ZOK, ZNONODE, ...) come back as they are; clu__zerr maps one to -errno for callers
 * outside this module. */
int clu__zk_start(struct clu *cl);
void clu__zk_stop(struct clu *cl);
void clu__in_push(struct clu *cl, struct clu_in *in);
int clu__zk_wait_connected(struct clu *cl, int timeout_ms);
int clu__zk_register(struct clu *cl);
int clu__zk_prepare(struct clu *cl);
int clu__zk_get(struct clu *cl, const char *path, bool watch, int *len, struct Stat *st);
/* Children of path; every ZOK must be paired with clu__zk_children_free (counted: the
 * count must be back to zero at close - the sanitizer cannot see these, see
 * tests/support/sanitizers_zk.c). */
int clu__zk_children(struct clu *cl, const char *path, bool watch, struct String_vector *out);
void clu__zk_children_free(struct clu *cl, struct String_vector *v);
int clu__zk_ensure(struct clu *cl, const char *path);
bool clu__zk_retryable(int zrc);
int clu__zerr(int zrc);

/* loop.c */
void *clu__main(void *arg);
void clu__retry_later(struct clu *cl);

/* view.c */
void clu__view_fini(struct clu_view *v);
int clu__view_sync(struct clu *cl, unsigned *dirty);
int clu__view_watch(struct clu *cl, const struct clu_path *p);
void clu__view_resend(struct clu *cl);
const struct clu_vtopic *clu__view_topic(const struct clu *cl, const char *name);
enum clu_role clu__role(const struct repl_pstate *ps, int32_t self);

/* elect.c */
int clu__ctl_check(struct clu *cl);
void clu__ctl_resign(struct clu *cl, const char *why);
/* Load ZooKeeper's state into c->ctl, and the unfinished topics into c->unfinished. */
int clu__ctl_load(struct clu *cl, struct clu_controller *c);
void clu__unfinished_free(struct clu_controller *c);
/* Did this term finish topic at `partitions` partitions (rf: its replication factor, or 0
 * for any)? */
bool clu__ctl_finished(const struct clu_controller *c, const char *topic, int32_t partitions,
                       int32_t rf);
void clu__ctl_note(struct clu *cl);

/* ctl_write.c: run one event. `rq`/`rq_path`: a request to answer in the last transaction
 * (NULL: none). Returns 0 when it is decided and written (or refused: rq->error says),
 * CLU_GONE when the request node vanished first (nothing of the event was written beyond
 * what was replayed), or < 0 when the controller stopped being one (deposed, resigned). */
#define CLU_GONE 1
int clu__ctl_run(struct clu *cl, const struct repl_event *ev, const struct clu_plan_ctx *pctx,
                 struct clu_request *rq, const char *rq_path);
int clu__ctl_answer(struct clu *cl, struct clu_request *rq, const char *rq_path);

/* ctl_work.c */
int clu__ctl_step(struct clu *cl);

/* request.c */
int clu__req_step(struct clu *cl);
void clu__req_answered(struct clu *cl, const char *node);
void clu__req_session_lost(struct clu *cl);
void clu__req_topic_gone(struct clu *cl, const char *topic);
int64_t clu__req_next_deadline(const struct clu *cl);

#endif
