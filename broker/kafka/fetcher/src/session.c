/*
 * session.c - the follower's side of a fetch session (KIP-227): what the leader holds of
 * each partition, so that a round names only what changed.
 *
 * Without a session every round names every partition it follows from that leader, and
 * the answer carries every one of them back: with thousands of idle partitions, each
 * round of a producer waiting for acks=all encodes, sends, decodes and hands over
 * thousands of entries that say nothing new. With one (Kafka's FetchSessionHandler):
 *
 *   round 1   full: session 0, epoch 0 (INITIAL), every partition    -> the leader makes
 *             session 7 of them, with each one's fields as sent; answer: all of them
 *   round 2   session 7, epoch 1: only the partitions whose position moved (records
 *             appended, a truncation, a new leader epoch), the ones the owner paused as
 *             forgotten_topics_data                                   -> the leader reads
 *             the whole session, at the offsets it holds, and answers only what changed
 *   round 3   epoch 2, ...
 *
 * The rule for naming a partition is a comparison: the position the owner gives now
 * against the one the session holds (last sent). A partition whose records arrived has
 * a new fetch offset by the next round (appended and made durable first), so the leader
 * learns it; an idle one is never named again, and the leader keeps counting it at the
 * offset it holds - which is durable here, as every offset this fetcher ever sent.
 *
 * Starting over. The session is dropped, and the next round is full (naming the old id,
 * so the leader closes it: Kafka's nextCloseExisting), whenever the two sides may
 * disagree about what it holds:
 *   - a round that failed or was cut (the leader may or may not have applied it);
 *   - the leader answers FETCH_SESSION_ID_NOT_FOUND (70: evicted, or it restarted) or
 *     INVALID_FETCH_SESSION_EPOCH (71) - not a failure: the next round goes at once;
 *   - the partition set changed (kfr_add / kfr_remove): the snapshot the session is kept
 *     beside is rebuilt, and a set changes when leadership moves - rarely, next to the
 *     rounds an idle session saves.
 * A leader that makes no session (it answers session 0) gets a full round every time,
 * which is what a sessionless fetcher sent before.
 */
#include <stdlib.h>

#include "kc_log.h"
#include "kfr_int.h"
#include "kp_errors.h"

int kfr__sess_reserve(struct kfr_fetcher *f, int n)
{
    struct kfr_session *s = &f->sess;
    if (n <= s->cap)
        return 0;
    bool *in = realloc(s->in, (size_t)n * sizeof(*in));
    if (in)
        s->in = in;
    struct kfr_position *sent = in ? realloc(s->sent, (size_t)n * sizeof(*sent)) : NULL;
    if (!sent)
        return -ENOMEM;
    s->sent = sent;
    s->cap = n;
    return 0;
}

void kfr__sess_reset(struct kfr_fetcher *f, bool close)
{
    struct kfr_session *s = &f->sess;
    if (close && s->id != KFR_SESSION_NONE)
        s->close_id = s->id;
    else if (!close)
        s->close_id = KFR_SESSION_NONE;
    s->id = KFR_SESSION_NONE;
    s->epoch = KFR_EPOCH_INITIAL;
    for (int i = 0; i < s->cap; i++)
        s->in[i] = false;
}

bool kfr__sess_names(const struct kfr_fetcher *f, int i, const struct kfr_position *pos)
{
    const struct kfr_session *s = &f->sess;
    if (s->id == KFR_SESSION_NONE || !s->in[i])
        return true;
    const struct kfr_position *o = &s->sent[i];
    return o->fetch_offset != pos->fetch_offset ||
           o->current_leader_epoch != pos->current_leader_epoch ||
           o->last_fetched_epoch != pos->last_fetched_epoch ||
           o->log_start_offset != pos->log_start_offset;
}

bool kfr__sess_forgets(const struct kfr_fetcher *f, int i)
{
    return f->sess.id != KFR_SESSION_NONE && f->sess.in[i];
}

int kfr__sess_error(struct kfr_fetcher *f, bool full, int16_t error)
{
    if (full || (error != KP_ERR_FETCH_SESSION_ID_NOT_FOUND &&
                 error != KP_ERR_INVALID_FETCH_SESSION_EPOCH))
        return 0; /* a full Fetch is never refused for its session: a real error */
    kc_log_info("replica fetcher: %s:%d dropped fetch session %d (error %d); starting a "
                "new one", f->cfg.host, f->cfg.port, f->sess.id, error);
    kfr__sess_reset(f, error == KP_ERR_INVALID_FETCH_SESSION_EPOCH); /* 70: it is gone */
    pthread_mutex_lock(&f->mu);
    f->stats.session_errors++;
    pthread_mutex_unlock(&f->mu);
    return 1;
}

bool kfr__sess_answer_ok(const struct kfr_fetcher *f, bool full, int32_t id)
{
    /* An incremental answer names its session, or 0 when the leader closed it (the
     * request forgot every partition: it was served without one). */
    return full || id == f->sess.id || id == KFR_SESSION_NONE;
}

void kfr__sess_settle(struct kfr_fetcher *f, bool full, int32_t id, const bool *asked,
                      const struct kfr_position *pos)
{
    struct kfr_session *s = &f->sess;
    s->close_id = KFR_SESSION_NONE; /* a full Fetch naming it closed it */
    if (id == KFR_SESSION_NONE) {
        kfr__sess_reset(f, false); /* none made, or closed: full again next time */
        return;
    }
    s->epoch = full ? 1 : s->epoch == INT32_MAX ? 1 : s->epoch + 1; /* Kafka's nextEpoch */
    s->id = id;
    for (int i = 0; i < f->nsnap; i++) {
        s->in[i] = asked[i];
        if (asked[i])
            s->sent[i] = pos[i];
    }
}
