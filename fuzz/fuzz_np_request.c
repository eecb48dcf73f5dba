/*
 * fuzz_np_request.c - libFuzzer target: the native protocol's frame decoder and every
 * request parser, the code that reads what any client on the network sends the broker -
 * the SASL frames (10, 11) included, which it reads before it knows who is asking.
 *
 * The input is used twice:
 *  1. as a byte stream, cut into frames by np_frame_peek (as conn.c does), each frame's
 *     body handed to the decoder its command names;
 *  2. as one body: byte 0 picks the decoder, the rest is the body (so every decoder sees
 *     every input, whatever the frame header says).
 *
 * Properties checked:
 *  - np_frame_peek: a frame it accepts fits the input and holds a header; every shorter
 *    prefix of an accepted frame is "need more", never "malformed";
 *  - a decoder that accepts a body leaves every slice inside it, and re-encoding the
 *    decoded request gives back exactly the same body bytes (the encoding is canonical:
 *    a decoder that accepted something else, or skipped bytes, is caught);
 *  - nothing reads out of bounds or invokes undefined behaviour (ASan, UBSan).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kc_common.h"
#include "np.h"

#define MAX_FRAME (1u << 20)

static const uint8_t *lo, *hi; /* the body being decoded (for inside()) */

static void inside(struct kc_slice s)
{
    if (s.len < -1)
        abort();
    if (s.len > 0 && (s.p < lo || s.p + s.len > hi))
        abort();
}

/* The re-encoded frame's body must equal the decoded body. */
static void same_body(struct kc_writer *w, const uint8_t *body, size_t len)
{
    if (kc_writer_error(w) || kc_writer_len(w) != NP_REQ_HEADER_SIZE + len ||
        memcmp(kc_writer_data(w) + NP_REQ_HEADER_SIZE, body, len) != 0)
        abort();
    struct np_header h;
    size_t flen;
    if (np_frame_peek(kc_writer_data(w), kc_writer_len(w), SIZE_MAX, false, &h, &flen) != 0 ||
        flen != kc_writer_len(w))
        abort();
}

/* Decode, check, re-encode one request body of command cmd. */
static void decode_body(int cmd, const uint8_t *body, size_t len)
{
    struct kc_writer w;
    union {
        struct np_create_topic_req ct;
        struct np_produce_req pr;
        struct np_consume_req co;
        struct np_commit_req cm;
        struct np_fetch_offset_req fo;
        struct np_produce_batch_req pb;
        struct np_consume_batch_req cb;
        struct np_metadata_req md;
        struct np_ping_req pi;
        struct np_sasl_handshake_req sh;
        struct np_sasl_authenticate_req sa;
    } u;
    int rc = -1;
    lo = body;
    hi = body + len;
    kc_writer_init(&w, 0);
    switch (cmd) {
    case NP_CREATE_TOPIC:
        if ((rc = np_decode_create_topic(body, len, &u.ct)) == 0) {
            inside(u.ct.topic);
            np_encode_create_topic(&w, 1, &u.ct);
        }
        break;
    case NP_PRODUCE:
        if ((rc = np_decode_produce(body, len, &u.pr)) == 0) {
            inside(u.pr.topic), inside(u.pr.key), inside(u.pr.value);
            np_encode_produce(&w, 1, &u.pr);
        }
        break;
    case NP_CONSUME:
        if ((rc = np_decode_consume(body, len, &u.co)) == 0) {
            inside(u.co.topic);
            np_encode_consume(&w, 1, &u.co);
        }
        break;
    case NP_COMMIT:
        if ((rc = np_decode_commit(body, len, &u.cm)) == 0) {
            inside(u.cm.group), inside(u.cm.topic), inside(u.cm.metadata);
            np_encode_commit(&w, 1, &u.cm);
        }
        break;
    case NP_FETCH_OFFSET:
        if ((rc = np_decode_fetch_offset(body, len, &u.fo)) == 0) {
            inside(u.fo.group), inside(u.fo.topic);
            np_encode_fetch_offset(&w, 1, &u.fo);
        }
        break;
    case NP_PRODUCE_BATCH:
        if ((rc = np_decode_produce_batch(body, len, &u.pb)) == 0) {
            inside(u.pb.topic), inside(u.pb.batch);
            if (u.pb.batch.len < 0) /* the batch is never null */
                abort();
            np_encode_produce_batch(&w, 1, &u.pb);
            /* what the broker does next with the bytes: validate them as a batch */
            (void)kc_batch_validate(u.pb.batch.p, (size_t)u.pb.batch.len, NULL);
        }
        break;
    case NP_CONSUME_BATCH:
        if ((rc = np_decode_consume_batch(body, len, &u.cb)) == 0) {
            inside(u.cb.topic);
            np_encode_consume_batch(&w, 1, &u.cb);
        }
        break;
    case NP_METADATA:
        if ((rc = np_decode_metadata(body, len, &u.md)) == 0) {
            inside(u.md.topic);
            np_encode_metadata(&w, 1, &u.md);
        }
        break;
    case NP_PING:
        if ((rc = np_decode_ping(body, len, &u.pi)) == 0) {
            inside(u.pi.payload);
            np_encode_ping(&w, 1, &u.pi);
        }
        break;
    case NP_INFO:
        if ((rc = np_decode_info(body, len)) == 0)
            np_encode_info(&w, 1);
        break;
    case NP_SASL_HANDSHAKE:
        if ((rc = np_decode_sasl_handshake(body, len, &u.sh)) == 0) {
            inside(u.sh.mechanism);
            if (u.sh.mechanism.len < 0) /* never null */
                abort();
            np_encode_sasl_handshake(&w, 1, &u.sh);
        }
        break;
    case NP_SASL_AUTHENTICATE:
        if ((rc = np_decode_sasl_authenticate(body, len, &u.sa)) == 0) {
            inside(u.sa.auth_bytes);
            if (u.sa.auth_bytes.len < 0)
                abort();
            np_encode_sasl_authenticate(&w, 1, &u.sa);
        }
        break;
    default:
        break;
    }
    if (rc == 0)
        same_body(&w, body, len);
    else if (rc != -1 && rc != KC_EMALFORMED)
        abort(); /* decoders say malformed, never "need more" or anything else */
    kc_writer_fini(&w);
}

/* Every prefix of an accepted frame is "need more". Sampled: the edges and a few inside. */
static void prefixes(const uint8_t *p, size_t flen)
{
    size_t cuts[] = {0, 1, 3, 4, 5, 6, 11, NP_REQ_HEADER_SIZE, flen / 2, flen - 1};
    for (size_t i = 0; i < sizeof(cuts) / sizeof(cuts[0]); i++) {
        struct np_header h;
        size_t fl;
        if (cuts[i] < flen && np_frame_peek(p, cuts[i], MAX_FRAME, false, &h, &fl) != KC_ENEEDMORE)
            abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t off = 0;
    while (off < size) {
        struct np_header h;
        size_t flen = 0;
        int rc = np_frame_peek(data + off, size - off, MAX_FRAME, false, &h, &flen);
        if (rc != 0) {
            if (rc != KC_ENEEDMORE && rc != KC_EMALFORMED && rc != KC_ETOOLARGE)
                abort();
            break;
        }
        if (flen < NP_REQ_HEADER_SIZE || flen > size - off || h.magic != NP_MAGIC)
            abort();
        prefixes(data + off, flen);
        decode_body(h.cmd, data + off + NP_REQ_HEADER_SIZE, flen - NP_REQ_HEADER_SIZE);
        off += flen;
    }
    if (size >= 1)
        decode_body(data[0] % (NP_CMD_COUNT + 1), data + 1, size - 1);
    return 0;
}
