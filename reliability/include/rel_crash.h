/*
 * rel_crash.h - the crash loop: write, kill -9 at a random moment, restart, check everything.
 *
 * One cycle:
 *
 *   start kafka_broker (async flushes: log.flush.interval.ms, small segments)
 *     |  sometimes kill it again at once, in the middle of its recovery, and restart
 *   verify      read every partition from offset 0 with consume-batch; CRC-validate every
 *     |         batch; every record is a known (producer, seq), at the offset it was
 *     |         acknowledged at, exactly once, in each producer's order; every group offset
 *     |         is the last acknowledged commit (or the one in flight at the kill)
 *   load        P producer threads (own connections, pipelined produce-batch and single
 *     |         produce, acks=all or acks=1) write sequence-numbered records to random
 *     |         partitions; a consumer thread reads them back live, validates them, and
 *     |         commits offsets (command 3)
 *   kill -9     at a random moment of the load
 *   power cut   (optional) every .log file loses a random part of what was never fsynced
 *               (flt.h: the shim records what each fsync made durable); a new segment
 *               whose directory was never fsynced may vanish whole
 *   ... next cycle
 *
 * What must hold (a violation ends the run with the first one described):
 *   acks=all   every acknowledged record is there, exactly once, in order, uncorrupted,
 *              power cut or not; lost must be 0.
 *   acks=1     without a power cut the same (kill -9 keeps the page cache); with one,
 *              acknowledged records may be missing - only those never fsynced, and only as
 *              a tail of what each producer wrote to each partition (no holes) - never
 *              duplicated, reordered or corrupt.
 *   both       a record seen after one restart is there after every later one; commits
 *              acknowledged (they always wait for fsync) survive; nothing corrupt is served,
 *              live or after recovery; the final SIGTERM stop exits 0.
 *
 * Threads: rel_crash_run drives everything from the calling thread (which must live
 * until it returns: the broker dies with it); producers and the consumer are threads
 * that own their model slices during the load and hand them back at join.
 */
#ifndef REL_CRASH_H
#define REL_CRASH_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

struct rel_crash_opts {
    int cycles;            /* kill/restart cycles (>= 1) */
    uint64_t seed;         /* every random choice derives from it */
    int acks;              /* -1 (all) or 1 */
    bool powercut;         /* simulate losing what was not fsynced (needs shim) */
    int producers;         /* producer threads, 1..16 */
    int partitions;        /* of the test topic, 1..64 */
    int records_per_cycle; /* per producer, at most */
    int window;            /* requests in flight per producer */
    int kill_min_ms;       /* the kill comes this long into the load ... */
    int kill_max_ms;       /* ... at most this long */
    int recovery_kill_pct; /* % of cycles that also kill the broker during its start */
    const char *bin_dir;   /* kafka_broker is here */
    const char *shim;      /* libkc_fault.so (NULL or "": no power cut) */
    const char *dir;       /* an empty work directory (the caller makes and removes it) */
    FILE *out;             /* one line per cycle and the summary (NULL: quiet) */
    bool sabotage;         /* test hook: before the last restart, cut the newest segment
                              of partition 0 in half behind the broker's back (a disk
                              that lies): the run must then fail with lost > 0 */
};

/* Defaults: 5 cycles, acks=all, no power cut, 4 producers, 4 partitions, 3000 records per
 * producer per cycle, window 8, kill after 30-400 ms, 15% kills during recovery. */
void rel_crash_opts_default(struct rel_crash_opts *o);

struct rel_crash_result {
    int cycles;               /* completed kill -> restart -> verify cycles */
    int recovery_kills;       /* extra kills that landed while the broker was starting */
    uint64_t sent;            /* records sent */
    uint64_t acked;           /* records acknowledged */
    uint64_t checked;         /* records read back and checked after restarts, in all */
    uint64_t final_records;   /* records in the log at the end (each checked at every
                                 restart since it was written) */
    uint64_t live_checked;    /* records validated by the consumer while the broker ran */
    uint64_t unacked_present; /* sent, not acknowledged before the kill, yet kept: fine */
    uint64_t lost;            /* VIOLATION: acknowledged-and-required or once-seen, missing */
    uint64_t lost_unsynced;   /* acks=1 records the power cut took (never fsynced): allowed */
    uint64_t duplicates;      /* VIOLATION */
    uint64_t out_of_order;    /* VIOLATION: a producer's order broken, or not at its offset */
    uint64_t corrupt;         /* VIOLATION: bad CRC, unknown record, wrong partition ... */
    uint64_t holes;           /* VIOLATION: a missing record followed by a kept later one */
    uint64_t errors;          /* VIOLATION: error answers to well-formed produces */
    uint64_t commits_acked;   /* group offset commits acknowledged */
    uint64_t commits_checked; /* group offsets compared after restarts */
    uint64_t commits_lost;    /* VIOLATION */
    uint64_t cut_bytes;       /* bytes the power cut took from .log files */
    int cut_files;            /* .log files the power cut deleted (directory never fsynced) */
    int64_t restart_p50_ms;   /* restart after a kill (recovery included), median ... */
    int64_t restart_max_ms;   /* ... and slowest */
    int64_t ms;               /* wall time of the run */
    char error[512];          /* the first violation or harness failure ("" if none) */
};

/*
 * Run the loop. Returns 0 when every cycle ran and every check held; KC_ECORRUPT when a
 * check failed (r->error says which); -errno when the harness itself could not run (no
 * broker binary, the broker did not start). *r is filled either way; progress goes to
 * o->out.
 */
int rel_crash_run(const struct rel_crash_opts *o, struct rel_crash_result *r);

/* What one power cut took. */
struct rel_cut {
    int files;      /* .log files deleted (their directory entry was never fsynced) */
    uint64_t bytes; /* bytes cut or overwritten */
};

/*
 * The power cut of the model in flt.h, on a stopped broker's data directory: every .log
 * file under dir keeps what an fsync made durable (ctl's table, which the shim filled) and
 * a random part of the rest, the rest cut away or overwritten with zeros or garbage; a
 * file whose name was never fsynced into its directory is deleted half the time. The
 * table is updated (what is left is what the disk has). The caller must have killed the
 * broker first. 0 with *cut added to; -EOVERFLOW when the table overflowed (the model
 * is void); -errno.
 */
struct flt_ctl;
int rel_powercut(struct flt_ctl *ctl, const char *dir, uint64_t *rng, struct rel_cut *cut);

/* The summary lines (cycles, records acknowledged/checked/lost, seed, ...) to f. */
void rel_crash_print(FILE *f, const struct rel_crash_opts *o, const struct rel_crash_result *r);

#endif
