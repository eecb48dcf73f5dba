/*
 * test_0317_cluster_partition - a network partition between brokers (issue 13, "Proving
 * it"): three brokers on 127.0.0.2/.3/.4 in a network namespace of the test's own, and
 * nftables rules that drop what the cut brokers send each other (knet.h). ZooKeeper and
 * the clients, on 127.0.0.1, still reach everyone.
 *
 *   leader cut off     RF 3, min.insync.replicas 2: acks=all OK; then the leader loses
 *   from both          both followers but keeps ZooKeeper and its clients. Every acks=all
 *   followers          produce to it FAILS - REQUEST_TIMED_OUT (7) or
 *                      NOT_ENOUGH_REPLICAS_AFTER_APPEND (20) while the ISR still names
 *                      the followers, NOT_ENOUGH_REPLICAS (19, nothing written) once it
 *                      shrank to the leader alone - and none is acknowledged. Healed: the
 *                      ISR grows back to 3 and acks=all succeeds.
 *   a follower cut     the ISR shrinks to 2 and acks=all goes on; healed: ISR 3.
 *   a diverged suffix  KIP-101's case, staged: the leader, cut off, still takes acks=1
 *                      produces no follower copies, and dies (kill -9) before its ISR
 *                      shrinks; a follower is elected and writes other records at those
 *                      offsets (acks=all). The old leader restarts holding a history the
 *                      new one never had: it must truncate where the new leader's record
 *                      of its epoch ends (the diverging epoch), never keep its suffix, and
 *                      then copy the new records - one offset, one value, everywhere.
 *   a leader's disk    (no network cut; every broker under the fault shim) the leader's
 *   loses a tail its   fsync of a produce fails after its followers copied the records
 *   followers copied   from its memory, and its disk keeps none of them (flt_lose); its
 *                      log heals without them. The produce must NOT be acknowledged (the
 *                      next records' HW would have done it: answered REQUEST_TIMED_OUT);
 *                      produces are refused (19) until the controller gives the leader a
 *                      new epoch, and the records that take the lost offsets carry it,
 *                      so each follower's copy parts from the leader's history at the cut
 *                      (both truncate).
 *   ... and outlives   the same, but one follower is stopped (SIGSTOP) once it copied the
 *   its leader         records, and leaves the ISR (session expiry) before it hears of the
 *                      cut; the leader then dies and the other follower leads. The stopped
 *                      one comes back to a new leader that never knew of the cut: only the
 *                      epoch of the records that took the lost offsets tells it to truncate.
 *
 * Then, each time: every acknowledged record is read once, at the offset it was
 * acknowledged at, from the leader; nothing refused before the append (19, 6) is there;
 * and every replica's log, read from its files, holds the same records below the high
 * watermark. The test asserts outcomes, never durations: every wait polls, bounded.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <signal.h>

#include "kafka/kflt.h"
#include "kafka/knet.h"
#include "kafka/krep.h"

#define TOPIC "ledger"
#define PER 3        /* records per produce: "b<op>-0" .. "b<op>-2" */
#define OPS_MAX 1000 /* produces per case */
#define KP_ERR_AFTER_APPEND 20 /* NOT_ENOUGH_REPLICAS_AFTER_APPEND (not in kp_errors.h) */
#define ACKS1_CUT 1000 /* an op's err: acks=1, acknowledged by a cut leader that then died */

static struct kc_netns net; /* entered in main(), before ZooKeeper starts */

struct op {
    int16_t err;
    int64_t base;
};

/* One case's cluster and every produce it made, in order. */
struct run {
    struct kcl *c;
    int32_t leader;
    int nops;
    struct op op[OPS_MAX];
};

/* Produce op r->nops (PER records) with acks=all to broker id: its error code. */
static int16_t produce(struct run *r, int id)
{
    char prefix[16];
    if (r->nops == OPS_MAX)
        fail_msg("%d produces and the cluster never got where the test waits for", OPS_MAX);
    struct op *o = &r->op[r->nops];
    snprintf(prefix, sizeof(prefix), "b%d-", r->nops++);
    o->base = -1;
    o->err = krep_produce_as(r->c->b[id], TOPIC, 0, -1, prefix, PER, &o->base);
    return o->err;
}

static bool acked(void *arg)
{
    struct run *r = arg;
    return produce(r, r->leader) == 0;
}

static int isr_of(const struct run *r)
{
    int32_t leader, epoch;
    int isr;
    krep_leader(r->c->b[r->leader], TOPIC, 0, &leader, &epoch, &isr);
    return isr;
}

struct isr_is {
    const struct run *r;
    int n;
};

static bool isr_is(void *arg)
{
    struct isr_is *u = arg;
    return isr_of(u->r) == u->n;
}

/* Three brokers, broker id N on 127.0.0.(N+1); topic TOPIC with RF 3, ISR 3 everywhere;
 * the first acks=all produce acknowledged. A 1 s lag limit (the leader shrinks the ISR,
 * well before a 2 s ZooKeeper session would matter) and a 2 s socket timeout (a fetcher
 * whose connection went silent gives up on it soon after the heal). No controlled
 * shutdown: at teardown the last broker could move its leadership nowhere, and would
 * retry for seconds. */
static const char *const settings[] = {"min.insync.replicas=2", "replica.lag.time.max.ms=1000",
                                       "replica.fetch.wait.max.ms=100",
                                       "replica.socket.timeout.ms=2000",
                                       "controlled.shutdown.enable=false", NULL};

/* The same, with a lag limit of 20 s: a leader cut off keeps its followers in the ISR for
 * as long as a case needs (even under valgrind). */
static const char *const settings_slow_lag[] = {"min.insync.replicas=2",
                                                "replica.lag.time.max.ms=20000",
                                                "replica.fetch.wait.max.ms=100",
                                                "replica.socket.timeout.ms=2000",
                                                "controlled.shutdown.enable=false", NULL};

static void start3_shims(struct run *r, const char *const *with, struct kflt *shim)
{
    for (int id = 1; id <= 3; id++) {
        if (!shim) {
            kcl_start_at(r->c, id, knet_host(id), with);
            continue;
        }
        void *b;
        kb_setup(&b);
        r->c->b[id] = b;
        kflt_map(&shim[id], r->c->b[id]->dir);
        atomic_store(&shim[id].ctl->track_sync, 1); /* flt_lose needs what fsyncs covered */
        kflt_env(&shim[id], true);
        kcl_start_at(r->c, id, knet_host(id), with);
        kflt_env(&shim[id], false);
    }
    kcl_await_brokers(r->c, 3);
    assert_int_equal(kcl_create_topic(r->c->b[1], TOPIC, 1, 3), 0);
    kcl_await_topic(r->c, 3, TOPIC, 1, 3);
    int32_t epoch;
    krep_leader(r->c->b[1], TOPIC, 0, &r->leader, &epoch, NULL);
    assert_true(r->leader >= 1 && r->leader <= 3);
    assert_string_equal(r->c->b[r->leader]->host, knet_host(r->leader));
    struct isr_is whole = {r, 3};
    assert_true(kt_until(acked, r, KB_WAIT_MS)); /* a follower slow to start may flap */
    assert_true(kt_until(isr_is, &whole, KB_WAIT_MS));
}

static void start3(struct run *r, const char *const *with)
{
    start3_shims(r, with, NULL);
}

/* ---- what the logs say ------------------------------------------------------------------ */

struct rec {
    int64_t offset;
    int op, i; /* "b<op>-<i>" */
};

struct recs {
    int n;
    struct rec v[OPS_MAX * PER];
};

static void collect(void *arg, int64_t offset, const uint8_t *v, int32_t len)
{
    struct recs *rs = arg;
    char s[32];
    struct rec x = {offset, -1, -1};
    snprintf(s, sizeof(s), "%.*s", (int)len, (const char *)v);
    assert_int_equal(sscanf(s, "b%d-%d", &x.op, &x.i), 2);
    assert_true(rs->n < OPS_MAX * PER);
    rs->v[rs->n++] = x;
}

/* The leader's records below its HW, as a consumer reads them: each acknowledged one
 * once, at its acknowledged offset; none of a produce refused before the append; no
 * other one twice. Returns the HW. */
static int64_t check_leader(const struct run *r, struct recs *rs, int *acked_records)
{
    int16_t err;
    int32_t bytes;
    int64_t hw;
    static int seen[OPS_MAX][PER];
    memset(seen, 0, sizeof(seen));
    krep_fetch(r->c->b[r->leader], TOPIC, 0, 0, &err, &hw, &bytes);
    assert_int_equal(err, 0);
    rs->n = 0;
    krep_consume(r->c->b[r->leader], TOPIC, 0, collect, rs);
    assert_int_equal(rs->n, hw); /* offsets 0..HW-1, none missing */
    for (int k = 0; k < rs->n; k++) {
        const struct rec *x = &rs->v[k];
        assert_int_equal(x->offset, k);
        assert_true(x->op >= 0 && x->op < r->nops && x->i >= 0 && x->i < PER);
        seen[x->op][x->i]++;
        if (r->op[x->op].err == 0)
            assert_int_equal(x->offset, r->op[x->op].base + x->i);
    }
    *acked_records = 0;
    for (int o = 0; o < r->nops; o++)
        for (int i = 0; i < PER; i++) {
            int16_t e = r->op[o].err;
            if (e == 0)
                (*acked_records)++;
            if (e == 0 && seen[o][i] != 1)
                fail_msg("acknowledged record b%d-%d read %d times", o, i, seen[o][i]);
            if ((e == KP_ERR_NOT_ENOUGH_REPLICAS || e == KP_ERR_NOT_LEADER_OR_FOLLOWER) &&
                seen[o][i] != 0)
                fail_msg("record b%d-%d refused with %d is in the log", o, i, (int)e);
            if (e == ACKS1_CUT && seen[o][i] != 0)
                fail_msg("record b%d-%d of the dead leader's diverged suffix is in the log", o,
                         i);
            assert_true(seen[o][i] <= 1);
        }
    return hw;
}

struct holds {
    const struct kb_broker *b;
    struct recs *file;
    int64_t hw;
};

/* Does b's log, read from its files, reach the HW? (A follower that lagged out of the ISR
 * for a moment - a loaded machine - may still be catching up.) */
static bool holds_hw(void *arg)
{
    struct holds *u = arg;
    u->file->n = 0;
    krep_log_records(u->b, TOPIC, 0, collect, u->file);
    return u->file->n >= u->hw;
}

/* Every broker's log, read from its files, holds the leader's records below the HW. */
static void check_replicas(const struct run *r, const struct recs *lead, int64_t hw)
{
    static struct recs file;
    for (int id = 1; id <= 3; id++) {
        struct holds u = {r->c->b[id], &file, hw};
        if (!kt_until(holds_hw, &u, KB_WAIT_MS))
            fail_msg("broker %d holds %d records, below the HW %lld", id, file.n,
                     (long long)hw);
        for (int64_t k = 0; k < hw; k++)
            if (file.v[k].offset != k || file.v[k].op != lead->v[k].op ||
                file.v[k].i != lead->v[k].i)
                fail_msg("broker %d disagrees with the leader at offset %lld", id,
                         (long long)k);
    }
}

/* The ISR whole again, acks=all acknowledged again, the logs as above. */
static void settle_and_check(struct run *r, const char *what)
{
    int64_t t0 = kc_mono_ms();
    struct isr_is whole = {r, 3};
    assert_true(kt_until(isr_is, &whole, KB_WAIT_MS));
    int64_t back_ms = kc_mono_ms() - t0;
    assert_true(kt_until(acked, r, KB_WAIT_MS));
    for (int k = 0; k < 3; k++)
        assert_int_equal(produce(r, r->leader), 0);
    static struct recs lead;
    int acked_records;
    int64_t hw = check_leader(r, &lead, &acked_records);
    check_replicas(r, &lead, hw);
    printf("# %s healed: ISR 3 again after %lld ms; %d acknowledged records read once, in "
           "order, from the leader; 3 replicas agree below the HW %lld\n", what,
           (long long)back_ms, acked_records, (long long)hw);
}

static void heal_and_check(struct run *r, const char *what)
{
    knet_heal();
    settle_and_check(r, what);
}

/* ---- the cases -------------------------------------------------------------------------- */

/* acks=all produces to the cut leader until one is refused with NOT_ENOUGH_REPLICAS and
 * its ISR is itself alone: each must fail (counts[]: 7, 19, 20, 6), none be acknowledged.
 * The time the ISR took to shrink. */
static int64_t refused_until_alone(struct run *r, int counts[4])
{
    int lead = r->leader, before = r->nops;
    int64_t t0 = kc_mono_ms(), shrunk_ms = -1;
    while (counts[1] == 0 || shrunk_ms < 0) {
        if (kc_mono_ms() - t0 > KB_WAIT_MS)
            fail_msg("no NOT_ENOUGH_REPLICAS within %d ms of the cut", KB_WAIT_MS);
        int end = krep_log_records(r->c->b[lead], TOPIC, 0, NULL, NULL);
        int16_t err = produce(r, lead);
        if (err == 0)
            fail_msg("acks=all acknowledged by a leader cut off from its followers "
                     "(produce %d)", r->nops - 1);
        counts[0] += err == KP_ERR_REQUEST_TIMED_OUT;
        counts[1] += err == KP_ERR_NOT_ENOUGH_REPLICAS;
        counts[2] += err == KP_ERR_AFTER_APPEND;
        counts[3] += err == KP_ERR_NOT_LEADER_OR_FOLLOWER;
        if (counts[0] + counts[1] + counts[2] + counts[3] != r->nops - before)
            fail_msg("a produce to the cut leader answered %d", (int)err);
        if (err == KP_ERR_NOT_ENOUGH_REPLICAS) /* refused before the append */
            assert_int_equal(krep_log_records(r->c->b[lead], TOPIC, 0, NULL, NULL), end);
        if (shrunk_ms < 0 && isr_of(r) == 1)
            shrunk_ms = kc_mono_ms() - t0;
        kc_sleep_ms(20); /* a refusal is quick: no need to hammer */
    }
    return shrunk_ms;
}

static void test_0317_leader_cut_from_followers_never_acks(void **state)
{
    KNET_REQUIRE(&net);
    KCL_REQUIRE_ZK();
    static struct run r;
    memset(&r, 0, sizeof(r));
    r.c = *state;
    start3(&r, settings);
    for (int k = 0; k < 3; k++)
        assert_int_equal(produce(&r, r.leader), 0);
    int lead = r.leader, followers[2] = {lead % 3 + 1, (lead + 1) % 3 + 1};
    int counts[4] = {0}; /* 7, 19, 20, 6 */
    knet_cut(&lead, 1, followers, 2);
    int64_t shrunk_ms = refused_until_alone(&r, counts);
    struct kcl_until_brokers all = {r.c->b[lead], 3};
    assert_true(kcl_has_brokers(&all)); /* it kept ZooKeeper: no failover, a partition */
    assert_int_equal(produce(&r, followers[0]), KP_ERR_NOT_LEADER_OR_FOLLOWER);
    printf("# leader %d (%s) cut off from %d and %d: ISR 1 after %lld ms; %d acks=all "
           "produces, none acknowledged (7: %d, 19: %d, 20: %d, 6: %d)\n", lead,
           knet_host(lead), followers[0], followers[1], (long long)shrunk_ms,
           counts[0] + counts[1] + counts[2] + counts[3], counts[0], counts[1], counts[2],
           counts[3]);
    heal_and_check(&r, "leader cut");
}

static void test_0317_follower_cut_isr_shrinks_acks_go_on(void **state)
{
    KNET_REQUIRE(&net);
    KCL_REQUIRE_ZK();
    static struct run r;
    memset(&r, 0, sizeof(r));
    r.c = *state;
    start3(&r, settings);
    int cut = r.leader % 3 + 1, rest[2] = {r.leader, cut % 3 + 1};
    knet_cut(&cut, 1, rest, 2);
    int64_t t0 = kc_mono_ms();
    struct isr_is two = {&r, 2};
    int during = 0, failed = 0;
    while (!isr_is(&two)) { /* produce on meanwhile: parked until the ISR shrinks */
        if (kc_mono_ms() - t0 > KB_WAIT_MS)
            fail_msg("the cut follower %d never left the ISR", cut);
        failed += produce(&r, r.leader) != 0;
        during++;
        kc_sleep_ms(20);
    }
    int64_t out_ms = kc_mono_ms() - t0;
    struct kcl_until_brokers all = {r.c->b[r.leader], 3};
    assert_true(kcl_has_brokers(&all)); /* the lag rule, not a session expiry */
    for (int k = 0; k < 5; k++) /* each acknowledged with ISR 2 = min.insync.replicas */
        assert_true(kt_until(acked, &r, KB_WAIT_MS));
    printf("# follower %d (%s) cut off from %d and %d: out of the ISR after %lld ms (%d of "
           "%d produces meanwhile failed); acks=all goes on with ISR 2\n", cut,
           knet_host(cut), rest[0], rest[1], (long long)out_ms, failed, during);
    heal_and_check(&r, "follower cut");
}

struct new_leader {
    const struct run *r;
    int old;
    int32_t leader, epoch;
};

/* Does a live broker name a leader other than the old one? */
static bool new_leader(void *arg)
{
    struct new_leader *u = arg;
    int asker = u->old % 3 + 1;
    int isr;
    krep_leader(u->r->c->b[asker], TOPIC, 0, &u->leader, &u->epoch, &isr);
    return u->leader >= 1 && u->leader != u->old;
}

static void test_0317_dead_leader_diverged_suffix_truncated(void **state)
{
    KNET_REQUIRE(&net);
    KCL_REQUIRE_ZK();
    static struct run r;
    memset(&r, 0, sizeof(r));
    r.c = *state;
    start3(&r, settings_slow_lag);
    for (int k = 0; k < 3; k++)
        assert_int_equal(produce(&r, r.leader), 0);
    int old = r.leader, followers[2] = {old % 3 + 1, (old + 1) % 3 + 1};
    int32_t epoch, leader;
    krep_leader(r.c->b[old], TOPIC, 0, &leader, &epoch, NULL);
    int end_before = krep_log_records(r.c->b[old], TOPIC, 0, NULL, NULL);

    /* the suffix: acks=1 on the cut leader, in its log only */
    knet_cut(&old, 1, followers, 2);
    for (int k = 0; k < 3; k++) {
        struct op *o = &r.op[r.nops];
        char prefix[16];
        snprintf(prefix, sizeof(prefix), "b%d-", r.nops++);
        assert_int_equal(krep_produce_as(r.c->b[old], TOPIC, 0, 1, prefix, PER, &o->base), 0);
        o->err = ACKS1_CUT;
    }
    int suffix = krep_log_records(r.c->b[old], TOPIC, 0, NULL, NULL) - end_before;
    assert_int_equal(suffix, 3 * PER);
    assert_int_equal(isr_of(&r), 3); /* its followers still in the ISR: electable */
    kb_kill9(r.c->b[old]);

    /* a follower takes over, and writes its own records at the suffix's offsets. The cut
     * stays until then: the dead leader's kernel still retransmits the fetch answers it
     * had queued (an orphaned socket), and a follower of its epoch that received them
     * after a heal would rightly append them - no divergence left to test. */
    int64_t t0 = kc_mono_ms();
    struct new_leader nl = {&r, old, -1, -1};
    assert_true(kt_until(new_leader, &nl, KB_WAIT_MS));
    int64_t elected_ms = kc_mono_ms() - t0;
    assert_true(nl.epoch > epoch);
    r.leader = nl.leader;
    assert_true(kt_until(acked, &r, KB_WAIT_MS));
    for (int k = 0; k < 3; k++)
        assert_int_equal(produce(&r, r.leader), 0);

    /* the old leader returns: its suffix must go, the new records come */
    knet_heal();
    kcl_start_at(r.c, old, knet_host(old), settings_slow_lag);
    heal_and_check(&r, "diverged suffix");
    assert_true(kb_log_has(r.c->b[old], "the leader's history diverged"));
    printf("# leader %d cut off took %d records acks=1 at epoch %d and died; broker %d led "
           "at epoch %d after %lld ms and wrote over those offsets; %d came back, truncated "
           "its suffix, and holds the new leader's records\n", old, suffix, (int)epoch,
           (int)nl.leader, (int)nl.epoch, (long long)elected_ms, old);
}

struct lost_produce {
    const struct kb_broker *b;
    char prefix[16];
    struct op o;
};

static void *produce_lost(void *arg)
{
    struct lost_produce *x = arg;
    x->o.err = krep_produce_as(x->b, TOPIC, 0, -1, x->prefix, PER, &x->o.base);
    return NULL;
}

static bool healed(void *arg)
{
    return kb_log_has(arg, "recovered from a failed fsync");
}

struct copied {
    const struct run *r;
    int lead;
    int64_t end; /* the lost produce's end */
};

/* Do both followers' files hold the produce the leader's disk is about to lose? */
static bool followers_copied(void *arg)
{
    struct copied *u = arg;
    for (int id = 1; id <= 3; id++)
        if (id != u->lead && krep_log_records(u->r->c->b[id], TOPIC, 0, NULL, NULL) < u->end)
            return false;
    return true;
}

/* Both disk cases' staging: three brokers under the fault shim, three acknowledged
 * produces; then the leader's next fsync of its segment fails after lose_ms (its
 * followers copy meanwhile; under Valgrind, a longer while) and its disk keeps nothing it
 * was not told to keep; produce xi goes out meanwhile, on a thread of its own. */
struct lost_tail {
    int lead, xi, lose_ms;
    int32_t epoch;      /* the leader's epoch before */
    int64_t end_before; /* its log end before: where the lost produce went */
    struct lost_produce x;
    pthread_t t;
};

static void lost_tail_start(struct run *r, struct kflt *shim, void **state, struct lost_tail *lt)
{
    memset(r, 0, sizeof(*r));
    r->c = *state;
    start3_shims(r, settings_slow_lag, shim);
    for (int k = 0; k < 3; k++)
        assert_int_equal(produce(r, r->leader), 0);
    int32_t leader;
    lt->lead = r->leader;
    krep_leader(r->c->b[lt->lead], TOPIC, 0, &leader, &lt->epoch, NULL);
    lt->end_before = krep_log_records(r->c->b[lt->lead], TOPIC, 0, NULL, NULL);
    const char *wrap = getenv("KC_BROKER_WRAP");
    lt->lose_ms = wrap && *wrap ? 5000 : 1000;
    flt_lose(shim[lt->lead].ctl, 1, lt->lose_ms);
    kflt_fail(&shim[lt->lead], FLT_FSYNC, EIO, TOPIC "-0/00000000000000000000.log", 1);
    lt->x = (struct lost_produce){.b = r->c->b[lt->lead]};
    lt->xi = r->nops++;
    snprintf(lt->x.prefix, sizeof(lt->x.prefix), "b%d-", lt->xi);
    assert_int_equal(pthread_create(&lt->t, NULL, produce_lost, &lt->x), 0);
}

/* The leader's log healed (its disk's loss cut); the shim keeps what it is told again. */
static void lost_tail_healed(struct run *r, struct kflt *shim, const struct lost_tail *lt)
{
    bool back = kt_until(healed, r->c->b[lt->lead], KB_WAIT_MS);
    flt_lose(shim[lt->lead].ctl, 0, 0);
    assert_true(back);
}

/* The lost produce's answer, into its op. */
static void lost_tail_answered(struct run *r, struct lost_tail *lt)
{
    assert_int_equal(pthread_join(lt->t, NULL), 0);
    r->op[lt->xi] = lt->x.o;
    assert_int_not_equal(lt->x.o.err, 0); /* never acknowledged */
}

static void test_0317_leader_disk_loses_a_tail_its_followers_copied(void **state)
{
    KCL_REQUIRE_ZK();
    static struct run r;
    static struct kflt shim[4];
    struct lost_tail lt;
    lost_tail_start(&r, shim, state, &lt);
    int lead = lt.lead;
    struct copied cp = {&r, lead, lt.end_before + PER};
    bool copied = kt_until(followers_copied, &cp, lt.lose_ms);
    lost_tail_healed(&r, shim, &lt);
    if (!copied) /* the case needs them to: else there is nothing to diverge */
        fail_msg("the followers did not copy the produce within %d ms", lt.lose_ms);
    /* Other records at the lost ones' offsets, acknowledged: were the lost produce still
     * waiting, this HW would acknowledge it too. */
    assert_true(kt_until(acked, &r, KB_WAIT_MS));
    int y = r.nops - 1;
    lost_tail_answered(&r, &lt);
    int32_t epoch_after, leader;
    krep_leader(r.c->b[lead], TOPIC, 0, &leader, &epoch_after, NULL);
    for (int o = lt.xi + 1; o < y; o++) /* refused until the new epoch came */
        assert_int_equal(r.op[o].err, KP_ERR_NOT_ENOUGH_REPLICAS);
    printf("# leader %d's disk lost produce b%d- (at %lld, answered %d); %d produce(s) "
           "refused (19) until its new epoch; b%d- took offset %lld in epoch %d (was %d)\n",
           lead, lt.xi, (long long)lt.end_before, (int)lt.x.o.err, y - lt.xi - 1, y,
           (long long)r.op[y].base, (int)epoch_after, (int)lt.epoch);
    assert_int_equal(leader, lead);
    assert_int_equal(epoch_after, lt.epoch + 1); /* the same leader, a new epoch */
    assert_int_equal(r.op[y].base, lt.end_before);
    int told = 0;
    settle_and_check(&r, "lost tail");
    for (int id = 1; id <= 3; id++)
        told += id != lead && kb_log_has(r.c->b[id], "the leader's history diverged");
    assert_int_equal(told, 2);
    assert_true(kb_log_has(r.c->b[lead], "the disk lost the rest"));
    assert_true(kb_log_has(r.c->b[lead], "asking for a new leader epoch"));
    for (int id = 1; id <= 3; id++)
        kflt_unmap(&shim[id]);
}

struct leads {
    const struct kb_broker *b;
    int32_t want, epoch_over;
};

/* Does b name `want` as leader, in an epoch above epoch_over? */
static bool leads(void *arg)
{
    struct leads *u = arg;
    int32_t leader, epoch;
    krep_leader(u->b, TOPIC, 0, &leader, &epoch, NULL);
    return leader == u->want && epoch > u->epoch_over;
}

struct holds_n {
    const struct kb_broker *b;
    int64_t n;
};

static bool holds_n(void *arg)
{
    struct holds_n *u = arg;
    return krep_log_records(u->b, TOPIC, 0, NULL, NULL) >= u->n;
}

static void test_0317_leader_disk_lost_tail_outlives_the_leader(void **state)
{
    KCL_REQUIRE_ZK();
    static struct run r;
    static struct kflt shim[4];
    struct lost_tail lt;
    /* As the case above; the follower `stopped` sleeps from the moment it holds the
     * produce the leader's disk will lose. */
    lost_tail_start(&r, shim, state, &lt);
    int lead = lt.lead, next = lead % 3 + 1, stopped = next % 3 + 1;
    struct holds_n cp = {r.c->b[stopped], lt.end_before + PER};
    bool copied = kt_until(holds_n, &cp, lt.lose_ms);
    if (copied)
        assert_int_equal(kill(r.c->b[stopped]->pid, SIGSTOP), 0);
    lost_tail_healed(&r, shim, &lt);
    if (!copied)
        fail_msg("broker %d did not copy the produce within %d ms", stopped, lt.lose_ms);
    /* Its session expires: the controller takes it out of the ISR, and the leader, in its
     * new epoch, acknowledges other records at the lost ones' offsets with 2 in sync. */
    struct isr_is two = {&r, 2};
    assert_true(kt_until(isr_is, &two, KB_WAIT_MS));
    assert_true(kt_until(acked, &r, KB_WAIT_MS));
    int y = r.nops - 1;
    lost_tail_answered(&r, &lt);
    assert_int_equal(r.op[y].base, lt.end_before);
    int32_t epoch_after, leader;
    krep_leader(r.c->b[lead], TOPIC, 0, &leader, &epoch_after, NULL);
    assert_int_equal(epoch_after, lt.epoch + 1);
    struct holds_n has = {r.c->b[next], lt.end_before + PER};
    assert_true(kt_until(holds_n, &has, KB_WAIT_MS)); /* in sync: it has them */

    /* The leader dies; `next` leads, never having heard of the cut. */
    kb_kill9(r.c->b[lead]);
    struct leads nl = {r.c->b[next], next, epoch_after};
    assert_true(kt_until(leads, &nl, KB_WAIT_MS));
    r.leader = next;
    /* The sleeper wakes: its session is gone, it registers again and follows `next` - with
     * the records the dead leader lost, from an epoch `next` also has. Until it rejoins,
     * the ISR is `next` alone, too few for acks=all. */
    assert_int_equal(kill(r.c->b[stopped]->pid, SIGCONT), 0);
    assert_true(kt_until(acked, &r, KB_WAIT_MS));
    kflt_unmap(&shim[lead]);
    kcl_start_at(r.c, lead, knet_host(lead), settings_slow_lag);
    settle_and_check(&r, "lost tail, leader gone");
    assert_true(kb_log_has(r.c->b[stopped], "the leader's history diverged"));
    printf("# broker %d held the records leader %d's disk lost (epoch %d), slept through "
           "the cut, and truncated them under leader %d, which had the records that took "
           "their offsets in epoch %d\n", stopped, lead, (int)lt.epoch, next, (int)epoch_after);
    for (int id = 1; id <= 3; id++)
        if (id != lead)
            kflt_unmap(&shim[id]);
}

int main(void)
{
    kc_netns_enter(&net); /* first: ZooKeeper and the brokers start inside */
    if (net.up)
        printf("# in a network namespace of our own: brokers on 127.0.0.2-4, nftables "
               "cuts\n");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_0317_leader_cut_from_followers_never_acks,
                                        kcl_setup, kcl_teardown),
        cmocka_unit_test_setup_teardown(test_0317_follower_cut_isr_shrinks_acks_go_on,
                                        kcl_setup, kcl_teardown),
        cmocka_unit_test_setup_teardown(test_0317_dead_leader_diverged_suffix_truncated,
                                        kcl_setup, kcl_teardown),
        cmocka_unit_test_setup_teardown(test_0317_leader_disk_loses_a_tail_its_followers_copied,
                                        kcl_setup, kcl_teardown),
        cmocka_unit_test_setup_teardown(test_0317_leader_disk_lost_tail_outlives_the_leader,
                                        kcl_setup, kcl_teardown),
    };
    return cmocka_run_group_tests(tests, kcl_group_setup, kcl_group_teardown);
}
