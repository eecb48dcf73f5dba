/* test_zk_fencing.c - against a real ZooKeeper: two controllers for a moment (the old one,
 * frozen mid-write, is fenced by the controller epoch's znode version when it wakes); a
 * controller that dies half-way through an event written in several transactions (the next
 * one loads what landed and finishes) - a broker's loss, a topic's creation, its growth
 * (the partitions the assignment names without a state are written by the next one, and
 * the interrupted request answered as done); znodes holding JSON Kafka would not write (logged,
 * skipped, never a crash, and the controller keeps managing everything else). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#define THREADED
#include <zookeeper/zookeeper.h>

#include <errno.h>
#include <stdatomic.h>
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

static zhandle_t *raw(const struct fx_cluster *c)
{
    zhandle_t *zh = zookeeper_init(c->connect, NULL, 10000, NULL, NULL, 0);
    assert_non_null(zh);
    for (int i = 0; i < 2000 && zoo_state(zh) != ZOO_CONNECTED_STATE; i++)
        kc_sleep_ms(5);
    assert_int_equal(zoo_state(zh), ZOO_CONNECTED_STATE);
    return zh;
}

static bool controller_is(struct fx_cluster *c, void *arg)
{
    return fx_controller(c) == *(int32_t *)arg;
}

static bool other_controller(struct fx_cluster *c, void *arg)
{
    int32_t not = *(int32_t *)arg;
    for (int32_t id = 1; id <= FX_BROKERS; id++) {
        struct clu_status st;
        if (id == not || !c->b[id].cl)
            continue;
        clu_status(c->b[id].cl, &st);
        if (st.is_controller)
            return true;
    }
    return false;
}

/* ---- the zombie controller ---- */

struct freezer {
    atomic_int freeze, frozen, crash_at, crashed;
};

static bool hook(void *arg, int32_t broker, int multi)
{
    struct freezer *f = arg;
    (void)broker;
    if (atomic_load(&f->crash_at) && multi == atomic_load(&f->crash_at)) {
        atomic_store(&f->crashed, multi);
        return false;
    }
    if (atomic_load(&f->freeze)) {
        atomic_store(&f->frozen, 1);
        while (atomic_load(&f->freeze))
            kc_sleep_ms(1);
    }
    return true;
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

static void wait_all_live(struct fx_cluster *c, int32_t observer, int n)
{
    for (int i = 0; i < 4000; i++) {
        fx_poll(c);
        int seen = 0;
        for (int32_t id = 1; id <= n; id++)
            seen += c->b[observer].live[id];
        if (seen == n)
            return;
        kc_sleep_ms(5);
    }
    fail_msg("broker %d does not see %d live brokers", (int)observer, n);
}

static void test_zombie_controller_write_fenced(void **state)
{
    (void)state;
    struct fx_cluster c;
    struct freezer f = {0};
    struct clu_test_hooks hooks = {.before_write = hook, .arg = &f};
    fx_init(&c, &zk, "zombie", SESSION_MS);
    c.cfg.hooks = &hooks; /* only broker 1, the first controller, gets them */
    assert_int_equal(fx_open(&c, 1), 0);
    int32_t one = 1;
    assert_true(fx_wait(&c, controller_is, &one, WAIT_MS));
    c.cfg.hooks = NULL;
    assert_int_equal(fx_open(&c, 2), 0);
    assert_int_equal(fx_open(&c, 3), 0);
    wait_all_live(&c, 1, 3);
    int32_t e1 = c.b[1].controller_epoch;

    /* Freeze the controller inside a write: an ISR proposal it decided but has not written. */
    int64_t id = clu_topic_create(c.b[2].cl, "z", 3, 3, NULL, 0);
    assert_int_equal(fx_answer(&c, 2, id, WAIT_MS).error, 0);
    struct topic_arg t = {"z", 3};
    assert_true(fx_wait(&c, all_know_topic, &t, WAIT_MS));
    int32_t zp = 0; /* a partition another broker leads: the zombie's thread will be frozen */
    while (fx_part(&c, 2, "z", zp)->ps.leader == 1)
        zp++;
    struct fx_part cur = *fx_part(&c, 2, "z", zp);
    int32_t L = cur.ps.leader;
    struct repl_isr_change ch = {.leader = L,
                                 .leader_epoch = cur.ps.leader_epoch,
                                 .partition_epoch = cur.ps.partition_epoch,
                                 .nisr = 1,
                                 .isr = {L}};
    atomic_store(&f.freeze, 1);
    id = clu_propose_isr(c.b[L].cl, "z", zp, &ch);
    for (int i = 0; i < 4000 && !atomic_load(&f.frozen); i++)
        kc_sleep_ms(5);
    assert_true(atomic_load(&f.frozen));

    /* Meanwhile the cluster elects another controller (an operator deletes /controller,
     * as Kafka's documentation suggests to move it). Broker 1 still believes it leads. */
    zhandle_t *zh = raw(&c);
    assert_int_equal(zoo_delete(zh, "/controller", -1), ZOK);
    assert_true(fx_wait(&c, other_controller, &one, WAIT_MS));
    struct clu_status st;
    clu_status(c.b[1].cl, &st);
    assert_true(st.is_controller); /* two controllers, for a moment */

    /* The new one answers the proposal (it is pending, unanswered), at epoch e1 + 1. */
    struct clu_answer a = fx_answer(&c, L, id, WAIT_MS);
    assert_int_equal(a.error, 0);
    assert_int_equal(a.state.controller_epoch, e1 + 1);
    assert_int_equal(a.state.partition_epoch, cur.ps.partition_epoch + 1);

    /* The zombie wakes up and writes: the epoch check fails, it resigns. */
    struct kc_test_capture cap;
    kc_test_capture_start(&cap);
    atomic_store(&f.freeze, 0);
    for (int i = 0; i < 4000; i++) {
        clu_status(c.b[1].cl, &st);
        if (!st.is_controller)
            break;
        kc_sleep_ms(5);
    }
    kc_sleep_ms(50);
    char *log = kc_test_capture_stop(&cap);
    assert_false(st.is_controller);
    assert_int_equal(kc_test_count_lines(log, "deposed: /controller_epoch moved on"), 1);
    free(log);

    /* Nothing of the zombie's landed: the state is the new controller's, written once. */
    char buf[512];
    int len = sizeof(buf) - 1;
    struct Stat zs;
    char path[64];
    snprintf(path, sizeof(path), "/brokers/topics/z/partitions/%d/state", (int)zp);
    assert_int_equal(zoo_get(zh, path, 0, buf, &len, &zs), ZOK);
    buf[len] = '\0';
    assert_int_equal(zs.version, cur.ps.partition_epoch + 1);
    struct repl_pstate ps = {0};
    assert_int_equal(clu_pstate_decode(buf, (size_t)len, &ps), 0);
    assert_int_equal(ps.controller_epoch, e1 + 1);
    zookeeper_close(zh);
    fx_fini(&c);
}

/* ---- the controller that dies half-way ---- */

struct final_arg {
    const char *topic;
    int32_t parts, dead1, dead2;
};

static bool finished(struct fx_cluster *c, void *arg)
{
    const struct final_arg *a = arg;
    for (int32_t id = 1; id <= FX_BROKERS; id++)
        for (int32_t p = 0; c->b[id].cl && p < a->parts; p++) {
            const struct fx_part *fp = fx_part(c, id, a->topic, p);
            if (!fp || fp->ps.leader < 0 || fp->ps.leader == a->dead1 || fp->ps.leader == a->dead2)
                return false;
            for (int i = 0; fp->ps.nisr > 1 && i < fp->ps.nisr; i++)
                if (fp->ps.isr[i] == a->dead1 || fp->ps.isr[i] == a->dead2)
                    return false;
        }
    return true;
}

static void test_controller_crash_midway_next_finishes(void **state)
{
    (void)state;
    struct fx_cluster c;
    struct freezer f = {0};
    struct clu_test_hooks hooks = {.before_write = hook, .arg = &f};
    fx_init(&c, &zk, "midway", SESSION_MS);
    c.cfg.hooks = &hooks;
    c.cfg.max_ops_per_multi = 1; /* one partition per transaction */
    assert_int_equal(fx_open(&c, 1), 0);
    int32_t one = 1;
    assert_true(fx_wait(&c, controller_is, &one, WAIT_MS));
    c.cfg.hooks = NULL;
    for (int32_t id = 2; id <= 4; id++)
        assert_int_equal(fx_open(&c, id), 0);
    wait_all_live(&c, 1, 4);
    int64_t id = clu_topic_create(c.b[2].cl, "m", 4, 3, NULL, 0);
    assert_int_equal(fx_answer(&c, 2, id, WAIT_MS).error, 0);
    struct topic_arg t = {"m", 4};
    assert_true(fx_wait(&c, all_know_topic, &t, WAIT_MS));
    int touched = 0; /* partitions broker 3 is in: its loss changes each of them */
    for (int32_t p = 0; p < 4; p++)
        touched += repl_pstate_in_isr(&fx_part(&c, 2, "m", p)->ps, 3);
    assert_true(touched >= 2);

    /* Broker 3 goes; the controller writes the first of `touched` transactions and dies. */
    atomic_store(&f.crash_at, 2);
    fx_close(&c, 3);
    for (int i = 0; i < 4000 && !atomic_load(&f.crashed); i++)
        kc_sleep_ms(5);
    assert_int_equal(atomic_load(&f.crashed), 2);

    /* The next controller finds brokers 1 and 3 gone and finishes the job. */
    assert_true(fx_wait(&c, other_controller, &one, WAIT_MS));
    fx_close(&c, 1);
    struct final_arg fa = {"m", 4, 1, 3};
    assert_true(fx_wait(&c, finished, &fa, WAIT_MS));
    /* Versions are partition epochs throughout, and the views agree with the znodes. */
    zhandle_t *zh = raw(&c);
    for (int32_t p = 0; p < 4; p++) {
        char path[96];
        struct Stat zs;
        snprintf(path, sizeof(path), "/brokers/topics/m/partitions/%d/state", (int)p);
        int64_t end = kc_mono_ms() + WAIT_MS;
        do {
            fx_poll(&c);
            assert_int_equal(zoo_exists(zh, path, 0, &zs), ZOK);
        } while (fx_part(&c, 2, "m", p)->ps.partition_epoch != zs.version && kc_mono_ms() < end);
        assert_int_equal(fx_part(&c, 2, "m", p)->ps.partition_epoch, zs.version);
        assert_int_equal(fx_part(&c, 4, "m", p)->ps.partition_epoch, zs.version);
    }
    zookeeper_close(zh);
    fx_fini(&c);
}

/* The controller (broker 1) dies before transaction `crash_at` of a creation (grow false:
 * 6 partitions) or of a growth (grow true: 2 -> 6); broker 2 asked. The next controller
 * writes the partitions left without a state and answers the request as done. */
static void crash_mid_topic_event(bool grow, int crash_at)
{
    struct fx_cluster c;
    struct freezer f = {0};
    struct clu_test_hooks hooks = {.before_write = hook, .arg = &f};
    fx_init(&c, &zk, grow ? "midgrow" : "midcreate", SESSION_MS);
    c.cfg.hooks = &hooks;
    c.cfg.max_ops_per_multi = 2; /* the topic's first unit alone, then a partition each */
    assert_int_equal(fx_open(&c, 1), 0);
    int32_t one = 1;
    assert_true(fx_wait(&c, controller_is, &one, WAIT_MS));
    c.cfg.hooks = NULL;
    for (int32_t id = 2; id <= 3; id++)
        assert_int_equal(fx_open(&c, id), 0);
    wait_all_live(&c, 1, 3);
    int64_t id;
    if (grow) {
        id = clu_topic_create(c.b[2].cl, "half", 2, 2, NULL, 0);
        assert_int_equal(fx_answer(&c, 2, id, WAIT_MS).error, 0);
        struct topic_arg t0 = {"half", 2};
        assert_true(fx_wait(&c, all_know_topic, &t0, WAIT_MS));
    }
    atomic_store(&f.crash_at, crash_at);
    id = grow ? clu_partitions_create(c.b[2].cl, "half", 6)
              : clu_topic_create(c.b[2].cl, "half", 6, 2, NULL, 0);
    for (int i = 0; i < 4000 && !atomic_load(&f.crashed); i++)
        kc_sleep_ms(5);
    assert_int_equal(atomic_load(&f.crashed), crash_at);
    /* The next controller: the rest written, the request answered as done. */
    assert_true(fx_wait(&c, other_controller, &one, WAIT_MS));
    fx_close(&c, 1);
    struct clu_answer a = fx_answer(&c, 2, id, WAIT_MS);
    assert_int_equal(a.error, 0);
    struct final_arg fa = {"half", 6, 1, 1};
    assert_true(fx_wait(&c, finished, &fa, WAIT_MS));
    zhandle_t *zh = raw(&c);
    for (int32_t p = 0; p < 6; p++) {
        char path[96];
        struct Stat zs;
        snprintf(path, sizeof(path), "/brokers/topics/half/partitions/%d/state", (int)p);
        assert_int_equal(zoo_exists(zh, path, 0, &zs), ZOK);
    }
    zookeeper_close(zh);
    fx_fini(&c);
}

static void test_controller_crash_mid_creation_next_finishes(void **state)
{
    (void)state;
    crash_mid_topic_event(false, 3); /* the topic and partition 0 landed */
}

static void test_controller_crash_mid_growth_next_finishes(void **state)
{
    (void)state;
    crash_mid_topic_event(true, 2); /* the assignment landed, no new state */
}

/* ---- bodies Kafka would not write ---- */

static void test_bad_json_in_znodes_skipped(void **state)
{
    (void)state;
    struct fx_cluster c;
    fx_init(&c, &zk, "badjson", SESSION_MS);
    for (int32_t id = 1; id <= 2; id++)
        assert_int_equal(fx_open(&c, id), 0);
    int32_t two = 2;
    wait_all_live(&c, 1, 2);
    int64_t id = clu_topic_create(c.b[1].cl, "good", 2, 2, NULL, 0);
    assert_int_equal(fx_answer(&c, 1, id, WAIT_MS).error, 0);
    struct topic_arg t = {"good", 2};
    assert_true(fx_wait(&c, all_know_topic, &t, WAIT_MS));

    struct kc_test_capture cap;
    kc_test_capture_start(&cap);
    zhandle_t *zh = raw(&c);
    /* A topic written by something else, in broken JSON; a broker registration likewise;
     * and a damaged state of a good topic. */
    static const char bad_topic[] = "{\"version\":3,\"partitions\":{\"0\":[1,2]";
    static const char bad_broker[] = "{\"version\":5,";
    assert_int_equal(zoo_create(zh, "/brokers/topics/bad", bad_topic, (int)strlen(bad_topic),
                                &ZOO_OPEN_ACL_UNSAFE, 0, NULL, 0),
                     ZOK);
    assert_int_equal(zoo_create(zh, "/brokers/ids/5", bad_broker, (int)strlen(bad_broker),
                                &ZOO_OPEN_ACL_UNSAFE, ZOO_EPHEMERAL, NULL, 0),
                     ZOK);
    assert_int_equal(zoo_set(zh, "/brokers/topics/good/partitions/1/state", "[1,2]", 5, -1), ZOK);
    kc_sleep_ms(300);
    fx_poll(&c);
    /* The controller moves (its session closes): the next one loads around the damage. */
    int32_t ctl = fx_controller(&c);
    assert_true(ctl > 0);
    int32_t other = ctl == 1 ? 2 : 1;
    fx_close(&c, ctl);
    assert_true(fx_wait(&c, controller_is, &other, WAIT_MS));
    (void)two;
    kc_sleep_ms(300);
    char *log = kc_test_capture_stop(&cap);
    assert_true(kc_test_count_lines(log, "/brokers/topics/bad does not hold an assignment") >= 1);
    assert_true(kc_test_count_lines(log, "/brokers/ids/5 does not hold a broker registration") >=
                1);
    assert_true(
        kc_test_count_lines(log, "good/partitions/1/state does not hold a partition state") >= 1);
    assert_true(kc_test_count_lines(log, "topic good is not managed") >= 1);
    free(log);

    /* The controller still works for everything else. */
    id = clu_topic_create(c.b[other].cl, "after", 1, 1, NULL, 0);
    assert_int_equal(fx_answer(&c, other, id, WAIT_MS).error, 0);
    id = clu_topic_create(c.b[other].cl, "bad", 1, 1, NULL, 0);
    assert_int_equal(fx_answer(&c, other, id, WAIT_MS).error, REPL_TOPIC_ALREADY_EXISTS);
    /* A proposal for the unmanaged topic is refused, not crashed on. */
    struct repl_isr_change ch = {.leader = other, .nisr = 1, .isr = {other}};
    id = clu_propose_isr(c.b[other].cl, "good", 1, &ch);
    assert_int_equal(fx_answer(&c, other, id, WAIT_MS).error, REPL_UNKNOWN_TOPIC_OR_PARTITION);
    zookeeper_close(zh);
    fx_fini(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_zombie_controller_write_fenced),
        cmocka_unit_test(test_controller_crash_midway_next_finishes),
        cmocka_unit_test(test_controller_crash_mid_creation_next_finishes),
        cmocka_unit_test(test_controller_crash_mid_growth_next_finishes),
        cmocka_unit_test(test_bad_json_in_znodes_skipped),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
