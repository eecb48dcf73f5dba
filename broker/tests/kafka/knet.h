/*
 * knet.h - a network partition between brokers that share one machine, for the cluster
 * tests: a private network namespace, each broker on an address of its own, and nftables
 * rules that drop what one address sends another.
 *
 *   the test process: unshare(CLONE_NEWNET) before anything starts (a user namespace too
 *   when plain root may not), `lo` brought up; everything it starts lives in there
 *
 *            ZooKeeper, the test's clients           127.0.0.1  (never cut)
 *            broker 1 ─ 127.0.0.2                     broker id N listens on 127.0.0.(N+1)
 *            broker 2 ─ 127.0.0.3                     and fetches FROM that address (kfr's
 *            broker 3 ─ 127.0.0.4                     source_host = its listener's)
 *
 *   knet_cut({1}, {2, 3})            table inet kc_netpart, chain out (hook output):
 *   (broker 1 from 2 and 3)            ip saddr 127.0.0.2 ip daddr {127.0.0.3, 127.0.0.4} drop
 *                                      ip saddr {127.0.0.3, 127.0.0.4} ip daddr 127.0.0.2 drop
 *   knet_heal()                      the chain flushed
 *
 * Why this split of addresses: on Linux every 127/8 address is the host's, and a socket
 * that does not bind takes 127.0.0.1 as its source for any of them. So ZooKeeper and the
 * test's own connections (librdkafka's, raw frames, /metrics) come from 127.0.0.1, which no
 * rule names: a cut broker keeps its ZooKeeper session and its clients, and loses only
 * its peers - the fault Kafka's ISR and acks=all must survive. The rules DROP (no RST, no
 * ICMP): an established connection just goes silent, as behind a broken switch, and a
 * new one times out.
 *
 * Nothing here is needed outside the test: a machine whose kernel or container refuses a
 * network namespace or nf_tables, or that lacks the nft program (Debian's nftables,
 * scripts/deps.sh test), SKIPS the tests that need it, saying why (knet_enter's reason).
 * knet_enter must run first in main(), while the process has one thread: ZooKeeper and
 * the brokers are started later, inside.
 */
#ifndef KNET_H
#define KNET_H

#include <net/if.h>
#include <sched.h>
#include <sys/ioctl.h>

#include "kt.h"

#define KNET_TABLE "inet kc_netpart"

struct knet {
    bool up;        /* in a namespace of our own, nft works */
    char why[300];  /* if not: the reason, for the skip message */
};

/* "127.0.0.<id + 1>": where broker id listens (static buffer, four in rotation). */
KT_FN const char *knet_host(int id)
{
    static char bufs[4][20];
    static int next;
    char *p = bufs[next++ % 4];
    snprintf(p, sizeof(bufs[0]), "127.0.0.%d", id + 1);
    return p;
}

/* Write s to path (a /proc file of this process): 0 or -errno. */
static int knet_write(const char *path, const char *s)
{
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    ssize_t n = write(fd, s, strlen(s));
    int rc = n == (ssize_t)strlen(s) ? 0 : n < 0 ? -errno : -EIO;
    close(fd);
    return rc;
}

/* A network namespace of our own: as root, CLONE_NEWNET alone; if that is refused, inside
 * a new user namespace where we are root (`unshare -rn`). 0 or -errno. */
static int knet_unshare(void)
{
    uid_t uid = getuid();
    gid_t gid = getgid();
    if (unshare(CLONE_NEWNET) == 0)
        return 0;
    if (unshare(CLONE_NEWUSER | CLONE_NEWNET) != 0)
        return -errno;
    char map[64];
    int rc = knet_write("/proc/self/setgroups", "deny");
    snprintf(map, sizeof(map), "0 %u 1\n", (unsigned)uid);
    if (rc == 0)
        rc = knet_write("/proc/self/uid_map", map);
    snprintf(map, sizeof(map), "0 %u 1\n", (unsigned)gid);
    if (rc == 0)
        rc = knet_write("/proc/self/gid_map", map);
    return rc;
}

/* A new namespace's loopback starts down. 0 or -errno. */
static int knet_lo_up(void)
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

/* Run `nft -f -` with script on its stdin (its output into ours, for the log): its exit
 * status, 127 when there is no nft program, -1 if it did not finish within 10 s. */
static int knet_nft(const char *script)
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
        execl("/usr/sbin/nft", "nft", "-f", "-", (char *)NULL); /* root's PATH may lack it */
        _exit(127);
    }
    close(in[0]);
    if (pid < 0) {
        close(in[1]);
        return -1;
    }
    ssize_t n = write(in[1], script, strlen(script));
    close(in[1]);
    struct kb_broker child = {.pid = pid};
    int status = kb_wait_exit(&child, 10000);
    if (status == -1) {
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        return -1;
    }
    if (n != (ssize_t)strlen(script))
        return -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* Enter a namespace of our own with its loopback up and an empty kc_netpart table. Call
 * it first in main(): on failure n->why says why (the tests then skip). */
KT_FN void knet_enter(struct knet *n)
{
    int rc;
    n->up = false;
    if ((rc = knet_unshare()) != 0) {
        snprintf(n->why, sizeof(n->why), "no network namespace of our own (unshare: %s)",
                 kc_strerror(rc));
        return;
    }
    if ((rc = knet_lo_up()) != 0) {
        snprintf(n->why, sizeof(n->why), "cannot bring up lo in the new namespace (%s)",
                 kc_strerror(rc));
        return;
    }
    rc = knet_nft("table " KNET_TABLE " {\n"
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

#define KNET_REQUIRE(n)                                                                    \
    do {                                                                                   \
        if (!(n)->up) {                                                                    \
            printf("# skipped: %s\n", (n)->why);                                           \
            skip();                                                                        \
        }                                                                                  \
    } while (0)

/* "{ 127.0.0.a, 127.0.0.b }" of broker ids ids[0..n) into buf. */
static void knet_set(const int *ids, int n, char *buf, size_t cap)
{
    size_t off = (size_t)snprintf(buf, cap, "{");
    for (int i = 0; i < n && off < cap; i++)
        off += (size_t)snprintf(buf + off, cap - off, "%s %s", i ? "," : "", knet_host(ids[i]));
    if (off < cap)
        snprintf(buf + off, cap - off, " }");
}

/* Drop every packet between brokers a[0..na) and brokers b[0..nb), both ways (what was
 * cut before is healed first). Fails the test if nft refuses. */
KT_FN void knet_cut(const int *a, int na, const int *b, int nb)
{
    char sa[128], sb[128], script[1024];
    knet_set(a, na, sa, sizeof(sa));
    knet_set(b, nb, sb, sizeof(sb));
    snprintf(script, sizeof(script),
             "flush chain " KNET_TABLE " out\n"
             "add rule " KNET_TABLE " out ip saddr %s ip daddr %s drop\n"
             "add rule " KNET_TABLE " out ip saddr %s ip daddr %s drop\n",
             sa, sb, sb, sa);
    assert_int_equal(knet_nft(script), 0);
}

/* Every cut healed. */
KT_FN void knet_heal(void)
{
    assert_int_equal(knet_nft("flush chain " KNET_TABLE " out\n"), 0);
}

#endif
