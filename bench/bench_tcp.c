/*
 * bench_tcp.c - the ceilings: what a raw loopback TCP socket does on this machine, with no
 * protocol, no storage and no broker in the way.
 *
 *   bench_tcp stream   [--ms 1000] [--chunk 1048576] [--read 262144] [--file PATH]
 *       a child process writes big buffers as fast as it can, the parent reads and discards
 *       them for --ms milliseconds: MB/s, the ceiling for "consume from the page cache"
 *       (the broker sends from its page cache by sendfile; here the sender's buffer is
 *       already in memory, so this is the best any consumer could do).
 *       With --file the child sends PATH (which should be in the page cache) with
 *       sendfile(2), --chunk bytes per call, from the start again at its end: the same
 *       mechanism the broker uses, without the broker (bench=tcp_sendfile).
 *
 *   bench_tcp pingpong [--count 20000] [--warmup 500] [--req 145] [--resp 26]
 *       the child answers each --req byte message with --resp bytes; the parent sends one
 *       at a time on the pipelined loop every request/reply client uses (bench.h), so the
 *       ceiling is measured exactly as the broker's single-record produce is: p50/p99 of
 *       the round trip. The defaults are the sizes of a native produce of one 100 B record
 *       to topic "bench-rtt" and of its answer.
 *
 *   bench_tcp freeport
 *       print a TCP port that was free on 127.0.0.1 a moment ago (for servers that cannot
 *       pick their own: redis-server, nats-server). The caller retries if it was taken.
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
    int64_t ms;
    int64_t chunk;
    int64_t read_size;
    int64_t count;
    int64_t warmup;
    int64_t req;
    int64_t resp;
};

/* ---- stream: the child sends, the parent reads and measures ------------------------------ */

static int serve_stream(int fd, size_t chunk)
{
    uint8_t *buf = malloc(chunk);

    if (buf == NULL)
        return -ENOMEM;
    bench_fill_payload(buf, chunk, 1);
    for (;;) { /* until the reader hangs up: EPIPE or ECONNRESET end the run */
        ssize_t n = send(fd, buf, chunk, MSG_NOSIGNAL);

        if (n < 0 && errno != EINTR)
            break;
    }
    free(buf);
    return 0;
}

/* The same, by sendfile(2) from a file, round and round, until the reader hangs up. */
static int serve_sendfile(int fd, const char *path, size_t chunk)
{
    int in = open(path, O_RDONLY | O_CLOEXEC);
    off_t off = 0;

    if (in < 0)
        return -errno;
    for (;;) {
        ssize_t n = sendfile(fd, in, &off, chunk);

        if (n == 0)
            off = 0; /* end of the file: from the start again */
        else if (n < 0 && errno != EINTR)
            break;
    }
    (void)close(in); /* read-only; the run is over */
    return 0;
}

static void stream_child(int lfd, const struct tcp_opts *o)
{
    int fd = accept(lfd, NULL, NULL);
    int err;

    if (fd < 0)
        _exit(1);
    if (o->file != NULL)
        err = serve_sendfile(fd, o->file, (size_t)o->chunk);
    else
        err = serve_stream(fd, (size_t)o->chunk);
    if (err != 0)
        fprintf(stderr, "bench_tcp: the sender stopped: %s\n", kc_strerror(err));
    _exit(err == 0 ? 0 : 1);
}

static int measure_stream(int fd, const struct tcp_opts *o)
{
    struct bench_result r = { .bench = o->file != NULL ? "tcp_sendfile" : "tcp_stream" };
    uint8_t *buf = malloc((size_t)o->read_size);
    int64_t start = kc_mono_ns();
    int64_t end = start + o->ms * 1000000;
    int64_t now = start;

    if (buf == NULL)
        return -ENOMEM;
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
    struct bench_result r = { .bench = "tcp_pingpong", .records = o->count,
                              .nlat = (size_t)o->count };
    int port, err;
    int64_t start;
    pid_t pid;

    r.lat_ns = calloc((size_t)o->count, sizeof(int64_t));
    err = payload != NULL && r.lat_ns != NULL ? 0 : -ENOMEM;
    if (err == 0)
        err = bench_echo_spawn(e.req, e.resp, &pid, &port);
    if (err != 0)
        goto out;
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

static void usage(void)
{
    fprintf(stderr, "usage: bench_tcp stream [--ms N] [--chunk B] [--read B] [--file PATH]\n"
                    "       bench_tcp pingpong [--count N] [--warmup N] [--req B] [--resp B]\n"
                    "       bench_tcp freeport\n");
    exit(2);
}

static void parse(int argc, char **argv, struct tcp_opts *o)
{
    static const struct option longs[] = {
        { "ms", 1, NULL, 'm' },    { "chunk", 1, NULL, 'c' }, { "read", 1, NULL, 'r' },
        { "count", 1, NULL, 'n' }, { "warmup", 1, NULL, 'w' }, { "req", 1, NULL, 'q' },
        { "resp", 1, NULL, 'p' },  { "file", 1, NULL, 'f' },   { NULL, 0, NULL, 0 },
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
        default: usage();
        }
    }
}

int main(int argc, char **argv)
{
    struct tcp_opts o = { NULL, 1000, 1 << 20, 256 << 10, 20000, 500, 145, 26 };
    const char *mode = argc > 1 ? argv[1] : "";
    int err;

    if (strcmp(mode, "freeport") == 0)
        return freeport() == 0 ? 0 : 1;
    if (strcmp(mode, "stream") != 0 && strcmp(mode, "pingpong") != 0)
        usage();
    parse(argc - 1, argv + 1, &o);
    err = strcmp(mode, "stream") == 0 ? run_stream(&o) : run_pingpong(&o);
    if (err != 0)
        bench_die(mode, err);
    return 0;
}
