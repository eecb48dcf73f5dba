/*
 * kafka_cluster.c - bench_kafka against a cluster: where a partition's leader is, the
 * end-to-end latency of one record, and how long a partition is unavailable when its
 * leader dies (bench/cluster.sh drives all three; bench/README.md, "A cluster").
 *
 *   leader     Metadata until partition 0 of the topic has a leader (and, when asked, the
 *              cluster has N live brokers and a full ISR); CreateTopics first when given a
 *              replication factor. One LEADER line: the leader's broker id and port.
 *
 *   e2e        one record at a time, acks=all, to the leader, while a consumer on a second
 *              connection long-polls Fetch at the offset the record will get:
 *
 *                producer ──Produce(1 record, acks=all)──▶ leader ◀──Fetch(offset n,
 *                    t0                                    │        max_wait 2 s)── consumer
 *                                                          └──records up to the HW──▶ t1
 *
 *              latency = t1 - t0: the time until a consumer can read it. A leader that
 *              replicates shows a record only below its high watermark, so t1 includes
 *              the followers' fetch round; one that does not, only its own append. The
 *              Produce's answer must come too (acks=all: counted only when acknowledged).
 *
 *   (failover: kafka_failover.c)
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>

#include "kafka.h"
#include "kc_batch.h"
#include "kc_err.h"
#include "kc_time.h"

#define LEADER_WAIT_MS       60000 /* `leader`: how long the cluster may take to settle */
#define ISR_WAIT_MS          10000 /* `leader --brokers`: how long to wait for a full ISR */
#define E2E_MAX_WAIT_MS      2000  /* the consumer's long poll */
#define FETCH_HI_BY_NAME     12    /* topic ids differ per broker today: Fetch by name */
#define ERR_LEADER_NA        5
#define ERR_TOPIC_EXISTS     36

int16_t kafka__produce_version(const struct kafka_versions *v)
{
    return kafka__choose(v, KP_API_PRODUCE, KAFKA_V_DEFAULT, 3, KAFKA_PRODUCE_MAX);
}

/* ---- where partition 0's leader is ---------------------------------------------------- */

static int leader_from(const struct kp_metadata_resp *m, const char *topic,
                       struct kafka_leader *l)
{
    const struct kp_metadata_resp_topic *t = m->topics.n == 1 ? &m->topics.v[0] : NULL;

    *l = (struct kafka_leader){ .id = -1, .epoch = -1, .brokers = m->brokers.n };
    if (t == NULL || t->name.len != (int32_t)strlen(topic) ||
        memcmp(t->name.p, topic, strlen(topic)) != 0)
        return KC_EMALFORMED;
    if (t->error_code == ERR_LEADER_NA)
        return KC_EEMPTY;
    if (t->error_code != 0)
        return kafka__refused("Metadata", t->error_code, (struct kc_slice){ NULL, -1 });
    for (int32_t i = 0; i < t->partitions.n; i++) {
        const struct kp_metadata_resp_partition *p = &t->partitions.v[i];

        if (p->partition_index != 0)
            continue;
        l->id = p->leader_id;
        l->epoch = p->leader_epoch;
        l->replicas = p->replica_nodes.n;
        l->isr = p->isr_nodes.n;
    }
    for (int32_t i = 0; l->id >= 0 && i < m->brokers.n; i++)
        if (m->brokers.v[i].node_id == l->id)
            l->port = m->brokers.v[i].port;
    return l->port > 0 ? 0 : KC_EEMPTY; /* no leader yet, or one Metadata does not list */
}

/* Metadata (no auto-create) from the broker on port: 0 and *l, KC_EEMPTY (no leader yet),
 * -errno (the broker is not there) or a refusal. */
int kafka__leader_lookup(int port, const struct kafka_versions *v, const char *topic,
                         struct kafka_leader *l)
{
    struct kp_metadata_req_topic mt;
    struct kp_metadata_req req;
    struct kp_response r;
    struct kafka_conn c;
    int16_t version = kafka__choose(v, KP_API_METADATA, KAFKA_V_DEFAULT, 1, 12);
    int err = version >= 0 ? kafka__connect(port, &c) : KAFKA_ENOTOFFERED;

    if (version < 0)
        return err;
    kp_init(&kp_metadata_req_topic_schema, &mt);
    mt.name = (struct kc_slice){ (const uint8_t *)topic, (int32_t)strlen(topic) };
    kp_init(&kp_metadata_req_schema, &req);
    KP_SET(req.topics, 1, &mt);
    req.allow_auto_topic_creation = false;
    if (err == 0)
        err = kafka__call(&c, KP_API_METADATA, version, &req, &r);
    if (err == 0) {
        err = leader_from(r.msg, topic, l);
        kp_response_fini(&r);
    }
    kafka__close(&c);
    return err;
}

/* CreateTopics: one partition, o->replication replicas, min.insync.replicas when given.
 * An existing topic is fine (a second run of the driver on the same cluster). */
static int create_topic(const struct kafka_opts *o, const struct kafka_versions *v)
{
    char mis[16];
    struct kp_create_topics_req_creatable_topic_config cfg;
    struct kp_create_topics_req_creatable_topic t;
    struct kp_create_topics_req req;
    struct kp_response r;
    struct kafka_conn c;
    int16_t version = kafka__choose(v, KP_API_CREATE_TOPICS, KAFKA_V_DEFAULT, 0, 7);
    int err = version >= 0 ? kafka__connect(o->port, &c) : KAFKA_ENOTOFFERED;

    if (version < 0) {
        fprintf(stderr, "bench_kafka: the broker does not offer CreateTopics\n");
        return err;
    }
    snprintf(mis, sizeof(mis), "%lld", (long long)o->min_insync);
    kp_init(&kp_create_topics_req_creatable_topic_config_schema, &cfg);
    cfg.name = (struct kc_slice){ (const uint8_t *)"min.insync.replicas", 19 };
    cfg.value = (struct kc_slice){ (const uint8_t *)mis, (int32_t)strlen(mis) };
    kp_init(&kp_create_topics_req_creatable_topic_schema, &t);
    t.name = (struct kc_slice){ (const uint8_t *)o->topic, (int32_t)strlen(o->topic) };
    t.num_partitions = 1;
    t.replication_factor = (int16_t)o->replication;
    if (o->min_insync > 0)
        KP_SET(t.configs, 1, &cfg);
    kp_init(&kp_create_topics_req_schema, &req);
    KP_SET(req.topics, 1, &t);
    req.timeout_ms = 30000;
    if (err == 0)
        err = kafka__call(&c, KP_API_CREATE_TOPICS, version, &req, &r);
    if (err == 0) {
        const struct kp_create_topics_resp *m = r.msg;
        int16_t code = m->topics.n == 1 ? m->topics.v[0].error_code : -1;

        if (code != 0 && code != ERR_TOPIC_EXISTS)
            err = kafka__refused("CreateTopics", code,
                                 m->topics.n == 1 ? m->topics.v[0].error_message
                                                  : (struct kc_slice){ NULL, -1 });
        kp_response_fini(&r);
    }
    kafka__close(&c);
    return err;
}

/*
 * The leader is known, and (--brokers N) N brokers are live and the ISR is full - or, after
 * ISR_WAIT_MS, holds min.insync.replicas: a broker that does not replicate never takes a
 * restarted follower back into the ISR (the LEADER line says how many are in it).
 */
static bool settled(const struct kafka_opts *o, const struct kafka_leader *l, int64_t waited_ms)
{
    if (o->brokers == 0)
        return true;
    return l->brokers >= o->brokers &&
           (l->isr == l->replicas || (waited_ms > ISR_WAIT_MS && l->isr >= o->min_insync));
}

int kafka__run_leader(const struct kafka_opts *o, const struct kafka_versions *v)
{
    struct kafka_leader l = { .id = -1 };
    int64_t start = kc_mono_ns(), waited_ms = 0;
    int err = o->replication > 0 ? create_topic(o, v) : 0;

    while (err == 0 || err == KC_EEMPTY) {
        err = kafka__leader_lookup(o->port, v, o->topic, &l);
        waited_ms = (kc_mono_ns() - start) / 1000000;
        if (err == 0 && settled(o, &l, waited_ms))
            break;
        if (waited_ms > LEADER_WAIT_MS) {
            fprintf(stderr, "bench_kafka leader: %s not settled after %d s (leader %d, %d of "
                            "%d replicas in sync, %d brokers)\n", o->topic,
                    LEADER_WAIT_MS / 1000, l.id, l.isr, l.replicas, l.brokers);
            return -ETIMEDOUT;
        }
        err = err == 0 ? KC_EEMPTY : err;
        kc_sleep_ms(50);
    }
    if (err == 0)
        printf("LEADER topic=%s id=%d port=%d epoch=%d replicas=%d isr=%d brokers=%d\n",
               o->topic, l.id, l.port, l.epoch, l.replicas, l.isr, l.brokers);
    return err;
}

/* ---- one record, acks=all -------------------------------------------------------------- */

/* A RecordBatch of one record of o->size bytes (the caller frees *out). */
int kafka__one_record(const struct kafka_opts *o, const uint8_t *value, uint8_t **out,
                      size_t *len)
{
    struct kc_batch_builder b;
    struct kc_batch_opts opts;
    uint8_t *bytes;
    int err;

    kc_batch_opts_default(&opts);
    kc_batch_builder_init(&b, &opts, 0);
    err = kc_batch_builder_add(&b, kc_wall_ms(), NULL, -1, value, (int32_t)o->size, NULL, 0);
    if (err == 0)
        err = kc_batch_builder_finish(&b, &bytes, len);
    if (err == 0 && (*out = malloc(*len)) == NULL)
        err = -ENOMEM;
    if (err == 0)
        memcpy(*out, bytes, *len);
    kc_batch_builder_fini(&b);
    return err;
}

int kafka__produce_one(struct kafka_conn *c, int16_t version, const char *topic,
                        const uint8_t *batch, size_t len)
{
    struct kp_produce_req_partition_produce_data pd = { 0, { batch, (int32_t)len } };
    struct kp_produce_req_topic_produce_data td;
    struct kp_produce_req req;

    kp_init(&kp_produce_req_topic_produce_data_schema, &td);
    td.name = (struct kc_slice){ (const uint8_t *)topic, (int32_t)strlen(topic) };
    KP_SET(td.partition_data, 1, &pd);
    kp_init(&kp_produce_req_schema, &req);
    req.acks = -1;
    req.timeout_ms = 30000;
    KP_SET(req.topic_data, 1, &td);
    return kafka__send(c, KP_API_PRODUCE, version, &req);
}

/* The answer to the Produce with correlation id corr: 0 and *code, *base, or an error. */
int kafka__produce_answer(struct kafka_conn *c, int16_t version, int32_t corr, int16_t *code,
                        int64_t *base)
{
    struct kp_response r;
    const struct kp_produce_resp *m;
    int err = kafka__recv(c, KP_API_PRODUCE, version, corr, &r);

    if (err != 0)
        return err;
    m = r.msg;
    if (m->responses.n != 1 || m->responses.v[0].partition_responses.n != 1) {
        err = KC_EMALFORMED;
    } else {
        *code = m->responses.v[0].partition_responses.v[0].error_code;
        *base = m->responses.v[0].partition_responses.v[0].base_offset;
    }
    kp_response_fini(&r);
    return err;
}

/* ---- e2e ----------------------------------------------------------------------------- */

struct e2e {
    const struct kafka_opts *o;
    struct kafka_conn prod, cons;
    int16_t pversion, fversion;
    int32_t fetch_corr; /* the Fetch in flight */
};

static int fetch_send(struct e2e *e, int64_t offset)
{
    struct kp_fetch_req_partition p;
    struct kp_fetch_req_topic t;
    struct kp_fetch_req req;

    kp_init(&kp_fetch_req_partition_schema, &p);
    p.fetch_offset = offset;
    p.partition_max_bytes = 1 << 20;
    kp_init(&kp_fetch_req_topic_schema, &t);
    t.topic = (struct kc_slice){ (const uint8_t *)e->o->topic, (int32_t)strlen(e->o->topic) };
    KP_SET(t.partitions, 1, &p);
    kp_init(&kp_fetch_req_schema, &req);
    req.max_wait_ms = E2E_MAX_WAIT_MS;
    req.min_bytes = 1;
    req.max_bytes = 1 << 20;
    KP_SET(req.topics, 1, &t);
    e->fetch_corr = e->cons.corr;
    return kafka__send(&e->cons, KP_API_FETCH, e->fversion, &req);
}

/* The Fetch answer: does it hold offset `want`? Walks the whole batches it carries. */
static int fetch_recv(struct e2e *e, int64_t want, bool *seen)
{
    struct kp_response r;
    const struct kp_fetch_resp *m;
    int err = kafka__recv(&e->cons, KP_API_FETCH, e->fversion, e->fetch_corr, &r);

    *seen = false;
    if (err != 0)
        return err;
    m = r.msg;
    if (m->error_code != 0 || m->responses.n != 1 || m->responses.v[0].partitions.n != 1) {
        err = m->error_code != 0 ? kafka__refused("Fetch", m->error_code,
                                                  (struct kc_slice){ NULL, -1 })
                                 : KC_EMALFORMED;
    } else {
        const struct kp_fetch_resp_partition_data *pd = &m->responses.v[0].partitions.v[0];
        const uint8_t *p = pd->records.p;
        size_t len = pd->records.len > 0 ? (size_t)pd->records.len : 0, at = 0;

        if (pd->error_code != 0)
            err = kafka__refused("Fetch, partition 0", pd->error_code, (struct kc_slice){ NULL, -1 });
        while (err == 0 && at + KC_BATCH_OFF_LAST_OFFSET_DELTA + 4 <= len) {
            size_t blen = 12 + kc_load_be32(p + at + KC_BATCH_OFF_LENGTH);
            int64_t last = (int64_t)kc_load_be64(p + at) +
                           (int32_t)kc_load_be32(p + at + KC_BATCH_OFF_LAST_OFFSET_DELTA);

            if (at + blen > len)
                break; /* a batch cut short at the answer's end */
            *seen = *seen || last >= want;
            at += blen;
        }
    }
    kp_response_fini(&r);
    return err;
}

/* One record: Fetch at `next` is already in flight; Produce it and wait for both the
 * acknowledgement and a Fetch answer holding it. *lat_ns: send to seen. */
static int e2e_one(struct e2e *e, const uint8_t *batch, size_t len, int64_t next,
                   int64_t *lat_ns)
{
    int32_t corr = e->prod.corr;
    int64_t t0 = kc_mono_ns(), t_seen = 0, base = -1;
    bool acked = false, seen = false;
    int16_t code = 0;
    int err = kafka__produce_one(&e->prod, e->pversion, e->o->topic, batch, len);

    while (err == 0 && (!acked || t_seen == 0)) {
        struct pollfd pfd[2] = { { e->prod.fd, acked ? 0 : POLLIN, 0 },
                                 { e->cons.fd, t_seen ? 0 : POLLIN, 0 } };

        if (poll(pfd, 2, BENCH_TIMEOUT_MS) <= 0)
            return -ETIMEDOUT;
        if (pfd[0].revents != 0) {
            err = kafka__produce_answer(&e->prod, e->pversion, corr, &code, &base);
            if (err == 0 && code != 0)
                err = kafka__refused("Produce", code, (struct kc_slice){ NULL, -1 });
            if (err == 0 && base != next) {
                fprintf(stderr, "bench_kafka e2e: the record got offset %lld, expected %lld "
                                "(another producer on %s?)\n", (long long)base,
                        (long long)next, e->o->topic);
                err = KC_EMALFORMED;
            }
            acked = err == 0;
        }
        if (err == 0 && pfd[1].revents != 0) {
            err = fetch_recv(e, next, &seen);
            if (err == 0 && seen)
                t_seen = kc_mono_ns();
            else if (err == 0)
                err = fetch_send(e, next); /* the long poll ran out, or below the HW */
        }
    }
    *lat_ns = t_seen - t0;
    return err;
}

/* The offset the next record will get: produce one (untimed) and wait until it is seen. */
static int e2e_start(struct e2e *e, const uint8_t *batch, size_t len, int64_t *next)
{
    int32_t corr = e->prod.corr;
    int64_t lat;
    int16_t code = 0;
    int err = kafka__produce_one(&e->prod, e->pversion, e->o->topic, batch, len);

    if (err == 0)
        err = kafka__produce_answer(&e->prod, e->pversion, corr, &code, next);
    if (err == 0 && code != 0)
        err = kafka__refused("Produce", code, (struct kc_slice){ NULL, -1 });
    *next += 1;
    if (err == 0)
        err = fetch_send(e, *next);
    if (err == 0) /* one more, timed but not kept: the connections are warm after it */
        err = e2e_one(e, batch, len, (*next)++, &lat);
    return err == 0 ? fetch_send(e, *next) : err;
}

int kafka__run_e2e(const struct kafka_opts *o, const struct kafka_versions *v,
                   const uint8_t *value)
{
    struct e2e e = { .o = o, .prod = { .fd = -1 }, .cons = { .fd = -1 } };
    struct kafka_leader l;
    struct bench_result r = { .bench = o->name, .records = o->count, .bytes = o->count * o->size };
    int64_t *lat = calloc((size_t)o->count, sizeof(*lat)), next = 0, start;
    uint8_t *batch = NULL;
    size_t len = 0;
    int err = lat != NULL ? kafka__leader_lookup(o->port, v, o->topic, &l) : -ENOMEM;

    e.pversion = kafka__produce_version(v);
    e.fversion = kafka__choose(v, KP_API_FETCH, KAFKA_V_DEFAULT, 4, FETCH_HI_BY_NAME);
    if (err == 0 && (e.pversion < 0 || e.fversion < 0))
        err = KAFKA_ENOTOFFERED;
    if (err == 0)
        err = kafka__one_record(o, value, &batch, &len);
    if (err == 0)
        err = kafka__connect(l.port, &e.prod);
    if (err == 0)
        err = kafka__connect(l.port, &e.cons);
    if (err == 0)
        err = e2e_start(&e, batch, len, &next);
    start = kc_mono_ns();
    for (int64_t i = 0; err == 0 && i < o->count; i++) {
        err = e2e_one(&e, batch, len, next++, &lat[i]);
        if (err == 0 && i + 1 < o->count)
            err = fetch_send(&e, next);
    }
    r.elapsed_ns = kc_mono_ns() - start;
    r.lat_ns = lat;
    r.nlat = (size_t)o->count;
    if (err == 0) {
        bench_result_print(stdout, &r);
        printf("KAFKA bench=%s api=Produce version=%d acks=all fetch_version=%d leader=%d "
               "replicas=%d isr=%d\n", o->name, e.pversion, e.fversion, l.id, l.replicas, l.isr);
    }
    kafka__close(&e.prod);
    kafka__close(&e.cons);
    free(batch);
    free(lat);
    return err;
}
