/*
 * part_int.h - the registry's insides, shared by registry.c (the table, create, lookups)
 * and scan.c (what open finds on disk). Nothing outside partitioning/src and its tests
 * includes this.
 */
#ifndef PART_INT_H
#define PART_INT_H

#include <pthread.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/tree.h>

#include "part.h"
#include "part_params.h"

struct part_topic {
    RB_ENTRY(part_topic) link;  /* in part_registry.topics, by name */
    int32_t partitions;
    struct alog **logs;         /* [partitions], never NULL entries once published */
    size_t name_len;
    char name[PART_NAME_MAX + 1];
    struct part_topic_id id;    /* topic_id.c: set before the topic is published */
    struct part_topic *id_next; /* topic_id.c: the id index's chain */
    /* Written by every producer thread: alone on its cache line, so that lookups reading
     * the fields above do not bounce with it (the struct is allocated 64-aligned). */
    alignas(64) _Atomic uint64_t rr_next;
};

RB_HEAD(part_tree, part_topic);

/* topic_id.c's index, id -> topic: chained hash buckets (spill: one chain, used only if
 * not even the first bucket array could be allocated). Under part_registry.lock. */
struct part__ids {
    struct part_topic **buckets;
    size_t nbuckets;
    size_t count;
    struct part_topic *spill;
};

struct part_registry {
    char *dir;
    struct part_config cfg;
    struct alog_store *store;     /* every partition's log (alog.h) */
    pthread_rwlock_t lock;        /* topics, ntopics, damaged */
    pthread_mutex_t create_lock;  /* one creator at a time; held across the disk work */
    struct part_tree topics;
    size_t ntopics;
    char **damaged;               /* names found damaged at open: never created over */
    size_t ndamaged;
    struct part__ids ids;         /* topic_id.c: id -> topic, under lock like topics */
};

/* name.c */
/* Parse a directory entry "<topic>-<p>": 0 with *topic_len and *p, or -EINVAL. */
int part__parse_partition_dir(const char *name, size_t *topic_len, int32_t *p);
/* "<topic>~" -> 0 and *topic_len; -EINVAL otherwise. Same for "<topic>~.tmp". */
int part__parse_marker(const char *name, const char *suffix, size_t *topic_len);

/* registry.c: topic objects (used by scan.c at open). */
struct part_topic *part__topic_alloc(const char *name, size_t len, int32_t partitions);
void part__topic_free(struct part_topic *t);
/* Add every partition's log to the store (no I/O; fresh: the directories were just made,
 * empty); on failure removes the ones added and returns the error. */
int part__topic_add_logs(struct part_registry *reg, struct part_topic *t, bool fresh);
int part__partition_path(const struct part_registry *reg, const char *name, size_t len,
                         int32_t p, char *out, size_t cap);
int part__marker_path(const struct part_registry *reg, const char *name, size_t len,
                      const char *suffix, char *out, size_t cap);
/* Make directories p in [from, to); the caller fsyncs the data dir (registry.c says why
 * one fsync is enough). */
int part__make_partition_dirs(struct part_registry *reg, const char *name, size_t len,
                              int32_t from, int32_t to, bool exist_ok);
void part__insert(struct part_registry *reg, struct part_topic *t);
int part__add_damaged(struct part_registry *reg, const char *name, size_t len);

/* topic_id.c */
/* A new random id for t, written to every partition directory (durably). */
int part__topic_id_create(struct part_registry *reg, struct part_topic *t);
/* t's id from its partition directories; those without one get it (a new one if none
 * has one). KC_ECORRUPT: a file is unreadable or two disagree (logged). */
int part__topic_id_load(struct part_registry *reg, struct part_topic *t);
/* Index t by its id. reg->lock held exclusively (part__insert). Never fails. */
void part__ids_add(struct part_registry *reg, struct part_topic *t);
void part__ids_free(struct part_registry *reg);

/* scan.c */
int part__scan(struct part_registry *reg);

#endif
