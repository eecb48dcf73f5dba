/*
 * brk_params.h - the broker's defaults and fixed tunables, in one place.
 *
 * Defaults that a user may change are named after the Kafka setting that holds them (see
 * brk_config.h for the key names); the rest are internal constants with their reasons.
 */
#ifndef BRK_PARAMS_H
#define BRK_PARAMS_H

/* ---- defaults of settings (Kafka's name, Kafka's default where it has one) ------------- */

#define BRK_DEFAULT_PORT                9092
#define BRK_DEFAULT_BIND                "127.0.0.1"
#define BRK_DEFAULT_DATA_DIR            "./kafka-data"
#define BRK_DEFAULT_NUM_PARTITIONS      1           /* num.partitions */
#define BRK_DEFAULT_MAX_PARTITIONS      10000       /* num.partitions.max: per topic and per
                                                       create call (Kafka has no cap; this
                                                       bounds one request's work: ~1 s of a
                                                       loop here); raise it for more */
#define BRK_DEFAULT_REQUEST_MAX_BYTES   104857600u  /* socket.request.max.bytes: 100 MiB */
#define BRK_DEFAULT_MAX_CONNECTIONS     10000       /* max.connections (Kafka: unlimited) */
#define BRK_DEFAULT_IDLE_MS             600000      /* connections.max.idle.ms: 10 min */
#define BRK_DEFAULT_QUEUED_MAX_REQUESTS 500         /* queued.max.requests (per connection) */
#define BRK_DEFAULT_OUTPUT_MAX_BYTES    (16u << 20) /* connection.output.max.bytes (ours) */
/* queued.max.request.bytes: request bytes being received, all connections together
 * (Kafka: -1, unlimited; here bounded by default, so that clients sending large requests
 * at once wait instead of exhausting memory; -1 turns it off). */
#define BRK_DEFAULT_QUEUED_MAX_REQUEST_BYTES (512ll << 20)
#define BRK_DEFAULT_FETCH_MAX_BYTES     57671680u   /* fetch.max.bytes: 55 MiB */
#define BRK_DEFAULT_OFFSETS_PARTITIONS  1           /* offsets.topic.num.partitions (Kafka 50) */
#define BRK_DEFAULT_OFFSETS_SEGMENT_BYTES (100u << 20) /* offsets.topic.segment.bytes */
#define BRK_DEFAULT_OFFSETS_COMMIT_TIMEOUT_MS 5000  /* offsets.commit.timeout.ms */
#define BRK_DEFAULT_RETENTION_CHECK_MS  300000      /* log.retention.check.interval.ms */
#define BRK_DEFAULT_SHUTDOWN_MS         10000       /* shutdown.timeout.ms (ours) */
#define BRK_DEFAULT_SSL_HANDSHAKE_MS    10000       /* ssl.handshake.timeout.ms (ours) */
#define BRK_DEFAULT_SASL_MECHANISMS     "SCRAM-SHA-256,SCRAM-SHA-512" /* Kafka: GSSAPI */
#define BRK_DEFAULT_FAILED_AUTH_DELAY_MS 100        /* connection.failed.authentication.delay.ms */
#define BRK_DEFAULT_METRICS_PORT        9644        /* metrics.port (ours; 0 ephemeral, -1 off) */
#define BRK_DEFAULT_METRICS_BIND        "127.0.0.1" /* metrics.bind (ours): loopback only */
/* The consumer-group coordinator's settings (a Kafka adapter's; Kafka's broker keys). */
#define BRK_DEFAULT_GROUP_INITIAL_DELAY_MS 3000     /* group.initial.rebalance.delay.ms */
#define BRK_DEFAULT_GROUP_MIN_SESSION_MS   6000     /* group.min.session.timeout.ms */
#define BRK_DEFAULT_GROUP_MAX_SESSION_MS   1800000  /* group.max.session.timeout.ms */
/* Fetch sessions (KIP-227; the Kafka adapter's): Kafka's keys, and a partition budget. */
#define BRK_DEFAULT_FETCH_SESSION_SLOTS    1000     /* max.incremental.fetch.session.cache.slots */
#define BRK_DEFAULT_FETCH_SESSION_EVICT_MS 120000   /* min.incremental.fetch.session.eviction.ms */
#define BRK_DEFAULT_FETCH_SESSION_PARTS    1000000  /* max.incremental.fetch.session.cache.
                                                       partitions (ours): ~48 MB at most */

/* The cluster's (broker/replica; Kafka's ZooKeeper-mode defaults). */
#define BRK_DEFAULT_ZK_SESSION_MS          18000    /* zookeeper.session.timeout.ms */
#define BRK_DEFAULT_REPLICATION_FACTOR     1        /* default.replication.factor */
#define BRK_DEFAULT_MIN_ISR                1        /* min.insync.replicas */
#define BRK_DEFAULT_OFFSETS_RF             3        /* offsets.topic.replication.factor */
#define BRK_DEFAULT_REPLICA_LAG_MS         30000    /* replica.lag.time.max.ms */
#define BRK_DEFAULT_HW_CHECKPOINT_MS       5000     /* replica.high.watermark.checkpoint.interval.ms */
#define BRK_DEFAULT_IMBALANCE_CHECK_S      300      /* leader.imbalance.check.interval.seconds */
#define BRK_BROKER_ID_MAX                  1000     /* broker.id: Kafka's reserved.broker.max.id */

/* ---- internal constants ---------------------------------------------------------------- */

/* A connection's input buffer starts here (many small requests to a read) and grows to a
 * larger request's exact size, paid from queued.max.request.bytes (inbudget.c); it is
 * freed once empty, so one huge request does not pin memory for the connection's life. */
#define BRK_IN_INITIAL    (64u << 10)
/* Ready responses are gathered in memory and handed to the socket together; past this
 * much they are handed over at once instead of waiting for the end of the read burst. */
#define BRK_WBUF_FLUSH    (64u << 10)
/* Connections accepted per readable event, before giving other events a turn. */
#define BRK_ACCEPT_BURST  64
/* After EMFILE/ENFILE, stop accepting for this long (level-triggered epoll would spin). */
#define BRK_ACCEPT_PAUSE_MS 100
/* A connection refused for a protocol error is closed after its answer is sent, once the
 * client closes or this long has passed (so the answer is not lost to a TCP reset). */
#define BRK_LINGER_MS     1000
/* The idle sweep runs this often at most (and at least four times per idle period). */
#define BRK_SWEEP_MAX_MS  1000
/* A log that failed an fsync (disk full, I/O error) refuses appends until alog_recover
 * brings it back in place; the main thread tries every failed log this often, doubling the
 * wait after a pass that left one failed (the fault lasts), up to the maximum. */
#define BRK_HEAL_MS       1000
#define BRK_HEAL_MAX_MS   30000

/* A compacted topic's produce: the most a compressed batch may inflate to while the broker
 * checks that every record has a key (produce.c). */
#define BRK_COMPACT_INFLATE_MAX (64u << 20)

#endif
