/*
 * harness.c - a real broker, the real CLI, raw sockets and a pty, for end-to-end tests.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "kc_common.h"
#include "kc_test.h"
#include "sec_acl.h"
#include "zc_tls.h"

const char *kb_bin(const char *name)
{
    static char path[1024];
    const char *dir = getenv("KC_BIN_DIR");
    snprintf(path, sizeof(path), "%s/%s", dir && *dir ? dir : "build/bin", name);
    return path;
}

static void print_log(const struct kb_broker *b);

int kb_setup(void **state)
{
    struct kb_broker *b = calloc(1, sizeof(*b));
    assert_non_null(b);
    b->dir = kc_test_tmpdir();
    snprintf(b->data, sizeof(b->data), "%s/data", b->dir);
    snprintf(b->log, sizeof(b->log), "%s/broker.log", b->dir);
    *state = b;
    return 0;
}

int kb_setup_started(void **state)
{
    kb_setup(state);
    kb_start(*state, NULL);
    return 0;
}

static void print_log(const struct kb_broker *b);

/* Under KC_BROKER_WRAP=valgrind ...: did any broker of this test get a memcheck report? The
 * wrapper marks each one (--error-markers), whatever the broker's exit (kill -9 included). */
static int wrapper_reports(const struct kb_broker *b)
{
    const char *wrap = getenv("KC_BROKER_WRAP");
    if (!wrap || !*wrap || !kb_log_has(b, "KC-WRAP-ERROR-BEGIN"))
        return 0;
    print_log(b);
    printf("# teardown: %s reported an error in the broker (its log above)\n", wrap);
    return -1;
}

int kb_teardown(void **state)
{
    struct kb_broker *b = *state;
    int rc = 0;
    if (b->pid > 0) { /* still running: it must stop cleanly (and sanitizer-clean) */
        (void)kill(b->pid, SIGTERM);
        int status = kb_wait_exit(b, KB_WAIT_MS);
        if (status == -1 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
            print_log(b);
            printf("# teardown: the broker did not stop cleanly (status %d)\n", status);
            kb_kill9(b);
            rc = -1;
        }
    }
    if (wrapper_reports(b) != 0)
        rc = -1;
    kc_test_rmdir(b->dir);
    free(b);
    return rc;
}

static void print_log(const struct kb_broker *b)
{
    char *text;
    size_t len;
    if (kc_read_file(b->log, 1 << 20, &text, &len) != 0)
        return;
    const char *tail = len > 6000 ? text + len - 6000 : text;
    printf("# --- %s (tail) ---\n%s# ---\n", b->log, tail);
    free(text);
}

/*
 * KC_BROKER_WRAP: a command put in front of the broker (space-separated), e.g. Valgrind's
 * memcheck (`make valgrind`): every broker the tests start then runs under it, its
 * reports go to the broker's log, and kb_teardown fails the test when one is there.
 */
static int wrap_argv(const char **argv, int cap, char *buf, size_t bufcap)
{
    const char *wrap = getenv("KC_BROKER_WRAP");
    int n = 0;
    if (!wrap || !*wrap)
        return 0;
    snprintf(buf, bufcap, "%s", wrap);
    for (char *save, *tok = strtok_r(buf, " ", &save); tok && n < cap;
         tok = strtok_r(NULL, " ", &save))
        argv[n++] = tok;
    return n;
}

/* The child side of kb_start: stdout into the pipe, stderr into the log, then exec. */
static void exec_broker(const struct kb_broker *b, int out, const char *const *args)
{
    const char *argv[96];
    char wrap[1024];
    int n = wrap_argv(argv, 24, wrap, sizeof(wrap));
    const char *own[] = {kb_bin("kafka_broker"), "--port", "0", "--data-dir", b->data,
                         "--override", "metrics.port=0"}; /* never a fixed port in a test */
    for (size_t i = 0; i < sizeof(own) / sizeof(own[0]); i++)
        argv[n++] = own[i];
    for (int i = 0; args && args[i] && n < 94; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    int log = open(b->log, O_WRONLY | O_CREAT | O_APPEND, 0644);
    prctl(PR_SET_PDEATHSIG, SIGKILL); /* never outlive the test */
    if (log < 0 || dup2(out, 1) < 0 || dup2(log, 2) < 0)
        _exit(126);
    execvp(argv[0], (char *const *)argv);
    _exit(127);
}

/* The port in "<what>host:port\n" within buf, or 0. */
static int line_port(const char *buf, const char *what)
{
    const char *at = strstr(buf, what);
    const char *nl = at ? strchr(at, '\n') : NULL;
    const char *colon = nl ? memrchr(at, ':', (size_t)(nl - at)) : NULL;
    return colon ? atoi(colon + 1) : 0;
}

/* The host of the first "listening on host:port\n" line into b->host (an address to
 * connect to: every interface's 0.0.0.0 becomes the loopback). */
static void first_host(struct kb_broker *b, const char *buf)
{
    const char *at = strstr(buf, "listening on ");
    const char *nl = at ? strchr(at, '\n') : NULL;
    at = at ? at + strlen("listening on ") : NULL;
    const char *colon = nl ? memrchr(at, ':', (size_t)(nl - at)) : NULL;
    snprintf(b->host, sizeof(b->host), "%.*s", colon ? (int)(colon - at) : 0, at ? at : "");
    if (!b->host[0] || strcmp(b->host, "0.0.0.0") == 0)
        snprintf(b->host, sizeof(b->host), "127.0.0.1");
}

/* The "listening on NAME://host:port (PROTO)" lines after the first, into b->more. */
static void more_listeners(struct kb_broker *b, const char *buf)
{
    const char *at = buf;
    b->nmore = 0;
    while ((at = strstr(at, "listening on ")) != NULL && b->nmore < KB_LISTENERS_MAX) {
        at += strlen("listening on ");
        const char *sep = strstr(at, "://"), *nl = strchr(at, '\n');
        if (!sep || !nl || sep > nl)
            continue; /* the first listener's line: "listening on host:port" */
        snprintf(b->more[b->nmore].name, sizeof(b->more[0].name), "%.*s", (int)(sep - at), at);
        b->more[b->nmore++].port = line_port(at - strlen("listening on "), "listening on ");
    }
}

/* Read the child's stdout until its "data in" line (the one after every "listening on"):
 * the first listener's port, or -1; *metrics gets the HTTP door's port (0 if it has none),
 * b->more the other listeners. */
static int read_port(struct kb_broker *b, int fd, int *metrics)
{
    char buf[4096];
    size_t len = 0;
    int64_t deadline = kc_mono_ms() + KB_WAIT_MS;
    while (len < sizeof(buf) - 1 && kc_mono_ms() < deadline) {
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        if (poll(&pfd, 1, 100) <= 0)
            continue;
        ssize_t n = read(fd, buf + len, sizeof(buf) - 1 - len);
        if (n <= 0)
            return -1;
        len += (size_t)n;
        buf[len] = '\0';
        int port = line_port(buf, "listening on ");
        const char *data = strstr(buf, "data in ");
        if (port > 0 && data && strchr(data, '\n')) {
            *metrics = line_port(buf, "metrics on http://");
            first_host(b, buf);
            more_listeners(b, buf);
            return port;
        }
    }
    return -1;
}

void kb_start(struct kb_broker *b, const char *const *args)
{
    int pipefd[2];
    assert_int_equal(pipe2(pipefd, O_CLOEXEC), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0)
        exec_broker(b, pipefd[1], args);
    close(pipefd[1]);
    b->pid = pid;
    b->port = read_port(b, pipefd[0], &b->metrics_port);
    close(pipefd[0]); /* the broker prints nothing more that matters */
    if (b->port <= 0) {
        print_log(b);
        fail_msg("the broker did not say where it listens");
    }
    snprintf(b->addr, sizeof(b->addr), "%s:%d", b->host, b->port);
}

int kb_wait_exit(struct kb_broker *b, int ms)
{
    int status;
    int64_t deadline = kc_mono_ms() + ms;
    do {
        pid_t r = waitpid(b->pid, &status, WNOHANG);
        if (r == b->pid) {
            b->pid = 0;
            return status;
        }
        kc_sleep_ms(5);
    } while (kc_mono_ms() < deadline);
    return -1;
}

void kb_stop(struct kb_broker *b)
{
    assert_true(b->pid > 0);
    assert_int_equal(kill(b->pid, SIGTERM), 0);
    int status = kb_wait_exit(b, KB_WAIT_MS);
    if (status == -1 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        print_log(b);
        fail_msg("the broker did not stop cleanly (status %d)", status);
    }
}

void kb_kill9(struct kb_broker *b)
{
    if (b->pid <= 0)
        return;
    (void)kill(b->pid, SIGKILL);
    (void)kb_wait_exit(b, KB_WAIT_MS);
    b->pid = 0;
}

bool kb_log_has(const struct kb_broker *b, const char *s)
{
    char *text;
    size_t len;
    if (kc_read_file(b->log, 64u << 20, &text, &len) != 0)
        return false;
    bool found = strstr(text, s) != NULL;
    free(text);
    return found;
}

void kb_client(const struct kb_broker *b, struct np_client *c)
{
    int rc = np_client_connect(c, b->addr, KB_WAIT_MS);
    if (rc)
        fail_msg("connect %s: %s", b->addr, np_strerror(rc));
}

/* ---- the CLI ----------------------------------------------------------------------------- */

static char *slurp(const char *path)
{
    char *text;
    size_t len;
    if (kc_read_file(path, 64u << 20, &text, &len) != 0)
        return strdup("");
    return text;
}

int kb_exec(const struct kb_broker *b, const char *prog, const char *in, char **out,
            char **err, const char *const *args)
{
    static int seq;
    char pin[600], pout[600], perr[600];
    int n = ++seq;
    snprintf(pin, sizeof(pin), "%s/run%d.in", b->dir, n);
    snprintf(pout, sizeof(pout), "%s/run%d.out", b->dir, n);
    snprintf(perr, sizeof(perr), "%s/run%d.err", b->dir, n);
    assert_int_equal(kc_atomic_replace(pin, in ? in : "", in ? strlen(in) : 0), 0);
    char path[1024];
    snprintf(path, sizeof(path), "%s", kb_bin(prog));
    const char *argv[64] = {path};
    int k = 1;
    for (int i = 0; args && args[i] && k < 62; i++)
        argv[k++] = args[i];
    argv[k] = NULL;
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int i0 = open(pin, O_RDONLY), o = open(pout, O_WRONLY | O_CREAT | O_TRUNC, 0644),
            e = open(perr, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (i0 < 0 || o < 0 || e < 0 || dup2(i0, 0) < 0 || dup2(o, 1) < 0 || dup2(e, 2) < 0)
            _exit(126);
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    struct kb_broker child = {.pid = pid};
    int status = kb_wait_exit(&child, KB_WAIT_MS);
    if (status == -1) {
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        fail_msg("%s %s did not finish", prog, args && args[0] ? args[0] : "");
    }
    *out = slurp(pout);
    *err = slurp(perr);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

int kb_cli(const struct kb_broker *b, const char *in, char **out, char **err,
           const char *const *args)
{
    const char *argv[64] = {"-b", b->addr};
    int k = 2;
    for (int i = 0; args && args[i] && k < 62; i++)
        argv[k++] = args[i];
    argv[k] = NULL;
    return kb_exec(b, "kafka_cli", in, out, err, argv);
}

/* ---- raw sockets ------------------------------------------------------------------------- */

int kb_connect(const struct kb_broker *b)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)b->port),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    struct timeval tv = {.tv_sec = KB_WAIT_MS / 1000};
    if (b->host[0] && inet_pton(AF_INET, b->host, &sa.sin_addr) != 1)
        fail_msg("kb_connect: %s is not an IPv4 address", b->host);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(fd >= 0);
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), 0);
    return fd;
}

void kb_send(int fd, const void *p, size_t len)
{
    assert_int_equal(send(fd, p, len, MSG_NOSIGNAL), (ssize_t)len);
}

ssize_t kb_recv_frame(int fd, uint8_t *buf, size_t cap)
{
    ssize_t n = kc_read_full(fd, buf, 4);
    if (n != 4)
        return -1;
    size_t len = kc_load_be32(buf) + 4u;
    if (len > cap)
        fail_msg("response of %zu bytes does not fit %zu", len, cap);
    n = kc_read_full(fd, buf + 4, len - 4);
    return n == (ssize_t)(len - 4) ? (ssize_t)len : -1;
}

bool kb_closed(int fd, int ms)
{
    int64_t deadline = kc_mono_ms() + ms;
    uint8_t sink[4096];
    while (kc_mono_ms() < deadline) {
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        if (poll(&pfd, 1, 50) <= 0)
            continue;
        ssize_t n = recv(fd, sink, sizeof(sink), MSG_DONTWAIT);
        if (n == 0 || (n < 0 && errno == ECONNRESET))
            return true;
    }
    return false;
}

/* ---- the pty ------------------------------------------------------------------------------ */

void kb_pty_start(struct kb_pty *p, const struct kb_broker *b)
{
    char hist[600];
    memset(p, 0, sizeof(*p));
    snprintf(hist, sizeof(hist), "%s/history", b->dir);
    p->pid = forkpty(&p->fd, NULL, NULL, NULL);
    assert_true(p->pid >= 0);
    if (p->pid == 0) {
        setenv("TERM", "dumb", 1);
        setenv("KAFKA_CLI_HISTORY", hist, 1);
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        execl(kb_bin("kafka_cli"), "kafka_cli", "-b", b->addr, (char *)NULL);
        _exit(127);
    }
}

void kb_pty_send(struct kb_pty *p, const char *line)
{
    size_t len = strlen(line);
    assert_int_equal(write(p->fd, line, len), (ssize_t)len);
    assert_int_equal(write(p->fd, "\r", 1), 1);
}

/* 1 read something, 0 nothing within ms, -1 the program is gone (EIO on the master). */
static int pty_read(struct kb_pty *p, int ms)
{
    char buf[4096];
    struct pollfd pfd = {.fd = p->fd, .events = POLLIN};
    if (poll(&pfd, 1, ms) <= 0)
        return 0;
    ssize_t n = read(p->fd, buf, sizeof(buf));
    if (n <= 0)
        return -1;
    p->seen = realloc(p->seen, p->len + (size_t)n + 1);
    assert_non_null(p->seen);
    memcpy(p->seen + p->len, buf, (size_t)n);
    p->len += (size_t)n;
    p->seen[p->len] = '\0';
    return 1;
}

void kb_pty_expect(struct kb_pty *p, const char *s)
{
    int64_t deadline = kc_mono_ms() + KB_WAIT_MS;
    for (;;) {
        char *at = p->seen ? strstr(p->seen + p->mark, s) : NULL;
        if (at) {
            p->mark = (size_t)(at - p->seen) + strlen(s);
            return;
        }
        if (kc_mono_ms() > deadline || pty_read(p, 100) < 0)
            break;
    }
    fail_msg("the Playground never printed '%s'; it printed:\n%s", s,
             p->seen ? p->seen + p->mark : "");
}

int kb_pty_finish(struct kb_pty *p)
{
    struct kb_broker child = {.pid = p->pid};
    while (pty_read(p, 50) > 0)
        ; /* drain, so the program is not blocked writing */
    int status = kb_wait_exit(&child, KB_WAIT_MS);
    close(p->fd);
    free(p->seen);
    p->seen = NULL;
    if (status == -1) {
        kill(p->pid, SIGKILL);
        waitpid(p->pid, NULL, 0);
        fail_msg("the Playground did not exit");
    }
    return status;
}

/* ---- security ---------------------------------------------------------------------------------- */

int kb_port(const struct kb_broker *b, const char *name)
{
    for (int i = 0; i < b->nmore; i++)
        if (strcmp(b->more[i].name, name) == 0)
            return b->more[i].port;
    return 0;
}

const char *kb_addr_of(const struct kb_broker *b, const char *name)
{
    static char addr[64];
    int port = kb_port(b, name);
    if (port <= 0)
        fail_msg("the broker has no %s listener", name);
    snprintf(addr, sizeof(addr), "127.0.0.1:%d", port);
    return addr;
}

void kb_certs(struct kb_broker *b)
{
    char cmd[2048];
    const char *src = getenv("KC_SRC_DIR");
    snprintf(b->certs, sizeof(b->certs), "%s/certs", b->dir);
    assert_int_equal(kc_mkdir_p(b->certs, 0700), 0);
    snprintf(cmd, sizeof(cmd), "%s/zeroCopy/tests/support/mkcerts.sh '%s'", src ? src : ".",
             b->certs);
    int status = system(cmd);
    if (status != 0)
        fail_msg("mkcerts.sh failed (%d): the TLS tests need the openssl CLI", status);
}

const char *kb_cert(const struct kb_broker *b, const char *name)
{
    static char bufs[4][700];
    static int next;
    char *p = bufs[next++ % 4];
    snprintf(p, sizeof(bufs[0]), "%s/%s", b->certs, name);
    return p;
}

void kb_add_scram(struct kb_broker *b, const char *mech, const char *user, const char *password)
{
    char arg[512], *out, *err;
    snprintf(arg, sizeof(arg), "%s=[name=%s,password=%s]", mech, user, password);
    const char *args[] = {"--data-dir", b->data, "--add-scram", arg, NULL};
    int rc = kb_exec(b, "kafka_broker", NULL, &out, &err, args);
    if (rc != 0)
        fail_msg("--add-scram for %s: %s%s", user, out, err);
    free(out);
    free(err);
}

void kb_acl(struct kb_broker *b, const char *principal, int op, int type, int pattern,
            const char *name, int perm)
{
    struct sec_authorizer *a;
    struct sec_authorizer_config cfg = {0};
    struct sec_acl acl = {type, pattern, name, principal, "*", op, perm};
    struct sec_acl_result res;
    assert_int_equal(kc_mkdir_p(b->data, 0755), 0);
    assert_int_equal(sec_authorizer_open(b->data, &cfg, &a), 0);
    if (sec_acl_create(a, &acl, 1, &res) != 0)
        fail_msg("ACL refused: %s", res.error_message ? res.error_message : "?");
    sec_authorizer_close(a);
}

struct zc_tls_ctx *kb_tls_client(const struct kb_broker *b, const char *ca, const char *cert)
{
    struct zc_tls_config cfg = {.truststore_location = kb_cert(b, ca),
                                .keystore_location = cert ? kb_cert(b, cert) : NULL,
                                .no_ktls = true};
    struct zc_tls_ctx *ctx;
    char err[512];
    if (zc_tls_ctx_new(&cfg, false, &ctx, err, sizeof(err)) != 0)
        fail_msg("client TLS context: %s", err);
    return ctx;
}

int kb_client_sec(const struct kb_broker *b, int port, struct zc_tls_ctx *ctx, const char *mech,
                  const char *user, const char *password, struct np_client *c)
{
    char addr[64];
    (void)b;
    snprintf(addr, sizeof(addr), "127.0.0.1:%d", port);
    int rc = np_client_connect(c, addr, KB_WAIT_MS);
    if (rc == 0 && ctx)
        rc = np_client_start_tls(c, ctx, NULL);
    if (rc == 0 && mech)
        rc = np_client_sasl_login(c, mech, user, password);
    if (rc)
        np_client_close(c);
    return rc;
}

/* ---- batches ---------------------------------------------------------------------------------- */

uint8_t *kb_batch(const char *prefix, int n, size_t *len)
{
    struct kc_batch_builder bb;
    uint8_t *p, *copy;
    char v[256];
    kc_batch_builder_init(&bb, NULL, 0);
    for (int i = 0; i < n; i++) {
        int vl = snprintf(v, sizeof(v), "%s%d", prefix, i);
        assert_int_equal(kc_batch_builder_add(&bb, kc_wall_ms(), NULL, -1, v, vl, NULL, 0), 0);
    }
    assert_int_equal(kc_batch_builder_finish(&bb, &p, len), 0);
    copy = malloc(*len);
    assert_non_null(copy);
    memcpy(copy, p, *len);
    kc_batch_builder_fini(&bb);
    return copy;
}

/* ---- process figures and /metrics ---------------------------------------------------------- */

double kb_cpu_seconds(const struct kb_broker *b)
{
    char path[64], buf[1024];
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)b->pid);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    /* Fields after "(comm)": state is the 3rd; utime and stime the 14th and 15th. */
    const char *p = strrchr(buf, ')');
    assert_non_null(p);
    unsigned long long ut = 0, st = 0;
    assert_int_equal(sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut,
                            &st),
                     2);
    return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

int kb_http_get(const struct kb_broker *b, const char *path, char **body)
{
    struct kb_broker m = *b;
    m.port = b->metrics_port;
    assert_true(m.port > 0);
    int fd = kb_connect(&m);
    char req[512];
    int rl = snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
                      path);
    assert_true(rl > 0 && (size_t)rl < sizeof(req));
    kb_send(fd, req, (size_t)rl);
    size_t len = 0, cap = 1 << 16;
    char *buf = malloc(cap);
    assert_non_null(buf);
    int64_t until = kc_mono_ms() + KB_WAIT_MS;
    for (;;) { /* Connection: close - the answer ends where the stream does */
        if (len + 1 == cap) {
            buf = realloc(buf, cap *= 2);
            assert_non_null(buf);
        }
        struct pollfd p = {.fd = fd, .events = POLLIN};
        assert_true(kc_mono_ms() < until);
        if (poll(&p, 1, 100) <= 0)
            continue;
        ssize_t n = read(fd, buf + len, cap - 1 - len);
        if (n <= 0)
            break;
        len += (size_t)n;
    }
    close(fd);
    buf[len] = '\0';
    int status = 0;
    assert_int_equal(sscanf(buf, "HTTP/1.%*d %d", &status), 1);
    const char *start = strstr(buf, "\r\n\r\n");
    assert_non_null(start);
    *body = strdup(start + 4);
    free(buf);
    return status;
}

double kb_metric(const struct kb_broker *b, const char *name)
{
    char *body = NULL;
    double v = -1;
    assert_int_equal(kb_http_get(b, "/metrics", &body), 200);
    size_t n = strlen(name);
    for (char *line = body; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL)
        if (strncmp(line, name, n) == 0 && line[n] == ' ')
            v = atof(line + n + 1);
    free(body);
    return v;
}
