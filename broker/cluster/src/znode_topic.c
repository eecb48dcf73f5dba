/*
 * znode_topic.c - the bodies about topics (clu_znode.h): the assignment
 * (/brokers/topics/<t>), each partition's state (.../partitions/<p>/state) and the
 * topic's configuration overrides (/config/topics/<t>).
 *
 * The assignment never changes here after creation (no reassignment), so it is the one
 * place a partition's replica list lives; the state znode holds what changes, and its
 * znode version is the partition epoch:
 *
 *   /brokers/topics/payments             {"version":3,"topic_id":"...","partitions":{"0":[2,1,3]},
 *                                         "adding_replicas":{},"removing_replicas":{}}
 *   /brokers/topics/payments/partitions/0/state    version 12
 *                                        {"controller_epoch":3,"leader":2,"version":1,
 *                                         "leader_epoch":7,"isr":[2,1]}
 *   ->  struct repl_pstate {leader 2, leader_epoch 7, partition_epoch 12,
 *                           replicas 2,1,3, isr 2,1, controller_epoch 3}
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clu_jw.h"
#include "clu_znode.h"
#include "kc_err.h"

bool clu_pstate_valid(const struct repl_pstate *ps)
{
    if (ps->nreplicas < 1 || ps->nreplicas > REPL_MAX_REPLICAS || ps->nisr < 1 ||
        ps->nisr > ps->nreplicas || ps->leader_epoch < 0 || ps->partition_epoch < 0 ||
        ps->controller_epoch < 0)
        return false;
    for (int i = 0; i < ps->nreplicas; i++) {
        if (ps->replicas[i] < 0)
            return false;
        for (int j = 0; j < i; j++)
            if (ps->replicas[i] == ps->replicas[j])
                return false;
    }
    for (int i = 0; i < ps->nisr; i++) {
        if (!repl_pstate_in_replicas(ps, ps->isr[i]))
            return false;
        for (int j = 0; j < i; j++)
            if (ps->isr[i] == ps->isr[j])
                return false;
    }
    return ps->leader == REPL_NO_LEADER || repl_pstate_in_isr(ps, ps->leader);
}

int clu_pstate_encode(const struct repl_pstate *ps, struct kc_writer *w)
{
    if (ps->nisr < 1 || ps->nisr > REPL_MAX_REPLICAS)
        return -EINVAL;
    clu__jw_raw(w, "{\"controller_epoch\":");
    clu__jw_int(w, ps->controller_epoch);
    clu__jw_raw(w, ",\"leader\":");
    clu__jw_int(w, ps->leader);
    clu__jw_raw(w, ",\"version\":1,\"leader_epoch\":");
    clu__jw_int(w, ps->leader_epoch);
    clu__jw_raw(w, ",\"isr\":");
    clu__jw_ints(w, ps->isr, ps->nisr);
    clu__jw_raw(w, "}");
    return 0;
}

static int decode_state(const struct clu_json *j, struct repl_pstate *ps)
{
    uint32_t isr;
    int64_t version, recovery = 0;
    int rc;
    if (clu__jr_int(j, 0, "version", 1, INT32_MAX, &version) != 0 ||
        clu__jr_i32(j, 0, "controller_epoch", 0, INT32_MAX, &ps->controller_epoch) != 0 ||
        clu__jr_i32(j, 0, "leader", -1, INT32_MAX, &ps->leader) != 0 ||
        clu__jr_i32(j, 0, "leader_epoch", 0, INT32_MAX, &ps->leader_epoch) != 0 ||
        clu_json_member(j, 0, "isr", &isr) != 0 ||
        clu__jr_ints(j, isr, 0, INT32_MAX, ps->isr, REPL_MAX_REPLICAS, &ps->nisr, true) != 0 ||
        ps->nisr < 1)
        return KC_EMALFORMED;
    rc = clu__jr_int(j, 0, "leader_recovery_state", 0, 1, &recovery);
    if (rc != 0 && rc != -ENOENT)
        return KC_EMALFORMED;
    if (version != 1 || recovery != 0)
        return KC_EUNSUPPORTED; /* KIP-704's RECOVERING: no unclean recovery here */
    return 0;
}

int clu_pstate_decode(const char *p, size_t len, struct repl_pstate *ps)
{
    struct clu_json j;
    struct repl_pstate tmp = *ps;
    int rc = clu__jr_object(&j, p, len);
    if (rc != 0)
        return rc;
    rc = decode_state(&j, &tmp);
    clu_json_fini(&j);
    if (rc == 0)
        *ps = tmp;
    return rc;
}

int clu_assignment_encode(const char *topic_id, const struct repl_pstate *parts, int32_t npart,
                          struct kc_writer *w)
{
    if (!clu_uuid_valid(topic_id) || npart < 1)
        return -EINVAL;
    clu__jw_raw(w, "{\"version\":3,\"topic_id\":");
    clu__jw_str(w, topic_id);
    clu__jw_raw(w, ",\"partitions\":{");
    for (int32_t p = 0; p < npart; p++) {
        char key[12];
        snprintf(key, sizeof(key), "%d", (int)p);
        clu__jw_key(w, key, p == 0);
        clu__jw_ints(w, parts[p].replicas, parts[p].nreplicas);
    }
    clu__jw_raw(w, "},\"adding_replicas\":{},\"removing_replicas\":{}}");
    return 0;
}

void clu_assignment_fini(struct clu_assignment *a)
{
    free(a->parts);
    a->parts = NULL;
    a->npart = 0;
}

/* A partition key: "0".."npart-1", decimal, no leading zeros. -1 if not. */
static int32_t part_key(const struct clu_json *j, uint32_t k, int32_t npart)
{
    char s[12];
    size_t n;
    if (clu_json_str(j, k, s, sizeof(s), &n) != 0 || n == 0 || (n > 1 && s[0] == '0'))
        return -1;
    int64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v < npart ? (int32_t)v : -1;
}

/* adding_replicas / removing_replicas: absent or {} (a reassignment is not supported). */
static int no_reassignment(const struct clu_json *j, const char *key)
{
    uint32_t v;
    int rc = clu_json_member(j, 0, key, &v);
    if (rc == -ENOENT)
        return 0;
    if (rc != 0 || j->tok[v].type != CLU_JSON_OBJECT)
        return KC_EMALFORMED;
    return j->tok[v].count == 0 ? 0 : KC_EUNSUPPORTED;
}

static int decode_assignment(const struct clu_json *j, struct clu_assignment *a)
{
    uint32_t parts;
    int64_t version;
    int rc;
    if (clu__jr_int(j, 0, "version", 1, INT32_MAX, &version) != 0 ||
        clu_json_member(j, 0, "partitions", &parts) != 0 || j->tok[parts].type != CLU_JSON_OBJECT ||
        j->tok[parts].count < 1 || j->tok[parts].count > 100000)
        return KC_EMALFORMED;
    if (version > 3)
        return KC_EUNSUPPORTED;
    rc = clu__jr_str(j, 0, "topic_id", a->topic_id, sizeof(a->topic_id));
    if ((rc != 0 && rc != -ENOENT) || (rc == 0 && !clu_uuid_valid(a->topic_id)))
        return KC_EMALFORMED;
    if ((rc = no_reassignment(j, "adding_replicas")) != 0 ||
        (rc = no_reassignment(j, "removing_replicas")) != 0)
        return rc;
    a->npart = (int32_t)j->tok[parts].count;
    a->parts = calloc((size_t)a->npart, sizeof(*a->parts));
    if (!a->parts)
        return -ENOMEM;
    uint32_t k = parts + 1;
    for (int32_t i = 0; i < a->npart; i++, k = j->tok[k + 1].next) {
        int32_t p = part_key(j, k, a->npart);
        struct clu_replicas r = {0}; /* whole: the view compares every slot (memcmp) */
        if (p < 0 || a->parts[p].n != 0 ||
            clu__jr_ints(j, k + 1, 0, INT32_MAX, r.r, REPL_MAX_REPLICAS, &r.n, true) != 0 ||
            r.n < 1)
            return KC_EMALFORMED; /* out of range, listed twice, or a bad replica list */
        a->parts[p] = r;
    }
    return 0;
}

int clu_assignment_decode(const char *p, size_t len, struct clu_assignment *out)
{
    struct clu_json j;
    struct clu_assignment a = {0};
    int rc = clu__jr_object(&j, p, len);
    if (rc != 0)
        return rc;
    rc = decode_assignment(&j, &a);
    clu_json_fini(&j);
    if (rc != 0)
        clu_assignment_fini(&a);
    else
        *out = a;
    return rc;
}

int clu_topic_config_encode(const struct clu_kv *kv, int n, struct kc_writer *w)
{
    for (int i = 0; i < n; i++)
        if (!kv[i].key || !kv[i].value)
            return -EINVAL;
    clu__jw_raw(w, "{\"version\":1,\"config\":{");
    for (int i = 0; i < n; i++) {
        clu__jw_key(w, kv[i].key, i == 0);
        clu__jw_str(w, kv[i].value);
    }
    clu__jw_raw(w, "}}");
    return 0;
}

/* A config object: every value a string. */
static bool config_object_ok(const struct clu_json *j, uint32_t obj)
{
    if (obj >= j->ntok || j->tok[obj].type != CLU_JSON_OBJECT)
        return false;
    uint32_t k = obj + 1;
    for (uint32_t i = 0; i < j->tok[obj].count; i++, k = j->tok[k + 1].next)
        if (j->tok[k + 1].type != CLU_JSON_STRING)
            return false;
    return true;
}

int clu_topic_config_encode_json(const char *config, size_t len, struct kc_writer *w)
{
    struct clu_json j;
    int rc = clu_json_parse(&j, config, len);
    if (rc != 0)
        return -EINVAL;
    bool ok = config_object_ok(&j, 0);
    clu_json_fini(&j);
    if (!ok)
        return -EINVAL;
    clu__jw_raw(w, "{\"version\":1,\"config\":");
    kc_write_raw(w, config, len);
    clu__jw_raw(w, "}");
    return 0;
}

/* Copy the pairs of object `obj` into one block: the kv array, then the strings. */
static int copy_config(const struct clu_json *j, uint32_t obj, struct clu_kv **out, int *nout)
{
    int n = (int)j->tok[obj].count;
    size_t bytes = (size_t)n * sizeof(struct clu_kv), at;
    for (uint32_t k = obj + 1, i = 0; i < (uint32_t)n; i++, k = j->tok[k + 1].next)
        bytes += (size_t)(j->tok[k].end - j->tok[k].start) +
                 (size_t)(j->tok[k + 1].end - j->tok[k + 1].start) + 2;
    struct clu_kv *kv = malloc(bytes ? bytes : 1);
    if (!kv)
        return -ENOMEM;
    at = (size_t)n * sizeof(*kv);
    uint32_t k = obj + 1;
    for (int i = 0; i < n; i++, k = j->tok[k + 1].next) {
        char *mem = (char *)kv;
        size_t len;
        /* An unescaped string is never longer than its escaped text. */
        if (clu_json_str(j, k, mem + at, bytes - at, &len) != 0)
            goto bad;
        kv[i].key = mem + at;
        at += len + 1;
        if (clu_json_str(j, k + 1, mem + at, bytes - at, &len) != 0)
            goto bad;
        kv[i].value = mem + at;
        at += len + 1;
    }
    *out = kv;
    *nout = n;
    return 0;
bad:
    free(kv);
    return KC_EMALFORMED;
}

int clu_topic_config_decode(const char *p, size_t len, struct clu_kv **kv, int *n)
{
    struct clu_json j;
    uint32_t cfg;
    int64_t version;
    int rc = clu__jr_object(&j, p, len);
    if (rc != 0)
        return rc;
    if (clu__jr_int(&j, 0, "version", 1, 1, &version) != 0 ||
        clu_json_member(&j, 0, "config", &cfg) != 0 || !config_object_ok(&j, cfg))
        rc = KC_EMALFORMED;
    else
        rc = copy_config(&j, cfg, kv, n);
    clu_json_fini(&j);
    return rc;
}
