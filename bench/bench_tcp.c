/*
 * bench_tcp.c - the ceilings: what a raw loopback TCP socket does on this machine, with no
 * protocol, no storage and no broker in the way.
 *
 *   bench_tcp stream   [--ms 1000] [--chunk 1048576] [--read 262144] [--bytes N]
 *                      [--file PATH] [--cpu C] [--client-cpu C] [--name NAME]
 *       a child process writes big buffers as fast as it can, the parent reads and discards
 *       them for --ms milliseconds: MB/s, the ceiling for "consume from the page cache".
 *       Without --bytes the child sends one --chunk buffer again and again
 *       (bench=tcp_stream_hot): it stays in the CPU caches, so the reader copies cache-hot
 *       bytes, which no server of a log larger than the caches can offer.
 *       With --bytes N it walks through N bytes of its own memory, --chunk at a time, and
 *       round again (bench=tcp_stream_ws): give it the size of the topic a consumer reads,
 *       and both stream the same working set, with the same cache misses.
 *       With --file the child sends PATH (which should be in the page cache) with
 *       sendfile(2), --chunk bytes per call, from the start again at its end (or at
 *       --bytes): the same mechanism the broker uses, without the broker (bench=tcp_sendfile).
 *       The clock starts at the first byte received (after the sender's set-up). --cpu
 *       pins the sender, --client-cpu the reader (as bench_native consume sits beside the
 *       broker loop that serves it: each on its own CPU).
 *
 *   bench_tcp pingpong [--count 20000] [--warmup 500] [--req 145] [--resp 26]
 *                      [--cpu C] [--client-cpu C] [--name NAME]
 *       the child answers each --req byte message with --resp bytes; the parent sends one
 *       at a time on the pipelined loop every request/reply client uses (bench.h), so the
 *       ceiling is measured exactly as the broker's single-record produce is: p50/p99 of
 *       the round trip. The defaults are the sizes of a native produce of one 100 B record
 *       to topic "bench-rtt" and of its answer. --cpu pins the echo child, --client-cpu
 *       this process (bench_native rtt does both placements, paired with the broker).
 *
 *   bench_tcp freeport
 *       print a TCP port that was free on 127.0.0.1 a moment ago (for servers that cannot
 *       pick their own: redis-server, nats-server). The caller retries if it was taken.
 *
 *   bench_tcp cpus
 *       print the CPUs this process may run on, one line, ascending (for run.sh's pinning).
 *
 *   child (server)                          parent (client, measures)
 *   accept() on the inherited listener  <-- connect()
 *   stream: write() (or sendfile()) 1 MiB -> read() and discard, for --ms
 *   pingpong: read req, write resp  <---->  one request in flight, time each reply
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bench.h"
#include "kc_err.h"
#include "kc_time.h"

struct tcp_opts {
    const char *file;
    const char *name;
    int64_t bytes;
    int64_t cpu;
    int64_t client_cpu;
    int64_t ms;
    int64_t chunk;
    int64_t read_size;
    int64_t count;
    int64_t warmup;
    int64_t req;
    int64_t resp;
};

/* ---- stream: the child sends, the parent reads and measures ------------------------------ */

/* size bytes of payload: one chunk filled, then copied along (every page touched). */
static uint8_t *stream_buffer(size_t size, size_t chunk)
{
    uint8_t *buf = malloc(size);
    size_t first = chunk < size ? chunk : size;

    if (buf == NULL)
        return NULL;
    bench_fill_payload(buf, first, 1);
    for (size_t pos = first; pos < size; pos += first)
        memcpy(buf + pos, buf, size - pos < first ? size - pos : first);
    return buf;
}

/* size bytes of memory, chunk at a time, round and round, until the reader hangs up
 * (EPIPE or ECONNRESET end the run). size == chunk is the hot stream. */
static int serve_stream(int fd, size_t size, size_t chunk)
{
    uint8_t *buf = stream_buffer(size, chunk);
    size_t pos = 0;

    if (buf == NULL)
        return -ENOMEM;
    for (;;) {
        size_t len = size - pos < chunk ? size - pos : chunk;
        ssize_t n = send(fd, buf + pos, len, MSG_NOSIGNAL);

        if (n < 0 && errno != EINTR)
            break;
        pos += n > 0 ? (size_t)n : 0;
        if (pos == size)
            pos = 0;
    }
    free(buf);
    return 0;
}

/* The same, by sendfile(2) from a file (its first size bytes; 0: all of it), round and
 * round, until the reader hangs up. */
static int serve_sendfile(int fd, const char *path, size_t size, size_t chunk)
{
    int in = open(path, O_RDONLY | O_CLOEXEC);
    off_t off = 0;

    if (in < 0)
        return -errno;
    for (;;) {
        size_t len = size > 0 && size - (size_t)off < chunk ? size - (size_t)off : chunk;
        ssize_t n = sendfile(fd, in, &off, len);

        if (n == 0 || (size > 0 && (size_t)off >= size))
            off = 0; /* end of the file or of the range: from the start again */
        else if (n < 0 && errno != EINTR)
            break;
    }
    (void)close(in); /* read-only; the run is over */
    return 0;
}

static void stream_child(int lfd, const struct tcp_opts *o)
{
    int fd = bench_pin_cpu((int)o->cpu) == 0 ? accept(lfd, NULL, NULL) : -1;
    int err;

    if (fd < 0)
        _exit(1);
    if (o->file != NULL)
        err = serve_sendfile(fd, o->file, (size_t)o->bytes, (size_t)o->chunk);
    else
        err = serve_stream(fd, o->bytes > 0 ? (size_t)o->bytes : (size_t)o->chunk,
                           (size_t)o->chunk);
    if (err != 0)
        fprintf(stderr, "bench_tcp: the sender stopped: %s\n", kc_strerror(err));
    _exit(err == 0 ? 0 : 1);
}

static const char *stream_name(const struct tcp_opts *o)
{
    if (o->name != NULL)
        return o->name;
    if (o->file != NULL)
        return "tcp_sendfile";
    return o->bytes > 0 ? "tcp_stream_ws" : "tcp_stream_hot";
}

static int measure_stream(int fd, const struct tcp_opts *o)
{
    struct bench_result r = { .bench = stream_name(o) };
    uint8_t *buf = malloc((size_t)o->read_size);
    int64_t start, end, now;
    int err;

    if (buf == NULL)
        return -ENOMEM;
    err = bench_read_exact(fd, buf, 1); /* the sender has set up: start the clock */
    if (err != 0) {
        free(buf);
        return err;
    }
    start = now = kc_mono_ns();
    end = start + o->ms * 1000000;
    while (now < end) {
        ssize_t n = read(fd, buf, (size_t)o->read_size);

        if (n <= 0 && !(n < 0 && errno == EINTR)) {
            free(buf);
            return n == 0 ? KC_ECLOSED : -errno;
        }
        r.bytes += n > 0 ? n : 0;
        now = kc_mono_ns();
    }
    r.elapsed_ns = now - start;
    bench_result_print(stdout, &r);
    free(buf);
    return 0;
}

static int run_stream(const struct tcp_opts *o)
{
    int lfd, port, fd = -1, err;
    pid_t pid;

    err = bench_listen(0, &lfd, &port);
    if (err != 0)
        return err;
    pid = fork();
    if (pid < 0) {
        err = -errno;
        (void)close(lfd); /* reporting the fork error */
        return err;
    }
    if (pid == 0)
        stream_child(lfd, o);
    (void)close(lfd); /* the child holds its own copy */
    err = bench_pin_cpu((int)o->client_cpu);
    if (err == 0)
        err = bench_connect(port, &fd);
    if (err == 0)
        err = measure_stream(fd, o);
    if (fd >= 0)
        (void)close(fd); /* hanging up is what tells the child to stop */
    else
        (void)kill(pid, SIGKILL); /* it waits in accept() for a client that never came */
    (void)bench_child_reap(pid); /* a sender that saw EPIPE is the normal end */
    return err;
}

/* ---- ping-pong: the child answers, the parent times each round trip ---------------------- */

static int run_pingpong(const struct tcp_opts *o)
{
    uint8_t *payload = calloc(1, (size_t)o->req);
    struct bench_echo e = { (size_t)o->req, (size_t)o->resp, payload };
    struct bench_pipe p = { .fd = -1, .total = o->warmup, .window = 1, .ops = &bench_echo_ops,
                            .ctx = &e };
    struct bench_result r = { .bench = o->name ? o->name : "tcp_pingpong", .records = o->count,
                              .nlat = (size_t)o->count };
    int port, err;
    int64_t start;
    pid_t pid;

    r.lat_ns = calloc((size_t)o->count, sizeof(int64_t));
    err = payload != NULL && r.lat_ns != NULL ? 0 : -ENOMEM;
    if (err == 0)
        err = bench_echo_spawn(e.req, e.resp, (int)o->cpu, &pid, &port);
    if (err != 0)
        goto out;
    err = bench_pin_cpu((int)o->client_cpu);
    if (err == 0)
        err = bench_connect(port, &p.fd);
    if (err == 0 && o->warmup > 0)
        err = bench_pipe_run(&p);
    p.total = o->count;
    p.lat_ns = r.lat_ns;
    start = kc_mono_ns();
    if (err == 0)
        err = bench_pipe_run(&p);
    r.elapsed_ns = kc_mono_ns() - start;
    r.bytes = o->count * (o->req + o->resp);
    if (err == 0)
        bench_result_print(stdout, &r);
    if (p.fd >= 0)
        (void)close(p.fd); /* the echo child exits when we hang up */
    else
        (void)kill(pid, SIGKILL); /* it waits in accept() for a client that never came */
    if (bench_child_reap(pid) != 0 && err == 0)
        err = -ECHILD;
out:
    free(payload);
    free(r.lat_ns);
    return err;
}

static int freeport(void)
{
    int fd, port;
    int err = bench_listen(0, &fd, &port);

    if (err != 0)
        return err;
    (void)close(fd); /* the port is free again, which is the point */
    printf("%d\n", port);
    return 0;
}

static int cpus(void)
{
    int list[1024];
    int n = bench_cpus_allowed(list, 1024);

    for (int i = 0; i < n; i++)
        printf("%s%d", i ? " " : "", list[i]);
    printf("\n");
    return n > 0 ? 0 : -EINVAL;
}

static void usage(void)
{
    fprintf(stderr, "usage: bench_tcp stream [--ms N] [--chunk B] [--read B] [--bytes N]\n"
                    "                        [--file PATH] [--cpu C] [--client-cpu C]\n"
                    "                        [--name NAME]\n"
                    "       bench_tcp pingpong [--count N] [--warmup N] [--req B] [--resp B]\n"
                    "                          [--cpu C] [--client-cpu C] [--name NAME]\n"
                    "       bench_tcp freeport\n"
                    "       bench_tcp cpus\n");
    exit(2);
}

static void parse(int argc, char **argv, struct tcp_opts *o)
{
    static const struct option longs[] = {
        { "ms", 1, NULL, 'm' },    { "chunk", 1, NULL, 'c' }, { "read", 1, NULL, 'r' },
        { "count", 1, NULL, 'n' }, { "warmup", 1, NULL, 'w' }, { "req", 1, NULL, 'q' },
        { "resp", 1, NULL, 'p' },  { "file", 1, NULL, 'f' },   { "bytes", 1, NULL, 'b' },
        { "name", 1, NULL, 'N' },  { "cpu", 1, NULL, 'C' },    { "client-cpu", 1, NULL, 'L' },
        { NULL, 0, NULL, 0 },
    };
    int c;

    while ((c = getopt_long(argc, argv, "", longs, NULL)) != -1) {
        switch (c) {
        case 'm': o->ms = bench_opt_i64("--ms", optarg, 1, 600000); break;
        case 'c': o->chunk = bench_opt_i64("--chunk", optarg, 1, 1 << 28); break;
        case 'r': o->read_size = bench_opt_i64("--read", optarg, 1, 1 << 28); break;
        case 'n': o->count = bench_opt_i64("--count", optarg, 1, 100000000); break;
        case 'w': o->warmup = bench_opt_i64("--warmup", optarg, 0, 100000000); break;
        case 'q': o->req = bench_opt_i64("--req", optarg, 1, 1 << 24); break;
        case 'p': o->resp = bench_opt_i64("--resp", optarg, 1, 1 << 24); break;
        case 'f': o->file = optarg; break;
        case 'b': o->bytes = bench_opt_i64("--bytes", optarg, 1, INT64_C(1) << 33); break;
        case 'N': o->name = optarg; break;
        case 'C': o->cpu = bench_opt_i64("--cpu", optarg, 0, 1023); break;
        case 'L': o->client_cpu = bench_opt_i64("--client-cpu", optarg, 0, 1023); break;
        default: usage();
        }
    }
}

int main(int argc, char **argv)
{
    struct tcp_opts o = { .ms = 1000, .chunk = 1 << 20, .read_size = 256 << 10,
                          .count = 20000, .warmup = 500, .req = 145, .resp = 26,
                          .cpu = -1, .client_cpu = -1 };
    const char *mode = argc > 1 ? argv[1] : "";
    int err;

    if (strcmp(mode, "freeport") == 0)
        return freeport() == 0 ? 0 : 1;
    if (strcmp(mode, "cpus") == 0)
        return cpus() == 0 ? 0 : 1;
    if (strcmp(mode, "stream") != 0 && strcmp(mode, "pingpong") != 0)
        usage();
    parse(argc - 1, argv + 1, &o);
    err = strcmp(mode, "stream") == 0 ? run_stream(&o) : run_pingpong(&o);
    if (err != 0)
        bench_die(mode, err);
    return 0;
}
