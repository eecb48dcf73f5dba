/*
 * shim.c - libkc_fault.so: the LD_PRELOAD half of fault injection (see flt.h).
 *
 * Each wrapper asks one question before calling the real function: is a fault armed for
 * this kind of call, on this file? The fast path (nothing armed) is a single atomic load.
 * When armed, the file's path comes from /proc/self/fd, and only regular files can fail,
 * so the process under test keeps talking to its sockets and can report the error.
 *
 * syncfs is wrapped for the power-cut model only (it never fails on purpose): a store
 * makes many logs durable with one syncfs of its data directory (appendLog/src/store.c).
 *
 * Written for glibc on Linux; the real functions are found with dlsym(RTLD_NEXT, ...).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* when built outside the Makefile */
#endif
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "flt.h"

static struct flt_ctl *ctl; /* set once by the constructor, read-only afterwards */

static ssize_t (*real_write)(int, const void *, size_t);
static ssize_t (*real_pwrite)(int, const void *, size_t, off_t);
static ssize_t (*real_pwrite64)(int, const void *, size_t, off_t);
static ssize_t (*real_writev)(int, const struct iovec *, int);
static ssize_t (*real_pwritev)(int, const struct iovec *, int, off_t);
static int (*real_fsync)(int);
static int (*real_fdatasync)(int);
static int (*real_syncfs)(int);
static int (*real_rename)(const char *, const char *);
static int (*real_renameat)(int, const char *, int, const char *);

__attribute__((constructor)) static void shim_init(void)
{
    real_write = dlsym(RTLD_NEXT, "write");
    real_pwrite = dlsym(RTLD_NEXT, "pwrite");
    real_pwrite64 = dlsym(RTLD_NEXT, "pwrite64");
    real_writev = dlsym(RTLD_NEXT, "writev");
    real_pwritev = dlsym(RTLD_NEXT, "pwritev");
    real_fsync = dlsym(RTLD_NEXT, "fsync");
    real_fdatasync = dlsym(RTLD_NEXT, "fdatasync");
    real_syncfs = dlsym(RTLD_NEXT, "syncfs");
    real_rename = dlsym(RTLD_NEXT, "rename");
    real_renameat = dlsym(RTLD_NEXT, "renameat");

    const char *path = getenv("KC_FAULT_CTL");
    if (!path)
        return;
    int fd = open(path, O_RDWR | O_CLOEXEC);
    if (fd < 0)
        return;
    void *p = mmap(NULL, sizeof(struct flt_ctl), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    (void)close(fd); /* the mapping holds the file */
    if (p != MAP_FAILED && ((struct flt_ctl *)p)->magic == FLT_MAGIC)
        ctl = p;
}

static int path_matches(const char *path)
{
    return ctl->match[0] == '\0' || strstr(path, ctl->match) != NULL;
}

static int fd_matches(int fd)
{
    struct stat st;
    char link[64], path[4096];
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
        return 0;
    snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
    ssize_t n = readlink(link, path, sizeof(path) - 1);
    if (n < 0)
        return 0;
    path[n] = '\0';
    return path_matches(path);
}

/* Take one failure from the budget; returns the errno to fail with, or 0 to pass. */
static int take_failure(void)
{
    int left = atomic_load(&ctl->remaining);
    while (left != 0) {
        if (left < 0 || atomic_compare_exchange_weak(&ctl->remaining, &left, left - 1)) {
            atomic_fetch_add(&ctl->hits, 1);
            return atomic_load(&ctl->err);
        }
    }
    return 0;
}

/* The errno this call must fail with (0: call the real function). */
static int armed_fd(uint32_t op, int fd)
{
    if (!ctl || !(atomic_load(&ctl->ops) & op) || !fd_matches(fd))
        return 0;
    return take_failure();
}

static void maybe_slow(uint32_t op, int fd);

/* A failing write in partial mode first stores half its bytes (a torn write). */
static ssize_t fail_write(int err, int fd, const void *buf, size_t n, off_t off, int positional)
{
    if (atomic_load(&ctl->partial) && n > 1) {
        atomic_fetch_add(&ctl->remaining, atomic_load(&ctl->remaining) >= 0 ? 1 : 0);
        return positional ? real_pwrite(fd, buf, n / 2, off) : real_write(fd, buf, n / 2);
    }
    errno = err;
    return -1;
}

ssize_t write(int fd, const void *buf, size_t n)
{
    maybe_slow(FLT_WRITE, fd); /* a slow disk: the write sleeps first */
    int err = armed_fd(FLT_WRITE, fd);
    return err ? fail_write(err, fd, buf, n, 0, 0) : real_write(fd, buf, n);
}

ssize_t pwrite(int fd, const void *buf, size_t n, off_t off)
{
    maybe_slow(FLT_WRITE, fd); /* a slow disk: the write sleeps first */
    int err = armed_fd(FLT_WRITE, fd);
    return err ? fail_write(err, fd, buf, n, off, 1) : real_pwrite(fd, buf, n, off);
}

ssize_t pwrite64(int fd, const void *buf, size_t n, off_t off)
{
    maybe_slow(FLT_WRITE, fd); /* a slow disk: the write sleeps first */
    int err = armed_fd(FLT_WRITE, fd);
    return err ? fail_write(err, fd, buf, n, off, 1) : real_pwrite64(fd, buf, n, off);
}

ssize_t writev(int fd, const struct iovec *iov, int cnt)
{
    maybe_slow(FLT_WRITE, fd); /* a slow disk: the write sleeps first */
    int err = armed_fd(FLT_WRITE, fd);
    if (err) {
        errno = err;
        return -1;
    }
    return real_writev(fd, iov, cnt);
}

ssize_t pwritev(int fd, const struct iovec *iov, int cnt, off_t off)
{
    maybe_slow(FLT_WRITE, fd); /* a slow disk: the write sleeps first */
    int err = armed_fd(FLT_WRITE, fd);
    if (err) {
        errno = err;
        return -1;
    }
    return real_pwritev(fd, iov, cnt, off);
}

/* ---- the power-cut model: what an fsync made durable (see flt.h) ---------------------- */

#define SHIM_DIR_NAMES 512

static int ends_with_log(const char *name)
{
    size_t n = strlen(name);
    return n > 4 && strcmp(name + n - 4, ".log") == 0;
}

/* What one fsync is about: a .log file (size before the call) or a directory (the .log
 * names in it before the call). Everything observed before a successful fsync is durable
 * after it. */
struct sync_note {
    int kind; /* 0 nothing, 1 file, 2 directory */
    char path[FLT_SYNC_PATH_MAX];
    uint64_t ino, size;
    int nnames;
    uint64_t inos[SHIM_DIR_NAMES];
    char (*names)[FLT_SYNC_PATH_MAX];
};

static void note_dir(struct sync_note *n)
{
    DIR *d = opendir(n->path);
    struct dirent *de;
    struct stat st;
    char full[FLT_SYNC_PATH_MAX + 64];
    n->names = d ? malloc(SHIM_DIR_NAMES * sizeof(*n->names)) : NULL;
    while (n->names && (de = readdir(d)) != NULL && n->nnames < SHIM_DIR_NAMES) {
        if (!ends_with_log(de->d_name))
            continue;
        int len = snprintf(full, sizeof(full), "%s/%s", n->path, de->d_name);
        if (len <= 0 || len >= FLT_SYNC_PATH_MAX || stat(full, &st) != 0)
            continue;
        memcpy(n->names[n->nnames], full, (size_t)len + 1);
        n->inos[n->nnames++] = (uint64_t)st.st_ino;
    }
    if (d)
        (void)closedir(d); /* a directory stream: nothing to lose */
}

static void note_before(int fd, struct sync_note *n)
{
    struct stat st;
    char link[64];
    n->kind = 0;
    n->nnames = 0;
    n->names = NULL;
    if (!ctl || !atomic_load(&ctl->track_sync) || fstat(fd, &st) != 0)
        return;
    snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
    ssize_t len = readlink(link, n->path, sizeof(n->path) - 1);
    if (len <= 0)
        return;
    n->path[len] = '\0';
    if (S_ISREG(st.st_mode) && ends_with_log(n->path)) {
        n->kind = 1;
        n->ino = (uint64_t)st.st_ino;
        n->size = (uint64_t)st.st_size;
    } else if (S_ISDIR(st.st_mode)) {
        n->kind = 2;
        note_dir(n);
    }
}

static void note_after(struct sync_note *n, int rc)
{
    if (rc == 0 && n->kind == 1) {
        struct flt_sync *s = flt__sync_slot(ctl, n->path, n->ino, 1);
        if (s)
            atomic_store(&s->synced, n->size);
        atomic_fetch_add(&ctl->syncs_seen, 1);
    }
    for (int i = 0; rc == 0 && n->kind == 2 && i < n->nnames; i++) {
        struct flt_sync *s = flt__sync_slot(ctl, n->names[i], n->inos[i], 1);
        if (s)
            atomic_store(&s->dirent, 1);
    }
    free(n->names);
}

/* A slow disk (flt_slow): an armed call with no errno to fail with sleeps, then runs. */
static void maybe_slow(uint32_t op, int fd)
{
    if (!ctl || !(atomic_load(&ctl->ops) & op) || atomic_load(&ctl->err) != 0)
        return;
    int ms = atomic_load(&ctl->delay_ms);
    if (ms <= 0 || !fd_matches(fd))
        return;
    atomic_fetch_add(&ctl->hits, 1);
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

/* flt_lose: a failing fsync of a .log file loses the bytes no successful fsync covered. */
static void lose_unsynced(int fd)
{
    int ms = atomic_load(&ctl->lose_ms);
    struct stat st;
    char link[64], path[FLT_SYNC_PATH_MAX];
    if (!atomic_load(&ctl->lose) || !atomic_load(&ctl->track_sync) || fstat(fd, &st) != 0)
        return;
    snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
    ssize_t len = readlink(link, path, sizeof(path) - 1);
    if (len <= 0 || len >= (ssize_t)sizeof(path) - 1)
        return;
    path[len] = '\0';
    if (!S_ISREG(st.st_mode) || !ends_with_log(path))
        return;
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (ms > 0 && nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
    struct flt_sync *s = flt__sync_slot(ctl, path, (uint64_t)st.st_ino, 0);
    static const char zeros[65536];
    off_t from = s ? (off_t)atomic_load(&s->synced) : 0;
    if (fstat(fd, &st) != 0)
        return;
    for (off_t at = from; at < st.st_size;) {
        size_t n = (size_t)(st.st_size - at) < sizeof(zeros) ? (size_t)(st.st_size - at)
                                                            : sizeof(zeros);
        ssize_t w = real_pwrite(fd, zeros, n, at);
        if (w <= 0)
            return;
        at += w;
    }
}

static int sync_call(int fd, int (*real)(int))
{
    maybe_slow(FLT_FSYNC, fd);
    int err = armed_fd(FLT_FSYNC, fd);
    if (err) {
        lose_unsynced(fd);
        errno = err;
        return -1;
    }
    struct sync_note note;
    note_before(fd, &note);
    int rc = real(fd);
    int saved = errno;
    note_after(&note, rc);
    errno = saved;
    return rc;
}

int fsync(int fd)
{
    return sync_call(fd, real_fsync);
}

int fdatasync(int fd)
{
    return sync_call(fd, real_fdatasync);
}

/*
 * syncfs(2) writes back every dirty page and commits the journal of the whole file
 * system: every byte written and every name created before the call is durable after it.
 * The model takes it as an fsync of every .log file under the directory it was called on,
 * and of their directories (files elsewhere on the same file system are left as they
 * were: stricter than the disk, never more generous).
 */
#define SHIM_WALK_DEPTH 4

struct walk_seen {
    uint64_t ino, size;
    char path[FLT_SYNC_PATH_MAX];
};

struct walk {
    struct walk_seen *v;
    size_t n, cap;
};

static void walk_add(struct walk *w, const char *path, const struct stat *st)
{
    if (w->n == w->cap) {
        size_t cap = w->cap ? 2 * w->cap : 64;
        struct walk_seen *v = realloc(w->v, cap * sizeof(*v));
        if (!v)
            return; /* not noted: the model stays stricter than the disk */
        w->v = v;
        w->cap = cap;
    }
    struct walk_seen *e = &w->v[w->n++];
    e->ino = (uint64_t)st->st_ino;
    e->size = (uint64_t)st->st_size;
    memcpy(e->path, path, strlen(path) + 1);
}

/* Every .log file under dir (its size and inode before the call), depth levels down. */
static void walk_dir(struct walk *w, const char *dir, int depth)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    struct stat st;
    char full[FLT_SYNC_PATH_MAX + 256];
    while (d && (de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        int len = snprintf(full, sizeof(full), "%s/%s", dir, de->d_name);
        if (len <= 0 || len >= FLT_SYNC_PATH_MAX || lstat(full, &st) != 0)
            continue;
        if (S_ISDIR(st.st_mode) && depth > 0)
            walk_dir(w, full, depth - 1);
        else if (S_ISREG(st.st_mode) && ends_with_log(de->d_name))
            walk_add(w, full, &st);
    }
    if (d)
        (void)closedir(d); /* a directory stream: nothing to lose */
}

int syncfs(int fd)
{
    struct walk w = {NULL, 0, 0};
    struct stat st;
    char link[64], path[FLT_SYNC_PATH_MAX];
    ssize_t len = -1;
    if (ctl && atomic_load(&ctl->track_sync) && fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
        snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
        len = readlink(link, path, sizeof(path) - 1);
    }
    if (len > 0) {
        path[len] = '\0';
        walk_dir(&w, path, SHIM_WALK_DEPTH);
    }
    int rc = real_syncfs(fd);
    int saved = errno;
    for (size_t i = 0; rc == 0 && i < w.n; i++) {
        struct flt_sync *s = flt__sync_slot(ctl, w.v[i].path, w.v[i].ino, 1);
        if (s) {
            atomic_store(&s->synced, w.v[i].size);
            atomic_store(&s->dirent, 1);
        }
    }
    free(w.v);
    errno = saved;
    return rc;
}

static int armed_rename(const char *from, const char *to)
{
    if (!ctl || !(atomic_load(&ctl->ops) & FLT_RENAME))
        return 0;
    if (!path_matches(from) && !path_matches(to))
        return 0;
    return take_failure();
}

int rename(const char *from, const char *to)
{
    int err = armed_rename(from, to);
    if (err) {
        errno = err;
        return -1;
    }
    return real_rename(from, to);
}

int renameat(int fromfd, const char *from, int tofd, const char *to)
{
    int err = armed_rename(from, to);
    if (err) {
        errno = err;
        return -1;
    }
    return real_renameat(fromfd, from, tofd, to);
}
