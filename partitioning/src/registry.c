/*
 * registry.c - the topic table: create, find, list, close.
 *
 * A topic is nothing but its partition directories; there is no topic file to keep in
 * step with them. The data directory IS the metadata:
 *
 *   <data-dir>/
 *     payments-0/   00000000000000000000.log .index .timeindex ...    one alog each
 *     payments-1/
 *     payments-2/
 *     logs-0/
 *     orders~       only while "orders" is being created: "partitions=4\n"
 *
 * Creating a topic is several steps that a crash can interrupt, so it is bracketed by a
 * marker file, written (and fsynced, with its directory) before the first mkdir and
 * removed after the last partition is durable:
 *
 *   1. write "<topic>~" = "partitions=N"   (kc_atomic_replace: tmp, fsync, rename, fsync dir)
 *   2. mkdir <topic>-0 .. <topic>-(N-1)     all of them, then ONE fsync of the data dir
 *   3. add each partition to the store      a handle, no I/O: its files are made at its
 *                                           first use (alog.h: the store)
 *   4. unlink "<topic>~", fsync data dir    <- the topic now exists, durably
 *
 * Why one fsync makes N new directories durable: fsync of the data directory commits the
 * file system's journal transaction, and with it every entry made before it, and a
 * journaling file system (ext4, xfs) never persists a directory entry without the inode
 * it names. The per-directory fsync of each new, empty directory this used to do added
 * nothing but 10,000 journal commits (14 ms per partition, measured; now 10,000 partitions
 * take well under a second: partitioning/README.md).
 *
 * A crash before 1 completes leaves no topic (maybe a "<topic>~.tmp", removed at open).
 * A crash anywhere after leaves the marker: the next open COMPLETES the creation (makes
 * the missing directories, removes the marker) and says so in the log. Completing rather
 * than discarding is what Kafka does too (a topic in the metadata log gets its partitions
 * eventually), and it is the only choice that never deletes a partition that may already
 * hold data. Without the marker, a topic interrupted after 2 of its 4 directories would
 * come back silently as a 2-partition topic, and every keyed record would move.
 *
 * Locking: `lock` (a reader-writer lock) guards the table; lookups take it shared, so
 * network threads never wait on each other, and a topic is inserted under it exclusively
 * only once its logs are open. Creation's disk work (fsyncs, milliseconds) happens under
 * a separate `create_lock`, never under the table lock, so a slow create does not stall
 * lookups. A topic leaves the table only when it is deleted (delete.c), and even then
 * its memory and logs stay valid until part_topic_reap, which the caller runs only once
 * nobody can hold the pointer any more: a pointer handed out stays valid without a lock.
 */
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
#include "part_int.h"

static int topic_cmp(const struct part_topic *a, const struct part_topic *b)
{
    size_t n = a->name_len < b->name_len ? a->name_len : b->name_len;
    int c = memcmp(a->name, b->name, n);
    return c ? c : (a->name_len > b->name_len) - (a->name_len < b->name_len);
}

/* libbsd leaves __unused undefined (a Linux header uses the name for a struct field), but
 * RB_GENERATE_STATIC needs it for the tree functions this file does not call. */
#ifndef __unused
#define __unused __attribute__((unused))
#endif
RB_GENERATE_STATIC(part_tree, part_topic, link, topic_cmp)

void part_config_init(struct part_config *cfg)
{
    alog_config_init(&cfg->log);
    cfg->max_partitions = PART_MAX_PARTITIONS_DEFAULT;
    cfg->flusher = NULL;
    alog_store_config_init(&cfg->store);
}

/* ---- topic objects -------------------------------------------------------------------- */

struct part_topic *part__topic_alloc(const char *name, size_t len, int32_t partitions)
{
    size_t size = (sizeof(struct part_topic) + 63) & ~(size_t)63;
    struct part_topic *t = aligned_alloc(64, size); /* rr_next gets its own cache line */
    if (!t)
        return NULL;
    memset(t, 0, size);
    t->logs = calloc((size_t)partitions, sizeof(*t->logs));
    if (!t->logs) {
        free(t);
        return NULL;
    }
    memcpy(t->name, name, len);
    t->name[len] = '\0';
    t->name_len = len;
    t->partitions = partitions;
    atomic_init(&t->rr_next, 0);
    return t;
}

/* Take the topic's logs out of the store (closing any that are open); first error. */
static int topic_close(struct part_topic *t)
{
    int first = 0;
    for (int32_t p = 0; p < t->partitions; p++) {
        int rc = t->logs[p] ? alog_close(t->logs[p]) : 0;
        if (rc < 0 && first == 0)
            first = rc;
        t->logs[p] = NULL;
    }
    return first;
}

/* The topic's memory, not its logs (a published topic at the registry's close: they are
 * the store's to close; a reaped one: discarded already). */
void part__topic_forget(struct part_topic *t)
{
    part__topic_id_fini(t);
    free(t->logs);
    free(t->configs);
    free(t);
}

void part__topic_free(struct part_topic *t)
{
    if (!t)
        return;
    (void)topic_close(t); /* only topics never published: errors were reported already */
    part__topic_forget(t);
}

int part__partition_path(const struct part_registry *reg, const char *name, size_t len,
                         int32_t p, char *out, size_t cap)
{
    int n = snprintf(out, cap, "%s/%.*s-%d", reg->dir, (int)len, name, (int)p);
    return n < 0 || (size_t)n >= cap ? KC_ETOOLARGE : 0;
}

int part__marker_path(const struct part_registry *reg, const char *name, size_t len,
                      const char *suffix, char *out, size_t cap)
{
    int n = snprintf(out, cap, "%s/%.*s%s", reg->dir, (int)len, name, suffix);
    return n < 0 || (size_t)n >= cap ? KC_ETOOLARGE : 0;
}

int part__logs_add(struct part_registry *reg, const struct part_topic *t, struct alog **logs,
                   int32_t from, int32_t to, const struct alog_config *cfg, bool fresh)
{
    char name[PART_NAME_MAX + 16];
    for (int32_t p = from; p < to; p++) {
        snprintf(name, sizeof(name), "%s-%d", t->name, (int)p); /* fits: checked at create */
        int rc = alog_store_add_flags(reg->store, name, cfg, fresh ? ALOG_STORE_NEW : 0,
                                      &logs[p]);
        if (rc < 0) {
            kc_log_error("partitioning: cannot add the log of %s to the store: %s", name,
                         kc_strerror(rc));
            for (int32_t q = from; q < p; q++) {
                (void)alog_close(logs[q]); /* a handle, never used: nothing to flush */
                logs[q] = NULL;
            }
            return rc;
        }
    }
    return 0;
}

int part__topic_add_logs(struct part_registry *reg, struct part_topic *t, bool fresh)
{
    return part__logs_add(reg, t, t->logs, 0, t->partitions,
                          t->open_cfg ? t->open_cfg : &reg->cfg.log, fresh);
}

int part__make_partition_dirs(struct part_registry *reg, const char *name, size_t len,
                              int32_t from, int32_t to, bool exist_ok)
{
    char path[PATH_MAX];
    for (int32_t p = from; p < to; p++) {
        int rc = part__partition_path(reg, name, len, p, path, sizeof(path));
        if (rc < 0)
            return rc;
        if (mkdir(path, 0755) < 0 && (errno != EEXIST || !exist_ok))
            return -errno; /* EEXIST when completing a creation: made before the crash */
    }
    return 0;
}

/* ---- the table ------------------------------------------------------------------------ */

void part__insert(struct part_registry *reg, struct part_topic *t)
{
    (void)pthread_rwlock_wrlock(&reg->lock); /* cannot fail: no deadlock, not held already */
    RB_INSERT(part_tree, &reg->topics, t);
    part__ids_add(reg, t);
    reg->ntopics++;
    (void)pthread_rwlock_unlock(&reg->lock);
}

/* The opposite, for a deleted topic (delete.c): reg->lock held exclusively. */
void part__remove_locked(struct part_registry *reg, struct part_topic *t)
{
    RB_REMOVE(part_tree, &reg->topics, t);
    part__ids_remove(reg, t);
    reg->ntopics--;
}

int part__add_damaged(struct part_registry *reg, const char *name, size_t len)
{
    char **grown = reallocarray(reg->damaged, reg->ndamaged + 1, sizeof(*grown));
    if (!grown)
        return -ENOMEM;
    reg->damaged = grown;
    if (!(reg->damaged[reg->ndamaged] = strndup(name, len)))
        return -ENOMEM;
    reg->ndamaged++;
    return 0;
}

/* Tree descent with a (pointer, length) key: no copy of the name, no allocation. */
static struct part_topic *find_locked(struct part_registry *reg, const char *name, size_t len)
{
    struct part_topic *t = RB_ROOT(&reg->topics);
    while (t) {
        size_t n = len < t->name_len ? len : t->name_len;
        int c = memcmp(name, t->name, n);
        if (c == 0)
            c = (len > t->name_len) - (len < t->name_len);
        if (c == 0)
            return t;
        t = c < 0 ? RB_LEFT(t, link) : RB_RIGHT(t, link);
    }
    return NULL;
}

struct part_topic *part_topic_find(struct part_registry *reg, const char *name, size_t len)
{
    if (!name || len == 0 || len > PART_NAME_MAX)
        return NULL;
    (void)pthread_rwlock_rdlock(&reg->lock); /* EAGAIN only past 2^31 readers */
    struct part_topic *t = find_locked(reg, name, len);
    (void)pthread_rwlock_unlock(&reg->lock);
    return t;
}

size_t part_topic_list(struct part_registry *reg, struct part_topic **out, size_t cap)
{
    size_t n = 0;
    struct part_topic *t;
    (void)pthread_rwlock_rdlock(&reg->lock);
    RB_FOREACH(t, part_tree, &reg->topics) {
        if (n < cap)
            out[n] = t;
        n++;
    }
    (void)pthread_rwlock_unlock(&reg->lock);
    return n;
}

const char *part_topic_name(const struct part_topic *t)
{
    return t->name;
}

int32_t part_topic_partitions(const struct part_topic *t)
{
    return atomic_load_explicit(&t->partitions, memory_order_acquire);
}

struct alog *part_topic_log(const struct part_topic *t, int32_t p)
{
    /* The count first, then the array: grow.c stores them the other way round. */
    int32_t n = atomic_load_explicit(&t->partitions, memory_order_acquire);
    struct alog **logs = atomic_load_explicit(&t->logs, memory_order_acquire);
    return p >= 0 && p < n ? logs[p] : NULL;
}

/* ---- open and close ------------------------------------------------------------------- */

static void registry_free(struct part_registry *reg)
{
    for (size_t i = 0; i < reg->ndamaged; i++)
        free(reg->damaged[i]);
    free(reg->damaged);
    part__ids_free(reg);
    for (size_t i = 0; i < reg->nretired; i++)
        free(reg->retired[i]);
    free(reg->retired);
    (void)pthread_rwlock_destroy(&reg->lock); /* not held: nothing to report */
    (void)pthread_mutex_destroy(&reg->create_lock);
    free(reg->dir);
    free(reg);
}

int part_registry_close(struct part_registry *reg)
{
    if (!reg)
        return 0;
    int rc = alog_store_close(reg->store); /* every log, one syncfs, checkpoints, marker */
    struct part_topic *t, *next;
    RB_FOREACH_SAFE(t, part_tree, &reg->topics, next) {
        RB_REMOVE(part_tree, &reg->topics, t);
        part__topic_forget(t);
    }
    part__dying_close(reg);
    registry_free(reg);
    return rc;
}

struct alog_store *part_registry_store(struct part_registry *reg)
{
    return reg->store;
}

static int registry_alloc(struct part_registry **out, const char *data_dir,
                          const struct part_config *cfg)
{
    struct part_registry *reg = calloc(1, sizeof(*reg));
    if (!reg)
        return -ENOMEM;
    RB_INIT(&reg->topics);
    if (cfg)
        reg->cfg = *cfg;
    else
        part_config_init(&reg->cfg);
    if (alog_config_check(&reg->cfg.log) != 0) {
        free(reg);
        return -EINVAL; /* a bad log config would otherwise "damage" every topic found */
    }
    int err = pthread_rwlock_init(&reg->lock, NULL);
    if (err) {
        free(reg);
        return -err;
    }
    err = pthread_mutex_init(&reg->create_lock, NULL);
    reg->dir = strdup(data_dir);
    if (err || !reg->dir) {
        if (!err)
            (void)pthread_mutex_destroy(&reg->create_lock);
        (void)pthread_rwlock_destroy(&reg->lock);
        free(reg->dir);
        free(reg);
        return err ? -err : -ENOMEM;
    }
    *out = reg;
    return 0;
}

int part_registry_open(struct part_registry **out, const char *data_dir,
                       const struct part_config *cfg)
{
    if (!data_dir || !*data_dir)
        return -EINVAL;
    if (cfg && (cfg->max_partitions < 1 || cfg->max_partitions > PART_MAX_PARTITIONS_LIMIT))
        return -EINVAL;
    int rc = kc_mkdir_p(data_dir, 0755);
    if (rc < 0)
        return rc;
    struct part_registry *reg = NULL;
    rc = registry_alloc(&reg, data_dir, cfg);
    if (rc < 0)
        return rc;
    struct alog_store_config scfg = reg->cfg.store;
    scfg.flusher = reg->cfg.flusher;
    rc = alog_store_open(&reg->store, data_dir, &scfg);
    if (rc < 0) {
        registry_free(reg);
        return rc;
    }
    rc = part__scan(reg);
    if (rc < 0) {
        (void)part_registry_close(reg); /* the scan's error is the one to report */
        return rc;
    }
    *out = reg;
    return 0;
}

/* ---- create --------------------------------------------------------------------------- */

static bool is_damaged(struct part_registry *reg, const char *name, size_t len)
{
    (void)pthread_rwlock_rdlock(&reg->lock);
    bool dying = part__dying_locked(reg, name, len); /* its deletion is not finished */
    (void)pthread_rwlock_unlock(&reg->lock);
    if (dying)
        return true;
    for (size_t i = 0; i < reg->ndamaged; i++)
        if (strlen(reg->damaged[i]) == len && memcmp(reg->damaged[i], name, len) == 0)
            return true;
    return false;
}

/* Undo a failed creation: logs closed by the caller; remove directories, then marker. */
static void create_rollback(struct part_registry *reg, const char *name, size_t len,
                            int32_t made, const char *marker)
{
    char path[PATH_MAX];
    int rc = 0;
    for (int32_t p = 0; p < made && rc == 0; p++) {
        rc = part__partition_path(reg, name, len, p, path, sizeof(path));
        if (rc == 0)
            rc = kc_rm_rf(path);
    }
    if (rc == 0 && unlink(marker) < 0 && errno != ENOENT)
        rc = -errno;
    if (rc == 0)
        rc = kc_fsync_dir(reg->dir);
    if (rc < 0) /* the marker survives: the next open completes the topic instead */
        kc_log_error("partitioning: could not undo the failed creation of '%.*s' (%s); "
                     "the next start will complete it", (int)len, name, kc_strerror(rc));
}

/* Steps 1-4 of the header comment. create_lock held; on error nothing is left behind
 * (unless even the rollback fails, which is logged). */
static int create_on_disk(struct part_registry *reg, struct part_topic *t)
{
    char marker[PATH_MAX], body[32];
    int32_t made = 0;
    int rc = part__marker_path(reg, t->name, t->name_len, PART_MARKER_SUFFIX, marker,
                               sizeof(marker));
    int n = snprintf(body, sizeof(body), "partitions=%d\n", (int)t->partitions);
    if (rc == 0)
        rc = kc_atomic_replace(marker, body, (size_t)n); /* 1: durable marker */
    if (rc < 0)
        return rc;
    for (; rc == 0 && made < t->partitions; made++) /* 2: the directories */
        rc = part__make_partition_dirs(reg, t->name, t->name_len, made, made + 1, false);
    if (rc < 0)
        made--; /* the last one failed: it was not made (or not by us) */
    if (rc == 0)
        rc = kc_fsync_dir(reg->dir); /* all N entries durable (see the top of this file) */
    if (rc == 0)
        rc = part__topic_id_create(reg, t); /* partition.metadata in every directory */
    if (rc == 0 && t->configs && *t->configs)
        rc = part__topic_config_write(reg, t, t->configs); /* beside partition 0 */
    if (rc == 0)
        rc = part__topic_add_logs(reg, t, true); /* 3: removes what it added on failure */
    if (rc == 0 && unlink(marker) < 0)      /* 4: the topic exists from here on */
        rc = -errno;
    if (rc == 0)
        rc = kc_fsync_dir(reg->dir);
    if (rc < 0) {
        (void)topic_close(t);
        create_rollback(reg, t->name, t->name_len, made, marker);
    }
    return rc;
}

int part_topic_create(struct part_registry *reg, const char *name, int32_t partitions,
                      struct part_topic **out)
{
    return part_topic_create_configs(reg, name, partitions, NULL, NULL, out);
}

unsigned part_topic_flags(const struct part_topic *t)
{
    return atomic_load_explicit(&t->flags, memory_order_relaxed);
}

void part_topic_set_flags(struct part_topic *t, unsigned flags)
{
    atomic_store_explicit(&t->flags, flags, memory_order_relaxed);
}

int part_topic_create_configs(struct part_registry *reg, const char *name, int32_t partitions,
                              const char *configs, const struct alog_config *log_cfg,
                              struct part_topic **out)
{
    return part_topic_create_as(reg, name, partitions, configs, log_cfg, NULL, out);
}

int part_topic_create_as(struct part_registry *reg, const char *name, int32_t partitions,
                         const char *configs, const struct alog_config *log_cfg,
                         const struct part_topic_id *id, struct part_topic **out)
{
    size_t len = name ? strnlen(name, PART_NAME_MAX + 1) : 0;
    if (part_name_check(name, len) != 0)
        return KC_EBADNAME;
    if (partitions < 1)
        return -EINVAL;
    char last[16];
    int digits = snprintf(last, sizeof(last), "%d", (int)(partitions - 1));
    if (partitions > reg->cfg.max_partitions || len + 1 + (size_t)digits > PART_DIR_NAME_MAX)
        return KC_ETOOLARGE; /* "<name>-<partitions - 1>" must be a directory name */
    (void)pthread_mutex_lock(&reg->create_lock); /* cannot fail: never held recursively */
    int rc = 0;
    struct part_topic *t = NULL;
    if (part_topic_find(reg, name, len) || is_damaged(reg, name, len))
        rc = -EEXIST;
    if (rc == 0 && !(t = part__topic_alloc(name, len, partitions)))
        rc = -ENOMEM;
    if (rc == 0 && configs && !(t->configs = strdup(configs)))
        rc = -ENOMEM;
    if (rc == 0 && id)
        t->id = *id; /* else part__topic_id_create draws one */
    if (rc == 0)
        t->open_cfg = log_cfg; /* only while create_on_disk opens the logs */
    if (rc == 0)
        rc = create_on_disk(reg, t);
    if (t)
        t->open_cfg = NULL;
    if (rc == 0)
        part__insert(reg, t);
    (void)pthread_mutex_unlock(&reg->create_lock);
    if (rc < 0) {
        if (rc != -EEXIST)
            kc_log_error("partitioning: creating topic '%s' failed: %s", name, kc_strerror(rc));
        part__topic_free(t);
        return rc;
    }
    if (out)
        *out = t;
    return 0;
}
