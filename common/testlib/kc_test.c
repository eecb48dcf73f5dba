/* kc_test.c - temp dirs, leak counters, fixtures and seeds for the cmocka tests. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <limits.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "kc_common.h"
#include "kc_fs.h"
#include "kc_time.h"
#include "kc_test.h"

char *kc_test_tmpdir(void)
{
    char path[4096];
    int rc = kc_mkdtemp("kc-test-", path, sizeof(path));
    if (rc) {
        fail_msg("kc_mkdtemp: %s", kc_strerror(rc));
    }
    char *dup = strdup(path);
    assert_non_null(dup);
    return dup;
}

void kc_test_rmdir(char *dir)
{
    if (!dir)
        return;
    int rc = kc_rm_rf(dir);
    if (rc)
        fail_msg("kc_rm_rf(%s): %s", dir, kc_strerror(rc));
    free(dir);
}

int kc_test_dir_setup(void **state)
{
    *state = kc_test_tmpdir();
    return 0;
}

int kc_test_dir_teardown(void **state)
{
    kc_test_rmdir(*state);
    *state = NULL;
    return 0;
}

static int count_fds(const char *dir)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    int n = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL)
        n += de->d_name[0] != '.';
    closedir(d);
    return n;
}

int kc_test_fd_count(void)
{
    return count_fds("/proc/self/fd") - 1; /* the directory stream's own fd */
}

int kc_test_pid_fd_count(pid_t pid)
{
    char dir[64];
    snprintf(dir, sizeof(dir), "/proc/%d/fd", (int)pid);
    return count_fds(dir);
}

int kc_test_pid_socket_count(pid_t pid)
{
    char dir[64], link[64 + 256], target[64];
    snprintf(dir, sizeof(dir), "/proc/%d/fd", (int)pid);
    DIR *d = opendir(dir);
    assert_non_null(d);
    int n = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.')
            continue;
        snprintf(link, sizeof(link), "%s/%s", dir, de->d_name);
        ssize_t len = readlink(link, target, sizeof(target) - 1);
        n += len > 7 && memcmp(target, "socket:", 7) == 0; /* closed meanwhile: not counted */
    }
    closedir(d);
    return n;
}

void kc_test_tcp_pair(int *snd, int *rcv, int sndbuf, int rcvbuf)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t alen = sizeof(a);
    int l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(l >= 0);
    if (rcvbuf)
        assert_int_equal(setsockopt(l, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf)), 0);
    assert_int_equal(bind(l, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(listen(l, 1), 0);
    assert_int_equal(getsockname(l, (struct sockaddr *)&a, &alen), 0);
    int c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(c >= 0);
    if (sndbuf)
        assert_int_equal(setsockopt(c, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf)), 0);
    assert_int_equal(connect(c, (struct sockaddr *)&a, sizeof(a)), 0);
    int r = accept4(l, NULL, NULL, SOCK_CLOEXEC);
    assert_true(r >= 0);
    close(l);
    *snd = c;
    *rcv = r;
}

void kc_test_capture_start(struct kc_test_capture *c)
{
    const char *tmp = getenv("TMPDIR");
    snprintf(c->path, sizeof(c->path), "%s/kc-stderr-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    int fd = mkstemp(c->path);
    assert_true(fd >= 0);
    fflush(stderr);
    c->saved = dup(STDERR_FILENO);
    assert_true(c->saved >= 0);
    assert_true(dup2(fd, STDERR_FILENO) >= 0);
    close(fd);
}

char *kc_test_capture_stop(struct kc_test_capture *c)
{
    char *text;
    size_t len;
    fflush(stderr);
    assert_true(dup2(c->saved, STDERR_FILENO) >= 0);
    close(c->saved);
    assert_int_equal(kc_read_file(c->path, 1 << 20, &text, &len), 0);
    unlink(c->path);
    fputs(text, stderr); /* the test log still shows what was captured */
    return text;
}

int kc_test_count_lines(const char *text, const char *needle)
{
    int lines = 0;
    for (const char *p = text; p && *p;) {
        const char *nl = strchr(p, '\n');
        size_t n = nl ? (size_t)(nl - p) : strlen(p);
        lines += memmem(p, n, needle, strlen(needle)) != NULL;
        p = nl ? nl + 1 : NULL;
    }
    return lines;
}

int kc_test_map_count(void)
{
    FILE *f = fopen("/proc/self/maps", "r");
    assert_non_null(f);
    int n = 0, c;
    while ((c = fgetc(f)) != EOF)
        n += c == '\n';
    fclose(f);
    return n;
}

uint8_t *kc_test_load(const char *relpath, size_t *len)
{
    const char *root = getenv("KC_SRC_DIR");
    char path[4096];
    char *data;
    snprintf(path, sizeof(path), "%s/%s", root && *root ? root : ".", relpath);
    int rc = kc_read_file(path, 64u << 20, &data, len);
    if (rc)
        fail_msg("cannot load fixture %s: %s", path, kc_strerror(rc));
    return (uint8_t *)data;
}

uint64_t kc_test_seed(void)
{
    const char *env = getenv("KC_TEST_SEED");
    uint64_t seed = env ? strtoull(env, NULL, 0) : (uint64_t)time(NULL) ^ (uint64_t)clock();
    if (seed == 0)
        seed = 1;
    printf("# seed %" PRIu64 " (replay with KC_TEST_SEED=%" PRIu64 ")\n", seed, seed);
    return seed;
}

uint64_t kc_test_rand(uint64_t *s)
{
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * 2685821657736338717ull;
}

/* ---- kafkajs ------------------------------------------------------------------------------ */

/* Run argv in dir, its output to log, bounded by ms: the exit status, or -1 (killed). */
static int run_in(const char *dir, const char *const *argv, const char *log, int ms)
{
    pid_t pid = fork();
    if (pid < 0)
        fail_msg("fork: %s", kc_strerror(-errno));
    if (pid == 0) {
        int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd < 0 || chdir(dir) != 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0)
            _exit(127);
        execvp(argv[0], (char *const *)argv);
        _exit(127);
    }
    int status = 0;
    for (int64_t t0 = kc_mono_ms(); waitpid(pid, &status, WNOHANG) == 0; usleep(20000))
        if (kc_mono_ms() - t0 > ms) {
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            return -1;
        }
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

void kc_test_kafkajs_dir(char *dir, size_t cap)
{
    char bin[PATH_MAX], path[PATH_MAX + 64], *text = NULL;
    size_t len = 0;
    const char *bindir = getenv("KC_BIN_DIR");
    snprintf(bin, sizeof(bin), "%s", bindir && *bindir ? bindir : "build/bin");
    snprintf(dir, cap, "%s/kafkajs", dirname(bin));
    snprintf(path, sizeof(path), "%s/node_modules/kafkajs/package.json", dir);
    bool ready = kc_read_file(path, 1 << 20, &text, &len) == 0 &&
                 strstr(text, "\"version\": \"" KC_TEST_KAFKAJS_VERSION "\"");
    free(text);
    if (ready)
        return;
    assert_int_equal(kc_mkdir_p(dir, 0755), 0);
    const char *files[] = {"package.json", "package-lock.json"};
    for (int i = 0; i < 2; i++) {
        snprintf(path, sizeof(path), "broker/tests/kafka/%s", files[i]);
        text = (char *)kc_test_load(path, &len);
        snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
        assert_int_equal(kc_atomic_replace(path, text, len), 0);
        free(text);
    }
    const char *argv[] = {"npm", "ci", "--no-audit", "--no-fund", "--loglevel=error", NULL};
    int64_t t0 = kc_mono_ms();
    snprintf(path, sizeof(path), "%s/npm-ci.log", dir);
    int rc = run_in(dir, argv, path, 240000);
    if (rc != 0) {
        text = NULL;
        (void)kc_read_file(path, 1 << 20, &text, &len);
        fail_msg("npm ci in %s failed (exit %d): is the npm registry reachable? kafkajs "
                 KC_TEST_KAFKAJS_VERSION " is needed for this test.\n%s", dir, rc,
                 text ? text : "");
    }
    printf("# npm ci installed kafkajs into %s in %lld ms\n", dir,
           (long long)(kc_mono_ms() - t0));
}
