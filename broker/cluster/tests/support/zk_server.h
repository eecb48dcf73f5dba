/*
 * zk_server.h - a real ZooKeeper server for the tests: Debian's zookeeper package (Java),
 * standalone, on an ephemeral 127.0.0.1 port, with its data in a temporary directory.
 *
 *   zkt_start     write zoo.cfg, fork+exec java (ZooKeeperServerMain), wait for "imok"
 *                 (the ruok four-letter word) - bounded (ZKT_START_TIMEOUT_MS)
 *   zkt_stop      SIGTERM, wait; SIGKILL if it lingers. The data directory stays, so
 *   zkt_start     again is a RESTART: same port, same data, sessions still known
 *   zkt_pause     SIGSTOP / SIGCONT: a server that hangs without closing its sockets
 *   zkt_destroy   stop, and remove the directory
 *
 * The server is configured for tests: tickTime 100 ms (session timeouts from 200 ms),
 * forceSync=no (the tests exercise ZooKeeper's semantics, not its disk), small log
 * preallocation. Its output goes to <dir>/zookeeper.log.
 */
#ifndef ZK_SERVER_H
#define ZK_SERVER_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#define ZKT_START_TIMEOUT_MS 60000

struct zkt_server {
    pid_t pid;
    int port;
    char dir[256];
    char hosts[64]; /* "127.0.0.1:<port>" */
    int64_t last_start_ms; /* how long the last start took, to "imok" */
};

/* 0, or -errno (no java, no jar, timeout). A second call restarts a stopped server. */
int zkt_start(struct zkt_server *s);
void zkt_stop(struct zkt_server *s);
void zkt_pause(struct zkt_server *s, bool pause);
void zkt_destroy(struct zkt_server *s);

/* "127.0.0.1:<port>/<chroot>" in buf (chroot without the leading slash; NULL: none). */
const char *zkt_connect(const struct zkt_server *s, const char *chroot, char *buf, size_t cap);

/* Expire a client's session at once, the way ZooKeeper's own tests do: open a second
 * session with the same id and password, then close it. The server ends the session;
 * its first owner learns it when it next talks to the server. 0 or -errno. */
int zkt_expire(const struct zkt_server *s, int64_t session_id, const char passwd[16]);

#endif
