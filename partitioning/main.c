/*
 * kafka_partitioning - a topic on disk, and where records go.
 *
 * Creates a topic of 6 partitions in a temporary directory (or --dir DIR), then appends
 * real RecordBatches to the partitions' logs three ways: round-robin from one thread,
 * keyed (Kafka's murmur2, as the Java client computes it), and round-robin from several
 * threads at once. Prints how the records spread (counts and skew), where a few example
 * keys land, and what a reopen of the data directory finds.
 *
 *   usage: kafka_partitioning [--dir DIR]
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kc_common.h"
#include "part.h"

#define TOPIC      "demo-events"
#define PARTITIONS 6
#define THREADS    3

/* One batch of n records, keyed (key != NULL) or not, appended to partition p. */
static int append_batch(struct part_topic *t, int32_t p, int n, const char *key)
{
    struct kc_batch_builder b;
    kc_batch_builder_init(&b, NULL, 0);
    char value[64];
    int rc = 0;
    for (int i = 0; i < n && rc == 0; i++) {
        int len = snprintf(value, sizeof(value), "record %d of a batch for partition %d", i,
                           (int)p);
        rc = kc_batch_builder_add(&b, kc_wall_ms(), key, key ? (int32_t)strlen(key) : -1,
                                  value, len, NULL, 0);
    }
    uint8_t *batch;
    size_t len;
    int64_t base;
    if (rc == 0)
        rc = kc_batch_builder_finish(&b, &batch, &len);
    if (rc == 0)
        rc = alog_append(part_topic_log(t, p), batch, len, &base);
    kc_batch_builder_fini(&b);
    return rc;
}

static void print_spread(const char *what, const long counts[PARTITIONS], const char *unit)
{
    long total = 0, max = 0, min = counts[0];
    printf("  %s\n  partition:", what);
    for (int p = 0; p < PARTITIONS; p++) {
        printf(" %7d", p);
        total += counts[p];
        max = counts[p] > max ? counts[p] : max;
        min = counts[p] < min ? counts[p] : min;
    }
    printf("\n  %-9s:", unit);
    for (int p = 0; p < PARTITIONS; p++)
        printf(" %7ld", counts[p]);
    double mean = (double)total / PARTITIONS;
    printf("\n  total %ld, min %ld, max %ld, skew (max/mean) %.2f\n\n", total, min, max,
           mean > 0 ? (double)max / mean : 0);
}

/* 1. Keyless batches, one thread: the counter walks 0, 1, 2, ... */
static int round_robin(struct part_topic *t)
{
    long batches[PARTITIONS] = {0};
    int64_t t0 = kc_mono_ns();
    for (int i = 0; i < 600; i++) {
        int32_t p = part_next_round_robin(t);
        int rc = append_batch(t, p, 10, NULL);
        if (rc < 0)
            return rc;
        batches[p]++;
    }
    char rate[32];
    printf("1. Round-robin: 600 keyless batches of 10 records from one thread (%s batches/s\n"
           "   appended). The first batch went to partition 0; each batch goes whole to one\n"
           "   partition.\n\n",
           kc_fmt_si(600 / ((double)(kc_mono_ns() - t0) / 1e9), rate, sizeof(rate)));
    print_spread("batches per partition", batches, "batches");
    return 0;
}

/* 2. Keyed records: a producer-style accumulator, one open batch per partition. */
static int keyed(struct part_topic *t)
{
    long records[PARTITIONS] = {0};
    char key[32];
    for (int i = 0; i < 6000; i++) {
        snprintf(key, sizeof(key), "user-%d", i % 600);
        records[part_for_key(key, strlen(key), PARTITIONS)]++;
    }
    /* Append them: all records of one key are consecutive in one partition. */
    for (int k = 0; k < 600; k++) {
        snprintf(key, sizeof(key), "user-%d", k);
        int rc = append_batch(t, part_for_key(key, strlen(key), PARTITIONS), 10, key);
        if (rc < 0)
            return rc;
    }
    printf("2. Keyed: 6000 records with 600 keys (user-0 .. user-599, 10 records each),\n"
           "   partition = (murmur2(key) & 0x7fffffff) %% %d, as Kafka's Java client does.\n"
           "   Every record of a key lands in one partition, so per-key order holds; the\n"
           "   spread is only as even as the hash of the keys you have.\n\n", PARTITIONS);
    print_spread("records per partition", records, "records");
    return 0;
}

struct worker {
    struct part_topic *t;
    long batches[PARTITIONS];
    int rc;
};

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    for (int i = 0; i < 200 && w->rc == 0; i++) {
        int32_t p = part_next_round_robin(w->t);
        w->rc = append_batch(w->t, p, 10, NULL);
        w->batches[p]++;
    }
    return NULL;
}

/* 3. Round-robin from THREADS threads at once: one atomic counter, no lock. */
static int threaded(struct part_topic *t)
{
    struct worker w[THREADS];
    pthread_t th[THREADS];
    int started = 0, rc = 0;
    for (; started < THREADS; started++) {
        w[started] = (struct worker){.t = t};
        int err = pthread_create(&th[started], NULL, worker_main, &w[started]);
        if (err) {
            rc = -err;
            break;
        }
    }
    long batches[PARTITIONS] = {0};
    for (int i = 0; i < started; i++) {
        (void)pthread_join(th[i], NULL); /* our own joinable threads: cannot fail */
        rc = rc ? rc : w[i].rc;
        for (int p = 0; p < PARTITIONS; p++)
            batches[p] += w[i].batches[p];
    }
    if (rc < 0)
        return rc;
    printf("3. Round-robin from %d threads at once, 200 batches each: the counter is one\n"
           "   atomic fetch-and-add per batch (on its own cache line), so the cycle stays\n"
           "   exact however the threads interleave.\n\n", THREADS);
    print_spread("batches per partition (all threads)", batches, "batches");
    return 0;
}

/* printf pads by bytes; a UTF-8 label needs one extra space per continuation byte. */
static int pad_for(const char *s, int width)
{
    for (; *s; s++)
        width += ((unsigned char)*s & 0xc0) == 0x80;
    return width;
}

static void example_keys(void)
{
    const char *keys[] = {"payments", "user-42", "order-1001", "k\xc3\xbc\x63he", ""};
    const char *shown[] = {"payments", "user-42", "order-1001", "k\xc3\xbc\x63he (UTF-8)",
                           "\"\" (empty)"};
    printf("4. Where example keys land (murmur2 as a Java int; partition for 6 and 12):\n\n"
           "  %-18s %12s %12s %5s %5s\n", "key", "murmur2", "& 0x7fffffff", "of 6", "of 12");
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        size_t len = strlen(keys[i]);
        int32_t h = part_murmur2(keys[i], len);
        printf("  %-*s %12d %12u %5d %5d\n", pad_for(shown[i], 18), shown[i], h,
               (uint32_t)h & 0x7fffffffu,
               part_for_key(keys[i], len, 6), part_for_key(keys[i], len, 12));
    }
    printf("\n  Growing a topic from 6 to 12 partitions moves keys: Kafka never rehashes\n"
           "  existing records, so per-key order only holds within one partition count.\n\n");
}

/* 5. Close, reopen: the registry finds the topic by scanning the directory. */
static int reopen(const char *dir)
{
    struct part_registry *reg;
    int rc = part_registry_open(&reg, dir, NULL);
    if (rc < 0)
        return rc;
    struct part_topic *list[16];
    size_t n = part_topic_list(reg, list, 16);
    printf("5. Reopened %s: %zu topic%s found by scanning <topic>-<partition> directories.\n",
           dir, n, n == 1 ? "" : "s");
    for (size_t i = 0; i < n && i < 16; i++) {
        printf("  %s, %d partitions; log end offsets:", part_topic_name(list[i]),
               (int)part_topic_partitions(list[i]));
        for (int32_t p = 0; p < part_topic_partitions(list[i]); p++)
            printf(" %lld", (long long)alog_end_offset(part_topic_log(list[i], p)));
        printf("\n");
    }
    printf("  (each partition's records from all three runs above, read back from its log)\n");
    return part_registry_close(reg);
}

static int run(const char *dir)
{
    struct part_registry *reg;
    int rc = part_registry_open(&reg, dir, NULL);
    if (rc < 0)
        return rc;
    struct part_topic *t = NULL;
    rc = part_topic_create(reg, TOPIC, PARTITIONS, &t);
    if (rc == -EEXIST && (t = part_topic_find(reg, TOPIC, strlen(TOPIC))) != NULL &&
        part_topic_partitions(t) == PARTITIONS)
        rc = 0; /* --dir of an earlier run: append to it */
    if (rc == 0)
        printf("Data directory %s\nTopic '%s': %d partitions, directories %s-0/ .. %s-%d/,\n"
               "each an appendLog. Records are appended as real RecordBatches.\n\n",
               dir, TOPIC, PARTITIONS, TOPIC, TOPIC, PARTITIONS - 1);
    if (rc == 0)
        rc = round_robin(t);
    if (rc == 0)
        rc = keyed(t);
    if (rc == 0)
        rc = threaded(t);
    int rc2 = part_registry_close(reg);
    if (rc < 0)
        return rc;
    if (rc2 < 0)
        return rc2;
    example_keys();
    return reopen(dir);
}

int main(int argc, char **argv)
{
    const char *dir = NULL;
    if (argc == 3 && strcmp(argv[1], "--dir") == 0) {
        dir = argv[2];
    } else if (argc != 1) {
        fprintf(stderr, "usage: %s [--dir DIR]\n", argv[0]);
        return 2;
    }
    char tmp[4096];
    int rc = dir ? 0 : kc_mkdtemp("kc-partitioning-", tmp, sizeof(tmp));
    printf("kafka_partitioning: topics as directories, and where records go\n\n");
    if (rc == 0)
        rc = run(dir ? dir : tmp);
    if (!dir && rc != KC_ETOOLARGE && kc_rm_rf(tmp) < 0)
        fprintf(stderr, "could not remove %s\n", tmp);
    if (rc < 0) {
        fprintf(stderr, "kafka_partitioning: %s\n", kc_strerror(rc));
        return 1;
    }
    return 0;
}
