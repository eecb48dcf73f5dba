/* test_zk_failover.c - against a real ZooKeeper: leaders move when a broker's session
 * ends; a broker whose session expired stops leading, registers again with a new epoch
 * and comes back as a follower; ISR proposals are accepted, fenced (stale partition epoch,
 * old leader epoch, not the leader) and idempotent on retry; controlled shutdown moves
 * leadership away and counts what it cannot move. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#define THREADED
#include <zookeeper/zookeeper.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "kc_common.h"
#include "kc_test.h"
#include "support/clu_fixture.h"

#define SESSION_MS 4000
#define WAIT_MS    20000

static struct clu_zks zk;

static int group_setup(void **state)
{
    (void)state;
    kc_log_set_level(KC_LOG_WARN);
    zoo_set_debug_level(ZOO_LOG_LEVEL_ERROR);
    return clu_zks_start(&zk);
}

static int group_teardown(void **state)
{
    (void)state;
    clu_zks_destroy(&zk);
    return 0;
}

struct topic_arg {
    const char *topic;
    int32_t parts;
};

static bool all_know_topic(struct fx_cluster *c, void *arg)
{
    const struct topic_arg *t = arg;
    for (int32_t id = 1; id <= FX_BROKERS; id++)
        for (int32_t p = 0; c->b[id].cl && p < t->parts; p++) {
            const struct fx_part *fp = fx_part(c, id, t->topic, p);
            if (!fp || fp->ps.leader < 0)
                return false;
        }
    return true;
}

static bool has_controller(struct fx_cluster *c, void *arg)
{
    (void)arg;
    return fx_controller(c) > 0;
}

/* n brokers and topic `topic` (parts, rf), everyone agreeing on it. */
static void start(struct fx_cluster *c, const char *chroot, int n, const char *topic, int32_t parts,
                  int rf)
{
    fx_init(c, &zk, chroot, SESSION_MS);
    for (int32_t id = 1; id <= n; id++)
        assert_int_equal(fx_open(c, id), 0);
    assert_true(fx_wait(c, has_controller, NULL, WAIT_MS));
    /* every broker must be registered with the controller before placement */
    for (int i = 0; i < 2000; i++) {
        fx_poll(c);
        int seen = 0;
        for (int32_t id = 1; id <= n; id++)
            seen += c->b[1].live[id];
        if (seen == n)
            break;
        kc_sleep_ms(5);
    }
    int64_t id = clu_topic_create(c->b[1].cl, topic, parts, rf, NULL, 0);
    assert_int_equal(fx_answer(c, 1, id, WAIT_MS).error, 0);
    struct topic_arg t = {topic, parts};
    assert_true(fx_wait(c, all_know_topic, &t, WAIT_MS));
}

struct lead_arg {
    const char *topic;
    int32_t p;
    int32_t not_leader; /* wait until the leader is someone else, and all agree */
    int32_t min_epoch;
};

static bool moved(struct fx_cluster *c, void *arg)
{
    const struct lead_arg *a = arg;
    int32_t leader = -2;
    for (int32_t id = 1; id <= FX_BROKERS; id++) {
        if (!c->b[id].cl)
            continue;
        const struct fx_part *fp = fx_part(c, id, a->topic, a->p);
        if (!fp || fp->ps.leader == a->not_leader || fp->ps.leader < 0 ||
            fp->ps.leader_epoch < a->min_epoch || (leader != -2 && fp->ps.leader != leader))
            return false;
        leader = fp->ps.leader;
    }
    return true;
}

/* The partition epoch is the state znode's version, from creation on: broker b's view
 * reaches every znode's version (the notes follow the writes by a watch round trip). */
static void check_versions(struct fx_cluster *c, int32_t b, const char *topic, int32_t parts)
{
    zhandle_t *zh = zookeeper_init(c->connect, NULL, 10000, NULL, NULL, 0);
    assert_non_null(zh);
    for (int i = 0; i < 2000 && zoo_state(zh) != ZOO_CONNECTED_STATE; i++)
        kc_sleep_ms(5);
    for (int32_t p = 0; p < parts; p++) {
        char path[128];
        struct Stat st;
        snprintf(path, sizeof(path), "/brokers/topics/%s/partitions/%d/state", topic, (int)p);
        int64_t end = kc_mono_ms() + WAIT_MS;
        do {
            fx_poll(c);
            assert_int_equal(zoo_exists(zh, path, 0, &st), ZOK);
        } while (fx_part(c, b, topic, p)->ps.partition_epoch != st.version && kc_mono_ms() < end &&
                 (kc_sleep_ms(5), 1));
        assert_int_equal(fx_part(c, b, topic, p)->ps.partition_epoch, st.version);
    }
    zookeeper_close(zh);
}

static void test_broker_lost_leaders_move(void **state)
{
    (void)state;
    struct fx_cluster c;
    start(&c, "lost", 3, "t", 3, 3);
    const struct fx_part *fp = fx_part(&c, 1, "t", 0);
    int32_t victim = fp->ps.leader, epoch = fp->ps.leader_epoch;
    fx_close(&c, victim); /* its session closes: registration and maybe /controller go */
    struct lead_arg a = {"t", 0, victim, epoch + 1};
    assert_true(fx_wait(&c, moved, &a, WAIT_MS));
    int32_t other = victim == 1 ? 2 : 1;
    fp = fx_part(&c, other, "t", 0);
    assert_int_equal(fp->ps.leader_epoch, epoch + 1);
    assert_false(repl_pstate_in_isr(&fp->ps, victim)); /* it left the ISR too */
    assert_int_equal(fp->ps.nisr, 2);
    assert_int_equal(fp->role, fp->ps.leader == other ? CLU_ROLE_LEADER : CLU_ROLE_FOLLOWER);
    /* No partition names the lost broker as leader, and versions = partition epochs. */
    for (int32_t p = 0; p < 3; p++) {
        struct lead_arg b = {"t", p, victim, 0};
        assert_true(fx_wait(&c, moved, &b, WAIT_MS));
    }
    check_versions(&c, other, "t", 3);
    fx_fini(&c);
}

struct epoch_arg {
    int32_t b;
    int64_t old_epoch;
};

static bool reregistered(struct fx_cluster *c, void *arg)
{
    const struct epoch_arg *a = arg;
    return c->b[a->b].downs >= 1 && c->b[a->b].epoch > a->old_epoch;
}

static void test_session_expiry_stops_leading_and_reregisters(void **state)
{
    (void)state;
    struct fx_cluster c;
    start(&c, "expiry", 3, "e", 3, 3);
    /* A broker that leads something and is not the controller. */
    int32_t ctl = fx_controller(&c), victim = -1, p0 = -1;
    for (int32_t p = 0; p < 3 && victim < 0; p++) {
        int32_t l = fx_part(&c, 1, "e", p)->ps.leader;
        if (l != ctl)
            victim = l, p0 = p;
    }
    assert_true(victim > 0);
    int64_t old_epoch = c.b[victim].epoch;
    int32_t old_le = fx_part(&c, victim, "e", p0)->ps.leader_epoch;
    int ups = c.b[victim].ups;
    fx_expire(&c, victim);
    struct epoch_arg ea = {victim, old_epoch};
    assert_true(fx_wait(&c, reregistered, &ea, WAIT_MS));
    assert_true(c.b[victim].ups > ups);
    /* Its leadership was taken while it was gone: it is told it follows now. */
    struct lead_arg a = {"e", p0, victim, old_le + 1};
    assert_true(fx_wait(&c, moved, &a, WAIT_MS));
    assert_int_equal(fx_part(&c, victim, "e", p0)->role, CLU_ROLE_FOLLOWER);
    struct clu_status st;
    clu_status(c.b[victim].cl, &st);
    assert_true(st.registered);
    assert_int_equal(st.sessions, 2);
    assert_int_equal(st.broker_epoch, c.b[victim].epoch);
    fx_fini(&c);
}

static struct repl_isr_change proposal(const struct fx_part *fp, const int32_t *isr, int n)
{
    struct repl_isr_change ch = {.leader = fp->ps.leader,
                                 .leader_epoch = fp->ps.leader_epoch,
                                 .partition_epoch = fp->ps.partition_epoch,
                                 .nisr = n};
    memcpy(ch.isr, isr, (size_t)n * sizeof(int32_t));
    return ch;
}

static struct clu_answer propose(struct fx_cluster *c, int32_t b, const char *topic, int32_t p,
                                 const struct repl_isr_change *ch)
{
    int64_t id = clu_propose_isr(c->b[b].cl, topic, p, ch);
    return fx_answer(c, b, id, WAIT_MS);
}

struct isr_arg {
    const char *topic;
    int32_t p, nisr, pe;
};

static bool isr_is(struct fx_cluster *c, void *arg)
{
    const struct isr_arg *a = arg;
    for (int32_t id = 1; id <= FX_BROKERS; id++) {
        const struct fx_part *fp = c->b[id].cl ? fx_part(c, id, a->topic, a->p) : NULL;
        if (c->b[id].cl && (!fp || fp->ps.nisr != a->nisr || fp->ps.partition_epoch != a->pe))
            return false;
    }
    return true;
}

static void test_isr_proposals_accepted_fenced_idempotent(void **state)
{
    (void)state;
    struct fx_cluster c;
    start(&c, "isr", 3, "i", 1, 3);
    struct fx_part cur = *fx_part(&c, 1, "i", 0);
    int32_t L = cur.ps.leader, f1 = cur.ps.replicas[1], f2 = cur.ps.replicas[2];
    int32_t shrunk[] = {L, f1}, full[] = {L, f1, f2};

    /* Accepted: the answer carries the committed state, partition epoch + 1. */
    struct repl_isr_change ch = proposal(&cur, shrunk, 2);
    struct clu_answer a = propose(&c, L, "i", 0, &ch);
    assert_int_equal(a.error, 0);
    assert_true(a.has_state);
    assert_int_equal(a.state.partition_epoch, cur.ps.partition_epoch + 1);
    assert_int_equal(a.state.nisr, 2);
    assert_int_equal(a.state.leader_epoch, cur.ps.leader_epoch); /* same leader, same epoch */
    struct isr_arg ia = {"i", 0, 2, cur.ps.partition_epoch + 1};
    assert_true(fx_wait(&c, isr_is, &ia, WAIT_MS));

    /* A retry of the same change (the answer was lost): accepted, the current state. */
    a = propose(&c, L, "i", 0, &ch);
    assert_int_equal(a.error, 0);
    assert_int_equal(a.state.partition_epoch, cur.ps.partition_epoch + 1);

    /* Based on an old state, different content: INVALID_UPDATE_VERSION. */
    ch = proposal(&cur, full, 3);
    assert_int_equal(propose(&c, L, "i", 0, &ch).error, REPL_INVALID_UPDATE_VERSION);

    /* From the current state: accepted. */
    cur = *fx_part(&c, L, "i", 0);
    ch = proposal(&cur, full, 3);
    assert_int_equal(propose(&c, L, "i", 0, &ch).error, 0);
    ia = (struct isr_arg){"i", 0, 3, cur.ps.partition_epoch + 1};
    assert_true(fx_wait(&c, isr_is, &ia, WAIT_MS));
    cur = *fx_part(&c, L, "i", 0);

    /* From a follower, naming itself as leader: INVALID_REQUEST (it does not lead). */
    ch = proposal(&cur, full, 3);
    ch.leader = f1;
    assert_int_equal(propose(&c, f1, "i", 0, &ch).error, REPL_INVALID_REQUEST);
    /* A broker that is no replica in the ISR, a member twice: INVALID_REQUEST. */
    int32_t dup[] = {L, L};
    ch = proposal(&cur, dup, 2);
    assert_int_equal(propose(&c, L, "i", 0, &ch).error, REPL_INVALID_REQUEST);
    /* An unknown partition. */
    ch = proposal(&cur, full, 3);
    assert_int_equal(propose(&c, L, "nope", 0, &ch).error, REPL_UNKNOWN_TOPIC_OR_PARTITION);

    /* The leader is replaced (it shuts down); its proposal from the old epoch is fenced. */
    struct repl_isr_change stale = proposal(&cur, shrunk, 2);
    int64_t id = clu_shutdown_begin(c.b[L].cl);
    assert_int_equal(fx_answer(&c, L, id, WAIT_MS).remaining, 0);
    struct lead_arg la = {"i", 0, L, cur.ps.leader_epoch + 1};
    assert_true(fx_wait(&c, moved, &la, WAIT_MS));
    assert_int_equal(propose(&c, L, "i", 0, &stale).error, REPL_FENCED_LEADER_EPOCH);
    check_versions(&c, f1, "i", 1);
    fx_fini(&c);
}

static bool left_broker2(struct fx_cluster *c, void *arg)
{
    (void)arg;
    for (int32_t p = 0; p < 6; p++) {
        const struct fx_part *fp = fx_part(c, 2, "s", p);
        if (fp->ps.leader == 2 || fp->ps.leader < 0 ||
            (fp->ps.nisr > 1 && repl_pstate_in_isr(&fp->ps, 2)))
            return false;
    }
    return true;
}

static void test_controlled_shutdown_moves_leadership(void **state)
{
    (void)state;
    struct fx_cluster c;
    start(&c, "shutdown", 3, "s", 6, 2);
    /* A single-replica topic led by broker 2: nobody else can take it, so it is not
     * waited for (not counted as remaining, Kafka's rule) and stays with broker 2. */
    int64_t id = clu_topic_create(c.b[1].cl, "solo", 3, 1, NULL, 0);
    assert_int_equal(fx_answer(&c, 1, id, WAIT_MS).error, 0);
    struct topic_arg t = {"solo", 3};
    assert_true(fx_wait(&c, all_know_topic, &t, WAIT_MS));
    int solo_led = 0, led = 0;
    for (int32_t p = 0; p < 3; p++)
        solo_led += fx_part(&c, 1, "solo", p)->ps.leader == 2;
    for (int32_t p = 0; p < 6; p++)
        led += fx_part(&c, 1, "s", p)->ps.leader == 2;
    assert_true(led > 0);

    id = clu_shutdown_begin(c.b[2].cl);
    struct clu_answer a = fx_answer(&c, 2, id, WAIT_MS);
    assert_int_equal(a.error, 0);
    assert_int_equal(a.kind, CLU_ANS_SHUTDOWN);
    assert_int_equal(a.remaining, 0);
    int solo_after = 0;
    for (int32_t p = 0; p < 3; p++)
        solo_after += fx_part(&c, 1, "solo", p)->ps.leader == 2;
    assert_int_equal(solo_after, solo_led);
    /* Every "s" partition it led has a new leader, and it left their ISRs. */
    assert_true(fx_wait(&c, left_broker2, NULL, WAIT_MS));
    for (int32_t p = 0; p < 6; p++)
        assert_true(fx_part(&c, 2, "s", p)->role != CLU_ROLE_LEADER);
    /* Asking again changes nothing and gives the same count. */
    id = clu_shutdown_begin(c.b[2].cl);
    a = fx_answer(&c, 2, id, WAIT_MS);
    assert_int_equal(a.error, 0);
    assert_int_equal(a.remaining, 0);
    check_versions(&c, 1, "s", 6);
    fx_fini(&c);
}

static void test_topic_delete_removes_everything(void **state)
{
    (void)state;
    struct fx_cluster c;
    start(&c, "delete", 2, "d", 2, 2);
    int64_t id = clu_topic_delete(c.b[2].cl, "d");
    struct clu_answer a = fx_answer(&c, 2, id, WAIT_MS);
    assert_int_equal(a.error, 0);
    assert_int_equal(a.kind, CLU_ANS_DELETE_TOPIC);
    for (int i = 0; i < 2000; i++) {
        fx_poll(&c);
        if (fx_part(&c, 1, "d", 1)->role == CLU_ROLE_DELETED)
            break;
        kc_sleep_ms(5);
    }
    assert_int_equal(fx_part(&c, 1, "d", 0)->role, CLU_ROLE_DELETED);
    assert_int_equal(fx_part(&c, 1, "d", 1)->role, CLU_ROLE_DELETED);
    zhandle_t *zh = zookeeper_init(c.connect, NULL, 10000, NULL, NULL, 0);
    for (int i = 0; i < 2000 && zoo_state(zh) != ZOO_CONNECTED_STATE; i++)
        kc_sleep_ms(5);
    struct Stat st;
    assert_int_equal(zoo_exists(zh, "/brokers/topics/d", 0, &st), ZNONODE);
    assert_int_equal(zoo_exists(zh, "/config/topics/d", 0, &st), ZNONODE);
    assert_int_equal(zoo_exists(zh, "/admin/delete_topics/d", 0, &st), ZNONODE);
    zookeeper_close(zh);
    /* Unknown now; and the name can be used again. */
    id = clu_topic_delete(c.b[2].cl, "d");
    assert_int_equal(fx_answer(&c, 2, id, WAIT_MS).error, REPL_UNKNOWN_TOPIC_OR_PARTITION);
    id = clu_topic_create(c.b[1].cl, "d", 1, 2, NULL, 0);
    assert_int_equal(fx_answer(&c, 1, id, WAIT_MS).error, 0);
    fx_fini(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_broker_lost_leaders_move),
        cmocka_unit_test(test_session_expiry_stops_leading_and_reregisters),
        cmocka_unit_test(test_isr_proposals_accepted_fenced_idempotent),
        cmocka_unit_test(test_controlled_shutdown_moves_leadership),
        cmocka_unit_test(test_topic_delete_removes_everything),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
