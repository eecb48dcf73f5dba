/*
 * flt.h - fault injection for the storage path: make write, fsync or rename fail with
 * ENOSPC or EIO in a running process, then make them succeed again.
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

#define FLT_MAGIC 0x464c5431u /* "FLT1" */

enum flt_op {
    FLT_WRITE = 1u << 0,  /* write, pwrite, writev, pwritev */
    FLT_FSYNC = 1u << 1,  /* fsync, fdatasync */
    FLT_RENAME = 1u << 2, /* rename, renameat */
};

/* The shared control block. Written by the test, read (and hits counted) by the shim. */
struct flt_ctl {
    uint32_t magic;
    _Atomic uint32_t ops;      /* enum flt_op bits armed; 0 = everything passes through */
    _Atomic int32_t err;       /* the errno to fail with (ENOSPC, EIO) */
    _Atomic int32_t remaining; /* failures left; -1 = until disarmed */
    _Atomic int32_t partial;   /* writes: first write half the bytes, then fail */
    _Atomic uint64_t hits;     /* calls failed so far */
    char match[256];           /* substring of the file's path; "" = any regular file */
};

/* Test side: create (or reset) the control file at path and map it; NULL on error. */
struct flt_ctl *flt_ctl_open(const char *path);
void flt_ctl_close(struct flt_ctl *ctl);
/* Fail `ops` on files whose path contains match with -err, `count` times (-1 = until
 * disarmed); partial=1 makes a failing write first store half of its bytes. */
void flt_arm(struct flt_ctl *ctl, uint32_t ops, int err, const char *match, int count,
             int partial);
void flt_disarm(struct flt_ctl *ctl);
uint64_t flt_hits(const struct flt_ctl *ctl);

#endif
