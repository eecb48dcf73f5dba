/*
 * part_params.h - partitioning's tunables and limits, in one place.
 */
#ifndef PART_PARAMS_H
#define PART_PARAMS_H

/* Default per-topic partition limit (part_config.max_partitions). */
#define PART_MAX_PARTITIONS_DEFAULT 1024

/*
 * The largest limit a registry accepts. A partition directory is "<topic>-<p>"; with the
 * longest legal topic (249 characters) and p < 100000 that is 249 + 1 + 5 = 255
 * characters, Linux's NAME_MAX. (Kafka caps names at 249 for the same reason.)
 */
#define PART_MAX_PARTITIONS_LIMIT 100000

/* A topic being created is marked by the file "<topic>~" in the data directory ('~'
 * cannot occur in a topic name, so a marker never looks like a partition). It holds
 * "partitions=<n>\n" and is written with kc_atomic_replace (via "<topic>~.tmp"). */
#define PART_MARKER_SUFFIX     "~"
#define PART_MARKER_TMP_SUFFIX "~.tmp"
#define PART_MARKER_MAX_BYTES  64

#endif
