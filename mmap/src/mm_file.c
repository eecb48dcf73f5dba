/*
 * mm_file.c - one file, one shared mapping of all of it (see mm.h).
 *
 * The two orders that keep SIGBUS away:
 *
 *   grow:    ftruncate(fd, new)  ->  mremap(base, old, new, MREMAP_MAYMOVE)
 *   shrink:  mremap(base, old, new, 0)  (in place)  ->  ftruncate(fd, new)
 *
 * The mapping never covers bytes the file does not have. A mapping covers whole pages; the
 * bytes between the file's end and the end of its last page read as zero and are not
 * written back, which is harmless.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kc_err.h"
#include "mm.h"

size_t mm_page_size(void)
{
    static _Atomic size_t cached;
    size_t ps = atomic_load_explicit(&cached, memory_order_relaxed);
    if (ps == 0) {
        long v = sysconf(_SC_PAGESIZE);
        ps = v > 0 ? (size_t)v : 4096;
        atomic_store_explicit(&cached, ps, memory_order_relaxed);
    }
    return ps;
}

static int map_whole(int fd, size_t len, bool writable, uint8_t **base)
{
    if (len == 0) {
        *base = NULL;
        return 0;
    }
    int prot = PROT_READ | (writable ? PROT_WRITE : 0);
    void *p = mmap(NULL, len, prot, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED)
        return -errno;
    *base = p;
    return 0;
}

static int open_flags(unsigned flags)
{
    if (!(flags & MM_WRITE))
        return O_RDONLY | O_CLOEXEC;
    int of = O_RDWR | O_CLOEXEC;
    if (flags & MM_CREATE)
        of |= O_CREAT;
    if (flags & MM_TRUNC)
        of |= O_TRUNC;
    return of;
}

int mm_file_open(struct mm_file *mf, const char *path, unsigned flags, size_t min_size)
{
    bool writable = flags & MM_WRITE;
    char *copy = strdup(path);
    if (!copy)
        return -ENOMEM;
    int fd = open(path, open_flags(flags), 0644);
    if (fd < 0) {
        free(copy);
        return -errno;
    }
    int rc = 0;
    struct stat st;
    if (fstat(fd, &st) < 0) {
        rc = -errno;
        goto fail;
    }
    size_t len = (size_t)st.st_size;
    if (writable && len < min_size) {
        if (ftruncate(fd, (off_t)min_size) < 0) {
            rc = -errno;
            goto fail;
        }
        len = min_size;
    }
    uint8_t *base = NULL;
    rc = map_whole(fd, len, writable, &base);
    if (rc)
        goto fail;
    mf->fd = fd;
    mf->base = base;
    mf->len = len;
    mf->writable = writable;
    mf->path = copy;
    return 0;
fail:
    (void)close(fd); /* nothing was written through this fd that close could lose */
    free(copy);
    return rc;
}

int mm_file_get_fd(struct mm_file *mf)
{
    if (mf->fd >= 0)
        return mf->fd;
    if (!mf->path)
        return -EBADF;
    int fd = open(mf->path, (mf->writable ? O_RDWR : O_RDONLY) | O_CLOEXEC);
    return fd >= 0 ? fd : -errno;
}

void mm_file_put_fd(struct mm_file *mf, int fd)
{
    if (fd >= 0 && fd != mf->fd)
        (void)close(fd); /* a second descriptor of a file the mapping keeps: nothing lost */
}

int mm_file_drop_fd(struct mm_file *mf)
{
    if (mf->fd < 0)
        return 0;
    int rc = close(mf->fd) == 0 ? 0 : -errno;
    mf->fd = -1;
    return rc;
}

/* Move the mapping from len to size bytes; the file already has at least size bytes. */
static int remap(struct mm_file *mf, int fd, size_t size, bool may_move)
{
    if (size == 0) {
        if (mf->base && munmap(mf->base, mf->len) < 0)
            return -errno;
        mf->base = NULL;
        return 0;
    }
    if (!mf->base)
        return map_whole(fd, size, mf->writable, &mf->base);
    void *p = mremap(mf->base, mf->len, size, may_move ? MREMAP_MAYMOVE : 0);
    if (p == MAP_FAILED)
        return -errno;
    /* A shrink returns the same address; not storing it again keeps concurrent readers of
     * mf->base (mm_index lookups during a trim) free of a write they could race with. */
    if (p != mf->base)
        mf->base = p;
    return 0;
}

static int resize_with(struct mm_file *mf, int fd, size_t size)
{
    int rc;
    if (size > mf->len) {
        if (ftruncate(fd, (off_t)size) < 0)
            return -errno;
        rc = remap(mf, fd, size, true);
        if (rc) {
            /* Best effort: a longer file with a zero tail is still a valid file. */
            (void)ftruncate(fd, (off_t)mf->len);
            return rc;
        }
    } else {
        rc = remap(mf, fd, size, false); /* shrink in place: pointers below size survive */
        if (rc)
            return rc;
        if (ftruncate(fd, (off_t)size) < 0) {
            mf->len = size; /* the mapping did shrink; the file is merely longer */
            return -errno;
        }
    }
    mf->len = size;
    return 0;
}

int mm_file_resize(struct mm_file *mf, size_t size)
{
    if (!mf->writable)
        return -EBADF;
    if (size == mf->len)
        return 0;
    int fd = mm_file_get_fd(mf);
    if (fd < 0)
        return fd;
    int rc = resize_with(mf, fd, size);
    mm_file_put_fd(mf, fd);
    return rc;
}

/* Round [off, off+len) out to whole pages and clip to the mapping; false if empty. */
static bool page_range(const struct mm_file *mf, size_t off, size_t len, uint8_t **p, size_t *n)
{
    if (!mf->base || off >= mf->len || len == 0)
        return false;
    if (len > mf->len - off)
        len = mf->len - off;
    size_t ps = mm_page_size();
    size_t start = off / ps * ps;
    *p = mf->base + start;
    *n = off + len - start;
    return true;
}

int mm_file_sync(struct mm_file *mf, size_t off, size_t len, enum mm_sync mode)
{
    uint8_t *p;
    size_t n;
    if (!page_range(mf, off, len, &p, &n))
        return 0;
    int flags = mode == MM_SYNC_ASYNC ? MS_ASYNC : MS_SYNC;
    return msync(p, n, flags) == 0 ? 0 : -errno;
}

int mm_file_advise(struct mm_file *mf, size_t off, size_t len, enum mm_advice advice)
{
    static const int table[] = {
        [MM_ADV_NORMAL] = MADV_NORMAL,         [MM_ADV_RANDOM] = MADV_RANDOM,
        [MM_ADV_SEQUENTIAL] = MADV_SEQUENTIAL, [MM_ADV_WILLNEED] = MADV_WILLNEED,
        [MM_ADV_DONTNEED] = MADV_DONTNEED,
    };
    if ((unsigned)advice >= sizeof(table) / sizeof(table[0]))
        return -EINVAL;
    uint8_t *p;
    size_t n;
    if (!page_range(mf, off, len, &p, &n))
        return 0;
    return madvise(p, n, table[advice]) == 0 ? 0 : -errno;
}

int mm_file_close(struct mm_file *mf)
{
    int rc = 0;
    if (mf->base && munmap(mf->base, mf->len) < 0)
        rc = -errno;
    if (mf->fd >= 0 && close(mf->fd) < 0 && rc == 0)
        rc = -errno;
    free(mf->path);
    mf->path = NULL;
    mf->base = NULL;
    mf->len = 0;
    mf->fd = -1;
    return rc;
}
