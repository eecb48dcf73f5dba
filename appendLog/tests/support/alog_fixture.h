/*
 * alog_fixture.h - what the appendLog tests share: batches whose records say which offset
 * they expect to get, a reader that checks every record it gets back against that, and
 * small configurations that make segments roll quickly.
 */
#ifndef ALOG_FIXTURE_H
#define ALOG_FIXTURE_H

#include <stddef.h>
#include <stdint.h>

#include "alog.h"

/* A batch of n records; record i's value starts with (base + i) as 8 big-endian bytes,
 * then vsize - 8 pattern bytes; timestamps ts, ts+1, ... Caller frees. */
uint8_t *fx_batch(int64_t base, int n, size_t vsize, int64_t ts, size_t *len);

/* Append `count` batches of n records (timestamps ts0 + offset); checks each base offset. */
void fx_append(struct alog *log, int count, int n, size_t vsize, int64_t ts0);

/* Read [from, to) one offset at a time and check every record returned: its offset, its
 * value, and that the batch returned is the one containing the offset asked. */
void fx_check_reads(struct alog *log, int64_t from, int64_t to);

/* Parse every .log file of dir from its first byte: each must be whole, valid batches
 * (CRC, records) with no bytes after the last, the offsets contiguous from file to file.
 * Returns the offset after the last batch (the first segment's base if all are empty). */
int64_t fx_check_files(const char *dir);
/* The byte position of the batch whose base offset is offset in segment seg_base's .log,
 * or -1 if no batch starts there. */
long fx_batch_pos(const char *dir, int64_t seg_base, int64_t offset);

/* Defaults with no background flushing, no retention, and the given segment size. */
void fx_config(struct alog_config *cfg, uint64_t segment_bytes);

/* Path helpers. */
void fx_path(char *out, size_t cap, const char *dir, const char *name);
void fx_seg_path(char *out, size_t cap, const char *dir, int64_t base, const char *ext);
long fx_file_size(const char *path);
/* Mappings and open descriptors of files under dir (/proc/self/maps, /proc/self/fd).
 * Counting only our own files keeps allocator mappings (ASan's) out of the figure. */
int fx_map_count(const char *dir);
int fx_fd_count(const char *dir);
/* Copy every regular file of src into dst (created), and its subdirectories: a crash image
 * of a live log, or of a whole data directory. */
void fx_copy_dir(const char *src, const char *dst);

#endif
