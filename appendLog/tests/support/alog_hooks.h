/*
 * alog_hooks.h - a fake disk behind the log's io seam (alog__set_io, src/alog_int.h), for
 * the tests that make storage fail: hold fdatasync at a gate, fail it, tear and fail
 * writes, fail truncations, and watch what alog_recover drops from the page cache.
 *
 * Lost writeback, modelled as Linux does it: when an fdatasync fails (with lose set), the
 * bytes written since the last good one never reached the disk, but the page cache still
 * shows them, so nothing changes for a reader yet. Only when the log drops those cached
 * pages (drop_cache: alog_recover's "forget" step) do reads see what the disk holds, which
 * here is zeros. keep_bytes of the first file written since the last good fdatasync did
 * reach the disk (a partial writeback).
 *
 * Every field a hook reads is guarded by m: set faults with the functions below while a
 * flusher thread runs, never by assigning fields.
 */
#ifndef ALOG_HOOKS_H
#define ALOG_HOOKS_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "alog.h"

#define FX_HOOK_FILES 32

struct fx_range {
    int fd;
    off_t lo, hi;
};

struct fx_drop {
    char path[256]; /* the file whose cached pages were dropped */
    off_t from;
    long resident_after; /* pages of [from, end) still cached just after (mincore) */
};

struct fx_hooks {
    pthread_mutex_t m;
    pthread_cond_t c;
    bool closed;        /* fdatasync blocks while the gate is closed */
    int entered;        /* fdatasyncs that reached the gate */
    int fsyncs_failed;  /* fdatasyncs failed on purpose */
    int fsync_err;      /* fail fdatasync with this (0: really sync) */
    int fsync_delay_ms; /* a slow disk */
    int write_err;      /* fail pwrite with this ... */
    int write_fails;    /* ... this many more times (-1: until cleared) */
    bool write_torn;    /* a failing pwrite first writes half of its bytes */
    int truncate_err;   /* fail ftruncate with this */
    bool lose;          /* a failing fdatasync loses what was written since the last good one */
    off_t keep_bytes;   /* ... except this much of the first file written */
    struct fx_range dirty[FX_HOOK_FILES]; /* written since the last good fdatasync */
    int ndirty;
    struct fx_range lost[FX_HOOK_FILES]; /* on "disk" as zeros, shown once dropped */
    int nlost;
    struct fx_drop drops[FX_HOOK_FILES];
    int ndrops;
};

void fx_hooks_init(struct fx_hooks *h);
void fx_hooks_fini(struct fx_hooks *h);
/* Route the log's I/O through h (h must outlive the log or be uninstalled with
 * alog__set_io(log, NULL)). */
void fx_hooks_install(struct alog *log, struct fx_hooks *h);

void fx_hooks_fail_fsync(struct fx_hooks *h, int err, bool lose, off_t keep_bytes);
void fx_hooks_fail_writes(struct fx_hooks *h, int err, int count, bool torn);
void fx_hooks_fail_truncate(struct fx_hooks *h, int err);
void fx_hooks_gate(struct fx_hooks *h, bool closed);
void fx_hooks_delay(struct fx_hooks *h, int ms);
/* Wait until n fdatasyncs have reached the gate. */
void fx_hooks_wait_entered(struct fx_hooks *h, int n);
/* A consistent copy of the counters and records (for assertions). */
void fx_hooks_snapshot(struct fx_hooks *h, struct fx_hooks *out);

/* Durability callbacks that count (alog_wait_durable's cb, with the tally as arg). */
#define FX_WAIT_LIMIT_MS 30000 /* generous: the machine is shared */
struct fx_tally {
    pthread_mutex_t m;
    pthread_cond_t c;
    int done, errors, last_err;
    pthread_t thread; /* who called back */
};
void fx_tally_init(struct fx_tally *t);
void fx_tally_cb(void *arg, int err);
/* Wait until n callbacks came (fails the test after FX_WAIT_LIMIT_MS). */
void fx_tally_wait(struct fx_tally *t, int n);

#endif
