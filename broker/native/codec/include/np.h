/*
 * np.h - the broker's native protocol: frames, requests, responses, error codes.
 *
 * The wire format is specified, with byte pictures, in broker/PROTOCOL.md; this header is
 * the same specification as an interface. In brief, every message is one frame:
 *
 *   request   u32 length | u16 magic 0xCAFE | u8 version | u8 command | u32 correlation | body
 *   response  u32 length | u16 magic 0xCAFE | u8 version | u8 command | u32 correlation |
 *             i16 error | body
 *
 * length counts the bytes after itself; everything is big-endian; strings are Kafka's
 * (i16 length + bytes, -1 = null) and so are byte arrays (i32 length + bytes, -1 = null).
 * The magic's first byte (0xCA) is >= 0x80 where a Kafka request has the high byte of its
 * api_key (never negative), so the first frame of a connection tells the two protocols
 * apart.
 *
 * Rules:
 *  - Decoders never copy: every kc_slice points into the caller's frame and is valid
 *    exactly as long as that buffer is.
 *  - np_frame_peek() is the streaming decoder (picohttpparser's contract): it says "need
 *    more bytes" (KC_ENEEDMORE) apart from "these bytes can never be a frame"
 *    (KC_EMALFORMED, KC_ETOOLARGE). Body decoders take a whole body: running short there
 *    means the frame lied, so they return KC_EMALFORMED, never KC_ENEEDMORE. Trailing bytes
 *    after the last field are malformed too.
 *  - Body decoders check structure (lengths, counts, null where null is not allowed);
 *    meaning (a valid topic name, an acks level, a partition that exists) is the broker's
 *    to judge, and it answers with a specific error code for each.
 *  - Encoders append one whole frame to a kc_writer; check kc_writer_error() once after.
 *  - Errors the broker sends are i16 codes (enum np_error). In this project's int error
 *    space they travel as NP_ERR(code), below -2000, apart from -errno and KC_* codes;
 *    np_strerror() names all three kinds.
 *
 * Commands 10 and 11 carry a SASL exchange (Kafka's SaslHandshake and SaslAuthenticate);
 * src/sasl.c. Their mechanism list is walked with np_sasl_mechanisms_next, like metadata.
 *
 * How it differs from Kafka: one small fixed header instead of Kafka's versioned request
 * headers with a client id; a version per connection-frame instead of per API; one record
 * per produce in command 1 (command 5 carries a Kafka RecordBatch v2 unchanged, which is
 * what Kafka's Produce carries). Read next: PROTOCOL.md, then np_client.h.
 */
#ifndef NP_H
#define NP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kc_buf.h"

#define NP_MAGIC              0xCAFEu
#define NP_VERSION            1
#define NP_LENGTH_SIZE        4  /* the u32 length prefix */
#define NP_REQ_HEADER_SIZE    12 /* length .. correlation */
#define NP_RESP_HEADER_SIZE   14 /* ... + error */
#define NP_MIN_FRAME_LENGTH   8  /* a request's length field is at least magic..correlation */
#define NP_TOPIC_MAX          249
#define NP_GROUP_MAX          249
#define NP_MAX_WAIT_MS_MAX    300000 /* longest long-poll a consume-batch may ask for */

enum np_cmd {
    NP_CREATE_TOPIC = 0,
    NP_PRODUCE = 1,
    NP_CONSUME = 2,
    NP_COMMIT = 3,
    NP_FETCH_OFFSET = 4,
    NP_PRODUCE_BATCH = 5,
    NP_CONSUME_BATCH = 6,
    NP_METADATA = 7,
    NP_PING = 8,
    NP_INFO = 9,
    NP_SASL_HANDSHAKE = 10,
    NP_SASL_AUTHENTICATE = 11,
    NP_CMD_COUNT
};

/* "create-topic", "produce", ...; "unknown" for anything else. Static. */
const char *np_cmd_name(int cmd);

/* acks levels (Kafka's values). */
#define NP_ACKS_NONE   0  /* no response on success (see PROTOCOL.md) */
#define NP_ACKS_LEADER 1  /* answered once appended (in the page cache) */
#define NP_ACKS_ALL    -1 /* answered once fsynced (group commit) */

/* ---- error codes ----------------------------------------------------------------------- */

/* X-macro: name, code, meaning. One table for the broker, the client and PROTOCOL.md. */
#define NP_ERRORS(X)                                                                          \
    X(NP_E_UNKNOWN, -1, "unexpected broker error (see the broker's log)")                     \
    X(NP_E_NONE, 0, "success")                                                                \
    X(NP_E_OFFSET_OUT_OF_RANGE, 1, "offset below the log start or beyond the log end")        \
    X(NP_E_END_OF_LOG, 2, "no record at this offset yet (it is the log end)")                 \
    X(NP_E_UNKNOWN_TOPIC, 3, "no such topic")                                                 \
    X(NP_E_UNKNOWN_PARTITION, 4, "no such partition in this topic")                           \
    X(NP_E_TOPIC_EXISTS, 5, "the topic already exists")                                       \
    X(NP_E_INVALID_TOPIC, 6, "invalid topic name ([A-Za-z0-9._-], 1-249, not . or ..)")       \
    X(NP_E_INVALID_PARTITIONS, 7, "invalid partition count")                                  \
    X(NP_E_INVALID_ACKS, 8, "acks must be 0, 1 or -1 (all)")                                  \
    X(NP_E_RECORD_TOO_LARGE, 9, "record or batch larger than message.max.bytes")              \
    X(NP_E_CORRUPT_BATCH, 10, "record batch failed validation (CRC, lengths or counts)")      \
    X(NP_E_COMPRESSED, 11, "record is inside a compressed batch; use consume-batch")         \
    X(NP_E_INVALID_GROUP, 12, "invalid group name (1-249 bytes, no control characters)")              \
    X(NP_E_MALFORMED, 13, "request body could not be decoded")                                \
    X(NP_E_UNKNOWN_COMMAND, 14, "unknown command")                                            \
    X(NP_E_UNSUPPORTED_VERSION, 15, "unsupported protocol version")                           \
    X(NP_E_REQUEST_TOO_LARGE, 16, "request frame larger than socket.request.max.bytes")       \
    X(NP_E_STORAGE, 17, "the broker's storage failed (disk full, I/O error, out of files)")  \
    X(NP_E_SHUTTING_DOWN, 18, "the broker is shutting down")                                  \
    X(NP_E_INVALID_REQUEST, 19, "a field is out of its allowed range")                        \
    X(NP_E_INTERNAL_TOPIC, 20, "the topic is internal to the broker and read-only")          \
    X(NP_E_NOT_LEADER, 21, "this broker does not lead the partition (a cluster): ask its leader") \
    X(NP_E_NOT_ENOUGH_REPLICAS, 22,                                                           \
      "fewer in-sync replicas than min.insync.replicas: nothing written, retry later")        \
    X(NP_E_NOT_ENOUGH_REPLICAS_AFTER_APPEND, 23,                                              \
      "written, but the in-sync replicas fell below min.insync.replicas before it was "       \
      "acknowledged: a retry may write it twice")                                             \
    X(NP_E_REQUEST_TIMED_OUT, 24,                                                             \
      "not confirmed durable (the in-sync replicas in time, or its fsync): it may be "        \
      "written")                                                                              \
    X(NP_E_TOPIC_AUTHORIZATION_FAILED, 29, "not authorized to access the topic (ACLs)")        \
    X(NP_E_GROUP_AUTHORIZATION_FAILED, 30, "not authorized to access the group (ACLs)")        \
    X(NP_E_CLUSTER_AUTHORIZATION_FAILED, 31, "not authorized to act on the cluster (ACLs)")    \
    X(NP_E_UNSUPPORTED_SASL_MECHANISM, 33, "the SASL mechanism is not enabled on this broker") \
    X(NP_E_ILLEGAL_SASL_STATE, 34, "not valid in the connection's SASL state (authenticate first)") \
    X(NP_E_SASL_AUTHENTICATION_FAILED, 58, "SASL authentication failed")

enum np_error {
#define NP_ERR_ENUM(name, code, msg) name = code,
    NP_ERRORS(NP_ERR_ENUM)
#undef NP_ERR_ENUM
};

/* A broker error code in the project's negative error space, and back. */
#define NP_ERR_BASE    -2000
#define NP_ERR(code)   (NP_ERR_BASE - 1 - (code)) /* NONE -> -2001, UNKNOWN(-1) -> -2000 */
#define NP_ERR_MIN     (NP_ERR_BASE - 1 - 32767)
static inline bool np_is_err(int err)
{
    return err <= NP_ERR_BASE && err >= NP_ERR_MIN;
}
static inline int np_err_code(int err)
{
    return NP_ERR_BASE - 1 - err;
}

/* "OFFSET_OUT_OF_RANGE" (the name without NP_E_); "UNRECOGNISED" for a code not in the
 * table (a newer broker's). Static, never NULL. */
const char *np_error_name(int code);
/* The table's meaning for code. Static, never NULL. */
const char *np_error_message(int code);
/* For any project error: NP_ERR(code) -> the table's meaning, else kc_strerror(err). */
const char *np_strerror(int err);
/* The code the broker sends for a project error met while serving cmd (-errno or KC_*);
 * e.g. KC_ETOOLARGE is INVALID_PARTITIONS for create-topic and RECORD_TOO_LARGE for
 * produce. 0 -> NP_E_NONE. */
int np_error_from_kc(int err, int cmd);

/* ---- frames ---------------------------------------------------------------------------- */

struct np_header {
    uint32_t length; /* bytes after the length field */
    uint16_t magic;
    uint8_t version;
    uint8_t cmd;
    uint32_t corr;
    int16_t error;   /* responses only */
};

/*
 * Look at the start of a byte stream for one request (response = false) or response frame.
 * Returns 0 with *h filled and *frame_len = 4 + length when the whole frame is in p[0..len);
 * KC_ENEEDMORE when more bytes are needed; KC_EMALFORMED when the magic is wrong or the
 * length is too small to hold a header; KC_ETOOLARGE when 4 + length > max_frame, reported
 * once the header has arrived and with *h filled, so that the broker can answer with the
 * request's correlation id. The version and the command are not judged here.
 */
int np_frame_peek(const uint8_t *p, size_t len, size_t max_frame, bool response,
                  struct np_header *h, size_t *frame_len);

/* Is p[0..len) (at least 5 bytes) the start of a native frame? False means "maybe Kafka". */
static inline bool np_is_native(const uint8_t *p, size_t len)
{
    return len >= 5 && p[4] >= 0x80;
}

/* Begin a frame: writes the header with a placeholder length; returns where it starts. */
size_t np_begin_request(struct kc_writer *w, int cmd, uint32_t corr);
size_t np_begin_response(struct kc_writer *w, int cmd, uint32_t corr, int16_t error);
/* Patch the length of the frame begun at `at`, counting `extra` bytes that will follow it
 * outside the writer (a sendfile tail). */
void np_end_frame(struct kc_writer *w, size_t at, size_t extra);

/* ---- requests -------------------------------------------------------------------------- */

struct np_create_topic_req {
    struct kc_slice topic;
    int32_t partitions;
};

struct np_produce_req {
    struct kc_slice topic;
    int32_t partition;  /* -1: the broker chooses (by key if there is one, else round-robin) */
    int16_t acks;
    int64_t timestamp;  /* ms since the epoch; -1: the broker's clock */
    struct kc_slice key;   /* len -1 = null */
    struct kc_slice value; /* len -1 = null */
};

struct np_consume_req {
    struct kc_slice topic;
    int32_t partition;
    int64_t offset;
};

struct np_commit_req {
    struct kc_slice group;
    struct kc_slice topic;
    int32_t partition;
    int64_t offset;
    struct kc_slice metadata; /* len -1 = null */
};

struct np_fetch_offset_req {
    struct kc_slice group;
    struct kc_slice topic;
    int32_t partition;
};

struct np_produce_batch_req {
    struct kc_slice topic;
    int32_t partition;   /* -1: round-robin, the whole batch to one partition */
    int16_t acks;
    struct kc_slice batch; /* one RecordBatch v2, never null */
};

struct np_consume_batch_req {
    struct kc_slice topic;
    int32_t partition;
    int64_t offset;
    int32_t max_records; /* the client trims to this; >= 1 */
    int32_t max_bytes;   /* >= 1; the first batch is sent whole even if larger */
    int32_t max_wait_ms; /* 0..NP_MAX_WAIT_MS_MAX: long-poll at the log end */
};

struct np_metadata_req {
    struct kc_slice topic; /* len -1 (null) = every topic */
};

struct np_ping_req {
    struct kc_slice payload;
};

/* 10: the mechanism the client means to use, as Kafka names it ("SCRAM-SHA-256"). */
struct np_sasl_handshake_req {
    struct kc_slice mechanism; /* never null */
};

/* 11: one message of the exchange; the protocol does not look inside. */
struct np_sasl_authenticate_req {
    struct kc_slice auth_bytes; /* never null; may be empty */
};

/*
 * Encoders: append one whole request frame. Decoders: body[0..len) is the frame after the
 * 12-byte header; 0 and *req filled, or KC_EMALFORMED (nothing written to *req).
 */
void np_encode_create_topic(struct kc_writer *w, uint32_t corr,
                            const struct np_create_topic_req *req);
void np_encode_produce(struct kc_writer *w, uint32_t corr, const struct np_produce_req *req);
void np_encode_consume(struct kc_writer *w, uint32_t corr, const struct np_consume_req *req);
void np_encode_commit(struct kc_writer *w, uint32_t corr, const struct np_commit_req *req);
void np_encode_fetch_offset(struct kc_writer *w, uint32_t corr,
                            const struct np_fetch_offset_req *req);
void np_encode_produce_batch(struct kc_writer *w, uint32_t corr,
                             const struct np_produce_batch_req *req);
void np_encode_consume_batch(struct kc_writer *w, uint32_t corr,
                             const struct np_consume_batch_req *req);
void np_encode_metadata(struct kc_writer *w, uint32_t corr, const struct np_metadata_req *req);
void np_encode_ping(struct kc_writer *w, uint32_t corr, const struct np_ping_req *req);
void np_encode_info(struct kc_writer *w, uint32_t corr);
void np_encode_sasl_handshake(struct kc_writer *w, uint32_t corr,
                              const struct np_sasl_handshake_req *req);
void np_encode_sasl_authenticate(struct kc_writer *w, uint32_t corr,
                                 const struct np_sasl_authenticate_req *req);

int np_decode_create_topic(const uint8_t *body, size_t len, struct np_create_topic_req *req);
int np_decode_produce(const uint8_t *body, size_t len, struct np_produce_req *req);
int np_decode_consume(const uint8_t *body, size_t len, struct np_consume_req *req);
int np_decode_commit(const uint8_t *body, size_t len, struct np_commit_req *req);
int np_decode_fetch_offset(const uint8_t *body, size_t len, struct np_fetch_offset_req *req);
int np_decode_produce_batch(const uint8_t *body, size_t len, struct np_produce_batch_req *req);
int np_decode_consume_batch(const uint8_t *body, size_t len, struct np_consume_batch_req *req);
int np_decode_metadata(const uint8_t *body, size_t len, struct np_metadata_req *req);
int np_decode_ping(const uint8_t *body, size_t len, struct np_ping_req *req);
int np_decode_info(const uint8_t *body, size_t len);
int np_decode_sasl_handshake(const uint8_t *body, size_t len, struct np_sasl_handshake_req *req);
int np_decode_sasl_authenticate(const uint8_t *body, size_t len,
                                struct np_sasl_authenticate_req *req);

/* ---- responses ------------------------------------------------------------------------- */

/* The SASL mechanisms a broker offers: `count` strings, validated by the decoder that
 * produced this; walk them with np_sasl_mechanisms_next. */
struct np_sasl_mechanisms {
    int32_t count;
    const uint8_t *p; /* the encoded strings, after the count */
    size_t len;
};

/*
 * Every response with error != 0 carries a body of `message:str?` (a human-readable detail,
 * may be null), followed for consume (2) and consume-batch (6) by log_start:i64 and
 * log_end:i64 (-1 when the partition is unknown), and for sasl-handshake (10) by the
 * mechanisms the broker offers (as Kafka's SaslHandshakeResponse carries them even when it
 * refuses one). With error == 0 the bodies are below.
 */
struct np_error_resp {
    struct kc_slice message;
    int64_t log_start; /* consume / consume-batch only, else -1 */
    int64_t log_end;
    struct np_sasl_mechanisms mechanisms; /* sasl-handshake only, else count 0 */
};

struct np_create_topic_resp {
    int32_t partitions;
};

struct np_produce_resp {
    int32_t partition;
    int64_t offset;
};

struct np_consume_resp {
    int64_t log_start;
    int64_t log_end;
    int64_t offset;
    int64_t timestamp;
    struct kc_slice key;
    struct kc_slice value;
};

struct np_fetch_offset_resp {
    int64_t offset;           /* -1: nothing committed */
    struct kc_slice metadata; /* len -1 = null */
};

struct np_produce_batch_resp {
    int32_t partition;
    int64_t base_offset;
    int32_t count;
};

/* The records are whole RecordBatch v2 batches back to back, as stored; the first may start
 * before the offset asked and the last may reach past max_records: the client trims. */
struct np_consume_batch_resp {
    int64_t log_start;
    int64_t log_end;
    struct kc_slice records; /* never null; len 0 when nothing is there (yet) */
};

struct np_partition_meta {
    int32_t partition;
    int64_t log_start;
    int64_t log_end;
};

struct np_topic_meta {
    struct kc_slice name;
    int32_t npartitions;
    const uint8_t *parts; /* npartitions encoded np_partition_meta; use np_metadata_part */
};

/* Metadata: topics[name:str, partitions[partition:i32, log_start:i64, log_end:i64]]. The
 * decoder validates the whole array once; np_metadata_next walks it without allocating. */
struct np_metadata_resp {
    int32_t ntopics;
    const uint8_t *p;   /* the encoded array, after its count */
    size_t len;
};

struct np_metadata_iter {
    struct kc_reader r;
    int32_t left;
};

struct np_info_resp {
    struct kc_slice version;    /* the broker's version string */
    int32_t max_request_bytes;  /* socket.request.max.bytes */
    int32_t max_message_bytes;  /* message.max.bytes */
    int32_t default_partitions; /* num.partitions */
    int32_t network_threads;
};

struct np_ping_resp {
    struct kc_slice payload;
};

struct np_sasl_handshake_resp {
    struct np_sasl_mechanisms mechanisms; /* enabled here (sasl.enabled.mechanisms) */
};

struct np_sasl_authenticate_resp {
    struct kc_slice auth_bytes; /* the server's next message (SCRAM); empty for PLAIN */
};

void np_encode_error_resp(struct kc_writer *w, int cmd, uint32_t corr, int16_t error,
                          const char *message, int64_t log_start, int64_t log_end);
void np_encode_create_topic_resp(struct kc_writer *w, uint32_t corr,
                                 const struct np_create_topic_resp *resp);
void np_encode_produce_resp(struct kc_writer *w, uint32_t corr,
                            const struct np_produce_resp *resp);
void np_encode_consume_resp(struct kc_writer *w, uint32_t corr,
                            const struct np_consume_resp *resp);
void np_encode_commit_resp(struct kc_writer *w, uint32_t corr);
void np_encode_fetch_offset_resp(struct kc_writer *w, uint32_t corr,
                                 const struct np_fetch_offset_resp *resp);
void np_encode_produce_batch_resp(struct kc_writer *w, uint32_t corr,
                                  const struct np_produce_batch_resp *resp);
/* Whole response, records copied inline (tests, simple servers). */
void np_encode_consume_batch_resp(struct kc_writer *w, uint32_t corr,
                                  const struct np_consume_batch_resp *resp);
/* Everything but the records: the caller sends records_len bytes right after (sendfile). */
void np_encode_consume_batch_head(struct kc_writer *w, uint32_t corr, int64_t log_start,
                                  int64_t log_end, size_t records_len);
/* Metadata in three steps: begin (count of topics), one topic header, its partitions. */
size_t np_encode_metadata_begin(struct kc_writer *w, uint32_t corr, int32_t ntopics);
void np_encode_metadata_topic(struct kc_writer *w, const char *name, int32_t npartitions);
void np_encode_metadata_part(struct kc_writer *w, const struct np_partition_meta *pm);
void np_encode_ping_resp(struct kc_writer *w, uint32_t corr, const struct np_ping_resp *resp);
void np_encode_info_resp(struct kc_writer *w, uint32_t corr, const struct np_info_resp *resp);
/* sasl-handshake's answer: names[0..n) are the mechanisms offered, with error 0 or (the
 * mechanism asked is not one of them) UNSUPPORTED_SASL_MECHANISM and a message. */
void np_encode_sasl_handshake_resp(struct kc_writer *w, uint32_t corr, int16_t error,
                                   const char *message, const char *const *names, int n);
void np_encode_sasl_authenticate_resp(struct kc_writer *w, uint32_t corr,
                                      const struct np_sasl_authenticate_resp *resp);

/* Response decoders: body after the 14-byte header, of a response whose error was 0
 * (np_decode_error_resp for the others). 0 or KC_EMALFORMED. */
int np_decode_error_resp(const uint8_t *body, size_t len, int cmd, struct np_error_resp *resp);
int np_decode_create_topic_resp(const uint8_t *body, size_t len,
                                struct np_create_topic_resp *resp);
int np_decode_produce_resp(const uint8_t *body, size_t len, struct np_produce_resp *resp);
int np_decode_consume_resp(const uint8_t *body, size_t len, struct np_consume_resp *resp);
int np_decode_commit_resp(const uint8_t *body, size_t len);
int np_decode_fetch_offset_resp(const uint8_t *body, size_t len,
                                struct np_fetch_offset_resp *resp);
int np_decode_produce_batch_resp(const uint8_t *body, size_t len,
                                 struct np_produce_batch_resp *resp);
int np_decode_consume_batch_resp(const uint8_t *body, size_t len,
                                 struct np_consume_batch_resp *resp);
int np_decode_metadata_resp(const uint8_t *body, size_t len, struct np_metadata_resp *resp);
void np_metadata_iter_init(struct np_metadata_iter *it, const struct np_metadata_resp *resp);
/* 1 and *tm filled (then call np_metadata_part tm->npartitions times), 0 at the end. The
 * array was validated by the decoder, so walking it cannot fail. */
int np_metadata_next(struct np_metadata_iter *it, struct np_topic_meta *tm);
void np_metadata_part(const struct np_topic_meta *tm, int32_t i, struct np_partition_meta *pm);
int np_decode_ping_resp(const uint8_t *body, size_t len, struct np_ping_resp *resp);
int np_decode_info_resp(const uint8_t *body, size_t len, struct np_info_resp *resp);
int np_decode_sasl_handshake_resp(const uint8_t *body, size_t len,
                                  struct np_sasl_handshake_resp *resp);
int np_decode_sasl_authenticate_resp(const uint8_t *body, size_t len,
                                     struct np_sasl_authenticate_resp *resp);
/* The mechanism after *pos (start with *pos = 0): 1 and *name, 0 after the last. The list
 * was validated by its decoder, so walking it cannot fail. */
int np_sasl_mechanisms_next(const struct np_sasl_mechanisms *m, size_t *pos,
                            struct kc_slice *name);

#endif
