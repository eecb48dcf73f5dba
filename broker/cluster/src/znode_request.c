/*
 * znode_request.c - the bodies of /controller_requests/request_<seq> (clu_znode.h): what
 * a broker asks the controller, and the answer the controller writes back into the same
 * node. The layout follows the rest of Kafka's znodes (a JSON object with a "version").
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "clu_jw.h"
#include "clu_znode.h"
#include "kc_err.h"

static const char *const type_names[] = {
    [CLU_REQ_ALTER_PARTITION] = "alter_partition",
    [CLU_REQ_CONTROLLED_SHUTDOWN] = "controlled_shutdown",
    [CLU_REQ_CREATE_TOPIC] = "create_topic",
    [CLU_REQ_CREATE_PARTITIONS] = "create_partitions",
    [CLU_REQ_ELECT_LEADERS] = "elect_leaders",
};

const char *clu_req_type_name(enum clu_req_type type)
{
    if ((int)type < CLU_REQ_ALTER_PARTITION || type > CLU_REQ_ELECT_LEADERS)
        return "unknown";
    return type_names[type];
}

static void encode_state(const struct repl_pstate *ps, struct kc_writer *w)
{
    clu__jw_raw(w, "{\"controller_epoch\":");
    clu__jw_int(w, ps->controller_epoch);
    clu__jw_raw(w, ",\"leader\":");
    clu__jw_int(w, ps->leader);
    clu__jw_raw(w, ",\"leader_epoch\":");
    clu__jw_int(w, ps->leader_epoch);
    clu__jw_raw(w, ",\"partition_epoch\":");
    clu__jw_int(w, ps->partition_epoch);
    clu__jw_raw(w, ",\"replicas\":");
    clu__jw_ints(w, ps->replicas, ps->nreplicas);
    clu__jw_raw(w, ",\"isr\":");
    clu__jw_ints(w, ps->isr, ps->nisr);
    clu__jw_raw(w, "}");
}

static void encode_answer(const struct clu_request *rq, struct kc_writer *w)
{
    clu__jw_raw(w, ",\"answer\":{\"error\":");
    clu__jw_int(w, rq->error);
    clu__jw_raw(w, ",\"remaining\":");
    clu__jw_int(w, rq->remaining);
    if (rq->has_state) {
        clu__jw_raw(w, ",\"state\":");
        encode_state(&rq->state, w);
    }
    clu__jw_raw(w, "}");
}

int clu_request_encode(const struct clu_request *rq, struct kc_writer *w)
{
    const char *type = clu_req_type_name(rq->type);
    if (strcmp(type, "unknown") == 0 || rq->broker < 0 || rq->broker_epoch < 0 ||
        (rq->type != CLU_REQ_CONTROLLED_SHUTDOWN && !repl_topic_name_valid(rq->topic)))
        return -EINVAL;
    clu__jw_raw(w, "{\"version\":1,\"type\":");
    clu__jw_str(w, type);
    clu__jw_raw(w, ",\"broker\":");
    clu__jw_int(w, rq->broker);
    clu__jw_raw(w, ",\"broker_epoch\":");
    clu__jw_int(w, rq->broker_epoch);
    if (rq->type != CLU_REQ_CONTROLLED_SHUTDOWN) {
        clu__jw_raw(w, ",\"topic\":");
        clu__jw_str(w, rq->topic);
    }
    if (rq->type == CLU_REQ_ALTER_PARTITION) {
        clu__jw_raw(w, ",\"partition\":");
        clu__jw_int(w, rq->partition);
        clu__jw_raw(w, ",\"leader_epoch\":");
        clu__jw_int(w, rq->isr.leader_epoch);
        clu__jw_raw(w, ",\"partition_epoch\":");
        clu__jw_int(w, rq->isr.partition_epoch);
        clu__jw_raw(w, ",\"isr\":");
        clu__jw_ints(w, rq->isr.isr, rq->isr.nisr);
        if (rq->isr.new_epoch)
            clu__jw_raw(w, ",\"new_leader_epoch\":1");
    } else if (rq->type == CLU_REQ_CREATE_TOPIC) {
        clu__jw_raw(w, ",\"partitions\":");
        clu__jw_int(w, rq->partitions);
        clu__jw_raw(w, ",\"replication_factor\":");
        clu__jw_int(w, rq->replication_factor);
        if (rq->config) {
            clu__jw_raw(w, ",\"config\":");
            kc_write_raw(w, rq->config, rq->config_len);
        }
    } else if (rq->type == CLU_REQ_CREATE_PARTITIONS) {
        clu__jw_raw(w, ",\"partitions\":");
        clu__jw_int(w, rq->partitions);
    } else if (rq->type == CLU_REQ_ELECT_LEADERS) {
        if (!rq->elect)
            return -EINVAL;
        clu__jw_raw(w, ",\"election\":");
        clu__jw_int(w, rq->election);
        clu__jw_raw(w, ",\"partitions\":");
        kc_write_raw(w, rq->elect, rq->elect_len);
    }
    if (rq->assignment && (rq->type == CLU_REQ_CREATE_TOPIC ||
                           rq->type == CLU_REQ_CREATE_PARTITIONS)) {
        clu__jw_raw(w, ",\"assignment\":");
        kc_write_raw(w, rq->assignment, rq->assignment_len);
    }
    if (rq->answered)
        encode_answer(rq, w);
    clu__jw_raw(w, "}");
    return 0;
}

static int decode_state(const struct clu_json *j, uint32_t obj, struct repl_pstate *ps)
{
    uint32_t r, i;
    if (clu__jr_i32(j, obj, "controller_epoch", 0, INT32_MAX, &ps->controller_epoch) != 0 ||
        clu__jr_i32(j, obj, "leader", -1, INT32_MAX, &ps->leader) != 0 ||
        clu__jr_i32(j, obj, "leader_epoch", 0, INT32_MAX, &ps->leader_epoch) != 0 ||
        clu__jr_i32(j, obj, "partition_epoch", 0, INT32_MAX, &ps->partition_epoch) != 0 ||
        clu_json_member(j, obj, "replicas", &r) != 0 || clu_json_member(j, obj, "isr", &i) != 0 ||
        clu__jr_ints(j, r, 0, INT32_MAX, ps->replicas, REPL_MAX_REPLICAS, &ps->nreplicas, true) !=
            0 ||
        clu__jr_ints(j, i, 0, INT32_MAX, ps->isr, REPL_MAX_REPLICAS, &ps->nisr, true) != 0)
        return KC_EMALFORMED;
    return clu_pstate_valid(ps) ? 0 : KC_EMALFORMED;
}

static int decode_answer(const struct clu_json *j, struct clu_request *rq)
{
    uint32_t a, s;
    int rc = clu_json_member(j, 0, "answer", &a);
    if (rc == -ENOENT)
        return 0;
    if (rc != 0 || j->tok[a].type != CLU_JSON_OBJECT ||
        clu__jr_i32(j, a, "error", -1, INT16_MAX, &rq->error) != 0 ||
        clu__jr_i32(j, a, "remaining", 0, INT32_MAX, &rq->remaining) != 0)
        return KC_EMALFORMED;
    rq->answered = true;
    rc = clu_json_member(j, a, "state", &s);
    if (rc == -ENOENT)
        return 0;
    if (rc != 0 || decode_state(j, s, &rq->state) != 0)
        return KC_EMALFORMED;
    rq->has_state = true;
    return 0;
}

static int decode_alter(const struct clu_json *j, struct clu_request *rq)
{
    uint32_t isr;
    if (clu__jr_i32(j, 0, "partition", 0, INT32_MAX, &rq->partition) != 0 ||
        clu__jr_i32(j, 0, "leader_epoch", 0, INT32_MAX, &rq->isr.leader_epoch) != 0 ||
        clu__jr_i32(j, 0, "partition_epoch", 0, INT32_MAX, &rq->isr.partition_epoch) != 0 ||
        clu_json_member(j, 0, "isr", &isr) != 0 ||
        clu__jr_ints(j, isr, 0, INT32_MAX, rq->isr.isr, REPL_MAX_REPLICAS, &rq->isr.nisr, false) !=
            0 ||
        rq->isr.nisr < 1)
        return KC_EMALFORMED;
    int32_t bump = 0;
    if (clu_json_member(j, 0, "new_leader_epoch", &isr) == 0 &&
        clu__jr_i32(j, 0, "new_leader_epoch", 0, 1, &bump) != 0)
        return KC_EMALFORMED;
    rq->isr.new_epoch = bump == 1;
    rq->isr.leader = rq->broker;
    return 0;
}

int clu_request_assignment_encode(const int32_t *ids, int32_t n, int rf, struct kc_writer *w)
{
    if (!ids || n < 1 || rf < 1 || rf > REPL_MAX_REPLICAS)
        return -EINVAL;
    clu__jw_raw(w, "[");
    for (int32_t i = 0; i < n; i++) {
        if (i > 0)
            clu__jw_raw(w, ",");
        clu__jw_ints(w, ids + (size_t)i * (size_t)rf, rf);
    }
    clu__jw_raw(w, "]");
    return 0;
}

/* Array token arr: lists of distinct broker ids, all as long as the first (and as `rf`
 * when > 0); their count in *n. */
static int check_assignment(const struct clu_json *j, uint32_t arr, int rf, int32_t *n)
{
    int32_t ids[REPL_MAX_REPLICAS];
    int len, want = rf;
    if (j->tok[arr].type != CLU_JSON_ARRAY || j->tok[arr].count < 1)
        return KC_EMALFORMED;
    for (uint32_t t = arr + 1; t < j->tok[arr].next; t = j->tok[t].next) {
        if (clu__jr_ints(j, t, 0, INT32_MAX, ids, REPL_MAX_REPLICAS, &len, true) != 0 || len < 1 ||
            (want > 0 && len != want))
            return KC_EMALFORMED;
        want = len;
    }
    *n = (int32_t)j->tok[arr].count;
    return 0;
}

/* The optional "assignment" of a creation or growth. */
static int decode_assignment(const struct clu_json *j, struct clu_request *rq, int rf)
{
    uint32_t arr;
    int rc = clu_json_member(j, 0, "assignment", &arr);
    if (rc == -ENOENT)
        return 0;
    if (rc != 0 || check_assignment(j, arr, rf, &rq->nassigned) != 0)
        return KC_EMALFORMED;
    rq->assignment = j->text + j->tok[arr].start;
    rq->assignment_len = j->tok[arr].end - j->tok[arr].start;
    return 0;
}

int clu_request_assigned(const struct clu_request *rq, struct repl_pstate *out)
{
    struct clu_json j;
    if (!rq->assignment)
        return KC_EMALFORMED;
    int rc = clu_json_parse(&j, rq->assignment, rq->assignment_len);
    if (rc != 0)
        return rc;
    int32_t i = 0;
    if (j.ntok == 0 || j.tok[0].type != CLU_JSON_ARRAY || j.tok[0].count != (uint32_t)rq->nassigned)
        rc = KC_EMALFORMED;
    for (uint32_t t = 1; rc == 0 && t < j.tok[0].next; t = j.tok[t].next, i++) {
        memset(&out[i], 0, sizeof(out[i]));
        rc = clu__jr_ints(&j, t, 0, INT32_MAX, out[i].replicas, REPL_MAX_REPLICAS,
                          &out[i].nreplicas, true);
    }
    clu_json_fini(&j);
    return rc;
}

static int decode_create(const struct clu_json *j, struct clu_request *rq)
{
    uint32_t cfg;
    if (clu__jr_i32(j, 0, "partitions", 1, INT32_MAX, &rq->partitions) != 0 ||
        clu__jr_i32(j, 0, "replication_factor", 1, INT16_MAX, &rq->replication_factor) != 0)
        return KC_EMALFORMED;
    if (decode_assignment(j, rq, rq->replication_factor) != 0 ||
        (rq->assignment && rq->nassigned != rq->partitions))
        return KC_EMALFORMED;
    int rc = clu_json_member(j, 0, "config", &cfg);
    if (rc == -ENOENT)
        return 0;
    if (rc != 0 || j->tok[cfg].type != CLU_JSON_OBJECT)
        return KC_EMALFORMED;
    for (uint32_t k = cfg + 1, i = 0; i < j->tok[cfg].count; i++, k = j->tok[k + 1].next)
        if (j->tok[k + 1].type != CLU_JSON_STRING)
            return KC_EMALFORMED; /* Kafka's configs are strings */
    rq->config = j->text + j->tok[cfg].start;
    rq->config_len = j->tok[cfg].end - j->tok[cfg].start;
    return 0;
}

static int decode_grow(const struct clu_json *j, struct clu_request *rq)
{
    if (clu__jr_i32(j, 0, "partitions", 1, INT32_MAX, &rq->partitions) != 0 ||
        decode_assignment(j, rq, 0) != 0 || (rq->assignment && rq->nassigned >= rq->partitions))
        return KC_EMALFORMED; /* a growth adds fewer partitions than its new total */
    return 0;
}

int clu_request_elect_encode(const int32_t *parts, int32_t n, struct kc_writer *w)
{
    if (!parts || n < 1 || parts[0] < 0)
        return -EINVAL;
    for (int32_t i = 1; i < n; i++)
        if (parts[i] <= parts[i - 1])
            return -EINVAL;
    clu__jw_ints(w, parts, (int)n);
    return 0;
}

/* Array token arr: n >= 1 partition indexes, strictly ascending, into out (cap n). */
static int read_elect(const struct clu_json *j, uint32_t arr, int32_t *out, int32_t n)
{
    int got;
    if (j->tok[arr].type != CLU_JSON_ARRAY || n < 1 || j->tok[arr].count != (uint32_t)n ||
        clu__jr_ints(j, arr, 0, INT32_MAX, out, (int)n, &got, false) != 0 || got != n)
        return KC_EMALFORMED;
    for (int32_t i = 1; i < n; i++)
        if (out[i] <= out[i - 1])
            return KC_EMALFORMED;
    return 0;
}

int clu_request_elected(const struct clu_request *rq, int32_t *out)
{
    struct clu_json j;
    if (!rq->elect)
        return KC_EMALFORMED;
    int rc = clu_json_parse(&j, rq->elect, rq->elect_len);
    if (rc != 0)
        return rc;
    rc = j.ntok > 0 ? read_elect(&j, 0, out, rq->nelect) : KC_EMALFORMED;
    clu_json_fini(&j);
    return rc;
}

static int decode_elect(const struct clu_json *j, struct clu_request *rq)
{
    uint32_t arr;
    if (clu__jr_i32(j, 0, "election", 0, 1, &rq->election) != 0 ||
        clu_json_member(j, 0, "partitions", &arr) != 0 || j->tok[arr].type != CLU_JSON_ARRAY ||
        j->tok[arr].count < 1 || j->tok[arr].count > (uint32_t)INT32_MAX)
        return KC_EMALFORMED;
    int32_t n = (int32_t)j->tok[arr].count;
    int32_t *parts = malloc((size_t)n * sizeof(*parts));
    if (!parts)
        return -ENOMEM;
    int rc = read_elect(j, arr, parts, n); /* checked here, read again by the controller */
    free(parts);
    if (rc != 0)
        return rc;
    rq->elect = j->text + j->tok[arr].start;
    rq->elect_len = j->tok[arr].end - j->tok[arr].start;
    rq->nelect = n;
    return 0;
}

static int decode_request(const struct clu_json *j, struct clu_request *rq)
{
    uint32_t t;
    int64_t version;
    if (clu__jr_int(j, 0, "version", 1, INT32_MAX, &version) != 0 ||
        clu_json_member(j, 0, "type", &t) != 0 ||
        clu__jr_i32(j, 0, "broker", 0, INT32_MAX, &rq->broker) != 0 ||
        clu__jr_int(j, 0, "broker_epoch", 0, INT64_MAX, &rq->broker_epoch) != 0)
        return KC_EMALFORMED;
    if (version != 1)
        return KC_EUNSUPPORTED;
    for (int k = CLU_REQ_ALTER_PARTITION; k <= CLU_REQ_ELECT_LEADERS; k++)
        if (clu_json_str_eq(j, t, type_names[k]))
            rq->type = (enum clu_req_type)k;
    if (rq->type == 0)
        return KC_EMALFORMED;
    if (rq->type != CLU_REQ_CONTROLLED_SHUTDOWN &&
        (clu__jr_str(j, 0, "topic", rq->topic, sizeof(rq->topic)) != 0 ||
         !repl_topic_name_valid(rq->topic)))
        return KC_EMALFORMED;
    int rc = rq->type == CLU_REQ_ALTER_PARTITION ? decode_alter(j, rq)
             : rq->type == CLU_REQ_CREATE_TOPIC  ? decode_create(j, rq)
             : rq->type == CLU_REQ_CREATE_PARTITIONS ? decode_grow(j, rq)
             : rq->type == CLU_REQ_ELECT_LEADERS     ? decode_elect(j, rq)
                                                      : 0;
    return rc != 0 ? rc : decode_answer(j, rq);
}

int clu_request_decode(const char *p, size_t len, struct clu_request *out)
{
    struct clu_json j;
    struct clu_request rq;
    memset(&rq, 0, sizeof(rq));
    int rc = clu__jr_object(&j, p, len);
    if (rc != 0)
        return rc;
    rc = decode_request(&j, &rq);
    clu_json_fini(&j);
    if (rc == 0)
        *out = rq;
    return rc;
}
