/*
 * flt.h - fault injection for the storage path: make write, fsync or rename fail with
 * ENOSPC or EIO (or just slow) in a running process, then make them succeed again.
 *
 *   test process                              broker process (LD_PRELOAD=libkc_fault.so)
 *   ------------                              ------------------------------------------
 *   flt_ctl_open("ctl")   -- mmap(MAP_SHARED) --  shim maps the same file at start-up
 *   flt_arm(FLT_WRITE, ENOSPC, ".log", -1)        pwrite(fd of 00..0.log) -> -1 ENOSPC
 *   flt_disarm()                                  pwrite(...) -> the real pwrite
 *
 * The shim (libkc_fault.so, src/shim.c) wraps write, pwrite, writev, pwritev, fsync,
 * fdatasync, rename and renameat with dlsym(RTLD_NEXT). The control block is a small file
 * both processes map shared, so arming a fault is a store to memory: no signal, no
 * restart, nothing for the broker to poll. While nothing is armed the wrappers cost one
 * atomic load. Only regular files whose path contains the match string can fail: sockets
 * and pipes never do, so the broker can still answer the client with an error.
 *
 * The control file is named by the environment variable KC_FAULT_CTL in the process under
 * test. This is test tooling: it never ships in the broker.
 */
#ifndef FLT_H
#define FLT_H

#include <stdatomic.h>
#include <stdint.h>
#include <string.h>

#define FLT_MAGIC 0x464c5431u /* "FLT1" */

enum flt_op {
    FLT_WRITE = 1u << 0,  /* write, pwrite, writev, pwritev */
    FLT_FSYNC = 1u << 1,  /* fsync, fdatasync */
    FLT_RENAME = 1u << 2, /* rename, renameat */
};

/*
 * The power-cut model (the crash loop's second half). kill -9 leaves the page cache
 * intact, so it can never lose a write the broker made; a power cut loses everything
 * that was not fsynced. With sync tracking on, the shim records, for every *.log file:
 *
 *   synced   the file's size sampled just before an fsync/fdatasync that then succeeded:
 *            every byte below it is on disk
 *   dirent   a fsync of its directory succeeded after the file existed: its name is on
 *            disk too (a new segment whose directory was never fsynced may vanish)
 *
 * A syncfs(2) that succeeded counts as both, for every .log file found below the
 * directory it was called on (appendLog's store makes a sweep's repairs durable so).
 *
 * After the kill, the harness (rel_powercut) cuts each .log file at a random point at or
 * above `synced`, scribbles over the lost tail, may delete files whose dirent is not
 * durable, and records what is left as synced. Anything acknowledged after an fsync must
 * survive that; anything else may be lost, but only as a tail, and never served corrupt.
 */
#define FLT_SYNC_MAX      1024
#define FLT_SYNC_PATH_MAX 232

struct flt_sync {
    _Atomic uint64_t synced; /* bytes known to be on disk */
    _Atomic uint64_t ino;    /* the inode the entry is about (a re-created file is new) */
    _Atomic uint32_t dirent; /* 1: its directory entry is on disk */
    uint32_t used;
    char path[FLT_SYNC_PATH_MAX];
};

/* The shared control block. Written by the test, read (and hits counted) by the shim. */
struct flt_ctl {
    uint32_t magic;
    _Atomic uint32_t ops;      /* enum flt_op bits armed; 0 = everything passes through */
    _Atomic int32_t err;       /* the errno to fail with (ENOSPC, EIO) */
    _Atomic int32_t remaining; /* failures left; -1 = until disarmed */
    _Atomic int32_t partial;   /* writes: first write half the bytes, then fail */
    _Atomic uint64_t hits;     /* calls failed (or slowed) so far */
    _Atomic int32_t delay_ms;  /* err 0: a slow disk - armed calls sleep this long, then run */
    _Atomic uint32_t lose;     /* 1: a failing fsync of a .log file loses data (flt_lose) */
    _Atomic int32_t lose_ms;   /* ... after this wait */
    char match[256];           /* substring of the file's path; "" = any regular file */
    /* the power-cut model */
    _Atomic uint32_t track_sync;    /* 1: record fsyncs of *.log files and their directories */
    _Atomic uint32_t sync_lock;     /* spin lock for adding entries (shim threads) */
    _Atomic uint32_t nsync;         /* entries used */
    _Atomic uint32_t sync_overflow; /* an fsync found the table full: the model is void */
    _Atomic uint64_t syncs_seen;    /* file fsyncs recorded */
    struct flt_sync sync[FLT_SYNC_MAX];
};

/*
 * The entry for (path, ino), adding it when create is set; NULL if absent (or the table is
 * full: then sync_overflow is set). Shared by the shim and the harness. Entries are only
 * ever added, under sync_lock; an entry whose inode differs is another file of the same
 * name (deleted and re-created) and is taken over, its figures reset.
 */
static inline struct flt_sync *flt__sync_slot(struct flt_ctl *ctl, const char *path, uint64_t ino,
                                              int create)
{
    struct flt_sync *hit = NULL;
    while (atomic_exchange(&ctl->sync_lock, 1))
        ; /* held for a few string compares by one of the broker's threads */
    uint32_t n = atomic_load(&ctl->nsync);
    for (uint32_t i = 0; i < n && !hit; i++)
        if (strncmp(ctl->sync[i].path, path, FLT_SYNC_PATH_MAX) == 0)
            hit = &ctl->sync[i];
    if (hit && atomic_load(&hit->ino) != ino) {
        if (create) {
            atomic_store(&hit->ino, ino);
            atomic_store(&hit->synced, 0);
            atomic_store(&hit->dirent, 0);
        } else {
            hit = NULL;
        }
    }
    if (!hit && create && strlen(path) < FLT_SYNC_PATH_MAX) {
        if (n < FLT_SYNC_MAX) {
            hit = &ctl->sync[n];
            memcpy(hit->path, path, strlen(path) + 1);
            atomic_store(&hit->ino, ino);
            hit->used = 1;
            atomic_store(&ctl->nsync, n + 1);
        } else {
            atomic_store(&ctl->sync_overflow, 1);
        }
    }
    atomic_store(&ctl->sync_lock, 0);
    return hit;
}

/* Test side: create (or reset) the control file at path and map it; NULL on error. */
struct flt_ctl *flt_ctl_open(const char *path);
void flt_ctl_close(struct flt_ctl *ctl);
/* Fail `ops` on files whose path contains match with -err, `count` times (-1 = until
 * disarmed); partial=1 makes a failing write first store half of its bytes. */
void flt_arm(struct flt_ctl *ctl, uint32_t ops, int err, const char *match, int count, int partial);
void flt_disarm(struct flt_ctl *ctl);
/* A slow disk instead of a failing one: every ops call on a matching file sleeps delay_ms,
 * then runs for real (a long recovery, say). flt_disarm ends it. */
void flt_slow(struct flt_ctl *ctl, uint32_t ops, const char *match, int delay_ms);
uint64_t flt_hits(const struct flt_ctl *ctl);

/*
 * A disk that loses what it was never made to keep: while armed (with flt_arm(FLT_FSYNC,
 * EIO, ...) and sync tracking on), a failing fsync of a .log file first waits ms, then
 * zeroes the file from the size its last successful fsync saw to its end - as a kernel
 * that dropped the dirty pages it could not write, over blocks that read back as zeros -
 * and only then fails. The wait lets other processes (a leader's followers) copy the bytes
 * from memory first. on=0 turns it off. Inline: the broker's tests map the block themselves.
 */
static inline void flt_lose(struct flt_ctl *ctl, int on, int ms)
{
    atomic_store(&ctl->lose_ms, ms);
    atomic_store(&ctl->lose, on ? 1u : 0u);
}

/* Power-cut model: turn sync tracking on or off (entries are kept). */
void flt_track_syncs(struct flt_ctl *ctl, int on);
/* The entry for path whose inode is ino, or NULL (never fsynced as that file). Call only
 * while no process under the shim runs (the harness between a kill and a restart): it
 * releases the table's lock, which a process killed inside the shim may have held. */
struct flt_sync *flt_sync_find(struct flt_ctl *ctl, const char *path, uint64_t ino);
/* Record that path (inode ino) has `synced` bytes and its name on disk; -ENOSPC when the
 * table is full. Same rule as flt_sync_find. */
int flt_sync_set(struct flt_ctl *ctl, const char *path, uint64_t ino, uint64_t synced);

#endif
