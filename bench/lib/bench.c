/*
 * bench.c - sockets, the pipelined request loop and the result line (see bench.h).
 */
#include "bench.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kc_err.h"
#include "kc_parse.h"
#include "kc_stats.h"
#include "kc_time.h"

/* ---- results ------------------------------------------------------------------------- */

static void print_lat(FILE *f, const char *name, int64_t *lat, size_t n, double pct)
{
    if (lat == NULL || n == 0) {
        fprintf(f, " %s=-", name);
        return;
    }
    fprintf(f, " %s=%.1f", name, (double)kc_percentile_i64(lat, n, pct) / 1e3);
}

void bench_result_print(FILE *f, struct bench_result *r)
{
    double secs = (double)r->elapsed_ns / 1e9;

    if (secs <= 0)
        secs = 1e-9;
    fprintf(f, "RESULT bench=%s records=%lld bytes=%lld seconds=%.4f records_per_s=%.1f "
               "mb_per_s=%.2f",
            r->bench, (long long)r->records, (long long)r->bytes, secs,
            (double)r->records / secs, (double)r->bytes / 1e6 / secs);
    print_lat(f, "p50_us", r->lat_ns, r->nlat, 50);
    print_lat(f, "p99_us", r->lat_ns, r->nlat, 99);
    print_lat(f, "p999_us", r->lat_ns, r->nlat, 99.9);
    fputc('\n', f);
    fflush(f);
}

/* ---- sockets --------------------------------------------------------------------------- */

static void loopback_addr(struct sockaddr_in *sa, int port)
{
    memset(sa, 0, sizeof(*sa));
    sa->sin_family = AF_INET;
    sa->sin_port = htons((uint16_t)port);
    sa->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
}

int bench_connect(int port, int *fd)
{
    struct sockaddr_in sa;
    int one = 1;
    int err = 0;
    int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

    if (s < 0)
        return -errno;
    loopback_addr(&sa, port);
    if (connect(s, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
        setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) < 0) {
        err = -errno;
        goto out;
    }
    *fd = s;
    return 0;
out:
    (void)close(s); /* the error above is the one worth reporting */
    return err;
}

int bench_listen(int port, int *fd, int *bound)
{
    struct sockaddr_in sa;
    socklen_t len = sizeof(sa);
    int one = 1;
    int err = 0;
    int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

    if (s < 0)
        return -errno;
    loopback_addr(&sa, port);
    if (setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
        bind(s, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(s, 16) < 0 ||
        getsockname(s, (struct sockaddr *)&sa, &len) < 0) {
        err = -errno;
        goto out;
    }
    *fd = s;
    *bound = ntohs(sa.sin_port);
    return 0;
out:
    (void)close(s); /* the error above is the one worth reporting */
    return err;
}

int bench_set_nonblock(int fd)
{
    int fl = fcntl(fd, F_GETFL);

    if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
        return -errno;
    return 0;
}

int bench_read_exact(int fd, void *buf, size_t n)
{
    uint8_t *p = buf;

    while (n > 0) {
        ssize_t got = read(fd, p, n);

        if (got == 0)
            return KC_ECLOSED;
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0)
            return -errno;
        p += got;
        n -= (size_t)got;
    }
    return 0;
}

int bench_send_all(int fd, const void *buf, size_t n)
{
    const uint8_t *p = buf;

    while (n > 0) {
        ssize_t sent = send(fd, p, n, MSG_NOSIGNAL);

        if (sent < 0 && errno == EINTR)
            continue;
        if (sent < 0)
            return -errno;
        p += sent;
        n -= (size_t)sent;
    }
    return 0;
}

/* ---- the pipelined request loop -------------------------------------------------------- */

struct pipe_state {
    struct bench_pipe *p;
    struct kc_writer out; /* encoded requests; out_pos of them already written */
    size_t out_pos;
    uint8_t *in;          /* reply bytes not yet decoded */
    size_t in_len;
    size_t in_cap;
    int64_t sent;
    int64_t done;
    int64_t *ring;        /* send time of request i in slot i % window */
};

static bool pipe_out_pending(const struct pipe_state *s)
{
    return s->out_pos < kc_writer_len(&s->out);
}

static int pipe_fill(struct pipe_state *s)
{
    struct bench_pipe *p = s->p;

    while (s->sent < p->total && s->sent - s->done < p->window &&
           kc_writer_len(&s->out) - s->out_pos < BENCH_OUT_HIGH_BYTES) {
        p->ops->encode(p->ctx, s->sent, &s->out);
        s->ring[s->sent % p->window] = kc_mono_ns();
        s->sent++;
    }
    return kc_writer_error(&s->out);
}

/* Drop the written prefix of the out buffer (kc_writer's fields are public for this). */
static void pipe_out_compact(struct pipe_state *s)
{
    struct kc_writer *w = &s->out;

    if (s->out_pos == w->len) {
        kc_writer_reset(w);
        s->out_pos = 0;
    } else if (s->out_pos >= BENCH_OUT_HIGH_BYTES) {
        memmove(w->p, w->p + s->out_pos, w->len - s->out_pos);
        w->len -= s->out_pos;
        s->out_pos = 0;
    }
}

static int pipe_flush(struct pipe_state *s)
{
    struct kc_writer *w = &s->out;

    while (pipe_out_pending(s)) {
        ssize_t n = send(s->p->fd, w->p + s->out_pos, w->len - s->out_pos, MSG_NOSIGNAL);

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            break;
        if (n < 0)
            return -errno;
        s->out_pos += (size_t)n;
    }
    pipe_out_compact(s);
    return 0;
}

/* Decode every whole reply in the in buffer, timing each one. */
static int pipe_take_replies(struct pipe_state *s)
{
    struct bench_pipe *p = s->p;
    size_t pos = 0;
    int64_t now = kc_mono_ns();

    while (pos < s->in_len) {
        ssize_t n = p->ops->decode(p->ctx, s->in + pos, s->in_len - pos);

        if (n < 0)
            return (int)n;
        if (n == 0)
            break;
        if (s->done >= s->sent)
            return KC_EMALFORMED; /* a reply to no request */
        if (p->lat_ns != NULL)
            p->lat_ns[s->done] = now - s->ring[s->done % p->window];
        s->done++;
        pos += (size_t)n;
    }
    memmove(s->in, s->in + pos, s->in_len - pos);
    s->in_len -= pos;
    return 0;
}

static int pipe_read(struct pipe_state *s)
{
    ssize_t n;

    if (s->in_len == s->in_cap) { /* one reply larger than the buffer: grow it */
        uint8_t *bigger = realloc(s->in, s->in_cap * 2);

        if (bigger == NULL)
            return -ENOMEM;
        s->in = bigger;
        s->in_cap *= 2;
    }
    n = recv(s->p->fd, s->in + s->in_len, s->in_cap - s->in_len, 0);
    if (n == 0)
        return KC_ECLOSED;
    if (n < 0)
        return errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -errno;
    s->in_len += (size_t)n;
    return pipe_take_replies(s);
}

static int pipe_step(struct pipe_state *s)
{
    struct pollfd pfd = { .fd = s->p->fd, .events = POLLIN };
    int err = pipe_fill(s);
    int n;

    if (err == 0)
        err = pipe_flush(s);
    if (err != 0)
        return err;
    if (pipe_out_pending(s))
        pfd.events |= POLLOUT;
    n = poll(&pfd, 1, BENCH_TIMEOUT_MS);
    if (n < 0)
        return errno == EINTR ? 0 : -errno;
    if (n == 0)
        return -ETIMEDOUT;
    if (pfd.revents & (POLLIN | POLLERR | POLLHUP))
        return pipe_read(s);
    return 0;
}

int bench_pipe_run(struct bench_pipe *p)
{
    struct pipe_state s = { .p = p, .in_cap = BENCH_IN_BUF_BYTES };
    int err = bench_set_nonblock(p->fd);

    if (err != 0 || p->window < 1)
        return err != 0 ? err : -EINVAL;
    kc_writer_init(&s.out, 0);
    s.in = malloc(s.in_cap);
    s.ring = calloc((size_t)p->window, sizeof(*s.ring));
    if (s.in == NULL || s.ring == NULL) {
        err = -ENOMEM;
        goto out;
    }
    while (err == 0 && s.done < p->total)
        err = pipe_step(&s);
out:
    kc_writer_fini(&s.out);
    free(s.in);
    free(s.ring);
    return err;
}

struct bench_pipe *bench_pipes_new(int n)
{
    struct bench_pipe *pipes = calloc((size_t)n, sizeof(*pipes));

    for (int i = 0; pipes != NULL && i < n; i++)
        pipes[i].fd = -1;
    return pipes;
}

void bench_pipes_free(struct bench_pipe *pipes, int n)
{
    for (int i = 0; pipes != NULL && i < n; i++)
        if (pipes[i].fd >= 0)
            (void)close(pipes[i].fd); /* end of a run: nothing left to report */
    free(pipes);
}

static void *pipe_thread(void *arg)
{
    struct bench_pipe *p = arg;

    p->err = bench_pipe_run(p);
    return NULL;
}

int bench_pipe_run_many(struct bench_pipe *pipes, int n)
{
    pthread_t *tids = calloc((size_t)n, sizeof(*tids));
    int started = 0;
    int err = 0;

    if (tids == NULL)
        return -ENOMEM;
    if (n == 1)
        pipes[0].err = bench_pipe_run(&pipes[0]);
    for (; n > 1 && started < n; started++) {
        int rc = pthread_create(&tids[started], NULL, pipe_thread, &pipes[started]);

        if (rc != 0) {
            err = -rc;
            break;
        }
    }
    for (int i = 0; i < started; i++)
        (void)pthread_join(tids[i], NULL); /* cannot fail for a joinable thread we made */
    for (int i = 0; i < n && err == 0 && (n == 1 || i < started); i++)
        err = pipes[i].err;
    free(tids);
    return err;
}

/* ---- the raw TCP ping-pong ------------------------------------------------------------ */

static int echo_serve(int fd, size_t req, size_t resp)
{
    uint8_t *in = malloc(req);
    uint8_t *out = calloc(1, resp);
    int err = in != NULL && out != NULL ? 0 : -ENOMEM;

    while (err == 0) {
        err = bench_read_exact(fd, in, req);
        if (err == 0 && send(fd, out, resp, MSG_NOSIGNAL) != (ssize_t)resp)
            err = -EIO; /* blocking socket: a short send means the peer went away */
    }
    free(in);
    free(out);
    return err == KC_ECLOSED ? 0 : err;
}

int bench_echo_spawn(size_t req, size_t resp, int cpu, pid_t *pid, int *port)
{
    int lfd, err = bench_listen(0, &lfd, port);
    pid_t child;

    if (err != 0)
        return err;
    child = fork();
    if (child < 0) {
        err = -errno;
        (void)close(lfd); /* reporting the fork error */
        return err;
    }
    if (child == 0) { /* the server: pinned like a broker loop, one connection, then exit */
        int fd = bench_pin_cpu(cpu) == 0 ? accept(lfd, NULL, NULL) : -1;

        _exit(fd >= 0 && echo_serve(fd, req, resp) == 0 ? 0 : 1);
    }
    (void)close(lfd); /* the child has its own copy */
    *pid = child;
    return 0;
}

int bench_child_reap(pid_t pid)
{
    int status = 0;

    for (int i = 0; i < 1000; i++) {
        pid_t r = waitpid(pid, &status, WNOHANG);

        if (r == pid)
            return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -ECHILD;
        if (r < 0 && errno != EINTR)
            return -errno;
        kc_sleep_ms(10);
    }
    (void)kill(pid, SIGKILL); /* stuck: the run already failed, only cleanup is left */
    (void)waitpid(pid, &status, 0);
    return -ETIMEDOUT;
}

static void echo_encode(void *ctx, int64_t seq, struct kc_writer *w)
{
    const struct bench_echo *e = ctx;

    (void)seq;
    kc_write_raw(w, e->payload, e->req);
}

static ssize_t echo_decode(void *ctx, const uint8_t *p, size_t len)
{
    const struct bench_echo *e = ctx;

    (void)p;
    return len >= e->resp ? (ssize_t)e->resp : 0;
}

const struct bench_pipe_ops bench_echo_ops = { echo_encode, echo_decode };

/* ---- small helpers --------------------------------------------------------------------- */

void bench_fill_payload(uint8_t *buf, size_t n, uint64_t seed)
{
    uint64_t x = seed * 0x9E3779B97F4A7C15ull + 1;

    for (size_t i = 0; i < n; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        buf[i] = (uint8_t)('a' + x % 26);
    }
}

int64_t bench_opt_i64(const char *name, const char *s, int64_t min, int64_t max)
{
    int64_t v;

    if (s == NULL || kc_parse_i64(s, min, max, &v) != 0) {
        fprintf(stderr, "bad value for %s: '%s' (want an integer in [%lld, %lld])\n", name,
                s ? s : "", (long long)min, (long long)max);
        exit(2);
    }
    return v;
}

void bench_die(const char *msg, int err)
{
    fprintf(stderr, "%s: %s\n", msg, kc_strerror(err));
    exit(1);
}
