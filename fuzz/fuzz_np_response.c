/*
 * fuzz_np_response.c - libFuzzer target: the native protocol's response decoders, the code
 * kafka_cli and every np_client run on what comes back from the network.
 *
 * As fuzz_np_request: the input is cut into response frames (np_frame_peek with response
 * set) and each body decoded by its command and error code; and byte 0 picks a decoder
 * for the rest. Properties: slices stay inside the body; a metadata answer the decoder
 * accepted can be walked to its end (np_metadata_next / np_metadata_part promise that
 * walking a validated array cannot fail), and so can a SASL mechanism list, in a handshake
 * answer or in its refusal; successful decodes re-encode to the same bytes.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kc_common.h"
#include "np.h"

#define MAX_FRAME (1u << 20)

static const uint8_t *lo, *hi;

static void inside(struct kc_slice s)
{
    if (s.len < -1 || (s.len > 0 && (s.p < lo || s.p + s.len > hi)))
        abort();
}

static void same_body(struct kc_writer *w, const uint8_t *body, size_t len)
{
    if (kc_writer_error(w) || kc_writer_len(w) != NP_RESP_HEADER_SIZE + len ||
        memcmp(kc_writer_data(w) + NP_RESP_HEADER_SIZE, body, len) != 0)
        abort();
}

/* Walk a mechanism list the decoder accepted: every name inside, exactly count of them;
 * and the names written back give the same bytes. */
static void walk_mechanisms(const struct np_sasl_mechanisms *m, struct kc_writer *w)
{
    const char *names[64];
    char store[64][64];
    size_t pos = 0;
    struct kc_slice name;
    int32_t n = 0;
    bool fits = true;
    while (np_sasl_mechanisms_next(m, &pos, &name) == 1) {
        inside(name);
        if (name.len < 0)
            abort();
        if (n < 64 && name.len < 64 && !memchr(name.p, 0, (size_t)name.len)) {
            memcpy(store[n], name.p, (size_t)name.len);
            store[n][name.len] = '\0';
            names[n] = store[n];
        } else {
            fits = false;
        }
        n++;
    }
    if (n != m->count || pos != m->len)
        abort();
    if (w && fits) {
        struct kc_writer again;
        kc_writer_init(&again, 0);
        np_encode_sasl_handshake_resp(&again, 1, NP_E_NONE, NULL, names, n);
        if (kc_writer_len(&again) != NP_RESP_HEADER_SIZE + m->len + 4 ||
            memcmp(kc_writer_data(&again) + NP_RESP_HEADER_SIZE + 4, m->p, m->len) != 0)
            abort();
        kc_writer_fini(&again);
    }
}

static void walk_metadata(const struct np_metadata_resp *md)
{
    struct np_metadata_iter it;
    struct np_topic_meta tm;
    int32_t topics = 0;
    np_metadata_iter_init(&it, md);
    while (np_metadata_next(&it, &tm) == 1) {
        inside(tm.name);
        if (tm.npartitions < 0)
            abort();
        for (int32_t i = 0; i < tm.npartitions; i++) {
            struct np_partition_meta pm;
            np_metadata_part(&tm, i, &pm);
        }
        topics++;
    }
    if (topics != md->ntopics)
        abort();
}

/* The successful answers whose encoders take the decoded struct back. */
static int decode_ok(int cmd, const uint8_t *body, size_t len, struct kc_writer *w)
{
    union {
        struct np_create_topic_resp ct;
        struct np_produce_resp pr;
        struct np_consume_resp co;
        struct np_fetch_offset_resp fo;
        struct np_produce_batch_resp pb;
        struct np_consume_batch_resp cb;
        struct np_metadata_resp md;
        struct np_ping_resp pi;
        struct np_info_resp in;
        struct np_sasl_handshake_resp sh;
        struct np_sasl_authenticate_resp sa;
    } u;
    int rc = -1;
    switch (cmd) {
    case NP_CREATE_TOPIC:
        if ((rc = np_decode_create_topic_resp(body, len, &u.ct)) == 0)
            np_encode_create_topic_resp(w, 1, &u.ct);
        break;
    case NP_PRODUCE:
        if ((rc = np_decode_produce_resp(body, len, &u.pr)) == 0)
            np_encode_produce_resp(w, 1, &u.pr);
        break;
    case NP_CONSUME:
        if ((rc = np_decode_consume_resp(body, len, &u.co)) == 0) {
            inside(u.co.key), inside(u.co.value);
            np_encode_consume_resp(w, 1, &u.co);
        }
        break;
    case NP_COMMIT:
        if ((rc = np_decode_commit_resp(body, len)) == 0)
            np_encode_commit_resp(w, 1);
        break;
    case NP_FETCH_OFFSET:
        if ((rc = np_decode_fetch_offset_resp(body, len, &u.fo)) == 0) {
            inside(u.fo.metadata);
            np_encode_fetch_offset_resp(w, 1, &u.fo);
        }
        break;
    case NP_PRODUCE_BATCH:
        if ((rc = np_decode_produce_batch_resp(body, len, &u.pb)) == 0)
            np_encode_produce_batch_resp(w, 1, &u.pb);
        break;
    case NP_CONSUME_BATCH:
        if ((rc = np_decode_consume_batch_resp(body, len, &u.cb)) == 0) {
            inside(u.cb.records);
            if (u.cb.records.len < 0)
                abort(); /* never null */
            np_encode_consume_batch_resp(w, 1, &u.cb);
        }
        break;
    case NP_METADATA:
        if ((rc = np_decode_metadata_resp(body, len, &u.md)) == 0) {
            walk_metadata(&u.md);
            rc = 1; /* no single-call encoder to compare with */
        }
        break;
    case NP_PING:
        if ((rc = np_decode_ping_resp(body, len, &u.pi)) == 0) {
            inside(u.pi.payload);
            np_encode_ping_resp(w, 1, &u.pi);
        }
        break;
    case NP_INFO:
        if ((rc = np_decode_info_resp(body, len, &u.in)) == 0) {
            inside(u.in.version);
            np_encode_info_resp(w, 1, &u.in);
        }
        break;
    case NP_SASL_HANDSHAKE:
        if ((rc = np_decode_sasl_handshake_resp(body, len, &u.sh)) == 0) {
            walk_mechanisms(&u.sh.mechanisms, w);
            rc = 1; /* compared inside walk_mechanisms (names with a NUL cannot be) */
        }
        break;
    case NP_SASL_AUTHENTICATE:
        if ((rc = np_decode_sasl_authenticate_resp(body, len, &u.sa)) == 0) {
            inside(u.sa.auth_bytes);
            if (u.sa.auth_bytes.len < 0)
                abort();
            np_encode_sasl_authenticate_resp(w, 1, &u.sa);
        }
        break;
    default:
        break;
    }
    return rc;
}

static void decode_body(int cmd, int16_t error, const uint8_t *body, size_t len)
{
    struct kc_writer w;
    lo = body;
    hi = body + len;
    kc_writer_init(&w, 0);
    if (error != 0) {
        struct np_error_resp er;
        int rc = np_decode_error_resp(body, len, cmd, &er);
        if (rc == 0) {
            inside(er.message);
            walk_mechanisms(&er.mechanisms, NULL);
            if (cmd != NP_SASL_HANDSHAKE && er.mechanisms.count != 0)
                abort();
        } else if (rc != KC_EMALFORMED)
            abort();
    } else {
        int rc = decode_ok(cmd, body, len, &w);
        if (rc == 0)
            same_body(&w, body, len);
        else if (rc != -1 && rc != 1 && rc != KC_EMALFORMED)
            abort();
    }
    kc_writer_fini(&w);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t off = 0;
    while (off < size) {
        struct np_header h;
        size_t flen = 0;
        int rc = np_frame_peek(data + off, size - off, MAX_FRAME, true, &h, &flen);
        if (rc != 0) {
            if (rc != KC_ENEEDMORE && rc != KC_EMALFORMED && rc != KC_ETOOLARGE)
                abort();
            break;
        }
        if (flen < NP_RESP_HEADER_SIZE || flen > size - off)
            abort();
        decode_body(h.cmd, h.error, data + off + NP_RESP_HEADER_SIZE, flen - NP_RESP_HEADER_SIZE);
        off += flen;
    }
    if (size >= 2)
        decode_body(data[0] % (NP_CMD_COUNT + 1), (int16_t)(data[1] & 1), data + 2, size - 2);
    return 0;
}
