/*
 * group_store.c - the coordinator's records in __consumer_offsets: stored when the
 * coordinator asks, loaded at start. The door's half of persistence (the coordinator's
 * half, which decides when and what, is broker/kafka/group/src/group_store.c).
 *
 *   a network loop, under mu                 flusher thread          loop 0
 *   kg: cbs.store(group, rec, seq)
 *     encode rec (GroupMetadataValue v3,
 *       current_state_timestamp = now)
 *     brk_group_write(key v2 + value) ---->  fsync (group commit,
 *                                            shared with offset
 *                                            commits)
 *                                            store_durable(err) --> post ---> store_task:
 *                                                                             lock mu
 *                                                                             kg_group_stored
 *                                                                             unlock (+ timer)
 *
 * The answer always comes back as a task, never from inside the store callback, so the
 * coordinator is never re-entered; loop 0 runs it like any other call (and, when the
 * broker stops, the core runs the loops' last tasks after storage has settled every wait,
 * before the door is stopped).
 *
 * Errors, as Kafka maps a failed append of the group's record: the disk failing (-EIO) is
 * Kafka's KAFKA_STORAGE_ERROR, answered NOT_COORDINATOR; a record too large is
 * UNKNOWN_SERVER_ERROR; anything else (out of memory, the broker stopping) is
 * COORDINATOR_NOT_AVAILABLE. Clients find the coordinator again and retry.
 *
 * Loading. The core's replay kept the latest record of every group; the door's start takes
 * them (brk_group_records_take), decodes each (a record that does not decode is logged and
 * skipped: the group starts afresh) and hands it to kg_group_load. Then a task on loop 0
 * arms the coordinator's timer, so the loaded members' sessions run from the start.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "kafka_int.h"

/* One store on its way to the disk and back. */
struct gstore {
    struct tcore_task task;
    struct brk_kafka *k;
    uint64_t seq;
    int err;
    int32_t len;
    char group[];
};

static int16_t store_error(int err)
{
    switch (err) {
    case 0:
        return KP_ERR_NONE;
    case -EIO:
    case -ESTALE: /* a cluster: the partition's leadership went while it waited */
        return KP_ERR_NOT_COORDINATOR;
    case KC_ETOOLARGE:
        return KP_ERR_UNKNOWN_SERVER_ERROR;
    default:
        return KP_ERR_COORDINATOR_NOT_AVAILABLE;
    }
}

/* On loop 0: the coordinator hears how its store went. */
static void store_task(struct tcore_loop *loop, struct tcore_task *t)
{
    struct gstore *st = t->arg;
    struct brk_kafka *k = st->k;
    if (st->err)
        kc_log_warn("group %.*s: its record could not be stored in %s: %s", (int)st->len,
                    st->group, BRK_OFFSETS_TOPIC, kc_strerror(st->err));
    brk__kafka_groups_lock(k);
    kg_group_stored(k->groups, (struct kc_slice){(const uint8_t *)st->group, st->len}, st->seq,
                    store_error(st->err), kc_mono_ms());
    brk__kafka_groups_unlock_loop(k, loop);
    free(st);
}

static void store_post(struct gstore *st, int err)
{
    st->err = err;
    tcore_loop_post(brk_server_loop(st->k->srv, 0), &st->task);
}

/* On the flusher thread: the batch is on disk, or will not be. */
static void store_durable(void *arg, int err)
{
    store_post(arg, err);
}

/* The group's record as the bytes __consumer_offsets keeps (w's writer error, if any). */
static int record_bytes(struct kc_writer *w, const struct kg_record *rec)
{
    struct kg_record r = *rec;
    r.current_state_timestamp = kc_wall_ms();
    return kg_record_encode(w, &r);
}

void brk__kafka_group_store(void *ctx, struct kc_slice group, const struct kg_record *rec,
                            uint64_t seq)
{
    struct brk_kafka *k = ctx;
    struct gstore *st = malloc(sizeof(*st) + (size_t)group.len);
    struct kc_writer w;
    if (!st) { /* kg waits in vain: the members' next rejoin moves the group on */
        kc_log_warn("group %.*s: out of memory storing its record", (int)group.len, group.p);
        return;
    }
    *st = (struct gstore){.k = k, .seq = seq, .len = group.len};
    memcpy(st->group, group.p, (size_t)group.len);
    tcore_task_init(&st->task, store_task, st);
    if (brk_group_check((const char *)group.p, (size_t)group.len) != 0) {
        /* a group id no offset could be committed under either (over 249 bytes, control
         * characters): it lives, unpersisted, as it always did */
        kc_log_debug("group %.*s: not persisted (not a storable group id)", (int)KC_MIN(group.len, 64),
                     group.p);
        store_post(st, 0);
        return;
    }
    kc_writer_init(&w, 0);
    int rc = rec ? record_bytes(&w, rec) : 0;
    struct brk_group_write gw = {
        .group = group,
        .meta = rec ? BRK_GROUP_META_RECORD : BRK_GROUP_META_TOMBSTONE,
        .value = {kc_writer_data(&w), (int32_t)kc_writer_len(&w)},
    };
    if (rc == 0)
        rc = brk_group_write(k->srv, &gw, store_durable, st);
    kc_writer_fini(&w);
    if (rc != 0) /* durable already (1), or refused: answered by the task all the same */
        store_post(st, rc > 0 ? 0 : rc);
}

bool brk__kafka_group_keep_empty(void *ctx, struct kc_slice group)
{
    struct brk_kafka *k = ctx;
    return brk_offsets_count(k->srv, group) > 0;
}

/* ---- loading at start ---------------------------------------------------------------------- */

struct load {
    struct brk_kafka *k;
    const struct brk_cview *view; /* a cluster's: load only the groups led here */
    int64_t now;
    int groups, members, skipped;
};

static void load_one(void *arg, struct kc_slice group, struct kc_slice value)
{
    struct load *ld = arg;
    struct kg_record rec;
    if (ld->view && !brk__kafka_coordinates(ld->view, group))
        return; /* moved on before we took it: its records stay in the log */
    int rc = kg_record_decode(value.p, (size_t)value.len, &rec);
    if (rc == 0) {
        rc = kg_group_load(ld->k->groups, group, &rec, ld->now);
        if (rc == -EEXIST) { /* still here from before the move: its state is newer */
            kg_record_fini(&rec);
            return;
        }
        if (rc == 0) {
            ld->groups++;
            ld->members += rec.nmembers;
        }
        kg_record_fini(&rec);
    }
    if (rc) {
        ld->skipped++;
        kc_log_warn("group %.*s: its record in %s cannot be loaded (%s); the group starts "
                    "afresh", (int)KC_MIN(group.len, 249), group.p, BRK_OFFSETS_TOPIC,
                    kc_strerror(rc));
    }
}

void brk__kafka_groups_take(struct brk_kafka *k, const struct brk_cview *v)
{
    struct load ld = {.k = k, .view = v, .now = kc_mono_ms()};
    brk_group_records_take(k->srv, load_one, &ld);
    if (ld.groups || ld.skipped)
        kc_log_info("group coordinator: %d group%s loaded (%d members), %d skipped", ld.groups,
                    ld.groups == 1 ? "" : "s", ld.members, ld.skipped);
}

/* On loop 0, once: arm the coordinator's timer for the loaded sessions. */
static void loaded_task(struct tcore_loop *loop, struct tcore_task *t)
{
    struct brk_kafka *k = t->arg;
    brk__kafka_groups_lock(k);
    brk__kafka_groups_unlock_loop(k, loop);
}

int brk__kafka_groups_load(struct brk_kafka *k)
{
    struct load ld = {.k = k, .now = kc_mono_ms()};
    brk__kafka_groups_lock(k);
    brk_group_records_take(k->srv, load_one, &ld);
    pthread_mutex_unlock(&k->mu); /* the main thread: loop 0 arms the timer (loaded_task) */
    if (ld.groups || ld.skipped)
        kc_log_info("%d consumer group%s loaded from %s (%d members), %d skipped", ld.groups,
                    ld.groups == 1 ? "" : "s", BRK_OFFSETS_TOPIC, ld.members, ld.skipped);
    tcore_task_init(&k->loaded_task, loaded_task, k);
    tcore_loop_post(brk_server_loop(k->srv, 0), &k->loaded_task);
    return 0;
}
