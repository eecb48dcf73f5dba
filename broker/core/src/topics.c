/*
 * topics.c - finding and creating topics for any protocol, with the broker's rules on top
 * of partitioning's: __consumer_offsets belongs to the broker, and "partitions -1" means
 * num.partitions (as in Kafka's CreateTopics).
 */
#include <errno.h>
#include <string.h>

#include "brk_int.h"

bool brk_topic_internal(const char *name, size_t len)
{
    return len == sizeof(BRK_OFFSETS_TOPIC) - 1 && memcmp(name, BRK_OFFSETS_TOPIC, len) == 0;
}

int brk_topic_create(struct brk_server *srv, const char *name, size_t len, int32_t partitions,
                     struct part_topic **out)
{
    char buf[PART_NAME_MAX + 1];
    if (part_name_check(name, len) != 0)
        return KC_EBADNAME;
    if (brk_topic_internal(name, len))
        return -EEXIST;
    if (partitions == -1)
        partitions = srv->cfg.num_partitions;
    if (partitions < 1)
        return -EINVAL;
    memcpy(buf, name, len);
    buf[len] = '\0';
    int rc = part_topic_create(srv->reg, buf, partitions, out);
    if (rc == 0)
        kc_log_info("created topic %s with %d partition%s", buf, partitions,
                    partitions == 1 ? "" : "s");
    return rc;
}

int brk_topic_get(struct brk_server *srv, const char *name, size_t len, bool create,
                  struct part_topic **out)
{
    if (part_name_check(name, len) != 0)
        return KC_EBADNAME;
    struct part_topic *t = part_topic_find(srv->reg, name, len);
    if (!t && create && srv->cfg.auto_create_topics && srv->cops) {
        char buf[PART_NAME_MAX + 1]; /* a cluster: the controller creates, nobody waits */
        memcpy(buf, name, len);
        buf[len] = '\0';
        int rc = brk_cluster_topic_create(srv, buf, -1, -1, NULL);
        return rc == 0 ? -EINPROGRESS : rc;
    }
    if (!t && create && srv->cfg.auto_create_topics) {
        int rc = brk_topic_create(srv, name, len, -1, &t);
        if (rc == -EEXIST) /* created meanwhile by another connection */
            t = part_topic_find(srv->reg, name, len);
        else if (rc)
            return rc;
    }
    if (!t)
        return KC_ENOTOPIC;
    *out = t;
    return 0;
}
