/*
 * scan.c - what part_registry_open finds in the data directory, and what it does about it.
 *
 * Every entry of the data directory is one of:
 *
 *   payments-3        a partition directory: topic "payments", partition 3 (name.c)
 *   orders~           a creation marker: "orders" was being created when we stopped
 *   orders~.tmp       a marker that never became durable: deleted (nothing else was done)
 *   anything else     a stray: reported and left alone
 *
 * The partitions of one topic must be exactly 0..N-1, all directories. Anything else is a
 * damaged topic: it is reported (what is wrong, and what to do), not loaded, left exactly
 * as it is on disk, and its name is refused by part_topic_create until someone repairs
 * it. The registry never guesses: a missing partition is not re-created empty (its data
 * may be on a disk that did not mount), and a topic is never loaded with fewer
 * partitions than it had (keyed records would move to other partitions).
 *
 * A topic with a marker was interrupted while being created (see registry.c): the scan
 * completes it, unless a partition beyond the marker's count exists (then it is damaged).
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
#include "kc_log.h"
#include "kc_parse.h"
#include "part_int.h"

struct entry {
    char *topic; /* malloc'ed, NUL-terminated */
    size_t len;
    int32_t p;
    bool is_dir;
};

struct marker {
    char *topic;
    size_t len;
    int32_t partitions; /* -1: unreadable */
    bool used;
};

struct scan {
    struct entry *parts;
    size_t nparts;
    struct marker *markers;
    size_t nmarkers;
};

static int entry_cmp(const void *a, const void *b)
{
    const struct entry *x = a, *y = b;
    size_t n = x->len < y->len ? x->len : y->len;
    int c = memcmp(x->topic, y->topic, n);
    if (c == 0)
        c = (x->len > y->len) - (x->len < y->len);
    return c ? c : (x->p > y->p) - (x->p < y->p);
}

static void scan_free(struct scan *s)
{
    for (size_t i = 0; i < s->nparts; i++)
        free(s->parts[i].topic);
    for (size_t i = 0; i < s->nmarkers; i++)
        free(s->markers[i].topic);
    free(s->parts);
    free(s->markers);
}

/* "partitions=N\n" -> N, or -1 if the marker cannot be read or makes no sense. */
static int32_t read_marker(struct part_registry *reg, const char *name)
{
    char path[PATH_MAX], *data = NULL;
    size_t len;
    int64_t n;
    if (kc_path_join(path, sizeof(path), reg->dir, name) < 0 ||
        kc_read_file(path, PART_MARKER_MAX_BYTES, &data, &len) < 0)
        return -1;
    char *nl = strchr(data, '\n');
    if (nl)
        *nl = '\0';
    int rc = strncmp(data, "partitions=", 11) == 0
                 ? kc_parse_i64(data + 11, 1, PART_MAX_PARTITIONS_LIMIT, &n)
                 : -EINVAL;
    free(data);
    return rc == 0 ? (int32_t)n : -1;
}

static int add_part(struct scan *s, const char *name, size_t len, int32_t p, bool is_dir)
{
    struct entry *grown = reallocarray(s->parts, s->nparts + 1, sizeof(*grown));
    if (!grown)
        return -ENOMEM;
    s->parts = grown;
    char *topic = strndup(name, len);
    if (!topic)
        return -ENOMEM;
    s->parts[s->nparts++] = (struct entry){topic, len, p, is_dir};
    return 0;
}

static int add_marker(struct scan *s, const char *name, size_t len, int32_t partitions)
{
    struct marker *grown = reallocarray(s->markers, s->nmarkers + 1, sizeof(*grown));
    if (!grown)
        return -ENOMEM;
    s->markers = grown;
    char *topic = strndup(name, len);
    if (!topic)
        return -ENOMEM;
    s->markers[s->nmarkers++] = (struct marker){topic, len, partitions, false};
    return 0;
}

/* A directory entry's name, safe to print: bytes outside printable ASCII become '?' (a
 * stray named "x\n2026-01-01 ERROR ..." must not forge log lines). */
static const char *printable(const char *name, char *buf, size_t cap)
{
    size_t i = 0;
    for (; name[i] && i + 1 < cap; i++)
        buf[i] = name[i] >= 0x20 && name[i] < 0x7f ? name[i] : '?';
    buf[i] = '\0';
    return buf;
}

/* Is the entry a directory (not a symlink to one)? readdir's d_type says so without a
 * system call on every file system this runs on; fstatat where it cannot. */
static int is_directory(int dfd, const struct dirent *de, bool *dir)
{
    if (de->d_type != DT_UNKNOWN) {
        *dir = de->d_type == DT_DIR;
        return 0;
    }
    struct stat st;
    if (fstatat(dfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
        return -errno;
    *dir = S_ISDIR(st.st_mode);
    return 0;
}

/* Sort one directory entry into the scan. */
static int classify(struct part_registry *reg, int dfd, const struct dirent *de, struct scan *s)
{
    const char *name = de->d_name;
    size_t len;
    int32_t p;
    bool dir = false;
    if (alog_store_owns(name))
        return 0; /* the store's checkpoints, journal, lock */
    if (part__scan_deletion_entry(reg, dfd, name)) /* delete.c: markers, *-delete */
        return 0;
    if (part__parse_partition_dir(name, &len, &p) == 0) {
        int rc = is_directory(dfd, de, &dir);
        if (rc)
            return rc == -ENOENT ? 0 : rc; /* vanished meanwhile: nothing to load */
        return add_part(s, name, len, p, dir);
    }
    if (part__parse_marker(name, PART_MARKER_SUFFIX, &len) == 0)
        return add_marker(s, name, len, read_marker(reg, name));
    if (part__parse_marker(name, PART_MARKER_TMP_SUFFIX, &len) == 0) {
        kc_log_info("partitioning: removing %s/%s, a creation marker that was never "
                    "completed (the topic was not created)", reg->dir, name);
        if (unlinkat(dfd, name, 0) < 0)
            kc_log_warn("partitioning: cannot remove %s/%s: %s", reg->dir, name,
                        strerror(errno));
        return 0;
    }
    /* Plain files belong to others who share the data directory (the broker's credentials
     * and ACLs, meta.properties): like Kafka's log manager, only directories are logs. */
    if (is_directory(dfd, de, &dir) != 0 || !dir)
        return 0;
    char shown[NAME_MAX + 1];
    kc_log_warn("partitioning: ignoring %s/%s: not a partition directory "
                "(<topic>-<partition>)", reg->dir, printable(name, shown, sizeof(shown)));
    return 0;
}

static int read_dir(struct part_registry *reg, struct scan *s)
{
    DIR *d = opendir(reg->dir);
    if (!d)
        return -errno;
    int rc = 0;
    struct dirent *de;
    errno = 0;
    while (rc == 0 && (de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
            rc = classify(reg, dirfd(d), de, s);
        errno = 0;
    }
    if (rc == 0 && errno != 0)
        rc = -errno;
    (void)closedir(d); /* a directory stream: closing it cannot lose anything */
    return rc;
}

static struct marker *find_marker(struct scan *s, const char *topic, size_t len)
{
    for (size_t i = 0; i < s->nmarkers; i++)
        if (s->markers[i].len == len && memcmp(s->markers[i].topic, topic, len) == 0)
            return &s->markers[i];
    return NULL;
}

/* Why the group parts[0..n) (one topic, sorted by p) is not loadable, or NULL. */
static const char *group_problem(const struct entry *parts, size_t n, int32_t expect,
                                 char *why, size_t cap)
{
    for (size_t i = 0; i < n; i++) {
        if (!parts[i].is_dir) {
            snprintf(why, cap, "%s-%d is not a directory", parts[i].topic, (int)parts[i].p);
            return why;
        }
        if (expect >= 0 && parts[i].p >= expect) {
            snprintf(why, cap, "%s-%d exists but its creation marker says %d partitions",
                     parts[i].topic, (int)parts[i].p, (int)expect);
            return why;
        }
        if (expect < 0 && parts[i].p != (int32_t)i) {
            snprintf(why, cap, "partition %s-%d is missing (found %zu directories, the "
                     "highest %s-%d)", parts[i].topic, (int)i, n, parts[i].topic,
                     (int)parts[n - 1].p);
            return why;
        }
    }
    return NULL;
}

static int mark_damaged(struct part_registry *reg, const char *topic, size_t len,
                        const char *why)
{
    kc_log_error("partitioning: topic '%.*s' is damaged and was NOT loaded: %s. Its "
                 "directories in %s are left untouched, and the name cannot be created "
                 "again until they are repaired (restore what is missing) or removed.",
                 (int)len, topic, why, reg->dir);
    return part__add_damaged(reg, topic, len);
}

/* Finish a creation that a crash interrupted: make the missing directories, drop the
 * marker. The partitions that exist were checked to lie below m->partitions. */
static int complete_creation(struct part_registry *reg, struct marker *m, size_t found)
{
    char path[PATH_MAX];
    kc_log_warn("partitioning: topic '%s' was being created when the broker stopped "
                "(%zu of %d partition directories exist): completing its creation",
                m->topic, found, (int)m->partitions);
    int rc = part__make_partition_dirs(reg, m->topic, m->len, 0, m->partitions, true);
    if (rc == 0)
        rc = part__topic_id_forget(reg, m->topic, m->len, m->partitions); /* topic_id.c */
    if (rc == 0)
        rc = kc_fsync_dir(reg->dir); /* every new entry at once (registry.c says why) */
    if (rc == 0)
        rc = part__marker_path(reg, m->topic, m->len, PART_MARKER_SUFFIX, path, sizeof(path));
    if (rc == 0 && unlink(path) < 0)
        rc = -errno;
    if (rc == 0)
        rc = kc_fsync_dir(reg->dir);
    return rc;
}

/* Errors that are about this process or machine, not about one topic's data: they fail
 * the whole open instead of marking a topic damaged. -EINVAL is a bad log config, which
 * would otherwise "damage" every topic at once. */
static bool fatal(int rc)
{
    return rc == -ENOMEM || rc == -EMFILE || rc == -ENFILE || rc == -ENOSPC || rc == -EIO ||
           rc == -EINVAL;
}

/* Load one topic whose partitions were checked: its logs join the store (unopened) and
 * it is published. */
static int load_topic(struct part_registry *reg, const char *name, size_t len,
                      int32_t partitions)
{
    if (partitions > reg->cfg.max_partitions)
        kc_log_warn("partitioning: topic '%.*s' has %d partitions, more than "
                    "max_partitions (%d): loaded anyway (the limit applies to creation)",
                    (int)len, name, (int)partitions, (int)reg->cfg.max_partitions);
    struct part_topic *t = part__topic_alloc(name, len, partitions);
    if (!t)
        return -ENOMEM;
    int rc = part__topic_id_load(reg, t); /* topic_id.c: read, or give it one */
    bool id_failed = rc < 0;
    if (rc == 0)
        rc = part__topic_config_load(reg, t); /* topic_config.c: its overrides */
    if (rc == 0)
        rc = part__topic_add_logs(reg, t, false);
    if (rc < 0) {
        part__topic_free(t);
        if (fatal(rc))
            return rc;
        char why[96];
        snprintf(why, sizeof(why), "%s (%s)",
                 id_failed ? "its topic id cannot be read or written"
                           : "a partition's log cannot be added", kc_strerror(rc));
        return mark_damaged(reg, name, len, why);
    }
    part__insert(reg, t);
    return 0;
}

/* One topic: parts[0..n) on disk (sorted by p), m its marker or NULL. */
static int scan_topic(struct part_registry *reg, const struct entry *parts, size_t n,
                      const char *name, size_t len, struct marker *m)
{
    char why[PATH_MAX + 128];
    if (m && m->partitions < 0)
        return mark_damaged(reg, name, len, "its creation marker cannot be read");
    if (group_problem(parts, n, m ? m->partitions : -1, why, sizeof(why)))
        return mark_damaged(reg, name, len, why);
    int32_t partitions = m ? m->partitions : (int32_t)n;
    if (m) {
        m->used = true;
        int rc = complete_creation(reg, m, n);
        if (rc < 0) {
            kc_log_error("partitioning: completing the creation of '%s' failed: %s",
                         m->topic, kc_strerror(rc));
            return fatal(rc) ? rc : part__add_damaged(reg, name, len);
        }
    }
    return load_topic(reg, name, len, partitions);
}

int part__scan(struct part_registry *reg)
{
    struct scan s = {0};
    int rc = part__finish_deletions(reg); /* delete.c: first, so nothing deleted loads */
    if (rc == 0)
        rc = read_dir(reg, &s);
    if (rc == 0 && s.nparts > 1)
        qsort(s.parts, s.nparts, sizeof(*s.parts), entry_cmp);
    for (size_t i = 0; rc == 0 && i < s.nparts;) {
        size_t j = i + 1;
        while (j < s.nparts && s.parts[j].len == s.parts[i].len &&
               memcmp(s.parts[j].topic, s.parts[i].topic, s.parts[i].len) == 0)
            j++;
        struct marker *m = find_marker(&s, s.parts[i].topic, s.parts[i].len);
        rc = scan_topic(reg, &s.parts[i], j - i, s.parts[i].topic, s.parts[i].len, m);
        if (m)
            m->used = true;
        i = j;
    }
    /* Markers whose topic has no directory at all yet: the crash came before the first
     * mkdir, after the marker was durable. */
    for (size_t i = 0; rc == 0 && i < s.nmarkers; i++)
        if (!s.markers[i].used)
            rc = scan_topic(reg, NULL, 0, s.markers[i].topic, s.markers[i].len, &s.markers[i]);
    scan_free(&s);
    return rc;
}
