/*
 * repl_epoch.h - the leader-epoch cache (Kafka's LeaderEpochFileCache).
 *
 * Every leader election gives the partition a new leader epoch, and the new leader stamps
 * it into every batch it writes. Each replica keeps, beside its log, the offset at which
 * each epoch's records begin:
 *
 *     log      [0 e0][1 e0][2 e0][3 e2][4 e2][5 e3][6 e3]      LEO 7
 *     cache    (0, 0)  (2, 3)  (3, 5)                          epoch, start offset
 *
 *     end_offset(0) = (0, 3)     the next epoch's start: epoch 0 wrote offsets 0..2
 *     end_offset(1) = (0, 3)     never saw epoch 1: the largest epoch below it, and its end
 *     end_offset(3) = (3, 7)     the latest epoch ends at the log end
 *     end_offset(9) = (-1, -1)   later than anything known
 *
 * end_offset is the whole answer to OffsetForLeaderEpoch: "where does MY history of your
 * epoch E end?". A follower asks the leader that about its own latest epoch and truncates
 * to the answer: everything beyond it was written by a leader whose records the current
 * leader does not have. That replaces truncating to the high watermark (KIP-101).
 *
 * Rules:
 *  - Entries are in strictly increasing epoch order with non-decreasing start offsets;
 *    assign keeps it so, exactly as Kafka does (an entry that would break the order
 *    removes the entries after it).
 *  - A new leader assigns its epoch at its LEO BEFORE writing anything in it, so that
 *    followers asking about epochs it never saw get a useful answer (see end_offset(1)).
 *  - Mutators return 1 if the cache changed (the leader-epoch-checkpoint must be
 *    rewritten: repl_ckpt.h), 0 if not, or < 0 (-EINVAL for a negative epoch or offset,
 *    -ENOMEM).
 *  - A cache owns its array; init/fini. Not thread-safe: one owner at a time.
 */
#ifndef REPL_EPOCH_H
#define REPL_EPOCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "repl.h"

struct repl_epoch_entry {
    int32_t epoch;
    int64_t start_offset;
};

struct repl_epoch_cache {
    struct repl_epoch_entry *v; /* v[0..n): the entries, oldest first */
    size_t n, cap;
};

/* OffsetForLeaderEpoch's answer: an epoch and the offset where it ends (exclusive). */
struct repl_epoch_end {
    int32_t epoch;
    int64_t end_offset;
};

void repl_epoch_cache_init(struct repl_epoch_cache *c);
void repl_epoch_cache_fini(struct repl_epoch_cache *c);
void repl_epoch_cache_clear(struct repl_epoch_cache *c);

/* The latest entry's epoch, or REPL_UNDEFINED_EPOCH when the cache is empty. */
int32_t repl_epoch_cache_latest(const struct repl_epoch_cache *c);

/*
 * Record that `epoch` starts at `start_offset`. Nothing changes when it is already the
 * latest entry with a start at or before start_offset. Otherwise entries with an epoch
 * >= epoch or a start >= start_offset are removed from the end, then the entry appended.
 */
int repl_epoch_cache_assign(struct repl_epoch_cache *c, int32_t epoch, int64_t start_offset);

/* The log was truncated to end_offset (exclusive): drop entries starting at or after it. */
int repl_epoch_cache_truncate_end(struct repl_epoch_cache *c, int64_t end_offset);

/* The log start moved to start_offset: drop entries starting at or before it, and keep
 * the last dropped epoch as starting exactly at start_offset. */
int repl_epoch_cache_truncate_start(struct repl_epoch_cache *c, int64_t start_offset);

/*
 * Kafka's endOffsetFor(epoch), with leo the log end offset:
 *   epoch undefined, or greater than every entry, or an empty cache  -> (-1, -1)
 *   epoch is the latest entry's                                      -> (epoch, leo)
 *   epoch below the first entry                                      -> (epoch, first start)
 *   otherwise  (largest entry epoch <= epoch, start of the next entry)
 */
struct repl_epoch_end repl_epoch_cache_end_offset(const struct repl_epoch_cache *c, int32_t epoch,
                                                  int64_t leo);

/* Make dst a copy of src (dst initialised); 0 or -ENOMEM, dst unchanged on failure. */
int repl_epoch_cache_copy(struct repl_epoch_cache *dst, const struct repl_epoch_cache *src);

/* True when the entries are in order (strictly increasing epochs, non-decreasing starts,
 * nothing negative): what a checkpoint must hold to be loaded. */
bool repl_epoch_entries_valid(const struct repl_epoch_entry *v, size_t n);

#endif
