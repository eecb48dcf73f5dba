/* test_zk_pids.c - producer id blocks on a real ZooKeeper (clu_pids.h): the first claim
 * creates /latest_producer_id_block with 0..999; four claimers racing from their own
 * sessions never get overlapping blocks (the conditional write and the create race);
 * a body that is not Kafka's is refused, never guessed past; and the pids thread hands
 * out increasing ids across several blocks, and answers -EAGAIN at once (not after a
 * ZooKeeper timeout) while ZooKeeper is paused, then ids again after it resumes (past the
 * session timeout: on a new session). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#define THREADED
#include <zookeeper/zookeeper.h>

#include "clu_pids.h"
#include "clu_zks.h"
#include "kc_common.h"
#include "kc_test.h"

#define SESSION_MS 2000
#define CLAIMERS   4
#define CLAIMS     25 /* blocks per claimer */

static struct clu_zks zk;

static int group_setup(void **state)
{
    (void)state;
    kc_log_set_level(KC_LOG_ERROR);
    return clu_zks_start(&zk);
}

static int group_teardown(void **state)
{
    (void)state;
    clu_zks_destroy(&zk);
    return 0;
}

static void quiet(zhandle_t *zh, int type, int st, const char *path, void *ctx)
{
    (void)zh, (void)type, (void)st, (void)path, (void)ctx;
}

/* A connected handle in chroot (created here). */
static zhandle_t *connect_in(const char *chroot)
{
    char hosts[256];
    zoo_set_debug_level(0);
    zhandle_t *zh = zookeeper_init(zk.hosts, quiet, SESSION_MS, NULL, NULL, 0);
    assert_non_null(zh);
    for (int i = 0; i < 500 && zoo_state(zh) != ZOO_CONNECTED_STATE; i++)
        usleep(10000);
    int rc = zoo_create(zh, chroot, NULL, -1, &ZOO_OPEN_ACL_UNSAFE, 0, NULL, 0);
    assert_true(rc == ZOK || rc == ZNODEEXISTS);
    zookeeper_close(zh);
    snprintf(hosts, sizeof(hosts), "%s%s", zk.hosts, chroot);
    zh = zookeeper_init(hosts, quiet, SESSION_MS, NULL, NULL, 0);
    assert_non_null(zh);
    for (int i = 0; i < 500 && zoo_state(zh) != ZOO_CONNECTED_STATE; i++)
        usleep(10000);
    assert_int_equal(zoo_state(zh), ZOO_CONNECTED_STATE);
    return zh;
}

struct claimer {
    pthread_t t;
    int32_t broker;
    const char *chroot;
    struct clu_pids_block got[CLAIMS];
    int n, errors;
};

static void *claim_main(void *arg)
{
    struct claimer *c = arg;
    zhandle_t *zh = connect_in(c->chroot);
    while (c->n < CLAIMS) {
        if (clu_pids_claim(zh, c->broker, &c->got[c->n]) == 0)
            c->n++;
        else if (++c->errors > 100)
            break;
    }
    zookeeper_close(zh);
    return NULL;
}

static int by_start(const void *a, const void *b)
{
    const struct clu_pids_block *x = a, *y = b;
    return x->start < y->start ? -1 : x->start > y->start;
}

static void test_pids_claim_racing_brokers_disjoint_blocks(void **state)
{
    (void)state;
    struct claimer c[CLAIMERS];
    struct clu_pids_block all[CLAIMERS * CLAIMS];
    int n = 0;
    for (int i = 0; i < CLAIMERS; i++) {
        memset(&c[i], 0, sizeof(c[i]));
        c[i].broker = i + 1;
        c[i].chroot = "/race";
        assert_int_equal(pthread_create(&c[i].t, NULL, claim_main, &c[i]), 0);
    }
    for (int i = 0; i < CLAIMERS; i++) {
        pthread_join(c[i].t, NULL);
        assert_int_equal(c[i].n, CLAIMS);
        for (int j = 0; j < CLAIMS; j++) {
            assert_int_equal(c[i].got[j].broker, c[i].broker);
            all[n++] = c[i].got[j];
        }
    }
    qsort(all, (size_t)n, sizeof(all[0]), by_start);
    assert_int_equal(all[0].start, 0); /* the node was created with Kafka's first block */
    for (int i = 0; i < n; i++) {
        assert_int_equal(all[i].end - all[i].start + 1, CLU_PIDS_BLOCK_SIZE);
        if (i > 0) /* disjoint, and here contiguous: nobody wasted a block */
            assert_int_equal(all[i].start, all[i - 1].end + 1);
    }
    printf("# %d claimers: %d blocks, [0, %lld], none shared\n", CLAIMERS, n,
           (long long)all[n - 1].end);
}

static void test_pids_claim_foreign_body_malformed(void **state)
{
    (void)state;
    zhandle_t *zh = connect_in("/foreign");
    const char *body = "{\"version\":1,\"broker\":1,\"block_start\":\"0\"}";
    assert_int_equal(
        zoo_create(zh, CLU_PIDS_PATH, body, (int)strlen(body), &ZOO_OPEN_ACL_UNSAFE, 0, NULL, 0),
        ZOK);
    struct clu_pids_block b;
    assert_int_equal(clu_pids_claim(zh, 1, &b), KC_EMALFORMED);
    char buf[256];
    int len = sizeof(buf);
    assert_int_equal(zoo_get(zh, CLU_PIDS_PATH, 0, buf, &len, NULL), ZOK);
    assert_int_equal(len, (int)strlen(body)); /* left as it was */
    zookeeper_close(zh);
}

/* Take ids until `want` or -EAGAIN lasts `ms`; the ids, increasing, into out. */
static int take(struct clu_pids *p, int64_t *out, int want, int ms)
{
    int n = 0;
    int64_t since = 0;
    while (n < want) {
        if (clu_pids_next(p, &out[n]) == 0) {
            if (n > 0)
                assert_true(out[n] > out[n - 1]);
            n++;
            since = 0;
            continue;
        }
        if (!since)
            since = kc_mono_ms();
        else if (kc_mono_ms() - since > ms)
            break;
        usleep(1000);
    }
    return n;
}

static void test_pids_thread_refills_and_refuses_while_paused(void **state)
{
    (void)state;
    zhandle_t *zh = connect_in("/thread"); /* makes the chroot */
    zookeeper_close(zh);
    char connect[256];
    snprintf(connect, sizeof(connect), "%s/thread", zk.hosts);
    struct clu_pids *p;
    assert_int_equal(clu_pids_open(connect, SESSION_MS, 7, &p), 0);
    static int64_t ids[4000];
    assert_int_equal(take(p, ids, 2500, 5000), 2500); /* three blocks */
    assert_int_equal(ids[0], 0);
    assert_int_equal(ids[2499], 2499);
    clu_zks_pause(&zk, true);
    int n = take(p, ids, 4000, 500); /* what was prefetched, then nothing */
    int64_t t0 = kc_mono_ms();
    int64_t id;
    int rc = clu_pids_next(p, &id);
    int64_t refuse_ms = kc_mono_ms() - t0;
    usleep(3 * SESSION_MS * 1000); /* past the session timeout: ZooKeeper expires it */
    clu_zks_pause(&zk, false);
    assert_true(n <= 1500);
    assert_int_equal(rc, -EAGAIN);
    /* no network wait: a call that waited on the paused ZooKeeper would take the whole
     * session (2 s); the bound leaves room for a loaded machine or a sanitizer */
    assert_true(refuse_ms < SESSION_MS / 4);
    assert_true(take(p, ids, 10, 30000) == 10); /* back, a new session if it expired */
    assert_true(ids[0] >= 3000);
    printf("# paused: %d more ids, then -EAGAIN in %lld ms; resumed at %lld\n", n,
           (long long)refuse_ms, (long long)ids[0]);
    clu_pids_close(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pids_claim_racing_brokers_disjoint_blocks),
        cmocka_unit_test(test_pids_claim_foreign_body_malformed),
        cmocka_unit_test(test_pids_thread_refills_and_refuses_while_paused),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
