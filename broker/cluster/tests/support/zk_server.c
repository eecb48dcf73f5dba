/*
 * zk_server.c - start, stop, pause and restart a real ZooKeeper for the tests
 * (zk_server.h).
 */
#define THREADED
#include <zookeeper/zookeeper.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kc_common.h"
#include "kc_test.h"
#include "zk_server.h"

#define ZK_JAR  "/usr/share/java/zookeeper.jar"
#define NOP_JAR "/usr/share/java/slf4j-nop.jar"

static int free_port(void)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(a);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    int rc = bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
                     getsockname(fd, (struct sockaddr *)&a, &len) == 0
                 ? ntohs(a.sin_port)
                 : -errno;
    close(fd);
    return rc;
}

static int write_config(const struct zkt_server *s)
{
    char path[300];
    snprintf(path, sizeof(path), "%s/zoo.cfg", s->dir);
    FILE *f = fopen(path, "w");
    if (!f)
        return -errno;
    fprintf(f,
            "tickTime=100\n"
            "dataDir=%s/data\n"
            "clientPort=%d\n"
            "clientPortAddress=127.0.0.1\n"
            "minSessionTimeout=200\n"
            "maxSessionTimeout=60000\n"
            "maxClientCnxns=0\n"
            "forceSync=no\n"
            "preAllocSize=1024\n"
            "4lw.commands.whitelist=ruok,srvr\n"
            "admin.enableServer=false\n",
            s->dir, s->port);
    return fclose(f) == 0 ? 0 : -errno;
}

/* "ruok" -> "imok": the server answers requests. */
static bool ruok(int port)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    char buf[8] = "";
    bool ok = false;
    if (fd < 0)
        return false;
    struct timeval tv = {.tv_sec = 1};
    (void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    if (connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0 && write(fd, "ruok", 4) == 4)
        ok = read(fd, buf, 4) == 4 && memcmp(buf, "imok", 4) == 0;
    close(fd);
    return ok;
}

static pid_t spawn(const struct zkt_server *s)
{
    char cfg[300], log[300], cp[128];
    snprintf(cfg, sizeof(cfg), "%s/zoo.cfg", s->dir);
    snprintf(log, sizeof(log), "%s/zookeeper.log", s->dir);
    snprintf(cp, sizeof(cp), "%s%s", ZK_JAR, access(NOP_JAR, R_OK) == 0 ? ":" NOP_JAR : "");
    pid_t pid = fork();
    if (pid != 0)
        return pid;
    int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd >= 0) {
        dup2(fd, 1);
        dup2(fd, 2);
    }
    execlp("java", "java", "-Xmx256m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
           "-Dzookeeper.admin.enableServer=false", "-cp", cp,
           "org.apache.zookeeper.server.ZooKeeperServerMain", cfg, (char *)NULL);
    _exit(127);
}

int zkt_start(struct zkt_server *s)
{
    if (access(ZK_JAR, R_OK) != 0)
        return -ENOENT; /* scripts/deps.sh test installs Debian's zookeeper */
    if (!s->dir[0]) {
        char *dir = kc_test_tmpdir();
        strlcpy(s->dir, dir, sizeof(s->dir));
        free(dir);
        if ((s->port = free_port()) < 0)
            return s->port;
        snprintf(s->hosts, sizeof(s->hosts), "127.0.0.1:%d", s->port);
        int rc = write_config(s);
        if (rc != 0)
            return rc;
    }
    int64_t t0 = kc_mono_ms();
    s->pid = spawn(s);
    if (s->pid < 0)
        return -errno;
    while (kc_mono_ms() - t0 < ZKT_START_TIMEOUT_MS) {
        int status;
        if (waitpid(s->pid, &status, WNOHANG) == s->pid) {
            fprintf(stderr, "zookeeper exited at start (status %d): see %s/zookeeper.log\n",
                    status, s->dir);
            s->pid = 0;
            return -EIO;
        }
        if (ruok(s->port)) {
            s->last_start_ms = kc_mono_ms() - t0;
            return 0;
        }
        kc_sleep_ms(50);
    }
    zkt_stop(s);
    return -ETIMEDOUT;
}

void zkt_stop(struct zkt_server *s)
{
    if (s->pid <= 0)
        return;
    (void)kill(s->pid, SIGCONT); /* a paused server cannot handle SIGTERM */
    (void)kill(s->pid, SIGTERM);
    for (int i = 0; i < 200; i++) {
        if (waitpid(s->pid, NULL, WNOHANG) == s->pid) {
            s->pid = 0;
            return;
        }
        kc_sleep_ms(25);
    }
    (void)kill(s->pid, SIGKILL);
    (void)waitpid(s->pid, NULL, 0);
    s->pid = 0;
}

void zkt_pause(struct zkt_server *s, bool pause)
{
    if (s->pid > 0)
        (void)kill(s->pid, pause ? SIGSTOP : SIGCONT);
}

void zkt_destroy(struct zkt_server *s)
{
    zkt_stop(s);
    if (s->dir[0]) {
        char *dir = strdup(s->dir);
        kc_test_rmdir(dir);
    }
    memset(s, 0, sizeof(*s));
}

const char *zkt_connect(const struct zkt_server *s, const char *chroot, char *buf, size_t cap)
{
    snprintf(buf, cap, "%s%s%s", s->hosts, chroot ? "/" : "", chroot ? chroot : "");
    return buf;
}

static void quiet(zhandle_t *zh, int type, int state, const char *path, void *ctx)
{
    (void)zh, (void)type, (void)state, (void)path, (void)ctx;
}

int zkt_expire(const struct zkt_server *s, int64_t session_id, const char passwd[16])
{
    clientid_t id = {.client_id = session_id};
    memcpy(id.passwd, passwd, sizeof(id.passwd));
    zhandle_t *zh = zookeeper_init(s->hosts, quiet, 10000, &id, NULL, 0);
    if (!zh)
        return -errno;
    int rc = -ETIMEDOUT;
    for (int i = 0; i < 1000; i++) {
        int st = zoo_state(zh);
        if (st == ZOO_CONNECTED_STATE) {
            rc = 0;
            break;
        }
        if (st == ZOO_EXPIRED_SESSION_STATE) {
            rc = -ECONNRESET;
            break;
        }
        kc_sleep_ms(5);
    }
    zookeeper_close(zh); /* closing the taken-over session ends it on the server */
    return rc;
}
