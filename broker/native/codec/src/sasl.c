/*
 * sasl.c - commands 10 (sasl-handshake) and 11 (sasl-authenticate): the frames that carry
 * a SASL exchange, Kafka's SaslHandshake and SaslAuthenticate in the native protocol's
 * shape.
 *
 *   client                                            broker
 *     10 sasl-handshake  mechanism:str          ->   the mechanisms it offers, or
 *                                               <-   UNSUPPORTED_SASL_MECHANISM (+ the list)
 *     11 sasl-authenticate auth_bytes:bytes     ->   one step of the mechanism
 *                                               <-   auth_bytes:bytes (its answer), or
 *                                                    SASL_AUTHENTICATION_FAILED + message
 *     ... 11 again while the mechanism wants more (SCRAM: twice; PLAIN: once)
 *
 * The codec does not look inside auth_bytes: SCRAM's messages and PLAIN's are the
 * mechanism's business (broker/security). The mechanism list is the one variable-length
 * array here; it is validated whole by its decoder and walked without allocating.
 */
#include "kc_err.h"
#include "np.h"
#include "np_int.h"

static int np_done(const struct kc_reader *r, int rc)
{
    return rc != 0 || kc_reader_left(r) != 0 ? KC_EMALFORMED : 0;
}

/* ---- the mechanism list ------------------------------------------------------------------ */

int np__read_mechanisms(struct kc_reader *r, struct np_sasl_mechanisms *m)
{
    struct kc_slice name;
    int32_t n;
    if (kc_read_array_len(r, 2, &n) != 0 || n < 0) /* the shortest name: "" (an i16) */
        return KC_EMALFORMED;
    size_t start = r->pos;
    for (int32_t i = 0; i < n; i++)
        if (kc_read_str(r, &name) != 0 || name.len < 0)
            return KC_EMALFORMED;
    m->count = n;
    m->p = r->p + start;
    m->len = r->pos - start;
    return 0;
}

void np__write_mechanisms(struct kc_writer *w, const char *const *names, int n)
{
    kc_write_i32(w, n);
    for (int i = 0; i < n; i++)
        kc_write_cstr(w, names[i]);
}

int np_sasl_mechanisms_next(const struct np_sasl_mechanisms *m, size_t *pos, struct kc_slice *name)
{
    struct kc_reader r;
    if (*pos >= m->len)
        return 0;
    kc_reader_init(&r, m->p, m->len);
    r.pos = *pos;
    if (kc_read_str(&r, name) != 0)
        return 0; /* cannot happen after the decoder's check; stop rather than loop */
    *pos = r.pos;
    return 1;
}

/* ---- 10 sasl-handshake: mechanism:str -> mechanisms ------------------------------------ */

void np_encode_sasl_handshake(struct kc_writer *w, uint32_t corr,
                              const struct np_sasl_handshake_req *req)
{
    size_t at = np_begin_request(w, NP_SASL_HANDSHAKE, corr);
    kc_write_str(w, (const char *)req->mechanism.p, req->mechanism.len);
    np_end_frame(w, at, 0);
}

int np_decode_sasl_handshake(const uint8_t *body, size_t len, struct np_sasl_handshake_req *req)
{
    struct kc_reader r;
    struct np_sasl_handshake_req t;
    kc_reader_init(&r, body, len);
    if (np_done(&r, kc_read_str(&r, &t.mechanism)) || t.mechanism.len < 0)
        return KC_EMALFORMED;
    *req = t;
    return 0;
}

void np_encode_sasl_handshake_resp(struct kc_writer *w, uint32_t corr, int16_t error,
                                   const char *message, const char *const *names, int n)
{
    size_t at = np_begin_response(w, NP_SASL_HANDSHAKE, corr, error);
    if (error != NP_E_NONE)
        kc_write_cstr(w, message); /* an error body: the message first (np_error_resp) */
    np__write_mechanisms(w, names, n);
    np_end_frame(w, at, 0);
}

int np_decode_sasl_handshake_resp(const uint8_t *body, size_t len,
                                  struct np_sasl_handshake_resp *resp)
{
    struct kc_reader r;
    struct np_sasl_handshake_resp t;
    kc_reader_init(&r, body, len);
    if (np_done(&r, np__read_mechanisms(&r, &t.mechanisms)))
        return KC_EMALFORMED;
    *resp = t;
    return 0;
}

/* ---- 11 sasl-authenticate: auth_bytes:bytes -> auth_bytes:bytes ------------------------ */

void np_encode_sasl_authenticate(struct kc_writer *w, uint32_t corr,
                                 const struct np_sasl_authenticate_req *req)
{
    size_t at = np_begin_request(w, NP_SASL_AUTHENTICATE, corr);
    kc_write_bytes(w, req->auth_bytes.p, req->auth_bytes.len);
    np_end_frame(w, at, 0);
}

int np_decode_sasl_authenticate(const uint8_t *body, size_t len,
                                struct np_sasl_authenticate_req *req)
{
    struct kc_reader r;
    struct np_sasl_authenticate_req t;
    kc_reader_init(&r, body, len);
    if (np_done(&r, kc_read_bytes(&r, &t.auth_bytes)) || t.auth_bytes.len < 0)
        return KC_EMALFORMED;
    *req = t;
    return 0;
}

void np_encode_sasl_authenticate_resp(struct kc_writer *w, uint32_t corr,
                                      const struct np_sasl_authenticate_resp *resp)
{
    size_t at = np_begin_response(w, NP_SASL_AUTHENTICATE, corr, NP_E_NONE);
    kc_write_bytes(w, resp->auth_bytes.p, resp->auth_bytes.len);
    np_end_frame(w, at, 0);
}

int np_decode_sasl_authenticate_resp(const uint8_t *body, size_t len,
                                     struct np_sasl_authenticate_resp *resp)
{
    struct kc_reader r;
    struct np_sasl_authenticate_resp t;
    kc_reader_init(&r, body, len);
    if (np_done(&r, kc_read_bytes(&r, &t.auth_bytes)) || t.auth_bytes.len < 0)
        return KC_EMALFORMED;
    *resp = t;
    return 0;
}
