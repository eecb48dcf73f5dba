/*
 * zc_params.h - zeroCopy's tunables, in one place.
 */
#ifndef ZC_PARAMS_H
#define ZC_PARAMS_H

/* Memory pieces gathered into one sendmsg. A response is a handful of pieces; 64 covers a
 * fetch response for dozens of partitions in one call (IOV_MAX is 1024). */
#define ZC_IOV_BATCH 64

/* Largest count one sendfile call is given (the kernel caps a call at 0x7ffff000 bytes). */
#define ZC_SENDFILE_MAX ((size_t)0x7ffff000)

/* The fallback's bounce buffer: pread this much, then send it. Allocated only for a file
 * piece that falls back, freed when that piece is done. */
#define ZC_BOUNCE_BYTES (64 * 1024)

#endif
