/*
 * fs.c - short reads and writes, EINTR, and the fsyncs durability needs (see kc_fs.h).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kc_err.h"
#include "kc_fs.h"

ssize_t kc_write_all(int fd, const void *buf, size_t n)
{
    const char *p = buf;
    size_t done = 0;
    while (done < n) {
        ssize_t w = write(fd, p + done, n - done);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        done += (size_t)w;
    }
    return (ssize_t)n;
}

ssize_t kc_pwrite_all(int fd, const void *buf, size_t n, off_t off)
{
    const char *p = buf;
    size_t done = 0;
    while (done < n) {
        ssize_t w = pwrite(fd, p + done, n - done, off + (off_t)done);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        done += (size_t)w;
    }
    return (ssize_t)n;
}

ssize_t kc_read_full(int fd, void *buf, size_t n)
{
    char *p = buf;
    size_t done = 0;
    while (done < n) {
        ssize_t r = read(fd, p + done, n - done);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        if (r == 0)
            break;
        done += (size_t)r;
    }
    return (ssize_t)done;
}

ssize_t kc_pread_full(int fd, void *buf, size_t n, off_t off)
{
    char *p = buf;
    size_t done = 0;
    while (done < n) {
        ssize_t r = pread(fd, p + done, n - done, off + (off_t)done);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        if (r == 0)
            break;
        done += (size_t)r;
    }
    return (ssize_t)done;
}

int kc_fsync(int fd)
{
    return fsync(fd) == 0 ? 0 : -errno;
}

int kc_fdatasync(int fd)
{
    return fdatasync(fd) == 0 ? 0 : -errno;
}

int kc_fsync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    int rc = kc_fsync(fd);
    (void)close(fd); /* read-only directory fd: close cannot lose data */
    return rc;
}

int kc_fsync_parent(const char *path)
{
    char dir[PATH_MAX];
    const char *slash = strrchr(path, '/');
    if (!slash)
        return kc_fsync_dir(".");
    size_t n = (size_t)(slash - path);
    if (n == 0)
        return kc_fsync_dir("/");
    if (n >= sizeof(dir))
        return -ENAMETOOLONG;
    memcpy(dir, path, n);
    dir[n] = '\0';
    return kc_fsync_dir(dir);
}

int kc_atomic_replace(const char *path, const void *data, size_t len)
{
    char tmp[PATH_MAX];
    if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
        return -ENAMETOOLONG;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return -errno;
    ssize_t w = kc_write_all(fd, data, len);
    int rc = w < 0 ? (int)w : kc_fsync(fd);
    if (close(fd) < 0 && rc == 0)
        rc = -errno;
    if (rc == 0 && rename(tmp, path) < 0)
        rc = -errno;
    if (rc < 0) {
        (void)unlink(tmp); /* best effort: a stale .tmp is ignored and overwritten next time */
        return rc;
    }
    /* The rename is durable only once the directory entry is: this is the commit point. */
    return kc_fsync_parent(path);
}

int kc_read_file(const char *path, size_t max, char **data, size_t *len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    int rc = 0;
    char *buf = NULL;
    struct stat st;
    if (fstat(fd, &st) < 0) {
        rc = -errno;
        goto out;
    }
    if ((uint64_t)st.st_size > max) {
        rc = KC_ETOOLARGE;
        goto out;
    }
    buf = malloc((size_t)st.st_size + 1);
    if (!buf) {
        rc = -ENOMEM;
        goto out;
    }
    ssize_t r = kc_read_full(fd, buf, (size_t)st.st_size);
    if (r < 0) {
        rc = (int)r;
        goto out;
    }
    buf[r] = '\0';
    *data = buf;
    *len = (size_t)r;
    buf = NULL;
out:
    free(buf);
    (void)close(fd); /* read-only: nothing to lose */
    return rc;
}

int kc_mkdir_p(const char *path, mode_t mode)
{
    char buf[PATH_MAX];
    size_t n = strlen(path);
    if (n == 0)
        return -EINVAL;
    if (n >= sizeof(buf))
        return -ENAMETOOLONG;
    memcpy(buf, path, n + 1);
    for (char *p = buf + 1; ; p++) {
        if (*p != '/' && *p != '\0')
            continue;
        char c = *p;
        *p = '\0';
        if (mkdir(buf, mode) < 0 && errno != EEXIST)
            return -errno;
        *p = c;
        if (c == '\0')
            break;
    }
    struct stat st;
    if (stat(path, &st) < 0)
        return -errno;
    return S_ISDIR(st.st_mode) ? 0 : -ENOTDIR;
}

int kc_rm_rf(const char *path)
{
    struct stat st;
    if (lstat(path, &st) < 0)
        return errno == ENOENT ? 0 : -errno;
    if (!S_ISDIR(st.st_mode))
        return unlink(path) == 0 ? 0 : -errno;
    DIR *d = opendir(path);
    if (!d)
        return -errno;
    int rc = 0;
    struct dirent *de;
    char child[PATH_MAX];
    while (rc == 0 && (de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        rc = kc_path_join(child, sizeof(child), path, de->d_name);
        if (rc == 0)
            rc = kc_rm_rf(child);
    }
    (void)closedir(d); /* a directory stream: nothing to flush */
    if (rc == 0 && rmdir(path) < 0)
        rc = -errno;
    return rc;
}

int kc_mkdtemp(const char *prefix, char *out, size_t cap)
{
    const char *tmp = getenv("TMPDIR");
    if (!tmp || !*tmp)
        tmp = "/tmp";
    if ((size_t)snprintf(out, cap, "%s/%sXXXXXX", tmp, prefix) >= cap)
        return KC_ETOOLARGE;
    return mkdtemp(out) ? 0 : -errno;
}

int kc_path_join(char *out, size_t cap, const char *a, const char *b)
{
    int n = snprintf(out, cap, "%s/%s", a, b);
    return n < 0 || (size_t)n >= cap ? KC_ETOOLARGE : 0;
}
