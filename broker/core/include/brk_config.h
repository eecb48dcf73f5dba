/*
 * brk_config.h - the broker's settings: Kafka's key names, a key=value file, flags on top.
 *
 *   kafka_broker [--port 9092] [--bind 127.0.0.1] [--data-dir ./kafka-data]
 *                [--config FILE] [--override key=value]... [--help] [--version]
 *
 * Precedence, lowest first: built-in defaults, the config file, --override, the named flags.
 * The file is Kafka's server.properties format: `key=value` lines, `#` or `!` comments,
 * blank lines ignored, spaces around the key and value trimmed. Keys keep Kafka's names
 * (num.partitions, log.segment.bytes, log.retention.ms, ...). A Kafka key this broker does
 * not use (node.id, process.roles, ...) is accepted with a note; a key nobody knows is a
 * warning; a bad value is an error that names the file, line, key and what is allowed.
 *
 * The cluster's keys (broker.id, zookeeper.connect, ...: struct brk_cluster_config) are
 * read here but used only by broker/replica, and only when zookeeper.connect is set:
 * without it the broker runs alone and they change nothing.
 */
#ifndef BRK_CONFIG_H
#define BRK_CONFIG_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "alog.h"
#include "kc_log.h"

/* A listener's security protocol (Kafka's names). */
enum brk_secproto { BRK_PLAINTEXT, BRK_SSL, BRK_SASL_PLAINTEXT, BRK_SASL_SSL };

static inline bool brk_secproto_tls(enum brk_secproto p)
{
    return p == BRK_SSL || p == BRK_SASL_SSL;
}

static inline bool brk_secproto_sasl(enum brk_secproto p)
{
    return p == BRK_SASL_PLAINTEXT || p == BRK_SASL_SSL;
}

/* "PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL". */
const char *brk_secproto_name(enum brk_secproto p);

#define BRK_LISTENERS_CFG_MAX 6
#define BRK_SSL_KEYS_MAX      16
#define BRK_MAX_REPLICA_FETCHERS 32 /* num.replica.fetchers: threads per leader */
#define BRK_CONFIG_SET_WORDS  2 /* set_mask: 128 keys */

struct brk_listener_config {
    char name[32];             /* PLAINTEXT, SASL_SSL, or a name of listener.security.protocol.map */
    enum brk_secproto proto;   /* resolved by brk_config_check */
    char host[256];
    int port;                  /* 0: ephemeral */
    char adv_host[256];        /* advertised.listeners' entry of this name ("": none) */
    int adv_port;              /* 0: the bound port */
};

/* Security (config_security.c): what Kafka's keys for it hold. */
struct brk_security_config {
    struct brk_listener_config listeners[BRK_LISTENERS_CFG_MAX]; /* [0] is bind/port */
    int nlisteners;                       /* listeners (1 unless several are given) */
    char protocol_map[512];               /* listener.security.protocol.map, as given */
    char advertised[1024];                /* advertised.listeners, as given */
    struct {
        char key[48];
        char value[PATH_MAX];
    } ssl[BRK_SSL_KEYS_MAX];              /* ssl.* for the TLS listeners (zc_tls_config_set) */
    int nssl;
    int64_t ssl_handshake_timeout_ms;     /* ssl.handshake.timeout.ms (this broker's own) */
    char sasl_mechanisms[128];            /* sasl.enabled.mechanisms */
    char authorizer[256];                 /* authorizer.class.name: "" = no ACLs */
    char super_users[1024];               /* super.users: User:a;User:b */
    bool allow_everyone_if_no_acl;        /* allow.everyone.if.no.acl.found */
    int64_t failed_auth_delay_ms;         /* connection.failed.authentication.delay.ms */
    bool metrics_basic_auth;              /* metrics.basic.auth (this broker's own) */
};

/* A cluster member's settings (Kafka's ZooKeeper-mode keys; broker/replica uses them). */
struct brk_cluster_config {
    int32_t broker_id;                    /* broker.id (-1: none; required with zk) */
    char zk_connect[1024];                /* zookeeper.connect: "h:p[,h:p...][/chroot]",
                                           * "" = no cluster: the broker runs alone */
    int64_t zk_session_timeout_ms;        /* zookeeper.session.timeout.ms (18000) */
    int64_t zk_connection_timeout_ms;     /* zookeeper.connection.timeout.ms (0: the
                                           * session timeout, as Kafka) */
    int32_t default_replication_factor;   /* default.replication.factor (1) */
    int32_t min_insync_replicas;          /* min.insync.replicas (1) */
    int32_t offsets_replication_factor;   /* offsets.topic.replication.factor (3) */
    int64_t replica_lag_time_max_ms;      /* replica.lag.time.max.ms (30000) */
    int64_t hw_checkpoint_interval_ms;    /* replica.high.watermark.checkpoint.interval.ms
                                           * (5000) */
    int64_t replica_fetch_wait_max_ms;    /* replica.fetch.wait.max.ms (500): keep it well
                                           * below the lag limit, or the ISR flaps */
    int32_t replica_fetch_max_bytes;      /* replica.fetch.max.bytes (1 MiB, per partition) */
    int32_t replica_fetch_response_max_bytes; /* replica.fetch.response.max.bytes (10 MiB) */
    int64_t replica_socket_timeout_ms;    /* replica.socket.timeout.ms (30000) */
    int64_t replica_fetch_backoff_ms;     /* replica.fetch.backoff.ms (1000) */
    int32_t num_replica_fetchers;         /* num.replica.fetchers (1): fetcher threads per
                                           * leader broker, 1..BRK_MAX_REPLICA_FETCHERS */
    bool unclean_leader_election;         /* unclean.leader.election.enable (false) */
    bool controlled_shutdown;             /* controlled.shutdown.enable (true) */
    bool auto_leader_rebalance;           /* auto.leader.rebalance.enable (true) */
    int64_t leader_imbalance_check_s;     /* leader.imbalance.check.interval.seconds (300) */
    char rack[64];                        /* broker.rack ("" none) */
};

struct brk_config {
    char bind[256];                       /* listeners host / --bind */
    int port;                             /* listeners port / --port (0: ephemeral) */
    struct brk_security_config sec;       /* more listeners, TLS, SASL, ACLs */
    char advertised_host[256];            /* advertised.listeners host ("" = from bind) */
    int advertised_port;                  /* advertised.listeners port (0 = the bound one) */
    char data_dir[PATH_MAX];              /* log.dirs (one directory) / --data-dir */
    int32_t num_partitions;               /* num.partitions */
    bool auto_create_topics;              /* auto.create.topics.enable (Kafka: true) */
    int32_t num_network_threads;          /* num.network.threads (0: one per CPU) */
    uint32_t socket_request_max_bytes;    /* socket.request.max.bytes */
    int32_t max_connections;              /* max.connections */
    int64_t connections_max_idle_ms;      /* connections.max.idle.ms */
    int32_t queued_max_requests;          /* queued.max.requests, per connection here */
    int64_t queued_max_request_bytes;     /* queued.max.request.bytes: all connections'
                                           * requests being received; -1 no limit */
    uint64_t connection_output_max_bytes; /* connection.output.max.bytes (this broker's own) */
    uint32_t fetch_max_bytes;             /* fetch.max.bytes */
    int32_t offsets_topic_num_partitions; /* offsets.topic.num.partitions */
    uint64_t offsets_topic_segment_bytes; /* offsets.topic.segment.bytes (100 MiB) */
    int64_t offsets_commit_timeout_ms;    /* offsets.commit.timeout.ms: a cluster's wait for
                                           * the replicas of an offsets append (5000) */
    int64_t retention_check_interval_ms;  /* log.retention.check.interval.ms */
    int64_t shutdown_timeout_ms;          /* shutdown.timeout.ms (this broker's own) */
    int32_t max_partitions_per_topic;     /* num.partitions.max (this broker's own) */
    enum kc_log_level log_level;          /* log.level (this broker's own) */
    int32_t metrics_port;                 /* metrics.port: HTTP /metrics and /health
                                             (0: ephemeral, -1: off) */
    char metrics_bind[256];               /* metrics.bind (default loopback) */
    int64_t group_initial_rebalance_delay_ms; /* group.initial.rebalance.delay.ms */
    int64_t group_min_session_timeout_ms; /* group.min.session.timeout.ms */
    int64_t group_max_session_timeout_ms; /* group.max.session.timeout.ms */
    int32_t fetch_session_slots;          /* max.incremental.fetch.session.cache.slots */
    int64_t fetch_session_eviction_ms;    /* min.incremental.fetch.session.eviction.ms */
    int64_t fetch_session_partitions;     /* max.incremental.fetch.session.cache.partitions
                                             (this broker's own: all sessions together) */
    struct alog_config log;               /* log.segment.bytes, log.retention.*, log.flush.*,
                                             log.roll.*, log.index.*, message.max.bytes */
    struct alog_store_config store;       /* log.cache.max.open.files,
                                             log.flush.offset.checkpoint.interval.ms,
                                             log.cleaner.* (its flusher: the server's) */
    bool cleaner_enable;                  /* log.cleaner.enable (false: no cleaner thread) */
    struct brk_cluster_config cluster;    /* broker.id, zookeeper.connect, ... */
    char config_file[PATH_MAX];           /* --config, "" if none */
    const char *add_scram[16];            /* --add-scram ARG...: store these and exit
                                             (point into argv) */
    int nadd_scram;
    uint64_t set_mask[BRK_CONFIG_SET_WORDS]; /* private: the keys given (file, --override,
                                              * flags), a bit per row of config.c's table */
    uint8_t unit_rank[2];                 /* private: the finest unit given so far for
                                             retention [0] and roll [1] (0 none, 1 hours,
                                             2 minutes, 3 ms): the finer one wins */
};

/* Defaults: Kafka's where Kafka has one (brk_params.h). */
void brk_config_init(struct brk_config *cfg);

/*
 * Apply one setting. Returns 0; 1 if the key is a Kafka key this broker ignores; 2 if
 * nobody knows the key (both leave cfg unchanged); -EINVAL if the value is bad, with the
 * reason in err[cap].
 */
int brk_config_set(struct brk_config *cfg, const char *key, const char *value, char *err,
                   size_t cap);

/* Read a key=value file. Notes and warnings go to the log; the first bad line is an error
 * (-EINVAL with "file:line: ..." in err). -errno if the file cannot be read. */
int brk_config_load(struct brk_config *cfg, const char *path, char *err, size_t cap);

/*
 * The whole command line: defaults, --config FILE, --override, flags. Returns 0 to run,
 * 1 when --help or --version was printed (exit 0), -EINVAL with err set for bad usage.
 */
int brk_config_from_args(struct brk_config *cfg, int argc, char **argv, FILE *out, char *err,
                         size_t cap);

/* Cross-field checks after everything was applied (e.g. fetch.max.bytes vs. the frame
 * limit). 0 or -EINVAL with err. */
int brk_config_check(struct brk_config *cfg, char *err, size_t cap);

/* Was key given (the file, --override, a flag) rather than left at its default? Kafka's
 * STATIC_BROKER_CONFIG against DEFAULT_CONFIG, in DescribeConfigs. */
bool brk_config_is_set(const struct brk_config *cfg, const char *key);
/* key's value as text, as Kafka prints it (NULL: Kafka's null, e.g. log.retention.minutes
 * when not given; also for a key this broker does not have); *set as brk_config_is_set.
 * The result points into buf[cap] or at a constant. */
const char *brk_config_value(const struct brk_config *cfg, const char *key, char *buf,
                             size_t cap, bool *set);
/* Every key of the table, in order, for DescribeConfigs of the broker: its name, value
 * (NULL: Kafka's null), whether it was given, and Kafka's ConfigType code. */
typedef void (*brk_config_visit_fn)(void *arg, const char *key, const char *value, bool set,
                                    int kafka_type);
void brk_config_describe(const struct brk_config *cfg, brk_config_visit_fn fn, void *arg);

/* Print every setting as key=value (the effective configuration), for --help and logs. */
void brk_config_print(const struct brk_config *cfg, FILE *f);

#endif
