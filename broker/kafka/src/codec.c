/*
 * codec.c - the pieces every decoder and encoder share: the request arena, the sticky
 * reader, response framing, error names.
 *
 * The arena is a list of chunks, each at least ARENA_CHUNK bytes; an allocation that does
 * not fit the head chunk starts a new one. Requests are short-lived and freed whole, so
 * there is no per-object free. Sizes are checked for overflow before any multiplication:
 * counts come from the network (bounded by the frame, but still).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "kc_err.h"
#include "kp_int.h"

#define ARENA_CHUNK 4096
#define ARENA_ALIGN 16

struct kp__chunk {
    struct kp__chunk *next;
    size_t used;
    size_t cap;
    _Alignas(ARENA_ALIGN) unsigned char data[];
};

void *kp__arena_alloc(struct kp__chunk **mem, size_t n, size_t size)
{
    if (size && n > (SIZE_MAX - ARENA_ALIGN) / size / 2)
        return NULL;
    size_t bytes = (n * size + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
    struct kp__chunk *c = *mem;
    if (!c || c->cap - c->used < bytes) {
        size_t cap = bytes > ARENA_CHUNK ? bytes : ARENA_CHUNK;
        c = malloc(sizeof(*c) + cap);
        if (!c)
            return NULL;
        c->next = *mem;
        c->used = 0;
        c->cap = cap;
        *mem = c;
    }
    void *p = c->data + c->used;
    c->used += bytes;
    memset(p, 0, bytes);
    return p;
}

void kp__arena_free(struct kp__chunk **mem)
{
    struct kp__chunk *c = *mem;
    while (c) {
        struct kp__chunk *next = c->next;
        free(c);
        c = next;
    }
    *mem = NULL;
}

/* ---- sticky reader ----------------------------------------------------------------------- */

void kp__dec_fail(struct kp__dec *d, int err)
{
    if (!d->err)
        d->err = err;
}

/* Reader failures inside a whole frame are all "malformed" (see kp_int.h). */
static bool rd_ok(struct kp__dec *d, int rc)
{
    if (rc)
        kp__dec_fail(d, rc == -ENOMEM ? rc : KC_EMALFORMED);
    return rc == 0;
}

int8_t kp__rd_i8(struct kp__dec *d)
{
    int8_t v = 0;
    if (!d->err)
        rd_ok(d, kc_read_i8(&d->r, &v));
    return d->err ? 0 : v;
}

int16_t kp__rd_i16(struct kp__dec *d)
{
    int16_t v = 0;
    if (!d->err)
        rd_ok(d, kc_read_i16(&d->r, &v));
    return d->err ? 0 : v;
}

int32_t kp__rd_i32(struct kp__dec *d)
{
    int32_t v = 0;
    if (!d->err)
        rd_ok(d, kc_read_i32(&d->r, &v));
    return d->err ? 0 : v;
}

int64_t kp__rd_i64(struct kp__dec *d)
{
    int64_t v = 0;
    if (!d->err)
        rd_ok(d, kc_read_i64(&d->r, &v));
    return d->err ? 0 : v;
}

bool kp__rd_bool(struct kp__dec *d)
{
    return kp__rd_i8(d) != 0;
}

static struct kc_slice rd_slice(struct kp__dec *d, bool wide, bool nullable)
{
    struct kc_slice s = {(const uint8_t *)"", 0};
    if (d->err)
        return s;
    struct kc_slice v;
    if (!rd_ok(d, wide ? kc_read_bytes(&d->r, &v) : kc_read_str(&d->r, &v)))
        return s;
    if (v.len < 0 && !nullable) {
        kp__dec_fail(d, KC_EMALFORMED);
        return s;
    }
    return v;
}

struct kc_slice kp__rd_str(struct kp__dec *d)
{
    return rd_slice(d, false, false);
}

struct kc_slice kp__rd_nstr(struct kp__dec *d)
{
    return rd_slice(d, false, true);
}

struct kc_slice kp__rd_bytes(struct kp__dec *d)
{
    return rd_slice(d, true, false);
}

struct kc_slice kp__rd_nbytes(struct kp__dec *d)
{
    return rd_slice(d, true, true);
}

int32_t kp__rd_array(struct kp__dec *d, size_t min_elem, bool nullable, void **arr,
                     size_t elem_size)
{
    int32_t n = 0;
    *arr = NULL;
    if (d->err || !rd_ok(d, kc_read_array_len(&d->r, min_elem, &n)))
        return 0;
    if (n < 0) {
        if (!nullable)
            kp__dec_fail(d, KC_EMALFORMED);
        return nullable ? -1 : 0;
    }
    if (n == 0)
        return 0;
    *arr = kp__arena_alloc(d->mem, (size_t)n, elem_size);
    if (!*arr) {
        kp__dec_fail(d, -ENOMEM);
        return 0;
    }
    return n;
}

/* ---- response framing -------------------------------------------------------------------- */

size_t kp__resp_begin(struct kc_writer *w, const struct kp_header *h)
{
    size_t start = kc_writer_len(w);
    kc_write_i32(w, 0); /* size, patched by kp__resp_end */
    kc_write_i32(w, h->correlation_id);
    return start;
}

int kp__resp_end(struct kc_writer *w, size_t start, size_t extra)
{
    if (kc_writer_error(w))
        return kc_writer_error(w);
    size_t size = kc_writer_len(w) - start - 4;
    if (extra > (size_t)INT32_MAX || size > (size_t)INT32_MAX - extra)
        return KC_ETOOLARGE;
    kc_writer_patch_i32(w, start, (int32_t)(size + extra));
    return kc_writer_error(w);
}

/* kc_write_str/bytes read a NULL pointer as null: give empty slices a real pointer. */
static const char *nonnull(struct kc_slice s)
{
    return s.len >= 0 && !s.p ? "" : (const char *)s.p;
}

void kp__wr_str(struct kc_writer *w, struct kc_slice s)
{
    kc_write_str(w, nonnull(s), s.len < 0 ? -1 : s.len);
}

void kp__wr_str_nn(struct kc_writer *w, struct kc_slice s)
{
    if (s.len < 0)
        s = (struct kc_slice){(const uint8_t *)"", 0};
    kp__wr_str(w, s);
}

void kp__wr_bytes(struct kc_writer *w, struct kc_slice s)
{
    kc_write_bytes(w, nonnull(s), s.len < 0 ? -1 : s.len);
}

/* ---- names --------------------------------------------------------------------------- */

const char *kp_error_name(int16_t code)
{
    switch (code) {
#define KP_ERROR_CASE(name, value)                                                            \
    case value:                                                                               \
        return &(#name)[7]; /* strip "KP_ERR_" */
        KP_ERRORS(KP_ERROR_CASE)
#undef KP_ERROR_CASE
    }
    return "UNKNOWN";
}

bool kp_slice_eq(struct kc_slice s, const char *str)
{
    if (s.len < 0 || !str)
        return false;
    size_t n = strlen(str);
    return (size_t)s.len == n && memcmp(s.p, str, n) == 0;
}
