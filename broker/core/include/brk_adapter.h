/*
 * brk_adapter.h - the seam: what a protocol adapter ("a door") gives the core, and what it
 * gets back. Read this file first; everything an adapter may touch is here or in
 * brk_service.h (the storage-facing services).
 *
 * The core owns the process, the event loops, the listening sockets, the connections and
 * their backpressure, the ordered queue of answers, and parked requests. It names no
 * protocol. An adapter is a table of functions registered with brk_server_add_adapter:
 *
 *              +------------------------ core ------------------------+
 *   accept --> | conn: read bytes -> claim? -> frame -> serve -> answers | --> socket
 *              |                      |          |        |             |
 *              +----------------------|----------|--------|-------------+
 *                                     v          v        v
 *                             adapter.claim  .frame   .serve  (native, Kafka, HTTP)
 *
 *   claim   first bytes of a connection on a shared listener: "mine", "not mine", or
 *           "need more" (the native protocol's frames start with a magic that is no Kafka
 *           api_key: byte 4 tells them apart). An adapter with a listener of its own (HTTP)
 *           claims every connection of that listener.
 *   frame   is a whole request at the head of the input? (need more / its length / unusable)
 *   serve   answer one whole request: at once (brk_resp_writer, brk_resp_file) or later
 *           (a parked request, below). Never block: the loop serves every other
 *           connection it owns meanwhile.
 *
 * Threads. Each connection belongs to one network loop (a threadCore event loop on its own
 * thread); every function below, and every adapter callback, runs on that loop's thread,
 * except brk_park_resume and brk_park_settle, which may be called from any thread.
 *
 * Order. Requests on a connection are served one after another, in arrival order, and the
 * answers leave in the same order, even when a later answer is ready first: a request that
 * must wait reserves its place (brk_park_start), later answers queue behind it, and
 * pipelined acks=all produces ride on one fsync instead of waiting for one each.
 *
 * Parked requests. A request that waits (a produce for its fsync, a long-poll for data, a
 * JoinGroup for the rest of its group) is a struct brk_park inside the adapter's own request
 * memory. Whatever ends it - the thing it waited for, its deadline, the broker draining, the
 * connection closing - ends it through one path, on the connection's loop:
 *
 *     any thread: brk_park_resume(p, why)  (first caller wins; the others do nothing)
 *         |  posted to the connection's loop
 *         v
 *     finish: timer off -> the core's watches off -> ops->withdraw(p) -> ops->done(p, why)
 *                                                                          |
 *                      BRK_PARK_CLOSED: free only (the connection is gone) |
 *                      otherwise: write the answer with brk_park_writer    v
 *                                                          the slot is released in order
 *
 * A park may also hold things that cannot be withdrawn (an fsync on the flusher thread):
 * brk_park_hold counts them, and each one reports with brk_park_settle; the park finishes
 * only once every hold has settled, so its memory is never freed under a callback that is
 * still coming. Like libuv's uv_close: one close path, and the callback runs once
 * everything that could still touch the memory has let go of it.
 *
 * Read next: brk_service.h, then core/src/conn.c (a connection's life) and
 * core/src/park.c; native/serve/src/ is the smallest complete adapter.
 */
#ifndef BRK_ADAPTER_H
#define BRK_ADAPTER_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/queue.h>

#include "alog.h"
#include "brk_config.h"
#include "kc_buf.h"
#include "tcore.h"

struct brk_server;
struct brk_conn;
struct brk_slot;
struct brk_park;
struct brk_metrics_visitor;

/* ---- the adapter ------------------------------------------------------------------------- */

struct brk_adapter {
    const char *name; /* "native", "kafka", "http": in logs and in the metrics' labels */
    /*
     * On a shared listener: do the first bytes of a new connection belong to this adapter?
     * 1 yes, 0 no, KC_ENEEDMORE not enough bytes to tell. NULL: the adapter has a listener
     * of its own (brk_server_listen) and takes every connection made to it.
     */
    int (*claim)(const uint8_t *p, size_t len);
    /*
     * Is a whole request at the start of p[0..len)? 0 with *frame_len set; KC_ENEEDMORE,
     * with *frame_len the request's whole size once its size field has arrived and been
     * checked (the core then makes room for exactly that, queued.max.request.bytes
     * permitting), or left 0; any other negative: the stream is unusable. The adapter may first queue an answer (a
     * "request too large" error, say); the connection then sends what is queued and closes.
     */
    int (*frame)(struct brk_conn *c, const uint8_t *p, size_t len, size_t *frame_len);
    /*
     * Serve one whole request. p may be modified in place (a produce's batch gets its base
     * offset there) and is valid only during the call: what outlives it (a parked request)
     * keeps its own copy. 0, or negative to close the connection once what is queued has
     * been sent (Kafka's answer to a request it cannot parse).
     */
    int (*serve)(struct brk_conn *c, uint8_t *p, size_t len);
    /* The connection is being freed (every park of it has finished): free the adapter's
     * per-connection state (brk_conn_state). May be NULL. */
    void (*conn_fini)(struct brk_conn *c);
    /* Storage is open (brk_server_open): load what the adapter keeps in it. 0, or an error
     * that stops the broker's start. May be NULL. Main thread, loops running. */
    int (*start)(void *state);
    /* After the loops have stopped and every connection is gone, once storage is closed:
     * free the adapter's server-wide state (the argument of brk_server_add_adapter).
     * May be NULL. Main thread. */
    void (*stop)(void *state);
    /* Its own listener is served from brk_server_start on, while storage is still being
     * opened (an HTTP /health that says 503 during a long recovery). Its requests must then
     * not use the storage services before brk_server_phase says BRK_SERVING. */
    bool serves_while_starting;
    /* A request that has begun to arrive but is not whole after this long (or after
     * connections.max.idle.ms, if shorter) closes the connection: a client trickling bytes
     * to hold it open. 0: connections.max.idle.ms alone applies. */
    int64_t request_timeout_ms;
    /* Optional: the names of this adapter's request kinds, for metrics and logs (Kafka:
     * "Produce", "Fetch", ...). api_name(i) for 0 <= i < napis; NULL for a gap. */
    int napis;
    const char *(*api_name)(int api);
    /* Optional: the adapter's own metric families (brk_metrics.h), visited after the
     * core's on every scrape once the broker serves (the Kafka door's fetch sessions).
     * Any thread; state as given to brk_server_add_adapter. */
    void (*metrics)(void *state, const struct brk_metrics_visitor *v);
};

/* ---- the connection ---------------------------------------------------------------------- */

struct brk_server *brk_conn_server(const struct brk_conn *c);
struct tcore_loop *brk_conn_loop(const struct brk_conn *c);
/* "127.0.0.1:53124", for log lines. Valid as long as the connection. */
const char *brk_conn_peer(const struct brk_conn *c);
/* The adapter's per-connection state (NULL at first); freed by its conn_fini. */
void *brk_conn_state(const struct brk_conn *c);
void brk_conn_set_state(struct brk_conn *c, void *state);
/* The adapter's server-wide state, as given to brk_server_add_adapter. */
void *brk_conn_adapter_state(const struct brk_conn *c);
/* The broker is shutting down: new work should be refused (native: SHUTTING_DOWN). */
bool brk_conn_draining(const struct brk_conn *c);
/* Metrics: the request just served was of kind api (an index below the adapter's napis);
 * its latency is measured from the start of serve to the moment its answer is ready. Call
 * it from serve (for a parked request: brk_park_start records it instead). */
void brk_conn_set_api(struct brk_conn *c, int api);

/* ---- who is asking: security (core/src/auth.c) ------------------------------------------- */

/* The security protocol of the listener c came in on. */
enum brk_secproto brk_conn_secproto(const struct brk_conn *c);
/* "User:alice" (SASL, or a client certificate's subject), else "User:ANONYMOUS". Valid as
 * long as the connection, until it authenticates again (it cannot, here). */
const char *brk_conn_principal(const struct brk_conn *c);
/* The address a client of c's listener is told to connect to (Kafka's Metadata,
 * FindCoordinator): advertised.listeners' entry for the listener, else its bound address. */
const char *brk_conn_advertised_host(const struct brk_conn *c);
int brk_conn_advertised_port(const struct brk_conn *c);
/* The client's address as text ("127.0.0.1"), as ACLs name hosts. */
const char *brk_conn_host(const struct brk_conn *c);
/* A SASL listener whose client has not authenticated yet: serve only the exchange (and
 * what a client must ask before it, Kafka's ApiVersions); refuse the rest. */
bool brk_conn_must_authenticate(const struct brk_conn *c);
/* The answer to a failed authentication is queued: send it, read nothing more, and close
 * after connection.failed.authentication.delay.ms. */
void brk_conn_close_failed_auth(struct brk_conn *c);

/* The SASL mechanisms enabled (sasl.enabled.mechanisms), into names[0..cap); their count. */
int brk_sasl_mechanisms(const struct brk_conn *c, const char **names, int cap);
/* Start c's one exchange with mechanism mech[0..len). 0; KC_EUNSUPPORTED (not a mechanism
 * enabled here: Kafka's UNSUPPORTED_SASL_MECHANISM); -EPROTO (not a SASL listener, or an
 * exchange already started or done: ILLEGAL_SASL_STATE); -ENOMEM. */
int brk_sasl_begin(struct brk_conn *c, const char *mech, size_t len);
/* Feed the client's next message. 0 (continue: send *out), 1 (done: send *out, possibly
 * empty; c is authenticated and has its principal), < 0 failed: answer with
 * *client_message (Kafka's generic text, never whether the user exists), then
 * brk_conn_close_failed_auth; -EPROTO for a step without an exchange (ILLEGAL_SASL_STATE).
 * *out stays valid until the next call. PLAIN costs one PBKDF2 (about 1 ms here). */
int brk_sasl_step(struct brk_conn *c, const uint8_t *in, size_t len, const uint8_t **out,
                  size_t *out_len, const char **client_message);

/* May c's principal do op (enum sec_acl_op) on the resource (enum sec_resource_type,
 * name[0..len))? Always true without authorizer.class.name. A denial is logged. Any
 * thread that owns c. */
bool brk_authorize(const struct brk_conn *c, int op, int type, const char *name, size_t len);
/* The same decision, without the log line: for filtering a list, where a denial is the
 * expected case (Metadata hiding topics; trying CLUSTER before TOPIC), as Kafka's
 * filterByAuthorized and logIfDenied = false. */
bool brk_authorize_quiet(const struct brk_conn *c, int op, int type, const char *name,
                         size_t len);

/* ---- answers, in order ------------------------------------------------------------------- */

/*
 * Where the next answer's bytes go. Write a whole answer (or the part before a file range)
 * into it; the writer's error is checked by the core after serve returns (and closes the
 * connection: half an answer must never reach a client). Valid until the next brk_resp_*
 * or brk_park_start call.
 */
struct kc_writer *brk_resp_writer(struct brk_conn *c);
/*
 * Append a file range after the bytes written so far (sent with sendfile). Takes over the
 * slice's segment reference: it is released once the range is sent or the connection
 * dies, whatever this returns. 0, or -ENOMEM (the connection will be closed).
 */
int brk_resp_file(struct brk_conn *c, struct alog_slice *slice);

/* ---- parked requests --------------------------------------------------------------------- */

enum brk_park_why {
    BRK_PARK_RESUMED,  /* what it waited for happened (data, fsync, a rebalance's end) */
    BRK_PARK_TIMEOUT,  /* its deadline passed */
    BRK_PARK_SHUTDOWN, /* the broker is draining: answer now with what there is */
    BRK_PARK_CLOSED,   /* the connection is gone: free, never answer */
};

struct brk_park_ops {
    const char *kind; /* "produce", "commit", "fetch", "join", ...: metrics and logs */
    /*
     * Withdraw p from whatever else it waits on (a coordinator's waiter list, say), so that
     * nothing calls brk_park_resume(p) after this returns. Called once per finish, on the
     * loop, before done. May be NULL. (Watches added with brk_park_watch and the deadline
     * are withdrawn by the core itself.)
     */
    void (*withdraw)(struct brk_park *p);
    /*
     * The park ended. why == BRK_PARK_CLOSED: only free the request (no writer, no slot).
     * Otherwise write the whole answer with brk_park_writer / brk_park_file (nothing, for
     * a request that gets no answer), then free. Return 0, or 1 after brk_park_again (the
     * request parked again and was NOT freed: a Kafka Fetch that has data, but less than
     * min_bytes). Once done returns 0 the core never touches p again.
     */
    int (*done)(struct brk_park *p, enum brk_park_why why);
};

/* One partition a park watches (a long-poll): fill log and offset, the rest is the core's. */
struct brk_watch {
    struct alog *log;
    int64_t offset;            /* resume the park once the log's end passes this */
    struct alog_watch aw;      /* private */
    struct brk_park *park;     /* private */
};

struct brk_park {
    /* private: the core's; the adapter reads nothing here but through the calls below */
    const struct brk_park_ops *ops;
    struct brk_conn *conn;
    struct brk_slot *slot;
    _Atomic uint32_t state;    /* bit 0: claimed; bits 1..: holds not yet settled */
    _Atomic int why;           /* enum brk_park_why: the first reason given wins */
    struct tcore_task task;    /* the finish, posted to the connection's loop */
    struct tcore_timer timer;  /* the deadline */
    struct brk_watch *watches; /* brk_park_watch */
    int nwatches;
    int api;                   /* the request kind, for metrics */
    int64_t t0_ns;             /* when the request was served, for its latency */
    LIST_ENTRY(brk_park) link; /* the connection's parks */
};

/*
 * Park the request being served: reserve its place in the answer order, and finish it
 * after deadline_ms (-1: no deadline; TIMEOUT when it passes). p is the adapter's memory
 * (usually inside its own request struct) and must stay valid until ops->done returns 0.
 * 0, or -ENOMEM (nothing parked: answer now, or close).
 */
int brk_park_start(struct brk_conn *c, struct brk_park *p, const struct brk_park_ops *ops,
                   int64_t deadline_ms);
/*
 * Watch n partitions (ws[0..n), log and offset filled in, memory the adapter's, valid until
 * done): the park resumes when any of their ends passes its offset. Appends on any loop
 * wake it. Returns 1 if one of them is already past its offset (nothing is armed: resume
 * it yourself, or answer), else 0. On the loop, right after brk_park_start or inside done
 * after brk_park_again.
 */
int brk_park_watch(struct brk_park *p, struct brk_watch *ws, int n);
/* Something p waits for and that cannot be withdrawn is about to start (an fsync wait):
 * p will not finish before the matching brk_park_settle. On the loop. */
void brk_park_hold(struct brk_park *p);
/* That thing ended (any thread, exactly once per hold): the park resumes (why RESUMED) if
 * nothing ended it before, and finishes once every hold has settled. */
void brk_park_settle(struct brk_park *p);
/* End the park (any thread): the first call wins; later calls while it ends do nothing.
 * Never call it once the park's source was withdrawn (ops->withdraw, brk_park_watch's
 * watches and the deadline are withdrawn before done): its memory may be gone. */
void brk_park_resume(struct brk_park *p, enum brk_park_why why);
/* Inside done: park again, in the same place in the answer order, for deadline_ms more
 * (then return 1 from done). Add watches again with brk_park_watch if needed. */
void brk_park_again(struct brk_park *p, int64_t deadline_ms);

/* ---- cold logs: a loop never waits for an open (core/src/coldopen.c) ---------------------
 *
 * A store's log may be closed (appendLog's bounded cache of open files), and opening it is
 * disk work - a recovery, after a crash - that must not stall the loop. Before serve
 * touches the files of the logs its request names (an append, a read, the time index),
 * it asks, once, with every such log (NULL entries are skipped):
 *
 *   1   all of them are open and pinned until serve returns (the core unpins them). errs[i]
 *       is 0, or why logs[i] could not be opened: KC_ENOFILES (the process is out of
 *       descriptors), -ETIMEDOUT (timeout_ms passed first), KC_ECLOSED (the broker is
 *       stopping), -EAGAIN (evicted again before the replay: retriable), -EIO ...: answer
 *       that one with a retriable error and do not touch it.
 *   0   some are closed: return 0 from serve AT ONCE, having answered and changed nothing
 *       (the core keeps the request's bytes). The store's thread opens them; meanwhile
 *       the connection reads and serves nothing more (answers keep their order, and so do
 *       pipelined appends); then the core serves the same request again, same bytes,
 *       and this call returns 1. A deleted topic, the request's timeout_ms (-1: none), the
 *       broker draining end the wait too; the connection dying ends it for good.
 *  <0   -ENOMEM: nothing parked; close the connection.
 *
 * Loop thread, from serve only. A request that parks for other reasons (a long-poll) and
 * reads later must not rely on the pins: they end with serve.
 */
int brk_logs_ready(struct brk_conn *c, struct alog *const *logs, int n, int64_t timeout_ms,
                   int *errs);
/* Serving a request again (brk_logs_ready said 0 the first time): the i-th log it named
 * then, else NULL. For a door whose choice is not a function of the request's bytes alone
 * (a keyless produce's round-robin partition): choose the same log again, or the replay
 * would find another one closed. Loop thread, from serve. */
struct alog *brk_logs_replayed(const struct brk_conn *c, int i);
/* Without waiting, for a read that cannot be served again (a long-poll's, an incremental
 * fetch session's): 1 log is open and now pinned (alog_unpin it); 0 it is closed - the
 * store's thread opens it in the background, read it next time; < 0 its open failed
 * (KC_ENOFILES ...). Any thread. */
int brk_log_try_pin(struct alog *log);

/* The connection of a park (valid in done unless why == BRK_PARK_CLOSED). */
struct brk_conn *brk_park_conn(const struct brk_park *p);
/* Inside done (why != BRK_PARK_CLOSED): the answer's writer and file ranges, with the rules
 * of brk_resp_writer / brk_resp_file. */
struct kc_writer *brk_park_writer(struct brk_park *p);
int brk_park_file(struct brk_park *p, struct alog_slice *slice);

#endif
