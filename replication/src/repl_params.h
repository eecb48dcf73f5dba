/*
 * repl_params.h - replication's tunables and limits, in one place.
 */
#ifndef REPL_PARAMS_H
#define REPL_PARAMS_H

/* Kafka's defaults for the two settings struct repl_config carries. */
#define REPL_LAG_TIME_MAX_MS_DEFAULT 30000 /* replica.lag.time.max.ms */
#define REPL_MIN_INSYNC_DEFAULT      1     /* min.insync.replicas */

/* A replica whose addition to the ISR the controller refused (INELIGIBLE_REPLICA: a broker
 * in its controlled shutdown still fetches, caught up) is not proposed again for this
 * long: proposed at every fetch it was ~150 proposals a second, each holding the HW on a
 * broker about to exit. Kafka's leader asks its metadata first (KIP-841); this one has
 * only the refusal to go by. At most a quarter of replica.lag.time.max.ms, for clusters
 * configured with a short one. */
#define REPL_EXPAND_RETRY_MS 1000

/* Largest checkpoint file read back: a leader-epoch-checkpoint holds one line per epoch
 * (tens of bytes), a replication-offset-checkpoint one per partition of a data directory.
 * 16 MiB is ~300,000 partitions: beyond that the file is not ours. */
#define REPL_CKPT_MAX_BYTES (16u << 20)

/* Most partitions one topic may have (Kafka has no hard limit; this bounds what one
 * CreateTopics or CreatePartitions event may allocate). */
#define REPL_MAX_PARTITIONS 100000

#endif
