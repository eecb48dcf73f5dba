/*
 * bench_redis.c - Redis streams as a peer: XADD of --size byte values, pipelined.
 *
 *   bench_redis --port P [--count 1000000] [--size 100] [--window 1000] [--conns 1]
 *               [--key bench] [--keys 1] [--name redis_xadd]
 *
 * Each record is one XADD (a stream entry with one field, "v", holding the value), the
 * same unit as one Kafka record. Redis has no batch append, so its batching is
 * pipelining: up to --window commands are in flight per connection, and the server works
 * through everything one read(2) brought in before it replies. With
 * `appendfsync always` Redis writes and fdatasyncs the AOF once per event-loop turn,
 * before it sends the replies of that turn (a group commit of its own), so the rate
 * measured there is the durable rate: every counted reply was on disk.
 *
 * The RESP is written by hand (no hiredis): a request is an array of bulk strings,
 *
 *   *5\r\n $4\r\nXADD\r\n $<n>\r\n<key>\r\n $1\r\n*\r\n $1\r\nv\r\n $100\r\n<value>\r\n
 *
 * and XADD answers with a bulk string, the new entry's id: $15\r\n1700000000000-0\r\n.
 * An error reply (-ERR ...) stops the run and is printed.
 *
 * --keys N spreads the XADDs round-robin over N streams, <key>-0 .. <key>-(N-1) (the name
 * padded to one width, so that every command has the same length and only its digits
 * are rewritten): the peer of Produce spread over N partitions.
 *
 * The stream keys are deleted before the timed part, so each run starts from empty
 * streams. Prints one RESULT line (bench.h); the latency figures are ack latencies under
 * the pipeline's load, or plain round trips with --window 1.
 */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"
#include "kc_err.h"
#include "kc_time.h"

struct redis_opts {
    int port;
    int64_t count;
    int64_t size;
    int64_t window;
    int64_t conns;
    const char *key;
    int64_t keys;
    const char *name;
};

struct redis_ctx {
    uint8_t *cmd;       /* one encoded XADD; with --keys, its key's digits rewritten */
    size_t cmd_len;
    int64_t keys;
    size_t digits_at;   /* where the key's number starts in cmd */
    int digits;         /* its width */
};

#define REDIS_KEY_MAX 256

/* ---- RESP ------------------------------------------------------------------------------ */

/* Length of the line at p (up to and including \r\n), or 0 if it is not all there. */
static size_t resp_line(const uint8_t *p, size_t len)
{
    const uint8_t *nl = memchr(p, '\n', len);

    return nl != NULL ? (size_t)(nl - p) + 1 : 0;
}

/* One reply at p: its length, 0 (need more), or -EREMOTEIO for an error reply. */
static ssize_t resp_reply_len(const uint8_t *p, size_t len)
{
    size_t line = len > 0 ? resp_line(p, len) : 0;
    long bulk;

    if (line == 0)
        return 0;
    switch (p[0]) {
    case '+':
    case ':':
        return (ssize_t)line;
    case '-':
        fprintf(stderr, "redis: %.*s\n", (int)line - 2, (const char *)p);
        return -EREMOTEIO;
    case '$':
        bulk = strtol((const char *)p + 1, NULL, 10);
        if (bulk < 0)
            return (ssize_t)line; /* $-1: nil */
        return len >= line + (size_t)bulk + 2 ? (ssize_t)(line + (size_t)bulk + 2) : 0;
    default:
        return KC_EMALFORMED;
    }
}

static void resp_arg(struct kc_writer *w, const void *p, size_t n)
{
    char head[32];
    int hl = snprintf(head, sizeof(head), "$%zu\r\n", n);

    kc_write_raw(w, head, (size_t)hl);
    kc_write_raw(w, p, n);
    kc_write_raw(w, "\r\n", 2);
}

/* Encode one command of argc arguments (C strings, except a binary last one of last_len). */
static void resp_cmd(struct kc_writer *w, int argc, const char **argv, size_t last_len)
{
    char head[16];
    int hl = snprintf(head, sizeof(head), "*%d\r\n", argc);

    kc_write_raw(w, head, (size_t)hl);
    for (int i = 0; i < argc; i++)
        resp_arg(w, argv[i], i == argc - 1 && last_len > 0 ? last_len : strlen(argv[i]));
}

/* The name of stream i of n: key-i with i zero-padded to the width of n - 1; key alone
 * when n is 1. */
static void key_name(char *out, const char *key, int64_t i, int64_t n)
{
    int width = snprintf(NULL, 0, "%lld", (long long)(n - 1));

    if (n == 1)
        snprintf(out, REDIS_KEY_MAX, "%s", key);
    else
        snprintf(out, REDIS_KEY_MAX, "%s-%0*lld", key, width, (long long)i);
}

static void redis_encode(void *ctx, int64_t seq, struct kc_writer *w)
{
    struct redis_ctx *c = ctx;

    if (c->keys > 1) { /* rewrite the digits in place: same width, same length */
        char num[32];

        snprintf(num, sizeof(num), "%0*lld", c->digits, (long long)(seq % c->keys));
        memcpy(c->cmd + c->digits_at, num, (size_t)c->digits);
    }
    kc_write_raw(w, c->cmd, c->cmd_len);
}

static ssize_t redis_decode(void *ctx, const uint8_t *p, size_t len)
{
    (void)ctx;
    return resp_reply_len(p, len);
}

static const struct bench_pipe_ops redis_ops = { redis_encode, redis_decode };

/* Send one command and wait for its reply (blocking fd): the untimed set-up. */
static int redis_call(int fd, int argc, const char **argv)
{
    struct kc_writer w;
    uint8_t in[4096];
    size_t have = 0;
    ssize_t n = 0;
    int err;

    kc_writer_init(&w, 0);
    resp_cmd(&w, argc, argv, 0);
    err = kc_writer_error(&w);
    if (err == 0 && write(fd, kc_writer_data(&w), kc_writer_len(&w)) != (ssize_t)kc_writer_len(&w))
        err = -EIO; /* a few bytes on a fresh blocking socket: short means broken */
    while (err == 0 && n == 0 && have < sizeof(in)) {
        ssize_t got = read(fd, in + have, sizeof(in) - have);

        if (got <= 0)
            err = got == 0 ? KC_ECLOSED : -errno;
        have += got > 0 ? (size_t)got : 0;
        n = err == 0 ? resp_reply_len(in, have) : 0;
    }
    kc_writer_fini(&w);
    return err != 0 ? err : (n < 0 ? (int)n : 0);
}

/* ---- the run ----------------------------------------------------------------------------- */

/* DEL every stream of the run, up to 1000 a command (untimed). */
static int redis_del_all(int fd, const struct redis_opts *o)
{
    enum { CHUNK = 1000 };
    static char names[CHUNK][REDIS_KEY_MAX];
    const char *argv[CHUNK + 1] = { "DEL" };
    int err = 0;

    for (int64_t i = 0; err == 0 && i < o->keys; i += CHUNK) {
        int n = (int)(o->keys - i < CHUNK ? o->keys - i : CHUNK);

        for (int j = 0; j < n; j++) {
            key_name(names[j], o->key, i + j, o->keys);
            argv[j + 1] = names[j];
        }
        err = redis_call(fd, n + 1, argv);
    }
    return err;
}

/* One connection per pipe, the requests split evenly, each with its slice of lat. */
static int redis_setup(const struct redis_opts *o, struct bench_pipe *pipes,
                       struct redis_ctx *c, int64_t *lat)
{
    int64_t given = 0;
    int err = 0;

    for (int i = 0; i < o->conns; i++) {
        struct bench_pipe *p = &pipes[i];

        if (err == 0)
            err = bench_connect(o->port, &p->fd);
        p->total = o->count / o->conns + (i == 0 ? o->count % o->conns : 0);
        p->window = (int)o->window;
        p->ops = &redis_ops;
        p->ctx = c;
        p->lat_ns = lat + given;
        given += p->total;
    }
    return err;
}

static int run(const struct redis_opts *o)
{
    struct bench_result r = { .bench = o->name, .records = o->count, .nlat = (size_t)o->count };
    struct bench_pipe *pipes = bench_pipes_new((int)o->conns);
    uint8_t *value = malloc((size_t)o->size);
    struct redis_ctx c = { 0 };
    struct kc_writer cmd;
    int64_t start;
    int err = 0;

    kc_writer_init(&cmd, 0);
    r.lat_ns = calloc((size_t)o->count, sizeof(int64_t));
    if (pipes == NULL || value == NULL || r.lat_ns == NULL) {
        err = -ENOMEM;
        goto out;
    }
    bench_fill_payload(value, (size_t)o->size, 7);
    char first[REDIS_KEY_MAX];
    key_name(first, o->key, 0, o->keys);
    resp_cmd(&cmd, 5, (const char *[]){ "XADD", first, "*", "v", (const char *)value },
             (size_t)o->size);
    c.cmd = kc_writer_data(&cmd);
    c.cmd_len = kc_writer_len(&cmd);
    c.keys = o->keys;
    c.digits = snprintf(NULL, 0, "%lld", (long long)(o->keys - 1));
    /* "*5\r\n$4\r\nXADD\r\n$<len>\r\n<key>": the digits end the key */
    c.digits_at = (size_t)snprintf(NULL, 0, "*5\r\n$4\r\nXADD\r\n$%zu\r\n", strlen(first)) +
                  strlen(first) - (size_t)c.digits;
    if (memcmp(c.cmd + c.digits_at - 1, o->keys > 1 ? "-" : first + strlen(first) - c.digits - 1,
               1) != 0) {
        err = KC_EMALFORMED; /* not where the encoding put them: never send a guess */
        goto out;
    }
    err = redis_setup(o, pipes, &c, r.lat_ns);
    if (err == 0) /* untimed: every run starts from empty streams */
        err = redis_del_all(pipes[0].fd, o);
    start = kc_mono_ns();
    if (err == 0)
        err = bench_pipe_run_many(pipes, (int)o->conns);
    r.elapsed_ns = kc_mono_ns() - start;
    r.bytes = o->count * o->size;
    if (err == 0)
        bench_result_print(stdout, &r);
out:
    bench_pipes_free(pipes, (int)o->conns);
    kc_writer_fini(&cmd);
    free(value);
    free(r.lat_ns);
    return err;
}

static void usage(void)
{
    fprintf(stderr, "usage: bench_redis --port P [--count N] [--size B] [--window W] "
                    "[--conns C] [--key K] [--keys N] [--name NAME]\n");
    exit(2);
}

int main(int argc, char **argv)
{
    static const struct option longs[] = {
        { "port", 1, NULL, 'p' },  { "count", 1, NULL, 'n' }, { "size", 1, NULL, 's' },
        { "window", 1, NULL, 'w' }, { "conns", 1, NULL, 'c' }, { "key", 1, NULL, 'k' },
        { "name", 1, NULL, 'N' },  { "keys", 1, NULL, 'K' },  { NULL, 0, NULL, 0 },
    };
    struct redis_opts o = { 0, 1000000, 100, 1000, 1, "bench", 1, "redis_xadd" };
    int ch, err;

    while ((ch = getopt_long(argc, argv, "", longs, NULL)) != -1) {
        switch (ch) {
        case 'p': o.port = (int)bench_opt_i64("--port", optarg, 1, 65535); break;
        case 'n': o.count = bench_opt_i64("--count", optarg, 1, 100000000); break;
        case 's': o.size = bench_opt_i64("--size", optarg, 1, 1 << 20); break;
        case 'w': o.window = bench_opt_i64("--window", optarg, 1, 1000000); break;
        case 'c': o.conns = bench_opt_i64("--conns", optarg, 1, 256); break;
        case 'k': o.key = optarg; break;
        case 'K': o.keys = bench_opt_i64("--keys", optarg, 1, 1000000); break;
        case 'N': o.name = optarg; break;
        default: usage();
        }
    }
    if (o.port == 0 || o.conns > o.count || strlen(o.key) > REDIS_KEY_MAX - 16)
        usage();
    err = run(&o);
    if (err != 0)
        bench_die("bench_redis", err);
    return 0;
}
