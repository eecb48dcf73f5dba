/*
 * kfr_int.h - the fetcher's insides, shared by its four files:
 *
 *   fetcher.c   the object, the partition set, the thread and its loop
 *   conn.c      one blocking connection to the leader, every wait bounded and cancellable
 *   round.c     one round: the Fetch request from the owner's positions, the answer
 *               checked and handed over partition by partition
 *   session.c   the fetch session with the leader (KIP-227): which partitions a round
 *               must name, and when to start over
 */
#ifndef KFR_INT_H
#define KFR_INT_H

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>

#include "kc_buf.h"
#include "kfr.h"
#include "kp_api.h"

#define KFR_FETCH_VERSION 12 /* the last with topic names, the first with diverging_epoch */
#define KFR_FRAME_MAX (256u << 20)

struct kfr_conn {
    int fd; /* -1: not connected */
    int32_t corr;
    struct kc_writer out;
    uint8_t *in;
    size_t in_cap, in_len;
};

#define KFR_SESSION_NONE  0 /* session id 0: no session */
#define KFR_EPOCH_INITIAL 0 /* a full Fetch asking for a session */

/* The fetch session with the leader, kept beside the snapshot (entry i is snap[i]). */
struct kfr_session {
    int32_t id;                /* KFR_SESSION_NONE: the next round is full */
    int32_t epoch;             /* the next incremental round's */
    int32_t close_id;          /* one given up: the next full round closes it */
    bool *in;                  /* the leader's session holds snap[i]... */
    struct kfr_position *sent; /* ...with the fields last sent */
    int cap;
};

struct kfr_fetcher {
    /* set at open, then read-only */
    struct kfr_config cfg; /* host, source_host and client_id point at the copies below */
    char *host, *source_host, *client_id;
    struct kfr_ops ops;
    void *arg;
    int wake_fd; /* an eventfd: kfr_wake, kfr_close */
    bool woken;  /* the thread's: a wake was taken while waiting on the socket */
    pthread_t thread;
    atomic_bool stop;
    /* the partition set, under mu */
    pthread_mutex_t mu;
    struct kfr_tp *tps;
    int ntps, cap;
    uint64_t gen; /* bumped by every change: the thread copies the set when it moves */
    bool added;   /* kfr_add since the thread's last copy: cut a long poll in flight */
    struct kfr_stats stats;
    /* the thread's own */
    struct kfr_conn conn;
    bool connect_failing; /* the last connection attempt failed (said once a streak) */
    struct kfr_tp *snap; /* the set as of this round */
    int nsnap, snap_cap;
    uint64_t snap_gen;
    struct kfr_session sess;
    bool cuttable; /* waiting for a Fetch answer, none of it read yet: a kfr_add may cut */
};

/* conn.c. Every call gives up at deadline (kc_mono_ms: -ETIMEDOUT) or when the fetcher
 * closes (-ECANCELED); a wake meanwhile is remembered in f->woken. A Fetch waiting for the
 * first byte of its answer gives up with KFR_CUT when the wake was a kfr_add. */
#define KFR_CUT (-EINTR)
int kfr__connect(struct kfr_fetcher *f, int64_t deadline);
void kfr__disconnect(struct kfr_fetcher *f);
/* Send one request; read its answer into f->conn.in and decode it at version. */
int kfr__call(struct kfr_fetcher *f, int16_t key, int16_t version, const void *msg,
              struct kp_response *r, int64_t deadline);
/* Wait up to ms for a wake: 0 (one came, or was remembered) or -ETIMEDOUT. */
int kfr__wait_wake(struct kfr_fetcher *f, int ms);

/* session.c. Room for n entries: 0 or -ENOMEM. */
int kfr__sess_reserve(struct kfr_fetcher *f, int n);
/* Drop the session: the next round is full; close: and closes it at the leader. */
void kfr__sess_reset(struct kfr_fetcher *f, bool close);
/* Must this round name snap[i], at pos? (Every one, in a full round.) */
bool kfr__sess_names(const struct kfr_fetcher *f, int i, const struct kfr_position *pos);
/* Does the session hold snap[i], which this round leaves out (forgotten_topics_data)? */
bool kfr__sess_forgets(const struct kfr_fetcher *f, int i);
/* A top-level error: 1 if it only refused the session (70, 71 to an incremental round:
 * dropped, the next round full), 0 if it is an error of the fetch. */
int kfr__sess_error(struct kfr_fetcher *f, bool full, int16_t error);
/* Does an answer's session id fit the round? */
bool kfr__sess_answer_ok(const struct kfr_fetcher *f, bool full, int32_t id);
/* The round's answer was handed over: the session is what the leader now holds. */
void kfr__sess_settle(struct kfr_fetcher *f, bool full, int32_t id, const bool *asked,
                      const struct kfr_position *pos);

/* round.c: one round. 1 (an answer was handed over), 0 (nothing to fetch), KFR_CUT (a
 * partition was added during the long poll: reconnect at once), < 0 (the connection
 * failed or answered nonsense: reconnect). */
int kfr__round(struct kfr_fetcher *f);
/* The whole batches at the front of p[0..len): their length, or -1 if a batch header
 * is impossible (a length below a batch's own header). */
long kfr__whole_batches(const uint8_t *p, size_t len);

#endif
