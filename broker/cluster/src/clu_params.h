/*
 * clu_params.h - the cluster module's tunables and limits, in one place. (The settings a
 * broker passes - Kafka's names - are struct clu_config in clu.h, with their defaults.)
 */
#ifndef CLU_PARAMS_H
#define CLU_PARAMS_H

/* ZooKeeper's jute.maxbuffer (1 MiB less a little): no znode is larger, so one buffer of
 * this size reads any of them. */
#define CLU_ZNODE_MAX (1 << 20)

/* A step that failed (a read or write lost with the connection) is tried again after a
 * backoff that starts here and doubles up to the maximum. */
#define CLU_RETRY_MIN_MS 50
#define CLU_RETRY_MAX_MS 2000

/* A request whose transactions keep failing is answered UNKNOWN_SERVER_ERROR after this
 * many attempts, so one poisoned request cannot stall the controller. */
#define CLU_REQUEST_ATTEMPTS 3

/* Disconnected this long, a broker is told to stop leading (loop.c, check_cut_off: a sixth
 * of the session timeout, see the README's "Failure behaviour"). */
#define CLU_CUT_OFF_MS(cl) ((cl)->cfg.session_timeout_ms / 6)

/* A requester reads its request node at least this often, even without a watch event (a
 * watch can be lost with a connection). */
#define CLU_CHECK_EVERY_MS 1000

#endif
