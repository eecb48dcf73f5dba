/*
 * buf.c - the bounds-checked reader and the sticky-error writer (contracts in kc_buf.h).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "kc_buf.h"
#include "kc_err.h"
#include "kc_varint.h"

/* ---- reader ---------------------------------------------------------------------------- */

static int need(const struct kc_reader *r, size_t n)
{
    return kc_reader_left(r) >= n ? 0 : KC_ENEEDMORE;
}

int kc_read_u8(struct kc_reader *r, uint8_t *v)
{
    if (need(r, 1))
        return KC_ENEEDMORE;
    *v = r->p[r->pos++];
    return 0;
}

int kc_read_i8(struct kc_reader *r, int8_t *v)
{
    uint8_t u;
    int rc = kc_read_u8(r, &u);
    if (rc == 0)
        *v = (int8_t)u;
    return rc;
}

int kc_read_u16(struct kc_reader *r, uint16_t *v)
{
    if (need(r, 2))
        return KC_ENEEDMORE;
    *v = kc_load_be16(r->p + r->pos);
    r->pos += 2;
    return 0;
}

int kc_read_i16(struct kc_reader *r, int16_t *v)
{
    uint16_t u;
    int rc = kc_read_u16(r, &u);
    if (rc == 0)
        *v = (int16_t)u;
    return rc;
}

int kc_read_u32(struct kc_reader *r, uint32_t *v)
{
    if (need(r, 4))
        return KC_ENEEDMORE;
    *v = kc_load_be32(r->p + r->pos);
    r->pos += 4;
    return 0;
}

int kc_read_i32(struct kc_reader *r, int32_t *v)
{
    uint32_t u;
    int rc = kc_read_u32(r, &u);
    if (rc == 0)
        *v = (int32_t)u;
    return rc;
}

int kc_read_i64(struct kc_reader *r, int64_t *v)
{
    if (need(r, 8))
        return KC_ENEEDMORE;
    *v = (int64_t)kc_load_be64(r->p + r->pos);
    r->pos += 8;
    return 0;
}

int kc_read_varint(struct kc_reader *r, int32_t *v)
{
    int n = kc_varint_decode(r->p + r->pos, kc_reader_left(r), v);
    if (n < 0)
        return n;
    r->pos += (size_t)n;
    return 0;
}

int kc_read_varlong(struct kc_reader *r, int64_t *v)
{
    int n = kc_varlong_decode(r->p + r->pos, kc_reader_left(r), v);
    if (n < 0)
        return n;
    r->pos += (size_t)n;
    return 0;
}

int kc_read_uvarint(struct kc_reader *r, uint32_t *v)
{
    uint64_t u;
    int n = kc_uvarint_decode(r->p + r->pos, kc_reader_left(r), KC_VARINT_MAX, &u);
    if (n < 0)
        return n;
    r->pos += (size_t)n;
    *v = (uint32_t)u;
    return 0;
}

int kc_read_raw(struct kc_reader *r, size_t n, const uint8_t **p)
{
    if (need(r, n))
        return KC_ENEEDMORE;
    *p = r->p + r->pos;
    r->pos += n;
    return 0;
}

int kc_read_skip(struct kc_reader *r, size_t n)
{
    if (need(r, n))
        return KC_ENEEDMORE;
    r->pos += n;
    return 0;
}

/* Shared tail of the string/bytes readers: len was read at r->pos..start. */
static int read_slice(struct kc_reader *r, size_t start, int64_t len, struct kc_slice *s)
{
    if (len < -1) {
        r->pos = start;
        return KC_EMALFORMED;
    }
    if (len == -1) {
        s->p = NULL;
        s->len = -1;
        return 0;
    }
    if (need(r, (size_t)len)) {
        r->pos = start;
        return KC_ENEEDMORE;
    }
    s->p = r->p + r->pos;
    s->len = (int32_t)len;
    r->pos += (size_t)len;
    return 0;
}

int kc_read_str(struct kc_reader *r, struct kc_slice *s)
{
    size_t start = r->pos;
    int16_t len;
    int rc = kc_read_i16(r, &len);
    return rc ? rc : read_slice(r, start, len, s);
}

int kc_read_bytes(struct kc_reader *r, struct kc_slice *s)
{
    size_t start = r->pos;
    int32_t len;
    int rc = kc_read_i32(r, &len);
    return rc ? rc : read_slice(r, start, len, s);
}

int kc_read_compact_str(struct kc_reader *r, struct kc_slice *s)
{
    size_t start = r->pos;
    uint32_t n;
    int rc = kc_read_uvarint(r, &n);
    if (rc)
        return rc;
    if (n > INT32_MAX) {
        r->pos = start;
        return KC_EMALFORMED;
    }
    return read_slice(r, start, (int64_t)n - 1, s);
}

int kc_read_skip_tags(struct kc_reader *r)
{
    size_t start = r->pos;
    uint32_t count, tag, size;
    int rc = kc_read_uvarint(r, &count);
    for (uint32_t i = 0; rc == 0 && i < count; i++) {
        rc = kc_read_uvarint(r, &tag);
        if (rc == 0)
            rc = kc_read_uvarint(r, &size);
        if (rc == 0)
            rc = kc_read_skip(r, size);
    }
    if (rc)
        r->pos = start;
    return rc;
}

int kc_read_array_len(struct kc_reader *r, size_t min_elem, int32_t *n)
{
    size_t start = r->pos;
    int32_t count;
    int rc = kc_read_i32(r, &count);
    if (rc)
        return rc;
    if (count < -1 || (count > 0 && min_elem > 0 && (size_t)count > kc_reader_left(r) / min_elem)) {
        r->pos = start;
        return KC_EMALFORMED;
    }
    *n = count;
    return 0;
}

/* ---- writer ---------------------------------------------------------------------------- */

void kc_writer_init(struct kc_writer *w, size_t limit)
{
    memset(w, 0, sizeof(*w));
    w->limit = limit;
}

void kc_writer_init_fixed(struct kc_writer *w, void *buf, size_t cap)
{
    memset(w, 0, sizeof(*w));
    w->p = buf;
    w->cap = cap;
    w->limit = cap;
    w->fixed = true;
}

void kc_writer_fini(struct kc_writer *w)
{
    if (!w->fixed)
        free(w->p);
    w->p = NULL;
    w->len = w->cap = 0;
}

void kc_writer_reset(struct kc_writer *w)
{
    w->len = 0;
    w->err = 0;
}

uint8_t *kc_writer_reserve(struct kc_writer *w, size_t n)
{
    if (w->err)
        return NULL;
    if (w->limit && (n > w->limit || w->len > w->limit - n)) {
        w->err = KC_ETOOLARGE;
        return NULL;
    }
    if (w->cap - w->len < n) {
        if (w->fixed) {
            w->err = KC_ETOOLARGE;
            return NULL;
        }
        size_t cap = w->cap ? w->cap : 256;
        while (cap - w->len < n)
            cap = cap > SIZE_MAX / 2 ? SIZE_MAX : cap * 2;
        if (w->limit && cap > w->limit)
            cap = w->limit;
        uint8_t *p = realloc(w->p, cap);
        if (!p) {
            w->err = -ENOMEM;
            return NULL;
        }
        w->p = p;
        w->cap = cap;
    }
    uint8_t *at = w->p + w->len;
    w->len += n;
    return at;
}

uint8_t *kc_writer_take(struct kc_writer *w, size_t *len)
{
    uint8_t *p = w->p;
    *len = w->len;
    w->p = NULL;
    w->len = w->cap = 0;
    return p;
}

void kc_write_u8(struct kc_writer *w, uint8_t v)
{
    uint8_t *p = kc_writer_reserve(w, 1);
    if (p)
        *p = v;
}

void kc_write_i8(struct kc_writer *w, int8_t v)
{
    kc_write_u8(w, (uint8_t)v);
}

void kc_write_u16(struct kc_writer *w, uint16_t v)
{
    uint8_t *p = kc_writer_reserve(w, 2);
    if (p)
        kc_store_be16(p, v);
}

void kc_write_i16(struct kc_writer *w, int16_t v)
{
    kc_write_u16(w, (uint16_t)v);
}

void kc_write_u32(struct kc_writer *w, uint32_t v)
{
    uint8_t *p = kc_writer_reserve(w, 4);
    if (p)
        kc_store_be32(p, v);
}

void kc_write_i32(struct kc_writer *w, int32_t v)
{
    kc_write_u32(w, (uint32_t)v);
}

void kc_write_i64(struct kc_writer *w, int64_t v)
{
    uint8_t *p = kc_writer_reserve(w, 8);
    if (p)
        kc_store_be64(p, (uint64_t)v);
}

void kc_write_varint(struct kc_writer *w, int32_t v)
{
    uint8_t tmp[KC_VARINT_MAX];
    kc_write_raw(w, tmp, kc_varint_encode(tmp, v));
}

void kc_write_varlong(struct kc_writer *w, int64_t v)
{
    uint8_t tmp[KC_VARLONG_MAX];
    kc_write_raw(w, tmp, kc_varlong_encode(tmp, v));
}

void kc_write_uvarint(struct kc_writer *w, uint32_t v)
{
    uint8_t tmp[KC_VARINT_MAX];
    kc_write_raw(w, tmp, kc_uvarint_encode(tmp, v));
}

void kc_write_raw(struct kc_writer *w, const void *src, size_t n)
{
    uint8_t *p = kc_writer_reserve(w, n);
    if (p && n)
        memcpy(p, src, n);
}

/* A length with no bytes behind it is a caller bug; refuse it rather than guess. */
static bool missing_bytes(struct kc_writer *w, const void *p, int32_t len)
{
    if (p || len <= 0)
        return false;
    if (!w->err)
        w->err = -EINVAL;
    return true;
}

void kc_write_str(struct kc_writer *w, const char *p, int32_t len)
{
    if (missing_bytes(w, p, len))
        return;
    if (len < 0) {
        kc_write_i16(w, -1);
        return;
    }
    if (len > INT16_MAX) {
        if (!w->err)
            w->err = KC_ETOOLARGE;
        return;
    }
    kc_write_i16(w, (int16_t)len);
    kc_write_raw(w, p, (size_t)len);
}

void kc_write_cstr(struct kc_writer *w, const char *s)
{
    size_t len = s ? strlen(s) : 0;
    kc_write_str(w, s, s ? (len > INT16_MAX ? INT16_MAX + 1 : (int32_t)len) : -1);
}

void kc_write_bytes(struct kc_writer *w, const void *p, int32_t len)
{
    if (missing_bytes(w, p, len))
        return;
    if (len < 0) {
        kc_write_i32(w, -1);
        return;
    }
    kc_write_i32(w, len);
    kc_write_raw(w, p, (size_t)len);
}

void kc_write_compact_str(struct kc_writer *w, const char *p, int32_t len)
{
    if (missing_bytes(w, p, len))
        return;
    if (len < 0) {
        kc_write_uvarint(w, 0);
        return;
    }
    kc_write_uvarint(w, (uint32_t)len + 1);
    kc_write_raw(w, p, (size_t)len);
}

void kc_writer_patch_i32(struct kc_writer *w, size_t at, int32_t v)
{
    if (!w->err && at + 4 <= w->len)
        kc_store_be32(w->p + at, (uint32_t)v);
}
