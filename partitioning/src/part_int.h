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
    /* Both grow together (grow.c): the new array is stored before the new count, so a
     * reader that loads the count and then the array never indexes past the array. */
    _Atomic int32_t partitions;
    struct alog **_Atomic logs; /* [partitions], never NULL entries once published */
    size_t name_len;
    char name[PART_NAME_MAX + 1];
    struct part_topic_id id;    /* topic_id.c: set before the topic is published, then
                                   never written again (readers hold no lock) */
    struct part__id_box *_Atomic adopted; /* topic_id.c: an id adopted later (a cluster's),
                                             or NULL; part_topic_id says which is current */
    struct part_topic *id_next; /* topic_id.c: the id index's chain */
    char *configs;              /* topic_config.c: "key=value\n" lines; under reg->lock */
    _Atomic bool deleted;       /* delete.c: unpublished, waiting to be reaped */
    _Atomic unsigned flags;     /* the caller's (part_topic_set_flags) */
    const struct alog_config *open_cfg; /* creation only: the logs' settings, or NULL */
    struct part_topic *dying_next; /* delete.c: part_registry.dying, under reg->lock */
    /* Written by every producer thread: alone on its cache line, so that lookups reading
     * the fields above do not bounce with it (the struct is allocated 64-aligned). */
    alignas(64) _Atomic uint64_t rr_next;
};

RB_HEAD(part_tree, part_topic);

/* topic_id.c: an adopted id. Never freed before its topic, so a pointer part_topic_id
 * handed out stays valid and unchanged even if another id is adopted after it. */
struct part__id_box {
    struct part_topic_id id;
    struct part__id_box *prev; /* the one adopted before, or NULL */
};

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
    struct part_topic *dying;     /* delete.c: deleted, not reaped yet; under lock */
    struct alog ***retired;       /* grow.c: the logs arrays replaced, freed at close */
    size_t nretired;              /* (create_lock) */
};

/* name.c */
/* Parse a directory entry "<topic>-<p>": 0 with *topic_len and *p, or -EINVAL. */
int part__parse_partition_dir(const char *name, size_t *topic_len, int32_t *p);
/* "<topic>~" -> 0 and *topic_len; -EINVAL otherwise. Same for "<topic>~.tmp". */
int part__parse_marker(const char *name, const char *suffix, size_t *topic_len);

/* registry.c: topic objects (used by scan.c at open). */
struct part_topic *part__topic_alloc(const char *name, size_t len, int32_t partitions);
void part__topic_free(struct part_topic *t);
/* Free t but not its logs (the store closes them; or they were discarded). */
void part__topic_forget(struct part_topic *t);
/* Add every partition's log to the store (no I/O; fresh: the directories were just made,
 * empty); on failure removes the ones added and returns the error. */
int part__topic_add_logs(struct part_registry *reg, struct part_topic *t, bool fresh);
/* The same for partitions [from, to) of t into logs[] with cfg (grow.c's new ones). */
int part__logs_add(struct part_registry *reg, const struct part_topic *t, struct alog **logs,
                   int32_t from, int32_t to, const struct alog_config *cfg, bool fresh);
int part__partition_path(const struct part_registry *reg, const char *name, size_t len,
                         int32_t p, char *out, size_t cap);
int part__marker_path(const struct part_registry *reg, const char *name, size_t len,
                      const char *suffix, char *out, size_t cap);
/* Make directories p in [from, to); the caller fsyncs the data dir (registry.c says why
 * one fsync is enough). */
int part__make_partition_dirs(struct part_registry *reg, const char *name, size_t len,
                              int32_t from, int32_t to, bool exist_ok);
void part__insert(struct part_registry *reg, struct part_topic *t);
void part__remove_locked(struct part_registry *reg, struct part_topic *t);
int part__add_damaged(struct part_registry *reg, const char *name, size_t len);

/* topic_id.c */
/* A new random id for t, written to every partition directory (durably, one syncfs). */
int part__topic_id_create(struct part_registry *reg, struct part_topic *t);
/* Remove the id files of a topic whose creation is being completed after a crash: what
 * they hold was never made durable as a whole; the load gives the topic its id again. */
int part__topic_id_forget(struct part_registry *reg, const char *name, size_t len,
                          int32_t partitions);
/* t's id from its partition directories; those without one get it (a new one if none
 * has one). KC_ECORRUPT: a file is unreadable or two disagree (logged). */
int part__topic_id_load(struct part_registry *reg, struct part_topic *t);
/* Index t by its id. reg->lock held exclusively (part__insert). Never fails. */
void part__ids_add(struct part_registry *reg, struct part_topic *t);
void part__ids_free(struct part_registry *reg);
/* Write t's id into the directories of partitions [from, to) (durably, one syncfs): the
 * partitions grow.c adds. */
int part__topic_id_write(struct part_registry *reg, const struct part_topic *t, int32_t from,
                         int32_t to);
/* Take t out of the index. reg->lock held exclusively. */
void part__ids_remove(struct part_registry *reg, struct part_topic *t);
/* Free the ids t adopted (part__topic_forget: nobody can read them any more). */
void part__topic_id_fini(struct part_topic *t);

/* topic_config.c */
/* Read t's configs from its partition 0 (none: empty). At open, before publication. */
int part__topic_config_load(struct part_registry *reg, struct part_topic *t);
/* Write text as t's configs file, durably (creation, before its marker goes). */
int part__topic_config_write(struct part_registry *reg, const struct part_topic *t,
                             const char *text);

/* delete.c */
/* Is name[0..len) being deleted (unpublished, not reaped)? reg->lock held (either way). */
bool part__dying_locked(struct part_registry *reg, const char *name, size_t len);
/* Free the topics deleted but not reaped (part_registry_close, after the store closed
 * their logs with the others): their deletion markers stay, so the next open completes
 * them. */
void part__dying_close(struct part_registry *reg);
/* scan.c's hooks: is this directory entry deletion's (a "<topic>~delete" marker, a
 * "<topic>-<p>.<id>-delete" directory, or a marker's .tmp)? If so it is handled - the
 * leftovers removed - and true returned. */
bool part__scan_deletion_entry(struct part_registry *reg, int dfd, const char *name);
/* After the scan's classify pass: finish every deletion a crash interrupted (its marker
 * found, its directories renamed and removed). 0 or a fatal -errno. */
int part__finish_deletions(struct part_registry *reg);

/* scan.c */
int part__scan(struct part_registry *reg);

#endif
