/*
 * clu.c - the API of the cluster module (clu.h): opening and closing, commands into the
 * cluster thread's inbox, notes out to the broker's thread, and the status snapshot.
 *
 * Two queues cross the thread boundary, both linked lists under a mutex:
 *
 *   API call ──clu_cmd──> inbox (in_lock, in_cond) ──> cluster thread
 *   cluster thread ──clu_note──> notes (note_lock, note_cond, eventfd) ──> clu_poll
 *
 * The eventfd is written when a note is queued and read (emptied) by clu_poll before it
 * takes the list, so a note queued during a poll leaves the fd readable: no lost wake-up.
 */
#include <assert.h>
#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "clu_int.h"
#include "kc_common.h"

static const char *const role_names[] = {"leader", "follower", "offline", "not a replica",
                                         "deleted"};

const char *clu_role_name(enum clu_role role)
{
    return (unsigned)role < KC_ARRAY_SIZE(role_names) ? role_names[role] : "unknown";
}

/* ---- notes ---- */

struct clu_note *clu__note_new(enum clu_note_type type)
{
    struct clu_note *n = calloc(1, sizeof(*n));
    if (n)
        n->type = type;
    return n;
}

void clu__note_free(struct clu_note *n)
{
    if (n && n->type == CLU_NOTE_TOPIC)
        free(n->u.topic.config);
    free(n);
}

void clu__note_push(struct clu *cl, struct clu_note *n)
{
    if (!n)
        return; /* out of memory: the next full resend repairs what was lost */
    uint64_t one = 1;
    pthread_mutex_lock(&cl->note_lock);
    n->next = NULL;
    *cl->note_tail = n;
    cl->note_tail = &n->next;
    pthread_cond_broadcast(&cl->note_cond);
    pthread_mutex_unlock(&cl->note_lock);
    /* A full counter (2^64 - 2 unread wake-ups) cannot happen; EAGAIN would be harmless. */
    (void)!write(cl->efd, &one, sizeof(one));
}

void clu__answer(struct clu *cl, const struct clu_cmd *cmd, int error, const struct clu_request *rq)
{
    static const enum clu_answer_kind kinds[] = {
        [CLU_CMD_ALTER_ISR] = CLU_ANS_ALTER_ISR,
        [CLU_CMD_CREATE_TOPIC] = CLU_ANS_CREATE_TOPIC,
        [CLU_CMD_DELETE_TOPIC] = CLU_ANS_DELETE_TOPIC,
        [CLU_CMD_SHUTDOWN] = CLU_ANS_SHUTDOWN,
        [CLU_CMD_TOPIC_CONFIG] = CLU_ANS_TOPIC_CONFIG,
        [CLU_CMD_CREATE_PARTITIONS] = CLU_ANS_CREATE_PARTITIONS,
        [CLU_CMD_ELECT_LEADERS] = CLU_ANS_ELECT_LEADERS,
    };
    struct clu_note *n = clu__note_new(CLU_NOTE_ANSWER);
    if (!n)
        return;
    struct clu_answer *a = &n->u.answer;
    a->id = cmd->id;
    a->kind = kinds[cmd->type];
    a->error = error;
    strlcpy(a->topic, cmd->topic, sizeof(a->topic));
    a->partition = cmd->partition;
    if (rq) {
        a->remaining = rq->remaining;
        a->has_state = rq->has_state;
        a->state = rq->state;
    }
    clu__note_push(cl, n);
}

static void dispatch(const struct clu_note *n, const struct clu_callbacks *cb, void *arg)
{
    switch (n->type) {
    case CLU_NOTE_SESSION:
        if (cb->on_session)
            cb->on_session(arg, n->u.session.up, n->u.session.epoch);
        break;
    case CLU_NOTE_CONTROLLER:
        if (cb->on_controller)
            cb->on_controller(arg, n->u.controller.id, n->u.controller.epoch, n->u.controller.self);
        break;
    case CLU_NOTE_BROKER:
        if (cb->on_broker)
            cb->on_broker(arg, &n->u.broker.n);
        break;
    case CLU_NOTE_TOPIC:
        if (cb->on_topic)
            cb->on_topic(arg, &n->u.topic.n);
        break;
    case CLU_NOTE_PARTITION:
        if (cb->on_partition)
            cb->on_partition(arg, &n->u.part.n);
        break;
    case CLU_NOTE_ANSWER:
        if (cb->on_answer)
            cb->on_answer(arg, &n->u.answer);
        break;
    }
}

/* Take every pending note, oldest first. */
static struct clu_note *take_notes(struct clu *cl)
{
    uint64_t v;
    /* Empty the fd first: a note queued after this leaves it readable again. */
    (void)!read(cl->efd, &v, sizeof(v));
    pthread_mutex_lock(&cl->note_lock);
    struct clu_note *list = cl->note_head;
    cl->note_head = NULL;
    cl->note_tail = &cl->note_head;
    pthread_mutex_unlock(&cl->note_lock);
    return list;
}

/* The notes carry pointers into themselves; set them just before delivery. */
static void fix_pointers(struct clu_note *n)
{
    if (n->type == CLU_NOTE_BROKER)
        n->u.broker.n.reg = n->u.broker.n.live ? &n->u.broker.reg : NULL;
    else if (n->type == CLU_NOTE_TOPIC) {
        n->u.topic.n.name = n->u.topic.name;
        n->u.topic.n.topic_id = n->u.topic.topic_id;
        n->u.topic.n.config = n->u.topic.config;
    } else if (n->type == CLU_NOTE_PARTITION) {
        n->u.part.n.topic = n->u.part.topic;
        n->u.part.n.ps = &n->u.part.ps;
    }
}

int clu_poll(struct clu *cl, const struct clu_callbacks *cb, void *arg)
{
    static const struct clu_callbacks none;
    int count = 0;
    for (struct clu_note *n = take_notes(cl), *next; n; n = next, count++) {
        next = n->next;
        fix_pointers(n);
        dispatch(n, cb ? cb : &none, arg);
        clu__note_free(n);
    }
    return count;
}

int clu_fd(const struct clu *cl)
{
    return cl->efd;
}

static struct timespec deadline_in(int timeout_ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_sec += timeout_ms / 1000;
    ts.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    return ts;
}

int clu_wait(struct clu *cl, int timeout_ms)
{
    struct timespec ts = deadline_in(timeout_ms < 0 ? 0 : timeout_ms);
    int rc = 0;
    pthread_mutex_lock(&cl->note_lock);
    while (!cl->note_head && rc == 0)
        rc = pthread_cond_timedwait(&cl->note_cond, &cl->note_lock, &ts);
    bool any = cl->note_head != NULL;
    pthread_mutex_unlock(&cl->note_lock);
    return any ? 0 : -ETIMEDOUT;
}

int clu_await(struct clu *cl, int64_t id, int timeout_ms, const struct clu_callbacks *cb, void *arg,
              struct clu_answer *out)
{
    static const struct clu_callbacks none;
    int64_t end = kc_mono_ms() + timeout_ms;
    bool found = false;
    while (!found) {
        int64_t left = end - kc_mono_ms();
        if (left <= 0 || clu_wait(cl, (int)left) != 0)
            return -ETIMEDOUT;
        for (struct clu_note *n = take_notes(cl), *next; n; n = next) {
            next = n->next;
            fix_pointers(n);
            if (n->type == CLU_NOTE_ANSWER && n->u.answer.id == id) {
                *out = n->u.answer;
                found = true;
            } else {
                dispatch(n, cb ? cb : &none, arg);
            }
            clu__note_free(n);
        }
    }
    return 0;
}

/* ---- status ---- */

void clu__status_update(struct clu *cl)
{
    pthread_mutex_lock(&cl->status_lock);
    struct clu_status *s = &cl->status;
    s->registered = cl->registered && cl->connected;
    s->broker_epoch = cl->broker_epoch;
    s->controller_id = cl->view.controller_id;
    s->controller_epoch = cl->view.controller_epoch;
    s->is_controller = cl->c.active;
    s->session_id = cl->session_id;
    memcpy(s->session_passwd, cl->session_passwd, sizeof(s->session_passwd));
    memcpy(s->cluster_id, cl->cluster_id, sizeof(s->cluster_id));
    pthread_mutex_unlock(&cl->status_lock);
}

void clu_status(struct clu *cl, struct clu_status *out)
{
    pthread_mutex_lock(&cl->status_lock);
    *out = cl->status;
    pthread_mutex_unlock(&cl->status_lock);
}

/* ---- commands ---- */

void clu__cmd_free(struct clu_cmd *cmd)
{
    if (cmd) {
        free(cmd->config);
        free(cmd->assignment);
        free(cmd->elect);
    }
    free(cmd);
}

static int64_t submit(struct clu *cl, struct clu_cmd *cmd)
{
    struct clu_in *in = calloc(1, sizeof(*in) + 1);
    if (!in) {
        clu__cmd_free(cmd);
        return -ENOMEM;
    }
    cmd->id = atomic_fetch_add((_Atomic int64_t *)&cl->next_id, 1) + 1;
    cmd->deadline_ms = kc_mono_ms() + cl->cfg.request_timeout_ms;
    in->type = CLU_IN_CMD;
    in->cmd = cmd;
    int64_t id = cmd->id;
    clu__in_push(cl, in);
    return id;
}

static struct clu_cmd *cmd_new(enum clu_cmd_type type, const char *topic)
{
    if (topic && !repl_topic_name_valid(topic))
        return NULL;
    struct clu_cmd *cmd = calloc(1, sizeof(*cmd));
    if (cmd) {
        cmd->type = type;
        if (topic)
            strlcpy(cmd->topic, topic, sizeof(cmd->topic));
    }
    return cmd;
}

int64_t clu_propose_isr(struct clu *cl, const char *topic, int32_t partition,
                        const struct repl_isr_change *c)
{
    if (!topic || !repl_topic_name_valid(topic) || partition < 0 || !c ||
        c->leader != cl->cfg.broker_id || c->nisr < 1 || c->nisr > REPL_MAX_REPLICAS ||
        c->leader_epoch < 0 || c->partition_epoch < 0)
        return -EINVAL;
    struct clu_cmd *cmd = cmd_new(CLU_CMD_ALTER_ISR, topic);
    if (!cmd)
        return -ENOMEM;
    cmd->partition = partition;
    cmd->isr = *c;
    return submit(cl, cmd);
}

/* The config pairs as one JSON object, in a malloc'ed string: the "config" value of the
 * /config/topics body the encoder writes ({"version":1,"config":{...}}). */
static int config_json(const struct clu_kv *kv, int n, char **out, size_t *len)
{
    static const char head[] = "{\"version\":1,\"config\":";
    struct kc_writer w;
    kc_writer_init(&w, CLU_ZNODE_MAX);
    int rc = clu_topic_config_encode(kv, n, &w);
    if (rc == 0 && kc_writer_error(&w))
        rc = kc_writer_error(&w);
    if (rc == 0) {
        const char *p = (const char *)kc_writer_data(&w) + sizeof(head) - 1;
        *len = kc_writer_len(&w) - (sizeof(head) - 1) - 1; /* without the closing brace */
        *out = malloc(*len + 1);
        rc = *out ? 0 : -ENOMEM;
        if (rc == 0) {
            memcpy(*out, p, *len);
            (*out)[*len] = '\0';
        }
    }
    kc_writer_fini(&w);
    return rc;
}

/* A request field's JSON text, encoded into w (rc: the encoder's result), as a string of
 * its own in *out: 0, -EINVAL (the encoder refused, or larger than a znode), -ENOMEM. */
static int json_text(struct kc_writer *w, int rc, char **out, size_t *len)
{
    if (rc == 0 && kc_writer_error(w))
        rc = -EINVAL; /* larger than a znode */
    if (rc == 0 && !(*out = malloc(kc_writer_len(w) + 1)))
        rc = -ENOMEM;
    if (rc == 0) {
        *len = kc_writer_len(w);
        memcpy(*out, kc_writer_data(w), *len);
        (*out)[*len] = '\0';
    }
    kc_writer_fini(w);
    return rc;
}

/* The operator's lists (n of rf ids) as the request's JSON text, into cmd. */
static int assignment_json(struct clu_cmd *cmd, const int32_t *ids, int32_t n, int rf)
{
    struct kc_writer w;
    kc_writer_init(&w, CLU_ZNODE_MAX);
    int rc = json_text(&w, clu_request_assignment_encode(ids, n, rf, &w), &cmd->assignment,
                       &cmd->assignment_len);
    if (rc == 0)
        cmd->nassigned = n;
    return rc;
}

int64_t clu_topic_create(struct clu *cl, const char *topic, int32_t partitions,
                         int32_t replication_factor, const struct clu_kv *config, int nconfig)
{
    return clu_topic_create_assigned(cl, topic, partitions, replication_factor, NULL, config,
                                     nconfig);
}

int64_t clu_topic_create_assigned(struct clu *cl, const char *topic, int32_t partitions,
                                  int32_t replication_factor, const int32_t *assigned,
                                  const struct clu_kv *config, int nconfig)
{
    if (!topic || !repl_topic_name_valid(topic) || partitions < 1 || replication_factor < 1 ||
        nconfig < 0 || (nconfig > 0 && !config))
        return -EINVAL;
    struct clu_cmd *cmd = cmd_new(CLU_CMD_CREATE_TOPIC, topic);
    if (!cmd)
        return -ENOMEM;
    cmd->partitions = partitions;
    cmd->replication_factor = replication_factor;
    int rc = assigned ? assignment_json(cmd, assigned, partitions, replication_factor) : 0;
    if (rc == 0 && nconfig > 0)
        rc = config_json(config, nconfig, &cmd->config, &cmd->config_len);
    if (rc != 0) {
        clu__cmd_free(cmd);
        return rc == -ENOMEM ? rc : -EINVAL;
    }
    return submit(cl, cmd);
}

int64_t clu_partitions_create(struct clu *cl, const char *topic, int32_t partitions)
{
    return clu_partitions_create_assigned(cl, topic, partitions, NULL, 0, 0);
}

int64_t clu_partitions_create_assigned(struct clu *cl, const char *topic, int32_t partitions,
                                       const int32_t *assigned, int32_t nassigned, int rf)
{
    if (!topic || !repl_topic_name_valid(topic) || partitions < 1 ||
        (assigned && (nassigned < 1 || nassigned >= partitions)))
        return -EINVAL;
    struct clu_cmd *cmd = cmd_new(CLU_CMD_CREATE_PARTITIONS, topic);
    if (!cmd)
        return -ENOMEM;
    cmd->partitions = partitions;
    int rc = assigned ? assignment_json(cmd, assigned, nassigned, rf) : 0;
    if (rc != 0) {
        clu__cmd_free(cmd);
        return rc == -ENOMEM ? rc : -EINVAL;
    }
    return submit(cl, cmd);
}

static int cmp_i32(const void *a, const void *b)
{
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x > y) - (x < y);
}

int64_t clu_elect_leaders(struct clu *cl, const char *topic, int election, const int32_t *parts,
                          int32_t n)
{
    if (!topic || !repl_topic_name_valid(topic) || !parts || n < 1 ||
        (election != REPL_ELECTION_PREFERRED && election != REPL_ELECTION_UNCLEAN))
        return -EINVAL;
    int32_t *sorted = malloc((size_t)n * sizeof(*sorted));
    struct clu_cmd *cmd = sorted ? cmd_new(CLU_CMD_ELECT_LEADERS, topic) : NULL;
    int rc = cmd ? 0 : -ENOMEM;
    if (rc == 0) { /* the request lists them ascending, once each (repl_ctl.h) */
        struct kc_writer w;
        kc_writer_init(&w, CLU_ZNODE_MAX);
        memcpy(sorted, parts, (size_t)n * sizeof(*sorted));
        qsort(sorted, (size_t)n, sizeof(*sorted), cmp_i32);
        rc = json_text(&w, clu_request_elect_encode(sorted, n, &w), &cmd->elect,
                       &cmd->elect_len);
    }
    if (rc == 0) {
        cmd->nelect = n;
        cmd->election = election;
    }
    free(sorted);
    if (rc != 0) {
        clu__cmd_free(cmd);
        return rc;
    }
    return submit(cl, cmd);
}

int64_t clu_topic_config_set(struct clu *cl, const char *topic, const struct clu_kv *config,
                             int nconfig)
{
    if (!topic || !repl_topic_name_valid(topic) || nconfig < 0 || (nconfig > 0 && !config))
        return -EINVAL;
    struct clu_cmd *cmd = cmd_new(CLU_CMD_TOPIC_CONFIG, topic);
    if (!cmd)
        return -ENOMEM;
    int rc = config_json(config, nconfig, &cmd->config, &cmd->config_len);
    if (rc != 0) {
        clu__cmd_free(cmd);
        return rc == -ENOMEM ? rc : -EINVAL;
    }
    return submit(cl, cmd);
}

int64_t clu_topic_delete(struct clu *cl, const char *topic)
{
    if (!topic || !repl_topic_name_valid(topic))
        return -EINVAL;
    struct clu_cmd *cmd = cmd_new(CLU_CMD_DELETE_TOPIC, topic);
    return cmd ? submit(cl, cmd) : -ENOMEM;
}

int64_t clu_shutdown_begin(struct clu *cl)
{
    struct clu_cmd *cmd = cmd_new(CLU_CMD_SHUTDOWN, NULL);
    return cmd ? submit(cl, cmd) : -ENOMEM;
}

/* ---- open / close ---- */

static int copy_config(struct clu *cl, const struct clu_config *cfg)
{
    cl->cfg = *cfg;
    cl->zk_connect = strdup(cfg->zk_connect);
    cl->listeners = strdup(cfg->listeners);
    cl->protocol_map = cfg->protocol_map ? strdup(cfg->protocol_map) : NULL;
    cl->rack = cfg->rack ? strdup(cfg->rack) : NULL;
    if (!cl->zk_connect || !cl->listeners || (cfg->protocol_map && !cl->protocol_map) ||
        (cfg->rack && !cl->rack))
        return -ENOMEM;
    cl->cfg.zk_connect = cl->zk_connect;
    cl->cfg.listeners = cl->listeners;
    cl->cfg.protocol_map = cl->protocol_map;
    cl->cfg.rack = cl->rack;
    if (cl->cfg.session_timeout_ms <= 0)
        cl->cfg.session_timeout_ms = CLU_SESSION_TIMEOUT_MS_DEFAULT;
    if (cl->cfg.connect_timeout_ms <= 0)
        cl->cfg.connect_timeout_ms = cl->cfg.session_timeout_ms;
    if (cl->cfg.request_timeout_ms <= 0)
        cl->cfg.request_timeout_ms = CLU_REQUEST_TIMEOUT_MS_DEFAULT;
    if (cl->cfg.max_ops_per_multi <= 0)
        cl->cfg.max_ops_per_multi = CLU_MAX_OPS_PER_MULTI_DEFAULT;
    return 0;
}

static int check_config(const struct clu_config *cfg, struct clu_connect *conn)
{
    struct clu_broker_reg reg;
    if (!cfg || cfg->broker_id < 0 || !cfg->zk_connect || !cfg->listeners ||
        cfg->session_timeout_ms < 0 || cfg->leader_rebalance_ms < 0)
        return -EINVAL;
    if (clu_connect_parse(cfg->zk_connect, conn) != 0)
        return -EINVAL;
    return clu_broker_reg_init(&reg, cfg->listeners, cfg->protocol_map, cfg->rack, 0);
}

static struct clu *clu_alloc(void)
{
    struct clu *cl = calloc(1, sizeof(*cl));
    if (!cl)
        return NULL;
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_mutex_init(&cl->in_lock, NULL);
    pthread_cond_init(&cl->in_cond, &ca);
    pthread_mutex_init(&cl->note_lock, NULL);
    pthread_cond_init(&cl->note_cond, &ca);
    pthread_mutex_init(&cl->status_lock, NULL);
    pthread_condattr_destroy(&ca);
    cl->in_tail = &cl->in_head;
    cl->note_tail = &cl->note_head;
    cl->view.controller_id = cl->view.told_id = -1;
    cl->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    cl->buf = malloc(CLU_ZNODE_MAX);
    repl_recs_init(&cl->c.recs);
    clu__plan_init(&cl->c.plan);
    if (cl->efd < 0 || !cl->buf) {
        clu_close(cl);
        return NULL;
    }
    return cl;
}

int clu_open(const struct clu_config *cfg, struct clu **out)
{
    struct clu_connect conn;
    int rc = check_config(cfg, &conn);
    if (rc != 0)
        return rc;
    struct clu *cl = clu_alloc();
    if (!cl)
        return -ENOMEM;
    cl->conn = conn;
    if ((rc = copy_config(cl, cfg)) != 0 || (rc = clu__zk_start(cl)) != 0 ||
        (rc = clu__zk_wait_connected(cl, cl->cfg.connect_timeout_ms)) != 0 ||
        (rc = clu__zk_prepare(cl)) != 0 || (rc = clu__zk_register(cl)) != 0)
        goto fail;
    cl->dirty = CLU_DIRTY_ALL;
    cl->resend = true;
    cl->status.sessions = 1;
    clu__status_update(cl);
    struct clu_note *up = clu__note_new(CLU_NOTE_SESSION);
    if (up) {
        up->u.session.up = true;
        up->u.session.epoch = cl->broker_epoch;
    }
    clu__note_push(cl, up); /* the first note a broker gets: registered, at this epoch */
    if ((rc = -pthread_create(&cl->thread, NULL, clu__main, cl)) != 0)
        goto fail;
    cl->thread_started = true;
    *out = cl;
    return 0;
fail:
    clu_close(cl);
    return rc;
}

/* What the queues still hold when the instance goes. */
static void free_queues(struct clu *cl)
{
    for (struct clu_in *in = cl->in_head, *next; in; in = next) {
        next = in->next;
        clu__cmd_free(in->cmd);
        free(in);
    }
    for (struct clu_cmd *c = cl->cmds, *next; c; c = next) {
        next = c->next;
        clu__cmd_free(c);
    }
    for (struct clu_note *n = cl->note_head, *next; n; n = next) {
        next = n->next;
        clu__note_free(n);
    }
}

void clu_close(struct clu *cl)
{
    if (!cl)
        return;
    if (cl->thread_started) {
        pthread_mutex_lock(&cl->in_lock);
        cl->stop = true;
        pthread_cond_broadcast(&cl->in_cond);
        pthread_mutex_unlock(&cl->in_lock);
        pthread_join(cl->thread, NULL);
    }
    clu__zk_stop(cl);
    assert(cl->vectors == 0); /* a zoo_get_children result was not freed: a bug here */
    free_queues(cl);
    clu__view_fini(&cl->view);
    repl_ctl_fini(&cl->c.ctl);
    repl_recs_fini(&cl->c.recs);
    clu__plan_fini(&cl->c.plan);
    clu__unfinished_free(&cl->c);
    free(cl->c.seen);
    free(cl->live);
    free(cl->buf);
    if (cl->efd >= 0)
        close(cl->efd);
    pthread_mutex_destroy(&cl->in_lock);
    pthread_cond_destroy(&cl->in_cond);
    pthread_mutex_destroy(&cl->note_lock);
    pthread_cond_destroy(&cl->note_cond);
    pthread_mutex_destroy(&cl->status_lock);
    free(cl->zk_connect);
    free(cl->listeners);
    free(cl->protocol_map);
    free(cl->rack);
    free(cl);
}
