/*
 * topic_config.c - a topic's config overrides, kept beside its data.
 *
 *   <data-dir>/payments-0/topic.config      # config overrides of topic payments
 *                                           retention.ms=86400000
 *                                           cleanup.policy=compact,delete
 *
 * Kafka keeps topic configs in its metadata (ZooKeeper's /config/topics/<topic>, or
 * KRaft's ConfigRecords), away from the log directories. Here the data directory is the
 * metadata (README §1), so they go into partition 0's directory, the one every topic has:
 * they are created with the topic (before its creation marker goes, so a created topic
 * always has them), renamed and removed with it when it is deleted, and read back at open.
 * One file, not one per partition (partition.metadata is per partition because Kafka's
 * is): a change is one atomic replace (tmp, fsync, rename, fsync dir), never N files that
 * a crash could leave disagreeing.
 *
 * This file stores text; it does not know what retention.ms means. The broker validates
 * the keys and values (Kafka's config model: broker/core/src/tconfig.c) and hands over
 * "key=value\n" lines. In memory the text hangs off the topic, swapped under the
 * registry's write lock; readers copy it under the read lock.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kc_err.h"
#include "kc_fs.h"
#include "kc_log.h"
#include "part_int.h"

#define CONFIG_FILE      "topic.config"
#define CONFIG_HEADER    "# config overrides of topic "
#define CONFIG_MAX_BYTES (64 * 1024)

static int config_path(const struct part_registry *reg, const struct part_topic *t, char *out,
                       size_t cap)
{
    char dir[PATH_MAX];
    int rc = part__partition_path(reg, t->name, t->name_len, 0, dir, sizeof(dir));
    return rc ? rc : kc_path_join(out, cap, dir, CONFIG_FILE);
}

int part__topic_config_write(struct part_registry *reg, const struct part_topic *t,
                             const char *text)
{
    char path[PATH_MAX];
    int rc = config_path(reg, t, path, sizeof(path));
    if (rc)
        return rc;
    size_t head = strlen(CONFIG_HEADER) + t->name_len + 1, len = strlen(text);
    char *body = malloc(head + len + 1);
    if (!body)
        return -ENOMEM;
    snprintf(body, head + 1, "%s%s\n", CONFIG_HEADER, t->name);
    memcpy(body + head, text, len + 1);
    rc = kc_atomic_replace(path, body, head + len); /* tmp, fsync, rename, fsync dir */
    free(body);
    return rc;
}

/* The file's lines without comments and blanks, as "key=value\n". */
static char *strip(const char *data)
{
    size_t n = strlen(data);
    char *out = malloc(n + 2), *o = out;
    if (!out)
        return NULL;
    for (const char *line = data; *line;) {
        const char *end = strchr(line, '\n');
        size_t len = end ? (size_t)(end - line) : strlen(line);
        if (len > 0 && line[0] != '#' && memchr(line, '=', len)) {
            memcpy(o, line, len);
            o += len;
            *o++ = '\n';
        }
        line += len + (end != NULL);
    }
    *o = '\0';
    return out;
}

int part__topic_config_load(struct part_registry *reg, struct part_topic *t)
{
    char path[PATH_MAX], *data = NULL;
    size_t len;
    int rc = config_path(reg, t, path, sizeof(path));
    if (rc == 0)
        rc = kc_read_file(path, CONFIG_MAX_BYTES, &data, &len);
    if (rc == -ENOENT)
        return 0; /* no overrides: every value is the broker's default */
    if (rc < 0) {
        kc_log_error("partitioning: cannot read %s: %s", path, kc_strerror(rc));
        return rc;
    }
    t->configs = strip(data);
    free(data);
    return t->configs ? 0 : -ENOMEM;
}

int part_topic_configs(struct part_registry *reg, const struct part_topic *t, char **out)
{
    (void)pthread_rwlock_rdlock(&reg->lock);
    char *copy = strdup(t->configs ? t->configs : "");
    (void)pthread_rwlock_unlock(&reg->lock);
    if (!copy)
        return -ENOMEM;
    *out = copy;
    return 0;
}

int part_topic_set_configs(struct part_registry *reg, struct part_topic *t, const char *text)
{
    char *copy = strdup(text);
    if (!copy)
        return -ENOMEM;
    (void)pthread_mutex_lock(&reg->create_lock); /* one writer; not while it is deleted */
    int rc = part_topic_deleted(t) ? KC_ENOTOPIC : part__topic_config_write(reg, t, text);
    if (rc == 0) {
        (void)pthread_rwlock_wrlock(&reg->lock);
        char *old = t->configs;
        t->configs = copy;
        copy = old;
        (void)pthread_rwlock_unlock(&reg->lock);
    }
    (void)pthread_mutex_unlock(&reg->create_lock);
    free(copy);
    return rc;
}
