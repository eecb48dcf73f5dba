/*
 * fsess_int.h - what fsess.c (the cache) and fsess_table.c (one session's partitions)
 * share. Nobody else includes it: the door sees fsess.h.
 */
#ifndef FSESS_INT_H
#define FSESS_INT_H

#include <sys/queue.h>

#include "fsess.h"
#include "kc_common.h"

struct fs_topic {
    uint8_t *key;  /* the name's or the id's bytes, owned */
    int32_t len;
    int32_t refs;  /* partitions of the session in this topic */
};

struct brk_fsess {
    int32_t id;
    int32_t epoch;          /* the epoch the next incremental Fetch must carry */
    bool by_id;             /* keys are topic ids (v13+) */
    bool privileged;        /* a follower's: evicted after consumers' (fsess.h) */
    const void *follower;   /* and its connection, which closes it (NULL: a consumer's) */
    /* The cache's (under its lock): */
    bool leased;            /* a request holds the current epoch */
    bool cached;            /* in the cache; not: evicted or closed, freed at the lease's end */
    int64_t created_ms, used_ms;
    int64_t counted;        /* partitions counted in the cache's total */
    TAILQ_ENTRY(brk_fsess) lru;
    struct brk_fsess *next; /* the id table's chain */
    /* The table (fsess_table.c): */
    struct brk_fsess_part *parts;
    int32_t n, cap;
    uint32_t *pidx;
    uint32_t pmask;
    struct fs_topic *topics;
    int32_t ntopics, tcap;
    uint32_t *tidx;
    uint32_t tmask;
};

/* Room for more partitions and topics: 0 or -ENOMEM (s unchanged). */
int fsess__reserve(struct brk_fsess *s, int32_t more_parts, int32_t more_topics);
/* How many of e[0..n) s lacks, and an upper bound of the new topics they bring. */
void fsess__count_new(const struct brk_fsess *s, const struct brk_fsess_entry *e, int32_t n,
                      int32_t *parts, int32_t *topics);
/* Add e at the end (answered hwm, log_start) or update all its request fields (answered
 * ones kept: Kafka's updateRequestParams); room reserved.
 * 0 or -ENOMEM (the topic key's copy: nothing added). */
int fsess__put(struct brk_fsess *s, const struct brk_fsess_entry *e, int64_t hwm,
               int64_t log_start);
/* Remove keys[0..n) (absent ones are ignored); how many went. */
int32_t fsess__forget(struct brk_fsess *s, const struct brk_fsess_key *keys, int32_t n);
/* Free s and everything it holds. NULL is fine. */
void fsess__free(struct brk_fsess *s);

#endif
