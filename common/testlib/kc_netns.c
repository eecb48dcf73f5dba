/*
 * kc_netns.c - a network namespace of the test's own, and nftables cuts in it (see
 * kc_netns.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kc_common.h"
#include "kc_netns.h"
#include "kc_time.h"

#define TABLE "inet kc_netpart"

/* Write s to path (a /proc file of this process): 0 or -errno. */
static int write_file(const char *path, const char *s)
{
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    ssize_t n = write(fd, s, strlen(s));
    int rc = n == (ssize_t)strlen(s) ? 0 : n < 0 ? -errno : -EIO;
    close(fd);
    return rc;
}

/* As root, CLONE_NEWNET alone; if that is refused, inside a new user namespace where we
 * are root (what `unshare -rn` does). 0 or -errno. */
static int unshare_net(void)
{
    uid_t uid = getuid();
    gid_t gid = getgid();
    char map[64];
    if (unshare(CLONE_NEWNET) == 0)
        return 0;
    if (unshare(CLONE_NEWUSER | CLONE_NEWNET) != 0)
        return -errno;
    int rc = write_file("/proc/self/setgroups", "deny");
    snprintf(map, sizeof(map), "0 %u 1\n", (unsigned)uid);
    if (rc == 0)
        rc = write_file("/proc/self/uid_map", map);
    snprintf(map, sizeof(map), "0 %u 1\n", (unsigned)gid);
    if (rc == 0)
        rc = write_file("/proc/self/gid_map", map);
    return rc;
}

/* A new namespace's loopback starts down. 0 or -errno. */
static int lo_up(void)
{
    struct ifreq ifr;
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    memset(&ifr, 0, sizeof(ifr));
    snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "lo");
    int rc = ioctl(fd, SIOCGIFFLAGS, &ifr);
    ifr.ifr_flags |= IFF_UP;
    if (rc == 0)
        rc = ioctl(fd, SIOCSIFFLAGS, &ifr);
    rc = rc == 0 ? 0 : -errno;
    close(fd);
    return rc;
}

/* Wait up to ms for pid: its wait status, or -1 (then it is killed and reaped). */
static int reap(pid_t pid, int ms)
{
    int status;
    for (int64_t deadline = kc_mono_ms() + ms; kc_mono_ms() < deadline; kc_sleep_ms(5))
        if (waitpid(pid, &status, WNOHANG) == pid)
            return status;
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    return -1;
}

/* Run `nft -f -` with script on its stdin (its output into our stdout, for the log): its
 * exit status, 127 when there is no nft program, -1 if it did not run or finish in 10 s. */
static int nft(const char *script)
{
    int in[2];
    if (pipe2(in, O_CLOEXEC) != 0)
        return -1;
    pid_t pid = fork();
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (dup2(in[0], 0) < 0 || dup2(1, 2) < 0)
            _exit(126);
        execlp("nft", "nft", "-f", "-", (char *)NULL);
        execl("/usr/sbin/nft", "nft", "-f", "-", (char *)NULL); /* a PATH without sbin */
        _exit(127);
    }
    close(in[0]);
    ssize_t n = pid > 0 ? write(in[1], script, strlen(script)) : -1;
    close(in[1]);
    int status = pid > 0 ? reap(pid, 10000) : -1;
    if (status == -1 || n != (ssize_t)strlen(script) || !WIFEXITED(status))
        return -1;
    return WEXITSTATUS(status);
}

void kc_netns_enter(struct kc_netns *n)
{
    int rc;
    n->up = false;
    if ((rc = unshare_net()) != 0) {
        snprintf(n->why, sizeof(n->why), "no network namespace of our own (unshare: %s)",
                 kc_strerror(rc));
        return;
    }
    if ((rc = lo_up()) != 0) {
        snprintf(n->why, sizeof(n->why), "cannot bring up lo in the new namespace (%s)",
                 kc_strerror(rc));
        return;
    }
    rc = nft("table " TABLE " {\n"
             "  chain out { type filter hook output priority 0; policy accept; }\n"
             "}\n");
    if (rc == 127)
        snprintf(n->why, sizeof(n->why), "no nft program (Debian's nftables: scripts/deps.sh "
                                         "test installs it)");
    else if (rc != 0)
        snprintf(n->why, sizeof(n->why), "nft cannot make a table in the namespace (exit %d: "
                                         "no nf_tables in this kernel, or not allowed)", rc);
    n->up = rc == 0;
}

const char *kc_netns_host(int id, char *buf, size_t cap)
{
    snprintf(buf, cap, "127.0.0.%d", id + 1);
    return buf;
}

/* "{ 127.0.0.a, 127.0.0.b }" of broker ids ids[0..n) into buf. */
static void set_of(const int *ids, int n, char *buf, size_t cap)
{
    char host[20];
    size_t off = (size_t)snprintf(buf, cap, "{");
    for (int i = 0; i < n && off < cap; i++)
        off += (size_t)snprintf(buf + off, cap - off, "%s %s", i ? "," : "",
                                kc_netns_host(ids[i], host, sizeof(host)));
    if (off < cap)
        snprintf(buf + off, cap - off, " }");
}

int kc_netns_cut(const int *a, int na, const int *b, int nb)
{
    char sa[128], sb[128], script[1024];
    set_of(a, na, sa, sizeof(sa));
    set_of(b, nb, sb, sizeof(sb));
    snprintf(script, sizeof(script),
             "flush chain " TABLE " out\n"
             "add rule " TABLE " out ip saddr %s ip daddr %s drop\n"
             "add rule " TABLE " out ip saddr %s ip daddr %s drop\n",
             sa, sb, sb, sa);
    return nft(script);
}

int kc_netns_heal(void)
{
    return nft("flush chain " TABLE " out\n");
}
