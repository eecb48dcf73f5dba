/* alog_hooks.c - see alog_hooks.h. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "alog_hooks.h"
#include "alog_int.h"
#include "kc_common.h"

void fx_hooks_init(struct fx_hooks *h)
{
    memset(h, 0, sizeof(*h));
    pthread_mutex_init(&h->m, NULL);
    pthread_cond_init(&h->c, NULL);
}

void fx_hooks_fini(struct fx_hooks *h)
{
    pthread_mutex_destroy(&h->m);
    pthread_cond_destroy(&h->c);
}

/* m held: widen fd's range in list by [lo, hi). */
static void range_add(struct fx_range *list, int *n, int fd, off_t lo, off_t hi)
{
    for (int i = 0; i < *n; i++) {
        if (list[i].fd == fd) {
            list[i].lo = lo < list[i].lo ? lo : list[i].lo;
            list[i].hi = hi > list[i].hi ? hi : list[i].hi;
            return;
        }
    }
    if (*n < FX_HOOK_FILES)
        list[(*n)++] = (struct fx_range){fd, lo, hi};
}

static void range_del(struct fx_range *list, int *n, int fd)
{
    for (int i = 0; i < *n; i++) {
        if (list[i].fd == fd) {
            memmove(&list[i], &list[i + 1], (size_t)(*n - i - 1) * sizeof(*list));
            (*n)--;
            return;
        }
    }
}

/* m held: a failed fdatasync with lose set: what was dirty is lost (the first file keeps
 * keep_bytes). The page cache is left alone: see drop_cache. */
static void lose_dirty(struct fx_hooks *h)
{
    for (int i = 0; i < h->ndirty; i++) {
        struct fx_range r = h->dirty[i];
        if (i == 0)
            r.lo += h->keep_bytes;
        if (r.lo < r.hi)
            range_add(h->lost, &h->nlost, r.fd, r.lo, r.hi);
    }
    h->ndirty = 0;
}

static int hook_fdatasync(void *ctx, int fd)
{
    struct fx_hooks *h = ctx;
    pthread_mutex_lock(&h->m);
    h->entered++;
    pthread_cond_broadcast(&h->c);
    while (h->closed)
        pthread_cond_wait(&h->c, &h->m);
    int err = h->fsync_err, delay = h->fsync_delay_ms;
    if (err) {
        h->fsyncs_failed++;
        if (h->lose)
            lose_dirty(h);
    }
    pthread_mutex_unlock(&h->m);
    if (delay)
        kc_sleep_ms(delay);
    if (err)
        return err;
    int rc = kc_fdatasync(fd);
    if (rc == 0) {
        pthread_mutex_lock(&h->m);
        range_del(h->dirty, &h->ndirty, fd);
        pthread_mutex_unlock(&h->m);
    }
    return rc;
}

static ssize_t hook_pwrite(void *ctx, int fd, const void *buf, size_t n, off_t off)
{
    struct fx_hooks *h = ctx;
    pthread_mutex_lock(&h->m);
    int err = h->write_fails != 0 ? h->write_err : 0;
    if (err && h->write_fails > 0)
        h->write_fails--;
    bool torn = h->write_torn;
    range_add(h->dirty, &h->ndirty, fd, off, off + (off_t)n);
    pthread_mutex_unlock(&h->m);
    if (!err)
        return kc_pwrite_all(fd, buf, n, off);
    if (torn) /* half of it reached the file: the shape a full disk or a crash leaves */
        (void)kc_pwrite_all(fd, buf, n / 2, off);
    return err;
}

static int hook_ftruncate(void *ctx, int fd, off_t size)
{
    struct fx_hooks *h = ctx;
    pthread_mutex_lock(&h->m);
    int err = h->truncate_err;
    pthread_mutex_unlock(&h->m);
    if (err)
        return err;
    return ftruncate(fd, size) == 0 ? 0 : -errno;
}

/* Pages of fd's [from, end of file) in the page cache right now. */
static long resident(int fd, off_t from)
{
    struct stat st;
    if (fstat(fd, &st) != 0 || st.st_size <= from)
        return 0;
    long page = sysconf(_SC_PAGESIZE);
    off_t start = from / page * page;
    size_t len = (size_t)(st.st_size - start);
    void *p = mmap(NULL, len, PROT_READ, MAP_SHARED, fd, start);
    if (p == MAP_FAILED)
        return -1;
    size_t pages = (len + (size_t)page - 1) / (size_t)page;
    unsigned char *vec = malloc(pages);
    long n = -1;
    if (vec && mincore(p, len, vec) == 0) {
        n = 0;
        for (size_t i = 0; i < pages; i++)
            n += vec[i] & 1;
    }
    free(vec);
    munmap(p, len);
    return n;
}

/* m held: what the disk holds for the lost bytes of fd at or after from: zeros. */
static void show_lost(struct fx_hooks *h, int fd, off_t from)
{
    struct stat st;
    for (int i = 0; i < h->nlost; i++) {
        struct fx_range r = h->lost[i];
        if (r.fd != fd || fstat(fd, &st) != 0)
            continue;
        off_t lo = r.lo > from ? r.lo : from, hi = r.hi < st.st_size ? r.hi : st.st_size;
        for (; lo < hi; lo += 4096) {
            static const uint8_t zeros[4096];
            size_t n = hi - lo < 4096 ? (size_t)(hi - lo) : 4096;
            assert_int_equal(kc_pwrite_all(fd, zeros, n, lo), (ssize_t)n);
        }
        range_del(h->lost, &h->nlost, fd);
        i--;
    }
}

static int hook_drop_cache(void *ctx, int fd, off_t from)
{
    struct fx_hooks *h = ctx;
    int rc = -posix_fadvise(fd, from, 0, POSIX_FADV_DONTNEED);
    pthread_mutex_lock(&h->m);
    if (h->ndrops < FX_HOOK_FILES) {
        struct fx_drop *d = &h->drops[h->ndrops++];
        char link[64];
        snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
        ssize_t n = readlink(link, d->path, sizeof(d->path) - 1);
        d->path[n > 0 ? n : 0] = '\0';
        d->from = from;
        d->resident_after = resident(fd, from);
    }
    show_lost(h, fd, from);
    pthread_mutex_unlock(&h->m);
    return rc;
}

void fx_hooks_install(struct alog *log, struct fx_hooks *h)
{
    struct alog_io io = {
        .pwrite = hook_pwrite,
        .fdatasync = hook_fdatasync,
        .ftruncate = hook_ftruncate,
        .drop_cache = hook_drop_cache,
        .ctx = h,
    };
    alog__set_io(log, &io);
}

void fx_hooks_fail_fsync(struct fx_hooks *h, int err, bool lose, off_t keep_bytes)
{
    pthread_mutex_lock(&h->m);
    h->fsync_err = err;
    h->lose = lose;
    h->keep_bytes = keep_bytes;
    pthread_mutex_unlock(&h->m);
}

void fx_hooks_fail_writes(struct fx_hooks *h, int err, int count, bool torn)
{
    pthread_mutex_lock(&h->m);
    h->write_err = err;
    h->write_fails = count;
    h->write_torn = torn;
    pthread_mutex_unlock(&h->m);
}

void fx_hooks_fail_truncate(struct fx_hooks *h, int err)
{
    pthread_mutex_lock(&h->m);
    h->truncate_err = err;
    pthread_mutex_unlock(&h->m);
}

void fx_hooks_gate(struct fx_hooks *h, bool closed)
{
    pthread_mutex_lock(&h->m);
    h->closed = closed;
    pthread_cond_broadcast(&h->c);
    pthread_mutex_unlock(&h->m);
}

void fx_hooks_delay(struct fx_hooks *h, int ms)
{
    pthread_mutex_lock(&h->m);
    h->fsync_delay_ms = ms;
    pthread_mutex_unlock(&h->m);
}

void fx_hooks_wait_entered(struct fx_hooks *h, int n)
{
    pthread_mutex_lock(&h->m);
    while (h->entered < n)
        pthread_cond_wait(&h->c, &h->m);
    pthread_mutex_unlock(&h->m);
}

void fx_hooks_snapshot(struct fx_hooks *h, struct fx_hooks *out)
{
    pthread_mutex_lock(&h->m);
    memcpy(out, h, sizeof(*out)); /* the copy's m and c are not to be used */
    pthread_mutex_unlock(&h->m);
}

void fx_tally_init(struct fx_tally *t)
{
    memset(t, 0, sizeof(*t));
    pthread_mutex_init(&t->m, NULL);
    pthread_cond_init(&t->c, NULL);
}

void fx_tally_cb(void *arg, int err)
{
    struct fx_tally *t = arg;
    pthread_mutex_lock(&t->m);
    t->done++;
    t->errors += err != 0;
    t->last_err = err;
    t->thread = pthread_self();
    pthread_cond_broadcast(&t->c);
    pthread_mutex_unlock(&t->m);
}

void fx_tally_wait(struct fx_tally *t, int n)
{
    int64_t deadline = kc_mono_ms() + FX_WAIT_LIMIT_MS;
    pthread_mutex_lock(&t->m);
    while (t->done < n && kc_mono_ms() < deadline) {
        pthread_mutex_unlock(&t->m);
        kc_sleep_ms(1);
        pthread_mutex_lock(&t->m);
    }
    int done = t->done;
    pthread_mutex_unlock(&t->m);
    if (done < n)
        fail_msg("only %d of %d callbacks in %d ms", done, n, FX_WAIT_LIMIT_MS);
}
