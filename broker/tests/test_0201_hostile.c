/*
 * test_0201_hostile.c - hostile input at scale, with the broker's memory measured: every
 * abuse of issue 6 at once on a thousand connections, slow clients that send half a frame
 * and stall, Kafka clients that park and vanish, while a well-behaved client keeps
 * producing and consuming; each abuser gets its error or its close, the good client never
 * fails, and the broker's resident memory (/proc/<pid>/status) is printed before, at peak
 * and after, and held to a bound.
 *
 * test_0002 and test_0003 (native) and test_0104 (Kafka) prove each refusal one at a time;
 * this file proves them together, concurrently, under a budget. Figures are printed as
 * "# figure ..." lines (make hostile collects them).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include "kafka/kt.h"

#define S(s)    np_str(s)
#define IDLE_MS 3000

/* Under ASan freed memory waits in a quarantine (256 MiB) and TSan keeps shadow for it, so
 * the broker (built the same way as this test) cannot give it back: there the return to
 * baseline is only printed, and checked in the plain build. Their shadow memory also
 * multiplies what a byte of buffer costs (measured: ASan 2.2x, TSan 4.1x the plain build),
 * so the bounds scale by MEM_FACTOR. */
#if defined(__SANITIZE_THREAD__)
#define RETURNS_MEMORY 0
#define MEM_FACTOR     6
#elif defined(__SANITIZE_ADDRESS__)
#define RETURNS_MEMORY 0
#define MEM_FACTOR     3
#else
/* A broker under a wrapper (make valgrind: memcheck keeps freed blocks in its own queue)
 * cannot give memory back either: the return to baseline is then only printed. */
static bool returns_memory(void)
{
    const char *wrap = getenv("KC_BROKER_WRAP");
    return !wrap || !*wrap;
}
#define RETURNS_MEMORY returns_memory()
#define MEM_FACTOR     1
#endif

/* ---- the broker's memory ----------------------------------------------------------------- */

struct mem {
    long rss_kb;
    long hwm_kb;
};

static struct mem mem_of(const struct kb_broker *b)
{
    char path[64], text[8192];
    struct mem m = {-1, -1};
    snprintf(path, sizeof(path), "/proc/%d/status", (int)b->pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    assert_true(fd >= 0);
    ssize_t n = kc_read_full(fd, text, sizeof(text) - 1);
    close(fd);
    assert_true(n > 0);
    text[n] = '\0';
    char *rss = strstr(text, "VmRSS:"), *hwm = strstr(text, "VmHWM:");
    assert_non_null(rss);
    assert_non_null(hwm);
    m.rss_kb = strtol(rss + 6, NULL, 10);
    m.hwm_kb = strtol(hwm + 6, NULL, 10);
    return m;
}

/* Sample VmRSS every few ms while `busy`; the highest value seen. */
struct sampler {
    const struct kb_broker *b;
    atomic_int stop;
    long peak_kb;
    pthread_t t;
};

static void *sampler_main(void *arg)
{
    struct sampler *s = arg;
    char path[64], text[8192];
    snprintf(path, sizeof(path), "/proc/%d/status", (int)s->b->pid);
    while (!atomic_load(&s->stop)) {
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        ssize_t n = fd >= 0 ? kc_read_full(fd, text, sizeof(text) - 1) : -1;
        if (fd >= 0)
            close(fd);
        char *rss = n > 0 ? (text[n] = '\0', strstr(text, "VmRSS:")) : NULL;
        long kb = rss ? strtol(rss + 6, NULL, 10) : 0;
        s->peak_kb = KC_MAX(s->peak_kb, kb);
        kc_sleep_ms(5);
    }
    return NULL;
}

static void sampler_start(struct sampler *s, const struct kb_broker *b)
{
    s->b = b;
    s->peak_kb = 0;
    atomic_store(&s->stop, 0);
    assert_int_equal(pthread_create(&s->t, NULL, sampler_main, s), 0);
}

static long sampler_stop(struct sampler *s)
{
    atomic_store(&s->stop, 1);
    pthread_join(s->t, NULL);
    return s->peak_kb;
}

static void figure(const char *phase, long before, long peak, long after, long bound)
{
    printf("# figure rss %-34s before %6ld KiB  peak %7ld KiB (+%ld)  after %6ld KiB (+%ld)  "
           "bound +%ld KiB\n",
           phase, before, peak, peak - before, after, after - before, bound);
}

/* ---- the well-behaved client ------------------------------------------------------------- */

/* Produce a record and read it back, over and over, on its own connection: it must never
 * fail while the others abuse the broker. Uses no cmocka asserts (another thread). */
struct good {
    const struct kb_broker *b;
    atomic_int stop;
    long ok, failed;
    int64_t max_us;
    char err[256];
    pthread_t t;
};

static int good_round(struct good *g, struct np_client *c, long i)
{
    char v[32];
    struct np_produce_resp pr;
    struct np_consume_resp cr;
    int n = snprintf(v, sizeof(v), "good-%ld", i);
    struct np_produce_req req = {S("good"), 0,          NP_ACKS_LEADER,
                                 -1,        {NULL, -1}, {(const uint8_t *)v, n}};
    int64_t t0 = kc_mono_ns();
    int rc = np_client_produce(c, &req, &pr);
    struct np_consume_req q = {S("good"), 0, pr.offset};
    if (rc == 0)
        rc = np_client_consume(c, &q, &cr);
    if (rc == 0 && (cr.value.len != n || memcmp(cr.value.p, v, (size_t)n) != 0))
        rc = KC_ECORRUPT;
    int64_t us = (kc_mono_ns() - t0) / 1000;
    g->max_us = KC_MAX(g->max_us, us);
    if (rc)
        snprintf(g->err, sizeof(g->err), "round %ld: %.60s (%.150s)", i, np_strerror(rc),
                 c->errmsg);
    return rc;
}

static void *good_main(void *arg)
{
    struct good *g = arg;
    struct np_client c;
    struct np_create_topic_resp cr;
    if (np_client_connect(&c, g->b->addr, KB_WAIT_MS) != 0) {
        g->failed++;
        return NULL;
    }
    (void)np_client_create_topic(&c, "good", 1, &cr); /* may exist from an earlier phase */
    for (long i = 0; !atomic_load(&g->stop); i++) {
        if (good_round(g, &c, i) == 0)
            g->ok++;
        else
            g->failed++;
        kc_sleep_ms(1);
    }
    np_client_close(&c);
    return NULL;
}

static void good_start(struct good *g, const struct kb_broker *b)
{
    memset(g, 0, sizeof(*g));
    g->b = b;
    assert_int_equal(pthread_create(&g->t, NULL, good_main, g), 0);
}

static void good_stop(struct good *g, const char *phase)
{
    atomic_store(&g->stop, 1);
    pthread_join(g->t, NULL);
    printf("# figure good client during %-22s %6ld round trips, %ld failed, slowest %.1f ms\n",
           phase, g->ok, g->failed, (double)g->max_us / 1000.0);
    if (g->failed)
        fail_msg("the well-behaved client failed during %s: %s", phase, g->err);
    assert_true(g->ok > 0);
}

/* ---- the abuse catalogue ----------------------------------------------------------------- */

enum outcome { ANSWER_KEEP, ANSWER_CLOSE, CLOSE, HANG_UP };

struct abuse {
    const char *name;
    enum outcome outcome;
    int16_t error; /* for ANSWER_* */
    uint8_t bytes[600];
    size_t len;
};

static void raw_header(uint8_t *h, uint32_t length, uint16_t magic, uint8_t cmd, uint32_t corr)
{
    kc_store_be32(h, length);
    kc_store_be16(h + 4, magic);
    h[6] = NP_VERSION;
    h[7] = cmd;
    kc_store_be32(h + 8, corr);
}

static void add(struct abuse *a, int *n, const char *name, enum outcome o, int16_t err,
                const void *p, size_t len)
{
    assert_true(len <= sizeof(a[*n].bytes));
    a[*n] = (struct abuse){.name = name, .outcome = o, .error = err, .len = len};
    memcpy(a[*n].bytes, p, len);
    (*n)++;
}

/* A batch of 3 records, then damaged in a way the broker must refuse. */
static size_t bad_batch(uint8_t *out, int how)
{
    size_t len;
    uint8_t *b = kb_batch("hostile", 3, &len);
    memcpy(out, b, len);
    free(b);
    if (how == 0)
        out[len - 1] ^= 0x40; /* a flipped bit: bad CRC */
    else if (how == 1)
        kc_store_be32(out + KC_BATCH_OFF_RECORDS_COUNT, 4); /* a count that lies (CRC too) */
    else
        kc_store_be32(out + 8, (uint32_t)len); /* batchLength 12 bytes too long */
    return len;
}

static void encode_into(struct abuse *a, int *n, const char *name, int16_t err,
                        void (*enc)(struct kc_writer *w, int i), int i)
{
    struct kc_writer w;
    kc_writer_init(&w, 0);
    enc(&w, i);
    add(a, n, name, ANSWER_KEEP, err, kc_writer_data(&w), kc_writer_len(&w));
    kc_writer_fini(&w);
}

static void enc_create(struct kc_writer *w, int i)
{
    static char long_name[251];
    memset(long_name, 'x', 250);
    const char *names[] = {"../../etc/passwd", long_name, "", "ok-name", "ok-name"};
    const int32_t parts[] = {1, 1, 1, 0, 0x7FFFFFFF};
    np_encode_create_topic(w, 100 + (uint32_t)i,
                           &(struct np_create_topic_req){S(names[i]), parts[i]});
}

static void enc_misc(struct kc_writer *w, int i)
{
    uint8_t batch[600];
    switch (i) {
    case 0:
        np_encode_produce(w, 200,
                          &(struct np_produce_req){S("t"), 0x7FFFFFFF, 1, -1, {NULL, -1}, S("v")});
        break;
    case 1:
        np_encode_produce(w, 201, &(struct np_produce_req){S("t"), -7, 1, -1, {NULL, -1}, S("v")});
        break;
    case 2:
        np_encode_consume(w, 202, &(struct np_consume_req){S("t"), 0, INT64_MAX});
        break;
    case 3:
        np_encode_consume(w, 203, &(struct np_consume_req){S("t"), 0, INT64_MIN});
        break;
    case 4:
        np_encode_consume_batch(
            w, 204, &(struct np_consume_batch_req){S("t"), 0, INT64_MAX / 2, 10, 1024, 0});
        break;
    default: {
        size_t len = bad_batch(batch, i - 5);
        np_encode_produce_batch(
            w, 205, &(struct np_produce_batch_req){S("t"), 0, 1, {batch, (int32_t)len}});
        break;
    }
    }
}

static int catalogue(struct abuse *a)
{
    int n = 0;
    uint8_t h[64];
    raw_header(h, 1u << 30, NP_MAGIC, NP_PRODUCE, 1); /* oversized */
    add(a, &n, "length 1 GiB", ANSWER_CLOSE, NP_E_REQUEST_TOO_LARGE, h, 12);
    raw_header(h, 0x80000000u, NP_MAGIC, NP_PRODUCE, 2); /* negative as an i32 */
    add(a, &n, "length -2^31", ANSWER_CLOSE, NP_E_REQUEST_TOO_LARGE, h, 12);
    raw_header(h, 3, NP_MAGIC, NP_PING, 3);
    add(a, &n, "length 3", CLOSE, 0, h, 12);
    raw_header(h, 8, 0xCAFF, NP_INFO, 4);
    add(a, &n, "wrong magic", CLOSE, 0, h, 12);
    raw_header(h, 8, NP_MAGIC, 77, 5);
    add(a, &n, "unknown command 77", ANSWER_KEEP, NP_E_UNKNOWN_COMMAND, h, 12);
    raw_header(h, 8 + 6, NP_MAGIC, NP_CREATE_TOPIC, 6); /* topic length -5 */
    kc_store_be16(h + 12, (uint16_t)-5);
    kc_store_be32(h + 14, 1);
    add(a, &n, "string length -5", ANSWER_KEEP, NP_E_MALFORMED, h, 18);
    raw_header(h, 8 + 40, NP_MAGIC, NP_PING, 7); /* promises 40 bytes, sends 10, hangs up */
    add(a, &n, "truncated frame, hang-up", HANG_UP, 0, h, 22);
    const char *cn[] = {"topic ../../etc/passwd", "topic of 250 chars", "topic empty",
                        "0 partitions", "2^31-1 partitions"};
    const int16_t ce[] = {NP_E_INVALID_TOPIC, NP_E_INVALID_TOPIC, NP_E_INVALID_TOPIC,
                          NP_E_INVALID_PARTITIONS, NP_E_INVALID_PARTITIONS};
    for (int i = 0; i < 5; i++)
        encode_into(a, &n, cn[i], ce[i], enc_create, i);
    const char *mn[] = {"partition 2^31-1", "partition -7",      "offset 2^63-1",
                        "offset -2^63",     "batch offset 2^62", "batch bad CRC",
                        "batch count lies", "batch length lies"};
    const int16_t me[] = {NP_E_UNKNOWN_PARTITION,   NP_E_UNKNOWN_PARTITION,
                          NP_E_OFFSET_OUT_OF_RANGE, NP_E_OFFSET_OUT_OF_RANGE,
                          NP_E_OFFSET_OUT_OF_RANGE, NP_E_CORRUPT_BATCH,
                          NP_E_CORRUPT_BATCH,       NP_E_CORRUPT_BATCH};
    for (int i = 0; i < 8; i++)
        encode_into(a, &n, mn[i], me[i], enc_misc, i);
    return n;
}

/* ---- the thousand ------------------------------------------------------------------------ */

static const uint8_t ping_frame[] = {0, 0, 0, 12, 0xCA, 0xFE, 1,    NP_PING,
                                     0, 0, 0, 99, 0xFF, 0xFF, 0xFF, 0xFF};

/* Check what connection fd got for abuse a: its answer, then kept (a ping works) or
 * closed. */
static void check_outcome(int fd, const struct abuse *a)
{
    uint8_t resp[2048];
    if (a->outcome == ANSWER_KEEP || a->outcome == ANSWER_CLOSE) {
        ssize_t n = kb_recv_frame(fd, resp, sizeof(resp));
        if (n < NP_RESP_HEADER_SIZE)
            fail_msg("%s: no answer", a->name);
        int16_t err = (int16_t)kc_load_be16(resp + 12);
        if (err != a->error)
            fail_msg("%s: answered %s, not %s", a->name, np_error_name(err),
                     np_error_name(a->error));
    }
    if (a->outcome == ANSWER_KEEP) {
        kb_send(fd, ping_frame, sizeof(ping_frame));
        ssize_t n = kb_recv_frame(fd, resp, sizeof(resp));
        if (n < NP_RESP_HEADER_SIZE || kc_load_be32(resp + 8) != 99)
            fail_msg("%s: the connection did not stay usable", a->name);
    } else if (a->outcome != HANG_UP && !kb_closed(fd, KB_WAIT_MS)) {
        fail_msg("%s: the connection was not closed", a->name);
    }
}

static int broker_threads_setup(void **state)
{
    kb_setup(state);
    /* a budget (queued.max.request.bytes) for all 100 stalled 64 MiB frames at once: the
     * default 512 MiB admits 8 at a time, and the rest waited unread (not idle) for their
     * turn - 37 s of waves; here every buffer is held together, the harder case */
    const char *args[] = {"--override", "connections.max.idle.ms=3000", "--override",
                          "num.partitions.max=1024", "--override",
                          "queued.max.request.bytes=8589934592", NULL};
    kb_start(*state, args);
    struct np_client c;
    struct np_create_topic_resp cr;
    kb_client(*state, &c);
    assert_int_equal(np_client_create_topic(&c, "t", 2, &cr), 0);
    np_client_close(&c);
    return 0;
}

static void raise_nofile(void)
{
    struct rlimit rl;
    assert_int_equal(getrlimit(RLIMIT_NOFILE, &rl), 0);
    rl.rlim_cur = rl.rlim_max;
    assert_int_equal(setrlimit(RLIMIT_NOFILE, &rl), 0);
    if (rl.rlim_max < 1200)
        skip();
}

static void test_0201_every_abuse_on_a_thousand_connections(void **state)
{
    struct kb_broker *b = *state;
    enum { N = 1000 };
    static int fds[N];
    static struct abuse cat[32];
    struct good g;
    struct sampler s;
    int ncat = catalogue(cat), per[32] = {0};
    raise_nofile();
    struct mem m0 = mem_of(b);
    good_start(&g, b);
    sampler_start(&s, b);
    for (int i = 0; i < N; i++) {
        fds[i] = kb_connect(b);
        kb_send(fds[i], cat[i % ncat].bytes, cat[i % ncat].len);
        if (cat[i % ncat].outcome == HANG_UP)
            close(fds[i]), fds[i] = -1;
    }
    for (int i = 0; i < N; i++) {
        if (fds[i] >= 0)
            check_outcome(fds[i], &cat[i % ncat]);
        per[i % ncat]++;
    }
    long peak = sampler_stop(&s);
    for (int i = 0; i < N; i++)
        if (fds[i] >= 0)
            close(fds[i]);
    good_stop(&g, "1000 abusers");
    for (int k = 0; k < ncat; k++)
        printf("# figure abuse %-26s x%3d  -> %s%s\n", cat[k].name, per[k],
               cat[k].outcome == CLOSE     ? "closed"
               : cat[k].outcome == HANG_UP ? "client hung up; broker fine"
                                           : np_error_name(cat[k].error),
               cat[k].outcome == ANSWER_KEEP    ? ", connection kept"
               : cat[k].outcome == ANSWER_CLOSE ? ", then closed"
                                                : "");
    kc_sleep_ms(500); /* the closes reach the broker */
    struct mem m1 = mem_of(b);
    long bound = MEM_FACTOR * 64 * 1024; /* 1000 connections at 64 KiB of input each, at most */
    figure("1000 abusive connections", m0.rss_kb, peak, m1.rss_kb, bound);
    assert_true(peak - m0.rss_kb <= bound);
}

/* Slow clients: each declares a 64 MiB frame, sends 256 KiB of it and stalls. The broker
 * holds what arrived (its buffer doubles to fit, ~2x), closes them after the idle timeout,
 * and gives the memory back. */
static void test_0201_slow_half_frames_closed_after_idle_memory_returned(void **state)
{
    struct kb_broker *b = *state;
    enum { N = 100, SENT = 256 << 10 };
    static int fds[N];
    static uint8_t chunk[SENT];
    struct good g;
    struct sampler s;
    raise_nofile();
    struct mem m0 = mem_of(b);
    good_start(&g, b);
    sampler_start(&s, b);
    raw_header(chunk, 64u << 20, NP_MAGIC, NP_PING, 1);
    kc_store_be32(chunk + 12, (64u << 20) - 12);
    int64_t t0 = kc_mono_ms();
    for (int i = 0; i < N; i++) {
        fds[i] = kb_connect(b);
        kb_send(fds[i], chunk, SENT);
    }
    int64_t sent_ms = kc_mono_ms() - t0;
    for (int i = 0; i < N; i++)
        if (!kb_closed(fds[i], KB_WAIT_MS))
            fail_msg("stalled client %d was not closed", i);
    int64_t closed_ms = kc_mono_ms() - t0;
    for (int i = 0; i < N; i++)
        close(fds[i]);
    kc_sleep_ms(300);
    long peak = sampler_stop(&s);
    struct mem m1 = mem_of(b);
    good_stop(&g, "100 stalled half frames");
    printf("# figure slow clients: %d x %d KiB of a 64 MiB frame, sent in %lld ms, all closed "
           "%lld ms after the first byte (connections.max.idle.ms=%d)\n",
           N, SENT >> 10, (long long)sent_ms, (long long)closed_ms, IDLE_MS);
    assert_true(closed_ms >= IDLE_MS - 500);
    /* the design's bound: an input buffer at most doubles past what arrived */
    long bound = MEM_FACTOR * (N * 2 * (SENT >> 10) + 16 * 1024);
    figure("100 stalled 64 MiB frames", m0.rss_kb, peak, m1.rss_kb, bound);
    assert_true(peak - m0.rss_kb <= bound);
    if (RETURNS_MEMORY)
        assert_true(m1.rss_kb - m0.rss_kb <= 32 * 1024); /* the buffers went back */
    assert_true(kb_log_has(b, "connections.max.idle.ms"));
}

/* Clients that ask for megabytes and close after reading a little, many times. */
static void test_0201_clients_closing_mid_response(void **state)
{
    struct kb_broker *b = *state;
    struct np_client c;
    struct np_produce_batch_resp pr;
    struct good g;
    struct sampler s;
    size_t len;
    kb_client(b, &c);
    uint8_t *batch = kb_batch("a value long enough to make megabytes of answer ", 10000, &len);
    for (int i = 0; i < 8; i++) {
        struct np_produce_batch_req req = {S("t"), 1, 1, {batch, (int32_t)len}};
        assert_int_equal(np_client_produce_batch(&c, &req, &pr), 0);
    }
    free(batch);
    np_client_close(&c);
    struct mem m0 = mem_of(b);
    good_start(&g, b);
    sampler_start(&s, b);
    for (int round = 0; round < 200; round++) {
        struct kc_writer w;
        uint8_t part[4096];
        kc_writer_init(&w, 0);
        np_encode_consume_batch(&w, 1,
                                &(struct np_consume_batch_req){S("t"), 1, 0, 100000, 64 << 20, 0});
        int fd = kb_connect(b);
        kb_send(fd, w.p, w.len);
        if (round % 3)
            (void)recv(fd, part, sizeof(part), 0); /* a first piece of ~5 MB, then gone */
        close(fd);
        kc_writer_fini(&w);
    }
    kc_sleep_ms(300);
    long peak = sampler_stop(&s);
    struct mem m1 = mem_of(b);
    good_stop(&g, "200 mid-response closes");
    figure("200 closes mid-response (5 MB each)", m0.rss_kb, peak, m1.rss_kb, 32 * 1024);
    /* the answers go out by sendfile from the page cache: no copy in the broker's heap */
    assert_true(peak - m0.rss_kb <= MEM_FACTOR * 32 * 1024);
}

/* Kafka: fetches parked on long-polls, then abandoned; frames half-sent; wrong counts. */
static void test_0201_kafka_parked_and_abandoned(void **state)
{
    struct kb_broker *b = *state;
    enum { N = 300 };
    static int fds[N];
    struct good g;
    struct sampler s;
    struct kc_writer w;
    raise_nofile();
    struct mem m0 = mem_of(b);
    good_start(&g, b);
    sampler_start(&s, b);
    kc_writer_init(&w, 0);
    for (int i = 0; i < N; i++) {
        kc_writer_reset(&w);
        if (i % 3 == 0) { /* a long-poll at the log end, abandoned later */
            kt_fetch_req(&w, i, 20000, 1 << 20, 1 << 20, "t", 0, 0, 1 << 20);
        } else if (i % 3 == 1) { /* half of a declared 50 MB Metadata request */
            size_t at = kt_req_begin(&w, KP_API_METADATA, 4, i);
            kc_write_i32(&w, 1);
            kc_write_cstr(&w, "t");
            kt_req_end(&w, at);
            kc_store_be32(kc_writer_data(&w), 50u << 20);
        } else { /* a count far beyond the frame: refused, closed */
            size_t at = kt_req_begin(&w, KP_API_METADATA, 4, i);
            kc_write_i32(&w, 0x7FFFFFF0);
            kt_req_end(&w, at);
        }
        fds[i] = kb_connect(b);
        kb_send(fds[i], kc_writer_data(&w), kc_writer_len(&w));
    }
    kc_writer_fini(&w);
    kt_assert_serving(b);
    for (int i = 2; i < N; i += 3)
        assert_true(kb_closed(fds[i], KB_WAIT_MS));
    for (int i = 0; i < N; i++)
        close(fds[i]);
    kc_sleep_ms(500);
    long peak = sampler_stop(&s);
    struct mem m1 = mem_of(b);
    good_stop(&g, "300 Kafka abusers");
    long bound = MEM_FACTOR * 32 * 1024;
    figure("300 Kafka parked/half/bad", m0.rss_kb, peak, m1.rss_kb, bound);
    assert_true(peak - m0.rss_kb <= bound);
    kt_assert_serving(b);
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
#define T(fn) cmocka_unit_test_setup_teardown(fn, broker_threads_setup, kb_teardown)
    const struct CMUnitTest tests[] = {
        T(test_0201_every_abuse_on_a_thousand_connections),
        T(test_0201_slow_half_frames_closed_after_idle_memory_returned),
        T(test_0201_clients_closing_mid_response),
        T(test_0201_kafka_parked_and_abandoned),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
