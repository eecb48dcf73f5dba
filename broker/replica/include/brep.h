/*
 * brep.h - the broker as a member of a cluster: its registration in ZooKeeper, its view of
 * the cluster published to the network loops, its replica logs, and its controlled
 * shutdown. (The lesson: ../README.md, "A cluster"; the metadata layer underneath is
 * ../cluster/, the partition state machine ../../replication/.)
 *
 *   main.c                      broker/replica (this)                  broker/cluster
 *   ------                      ---------------------                  --------------
 *   brk_server_create (bound)
 *   brep_open ───────────────>  clu_open: register, with the real port ─> ZooKeeper
 *                               attach to the core (brk_cluster.h)
 *   brk_server_open (storage)
 *   brep_start ──────────────>  the member thread: clu_poll the notes,
 *                               keep the tables, create / delete the
 *                               local logs, publish a new view
 *   brk_server_run ... SIGTERM ─> on_stop: controlled shutdown
 *   brep_close ──────────────>  stop the thread, clu_close (the registration goes at once)
 *   brk_server_destroy
 *
 * Without zookeeper.connect main.c calls none of this: the broker runs alone.
 */
#ifndef BREP_H
#define BREP_H

struct brep;
struct brk_server;

/*
 * Join the cluster of brk_server_config(srv)->cluster: connect (BLOCKS up to
 * zookeeper.connection.timeout.ms), register broker.id with the broker's advertised
 * endpoints (the real ports: call it after brk_server_create), and attach to the core,
 * which answers as a cluster member from now on (no topic until the member thread runs).
 * 0 and *out; -EEXIST (broker.id is registered by another live broker); -ETIMEDOUT (no
 * ZooKeeper); -EINVAL (a setting), -ENOMEM, -EIO. err[cap] says it in words.
 */
int brep_open(struct brk_server *srv, struct brep **out, char *err, size_t cap);
/* Start the member thread (after brk_server_open: it creates logs). 0 or -errno. */
int brep_start(struct brep *m);
/* Stop the thread, leave the cluster (the session closes: the registration goes at once),
 * detach from the core. After brk_server_run, before brk_server_destroy. NULL: no-op. */
void brep_close(struct brep *m);

#endif
