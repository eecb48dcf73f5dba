/*
 * fuzz_segment_recovery.c - libFuzzer target: appendLog's recovery over arbitrary files.
 *
 * What a crash, a bad disk or a stray program can leave in a partition directory is any
 * bytes at all; alog_open must make a log of them that serves only valid batches. The
 * input becomes a partition directory:
 *
 *   byte 0      flags: 1 clean-shutdown marker, 2 .index, 4 .timeindex, 8 recovery-point
 *               checkpoint, 16 a second segment, 32 log-start checkpoint
 *   bytes 1-13  index len u16 | timeindex len u16 | checkpoint len u8 | second segment's
 *               base offset u32 | first .log len u32
 *   then        index bytes | timeindex bytes | checkpoint text | first .log | second .log
 *
 * Properties:
 *  - alog_open never crashes, leaks or reads out of bounds, and opens the log (garbage is
 *    recovered, never a reason to refuse);
 *  - where nothing is trusted (no clean-shutdown marker, no recovery point vouching for an
 *    earlier segment), every batch it serves has a valid header and CRC (recovery_valid
 *    below), offsets run on without a gap from the log start to the log end;
 *  - with nothing but a .log (and garbage indexes), recovery keeps exactly the longest
 *    valid prefix (batches that validate, each starting at the offset the previous one
 *    ended): byte for byte what the input held, no more (nothing invalid kept) and no
 *    less (no valid, possibly acknowledged, batch dropped);
 *  - the recovered log takes a new append at its end, serves it back, closes cleanly, and
 *    reopens at the same end.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "alog.h"
#include "kc_common.h"

static char dir[256], top[64];

static void remove_dir(void)
{
    (void)kc_rm_rf(top); /* at exit: nothing to report to */
}

static void write_file(const char *name, const uint8_t *p, size_t n)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0 || kc_write_all(fd, p, n) != (ssize_t)n)
        abort();
    close(fd);
}

static void empty_dir(void)
{
    if (!dir[0]) {
        /* tmpfs when there is one: recovery and close fsync, which costs milliseconds on a
         * disk and nothing in memory (100 against several thousand runs a second) */
        char tmp[64], part[300];
        struct stat st;
        snprintf(tmp, sizeof(tmp), "%s/fuzz-segment-XXXXXX",
                 stat("/dev/shm", &st) == 0 && S_ISDIR(st.st_mode) ? "/dev/shm" : "/tmp");
        if (!mkdtemp(tmp))
            abort();
        strlcpy(top, tmp, sizeof(top));
        atexit(remove_dir);
        snprintf(part, sizeof(part), "%s/fz-0", tmp); /* <topic>-<partition>, as the broker */
        if (mkdir(part, 0755) != 0)
            abort();
        strlcpy(dir, part, sizeof(dir));
    }
    DIR *d = opendir(dir);
    struct dirent *de;
    while (d && (de = readdir(d)) != NULL) {
        char path[512];
        if (de->d_name[0] == '.' && (!de->d_name[1] || de->d_name[1] == '.'))
            continue;
        snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
        (void)unlink(path);
    }
    if (d)
        closedir(d);
}

/*
 * What recovery promises to keep (alog.h, appendLog/README.md), as Kafka's recovery does:
 * a batch whose header decodes (magic 2, possible lengths, counts that agree) and whose
 * CRC-32C matches. It does not parse the records inside: a batch whose CRC was forged over
 * malformed records (libFuzzer forges CRCs: it sees the comparison) is kept, though
 * kc_batch_validate refuses it. The broker never writes such a batch and a random
 * corruption passes CRC-32C once in 2^32; the gap is reported in fuzz/README.md and the
 * input kept as the seed regress_crc_valid_records_malformed. The total size, or -1.
 */
static int recovery_valid(const uint8_t *p, size_t len)
{
    struct kc_batch_header h;
    if (kc_batch_header_decode(p, len, &h) != 0)
        return -1;
    size_t size = (size_t)h.batch_length + KC_BATCH_LOG_OVERHEAD;
    if (size > len ||
        kc_crc32c(0, p + KC_BATCH_OFF_ATTRIBUTES, size - KC_BATCH_OFF_ATTRIBUTES) != h.crc)
        return -1;
    return (int)size;
}

/* The longest prefix of p that recovery may keep: its length and its next offset. */
static size_t valid_prefix(const uint8_t *p, size_t len, int64_t *next)
{
    size_t at = 0;
    *next = 0;
    while (at < len) {
        int size = recovery_valid(p + at, len - at);
        if (size <= 0 || kc_batch_base_offset(p + at) != *next)
            break;
        *next = kc_batch_last_offset(p + at) + 1;
        at += (size_t)size;
    }
    return at;
}

/* Read [start, end) back; every batch validates and offsets run on. The bytes read go to
 * *all (if not NULL). */
static void read_back(struct alog *log, bool strict, struct kc_writer *all)
{
    int64_t off = alog_start_offset(log), end = alog_end_offset(log);
    struct kc_writer w;
    kc_writer_init(&w, 0);
    while (off < end) {
        int64_t next = -1;
        kc_writer_reset(&w);
        int rc = alog_read_copy(log, off, 1 << 20, &w, &next);
        if (rc != 0) {
            if (strict)
                abort(); /* recovered bytes that cannot be read back */
            break;
        }
        const uint8_t *p = kc_writer_data(&w);
        size_t len = kc_writer_len(&w), at = 0;
        while (strict && at < len) {
            int size = recovery_valid(p + at, len - at);
            if (size <= 0 || (at == 0 && kc_batch_base_offset(p) > off) ||
                (at > 0 && kc_batch_base_offset(p + at) != off))
                abort();
            off = kc_batch_last_offset(p + at) + 1;
            at += (size_t)size;
        }
        if (all)
            kc_write_raw(all, p, len);
        if (next <= off && !strict)
            break;
        off = next;
    }
    kc_writer_fini(&w);
}

/* A fresh batch appended at the end comes back; close and reopen keep the end. */
static void append_and_reopen(struct alog *log, const struct alog_config *cfg)
{
    struct kc_batch_builder bb;
    uint8_t *batch;
    size_t len;
    int64_t base, end = alog_end_offset(log);
    kc_batch_builder_init(&bb, NULL, 0);
    if (kc_batch_builder_add(&bb, 1000, "k", 1, "after recovery", 14, NULL, 0) ||
        kc_batch_builder_finish(&bb, &batch, &len))
        abort();
    int rc = alog_append(log, batch, len, &base);
    if (rc == 0 && (base != end || alog_end_offset(log) != end + 1))
        abort();
    kc_batch_builder_fini(&bb);
    int64_t want = alog_end_offset(log);
    if (alog_close(log) != 0 && rc == 0)
        abort();
    if (rc != 0)
        return; /* e.g. an offset past what an index can hold: refused, not crashed */
    struct alog *again;
    if (alog_open(&again, dir, cfg, NULL) != 0)
        abort();
    if (alog_end_offset(again) != want)
        abort();
    alog_close(again);
}

struct layout {
    uint8_t flags;
    const uint8_t *index, *timeindex, *ckpt, *log1, *log2;
    size_t nindex, ntimeindex, nckpt, nlog1, nlog2;
    uint32_t base2;
};

static const uint8_t *take(const uint8_t **p, size_t *left, size_t want, size_t *got)
{
    const uint8_t *at = *p;
    *got = want < *left ? want : *left;
    *p += *got;
    *left -= *got;
    return at;
}

static void parse(const uint8_t *data, size_t size, struct layout *l)
{
    memset(l, 0, sizeof(*l));
    if (size < 14)
        return;
    l->flags = data[0];
    size_t ni = kc_load_be16(data + 1), nt = kc_load_be16(data + 3), nc = data[5];
    l->base2 = kc_load_be32(data + 6);
    size_t n1 = kc_load_be32(data + 10), left = size - 14;
    const uint8_t *p = data + 14;
    l->index = take(&p, &left, ni, &l->nindex);
    l->timeindex = take(&p, &left, nt, &l->ntimeindex);
    l->ckpt = take(&p, &left, nc, &l->nckpt);
    l->log1 = take(&p, &left, n1, &l->nlog1);
    l->log2 = take(&p, &left, left, &l->nlog2);
}

static void lay_out(const struct layout *l)
{
    char name[64];
    write_file("00000000000000000000.log", l->log1, l->nlog1);
    if (l->flags & 2)
        write_file("00000000000000000000.index", l->index, l->nindex);
    if (l->flags & 4)
        write_file("00000000000000000000.timeindex", l->timeindex, l->ntimeindex);
    if (l->flags & 8)
        write_file("recovery-point-offset-checkpoint", l->ckpt, l->nckpt);
    if (l->flags & 32)
        write_file("log-start-offset-checkpoint", l->ckpt, l->nckpt);
    if ((l->flags & 16) && l->base2 > 0) {
        snprintf(name, sizeof(name), "%020u.log", l->base2);
        write_file(name, l->log2, l->nlog2);
    }
    if (l->flags & 1)
        write_file(".kafka_cleanshutdown", NULL, 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct layout l;
    struct alog_config cfg;
    struct alog *log;
    parse(data, size, &l);
    if (size < 14)
        return 0;
    empty_dir();
    lay_out(&l);
    alog_config_init(&cfg);
    cfg.index_max_bytes = 4096;
    cfg.segment_bytes = 1 << 20;
    if (alog_open(&log, dir, &cfg, NULL) != 0)
        abort(); /* garbage must be recovered, never refuse the log */
    /* Trusted, by design (appendLog/README.md): everything after a clean shutdown, and the
     * segments below the one holding the recovery point. A recovery point past the log's
     * end makes recovery trust segment 0 unread (a finding, reported: fuzz/README.md; the
     * seed regress_recovery_point_past_the_end). */
    bool trusted = (l.flags & 1) || ((l.flags & 8) && (l.flags & 16) && l.base2 > 0);
    bool only_log = !(l.flags & (1 | 8 | 16 | 32));
    struct kc_writer all;
    kc_writer_init(&all, 0);
    read_back(log, !trusted, only_log ? &all : NULL);
    if (only_log) {
        int64_t next;
        size_t keep = valid_prefix(l.log1, l.nlog1, &next);
        if (alog_start_offset(log) != 0 || alog_end_offset(log) != next ||
            kc_writer_len(&all) != keep ||
            (keep > 0 && memcmp(kc_writer_data(&all), l.log1, keep) != 0))
            abort();
    }
    kc_writer_fini(&all);
    append_and_reopen(log, &cfg);
    return 0;
}
