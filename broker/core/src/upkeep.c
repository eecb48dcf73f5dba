/*
 * upkeep.c - the broker's slow, rare chores, on the main thread: retention (and the expiry
 * of idle idempotent producers with it) and healing.
 *
 * The network loops never block on the disk except for the appends themselves, which go
 * to the page cache. What may take long - unlinking old segments, re-reading a log whose
 * fsync failed - runs here, between signals (run.c's wait loop calls it when it is due).
 */
#include <stdlib.h>
#include <string.h>

#include "alog_producer.h"
#include "brk_int.h"

/* Every topic, as an array (NULL if out of memory; *n then 0). Caller frees. Topics made
 * meanwhile are not in it: the next pass sees them. */
static struct part_topic **all_topics(struct brk_server *srv, size_t *n)
{
    size_t cap = part_topic_list(srv->reg, NULL, 0);
    struct part_topic **ts = calloc(cap ? cap : 1, sizeof(*ts));
    *n = 0;
    if (ts)
        *n = KC_MIN(cap, part_topic_list(srv->reg, ts, cap));
    return ts;
}

void brk__run_retention(struct brk_server *srv)
{
    size_t n;
    struct part_topic **ts = all_topics(srv, &n);
    for (size_t i = 0; i < n; i++) {
        const char *name = part_topic_name(ts[i]);
        if (brk_topic_internal(name, strlen(name)))
            continue; /* group offsets are kept until overwritten, never aged out */
        /* cleanup.policy=compact: the cleaner's, not retention's */
        bool retain = !(part_topic_flags(ts[i]) & BRK_TOPIC_NO_RETENTION);
        for (int32_t p = 0; p < part_topic_partitions(ts[i]); p++) {
            int deleted = 0;
            /* Idle idempotent producers forgotten (producer.id.expiration.ms; open logs
             * only: a closed one expires them when it is next opened). Logs what it did. */
            (void)alog_producers_expire(part_topic_log(ts[i], p), kc_wall_ms());
            if (!retain)
                continue;
            int rc = alog_retain(part_topic_log(ts[i], p), kc_wall_ms(), &deleted);
            if (rc)
                kc_log_warn("retention of %s-%d failed: %s", name, p, kc_strerror(rc));
            else if (deleted)
                kc_log_info("retention deleted %d segment%s of %s-%d", deleted,
                            deleted == 1 ? "" : "s", name, p);
        }
    }
    free(ts);
}

/*
 * After an fsync fails, a log refuses appends (-EIO: producers get a storage error) until
 * alog_recover has re-read what the disk really holds. run.c calls this on a timer
 * (BRK_HEAL_MS, backing off while the fault lasts); on a healthy log it is one atomic load.
 */
int brk__heal_logs(struct brk_server *srv)
{
    size_t n;
    struct part_topic **ts = all_topics(srv, &n);
    int still = ts ? 0 : 1; /* out of memory: try again later */
    for (size_t i = 0; i < n; i++) {
        for (int32_t p = 0; p < part_topic_partitions(ts[i]); p++) {
            struct alog_info ai;
            struct alog *log = part_topic_log(ts[i], p);
            alog_info(log, &ai);
            if (!ai.failed)
                continue;
            int rc = alog_recover(log); /* logs what it did, or why it could not */
            still += rc != 0;
            if (rc == 0)
                kc_log_info("%s-%d is back in service after a storage failure",
                            part_topic_name(ts[i]), p);
        }
    }
    free(ts);
    return still;
}
