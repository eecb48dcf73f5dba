/*
 * test_0101_kafka_kcat.c - kcat (librdkafka 2.x) against the broker, unchanged: -L; -P of
 * many records with and without keys and with every compression codec; -C -o beginning -e
 * reading back exactly what was produced; keyed records on Kafka's murmur2 partition;
 * compressed batches stored as they came and served back byte for byte; and one truth
 * across protocols (kcat -> kafka_cli and kafka_cli -> kcat).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "kafka/kt.h"
#include "part.h"

#define PARTS 3

static int setup(void **state)
{
    kt_require("kcat", "kcat");
    kb_setup(state);
    const char *args[] = {"--override", "num.partitions=3", NULL};
    kb_start(*state, args);
    return 0;
}

/* One record as kcat prints it with -f '%p\t%o\t%k\t%s\n'. */
struct rec {
    int32_t partition;
    int64_t offset;
    char *key;
    char *value;
};

/* Parse kcat's output in place (lines of four tab-separated fields). */
static int parse_recs(char *text, struct rec *out, int cap)
{
    int n = 0;
    for (char *line = strtok(text, "\n"); line && n < cap; line = strtok(NULL, "\n")) {
        char *f[4] = {line};
        for (int i = 1; i < 4; i++) {
            char *tab = f[i - 1] ? strchr(f[i - 1], '\t') : NULL;
            f[i] = tab ? tab + 1 : NULL;
            if (tab)
                *tab = '\0';
        }
        if (!f[3])
            fail_msg("kcat printed a line that is not a record: %s", line);
        out[n++] = (struct rec){atoi(f[0]), atoll(f[1]), f[2], f[3]};
    }
    return n;
}

/* Random printable bytes, some of them UTF-8, never tab, newline or ':' (kcat's -K). */
static void random_text(uint64_t *rng, char *buf, size_t len)
{
    static const char extra[] = "\xc3\xa9\xe2\x82\xac"; /* e-acute, euro: whole sequences */
    size_t i = 0;
    while (i < len) {
        uint64_t r = kc_test_rand(rng);
        if (r % 17 == 0 && i + 5 <= len) {
            memcpy(buf + i, extra, 5);
            i += 5;
            continue;
        }
        char ch = (char)(0x20 + (r >> 8) % 95);
        buf[i++] = ch == ':' ? '.' : ch;
    }
    buf[len] = '\0';
}

struct produced {
    char **key;   /* NULL entries: keyless */
    char **value;
    int n;
    struct kc_writer in; /* what kcat -P reads */
};

static void produced_make(struct produced *pr, int n, bool keyed, uint64_t *rng)
{
    char buf[400];
    pr->n = n;
    pr->key = calloc((size_t)n, sizeof(char *));
    pr->value = calloc((size_t)n, sizeof(char *));
    assert_non_null(pr->key);
    assert_non_null(pr->value);
    kc_writer_init(&pr->in, 0);
    for (int i = 0; i < n; i++) {
        if (keyed) {
            int kl = snprintf(buf, sizeof(buf), "key-%d-", i);
            random_text(rng, buf + kl, 1 + kc_test_rand(rng) % 20);
            pr->key[i] = strdup(buf);
            kc_write_raw(&pr->in, buf, strlen(buf));
            kc_write_raw(&pr->in, ":", 1);
        }
        int vl = snprintf(buf, sizeof(buf), "%d|", i);
        random_text(rng, buf + vl, kc_test_rand(rng) % 300);
        pr->value[i] = strdup(buf);
        kc_write_raw(&pr->in, buf, strlen(buf));
        kc_write_raw(&pr->in, "\n", 1);
    }
}

static void produced_free(struct produced *pr)
{
    for (int i = 0; i < pr->n; i++) {
        free(pr->key[i]);
        free(pr->value[i]);
    }
    free(pr->key);
    free(pr->value);
    kc_writer_fini(&pr->in);
}

static void kcat_produce(const struct kb_broker *b, const char *topic, const struct produced *pr,
                         bool keyed, const char *codec)
{
    char *out, *err;
    const char *argv[16] = {"kcat", "-b", kt_addr(b), "-P", "-t", topic};
    int k = 6;
    if (keyed) {
        /* librdkafka's default partitioner hashes keys with CRC32 ("consistent_random");
         * murmur2_random is the Java client's: Kafka's default, and part_for_key's. */
        argv[k++] = "-K:";
        argv[k++] = "-X";
        argv[k++] = "partitioner=murmur2_random";
    }
    if (codec) {
        argv[k++] = "-z";
        argv[k++] = codec;
    }
    argv[k] = NULL;
    int64_t t0 = kc_mono_ms();
    int rc = kt_run(b, argv, kc_writer_data(&pr->in), kc_writer_len(&pr->in), 60000, &out,
                    NULL, &err);
    if (rc != 0)
        fail_msg("kcat -P exited %d:\n%s", rc, err);
    printf("# kcat -P %s: %d records (%zu bytes)%s%s in %lld ms\n", topic, pr->n,
           kc_writer_len(&pr->in), codec ? " -z " : "", codec ? codec : "",
           (long long)(kc_mono_ms() - t0));
    free(out);
    free(err);
}

/* kcat -C -o beginning -e: every record of topic, as text (malloc'ed). */
static char *kcat_consume(const struct kb_broker *b, const char *topic, const char *fmt)
{
    char *out, *err;
    const char *argv[] = {"kcat", "-b", kt_addr(b), "-C", "-t", topic, "-o", "beginning", "-e",
                          "-q", "-f", fmt, NULL};
    int64_t t0 = kc_mono_ms();
    int rc = kt_run(b, argv, NULL, 0, 60000, &out, NULL, &err);
    if (rc != 0)
        fail_msg("kcat -C exited %d:\n%s", rc, err);
    printf("# kcat -C %s: %lld ms\n", topic, (long long)(kc_mono_ms() - t0));
    free(err);
    return out;
}

/* ---- tests ------------------------------------------------------------------------------- */

static void test_0101_list_names_this_broker_and_topics(void **state)
{
    struct kb_broker *b = *state;
    char *out, *err, expect[200];
    const char *create[] = {"0", "listed", "5", NULL};
    assert_int_equal(kb_cli(b, NULL, &out, &err, create), 0);
    free(out);
    free(err);
    const char *argv[] = {"kcat", "-b", kt_addr(b), "-L", NULL};
    assert_int_equal(kt_run(b, argv, NULL, 0, 30000, &out, NULL, &err), 0);
    printf("%s", out);
    snprintf(expect, sizeof(expect), "broker 0 at 127.0.0.1:%d (controller)", b->port);
    assert_non_null(strstr(out, expect));
    assert_non_null(strstr(out, "topic \"listed\" with 5 partitions:"));
    assert_non_null(strstr(out, "partition 4, leader 0, replicas: 0, isrs: 0"));
    assert_non_null(strstr(out, "topic \"__consumer_offsets\" with 1 partitions:"));
    free(out);
    free(err);
}

/* Keyed records: each on murmur2(key) % partitions, in order, every byte as produced. */
static void test_0101_keyed_records_on_kafka_partition_byte_for_byte(void **state)
{
    struct kb_broker *b = *state;
    struct produced pr;
    uint64_t rng = kc_test_seed() | 1;
    enum { N = 3000 };
    struct rec *got = calloc(N + 1, sizeof(*got));
    int64_t next[PARTS] = {0};
    assert_non_null(got);
    produced_make(&pr, N, true, &rng);
    kcat_produce(b, "keyed", &pr, true, NULL); /* auto-created with num.partitions */
    char *out = kcat_consume(b, "keyed", "%p\t%o\t%k\t%s\n");
    assert_int_equal(parse_recs(out, got, N + 1), N);
    /* Records of one partition arrive in produce order: index them by value prefix. */
    int last[PARTS] = {-1, -1, -1};
    for (int i = 0; i < N; i++) {
        int idx = atoi(got[i].value);
        assert_true(idx >= 0 && idx < N);
        assert_string_equal(got[i].value, pr.value[idx]);
        assert_string_equal(got[i].key, pr.key[idx]);
        int32_t want = part_for_key(pr.key[idx], strlen(pr.key[idx]), PARTS);
        assert_int_equal(got[i].partition, want);
        assert_true(idx > last[want]);
        last[want] = idx;
        assert_int_equal(got[i].offset, next[want]++); /* dense offsets from 0 */
    }
    printf("# %d keyed records: %lld, %lld, %lld per partition\n", N, (long long)next[0],
           (long long)next[1], (long long)next[2]);
    free(out);
    free(got);
    produced_free(&pr);
}

/* Keyless records: all of them, each once, per-partition order kept. */
static void test_0101_keyless_records_read_back_exactly(void **state)
{
    struct kb_broker *b = *state;
    struct produced pr;
    uint64_t rng = kc_test_seed() | 1;
    enum { N = 20000 };
    struct rec *got = calloc(N + 1, sizeof(*got));
    bool *seen = calloc(N, sizeof(bool));
    int last[PARTS] = {-1, -1, -1};
    assert_non_null(got);
    assert_non_null(seen);
    produced_make(&pr, N, false, &rng);
    kcat_produce(b, "keyless", &pr, false, NULL);
    char *out = kcat_consume(b, "keyless", "%p\t%o\t%k\t%s\n");
    assert_int_equal(parse_recs(out, got, N + 1), N);
    for (int i = 0; i < N; i++) {
        int idx = atoi(got[i].value);
        assert_true(idx >= 0 && idx < N && !seen[idx]);
        seen[idx] = true;
        assert_string_equal(got[i].value, pr.value[idx]);
        assert_string_equal(got[i].key, "");
        assert_true(idx > last[got[i].partition]);
        last[got[i].partition] = idx;
    }
    free(out);
    free(got);
    free(seen);
    produced_free(&pr);
}

/* The stored segment, batch by batch: every CRC right; how many carry codec. */
static int stored_batches(const struct kb_broker *b, const char *topic, int codec, int *total,
                          uint8_t **file, size_t *file_len)
{
    char path[700];
    snprintf(path, sizeof(path), "%s/%s-0/00000000000000000000.log", b->data, topic);
    *file = (uint8_t *)kt_slurp(path, file_len);
    int with = 0;
    *total = 0;
    for (size_t at = 0; at < *file_len;) {
        struct kc_batch_header h;
        int size = kc_batch_validate(*file + at, *file_len - at, &h);
        assert_true(size > 0);
        with += (h.attributes & KC_BATCH_ATTR_COMPRESSION) == codec;
        (*total)++;
        at += (size_t)size;
    }
    return with;
}

/* Fetch v11 of partition 0 from offset 0 over a raw socket: the records bytes. */
static uint8_t *raw_fetch_all(const struct kb_broker *b, const char *topic, int32_t *len)
{
    struct kc_writer w;
    struct kc_reader r;
    struct kc_slice name, recs;
    static uint8_t buf[8 << 20];
    int32_t i32;
    int16_t i16;
    int64_t i64;
    int fd = kb_connect(b);
    kc_writer_init(&w, 0);
    size_t at = kt_req_begin(&w, KP_API_FETCH, 11, 5);
    kc_write_i32(&w, -1);       /* replica */
    kc_write_i32(&w, 0);        /* max_wait */
    kc_write_i32(&w, 1);        /* min_bytes */
    kc_write_i32(&w, 8 << 20);  /* max_bytes */
    kc_write_i8(&w, 0);         /* read_uncommitted */
    kc_write_i32(&w, 0);        /* session id */
    kc_write_i32(&w, -1);       /* session epoch */
    kc_write_i32(&w, 1);
    kc_write_cstr(&w, topic);
    kc_write_i32(&w, 1);
    kc_write_i32(&w, 0);        /* partition */
    kc_write_i32(&w, -1);       /* leader epoch */
    kc_write_i64(&w, 0);        /* fetch offset */
    kc_write_i64(&w, -1);       /* log start */
    kc_write_i32(&w, 8 << 20);  /* partition max */
    kc_write_i32(&w, 0);        /* forgotten */
    kc_write_cstr(&w, "");      /* rack */
    kt_req_end(&w, at);
    ssize_t n = kt_roundtrip(fd, &w, buf, sizeof(buf));
    assert_true(n > 0);
    kt_body(&r, buf, n);
    assert_int_equal(kc_read_i32(&r, &i32), 0); /* throttle */
    assert_int_equal(kc_read_i16(&r, &i16), 0);
    assert_int_equal(i16, 0);
    assert_int_equal(kc_read_i32(&r, &i32), 0); /* session */
    assert_int_equal(kc_read_i32(&r, &i32), 0);
    assert_int_equal(i32, 1);
    assert_int_equal(kc_read_str(&r, &name), 0);
    assert_int_equal(kc_read_i32(&r, &i32), 0);
    assert_int_equal(kc_read_i32(&r, &i32), 0);   /* index */
    assert_int_equal(kc_read_i16(&r, &i16), 0);
    assert_int_equal(i16, 0);
    for (int i = 0; i < 3; i++)
        assert_int_equal(kc_read_i64(&r, &i64), 0); /* hwm, lso, log start */
    assert_int_equal(kc_read_i32(&r, &i32), 0);     /* aborted: null */
    assert_int_equal(i32, -1);
    assert_int_equal(kc_read_i32(&r, &i32), 0);     /* preferred replica */
    assert_int_equal(kc_read_bytes(&r, &recs), 0);
    uint8_t *copy = malloc((size_t)recs.len + 1);
    assert_non_null(copy);
    memcpy(copy, recs.p, (size_t)recs.len);
    *len = recs.len;
    kc_writer_fini(&w);
    close(fd);
    return copy;
}

static void compression_round_trip(struct kb_broker *b, const char *codec, int codec_id)
{
    struct produced pr;
    char topic[64], *out, *err;
    uint64_t rng = 42;
    snprintf(topic, sizeof(topic), "z-%s", codec);
    const char *create[] = {"0", topic, "1", NULL};
    assert_int_equal(kb_cli(b, NULL, &out, &err, create), 0);
    free(out);
    free(err);
    produced_make(&pr, 2000, false, &rng);
    /* Repetitive values compress: librdkafka sends a batch plain when it would not shrink. */
    for (int i = 0; i < pr.n; i++)
        memset(pr.value[i] + strcspn(pr.value[i], "|") + 1, 'a',
               strlen(pr.value[i]) - strcspn(pr.value[i], "|") - 1);
    kc_writer_reset(&pr.in);
    for (int i = 0; i < pr.n; i++) {
        kc_write_raw(&pr.in, pr.value[i], strlen(pr.value[i]));
        kc_write_raw(&pr.in, "\n", 1);
    }
    kcat_produce(b, topic, &pr, false, codec);
    out = kcat_consume(b, topic, "%s\n");
    assert_int_equal(strlen(out), kc_writer_len(&pr.in));
    assert_memory_equal(out, kc_writer_data(&pr.in), kc_writer_len(&pr.in));
    free(out);
    int total;
    uint8_t *file;
    size_t file_len;
    int with = stored_batches(b, topic, codec_id, &total, &file, &file_len);
    printf("# %s: %d of %d stored batches compressed with it, %zu bytes for %zu of text\n",
           codec, with, total, file_len, kc_writer_len(&pr.in));
    assert_true(with >= 1 && with * 2 >= total);
    int32_t flen;
    uint8_t *fetched = raw_fetch_all(b, topic, &flen);
    assert_int_equal((size_t)flen, file_len); /* served as stored, byte for byte */
    assert_memory_equal(fetched, file, file_len);
    free(fetched);
    free(file);
    produced_free(&pr);
}

static void test_0101_compression_stored_as_sent_served_byte_for_byte(void **state)
{
    compression_round_trip(*state, "gzip", KC_COMPRESS_GZIP);
    compression_round_trip(*state, "snappy", KC_COMPRESS_SNAPPY);
    compression_round_trip(*state, "lz4", KC_COMPRESS_LZ4);
    compression_round_trip(*state, "zstd", KC_COMPRESS_ZSTD);
}

/* kcat's records through kafka_cli (consume 2 and consume-batch 6), and the reverse. */
static void test_0101_one_truth_across_protocols(void **state)
{
    struct kb_broker *b = *state;
    char *out, *err, line[128];
    struct kc_writer in, want;
    kc_writer_init(&in, 0);
    kc_writer_init(&want, 0);
    const char *create[] = {"0", "both", "1", NULL};
    assert_int_equal(kb_cli(b, NULL, &out, &err, create), 0);
    free(out);
    free(err);
    for (int i = 0; i < 50; i++) {
        int n = snprintf(line, sizeof(line), "from kcat %d\n", i);
        kc_write_raw(&in, line, (size_t)n);
        n = snprintf(line, sizeof(line), "%d\tfrom kcat %d\n", i, i);
        kc_write_raw(&want, line, (size_t)n);
    }
    kc_write_raw(&want, "", 1);
    const char *prod[] = {"kcat", "-b", kt_addr(b), "-P", "-t", "both", NULL};
    assert_int_equal(kt_run(b, prod, kc_writer_data(&in), kc_writer_len(&in), 30000, &out, NULL,
                            &err), 0);
    free(out);
    free(err);
    const char *batch[] = {"6", "both", "0", "0", "100", NULL};
    assert_int_equal(kb_cli(b, NULL, &out, &err, batch), 0);
    assert_string_equal(out, (char *)kc_writer_data(&want));
    free(out);
    free(err);
    const char *one[] = {"2", "both", "0", "37", NULL};
    assert_int_equal(kb_cli(b, NULL, &out, &err, one), 0);
    assert_string_equal(out, "37\tfrom kcat 37\n");
    free(out);
    free(err);
    /* The reverse: kafka_cli produces (keyed, and a batch), kcat reads. */
    const char *p1[] = {"1", "both", "hello from kafka_cli", "--key", "k1", NULL};
    assert_int_equal(kb_cli(b, NULL, &out, &err, p1), 0);
    free(out);
    free(err);
    const char *p5[] = {"5", "both", "x,y,z", "--partition", "0", NULL};
    assert_int_equal(kb_cli(b, NULL, &out, &err, p5), 0);
    free(out);
    free(err);
    out = kcat_consume(b, "both", "%o %k=%s\n");
    const char *tail = strstr(out, "50 k1=hello from kafka_cli\n51 =x\n52 =y\n53 =z\n");
    if (!tail)
        fail_msg("kcat did not read what kafka_cli produced:\n%s", out);
    assert_string_equal(tail, "50 k1=hello from kafka_cli\n51 =x\n52 =y\n53 =z\n");
    free(out);
    kc_writer_fini(&in);
    kc_writer_fini(&want);
}

/* acks=0 (no answers at all) and acks=all (answers after fsync) both deliver everything. */
static void test_0101_acks_zero_and_all_deliver(void **state)
{
    struct kb_broker *b = *state;
    char *out, *err, line[64];
    struct kc_writer in;
    kc_writer_init(&in, 0);
    for (int i = 0; i < 5000; i++)
        kc_write_raw(&in, line, (size_t)snprintf(line, sizeof(line), "acks %d\n", i));
    const char *acks[] = {"0", "all"};
    for (int a = 0; a < 2; a++) {
        char topic[32], prop[32];
        snprintf(topic, sizeof(topic), "acks-%s", acks[a]);
        snprintf(prop, sizeof(prop), "acks=%s", acks[a]);
        const char *create[] = {"0", topic, "1", NULL};
        assert_int_equal(kb_cli(b, NULL, &out, &err, create), 0);
        free(out);
        free(err);
        const char *prod[] = {"kcat", "-b", kt_addr(b), "-P", "-t", topic, "-X", prop, NULL};
        assert_int_equal(kt_run(b, prod, kc_writer_data(&in), kc_writer_len(&in), 30000, &out,
                                NULL, &err), 0);
        free(out);
        free(err);
        out = kcat_consume(b, topic, "%s\n");
        assert_int_equal(strlen(out), kc_writer_len(&in));
        assert_memory_equal(out, kc_writer_data(&in), kc_writer_len(&in));
        free(out);
    }
    kc_writer_fini(&in);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_0101_list_names_this_broker_and_topics, setup,
                                        kb_teardown),
        cmocka_unit_test_setup_teardown(test_0101_keyed_records_on_kafka_partition_byte_for_byte,
                                        setup, kb_teardown),
        cmocka_unit_test_setup_teardown(test_0101_keyless_records_read_back_exactly, setup,
                                        kb_teardown),
        cmocka_unit_test_setup_teardown(test_0101_compression_stored_as_sent_served_byte_for_byte,
                                        setup, kb_teardown),
        cmocka_unit_test_setup_teardown(test_0101_one_truth_across_protocols, setup,
                                        kb_teardown),
        cmocka_unit_test_setup_teardown(test_0101_acks_zero_and_all_deliver, setup, kb_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
