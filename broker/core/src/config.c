/*
 * config.c - settings by Kafka's names: one table, one parser per value type.
 *
 * Every key is a row (name, type, where it lands, bounds). Parsing is strict (kc_parse.h):
 * "12x", "", " 5" and out-of-range values are errors that say what is allowed, never a
 * silent 0. Byte sizes also take units (64k, 1m, 1g). Kafka's retention and roll settings
 * come in hours, minutes and ms with the finer unit winning, as in Kafka.
 */
#include <ctype.h>
#include <stdarg.h>
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "brk.h"
#include "brk_config.h"
#include "brk_int.h"
#include "brk_params.h"
#include "kc_common.h"

enum cfg_type { CFG_I32, CFG_I64, CFG_MS, CFG_SIZE32, CFG_SIZE64, CFG_STR,
                CFG_LEVEL, CFG_HOURS, CFG_MINUTES, CFG_BOOL };

struct cfg_key {
    const char *name;
    enum cfg_type type;
    size_t off;      /* offsetof(struct brk_config, field) */
    size_t size;     /* CFG_STR: capacity */
    int64_t min, max;
};

#define F(field)      offsetof(struct brk_config, field), 0
#define S(field)      offsetof(struct brk_config, field), sizeof(((struct brk_config *)0)->field)
#define I32MAX        INT32_MAX
#define DAY_MS        86400000LL

static const struct cfg_key cfg_keys[] = {
    {"log.dirs", CFG_STR, S(data_dir), 0, 0},
    {"log.dir", CFG_STR, S(data_dir), 0, 0},
    {"num.partitions", CFG_I32, F(num_partitions), 1, 1 << 20},
    {"auto.create.topics.enable", CFG_BOOL, F(auto_create_topics), 0, 0},
    {"num.network.threads", CFG_I32, F(num_network_threads), 0, 256},
    {"socket.request.max.bytes", CFG_SIZE32, F(socket_request_max_bytes), 64, I32MAX},
    {"max.connections", CFG_I32, F(max_connections), 1, 1 << 24},
    {"connections.max.idle.ms", CFG_MS, F(connections_max_idle_ms), 100, 365 * DAY_MS},
    {"queued.max.requests", CFG_I32, F(queued_max_requests), 1, 1 << 20},
    {"queued.max.request.bytes", CFG_I64, F(queued_max_request_bytes), -1, INT64_MAX},
    {"connection.output.max.bytes", CFG_SIZE64, F(connection_output_max_bytes), 4096,
     INT64_MAX},
    {"fetch.max.bytes", CFG_SIZE32, F(fetch_max_bytes), 1024, I32MAX},
    {"offsets.topic.num.partitions", CFG_I32, F(offsets_topic_num_partitions), 1, 1000},
    {"offsets.topic.segment.bytes", CFG_SIZE64, F(offsets_topic_segment_bytes), 1024,
     I32MAX},
    {"offsets.commit.timeout.ms", CFG_MS, F(offsets_commit_timeout_ms), 1, I32MAX},
    {"log.retention.check.interval.ms", CFG_MS, F(retention_check_interval_ms), 10,
     365 * DAY_MS},
    {"shutdown.timeout.ms", CFG_MS, F(shutdown_timeout_ms), 0, DAY_MS},
    {"num.partitions.max", CFG_I32, F(max_partitions_per_topic), 1, 1 << 20},
    {"log.level", CFG_LEVEL, F(log_level), 0, 0},
    {"metrics.port", CFG_I32, F(metrics_port), -1, 65535},
    {"metrics.bind", CFG_STR, S(metrics_bind), 0, 0},
    {"group.initial.rebalance.delay.ms", CFG_MS, F(group_initial_rebalance_delay_ms), 0,
     I32MAX},
    {"group.min.session.timeout.ms", CFG_MS, F(group_min_session_timeout_ms), 1, I32MAX},
    {"group.max.session.timeout.ms", CFG_MS, F(group_max_session_timeout_ms), 1, I32MAX},
    {"max.incremental.fetch.session.cache.slots", CFG_I32, F(fetch_session_slots), 0,
     1 << 20},
    {"min.incremental.fetch.session.eviction.ms", CFG_MS, F(fetch_session_eviction_ms), 0,
     365 * DAY_MS},
    {"max.incremental.fetch.session.cache.partitions", CFG_I64, F(fetch_session_partitions),
     0, 1LL << 30},
    {"log.segment.bytes", CFG_SIZE64, F(log.segment_bytes), 1024, INT64_MAX},
    {"log.roll.ms", CFG_MS, F(log.segment_ms), 1, INT64_MAX},
    {"log.roll.hours", CFG_HOURS, F(log.segment_ms), 1, INT64_MAX / 3600000},
    {"log.index.interval.bytes", CFG_SIZE32, F(log.index_interval_bytes), 0, I32MAX},
    {"log.index.size.max.bytes", CFG_SIZE32, F(log.index_max_bytes), 4096, I32MAX},
    {"log.retention.bytes", CFG_I64, F(log.retention_bytes), -1, INT64_MAX},
    {"log.retention.ms", CFG_MS, F(log.retention_ms), -1, INT64_MAX},
    {"log.retention.minutes", CFG_MINUTES, F(log.retention_ms), -1, INT64_MAX / 60000},
    {"log.retention.hours", CFG_HOURS, F(log.retention_ms), -1, INT64_MAX / 3600000},
    {"log.flush.interval.ms", CFG_MS, F(log.flush_interval_ms), -1, INT64_MAX},
    {"log.flush.interval.messages", CFG_I64, F(log.flush_interval_messages), -1, INT64_MAX},
    {"message.max.bytes", CFG_SIZE32, F(log.max_batch_bytes), 128, I32MAX},
    /* The store: how many descriptors its cache of open logs may hold (-1: half the soft
     * RLIMIT_NOFILE), how often the per-directory checkpoints are written, the cleaner. */
    {"log.cache.max.open.files", CFG_I64, F(store.max_open_files), -1, I32MAX},
    {"log.flush.offset.checkpoint.interval.ms", CFG_MS, F(store.checkpoint_interval_ms), 1,
     365 * DAY_MS},
    {"log.cleaner.enable", CFG_BOOL, F(cleaner_enable), 0, 0},
    {"log.cleaner.threads", CFG_I32, F(store.cleaner_threads), 0, 64},
    {"log.cleaner.backoff.ms", CFG_MS, F(store.cleaner_backoff_ms), 1, 365 * DAY_MS},
    {"log.cleaner.dedupe.buffer.size", CFG_SIZE64, F(store.cleaner_dedupe_buffer_size),
     1 << 16, 1LL << 40},
    {"log.cleaner.io.buffer.size", CFG_SIZE64, F(store.cleaner_io_buffer_size), 4096,
     1LL << 30},
    /* The cluster (broker/replica): used only with zookeeper.connect. */
    {"broker.id", CFG_I32, F(cluster.broker_id), -1, BRK_BROKER_ID_MAX},
    {"zookeeper.connect", CFG_STR, S(cluster.zk_connect), 0, 0},
    {"zookeeper.session.timeout.ms", CFG_MS, F(cluster.zk_session_timeout_ms), 200, I32MAX},
    {"zookeeper.connection.timeout.ms", CFG_MS, F(cluster.zk_connection_timeout_ms), 0,
     I32MAX},
    {"default.replication.factor", CFG_I32, F(cluster.default_replication_factor), 1,
     INT16_MAX},
    {"min.insync.replicas", CFG_I32, F(cluster.min_insync_replicas), 1, I32MAX},
    {"offsets.topic.replication.factor", CFG_I32, F(cluster.offsets_replication_factor), 1,
     INT16_MAX},
    {"replica.lag.time.max.ms", CFG_MS, F(cluster.replica_lag_time_max_ms), 1, I32MAX},
    {"replica.high.watermark.checkpoint.interval.ms", CFG_MS,
     F(cluster.hw_checkpoint_interval_ms), 10, I32MAX},
    {"replica.fetch.wait.max.ms", CFG_MS, F(cluster.replica_fetch_wait_max_ms), 1, I32MAX},
    {"replica.fetch.max.bytes", CFG_I32, F(cluster.replica_fetch_max_bytes), 1024, I32MAX},
    {"replica.fetch.response.max.bytes", CFG_I32, F(cluster.replica_fetch_response_max_bytes),
     1024, I32MAX},
    {"replica.socket.timeout.ms", CFG_MS, F(cluster.replica_socket_timeout_ms), 100, I32MAX},
    {"replica.fetch.backoff.ms", CFG_MS, F(cluster.replica_fetch_backoff_ms), 1, I32MAX},
    {"num.replica.fetchers", CFG_I32, F(cluster.num_replica_fetchers), 1,
     BRK_MAX_REPLICA_FETCHERS},
    {"unclean.leader.election.enable", CFG_BOOL, F(cluster.unclean_leader_election), 0, 0},
    {"controlled.shutdown.enable", CFG_BOOL, F(cluster.controlled_shutdown), 0, 0},
    {"auto.leader.rebalance.enable", CFG_BOOL, F(cluster.auto_leader_rebalance), 0, 0},
    {"leader.imbalance.check.interval.seconds", CFG_I64, F(cluster.leader_imbalance_check_s),
     1, I32MAX},
    {"broker.rack", CFG_STR, S(cluster.rack), 0, 0},
};

/* Kafka keys that make no difference here (KRaft's, no transactions, Java's threads). */
static const char *const cfg_ignored[] = {
    "node.id", "process.roles", "controller.quorum.voters",
    "controller.listener.names", "inter.broker.listener.name", "num.io.threads", "socket.send.buffer.bytes",
    "socket.receive.buffer.bytes", "num.recovery.threads.per.data.dir",
    "transaction.state.log.replication.factor",
    "transaction.state.log.min.isr", "delete.topic.enable",
};

void brk_config_init(struct brk_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    strlcpy(cfg->bind, BRK_DEFAULT_BIND, sizeof(cfg->bind));
    cfg->port = BRK_DEFAULT_PORT;
    strlcpy(cfg->data_dir, BRK_DEFAULT_DATA_DIR, sizeof(cfg->data_dir));
    cfg->num_partitions = BRK_DEFAULT_NUM_PARTITIONS;
    cfg->auto_create_topics = true;
    cfg->num_network_threads = 0;
    cfg->socket_request_max_bytes = BRK_DEFAULT_REQUEST_MAX_BYTES;
    cfg->max_connections = BRK_DEFAULT_MAX_CONNECTIONS;
    cfg->connections_max_idle_ms = BRK_DEFAULT_IDLE_MS;
    cfg->queued_max_requests = BRK_DEFAULT_QUEUED_MAX_REQUESTS;
    cfg->queued_max_request_bytes = BRK_DEFAULT_QUEUED_MAX_REQUEST_BYTES;
    cfg->connection_output_max_bytes = BRK_DEFAULT_OUTPUT_MAX_BYTES;
    cfg->fetch_max_bytes = BRK_DEFAULT_FETCH_MAX_BYTES;
    cfg->offsets_topic_num_partitions = BRK_DEFAULT_OFFSETS_PARTITIONS;
    cfg->offsets_topic_segment_bytes = BRK_DEFAULT_OFFSETS_SEGMENT_BYTES;
    cfg->offsets_commit_timeout_ms = BRK_DEFAULT_OFFSETS_COMMIT_TIMEOUT_MS;
    cfg->retention_check_interval_ms = BRK_DEFAULT_RETENTION_CHECK_MS;
    cfg->shutdown_timeout_ms = BRK_DEFAULT_SHUTDOWN_MS;
    cfg->max_partitions_per_topic = BRK_DEFAULT_MAX_PARTITIONS;
    brk__config_security_init(cfg);
    cfg->metrics_port = BRK_DEFAULT_METRICS_PORT;
    strlcpy(cfg->metrics_bind, BRK_DEFAULT_METRICS_BIND, sizeof(cfg->metrics_bind));
    cfg->log_level = KC_LOG_INFO;
    cfg->group_initial_rebalance_delay_ms = BRK_DEFAULT_GROUP_INITIAL_DELAY_MS;
    cfg->group_min_session_timeout_ms = BRK_DEFAULT_GROUP_MIN_SESSION_MS;
    cfg->group_max_session_timeout_ms = BRK_DEFAULT_GROUP_MAX_SESSION_MS;
    cfg->fetch_session_slots = BRK_DEFAULT_FETCH_SESSION_SLOTS;
    cfg->fetch_session_eviction_ms = BRK_DEFAULT_FETCH_SESSION_EVICT_MS;
    cfg->fetch_session_partitions = BRK_DEFAULT_FETCH_SESSION_PARTS;
    alog_config_init(&cfg->log);
    alog_store_config_init(&cfg->store);
    cfg->cleaner_enable = true;
    cfg->cluster.broker_id = -1;
    cfg->cluster.zk_session_timeout_ms = BRK_DEFAULT_ZK_SESSION_MS;
    cfg->cluster.default_replication_factor = BRK_DEFAULT_REPLICATION_FACTOR;
    cfg->cluster.min_insync_replicas = BRK_DEFAULT_MIN_ISR;
    cfg->cluster.offsets_replication_factor = BRK_DEFAULT_OFFSETS_RF;
    cfg->cluster.replica_lag_time_max_ms = BRK_DEFAULT_REPLICA_LAG_MS;
    cfg->cluster.hw_checkpoint_interval_ms = BRK_DEFAULT_HW_CHECKPOINT_MS;
    cfg->cluster.replica_fetch_wait_max_ms = 500;                  /* Kafka's defaults */
    cfg->cluster.replica_fetch_max_bytes = 1 << 20;
    cfg->cluster.replica_fetch_response_max_bytes = 10 << 20;
    cfg->cluster.replica_socket_timeout_ms = 30000;
    cfg->cluster.replica_fetch_backoff_ms = 1000;
    cfg->cluster.num_replica_fetchers = 1;
    cfg->cluster.controlled_shutdown = true;
    cfg->cluster.auto_leader_rebalance = true;
    cfg->cluster.leader_imbalance_check_s = BRK_DEFAULT_IMBALANCE_CHECK_S;
}

static int cfg_fail(char *err, size_t cap, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int cfg_fail(char *err, size_t cap, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, cap, fmt, ap);
    va_end(ap);
    return -EINVAL;
}

/* An integer in [min, max], with units for sizes; -1 stays -1 where min allows it. */
static int cfg_number(const struct cfg_key *k, const char *v, int64_t *out, char *err,
                      size_t cap)
{
    uint64_t u;
    if (kc_parse_i64(v, k->min, k->max, out) == 0)
        return 0;
    bool size = k->type == CFG_SIZE32 || k->type == CFG_SIZE64;
    if (size && kc_parse_size(v, (uint64_t)k->max, &u) == 0 && (int64_t)u >= k->min) {
        *out = (int64_t)u;
        return 0;
    }
    return cfg_fail(err, cap, "%s must be %s from %lld to %lld, not '%s'", k->name,
                    size ? "a size (bytes, or with k/m/g)" : "an integer", (long long)k->min,
                    (long long)k->max, v);
}

static int cfg_apply(struct brk_config *cfg, const struct cfg_key *k, const char *v, char *err,
                     size_t cap)
{
    char *field = (char *)cfg + k->off;
    int64_t n;
    switch (k->type) {
    case CFG_STR:
        if (!*v || strlen(v) >= k->size)
            return cfg_fail(err, cap, "%s must be 1 to %zu characters", k->name, k->size - 1);
        if (k->off == offsetof(struct brk_config, data_dir) && strchr(v, ','))
            return cfg_fail(err, cap, "%s: one directory only, not '%s'", k->name, v);
        strlcpy(field, v, k->size);
        return 0;
    case CFG_BOOL:
        if (kc_parse_bool(v, (bool *)(void *)field) != 0)
            return cfg_fail(err, cap, "%s must be true or false, not '%s'", k->name, v);
        return 0;
    case CFG_LEVEL:
        if (kc_log_level_parse(v, (enum kc_log_level *)(void *)field) != 0)
            return cfg_fail(err, cap, "%s must be error, warn, info or debug", k->name);
        return 0;
    default:
        break;
    }
    if (cfg_number(k, v, &n, err, cap))
        return -EINVAL;
    switch (k->type) {
    case CFG_I32: *(int32_t *)(void *)field = (int32_t)n; break;
    case CFG_SIZE32: *(uint32_t *)(void *)field = (uint32_t)n; break;
    case CFG_SIZE64: *(uint64_t *)(void *)field = (uint64_t)n; break;
    case CFG_HOURS: *(int64_t *)(void *)field = n < 0 ? -1 : n * 3600000; break;
    case CFG_MINUTES: *(int64_t *)(void *)field = n < 0 ? -1 : n * 60000; break;
    default: *(int64_t *)(void *)field = n; break;
    }
    return 0;
}

/* The finer unit wins, whatever the order of the lines: hours < minutes < ms. */
static int cfg_rank(const char *key)
{
    const char *dot = strrchr(key, '.');
    if (!dot || (strncmp(key, "log.retention.", 14) != 0 && strncmp(key, "log.roll.", 9) != 0))
        return -1;
    return !strcmp(dot, ".hours") ? 0 : !strcmp(dot, ".minutes") ? 1 : !strcmp(dot, ".ms") ? 2 : -1;
}

int brk_config_set(struct brk_config *cfg, const char *key, const char *value, char *err,
                   size_t cap)
{
    int sec = brk__config_security_set(cfg, key, value, err, cap);
    if (sec != 2)
        return sec; /* a security key (config_security.c): applied, or an error */
    for (size_t i = 0; i < KC_ARRAY_SIZE(cfg_keys); i++) {
        const struct cfg_key *k = &cfg_keys[i];
        if (strcmp(k->name, key) != 0)
            continue;
        int rank = cfg_rank(key);
        bool roll = strncmp(key, "log.roll.", 9) == 0;
        uint8_t *best = roll ? &cfg->unit_rank[1] : &cfg->unit_rank[0];
        if (rank >= 0 && rank + 1 < *best)
            return 0; /* a finer unit was already given */
        int rc = cfg_apply(cfg, k, value, err, cap);
        if (rc == 0 && rank >= 0)
            *best = (uint8_t)(rank + 1);
        if (rc == 0)
            cfg->set_mask[i / 64] |= 1ull << (i % 64); /* DescribeConfigs: STATIC_BROKER_CONFIG */
        return rc;
    }
    for (size_t i = 0; i < KC_ARRAY_SIZE(cfg_ignored); i++)
        if (strcmp(cfg_ignored[i], key) == 0)
            return 1;
    return 2;
}

static char *trim(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    char *end = s + strlen(s);
    while (end > s && isspace((unsigned char)end[-1]))
        *--end = '\0';
    return s;
}

/* One line of a properties file; line numbers are for messages. */
static int cfg_line(struct brk_config *cfg, const char *path, int no, char *line, char *err,
                    size_t cap)
{
    char why[256];
    char *s = trim(line), *eq;
    if (!*s || *s == '#' || *s == '!')
        return 0;
    eq = strchr(s, '=');
    if (!eq)
        eq = strchr(s, ':'); /* Java properties allow key: value too */
    if (!eq)
        return cfg_fail(err, cap, "%s:%d: expected key=value, got '%s'", path, no, s);
    *eq = '\0';
    char *key = trim(s), *value = trim(eq + 1);
    int rc = brk_config_set(cfg, key, value, why, sizeof(why));
    if (rc < 0)
        return cfg_fail(err, cap, "%s:%d: %s", path, no, why);
    if (rc == 1)
        kc_log_info("config %s:%d: %s is a Kafka setting this broker does not use", path, no,
                    key);
    else if (rc == 2)
        kc_log_warn("config %s:%d: unknown key '%s' ignored", path, no, key);
    return 0;
}

int brk_config_load(struct brk_config *cfg, const char *path, char *err, size_t cap)
{
    FILE *f = fopen(path, "re");
    char *line = NULL;
    size_t lcap = 0;
    int no = 0, rc = 0;
    if (!f) {
        rc = -errno;
        cfg_fail(err, cap, "cannot read config file %s: %s", path, strerror(-rc));
        return rc;
    }
    while (rc == 0 && getline(&line, &lcap, f) >= 0)
        rc = cfg_line(cfg, path, ++no, line, err, cap);
    if (rc == 0 && ferror(f))
        rc = cfg_fail(err, cap, "error reading %s", path);
    free(line);
    fclose(f);
    return rc;
}

int brk_config_check(struct brk_config *cfg, char *err, size_t cap)
{
    if (cfg->log.max_batch_bytes > cfg->socket_request_max_bytes)
        return cfg_fail(err, cap, "message.max.bytes (%u) cannot exceed "
                                  "socket.request.max.bytes (%u)",
                        cfg->log.max_batch_bytes, cfg->socket_request_max_bytes);
    if (cfg->port < 0 || cfg->port > 65535)
        return cfg_fail(err, cap, "port must be 0 to 65535");
    if (cfg->cluster.zk_connect[0] && cfg->cluster.broker_id < 0)
        return cfg_fail(err, cap, "zookeeper.connect needs broker.id (0 to %d): this "
                                  "broker's id in the cluster", BRK_BROKER_ID_MAX);
    if (cfg->queued_max_request_bytes == 0)
        return cfg_fail(err, cap, "queued.max.request.bytes=0 would let no request larger "
                                  "than 64 KiB in; -1 means no limit");
    return brk__config_security_check(cfg, err, cap);
}

_Static_assert(KC_ARRAY_SIZE(cfg_keys) <= 64 * BRK_CONFIG_SET_WORDS,
               "set_mask has a bit per key");

/* Was key i given (a file, --override), rather than left at its default? */
static bool key_set(const struct brk_config *cfg, size_t i)
{
    return (cfg->set_mask[i / 64] >> (i % 64)) & 1;
}

bool brk_config_is_set(const struct brk_config *cfg, const char *key)
{
    for (size_t i = 0; i < KC_ARRAY_SIZE(cfg_keys); i++)
        if (strcmp(cfg_keys[i].name, key) == 0)
            return key_set(cfg, i);
    return false;
}

/* Kafka's ConfigType code for a row (DescribeConfigs v3+). */
static int cfg_kafka_type(const struct cfg_key *k)
{
    switch (k->type) {
    case CFG_I32: case CFG_SIZE32: case CFG_HOURS: case CFG_MINUTES: return 3; /* INT */
    case CFG_BOOL: return 1;                                                   /* BOOLEAN */
    case CFG_STR: case CFG_LEVEL: return 2;                                    /* STRING */
    default: return 5;                                                         /* LONG */
    }
}

/* A row's value as Kafka would print it; NULL for Kafka's null (a unit alias not given). */
static const char *cfg_value(const struct brk_config *cfg, size_t i, char *buf, size_t cap)
{
    const struct cfg_key *k = &cfg_keys[i];
    const char *field = (const char *)cfg + k->off;
    bool set = key_set(cfg, i);
    int64_t ms = 0;
    switch (k->type) {
    case CFG_STR: return field;
    case CFG_LEVEL: {
        static const char *const names[] = {"error", "warn", "info", "debug"};
        unsigned l = (unsigned)*(const enum kc_log_level *)(const void *)field;
        return l < KC_ARRAY_SIZE(names) ? names[l] : "info";
    }
    case CFG_BOOL: return *(const bool *)(const void *)field ? "true" : "false";
    case CFG_I32: snprintf(buf, cap, "%d", *(const int32_t *)(const void *)field); return buf;
    case CFG_SIZE32: snprintf(buf, cap, "%u", *(const uint32_t *)(const void *)field); return buf;
    case CFG_SIZE64:
        snprintf(buf, cap, "%llu", (unsigned long long)*(const uint64_t *)(const void *)field);
        return buf;
    case CFG_HOURS: case CFG_MINUTES: case CFG_MS:
        ms = *(const int64_t *)(const void *)field;
        if (!set && k->type == CFG_HOURS) /* Kafka's defaults live on the hours keys */
            return strstr(k->name, "retention") || strstr(k->name, "roll") ? "168" : NULL;
        if (!set && (k->type == CFG_MINUTES ||
                     !strcmp(k->name, "log.retention.ms") || !strcmp(k->name, "log.roll.ms")))
            return NULL;
        if (k->type != CFG_MS && ms >= 0)
            ms /= k->type == CFG_HOURS ? 3600000 : 60000;
        snprintf(buf, cap, "%lld", (long long)ms);
        return buf;
    default:
        snprintf(buf, cap, "%lld", (long long)*(const int64_t *)(const void *)field);
        return buf;
    }
}

void brk_config_describe(const struct brk_config *cfg, brk_config_visit_fn fn, void *arg)
{
    char buf[64];
    for (size_t i = 0; i < KC_ARRAY_SIZE(cfg_keys); i++) {
        if (i > 0 && cfg_keys[i].off == cfg_keys[i - 1].off && cfg_keys[i].type == CFG_STR)
            continue; /* log.dir: log.dirs' alias */
        fn(arg, cfg_keys[i].name, cfg_value(cfg, i, buf, sizeof(buf)),
           key_set(cfg, i), cfg_kafka_type(&cfg_keys[i]));
    }
}

const char *brk_config_value(const struct brk_config *cfg, const char *key, char *buf,
                             size_t cap, bool *set)
{
    for (size_t i = 0; i < KC_ARRAY_SIZE(cfg_keys); i++) {
        if (strcmp(cfg_keys[i].name, key) == 0) {
            *set = key_set(cfg, i);
            return cfg_value(cfg, i, buf, cap);
        }
    }
    *set = false;
    return NULL;
}

void brk_config_print(const struct brk_config *cfg, FILE *f)
{
    brk__config_security_print(cfg, f);
    fprintf(f, "log.dirs=%s\n", cfg->data_dir);
    fprintf(f, "metrics.bind=%s\n", cfg->metrics_bind);
    fprintf(f, "zookeeper.connect=%s\n", cfg->cluster.zk_connect); /* "": alone */
    fprintf(f, "broker.rack=%s\n", cfg->cluster.rack);
    for (size_t i = 0; i < KC_ARRAY_SIZE(cfg_keys); i++) {
        const struct cfg_key *k = &cfg_keys[i];
        const char *field = (const char *)cfg + k->off;
        switch (k->type) {
        case CFG_I32: fprintf(f, "%s=%d\n", k->name, *(const int32_t *)(const void *)field); break;
        case CFG_SIZE32:
            fprintf(f, "%s=%u\n", k->name, *(const uint32_t *)(const void *)field);
            break;
        case CFG_SIZE64:
            fprintf(f, "%s=%llu\n", k->name,
                    (unsigned long long)*(const uint64_t *)(const void *)field);
            break;
        case CFG_BOOL:
            fprintf(f, "%s=%s\n", k->name, *(const bool *)(const void *)field ? "true" : "false");
            break;
        case CFG_I64:
        case CFG_MS:
            fprintf(f, "%s=%lld\n", k->name, (long long)*(const int64_t *)(const void *)field);
            break;
        default: break; /* strings and unit aliases are printed above or by their ms key */
        }
    }
}

/* ---- the command line ------------------------------------------------------------------ */

static void usage(FILE *f)
{
    fprintf(f,
            "usage: kafka_broker [--port N] [--bind ADDR] [--data-dir DIR] [--config FILE]\n"
            "                    [--override key=value]... [--log-level L] [--help] "
            "[--version]\n\n"
            "  --port N         listen on port N (default %d; 0 picks a free port)\n"
            "  --bind ADDR      listen on ADDR (default %s; 0.0.0.0 for every interface)\n"
            "  --data-dir DIR   topics live here (default %s)\n"
            "  --add-scram 'SCRAM-SHA-256=[name=alice,password=...]'\n"
            "                   store a SASL/SCRAM credential in the data directory and exit\n"
            "                   (Kafka's kafka-storage --add-scram syntax; repeatable)\n"
            "  --config FILE    Kafka-style key=value settings (server.properties)\n"
            "  --override K=V   one setting, over the file (repeatable)\n"
            "  --log-level L    error, warn, info (default) or debug\n\n"
            "Settings (Kafka's names) and their defaults:\n",
            BRK_DEFAULT_PORT, BRK_DEFAULT_BIND, BRK_DEFAULT_DATA_DIR);
}

/* "--name value" or "--name=value" at argv[*i]: the value, or NULL if argv[*i] is not it. */
static const char *flag_value(int argc, char **argv, int *i, const char *name, bool *missing)
{
    size_t n = strlen(name);
    if (strncmp(argv[*i], name, n) != 0)
        return NULL;
    if (argv[*i][n] == '=')
        return argv[*i] + n + 1;
    if (argv[*i][n] != '\0')
        return NULL;
    if (*i + 1 >= argc) {
        *missing = true;
        return NULL;
    }
    return argv[++*i];
}

/* Apply one named flag or override; 0 applied, 1 not one of ours, < 0 error. */
static int apply_flag(struct brk_config *cfg, int argc, char **argv, int *i, bool overrides,
                      char *err, size_t cap)
{
    static const struct { const char *flag, *key; } named[] = {
        {"--data-dir", "log.dirs"}, {"--log-level", "log.level"}};
    bool missing = false;
    const char *v;
    if ((v = flag_value(argc, argv, i, "--override", &missing)) ||
        (v = flag_value(argc, argv, i, "-o", &missing))) {
        char key[256];
        const char *eq = strchr(v, '=');
        if (!eq || (size_t)(eq - v) >= sizeof(key))
            return cfg_fail(err, cap, "--override wants key=value, not '%s'", v);
        memcpy(key, v, (size_t)(eq - v));
        key[eq - v] = '\0';
        int rc = overrides ? brk_config_set(cfg, key, eq + 1, err, cap) : 0;
        if (rc == 1)
            kc_log_info("--override: %s is a Kafka setting this broker does not use", key);
        return rc == 2 ? cfg_fail(err, cap, "--override: unknown key '%s'", key) : rc < 0 ? rc : 0;
    }
    if ((v = flag_value(argc, argv, i, "--config", &missing)))
        return 0; /* read first, by the caller */
    if ((v = flag_value(argc, argv, i, "--add-scram", &missing))) {
        if (overrides)
            return 0;
        if (cfg->nadd_scram == (int)KC_ARRAY_SIZE(cfg->add_scram))
            return cfg_fail(err, cap, "--add-scram: at most %zu at once",
                            KC_ARRAY_SIZE(cfg->add_scram));
        cfg->add_scram[cfg->nadd_scram++] = v; /* never printed: it holds a password */
        return 0;
    }
    if ((v = flag_value(argc, argv, i, "--port", &missing))) {
        int64_t port;
        if (kc_parse_i64(v, 0, 65535, &port) != 0)
            return cfg_fail(err, cap, "--port must be 0 to 65535, not '%s'", v);
        if (!overrides)
            cfg->port = (int)port;
        return 0;
    }
    if ((v = flag_value(argc, argv, i, "--bind", &missing))) {
        if (!overrides && strlcpy(cfg->bind, v, sizeof(cfg->bind)) >= sizeof(cfg->bind))
            return cfg_fail(err, cap, "--bind: address too long");
        return 0;
    }
    for (size_t k = 0; k < KC_ARRAY_SIZE(named); k++)
        if ((v = flag_value(argc, argv, i, named[k].flag, &missing)))
            return overrides ? 0 : brk_config_set(cfg, named[k].key, v, err, cap);
    if (missing)
        return cfg_fail(err, cap, "%s needs a value", argv[*i]);
    return cfg_fail(err, cap, "unknown argument '%s' (see --help)", argv[*i]);
}

int brk_config_from_args(struct brk_config *cfg, int argc, char **argv, FILE *out, char *err,
                         size_t cap)
{
    bool missing = false;
    brk_config_init(cfg);
    for (int i = 1; i < argc; i++) {
        const char *v;
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            usage(out);
            brk_config_print(cfg, out);
            return 1;
        }
        if (!strcmp(argv[i], "--version") || !strcmp(argv[i], "-V")) {
            fprintf(out, "kafka_broker %s (native protocol 1)\n", BRK_VERSION);
            return 1;
        }
        if ((v = flag_value(argc, argv, &i, "--config", &missing)))
            strlcpy(cfg->config_file, v, sizeof(cfg->config_file));
    }
    int rc = cfg->config_file[0] ? brk_config_load(cfg, cfg->config_file, err, cap) : 0;
    for (int pass = 0; pass < 2 && rc == 0; pass++) /* overrides first, then named flags */
        for (int i = 1; i < argc && rc == 0; i++)
            rc = apply_flag(cfg, argc, argv, &i, pass == 0, err, cap);
    if (rc == 0)
        rc = brk_config_check(cfg, err, cap);
    return rc < 0 ? -EINVAL : 0;
}
