/*
 * kp_req.h - Kafka requests decoded into plain structs, without copying a byte.
 *
 * kp_request_decode() reads one frame body (the bytes after the i32 size) into a struct
 * kp_request: the header plus one member of a union per API. Strings and byte fields are
 * kc_slice views into the frame; arrays (topics, partitions, protocols...) are allocated
 * from a per-request arena that kp_request_fini() frees in one go.
 *
 *   frame body:  hdr | acks timeout [topic [partition records]]
 *                          ^                            ^
 *   kp_request:  .u.produce.topics[0].name.p ----------/  .parts[0].records.p (views)
 *
 * The request is also the response's skeleton. Where a response answers the request's
 * own topics and partitions (Produce, Fetch, ListOffsets, OffsetCommit), each partition
 * struct carries its result fields, preset by the decoder to UNKNOWN_SERVER_ERROR; the
 * server fills them in and the encoder (kp_resp.h) walks the same arrays. Responses thus
 * keep request order and answer every partition by construction (reference §6 pitfall 7).
 *
 * Validation done here, once, so the server never has to:
 *  - every count and length is checked against the bytes left before anything is
 *    allocated or looped over (kc_read_array_len), negative lengths other than null are
 *    rejected, a null where Kafka's schema says "not nullable" is rejected;
 *  - versions: 0 advertised-but-below impl_min -> KC_ENOTIMPL; outside the advertised
 *    range -> KC_EBADVERSION; ApiVersions above our max -> decoded with .fallback set.
 * Not validated here (they are per-topic errors in Kafka, not bad requests): topic name
 * syntax (kp_topic_name_check), whether topics exist, produce records (kp_produce_check).
 * Trailing bytes after the body are ignored, as Kafka's generated parsers ignore them;
 * req->body_used tells how far the decoder read (the tests check it is the whole body).
 *
 * Versions decoded: ApiVersions 0-2, Metadata 0-4, Produce 3-7, Fetch 4-11,
 * ListOffsets 1-2, FindCoordinator 0-2, JoinGroup 0-5, SyncGroup 0-3, Heartbeat 0-3,
 * LeaveGroup 0-1, OffsetCommit 0-5, OffsetFetch 0-4. Produce 0-2 and Fetch 0-3 carry the
 * pre-0.11 message formats (magic 0/1) and ListOffsets 0 an offsets array; they are
 * advertised only because librdkafka checks for them, and neither client uses them.
 *
 * Lifetimes: every slice points into the frame passed to kp_request_decode and every
 * array into the request's arena, so the frame must outlive the request, and nothing in it
 * survives kp_request_fini(). A server that parks a request (a long-poll Fetch) keeps its
 * frame buffer with it. Not thread-safe per request; distinct requests are independent.
 */
#ifndef KP_REQ_H
#define KP_REQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kc_batch.h"
#include "kc_buf.h"
#include "kp_proto.h"

/* ---- ApiVersions ---------------------------------------------------------------------- */

struct kp_api_versions_req {
    bool fallback; /* version above our max: answer in v0 format with UNSUPPORTED_VERSION */
};

/* ---- Metadata v0-4 ---------------------------------------------------------------------- */

struct kp_metadata_req {
    int32_t ntopics;           /* -1: all topics (null array v1+, empty array in v0) */
    struct kc_slice *topics;   /* ntopics names (may be empty: brokers only) */
    bool allow_auto_create;    /* v4 field; v0-3 imply true, as Kafka does */
};

/* ---- Produce v3-7 ------------------------------------------------------------------------ */

struct kp_produce_part {
    int32_t index;
    struct kc_slice records;   /* the records field: should be one RecordBatch v2 */
    /* result, filled by the server (preset: error UNKNOWN_SERVER_ERROR, offsets -1) */
    int16_t error;
    int64_t base_offset;
    int64_t log_append_time;   /* -1: CreateTime topics */
    int64_t log_start_offset;  /* v5+ */
};

struct kp_produce_topic {
    struct kc_slice name;
    int32_t nparts;
    struct kp_produce_part *parts;
};

struct kp_produce_req {
    struct kc_slice transactional_id; /* null unless a transactional producer */
    int16_t acks;                     /* -1 all, 0 none (no response at all), 1 leader */
    int32_t timeout_ms;
    int32_t ntopics;
    struct kp_produce_topic *topics;
};

/* ---- Fetch v4-11 ------------------------------------------------------------------------- */

struct kp_fetch_part {
    int32_t index;
    int32_t current_leader_epoch; /* v9+, else -1 */
    int64_t fetch_offset;
    int64_t follower_log_start;   /* v5+ (brokers only), else -1 */
    int32_t max_bytes;
    /* result, filled by the server (preset: error UNKNOWN_SERVER_ERROR, offsets -1) */
    int16_t error;
    int64_t high_watermark;
    int64_t last_stable_offset;   /* = high watermark here (no transactions) */
    int64_t log_start_offset;     /* v5+ */
    int32_t records_len;          /* bytes of whole batches; 0 = empty (never -1) */
    const uint8_t *records;       /* NULL: caller sends records_len bytes itself (a gap) */
};

struct kp_fetch_topic {
    struct kc_slice name;
    int32_t nparts;
    struct kp_fetch_part *parts;
};

struct kp_fetch_req {
    int32_t replica_id;   /* -1 for consumers */
    int32_t max_wait_ms;
    int32_t min_bytes;
    int32_t max_bytes;    /* v3+, else INT32_MAX */
    int8_t isolation_level; /* 0 read_uncommitted, 1 read_committed */
    int32_t session_id;   /* v7+ fetch sessions: we answer session_id 0 (no session) */
    int32_t session_epoch;
    int32_t ntopics;
    struct kp_fetch_topic *topics;
    int32_t nparts_total; /* partitions over all topics (to size the gap array) */
    struct kc_slice rack_id; /* v11 */
    int16_t error;        /* v7+ top-level error, preset NONE */
};

/* ---- ListOffsets v1-2 -------------------------------------------------------------------- */

#define KP_LIST_OFFSETS_LATEST   (-1)
#define KP_LIST_OFFSETS_EARLIEST (-2)

struct kp_list_offsets_part {
    int32_t index;
    int64_t timestamp;        /* -1 latest, -2 earliest, else a time in ms */
    /* result (preset: error UNKNOWN_SERVER_ERROR, timestamp -1, offset -1) */
    int16_t error;
    int64_t found_timestamp;  /* -1 for latest/earliest */
    int64_t offset;
};

struct kp_list_offsets_topic {
    struct kc_slice name;
    int32_t nparts;
    struct kp_list_offsets_part *parts;
};

struct kp_list_offsets_req {
    int32_t replica_id;
    int8_t isolation_level; /* v2+, else 0 */
    int32_t ntopics;
    struct kp_list_offsets_topic *topics;
};

/* ---- FindCoordinator v0-2 ------------------------------------------------------------- */

struct kp_find_coordinator_req {
    struct kc_slice key;  /* the group id */
    int8_t key_type;      /* v1+: 0 group, 1 transaction */
};

/* ---- JoinGroup v0-5 --------------------------------------------------------------------- */

struct kp_join_protocol {
    struct kc_slice name;     /* "range", "roundrobin", "RoundRobinAssigner", ... */
    struct kc_slice metadata; /* opaque to the broker (the consumer's subscription) */
};

struct kp_join_group_req {
    struct kc_slice group_id;
    int32_t session_timeout_ms;
    int32_t rebalance_timeout_ms; /* v1+; v0 uses the session timeout, as Kafka does */
    struct kc_slice member_id;    /* "" on a first join */
    struct kc_slice group_instance_id; /* v5+, null = dynamic member */
    struct kc_slice protocol_type;     /* "consumer" */
    int32_t nprotocols;
    struct kp_join_protocol *protocols;
};

/* ---- SyncGroup v0-3 ---------------------------------------------------------------------- */

struct kp_sync_assignment {
    struct kc_slice member_id;
    struct kc_slice assignment; /* opaque (the consumer's partitions) */
};

struct kp_sync_group_req {
    struct kc_slice group_id;
    int32_t generation_id;
    struct kc_slice member_id;
    struct kc_slice group_instance_id; /* v3+ */
    int32_t nassignments;              /* the leader's; 0 from followers */
    struct kp_sync_assignment *assignments;
};

/* ---- Heartbeat v0-3, LeaveGroup v0-1 ---------------------------------------------------- */

struct kp_heartbeat_req {
    struct kc_slice group_id;
    int32_t generation_id;
    struct kc_slice member_id;
    struct kc_slice group_instance_id; /* v3+ */
};

struct kp_leave_group_req {
    struct kc_slice group_id;
    struct kc_slice member_id;
};

/* ---- OffsetCommit v0-5 ------------------------------------------------------------------ */

struct kp_offset_commit_part {
    int32_t index;
    int64_t offset;
    int32_t leader_epoch;     /* v6+ only: always -1 here */
    int64_t commit_timestamp; /* v1 only, else -1 */
    struct kc_slice metadata; /* nullable */
    int16_t error;            /* result (preset UNKNOWN_SERVER_ERROR) */
};

struct kp_offset_commit_topic {
    struct kc_slice name;
    int32_t nparts;
    struct kp_offset_commit_part *parts;
};

struct kp_offset_commit_req {
    struct kc_slice group_id;
    int32_t generation_id;        /* v1+, else -1 */
    struct kc_slice member_id;    /* v1+, else "" */
    struct kc_slice group_instance_id; /* v7+ only: always null here */
    int64_t retention_ms;         /* v2-4, else -1 */
    int32_t ntopics;
    struct kp_offset_commit_topic *topics;
};

/* ---- OffsetFetch v0-4 ------------------------------------------------------------------- */

struct kp_offset_fetch_topic {
    struct kc_slice name;
    int32_t nparts;
    int32_t *parts; /* partition indexes */
};

struct kp_offset_fetch_req {
    struct kc_slice group_id;
    int32_t ntopics; /* -1 (v2+ null array): every committed offset of the group */
    struct kp_offset_fetch_topic *topics;
};

/* ---- the decoded request -------------------------------------------------------------- */

struct kp__chunk; /* arena chunk (internal) */

struct kp_request {
    struct kp_header hdr;
    size_t body_used;      /* bytes of the frame body the decoder read */
    struct kp__chunk *mem; /* arena; freed by kp_request_fini */
    union {
        struct kp_api_versions_req api_versions;
        struct kp_metadata_req metadata;
        struct kp_produce_req produce;
        struct kp_fetch_req fetch;
        struct kp_list_offsets_req list_offsets;
        struct kp_find_coordinator_req find_coordinator;
        struct kp_join_group_req join_group;
        struct kp_sync_group_req sync_group;
        struct kp_heartbeat_req heartbeat;
        struct kp_leave_group_req leave_group;
        struct kp_offset_commit_req offset_commit;
        struct kp_offset_fetch_req offset_fetch;
    } u;
};

/*
 * Decode one request. body/len: the frame without its i32 size (kp_frame_check gives
 * both). Returns 0 with *req filled (free it with kp_request_fini), or, with *req left
 * empty (fini is then a no-op): KC_EMALFORMED (bad header or body), KC_ENOAPI,
 * KC_EBADVERSION, KC_ENOTIMPL, -ENOMEM. Every non-zero result means "close the
 * connection without answering" (see kp_proto.h). Memory: the arena holds at most a small
 * multiple of len (every array element costs at least 4 bytes of frame), so the frame
 * size limit bounds it. Pure; any thread; body must outlive *req.
 */
int kp_request_decode(const uint8_t *body, size_t len, struct kp_request *req);

/* Free what the request's arena holds; the struct may be decoded into again. */
void kp_request_fini(struct kp_request *req);

/*
 * Check a topic name the way Kafka does (Topic.validate): 1..249 characters of
 * [A-Za-z0-9._-], not "." or "..". Returns KP_ERR_NONE or KP_ERR_INVALID_TOPIC_EXCEPTION
 * (a Kafka error code).
 */
int16_t kp_topic_name_check(struct kc_slice name);

/*
 * Check one Produce partition's records field before it is appended, in Kafka's order
 * (ProduceRequest.validateRecords, then LogValidator). Returns a Kafka error code:
 *   NONE (0)                       one valid RecordBatch v2; *h (if not NULL) filled
 *   INVALID_REQUIRED_ACKS (21)     req->acks not in {-1, 0, 1}
 *   INVALID_RECORD (87)            null/empty field, not exactly one batch, magic != 2,
 *                                  a control batch, header counts or records malformed
 *   CORRUPT_MESSAGE (2)            impossible batch length, or CRC-32C mismatch
 *   UNSUPPORTED_COMPRESSION_TYPE (76)  codec id 5-7, or zstd in Produce < v7
 *   UNSUPPORTED_FOR_MESSAGE_FORMAT (43) a transactional_id, a transactional batch or a
 *                                  producer id (idempotence): this broker's log format
 *                                  keeps no producer state, so it refuses them the way
 *                                  Kafka refuses them for a log format that cannot carry
 *                                  them (LogValidator); clients treat 43 as fatal and
 *                                  report it instead of retrying.
 * Compressed batches are checked as far as the header and CRC go (kc_batch_validate) and
 * stored as they came. Pure; any thread.
 */
int16_t kp_produce_check(const struct kp_produce_req *req, int16_t version,
                         struct kc_slice records, struct kc_batch_header *h);

/*
 * kp_produce_check without the two passes over the whole batch: the CRC-32C and the
 * parsing of every record. For a server whose append validates the batch anyway
 * (brk_produce does), so that it is read once, not twice: perf on the broker while kcat
 * produced 3 x 1M 100-byte records put 25-35% of its samples in validation with both
 * passes, 14% with one. The caller maps its store's verdict:
 * a CRC mismatch is CORRUPT_MESSAGE (2), records that do not parse INVALID_RECORD (87).
 * Everything else is judged here, with the same codes (and in the same order, except
 * that a batch both corrupt and, say, idempotent gets 43 here where the full check says 2).
 * Pure; any thread.
 */
int16_t kp_produce_precheck(const struct kp_produce_req *req, int16_t version,
                            struct kc_slice records, struct kc_batch_header *h);

#endif
