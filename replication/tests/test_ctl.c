/* test_ctl.c - the controller: placement, elections, fencing, controlled shutdown,
 * preferred leaders, ISR changes, zombie controllers, and replay determinism. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kc_common.h"
#include "kc_test.h"
#include "repl_ctl.h"

struct fx {
    struct repl_ctl ctl;
    struct repl_recs journal; /* every record applied, in order */
};

static int ev(struct fx *f, struct repl_event e)
{
    int rc = repl_ctl_apply(&f->ctl, &e, &f->journal);
    assert_true(rc >= 0);
    assert_int_equal(rc, 0); /* the controller never refuses its own records */
    return f->journal.error;
}

static void reg(struct fx *f, int32_t id, int64_t epoch)
{
    assert_int_equal(ev(f, (struct repl_event){.type = REPL_EV_BROKER_REGISTERED,
                                               .id = id,
                                               .epoch = epoch,
                                               .endpoint = "127.0.0.1:9092"}),
                     0);
}

/* A controller (epoch 1) with brokers 1..n (epoch 100 + id) and, if rf > 0, topic "t" of
 * `parts` partitions. */
static void setup(struct fx *f, int n, int parts, int rf, bool unclean)
{
    struct repl_ctl_config cfg = {.unclean_leader_election = unclean, .seed = 42};
    repl_ctl_init(&f->ctl, &cfg);
    repl_recs_init(&f->journal);
    assert_int_equal(ev(f, (struct repl_event){.type = REPL_EV_ELECTED, .id = 1}), 0);
    for (int32_t id = 1; id <= n; id++)
        reg(f, id, 100 + id);
    if (rf > 0)
        assert_int_equal(ev(f, (struct repl_event){.type = REPL_EV_TOPIC_CREATE,
                                                   .topic = "t",
                                                   .partitions = parts,
                                                   .replication = rf}),
                         0);
}

static void teardown(struct fx *f)
{
    repl_ctl_fini(&f->ctl);
    repl_recs_fini(&f->journal);
}

static const struct repl_pstate *part(struct fx *f, int32_t p)
{
    const struct repl_pstate *ps = repl_ctl_partition(&f->ctl, "t", p);
    assert_non_null(ps);
    return ps;
}

/* Force partition p's assignment and ISR (a record, replayed like any other). */
static void force(struct fx *f, int32_t p, const int32_t *isr, int nisr, int32_t leader)
{
    struct repl_rec rec = {.type = REPL_REC_PARTITION, .controller_epoch = 1};
    strlcpy(rec.u.part.topic, "t", sizeof(rec.u.part.topic));
    rec.u.part.partition = p;
    rec.u.part.ps = *part(f, p);
    rec.u.part.ps.nisr = nisr;
    memcpy(rec.u.part.ps.isr, isr, (size_t)nisr * sizeof(int32_t));
    rec.u.part.ps.leader = leader;
    rec.u.part.ps.leader_epoch += leader != part(f, p)->leader;
    rec.u.part.ps.partition_epoch++;
    assert_int_equal(repl_ctl_replay(&f->ctl, &rec), 0);
    if (f->journal.n == f->journal.cap) { /* journaled too, so the state still replays */
        size_t cap = f->journal.cap ? 2 * f->journal.cap : 16;
        struct repl_rec *v = realloc(f->journal.v, cap * sizeof(*v));
        assert_non_null(v);
        f->journal.v = v;
        f->journal.cap = cap;
    }
    f->journal.v[f->journal.n++] = rec;
}

static void assert_isr(const struct repl_pstate *ps, const int32_t *want, int n)
{
    assert_int_equal(ps->nisr, n);
    for (int i = 0; i < n; i++)
        assert_int_equal(ps->isr[i], want[i]);
}

#define ASSERT_ISR(ps, ...)                                                                        \
    assert_isr((ps), (const int32_t[]){__VA_ARGS__},                                               \
               (int)(sizeof((int32_t[]){__VA_ARGS__}) / sizeof(int32_t)))

static void test_ctl_assign_replicas_as_kafka(void **state)
{
    (void)state;
    const int32_t brokers[] = {1, 2, 3, 4, 5};
    int32_t out[10 * 3];
    repl_assign_replicas(brokers, 5, 0, 10, 3, 0, 0, out);
    const int32_t want[10 * 3] = {1, 2, 3, 2, 3, 4, 3, 4, 5, 4, 5, 1, 5, 1, 2,  /* shift 0 */
                                  1, 3, 4, 2, 4, 5, 3, 5, 1, 4, 1, 2, 5, 2, 3}; /* shift 1 */
    assert_memory_equal(out, want, sizeof(want));
    /* Continuing at partition 10 (Kafka's addPartitions): the shift grows again at 10. */
    int32_t more[3];
    repl_assign_replicas(brokers, 5, 10, 1, 3, 0, 0, more);
    assert_int_equal(more[0], 1);
    assert_int_equal(more[1], 3);
    assert_int_equal(more[2], 4);
}

static void test_ctl_topic_create_records_and_spread(void **state)
{
    (void)state;
    struct fx f;
    setup(&f, 3, 6, 3, false);
    const struct repl_topic *t = repl_ctl_topic(&f.ctl, "t");
    assert_non_null(t);
    assert_int_equal(t->npart, 6);
    int leads[4] = {0};
    for (int32_t p = 0; p < 6; p++) {
        const struct repl_pstate *ps = part(&f, p);
        assert_int_equal(ps->leader, ps->replicas[0]);
        assert_int_equal(ps->leader_epoch, 0);
        assert_int_equal(ps->partition_epoch, 0);
        assert_int_equal(ps->controller_epoch, 1);
        assert_memory_equal(ps->isr, ps->replicas, 3 * sizeof(int32_t));
        leads[ps->leader]++;
    }
    assert_int_equal(leads[1], 2); /* leadership spreads evenly */
    assert_int_equal(leads[2], 2);
    assert_int_equal(leads[3], 2);
    /* The same event decides the same placement (the seed, not the clock). */
    struct fx g;
    setup(&g, 3, 6, 3, false);
    assert_true(repl_ctl_equal(&f.ctl, &g.ctl));
    teardown(&g);
    teardown(&f);
}

static void test_ctl_topic_create_refusals(void **state)
{
    (void)state;
    struct fx f;
    setup(&f, 3, 1, 3, false);
    size_t n = f.journal.n;
    struct repl_event e = {
        .type = REPL_EV_TOPIC_CREATE, .topic = "t", .partitions = 1, .replication = 1};
    assert_int_equal(ev(&f, e), REPL_TOPIC_ALREADY_EXISTS);
    e.topic = "bad name";
    assert_int_equal(ev(&f, e), REPL_INVALID_TOPIC_EXCEPTION);
    e.topic = "..";
    assert_int_equal(ev(&f, e), REPL_INVALID_TOPIC_EXCEPTION);
    e.topic = "u";
    e.partitions = 0;
    assert_int_equal(ev(&f, e), REPL_INVALID_PARTITIONS);
    e.partitions = 2;
    e.replication = 4; /* more than the live brokers */
    assert_int_equal(ev(&f, e), REPL_INVALID_REPLICATION_FACTOR);
    e.replication = 0;
    assert_int_equal(ev(&f, e), REPL_INVALID_REPLICATION_FACTOR);
    assert_int_equal(f.journal.n, n); /* refusals write nothing */
    teardown(&f);
}

static void test_ctl_partitions_add_and_topic_delete(void **state)
{
    (void)state;
    struct fx f;
    setup(&f, 3, 2, 2, false);
    struct repl_event e = {.type = REPL_EV_PARTITIONS_ADD, .topic = "t", .partitions = 2};
    assert_int_equal(ev(&f, e), REPL_INVALID_PARTITIONS);
    e.partitions = 5;
    assert_int_equal(ev(&f, e), 0);
    assert_int_equal(repl_ctl_topic(&f.ctl, "t")->npart, 5);
    assert_int_equal(part(&f, 4)->nreplicas, 2);
    e.topic = "nope";
    assert_int_equal(ev(&f, e), REPL_UNKNOWN_TOPIC_OR_PARTITION);
    assert_int_equal(ev(&f, (struct repl_event){.type = REPL_EV_TOPIC_DELETE, .topic = "t"}), 0);
    assert_null(repl_ctl_topic(&f.ctl, "t"));
    assert_int_equal(ev(&f, (struct repl_event){.type = REPL_EV_TOPIC_DELETE, .topic = "t"}),
                     REPL_UNKNOWN_TOPIC_OR_PARTITION);
    teardown(&f);
}

/* A creation written in several transactions, its controller dead after the first few:
 * the next one gives the rest their states from the replicas the store holds. */
static void test_ctl_partitions_assigned_finish_a_creation(void **state)
{
    (void)state;
    struct fx f;
    setup(&f, 3, 2, 2, false);
    assert_int_equal(
        ev(&f, (struct repl_event){.type = REPL_EV_BROKER_LOST, .id = 3, .epoch = 103}), 0);
    struct repl_pstate assigned[3] = {
        {.nreplicas = 2, .replicas = {3, 1}}, /* 3 is down: 1 leads */
        {.nreplicas = 1, .replicas = {3}},    /* nobody live: offline, still assigned */
        {.nreplicas = 3, .replicas = {2, 3, 1}}};
    struct repl_event e = {
        .type = REPL_EV_PARTITIONS_ASSIGNED, .topic = "t", .partitions = 5, .assigned = assigned};
    assert_int_equal(ev(&f, e), 0);
    assert_int_equal(repl_ctl_topic(&f.ctl, "t")->npart, 5);
    /* the live replicas in sync (empty logs), the first leading; none live: offline,
     * the whole assignment its ISR */
    static const int32_t leaders[3] = {1, REPL_NO_LEADER, 2};
    static const int32_t isrs[3][3] = {{1}, {3}, {2, 1}};
    static const int nisrs[3] = {1, 1, 2};
    for (int32_t p = 2; p < 5; p++) {
        const struct repl_pstate *ps = part(&f, p);
        assert_int_equal(ps->leader, leaders[p - 2]);
        assert_int_equal(ps->leader_epoch, 0);
        assert_int_equal(ps->partition_epoch, 0);
        assert_int_equal(ps->nisr, nisrs[p - 2]);
        assert_memory_equal(ps->isr, isrs[p - 2], (size_t)ps->nisr * sizeof(int32_t));
        assert_memory_equal(ps->replicas, assigned[p - 2].replicas,
                            (size_t)ps->nreplicas * sizeof(int32_t));
    }
    /* The offline one is led once a replica registers. */
    reg(&f, 3, 203);
    assert_int_equal(part(&f, 3)->leader, 3);
    assert_int_equal(part(&f, 3)->leader_epoch, 1);
    /* Refused, nothing written: not more than it has, no replicas, bad replicas. */
    size_t n = f.journal.n;
    assert_int_equal(ev(&f, e), REPL_INVALID_PARTITIONS);
    e.partitions = 6;
    e.assigned = NULL;
    assert_int_equal(ev(&f, e), REPL_INVALID_PARTITIONS);
    struct repl_pstate bad = {.nreplicas = 2, .replicas = {1, 1}};
    e.assigned = &bad;
    assert_int_equal(ev(&f, e), REPL_INVALID_REPLICA_ASSIGNMENT);
    bad = (struct repl_pstate){.nreplicas = 0};
    assert_int_equal(ev(&f, e), REPL_INVALID_REPLICA_ASSIGNMENT);
    bad = (struct repl_pstate){.nreplicas = 1, .replicas = {-1}};
    assert_int_equal(ev(&f, e), REPL_INVALID_REPLICA_ASSIGNMENT);
    e.topic = "nope";
    assert_int_equal(ev(&f, e), REPL_UNKNOWN_TOPIC_OR_PARTITION);
    assert_int_equal(f.journal.n, n);
    teardown(&f);
}

static void lost(struct fx *f, int32_t id)
{
    const struct repl_broker *b = repl_ctl_broker(&f->ctl, id);
    assert_int_equal(
        ev(f, (struct repl_event){.type = REPL_EV_BROKER_LOST, .id = id, .epoch = b->epoch}), 0);
}

/* ---- an operator's replica assignment (TOPIC_CREATE, PARTITIONS_ADD) ---- */

/* A new controller that reads the journal has the same state as the one that wrote it. */
static void assert_replays(struct fx *f)
{
    struct repl_ctl copy;
    repl_ctl_init(&copy, &f->ctl.cfg);
    for (size_t i = 0; i < f->journal.n; i++)
        assert_int_equal(repl_ctl_replay(&copy, &f->journal.v[i]), 0);
    assert_true(repl_ctl_equal(&f->ctl, &copy));
    repl_ctl_fini(&copy);
}

/* The event is refused with `want`: no records, and the state is what the journal held. */
static void refused(struct fx *f, struct repl_event e, int want)
{
    struct repl_ctl before;
    repl_ctl_init(&before, &f->ctl.cfg);
    for (size_t i = 0; i < f->journal.n; i++)
        assert_int_equal(repl_ctl_replay(&before, &f->journal.v[i]), 0);
    size_t n = f->journal.n;
    assert_int_equal(ev(f, e), want);
    assert_int_equal(f->journal.n, n);
    assert_true(repl_ctl_equal(&f->ctl, &before));
    repl_ctl_fini(&before);
}

/* Partition p of "t" is new and started from its assignment: replicas as given, `isr` in
 * sync, its first member leading, both epochs 0. */
static void assert_started(struct fx *f, int32_t p, const struct repl_pstate *a, const int32_t *isr,
                           int nisr)
{
    const struct repl_pstate *ps = part(f, p);
    assert_int_equal(ps->nreplicas, a->nreplicas);
    assert_memory_equal(ps->replicas, a->replicas, (size_t)a->nreplicas * sizeof(int32_t));
    assert_isr(ps, isr, nisr);
    assert_int_equal(ps->leader, isr[0]);
    assert_int_equal(ps->leader_epoch, 0);
    assert_int_equal(ps->partition_epoch, 0);
    assert_int_equal(ps->controller_epoch, f->ctl.controller_epoch);
}

static void test_ctl_topic_create_assigned_as_given(void **state)
{
    (void)state;
    struct fx f;
    setup(&f, 3, 0, 0, false);
    /* Leaders 3, 2, 1: an order the placement never picks (its leaders ascend). */
    const struct repl_pstate assigned[3] = {{.nreplicas = 2, .replicas = {3, 1}},
                                            {.nreplicas = 2, .replicas = {2, 3}},
                                            {.nreplicas = 2, .replicas = {1, 2}}};
    size_t n = f.journal.n;
    assert_int_equal(ev(&f, (struct repl_event){.type = REPL_EV_TOPIC_CREATE,
                                                .topic = "t",
                                                .partitions = 3,
                                                .replication = 2,
                                                .assigned = assigned}),
                     0);
    /* TOPIC, then one PARTITION per new partition, in order, all from epoch 1. */
    assert_int_equal(f.journal.n, n + 4);
    assert_int_equal(f.journal.v[n].type, REPL_REC_TOPIC);
    assert_string_equal(f.journal.v[n].u.topic.name, "t");
    for (int32_t p = 0; p < 3; p++) {
        const struct repl_rec *rec = &f.journal.v[n + 1 + (size_t)p];
        assert_int_equal(rec->type, REPL_REC_PARTITION);
        assert_string_equal(rec->u.part.topic, "t");
        assert_int_equal(rec->u.part.partition, p);
        assert_int_equal(rec->controller_epoch, 1);
    }
    assert_int_equal(repl_ctl_topic(&f.ctl, "t")->npart, 3);
    for (int32_t p = 0; p < 3; p++) /* all live: the ISR is the whole list, in its order */
        assert_started(&f, p, &assigned[p], assigned[p].replicas, 2);
    assert_replays(&f);
    /* The partitions behave as any other: losing 3 moves p0's leadership to 1. */
    lost(&f, 3);
    assert_int_equal(part(&f, 0)->leader, 1);
    assert_int_equal(part(&f, 0)->leader_epoch, 1);
    ASSERT_ISR(part(&f, 0), 1);
    assert_replays(&f);
    teardown(&f);
}

/* A list may name brokers that are down (fenced, or shutting down) as long as one replica
 * is live: they are replicas, not in sync, and the first live one leads. The factor may
 * then be more than the live brokers. */
static void test_ctl_topic_create_assigned_with_brokers_down(void **state)
{
    (void)state;
    struct fx f;
    setup(&f, 4, 0, 0, false);
    lost(&f, 3);
    const struct repl_broker *b = repl_ctl_broker(&f.ctl, 4);
    assert_int_equal(
        ev(&f, (struct repl_event){.type = REPL_EV_BROKER_SHUTDOWN, .id = 4, .epoch = b->epoch}),
        0);
    assert_int_equal(repl_ctl_broker(&f.ctl, 4)->state, REPL_BROKER_SHUTTING_DOWN);
    const struct repl_pstate assigned[3] = {{.nreplicas = 3, .replicas = {3, 1, 2}},
                                            {.nreplicas = 3, .replicas = {3, 2, 1}},
                                            {.nreplicas = 3, .replicas = {4, 3, 2}}};
    /* Three replicas, two live brokers: placement would refuse this factor. */
    struct repl_event e = {
        .type = REPL_EV_TOPIC_CREATE, .topic = "t", .partitions = 3, .replication = 3};
    refused(&f, e, REPL_INVALID_REPLICATION_FACTOR);
    e.assigned = assigned;
    assert_int_equal(ev(&f, e), 0);
    assert_started(&f, 0, &assigned[0], (const int32_t[]){1, 2}, 2);
    assert_started(&f, 1, &assigned[1], (const int32_t[]){2, 1}, 2);
    assert_started(&f, 2, &assigned[2], (const int32_t[]){2}, 1);
    assert_replays(&f);
    teardown(&f);
}

/* KRaft's checks, each refusing the whole event: not even the TOPIC record. */
static void test_ctl_topic_create_assigned_refusals(void **state)
{
    (void)state;
    struct fx f;
    setup(&f, 4, 2, 2, false); /* topic "t", so the state is not empty */
    lost(&f, 3);
    lost(&f, 4);
    struct repl_pstate a[2] = {{.nreplicas = 2, .replicas = {1, 2}},
                               {.nreplicas = 2, .replicas = {2, 1}}};
    struct repl_event e = {.type = REPL_EV_TOPIC_CREATE,
                           .topic = "u",
                           .partitions = 2,
                           .replication = 2,
                           .assigned = a};
    a[1] = (struct repl_pstate){.nreplicas = 2, .replicas = {2, 2}}; /* an id twice */
    refused(&f, e, REPL_INVALID_REPLICA_ASSIGNMENT);
    a[1] = (struct repl_pstate){.nreplicas = 2, .replicas = {2, -1}}; /* a negative id */
    refused(&f, e, REPL_INVALID_REPLICA_ASSIGNMENT);
    a[1] = (struct repl_pstate){.nreplicas = 2, .replicas = {2, 9}}; /* never registered */
    refused(&f, e, REPL_INVALID_REPLICA_ASSIGNMENT);
    a[1] = (struct repl_pstate){.nreplicas = 2, .replicas = {3, 4}}; /* both lost */
    refused(&f, e, REPL_INVALID_REPLICA_ASSIGNMENT);
    a[1] = (struct repl_pstate){.nreplicas = 3, .replicas = {2, 1, 3}}; /* 2 and 3 long */
    refused(&f, e, REPL_INVALID_REPLICA_ASSIGNMENT);
    e.replication = 3; /* now the first list is the odd one */
    refused(&f, e, REPL_INVALID_REPLICA_ASSIGNMENT);
    a[1] = (struct repl_pstate){.nreplicas = 2, .replicas = {2, 1}};
    refused(&f, e, REPL_INVALID_REPLICA_ASSIGNMENT); /* every list 2 long, the event says 3 */
    e.replication = 1;
    refused(&f, e, REPL_INVALID_REPLICA_ASSIGNMENT);
    /* An empty list, even when the event claims the same factor. */
    a[0] = (struct repl_pstate){.nreplicas = 0};
    a[1] = (struct repl_pstate){.nreplicas = 0};
    e.replication = 0;
    refused(&f, e, REPL_INVALID_REPLICA_ASSIGNMENT);
    e.replication = 2;
    a[0] = (struct repl_pstate){.nreplicas = 2, .replicas = {1, 2}};
    refused(&f, e, REPL_INVALID_REPLICA_ASSIGNMENT);
    /* More than a partition can have. */
    a[0] = (struct repl_pstate){.nreplicas = REPL_MAX_REPLICAS + 1};
    a[1] = a[0];
    e.replication = REPL_MAX_REPLICAS + 1;
    refused(&f, e, REPL_INVALID_REPLICA_ASSIGNMENT);
    assert_null(repl_ctl_topic(&f.ctl, "u"));
    /* And the same lists, well formed, are taken. */
    a[0] = (struct repl_pstate){.nreplicas = 2, .replicas = {1, 2}};
    a[1] = (struct repl_pstate){.nreplicas = 2, .replicas = {4, 2}};
    e.replication = 2;
    assert_int_equal(ev(&f, e), 0);
    assert_int_equal(repl_ctl_topic(&f.ctl, "u")->npart, 2);
    assert_int_equal(repl_ctl_partition(&f.ctl, "u", 1)->leader, 2);
    assert_replays(&f);
    teardown(&f);
}

static void test_ctl_partitions_add_assigned(void **state)
{
    (void)state;
    struct fx f;
    setup(&f, 3, 1, 3, false);
    lost(&f, 3);
    const struct repl_pstate p0 = *part(&f, 0);
    /* Placement needs 3 live brokers for this topic's factor; an assignment does not. */
    struct repl_event e = {.type = REPL_EV_PARTITIONS_ADD, .topic = "t", .partitions = 3};
    refused(&f, e, REPL_INVALID_REPLICATION_FACTOR);
    const struct repl_pstate assigned[2] = {{.nreplicas = 3, .replicas = {3, 2, 1}},
                                            {.nreplicas = 3, .replicas = {1, 3, 2}}};
    e.assigned = assigned;
    size_t n = f.journal.n;
    assert_int_equal(ev(&f, e), 0);
    assert_int_equal(f.journal.n, n + 2); /* one PARTITION each, no TOPIC */
    assert_int_equal(f.journal.v[n].u.part.partition, 1);
    assert_int_equal(f.journal.v[n + 1].u.part.partition, 2);
    assert_int_equal(repl_ctl_topic(&f.ctl, "t")->npart, 3);
    assert_memory_equal(part(&f, 0), &p0, sizeof(p0)); /* the old one untouched */
    assert_started(&f, 1, &assigned[0], (const int32_t[]){2, 1}, 2);
    assert_started(&f, 2, &assigned[1], (const int32_t[]){1, 2}, 2);
    assert_replays(&f);
    /* Refused, nothing written: lists of another length than the topic's factor (3), a
     * broker never registered, no live replica, an id twice. */
    struct repl_pstate bad = {.nreplicas = 2, .replicas = {1, 2}};
    e.partitions = 4;
    e.assigned = &bad;
    refused(&f, e, REPL_INVALID_REPLICA_ASSIGNMENT);
    bad = (struct repl_pstate){.nreplicas = 4, .replicas = {1, 2, 3, 9}};
    refused(&f, e, REPL_INVALID_REPLICA_ASSIGNMENT);
    bad = (struct repl_pstate){.nreplicas = 3, .replicas = {1, 2, 9}};
    refused(&f, e, REPL_INVALID_REPLICA_ASSIGNMENT);
    bad = (struct repl_pstate){.nreplicas = 3, .replicas = {1, 2, 2}};
    refused(&f, e, REPL_INVALID_REPLICA_ASSIGNMENT);
    lost(&f, 1);
    lost(&f, 2);
    bad = (struct repl_pstate){.nreplicas = 3, .replicas = {1, 2, 3}};
    refused(&f, e, REPL_INVALID_REPLICA_ASSIGNMENT);
    assert_int_equal(repl_ctl_topic(&f.ctl, "t")->npart, 3);
    teardown(&f);
}

/* The topic's own checks come first: an existing topic is TOPIC_ALREADY_EXISTS whatever
 * its assignment says (a bad first list would be refused at once if it were read). */
static void test_ctl_assigned_checked_after_the_topic(void **state)
{
    (void)state;
    struct fx f;
    setup(&f, 3, 2, 2, false);
    const struct repl_pstate bad = {.nreplicas = 2, .replicas = {1, 1}};
    struct repl_event e = {.type = REPL_EV_TOPIC_CREATE,
                           .topic = "t",
                           .partitions = 1,
                           .replication = 2,
                           .assigned = &bad};
    refused(&f, e, REPL_TOPIC_ALREADY_EXISTS);
    e.topic = "bad name";
    refused(&f, e, REPL_INVALID_TOPIC_EXCEPTION);
    e.topic = "u";
    e.partitions = 0;
    refused(&f, e, REPL_INVALID_PARTITIONS);
    e = (struct repl_event){
        .type = REPL_EV_PARTITIONS_ADD, .topic = "nope", .partitions = 3, .assigned = &bad};
    refused(&f, e, REPL_UNKNOWN_TOPIC_OR_PARTITION);
    e.topic = "t";
    e.partitions = 2; /* not more than it has */
    refused(&f, e, REPL_INVALID_PARTITIONS);
    teardown(&f);
}

static void test_ctl_broker_lost_moves_leader_in_assignment_order(void **state)
{
    (void)state;
    struct fx f;
    setup(&f, 3, 1, 3, false);
    int32_t first = part(&f, 0)->replicas[0], second = part(&f, 0)->replicas[1];
    lost(&f, first);
    const struct repl_pstate *ps = part(&f, 0);
    assert_int_equal(ps->leader, second);
    assert_int_equal(ps->leader_epoch, 1);
    assert_int_equal(ps->partition_epoch, 1);
    assert_int_equal(ps->nisr, 2);
    assert_int_equal(repl_ctl_broker(&f.ctl, first)->state, REPL_BROKER_FENCED);
    /* A follower lost: it leaves the ISR, nobody's leadership changes. */
    int32_t third = ps->replicas[2];
    lost(&f, third);
    ps = part(&f, 0);
    assert_int_equal(ps->leader, second);
    assert_int_equal(ps->leader_epoch, 1);
    assert_int_equal(ps->partition_epoch, 2);
    ASSERT_ISR(ps, second);
    /* The last member: offline, ISR kept, so only it may lead again. */
    lost(&f, second);
    ps = part(&f, 0);
    assert_int_equal(ps->leader, REPL_NO_LEADER);
    assert_int_equal(ps->leader_epoch, 2);
    ASSERT_ISR(ps, second);
    reg(&f, first, 200); /* not in the ISR: may not lead (unclean is off) */
    assert_int_equal(part(&f, 0)->leader, REPL_NO_LEADER);
    reg(&f, second, 201);
    ps = part(&f, 0);
    assert_int_equal(ps->leader, second);
    assert_int_equal(ps->leader_epoch, 3);
    teardown(&f);
}

static void test_ctl_unclean_election_resets_isr(void **state)
{
    (void)state;
    struct fx f;
    setup(&f, 3, 1, 3, true);
    int32_t r0 = part(&f, 0)->replicas[0];
    force(&f, 0, &r0, 1, r0); /* ISR {r0} */
    lost(&f, r0);
    const struct repl_pstate *ps = part(&f, 0);
    assert_int_equal(ps->leader, ps->replicas[1]); /* first live replica, in sync or not */
    ASSERT_ISR(ps, ps->replicas[1]);
    assert_int_equal(ps->leader_epoch, 1);
    teardown(&f);
}

static void test_ctl_broker_epochs_fence_stale_events(void **state)
{
    (void)state;
    struct fx f;
    setup(&f, 3, 1, 3, false);
    struct repl_event e = {.type = REPL_EV_BROKER_LOST, .id = 2, .epoch = 99};
    assert_int_equal(ev(&f, e), REPL_STALE_BROKER_EPOCH);
    e.id = 9;
    assert_int_equal(ev(&f, e), REPL_BROKER_ID_NOT_REGISTERED);
    e = (struct repl_event){
        .type = REPL_EV_BROKER_REGISTERED, .id = 2, .epoch = 50, .endpoint = "x"};
    assert_int_equal(ev(&f, e), REPL_STALE_BROKER_EPOCH);
    e.epoch = 102; /* the same registration again: nothing to do */
    size_t n = f.journal.n;
    assert_int_equal(ev(&f, e), 0);
    assert_int_equal(f.journal.n, n);
    e.endpoint = NULL;
    e.epoch = 300;
    assert_int_equal(ev(&f, e), REPL_INVALID_REQUEST);
    teardown(&f);
}

static void test_ctl_bounce_fences_old_incarnation_in_one_record(void **state)
{
    (void)state;
    struct fx f;
    setup(&f, 3, 1, 3, false);
    int32_t r0 = part(&f, 0)->replicas[0];
    force(&f, 0, &r0, 1, r0); /* it alone is in sync, and leads epoch 0 */
    size_t n = f.journal.n;
    reg(&f, r0, 500);                     /* restarted before its session expired */
    assert_int_equal(f.journal.n, n + 2); /* BROKER, one PARTITION */
    const struct repl_pstate *ps = part(&f, 0);
    assert_int_equal(ps->leader, r0);      /* still the only one who may lead ... */
    assert_int_equal(ps->leader_epoch, 1); /* ... in a new epoch: the old one is fenced */
    teardown(&f);
}

static void test_ctl_controlled_shutdown_moves_leadership(void **state)
{
    (void)state;
    struct fx f;
    setup(&f, 3, 3, 3, false);
    struct repl_event e = {.type = REPL_EV_BROKER_SHUTDOWN, .id = 1, .epoch = 101};
    assert_int_equal(ev(&f, e), 0);
    assert_int_equal(f.journal.remaining, 0);
    assert_int_equal(repl_ctl_broker(&f.ctl, 1)->state, REPL_BROKER_SHUTTING_DOWN);
    for (int32_t p = 0; p < 3; p++) {
        const struct repl_pstate *ps = part(&f, p);
        assert_true(ps->leader != 1);
        for (int i = 0; i < ps->nisr; i++)
            assert_true(ps->isr[i] != 1);
    }
    /* Shutting down, it may not lead: losing broker 2 must not elect it. */
    lost(&f, 2);
    for (int32_t p = 0; p < 3; p++)
        assert_int_equal(part(&f, p)->leader, 3);
    /* It comes back (a new registration): live again, but out of the ISRs until it
     * catches up. Then the preferred-leader timer does nothing for it yet. */
    reg(&f, 1, 600);
    assert_int_equal(repl_ctl_broker(&f.ctl, 1)->state, REPL_BROKER_LIVE);
    teardown(&f);
}

/* Replication factor 1: no other broker can ever lead, so waiting would only delay the
 * stop (controlled.shutdown.max.retries backoffs); the partitions stay with it. */
static void test_ctl_controlled_shutdown_single_replica_not_remaining(void **state)
{
    (void)state;
    struct fx f;
    setup(&f, 3, 6, 1, false);
    const struct repl_broker *b = repl_ctl_broker(&f.ctl, 1);
    int led = 0;
    for (int32_t p = 0; p < 6; p++)
        led += part(&f, p)->leader == 1;
    assert_true(led > 0);
    assert_int_equal(
        ev(&f, (struct repl_event){.type = REPL_EV_BROKER_SHUTDOWN, .id = 1, .epoch = b->epoch}),
        0);
    assert_int_equal(f.journal.remaining, 0);
    for (int32_t p = 0; p < 6; p++)
        assert_true(part(&f, p)->leader != REPL_NO_LEADER); /* still led where they were */
    teardown(&f);
}

static void test_ctl_controlled_shutdown_sole_isr_leader_remains(void **state)
{
    (void)state;
    struct fx f;
    setup(&f, 3, 1, 3, false);
    int32_t r0 = part(&f, 0)->replicas[0];
    force(&f, 0, &r0, 1, r0);
    int32_t pe = part(&f, 0)->partition_epoch;
    const struct repl_broker *b = repl_ctl_broker(&f.ctl, r0);
    assert_int_equal(
        ev(&f, (struct repl_event){.type = REPL_EV_BROKER_SHUTDOWN, .id = r0, .epoch = b->epoch}),
        0);
    assert_int_equal(f.journal.remaining, 1); /* nobody else may lead without losing data */
    assert_int_equal(part(&f, 0)->leader, r0);
    assert_int_equal(part(&f, 0)->partition_epoch, pe);
    lost(&f, r0); /* it goes anyway: offline until it returns */
    assert_int_equal(part(&f, 0)->leader, REPL_NO_LEADER);
    ASSERT_ISR(part(&f, 0), r0);
    teardown(&f);
}

/* The last live broker of the cluster stops: its replicated partitions have nobody who
 * could catch up and take them, so they are not waited for (it was ~15 s of retries). */
static void test_ctl_controlled_shutdown_last_broker_not_remaining(void **state)
{
    (void)state;
    struct fx f;
    setup(&f, 3, 3, 3, false);
    lost(&f, 2);
    lost(&f, 3);
    const struct repl_broker *b = repl_ctl_broker(&f.ctl, 1);
    for (int32_t p = 0; p < 3; p++)
        assert_int_equal(part(&f, p)->leader, 1);
    assert_int_equal(
        ev(&f, (struct repl_event){.type = REPL_EV_BROKER_SHUTDOWN, .id = 1, .epoch = b->epoch}),
        0);
    assert_int_equal(f.journal.remaining, 0);
    for (int32_t p = 0; p < 3; p++)
        assert_int_equal(part(&f, p)->leader, 1); /* it keeps them until it goes */
    teardown(&f);
}

static void test_ctl_preferred_leader_returns_when_in_isr(void **state)
{
    (void)state;
    struct fx f;
    setup(&f, 3, 1, 3, false);
    const struct repl_pstate *ps = part(&f, 0);
    int32_t pref = ps->replicas[0], other = ps->replicas[1], last = ps->replicas[2];
    lost(&f, pref);
    assert_int_equal(part(&f, 0)->leader, other);
    reg(&f, pref, 700); /* back, but not in the ISR */
    assert_int_equal(ev(&f, (struct repl_event){.type = REPL_EV_PREFERRED}), 0);
    assert_int_equal(part(&f, 0)->leader, other);
    int32_t isr[] = {other, last, pref}; /* it caught up: the leader's proposal */
    struct repl_event e = {.type = REPL_EV_ISR_CHANGE, .topic = "t", .partition = 0};
    e.isr = (struct repl_isr_change){.leader = other,
                                     .leader_epoch = part(&f, 0)->leader_epoch,
                                     .partition_epoch = part(&f, 0)->partition_epoch,
                                     .nisr = 3};
    memcpy(e.isr.isr, isr, sizeof(isr));
    assert_int_equal(ev(&f, e), 0);
    int32_t epoch = part(&f, 0)->leader_epoch;
    assert_int_equal(ev(&f, (struct repl_event){.type = REPL_EV_PREFERRED}), 0);
    assert_int_equal(part(&f, 0)->leader, pref);
    assert_int_equal(part(&f, 0)->leader_epoch, epoch + 1);
    size_t n = f.journal.n;
    assert_int_equal(ev(&f, (struct repl_event){.type = REPL_EV_PREFERRED}), 0);
    assert_int_equal(f.journal.n, n); /* balanced: nothing to do */
    teardown(&f);
}

/* ---- an operator's election (ElectLeaders) ---- */

static struct repl_event elect(enum repl_election type, const int32_t *parts, int32_t n)
{
    return (struct repl_event){
        .type = REPL_EV_ELECT_LEADERS, .topic = "t", .election = type, .elect = parts, .nelect = n};
}

/* PREFERRED moves only the listed partitions, and only to a first replica that is live and
 * in sync; the others it counts as remaining. Malformed lists are refused whole. */
static void test_ctl_elect_leaders_preferred_listed_only(void **state)
{
    (void)state;
    struct fx f;
    setup(&f, 3, 2, 3, false);
    for (int32_t p = 0; p < 2; p++) { /* in sync, but the second replica leads */
        const struct repl_pstate *ps = part(&f, p);
        force(&f, p, ps->replicas, 3, ps->replicas[1]);
    }
    int32_t e1 = part(&f, 1)->leader_epoch, l1 = part(&f, 1)->leader;
    int32_t epoch = part(&f, 0)->leader_epoch;
    assert_int_equal(ev(&f, elect(REPL_ELECTION_PREFERRED, (const int32_t[]){0}, 1)), 0);
    assert_int_equal(f.journal.remaining, 0);
    assert_int_equal(part(&f, 0)->leader, part(&f, 0)->replicas[0]);
    assert_int_equal(part(&f, 0)->leader_epoch, epoch + 1);
    assert_int_equal(part(&f, 1)->leader, l1); /* not listed: untouched */
    assert_int_equal(part(&f, 1)->leader_epoch, e1);

    size_t n = f.journal.n; /* listed again, and one out of range: nothing to write */
    assert_int_equal(ev(&f, elect(REPL_ELECTION_PREFERRED, (const int32_t[]){0, 7}, 2)), 0);
    assert_int_equal(f.journal.n, n);
    assert_int_equal(f.journal.remaining, 1);

    const struct repl_pstate *ps = part(&f, 1); /* its first replica out of the ISR */
    force(&f, 1, &ps->replicas[1], 2, ps->replicas[1]);
    n = f.journal.n;
    assert_int_equal(ev(&f, elect(REPL_ELECTION_PREFERRED, (const int32_t[]){1}, 1)), 0);
    assert_int_equal(f.journal.n, n);
    assert_int_equal(f.journal.remaining, 1);
    assert_int_equal(part(&f, 1)->leader, l1);

    refused(&f, elect(REPL_ELECTION_PREFERRED, (const int32_t[]){1, 0}, 2), 42);
    refused(&f, elect(REPL_ELECTION_PREFERRED, (const int32_t[]){0, 0}, 2), 42);
    refused(&f, elect((enum repl_election)2, (const int32_t[]){0}, 1), 42);
    struct repl_event other = elect(REPL_ELECTION_PREFERRED, (const int32_t[]){0}, 1);
    other.topic = "nope";
    refused(&f, other, 3);
    assert_replays(&f);
    teardown(&f);
}

/* UNCLEAN elects only where no live broker leads: a live ISR member first, else any live
 * replica with the ISR reset to it (unclean.leader.election.enable is off here: the
 * operator asked); with no live replica it stays offline and is counted. */
static void test_ctl_elect_leaders_unclean(void **state)
{
    (void)state;
    struct fx f;
    setup(&f, 3, 2, 3, false);
    const struct repl_pstate *ps = part(&f, 0);
    int32_t r0 = ps->replicas[0], r1 = ps->replicas[1], r2 = ps->replicas[2];
    force(&f, 0, &r0, 1, r0); /* ISR {r0} */
    lost(&f, r0);
    assert_int_equal(part(&f, 0)->leader, -1); /* offline: clean election impossible */
    int32_t epoch = part(&f, 0)->leader_epoch;
    assert_int_equal(ev(&f, elect(REPL_ELECTION_PREFERRED, (const int32_t[]){0}, 1)), 0);
    assert_int_equal(f.journal.remaining, 1);
    assert_int_equal(part(&f, 0)->leader, -1);

    size_t n = f.journal.n; /* partition 1 has a live leader: not needed, nothing written */
    int32_t l1 = part(&f, 1)->leader;
    assert_int_equal(ev(&f, elect(REPL_ELECTION_UNCLEAN, (const int32_t[]){0, 1}, 2)), 0);
    assert_int_equal(f.journal.remaining, 0);
    assert_int_equal(f.journal.n, n + 1);
    assert_int_equal(part(&f, 0)->leader, r1); /* the first live replica */
    ASSERT_ISR(part(&f, 0), r1);
    assert_int_equal(part(&f, 0)->leader_epoch, epoch + 1);
    assert_int_equal(part(&f, 1)->leader, l1);

    lost(&f, r1);
    lost(&f, r2);
    assert_int_equal(ev(&f, elect(REPL_ELECTION_UNCLEAN, (const int32_t[]){0}, 1)), 0);
    assert_int_equal(f.journal.remaining, 1); /* nobody live: nothing to elect */
    assert_replays(&f);
    teardown(&f);
}

static struct repl_event isr_event(struct fx *f, int32_t leader, int32_t le, int32_t pe,
                                   const int32_t *isr, int n)
{
    struct repl_event e = {.type = REPL_EV_ISR_CHANGE, .topic = "t", .partition = 0};
    e.isr = (struct repl_isr_change){
        .leader = leader, .leader_epoch = le, .partition_epoch = pe, .nisr = n};
    memcpy(e.isr.isr, isr, (size_t)n * sizeof(int32_t));
    (void)f;
    return e;
}

static void test_ctl_isr_change_checked_and_fenced(void **state)
{
    (void)state;
    struct fx f;
    setup(&f, 4, 1, 3, false);
    const struct repl_pstate ps = *part(&f, 0);
    int32_t l = ps.leader, a = ps.replicas[1], b = ps.replicas[2];
    int32_t outsider = 1 + 2 + 3 + 4 - l - a - b;
    int32_t shrink[] = {l, a};
    assert_int_equal(ev(&f, isr_event(&f, l, 0, 0, shrink, 2)), 0);
    assert_int_equal(part(&f, 0)->partition_epoch, 1);
    assert_int_equal(part(&f, 0)->leader_epoch, 0);
    ASSERT_ISR(part(&f, 0), l, a);
    /* The same proposal again is based on a state that has moved on. */
    assert_int_equal(ev(&f, isr_event(&f, l, 0, 0, shrink, 2)), REPL_INVALID_UPDATE_VERSION);
    int32_t grow[] = {l, a, b};
    assert_int_equal(ev(&f, isr_event(&f, a, 0, 1, grow, 3)), REPL_INVALID_REQUEST);
    int32_t dup[] = {l, a, a};
    assert_int_equal(ev(&f, isr_event(&f, l, 0, 1, dup, 3)), REPL_INVALID_REQUEST);
    int32_t foreign[] = {l, outsider};
    assert_int_equal(ev(&f, isr_event(&f, l, 0, 1, foreign, 2)), REPL_INVALID_REQUEST);
    int32_t headless[] = {a};
    assert_int_equal(ev(&f, isr_event(&f, l, 0, 1, headless, 1)), REPL_INVALID_REQUEST);
    lost(&f, b); /* b is fenced: it may not be added */
    int32_t pe = part(&f, 0)->partition_epoch;
    assert_int_equal(ev(&f, isr_event(&f, l, 0, pe, grow, 3)), REPL_INELIGIBLE_REPLICA);
    /* The leader is replaced: its proposals from the old epoch are fenced. */
    lost(&f, l);
    pe = part(&f, 0)->partition_epoch;
    assert_int_equal(ev(&f, isr_event(&f, l, 0, pe, shrink, 2)), REPL_FENCED_LEADER_EPOCH);
    teardown(&f);
}

/* A leader whose disk lost a tail asks for a new epoch of its own (new_epoch): it keeps
 * leading, the ISR is what it proposed, both epochs move; a stale base is refused as any. */
static void test_ctl_isr_change_new_epoch_keeps_the_leader(void **state)
{
    (void)state;
    struct fx f;
    setup(&f, 3, 1, 3, false);
    const struct repl_pstate ps = *part(&f, 0);
    int32_t l = ps.leader;
    struct repl_event e = isr_event(&f, l, 0, 0, ps.isr, ps.nisr);
    e.isr.new_epoch = true;
    assert_int_equal(ev(&f, e), 0);
    assert_int_equal(part(&f, 0)->leader, l);
    assert_int_equal(part(&f, 0)->leader_epoch, 1);
    assert_int_equal(part(&f, 0)->partition_epoch, 1);
    assert_int_equal(part(&f, 0)->nisr, ps.nisr);
    assert_int_equal(ev(&f, e), REPL_FENCED_LEADER_EPOCH); /* the same request again */
    e.isr.leader_epoch = 1;
    assert_int_equal(ev(&f, e), REPL_INVALID_UPDATE_VERSION); /* based on pe 0 */
    e.isr.partition_epoch = 1;
    e.isr.leader = ps.replicas[1]; /* only the leader may ask */
    assert_int_equal(ev(&f, e), REPL_INVALID_REQUEST);
    assert_int_equal(part(&f, 0)->leader_epoch, 1);
    teardown(&f);
}

static void test_ctl_zombie_controller_records_fenced(void **state)
{
    (void)state;
    struct fx f;
    setup(&f, 3, 1, 3, false);
    /* Controller A (epoch 1) decides a change but stalls before its write lands. */
    struct repl_recs late;
    repl_recs_init(&late);
    struct repl_event e = {.type = REPL_EV_BROKER_LOST, .id = 1, .epoch = 101};
    assert_int_equal(repl_ctl_handle(&f.ctl, &e, &late), 0);
    assert_true(late.n > 0);
    /* Controller B is elected meanwhile (epoch 2). */
    assert_int_equal(ev(&f, (struct repl_event){.type = REPL_EV_ELECTED, .id = 2}), 0);
    assert_int_equal(f.ctl.controller_epoch, 2);
    for (size_t i = 0; i < late.n; i++)
        assert_int_equal(repl_ctl_replay(&f.ctl, &late.v[i]), REPL_STALE_CONTROLLER_EPOCH);
    assert_int_equal(repl_ctl_broker(&f.ctl, 1)->state, REPL_BROKER_LIVE);
    /* And a second election record from the old epoch is stale too. */
    struct repl_rec again = {.type = REPL_REC_CONTROLLER, .controller_epoch = 2};
    assert_int_equal(repl_ctl_replay(&f.ctl, &again), REPL_STALE_CONTROLLER_EPOCH);
    repl_recs_fini(&late);
    teardown(&f);
}

static void test_ctl_replay_refuses_epoch_rule_breaks(void **state)
{
    (void)state;
    struct fx f;
    setup(&f, 3, 1, 3, false);
    struct repl_rec rec = {.type = REPL_REC_PARTITION, .controller_epoch = 1};
    strlcpy(rec.u.part.topic, "t", sizeof(rec.u.part.topic));
    rec.u.part.ps = *part(&f, 0);
    rec.u.part.ps.partition_epoch = 5; /* not current + 1 */
    assert_int_equal(repl_ctl_replay(&f.ctl, &rec), REPL_INVALID_UPDATE_VERSION);
    rec.u.part.ps.partition_epoch = 1;
    rec.u.part.ps.leader = rec.u.part.ps.replicas[1]; /* a new leader, same epoch */
    assert_int_equal(repl_ctl_replay(&f.ctl, &rec), REPL_FENCED_LEADER_EPOCH);
    rec.u.part.ps = *part(&f, 0);
    rec.u.part.ps.partition_epoch = 1;
    rec.u.part.ps.leader_epoch = -1;
    assert_int_equal(repl_ctl_replay(&f.ctl, &rec), REPL_INVALID_REQUEST); /* malformed */
    rec.u.part.ps = *part(&f, 0);
    rec.u.part.partition = 7;
    assert_int_equal(repl_ctl_replay(&f.ctl, &rec), REPL_UNKNOWN_TOPIC_OR_PARTITION);
    rec.type = REPL_REC_BROKER_STATE;
    rec.u.broker = (struct repl_broker){.id = 9, .epoch = 1};
    assert_int_equal(repl_ctl_replay(&f.ctl, &rec), REPL_BROKER_ID_NOT_REGISTERED);
    rec.type = (enum repl_rec_type)77;
    assert_int_equal(repl_ctl_replay(&f.ctl, &rec), -EINVAL);
    teardown(&f);
}

/* ---- random histories: replay determinism and the epoch rules ---- */

static struct repl_event random_event(struct fx *f, uint64_t *r, int64_t *next_epoch)
{
    int32_t id = 1 + (int32_t)(kc_test_rand(r) % 5);
    const struct repl_broker *b = repl_ctl_broker(&f->ctl, id);
    int64_t epoch = b ? b->epoch : 0;
    const struct repl_pstate *ps = repl_ctl_partition(&f->ctl, "t", 0);
    static const int32_t first[] = {0};
    switch (kc_test_rand(r) % 10) {
    case 0:
        return (struct repl_event){
            .type = REPL_EV_BROKER_REGISTERED, .id = id, .epoch = ++*next_epoch, .endpoint = "h:1"};
    case 1:
    case 2:
        return (struct repl_event){.type = REPL_EV_BROKER_LOST, .id = id, .epoch = epoch};
    case 3:
        return (struct repl_event){.type = REPL_EV_BROKER_SHUTDOWN, .id = id, .epoch = epoch};
    case 4:
        return (struct repl_event){.type = REPL_EV_PREFERRED};
    case 5:
        return (struct repl_event){.type = REPL_EV_ELECTED, .id = id};
    case 9: /* an operator's election, either type */
        return (struct repl_event){.type = REPL_EV_ELECT_LEADERS,
                                   .topic = "t",
                                   .election = (enum repl_election)(kc_test_rand(r) % 2),
                                   .elect = first,
                                   .nelect = 1};
    case 6:
        return (struct repl_event){.type = REPL_EV_PARTITIONS_ADD,
                                   .topic = "t",
                                   .partitions = (int32_t)(kc_test_rand(r) % 8)};
    default: { /* a leader's proposal: all of the replicas, or a random subset */
        struct repl_event e = {.type = REPL_EV_ISR_CHANGE, .topic = "t", .partition = 0};
        if (!ps)
            return e;
        e.isr = (struct repl_isr_change){
            .leader = ps->leader,
            .leader_epoch = ps->leader_epoch - (int32_t)(kc_test_rand(r) % 2),
            .partition_epoch = ps->partition_epoch,
            .new_epoch = kc_test_rand(r) % 8 == 0};
        for (int i = 0; i < ps->nreplicas; i++)
            if (ps->replicas[i] == ps->leader || kc_test_rand(r) % 2)
                e.isr.isr[e.isr.nisr++] = ps->replicas[i];
        return e;
    }
    }
}

/* Over the journal: per partition, leader epochs never go back and each has one leader. */
static void check_epoch_rules(const struct repl_recs *j)
{
    int32_t leader_of[64][256];
    memset(leader_of, 0xff, sizeof(leader_of));
    int32_t last[64];
    memset(last, 0xff, sizeof(last));
    for (size_t i = 0; i < j->n; i++) {
        const struct repl_rec *rec = &j->v[i];
        if (rec->type != REPL_REC_PARTITION || strcmp(rec->u.part.topic, "t") != 0)
            continue;
        int32_t p = rec->u.part.partition, e = rec->u.part.ps.leader_epoch;
        assert_true(p < 64 && e < 256);
        assert_true(e >= last[p]);
        last[p] = e;
        int32_t l = rec->u.part.ps.leader;
        if (l == REPL_NO_LEADER)
            continue;
        assert_true(leader_of[p][e] == -1 || leader_of[p][e] == l);
        leader_of[p][e] = l;
    }
}

static void test_ctl_replay_rebuilds_same_state(void **state)
{
    (void)state;
    uint64_t seed = kc_test_seed();
    for (int run = 0; run < 50; run++) {
        uint64_t r = seed + (uint64_t)run;
        struct fx f;
        setup(&f, 5, 2, 3, run % 4 == 0);
        int64_t next_epoch = 1000;
        for (int i = 0; i < 300; i++) {
            struct repl_event e = random_event(&f, &r, &next_epoch);
            if (f.ctl.controller_epoch > 200 && e.type == REPL_EV_ELECTED)
                continue;
            ev(&f, e);
        }
        check_epoch_rules(&f.journal);
        assert_true(f.journal.n > 50); /* the history did something */
        /* A new controller (or a broker) that reads the same records has the same state. */
        struct repl_ctl copy;
        struct repl_ctl_config cfg = {.unclean_leader_election = run % 4 == 0, .seed = 42};
        repl_ctl_init(&copy, &cfg);
        for (size_t i = 0; i < f.journal.n; i++)
            assert_int_equal(repl_ctl_replay(&copy, &f.journal.v[i]), 0);
        assert_true(repl_ctl_equal(&f.ctl, &copy));
        /* handle() changes nothing by itself. */
        struct repl_recs scratch;
        repl_recs_init(&scratch);
        struct repl_event e = {.type = REPL_EV_PREFERRED};
        assert_int_equal(repl_ctl_handle(&f.ctl, &e, &scratch), 0);
        assert_true(repl_ctl_equal(&f.ctl, &copy));
        repl_recs_fini(&scratch);
        repl_ctl_fini(&copy);
        teardown(&f);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ctl_assign_replicas_as_kafka),
        cmocka_unit_test(test_ctl_topic_create_records_and_spread),
        cmocka_unit_test(test_ctl_topic_create_refusals),
        cmocka_unit_test(test_ctl_partitions_add_and_topic_delete),
        cmocka_unit_test(test_ctl_partitions_assigned_finish_a_creation),
        cmocka_unit_test(test_ctl_topic_create_assigned_as_given),
        cmocka_unit_test(test_ctl_topic_create_assigned_with_brokers_down),
        cmocka_unit_test(test_ctl_topic_create_assigned_refusals),
        cmocka_unit_test(test_ctl_partitions_add_assigned),
        cmocka_unit_test(test_ctl_assigned_checked_after_the_topic),
        cmocka_unit_test(test_ctl_broker_lost_moves_leader_in_assignment_order),
        cmocka_unit_test(test_ctl_unclean_election_resets_isr),
        cmocka_unit_test(test_ctl_broker_epochs_fence_stale_events),
        cmocka_unit_test(test_ctl_bounce_fences_old_incarnation_in_one_record),
        cmocka_unit_test(test_ctl_controlled_shutdown_moves_leadership),
        cmocka_unit_test(test_ctl_controlled_shutdown_sole_isr_leader_remains),
        cmocka_unit_test(test_ctl_controlled_shutdown_single_replica_not_remaining),
        cmocka_unit_test(test_ctl_controlled_shutdown_last_broker_not_remaining),
        cmocka_unit_test(test_ctl_preferred_leader_returns_when_in_isr),
        cmocka_unit_test(test_ctl_elect_leaders_preferred_listed_only),
        cmocka_unit_test(test_ctl_elect_leaders_unclean),
        cmocka_unit_test(test_ctl_isr_change_checked_and_fenced),
        cmocka_unit_test(test_ctl_isr_change_new_epoch_keeps_the_leader),
        cmocka_unit_test(test_ctl_zombie_controller_records_fenced),
        cmocka_unit_test(test_ctl_replay_refuses_epoch_rule_breaks),
        cmocka_unit_test(test_ctl_replay_rebuilds_same_state),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
