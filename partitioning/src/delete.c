/*
 * delete.c - deleting a topic so that it never comes back, whenever the process dies.
 *
 * A topic is its partition directories. Removing N directories full of segments is many
 * system calls, and a crash can stop it anywhere: a topic that came back with 2 of its 4
 * partitions (or with all 4 but half their files) would be worse than one that came back
 * whole. So deletion is bracketed like creation, by a durable marker written first:
 *
 *     running broker                                 on disk
 *   1 part_topic_delete
 *       write "<topic>~delete" (tmp, fsync,          payments~delete  "topic_id: 6Pj..\n
 *       rename, fsync dir)   <- COMMIT POINT                           partitions=3\n"
 *       unpublish: out of the name tree and          payments-0/ payments-1/ payments-2/
 *       the id index; t->deleted = true
 *       (the broker answers DeleteTopics only once the reap below has run)
 *   2 the caller's grace period: parked readers woken, every loop passes a barrier
 *   3 part_topic_reap
 *       close the logs (alog_discard: no flush, the files are going)
 *       rename each partition directory          payments-0.0b5c..41-delete/
 *       fsync the data directory                 payments-1.77e0..d2-delete/ ...
 *       unlink the marker, fsync   <- the name is free again: a new "payments" is empty
 *       rm -rf each *-delete directory
 *
 *   crash after ...       the next open finds ...          and does
 *   (before 1 durable)    at most payments~delete.tmp      removes it: the topic lives
 *   1                     the marker, the directories      renames them, drops the marker,
 *                                                          removes them: never loaded
 *   some renames          the marker, some of each         the same, for what is left
 *   the marker's unlink   only *-delete directories        removes them
 *
 * The marker names the topic's id, so it can only ever delete the topic it was written
 * for: a directory whose partition.metadata names another id is left alone and reported
 * (that cannot happen while the name is refused until the marker is gone, but the disk
 * may have been edited by hand). "<topic>-<p>.<32 hex>-delete" is Kafka's own name for a
 * partition on its way out (LocalLog.logDeleteDirName, the topic cut short to fit 255
 * bytes); "~" cannot occur in a topic name, so the marker never looks like a partition.
 *
 * Why a grace period, and whose: other threads found the topic by name a moment before it
 * was unpublished and may still be using its logs (an append, a read, a parked long-poll
 * watching a log). The registry cannot know them; the broker can (broker/core/src/
 * topics.c: every network loop runs a barrier task, the parked readers are woken first).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kc_common.h"
#include "kc_err.h"
#include "kc_fs.h"
#include "kc_log.h"
#include "part_int.h"

#define DELETE_SUFFIX     "~delete"
#define DELETE_TMP_SUFFIX "~delete.tmp"
#define DIR_SUFFIX        "-delete"
#define ID_FILE           "partition.metadata"

bool part_topic_deleted(const struct part_topic *t)
{
    return atomic_load_explicit(&t->deleted, memory_order_acquire);
}

bool part__dying_locked(struct part_registry *reg, const char *name, size_t len)
{
    for (struct part_topic *t = reg->dying; t; t = t->dying_next)
        if (t->name_len == len && memcmp(t->name, name, len) == 0)
            return true;
    return false;
}

static int marker_path(const struct part_registry *reg, const char *name, size_t len,
                       char *out, size_t cap)
{
    return part__marker_path(reg, name, len, DELETE_SUFFIX, out, cap);
}

/* ---- step 1: the commit point --------------------------------------------------------- */

static void unpublish(struct part_registry *reg, struct part_topic *t)
{
    (void)pthread_rwlock_wrlock(&reg->lock);
    part__remove_locked(reg, t);
    t->dying_next = reg->dying;
    reg->dying = t;
    atomic_store_explicit(&t->deleted, true, memory_order_release);
    (void)pthread_rwlock_unlock(&reg->lock);
}

int part_topic_delete(struct part_registry *reg, struct part_topic *t)
{
    char path[PATH_MAX], body[96], id[PART_TOPIC_ID_STR];
    (void)pthread_mutex_lock(&reg->create_lock); /* no create, grow or delete meanwhile */
    int rc = part_topic_deleted(t) ? KC_ENOTOPIC : 0;
    if (rc == 0)
        rc = marker_path(reg, t->name, t->name_len, path, sizeof(path));
    if (rc == 0) {
        part_topic_id_str(part_topic_id(t), id); /* an adopted id, if any */
        int n = snprintf(body, sizeof(body), "topic_id: %s\npartitions=%d\n", id,
                         (int)t->partitions);
        rc = kc_atomic_replace(path, body, (size_t)n); /* the commit point */
    }
    if (rc == 0)
        unpublish(reg, t);
    (void)pthread_mutex_unlock(&reg->create_lock);
    if (rc == 0)
        kc_log_info("partitioning: topic '%s' deleted; its %d partition director%s go once "
                    "no request uses them", t->name, (int)t->partitions,
                    t->partitions == 1 ? "y" : "ies");
    return rc;
}

/* ---- step 3: the files ------------------------------------------------------------------ */

/* "<topic>-<p>.<32 hex>-delete", the topic cut short so the whole fits NAME_MAX (Kafka's). */
static int delete_name(const char *topic, size_t len, int32_t p, char *out, size_t cap)
{
    uint8_t r[16];
    char suffix[64];
    if (getrandom(r, sizeof(r), 0) != (ssize_t)sizeof(r))
        return -EIO;
    int n = snprintf(suffix, sizeof(suffix), "-%d.", (int)p);
    for (int i = 0; i < 16; i++)
        n += snprintf(suffix + n, sizeof(suffix) - (size_t)n, "%02x", r[i]);
    snprintf(suffix + n, sizeof(suffix) - (size_t)n, "%s", DIR_SUFFIX);
    size_t keep = KC_MIN(len, (size_t)NAME_MAX - strlen(suffix));
    n = snprintf(out, cap, "%.*s%s", (int)keep, topic, suffix);
    return n < 0 || (size_t)n >= cap ? KC_ETOOLARGE : 0;
}

static bool is_delete_dir(const char *name)
{
    size_t n = strlen(name), s = strlen(DIR_SUFFIX);
    const char *dot = strrchr(name, '.');
    return n > s + 33 && strcmp(name + n - s, DIR_SUFFIX) == 0 && dot &&
           (size_t)(name + n - s - dot) == 33;
}

/* Rename <topic>-<p> out of the way; a partition already gone counts as done. */
static int rename_partition(struct part_registry *reg, const char *name, size_t len, int32_t p)
{
    char from[NAME_MAX + 1], to[NAME_MAX + 1];
    int rc = snprintf(from, sizeof(from), "%.*s-%d", (int)len, name, (int)p) >= (int)sizeof(from)
                 ? KC_ETOOLARGE
                 : delete_name(name, len, p, to, sizeof(to));
    if (rc)
        return rc;
    int dfd = open(reg->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0)
        return -errno;
    if (renameat(dfd, from, dfd, to) < 0 && errno != ENOENT)
        rc = -errno;
    (void)close(dfd); /* a directory opened read-only: nothing to lose */
    return rc;
}

/* Remove every "*-delete" directory of the data directory (ours or an older crash's). */
static int remove_delete_dirs(struct part_registry *reg)
{
    DIR *d = opendir(reg->dir);
    if (!d)
        return -errno;
    int rc = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        char path[PATH_MAX];
        if (!is_delete_dir(de->d_name) ||
            kc_path_join(path, sizeof(path), reg->dir, de->d_name) < 0)
            continue;
        int r = kc_rm_rf(path);
        if (r < 0 && rc == 0)
            rc = r;
    }
    (void)closedir(d); /* a directory stream: closing it cannot lose anything */
    return rc;
}

static void dying_remove(struct part_registry *reg, struct part_topic *t)
{
    (void)pthread_rwlock_wrlock(&reg->lock);
    for (struct part_topic **at = &reg->dying; *at; at = &(*at)->dying_next) {
        if (*at == t) {
            *at = t->dying_next;
            break;
        }
    }
    (void)pthread_rwlock_unlock(&reg->lock);
}

/* Rename every partition, fsync, drop the marker, fsync: the deletion is complete. */
static int finish_on_disk(struct part_registry *reg, const char *name, size_t len,
                          int32_t partitions)
{
    char marker[PATH_MAX];
    int rc = marker_path(reg, name, len, marker, sizeof(marker));
    for (int32_t p = 0; rc == 0 && p < partitions; p++)
        rc = rename_partition(reg, name, len, p);
    if (rc == 0)
        rc = kc_fsync_dir(reg->dir); /* the renames, before the marker that explains them */
    if (rc == 0 && unlink(marker) < 0 && errno != ENOENT)
        rc = -errno;
    if (rc == 0)
        rc = kc_fsync_dir(reg->dir);
    return rc;
}

int part_topic_reap(struct part_registry *reg, struct part_topic *t)
{
    int rc = 0;
    for (int32_t p = 0; p < t->partitions; p++) {
        alog_discard(t->logs[p]); /* no fsyncs for files about to be removed */
        t->logs[p] = NULL;
    }
    (void)pthread_mutex_lock(&reg->create_lock);
    int r = finish_on_disk(reg, t->name, t->name_len, t->partitions);
    if (r == 0)
        dying_remove(reg, t); /* the name may be created again */
    (void)pthread_mutex_unlock(&reg->create_lock);
    if (r < 0) {
        kc_log_error("partitioning: removing the deleted topic '%s' failed (%s); the next "
                     "start finishes it", t->name, kc_strerror(r));
        return r; /* stays on the dying list: its name stays refused, close frees it */
    }
    if (remove_delete_dirs(reg) < 0)
        kc_log_warn("partitioning: some *-delete directories of '%s' could not be removed "
                    "yet; the next start removes them", t->name);
    part__topic_free(t);
    return rc;
}

void part__dying_close(struct part_registry *reg)
{
    struct part_topic *t = reg->dying, *next;
    for (; t; t = next) {
        next = t->dying_next;
        part__topic_forget(t); /* the store closed its logs; the marker finishes it at the
                                  next open */
    }
    reg->dying = NULL;
}

/* ---- at open: finishing what a crash interrupted ------------------------------------------ */

/* Does partition p's partition.metadata name id (or is it missing, or gone)? */
static bool same_topic(struct part_registry *reg, const char *name, size_t len, int32_t p,
                       const char *id)
{
    char path[PATH_MAX], *data = NULL, want[64];
    size_t n;
    if (part__partition_path(reg, name, len, p, path, sizeof(path)) < 0 ||
        strlen(path) + sizeof(ID_FILE) + 1 > sizeof(path))
        return false;
    strcat(path, "/" ID_FILE);
    int rc = kc_read_file(path, 256, &data, &n);
    if (rc < 0)
        return rc == -ENOENT;
    snprintf(want, sizeof(want), "topic_id: %s\n", id);
    bool same = strstr(data, want) != NULL;
    free(data);
    return same;
}

/* One marker "<name>~delete": rename what is left of that topic, drop the marker. */
static int finish_one(struct part_registry *reg, const char *file, size_t len)
{
    char path[PATH_MAX], *data = NULL, id[PART_TOPIC_ID_STR] = "";
    size_t n;
    int parts = 0;
    if (kc_path_join(path, sizeof(path), reg->dir, file) < 0)
        return 0;
    if (kc_read_file(path, 256, &data, &n) == 0) {
        if (sscanf(data, "topic_id: %22s\npartitions=%d", id, &parts) != 2)
            parts = 0;
        free(data);
    }
    if (parts <= 0) {
        kc_log_error("partitioning: %s cannot be read; leaving it and the topic '%.*s' as "
                     "they are (remove the marker by hand to keep the topic)", path,
                     (int)len, file);
        return 0;
    }
    if (!same_topic(reg, file, len, 0, id)) { /* written for a topic no longer on disk */
        kc_log_warn("partitioning: %s names topic id %s, which '%.*s' on disk is not: "
                    "removing the stale marker", path, id, (int)len, file);
        return unlink(path) < 0 && errno != ENOENT ? -errno : kc_fsync_dir(reg->dir);
    }
    kc_log_warn("partitioning: topic '%.*s' was being deleted when the broker stopped: "
                "finishing its deletion", (int)len, file);
    return finish_on_disk(reg, file, len, parts);
}

int part__finish_deletions(struct part_registry *reg)
{
    DIR *d = opendir(reg->dir);
    if (!d)
        return -errno;
    int rc = 0;
    struct dirent *de;
    while (rc == 0 && (de = readdir(d)) != NULL) {
        size_t len;
        if (part__parse_marker(de->d_name, DELETE_SUFFIX, &len) == 0)
            rc = finish_one(reg, de->d_name, len);
    }
    (void)closedir(d); /* a directory stream: closing it cannot lose anything */
    if (rc == 0 && remove_delete_dirs(reg) < 0)
        kc_log_warn("partitioning: some *-delete directories in %s could not be removed",
                    reg->dir);
    return rc;
}

bool part__scan_deletion_entry(struct part_registry *reg, int dfd, const char *name)
{
    size_t len;
    if (part__parse_marker(name, DELETE_SUFFIX, &len) == 0 || is_delete_dir(name))
        return true; /* handled before the scan (part__finish_deletions) */
    if (part__parse_marker(name, DELETE_TMP_SUFFIX, &len) == 0) {
        kc_log_info("partitioning: removing %s/%s, a deletion marker that was never "
                    "completed (the topic was not deleted)", reg->dir, name);
        if (unlinkat(dfd, name, 0) < 0)
            kc_log_warn("partitioning: cannot remove %s/%s: %s", reg->dir, name,
                        strerror(errno));
        return true;
    }
    return false;
}
