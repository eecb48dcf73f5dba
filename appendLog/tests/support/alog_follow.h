/*
 * alog_follow.h - what the follower tests share (test_alog_follow, test_alog_truncate): a
 * leader's batches at their offsets, fetch answers built from them, and small logs.
 */
#ifndef ALOG_FOLLOW_H
#define ALOG_FOLLOW_H

#include <stddef.h>
#include <stdint.h>

#include "alog.h"
#include "kc_buf.h"

/* A leader's batch: n records at base (fx_batch's values), in epoch, its base offset and
 * epoch in place. Caller frees. */
uint8_t *fx_lbatch(int64_t base, int n, int32_t epoch, size_t *len);
/* Append n bytes to a growing buffer (a fetch answer). */
void fx_put(uint8_t **buf, size_t *len, const uint8_t *b, size_t n);
/* k batches of n records from base, epoch e each, back to back. Caller frees. */
uint8_t *fx_lrun(int64_t base, int k, int n, int32_t e, size_t *len);
/* alog_append_replica of all len bytes, which must all be used, ending at want_end. */
void fx_replica(struct alog *log, const uint8_t *p, size_t len, int64_t want_end);
/* Everything from `from` to the end, as read back; its length. */
size_t fx_read_all(struct alog *log, int64_t from, struct kc_writer *w);
/* A standalone log with small segments and dense indexes. */
struct alog *fx_follow_open(const char *dir, uint64_t seg_bytes, struct alog_flusher *f);
/* A store without cleaner threads, and its log "t-0" (its directory made). */
struct alog_store *fx_store_open(const char *dir);
struct alog *fx_store_log(struct alog_store *s, const char *s_dir, uint64_t seg_bytes);

#endif
