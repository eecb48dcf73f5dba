/*
 * mm.h - a file mapped into memory: open, map, grow, msync, advise, unmap.
 *
 * Technique. mmap(2) makes a file's page-cache pages part of the process's address space:
 * a load from the mapping is a read of the file, without a system call or a copy, and a
 * store to a MAP_SHARED writable mapping changes the file (the kernel writes the dirty
 * page back later, or now if you msync(2) it). Kafka maps its .index and .timeindex files
 * this way; a lookup is then a binary search over plain memory.
 *
 *   file  [ page 0 | page 1 | page 2 | ... | page n ]      ftruncate(2) sets its size
 *            ^                                 ^
 *   map   base                          base + len        mmap(2), mremap(2), munmap(2)
 *
 * Syscalls: open, fstat, ftruncate, mmap, mremap (grow: MREMAP_MAYMOVE; shrink: in place),
 * msync (MS_SYNC / MS_ASYNC), madvise, munmap, close.
 *
 * Rules:
 *  - POINTER LIFETIME: mm_file_data() and every pointer derived from it are valid until the
 *    next mm_file_resize() that GROWS the file (the mapping may move) or mm_file_close().
 *    A shrink keeps the address, so pointers below the new size stay valid.
 *  - Touching a mapping beyond the file's end raises SIGBUS, not an error code: nobody may
 *    truncate a mapped file behind this object's back. mm_file_resize() always orders the
 *    two steps so that this cannot happen to the caller (grow: ftruncate, then remap;
 *    shrink: remap, then ftruncate).
 *  - An empty file has no mapping (mmap refuses length 0): data is NULL and size 0.
 *  - Not thread-safe as an object: one thread resizes/closes, and only while no other
 *    thread is reading through a pointer that the resize could invalidate. Loads and stores
 *    through the mapping follow the usual C memory model (publish with atomics).
 *  - A mapping does not need its descriptor: mmap takes its own reference to the file, so
 *    mm_file_drop_fd() closes the fd and the mapping stays valid. A process with a hundred
 *    thousand mapped indexes cannot keep a descriptor for each (ulimit -n). The few calls
 *    that need one (resize, mm_file_get_fd) then open the file again, by the path it was
 *    opened with, for the length of the call: the path must still name the same file
 *    (nobody renames over a file while it is mapped and resized).
 *
 * Differences from Kafka: Kafka (Java) maps with MappedByteBuffer and cannot unmap
 * explicitly (it calls a Cleaner hack); here munmap is immediate and deterministic.
 *
 * Read next: mm_index.h (Kafka's .index and .timeindex on top of this).
 */
#ifndef MM_H
#define MM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Flags for mm_file_open. */
enum {
    MM_READ = 0,         /* map read-only (PROT_READ) */
    MM_WRITE = 1u << 0,  /* map read-write (PROT_READ|PROT_WRITE, MAP_SHARED) */
    MM_CREATE = 1u << 1, /* create the file if missing (with MM_WRITE) */
    MM_TRUNC = 1u << 2,  /* empty the file first (with MM_WRITE) */
};

enum mm_sync {
    MM_SYNC_NOW = 0,   /* msync(MS_SYNC): returns once the pages are written to the file */
    MM_SYNC_ASYNC = 1, /* msync(MS_ASYNC): start writeback (on Linux: a no-op hint) */
};

enum mm_advice {
    MM_ADV_NORMAL = 0,
    MM_ADV_RANDOM,     /* no read-ahead: binary searches jump around */
    MM_ADV_SEQUENTIAL, /* aggressive read-ahead: a scan from start to end */
    MM_ADV_WILLNEED,   /* read these pages in now */
    MM_ADV_DONTNEED,   /* we are done with these pages for now */
};

struct mm_file {
    int fd;        /* -1 after mm_file_drop_fd */
    uint8_t *base; /* NULL when len == 0 */
    size_t len;    /* mapped length == file size */
    bool writable;
    char *path;    /* NULL when closed: the object is open iff path != NULL */
};

/*
 * Open path and map all of it. With MM_WRITE and min_size > current size, the file is
 * first extended to min_size (ftruncate: the new bytes read as zero and take no disk
 * blocks until written). Returns 0 and fills *mf, or -errno. *mf is written only on
 * success; the caller owns it and must mm_file_close() it.
 */
int mm_file_open(struct mm_file *mf, const char *path, unsigned flags, size_t min_size);

/*
 * Set the file's size to size bytes and remap. Growing may MOVE the mapping: every pointer
 * into it is invalid afterwards. Shrinking keeps the address. Needs MM_WRITE (-EBADF
 * otherwise). On failure the object is unchanged and still usable (the file's size may
 * already have grown; it is cut back best-effort).
 */
int mm_file_resize(struct mm_file *mf, size_t size);

/*
 * msync the pages covering [off, off+len) (rounded out to whole pages; clipped to the
 * mapping). MM_SYNC_NOW is the durability point for stores made through the mapping (the
 * file's size is metadata: fsync the fd as well after a resize). -errno on failure.
 */
int mm_file_sync(struct mm_file *mf, size_t off, size_t len, enum mm_sync mode);

/* madvise over [off, off+len), rounded to pages and clipped. A hint: 0 or -errno. */
int mm_file_advise(struct mm_file *mf, size_t off, size_t len, enum mm_advice advice);

/*
 * Unmap and close. Returns 0 or the first -errno met (close(2) can report a deferred write
 * error); the object is released either way and left with fd -1 and no mapping.
 * Closing an already closed (or zeroed-then-fd=-1) object is a no-op.
 */
int mm_file_close(struct mm_file *mf);

/* Close the descriptor, keep the mapping (see the rules above). 0 or -errno; idempotent. */
int mm_file_drop_fd(struct mm_file *mf);
/*
 * A descriptor for the file: the object's own, or, after mm_file_drop_fd, a new one opened
 * by path (read-write if the object is writable). Give it back with mm_file_put_fd, which
 * closes it only if it was opened here. -errno (-EMFILE when the process has none left).
 */
int mm_file_get_fd(struct mm_file *mf);
void mm_file_put_fd(struct mm_file *mf, int fd);

static inline bool mm_file_is_open(const struct mm_file *mf)
{
    return mf->path != NULL;
}

static inline uint8_t *mm_file_data(const struct mm_file *mf)
{
    return mf->base;
}

static inline size_t mm_file_size(const struct mm_file *mf)
{
    return mf->len;
}

/* The system page size (cached; thread-safe). */
size_t mm_page_size(void);

#endif
