/*
 * sim.c - the replicated partition in one process: the steps that move data (produce,
 * fetch, fsync) and the plumbing every step shares (the controller, effects, acks).
 *
 * This file is the reference for how a broker drives struct repl_replica. The order of
 * calls is the protocol; the broker does the same with a socket where there is a call:
 *
 *   produce   repl_leader_prepare -> write the batch -> repl_replica_appended -> park
 *   fetch     follower: repl_follower_next
 *               EPOCH_QUERY: leader repl_leader_epoch_end -> follower _on_epoch_end
 *               FETCH:       leader repl_leader_fetch     -> follower _on_fetch
 *             follower: TRUNCATE -> cut the log -> repl_replica_truncated
 *                       APPEND   -> write each batch -> repl_replica_appended
 *                                   -> repl_follower_hw(answer's HW)
 *   fsync     repl_replica_durable
 *   effects   after every call: repl_replica_fx -> rewrite the epoch checkpoint,
 *             send the ISR proposal, answer parked produces
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "kc_common.h"
#include "repl_ckpt.h"
#include "repl_int.h"
#include "repl_sim.h"
#include "repl_sim_int.h"

void repl__sim_trace(struct repl_sim *s, const char *fmt, ...)
{
    if (!s->trace)
        return;
    va_list ap;
    va_start(ap, fmt);
    fprintf(s->trace, "    t=%-6" PRId64 " ", s->now_ms);
    vfprintf(s->trace, fmt, ap);
    fputc('\n', s->trace);
    va_end(ap);
}

uint64_t repl__sim_rand(struct repl_sim *s)
{
    s->rng += 0x9e3779b97f4a7c15ull;
    return repl__mix(s->rng);
}

struct repl_sim_node *repl_sim_node(struct repl_sim *s, int32_t id)
{
    return id >= 1 && id <= s->nnodes ? &s->nodes[id - 1] : NULL;
}

int32_t repl_sim_leader(const struct repl_sim *s)
{
    const struct repl_pstate *ps = repl_ctl_partition(&s->ctl, REPL_SIM_TOPIC, 0);
    return ps ? ps->leader : REPL_NO_LEADER;
}

/* Tell the trace what a partition record changed. */
static void trace_record(struct repl_sim *s, const struct repl_rec *rec,
                         const struct repl_pstate *before)
{
    const struct repl_pstate *ps = &rec->u.part.ps;
    char isr[64] = "";
    for (int i = 0; i < ps->nisr; i++)
        snprintf(isr + strlen(isr), sizeof(isr) - strlen(isr), "%s%" PRId32, i ? "," : "",
                 ps->isr[i]);
    if (before && before->leader != ps->leader)
        s->st.leader_changes++;
    repl__sim_trace(s,
                    "controller: leader %" PRId32 " epoch %" PRId32 ", ISR {%s} (partition "
                    "epoch %" PRId32 ")",
                    ps->leader, ps->leader_epoch, isr, ps->partition_epoch);
}

int repl__sim_event(struct repl_sim *s, const struct repl_event *ev)
{
    size_t base = s->journal.n;
    struct repl_pstate before = {0};
    const struct repl_pstate *cur = repl_ctl_partition(&s->ctl, REPL_SIM_TOPIC, 0);
    if (cur)
        before = *cur;
    int rc = repl_ctl_apply(&s->ctl, ev, &s->journal);
    if (rc > 0) { /* the controller refused its own decision: a bug, not an answer */
        repl__sim_trace(s, "controller: replay refused: %s", repl_kerr_name(rc));
        return KC_ECORRUPT;
    }
    if (rc < 0)
        return rc;
    for (size_t i = base; i < s->journal.n; i++)
        if (s->journal.v[i].type == REPL_REC_PARTITION)
            trace_record(s, &s->journal.v[i], cur ? &before : NULL);
    return s->journal.error;
}

/* The node's leader-epoch-checkpoint, rewritten as the broker would (atomically). */
static int write_epoch_ckpt(struct repl_sim_node *n)
{
    struct kc_writer w;
    kc_writer_init(&w, 0);
    repl_ckpt_epochs_encode(&w, n->rp.epochs.v, n->rp.epochs.n);
    int rc = kc_writer_error(&w);
    if (rc == 0) {
        free(n->epoch_ckpt);
        n->epoch_ckpt = (char *)kc_writer_take(&w, &n->epoch_ckpt_len);
    }
    kc_writer_fini(&w);
    return rc;
}

int repl__sim_acks(struct repl_sim *s)
{
    for (size_t i = 0; i < s->nparked;) {
        struct repl_sim_parked *p = &s->parked[i];
        struct repl_sim_node *n = repl_sim_node(s, p->node);
        int kerr = REPL_NOT_LEADER_OR_FOLLOWER; /* a node that went down: the client saw it */
        if (n->up && !repl_leader_ack(&n->rp, p->epoch, p->base + p->count, &kerr)) {
            i++;
            continue;
        }
        for (int32_t j = 0; kerr == REPL_NONE && j < p->count; j++) {
            struct repl_check_rec rec = {p->epoch, p->first_id + (uint64_t)j};
            int rc = repl_check_acked(&s->check, p->base + j, &rec);
            if (rc < 0)
                return rc;
        }
        if (kerr == REPL_NONE)
            s->st.acked_all++;
        else
            s->st.failed_all++;
        s->parked[i] = s->parked[--s->nparked];
    }
    return 0;
}

int repl__sim_effects(struct repl_sim *s, struct repl_sim_node *n)
{
    unsigned fx = repl_replica_fx(&n->rp);
    int rc = 0;
    if (fx & REPL_FX_EPOCHS)
        rc = write_epoch_ckpt(n);
    if (fx & REPL_FX_ISR) {
        n->inflight = n->rp.proposal;
        n->proposal_out = true;
        s->st.proposals++;
        repl__sim_trace(s, "node %" PRId32 ": proposes ISR of %d", n->id, n->inflight.nisr);
    }
    if (rc == 0 && (fx & (REPL_FX_HW | REPL_FX_ROLE)))
        rc = repl__sim_acks(s);
    return rc;
}

int repl_sim_sync(struct repl_sim *s, int32_t node)
{
    struct repl_sim_node *n = repl_sim_node(s, node);
    const struct repl_pstate *ps = repl_ctl_partition(&s->ctl, REPL_SIM_TOPIC, 0);
    if (!n || !n->up || !ps)
        return 0;
    int rc = repl_replica_apply(&n->rp, ps, s->now_ms);
    if (rc > 0)
        return 0; /* a state older than what it knows: ignored, as it must be */
    if (rc == 0 && s->cfg.legacy_hw_truncation && n->rp.role == REPL_ROLE_FOLLOWER &&
        n->rp.truncating && n->rp.leo > n->rp.hw)
        rc = repl__sim_truncate(s, n, n->rp.hw, "the old rule: truncate to the HW");
    return rc < 0 ? rc : repl__sim_effects(s, n);
}

static int grow_log(struct repl_sim_node *n, int64_t need)
{
    if (need <= n->cap)
        return 0;
    int64_t cap = n->cap ? n->cap * 2 : 256;
    while (cap < need)
        cap *= 2;
    struct repl_sim_entry *v = realloc(n->log, (size_t)cap * sizeof(*v));
    if (!v)
        return -ENOMEM;
    n->log = v;
    n->cap = cap;
    return 0;
}

static int park(struct repl_sim *s, const struct repl_sim_parked *p)
{
    if (s->nparked == s->cap_parked) {
        size_t cap = s->cap_parked ? s->cap_parked * 2 : 64;
        struct repl_sim_parked *v = realloc(s->parked, cap * sizeof(*v));
        if (!v)
            return -ENOMEM;
        s->parked = v;
        s->cap_parked = cap;
    }
    s->parked[s->nparked++] = *p;
    return 0;
}

int repl_sim_produce(struct repl_sim *s, int32_t node, int acks, int32_t count, int64_t *base)
{
    struct repl_sim_node *n = repl_sim_node(s, node);
    if (!n || !n->up)
        return REPL_BROKER_NOT_AVAILABLE;
    struct repl_batch b;
    int kerr = repl_leader_prepare(&n->rp, acks, count, &b);
    if (kerr) {
        s->st.refused++;
        return kerr;
    }
    int rc = grow_log(n, b.base_offset + count);
    if (rc < 0)
        return rc;
    uint64_t first_id = s->next_id;
    for (int32_t i = 0; i < count; i++)
        n->log[b.base_offset + i] = (struct repl_sim_entry){b.epoch, s->next_id++};
    rc = repl_replica_appended(&n->rp, &b);
    if (rc == 0 && acks == -1)
        rc = park(s, &(struct repl_sim_parked){node, b.epoch, b.base_offset, count, first_id});
    if (rc < 0)
        return rc;
    s->st.produced += (uint64_t)count;
    s->st.acked_one += acks == 1;
    *base = b.base_offset;
    return repl__sim_effects(s, n);
}

int repl__sim_truncate(struct repl_sim *s, struct repl_sim_node *n, int64_t offset, const char *why)
{
    repl__sim_trace(s, "node %" PRId32 ": truncates its log %" PRId64 " -> %" PRId64 " (%s)", n->id,
                    n->rp.leo, offset, why);
    s->st.truncations++;
    s->st.truncated += (uint64_t)(n->rp.leo - offset);
    n->disk = KC_MIN(n->disk, offset);
    n->recovery_point = KC_MIN(n->recovery_point, offset);
    return repl_replica_truncated(&n->rp, offset);
}

/* Copy the leader's records [from, to) as batches of one epoch, 1-4 records each. */
static int append_from(struct repl_sim *s, struct repl_sim_node *f, const struct repl_sim_node *l,
                       int64_t from, int64_t to)
{
    int rc = grow_log(f, to);
    while (rc == 0 && from < to) {
        int32_t count = 1, epoch = l->log[from].epoch;
        int32_t most = 1 + (int32_t)(repl__sim_rand(s) % 4);
        while (from + count < to && count < most && l->log[from + count].epoch == epoch)
            count++;
        struct repl_batch b = {from, count, epoch};
        rc = repl_replica_check_batch(&f->rp, &b);
        if (rc == 0) {
            memcpy(f->log + from, l->log + from, (size_t)count * sizeof(*f->log));
            rc = repl_replica_appended(&f->rp, &b);
        }
        from += count;
        s->st.appended += (uint64_t)count;
    }
    return rc;
}

static int decide(struct repl_sim *s, struct repl_sim_node *f, const struct repl_sim_node *l,
                  const struct repl_decision *d, const struct repl_fetch_ans *ans, const char *why)
{
    int rc = 0;
    switch (d->what) {
    case REPL_DO_NOTHING:
        break;
    case REPL_DO_TRUNCATE:
        rc = repl__sim_truncate(s, f, d->offset, why);
        break;
    case REPL_DO_RESTART_AT:
        rc = -ENOTSUP; /* the simulated logs all start at offset 0 */
        break;
    case REPL_DO_APPEND:
        rc = append_from(s, f, l, d->from, KC_MIN(d->to, d->from + s->cfg.max_fetch));
        if (rc == 0 && ans)
            repl_follower_hw(&f->rp, ans->hw);
        break;
    }
    return rc < 0 ? rc : repl__sim_effects(s, f);
}

static int epoch_round(struct repl_sim *s, struct repl_sim_node *f, struct repl_sim_node *l)
{
    struct repl_epoch_query q;
    struct repl_epoch_end end = {REPL_UNDEFINED_EPOCH, REPL_UNDEFINED_OFFSET};
    struct repl_decision d;
    repl_follower_epoch_query(&f->rp, &q);
    int kerr = repl_leader_epoch_end(&l->rp, &q, &end);
    s->st.epoch_queries++;
    repl_follower_on_epoch_end(&f->rp, kerr, &end, &d);
    char why[96];
    snprintf(why, sizeof(why), "OffsetForLeaderEpoch(%" PRId32 ") = (%" PRId32 ", %" PRId64 ")",
             q.epoch, end.epoch, end.end_offset);
    if (kerr == 0 && d.what == REPL_DO_NOTHING)
        repl__sim_trace(s, "node %" PRId32 ": %s: nothing to cut, its log ends at %" PRId64, f->id,
                        why, f->rp.leo);
    int rc = decide(s, f, l, &d, NULL, why);
    return rc ? rc : kerr;
}

static int fetch_round(struct repl_sim *s, struct repl_sim_node *f, struct repl_sim_node *l)
{
    struct repl_fetch_req req;
    struct repl_fetch_ans ans;
    struct repl_decision d;
    repl_follower_fetch_req(&f->rp, &req);
    if (s->cfg.legacy_hw_truncation)
        req.last_fetched_epoch = REPL_UNDEFINED_EPOCH; /* no epochs before KIP-101 */
    int kerr = repl_leader_fetch(&l->rp, &req, s->now_ms, &ans);
    s->st.fetches++;
    if (kerr)
        repl__sim_trace(
            s, "node %" PRId32 ": fetch from %" PRId32 " at %" PRId64 " (epoch %" PRId32 "): %s",
            f->id, l->id, req.fetch_offset, req.current_leader_epoch, repl_kerr_name(kerr));
    int rc = repl__sim_effects(s, l);
    if (rc < 0)
        return rc;
    repl_follower_on_fetch(&f->rp, &ans, &d);
    char why[96];
    if (ans.diverging.epoch != REPL_UNDEFINED_EPOCH)
        snprintf(why, sizeof(why),
                 "diverging epoch: the leader's epoch %" PRId32 " ends at %" PRId64,
                 ans.diverging.epoch, ans.diverging.end_offset);
    else
        snprintf(why, sizeof(why), "%s: the leader's log ends at %" PRId64, repl_kerr_name(kerr),
                 ans.leo);
    rc = decide(s, f, l, &d, &ans, why);
    return rc ? rc : kerr;
}

int repl_sim_fetch(struct repl_sim *s, int32_t node)
{
    struct repl_sim_node *f = repl_sim_node(s, node);
    if (!f || !f->up)
        return 0;
    bool on_fetch = !f->epoch_query || s->cfg.legacy_hw_truncation;
    enum repl_next next = repl_follower_next(&f->rp, on_fetch);
    struct repl_sim_node *l = repl_sim_node(s, f->rp.ps.leader);
    if (next == REPL_NEXT_IDLE || !l || !l->up)
        return 0; /* nobody to fetch from: the connection would be refused */
    if (next == REPL_NEXT_EPOCH_QUERY)
        return epoch_round(s, f, l);
    return fetch_round(s, f, l);
}

int repl_sim_fsync(struct repl_sim *s, int32_t node)
{
    struct repl_sim_node *n = repl_sim_node(s, node);
    if (!n || !n->up)
        return 0;
    /* Durability point: after this, log[0 .. leo) survives a crash. */
    n->disk = n->rp.leo;
    n->recovery_point = n->disk;
    repl_replica_durable(&n->rp, n->disk);
    n->hw_ckpt = n->rp.hw; /* replication-offset-checkpoint, with the flush */
    return repl__sim_effects(s, n);
}

int repl_sim_tick(struct repl_sim *s, int64_t ms)
{
    s->now_ms += ms;
    for (int i = 0; i < s->nnodes; i++) {
        struct repl_sim_node *n = &s->nodes[i];
        if (!n->up)
            continue;
        repl_leader_tick(&n->rp, s->now_ms);
        int rc = repl__sim_effects(s, n);
        if (rc < 0)
            return rc;
    }
    return 0;
}

int repl_sim_submit(struct repl_sim *s, int32_t node)
{
    struct repl_sim_node *n = repl_sim_node(s, node);
    if (!n || !n->up || !n->proposal_out)
        return 0;
    n->proposal_out = false;
    struct repl_event ev = {
        .type = REPL_EV_ISR_CHANGE, .topic = REPL_SIM_TOPIC, .partition = 0, .isr = n->inflight};
    int rc = repl__sim_event(s, &ev);
    if (rc < 0)
        return rc;
    if (rc > 0) { /* fenced or stale: the leader forgets it and proposes again later */
        s->st.isr_refusals++;
        repl__sim_trace(s, "node %" PRId32 ": ISR proposal refused: %s", n->id, repl_kerr_name(rc));
        if (n->rp.pending && n->rp.proposal.partition_epoch == n->inflight.partition_epoch)
            repl_leader_isr_failed(&n->rp);
        return 0;
    }
    s->st.isr_commits++;
    return repl_sim_sync(s, node); /* the writer knows its conditional write succeeded */
}
