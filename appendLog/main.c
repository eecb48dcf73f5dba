/*
 * kafka_appendLog - the storage engine at work: append, roll, index, read, crash, recover.
 *
 *   kafka_appendLog                      a tour in a temp dir (what `make run` shows)
 *   kafka_appendLog --dir D --count N --size S [--batch B] [--segment-bytes X]
 *                                        append N records of S bytes, B per batch;
 *                                        run again and it continues from the last offset
 *   kafka_appendLog --dump D [--records] print D's segments, batches (and records) and
 *                                        index entries, like kafka-dump-log.sh
 *
 * Everything here goes through alog.h, except --dump, which reads the files the way
 * Kafka's DumpLogSegments does: directly, changing nothing (no recovery).
 */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "alog.h"
#include "kc_common.h"
#include "mm_index.h"

struct opts {
    const char *dir, *dump;
    int64_t count, size, batch;
    uint64_t segment_bytes;
    bool records;
};

static void usage(FILE *f)
{
    fprintf(f, "usage: kafka_appendLog [--dir D --count N --size S [--batch B] "
               "[--segment-bytes X]]\n"
               "       kafka_appendLog --dump D [--records]\n"
               "With no --dir: a tour in a temporary directory, removed at the end.\n");
}

static int parse_args(int argc, char **argv, struct opts *o)
{
    *o = (struct opts){.count = 200000, .size = 100, .batch = 1000, .segment_bytes = 8 << 20};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        int rc = 0;
        if (!strcmp(a, "--help") || !strcmp(a, "-h"))
            return 1;
        if (!strcmp(a, "--records")) {
            o->records = true;
            continue;
        }
        if (!v)
            return -EINVAL;
        if (!strcmp(a, "--dir"))
            o->dir = v;
        else if (!strcmp(a, "--dump"))
            o->dump = v;
        else if (!strcmp(a, "--count"))
            rc = kc_parse_i64(v, 1, INT32_MAX, &o->count);
        else if (!strcmp(a, "--size"))
            rc = kc_parse_i64(v, 8, 1 << 20, &o->size);
        else if (!strcmp(a, "--batch"))
            rc = kc_parse_i64(v, 1, 100000, &o->batch);
        else if (!strcmp(a, "--segment-bytes"))
            rc = kc_parse_size(v, 0x7fffffff, &o->segment_bytes);
        else
            return -EINVAL;
        if (rc)
            return rc;
        i++;
    }
    return 0;
}

/* ---- append and report ----------------------------------------------------------- */

static int append_records(struct alog *log, const struct opts *o, double *secs)
{
    struct kc_batch_builder b;
    kc_batch_builder_init(&b, NULL, 0);
    uint8_t *value = calloc(1, (size_t)o->size);
    int rc = value ? 0 : -ENOMEM;
    int64_t t0 = kc_mono_ns();
    for (int64_t done = 0; rc == 0 && done < o->count;) {
        kc_batch_builder_reset(&b);
        int64_t n = KC_MIN(o->batch, o->count - done), ts = kc_wall_ms();
        for (int64_t i = 0; rc == 0 && i < n; i++) {
            snprintf((char *)value, (size_t)o->size, "record %" PRId64, done + i);
            rc = kc_batch_builder_add(&b, ts, NULL, -1, value, (int32_t)o->size, NULL, 0);
        }
        uint8_t *p;
        size_t len;
        int64_t base;
        if (rc == 0 && (rc = kc_batch_builder_finish(&b, &p, &len)) == 0)
            rc = alog_append(log, p, len, &base);
        done += n;
    }
    *secs = (double)(kc_mono_ns() - t0) / 1e9;
    free(value);
    kc_batch_builder_fini(&b);
    return rc;
}

static void print_segments(struct alog *log)
{
    struct alog_segment_info segs[64];
    int n = alog_segments(log, segs, 64);
    printf("  %-22s %12s %12s %10s %10s\n", "segment (base offset)", "next offset", "bytes",
           ".index", ".timeindex");
    for (int i = 0; i < n && i < 64; i++)
        printf("  %020" PRId64 "   %12" PRId64 " %12" PRIu64 " %10" PRId64 " %10" PRId64 "\n",
               segs[i].base_offset, segs[i].next_offset, segs[i].bytes, segs[i].index_entries,
               segs[i].timeindex_entries);
    if (n > 64)
        printf("  ... and %d more\n", n - 64);
}

static int run_once(const char *dir, const struct opts *o)
{
    struct alog_config cfg;
    alog_config_init(&cfg);
    cfg.segment_bytes = o->segment_bytes;
    struct alog *log;
    int rc = alog_open(&log, dir, &cfg, NULL);
    if (rc) {
        fprintf(stderr, "alog_open(%s): %s\n", dir, kc_strerror(rc));
        return rc;
    }
    int64_t first = alog_end_offset(log);
    double secs;
    rc = append_records(log, o, &secs);
    int64_t t0 = kc_mono_ns();
    if (rc == 0)
        rc = alog_flush(log);
    double flush_ms = (double)(kc_mono_ns() - t0) / 1e6;
    struct alog_info info;
    alog_info(log, &info);
    char r[32], mb[32];
    double bytes = (double)o->count * (double)o->size;
    printf("appended offsets %" PRId64 "..%" PRId64 " (%" PRId64 " records of %" PRId64
           " B, %" PRId64 " per batch) in %.3f s: %s records/s, %s/s of values\n",
           first, info.end_offset - 1, o->count, o->size, o->batch, secs,
           kc_fmt_si((double)o->count / secs, r, sizeof(r)),
           kc_fmt_bytes(bytes / secs, mb, sizeof(mb)));
    printf("alog_flush: %.2f ms (fdatasync of %" PRIu64 " file(s)); log is [%" PRId64 ", %" PRId64
           "), %d segment(s), %" PRId64 " index + %" PRId64 " time-index entries\n",
           flush_ms, info.fsyncs, info.start_offset, info.end_offset, info.segments,
           info.index_entries, info.timeindex_entries);
    print_segments(log);
    int crc = alog_close(log);
    return rc ? rc : crc;
}

/* ---- --dump: the files as they are, like kafka-dump-log.sh ---------------------- */

static void dump_records(const uint8_t *p, size_t len)
{
    struct kc_record_iter it;
    struct kc_record rec;
    if (kc_record_iter_init(&it, p, len) != 0) {
        printf("| (compressed: records not shown)\n");
        return;
    }
    while (kc_record_iter_next(&it, &rec) == 1) {
        char text[41];
        int n = rec.value_len > 40 ? 40 : rec.value_len > 0 ? rec.value_len : 0;
        for (int i = 0; i < n; i++) /* printable or '.', like a hex dump's right column */
            text[i] = rec.value[i] >= 0x20 && rec.value[i] < 0x7f ? (char)rec.value[i] : '.';
        text[n] = '\0';
        printf("| offset: %" PRId64 " CreateTime: %" PRId64 " keySize: %d valueSize: %d "
               "headerKeys: %d payload: %s\n",
               rec.offset, rec.timestamp, rec.key_len, rec.value_len, rec.header_count, text);
    }
}

static void dump_batch(const uint8_t *p, size_t len, uint64_t pos, bool records)
{
    struct kc_batch_header h;
    int valid = kc_batch_validate(p, len, &h);
    if (kc_batch_header_decode(p, len, &h) != 0) {
        printf("position: %" PRIu64 " unreadable batch header\n", pos);
        return;
    }
    printf("baseOffset: %" PRId64 " lastOffset: %" PRId64 " count: %d baseSequence: %d "
           "producerId: %" PRId64 " producerEpoch: %d partitionLeaderEpoch: %d isTransactional: %s "
           "isControl: %s position: %" PRIu64 " CreateTime: %" PRId64 " size: %zu magic: %d "
           "compresscodec: %d crc: %u isvalid: %s\n",
           h.base_offset, h.base_offset + h.last_offset_delta, h.records_count, h.base_sequence,
           h.producer_id, h.producer_epoch, h.leader_epoch,
           h.attributes & KC_BATCH_ATTR_TRANSACTIONAL ? "true" : "false",
           h.attributes & KC_BATCH_ATTR_CONTROL ? "true" : "false", pos, h.max_timestamp, len,
           h.magic, h.attributes & KC_BATCH_ATTR_COMPRESSION, h.crc, valid > 0 ? "true" : "false");
    if (records && valid > 0)
        dump_records(p, len);
}

static int dump_log(const char *path, bool records, int limit)
{
    char *data;
    size_t len;
    int rc = kc_read_file(path, (size_t)1 << 31, &data, &len);
    if (rc)
        return rc;
    size_t pos = 0, size;
    int shown = 0;
    while (pos < len && shown++ != limit) {
        if (kc_batch_size((uint8_t *)data + pos, len - pos, &size) != 0 || size > len - pos) {
            printf("position: %zu: %zu bytes that are no whole batch (a torn tail?)\n", pos,
                   len - pos);
            break;
        }
        dump_batch((uint8_t *)data + pos, size, pos, records);
        pos += size;
    }
    if (pos < len && shown > limit)
        printf("...\n");
    free(data);
    return 0;
}

static int dump_index(const char *path, enum mm_index_kind kind, int64_t base, int limit)
{
    struct mm_index idx;
    int rc = mm_index_open(&idx, path, kind, MM_INDEX_READONLY, 0);
    if (rc)
        return rc;
    size_t n = mm_index_entries(&idx);
    for (size_t i = 0; i < n && (limit < 0 || (int)i < limit); i++) {
        struct mm_index_entry e;
        mm_index_entry_at(&idx, i, &e);
        if (kind == MM_INDEX_OFFSET)
            printf("offset: %" PRId64 " position: %u\n", base + e.key, e.value);
        else
            printf("timestamp: %" PRId64 " offset: %" PRId64 "\n", e.key, base + e.value);
    }
    if (limit >= 0 && n > (size_t)limit)
        printf("... (%zu entries)\n", n);
    return mm_index_close(&idx);
}

static int is_segment_file(const struct dirent *de)
{
    const char *dot = strchr(de->d_name, '.');
    return dot && dot - de->d_name == 20 &&
           (!strcmp(dot, ".log") || !strcmp(dot, ".index") || !strcmp(dot, ".timeindex"));
}

static int dump_file(const char *dir, const char *name, bool records, int limit)
{
    char path[4096];
    int rc = kc_path_join(path, sizeof(path), dir, name);
    if (rc)
        return rc;
    const char *ext = strchr(name, '.');
    int64_t base = strtoll(name, NULL, 10);
    printf("Dumping %s\n", path);
    if (!strcmp(ext, ".log"))
        return dump_log(path, records, limit);
    return dump_index(path, strcmp(ext, ".index") ? MM_INDEX_TIME : MM_INDEX_OFFSET, base, limit);
}

/* limit: batches / entries per file (-1: all); at most max_files files. */
static int dump_dir(const char *dir, bool records, int limit, int max_files)
{
    struct dirent **names;
    int n = scandir(dir, &names, is_segment_file, alphasort);
    if (n < 0)
        return -errno;
    int rc = 0;
    for (int i = 0; i < n; i++) {
        if (rc == 0 && i < max_files)
            rc = dump_file(dir, names[i]->d_name, records, limit);
        free(names[i]);
    }
    free(names);
    if (rc == 0 && n > max_files)
        printf("... and %d more files\n", n - max_files);
    return rc;
}

/* ---- the tour ---------------------------------------------------------------- */

static void tour_latency(struct alog *log)
{
    enum { N = 20000 };
    int64_t *ns = malloc(N * sizeof(*ns));
    int64_t end = alog_end_offset(log);
    uint64_t x = 88172645463325252ull;
    for (int i = 0; ns && i < N; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        struct alog_slice s;
        int64_t t0 = kc_mono_ns();
        if (alog_read(log, (int64_t)(x % (uint64_t)end), 1, &s) == 0)
            alog_slice_release(&s);
        ns[i] = kc_mono_ns() - t0;
    }
    if (ns) {
        char a[32], b[32];
        int64_t p50 = kc_percentile_i64(ns, N, 50), p99 = kc_percentile_i64(ns, N, 99);
        printf("  %d random reads: median %s, p99 %s (page cache warm)\n", N,
               kc_fmt_ns((double)p50, a, sizeof(a)), kc_fmt_ns((double)p99, b, sizeof(b)));
    }
    free(ns);
}

static int tour_reads(const char *dir)
{
    struct alog *log;
    int rc = alog_open(&log, dir, NULL, NULL);
    if (rc)
        return rc;
    int64_t end = alog_end_offset(log);
    printf("\n3. read: offset -> segment (binary search over bases) -> index floor (binary\n"
           "   search in the mapped .index) -> walk batch headers -> whole batches\n");
    int64_t offsets[] = {0, end / 3, end / 2 + 17, end - 1, end, end + 1};
    for (size_t i = 0; i < KC_ARRAY_SIZE(offsets); i++) {
        struct alog_slice s;
        int r = alog_read(log, offsets[i], 64 * 1024, &s);
        if (r) {
            printf("  read %-8" PRId64 " -> %s\n", offsets[i], kc_strerror(r));
            continue;
        }
        printf("  read %-8" PRId64 " -> fd %d, bytes [%lld, +%zu): batches %" PRId64 "..%" PRId64
               "\n",
               offsets[i], s.fd, (long long)s.pos, s.len, s.first_offset, s.next_offset - 1);
        alog_slice_release(&s);
    }
    tour_latency(log);
    int64_t off;
    int r = alog_offset_for_time(log, kc_wall_ms() - 3600 * 1000, &off);
    printf("  offset for time (an hour ago): %s%" PRId64 "\n", r ? kc_strerror(r) : "",
           r ? (int64_t)0 : off);
    return alog_close(log);
}

/* A child process appends and dies without closing: a real unclean shutdown. */
static int crash_child(const char *dir, const struct opts *o)
{
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0)
        return -errno;
    if (pid == 0) {
        struct alog *log;
        struct opts small = *o;
        double secs;
        small.count = 5000;
        if (alog_open(&log, dir, NULL, NULL) == 0 && append_records(log, &small, &secs) == 0)
            _exit(0); /* no alog_close: no flush, no checkpoint, no clean-shutdown marker */
        _exit(1);
    }
    int status;
    if (waitpid(pid, &status, 0) < 0)
        return -errno;
    return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -ECHILD;
}

static int is_log_file(const struct dirent *de)
{
    const char *dot = strchr(de->d_name, '.');
    return dot && dot - de->d_name == 20 && !strcmp(dot, ".log");
}

/* A torn write: 300 bytes of garbage at the end of the last segment. */
static int tear_tail(const char *dir)
{
    struct dirent **names;
    int n = scandir(dir, &names, is_log_file, alphasort);
    if (n <= 0)
        return n < 0 ? -errno : -ENOENT;
    char path[4096];
    int rc = kc_path_join(path, sizeof(path), dir, names[n - 1]->d_name);
    for (int i = 0; i < n; i++)
        free(names[i]);
    free(names);
    FILE *f = rc ? NULL : fopen(path, "a");
    if (!f)
        return rc ? rc : -errno;
    for (int i = 0; i < 300; i++)
        fputc((i * 37 + 11) & 0xff, f);
    return fclose(f) == 0 ? 0 : -errno;
}

static int tour_crash(const char *dir, const struct opts *o)
{
    printf("\n4. crash: a child process appends 5000 records and exits without alog_close;\n"
           "   then 300 bytes of garbage land at the end of the last segment (a torn write)\n");
    int rc = crash_child(dir, o);
    if (rc == 0)
        rc = tear_tail(dir);
    struct alog *log;
    if (rc == 0)
        rc = alog_open(&log, dir, NULL, NULL); /* logs what recovery did, on stderr */
    if (rc)
        return rc;
    struct alog_info info;
    alog_info(log, &info);
    printf("   reopened: recovered=%s, %" PRId64 " bytes truncated, %d index pair(s) rebuilt;"
           " log is [%" PRId64 ", %" PRId64 "): the child's 5000 records survived\n",
           info.recovered ? "yes" : "no", info.recovery_truncated_bytes, info.indexes_rebuilt,
           info.start_offset, info.end_offset);
    return alog_close(log);
}

static int tour(const struct opts *o)
{
    char dir[4096];
    int rc = kc_mkdtemp("kafka-appendLog-", dir, sizeof(dir));
    if (rc)
        return rc;
    printf("1. append to a new log in %s\n", dir);
    rc = run_once(dir, o);
    if (rc == 0) {
        printf("\n2. open it again and append more: the offsets continue\n");
        rc = run_once(dir, o);
    }
    if (rc == 0)
        rc = tour_reads(dir);
    if (rc == 0)
        rc = tour_crash(dir, o);
    if (rc == 0) {
        printf("\n5. the first segment's files, as kafka-dump-log.sh shows them (--dump D):\n");
        rc = dump_dir(dir, false, 3, 3);
    }
    int rm = kc_rm_rf(dir);
    return rc ? rc : rm;
}

int main(int argc, char **argv)
{
    struct opts o;
    setvbuf(stdout, NULL, _IOLBF, 0); /* keep our lines in order with the log's (stderr) */
    int rc = parse_args(argc, argv, &o);
    if (rc) {
        usage(rc > 0 ? stdout : stderr);
        return rc > 0 ? 0 : 2;
    }
    if (o.dump)
        rc = dump_dir(o.dump, o.records, -1, INT32_MAX);
    else
        rc = o.dir ? run_once(o.dir, &o) : tour(&o);
    if (rc)
        fprintf(stderr, "kafka_appendLog: %s\n", kc_strerror(rc));
    return rc ? 1 : 0;
}
