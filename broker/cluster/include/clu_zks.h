/*
 * zk_server.h - a real ZooKeeper server for the tests: Debian's zookeeper package (Java),
 * standalone, on an ephemeral 127.0.0.1 port, with its data in a temporary directory.
 *
 *   clu_zks_start     write zoo.cfg, fork+exec java (ZooKeeperServerMain), wait for "imok"
 *                 (the ruok four-letter word) - bounded (CLU_ZKS_START_TIMEOUT_MS)
 *   clu_zks_stop      SIGTERM, wait; SIGKILL if it lingers. The data directory stays, so
 *   clu_zks_start     again is a RESTART: same port, same data, sessions still known
 *   clu_zks_pause     SIGSTOP / SIGCONT: a server that hangs without closing its sockets
 *   clu_zks_destroy   stop, and remove the directory
 *
 * The server is configured for tests: tickTime 100 ms (session timeouts from 200 ms),
 * forceSync=no (the tests exercise ZooKeeper's semantics, not its disk), small log
 * preallocation. Its output goes to <dir>/zookeeper.log.
 *
 * Processes: clu_zks_start forks one child (the JVM) and every other call acts on that pid
 * only. The child is killed if the thread that started it ends (PR_SET_PDEATHSIG), so a
 * test that aborts leaves no server behind. Not thread-safe; one struct per server.
 */
#ifndef CLU_ZKS_H
#define CLU_ZKS_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#define CLU_ZKS_START_TIMEOUT_MS 60000

struct clu_zks {
    pid_t pid;
    int port;
    char dir[256];
    char hosts[64];        /* "127.0.0.1:<port>" */
    int64_t last_start_ms; /* how long the last start took, to "imok" */
};

/* 0, or -errno (-ENOENT: no zookeeper.jar - install Debian's zookeeper; -EIO: it exited;
 * -ETIMEDOUT). Zero the struct before the first call; a second call restarts a stopped
 * server on the same port and data. */
int clu_zks_start(struct clu_zks *s);
void clu_zks_stop(struct clu_zks *s);
void clu_zks_pause(struct clu_zks *s, bool pause);
void clu_zks_destroy(struct clu_zks *s);

/* "127.0.0.1:<port>/<chroot>" in buf (chroot without the leading slash; NULL: none). */
const char *clu_zks_connect(const struct clu_zks *s, const char *chroot, char *buf, size_t cap);

/* Expire a client's session at once, the way ZooKeeper's own tests do: attach a second
 * client to the same session (id and password), then close it. The server ends the
 * session; its first owner learns it when it next talks to the server. 0 once the server
 * confirms the session is gone; -ENOENT if it was gone already; -EBUSY; -errno. */
int clu_zks_expire(const struct clu_zks *s, int64_t session_id, const char passwd[16]);

#endif
