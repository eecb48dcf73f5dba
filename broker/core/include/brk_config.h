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
 * not use (broker.id, zookeeper.connect, ...) is accepted with a note; a key nobody knows is
 * a warning; a bad value is an error that names the file, line, key and what is allowed.
 */
#ifndef BRK_CONFIG_H
#define BRK_CONFIG_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "alog.h"
#include "kc_log.h"

struct brk_config {
    char bind[256];                       /* listeners host / --bind */
    int port;                             /* listeners port / --port (0: ephemeral) */
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
    uint64_t connection_output_max_bytes; /* connection.output.max.bytes (this broker's own) */
    uint32_t fetch_max_bytes;             /* fetch.max.bytes */
    int32_t offsets_topic_num_partitions; /* offsets.topic.num.partitions */
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
    struct alog_config log;               /* log.segment.bytes, log.retention.*, log.flush.*,
                                             log.roll.*, log.index.*, message.max.bytes */
    char config_file[PATH_MAX];           /* --config, "" if none */
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
int brk_config_check(const struct brk_config *cfg, char *err, size_t cap);

/* Print every setting as key=value (the effective configuration), for --help and logs. */
void brk_config_print(const struct brk_config *cfg, FILE *f);

#endif
