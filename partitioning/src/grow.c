/*
 * grow.c - more partitions for a topic that is in use (Kafka's CreatePartitions).
 *
 *   payments~      "partitions=5"      1. the creation marker, with the NEW count (durable)
 *   payments-3/    payments-4/         2. the new directories, fsynced, with the topic's id
 *                                      3. their logs added to the store
 *   t->logs  = [0 1 2 3 4]             4. published: the new array first, then the count
 *   t->partitions = 5
 *   (payments~ unlinked, fsync)        5. the growth is complete
 *
 * A crash anywhere after 1 leaves the marker, and the next open treats it exactly as an
 * interrupted creation (scan.c): the directories below the marker's count that are missing
 * are made, and the topic loads with 5 partitions. Before 1 nothing happened. So a topic
 * never comes back with a count that nobody asked for.
 *
 * Readers never lock: part_topic_log loads the count, then the array. The array is stored
 * before the count (both sequentially consistent atomics), so whoever sees 5 sees the
 * array that has 5 entries; whoever still sees 3 indexes the old array or the new one,
 * both valid below 3. The old array is kept (reg->retired) until the registry closes: a
 * reader may hold it, and there is no cheaper way to know when it stops (it is 8 bytes a
 * partition, once per growth).
 *
 * Growing moves keys: murmur2(key) % 5 is not % 3. Kafka warns about it; so does the
 * partitioning README (§3).
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kc_common.h"
#include "kc_err.h"
#include "kc_fs.h"
#include "kc_log.h"
#include "part_int.h"

/* Add the logs of partitions [from, to) to the store, into logs[] (handles: no I/O), with
 * the topic's settings as partition 0 has them (its configs); on failure none is left. */
static int add_new(struct part_registry *reg, struct part_topic *t, struct alog **logs,
                   int32_t from, int32_t to)
{
    struct alog_config lc;
    int rc = 0;
    alog_get_config(t->logs[0], &lc);
    rc = part__topic_id_write(reg, t, from, to);
    if (rc == 0)
        rc = part__logs_add(reg, t, logs, from, to, &lc, true); /* empty directories */
    return rc;
}

/* Undo: remove the new directories, then the marker. */
static void grow_rollback(struct part_registry *reg, struct part_topic *t, int32_t from,
                          int32_t to, const char *marker)
{
    char path[PATH_MAX];
    int rc = 0;
    for (int32_t p = from; p < to && rc == 0; p++)
        if ((rc = part__partition_path(reg, t->name, t->name_len, p, path, sizeof(path))) == 0)
            rc = kc_rm_rf(path);
    if (rc == 0 && unlink(marker) < 0 && errno != ENOENT)
        rc = -errno;
    if (rc == 0)
        rc = kc_fsync_dir(reg->dir);
    if (rc < 0)
        kc_log_error("partitioning: could not undo the failed growth of '%s' (%s); the next "
                     "start completes it", t->name, kc_strerror(rc));
}

/* Steps 1-3; create_lock held. */
static int grow_on_disk(struct part_registry *reg, struct part_topic *t, int32_t n,
                        struct alog **logs, char *marker, size_t cap)
{
    char body[32];
    int32_t old = t->partitions;
    int rc = part__marker_path(reg, t->name, t->name_len, PART_MARKER_SUFFIX, marker, cap);
    int len = snprintf(body, sizeof(body), "partitions=%d\n", (int)n);
    if (rc == 0)
        rc = kc_atomic_replace(marker, body, (size_t)len); /* 1: durable intent */
    if (rc)
        return rc;
    rc = part__make_partition_dirs(reg, t->name, t->name_len, old, n, false); /* 2 */
    if (rc == 0)
        rc = kc_fsync_dir(reg->dir);
    if (rc == 0)
        rc = add_new(reg, t, logs, old, n); /* 3 */
    if (rc)
        grow_rollback(reg, t, old, n, marker);
    return rc;
}

/* Step 4: the array, then the count. create_lock held. */
static int publish(struct part_registry *reg, struct part_topic *t, struct alog **logs,
                   int32_t n)
{
    struct alog ***grown = reallocarray(reg->retired, reg->nretired + 1, sizeof(*grown));
    if (!grown)
        return -ENOMEM;
    reg->retired = grown;
    struct alog **old = t->logs;
    memcpy(logs, old, (size_t)t->partitions * sizeof(*logs));
    atomic_store_explicit(&t->logs, logs, memory_order_release);
    atomic_store_explicit(&t->partitions, n, memory_order_release); /* after the array */
    reg->retired[reg->nretired++] = old;
    return 0;
}

int part_topic_grow(struct part_registry *reg, struct part_topic *t, int32_t partitions)
{
    char marker[PATH_MAX];
    if (partitions > reg->cfg.max_partitions)
        return KC_ETOOLARGE;
    struct alog **logs = calloc((size_t)KC_MAX(partitions, 1), sizeof(*logs));
    if (!logs)
        return -ENOMEM;
    (void)pthread_mutex_lock(&reg->create_lock);
    int32_t old = t->partitions;
    int rc = part_topic_deleted(t) ? KC_ENOTOPIC : partitions <= old ? -EINVAL : 0;
    if (rc == 0)
        rc = grow_on_disk(reg, t, partitions, logs, marker, sizeof(marker));
    if (rc == 0 && (rc = publish(reg, t, logs, partitions)) != 0) {
        for (int32_t p = old; p < partitions; p++)
            (void)alog_close(logs[p]);
        grow_rollback(reg, t, old, partitions, marker);
    }
    if (rc == 0) {
        logs = NULL; /* the topic's now */
        if (unlink(marker) < 0 || kc_fsync_dir(reg->dir) < 0) /* 5 */
            kc_log_warn("partitioning: topic '%s' grew, but its marker could not be "
                        "removed; the next start finds nothing to complete", t->name);
    }
    (void)pthread_mutex_unlock(&reg->create_lock);
    free(logs);
    if (rc == 0)
        kc_log_info("partitioning: topic '%s' grew from %d to %d partitions", t->name,
                    (int)old, (int)partitions);
    return rc;
}
