/*
 * kcl.h - what the cluster end-to-end tests (test_030N_cluster_*.c) share on top of kt.h:
 * a real ZooKeeper (broker/cluster's clu_zks: Debian's zookeeper, on an ephemeral port)
 * and several real kafka_broker processes joined to it, and Metadata read through the
 * Kafka codec.
 *
 * Each test uses a chroot of its own on one ZooKeeper per binary (a fresh cluster per
 * test, one JVM start per file). Without the zookeeper package the tests are SKIPPED,
 * with the reason. Brokers are kb_broker's: stopped by PID, SIGKILLed at teardown.
 */
#ifndef KCL_H
#define KCL_H

#include "clu_zks.h"
#include "kt.h"

#define KCL_SESSION_MS "2000" /* the test ZooKeeper's maximum (20 ticks of 100 ms) */
#define KCL_MAX 4

struct kcl {
    char connect[128];
    struct kb_broker *b[KCL_MAX + 1]; /* by broker id, 1..KCL_MAX */
};

static struct clu_zks kcl_zk;
static bool kcl_zk_up;

KT_FN int kcl_group_setup(void **state)
{
    (void)state;
    int rc = clu_zks_start(&kcl_zk);
    if (rc == 0) {
        kcl_zk_up = true;
        printf("# ZooKeeper on %s (started in %lld ms)\n", kcl_zk.hosts,
               (long long)kcl_zk.last_start_ms);
    } else {
        printf("# no ZooKeeper (%s): the cluster tests are skipped; scripts/deps.sh test "
               "installs Debian's zookeeper\n", kc_strerror(rc));
    }
    return 0; /* each test skips */
}

KT_FN int kcl_group_teardown(void **state)
{
    (void)state;
    if (kcl_zk_up)
        clu_zks_destroy(&kcl_zk);
    return 0;
}

/* A fresh chroot per test. */
KT_FN int kcl_setup(void **state)
{
    static int seq;
    struct kcl *c = calloc(1, sizeof(*c));
    assert_non_null(c);
    char chroot[32];
    snprintf(chroot, sizeof(chroot), "t%d_%d", (int)getpid(), ++seq);
    clu_zks_connect(&kcl_zk, chroot, c->connect, sizeof(c->connect));
    *state = c;
    return 0;
}

KT_FN int kcl_teardown(void **state)
{
    struct kcl *c = *state;
    int rc = 0;
    for (int i = 1; i <= KCL_MAX; i++) {
        if (!c->b[i])
            continue;
        void *s = c->b[i];
        rc |= kb_teardown(&s);
    }
    free(c);
    return rc;
}

#define KCL_REQUIRE_ZK()                                                                   \
    do {                                                                                   \
        if (!kcl_zk_up) {                                                                  \
            printf("# skipped: no ZooKeeper (install Debian's zookeeper)\n");              \
            skip();                                                                        \
        }                                                                                  \
    } while (0)

/* Start broker id with the cluster's settings and extra ones ("k=v", NULL-terminated),
 * listening on address bind (NULL: the broker's default, 127.0.0.1). */
KT_FN struct kb_broker *kcl_start_at(struct kcl *c, int id, const char *bind,
                                     const char *const *extra)
{
    static char ov[8][160];
    const char *args[34];
    int n = 0;
    if (bind) {
        args[n++] = "--bind";
        args[n++] = bind;
    }
    if (!c->b[id]) {
        void *s;
        kb_setup(&s);
        c->b[id] = s;
    }
    snprintf(ov[0], sizeof(ov[0]), "zookeeper.connect=%s", c->connect);
    snprintf(ov[1], sizeof(ov[1]), "broker.id=%d", id);
    snprintf(ov[2], sizeof(ov[2]), "zookeeper.session.timeout.ms=%s", KCL_SESSION_MS);
    /* the first connection may wait: on a loaded machine ZooKeeper's first answer took
     * more than the session's 2 s (the default wait) and the broker gave up at start */
    snprintf(ov[3], sizeof(ov[3]), "zookeeper.connection.timeout.ms=%d", KB_WAIT_MS / 2);
    for (int i = 0; i < 4; i++) {
        args[n++] = "--override";
        args[n++] = ov[i];
    }
    for (int i = 0; extra && extra[i] && n < 30; i++) {
        args[n++] = "--override";
        args[n++] = extra[i];
    }
    args[n] = NULL;
    kb_start(c->b[id], args);
    return c->b[id];
}

KT_FN struct kb_broker *kcl_start(struct kcl *c, int id, const char *const *extra)
{
    return kcl_start_at(c, id, NULL, extra);
}

/* Metadata v12 from b for topic (NULL: every topic; auto-create off). Free with
 * kp_response_fini. */
KT_FN struct kp_metadata_resp *kcl_metadata(const struct kb_broker *b, const char *topic,
                                            bool create, uint8_t *buf, size_t cap,
                                            struct kp_response *resp)
{
    struct kp_arena a;
    kp_arena_init(&a, 0);
    struct kp_metadata_req *r = KT_NEW(&a, kp_metadata_req, 1);
    r->allow_auto_topic_creation = create;
    if (topic) {
        struct kp_metadata_req_topic *t = KT_NEW(&a, kp_metadata_req_topic, 1);
        t->name = kp_slice_str(topic);
        KP_SET(r->topics, 1, t);
    } else {
        r->topics.n = -1; /* null: all */
    }
    int fd = kb_connect(b);
    struct kp_metadata_resp *m = kt_call(fd, KP_API_METADATA, 12, r, buf, cap, resp);
    close(fd);
    kp_arena_fini(&a);
    return m;
}

/* The partition p of the only topic of m, or NULL. */
KT_FN const struct kp_metadata_resp_partition *kcl_part(const struct kp_metadata_resp *m,
                                                        int32_t p)
{
    if (m->topics.n != 1 || m->topics.v[0].error_code != 0)
        return NULL;
    for (int32_t i = 0; i < m->topics.v[0].partitions.n; i++)
        if (m->topics.v[0].partitions.v[i].partition_index == p)
            return &m->topics.v[0].partitions.v[i];
    return NULL;
}

/* Does b's Metadata list n live brokers and a controller? */
/* CreateTopics v7 of one topic through b: its error code (on 0, the answer's partitions
 * and replication factor are checked). */
KT_FN int16_t kcl_create_topic(const struct kb_broker *b, const char *name, int32_t parts,
                               int16_t rf)
{
    uint8_t buf[1 << 14];
    struct kp_arena a;
    struct kp_response resp;
    kp_arena_init(&a, 0);
    struct kp_create_topics_req *r = KT_NEW(&a, kp_create_topics_req, 1);
    struct kp_create_topics_req_creatable_topic *t =
        KT_NEW(&a, kp_create_topics_req_creatable_topic, 1);
    t->name = kp_slice_str(name);
    t->num_partitions = parts;
    t->replication_factor = rf;
    KP_SET(r->topics, 1, t);
    r->timeout_ms = KB_WAIT_MS;
    int fd = kb_connect(b);
    struct kp_create_topics_resp *m = kt_call(fd, KP_API_CREATE_TOPICS, 7, r, buf, sizeof(buf),
                                              &resp);
    close(fd);
    assert_int_equal(m->topics.n, 1);
    int16_t err = m->topics.v[0].error_code;
    if (err == 0) {
        assert_int_equal(m->topics.v[0].num_partitions, parts);
        assert_int_equal(m->topics.v[0].replication_factor, rf);
    }
    kp_response_fini(&resp);
    kp_arena_fini(&a);
    return err;
}

struct kcl_until_brokers {
    const struct kb_broker *b;
    int n;
};

KT_FN bool kcl_has_brokers(void *arg)
{
    struct kcl_until_brokers *u = arg;
    static uint8_t buf[1 << 16];
    struct kp_response resp;
    struct kp_metadata_resp *m = kcl_metadata(u->b, NULL, false, buf, sizeof(buf), &resp);
    bool ok = m->brokers.n == u->n && m->controller_id >= 1;
    kp_response_fini(&resp);
    return ok;
}

/* Until every partition of topic, seen from b, has a leader and isr ISR members (n
 * partitions). */
struct kcl_until_topic {
    const struct kb_broker *b;
    const char *topic;
    int32_t n, isr;
};

KT_FN bool kcl_topic_ready(void *arg)
{
    struct kcl_until_topic *u = arg;
    static uint8_t buf[1 << 16];
    struct kp_response resp;
    struct kp_metadata_resp *m = kcl_metadata(u->b, u->topic, false, buf, sizeof(buf), &resp);
    bool ok = m->topics.n == 1 && m->topics.v[0].error_code == 0 &&
              m->topics.v[0].partitions.n == u->n;
    for (int32_t i = 0; ok && i < u->n; i++) {
        const struct kp_metadata_resp_partition *p = kcl_part(m, i);
        ok = p && p->error_code == 0 && p->leader_id >= 1 && p->isr_nodes.n == u->isr;
    }
    kp_response_fini(&resp);
    return ok;
}

/* Until brokers 1..n each see n live brokers and a controller. */
KT_FN void kcl_await_brokers(struct kcl *c, int n)
{
    for (int id = 1; id <= n; id++) {
        struct kcl_until_brokers u = {c->b[id], n};
        if (!kt_until(kcl_has_brokers, &u, KB_WAIT_MS))
            fail_msg("broker %d never listed %d brokers and a controller", id, n);
    }
}

/* Brokers 1..n started with the extra settings (NULL: none), once each sees them all. */
KT_FN void kcl_start_cluster(struct kcl *c, int n, const char *const *extra)
{
    for (int id = 1; id <= n; id++)
        kcl_start(c, id, extra);
    kcl_await_brokers(c, n);
}

/* Until brokers 1..n each see topic with `parts` partitions, each led, with isr members. */
KT_FN void kcl_await_topic(struct kcl *c, int n, const char *topic, int32_t parts, int32_t isr)
{
    for (int id = 1; id <= n; id++) {
        struct kcl_until_topic u = {c->b[id], topic, parts, isr};
        assert_true(kt_until(kcl_topic_ready, &u, KB_WAIT_MS));
    }
}

#endif
