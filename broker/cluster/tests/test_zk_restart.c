/* test_zk_restart.c - ZooKeeper itself fails: restarted (the sessions survive: same
 * epochs, same controller) and paused longer than the session timeout (every session
 * expires at once when it resumes: every broker registers again, a new controller is
 * elected, and the cluster works as before). Each test checks the cluster still does its
 * job afterwards: a topic is created, a lost broker's leadership moves. */
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
#define WAIT_MS    30000

static struct clu_zks zk;

static int group_setup(void **state)
{
    (void)state;
    kc_log_set_level(KC_LOG_ERROR);
    zoo_set_debug_level((ZooLogLevel)0); /* the client library's reconnect noise: silent */
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
            if (!fp || fp->ps.leader < 0 || fp->role == CLU_ROLE_DELETED)
                return false;
        }
    return true;
}

static bool has_controller(struct fx_cluster *c, void *arg)
{
    (void)arg;
    return fx_controller(c) > 0;
}

static void dump(struct fx_cluster *c)
{
    for (int32_t id = 1; id <= FX_BROKERS; id++) {
        struct clu_status st;
        if (!c->b[id].cl)
            continue;
        clu_status(c->b[id].cl, &st);
        printf(
            "  broker %d: registered %d, controller %d (self %d), ups %d, downs %d, epoch %lld\n",
            (int)id, st.registered, (int)st.controller_id, st.is_controller, c->b[id].ups,
            c->b[id].downs, (long long)st.broker_epoch);
    }
}

static bool all_registered(struct fx_cluster *c, void *arg)
{
    (void)arg;
    for (int32_t id = 1; id <= FX_BROKERS; id++) {
        struct clu_status st;
        if (!c->b[id].cl)
            continue;
        clu_status(c->b[id].cl, &st);
        if (!st.registered || c->b[id].ups <= c->b[id].downs)
            return false;
    }
    return fx_controller(c) > 0;
}

static void start(struct fx_cluster *c, const char *chroot)
{
    fx_init(c, &zk, chroot, SESSION_MS);
    for (int32_t id = 1; id <= 3; id++)
        assert_int_equal(fx_open(c, id), 0);
    assert_true(fx_wait(c, has_controller, NULL, WAIT_MS));
    for (int i = 0; i < 4000; i++) {
        fx_poll(c);
        if (c->b[1].live[1] && c->b[1].live[2] && c->b[1].live[3])
            break;
        kc_sleep_ms(5);
    }
    int64_t id = clu_topic_create(c->b[1].cl, "before", 3, 3, NULL, 0);
    assert_int_equal(fx_answer(c, 1, id, WAIT_MS).error, 0);
    struct topic_arg t = {"before", 3};
    assert_true(fx_wait(c, all_know_topic, &t, WAIT_MS));
}

struct lead_arg {
    const char *topic;
    int32_t p, not_leader;
};

static bool moved(struct fx_cluster *c, void *arg)
{
    const struct lead_arg *a = arg;
    for (int32_t id = 1; id <= FX_BROKERS; id++) {
        const struct fx_part *fp = c->b[id].cl ? fx_part(c, id, a->topic, a->p) : NULL;
        if (c->b[id].cl && (!fp || fp->ps.leader < 0 || fp->ps.leader == a->not_leader))
            return false;
    }
    return true;
}

/* The cluster still works: a new topic, and a lost broker's leadership moves. */
static void still_works(struct fx_cluster *c, const char *topic)
{
    int32_t ctl = fx_controller(c);
    int32_t asker = ctl == 1 ? 2 : 1;
    int64_t id = clu_topic_create(c->b[asker].cl, topic, 3, 3, NULL, 0);
    assert_int_equal(fx_answer(c, asker, id, WAIT_MS).error, 0);
    struct topic_arg t = {topic, 3};
    assert_true(fx_wait(c, all_know_topic, &t, WAIT_MS));
    t = (struct topic_arg){"before", 3};
    assert_true(fx_wait(c, all_know_topic, &t, WAIT_MS)); /* the old topic is still whole */
    int32_t victim = fx_part(c, asker, topic, 0)->ps.leader;
    fx_close(c, victim);
    struct lead_arg a = {topic, 0, victim};
    assert_true(fx_wait(c, moved, &a, WAIT_MS));
}

static void test_zookeeper_restart_sessions_survive(void **state)
{
    (void)state;
    struct fx_cluster c;
    start(&c, "restart");
    int32_t ctl = fx_controller(&c), epoch = c.b[ctl].controller_epoch;
    int64_t epochs[4];
    for (int32_t id = 1; id <= 3; id++)
        epochs[id] = c.b[id].epoch;

    clu_zks_stop(&zk);
    kc_sleep_ms(500);
    assert_int_equal(clu_zks_start(&zk), 0); /* same port, same data directory */
    printf("ZooKeeper restarted in %lld ms\n", (long long)zk.last_start_ms);
    if (!fx_wait(&c, all_registered, NULL, WAIT_MS))
        dump(&c), fail();
    /* Sessions outlived the restart: same broker epochs, same controller and epoch. */
    for (int32_t id = 1; id <= 3; id++)
        assert_int_equal(c.b[id].epoch, epochs[id]);
    assert_int_equal(fx_controller(&c), ctl);
    fx_poll(&c);
    assert_int_equal(c.b[ctl].controller_epoch, epoch);
    still_works(&c, "after_restart");
    fx_fini(&c);
}

static void test_zookeeper_paused_past_session_timeout(void **state)
{
    (void)state;
    struct fx_cluster c;
    start(&c, "pause");
    int32_t ctl = fx_controller(&c), epoch = c.b[ctl].controller_epoch;
    int64_t epochs[4];
    int downs[4];
    for (int32_t id = 1; id <= 3; id++) {
        epochs[id] = c.b[id].epoch;
        downs[id] = c.b[id].downs;
    }
    clu_zks_pause(&zk, true);
    /* Cut off: after a third of the session timeout every broker is told to stop leading. */
    int64_t t0 = kc_mono_ms();
    for (;;) {
        fx_poll(&c);
        bool all = true;
        for (int32_t id = 1; id <= 3; id++)
            all &= c.b[id].downs > downs[id];
        if (all || kc_mono_ms() - t0 > SESSION_MS * 2)
            break;
        kc_sleep_ms(5);
    }
    int64_t told = kc_mono_ms() - t0;
    for (int32_t id = 1; id <= 3; id++)
        assert_true(c.b[id].downs > downs[id]);
    printf("ZooKeeper paused: every broker told to stop leading after %lld ms\n", (long long)told);
    kc_sleep_ms(SESSION_MS + 1000 - told);
    clu_zks_pause(&zk, false);
    if (!fx_wait(&c, all_registered, NULL, WAIT_MS))
        dump(&c), fail();
    /* On resume the server expires the overdue sessions, unless a client reconnects first
     * (its session is then revalidated): both happen, and both must converge. Every
     * broker whose session expired registered again with a newer epoch; if the
     * controller's did, the next one has a higher controller epoch. */
    int expired = 0;
    for (int32_t id = 1; id <= 3; id++) {
        assert_true(c.b[id].epoch >= epochs[id]);
        expired += c.b[id].epoch > epochs[id];
    }
    bool ctl_expired = c.b[ctl].epoch > epochs[ctl];
    int32_t now = fx_controller(&c);
    fx_poll(&c);
    printf("after the pause: %d of 3 sessions had expired; controller %d epoch %d (was %d, %d)\n",
           expired, (int)now, (int)c.b[now].controller_epoch, (int)ctl, (int)epoch);
    assert_true(ctl_expired ? c.b[now].controller_epoch > epoch
                            : c.b[now].controller_epoch >= epoch);
    still_works(&c, "after_pause");
    fx_fini(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_zookeeper_restart_sessions_survive),
        cmocka_unit_test(test_zookeeper_paused_past_session_timeout),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
