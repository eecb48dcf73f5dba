/*
 * checkpoint.c - the small state files beside the segments, in Kafka's own formats.
 *
 *   recovery-point-offset-checkpoint      log-start-offset-checkpoint
 *   +--------------------------+          +--------------------------+
 *   | 0                        | version  | 0                        |
 *   | 1                        | entries  | 1                        |
 *   | payments 3 81920         | topic partition offset              |
 *   +--------------------------+          +--------------------------+
 *
 *   .kafka_cleanshutdown   {"version":0,"brokerEpoch":-1}   present = "shut down cleanly"
 *
 * Kafka keeps one of each per log DIRECTORY, listing every partition in it; here every
 * partition directory keeps its own, with one entry, so appendLog stands alone (the topic
 * and partition are read from the directory name "<topic>-<partition>"; any other name is
 * written as "<name> 0"). A checkpoint whose entry names another partition is ignored, as
 * Kafka ignores partitions missing from its file: the safe reading is "recover it all".
 *
 * Every write goes through kc_atomic_replace (temp file, fsync, rename, fsync dir): a
 * crash leaves the old checkpoint or the new one, never half of one. A leftover
 * "<name>.tmp" is deleted at open (recover.c).
 *
 * A store's log (store.c) keeps none of these: its store writes one file of each kind for
 * the whole data directory, as Kafka does. Its recovery point is recorded in memory here
 * and written with the others at the store's next checkpoint; files found in its directory
 * (from before it joined a store) are read at its first open and retired once the store
 * lists it.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alog_int.h"
#include "alog_params.h"
#include "kc_err.h"
#include "kc_fs.h"
#include "kc_log.h"
#include "kc_parse.h"
#include "store_int.h"

/* "<topic>-<partition>" from the directory's last component. */
static void topic_partition(const struct alog *log, char *topic, size_t cap, int64_t *part)
{
    const char *name = strrchr(log->dir, '/');
    name = name ? name + 1 : log->dir;
    snprintf(topic, cap, "%s", name);
    for (char *c = topic; *c; c++) { /* a directory name may hold what a line cannot */
        if (*c == ' ' || *c == '\n' || *c == '\t' || *c == '\r')
            *c = '_';
    }
    *part = 0;
    char *dash = strrchr(topic, '-');
    if (dash && dash != topic && kc_parse_i64(dash + 1, 0, INT32_MAX, part) == 0)
        *dash = '\0';
    else
        *part = 0;
}

int alog__checkpoint_write(const struct alog *log, const char *name, int64_t offset)
{
    char topic[256], path[4096], text[512];
    int64_t part;
    topic_partition(log, topic, sizeof(topic), &part);
    int n = snprintf(text, sizeof(text), "%d\n1\n%s %" PRId64 " %" PRId64 "\n",
                     ALOG_CHECKPOINT_VERSION, topic, part, offset);
    if (n < 0 || (size_t)n >= sizeof(text))
        return KC_ETOOLARGE;
    alog__path(log, path, sizeof(path), name);
    return kc_atomic_replace(path, text, (size_t)n);
}

/* Next line of *cur (NUL-terminated in place), or NULL at the end. */
static char *next_line(char **cur)
{
    char *line = *cur;
    if (!line || !*line)
        return NULL;
    char *nl = strchr(line, '\n');
    if (nl) {
        *nl = '\0';
        *cur = nl + 1;
    } else {
        *cur = NULL;
    }
    return line;
}

/* One "topic partition offset" line for our topic/partition: 0, -ENOENT (another
 * partition), KC_ECORRUPT. */
static int parse_entry(char *line, const char *topic, int64_t part, int64_t *offset)
{
    char *save = NULL;
    char *t = strtok_r(line, " ", &save);
    char *p = strtok_r(NULL, " ", &save);
    char *o = strtok_r(NULL, " ", &save);
    int64_t pv, ov;
    if (!t || !p || !o || strtok_r(NULL, " ", &save))
        return KC_ECORRUPT;
    if (kc_parse_i64(p, 0, INT32_MAX, &pv) || kc_parse_i64(o, 0, INT64_MAX, &ov))
        return KC_ECORRUPT;
    if (strcmp(t, topic) != 0 || pv != part)
        return -ENOENT;
    *offset = ov;
    return 0;
}

static int parse(char *text, const char *topic, int64_t part, int64_t *offset)
{
    char *cur = text, *line;
    int64_t version, count;
    if (!(line = next_line(&cur)) || kc_parse_i64(line, 0, 0, &version))
        return KC_ECORRUPT;
    if (!(line = next_line(&cur)) || kc_parse_i64(line, 0, INT32_MAX, &count))
        return KC_ECORRUPT;
    int rc = -ENOENT;
    for (int64_t i = 0; i < count; i++) {
        if (!(line = next_line(&cur)))
            return KC_ECORRUPT;
        int r = parse_entry(line, topic, part, offset);
        if (r == KC_ECORRUPT)
            return r;
        if (r == 0)
            rc = 0;
    }
    return next_line(&cur) ? KC_ECORRUPT : rc;
}

int alog__checkpoint_read(const struct alog *log, const char *name, int64_t *offset)
{
    char topic[256], path[4096];
    int64_t part, value = 0;
    topic_partition(log, topic, sizeof(topic), &part);
    alog__path(log, path, sizeof(path), name);
    char *text;
    size_t len;
    int rc = kc_read_file(path, 1 << 16, &text, &len);
    if (rc)
        return rc == KC_ETOOLARGE ? KC_ECORRUPT : rc;
    rc = strlen(text) == len ? parse(text, topic, part, &value) : KC_ECORRUPT;
    free(text);
    if (rc == 0)
        *offset = value;
    return rc;
}

int alog__marker_write(const struct alog *log)
{
    static const char body[] = "{\"version\":0,\"brokerEpoch\":-1}";
    char path[4096];
    alog__path(log, path, sizeof(path), ALOG_CLEAN_SHUTDOWN_FILE);
    return kc_atomic_replace(path, body, sizeof(body) - 1);
}

int alog__marker_take(const struct alog *log, bool *clean)
{
    char path[4096];
    alog__path(log, path, sizeof(path), ALOG_CLEAN_SHUTDOWN_FILE);
    if (unlink(path) < 0) {
        if (errno != ENOENT)
            return -errno;
        *clean = false;
        return 0;
    }
    *clean = true;
    /* Gone for good before the first append: a crash from here on must be seen as one. */
    return kc_fsync_dir(log->dir);
}

int alog__record_recovery_point(struct alog *log, int64_t rp)
{
    if (!log->store)
        return alog__checkpoint_write(log, ALOG_RECOVERY_POINT_FILE, rp);
    atomic_store(&log->recovery_point, rp);
    alog__store_mark_dirty(log->store);
    return 0;
}

void alog__retire_own_checkpoints(const struct alog *log)
{
    static const char *const names[] = {ALOG_RECOVERY_POINT_FILE, ALOG_LOG_START_FILE,
                                        ALOG_CLEAN_SHUTDOWN_FILE};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        char path[4096];
        alog__path(log, path, sizeof(path), names[i]);
        /* No fsync: should an unlink not survive a crash, the store's line still wins. */
        if (unlink(path) < 0 && errno != ENOENT)
            kc_log_warn("alog %s: cannot remove the stale %s: %s", log->dir, names[i],
                        strerror(errno));
    }
}
