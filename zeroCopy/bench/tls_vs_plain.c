/*
 * tls_vs_plain.c - what TLS costs a consumer's fetch: the same file range sent over
 * loopback in plaintext (sendfile), through TLS with the fallback (pread + SSL_write), and
 * through TLS with kernel TLS (SSL_sendfile) where the kernel offers it.
 *
 * Each way sends the broker's shape of response, a 64-byte header and a 1 MiB file range,
 * queued in a struct zc_out on a non-blocking socket, until run_bytes are out; a receiver
 * thread reads into a 256 KiB buffer (read(), or zc_tls_read: it decrypts) and answers the
 * last byte with one byte. Sender and receiver are pinned to different cores. Each way has
 * its own connection (one TLS handshake, before timing). Runs interleave the ways; the
 * first is a warm-up. CPU time per GiB of each thread from getrusage(RUSAGE_THREAD).
 *
 *   usage: tls_vs_plain [--mb N] [--runs N] [--cipher IANA-NAME]
 *          (defaults 256 MiB, 7 runs, TLS 1.3 with OpenSSL's first choice; BENCH_QUICK=1:
 *           64 MiB, 5 runs)
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "kc_common.h"
#include "zc.h"
#include "zc_tls.h"

#define MAX_RUNS 15
#define CHUNK    ((size_t)1 << 20)
#define RBUF     (256 * 1024)

enum way { PLAIN, TLS_COPY, TLS_KTLS, WAYS };
static const char *const names[] = {"plaintext sendfile", "TLS, fallback (pread+SSL_write)",
                                    "TLS, kernel TLS (SSL_sendfile)"};

struct conn {
    int snd, rcv;         /* sender's and receiver's sockets */
    struct zc_tls *s, *c; /* NULL for plaintext */
};

struct receiver {
    struct conn *conns;
    bool active[WAYS];
    size_t per_run;
    int runs;
    double cpu[(MAX_RUNS + 1)][WAYS];
};

static double thread_cpu_s(void)
{
    struct rusage ru;
    if (getrusage(RUSAGE_THREAD, &ru) < 0)
        abort(); /* cannot fail for RUSAGE_THREAD */
    return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
           (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

/* As in sendfile_vs_write.c: each thread on its own core, when there are two. */
static void pin_to(int index)
{
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof(set), &set) < 0 || CPU_COUNT(&set) < 2)
        return;
    int want = index % CPU_COUNT(&set);
    for (int c = 0; c < CPU_SETSIZE; c++) {
        if (CPU_ISSET(c, &set) && want-- == 0) {
            cpu_set_t one;
            CPU_ZERO(&one);
            CPU_SET(c, &one);
            (void)sched_setaffinity(0, sizeof(one), &one); /* best effort */
            return;
        }
    }
}

static void receive(struct conn *k, size_t want, uint8_t *buf)
{
    for (size_t got = 0; got < want;) {
        size_t n = want - got < RBUF ? want - got : RBUF;
        ssize_t r = k->c ? zc_tls_read(k->c, buf, n) : read(k->rcv, buf, n);
        if (r <= 0)
            abort(); /* the bench's own sender never stops early */
        got += (size_t)r;
    }
    if (kc_write_all(k->rcv, "k", 1) != 1) /* plaintext ack: the sender reads it raw */
        abort();
}

static void *receiver_main(void *arg)
{
    struct receiver *r = arg;
    pin_to(0);
    uint8_t *buf = malloc(RBUF);
    for (int run = 0; buf && run < r->runs; run++)
        for (int w = 0; w < WAYS; w++) {
            if (!r->active[w])
                continue;
            double c0 = thread_cpu_s();
            receive(&r->conns[w], r->per_run, buf);
            r->cpu[run][w] = thread_cpu_s() - c0;
        }
    free(buf);
    return NULL;
}

/* One run of the broker's responses through the queue; 0 or -errno. */
static int send_run(struct conn *k, int fd, size_t run_bytes)
{
    uint8_t hdr[64] = {0};
    struct zc_out q;
    zc_out_init(&q);
    int rc = 0;
    size_t payload = run_bytes - (run_bytes / CHUNK) * sizeof(hdr);
    for (size_t off = 0; rc == 0 && off < payload; off += CHUNK) {
        size_t len = payload - off < CHUNK ? payload - off : CHUNK;
        rc = zc_out_mem(&q, hdr, sizeof(hdr));
        if (rc == 0)
            rc = zc_out_file(&q, fd, (off_t)off, len, NULL, NULL);
        while (rc == 0 && (rc = k->s ? zc_out_send_tls(&q, k->s) : zc_out_send(&q, k->snd)) == 0) {
            struct pollfd p = {k->snd, k->s ? zc_tls_events(k->s) : POLLOUT, 0};
            rc = poll(&p, 1, -1) < 0 ? -errno : 0;
        }
        rc = rc == 1 ? 0 : rc;
    }
    zc_out_fini(&q);
    return rc;
}

static double one_run(struct conn *k, int fd, size_t run_bytes, double *cpu)
{
    int64_t t0 = kc_mono_ns();
    double c0 = thread_cpu_s();
    int rc = send_run(k, fd, run_bytes);
    char ack;
    struct pollfd p = {k->snd, POLLIN, 0};
    while (rc == 0 && poll(&p, 1, -1) == 1 && read(k->snd, &ack, 1) != 1)
        ;
    if (rc < 0) {
        fprintf(stderr, "tls_vs_plain: %s (%s)\n", kc_strerror(rc), k->s ? zc_tls_error(k->s) : "");
        exit(1);
    }
    *cpu = thread_cpu_s() - c0;
    return (double)run_bytes / ((double)(kc_mono_ns() - t0) / 1e9);
}

/* A connected pair; the sender's end non-blocking. */
static void tcp_pair(struct conn *k)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t alen = sizeof(a);
    int l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    k->snd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (l < 0 || k->snd < 0 || bind(l, (struct sockaddr *)&a, sizeof(a)) || listen(l, 1) ||
        getsockname(l, (struct sockaddr *)&a, &alen) ||
        connect(k->snd, (struct sockaddr *)&a, sizeof(a)) ||
        (k->rcv = accept4(l, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK)) < 0 ||
        fcntl(k->snd, F_SETFL, O_NONBLOCK) < 0)
        abort();
    close(l);
}

/* The TLS handshake of one connection, both ends driven here; then the receiver's end
 * goes back to blocking (its thread just reads). */
static void tls_connect(struct conn *k, struct zc_tls_ctx *sctx, struct zc_tls_ctx *cctx)
{
    if (zc_tls_new(sctx, k->snd, NULL, &k->s) < 0 ||
        zc_tls_new(cctx, k->rcv, "127.0.0.1", &k->c) < 0)
        abort();
    int a = 0, b = 0;
    while (a == 0 || b == 0) {
        if (a == 0)
            a = zc_tls_handshake(k->s);
        if (b == 0)
            b = zc_tls_handshake(k->c);
        if (a < 0 || b < 0) {
            fprintf(stderr, "handshake: %s / %s\n", zc_tls_error(k->s), zc_tls_error(k->c));
            exit(1);
        }
        (void)poll(NULL, 0, 1);
    }
    if (fcntl(k->rcv, F_SETFL, 0) < 0)
        abort();
}

static int make_file(const char *dir, size_t bytes)
{
    char path[4096];
    if (kc_path_join(path, sizeof(path), dir, "bench.log") < 0)
        return -1;
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    uint8_t *buf = malloc(CHUNK);
    for (size_t off = 0; fd >= 0 && buf && off < bytes; off += CHUNK) {
        for (size_t i = 0; i < CHUNK; i++)
            buf[i] = (uint8_t)(off + i * 131);
        if (kc_write_all(fd, buf, CHUNK) < 0)
            abort();
    }
    free(buf);
    return fd;
}

/* Certificates by the tests' script, in dir. */
static void certs(const char *dir, struct zc_tls_ctx **sctx, struct zc_tls_ctx **sctx_copy,
                  struct zc_tls_ctx **cctx, const char *cipher)
{
    char cmd[8192], key[4200], ca[4200], err[256];
    const char *src = getenv("KC_SRC_DIR");
    snprintf(cmd, sizeof(cmd), "%s/zeroCopy/tests/support/mkcerts.sh '%s'", src ? src : ".", dir);
    if (system(cmd) != 0) {
        fprintf(stderr, "tls_vs_plain: mkcerts.sh failed (needs the openssl CLI)\n");
        exit(1);
    }
    snprintf(key, sizeof(key), "%s/server.pem", dir);
    snprintf(ca, sizeof(ca), "%s/ca.pem", dir);
    struct zc_tls_config s = {.keystore_location = key, .cipher_suites = cipher};
    struct zc_tls_config s_copy = {
        .keystore_location = key, .cipher_suites = cipher, .no_ktls = true};
    struct zc_tls_config c = {.truststore_location = ca};
    if (zc_tls_ctx_new(&s, true, sctx, err, sizeof(err)) < 0 ||
        zc_tls_ctx_new(&s_copy, true, sctx_copy, err, sizeof(err)) < 0 ||
        zc_tls_ctx_new(&c, false, cctx, err, sizeof(err)) < 0) {
        fprintf(stderr, "tls_vs_plain: %s\n", err);
        exit(1);
    }
}

static void report(double v[WAYS][MAX_RUNS], double cpu[WAYS][MAX_RUNS],
                   double rcpu[WAYS][MAX_RUNS], const bool *active, int runs, size_t bytes,
                   const char *cipher)
{
    printf("tls_vs_plain: %zu MiB per run (64-byte header + 1 MiB range per response) over "
           "127.0.0.1, median of %d runs; TLS 1.3, %s\n\n",
           bytes >> 20, runs, cipher);
    printf("  %-32s %11s %7s %14s %12s %12s\n", "", "throughput", "ratio", "min .. max",
           "sender CPU", "receiver");
    double base = kc_median(v[PLAIN], (size_t)runs);
    for (int w = 0; w < WAYS; w++) {
        if (!active[w]) {
            printf("  %-32s not available: this kernel has no \"tls\" ULP\n", names[w]);
            continue;
        }
        double med = kc_median(v[w], (size_t)runs);
        printf("  %-32s %5.2f GiB/s %6.2fx %5.2f .. %5.2f %5.0f ms/GiB %5.0f ms/GiB\n", names[w],
               med / (1 << 30), med / base, kc_min(v[w], (size_t)runs) / (1 << 30),
               kc_max(v[w], (size_t)runs) / (1 << 30), kc_median(cpu[w], (size_t)runs),
               kc_median(rcpu[w], (size_t)runs));
    }
    double r = kc_median(v[TLS_COPY], (size_t)runs) / base;
    printf("\n  TLS (fallback) / plaintext: %.2f (aim >= 0.50: %s)\n", r,
           r >= 0.5 ? "PASS" : "MISS");
}

int main(int argc, char **argv)
{
    bool quick = getenv("BENCH_QUICK") != NULL;
    int runs = quick ? 5 : 7;
    size_t mb = quick ? 64 : 256;
    const char *cipher = NULL;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--mb") == 0)
            mb = (size_t)atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--runs") == 0)
            runs = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--cipher") == 0)
            cipher = argv[i + 1];
    }
    if (runs < 1 || runs > MAX_RUNS || mb < 2) {
        fprintf(stderr, "usage: tls_vs_plain [--mb N>=2] [--runs 1..%d] [--cipher NAME]\n",
                MAX_RUNS);
        return 2;
    }
    size_t bytes = mb << 20;
    signal(SIGPIPE, SIG_IGN);
    pin_to(1);
    char dir[4096];
    if (kc_mkdtemp("kc-zc-tls-bench-", dir, sizeof(dir)) < 0)
        return 1;
    int fd = make_file(dir, bytes);
    struct zc_tls_ctx *sctx, *sctx_copy, *cctx;
    certs(dir, &sctx, &sctx_copy, &cctx, cipher);
    struct conn conns[WAYS] = {0};
    bool active[WAYS] = {true, true, zc_tls_ktls_available()};
    for (int w = 0; w < WAYS; w++) {
        if (!active[w])
            continue;
        tcp_pair(&conns[w]);
        if (w != PLAIN)
            tls_connect(&conns[w], w == TLS_KTLS ? sctx : sctx_copy, cctx);
        if (fcntl(conns[w].rcv, F_SETFL, 0) < 0)
            return 1;
    }
    if (active[TLS_KTLS] && !zc_tls_ktls_send(conns[TLS_KTLS].s))
        fprintf(stderr, "note: the kernel has the tls ULP but refused this session's keys\n");
    const char *suite = zc_tls_cipher(conns[TLS_COPY].s);
    struct receiver r = {.conns = conns, .per_run = bytes, .runs = runs + 1};
    memcpy(r.active, active, sizeof(active));
    pthread_t t;
    if (pthread_create(&t, NULL, receiver_main, &r))
        return 1;
    double v[WAYS][MAX_RUNS], cpu[WAYS][MAX_RUNS], rcpu[WAYS][MAX_RUNS];
    double gib = (double)bytes / (1 << 30);
    for (int run = -1; run < runs; run++) /* run -1 warms up, uncounted */
        for (int w = 0; w < WAYS; w++) {
            if (!active[w])
                continue;
            double c, rate = one_run(&conns[w], fd, bytes, &c);
            if (run >= 0) {
                v[w][run] = rate;
                cpu[w][run] = c * 1e3 / gib;
            }
        }
    pthread_join(t, NULL);
    for (int run = 0; run < runs; run++)
        for (int w = 0; w < WAYS; w++)
            rcpu[w][run] = r.cpu[run + 1][w] * 1e3 / gib;
    report(v, cpu, rcpu, active, runs, bytes, suite);
    for (int w = 0; w < WAYS; w++) {
        zc_tls_free(conns[w].s);
        zc_tls_free(conns[w].c);
        if (active[w])
            close(conns[w].snd), close(conns[w].rcv);
    }
    zc_tls_ctx_free(sctx);
    zc_tls_ctx_free(sctx_copy);
    zc_tls_ctx_free(cctx);
    close(fd);
    return kc_rm_rf(dir) < 0;
}
