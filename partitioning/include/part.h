/*
 * part.h - topics made of partitions, each partition a log directory, and the
 * partitioners that choose where a record goes.
 *
 * (Contract header: the module README and source headers teach; this states the rules.)
 *
 *   <data-dir>/payments-0/   one appendLog per partition, named <topic>-<partition>
 *   <data-dir>/payments-1/
 *   <data-dir>/payments-2/
 *   <data-dir>/logs-0/
 *
 * Rules:
 *  - Topic names follow Kafka: [A-Za-z0-9._-], 1..249 characters, not "." or "..".
 *    Nothing a client sends can name a path outside the data directory.
 *  - A topic, once created or found at open, lives until part_registry_close or, if it
 *    is deleted, until part_topic_reap: the struct part_topic pointer and the struct alog
 *    pointers it hands out stay valid until then, without any lock held. Deleting is two
 *    steps for that reason: part_topic_delete makes the deletion durable and takes the
 *    topic out of every lookup; the caller makes sure nobody still uses it (a grace
 *    period), then part_topic_reap closes its logs and removes its directories.
 *  - The registry is thread-safe (a reader-writer lock around the topic table); lookups
 *    from many network threads do not serialise on each other.
 *  - Every topic has an id (Kafka's topic ID): 16 random bytes, never all zero, made with
 *    the topic and kept in each partition directory as Kafka keeps it
 *    (partition.metadata), so it is the same after every restart. A topic found on disk
 *    without one (made by an older version of this broker) gets one when it is opened.
 *    A cluster's id can replace it once (part_topic_id_adopt), durably.
 *  - Partitioners: keyless records go round-robin (the first to partition 0; one atomic
 *    counter per topic, no lock); keyed records go where Kafka's Java client's default
 *    partitioner sends them: (murmur2(key) & 0x7fffffff) % partitions.
 */
#ifndef PART_H
#define PART_H

#include <stddef.h>
#include <stdint.h>

#include "alog.h"

#define PART_NAME_MAX 249

struct part_config {
    struct alog_config log;        /* for every partition's log */
    int32_t max_partitions;        /* per topic and per create call; default and at most
                                      PART_MAX_PARTITIONS (the broker caps it further) */
    struct alog_flusher *flusher;  /* may be NULL */
    /* Added with the store (appended, so older initialisers still compile): the cache of
     * open files, the checkpoint interval and the log cleaner (alog.h). Its flusher field
     * is ignored: the one above is used. */
    struct alog_store_config store;
};

/* The most partitions a topic can have: "<topic>-<p>" must fit a directory name (255
 * bytes), and 1,048,576 is the broker's own ceiling (num.partitions.max). A topic whose
 * longest directory name would not fit is refused (KC_ETOOLARGE) at creation. */
#define PART_MAX_PARTITIONS (1 << 20)

void part_config_init(struct part_config *cfg);

struct part_registry;
struct part_topic;

/* 0 if name[0..len) is a valid topic name, else KC_EBADNAME. */
int part_name_check(const char *name, size_t len);

/*
 * Open every topic found in data_dir (creating the directory if needed). The partitions'
 * logs are not opened: they live in the data directory's store (alog.h), which opens each
 * on first use and keeps the open ones in a bounded cache, so opening costs the directory
 * listing whatever the number of partitions. cfg may be NULL (defaults); -EINVAL if
 * max_partitions is outside 1..PART_MAX_PARTITIONS or a log setting is invalid, -EBUSY if
 * another process has the directory. A damaged layout (a partition directory missing
 * from a topic, a file where a directory should be) is reported with a clear message and
 * that topic is skipped, left untouched on disk, and its name refused by create; a stray
 * entry is reported and ignored; never a crash. (A partition whose log turns out unusable
 * is found at its first use, whose call returns the error.) A topic whose creation was
 * interrupted (its marker "<topic>~" is still there) is completed. Fails only for the
 * data directory itself or a lack of resources (-ENOMEM, -EMFILE, -ENOSPC, -EIO).
 */
int part_registry_open(struct part_registry **out, const char *data_dir,
                       const struct part_config *cfg);
/* Close every log (cleanly: one syncfs, the data directory's checkpoints, its marker) and
 * free; first error returned. Every slice must have been released. */
int part_registry_close(struct part_registry *reg);
/* The store holding the partitions' logs (its figures, its checkpoints). */
struct alog_store *part_registry_store(struct part_registry *reg);

/*
 * Create a topic with `partitions` partitions, every partition directory made and durable
 * before this returns (the logs' files are made at their first use). -EEXIST if it exists
 * (or exists on disk, damaged), KC_EBADNAME, -EINVAL for partitions < 1, KC_ETOOLARGE
 * above max_partitions or when "<name>-<partitions - 1>" would not fit a directory name,
 * -errno from the disk (then nothing is left behind, or, if even cleaning up failed, the
 * next open completes the topic). Serialised with other creates; lookups go on meanwhile.
 * *out (may be NULL) gets the topic.
 */
int part_topic_create(struct part_registry *reg, const char *name, int32_t partitions,
                      struct part_topic **out);
/* The topic called name[0..len), or NULL. */
struct part_topic *part_topic_find(struct part_registry *reg, const char *name, size_t len);
/* Up to cap topics, sorted by name (bytewise), into out; returns how many exist in all. */
size_t part_topic_list(struct part_registry *reg, struct part_topic **out, size_t cap);

const char *part_topic_name(const struct part_topic *t);
int32_t part_topic_partitions(const struct part_topic *t);
/* The log of partition p, or NULL if p is out of range. */
struct alog *part_topic_log(const struct part_topic *t, int32_t p);

/* A topic's id: Kafka's Uuid, the 16 bytes in wire order (most significant first). */
struct part_topic_id {
    uint8_t b[16];
};
/* Its text form, as Kafka prints it: URL-safe base64 without padding, 22 characters. */
#define PART_TOPIC_ID_STR 23 /* with the NUL */

/* t's id. Any thread, no lock. The 16 bytes pointed to never change and stay valid as
 * long as t; only part_topic_id_adopt gives t another id, and then a later call returns
 * another pointer. */
const struct part_topic_id *part_topic_id(const struct part_topic *t);
/* The topic whose id is id, or NULL. A hash lookup under the registry's read lock. */
struct part_topic *part_topic_find_id(struct part_registry *reg, const struct part_topic_id *id);
/* id as Kafka prints it ("6PjDq3C0Q8SVTBBR2P5fHQ") into out. */
void part_topic_id_str(const struct part_topic_id *id, char out[PART_TOPIC_ID_STR]);
/* The reverse: s[0..len) (22 characters of base64url, no padding) into *out. 0, or
 * KC_EMALFORMED (another length, a character outside the alphabet, padding bits set, or
 * Kafka's ZERO_UUID, which means "no id"). */
int part_topic_id_parse(const char *s, size_t len, struct part_topic_id *out);
/* t takes id instead of the id it was made with: a cluster's id for a topic this broker
 * made before it joined (__consumer_offsets). Every partition.metadata is rewritten
 * durably and crash-safely (a stop half-way is finished at the next open), then
 * part_topic_id and part_topic_find_id give id, and the old id finds nothing. Serialised
 * with creates, grows and deletes. 0 (also when id is t's already); -EINVAL (id NULL or
 * all zero); -EEXIST (another topic has id); KC_ENOTOPIC (t was deleted); -ENOMEM; -errno
 * from the disk (t keeps its old id in memory; if the disk had passed the commit point,
 * the next open gives it id). */
int part_topic_id_adopt(struct part_registry *reg, struct part_topic *t,
                        const struct part_topic_id *id);

/* ---- administration: configs, more partitions, deletion ---------------------------------
 *
 *   <data-dir>/payments-0/topic.config     the topic's config overrides, "key=value" lines
 *                                          (retention.ms=86400000), beside partition 0's data;
 *                                          written tmp, fsync, rename, fsync dir
 *   <data-dir>/payments~delete             while "payments" is being deleted: its id and
 *                                          partition count (durable before anything else)
 *   <data-dir>/payments-0.3f2a...9c-delete a partition directory on its way out (Kafka's name)
 *
 * The registry stores config text as it is given; what the keys mean, and which values are
 * valid, is the caller's (the broker knows Kafka's config model). Lines are "key=value\n".
 */

/* Create with config overrides (NULL or "" for none), written before the topic exists:
 * a created topic always has them; its logs open with log_cfg (NULL: the registry's), so
 * no append ever sees other settings. Otherwise exactly part_topic_create. */
int part_topic_create_configs(struct part_registry *reg, const char *name, int32_t partitions,
                              const char *configs, const struct alog_config *log_cfg,
                              struct part_topic **out);
/* The same with the topic's id given (id NULL: a new random one): a cluster's topic has one
 * id on every broker, chosen by its controller (Kafka keeps it in ZooKeeper too). */
int part_topic_create_as(struct part_registry *reg, const char *name, int32_t partitions,
                         const char *configs, const struct alog_config *log_cfg,
                         const struct part_topic_id *id, struct part_topic **out);
/* A word of the caller's own per topic (the broker keeps what its configs mean for the hot
 * paths there: LogAppendTime, say). 0 until set; lock-free. */
unsigned part_topic_flags(const struct part_topic *t);
void part_topic_set_flags(struct part_topic *t, unsigned flags);
/* A copy of t's config overrides ("" if none) in *out, NUL-terminated; the caller frees it.
 * 0 or -ENOMEM. Any thread (the registry's read lock). */
int part_topic_configs(struct part_registry *reg, const struct part_topic *t, char **out);
/* Replace t's overrides with text (durably, then in memory). Serialised with creates and
 * deletes. 0, KC_ENOTOPIC (t was deleted meanwhile), -errno from the disk (nothing
 * changed). */
int part_topic_set_configs(struct part_registry *reg, struct part_topic *t, const char *text);

/*
 * Grow t to `partitions` partitions (Kafka's CreatePartitions; never fewer). The new
 * directories are bracketed by the creation marker ("<topic>~" = the new count), so a
 * crash half-way is completed at the next open, like an interrupted creation. Readers of
 * t see the old count or the new one, never a torn pair. 0; -EINVAL (not more than now);
 * KC_ETOOLARGE (above max_partitions); KC_ENOTOPIC (deleted meanwhile); -errno (nothing
 * is published; the marker, if it stayed, completes the growth at the next open).
 */
int part_topic_grow(struct part_registry *reg, struct part_topic *t, int32_t partitions);

/*
 * Delete t, step 1: write "<topic>~delete" durably (the commit point: from here on the
 * topic is gone, whatever happens), then take it out of the name tree and the id index,
 * so no lookup finds it, and mark it (part_topic_deleted). Creating the name again is
 * refused (-EEXIST) until part_topic_reap has run. t and its logs stay valid. 0,
 * KC_ENOTOPIC (already deleted), -errno (nothing changed).
 */
int part_topic_delete(struct part_registry *reg, struct part_topic *t);
/* Has t been deleted (step 1 done)? Lock-free. */
bool part_topic_deleted(const struct part_topic *t);
/*
 * Delete t, step 2, once nobody uses t or its logs any more (no call in progress, no
 * watch armed, no durability wait pending that matters): close the logs, rename each
 * partition directory to "<topic>-<p>.<unique>-delete", fsync the data directory, remove
 * the marker (the name is free again from here), then remove the renamed directories.
 * t is freed whatever happens. 0 or the first error (then the marker stays, and the next
 * open finishes the deletion).
 */
int part_topic_reap(struct part_registry *reg, struct part_topic *t);

/* Round-robin: the next partition for a keyless record or batch. Lock-free. */
int32_t part_next_round_robin(struct part_topic *t);
/* Kafka's murmur2 (seed 0x9747b28c), exactly as the Java client computes it. */
int32_t part_murmur2(const void *key, size_t len);
/* Kafka's default keyed partitioner: (murmur2(key) & 0x7fffffff) % partitions; -1 if
 * partitions < 1. */
int32_t part_for_key(const void *key, size_t len, int32_t partitions);

#endif
