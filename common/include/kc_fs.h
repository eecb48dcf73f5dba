/*
 * kc_fs.h - file helpers that get the boring parts of durability right, once.
 *
 * read(2) and write(2) may transfer fewer bytes than asked and may be interrupted by a
 * signal (EINTR); every caller in this project goes through these helpers instead of
 * handling that again. Durability needs two fsyncs people forget:
 *
 *   create/rename a file  ->  fsync the file, then fsync the DIRECTORY that names it
 *
 * kc_atomic_replace() is the whole dance for small state files (checkpoints):
 *
 *   write path.tmp -> fsync(path.tmp) -> rename(path.tmp, path) -> fsync(dir)
 *
 * after which a crash leaves either the old contents or the new, never a mix.
 *
 * All functions return 0 (or a byte count) on success and -errno on failure.
 */
#ifndef KC_FS_H
#define KC_FS_H

#include <stddef.h>
#include <sys/types.h>

/* Write all n bytes (retrying short writes and EINTR); returns n or -errno. */
ssize_t kc_write_all(int fd, const void *buf, size_t n);
ssize_t kc_pwrite_all(int fd, const void *buf, size_t n, off_t off);
/* Read until n bytes or end of file; returns the count read (< n only at EOF) or -errno. */
ssize_t kc_read_full(int fd, void *buf, size_t n);
ssize_t kc_pread_full(int fd, void *buf, size_t n, off_t off);

int kc_fsync(int fd);
int kc_fdatasync(int fd);
int kc_fsync_dir(const char *dir);
/* fsync the directory that contains path. */
int kc_fsync_parent(const char *path);

/* Replace path's contents atomically and durably (see above). */
int kc_atomic_replace(const char *path, const void *data, size_t len);
/* Read a whole small file (at most max bytes, else KC_ETOOLARGE) into a malloc'ed,
 * NUL-terminated buffer the caller frees. */
int kc_read_file(const char *path, size_t max, char **data, size_t *len);

/* mkdir -p: create path and missing parents; an existing directory is success. */
int kc_mkdir_p(const char *path, mode_t mode);
/* rm -rf: remove path and everything under it; a missing path is success. */
int kc_rm_rf(const char *path);
/* Make a fresh directory "$TMPDIR/<prefix>XXXXXX" and write its path to out[cap]. */
int kc_mkdtemp(const char *prefix, char *out, size_t cap);
/* out = a "/" b; KC_ETOOLARGE if it does not fit in cap. */
int kc_path_join(char *out, size_t cap, const char *a, const char *b);

#endif
