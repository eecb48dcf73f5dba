/*
 * frame.c - the native protocol's frame header, command names and error table.
 *
 * A frame is found in a byte stream the way picohttpparser finds a request: look at what
 * has arrived, and answer "whole frame of N bytes", "need more" or "never valid". The
 * 12-byte request header is fixed, so a receiver knows after 4 bytes how much to wait for
 * and after 12 whom (which correlation id) to answer even when it refuses the frame.
 */
#include <errno.h>

#include "kc_err.h"
#include "np.h"

static const char *const np_cmd_names[NP_CMD_COUNT] = {
    [NP_CREATE_TOPIC] = "create-topic",   [NP_PRODUCE] = "produce",
    [NP_CONSUME] = "consume",             [NP_COMMIT] = "commit",
    [NP_FETCH_OFFSET] = "fetch-offset",   [NP_PRODUCE_BATCH] = "produce-batch",
    [NP_CONSUME_BATCH] = "consume-batch", [NP_METADATA] = "metadata",
    [NP_PING] = "ping",                   [NP_INFO] = "info",
    [NP_SASL_HANDSHAKE] = "sasl-handshake", [NP_SASL_AUTHENTICATE] = "sasl-authenticate",
};

const char *np_cmd_name(int cmd)
{
    if (cmd < 0 || cmd >= NP_CMD_COUNT)
        return "unknown";
    return np_cmd_names[cmd];
}

const char *np_error_name(int code)
{
    switch (code) {
#define NP_ERR_NAME(name, value, msg)                                                         \
    case value:                                                                               \
        return &#name[5]; /* without "NP_E_" (clang: no string + int) */
        NP_ERRORS(NP_ERR_NAME)
#undef NP_ERR_NAME
    }
    return "UNRECOGNISED";
}

const char *np_error_message(int code)
{
    switch (code) {
#define NP_ERR_MSG(name, value, msg)                                                          \
    case value:                                                                               \
        return msg;
        NP_ERRORS(NP_ERR_MSG)
#undef NP_ERR_MSG
    }
    return "error code not known to this client";
}

const char *np_strerror(int err)
{
    if (np_is_err(err))
        return np_error_message(np_err_code(err));
    return kc_strerror(err);
}

/* Errors whose meaning depends on the command that met them. */
static int np_error_from_kc_cmd(int err, int cmd)
{
    switch (err) {
    case KC_ETOOLARGE:
        return cmd == NP_CREATE_TOPIC ? NP_E_INVALID_PARTITIONS : NP_E_RECORD_TOO_LARGE;
    case -EINVAL:
        return cmd == NP_CREATE_TOPIC ? NP_E_INVALID_PARTITIONS : NP_E_INVALID_REQUEST;
    case KC_EMALFORMED:
    case KC_ECRC:
        return cmd == NP_PRODUCE_BATCH ? NP_E_CORRUPT_BATCH : NP_E_MALFORMED;
    case KC_EUNSUPPORTED:
        return cmd == NP_CONSUME ? NP_E_COMPRESSED : NP_E_CORRUPT_BATCH;
    }
    return NP_E_UNKNOWN;
}

int np_error_from_kc(int err, int cmd)
{
    if (err >= 0)
        return NP_E_NONE;
    if (np_is_err(err))
        return np_err_code(err);
    switch (err) {
    case KC_EOFFSET:
        return NP_E_OFFSET_OUT_OF_RANGE;
    case KC_EEMPTY:
        return NP_E_END_OF_LOG;
    case KC_ENOTOPIC:
        return NP_E_UNKNOWN_TOPIC;
    case KC_ENOPARTITION:
        return NP_E_UNKNOWN_PARTITION;
    case -EEXIST:
        return NP_E_TOPIC_EXISTS;
    case KC_EBADNAME:
        return NP_E_INVALID_TOPIC;
    case KC_ECLOSED:
        return NP_E_SHUTTING_DOWN;
    case -EIO:
    case -ENOSPC:
    case -EDQUOT:
    case -EROFS:
    case KC_ECORRUPT:
    case KC_EFULL:
    case KC_ENOFILES: /* every open log in use: retriable, as Kafka's storage error */
    case -EAGAIN:     /* a log evicted again before its request was served: retry */
    case -ETIMEDOUT:  /* a log that did not open in time */
    case -EMFILE:
    case -ENFILE:
        return NP_E_STORAGE;
    }
    return np_error_from_kc_cmd(err, cmd);
}

int np_frame_peek(const uint8_t *p, size_t len, size_t max_frame, bool response,
                  struct np_header *h, size_t *frame_len)
{
    size_t hsize = response ? NP_RESP_HEADER_SIZE : NP_REQ_HEADER_SIZE;
    struct np_header tmp = {0};
    if (len < NP_LENGTH_SIZE)
        return KC_ENEEDMORE;
    tmp.length = kc_load_be32(p);
    if (tmp.length < hsize - NP_LENGTH_SIZE)
        return KC_EMALFORMED;
    if ((len >= 5 && p[4] != NP_MAGIC >> 8) || (len >= 6 && kc_load_be16(p + 4) != NP_MAGIC))
        return KC_EMALFORMED;
    if (len < hsize) /* even an oversized frame waits for its header: the answer needs it */
        return KC_ENEEDMORE;
    tmp.magic = NP_MAGIC;
    tmp.version = p[6];
    tmp.cmd = p[7];
    tmp.corr = kc_load_be32(p + 8);
    tmp.error = response ? (int16_t)kc_load_be16(p + 12) : 0;
    *h = tmp;
    if ((size_t)tmp.length + NP_LENGTH_SIZE > max_frame)
        return KC_ETOOLARGE;
    if (len < (size_t)tmp.length + NP_LENGTH_SIZE)
        return KC_ENEEDMORE;
    *frame_len = (size_t)tmp.length + NP_LENGTH_SIZE;
    return 0;
}

static size_t np_begin(struct kc_writer *w, int cmd, uint32_t corr)
{
    size_t at = kc_writer_len(w);
    kc_write_u32(w, 0); /* patched by np_end_frame */
    kc_write_u16(w, NP_MAGIC);
    kc_write_u8(w, NP_VERSION);
    kc_write_u8(w, (uint8_t)cmd);
    kc_write_u32(w, corr);
    return at;
}

size_t np_begin_request(struct kc_writer *w, int cmd, uint32_t corr)
{
    return np_begin(w, cmd, corr);
}

size_t np_begin_response(struct kc_writer *w, int cmd, uint32_t corr, int16_t error)
{
    size_t at = np_begin(w, cmd, corr);
    kc_write_i16(w, error);
    return at;
}

void np_end_frame(struct kc_writer *w, size_t at, size_t extra)
{
    size_t len = kc_writer_len(w) - at - NP_LENGTH_SIZE + extra;
    if (len > UINT32_MAX) {
        if (!w->err)
            w->err = KC_ETOOLARGE;
        return;
    }
    kc_writer_patch_i32(w, at, (int32_t)(uint32_t)len);
}
