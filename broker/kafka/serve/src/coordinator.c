/*
 * coordinator.c - which broker coordinates a group, and whether it is this one.
 *
 * Kafka's rule, kept here: a group's records (its offsets, its metadata) all live in one
 * partition of __consumer_offsets, abs(javaHashCode(group)) % partitions, and the group's
 * COORDINATOR is the leader of that partition. So the coordinator moves when the
 * partition's leadership does, and every group API asked of another broker answers
 * NOT_COORDINATOR (16): the client asks FindCoordinator again and follows.
 *
 *   group "orders" --hash--> __consumer_offsets-17 --view--> leader 2
 *       broker 2: serves JoinGroup, SyncGroup, Heartbeat, LeaveGroup, OffsetCommit,
 *                 OffsetFetch, DescribeGroups, DeleteGroups, OffsetDelete; lists it
 *                 (COORDINATOR_LOAD_IN_PROGRESS, 14, while it reads the partition's log
 *                 after taking it over: broker/replica's brep__load_offsets)
 *       broker 1, 3: NOT_COORDINATOR; ListGroups leaves it out
 *
 * Alone (no cluster view) this broker coordinates every group: one code path, nothing
 * asked. Any thread: the view is a reference taken and dropped here.
 */
#include "kafka_int.h"

#include "brk_cluster.h"

/* Java's String.hashCode of a UTF-8 group id, over its UTF-16 code units (Kafka's
 * partitionFor: abs(hashCode) % partitions; a byte that is not UTF-8 counts as itself). */
static int32_t java_hash(struct kc_slice s)
{
    uint32_t h = 0;
    for (int32_t i = 0; i < s.len;) {
        uint32_t cp = s.p[i], n = cp < 0x80 ? 1 : cp >= 0xF0 ? 4 : cp >= 0xE0 ? 3 : cp >= 0xC0 ? 2 : 1;
        if (n > 1 && i + (int32_t)n <= s.len) {
            cp &= 0x3Fu >> (n - 1);
            for (uint32_t k = 1; k < n; k++)
                cp = (cp << 6) | (s.p[i + (int32_t)k] & 0x3F);
        } else {
            n = 1;
        }
        i += (int32_t)n;
        if (cp >= 0x10000) { /* a surrogate pair */
            h = 31 * h + (0xD800 + ((cp - 0x10000) >> 10));
            cp = 0xDC00 + ((cp - 0x10000) & 0x3FF);
        }
        h = 31 * h + cp;
    }
    return (int32_t)h;
}

int32_t brk__kafka_group_partition(struct kc_slice group, int32_t npartitions)
{
    if (npartitions < 1)
        return -1;
    return (int32_t)(((uint32_t)java_hash(group) & 0x7fffffff) % (uint32_t)npartitions);
}

/* group's partition in view v if this broker leads it, else NULL. */
static const struct brk_cpart *led_partition(const struct brk_cview *v, struct kc_slice group)
{
    const struct brk_ctopic *t =
        brk_cview_topic(v, BRK_OFFSETS_TOPIC, sizeof(BRK_OFFSETS_TOPIC) - 1);
    int32_t p = t ? brk__kafka_group_partition(group, t->npartitions) : -1;
    return p >= 0 && t->parts[p].leader == v->self ? &t->parts[p] : NULL;
}

int16_t brk__kafka_coordinator_check(struct brk_server *srv, struct kc_slice group)
{
    struct brk_cview *v = brk_cluster_view(srv);
    if (!v)
        return KP_ERR_NONE; /* alone: every group is ours */
    const struct brk_cpart *p = led_partition(v, group);
    int16_t err = !p           ? KP_ERR_NOT_COORDINATOR
                  : p->loading ? KP_ERR_COORDINATOR_LOAD_IN_PROGRESS /* broker/replica */
                               : KP_ERR_NONE;
    brk_cview_put(v);
    return err;
}

bool brk__kafka_coordinates(const struct brk_cview *v, struct kc_slice group)
{
    return !v || led_partition(v, group) != NULL;
}
