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

/* A TLS session's staging buffer: the bytes taken from the queue (or zc_tls_writev) and
 * handed to SSL_write, which cuts them into records of at most 16 KiB. Bigger means fewer
 * preads and SSL_write calls per MiB; it is allocated while the session has bytes to send
 * and freed when they are all out, so an idle connection holds none of it. */
#define ZC_TLS_STAGING_BYTES (64 * 1024)

/* After the handshake a TLS session reads ahead into a buffer this big (OpenSSL's default
 * holds one record, ~17 KiB: one read() per 16 KiB). Released when drained. */
#define ZC_TLS_READ_BYTES (64 * 1024)

/* While a TLS session sends (without kernel TLS), its records collect in a buffer this big
 * and leave in one write(): on loopback that took the sender from ~715 to ~520 ms of CPU
 * per GiB (README). Pushed for a flush, removed when it is done: idle costs nothing. */
#define ZC_TLS_WRITE_BYTES (64 * 1024)

/* Largest count one SSL_sendfile call is given (kernel TLS). */
#define ZC_TLS_SENDFILE_MAX ((size_t)1 << 30)

/* Room for the reason a session failed (OpenSSL's error strings, the verify result). */
#define ZC_TLS_ERR_BYTES 256

#endif
