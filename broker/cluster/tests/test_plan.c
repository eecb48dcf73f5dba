/* test_plan.c - the controller's translation layer without ZooKeeper: registrations into
 * events, records into operations and units, chunking, and - over random histories
 * applied to an in-memory stand-in for ZooKeeper's conditional writes - the mapping
 * "partition epoch = the state znode's version" holding from creation on. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clu_plan.h"
#include "kc_common.h"
#include "kc_test.h"

/* ---- a stand-in for ZooKeeper: paths, data, versions; multi is all or nothing ---- */

#define STORE_MAX 512

struct node {
    char path[128]; /* the test's paths are short */
    char *data;
    int len, version;
};

struct store {
    struct node n[STORE_MAX];
    int count;
};

static char *dup_bytes(const char *p, int n)
{
    char *d = malloc((size_t)n + 1);
    assert_non_null(d);
    memcpy(d, p, (size_t)n);
    d[n] = '\0';
    return d;
}

static struct node *find(struct store *s, const char *path)
{
    for (int i = 0; i < s->count; i++)
        if (strcmp(s->n[i].path, path) == 0)
            return &s->n[i];
    return NULL;
}

static bool parent_exists(struct store *s, const char *path)
{
    char parent[128];
    strlcpy(parent, path, sizeof(parent));
    char *slash = strrchr(parent, '/');
    *slash = '\0';
    return parent[0] == '\0' || strcmp(parent, "/brokers/topics") == 0 ||
           strcmp(parent, "/config/topics") == 0 || strcmp(parent, "/admin/delete_topics") == 0 ||
           find(s, parent) != NULL;
}

static bool has_children(struct store *s, const char *path)
{
    size_t n = strlen(path);
    for (int i = 0; i < s->count; i++)
        if (strncmp(s->n[i].path, path, n) == 0 && s->n[i].path[n] == '/')
            return true;
    return false;
}

/* Can op apply to s as it is? (Checked in order against a scratch copy by multi.) */
static bool apply(struct store *s, const struct clu_op *op)
{
    struct node *nd = find(s, op->path);
    if (op->kind == CLU_OP_CREATE) {
        if (nd || !parent_exists(s, op->path) || s->count == STORE_MAX)
            return false;
        nd = &s->n[s->count++];
        strlcpy(nd->path, op->path, sizeof(nd->path));
        nd->data = op->len ? dup_bytes(op->data, op->len) : NULL;
        nd->len = op->len;
        nd->version = 0;
        return true;
    }
    if (!nd || (op->version != -1 && op->version != nd->version))
        return false;
    if (op->kind == CLU_OP_SET) {
        free(nd->data);
        nd->data = dup_bytes(op->data, op->len);
        nd->len = op->len;
        nd->version++;
        return true;
    }
    if (has_children(s, op->path))
        return false;
    free(nd->data);
    *nd = s->n[--s->count];
    return true;
}

static void store_free(struct store *s)
{
    for (int i = 0; i < s->count; i++)
        free(s->n[i].data);
    s->count = 0;
}

/* All ops of [op0, op1) or none. */
static bool multi(struct store *s, const struct clu_plan *plan, size_t op0, size_t op1)
{
    struct store *copy = malloc(sizeof(*copy));
    assert_non_null(copy);
    copy->count = s->count;
    for (int i = 0; i < s->count; i++) {
        copy->n[i] = s->n[i];
        copy->n[i].data = s->n[i].data ? dup_bytes(s->n[i].data, s->n[i].len) : NULL;
    }
    bool ok = true;
    for (size_t i = op0; ok && i < op1; i++)
        ok = apply(copy, &plan->ops[i]);
    if (ok) {
        store_free(s);
        memcpy(s, copy, sizeof(*s));
    } else {
        store_free(copy);
    }
    free(copy);
    return ok;
}

/* ---- a controller over the store ---- */

struct fx {
    struct repl_ctl ctl;
    struct repl_recs recs;
    struct clu_plan plan;
    struct store *zk;
    size_t max_ops;
    int multis;
};

static void fx_init(struct fx *f, size_t max_ops)
{
    struct repl_ctl_config cfg = {.seed = 7};
    memset(f, 0, sizeof(*f));
    repl_ctl_init(&f->ctl, &cfg);
    repl_recs_init(&f->recs);
    clu__plan_init(&f->plan);
    f->zk = calloc(1, sizeof(*f->zk));
    f->max_ops = max_ops;
}

static void fx_fini(struct fx *f)
{
    repl_ctl_fini(&f->ctl);
    repl_recs_fini(&f->recs);
    clu__plan_fini(&f->plan);
    store_free(f->zk);
    free(f->zk);
}

/* handle, plan, write chunk by chunk (each must land), replay. Returns the refusal. */
static int run(struct fx *f, struct repl_event ev, const struct clu_plan_ctx *ctx)
{
    repl_recs_reset(&f->recs);
    assert_int_equal(repl_ctl_handle(&f->ctl, &ev, &f->recs), 0);
    if (f->recs.error)
        return f->recs.error;
    assert_int_equal(clu__plan(&f->ctl, &f->recs, 0, ctx, &f->plan), 0);
    size_t u = 0;
    do {
        size_t end = clu__plan_chunk_end(&f->plan, u, f->max_ops);
        if (u < end) {
            const struct clu_unit *a = &f->plan.units[u], *b = &f->plan.units[end - 1];
            if (b->op1 > a->op0) {
                assert_true(multi(f->zk, &f->plan, a->op0, b->op1));
                f->multis++;
            }
            for (size_t r = a->rec0; r < b->rec1; r++)
                assert_int_equal(repl_ctl_replay(&f->ctl, &f->recs.v[r]), 0);
        }
        u = end;
    } while (u < f->plan.nunits);
    return 0;
}

/* Every partition's state znode: version = partition epoch, body = the state. */
static void check_mapping(struct fx *f)
{
    for (size_t t = 0; t < f->ctl.ntopics; t++)
        for (int32_t p = 0; p < f->ctl.topics[t].npart; p++) {
            const struct repl_pstate *ps = &f->ctl.topics[t].parts[p];
            char path[CLU_PATH_MAX];
            clu_path_state(path, sizeof(path), f->ctl.topics[t].name, p);
            struct node *nd = find(f->zk, path);
            assert_non_null(nd);
            assert_int_equal(nd->version, ps->partition_epoch);
            struct repl_pstate back = *ps;
            back.leader = -7;
            assert_int_equal(clu_pstate_decode(nd->data, (size_t)nd->len, &back), 0);
            assert_memory_equal(&back, ps, sizeof(back));
        }
}

static void setup(struct fx *f, int brokers)
{
    assert_int_equal(run(f, (struct repl_event){.type = REPL_EV_ELECTED, .id = 1}, NULL), 0);
    for (int32_t id = 1; id <= brokers; id++)
        assert_int_equal(run(f,
                             (struct repl_event){.type = REPL_EV_BROKER_REGISTERED,
                                                 .id = id,
                                                 .epoch = 100 + id,
                                                 .endpoint = "P://h:1"},
                             NULL),
                         0);
}

static void create(struct fx *f, const char *topic, int32_t parts, int rf)
{
    struct clu_plan_ctx ctx = {.topic_id = "AAAAAAAAAAAAAAAAAAAAAA"};
    assert_int_equal(run(f,
                         (struct repl_event){.type = REPL_EV_TOPIC_CREATE,
                                             .topic = topic,
                                             .partitions = parts,
                                             .replication = rf},
                         &ctx),
                     0);
}

static void test_plan_broker_events_from_registrations(void **state)
{
    (void)state;
    struct repl_ctl ctl;
    struct repl_ctl_config cfg = {0};
    repl_ctl_init(&ctl, &cfg);
    struct repl_broker b[] = {{.id = 1, .epoch = 10, .state = REPL_BROKER_LIVE},
                              {.id = 2, .epoch = 20, .state = REPL_BROKER_LIVE},
                              {.id = 3, .epoch = 30, .state = REPL_BROKER_FENCED},
                              {.id = 4, .epoch = 40, .state = REPL_BROKER_SHUTTING_DOWN},
                              {.id = 6, .epoch = 60, .state = REPL_BROKER_LIVE}};
    ctl.brokers = b;
    ctl.nbrokers = KC_ARRAY_SIZE(b);
    struct clu_live_broker live[] = {{.id = 5, .epoch = 50},
                                     {.id = 2, .epoch = 25},
                                     {.id = 1, .epoch = 10},
                                     {.id = 3, .epoch = 35}};
    struct repl_event ev[8];
    int n = clu__broker_events(&ctl, live, KC_ARRAY_SIZE(live), ev, 8);
    assert_int_equal(n, 5);
    /* losses first (4: shutting down, no registration; 6), then registrations by id:
     * 2 bounced (a newer czxid), 3 came back after being fenced, 5 is new. 1 is known. */
    assert_int_equal(ev[0].type, REPL_EV_BROKER_LOST);
    assert_int_equal(ev[0].id, 4);
    assert_int_equal(ev[0].epoch, 40);
    assert_int_equal(ev[1].type, REPL_EV_BROKER_LOST);
    assert_int_equal(ev[1].id, 6);
    int32_t ids[] = {2, 3, 5};
    int64_t epochs[] = {25, 35, 50};
    for (int i = 0; i < 3; i++) {
        assert_int_equal(ev[2 + i].type, REPL_EV_BROKER_REGISTERED);
        assert_int_equal(ev[2 + i].id, ids[i]);
        assert_int_equal(ev[2 + i].epoch, epochs[i]);
    }
    assert_int_equal(clu__broker_events(&ctl, live, KC_ARRAY_SIZE(live), ev, 2), -ENOSPC);
    assert_int_equal(clu__broker_events(&ctl, NULL, 0, ev, 8), 4); /* all but the fenced 3 */
}

/* A creation: the topic's unit (assignment, .../partitions, config), then one unit per
 * partition, packed into transactions in that order. */
static void test_plan_topic_create_units(void **state)
{
    (void)state;
    struct fx f;
    fx_init(&f, 2); /* a unit is never split, whatever the limit */
    setup(&f, 3);
    repl_recs_reset(&f.recs);
    struct repl_event ev = {
        .type = REPL_EV_TOPIC_CREATE, .topic = "t", .partitions = 3, .replication = 2};
    assert_int_equal(repl_ctl_handle(&f.ctl, &ev, &f.recs), 0);
    struct clu_plan_ctx ctx = {.topic_id = "AAAAAAAAAAAAAAAAAAAAAA",
                               .config = "{\"retention.ms\":\"1000\"}",
                               .config_len = 23};
    assert_int_equal(clu__plan(&f.ctl, &f.recs, 0, &ctx, &f.plan), 0);
    assert_int_equal(f.plan.nunits, 1 + 3);
    assert_int_equal(f.plan.nops, 3 + 2 * 3);
    assert_int_equal(clu__plan_chunk_end(&f.plan, 0, 2), 1); /* 3 ops, alone */
    assert_int_equal(clu__plan_chunk_end(&f.plan, 1, 2), 2);
    assert_int_equal(clu__plan_chunk_end(&f.plan, 1, 4), 3); /* two partitions a chunk */
    assert_int_equal(f.plan.units[0].rec1 - f.plan.units[0].rec0, 1); /* TOPIC */
    for (size_t u = 1; u < 4; u++) /* a PARTITION each */
        assert_int_equal(f.plan.units[u].rec0, u);
    static const char *const paths[] = {
        "/brokers/topics/t",
        "/brokers/topics/t/partitions",
        "/config/topics/t",
        "/brokers/topics/t/partitions/0",
        "/brokers/topics/t/partitions/0/state",
        "/brokers/topics/t/partitions/1",
        "/brokers/topics/t/partitions/1/state",
        "/brokers/topics/t/partitions/2",
        "/brokers/topics/t/partitions/2/state",
    };
    for (size_t i = 0; i < f.plan.nops; i++) {
        assert_int_equal(f.plan.ops[i].kind, CLU_OP_CREATE);
        assert_string_equal(f.plan.ops[i].path, paths[i]);
    }
    struct clu_assignment a;
    assert_int_equal(clu_assignment_decode(f.plan.ops[0].data, (size_t)f.plan.ops[0].len, &a), 0);
    assert_int_equal(a.npart, 3);
    assert_int_equal(a.parts[1].n, 2);
    clu_assignment_fini(&a);
    assert_null(f.plan.ops[3].data); /* a partition's own node is empty, as Kafka's */
    assert_memory_equal(f.plan.ops[2].data,
                        "{\"version\":1,\"config\":{\"retention.ms\":\"1000\"}}",
                        (size_t)f.plan.ops[2].len);
    /* Without a topic id the plan is refused (a caller bug), and leaves nothing. */
    struct clu_plan_ctx none = {0};
    assert_int_equal(clu__plan(&f.ctl, &f.recs, 0, &none, &f.plan), -EINVAL);
    assert_int_equal(f.plan.nops, 0);
    fx_fini(&f);
}

static void test_plan_changes_are_conditional_and_chunked(void **state)
{
    (void)state;
    struct fx f;
    fx_init(&f, 500);
    setup(&f, 3);
    create(&f, "t", 6, 3);
    /* Broker 2 is lost: every partition changes (it leaves each ISR; leads two). */
    repl_recs_reset(&f.recs);
    struct repl_event ev = {.type = REPL_EV_BROKER_LOST, .id = 2, .epoch = 102};
    assert_int_equal(repl_ctl_handle(&f.ctl, &ev, &f.recs), 0);
    assert_int_equal(clu__plan(&f.ctl, &f.recs, 0, NULL, &f.plan), 0);
    assert_int_equal(f.plan.nops, 6);
    assert_int_equal(f.plan.nunits, 7); /* the BROKER_STATE record: a unit without ops */
    for (size_t i = 0; i < f.plan.nops; i++) {
        assert_int_equal(f.plan.ops[i].kind, CLU_OP_SET);
        assert_int_equal(f.plan.ops[i].version, 0); /* decided from version 0 */
    }
    assert_int_equal(clu__plan_chunk_end(&f.plan, 0, 500), 7);
    /* One op per transaction: the first chunk carries the op-less record with it. */
    size_t u = 0, chunks = 0;
    while (u < f.plan.nunits) {
        u = clu__plan_chunk_end(&f.plan, u, 1);
        chunks++;
    }
    assert_int_equal(chunks, 6);
    fx_fini(&f);
}

/* How many transactions the plan is written in; each must stay under the byte bound. */
static size_t chunks_under_bound(const struct clu_plan *plan)
{
    size_t u = 0, chunks = 0;
    while (u < plan->nunits) {
        size_t end = clu__plan_chunk_end(plan, u, 100000), b = 0;
        for (size_t k = u; k < end; k++)
            b += clu__plan_unit_bytes(plan, k);
        assert_true(b <= CLU_MULTI_MAX_BYTES);
        u = end;
        chunks++;
    }
    return chunks;
}

/* A multi stays under what ZooKeeper accepts: units are packed by bytes as well as by
 * count. A creation of 6,000 partitions is written in several; one unit larger than
 * CLU_MULTI_MAX_BYTES alone - the assignment of a topic of 100,000 partitions - is what
 * the controller must refuse (ctl_write.c). */
static void test_plan_chunks_bounded_by_bytes(void **state)
{
    (void)state;
    struct fx f;
    fx_init(&f, 100000);
    setup(&f, 3);
    repl_recs_reset(&f.recs);
    struct repl_event ev = {
        .type = REPL_EV_TOPIC_CREATE, .topic = "wide", .partitions = 6000, .replication = 3};
    assert_int_equal(repl_ctl_handle(&f.ctl, &ev, &f.recs), 0);
    struct clu_plan_ctx ctx = {.topic_id = "AAAAAAAAAAAAAAAAAAAAAA"};
    assert_int_equal(clu__plan(&f.ctl, &f.recs, 0, &ctx, &f.plan), 0);
    assert_int_equal(f.plan.nunits, 1 + 6000);
    size_t bytes = 0, sum = 0;
    for (size_t u = 0; u < f.plan.nunits; u++)
        bytes += clu__plan_unit_bytes(&f.plan, u);
    for (size_t i = 0; i < f.plan.nops; i++) /* at least its paths and data */
        sum += strlen(f.plan.ops[i].path) + (size_t)f.plan.ops[i].len;
    assert_true(bytes > sum && bytes < sum + 100 * f.plan.nops);
    assert_true(bytes > CLU_MULTI_MAX_BYTES); /* more than one multi holds... */
    assert_true(chunks_under_bound(&f.plan) >= 2); /* ...so it takes several */
    /* The cheap bound the controller checks first: above the real size, not far above. */
    size_t real = (size_t)f.plan.ops[0].len, bound = clu__plan_assignment_bound(6000, 3, 3);
    assert_true(bound >= real && bound < real + real / 2);
    assert_true(clu__plan_assignment_bound(65000, 3, 3) > CLU_MULTI_MAX_BYTES);
    assert_true(clu__plan_assignment_bound(4000, 1, 3) < CLU_MULTI_MAX_BYTES / 8);
    assert_true(clu__plan_assignment_bound(1, 3, INT32_MAX) > clu__plan_assignment_bound(1, 3, 9));
    repl_recs_reset(&f.recs);
    ev.topic = "widest";
    ev.partitions = 100000;
    assert_int_equal(repl_ctl_handle(&f.ctl, &ev, &f.recs), 0);
    assert_int_equal(clu__plan(&f.ctl, &f.recs, 0, &ctx, &f.plan), 0);
    assert_true(clu__plan_unit_bytes(&f.plan, 0) > CLU_MULTI_MAX_BYTES); /* its assignment */
    assert_int_equal(clu__plan_chunk_end(&f.plan, 0, 100000), 1); /* alone, never split */
    fx_fini(&f);

    /* 6,000 small changes (broker 2 is lost): chunks by bytes, not by count. */
    fx_init(&f, 100000);
    setup(&f, 3);
    for (int t = 0; t < 4; t++) { /* into the controller only: the fake store is small */
        char name[16];
        snprintf(name, sizeof(name), "t%d", t);
        repl_recs_reset(&f.recs);
        ev = (struct repl_event){
            .type = REPL_EV_TOPIC_CREATE, .topic = name, .partitions = 1500, .replication = 3};
        assert_int_equal(repl_ctl_handle(&f.ctl, &ev, &f.recs), 0);
        for (size_t r = 0; r < f.recs.n; r++)
            assert_int_equal(repl_ctl_replay(&f.ctl, &f.recs.v[r]), 0);
    }
    repl_recs_reset(&f.recs);
    ev = (struct repl_event){.type = REPL_EV_BROKER_LOST, .id = 2, .epoch = 102};
    assert_int_equal(repl_ctl_handle(&f.ctl, &ev, &f.recs), 0);
    assert_int_equal(clu__plan(&f.ctl, &f.recs, 0, NULL, &f.plan), 0);
    assert_true(chunks_under_bound(&f.plan) >= 2);
    fx_fini(&f);
}

static void test_plan_delete_children_first(void **state)
{
    (void)state;
    struct fx f;
    fx_init(&f, 500);
    setup(&f, 2);
    create(&f, "d", 2, 2);
    struct store *zk = f.zk;
    struct clu_op req = {.kind = CLU_OP_CREATE, .path = "/admin/delete_topics/d"};
    assert_true(apply(zk, &req));
    int before = zk->count;
    struct clu_plan_ctx ctx = {.has_config_node = true, .has_delete_request = true};
    assert_int_equal(run(&f, (struct repl_event){.type = REPL_EV_TOPIC_DELETE, .topic = "d"}, &ctx),
                     0);
    assert_int_equal(f.plan.nunits, 1);
    assert_int_equal(f.plan.nops, 2 * 2 + 2 + 2);
    assert_int_equal(zk->count, before - 8); /* it all went, in one transaction */
    assert_null(find(zk, "/brokers/topics/d"));
    assert_null(repl_ctl_topic(&f.ctl, "d"));
    /* The name can be used again, from partition epoch 0. */
    create(&f, "d", 1, 1);
    check_mapping(&f);
    fx_fini(&f);
}

/* A topic's version and its assignment as the store holds them. */
static int topic_version(struct fx *f, const char *topic, struct clu_assignment *a)
{
    char path[CLU_PATH_MAX];
    clu_path_topic(path, sizeof(path), topic);
    struct node *nd = find(f->zk, path);
    assert_non_null(nd);
    if (a)
        assert_int_equal(clu_assignment_decode(nd->data, (size_t)nd->len, a), 0);
    return nd->version;
}

/* CreatePartitions: a unit that rewrites the assignment whole at the version the
 * controller read, then a unit per new partition; the old partitions untouched. And the
 * same partitions when the assignment names them already (a dead controller's growth,
 * finished): their units alone. */
static void test_plan_partitions_add_conditional(void **state)
{
    (void)state;
    struct fx f;
    fx_init(&f, 2); /* a unit is never split, whatever the limit */
    setup(&f, 3);
    create(&f, "t", 2, 2);
    struct clu_assignment before;
    assert_int_equal(topic_version(&f, "t", &before), 0);
    struct clu_plan_ctx ctx = {.topic_id = "AAAAAAAAAAAAAAAAAAAAAA", .topic_version = 0};
    struct repl_event ev = {.type = REPL_EV_PARTITIONS_ADD, .topic = "t", .partitions = 5};
    assert_int_equal(run(&f, ev, &ctx), 0);
    assert_int_equal(f.plan.nunits, 1 + 3);
    assert_int_equal(f.plan.units[0].rec0, f.plan.units[0].rec1); /* no record of its own */
    assert_int_equal(f.plan.nops, 1 + 2 * 3);
    assert_int_equal(f.plan.ops[0].kind, CLU_OP_SET);
    assert_string_equal(f.plan.ops[0].path, "/brokers/topics/t");
    assert_int_equal(f.plan.ops[0].version, 0);
    for (size_t i = 1; i < f.plan.nops; i++)
        assert_int_equal(f.plan.ops[i].kind, CLU_OP_CREATE);
    assert_string_equal(f.plan.ops[1].path, "/brokers/topics/t/partitions/2");
    assert_string_equal(f.plan.ops[6].path, "/brokers/topics/t/partitions/4/state");
    struct clu_assignment after;
    assert_int_equal(topic_version(&f, "t", &after), 1);
    assert_string_equal(after.topic_id, "AAAAAAAAAAAAAAAAAAAAAA");
    assert_int_equal(after.npart, 5);
    for (int32_t p = 0; p < 2; p++) /* the old partitions keep their replicas */
        assert_memory_equal(&after.parts[p], &before.parts[p], sizeof(after.parts[p]));
    for (int32_t p = 2; p < 5; p++)
        assert_int_equal(after.parts[p].n, 2); /* the topic's replication factor */
    clu_assignment_fini(&before);
    clu_assignment_fini(&after);
    assert_int_equal(repl_ctl_topic(&f.ctl, "t")->npart, 5);
    check_mapping(&f);
    /* Decided from a version that has moved on (the topic rewritten meanwhile): the
     * transaction does not land, and nothing of it is written. */
    repl_recs_reset(&f.recs);
    ev.partitions = 6;
    assert_int_equal(repl_ctl_handle(&f.ctl, &ev, &f.recs), 0);
    assert_int_equal(clu__plan(&f.ctl, &f.recs, 0, &ctx, &f.plan), 0);
    int nodes = f.zk->count;
    assert_false(multi(f.zk, &f.plan, 0, f.plan.nops));
    assert_int_equal(f.zk->count, nodes);
    /* Named by the assignment already: the partitions' nodes only. */
    struct clu_plan_ctx assigned = {.assigned = true};
    assert_int_equal(clu__plan(&f.ctl, &f.recs, 0, &assigned, &f.plan), 0);
    assert_int_equal(f.plan.nunits, 1);
    assert_int_equal(f.plan.nops, 2);
    assert_string_equal(f.plan.ops[0].path, "/brokers/topics/t/partitions/5");
    /* Fewer, or as many: refused by the controller; an unknown topic too. */
    ev.partitions = 5;
    assert_int_equal(run(&f, ev, &ctx), REPL_INVALID_PARTITIONS);
    ev.topic = "nope";
    assert_int_equal(run(&f, ev, &ctx), REPL_UNKNOWN_TOPIC_OR_PARTITION);
    fx_fini(&f);
}

static void test_plan_refuses_what_it_cannot_write(void **state)
{
    (void)state;
    struct fx f;
    fx_init(&f, 500);
    setup(&f, 2);
    create(&f, "t", 1, 1);
    repl_recs_reset(&f.recs);
    struct repl_event ev = {.type = REPL_EV_PARTITIONS_ADD, .topic = "t", .partitions = 3};
    assert_int_equal(repl_ctl_handle(&f.ctl, &ev, &f.recs), 0);
    assert_int_equal(f.recs.error, 0);
    /* new partitions without the topic's id (the assignment cannot be rewritten) */
    assert_int_equal(clu__plan(&f.ctl, &f.recs, 0, NULL, &f.plan), -EINVAL);
    assert_int_equal(f.plan.nops, 0);
    /* a new partition that does not follow the topic's last one */
    struct clu_plan_ctx ctx = {.topic_id = "AAAAAAAAAAAAAAAAAAAAAA"};
    f.recs.v[0].u.part.partition = 2;
    assert_int_equal(clu__plan(&f.ctl, &f.recs, 0, &ctx, &f.plan), -EINVAL);
    assert_int_equal(f.plan.nops, 0);
    fx_fini(&f);
}

/* Random histories: after every event, every state znode's version is its partition
 * epoch, and its body is the controller's state. A write based on a stale version (a
 * zombie's) would not land: the stand-in checks versions as ZooKeeper does. */
static void test_plan_partition_epoch_is_znode_version(void **state)
{
    (void)state;
    uint64_t seed = kc_test_seed();
    int total = 0;
    for (int history = 0; history < 40; history++) {
        struct fx f;
        fx_init(&f, 1 + kc_test_rand(&seed) % 4);
        setup(&f, 4);
        int64_t epochs[5] = {0, 101, 102, 103, 104};
        int topics = 0;
        for (int step = 0; step < 60; step++) {
            int32_t b = 1 + (int32_t)(kc_test_rand(&seed) % 4);
            struct repl_event ev = {0};
            switch (kc_test_rand(&seed) % 7) {
            case 0: {
                char name[16];
                struct clu_plan_ctx ctx = {.topic_id = "AAAAAAAAAAAAAAAAAAAAAA"};
                snprintf(name, sizeof(name), "t%d", topics++);
                ev = (struct repl_event){.type = REPL_EV_TOPIC_CREATE,
                                         .topic = name,
                                         .partitions = 1 + (int32_t)(kc_test_rand(&seed) % 4),
                                         .replication = 1 + (int)(kc_test_rand(&seed) % 3)};
                (void)run(&f, ev, &ctx); /* refused when fewer brokers are live */
                check_mapping(&f);
                continue;
            }
            case 1:
                ev = (struct repl_event){.type = REPL_EV_BROKER_LOST, .id = b, .epoch = epochs[b]};
                break;
            case 2:
                epochs[b] += 1000;
                ev = (struct repl_event){.type = REPL_EV_BROKER_REGISTERED,
                                         .id = b,
                                         .epoch = epochs[b],
                                         .endpoint = "P://h:1"};
                break;
            case 3:
                ev = (struct repl_event){
                    .type = REPL_EV_BROKER_SHUTDOWN, .id = b, .epoch = epochs[b]};
                break;
            case 4:
                ev = (struct repl_event){.type = REPL_EV_PREFERRED};
                break;
            case 5: { /* CreatePartitions: one or two more */
                if (f.ctl.ntopics == 0)
                    continue;
                const struct repl_topic *t = &f.ctl.topics[kc_test_rand(&seed) % f.ctl.ntopics];
                struct clu_plan_ctx ctx = {.topic_id = "AAAAAAAAAAAAAAAAAAAAAA",
                                           .topic_version = topic_version(&f, t->name, NULL)};
                ev = (struct repl_event){.type = REPL_EV_PARTITIONS_ADD,
                                         .topic = t->name,
                                         .partitions =
                                             t->npart + 1 + (int32_t)(kc_test_rand(&seed) % 2)};
                (void)run(&f, ev, &ctx); /* refused when fewer brokers are live */
                check_mapping(&f);
                continue;
            }
            default: /* a leader shrinks an ISR to itself */
                if (f.ctl.ntopics == 0)
                    continue;
                const struct repl_topic *t = &f.ctl.topics[kc_test_rand(&seed) % f.ctl.ntopics];
                const struct repl_pstate *ps = &t->parts[0];
                if (ps->leader < 0)
                    continue;
                ev = (struct repl_event){.type = REPL_EV_ISR_CHANGE,
                                         .topic = t->name,
                                         .isr = {.leader = ps->leader,
                                                 .leader_epoch = ps->leader_epoch,
                                                 .partition_epoch = ps->partition_epoch,
                                                 .nisr = 1,
                                                 .isr = {ps->leader}}};
            }
            (void)run(&f, ev, NULL);
            check_mapping(&f);
        }
        total += f.multis;
        fx_fini(&f);
    }
    printf("40 histories, %d transactions checked\n", total);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plan_broker_events_from_registrations),
        cmocka_unit_test(test_plan_topic_create_units),
        cmocka_unit_test(test_plan_changes_are_conditional_and_chunked),
        cmocka_unit_test(test_plan_chunks_bounded_by_bytes),
        cmocka_unit_test(test_plan_delete_children_first),
        cmocka_unit_test(test_plan_partitions_add_conditional),
        cmocka_unit_test(test_plan_refuses_what_it_cannot_write),
        cmocka_unit_test(test_plan_partition_epoch_is_znode_version),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
