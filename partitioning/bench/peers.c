/*
 * peers.c - the same questions asked of Redis streams and NATS JetStream: what does an
 * empty stream cost, and do appends spread over 10,000 streams go as fast as to one?
 *
 *   peers redis --port P --pid PID [--streams N] [--mb M]
 *   peers nats  --port P --pid PID [--streams N] [--mb M]
 *
 * The servers are started by bench/run.sh's way (partitioning/bench/run.sh): loopback,
 * an ephemeral port, a temporary directory; PID is the server's, for its RSS
 * (/proc/PID/status). The protocols are spoken by hand, as bench/bench_redis.c does:
 *
 *   Redis   RESP arrays. An empty stream is XADD then XTRIM MAXLEN 0 (the key stays, as a
 *           Kafka partition with no records does). Appends: XADD of a 1 KiB value,
 *           pipelined 1,000 deep, round-robin over 10,000 keys, then all to one key.
 *   NATS    the text protocol (CONNECT, SUB, PUB with a reply subject, MSG). A stream is a
 *           JetStream API request, $JS.API.STREAM.CREATE.<name>, file storage. Appends:
 *           PUB to a stream's subjects with a reply inbox, each acknowledged by JetStream
 *           (its publish ack, the equivalent of acks=1 after its own write), 1,000 in
 *           flight, round-robin over 10,000 subjects of one stream, then all to one.
 *
 * One line per figure: "name value unit", for run.sh to take medians of.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "kc_common.h"

#define WINDOW 1000
#define VALUE  1000 /* bytes of value per record: ~1 KiB with the protocol's framing */

struct conn {
    int fd;
    char buf[1 << 16];
    size_t len, pos;
};

static void die(const char *what)
{
    fprintf(stderr, "peers: %s: %s\n", what, strerror(errno));
    exit(1);
}

static void conn_open(struct conn *c, int port)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int one = 1;
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (c->fd < 0 || connect(c->fd, (struct sockaddr *)&a, sizeof(a)) != 0)
        die("connect");
    (void)setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    c->len = c->pos = 0;
}

static void send_all(struct conn *c, const void *p, size_t n)
{
    if (kc_write_all(c->fd, p, n) != (ssize_t)n)
        die("write");
}

/* The next line (without \r\n) into line; reads more as needed. */
static void read_line(struct conn *c, char *line, size_t cap)
{
    for (;;) {
        char *nl = memchr(c->buf + c->pos, '\n', c->len - c->pos);
        if (nl) {
            size_t n = (size_t)(nl - (c->buf + c->pos));
            size_t copy = n < cap - 1 ? n : cap - 1;
            memcpy(line, c->buf + c->pos, copy);
            line[copy > 0 && line[copy - 1] == '\r' ? copy - 1 : copy] = '\0';
            c->pos += n + 1;
            return;
        }
        memmove(c->buf, c->buf + c->pos, c->len - c->pos);
        c->len -= c->pos;
        c->pos = 0;
        ssize_t r = read(c->fd, c->buf + c->len, sizeof(c->buf) - c->len);
        if (r <= 0)
            die("read");
        c->len += (size_t)r;
    }
}

/* Skip n payload bytes and their \r\n. */
static void skip_bytes(struct conn *c, size_t n)
{
    char line[64];
    while (n > 0) {
        if (c->pos == c->len) {
            c->pos = c->len = 0;
            ssize_t r = read(c->fd, c->buf, sizeof(c->buf));
            if (r <= 0)
                die("read");
            c->len = (size_t)r;
        }
        size_t take = c->len - c->pos < n ? c->len - c->pos : n;
        c->pos += take;
        n -= take;
    }
    read_line(c, line, sizeof(line));
}

static int64_t rss_of(int pid)
{
    char path[64], line[256];
    snprintf(path, sizeof(path), "/proc/%d/status", pid);
    FILE *f = fopen(path, "r");
    long long kb = -1;
    while (f && fgets(line, sizeof(line), f))
        if (sscanf(line, "VmRSS: %lld kB", &kb) == 1)
            break;
    if (f)
        fclose(f);
    return kb * 1024;
}

/* ---- Redis ------------------------------------------------------------------------------ */

static void resp(struct kc_writer *w, int argc, const char **argv, const size_t *lens)
{
    char head[32];
    kc_write_raw(w, head, (size_t)snprintf(head, sizeof(head), "*%d\r\n", argc));
    for (int i = 0; i < argc; i++) {
        kc_write_raw(w, head, (size_t)snprintf(head, sizeof(head), "$%zu\r\n", lens[i]));
        kc_write_raw(w, argv[i], lens[i]);
        kc_write_raw(w, "\r\n", 2);
    }
}

/* One reply of any kind (simple, error, integer, bulk): fails on an error reply. */
static void redis_reply(struct conn *c)
{
    char line[256];
    read_line(c, line, sizeof(line));
    if (line[0] == '-') {
        fprintf(stderr, "peers: redis: %s\n", line);
        exit(1);
    }
    if (line[0] == '$' && atol(line + 1) >= 0)
        skip_bytes(c, (size_t)atol(line + 1));
}

/* Send cmds (built by fill for i in [0, n)) pipelined WINDOW deep, reading every reply. */
static double redis_pipeline(struct conn *c, int64_t n,
                             void (*fill)(struct kc_writer *w, int64_t i, void *arg), void *arg)
{
    int64_t t0 = kc_mono_ns(), sent = 0, got = 0;
    struct kc_writer w;
    kc_writer_init(&w, 0);
    while (got < n) {
        kc_writer_reset(&w);
        while (sent < n && sent - got < WINDOW)
            fill(&w, sent++, arg);
        if (kc_writer_len(&w))
            send_all(c, kc_writer_data(&w), kc_writer_len(&w));
        while (got < sent - WINDOW / 2 || (sent == n && got < n)) {
            redis_reply(c);
            got++;
        }
    }
    kc_writer_fini(&w);
    return (double)(kc_mono_ns() - t0) / 1e9;
}

struct xadd {
    const char *value;
    int64_t keys; /* 0: one key */
};

static void fill_empty(struct kc_writer *w, int64_t i, void *arg)
{
    (void)arg;
    char key[32];
    int n = snprintf(key, sizeof(key), "empty:%lld", (long long)(i / 2));
    if (i % 2 == 0) {
        const char *v[] = {"XADD", key, "*", "v", "x"};
        const size_t l[] = {4, (size_t)n, 1, 1, 1};
        resp(w, 5, v, l);
    } else {
        const char *v[] = {"XTRIM", key, "MAXLEN", "0"};
        const size_t l[] = {5, (size_t)n, 6, 1};
        resp(w, 4, v, l);
    }
}

static void fill_xadd(struct kc_writer *w, int64_t i, void *arg)
{
    struct xadd *x = arg;
    char key[32];
    int n = x->keys ? snprintf(key, sizeof(key), "s:%lld", (long long)(i % x->keys))
                    : snprintf(key, sizeof(key), "one");
    const char *v[] = {"XADD", key, "*", "v", x->value};
    const size_t l[] = {4, (size_t)n, 1, 1, VALUE};
    resp(w, 5, v, l);
}

static void redis(int port, int pid, int64_t streams, int64_t mb)
{
    struct conn *c = calloc(1, sizeof(*c));
    conn_open(c, port);
    int64_t rss0 = rss_of(pid);
    redis_pipeline(c, 2 * streams, fill_empty, NULL);
    int64_t rss1 = rss_of(pid);
    printf("redis_rss_per_empty_stream %.1f B\n", (double)(rss1 - rss0) / (double)streams);
    printf("redis_rss_for_%lld_streams %.1f MB\n", (long long)streams, (double)(rss1 - rss0) / 1e6);
    char *value = malloc(VALUE);
    memset(value, 'v', VALUE);
    int64_t n = (mb << 20) / VALUE;
    struct xadd spread = {value, 10000}, one = {value, 0};
    double s1 = redis_pipeline(c, n, fill_xadd, &spread);
    double s2 = redis_pipeline(c, n, fill_xadd, &one);
    printf("redis_xadd_spread_10k %.1f MB/s\n", (double)n * VALUE / s1 / 1e6);
    printf("redis_xadd_one %.1f MB/s\n", (double)n * VALUE / s2 / 1e6);
    printf("redis_ratio %.3f x\n", s2 / s1);
    free(value);
    close(c->fd);
    free(c);
}

/* ---- NATS ----------------------------------------------------------------------------- */

/* Read until one MSG (its payload skipped) or an error; answers PINGs. 1 per MSG. */
static int nats_event(struct conn *c)
{
    char line[512];
    read_line(c, line, sizeof(line));
    if (strncmp(line, "MSG ", 4) == 0) {
        const char *last = strrchr(line, ' ');
        skip_bytes(c, (size_t)atol(last + 1));
        return 1;
    }
    if (strcmp(line, "PING") == 0)
        send_all(c, "PONG\r\n", 6);
    else if (line[0] == '-') {
        fprintf(stderr, "peers: nats: %s\n", line);
        exit(1);
    }
    return 0;
}

static void nats_connect(struct conn *c, int port)
{
    char line[4096];
    conn_open(c, port);
    read_line(c, line, sizeof(line)); /* INFO {...} */
    static const char hello[] = "CONNECT {\"verbose\":false,\"pedantic\":false}\r\n"
                                "SUB _INBOX.peers.* 1\r\nPING\r\n";
    send_all(c, hello, sizeof(hello) - 1);
    do
        read_line(c, line, sizeof(line));
    while (strcmp(line, "PONG") != 0);
}

typedef void (*nats_fill)(struct kc_writer *w, int64_t i, void *arg);

/* n requests (PUB with a reply inbox), WINDOW in flight, every reply awaited. */
static double nats_requests(struct conn *c, int64_t n, int64_t window, nats_fill fill, void *arg)
{
    int64_t t0 = kc_mono_ns(), sent = 0, got = 0;
    struct kc_writer w;
    kc_writer_init(&w, 0);
    while (got < n) {
        kc_writer_reset(&w);
        while (sent < n && sent - got < window)
            fill(&w, sent++, arg);
        if (kc_writer_len(&w))
            send_all(c, kc_writer_data(&w), kc_writer_len(&w));
        while (got < sent - window / 2 || (sent == n && got < n))
            got += nats_event(c);
    }
    kc_writer_fini(&w);
    return (double)(kc_mono_ns() - t0) / 1e9;
}

static void pub(struct kc_writer *w, const char *subject, int64_t i, const void *p, size_t n)
{
    char head[256];
    int h = snprintf(head, sizeof(head), "PUB %s _INBOX.peers.%lld %zu\r\n", subject,
                     (long long)i, n);
    kc_write_raw(w, head, (size_t)h);
    kc_write_raw(w, p, n);
    kc_write_raw(w, "\r\n", 2);
}

static void fill_stream(struct kc_writer *w, int64_t i, void *arg)
{
    char subject[64], body[256];
    (void)arg;
    snprintf(subject, sizeof(subject), "$JS.API.STREAM.CREATE.e%lld", (long long)i);
    int n = snprintf(body, sizeof(body),
                     "{\"name\":\"e%lld\",\"subjects\":[\"e%lld\"],\"storage\":\"file\"}",
                     (long long)i, (long long)i);
    pub(w, subject, i, body, (size_t)n);
}

struct jspub {
    const char *value;
    int64_t subjects; /* 0: one subject */
};

static void fill_pub(struct kc_writer *w, int64_t i, void *arg)
{
    struct jspub *j = arg;
    char subject[32];
    if (j->subjects)
        snprintf(subject, sizeof(subject), "p.%lld", (long long)(i % j->subjects));
    else
        snprintf(subject, sizeof(subject), "p.one");
    pub(w, subject, i, j->value, VALUE);
}

static void nats(int port, int pid, int64_t streams, int64_t mb)
{
    struct conn *c = calloc(1, sizeof(*c));
    nats_connect(c, port);
    int64_t rss0 = rss_of(pid);
    double s = nats_requests(c, streams, 50, fill_stream, NULL);
    int64_t rss1 = rss_of(pid);
    printf("nats_rss_per_empty_stream %.1f B\n", (double)(rss1 - rss0) / (double)streams);
    printf("nats_create_%lld_streams %.2f s\n", (long long)streams, s);
    static const char big[] = "{\"name\":\"big\",\"subjects\":[\"p.>\"],\"storage\":\"file\"}";
    struct kc_writer w;
    kc_writer_init(&w, 0);
    pub(&w, "$JS.API.STREAM.CREATE.big", 0, big, sizeof(big) - 1);
    send_all(c, kc_writer_data(&w), kc_writer_len(&w));
    kc_writer_fini(&w);
    while (!nats_event(c))
        ;
    char *value = malloc(VALUE);
    memset(value, 'v', VALUE);
    int64_t n = (mb << 20) / VALUE;
    struct jspub spread = {value, 10000}, one = {value, 0};
    double s1 = nats_requests(c, n, WINDOW, fill_pub, &spread);
    double s2 = nats_requests(c, n, WINDOW, fill_pub, &one);
    printf("nats_pub_spread_10k %.1f MB/s\n", (double)n * VALUE / s1 / 1e6);
    printf("nats_pub_one %.1f MB/s\n", (double)n * VALUE / s2 / 1e6);
    printf("nats_ratio %.3f x\n", s2 / s1);
    free(value);
    close(c->fd);
    free(c);
}

int main(int argc, char **argv)
{
    static const struct option longs[] = {{"port", 1, NULL, 'p'}, {"pid", 1, NULL, 'i'},
                                           {"streams", 1, NULL, 's'}, {"mb", 1, NULL, 'm'},
                                           {NULL, 0, NULL, 0}};
    int64_t port = 0, pid = 0, streams = 10000, mb = 64;
    int c;
    while ((c = getopt_long(argc, argv, "", longs, NULL)) != -1) {
        int64_t *v = c == 'p' ? &port : c == 'i' ? &pid : c == 's' ? &streams : &mb;
        if (!optarg || kc_parse_i64(optarg, 1, INT32_MAX, v))
            c = '?';
        if (c == '?')
            break;
    }
    if (optind != argc - 1 || !port || !pid || c == '?') {
        fprintf(stderr, "usage: peers redis|nats --port P --pid PID [--streams N] [--mb M]\n");
        return 2;
    }
    if (strcmp(argv[optind], "redis") == 0)
        redis((int)port, (int)pid, streams, mb);
    else
        nats((int)port, (int)pid, streams, mb);
    return 0;
}
