/*
 * request.c - the requesting side of /controller_requests: how a broker asks the
 * controller for something, and collects the answer.
 *
 *   broker thread: clu_propose_isr() ─cmd─> cluster thread
 *   create /controller_requests/request_<seq>    EPHEMERAL|SEQUENTIAL, the request body
 *   exists(node, watch)                          wait: the controller rewrites the node,
 *                                                with "answer", in the same transaction
 *                                                as the change it decided
 *   get(node) -> answer -> note -> delete(node)
 *
 * Ephemeral: a request dies with its session, so a broker that lost its session cannot
 * have a stale proposal applied later; its callers get -ECONNRESET. Sequential: the
 * controller handles requests in the order they were made.
 *
 * A controlled_shutdown node is kept (answered) until the session ends: a controller
 * elected after the answer reads it again and keeps the broker in SHUTTING_DOWN, so that it
 * is not made leader again while it is on its way out (Kafka keeps that set in the
 * controller's memory only, and loses it with the controller).
 *
 * Topic deletion is Kafka's own request: a persistent /admin/delete_topics/<t>. The answer
 * is the topic vanishing from this broker's view.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "clu_int.h"
#include "kc_common.h"

/* Answer cmd and drop it from the list. */
static void finish(struct clu *cl, struct clu_cmd *cmd, int error, const struct clu_request *rq)
{
    clu__answer(cl, cmd, error, rq);
    for (struct clu_cmd **pp = &cl->cmds; *pp; pp = &(*pp)->next)
        if (*pp == cmd) {
            *pp = cmd->next;
            break;
        }
    clu__cmd_free(cmd);
}

static void fill_request(const struct clu *cl, const struct clu_cmd *cmd, struct clu_request *rq)
{
    static const enum clu_req_type types[] = {
        [CLU_CMD_ALTER_ISR] = CLU_REQ_ALTER_PARTITION,
        [CLU_CMD_CREATE_TOPIC] = CLU_REQ_CREATE_TOPIC,
        [CLU_CMD_SHUTDOWN] = CLU_REQ_CONTROLLED_SHUTDOWN,
        [CLU_CMD_CREATE_PARTITIONS] = CLU_REQ_CREATE_PARTITIONS,
        [CLU_CMD_ELECT_LEADERS] = CLU_REQ_ELECT_LEADERS,
    };
    memset(rq, 0, sizeof(*rq));
    rq->type = types[cmd->type];
    rq->broker = cl->cfg.broker_id;
    rq->broker_epoch = cl->broker_epoch;
    strlcpy(rq->topic, cmd->topic, sizeof(rq->topic));
    rq->partition = cmd->partition;
    rq->isr = cmd->isr;
    rq->partitions = cmd->partitions;
    rq->replication_factor = cmd->replication_factor;
    rq->config = cmd->config;
    rq->config_len = cmd->config_len;
    rq->assignment = cmd->assignment;
    rq->assignment_len = cmd->assignment_len;
    rq->nassigned = cmd->nassigned;
    rq->election = cmd->election;
    rq->elect = cmd->elect;
    rq->elect_len = cmd->elect_len;
    rq->nelect = cmd->nelect;
}

static int send_delete(struct clu *cl, struct clu_cmd *cmd)
{
    char path[CLU_PATH_MAX];
    if (!clu__view_topic(cl, cmd->topic)) {
        finish(cl, cmd, REPL_UNKNOWN_TOPIC_OR_PARTITION, NULL);
        return 0;
    }
    clu_path_delete_topic(path, sizeof(path), cmd->topic);
    int rc = zoo_create(cl->zh, path, NULL, -1, &ZOO_OPEN_ACL_UNSAFE, ZOO_PERSISTENT, NULL, 0);
    if (rc == ZOK || rc == ZNODEEXISTS) {
        cmd->sent = true;
        return 0;
    }
    if (clu__zk_retryable(rc))
        return -1;
    finish(cl, cmd, clu__zerr(rc), NULL);
    return 0;
}

/* A topic's configs: /config/topics/<t> written (or made) here, answered at once. */
static int send_config(struct clu *cl, struct clu_cmd *cmd)
{
    char path[CLU_PATH_MAX];
    struct kc_writer w;
    if (!clu__view_topic(cl, cmd->topic)) {
        finish(cl, cmd, REPL_UNKNOWN_TOPIC_OR_PARTITION, NULL);
        return 0;
    }
    clu_path_topic_config(path, sizeof(path), cmd->topic);
    kc_writer_init(&w, CLU_ZNODE_MAX);
    int rc = clu_topic_config_encode_json(cmd->config, cmd->config_len, &w) == 0 &&
                     !kc_writer_error(&w)
                 ? ZOK
                 : ZBADARGUMENTS;
    const char *body = (const char *)kc_writer_data(&w);
    int len = (int)kc_writer_len(&w);
    if (rc == ZOK)
        rc = zoo_set(cl->zh, path, body, len, -1);
    if (rc == ZNONODE) /* a topic created without overrides may have none yet */
        rc = zoo_create(cl->zh, path, body, len, &ZOO_OPEN_ACL_UNSAFE, ZOO_PERSISTENT, NULL, 0);
    kc_writer_fini(&w);
    if (rc != ZOK && clu__zk_retryable(rc))
        return -1;
    finish(cl, cmd, rc == ZOK ? 0 : clu__zerr(rc), NULL);
    return 0;
}

static int send_request(struct clu *cl, struct clu_cmd *cmd)
{
    struct clu_request rq;
    struct kc_writer w;
    char created[CLU_PATH_MAX];
    if (cmd->type == CLU_CMD_DELETE_TOPIC)
        return send_delete(cl, cmd);
    if (cmd->type == CLU_CMD_TOPIC_CONFIG)
        return send_config(cl, cmd);
    if (cmd->type == CLU_CMD_SHUTDOWN && cl->shutdown_node[0]) {
        int rc = zoo_delete(cl->zh, cl->shutdown_node, -1); /* the previous attempt's */
        if (rc != ZOK && rc != ZNONODE)
            return -1;
        cl->shutdown_node[0] = '\0';
    }
    fill_request(cl, cmd, &rq);
    kc_writer_init(&w, CLU_ZNODE_MAX);
    int rc = clu_request_encode(&rq, &w) == 0 && !kc_writer_error(&w) ? ZOK : ZBADARGUMENTS;
    if (rc == ZOK)
        rc = zoo_create(cl->zh, CLU_ZK_REQUEST_PREFIX, (const char *)kc_writer_data(&w),
                        (int)kc_writer_len(&w), &ZOO_OPEN_ACL_UNSAFE, ZOO_EPHEMERAL_SEQUENTIAL,
                        created, sizeof(created));
    kc_writer_fini(&w);
    if (rc == ZOK) {
        cmd->sent = true;
        cmd->check = true; /* set the watch, and look once: it may be answered already */
        strlcpy(cmd->node, created, sizeof(cmd->node));
        return 0;
    }
    if (clu__zk_retryable(rc))
        return -1;
    finish(cl, cmd, clu__zerr(rc), NULL);
    return 0;
}

static int check_answer(struct clu *cl, struct clu_cmd *cmd)
{
    struct clu_request rq;
    struct Stat st;
    int len;
    int rc = clu__zk_get(cl, cmd->node, true, &len, &st);
    if (rc == ZNONODE) {
        finish(cl, cmd, -EIO, NULL); /* removed by the controller: it could not read it */
        return 0;
    }
    if (rc != ZOK)
        return clu__zk_retryable(rc) ? -1 : 0;
    cmd->check = false;
    cmd->next_check_ms = kc_mono_ms() + CLU_CHECK_EVERY_MS;
    if (clu_request_decode(cl->buf, (size_t)len, &rq) != 0 || !rq.answered)
        return 0;
    if (cmd->type == CLU_CMD_SHUTDOWN)
        strlcpy(cl->shutdown_node, cmd->node, sizeof(cl->shutdown_node));
    else if ((rc = zoo_delete(cl->zh, cmd->node, -1)) != ZOK && rc != ZNONODE)
        kc_log_debug("cluster: deleting %s: %s (it goes with the session)", cmd->node, zerror(rc));
    finish(cl, cmd, rq.error, &rq);
    return 0;
}

static void timed_out(struct clu *cl, struct clu_cmd *cmd)
{
    if (cmd->sent && cmd->type != CLU_CMD_DELETE_TOPIC && cl->connected) {
        /* The controller may still answer; without the node its transaction fails whole. */
        int rc = zoo_delete(cl->zh, cmd->node, -1);
        if (rc != ZOK && rc != ZNONODE)
            kc_log_debug("cluster: deleting %s: %s", cmd->node, zerror(rc));
    }
    finish(cl, cmd, -ETIMEDOUT, NULL);
}

int clu__req_step(struct clu *cl)
{
    int64_t now = kc_mono_ms();
    int rc = 0;
    for (struct clu_cmd *cmd = cl->cmds, *next; cmd; cmd = next) {
        next = cmd->next;
        if (now >= cmd->deadline_ms)
            timed_out(cl, cmd);
        else if (!cmd->sent)
            rc |= send_request(cl, cmd);
        else if (cmd->type != CLU_CMD_DELETE_TOPIC && (cmd->check || now >= cmd->next_check_ms))
            rc |= check_answer(cl, cmd);
    }
    return rc;
}

void clu__req_answered(struct clu *cl, const char *name)
{
    size_t n = strlen(name);
    for (struct clu_cmd *cmd = cl->cmds; cmd; cmd = cmd->next) {
        size_t m = strlen(cmd->node);
        if (cmd->sent && m > n && strcmp(cmd->node + m - n, name) == 0 &&
            cmd->node[m - n - 1] == '/')
            cmd->check = true;
    }
}

void clu__req_session_lost(struct clu *cl)
{
    for (struct clu_cmd *cmd = cl->cmds, *next; cmd; cmd = next) {
        next = cmd->next;
        if (cmd->sent && cmd->type != CLU_CMD_DELETE_TOPIC)
            finish(cl, cmd, -ECONNRESET, NULL); /* its node died with the session */
    }
    cl->shutdown_node[0] = '\0';
}

void clu__req_topic_gone(struct clu *cl, const char *topic)
{
    for (struct clu_cmd *cmd = cl->cmds, *next; cmd; cmd = next) {
        next = cmd->next;
        if (cmd->type == CLU_CMD_DELETE_TOPIC && cmd->sent && strcmp(cmd->topic, topic) == 0)
            finish(cl, cmd, 0, NULL);
    }
}

int64_t clu__req_next_deadline(const struct clu *cl)
{
    int64_t t = 0, now = kc_mono_ms();
    for (const struct clu_cmd *cmd = cl->cmds; cmd; cmd = cmd->next) {
        int64_t d = cmd->deadline_ms;
        /* just sent: look at once (that look sets the watch; until then nothing would
         * wake the loop, and the answer waited for the slow tick, a second) */
        if (cmd->sent && cmd->type != CLU_CMD_DELETE_TOPIC)
            d = cmd->check ? now : KC_MIN(d, cmd->next_check_ms);
        /* (an unsent one is sent by the step that queued it, or after the retry backoff) */
        t = t ? KC_MIN(t, d) : d;
    }
    return t;
}
