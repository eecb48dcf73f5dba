/*
 * producer_ids.c - InitProducerId (v0-5) for idempotent producers, and the durable counter
 * their ids come from.
 *
 * An idempotent producer asks once for an id and an epoch, and numbers its batches under
 * them (appendLog/include/alog_producer.h says what the log does with the numbers). Two
 * producers must never share an id, not even across a crash of the broker, or one would
 * be answered with the other's offsets. Kafka hands ids out in blocks from a counter the
 * controller keeps durably (ProducerIdManager, ProducerIdsBlock of 1000); so does this
 * broker, from a file in its data directory:
 *
 *   <data-dir>/producer-id-block     "next_block_start 3000\n"
 *
 *   first request after a start:  read 3000, write 4000 (fsynced, renamed into place),
 *                                 then hand out 3000, 3001, ... 3999
 *   a crash after handing out 3005: the next start reads 4000; 3006-3999 are never used
 *
 * The file is written BEFORE any id of the block is answered, so an id seen by a client
 * is always below the counter on disk.
 *
 * That file is right for ONE broker only. An id must be unique wherever it is used - any
 * partition, whichever broker leads it - so in a cluster the counter must be the
 * cluster's. (The chaos harness found the bug this was: brokers 1, 2 and 3 each kept a
 * file, all handed out 0, 1, 2..., and a leader took a second producer's first batches for
 * retries of the first one's - answered with the first one's offsets, never written.) With
 * zookeeper.connect set the file is not used at all:
 *
 *   network loop                       core (brk_cluster.h)        pids thread (clu_pids.h)
 *   InitProducerId -> new_id() ──> brk_cluster_pids_next ──> slot <── a block claimed from
 *     an id: answer it                  (a mutex, a few            ZooKeeper's
 *     -EAGAIN: COORDINATOR_NOT_          instructions)             /latest_producer_id_block
 *      AVAILABLE (15) at once                                      by conditional write,
 *                                                                  ahead of need
 *
 * No network loop waits for ZooKeeper. 15, not 14 (COORDINATOR_LOAD_IN_PROGRESS, what
 * Kafka's KRaft broker answers): both are retriable in librdkafka (any non-fatal error is
 * retried for an idempotent producer), kafkajs (INIT_PRODUCER_RETRIABLE_PROTOCOL_ERRORS
 * lists both) and kafka-python (both RetriableError); 15 is already in this codec.
 *
 * The request, as Kafka 3.9 answers it (KafkaApis.handleInitProducerIdRequest and the
 * transaction coordinator's path for a null transactional id):
 *
 *   producer_id and epoch: one set, the other not       -> 42 INVALID_REQUEST
 *   a transactional id                                  -> 53, see below
 *   no IDEMPOTENT_WRITE on the cluster                  -> 31 CLUSTER_AUTHORIZATION_FAILED
 *   otherwise                                           -> a NEW id, epoch 0
 *
 * A new id even when a v3+ client sends its current id and epoch (KIP-360's "bump"):
 * for a producer without a transactional id Kafka's coordinator keeps nothing to bump and
 * "blindly accepts" with a fresh id; the client then starts its sequences at 0.
 *
 * Transactions are not served. A transactional id is refused with
 * TRANSACTIONAL_ID_AUTHORIZATION_FAILED (53): an authorization error is fatal in Kafka's
 * clients (an AuthorizationException is never retriable), where a coordinator error
 * would be retried forever. The log says why.
 *
 * Not done: Kafka also lets a principal with WRITE on any topic initialise an id
 * (authorizeByResourceType); here only IDEMPOTENT_WRITE on the cluster counts.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "brk_cluster.h"
#include "kafka_int.h"
#include "kc_fs.h"
#include "kpm_init_producer_id.h"
#include "sec_acl.h"

#define PIDS_FILE  "producer-id-block"
#define PIDS_BLOCK 1000 /* Kafka's ProducerIdsBlock.PRODUCER_ID_BLOCK_SIZE */

int brk__kafka_pids_init(struct brk_kafka *k, const char *data_dir)
{
    memset(&k->pids, 0, sizeof(k->pids));
    int n = snprintf(k->pids.path, sizeof(k->pids.path), "%s/%s", data_dir, PIDS_FILE);
    if (n < 0 || (size_t)n >= sizeof(k->pids.path))
        return -ENAMETOOLONG;
    return -pthread_mutex_init(&k->pids.mu, NULL);
}

void brk__kafka_pids_fini(struct brk_kafka *k)
{
    pthread_mutex_destroy(&k->pids.mu);
}

/* The counter on disk: 0 and *start (0 for a new data directory), or why not. */
static int read_counter(const char *path, int64_t *start)
{
    char *data;
    size_t len;
    int rc = kc_read_file(path, 256, &data, &len);
    if (rc == -ENOENT) {
        *start = 0;
        return 0;
    }
    if (rc)
        return rc;
    char text[257];
    memcpy(text, data, len);
    text[len] = '\0';
    free(data);
    char tail;
    if (sscanf(text, "next_block_start %" SCNd64 "%c", start, &tail) != 2 || tail != '\n' ||
        *start < 0 || *start > INT64_MAX - PIDS_BLOCK)
        return KC_EMALFORMED; /* never guess: a reused id is worse than no id */
    return 0;
}

/* A new block, durable before any of it is used (mu held). */
static int next_block(struct brk_kafka_pids *p)
{
    int64_t start;
    int rc = p->loaded ? 0 : read_counter(p->path, &start);
    if (rc)
        return rc;
    if (p->loaded)
        start = p->end;
    char text[64];
    int n = snprintf(text, sizeof(text), "next_block_start %" PRId64 "\n", start + PIDS_BLOCK);
    if ((rc = kc_atomic_replace(p->path, text, (size_t)n)) != 0)
        return rc;
    p->loaded = true;
    p->next = start;
    p->end = start + PIDS_BLOCK;
    kc_log_info("producer ids: block [%" PRId64 ", %" PRId64 ") taken (%s)", start, p->end,
                p->path);
    return 0;
}

int brk__kafka_pids_next(struct brk_kafka *k, int64_t *id)
{
    struct brk_kafka_pids *p = &k->pids;
    pthread_mutex_lock(&p->mu);
    int rc = p->loaded && p->next < p->end ? 0 : next_block(p);
    if (rc == 0)
        *id = p->next++;
    pthread_mutex_unlock(&p->mu);
    return rc;
}

/* In a cluster: an id from the cluster's blocks, or a retriable refusal, at once. */
static int16_t cluster_id(struct brk_kafka *k, int64_t *id)
{
    int rc = brk_cluster_pids_next(k->srv, id);
    if (rc == 0)
        return KP_ERR_NONE;
    int64_t now = kc_mono_ms();
    pthread_mutex_lock(&k->pids.mu); /* one line a second, not one per refused request */
    bool say = now - k->pids.refused_log_ms >= 1000;
    if (say)
        k->pids.refused_log_ms = now;
    pthread_mutex_unlock(&k->pids.mu);
    if (say)
        kc_log_warn("producer ids: no block from ZooKeeper ready (%s): InitProducerId "
                    "answered COORDINATOR_NOT_AVAILABLE (15), which clients retry",
                    kc_strerror(rc));
    return KP_ERR_COORDINATOR_NOT_AVAILABLE;
}

/* Fill resp with a new id: its error code. */
static int16_t new_id(struct brk_kafka *k, struct kp_init_producer_id_resp *resp)
{
    int64_t id;
    int16_t err = KP_ERR_NONE;
    if (brk_cluster_mode(k->srv)) {
        err = cluster_id(k, &id);
    } else {
        int rc = brk__kafka_pids_next(k, &id);
        if (rc != 0) {
            kc_log_error("producer ids: cannot take a block: %s", kc_strerror(rc));
            err = KP_ERR_KAFKA_STORAGE_ERROR; /* retriable: the disk may heal */
        }
    }
    if (err == KP_ERR_NONE) {
        resp->producer_id = id;
        resp->producer_epoch = 0;
    }
    return err;
}

/* The answer's error for a request: 0 to hand out an id. */
static int16_t judge(struct brk_conn *c, const struct kp_init_producer_id_req *r)
{
    if ((r->producer_id == -1) != (r->producer_epoch == -1))
        return KP_ERR_INVALID_REQUEST;
    if (r->transactional_id.len >= 0) {
        kc_log_info("%s: InitProducerId for transactional id %.*s refused (53): this broker "
                    "serves idempotent producers, not transactions", brk_conn_peer(c),
                    (int)r->transactional_id.len, r->transactional_id.p);
        return KP_ERR_TRANSACTIONAL_ID_AUTHORIZATION_FAILED;
    }
    if (!brk__kafka_allowed(c, SEC_OP_IDEMPOTENT_WRITE, SEC_RES_CLUSTER,
                            kp_slice_str(SEC_CLUSTER_NAME)))
        return KP_ERR_CLUSTER_AUTHORIZATION_FAILED;
    return KP_ERR_NONE;
}

int brk__kafka_init_producer_id(struct brk_conn *c, struct kp_request *req)
{
    const struct kp_init_producer_id_req *r = req->msg;
    struct kp_init_producer_id_resp *resp = kp_new(&req->arena, &kp_init_producer_id_resp_schema, 1);
    if (!resp)
        return -ENOMEM;
    resp->producer_id = -1;
    resp->producer_epoch = -1;
    resp->error_code = judge(c, r);
    if (resp->error_code == KP_ERR_NONE)
        resp->error_code = new_id(brk__kafka_of(c), resp);
    return brk__kafka_reply(c, &req->hdr, resp);
}
