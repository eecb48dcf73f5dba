/*
 * kp.h - libbrk_kafka: the Kafka wire protocol and group coordinator, without sockets.
 *
 * This library is what lets kcat, librdkafka and kafkajs talk to the broker unchanged.
 * It turns request frames into structs and structs into response frames, and it runs
 * Kafka's consumer-group state machine; the server (broker/kafka/serve) owns the sockets, the
 * threads, the clock and the storage, and calls in here. Everything is plain C on top of
 * common/ (kc_buf.h's reader and writer, kc_batch.h's RecordBatch validation); no system
 * calls are made except getrandom(2) once, to seed member ids.
 *
 *   socket bytes --kp_frame_check--> frame --kp_request_decode--> struct kp_request
 *        |                                                               |
 *        |                    server: storage, Fetch long-poll,          |
 *        |                    kp_group_* for the group APIs  <-----------+
 *        v                                                               |
 *   kc_writer <--kp_encode_*-- results (in the request's own partitions, or a _resp)
 *        + kp_fetch_gap list: "records of length L go here" (sendfile from the segment)
 *
 *   kp_proto.h    frames, headers, API/version table, Kafka error codes
 *   kp_req.h      request structs, kp_request_decode, produce batch checks
 *   kp_resp.h     response encoders, Fetch in pieces
 *   kp_group.h    the group coordinator (JoinGroup/SyncGroup/Heartbeat/LeaveGroup,
 *                 offset-commit validation), driven by the caller's clock
 *
 * Rules: decoders never copy (slices point into the frame) and never trust a count;
 * every decoder result other than 0 means "close the connection", as Kafka does; every
 * response keeps the request's order; no version this library advertises is flexible.
 *
 * How it differs from Kafka: one node, so FindCoordinator and Metadata always name this
 * broker; no transactions, idempotence or static membership (refused with the error
 * codes documented in kp_req.h and kp_group.h); no fetch sessions (session_id 0); group
 * metadata is not persisted (members rejoin after a restart; offsets persist).
 *
 * Read next: broker/kafka/README.md (the protocol, as a lesson), then kp_proto.h.
 */
#ifndef KP_H
#define KP_H

#include "kp_group.h"
#include "kp_proto.h"
#include "kp_req.h"
#include "kp_resp.h"

#endif
