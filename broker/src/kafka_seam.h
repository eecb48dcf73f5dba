/*
 * kafka_seam.h - the Kafka protocol handler, as the broker's core sees it: two calls.
 *
 * server.c includes this header when it exists (__has_include) and then
 *
 *   brk_kafka_open    once storage is up, before the listener and the network loops
 *                     exist: creates the handler's server-wide state (the consumer-group
 *                     coordinator) and hands back the struct brk_proto that conn.c uses
 *                     for every connection whose first frame's byte 4 is below 0x80
 *   brk_kafka_close   after the last connection is gone and the loops have stopped,
 *                     before the logs close: frees that state
 *
 * Everything else lives behind struct brk_proto (kafka_conn.c): frames are cut and
 * decoded with libbrk_kafka (broker/kafka, prefix kp_), served with the shared services of
 * brk_service.h, and answered in request order. Read broker/kafka/README.md ("Serving
 * it") for the whole path, then kafka_int.h.
 */
#ifndef KAFKA_SEAM_H
#define KAFKA_SEAM_H

#include "brk_service.h"

/*
 * Create the Kafka handler's state for srv. Returns 0 with *proto (static, never freed)
 * and *state (pass it to brk_kafka_close) set, or -ENOMEM / -errno with nothing set.
 * Called on the main thread before any network loop runs.
 */
int brk_kafka_open(struct brk_server *srv, const struct brk_proto **proto, void **state);

/*
 * Free the state brk_kafka_open made. Call only when no connection is left and no
 * network loop is running (their threads joined): it disarms the coordinator's timers
 * on the loops it used. state may be NULL.
 */
void brk_kafka_close(struct brk_server *srv, void *state);

#endif
