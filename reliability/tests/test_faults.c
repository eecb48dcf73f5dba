/*
 * test_faults.c - the broker under a failing disk, end to end: kafka_broker runs with
 * LD_PRELOAD=libkc_fault.so, and the test makes its writes fail with ENOSPC (whole and
 * torn), its fsyncs fail with EIO, and its checkpoint renames fail, then lets them work
 * again. Each time:
 *
 *   - the producer gets an error (STORAGE), never a false acknowledgement, and the
 *     connection stays usable;
 *   - nothing acknowledged is lost and no segment is left corrupt: after kill -9 and a
 *     restart without faults, every acknowledged record is read back in order, every
 *     batch CRC-valid, and the acknowledged group offset is intact;
 *   - the broker recovers once the fault clears, without a restart (a failed fsync is
 *     healed in place by alog_recover, which the broker calls from its main thread).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "flt.h"
#include "kc_common.h"
#include "kc_test.h"
#include "np_client.h"
#include "rel.h"
#include "rel_crash.h"

#define S(s)    np_str(s)
#define WAIT_MS 30000

struct fx {
    char *dir;
    struct rel_broker b;
    struct flt_ctl *ctl;
    /* the model: what was acknowledged, at which offset */
    char acked[4096][24];
    int64_t acked_at[4096];
    int nacked;
    int64_t commit; /* last acknowledged group offset (-1 none) */
};

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    char ctlpath[1024], shim[1024];
    const char *bin = getenv("KC_BIN_DIR"), *lib = getenv("KC_LIB_DIR");
    assert_non_null(f);
    f->dir = kc_test_tmpdir();
    f->commit = -1;
    assert_int_equal(rel_broker_init(&f->b, bin && *bin ? bin : "build/bin", f->dir), 0);
    snprintf(ctlpath, sizeof(ctlpath), "%s/fault.ctl", f->dir);
    snprintf(shim, sizeof(shim), "%s/libkc_fault.so", lib && *lib ? lib : "build/lib");
    assert_non_null(f->ctl = flt_ctl_open(ctlpath));
    strlcpy(f->b.shim, shim, sizeof(f->b.shim));
    strlcpy(f->b.ctl, ctlpath, sizeof(f->b.ctl));
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    rel_broker_kill9(&f->b);
    flt_ctl_close(f->ctl);
    kc_test_rmdir(f->dir);
    free(f);
    return 0;
}

static void start(struct fx *f, const char *const *args)
{
    int rc = rel_broker_start(&f->b, args, WAIT_MS);
    if (rc)
        fail_msg("the broker did not start: %s (log %s)", kc_strerror(rc), f->b.log);
}

static void client(struct fx *f, struct np_client *c)
{
    assert_int_equal(np_client_connect(c, f->b.addr, WAIT_MS), 0);
}

static bool log_has(const struct fx *f, const char *s)
{
    char *text;
    size_t len;
    if (kc_read_file(f->b.log, 64u << 20, &text, &len) != 0)
        return false;
    bool found = strstr(text, s) != NULL;
    free(text);
    return found;
}

/* Produce value v with acks; on success remember it. Returns the client's result. */
static int produce(struct fx *f, struct np_client *c, int16_t acks, const char *v)
{
    struct np_produce_resp r;
    struct np_produce_req req = {S("f"), 0, acks, -1, {NULL, -1}, S(v)};
    int rc = np_client_produce(c, &req, &r);
    if (rc == 0) {
        assert_true(f->nacked < 4096);
        strlcpy(f->acked[f->nacked], v, sizeof(f->acked[0]));
        f->acked_at[f->nacked++] = r.offset;
    }
    return rc;
}

static void produce_ok(struct fx *f, struct np_client *c, int16_t acks, const char *fmt, int n)
{
    char v[24];
    for (int i = 0; i < n; i++) {
        snprintf(v, sizeof(v), fmt, f->nacked);
        int rc = produce(f, c, acks, v);
        if (rc)
            fail_msg("produce %s: %s (%s)", v, np_strerror(rc), c->errmsg);
    }
}

static void expect_storage(struct np_client *c, int rc, const char *what)
{
    if (rc != NP_ERR(NP_E_STORAGE))
        fail_msg("%s under a disk fault: want STORAGE, got %s (%s)", what,
                 np_is_err(rc) ? np_error_name(np_err_code(rc)) : np_strerror(rc), c->errmsg);
    assert_int_equal(np_client_ping(c, "still", 5), 0); /* the connection stays usable */
}

static int commit(struct fx *f, struct np_client *c, int64_t offset)
{
    struct np_commit_req cm = {S("g"), S("f"), 0, offset, {NULL, -1}};
    int rc = np_client_commit(c, &cm);
    if (rc == 0)
        f->commit = offset;
    return rc;
}

/* Everything acknowledged is there, at its offset, once, in order; every batch valid;
 * anything else in the log is a record that was refused (allowed: its write may have
 * landed). The committed group offset is the acknowledged one. */
static void verify(struct fx *f)
{
    struct np_client c;
    struct np_consume_batch_resp br;
    struct np_fetch_offset_resp fr;
    int64_t off = 0, end = -1;
    int next = 0, extra = 0;
    client(f, &c);
    while (end < 0 || off < end) {
        struct np_consume_batch_req q = {S("f"), 0, off, 100000, 1 << 20, 0};
        assert_int_equal(np_client_consume_batch(&c, &q, &br), 0);
        end = br.log_end;
        for (size_t at = 0; at < (size_t)br.records.len;) {
            struct kc_record_iter it;
            struct kc_record rec;
            int size = kc_batch_validate(br.records.p + at, (size_t)br.records.len - at, NULL);
            if (size <= 0)
                fail_msg("a corrupt batch is served at offset %lld", (long long)off);
            assert_int_equal(kc_record_iter_init(&it, br.records.p + at, (size_t)size), 0);
            while (kc_record_iter_next(&it, &rec) == 1) {
                assert_int_equal(rec.offset, off++);
                bool is_next = next < f->nacked && rec.offset == f->acked_at[next];
                if (is_next && (rec.value_len != (int32_t)strlen(f->acked[next]) ||
                                memcmp(rec.value, f->acked[next], (size_t)rec.value_len)))
                    fail_msg("offset %lld does not hold %s", (long long)rec.offset, f->acked[next]);
                next += is_next;
                extra += !is_next;
            }
            at += (size_t)size;
        }
        if (end > off && br.records.len == 0)
            fail_msg("nothing served at %lld below the end %lld", (long long)off, (long long)end);
    }
    if (next != f->nacked)
        fail_msg("LOST: %s, acknowledged at offset %lld, is not there (log end %lld)",
                 f->acked[next], (long long)f->acked_at[next], (long long)end);
    struct np_fetch_offset_req q = {S("g"), S("f"), 0};
    assert_int_equal(np_client_fetch_offset(&c, &q, &fr), 0);
    assert_int_equal(fr.offset, f->commit);
    printf("# figure faults verified: %d acknowledged records at their offsets, %d refused ones "
           "kept, group "
           "offset %lld\n",
           f->nacked, extra, (long long)f->commit);
    np_client_close(&c);
}

static void create(struct fx *f)
{
    struct np_client c;
    struct np_create_topic_resp cr;
    client(f, &c);
    assert_int_equal(np_client_create_topic(&c, "f", 1, &cr), 0);
    np_client_close(&c);
}

/* The crash after the fault, and the clean stop: both must keep everything. */
static void crash_and_verify(struct fx *f, const char *const *args)
{
    flt_disarm(f->ctl);
    rel_broker_kill9(&f->b);
    start(f, args);
    verify(f);
    assert_int_equal(rel_broker_stop(&f->b, WAIT_MS), 0); /* a clean stop: exit 0 */
    start(f, args);
    verify(f);
    assert_int_equal(rel_broker_stop(&f->b, WAIT_MS), 0);
}

static void test_faults_write_enospc_refused_then_served_again(void **state)
{
    struct fx *f = *state;
    struct np_client c;
    size_t len;
    start(f, NULL);
    create(f);
    client(f, &c);
    produce_ok(f, &c, NP_ACKS_ALL, "before-%d", 30);
    assert_int_equal(commit(f, &c, 30), 0);
    flt_arm(f->ctl, FLT_WRITE, ENOSPC, ".log", -1, 0);
    expect_storage(&c, produce(f, &c, NP_ACKS_LEADER, "refused-1"), "produce acks=1");
    expect_storage(&c, produce(f, &c, NP_ACKS_ALL, "refused-2"), "produce acks=all");
    expect_storage(&c, commit(f, &c, 31), "commit");
    assert_true(flt_hits(f->ctl) >= 3);
    /* torn: half of each write lands, then ENOSPC; the log must cut what landed */
    flt_arm(f->ctl, FLT_WRITE, ENOSPC, ".log", -1, 1);
    struct kc_batch_builder bb;
    uint8_t *batch;
    kc_batch_builder_init(&bb, NULL, 0);
    for (int i = 0; i < 200; i++)
        assert_int_equal(kc_batch_builder_add(&bb, -1, NULL, -1, "torn-record-value", 17, NULL, 0),
                         0);
    assert_int_equal(kc_batch_builder_finish(&bb, &batch, &len), 0);
    struct np_produce_batch_resp pbr;
    struct np_produce_batch_req pb = {S("f"), 0, NP_ACKS_LEADER, {batch, (int32_t)len}};
    expect_storage(&c, np_client_produce_batch(&c, &pb, &pbr), "a torn batch");
    kc_batch_builder_fini(&bb);
    flt_disarm(f->ctl);
    /* reads were never affected, and the offsets continue with no hole */
    struct np_consume_resp cr;
    struct np_consume_req q = {S("f"), 0, 29};
    assert_int_equal(np_client_consume(&c, &q, &cr), 0);
    produce_ok(f, &c, NP_ACKS_ALL, "after-%d", 30);
    assert_int_equal(f->acked_at[30], 30);
    assert_int_equal(commit(f, &c, 60), 0);
    printf("# figure faults ENOSPC: %llu writes failed; producers got STORAGE; offsets continued "
           "at %lld\n",
           (unsigned long long)flt_hits(f->ctl), (long long)f->acked_at[30]);
    np_client_close(&c);
    crash_and_verify(f, NULL);
}

static void test_faults_fsync_eio_fails_the_log_then_heals_in_place(void **state)
{
    struct fx *f = *state;
    struct np_client c;
    start(f, NULL);
    create(f);
    client(f, &c);
    produce_ok(f, &c, NP_ACKS_ALL, "durable-%d", 20);
    assert_int_equal(commit(f, &c, 20), 0);
    flt_arm(f->ctl, FLT_FSYNC, EIO, ".log", -1, 0);
    /* appended, then its fsync fails: the disk may hold it - an open outcome, said with
     * REQUEST_TIMED_OUT ("it may be written"), never STORAGE ("nothing written") */
    int rc = produce(f, &c, NP_ACKS_ALL, "not-durable");
    if (rc != NP_ERR(NP_E_REQUEST_TIMED_OUT))
        fail_msg("an acks=all produce whose fsync failed: want REQUEST_TIMED_OUT, got %s (%s)",
                 np_is_err(rc) ? np_error_name(np_err_code(rc)) : np_strerror(rc), c.errmsg);
    expect_storage(&c, produce(f, &c, NP_ACKS_LEADER, "after-failure"), "produce acks=1");
    expect_storage(&c, commit(f, &c, 21), "commit");
    struct np_fetch_offset_resp fr;
    struct np_fetch_offset_req fq = {S("g"), S("f"), 0};
    assert_int_equal(np_client_fetch_offset(&c, &fq, &fr), 0);
    /* A commit answered STORAGE never reached the table: fetch-offset still answers the
     * acknowledged one (the store applies commits only once durable). */
    assert_int_equal(fr.offset, f->commit);
    printf("# figure faults a commit answered STORAGE is not seen by fetch-offset (%lld, the "
           "acknowledged one)\n", (long long)fr.offset);
    struct np_consume_resp cr;
    struct np_consume_req q = {S("f"), 0, 19}; /* below the durable offset: still served */
    assert_int_equal(np_client_consume(&c, &q, &cr), 0);
    kc_sleep_ms(1500); /* the broker tries to heal meanwhile, and must fail */
    expect_storage(&c, produce(f, &c, NP_ACKS_LEADER, "still-failing"), "produce acks=1");
    flt_disarm(f->ctl);
    int64_t t0 = kc_mono_ms();
    while ((rc = produce(f, &c, NP_ACKS_ALL, "healed")) != 0 && kc_mono_ms() - t0 < WAIT_MS) {
        assert_int_equal(rc, NP_ERR(NP_E_STORAGE));
        kc_sleep_ms(50);
    }
    assert_int_equal(rc, 0);
    printf("# figure faults fsync EIO: %llu fsyncs failed; served again %lld ms after the fault "
           "cleared, "
           "without a restart\n",
           (unsigned long long)flt_hits(f->ctl), (long long)(kc_mono_ms() - t0));
    assert_true(log_has(f, "back in service"));
    produce_ok(f, &c, NP_ACKS_ALL, "later-%d", 20);
    assert_int_equal(commit(f, &c, 40), 0);
    np_client_close(&c);
    crash_and_verify(f, NULL);
}

/* ---- the Kafka door: one Produce v3, by hand (the port is shared, the protocol told by
 * the first frame) -------------------------------------------------------------------- */

static int kafka_connect(const struct fx *f)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)f->b.port)};
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(fd >= 0);
    assert_int_equal(inet_pton(AF_INET, "127.0.0.1", &a.sin_addr), 1);
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    struct timeval tv = {WAIT_MS / 1000, 0}; /* a broker that never answers fails the test */
    assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), 0);
    return fd;
}

static void read_full(int fd, uint8_t *p, size_t n)
{
    for (size_t got = 0; got < n;) {
        ssize_t r = read(fd, p + got, n - got);
        if (r <= 0)
            fail_msg("the Kafka door closed or stalled mid-answer (%s)",
                     r ? strerror(errno) : "EOF");
        got += (size_t)r;
    }
}

/* Produce v3 of one record (value v) to f-0 with acks=all: the partition's error code and
 * base offset; an acknowledged record joins the model that verify() checks. */
static int16_t kafka_produce(struct fx *f, int fd, const char *v)
{
    struct kc_batch_builder bb;
    struct kc_writer w;
    uint8_t *batch, hdr[4], resp[512];
    size_t blen;
    kc_batch_builder_init(&bb, NULL, 0);
    assert_int_equal(kc_batch_builder_add(&bb, -1, NULL, -1, v, (int32_t)strlen(v), NULL, 0), 0);
    assert_int_equal(kc_batch_builder_finish(&bb, &batch, &blen), 0);
    kc_writer_init(&w, 0);
    kc_write_i32(&w, 0); /* the frame's size, patched below */
    kc_write_i16(&w, 0); /* Produce */
    kc_write_i16(&w, 3);
    kc_write_i32(&w, 77);
    kc_write_cstr(&w, "test_faults");
    kc_write_str(&w, NULL, -1); /* no transactional id */
    kc_write_i16(&w, -1);       /* acks=all */
    kc_write_i32(&w, 10000);
    kc_write_i32(&w, 1);
    kc_write_cstr(&w, "f");
    kc_write_i32(&w, 1);
    kc_write_i32(&w, 0);
    kc_write_bytes(&w, batch, (int32_t)blen);
    kc_writer_patch_i32(&w, 0, (int32_t)(kc_writer_len(&w) - 4));
    assert_int_equal(kc_writer_error(&w), 0);
    assert_int_equal(write(fd, kc_writer_data(&w), kc_writer_len(&w)), (ssize_t)kc_writer_len(&w));
    kc_writer_fini(&w);
    kc_batch_builder_fini(&bb);
    read_full(fd, hdr, 4);
    size_t n = kc_load_be32(hdr);
    assert_true(n <= sizeof(resp));
    read_full(fd, resp, n);
    /* corr | [topic | [partition, error, base offset, append time]] | throttle */
    struct kc_reader r;
    int32_t corr, ntopics, nparts, part;
    int16_t tlen, err;
    int64_t base;
    kc_reader_init(&r, resp, n);
    assert_int_equal(kc_read_i32(&r, &corr), 0);
    assert_int_equal(corr, 77);
    assert_int_equal(kc_read_i32(&r, &ntopics), 0);
    assert_int_equal(ntopics, 1);
    assert_int_equal(kc_read_i16(&r, &tlen), 0);
    assert_int_equal(tlen, 1);
    r.pos += 1;
    assert_int_equal(kc_read_i32(&r, &nparts), 0);
    assert_int_equal(nparts, 1);
    assert_int_equal(kc_read_i32(&r, &part), 0);
    assert_int_equal(kc_read_i16(&r, &err), 0);
    assert_int_equal(kc_read_i64(&r, &base), 0);
    if (err == 0) {
        assert_true(f->nacked < 4096);
        strlcpy(f->acked[f->nacked], v, sizeof(f->acked[0]));
        f->acked_at[f->nacked++] = base;
    }
    return err;
}

/* The same fault through the Kafka door: an acks=all Produce whose fsync failed after its
 * append is answered REQUEST_TIMED_OUT (7: librdkafka's "possibly persisted", retried by an
 * idempotent producer, which the producer state then judges), never KAFKA_STORAGE_ERROR
 * (56: "not written"); the next one, refused by the failed log before anything is written,
 * is STORAGE; healed, the door serves again, and nothing acknowledged is lost. */
static void test_faults_kafka_door_fsync_eio_answers_timed_out(void **state)
{
    enum { NONE = 0, REQUEST_TIMED_OUT = 7, KAFKA_STORAGE_ERROR = 56 };
    struct fx *f = *state;
    start(f, NULL);
    create(f);
    int fd = kafka_connect(f);
    for (int i = 0; i < 5; i++)
        assert_int_equal(kafka_produce(f, fd, "kafka-durable"), NONE);
    flt_arm(f->ctl, FLT_FSYNC, EIO, ".log", -1, 0);
    int16_t err = kafka_produce(f, fd, "kafka-not-durable");
    if (err != REQUEST_TIMED_OUT)
        fail_msg("a Kafka acks=all produce whose fsync failed: want REQUEST_TIMED_OUT (7), got %d",
                 err);
    assert_int_equal(kafka_produce(f, fd, "kafka-refused"), KAFKA_STORAGE_ERROR);
    flt_disarm(f->ctl);
    int64_t t0 = kc_mono_ms();
    while ((err = kafka_produce(f, fd, "kafka-healed")) != NONE && kc_mono_ms() - t0 < WAIT_MS) {
        assert_int_equal(err, KAFKA_STORAGE_ERROR);
        kc_sleep_ms(50);
    }
    assert_int_equal(err, NONE);
    printf("# figure faults Kafka door, fsync EIO: REQUEST_TIMED_OUT after the append, "
           "KAFKA_STORAGE_ERROR before one; served again %lld ms after the fault cleared\n",
           (long long)(kc_mono_ms() - t0));
    close(fd);
    crash_and_verify(f, NULL);
}

static void test_faults_rename_fails_checkpoints_nothing_lost(void **state)
{
    struct fx *f = *state;
    struct np_client c;
    /* The data directory's checkpoints are written every 50 ms while anything changed; the
     * produces go on until some of them have failed (each try is a renamed checkpoint). */
    const char *args[] = {"--override", "log.segment.bytes=2048", "--override",
                          "log.flush.interval.ms=20", "--override",
                          "log.flush.offset.checkpoint.interval.ms=50", NULL};
    start(f, args);
    create(f);
    client(f, &c);
    flt_arm(f->ctl, FLT_RENAME, EIO, "checkpoint", -1, 0);
    for (int round = 0; round < 8 && (round == 0 || flt_hits(f->ctl) < 3); round++)
        produce_ok(f, &c, NP_ACKS_ALL, "ckpt-%d", 400); /* ~15 segment rolls a round */
    assert_int_equal(commit(f, &c, f->nacked), 0);
    uint64_t hits = flt_hits(f->ctl);
    printf(
        "# figure faults rename EIO: %llu checkpoint renames failed; every produce and commit was "
        "acknowledged\n",
        (unsigned long long)hits);
    assert_true(hits > 0);
    np_client_close(&c);
    /* a stop while checkpoints cannot be written: the next start must recover, not trust */
    int st = rel_broker_stop(&f->b, WAIT_MS);
    printf("# figure faults SIGTERM stop with checkpoint renames failing: wait status %d\n", st);
    flt_disarm(f->ctl);
    start(f, args);
    verify(f);
    flt_arm(f->ctl, FLT_RENAME, EIO, "checkpoint", -1, 0);
    client(f, &c);
    produce_ok(f, &c, NP_ACKS_ALL, "more-%d", 100);
    np_client_close(&c);
    crash_and_verify(f, args);
}

/* f-0's first segment: its path, and whether it exists. */
static bool first_segment(const struct fx *f, char *path, size_t cap)
{
    snprintf(path, cap, "%s/f-0/00000000000000000000.log", f->b.data);
    return access(path, F_OK) == 0;
}

/*
 * The power-cut model must know every way the broker makes a name durable. After a power
 * cut took a new segment whose name never reached the disk, the store's background sweep
 * re-creates it at the restart and makes it durable with ONE syncfs of the data directory
 * (appendLog/src/store.c), so the flusher never fsyncs that directory again. A model blind
 * to syncfs called the segment nameless forever and deleted it at the next power cut,
 * acknowledged records (or, in __consumer_offsets, acknowledged commits) and all: the
 * crash loop's "group offset of partition 0 is -1".
 */
static void test_faults_powercut_keeps_a_segment_the_sweep_recreated(void **state)
{
    struct fx *f = *state;
    struct np_client c;
    char seg[2048];
    flt_track_syncs(f->ctl, 1);
    start(f, NULL);
    create(f);
    client(f, &c);
    produce_ok(f, &c, NP_ACKS_ALL, "gone-%d", 5);
    np_client_close(&c);
    rel_broker_kill9(&f->b);
    /* what a power cut leaves of a segment whose name never reached the disk */
    assert_true(first_segment(f, seg, sizeof(seg)));
    assert_int_equal(unlink(seg), 0);
    f->nacked = 0; /* taken on purpose: the model forgets them */
    start(f, NULL);
    for (int64_t t0 = kc_mono_ms(); !first_segment(f, seg, sizeof(seg));) {
        assert_true(kc_mono_ms() - t0 < WAIT_MS); /* the sweep re-creates it */
        kc_sleep_ms(5);
    }
    kc_sleep_ms(500); /* and makes it durable with its syncfs, then closes the log again */
    client(f, &c);
    produce_ok(f, &c, NP_ACKS_ALL, "kept-%d", 20);
    assert_int_equal(commit(f, &c, 20), 0);
    np_client_close(&c);
    rel_broker_kill9(&f->b);
    struct stat st;
    assert_int_equal(stat(seg, &st), 0);
    struct flt_sync *e = flt_sync_find(f->ctl, seg, (uint64_t)st.st_ino);
    if (!e || !atomic_load(&e->dirent))
        fail_msg("the model says %s has no durable name (%s): a power cut would delete 20 "
                 "acknowledged records", seg, e ? "fdatasynced, directory never synced" : "no entry");
    uint64_t rng = 1;
    struct rel_cut cut = {0};
    assert_int_equal(rel_powercut(f->ctl, f->b.data, &rng, &cut), 0);
    printf("# figure faults power cut after the sweep's syncfs: %d files deleted, %llu bytes cut\n",
           cut.files, (unsigned long long)cut.bytes);
    start(f, NULL);
    verify(f);
    assert_int_equal(rel_broker_stop(&f->b, WAIT_MS), 0);
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_faults_write_enospc_refused_then_served_again, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_faults_fsync_eio_fails_the_log_then_heals_in_place,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_faults_kafka_door_fsync_eio_answers_timed_out,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_faults_rename_fails_checkpoints_nothing_lost, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_faults_powercut_keeps_a_segment_the_sweep_recreated,
                                        setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
