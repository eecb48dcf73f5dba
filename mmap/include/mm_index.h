/*
 * mm_index.h - Kafka's sparse offset index (.index) and time index (.timeindex) as arrays
 * of fixed-size entries in a memory-mapped file.
 *
 * A segment's .log is batches back to back; to find offset N without reading the whole
 * file, the .index remembers, every ~4 KiB of log, "the batch ending at offset X starts at
 * byte P". A lookup is a binary search for the greatest entry at or below N, then a short
 * forward scan of the log from P. The .timeindex does the same for time: "by offset X the
 * largest timestamp seen was T".
 *
 *   .index      entry = 8 bytes, big-endian            .timeindex  entry = 12 bytes
 *   +----------------+----------------+                +--------------------+------------+
 *   | relOffset  u32 | position   u32 |  ...           | timestamp      i64 | relOff u32 |
 *   +----------------+----------------+                +--------------------+------------+
 *     key: offset - segment base offset                  key: ms since epoch
 *     value: byte position in the .log                   value: offset - segment base
 *
 *   A writable (active) index is preallocated to its maximum size, as Kafka does, so the
 *   file is   [ used entries ........ | 00 00 00 00 00 00 00 00 | 00 ... zero tail ]
 *
 * Telling used entries from the zero tail. Kafka trusts the file length of a trimmed index
 * and rebuilds the active one after a crash. Here the rule is explicit and checkable: an
 * all-zero entry is never written (an index entry for position 0, or for timestamp 0 at
 * relative offset 0, says nothing a lookup does not already assume), and keys strictly
 * increase. So the used entries are exactly the prefix before the first all-zero entry; a
 * non-zero entry after it, or keys out of order, is corruption that mm_index_check()
 * reports.
 *
 * Rules:
 *  - Keys strictly increase (append refuses anything else with -EINVAL). Offset index:
 *    positions strictly increase too. Time index: relative offsets never decrease.
 *  - Concurrency: ONE appender, any number of concurrent mm_index_lookup/_entry/_entries
 *    callers. The entry count is published with a release store after the entry's bytes,
 *    and read with an acquire load, so a reader sees only whole entries. trim, truncate,
 *    reset, resize and close need the index to themselves, with one exception: trim
 *    shrinks the mapping in place, so lookups running concurrently with a trim stay valid.
 *  - Pointer lifetime: none escapes; entries are returned by value.
 *
 * Differences from Kafka: Kafka recognises the used part by file length (trimmed) or by
 * recovery; here also by the zero-entry rule above (Kafka never indexes a segment's first
 * batch, at position 0, either: same reason). The "warm section" lookup (search the last
 * 8 KiB of entries first, so the hot pages stay in cache) is Kafka's idea, kept here.
 *
 * Read next: mmap/src/mm_index.c, then appendLog/src/segment.c (who writes these entries).
 */
#ifndef MM_INDEX_H
#define MM_INDEX_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mm.h"

enum mm_index_kind {
    MM_INDEX_OFFSET = 0, /* .index:     key = relative offset (u32), value = position */
    MM_INDEX_TIME = 1,   /* .timeindex: key = timestamp (i64),       value = relative offset */
};

#define MM_INDEX_OFFSET_ENTRY 8
#define MM_INDEX_TIME_ENTRY   12
/* Kafka's warm section: the last 8 KiB of entries are searched first. */
#define MM_INDEX_WARM_BYTES 8192
/* A writable index reserves disk blocks (fallocate) this far ahead of its entries. */
#define MM_INDEX_RESERVE_BYTES (64 * 1024)

/* Flags for mm_index_open. */
enum {
    MM_INDEX_READONLY = 0,       /* map as is, read-only; append is refused */
    MM_INDEX_WRITABLE = 1u << 0, /* map read-write, preallocated to max_bytes */
    MM_INDEX_CREATE = 1u << 1,   /* create if missing (with WRITABLE) */
    MM_INDEX_EMPTY = 1u << 2,    /* start with no entries (with WRITABLE): for a rebuild */
};

struct mm_index_entry {
    int64_t key;    /* offset index: relative offset; time index: timestamp (ms) */
    uint32_t value; /* offset index: position in the .log; time index: relative offset */
};

struct mm_index {
    struct mm_file file;
    enum mm_index_kind kind;
    uint32_t entry_size;    /* 8 or 12 */
    size_t max_entries;     /* capacity of the file as mapped now */
    size_t orig_size;       /* file size found at open (before any preallocation) */
    _Atomic size_t entries; /* used entries; release-published by the appender */
    size_t stray_entries;   /* non-zero entries found after the used prefix at open */
    size_t reserved;        /* appender: bytes [0, reserved) have disk blocks (see append) */
    bool stray_order;       /* the used prefix ended at an out-of-order entry */
};

/* The binary search, step by step (for demos and tests). */
#define MM_INDEX_TRACE_MAX 64
struct mm_index_trace {
    unsigned steps;
    bool warm; /* the search stayed inside the warm section */
    struct {
        size_t lo, hi, mid;
        int64_t key; /* key at mid */
    } probe[MM_INDEX_TRACE_MAX];
};

/* What entries must lie within (mm_index_check). */
struct mm_index_bounds {
    uint64_t log_size; /* offset index: every position < log_size */
    int64_t max_rel;   /* every relative offset <= max_rel (-1: the segment is empty) */
};

/*
 * Open (or create) an index. WRITABLE preallocates the file to max_bytes rounded down to
 * whole entries (Kafka's maxIndexSize), maps it read-write and finds the used prefix;
 * READONLY maps the file as it is (max_entries = file size / entry size). Files whose size
 * is not a multiple of the entry size are opened (rounded down) and flagged by the check.
 * 0 or -errno; *idx written only on success; close with mm_index_close.
 */
int mm_index_open(struct mm_index *idx, const char *path, enum mm_index_kind kind, unsigned flags,
                  size_t max_bytes);
/* Unmap and close; 0 or the first -errno (the index is released either way). */
int mm_index_close(struct mm_index *idx);

/*
 * Append one entry. 0; KC_EFULL when the file has no room (the caller rolls the segment);
 * -EBADF for a read-only index; -EINVAL for a key not above the last one, a value that
 * breaks the ordering rule, an all-zero entry, or an offset-index key above UINT32_MAX;
 * -ENOSPC (or another -errno) when the disk cannot give the next entries' blocks: the
 * preallocated file is sparse, and a store into a page with no block behind it would be
 * a SIGBUS on a full disk, so blocks are reserved with fallocate(2) MM_INDEX_RESERVE_BYTES
 * at a time before any store reaches them. The entry is not added; a later call retries.
 * One appender at a time; concurrent lookups are safe.
 */
int mm_index_append(struct mm_index *idx, int64_t key, uint32_t value);

/*
 * Reserve the blocks of the next entries now (the stretch mm_index_append would reserve
 * for its next entry), while the caller still holds the index's descriptor: an index that
 * then drops it (mm_file_drop_fd) appends its first MM_INDEX_RESERVE_BYTES without
 * opening the file again. 0 (also when the stretch is reserved already), -EBADF for a
 * read-only index, or -errno (-ENOSPC) from fallocate: nothing is lost, the next append
 * tries again.
 */
int mm_index_reserve(struct mm_index *idx);

/*
 * The greatest entry whose key is <= key, by binary search (warm section first). 0 and *e
 * filled, or -ENOENT when every entry is above key (or there are none): the caller starts
 * from the segment's beginning. trace may be NULL. Safe concurrently with one appender.
 */
int mm_index_lookup(const struct mm_index *idx, int64_t key, struct mm_index_entry *e,
                    struct mm_index_trace *trace);

/*
 * Where mm_index_lookup's answer sits in the array: 0 and *i, or -ENOENT. With
 * mm_index_entry_at() a caller can also look at the entry after it (i + 1, if below
 * mm_index_entries()): in an offset index, the batch holding key starts before that
 * entry's position, which bounds how much of the .log a lookup must read.
 */
int mm_index_find(const struct mm_index *idx, int64_t key, size_t *i);

/*
 * Offset index only: the greatest entry whose POSITION (value) is <= pos, by binary search
 * (positions strictly increase, like keys). 0 and *e filled; -ENOENT when every entry lies
 * beyond pos (or there are none); -EINVAL for a time index. Safe concurrently with one
 * appender. appendLog uses it to jump ahead when a read may return many batches.
 */
int mm_index_lookup_position(const struct mm_index *idx, uint32_t pos, struct mm_index_entry *e);

/* Entry i (< mm_index_entries()). */
void mm_index_entry_at(const struct mm_index *idx, size_t i, struct mm_index_entry *e);
/* The last entry: 0, or -ENOENT when empty. */
int mm_index_last(const struct mm_index *idx, struct mm_index_entry *e);

static inline size_t mm_index_entries(const struct mm_index *idx)
{
    return atomic_load_explicit(&idx->entries, memory_order_acquire);
}

static inline bool mm_index_full(const struct mm_index *idx)
{
    return mm_index_entries(idx) >= idx->max_entries;
}

/*
 * Cut the file to its used entries (when a segment rolls or the log closes cleanly). The
 * mapping shrinks in place. After a trim the index is full; mm_index_resize makes it
 * appendable again. 0 or -errno.
 */
int mm_index_trim(struct mm_index *idx);
/* Preallocate again to max_bytes (rounded down to entries). May move the mapping. */
int mm_index_resize(struct mm_index *idx, size_t max_bytes);

/*
 * Drop every entry whose OFFSET is >= rel_offset (the key of an offset index, the value of
 * a time index); the dropped entries are zeroed so the zero-tail rule keeps holding.
 * Needs exclusive access. 0 or -EBADF (read-only).
 */
int mm_index_truncate_offset(struct mm_index *idx, int64_t rel_offset);
/* Drop every entry (as truncate to offset 0). */
int mm_index_reset(struct mm_index *idx);

/*
 * Sanity check: size a multiple of the entry size, no stray entries after the used prefix,
 * keys strictly increasing, positions increasing and < b->log_size (offset index),
 * relative offsets within [0, b->max_rel]. 0, or KC_ECORRUPT with *why (may be NULL) set
 * to a static description.
 */
int mm_index_check(const struct mm_index *idx, const struct mm_index_bounds *b, const char **why);

/* msync the used entries (MM_SYNC_NOW is the durability point for appended entries). */
int mm_index_sync(struct mm_index *idx, enum mm_sync mode);

#endif
