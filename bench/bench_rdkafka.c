/*
 * bench_rdkafka.c - a librdkafka load generator: one producer, then one consumer that
 * reads everything back, against a real broker or librdkafka's built-in mock cluster.
 *
 *   bench_rdkafka (--mock | --brokers host:port) [--count 1000000] [--size 100]
 *                 [--topic bench-rdkafka] [--partitions 32] [--linger-ms 5]
 *                 [--batch-bytes 1000000] [--fetch-bytes 1048576] [--name rdkafka_mock]
 *
 * Produce: --count records of --size bytes, spread round-robin over the topic's
 * --partitions partitions (no key, no compression, acks=1, no idempotence), with
 * linger.ms and batch.size set for throughput. Each record's delivery report is counted;
 * the figure is the time from the first produce call to the end of rd_kafka_flush() (the
 * connection and the topic's metadata are fetched before the clock starts), and the run
 * fails unless every record was reported delivered.
 *
 * Consume: a second client assigns itself every partition from the beginning (assign(),
 * not subscribe(): it has a group.id, as librdkafka's consumer API requires, but never
 * joins the group or commits) and polls until it has seen every record, checking each
 * one's size. The figure is the time from the first record to the last: the consumer's
 * start-up (connection, metadata, finding where the partitions begin) is not counted.
 *
 * Why 32 partitions: the mock cluster keeps at most 5 MiB per partition and silently
 * drops older data beyond that, so "read everything back" needs the records spread out
 * (1,000,000 records of 100 B are about 3.5 MiB per partition). The real broker gets the
 * same layout, so both sides do the same work.
 *
 * --mock starts librdkafka's mock cluster inside this process (test.mock.num.brokers=1)
 * and points both clients at it: a broker that keeps everything in memory and shares the
 * client's CPU, so its figures are the client library's own ceiling on this machine. The
 * same code then runs against the real broker (run.sh creates the topic there first) and
 * the ratio of the two says how much of the client's ceiling the broker lets it reach.
 *
 * Prints two RESULT lines (bench.h): bench=<name>_produce and bench=<name>_consume.
 *
 * --probe only asks --brokers for metadata (5 s at most) and exits 0 if it answered as a
 * Kafka broker within 5 s, 3 if not: run.sh's test for "does the broker speak Kafka yet".
 */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include "bench.h"
#include "kc_time.h"

struct rdk_opts {
    const char *brokers; /* NULL with --mock */
    bool mock;
    bool probe;
    int64_t count;
    int64_t size;
    const char *topic;
    int64_t partitions;
    int64_t linger_ms;
    int64_t batch_bytes;
    int64_t fetch_bytes;
    const char *name;
};

/* Records in a row to one partition before moving to the next (full batches). */
#define RDK_RUN 10000

struct rdk_dr {
    int64_t ok;
    int64_t failed;
    rd_kafka_resp_err_t first_err;
};

/* Delivery reports are served by rd_kafka_poll()/flush() on the producing thread. */
static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    struct rdk_dr *dr = opaque;

    (void)rk;
    if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
        dr->ok++;
        return;
    }
    if (dr->failed++ == 0)
        dr->first_err = m->err;
}

static int conf_set(rd_kafka_conf_t *conf, const char *key, const char *val)
{
    char errstr[256];

    if (rd_kafka_conf_set(conf, key, val, errstr, sizeof(errstr)) == RD_KAFKA_CONF_OK)
        return 0;
    fprintf(stderr, "bench_rdkafka: %s=%s: %s\n", key, val, errstr);
    return -1;
}

static int conf_set_i64(rd_kafka_conf_t *conf, const char *key, int64_t v)
{
    char buf[32];

    snprintf(buf, sizeof(buf), "%lld", (long long)v);
    return conf_set(conf, key, buf);
}

static rd_kafka_t *new_client(rd_kafka_type_t type, rd_kafka_conf_t *conf)
{
    char errstr[256];
    rd_kafka_t *rk = rd_kafka_new(type, conf, errstr, sizeof(errstr));

    if (rk == NULL) {
        fprintf(stderr, "bench_rdkafka: rd_kafka_new: %s\n", errstr);
        rd_kafka_conf_destroy(conf); /* rd_kafka_new owns conf only on success */
    }
    return rk;
}

/* ---- producer -------------------------------------------------------------------------- */

static rd_kafka_t *producer_new(const struct rdk_opts *o, struct rdk_dr *dr)
{
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    int bad = 0;

    bad |= o->mock ? conf_set(conf, "test.mock.num.brokers", "1")
                   : conf_set(conf, "bootstrap.servers", o->brokers);
    bad |= conf_set(conf, "acks", "1");
    bad |= conf_set(conf, "enable.idempotence", "false");
    bad |= conf_set(conf, "compression.codec", "none");
    bad |= conf_set_i64(conf, "linger.ms", o->linger_ms);
    bad |= conf_set_i64(conf, "batch.size", o->batch_bytes);
    bad |= conf_set(conf, "batch.num.messages", "1000000");
    bad |= conf_set(conf, "queue.buffering.max.messages", "2000000");
    bad |= conf_set(conf, "queue.buffering.max.kbytes", "1048576");
    bad |= conf_set(conf, "message.max.bytes", "10000000");
    rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
    rd_kafka_conf_set_opaque(conf, dr);
    if (bad) {
        rd_kafka_conf_destroy(conf);
        return NULL;
    }
    return new_client(RD_KAFKA_PRODUCER, conf);
}

static int produce_all(rd_kafka_t *rk, const struct rdk_opts *o, const uint8_t *value)
{
    for (int64_t i = 0; i < o->count; i++) {
        rd_kafka_resp_err_t err = rd_kafka_producev(
            rk, RD_KAFKA_V_TOPIC(o->topic), RD_KAFKA_V_PARTITION((int32_t)(i / RDK_RUN % o->partitions)),
            RD_KAFKA_V_VALUE((void *)value, (size_t)o->size),
            RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);

        if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL) { /* the local queue is full: wait */
            rd_kafka_poll(rk, 10);
            i--;
            continue;
        }
        if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
            fprintf(stderr, "bench_rdkafka: produce: %s\n", rd_kafka_err2str(err));
            return -1;
        }
        if ((i & 0xffff) == 0)
            rd_kafka_poll(rk, 0); /* serve delivery reports as we go */
    }
    return 0;
}

/* Connect and learn the topic's partitions (and their leader) before the clock starts. */
static int warm_up(rd_kafka_t *rk, const struct rdk_opts *o)
{
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, o->topic, NULL);
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_resp_err_t err = RD_KAFKA_RESP_ERR__FAIL;
    int nparts = 0;

    if (rkt != NULL)
        err = rd_kafka_metadata(rk, 0, rkt, &md, BENCH_TIMEOUT_MS);
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR && md->topic_cnt == 1 && md->topics[0].err == 0)
        nparts = md->topics[0].partition_cnt;
    if (md != NULL)
        rd_kafka_metadata_destroy(md);
    if (rkt != NULL)
        rd_kafka_topic_destroy(rkt);
    if (nparts >= o->partitions)
        return 0;
    fprintf(stderr, "bench_rdkafka: topic %s: %d partitions (want %lld): %s\n", o->topic,
            nparts, (long long)o->partitions, rd_kafka_err2str(err));
    return -1;
}

/* Produce everything and wait for every delivery report; prints the RESULT line. */
static int run_producer(rd_kafka_t *rk, const struct rdk_opts *o, struct rdk_dr *dr)
{
    char name[96];
    struct bench_result r = { .bench = name, .records = o->count };
    uint8_t *value = malloc((size_t)o->size);
    int64_t start;
    rd_kafka_resp_err_t ferr;
    int rc;

    if (value == NULL || warm_up(rk, o) != 0) {
        free(value);
        return -1;
    }
    bench_fill_payload(value, (size_t)o->size, 7);
    start = kc_mono_ns();
    rc = produce_all(rk, o, value);
    ferr = rc == 0 ? rd_kafka_flush(rk, BENCH_TIMEOUT_MS) : RD_KAFKA_RESP_ERR__FAIL;
    r.elapsed_ns = kc_mono_ns() - start;
    free(value);
    if (ferr != RD_KAFKA_RESP_ERR_NO_ERROR || dr->ok != o->count || dr->failed != 0) {
        fprintf(stderr, "bench_rdkafka: %lld of %lld delivered, %lld failed (%s), flush: %s\n",
                (long long)dr->ok, (long long)o->count, (long long)dr->failed,
                rd_kafka_err2str(dr->first_err), rd_kafka_err2str(ferr));
        return -1;
    }
    snprintf(name, sizeof(name), "%s_produce", o->name);
    r.bytes = o->count * o->size;
    bench_result_print(stdout, &r);
    return 0;
}

/* ---- consumer -------------------------------------------------------------------------- */

static rd_kafka_t *consumer_new(const struct rdk_opts *o, const char *bootstraps)
{
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    int bad = 0;

    bad |= conf_set(conf, "bootstrap.servers", bootstraps);
    bad |= conf_set(conf, "group.id", "bench-rdkafka"); /* the consumer API wants one */
    bad |= conf_set(conf, "enable.auto.commit", "false");
    bad |= conf_set(conf, "enable.partition.eof", "false");
    bad |= conf_set_i64(conf, "max.partition.fetch.bytes", o->fetch_bytes);
    bad |= conf_set(conf, "fetch.wait.max.ms", "100");
    bad |= conf_set(conf, "queued.min.messages", "1000000");
    bad |= conf_set(conf, "receive.message.max.bytes", "100000000");
    if (getenv("BENCH_RDKAFKA_DEBUG") != NULL) /* e.g. "fetch,consumer": librdkafka's own */
        bad |= conf_set(conf, "debug", getenv("BENCH_RDKAFKA_DEBUG"));
    if (bad) {
        rd_kafka_conf_destroy(conf);
        return NULL;
    }
    return new_client(RD_KAFKA_CONSUMER, conf);
}

static int assign_from_start(rd_kafka_t *rk, const struct rdk_opts *o)
{
    rd_kafka_topic_partition_list_t *parts =
        rd_kafka_topic_partition_list_new((int)o->partitions);
    rd_kafka_resp_err_t err;

    for (int32_t i = 0; i < o->partitions; i++)
        rd_kafka_topic_partition_list_add(parts, o->topic, i)->offset =
            RD_KAFKA_OFFSET_BEGINNING;
    err = rd_kafka_assign(rk, parts);
    rd_kafka_topic_partition_list_destroy(parts);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR)
        fprintf(stderr, "bench_rdkafka: assign: %s\n", rd_kafka_err2str(err));
    return err == RD_KAFKA_RESP_ERR_NO_ERROR ? 0 : -1;
}

/* One polled message: 1 if it is a record of the right size, 0 if not a record, -1 bad. */
static int take_message(rd_kafka_message_t *m, const struct rdk_opts *o)
{
    int rc = 1;

    if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        fprintf(stderr, "bench_rdkafka: consume: %s\n", rd_kafka_message_errstr(m));
        rc = -1;
    } else if ((int64_t)m->len != o->size) {
        fprintf(stderr, "bench_rdkafka: record of %zu bytes, want %lld\n", m->len,
                (long long)o->size);
        rc = -1;
    }
    rd_kafka_message_destroy(m);
    return rc;
}

static int run_consumer(rd_kafka_t *rk, const struct rdk_opts *o)
{
    char name[96];
    struct bench_result r = { .bench = name, .records = o->count };
    int64_t start = 0;
    int64_t deadline = kc_mono_ms() + BENCH_TIMEOUT_MS;
    int64_t got = 0;

    rd_kafka_resp_err_t err = rd_kafka_poll_set_consumer(rk);

    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        fprintf(stderr, "bench_rdkafka: poll_set_consumer: %s\n", rd_kafka_err2str(err));
        return -1;
    }
    if (assign_from_start(rk, o) != 0)
        return -1;
    while (got < o->count && kc_mono_ms() < deadline) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 100);
        int rc = m != NULL ? take_message(m, o) : 0;

        if (rc < 0)
            return -1;
        if (got == 0 && rc > 0)
            start = kc_mono_ns(); /* the clock starts at the first record */
        got += rc;
    }
    r.elapsed_ns = kc_mono_ns() - start;
    if (got != o->count) {
        fprintf(stderr, "bench_rdkafka: consumed %lld of %lld records before the timeout\n",
                (long long)got, (long long)o->count);
        return -1;
    }
    snprintf(name, sizeof(name), "%s_consume", o->name);
    r.bytes = got * o->size;
    bench_result_print(stdout, &r);
    return 0;
}

/* ---- main ------------------------------------------------------------------------------ */

/* With --mock: the mock cluster the producer started, with our one-partition topic. */
static const char *mock_bootstraps(rd_kafka_t *producer, const struct rdk_opts *o)
{
    rd_kafka_mock_cluster_t *mc = rd_kafka_handle_mock_cluster(producer);

    if (mc == NULL || rd_kafka_mock_topic_create(mc, o->topic, (int)o->partitions, 1) !=
                          RD_KAFKA_RESP_ERR_NO_ERROR) {
        fprintf(stderr, "bench_rdkafka: no mock cluster, or its topic cannot be made\n");
        return NULL;
    }
    return rd_kafka_mock_cluster_bootstraps(mc);
}

static int run(const struct rdk_opts *o)
{
    struct rdk_dr dr = { 0 };
    rd_kafka_t *prod = producer_new(o, &dr);
    rd_kafka_t *cons = NULL;
    const char *boot = o->brokers;
    int rc = -1;

    if (prod == NULL)
        return -1;
    if (o->mock)
        boot = mock_bootstraps(prod, o);
    if (boot != NULL && run_producer(prod, o, &dr) == 0)
        cons = consumer_new(o, boot);
    if (cons != NULL) {
        rc = run_consumer(cons, o);
        (void)rd_kafka_consumer_close(cons); /* never joined, nothing to commit */
        rd_kafka_destroy(cons);
    }
    rd_kafka_destroy(prod); /* last: with --mock it owns the cluster */
    return rc;
}

/* Does --brokers answer a Metadata request as a Kafka broker would? */
static int probe(const struct rdk_opts *o)
{
    struct rdk_dr dr = { 0 };
    rd_kafka_t *rk = producer_new(o, &dr);
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_resp_err_t err = RD_KAFKA_RESP_ERR__FAIL;

    if (rk != NULL)
        err = rd_kafka_metadata(rk, 1, NULL, &md, 5000);
    if (md != NULL)
        rd_kafka_metadata_destroy(md);
    if (rk != NULL)
        rd_kafka_destroy(rk);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR)
        fprintf(stderr, "bench_rdkafka: %s does not answer as a Kafka broker: %s\n",
                o->brokers, rd_kafka_err2str(err));
    return err == RD_KAFKA_RESP_ERR_NO_ERROR ? 0 : 3;
}

static void usage(void)
{
    fprintf(stderr, "usage: bench_rdkafka (--mock | --brokers HOST:PORT) [--count N] [--size B]\n"
                    "                     [--topic T] [--partitions N] [--linger-ms MS]\n"
                    "                     [--batch-bytes B]\n"
                    "                     [--fetch-bytes B] [--name NAME]\n"
                    "       bench_rdkafka --brokers HOST:PORT --probe\n");
    exit(2);
}

static void parse(int argc, char **argv, struct rdk_opts *o)
{
    static const struct option longs[] = {
        { "mock", 0, NULL, 'm' },        { "brokers", 1, NULL, 'b' },
        { "count", 1, NULL, 'n' },       { "size", 1, NULL, 's' },
        { "topic", 1, NULL, 't' },       { "partitions", 1, NULL, 'P' },
        { "linger-ms", 1, NULL, 'l' },
        { "batch-bytes", 1, NULL, 'B' }, { "fetch-bytes", 1, NULL, 'f' },
        { "name", 1, NULL, 'N' },        { "probe", 0, NULL, 'Q' },
        { NULL, 0, NULL, 0 },
    };
    int ch;

    while ((ch = getopt_long(argc, argv, "", longs, NULL)) != -1) {
        switch (ch) {
        case 'm': o->mock = true; break;
        case 'b': o->brokers = optarg; break;
        case 'n': o->count = bench_opt_i64("--count", optarg, 1, 100000000); break;
        case 's': o->size = bench_opt_i64("--size", optarg, 1, 1 << 20); break;
        case 't': o->topic = optarg; break;
        case 'P': o->partitions = bench_opt_i64("--partitions", optarg, 1, 10000); break;
        case 'l': o->linger_ms = bench_opt_i64("--linger-ms", optarg, 0, 60000); break;
        case 'B': o->batch_bytes = bench_opt_i64("--batch-bytes", optarg, 1, 1 << 30); break;
        case 'f': o->fetch_bytes = bench_opt_i64("--fetch-bytes", optarg, 1, 1 << 28); break;
        case 'N': o->name = optarg; break;
        case 'Q': o->probe = true; break;
        default: usage();
        }
    }
    if (o->mock == (o->brokers != NULL) || (o->probe && o->mock))
        usage();
}

int main(int argc, char **argv)
{
    struct rdk_opts o = { .count = 1000000, .size = 100, .topic = "bench-rdkafka",
                          .partitions = 32, .linger_ms = 5, .batch_bytes = 1000000,
                          .fetch_bytes = 1 << 20 };

    parse(argc, argv, &o);
    if (o.probe)
        return probe(&o);
    if (o.name == NULL)
        o.name = o.mock ? "rdkafka_mock" : "rdkafka_broker";
    return run(&o) == 0 ? 0 : 1;
}
