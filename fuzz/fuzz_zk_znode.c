/*
 * fuzz_zk_znode.c - libFuzzer target: the JSON reader and every znode body decoder of
 * broker/cluster (clu_json.h, clu_znode.h, clu_pids.h). ZooKeeper is shared by every
 * broker, by operators and by Kafka's own tools; what a znode holds is not ours to trust.
 *
 * The first byte picks the decoder (or all of them), the rest is the body. Properties:
 *  - the reader: an accepted text is one value spanning it; every token lies inside the
 *    text; containers' subtrees nest ("next" ends within the parent's), counts match;
 *  - each decoder returns 0, KC_EMALFORMED or KC_EUNSUPPORTED (or -ENOMEM), never more;
 *  - what a decoder accepts, its encoder writes again, and the second decoding gives the
 *    same values (the decoders read nothing they cannot write back);
 *  - nothing reads out of bounds, no UB, no leak (ASan, UBSan, LeakSanitizer).
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "clu_json.h"
#include "clu_pids.h"
#include "clu_znode.h"
#include "kc_err.h"

static void check(bool ok)
{
    if (!ok)
        abort();
}

static void check_rc(int rc)
{
    check(rc == 0 || rc == KC_EMALFORMED || rc == KC_EUNSUPPORTED || rc == -ENOMEM);
}

static void json(const char *p, size_t n)
{
    struct clu_json j;
    int rc = clu_json_parse(&j, p, n);
    check(rc == 0 || rc == KC_EMALFORMED || rc == KC_ETOOLARGE || rc == -ENOMEM);
    if (rc != 0)
        return;
    check(j.ntok >= 1 && j.tok[0].next == j.ntok);
    for (uint32_t i = 0; i < j.ntok; i++) {
        const struct clu_json_tok *t = &j.tok[i];
        check(t->start <= t->end && t->end <= n && t->next > i && t->next <= j.ntok);
        if (t->type == CLU_JSON_OBJECT || t->type == CLU_JSON_ARRAY) {
            uint32_t k = i + 1, count = 0;
            while (k < t->next) {
                if (t->type == CLU_JSON_OBJECT)
                    k++; /* the key */
                check(k < t->next && j.tok[k].next <= t->next);
                k = j.tok[k].next;
                count++;
            }
            check(k == t->next && count == t->count);
        }
    }
    clu_json_fini(&j);
}

/* Encode into w (terminated by a NUL it does not count), for a second decoding. */
static const char *encoded(struct kc_writer *w, size_t *n)
{
    check(kc_writer_error(w) == 0);
    *n = kc_writer_len(w);
    kc_write_raw(w, "", 1);
    return (const char *)kc_writer_data(w);
}

static void broker(const char *p, size_t n)
{
    struct clu_broker_reg a, b;
    int rc = clu_broker_reg_decode(p, n, &a);
    check_rc(rc);
    if (rc != 0)
        return;
    struct kc_writer w;
    size_t m;
    kc_writer_init(&w, 0);
    check(clu_broker_reg_encode(&a, &w) == 0);
    const char *q = encoded(&w, &m);
    check(clu_broker_reg_decode(q, m, &b) == 0);
    check(strcmp(a.endpoints, b.endpoints) == 0 && strcmp(a.protocol_map, b.protocol_map) == 0 &&
          strcmp(a.rack, b.rack) == 0 && a.port == b.port && strcmp(a.host, b.host) == 0);
    kc_writer_fini(&w);
}

static void assignment(const char *p, size_t n)
{
    struct clu_assignment a, b;
    int rc = clu_assignment_decode(p, n, &a);
    check_rc(rc);
    if (rc != 0)
        return;
    struct repl_pstate *parts = calloc((size_t)a.npart, sizeof(*parts));
    check(parts != NULL);
    for (int32_t i = 0; i < a.npart; i++) {
        check(a.parts[i].n >= 1 && a.parts[i].n <= REPL_MAX_REPLICAS);
        parts[i].nreplicas = a.parts[i].n;
        memcpy(parts[i].replicas, a.parts[i].r, sizeof(a.parts[i].r));
    }
    struct kc_writer w;
    size_t m;
    kc_writer_init(&w, 0);
    check(clu_assignment_encode(a.topic_id[0] ? a.topic_id : "AAAAAAAAAAAAAAAAAAAAAA", parts,
                                a.npart, &w) == 0);
    const char *q = encoded(&w, &m);
    check(clu_assignment_decode(q, m, &b) == 0 && b.npart == a.npart);
    for (int32_t i = 0; i < a.npart; i++)
        check(b.parts[i].n == a.parts[i].n &&
              memcmp(b.parts[i].r, a.parts[i].r, (size_t)a.parts[i].n * sizeof(int32_t)) == 0);
    clu_assignment_fini(&b);
    clu_assignment_fini(&a);
    kc_writer_fini(&w);
    free(parts);
}

static void state(const char *p, size_t n)
{
    struct repl_pstate a = {0}, b = {0};
    int rc = clu_pstate_decode(p, n, &a);
    check_rc(rc);
    if (rc != 0)
        return;
    struct kc_writer w;
    size_t m;
    kc_writer_init(&w, 0);
    check(clu_pstate_encode(&a, &w) == 0);
    const char *q = encoded(&w, &m);
    check(clu_pstate_decode(q, m, &b) == 0);
    check(memcmp(&a, &b, sizeof(a)) == 0);
    kc_writer_fini(&w);
}

static void config(const char *p, size_t n)
{
    struct clu_kv *a, *b;
    int na, nb;
    int rc = clu_topic_config_decode(p, n, &a, &na);
    check_rc(rc);
    if (rc != 0)
        return;
    struct kc_writer w;
    size_t m;
    kc_writer_init(&w, 0);
    check(clu_topic_config_encode(a, na, &w) == 0);
    const char *q = encoded(&w, &m);
    check(clu_topic_config_decode(q, m, &b, &nb) == 0 && nb == na);
    for (int i = 0; i < na; i++)
        check(strcmp(a[i].key, b[i].key) == 0 && strcmp(a[i].value, b[i].value) == 0);
    free(a);
    free(b);
    kc_writer_fini(&w);
}

static void request(const char *p, size_t n)
{
    struct clu_request a, b;
    int rc = clu_request_decode(p, n, &a);
    check_rc(rc);
    if (rc != 0)
        return;
    struct kc_writer w;
    size_t m;
    kc_writer_init(&w, 0);
    check(clu_request_encode(&a, &w) == 0);
    const char *q = encoded(&w, &m);
    check(clu_request_decode(q, m, &b) == 0);
    check(a.type == b.type && a.broker == b.broker && a.broker_epoch == b.broker_epoch &&
          a.answered == b.answered && a.error == b.error && a.remaining == b.remaining &&
          a.has_state == b.has_state && a.isr.nisr == b.isr.nisr && strcmp(a.topic, b.topic) == 0 &&
          a.config_len == b.config_len);
    kc_writer_fini(&w);
}

static void small(const char *p, size_t n)
{
    int32_t v;
    char id[CLU_UUID_LEN + 1];
    check_rc(clu_controller_decode(p, n, &v));
    check_rc(clu_epoch_decode(p, n, &v));
    check_rc(clu_cluster_id_decode(p, n, id));
    struct clu_path path;
    char s[CLU_PATH_MAX];
    size_t k = n < sizeof(s) - 1 ? n : sizeof(s) - 1;
    memcpy(s, p, k);
    s[k] = '\0';
    int rc = clu_path_parse(s, &path);
    check(rc == 0 || rc == KC_EMALFORMED);
    struct clu_connect c;
    rc = clu_connect_parse(s, &c);
    check(rc == 0 || rc == -EINVAL);
}

/* /latest_producer_id_block: what is accepted is written back identically. */
static void pids(const char *p, size_t n)
{
    struct clu_pids_block a, b;
    char q[CLU_PIDS_BODY_MAX];
    int rc = clu_pids_block_decode(p, n, &a);
    check_rc(rc);
    if (rc != 0)
        return;
    check(a.broker >= 0 && a.start >= 0 && a.end >= a.start);
    int m = clu_pids_block_encode(&a, q, sizeof(q));
    check(m > 0 && clu_pids_block_decode(q, (size_t)m, &b) == 0);
    check(a.broker == b.broker && a.start == b.start && a.end == b.end);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static void (*const decoders[])(const char *, size_t) = {json,   broker,  assignment, state,
                                                             config, request, small,  pids};
    const size_t count = sizeof(decoders) / sizeof(decoders[0]);
    if (size == 0)
        return 0;
    const char *p = (const char *)data + 1;
    size_t n = size - 1;
    if (data[0] < count) {
        decoders[data[0]](p, n);
    } else {
        for (size_t i = 0; i < count; i++)
            decoders[i](p, n);
    }
    return 0;
}
