/*
 * bench.h - what the system benchmark's load clients share: loopback sockets, one
 * pipelined request loop, and the one result line every client prints.
 *
 * The system benchmark (bench/run.sh) sets the broker beside its peers (Redis streams,
 * NATS JetStream, a raw TCP socket, librdkafka's mock cluster). A comparison is only fair
 * when both sides are driven the same way, so every request/reply client here (Redis
 * XADD, the native protocol, the raw TCP ping-pong) runs on the same loop:
 *
 *        encode()  ->  out buffer  --write-->  socket  --read-->  in buffer  ->  decode()
 *        (while fewer than `window` requests are in flight)          (one reply at a time)
 *
 *   one non-blocking socket, poll(2) for POLLIN and, while output is pending, POLLOUT;
 *   replies arrive in request order (Redis and the native protocol both promise that on
 *   one connection), so the send time of request i sits in slot i % window of a ring and
 *   the round trip of reply i is "now - ring[i % window]".
 *
 * window = 1 is a round-trip (latency) measurement; window = 1000 is pipelining.
 *
 * Every client prints one line per figure on stdout (bench_native rtt and bench_rdkafka
 * print two), which bench/run.sh parses:
 *
 *   RESULT bench=<name> records=<n> bytes=<n> seconds=<s> records_per_s=<r> mb_per_s=<r>
 *          p50_us=<x> p99_us=<x> p999_us=<x>                  (latency fields: "-" if none)
 *
 * MB is 10^6 bytes. Rules: functions return 0 or -errno / a KC_* code (kc_strerror names
 * them); nothing here keeps global state; a client's threads share nothing but their own
 * bench_pipe.
 */
#ifndef BENCH_H
#define BENCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>
#include <unistd.h>

#include "kc_buf.h"

#define BENCH_HOST             "127.0.0.1"
#define BENCH_TIMEOUT_MS       120000 /* no run may wait longer for one reply */
#define BENCH_IN_BUF_BYTES     (1u << 20)
#define BENCH_OUT_HIGH_BYTES   (256u << 10) /* stop encoding while this much is unsent */

/* ---- results ------------------------------------------------------------------------- */

struct bench_result {
    const char *bench;  /* a short name: "redis_xadd", "native_produce", ... */
    int64_t records;
    int64_t bytes;      /* payload bytes (or stream bytes) moved */
    int64_t elapsed_ns;
    int64_t *lat_ns;    /* NULL, or nlat round trips in ns (sorted in place when printed) */
    size_t nlat;
};

/* Print the RESULT line for r on f (see above). */
void bench_result_print(FILE *f, struct bench_result *r);

/* ---- sockets --------------------------------------------------------------------------- */

/* Connect to 127.0.0.1:port (TCP_NODELAY on). 0 and *fd, or -errno. Blocking socket. */
int bench_connect(int port, int *fd);
/* Listen on 127.0.0.1:port (0 = any free port). 0, *fd and *bound, or -errno. */
int bench_listen(int port, int *fd, int *bound);
int bench_set_nonblock(int fd);
/* Read exactly n bytes (blocking fd); 0, KC_ECLOSED at end of stream, or -errno. */
int bench_read_exact(int fd, void *buf, size_t n);
/* Send all n bytes (blocking fd, MSG_NOSIGNAL: a closed peer is -EPIPE); 0 or -errno. */
int bench_send_all(int fd, const void *buf, size_t n);

/* ---- the pipelined request loop -------------------------------------------------------- */

struct bench_pipe_ops {
    /* Append request number seq (0, 1, ...) to w. */
    void (*encode)(void *ctx, int64_t seq, struct kc_writer *w);
    /*
     * Look at the start of the reply bytes p[0..len): the length of one whole reply (> 0),
     * 0 when more bytes are needed, or a negative error when the peer refused the request
     * or sent garbage (the run stops with that error).
     */
    ssize_t (*decode)(void *ctx, const uint8_t *p, size_t len);
};

struct bench_pipe {
    int fd;                 /* connected; made non-blocking by the run */
    int64_t total;          /* requests to send */
    int window;             /* most requests in flight, >= 1 */
    const struct bench_pipe_ops *ops;
    void *ctx;
    int64_t *lat_ns;        /* NULL, or room for `total` round trips */
    int err;                /* out: the run's result (bench_pipe_run_many) */
};

/* calloc n pipes with every fd set to -1 (so a cleanup loop never closes fd 0); NULL. */
struct bench_pipe *bench_pipes_new(int n);
/* Close every pipe's open fd and free the array; NULL is fine. */
void bench_pipes_free(struct bench_pipe *pipes, int n);

/*
 * Send p->total requests keeping at most p->window in flight, and take every reply.
 * Returns 0, or the first error: decode's, -errno from the socket, KC_ECLOSED if the peer
 * hung up, -ETIMEDOUT when no reply came within BENCH_TIMEOUT_MS. Calling thread only.
 */
int bench_pipe_run(struct bench_pipe *p);

/*
 * Run n pipes at once, one thread each (inline when n == 1), and wait for all. Returns 0
 * or the first error among them (each pipe's own result is in its err).
 */
int bench_pipe_run_many(struct bench_pipe *pipes, int n);

/* ---- the windowed consumer (consume.c) ---------------------------------------------- */

/*
 * One connection reading a partition from offset 0 to its end and round again, with up to
 * `window` requests in flight, each for the offsets after the one before. The protocol is
 * the caller's (ops): the native consume-batch and Kafka's Fetch share this loop, so the
 * two consumers differ only in their bytes on the wire.
 *
 * A server answers with whole batches up to a byte limit, so where an answer will end is
 * only known when it arrives. Request k+1 is therefore sent at a guess: the previous
 * request's offset plus the records one answer brought last time (the stride), back to 0
 * at the log end. With batches of one size the guess is exact.
 *
 *   asked:    [0 ....... )[s ....... )[2s ...... )     (window 3, stride s learnt)
 *   answered: [0 ... s-1] [s ... 2s-1][2s ... 3s-1]    taken whole: nothing wasted
 *   a guess too short: the answer overlaps what we have; its repeated batches are
 *                      trimmed and counted as waste
 *   a guess too long:  the answer starts past what we have (a gap); it and everything
 *                      in flight is dropped, and the window restarts from the offset missing
 *
 * The first request, and every one sent with nothing in flight, asks for exactly the next
 * offset needed. Only bytes of batches that brought new records count. Every whole pass
 * over the log is checked to have taken exactly the log's records, so a wrong guess can
 * neither lose nor double-count. Window 1 is the plain blocking consumer.
 */
#define BENCH_CONSUME_WINDOW_MAX 16

struct bench_consume_ops {
    /* Send one request for the records from offset on. 0 or an error (the run stops). */
    int (*send)(void *ctx, int64_t offset);
    /*
     * Read the answer to the oldest request in flight: *records, the record batches it
     * carries (valid until the next call), and *log_end, the partition's end offset. 0, or
     * an error: the server refused (the callee says why on stderr), the connection closed,
     * a malformed answer. The run stops on any error.
     */
    int (*recv)(void *ctx, struct kc_slice *records, int64_t *log_end);
};

struct bench_consume {
    const struct bench_consume_ops *ops;
    void *ctx;
    int window;        /* 1 .. BENCH_CONSUME_WINDOW_MAX */
    int64_t ms;        /* consume for this long, then take what is in flight */
    bool verify;       /* also check every batch's CRC-32C and records */
    bool partial_tail_ok; /* may an answer end inside a batch? (Kafka's Fetch: yes, the
                           * client drops the piece; the native protocol: never) */
    /* out */
    int64_t elapsed_ns;
    int64_t records;   /* records taken (after trimming) */
    int64_t bytes;     /* bytes of the batches that brought them */
    int64_t waste;     /* bytes received again or out of sequence (wrong guesses) */
    int64_t responses;
    int64_t restarts;  /* gaps: the window drained and restarted */
    int64_t passes;    /* whole passes over the log, each checked to hold every record */
};

/*
 * Run c (ops, ctx, window, ms, verify set; the out fields are written). 0, or the ops'
 * error, KC_EEMPTY (the log is empty: nothing to measure), KC_EMALFORMED (an answer that
 * is not whole batches, or a pass that did not take exactly the log's records), -EINVAL
 * (a window out of range). Calling thread only.
 */
int bench_consume_run(struct bench_consume *c);

/* The CONSUME line run.sh keeps beside the RESULT line: how the window fared. */
void bench_consume_print(FILE *f, const char *name, const struct bench_consume *c,
                         int64_t max_bytes);

/* ---- the raw TCP ping-pong ------------------------------------------------------------ */

/*
 * Fork a child that accepts one connection on 127.0.0.1 (an ephemeral port, in *port) and
 * answers every req-byte message with resp zero bytes, until the connection closes. The
 * ceiling for any request/response server on this machine. cpu >= 0 pins the child (a
 * separate process, one thread) to that CPU before it accepts, as the broker pins each
 * network loop; -1 leaves it to the scheduler. 0 and *pid, *port, or -errno.
 * Stop it by closing the connection, then bench_child_reap(*pid).
 */
int bench_echo_spawn(size_t req, size_t resp, int cpu, pid_t *pid, int *port);
/* Wait for a child we forked (10 s at most, then SIGKILL to that pid). 0 if it exited 0. */
int bench_child_reap(pid_t pid);

/* bench_pipe callbacks for the ping-pong's client: ctx is a struct bench_echo. */
struct bench_echo {
    size_t req;
    size_t resp;
    const uint8_t *payload; /* req bytes */
};
extern const struct bench_pipe_ops bench_echo_ops;

/* ---- placement (cpu.c): which CPU each side runs on ------------------------------------ */

/*
 * A round trip between two threads on the same vCPU costs ~5 us here; across vCPUs, when
 * the other one is idle, ~50 us (waking a halted vCPU). So the round-trip comparison
 * places both systems alike: each server thread pinned, the client pinned to the server's
 * CPU ("same") or to another ("cross"). These helpers pin, and find which of another
 * process's pinned threads serves our connection (by counting how often each was
 * scheduled while we sent it requests: /proc/<pid>/task/<tid>/schedstat).
 */

/* Pin the calling thread to cpu (-1: do nothing). 0 or -errno. */
int bench_pin_cpu(int cpu);
/* The CPUs this process may use, ascending, at most cap of them: their count or -errno. */
int bench_cpus_allowed(int *cpus, int cap);

struct bench_thread {
    pid_t tid;
    int cpu;            /* the one CPU its affinity allows; -1 if it may run on several */
    int64_t scheduled;  /* times put on a CPU so far (schedstat, third field) */
    char name[32];
};

/*
 * The threads of process pid whose name starts with prefix, at most cap: their count, or
 * -errno (-ENOTSUP when the kernel keeps no schedstats). Another user's process needs
 * permission to read its /proc; our own children are fine.
 */
int bench_threads_read(pid_t pid, const char *prefix, struct bench_thread *ts, int cap);
/*
 * Between two readings, the index (into after) of the thread scheduled most: it must have
 * been scheduled at least expect/2 times and at least 4 times as often as any other, or
 * the answer is KC_EEMPTY (nobody clearly served the requests).
 */
int bench_threads_busiest(const struct bench_thread *before, int nbefore,
                          const struct bench_thread *after, int nafter, int64_t expect);

#define BENCH_THREADS_MAX 256 /* threads of one name prefix that bench_serving_cpu reads */

/*
 * The CPU of the thread of process pid (name starting with prefix) that serves us: work(arg)
 * runs between two readings and must make that thread run about expect times (send expect
 * requests one at a time and take the answers). 0 and *who (its cpu; scheduled is the count
 * during work), or: work's error, -errno from /proc, KC_EEMPTY (no thread clearly served),
 * -EINVAL (the serving thread is not pinned to one CPU).
 */
int bench_serving_cpu(pid_t pid, const char *prefix, int64_t expect, int (*work)(void *),
                      void *arg, struct bench_thread *who);

/* ---- small helpers --------------------------------------------------------------------- */

/* Fill buf[0..n) with printable bytes that vary with seed (so nothing compresses to 0). */
void bench_fill_payload(uint8_t *buf, size_t n, uint64_t seed);
/* Strict integer option: exits with a message on bad input (command-line parsing only). */
int64_t bench_opt_i64(const char *name, const char *s, int64_t min, int64_t max);
/* Print msg and kc_strerror(err) on stderr and exit(1): for the clients' main() only. */
void bench_die(const char *msg, int err) __attribute__((noreturn));

#endif
