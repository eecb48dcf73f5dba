/*
 * kp_resp.h - Kafka responses: encoders that write whole frames into a kc_writer.
 *
 * Each kp_encode_* appends one complete response frame (i32 size, correlation id, body)
 * at the writer's current end, so a server can queue several responses in one buffer. h
 * is the request's header: it gives the correlation id and the version, which decides
 * the layout. Returns 0, or the writer's sticky error (-ENOMEM, KC_ETOOLARGE), or -EINVAL
 * for a version the encoder does not write. On error the writer holds a partial frame:
 * discard the connection's output (or kc_writer_reset) rather than send it.
 *
 * Where throttle_time_ms goes moves between APIs and versions (reference §6.6): last in
 * Produce, first in Fetch v1+, JoinGroup v2+, ListOffsets v2+, OffsetFetch v3+ (which also
 * ends with a top-level error from v2). The encoders know; callers never write it (we do
 * not throttle: always 0).
 *
 * Fetch is written in pieces, because the records come from segment files by sendfile:
 *
 *   writer:  [size|corr|throttle|..|part0 fields|len0]            [part1 fields|len1]   [..]
 *   wire:    [size|corr|throttle|..|part0 fields|len0][records0 ][part1 fields|len1][r1][..]
 *                                                    ^ gap 0: len0 bytes from the file
 *
 * kp_encode_fetch writes the memory parts and returns one kp_fetch_gap per partition
 * whose records the caller will send itself; the size prefix already counts them. The
 * caller then sends mem[0, gap0.at), records0, mem[gap0.at, gap1.at), records1, ...,
 * mem[gapN.at, end). Partitions with records_len 0 write length 0 (never -1: librdkafka
 * fails on a null record set) and no gap; partitions with .records set are copied inline.
 *
 * Thread: pure functions; the writer is the caller's.
 */
#ifndef KP_RESP_H
#define KP_RESP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kc_buf.h"
#include "kp_proto.h"
#include "kp_req.h"

/* ---- ApiVersions: the table of kp_api_table(), or the v0 fallback --------------------- */

int kp_encode_api_versions(struct kc_writer *w, const struct kp_header *h,
                           const struct kp_api_versions_req *req);

/* ---- Metadata v0-4 -------------------------------------------------------------------- */

struct kp_metadata_broker {
    int32_t node_id;
    struct kc_slice host; /* what clients will connect to: never 0.0.0.0 */
    int32_t port;
    struct kc_slice rack; /* v1+, nullable */
};

struct kp_metadata_part {
    int16_t error;
    int32_t index;
    int32_t leader;
    int32_t nreplicas;
    const int32_t *replicas;
    int32_t nisr;
    const int32_t *isr;
};

struct kp_metadata_topic {
    int16_t error;
    struct kc_slice name;
    bool is_internal; /* v1+ */
    int32_t nparts;
    const struct kp_metadata_part *parts;
};

struct kp_metadata_resp {
    int32_t nbrokers;
    const struct kp_metadata_broker *brokers;
    struct kc_slice cluster_id; /* v2+, nullable */
    int32_t controller_id;      /* v1+ */
    int32_t ntopics;
    const struct kp_metadata_topic *topics;
};

int kp_encode_metadata(struct kc_writer *w, const struct kp_header *h,
                       const struct kp_metadata_resp *resp);

/* ---- Produce v3-7, ListOffsets v1-2, OffsetCommit v0-5: results live in the request ---- */

/* Must not be called for acks=0: Kafka sends no response at all then. */
int kp_encode_produce(struct kc_writer *w, const struct kp_header *h,
                      const struct kp_produce_req *req);

int kp_encode_list_offsets(struct kc_writer *w, const struct kp_header *h,
                           const struct kp_list_offsets_req *req);

int kp_encode_offset_commit(struct kc_writer *w, const struct kp_header *h,
                            const struct kp_offset_commit_req *req);

/* ---- Fetch v4-11 ------------------------------------------------------------------------ */

struct kp_fetch_gap {
    size_t at;      /* writer offset where the records go (after their length field) */
    int32_t len;    /* bytes the caller must send there */
    const struct kp_fetch_topic *topic;
    const struct kp_fetch_part *part;
};

/*
 * Write the Fetch response for req (results in req's partitions). gaps must have room for
 * max_gaps entries (req->nparts_total always suffices); *ngaps receives the count and
 * *frame_len the whole frame's size on the wire, gaps included. -E2BIG if gaps is too
 * small, KC_ETOOLARGE if the frame would pass INT32_MAX bytes, -EINVAL for a negative
 * records_len. Gap offsets are writer offsets: valid as long as the writer's content is.
 */
int kp_encode_fetch(struct kc_writer *w, const struct kp_header *h,
                    const struct kp_fetch_req *req, struct kp_fetch_gap *gaps,
                    size_t max_gaps, size_t *ngaps, size_t *frame_len);

/* ---- FindCoordinator v0-2 ------------------------------------------------------------- */

struct kp_find_coordinator_resp {
    int16_t error;
    struct kc_slice error_message; /* v1+, nullable */
    int32_t node_id;
    struct kc_slice host;
    int32_t port;
};

int kp_encode_find_coordinator(struct kc_writer *w, const struct kp_header *h,
                               const struct kp_find_coordinator_resp *resp);

/* ---- JoinGroup v0-5, SyncGroup v0-3, Heartbeat v0-3, LeaveGroup v0-1 ------------------- */

struct kp_join_member {
    struct kc_slice member_id;
    struct kc_slice group_instance_id; /* v5+, nullable */
    struct kc_slice metadata;          /* for the chosen protocol */
};

struct kp_join_group_resp {
    int16_t error;
    int32_t generation_id;     /* -1 on error */
    struct kc_slice protocol_name;
    struct kc_slice leader;
    struct kc_slice member_id; /* also on MEMBER_ID_REQUIRED: the id to rejoin with */
    int32_t nmembers;          /* non-zero for the leader only */
    const struct kp_join_member *members;
};

int kp_encode_join_group(struct kc_writer *w, const struct kp_header *h,
                         const struct kp_join_group_resp *resp);

struct kp_sync_group_resp {
    int16_t error;
    struct kc_slice assignment; /* empty (never null) on error */
};

int kp_encode_sync_group(struct kc_writer *w, const struct kp_header *h,
                         const struct kp_sync_group_resp *resp);

/* Heartbeat and LeaveGroup answer with an error code only. */
int kp_encode_heartbeat(struct kc_writer *w, const struct kp_header *h, int16_t error);
int kp_encode_leave_group(struct kc_writer *w, const struct kp_header *h, int16_t error);

/* ---- OffsetFetch v0-4 ------------------------------------------------------------------- */

struct kp_offset_fetch_part {
    int32_t index;
    int64_t offset;           /* -1: nothing committed (the client applies auto.offset.reset) */
    struct kc_slice metadata; /* nullable */
    int16_t error;
};

struct kp_offset_fetch_resp_topic {
    struct kc_slice name;
    int32_t nparts;
    const struct kp_offset_fetch_part *parts;
};

struct kp_offset_fetch_resp {
    int32_t ntopics;
    const struct kp_offset_fetch_resp_topic *topics;
    int16_t error; /* v2+ top-level error */
};

int kp_encode_offset_fetch(struct kc_writer *w, const struct kp_header *h,
                           const struct kp_offset_fetch_resp *resp);

#endif
