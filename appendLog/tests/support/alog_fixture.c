/* alog_fixture.c - see alog_fixture.h. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "alog_fixture.h"
#include "kc_common.h"

uint8_t *fx_batch(int64_t base, int n, size_t vsize, int64_t ts, size_t *len)
{
    struct kc_batch_builder b;
    kc_batch_builder_init(&b, NULL, 0);
    uint8_t *value = malloc(vsize < 8 ? 8 : vsize);
    assert_non_null(value);
    for (int i = 0; i < n; i++) {
        kc_store_be64(value, (uint64_t)(base + i));
        for (size_t j = 8; j < vsize; j++)
            value[j] = (uint8_t)(base + i + (int64_t)j);
        assert_int_equal(kc_batch_builder_add(&b, ts + i, "k", 1, value,
                                              (int32_t)(vsize < 8 ? 8 : vsize), NULL, 0),
                         0);
    }
    free(value);
    uint8_t *p;
    size_t n_bytes;
    assert_int_equal(kc_batch_builder_finish(&b, &p, &n_bytes), 0);
    uint8_t *copy = malloc(n_bytes);
    assert_non_null(copy);
    memcpy(copy, p, n_bytes);
    kc_batch_builder_fini(&b);
    *len = n_bytes;
    return copy;
}

void fx_append(struct alog *log, int count, int n, size_t vsize, int64_t ts0)
{
    for (int i = 0; i < count; i++) {
        int64_t expect = alog_end_offset(log), base = -1;
        size_t len;
        uint8_t *b = fx_batch(expect, n, vsize, ts0 + expect, &len);
        assert_int_equal(alog_append(log, b, len, &base), 0);
        assert_int_equal(base, expect);
        free(b);
    }
}

/* Check one batch as returned by a read: CRC, records, values. */
static void check_batch(const uint8_t *p, size_t len, int64_t *next)
{
    struct kc_batch_header h;
    int size = kc_batch_validate(p, len, &h);
    if (size <= 0)
        fail_msg("batch at offset %" PRId64 " does not validate: %s", *next, kc_strerror(size));
    if (h.base_offset != *next)
        fail_msg("batch base %" PRId64 ", expected %" PRId64, h.base_offset, *next);
    assert_int_equal(h.leader_epoch, 0);
    struct kc_record_iter it;
    struct kc_record rec;
    assert_int_equal(kc_record_iter_init(&it, p, (size_t)size), 0);
    int rc;
    while ((rc = kc_record_iter_next(&it, &rec)) == 1) {
        assert_int_equal(rec.offset, *next);
        assert_true(rec.value_len >= 8);
        assert_int_equal((int64_t)kc_load_be64(rec.value), rec.offset);
        (*next)++;
    }
    assert_int_equal(rc, 0);
}

void fx_check_reads(struct alog *log, int64_t from, int64_t to)
{
    struct kc_writer w;
    kc_writer_init(&w, 0);
    for (int64_t off = from; off < to; off++) {
        int64_t next = -1;
        kc_writer_reset(&w);
        int rc = alog_read_copy(log, off, 1, &w, &next);
        if (rc)
            fail_msg("read at %" PRId64 ": %s", off, kc_strerror(rc));
        const uint8_t *p = kc_writer_data(&w);
        int64_t base = kc_batch_base_offset(p);
        assert_true(base <= off);
        int64_t at = base;
        check_batch(p, kc_writer_len(&w), &at);
        assert_true(at > off);
        assert_int_equal(at, next);
    }
    kc_writer_fini(&w);
}

void fx_config(struct alog_config *cfg, uint64_t segment_bytes)
{
    alog_config_init(cfg);
    cfg->segment_bytes = segment_bytes;
    cfg->flush_interval_ms = -1;
    cfg->retention_ms = -1;
}

void fx_path(char *out, size_t cap, const char *dir, const char *name)
{
    assert_true((size_t)snprintf(out, cap, "%s/%s", dir, name) < cap);
}

void fx_seg_path(char *out, size_t cap, const char *dir, int64_t base, const char *ext)
{
    assert_true((size_t)snprintf(out, cap, "%s/%020" PRId64 "%s", dir, base, ext) < cap);
}

long fx_file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (long)st.st_size : -1;
}

void fx_copy_dir(const char *src, const char *dst)
{
    assert_int_equal(kc_mkdir_p(dst, 0755), 0);
    DIR *d = opendir(src);
    assert_non_null(d);
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        char from[4096], to[4096];
        fx_path(from, sizeof(from), src, de->d_name);
        fx_path(to, sizeof(to), dst, de->d_name);
        struct stat st;
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0 || stat(from, &st) != 0)
            continue;
        if (S_ISDIR(st.st_mode)) { /* a store's data directory: its partitions too */
            fx_copy_dir(from, to);
            continue;
        }
        if (!S_ISREG(st.st_mode))
            continue;
        char *data;
        size_t len;
        assert_int_equal(kc_read_file(from, 1u << 30, &data, &len), 0);
        int fd = open(to, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        assert_true(fd >= 0);
        assert_int_equal(kc_write_all(fd, data, len), (ssize_t)len);
        close(fd);
        free(data);
    }
    closedir(d);
}

int fx_map_count(const char *dir)
{
    FILE *f = fopen("/proc/self/maps", "r");
    assert_non_null(f);
    char line[8192];
    int n = 0;
    while (fgets(line, sizeof(line), f))
        n += strstr(line, dir) != NULL;
    fclose(f);
    return n;
}

int fx_fd_count(const char *dir)
{
    DIR *d = opendir("/proc/self/fd");
    assert_non_null(d);
    struct dirent *de;
    int n = 0;
    while ((de = readdir(d)) != NULL) {
        char link[300], target[4096];
        snprintf(link, sizeof(link), "/proc/self/fd/%s", de->d_name);
        ssize_t len = readlink(link, target, sizeof(target) - 1);
        if (len <= 0)
            continue;
        target[len] = '\0';
        n += strstr(target, dir) == target;
    }
    closedir(d);
    return n;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* The segment bases in dir, sorted; returns how many (at most cap). */
static int seg_bases(const char *dir, int64_t *out, int cap)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    struct dirent *de;
    int n = 0;
    while ((de = readdir(d)) != NULL) {
        size_t len = strlen(de->d_name);
        if (len == 24 && strcmp(de->d_name + 20, ".log") == 0 && n < cap)
            out[n++] = strtoll(de->d_name, NULL, 10);
    }
    closedir(d);
    qsort(out, (size_t)n, sizeof(*out), cmp_i64);
    return n;
}

int64_t fx_check_files(const char *dir)
{
    int64_t bases[256], next = -1;
    int n = seg_bases(dir, bases, 256);
    assert_true(n > 0);
    for (int i = 0; i < n; i++) {
        char path[4096], *data;
        size_t len;
        fx_seg_path(path, sizeof(path), dir, bases[i], ".log");
        assert_int_equal(kc_read_file(path, 1u << 30, &data, &len), 0);
        if (next >= 0 && bases[i] != next)
            fail_msg("segment %" PRId64 " follows one ending at %" PRId64, bases[i], next);
        next = bases[i];
        for (size_t pos = 0; pos < len;) {
            struct kc_batch_header h;
            int size = kc_batch_validate((uint8_t *)data + pos, len - pos, &h);
            if (size <= 0 || h.base_offset != next)
                fail_msg("segment %" PRId64 " at %zu: %s (base %" PRId64 ", expected %" PRId64
                         ")",
                         bases[i], pos, size <= 0 ? kc_strerror(size) : "out of sequence",
                         h.base_offset, next);
            next = h.base_offset + h.last_offset_delta + 1;
            pos += (size_t)size;
        }
        free(data);
    }
    return next;
}

long fx_batch_pos(const char *dir, int64_t seg_base, int64_t offset)
{
    char path[4096], *data;
    size_t len;
    long found = -1;
    fx_seg_path(path, sizeof(path), dir, seg_base, ".log");
    assert_int_equal(kc_read_file(path, 1u << 30, &data, &len), 0);
    for (size_t pos = 0; pos + KC_BATCH_HEADER_SIZE <= len && found < 0;) {
        struct kc_batch_header h;
        if (kc_batch_header_decode((uint8_t *)data + pos, len - pos, &h) != 0)
            break;
        if (h.base_offset == offset)
            found = (long)pos;
        pos += (size_t)h.batch_length + KC_BATCH_LOG_OVERHEAD;
    }
    free(data);
    return found;
}
