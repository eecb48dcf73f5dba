/*
 * part_params.h - partitioning's tunables and limits, in one place.
 */
#ifndef PART_PARAMS_H
#define PART_PARAMS_H

/* Default per-topic partition limit (part_config.max_partitions): no cap of partitioning's
 * own, the largest a directory name can carry (part.h). */
#define PART_MAX_PARTITIONS_DEFAULT PART_MAX_PARTITIONS

/*
 * The largest limit a registry accepts. A partition directory is "<topic>-<p>": with the
 * longest legal topic (249 characters) and p < 100000 that is 249 + 1 + 5 = 255
 * characters, Linux's NAME_MAX (Kafka caps names at 249 for that reason); shorter names
 * leave room for more digits, up to 7 (p < 2^20). create checks the one name that matters.
 */
#define PART_MAX_PARTITIONS_LIMIT PART_MAX_PARTITIONS
#define PART_DIR_NAME_MAX         255
#define PART_MAX_DIGITS           7

/* A topic being created is marked by the file "<topic>~" in the data directory ('~'
 * cannot occur in a topic name, so a marker never looks like a partition). It holds
 * "partitions=<n>\n" and is written with kc_atomic_replace (via "<topic>~.tmp"). */
#define PART_MARKER_SUFFIX     "~"
#define PART_MARKER_TMP_SUFFIX "~.tmp"
#define PART_MARKER_MAX_BYTES  64

#endif
