/*
 * brk.h - the broker process: storage, listener, network loops, clean stop.
 *
 *   main thread        signalfd + stop eventfd; runs retention every
 *                      log.retention.check.interval.ms; on SIGINT/SIGTERM drains and stops
 *   brk-net-0..N-1     one threadCore event loop each (num.network.threads, default one per
 *                      CPU); loop 0 also accepts and deals connections round-robin
 *   alog-flusher       appendLog's flusher: fsyncs, and answers durability waits
 *
 * Life of the process: brk_signals_block (before any thread exists, so every thread
 * inherits the mask) -> brk_server_create (recover storage, replay group offsets, bind) ->
 * brk_server_run (until a signal or brk_server_stop) -> brk_server_destroy (close logs
 * cleanly: flush, checkpoints, clean-shutdown markers).
 */
#ifndef BRK_H
#define BRK_H

#include <signal.h>

#include "brk_config.h"

struct brk_server;

/* Block SIGINT and SIGTERM in the calling thread (so brk_server_run can take them from a
 * signalfd) and ignore SIGPIPE (a client that hangs up must not kill the broker). Call it
 * before any other thread is started. 0 or -errno. */
int brk_signals_block(void);

/*
 * Raise RLIMIT_NOFILE, open the flusher and every topic (recovering after a crash), replay
 * __consumer_offsets, bind and listen (port 0: an ephemeral port, see brk_server_port).
 * *out written only on success. Errors: -errno (bind: -EADDRINUSE ...), KC_* from storage.
 */
int brk_server_create(struct brk_server **out, const struct brk_config *cfg);
/* Serve until SIGINT/SIGTERM or brk_server_stop, then drain (bounded by shutdown.timeout.ms)
 * and stop the loops. Call from the thread that called brk_signals_block. 0 or -errno. */
int brk_server_run(struct brk_server *srv);
/* Ask brk_server_run to return: any thread, async-signal-safe. */
void brk_server_stop(struct brk_server *srv);
/* Close storage cleanly and free. Returns the first storage error (0 if clean). */
int brk_server_destroy(struct brk_server *srv);

/* The address clients reach this broker at: advertised.listeners if set, else the bound
 * host (this host's name when bound to every interface) and the real port (after --port
 * 0). Any thread. */
const char *brk_server_host(const struct brk_server *srv);
int brk_server_port(const struct brk_server *srv);
/* The port the listener is bound to (the real one after --port 0). Any thread. */
int brk_server_bound_port(const struct brk_server *srv);

/* What brk_server_create found and did, for the start-up lines. */
struct brk_server_info {
    int topics;
    int partitions;
    int recovered;        /* partitions that ran crash recovery */
    int64_t offsets;      /* committed group offsets replayed */
    int loops;
};
void brk_server_info(const struct brk_server *srv, struct brk_server_info *info);

#endif
