/*
 * sim_life.c - the simulated cluster's lifecycle: start, crash, expire, restart,
 * controlled shutdown, balancing, consumers, the invariant checks, and healing.
 *
 * A crash is a power cut: a node keeps only what it fsynced. (A disk loss is the same cut
 * on a node that keeps running: a failed fsync, and appendLog's heal in place.) Recovery
 * is Kafka's:
 *
 *   log on disk    [0 .......... disk)          everything else is gone
 *   epochs         leader-epoch-checkpoint (as last written), then the epochs of batches
 *                  beyond the recovery point re-read from the log, then cut to the log
 *   HW             replication-offset-checkpoint, capped by the log's end
 *   role           none until it registers again and reads the partition state
 *
 * Registering again with a new broker epoch is how the controller learns the node
 * bounced, even if the old session has not expired yet: it leaves every ISR and
 * leadership as if lost, then elections run again.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "kc_common.h"
#include "repl_ckpt.h"
#include "repl_sim.h"
#include "repl_sim_int.h"

static int register_node(struct repl_sim *s, struct repl_sim_node *n)
{
    char endpoint[32];
    snprintf(endpoint, sizeof(endpoint), "sim-%" PRId32 ":9092", n->id);
    n->broker_epoch = ++s->next_zxid;
    struct repl_event ev = {.type = REPL_EV_BROKER_REGISTERED,
                            .id = n->id,
                            .epoch = n->broker_epoch,
                            .endpoint = endpoint};
    int rc = repl__sim_event(s, &ev);
    return rc < 0 ? rc : 0;
}

/* The epochs a recovered log holds: the checkpoint, then the batches it rescans. */
static int recover_epochs(struct repl_sim_node *n)
{
    if (n->epoch_ckpt) {
        int rc = repl_ckpt_epochs_decode(n->epoch_ckpt, n->epoch_ckpt_len, &n->rp.epochs);
        if (rc < 0)
            return rc; /* the simulator wrote it: unreadable means a bug */
    }
    for (int64_t o = KC_MIN(n->recovery_point, n->disk); o < n->disk; o++) {
        int rc = repl_epoch_cache_assign(&n->rp.epochs, n->log[o].epoch, o);
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* Start a stopped node from what its disk holds. */
static int boot(struct repl_sim *s, struct repl_sim_node *n)
{
    n->up = true;
    n->incarnation++;
    n->proposal_out = false;
    repl_replica_init(&n->rp, n->id, &s->cfg.replica);
    int rc = recover_epochs(n);
    if (rc == 0)
        rc = repl_replica_load(&n->rp, 0, n->disk, n->hw_ckpt);
    if (rc == 0 && s->cfg.legacy_hw_truncation && n->rp.leo > n->rp.hw)
        rc = repl__sim_truncate(s, n, n->rp.hw, "the old rule: truncate to the HW at start");
    if (rc == 0)
        rc = repl__sim_effects(s, n);
    if (rc == 0)
        rc = register_node(s, n);
    return rc < 0 ? rc : repl_sim_sync(s, n->id);
}

int repl_sim_init(struct repl_sim *s, const struct repl_sim_config *cfg)
{
    if (cfg->nodes < 1 || cfg->nodes > REPL_SIM_MAX_NODES || cfg->max_fetch < 1)
        return -EINVAL;
    memset(s, 0, sizeof(*s));
    s->cfg = *cfg;
    s->nnodes = cfg->nodes;
    s->rng = cfg->seed;
    s->next_id = 1;
    s->next_zxid = (int64_t)1 << 32;
    struct repl_ctl_config cc = {cfg->unclean_leader_election, cfg->seed};
    repl_ctl_init(&s->ctl, &cc);
    repl_recs_init(&s->journal);
    repl_check_init(&s->check);
    for (int i = 0; i < s->nnodes; i++) {
        struct repl_sim_node *n = &s->nodes[i];
        n->id = i + 1;
        n->epoch_query = cfg->truncation == 0 || (cfg->truncation == 2 && repl__sim_rand(s) & 1);
    }
    int rc = repl__sim_event(s, &(struct repl_event){.type = REPL_EV_ELECTED, .id = 1});
    for (int i = 0; rc == 0 && i < s->nnodes; i++)
        rc = boot(s, &s->nodes[i]);
    if (rc == 0)
        rc = repl__sim_event(s, &(struct repl_event){.type = REPL_EV_TOPIC_CREATE,
                                                     .topic = REPL_SIM_TOPIC,
                                                     .partitions = 1,
                                                     .replication = s->nnodes});
    for (int i = 0; rc == 0 && i < s->nnodes; i++)
        rc = repl_sim_sync(s, i + 1);
    if (rc != 0)
        repl_sim_fini(s);
    return rc > 0 ? KC_ECORRUPT : rc;
}

void repl_sim_fini(struct repl_sim *s)
{
    for (int i = 0; i < s->nnodes; i++) {
        free(s->nodes[i].log);
        free(s->nodes[i].epoch_ckpt);
        repl_replica_fini(&s->nodes[i].rp);
    }
    repl_ctl_fini(&s->ctl);
    repl_recs_fini(&s->journal);
    repl_check_fini(&s->check);
    free(s->parked);
    memset(s, 0, sizeof(*s));
}

/* Stop a node: what it had not fsynced is gone. */
static int stop(struct repl_sim *s, struct repl_sim_node *n)
{
    n->up = false;
    n->proposal_out = false;
    repl_replica_fini(&n->rp);
    return repl__sim_acks(s); /* its parked produces fail now */
}

int repl_sim_crash(struct repl_sim *s, int32_t node)
{
    struct repl_sim_node *n = repl_sim_node(s, node);
    if (!n || !n->up)
        return 0;
    repl__sim_trace(s, "node %" PRId32 ": power cut; keeps %" PRId64 " of %" PRId64 " records",
                    n->id, n->disk, n->rp.leo);
    return stop(s, n);
}

int repl_sim_disk_loss(struct repl_sim *s, int32_t node)
{
    struct repl_sim_node *n = repl_sim_node(s, node);
    if (!n || !n->up || n->disk >= n->rp.leo)
        return 0;
    for (size_t i = 0; i < s->nparked;) { /* the broker's brep__rp_cut: timed out */
        const struct repl_sim_parked *p = &s->parked[i];
        if (p->node != n->id || p->base + p->count <= n->disk) {
            i++;
            continue;
        }
        s->st.failed_all++;
        s->parked[i] = s->parked[--s->nparked];
    }
    s->st.disk_losses++;
    /* A log that healed is a log recovered: a follower's HW, taken from its leader beyond
     * what it had fsynced, may go back (I2 holds per incarnation, as across a crash). */
    n->incarnation++;
    int rc = repl__sim_truncate(s, n, n->disk, "an fsync failed: the disk lost the unsynced tail");
    return rc < 0 ? rc : repl__sim_effects(s, n);
}

int repl_sim_expire(struct repl_sim *s, int32_t node)
{
    struct repl_sim_node *n = repl_sim_node(s, node);
    const struct repl_broker *b = n ? repl_ctl_broker(&s->ctl, n->id) : NULL;
    if (!b || b->state == REPL_BROKER_FENCED || b->epoch != n->broker_epoch)
        return 0;
    repl__sim_trace(s, "node %" PRId32 ": session expired%s", n->id,
                    n->up ? " (it is still running: a zombie until it hears)" : "");
    int rc = repl__sim_event(
        s,
        &(struct repl_event){.type = REPL_EV_BROKER_LOST, .id = n->id, .epoch = n->broker_epoch});
    return rc < 0 ? rc : 0;
}

int repl_sim_restart(struct repl_sim *s, int32_t node)
{
    struct repl_sim_node *n = repl_sim_node(s, node);
    if (!n || n->up)
        return 0;
    repl__sim_trace(s, "node %" PRId32 ": restarts with %" PRId64 " records on disk", n->id,
                    n->disk);
    return boot(s, n);
}

int repl_sim_register(struct repl_sim *s, int32_t node)
{
    struct repl_sim_node *n = repl_sim_node(s, node);
    const struct repl_broker *b = n ? repl_ctl_broker(&s->ctl, n->id) : NULL;
    if (!n || !n->up || (b && b->state != REPL_BROKER_FENCED && b->epoch == n->broker_epoch))
        return 0;
    int rc = register_node(s, n);
    return rc < 0 ? rc : repl_sim_sync(s, node);
}

int repl_sim_shutdown(struct repl_sim *s, int32_t node)
{
    struct repl_sim_node *n = repl_sim_node(s, node);
    if (!n || !n->up)
        return 0;
    int rc = repl__sim_event(s, &(struct repl_event){.type = REPL_EV_BROKER_SHUTDOWN,
                                                     .id = n->id,
                                                     .epoch = n->broker_epoch});
    if (rc < 0)
        return rc;
    repl__sim_trace(s,
                    "node %" PRId32 ": controlled shutdown (%" PRId32 " partitions it must "
                    "still lead)",
                    n->id, rc ? 0 : s->journal.remaining);
    for (int i = 0; i < s->nnodes && rc >= 0; i++)
        rc = repl_sim_sync(s, i + 1); /* the controller tells everyone before answering */
    if (rc >= 0)
        rc = repl_sim_fsync(s, node); /* a clean stop flushes everything */
    if (rc >= 0)
        rc = stop(s, n);
    return rc < 0 ? rc : repl_sim_expire(s, node);
}

int repl_sim_preferred(struct repl_sim *s)
{
    int rc = repl__sim_event(s, &(struct repl_event){.type = REPL_EV_PREFERRED});
    return rc < 0 ? rc : 0;
}

int repl_sim_consume(struct repl_sim *s, int32_t node, int64_t from, int max)
{
    struct repl_sim_node *n = repl_sim_node(s, node);
    if (!n || !n->up || n->rp.role != REPL_ROLE_LEADER)
        return REPL_NOT_LEADER_OR_FOLLOWER;
    int64_t end = KC_MIN(n->rp.hw, from + max);
    for (int64_t o = KC_MAX(from, n->rp.log_start); o < end; o++) {
        struct repl_check_rec rec = {n->log[o].epoch, n->log[o].id};
        int rc = repl_check_consumed(&s->check, o, &rec);
        if (rc < 0)
            return rc;
    }
    return 0;
}

static int read_entry(void *arg, int64_t offset, struct repl_check_rec *rec)
{
    const struct repl_sim_node *n = arg;
    if (offset < 0 || offset >= n->rp.leo)
        return -ERANGE;
    *rec = (struct repl_check_rec){n->log[offset].epoch, n->log[offset].id};
    return 0;
}

static struct repl_check_view view_of(struct repl_sim_node *n)
{
    return (struct repl_check_view){
        n->id,    n->incarnation, n->rp.role, n->rp.ps.leader_epoch, n->rp.log_start, n->rp.leo,
        n->rp.hw, read_entry,     n};
}

int repl_sim_check(struct repl_sim *s)
{
    for (int i = 0; i < s->nnodes; i++) {
        if (!s->nodes[i].up)
            continue;
        struct repl_check_view v = view_of(&s->nodes[i]);
        int rc = repl_check_view(&s->check, &v);
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* Has everything healed: a leader every node follows, everyone in the ISR, holding the
 * leader's whole log, and knowing it is all committed? */
static bool converged(struct repl_sim *s)
{
    const struct repl_pstate *ps = repl_ctl_partition(&s->ctl, REPL_SIM_TOPIC, 0);
    struct repl_sim_node *l = ps ? repl_sim_node(s, ps->leader) : NULL;
    if (!l || !l->up || l->rp.role != REPL_ROLE_LEADER || ps->nisr != s->nnodes || s->nparked)
        return false;
    for (int i = 0; i < s->nnodes; i++) {
        const struct repl_sim_node *n = &s->nodes[i];
        if (!n->up || n->rp.ps.partition_epoch != ps->partition_epoch || n->rp.leo != l->rp.leo ||
            n->rp.hw != l->rp.leo)
            return false;
    }
    return true;
}

/* Fetch until the node stops moving (or 64 rounds): catching up a long log. */
static int catch_up(struct repl_sim *s, int32_t node)
{
    const struct repl_replica *rp = &repl_sim_node(s, node)->rp;
    int rc = 0;
    for (int k = 0; k < 64 && rc >= 0; k++) {
        int64_t leo = rp->leo;
        bool truncating = rp->truncating;
        rc = repl_sim_fetch(s, node);
        if (rp->leo == leo && rp->truncating == truncating)
            break;
    }
    return rc;
}

/* Every node: read the state, submit, fetch, fsync; then a millisecond passes. Refusals
 * (positive answers) are part of healing; only failures stop it. */
static int settle_round(struct repl_sim *s)
{
    int rc = 0;
    for (int i = 1; i <= s->nnodes && rc >= 0; i++)
        rc = repl_sim_sync(s, i);
    for (int i = 1; i <= s->nnodes && rc >= 0; i++)
        rc = repl_sim_submit(s, i);
    for (int i = 1; i <= s->nnodes && rc >= 0; i++)
        rc = repl_sim_node(s, i)->up ? catch_up(s, i) : 0;
    for (int i = 1; i <= s->nnodes && rc >= 0; i++)
        rc = repl_sim_fsync(s, i);
    if (rc >= 0)
        rc = repl_sim_tick(s, 1);
    if (rc >= 0)
        rc = repl_sim_check(s);
    return rc < 0 ? rc : 0;
}

int repl_sim_settle(struct repl_sim *s, int rounds)
{
    int rc = 0;
    for (int i = 1; i <= s->nnodes && rc >= 0; i++)
        rc = repl_sim_node(s, i)->up ? repl_sim_register(s, i) : repl_sim_restart(s, i);
    for (int r = 0; rc >= 0 && r < rounds && !converged(s); r++)
        rc = settle_round(s);
    if (rc < 0)
        return rc;
    if (!converged(s))
        return -ETIMEDOUT; /* a liveness failure: healing did not heal */
    for (int i = 0; i < s->nnodes; i++) {
        struct repl_check_view v = view_of(&s->nodes[i]);
        rc = repl_check_complete(&s->check, &v);
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* The log as runs of one epoch ("e0:0-4 e2:5-9"), or record by record when short. */
static void describe_log(const struct repl_sim_node *n, int64_t len, FILE *out)
{
    if (len <= 10) {
        for (int64_t o = 0; o < len; o++)
            fprintf(out, " %" PRId64 ":r%" PRIu64 "/e%" PRId32, o, n->log[o].id, n->log[o].epoch);
        return;
    }
    for (int64_t o = 0; o < len;) {
        int64_t end = o;
        while (end < len && n->log[end].epoch == n->log[o].epoch)
            end++;
        fprintf(out, " e%" PRId32 ":%" PRId64 "-%" PRId64, n->log[o].epoch, o, end - 1);
        o = end;
    }
}

void repl_sim_describe(const struct repl_sim *s, FILE *out)
{
    const struct repl_pstate *ps = repl_ctl_partition(&s->ctl, REPL_SIM_TOPIC, 0);
    for (int i = 0; i < s->nnodes; i++) {
        const struct repl_sim_node *n = &s->nodes[i];
        int64_t len = n->up ? n->rp.leo : n->disk;
        bool isr = ps && repl_pstate_in_isr(ps, n->id);
        if (n->up)
            fprintf(out,
                    "    node %" PRId32 "  %-8s e%-2" PRId32 " LEO %-3" PRId64 " disk %-3" PRId64
                    " HW %-3" PRId64 " %s |",
                    n->id, repl_role_name(n->rp.role), n->rp.ps.leader_epoch, n->rp.leo, n->disk,
                    n->rp.hw, isr ? "ISR" : "   ");
        else
            fprintf(out, "    node %" PRId32 "  %-8s     LEO -   disk %-3" PRId64 " HW -   %s |",
                    n->id, "(down)", n->disk, isr ? "ISR" : "   ");
        describe_log(n, len, out);
        fputc('\n', out);
    }
}
