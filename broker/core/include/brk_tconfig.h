/*
 * brk_tconfig.h - topic configs as Kafka has them: the keys, their types and validators,
 * their defaults from the broker's settings, and how DescribeConfigs reports them.
 *
 * A topic's value for a key comes from the first place that has one:
 *
 *   retention.ms   topic override (AlterConfigs, CreateTopics)   DYNAMIC_TOPIC_CONFIG (1)
 *        ^          log.retention.ms      (server.properties)     STATIC_BROKER_CONFIG (4)
 *        |          log.retention.minutes (server.properties)     STATIC_BROKER_CONFIG (4)
 *   synonyms        log.retention.hours   = 168, Kafka's default  DEFAULT_CONFIG       (5)
 *
 * DescribeConfigs answers the winner as the value with its source and, from v1 on when
 * asked, every place that has a value, in that order: the synonyms (Kafka's
 * DescribeConfigsResponse; LogConfig's TopicConfigSynonyms). The overrides are stored by
 * partitioning as "key=value\n" lines (part_topic_configs); this file parses, checks and
 * formats them, and turns them into what the log and the broker act on.
 *
 * Which keys act here (the rest are accepted, stored and reported, as Kafka would, and
 * change nothing on one node: min.insync.replicas, unclean.leader.election.enable, ...):
 *   retention.ms, retention.bytes, segment.bytes, segment.ms, max.message.bytes
 *                              -> the partition logs (alog_set_config), live
 *   cleanup.policy             -> the logs' cleanup_policy, live: without "delete",
 *                              retention leaves the topic alone; with "compact", the
 *                              store's cleaner threads compact it (appendLog README) and
 *                              a record without a key is refused (INVALID_RECORD)
 *   min.compaction.lag.ms, max.compaction.lag.ms, delete.retention.ms
 *                              -> the cleaner's bounds for the topic's logs, live
 *   message.timestamp.type     LogAppendTime: the broker stamps each batch's max
 *                              timestamp when it appends it (core/src/produce.c)
 *   compression.type           stored and reported
 *
 * Pure functions over caller memory; any thread.
 */
#ifndef BRK_TCONFIG_H
#define BRK_TCONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "alog.h"
#include "brk_config.h"

/* Kafka's codes (DescribeConfigsResponse ConfigSource and ConfigType). */
enum brk_cfg_source {
    BRK_CFGSRC_UNKNOWN = 0,
    BRK_CFGSRC_TOPIC = 1,          /* DYNAMIC_TOPIC_CONFIG */
    BRK_CFGSRC_STATIC_BROKER = 4,  /* STATIC_BROKER_CONFIG */
    BRK_CFGSRC_DEFAULT = 5,        /* DEFAULT_CONFIG */
};
enum brk_cfg_type {
    BRK_CFGT_BOOLEAN = 1, BRK_CFGT_STRING = 2, BRK_CFGT_INT = 3, BRK_CFGT_SHORT = 4,
    BRK_CFGT_LONG = 5, BRK_CFGT_DOUBLE = 6, BRK_CFGT_LIST = 7, BRK_CFGT_CLASS = 8,
    BRK_CFGT_PASSWORD = 9,
};

#define BRK_TCFG_VALUE_MAX 256 /* longer values are refused (INVALID_CONFIG) */
#define BRK_TCFG_SYN_MAX   4

struct brk_tcfg_key; /* one row of Kafka's topic config table (tconfig.c) */

/* The rows, in Kafka's (alphabetical) order: n, and the name of row i. */
int brk_tcfg_keys(void);
const char *brk_tcfg_key_name(int i);

/* The overrides of one topic. */
struct brk_tcfg {
    int n;
    struct {
        int key; /* row */
        char value[BRK_TCFG_VALUE_MAX];
    } e[64];
};

/*
 * Check one key and value as Kafka's LogConfig does: 0, or -EINVAL with Kafka's kind of
 * message in why ("Unknown topic config name: x", "Invalid value x for configuration
 * retention.ms: Not a number of type LONG", "... Value must be at least -1", "... String
 * must be one of: CreateTime, LogAppendTime"). A null value (len < 0) is refused too.
 */
int brk_tcfg_check(const char *key, int32_t klen, const char *value, int32_t vlen,
                   char *why, size_t cap);

/* Parse stored text ("key=value\n"); lines with unknown keys or bad values are skipped
 * (logged): the file was written by this broker, so they only appear if edited by hand. */
void brk_tcfg_parse(const char *text, struct brk_tcfg *c);
/* The text to store: malloc'ed "key=value\n" lines in row order; NULL on -ENOMEM. */
char *brk_tcfg_format(const struct brk_tcfg *c);

/* Set (checked: 0 or -EINVAL with why), delete (0; nothing if absent), get (NULL if
 * absent). Keys by (pointer, length). */
int brk_tcfg_set(struct brk_tcfg *c, const char *key, int32_t klen, const char *value,
                 int32_t vlen, char *why, size_t cap);
void brk_tcfg_delete(struct brk_tcfg *c, const char *key, int32_t klen);
const char *brk_tcfg_get(const struct brk_tcfg *c, const char *key);
/* Is key a list (cleanup.policy ...: IncrementalAlterConfigs APPEND/SUBTRACT)? -EINVAL if
 * it is no topic config. */
int brk_tcfg_is_list(const char *key, int32_t klen);

/* One config as DescribeConfigs reports it. */
struct brk_tcfg_synonym {
    const char *name;
    const char *value; /* NULL: null */
    char buf[BRK_TCFG_VALUE_MAX];
    int8_t source;
};
struct brk_tcfg_entry {
    const char *name;
    const char *value; /* the winner's value (in vbuf or static); NULL: null */
    char vbuf[BRK_TCFG_VALUE_MAX];
    int8_t source;
    int8_t type;       /* enum brk_cfg_type */
    bool sensitive;
    const char *doc;
    int nsyn;
    struct brk_tcfg_synonym syn[BRK_TCFG_SYN_MAX];
};
/* Row i of the table, for a topic with overrides c (NULL: none) on a broker with bc. */
void brk_tcfg_describe(const struct brk_config *bc, const struct brk_tcfg *c, int i,
                       struct brk_tcfg_entry *out);
/* The row of key, or -1. */
int brk_tcfg_find(const char *key, int32_t klen);

/* What acts: the log settings (bc->log with the overrides on top), and three flags. */
void brk_tcfg_log_config(const struct brk_config *bc, const struct brk_tcfg *c,
                         struct alog_config *out);
bool brk_tcfg_retention_deletes(const struct brk_config *bc, const struct brk_tcfg *c);
/* Does the topic's cleanup.policy have "compact" (every record must have a key)? */
bool brk_tcfg_compacts(const struct brk_config *bc, const struct brk_tcfg *c);
bool brk_tcfg_log_append_time(const struct brk_config *bc, const struct brk_tcfg *c);

#endif
