/*
 * clu_fixture.c - several cluster members in one test (clu_fixture.h).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "clu_fixture.h"
#include "kc_common.h"

void fx_init(struct fx_cluster *c, struct clu_zks *zk, const char *chroot, int session_ms)
{
    memset(c, 0, sizeof(*c));
    c->zk = zk;
    c->session_ms = session_ms;
    clu_zks_connect(zk, chroot, c->connect, sizeof(c->connect));
    c->cfg.zk_connect = c->connect;
    c->cfg.session_timeout_ms = session_ms;
    c->cfg.connect_timeout_ms = 10000;
    c->cfg.request_timeout_ms = 15000;
}

int fx_open(struct fx_cluster *c, int32_t id)
{
    char listeners[64];
    assert_true(id >= 1 && id <= FX_BROKERS);
    assert_null(c->b[id].cl);
    snprintf(listeners, sizeof(listeners), "PLAINTEXT://127.0.0.1:%d", 19090 + id);
    struct clu_config cfg = c->cfg;
    cfg.broker_id = id;
    cfg.listeners = listeners;
    struct fx_broker *b = &c->b[id];
    memset(b, 0, sizeof(*b));
    b->id = id;
    b->controller_id = -1;
    return clu_open(&cfg, &b->cl);
}

void fx_close(struct fx_cluster *c, int32_t id)
{
    clu_close(c->b[id].cl);
    c->b[id].cl = NULL;
}

void fx_fini(struct fx_cluster *c)
{
    for (int32_t id = 1; id <= FX_BROKERS; id++)
        fx_close(c, id);
}

/* ---- the callbacks: what each broker believes ---- */

static void on_session(void *arg, bool up, int64_t epoch)
{
    struct fx_broker *b = arg;
    if (up) {
        b->ups++;
        b->epoch = epoch;
    } else {
        b->downs++;
    }
}

static void on_controller(void *arg, int32_t id, int32_t epoch, bool self)
{
    struct fx_broker *b = arg;
    b->controller_id = id;
    b->controller_epoch = epoch;
    b->self_controller = self;
}

static void on_broker(void *arg, const struct clu_broker_note *n)
{
    struct fx_broker *b = arg;
    if (n->id >= 1 && n->id <= FX_BROKERS)
        b->live[n->id] = n->live;
}

static void on_topic(void *arg, const struct clu_topic_note *t)
{
    struct fx_broker *b = arg;
    b->topics++;
    size_t at = (size_t)snprintf(b->topic_config, sizeof(b->topic_config), "%s", t->name);
    for (int i = 0; i < t->nconfig && at < sizeof(b->topic_config); i++)
        at += (size_t)snprintf(b->topic_config + at, sizeof(b->topic_config) - at, " %s=%s",
                               t->config[i].key, t->config[i].value);
}

static void on_partition(void *arg, const struct clu_partition_note *n)
{
    struct fx_broker *b = arg;
    struct fx_part *p = NULL;
    for (int i = 0; i < b->nparts && !p; i++)
        if (strcmp(b->parts[i].topic, n->topic) == 0 && b->parts[i].partition == n->partition)
            p = &b->parts[i];
    if (!p) {
        assert_true(b->nparts < FX_PARTS);
        p = &b->parts[b->nparts++];
        strlcpy(p->topic, n->topic, sizeof(p->topic));
        p->partition = n->partition;
    } else if (n->role != CLU_ROLE_DELETED) {
        /* the view never goes backwards (a state may be re-announced after a new session) */
        assert_true(n->ps->leader_epoch >= p->ps.leader_epoch || p->role == CLU_ROLE_DELETED);
    }
    p->role = n->role;
    p->ps = *n->ps;
}

static void on_answer(void *arg, const struct clu_answer *a)
{
    struct fx_broker *b = arg;
    assert_true(b->nanswers < FX_ANSWERS);
    b->answers[b->nanswers++] = *a;
}

static const struct clu_callbacks callbacks = {
    .on_session = on_session,
    .on_controller = on_controller,
    .on_broker = on_broker,
    .on_topic = on_topic,
    .on_partition = on_partition,
    .on_answer = on_answer,
};

void fx_poll(struct fx_cluster *c)
{
    for (int32_t id = 1; id <= FX_BROKERS; id++)
        if (c->b[id].cl && clu_poll(c->b[id].cl, &callbacks, &c->b[id]) > 0)
            c->b[id].last_note_ms = kc_mono_ms();
}

bool fx_wait(struct fx_cluster *c, bool (*pred)(struct fx_cluster *, void *), void *arg,
             int timeout_ms)
{
    int64_t end = kc_mono_ms() + timeout_ms;
    for (;;) {
        fx_poll(c);
        if (pred(c, arg))
            return true;
        if (kc_mono_ms() >= end)
            return false;
        kc_sleep_ms(2);
    }
}

struct clu_answer fx_answer(struct fx_cluster *c, int32_t bid, int64_t id, int timeout_ms)
{
    int64_t end = kc_mono_ms() + timeout_ms;
    struct fx_broker *b = &c->b[bid];
    assert_true(id > 0);
    for (;;) {
        fx_poll(c);
        for (int i = 0; i < b->nanswers; i++)
            if (b->answers[i].id == id)
                return b->answers[i];
        if (kc_mono_ms() >= end)
            fail_msg("broker %d: no answer to request %lld in %d ms", (int)bid, (long long)id,
                     timeout_ms);
        kc_sleep_ms(2);
    }
}

const struct fx_part *fx_part(const struct fx_cluster *c, int32_t bid, const char *topic, int32_t p)
{
    const struct fx_broker *b = &c->b[bid];
    for (int i = 0; i < b->nparts; i++)
        if (strcmp(b->parts[i].topic, topic) == 0 && b->parts[i].partition == p)
            return &b->parts[i];
    return NULL;
}

int32_t fx_controller(struct fx_cluster *c)
{
    int32_t who = -1;
    for (int32_t id = 1; id <= FX_BROKERS; id++) {
        struct clu_status st;
        if (!c->b[id].cl)
            continue;
        clu_status(c->b[id].cl, &st);
        if (st.is_controller) {
            if (who != -1)
                return -1;
            who = id;
        }
    }
    return who;
}

bool fx_agree(struct fx_cluster *c, const char *topic, int32_t p, int32_t leader)
{
    for (int32_t id = 1; id <= FX_BROKERS; id++) {
        if (!c->b[id].cl)
            continue;
        const struct fx_part *fp = fx_part(c, id, topic, p);
        if (!fp || fp->role == CLU_ROLE_DELETED || fp->ps.leader != leader)
            return false;
    }
    return true;
}

void fx_expire(struct fx_cluster *c, int32_t bid)
{
    struct clu_status st;
    clu_status(c->b[bid].cl, &st);
    assert_int_equal(clu_zks_expire(c->zk, st.session_id, st.session_passwd), 0);
}
