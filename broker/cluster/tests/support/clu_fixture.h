/*
 * clu_fixture.h - several brokers of broker/cluster in one test process, on one real
 * ZooKeeper (zk_server.h), each test in its own chroot.
 *
 * Each broker's notes are drained by fx_poll into what it currently believes (partition
 * states and roles, the controller, which brokers are live, answers received), so a test
 * states what must become true and fx_wait polls until it is, or fails after a deadline.
 */
#ifndef CLU_FIXTURE_H
#define CLU_FIXTURE_H

#include <stdbool.h>
#include <stdint.h>

#include "clu.h"
#include "clu_zks.h"

#define FX_BROKERS 5
#define FX_PARTS   64
#define FX_ANSWERS 64

struct fx_part {
    char topic[64];
    int32_t partition;
    enum clu_role role;
    struct repl_pstate ps;
};

struct fx_broker {
    struct clu *cl;
    int32_t id;
    int ups, downs; /* on_session notes */
    int64_t epoch;  /* the last broker epoch an "up" carried */
    int32_t controller_id, controller_epoch;
    bool self_controller;
    bool live[FX_BROKERS + 1]; /* by broker id */
    int topics;                /* topic notes seen */
    char topic_config[160];    /* the last topic note: "<topic> key=value ..." */
    struct fx_part parts[FX_PARTS];
    int nparts;
    struct clu_answer answers[FX_ANSWERS];
    int nanswers;
    int64_t last_note_ms;
};

struct fx_cluster {
    struct clu_zks *zk;
    char connect[160];
    int session_ms;
    struct clu_config cfg;              /* template: fx_open fills id and listeners */
    struct fx_broker b[FX_BROKERS + 1]; /* by broker id, 1..FX_BROKERS */
};

/* A cluster on zk in a fresh chroot named after the test. */
void fx_init(struct fx_cluster *c, struct clu_zks *zk, const char *chroot, int session_ms);
/* Open broker `id` (1..FX_BROKERS) with c->cfg: 0 or clu_open's error. */
int fx_open(struct fx_cluster *c, int32_t id);
void fx_close(struct fx_cluster *c, int32_t id);
void fx_fini(struct fx_cluster *c);

void fx_poll(struct fx_cluster *c);
/* Poll until pred holds: true, or false after timeout_ms. */
bool fx_wait(struct fx_cluster *c, bool (*pred)(struct fx_cluster *, void *), void *arg,
             int timeout_ms);
/* The answer to request `id` made by broker `b`, waiting up to timeout_ms (fails the test). */
struct clu_answer fx_answer(struct fx_cluster *c, int32_t b, int64_t id, int timeout_ms);

/* What broker b believes of topic-p (NULL: nothing yet). */
const struct fx_part *fx_part(const struct fx_cluster *c, int32_t b, const char *topic, int32_t p);
/* The broker whose status says it is the active controller; -1 if none or more than one. */
int32_t fx_controller(struct fx_cluster *c);
/* Every open broker sees topic-p at partition epoch >= pe with leader `leader`. */
bool fx_agree(struct fx_cluster *c, const char *topic, int32_t p, int32_t leader);

/* Expire broker b's session (session takeover). */
void fx_expire(struct fx_cluster *c, int32_t b);

#endif
