/*
 * topic_id.c - every topic's id (Kafka's topic ID, KIP-516): 16 random bytes, made with
 * the topic, kept in each of its partition directories exactly as Kafka keeps it, and
 * the same after every restart.
 *
 *   <data-dir>/payments-0/partition.metadata        version: 0\n
 *   <data-dir>/payments-1/partition.metadata        topic_id: 6PjDq3C0Q8SVTBBR2P5fHQ\n
 *   <data-dir>/payments-2/partition.metadata        (the same file in every partition)
 *
 * The id is printed as Kafka prints a Uuid: the 16 bytes (most significant first, as on
 * the wire) in URL-safe base64 without padding, 22 characters. Why a topic needs an id at
 * all: a name can be deleted and made again, and a client that still holds the old
 * topic's partitions must not read the new one's offsets as if nothing happened. Kafka's
 * newer requests (Metadata v10+, Fetch v13+) name topics by id for that reason.
 *
 * Life of an id:
 *   create   part__topic_id_create: getrandom(2), a version-4 UUID that is neither all
 *            zero nor Kafka's reserved metadata-topic id and whose text does not start
 *            with '-' (Kafka's Uuid.randomUuid rules); written to every partition
 *            directory (tmp and rename each, then ONE syncfs(2) for all of them: 10,000
 *            partitions cost one sync, not 20,000 fsyncs) before the topic's creation
 *            marker is removed, so a created topic always has it. A crash before that
 *            sync leaves the marker, and the scan completes the creation after
 *            part__topic_id_forget has removed whatever files the crash left.
 *   open     part__topic_id_load: read from every partition directory. The files must
 *            agree; a directory without one (a topic made before ids existed, or a
 *            creation interrupted between two files) gets the id the others hold, or, if
 *            none has one, a new id: the log says which. An empty file counts as none
 *            (what a new file can be after a crash, before its data reached the disk).
 *   lookup   part_topic_find_id: a hash index over the ids, kept beside the name tree
 *            and under the same registry lock (part__ids_add is called where a topic is
 *            published), so whatever part_topic_find can see, this can see.
 *   adopt    part_topic_id_adopt: a topic made here before its cluster gave it an id
 *            (the broker's __consumer_offsets) takes the cluster's. The one place an id
 *            changes after publication, so it is crash-safe on its own terms:
 *
 *              1. <topic>-0/partition.metadata.adopt   the new id; syncfs   <- commit point
 *              2. every partition.metadata rewritten (tmp and rename); syncfs
 *              3. the .adopt file removed; the new id published in memory
 *
 *            A crash after 1 leaves the .adopt file and part__topic_id_load finishes the
 *            rewrite at the next open, so the files never stay half old, half new (which
 *            the load would call corrupt). Before 1 is durable nothing has changed.
 *
 * This file is the whole feature; registry.c and scan.c only call it at three points
 * (creation, load, publication) and part_int.h carries the id and the index.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/random.h>
#include <unistd.h>

#include "kc_err.h"
#include "kc_fs.h"
#include "kc_log.h"
#include "part_int.h"

#define ID_FILE "partition.metadata"
#define ID_FILE_MAX 256 /* the file is 41 bytes; anything much longer is not ours */

static const char b64url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* ---- the text form ----------------------------------------------------------------------- */

void part_topic_id_str(const struct part_topic_id *id, char out[PART_TOPIC_ID_STR])
{
    uint32_t acc = 0;
    int bits = 0, n = 0;
    for (int i = 0; i < 16; i++) {
        acc = (acc << 8) | id->b[i];
        bits += 8;
        while (bits >= 6) {
            bits -= 6;
            out[n++] = b64url[(acc >> bits) & 63];
        }
    }
    out[n++] = b64url[(acc << (6 - bits)) & 63]; /* the last 2 bits, padded with zeros */
    out[n] = '\0';
}

static int b64url_value(char c)
{
    const char *at = c ? strchr(b64url, c) : NULL;
    return at ? (int)(at - b64url) : -1;
}

/* 22 characters -> 16 bytes; the padding bits of the last character must be zero. */
static int id_parse(const char *s, size_t len, struct part_topic_id *id)
{
    uint32_t acc = 0;
    int bits = 0, n = 0;
    if (len != PART_TOPIC_ID_STR - 1)
        return KC_EMALFORMED;
    for (size_t i = 0; i < len; i++) {
        int v = b64url_value(s[i]);
        if (v < 0)
            return KC_EMALFORMED;
        acc = (acc << 6) | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            if (n < 16)
                id->b[n++] = (uint8_t)(acc >> bits);
        }
    }
    return n == 16 && (acc & ((1u << bits) - 1)) == 0 ? 0 : KC_EMALFORMED;
}

static bool id_is_zero(const struct part_topic_id *id)
{
    static const struct part_topic_id zero;
    return memcmp(id, &zero, sizeof(zero)) == 0;
}

/* Kafka's Uuid.randomUuid: a random v4 UUID, never ZERO_UUID nor METADATA_TOPIC_ID (0, 1),
 * never one whose text starts with '-' (it would look like a command-line option). */
static int id_random(struct part_topic_id *id)
{
    static const struct part_topic_id metadata = {.b = {[15] = 1}};
    char text[PART_TOPIC_ID_STR];
    do {
        ssize_t n = getrandom(id->b, sizeof(id->b), 0); /* 16 bytes: never short */
        if (n < 0)
            return -errno;
        if (n != (ssize_t)sizeof(id->b))
            return -EIO;
        id->b[6] = (uint8_t)((id->b[6] & 0x0f) | 0x40); /* version 4 */
        id->b[8] = (uint8_t)((id->b[8] & 0x3f) | 0x80); /* IETF variant */
        part_topic_id_str(id, text);
    } while (id_is_zero(id) || memcmp(id, &metadata, sizeof(*id)) == 0 || text[0] == '-');
    return 0;
}

/* ---- the files --------------------------------------------------------------------------- */

static int id_path(const struct part_registry *reg, const struct part_topic *t, int32_t p,
                   char *out, size_t cap)
{
    char dir[PATH_MAX];
    int rc = part__partition_path(reg, t->name, t->name_len, p, dir, sizeof(dir));
    if (rc == 0 && snprintf(out, cap, "%s/" ID_FILE, dir) >= (int)cap)
        rc = KC_ETOOLARGE;
    return rc;
}

/* id as an id file at path, without any fsync (tmp and rename, so a reader sees the old
 * file or the new one): many files at once are made durable together by ids_sync. */
static int id_file_write(const char *path, const struct part_topic_id *id)
{
    char tmp[PATH_MAX + 8], text[PART_TOPIC_ID_STR], body[64];
    part_topic_id_str(id, text);
    int n = snprintf(body, sizeof(body), "version: 0\ntopic_id: %s\n", text);
    if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
        return KC_ETOOLARGE;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return -errno;
    ssize_t w = write(fd, body, (size_t)n);
    int rc = w == n ? 0 : w < 0 ? -errno : -EIO;
    if (close(fd) < 0 && rc == 0)
        rc = -errno;
    if (rc == 0 && rename(tmp, path) < 0)
        rc = -errno;
    if (rc)
        (void)unlink(tmp); /* best effort: a leftover .tmp is overwritten next time */
    return rc;
}

/* Partition p's file with t's current id (part_topic_id: an adopted one, if any). */
static int id_write_unsynced(const struct part_registry *reg, const struct part_topic *t,
                             int32_t p)
{
    char path[PATH_MAX];
    int rc = id_path(reg, t, p, path, sizeof(path));
    return rc ? rc : id_file_write(path, part_topic_id(t));
}

/* Everything written to the data directory's file system is durable: files, renames and
 * the directories holding them (syncfs(2) reports writeback errors since Linux 5.8). */
static int ids_sync(const struct part_registry *reg)
{
    int fd = open(reg->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    int rc = syncfs(fd) == 0 ? 0 : -errno;
    close(fd);
    return rc;
}

/* Read the id file at path: 0 and *id, -ENOENT when there is none, KC_EMALFORMED when it
 * is not "version: 0\ntopic_id: <22 characters>\n" (the final newline may be missing). */
static int id_file_read(const char *path, struct part_topic_id *id)
{
    char *text;
    size_t len;
    int rc = kc_read_file(path, ID_FILE_MAX, &text, &len);
    if (rc)
        return rc == KC_ETOOLARGE ? KC_EMALFORMED : rc;
    if (len == 0) {
        free(text);
        return -ENOENT; /* created, then a crash before its data was written: none */
    }
    static const char v0[] = "version: 0\ntopic_id: ";
    const char *at = text + sizeof(v0) - 1;
    size_t left = len >= sizeof(v0) - 1 ? len - (sizeof(v0) - 1) : 0;
    if (left > 0 && at[left - 1] == '\n')
        left--;
    rc = len >= sizeof(v0) - 1 && memcmp(text, v0, sizeof(v0) - 1) == 0
             ? id_parse(at, left, id)
             : KC_EMALFORMED;
    if (rc == 0 && id_is_zero(id))
        rc = KC_EMALFORMED; /* Kafka's ZERO_UUID means "no id" */
    free(text);
    return rc;
}

/* Partition p's file (id_file_read's answers). */
static int id_read(const struct part_registry *reg, const struct part_topic *t, int32_t p,
                   struct part_topic_id *id)
{
    char path[PATH_MAX];
    int rc = id_path(reg, t, p, path, sizeof(path));
    return rc ? rc : id_file_read(path, id);
}

int part_topic_id_parse(const char *s, size_t len, struct part_topic_id *out)
{
    struct part_topic_id id;
    int rc = s ? id_parse(s, len, &id) : KC_EMALFORMED;
    if (rc == 0 && id_is_zero(&id))
        rc = KC_EMALFORMED; /* Kafka's ZERO_UUID means "no id" */
    if (rc == 0)
        *out = id;
    return rc;
}

int part__topic_id_create(struct part_registry *reg, struct part_topic *t)
{
    int rc = id_is_zero(&t->id) ? id_random(&t->id) : 0; /* given (a cluster's), or new */
    for (int32_t p = 0; rc == 0 && p < t->partitions; p++)
        rc = id_write_unsynced(reg, t, p);
    return rc ? rc : ids_sync(reg);
}

int part__topic_id_forget(struct part_registry *reg, const char *name, size_t len,
                          int32_t partitions)
{
    char dir[PATH_MAX], path[PATH_MAX];
    for (int32_t p = 0; p < partitions; p++) {
        int rc = part__partition_path(reg, name, len, p, dir, sizeof(dir));
        if (rc == 0 && snprintf(path, sizeof(path), "%s/" ID_FILE, dir) >= (int)sizeof(path))
            rc = KC_ETOOLARGE;
        if (rc == 0 && unlink(path) < 0 && errno != ENOENT)
            rc = -errno;
        if (rc)
            return rc;
    }
    return 0;
}

/* ---- adoption: the crash-safe rewrite ----------------------------------------------------- */

/* Step 1's file: beside partition 0's partition.metadata. */
static int adopt_path(const struct part_registry *reg, const struct part_topic *t, char *out,
                      size_t cap)
{
    char dir[PATH_MAX];
    int rc = part__partition_path(reg, t->name, t->name_len, 0, dir, sizeof(dir));
    if (rc == 0 && snprintf(out, cap, "%s/" ID_FILE ".adopt", dir) >= (int)cap)
        rc = KC_ETOOLARGE;
    return rc;
}

/* Steps 2 and 3: id into every partition's file, durably; then the .adopt file goes. Its
 * removal need not be durable: if it comes back after a crash, the next open rewrites the
 * same id once more. The caller holds create_lock or has not published t: the partition
 * count cannot change meanwhile. */
static int adopt_rewrite(struct part_registry *reg, struct part_topic *t,
                         const struct part_topic_id *id, const char *marker)
{
    char path[PATH_MAX];
    int rc = 0;
    for (int32_t p = 0; rc == 0 && p < part_topic_partitions(t); p++) {
        rc = id_path(reg, t, p, path, sizeof(path));
        if (rc == 0)
            rc = id_file_write(path, id);
    }
    if (rc == 0)
        rc = ids_sync(reg);
    if (rc == 0 && unlink(marker) < 0 && errno != ENOENT)
        kc_log_warn("partitioning: %s stays (%s); the next open rewrites the same id again",
                    marker, kc_strerror(-errno));
    return rc;
}

/* At open, before t is published: an adoption a crash interrupted after its commit point
 * is finished (t gets the adopted id); a .adopt file that never became durable (absent or
 * empty) means nothing changed. KC_ECORRUPT if the file is unreadable. */
static int adopt_resume(struct part_registry *reg, struct part_topic *t)
{
    char marker[PATH_MAX], text[PART_TOPIC_ID_STR];
    struct part_topic_id id;
    int rc = adopt_path(reg, t, marker, sizeof(marker));
    if (rc == 0)
        rc = id_file_read(marker, &id);
    if (rc == -ENOENT) /* an empty one is removed: its id was never durable */
        return unlink(marker) == 0 || errno == ENOENT ? 0 : -errno;
    if (rc) {
        kc_log_error("partitioning: %s cannot be read: %s", marker, kc_strerror(rc));
        return rc == KC_EMALFORMED ? KC_ECORRUPT : rc;
    }
    part_topic_id_str(&id, text);
    kc_log_info("partitioning: topic '%s' takes topic id %s: finishing an adoption that a "
                "stop interrupted", t->name, text);
    t->id = id; /* not published yet: nobody reads it */
    return adopt_rewrite(reg, t, &id, marker);
}

/* What the directories hold: the first id found, and the partitions missing one. An id
 * that disagrees with the first is KC_ECORRUPT (logged). */
static int id_collect(struct part_registry *reg, struct part_topic *t, bool *found,
                      int32_t *missing)
{
    struct part_topic_id id;
    for (int32_t p = 0; p < t->partitions; p++) {
        int rc = id_read(reg, t, p, &id);
        if (rc == -ENOENT) {
            (*missing)++;
            continue;
        }
        if (rc) {
            kc_log_error("partitioning: %s-%d/" ID_FILE " cannot be read: %s", t->name, (int)p,
                         kc_strerror(rc));
            return rc == KC_EMALFORMED ? KC_ECORRUPT : rc;
        }
        if (*found && memcmp(&id, &t->id, sizeof(id)) != 0) {
            kc_log_error("partitioning: %s-%d/" ID_FILE " names another topic id than the "
                         "partitions before it: the directories of two topics are mixed",
                         t->name, (int)p);
            return KC_ECORRUPT;
        }
        t->id = id;
        *found = true;
    }
    return 0;
}

int part__topic_id_load(struct part_registry *reg, struct part_topic *t)
{
    bool found = false;
    int32_t missing = 0;
    int rc = adopt_resume(reg, t);
    if (rc == 0)
        rc = id_collect(reg, t, &found, &missing);
    if (rc || missing == 0)
        return rc;
    if (!found && (rc = id_random(&t->id)) != 0)
        return rc;
    char text[PART_TOPIC_ID_STR];
    part_topic_id_str(&t->id, text);
    kc_log_info("partitioning: topic '%s' %s topic id %s (%d of %d partition directories "
                "had no " ID_FILE ")", t->name, found ? "keeps its" : "gets the new", text,
                (int)missing, (int)t->partitions);
    for (int32_t p = 0; rc == 0 && p < t->partitions; p++) {
        struct part_topic_id id;
        if (id_read(reg, t, p, &id) == -ENOENT)
            rc = id_write_unsynced(reg, t, p);
    }
    return rc ? rc : ids_sync(reg);
}

/* ---- the index: id -> topic ------------------------------------------------------------ */

static size_t id_hash(const struct part_topic_id *id, size_t nbuckets)
{
    uint64_t h;
    memcpy(&h, id->b, sizeof(h)); /* random bytes: any 8 of them hash well */
    return (size_t)(h % nbuckets);
}

/* Double the bucket array when the chains grow past 2 topics a bucket. If memory is
 * short the chains just grow longer: lookups stay correct, only slower. */
static void ids_grow(struct part__ids *ix)
{
    size_t n = ix->nbuckets ? ix->nbuckets * 2 : 64;
    struct part_topic **b = calloc(n, sizeof(*b));
    if (!b)
        return;
    for (size_t i = 0; i < ix->nbuckets; i++) {
        struct part_topic *t = ix->buckets[i], *next;
        for (; t; t = next) {
            next = t->id_next;
            size_t h = id_hash(part_topic_id(t), n);
            t->id_next = b[h];
            b[h] = t;
        }
    }
    free(ix->buckets);
    ix->buckets = b;
    ix->nbuckets = n;
}

void part__ids_add(struct part_registry *reg, struct part_topic *t)
{
    struct part__ids *ix = &reg->ids;
    if (ix->count + 1 > 2 * ix->nbuckets)
        ids_grow(ix);
    if (ix->nbuckets == 0) { /* not even the first array: one chain, in the spill head */
        t->id_next = ix->spill;
        ix->spill = t;
    } else {
        size_t h = id_hash(part_topic_id(t), ix->nbuckets);
        t->id_next = ix->buckets[h];
        ix->buckets[h] = t;
    }
    ix->count++;
}

static struct part_topic *chain_find(struct part_topic *t, const struct part_topic_id *id)
{
    for (; t; t = t->id_next)
        if (memcmp(part_topic_id(t), id, sizeof(*id)) == 0)
            return t;
    return NULL;
}

struct part_topic *part_topic_find_id(struct part_registry *reg, const struct part_topic_id *id)
{
    (void)pthread_rwlock_rdlock(&reg->lock); /* EAGAIN only past 2^31 readers */
    struct part__ids *ix = &reg->ids;
    struct part_topic *t = chain_find(ix->spill, id);
    if (!t && ix->nbuckets)
        t = chain_find(ix->buckets[id_hash(id, ix->nbuckets)], id);
    (void)pthread_rwlock_unlock(&reg->lock);
    return t;
}

void part__ids_free(struct part_registry *reg)
{
    free(reg->ids.buckets);
    memset(&reg->ids, 0, sizeof(reg->ids));
}

/* Acquire pairs with adopt_publish's release: whoever sees the new box sees its bytes. */
const struct part_topic_id *part_topic_id(const struct part_topic *t)
{
    struct part__id_box *box = atomic_load_explicit(&t->adopted, memory_order_acquire);
    return box ? &box->id : &t->id;
}

void part__topic_id_fini(struct part_topic *t)
{
    struct part__id_box *box = atomic_load_explicit(&t->adopted, memory_order_relaxed), *prev;
    for (; box; box = prev) {
        prev = box->prev;
        free(box);
    }
    atomic_store_explicit(&t->adopted, NULL, memory_order_relaxed);
}

void part__ids_remove(struct part_registry *reg, struct part_topic *t)
{
    struct part__ids *ix = &reg->ids;
    struct part_topic **heads[2] = {
        ix->nbuckets ? &ix->buckets[id_hash(part_topic_id(t), ix->nbuckets)] : NULL, &ix->spill};
    for (int i = 0; i < 2; i++) {
        for (struct part_topic **at = heads[i]; at && *at; at = &(*at)->id_next) {
            if (*at == t) {
                *at = t->id_next;
                t->id_next = NULL;
                ix->count--;
                return;
            }
        }
    }
}

int part__topic_id_write(struct part_registry *reg, const struct part_topic *t, int32_t from,
                         int32_t to)
{
    int rc = 0;
    for (int32_t p = from; rc == 0 && p < to; p++)
        rc = id_write_unsynced(reg, t, p);
    return rc ? rc : ids_sync(reg);
}

/* ---- adoption: the public call ----------------------------------------------------------- */

/* Is id already t's (*same), or another topic's (-EEXIST)? Or is t deleted? create_lock. */
static int adopt_check(struct part_registry *reg, struct part_topic *t,
                       const struct part_topic_id *id, bool *same)
{
    if (part_topic_deleted(t))
        return KC_ENOTOPIC;
    struct part_topic *owner = part_topic_find_id(reg, id);
    *same = owner == t;
    return owner && owner != t ? -EEXIST : 0;
}

/* Step 1, the commit point, then steps 2 and 3. If step 1 fails, its file is removed (best
 * effort: if it survived a crash anyway, the next open would adopt id, which is what the
 * caller asked). A failure after it leaves the files to the next open, which finishes. */
static int adopt_write(struct part_registry *reg, struct part_topic *t,
                       const struct part_topic_id *id)
{
    char marker[PATH_MAX];
    int rc = adopt_path(reg, t, marker, sizeof(marker));
    if (rc == 0)
        rc = id_file_write(marker, id);
    if (rc == 0)
        rc = ids_sync(reg); /* the commit point: from here the open finishes the adoption */
    if (rc) {
        (void)unlink(marker); /* best effort, see above */
        return rc;
    }
    return adopt_rewrite(reg, t, id, marker);
}

/*
 * The new id in memory. Two kinds of reader, both safe:
 *  - part_topic_find_id holds reg->lock shared: taking it exclusively here, it never sees
 *    t between the index's removal (by the old id) and its insertion (by the new one);
 *  - part_topic_id holds no lock (the Kafka door copies the 16 bytes into every Metadata
 *    and Fetch answer): it loads t->adopted, a pointer, atomically and reads an id that is
 *    never written again (the box is filled before the release store, and every box stays
 *    until t is freed), so it copies the old id or the new one, never a torn mix.
 */
static void adopt_publish(struct part_registry *reg, struct part_topic *t,
                          struct part__id_box *box)
{
    (void)pthread_rwlock_wrlock(&reg->lock); /* cannot fail: no deadlock, not held already */
    part__ids_remove(reg, t); /* by the id it had */
    box->prev = atomic_load_explicit(&t->adopted, memory_order_relaxed);
    atomic_store_explicit(&t->adopted, box, memory_order_release);
    part__ids_add(reg, t); /* by the new one */
    (void)pthread_rwlock_unlock(&reg->lock);
}

int part_topic_id_adopt(struct part_registry *reg, struct part_topic *t,
                        const struct part_topic_id *id)
{
    if (!reg || !t || !id || id_is_zero(id))
        return -EINVAL; /* Kafka's ZERO_UUID means "no id": nothing to adopt */
    struct part__id_box *box = malloc(sizeof(*box)); /* first: ENOMEM changes nothing */
    if (!box)
        return -ENOMEM;
    box->id = *id;
    bool same = false;
    (void)pthread_mutex_lock(&reg->create_lock); /* no create, grow or delete meanwhile */
    int rc = adopt_check(reg, t, id, &same);
    if (rc == 0 && !same)
        rc = adopt_write(reg, t, id);
    if (rc == 0 && !same) {
        adopt_publish(reg, t, box);
        box = NULL;
    }
    (void)pthread_mutex_unlock(&reg->create_lock);
    free(box);
    return rc;
}
