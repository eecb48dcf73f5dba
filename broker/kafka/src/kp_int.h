/*
 * kp_int.h - what the codec's source files share and nobody else sees.
 *
 * The decoders are written against a sticky-error reader, the mirror of kc_writer: every
 * kp__rd_* call does nothing once an error is recorded, so a decoder is a straight list of
 * fields followed by one check, and reads like the schema it implements:
 *
 *     req->acks = kp__rd_i16(d);
 *     req->timeout_ms = kp__rd_i32(d);
 *     n = kp__rd_array(d, 6, &arr, sizeof(*arr));   // count checked against bytes left
 *     ...
 *     return d->err;
 *
 * Decoders always see a whole frame, so running out of bytes is KC_EMALFORMED, never
 * "need more" (kc_err.h's rule for complete frames).
 */
#ifndef KP_INT_H
#define KP_INT_H

#include <stddef.h>
#include <stdint.h>

#include "kc_buf.h"
#include "kp_proto.h"
#include "kp_req.h"
#include "kp_resp.h"

/* ---- arena ----------------------------------------------------------------------------- */

/* Zeroed memory for n elements of size bytes from the request's arena; NULL on -ENOMEM. */
void *kp__arena_alloc(struct kp__chunk **mem, size_t n, size_t size);
void kp__arena_free(struct kp__chunk **mem);

/* ---- sticky decoder ---------------------------------------------------------------------- */

struct kp__dec {
    struct kc_reader r;
    struct kp__chunk **mem;
    int16_t version;
    int err; /* first failure: KC_EMALFORMED or -ENOMEM */
};

int8_t kp__rd_i8(struct kp__dec *d);
int16_t kp__rd_i16(struct kp__dec *d);
int32_t kp__rd_i32(struct kp__dec *d);
int64_t kp__rd_i64(struct kp__dec *d);
bool kp__rd_bool(struct kp__dec *d);
/* A string Kafka's schema says is never null (null -> malformed). */
struct kc_slice kp__rd_str(struct kp__dec *d);
/* A nullable string (len -1 = null). */
struct kc_slice kp__rd_nstr(struct kp__dec *d);
/* Non-nullable and nullable bytes. */
struct kc_slice kp__rd_bytes(struct kp__dec *d);
struct kc_slice kp__rd_nbytes(struct kp__dec *d);
/*
 * An array: reads the count, checks it against the bytes left (each element takes at
 * least min_elem bytes), allocates count elements of elem_size (zeroed) into *arr.
 * Returns the count, or -1 for a null array when nullable (else null is malformed); on
 * error returns 0 with d->err set. *arr is NULL for null/empty arrays.
 */
int32_t kp__rd_array(struct kp__dec *d, size_t min_elem, bool nullable, void **arr,
                     size_t elem_size);
/* Fail the decode (first error wins). */
void kp__dec_fail(struct kp__dec *d, int err);

/* ---- per-API decoders (body after the header) ------------------------------------------- */

int kp__dec_metadata(struct kp__dec *d, struct kp_metadata_req *req);
int kp__dec_produce(struct kp__dec *d, struct kp_produce_req *req);
int kp__dec_fetch(struct kp__dec *d, struct kp_fetch_req *req);
int kp__dec_list_offsets(struct kp__dec *d, struct kp_list_offsets_req *req);
int kp__dec_find_coordinator(struct kp__dec *d, struct kp_find_coordinator_req *req);
int kp__dec_join_group(struct kp__dec *d, struct kp_join_group_req *req);
int kp__dec_sync_group(struct kp__dec *d, struct kp_sync_group_req *req);
int kp__dec_heartbeat(struct kp__dec *d, struct kp_heartbeat_req *req);
int kp__dec_leave_group(struct kp__dec *d, struct kp_leave_group_req *req);
int kp__dec_offset_commit(struct kp__dec *d, struct kp_offset_commit_req *req);
int kp__dec_offset_fetch(struct kp__dec *d, struct kp_offset_fetch_req *req);

/* ---- encoder helpers ------------------------------------------------------------------- */

/* Start a response frame: i32 size placeholder + correlation id. Returns the frame start. */
size_t kp__resp_begin(struct kc_writer *w, const struct kp_header *h);
/* Patch the size (counting extra bytes sent outside the writer) and return the error. */
int kp__resp_end(struct kc_writer *w, size_t start, size_t extra);
/* A kc_slice as a Kafka string / bytes (len -1 writes null). */
void kp__wr_str(struct kc_writer *w, struct kc_slice s);
void kp__wr_bytes(struct kc_writer *w, struct kc_slice s);
/* A slice that must not be null on the wire: null is written as "". */
void kp__wr_str_nn(struct kc_writer *w, struct kc_slice s);
/* Is version inside [lo, hi]? (-EINVAL from the encoders otherwise.) */
static inline bool kp__ver_in(const struct kp_header *h, int16_t lo, int16_t hi)
{
    return h->api_version >= lo && h->api_version <= hi;
}

#endif
