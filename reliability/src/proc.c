/*
 * proc.c - a broker process the harness owns: spawn, wait for its port, kill -9, stop.
 *
 * The child's environment is built before fork (copy of ours plus LD_PRELOAD and
 * KC_FAULT_CTL when a shim is asked for), so the child only calls async-signal-safe
 * functions between fork and execve: the harness may have threads.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kc_common.h"
#include "rel.h"

extern char **environ;

#define REL_ENV_MAX  512
#define REL_ARGV_MAX 64

int rel_broker_init(struct rel_broker *b, const char *bin_dir, const char *dir)
{
    memset(b, 0, sizeof(*b));
    b->out_fd = -1;
    int n1 = snprintf(b->bin, sizeof(b->bin), "%s/kafka_broker", bin_dir);
    int n2 = snprintf(b->data, sizeof(b->data), "%s/data", dir);
    /* Not *.log: the fault shim's usual match (".log", the segments) would fail the
     * broker's own log lines too, and hide what it said during a disk fault. */
    int n3 = snprintf(b->log, sizeof(b->log), "%s/broker.out", dir);
    if (n1 < 0 || n2 < 0 || n3 < 0 || (size_t)n1 >= sizeof(b->bin) ||
        (size_t)n2 >= sizeof(b->data) || (size_t)n3 >= sizeof(b->log))
        return -ENAMETOOLONG;
    return 0;
}

/* Our environment plus the shim's variables (ASan must not insist on being first). */
struct child_env {
    char *envp[REL_ENV_MAX];
    char preload[REL_PATH_MAX + 16], ctl[REL_PATH_MAX + 16], asan[1024];
};

static void env_build(const struct rel_broker *b, struct child_env *ce)
{
    int n = 0;
    const char *asan = getenv("ASAN_OPTIONS");
    for (char **e = environ; *e && n < REL_ENV_MAX - 4; e++) {
        bool shimvar = !strncmp(*e, "LD_PRELOAD=", 11) || !strncmp(*e, "KC_FAULT_CTL=", 13) ||
                       !strncmp(*e, "ASAN_OPTIONS=", 13);
        if (!shimvar)
            ce->envp[n++] = *e;
    }
    if (b->shim[0]) {
        snprintf(ce->preload, sizeof(ce->preload), "LD_PRELOAD=%s", b->shim);
        snprintf(ce->ctl, sizeof(ce->ctl), "KC_FAULT_CTL=%s", b->ctl);
        ce->envp[n++] = ce->preload;
        ce->envp[n++] = ce->ctl;
    }
    /* A sanitized broker with a preloaded shim: ASan's link-order check would refuse. */
    snprintf(ce->asan, sizeof(ce->asan), "ASAN_OPTIONS=%s%s%s", asan ? asan : "",
             asan && *asan ? ":" : "", b->shim[0] ? "verify_asan_link_order=0" : "");
    if (b->shim[0] || asan)
        ce->envp[n++] = ce->asan;
    ce->envp[n] = NULL;
}

int rel_broker_spawn(struct rel_broker *b, const char *const *args)
{
    struct child_env *ce = malloc(sizeof(*ce)); /* built before fork: the child only execs */
    const char *argv[REL_ARGV_MAX] = {b->bin, "--port", "0", "--data-dir", b->data,
                                      "--override", "metrics.port=0"};
    int n = 7, pipefd[2];
    for (int i = 0; args && args[i] && n < REL_ARGV_MAX - 1; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    if (!ce)
        return -ENOMEM;
    env_build(b, ce);
    int logfd = open(b->log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (logfd < 0 || pipe2(pipefd, O_CLOEXEC) != 0) {
        int rc = -errno;
        if (logfd >= 0)
            close(logfd);
        free(ce);
        return rc;
    }
    pid_t pid = fork();
    if (pid == 0) {
        (void)prctl(PR_SET_PDEATHSIG, SIGKILL); /* never outlive the harness */
        if (dup2(pipefd[1], 1) < 0 || dup2(logfd, 2) < 0)
            _exit(126);
        execve(argv[0], (char *const *)argv, ce->envp);
        _exit(127);
    }
    int rc = pid < 0 ? -errno : 0;
    free(ce);
    close(pipefd[1]);
    close(logfd);
    if (rc) {
        close(pipefd[0]);
        return rc;
    }
    b->pid = pid;
    b->port = 0;
    b->metrics_port = 0;
    b->addr[0] = '\0';
    b->out_fd = pipefd[0];
    b->out_len = 0;
    b->out[0] = '\0';
    return 0;
}

static void reaped(struct rel_broker *b)
{
    b->pid = 0;
    b->port = 0;
    if (b->out_fd >= 0)
        close(b->out_fd);
    b->out_fd = -1;
}

int rel_broker_exited(struct rel_broker *b)
{
    int status;
    if (b->pid <= 0)
        return 0;
    if (waitpid(b->pid, &status, WNOHANG) != b->pid)
        return -1;
    reaped(b);
    return status;
}

/* The port in "<what>host:port\n" within buf, or 0. */
static int parse_port(const char *buf, const char *what)
{
    const char *at = strstr(buf, what);
    const char *nl = at ? strchr(at, '\n') : NULL;
    const char *colon = nl ? memrchr(at, ':', (size_t)(nl - at)) : NULL;
    return colon ? atoi(colon + 1) : 0;
}

/* Read the child's stdout (kept across calls) until a line starting with what has a port. */
static int wait_line(struct rel_broker *b, const char *what, int timeout_ms, int *port)
{
    int64_t deadline = kc_mono_ms() + timeout_ms;
    while (b->pid > 0) {
        if ((*port = parse_port(b->out, what)) > 0)
            return 0;
        int64_t left = deadline - kc_mono_ms();
        if (left <= 0)
            return -ETIMEDOUT;
        struct pollfd pfd = {.fd = b->out_fd, .events = POLLIN};
        if (b->out_len >= sizeof(b->out) - 1 || poll(&pfd, 1, (int)KC_MIN(left, 100)) <= 0)
            continue;
        ssize_t n = read(b->out_fd, b->out + b->out_len, sizeof(b->out) - 1 - b->out_len);
        if (n <= 0)
            break; /* its stdout closed: it is exiting */
        b->out_len += (size_t)n;
        b->out[b->out_len] = '\0';
    }
    int status;
    if (b->pid > 0 && waitpid(b->pid, &status, 0) == b->pid)
        reaped(b);
    return -ECHILD;
}

int rel_broker_wait_metrics(struct rel_broker *b, int timeout_ms)
{
    return wait_line(b, "metrics on http://", timeout_ms, &b->metrics_port);
}

int rel_broker_wait_listening(struct rel_broker *b, int timeout_ms)
{
    int rc = wait_line(b, "listening on ", timeout_ms, &b->port);
    if (rc == 0)
        snprintf(b->addr, sizeof(b->addr), "127.0.0.1:%d", b->port);
    return rc;
}

int rel_broker_start(struct rel_broker *b, const char *const *args, int timeout_ms)
{
    int rc = rel_broker_spawn(b, args);
    if (rc == 0 && (rc = rel_broker_wait_listening(b, timeout_ms)) != 0)
        rel_broker_kill9(b);
    return rc;
}

void rel_broker_kill9(struct rel_broker *b)
{
    int status;
    if (b->pid <= 0)
        return;
    (void)kill(b->pid, SIGKILL); /* ESRCH only if it is already a zombie: reaped below */
    while (waitpid(b->pid, &status, 0) < 0 && errno == EINTR)
        ;
    reaped(b);
}

int rel_broker_stop(struct rel_broker *b, int timeout_ms)
{
    int status;
    if (b->pid <= 0)
        return 0;
    (void)kill(b->pid, SIGTERM); /* ESRCH: exited already, reaped below */
    int64_t deadline = kc_mono_ms() + timeout_ms;
    while (kc_mono_ms() < deadline) {
        pid_t r = waitpid(b->pid, &status, WNOHANG);
        if (r == b->pid) {
            reaped(b);
            return status;
        }
        kc_sleep_ms(5);
    }
    rel_broker_kill9(b);
    return -ETIMEDOUT;
}

/* "VmRSS:\t   1234 kB" -> 1234 */
static long status_field(const char *text, const char *key)
{
    const char *at = strstr(text, key);
    return at ? strtol(at + strlen(key), NULL, 10) : -1;
}

int rel_mem_read(pid_t pid, struct rel_mem *m)
{
    char path[64], text[8192];
    snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC); /* /proc sizes are 0: read, not kc_read_file */
    if (fd < 0)
        return -errno;
    ssize_t n = kc_read_full(fd, text, sizeof(text) - 1);
    int rc = n < 0 ? (int)n : 0;
    close(fd);
    if (rc)
        return rc;
    text[n] = '\0';
    long rss = status_field(text, "VmRSS:"), hwm = status_field(text, "VmHWM:");
    if (rss < 0 || hwm < 0)
        return -ENOENT; /* a zombie has no memory lines */
    m->rss_kb = rss;
    m->hwm_kb = hwm;
    return 0;
}
