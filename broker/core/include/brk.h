/*
 * brk.h - the broker process: storage, listeners, network loops, adapters, a clean stop.
 *
 *   main thread        signalfd + stop eventfd; upkeep (retention every
 *                      log.retention.check.interval.ms, healing logs whose fsync failed);
 *                      on SIGINT/SIGTERM drains and stops
 *   brk-net-0..N-1     one threadCore event loop each (num.network.threads, default one
 *                      per CPU); loop 0 also accepts on every listener and deals the new
 *                      connections round-robin
 *   alog-flusher       appendLog's flusher: fsyncs, and settles durability waits
 *
 * Life of the process (main.c composes it):
 *
 *   brk_signals_block        before any thread exists, so every thread inherits the mask
 *   brk_server_create        bind the main listener, make the loops (no storage yet)
 *   brk_server_add_adapter   each door: native and Kafka on the main listener (claimed by
 *   brk_server_listen          their first bytes), HTTP on a listener of its own
 *   brk_server_start         start the loops: the doors that serve while the broker starts
 *                            (HTTP: /health says 503) take connections from now on
 *   brk_server_open          recover storage, replay group offsets, start the adapters;
 *                            then the main listener is served (connections made meanwhile
 *                            waited in its backlog)
 *   brk_server_run           until a signal or brk_server_stop; then drain and stop loops
 *   brk_server_destroy       close logs cleanly (flush, checkpoints, clean-shutdown
 *                            markers), then stop the adapters
 */
#ifndef BRK_H
#define BRK_H

#include <signal.h>
#include <stdint.h>

#include "brk_adapter.h"
#include "brk_config.h"

#define BRK_VERSION "0.1.0"

struct brk_server;

/* Block SIGINT and SIGTERM in the calling thread (so brk_server_run can take them from a
 * signalfd) and ignore SIGPIPE (a client that hangs up must not kill the broker). Call it
 * before any other thread is started. 0 or -errno. */
int brk_signals_block(void);

/*
 * Raise RLIMIT_NOFILE, bind and listen on the main listener (port 0: an ephemeral port,
 * see brk_server_bound_port), create the loops (not running yet). Storage is opened later
 * (brk_server_open). *out written only on success. Errors: -errno (bind: -EADDRINUSE ...).
 */
int brk_server_create(struct brk_server **out, const struct brk_config *cfg);

/*
 * Register an adapter, with its server-wide state (brk_conn_adapter_state; its stop frees
 * it). Adapters with a claim function share the main listener, asked in the order they
 * were added; the others take the connections of their own listener. Before
 * brk_server_run; main thread. 0, or -ENOSPC (too many adapters), -EINVAL.
 */
int brk_server_add_adapter(struct brk_server *srv, const struct brk_adapter *a, void *state);
/*
 * A listener of its own for adapter a (added before): bind host:port (port 0: ephemeral).
 * *bound gets the real port. Before brk_server_run; main thread. 0 or -errno.
 */
int brk_server_listen(struct brk_server *srv, const struct brk_adapter *a, const char *host,
                      int port, int *bound);

/* Start the network loops (after every adapter is added). Only the listeners of adapters
 * with serves_while_starting are served until brk_server_open returns. 0 or -errno. */
int brk_server_start(struct brk_server *srv);
/* Open every topic (recovering after a crash), replay __consumer_offsets, call each
 * adapter's start, then serve the main listener: the broker is SERVING. Main thread, after
 * brk_server_start. 0, or the storage error (the caller destroys the server). */
int brk_server_open(struct brk_server *srv);
/* Serve until SIGINT/SIGTERM or brk_server_stop, then drain (bounded by shutdown.timeout.ms)
 * and stop the loops. Call from the thread that called brk_signals_block. 0 or -errno. */
int brk_server_run(struct brk_server *srv);
/* Ask brk_server_run to return: any thread, async-signal-safe. */
void brk_server_stop(struct brk_server *srv);
/* Stop the adapters, close storage cleanly and free. Returns the first storage error. */
int brk_server_destroy(struct brk_server *srv);

/* The port the main listener is bound to (the real one after --port 0). Any thread. */
int brk_server_bound_port(const struct brk_server *srv);
/* The configured listeners (listeners=), in order: their count, and listener i's name
 * ("SASL_SSL", "CLIENT"), security protocol and real port. */
int brk_server_nlisteners(const struct brk_server *srv);
void brk_server_listener(const struct brk_server *srv, int i, const char **name,
                         enum brk_secproto *proto, int *port);

/* Where the broker is in its life: for health checks (HTTP /health). Any thread. */
enum brk_phase { BRK_STARTING, BRK_SERVING, BRK_DRAINING, BRK_STOPPED };
enum brk_phase brk_server_phase(const struct brk_server *srv);

/* What brk_server_open found and did, for the start-up lines. */
struct brk_server_info {
    int topics;
    int partitions;
    int recovered;        /* partitions that ran crash recovery */
    int64_t offsets;      /* committed group offsets replayed */
    int loops;
    int64_t started_ms;   /* wall clock, when brk_server_create began */
};
void brk_server_info(const struct brk_server *srv, struct brk_server_info *info);

#endif
