/*
 * zks.c - start, stop, pause and restart a local ZooKeeper for demos and tests
 * (clu_zks.h).
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
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "clu_zks.h"
#include "kc_common.h"

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

static int write_config(const struct clu_zks *s)
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
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)port),
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

static pid_t spawn(const struct clu_zks *s)
{
    char cfg[300], log[300], cp[128];
    snprintf(cfg, sizeof(cfg), "%s/zoo.cfg", s->dir);
    snprintf(log, sizeof(log), "%s/zookeeper.log", s->dir);
    snprintf(cp, sizeof(cp), "%s%s", ZK_JAR, access(NOP_JAR, R_OK) == 0 ? ":" NOP_JAR : "");
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid != 0)
        return pid;
    /* The child. It dies with its parent, however the parent ends (a failed assertion, a
     * sanitizer's abort): no JVM outlives the test or demo that started it. (The signal
     * comes when the forking THREAD ends: start the server from a thread that lives as
     * long as the server should.) */
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != parent)
        _exit(125);
    /* Its output to the log; nothing else of the parent's survives exec (descriptors are
     * CLOEXEC here). */
    int fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd >= 0 && (dup2(fd, 1) < 0 || dup2(fd, 2) < 0))
        _exit(126);
    execlp("java", "java", "-Xmx256m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
           "-Dzookeeper.admin.enableServer=false", "-cp", cp,
           "org.apache.zookeeper.server.ZooKeeperServerMain", cfg, (char *)NULL);
    _exit(127);
}

int clu_zks_start(struct clu_zks *s)
{
    if (access(ZK_JAR, R_OK) != 0)
        return -ENOENT; /* scripts/deps.sh test installs Debian's zookeeper */
    if (!s->dir[0]) {
        int rc = kc_mkdtemp("kc-zookeeper-", s->dir, sizeof(s->dir));
        if (rc != 0)
            return rc;
        if ((s->port = free_port()) < 0)
            return s->port;
        snprintf(s->hosts, sizeof(s->hosts), "127.0.0.1:%d", s->port);
        if ((rc = write_config(s)) != 0)
            return rc;
    }
    int64_t t0 = kc_mono_ms();
    s->pid = spawn(s);
    if (s->pid < 0)
        return -errno;
    while (kc_mono_ms() - t0 < CLU_ZKS_START_TIMEOUT_MS) {
        int status;
        if (waitpid(s->pid, &status, WNOHANG) == s->pid) {
            kc_log_error("zookeeper exited at start (status %d): see %s/zookeeper.log", status,
                         s->dir);
            s->pid = 0;
            return -EIO;
        }
        if (ruok(s->port)) {
            s->last_start_ms = kc_mono_ms() - t0;
            return 0;
        }
        kc_sleep_ms(50);
    }
    clu_zks_stop(s);
    return -ETIMEDOUT;
}

void clu_zks_stop(struct clu_zks *s)
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

void clu_zks_pause(struct clu_zks *s, bool pause)
{
    if (s->pid > 0)
        (void)kill(s->pid, pause ? SIGSTOP : SIGCONT);
}

void clu_zks_destroy(struct clu_zks *s)
{
    clu_zks_stop(s);
    if (s->dir[0]) {
        int rc = kc_rm_rf(s->dir);
        if (rc != 0)
            kc_log_warn("zookeeper: removing %s: %s", s->dir, kc_strerror(rc));
    }
    memset(s, 0, sizeof(*s));
}

const char *clu_zks_connect(const struct clu_zks *s, const char *chroot, char *buf, size_t cap)
{
    snprintf(buf, cap, "%s%s%s", s->hosts, chroot ? "/" : "", chroot ? chroot : "");
    return buf;
}

static void quiet(zhandle_t *zh, int type, int state, const char *path, void *ctx)
{
    (void)zh, (void)type, (void)state, (void)path, (void)ctx;
}

/* One takeover: connect with the session's id and password. 1 if it attached (and was
 * closed, ending the session), 0 if the server says the session is gone, or -errno. */
static int take_over(const struct clu_zks *s, const clientid_t *id)
{
    zhandle_t *zh = zookeeper_init(s->hosts, quiet, 10000, id, NULL, 0);
    if (!zh)
        return -errno;
    int rc = -ETIMEDOUT;
    for (int i = 0; i < 2000 && rc == -ETIMEDOUT; i++) {
        int st = zoo_state(zh);
        if (st == ZOO_CONNECTED_STATE)
            rc = 1;
        else if (st == ZOO_EXPIRED_SESSION_STATE)
            rc = 0;
        else
            kc_sleep_ms(5);
    }
    (void)zookeeper_close(zh); /* attached: closing ends the session on the server */
    return rc;
}

/*
 * The owner may win the session back between our attach and our close (it reconnects,
 * and the server moves the session to it again), and then our close ends nothing. So:
 * take it over until the server answers that the session has expired.
 */
int clu_zks_expire(const struct clu_zks *s, int64_t session_id, const char passwd[16])
{
    clientid_t id = {.client_id = session_id};
    memcpy(id.passwd, passwd, sizeof(id.passwd));
    for (int tries = 0; tries < 20; tries++) {
        int rc = take_over(s, &id);
        if (rc <= 0)
            return rc == 0 && tries > 0 ? 0 : rc == 0 ? -ENOENT : rc;
    }
    return -EBUSY;
}
